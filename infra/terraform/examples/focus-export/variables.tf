variable "scope_id" {
  description = "Scope the export covers: an EA billing account (/providers/Microsoft.Billing/billingAccounts/<id>), an MCA billing profile (.../billingProfiles/<id>) or a subscription (/subscriptions/<guid>)."
  type        = string
}

variable "customer_tenant_id" {
  description = "The customer's Entra tenant id: the export's folder in the container, which is how AzCops knows whose costs the files are (it must match a tenant registered with `azcops tenant add`)."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.customer_tenant_id))
    error_message = "customer_tenant_id must be a lower-case GUID."
  }
}

variable "storage_account_id" {
  description = "Resource id of the AzCops storage account holding the `exports` container (module storage, output id)."
  type        = string
}

variable "location" {
  description = "Region of the export's system-assigned identity."
  type        = string
}

variable "export_name" {
  description = "Name of the export definition (a folder of every run's path)."
  type        = string
  default     = "focus-cost"
}

variable "recurrence_start" {
  description = "First daily run (RFC 3339, in the future), e.g. 2027-01-01T05:00:00Z."
  type        = string
}
