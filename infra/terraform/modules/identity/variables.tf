variable "name_prefix" {
  description = "Prefix for every resource name, e.g. azcops-dev."
  type        = string
}

variable "location" {
  description = "Azure region."
  type        = string
}

variable "resource_group_name" {
  description = "Resource group for the identity."
  type        = string
}

variable "monitored_scopes" {
  description = "Management group or subscription resource IDs AzCops reads (e.g. /providers/Microsoft.Management/managementGroups/contoso or /subscriptions/<id>). Customer subscriptions in other tenants are reached through Lighthouse instead (infra/lighthouse)."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for s in var.monitored_scopes :
      can(regex("^/providers/Microsoft.Management/managementGroups/[^/]+$", s)) || can(regex("^/subscriptions/[0-9a-fA-F-]{36}$", s))
    ])
    error_message = "Each monitored scope must be a management group or a subscription ID: never a resource group or resource."
  }
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}

variable "enable_remediation" {
  description = "Create the remediation identity and its least-privilege custom role (delete approved waste). Off by default: AzCops then only reads."
  type        = bool
  default     = false
}
