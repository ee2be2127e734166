variable "subscription_id" {
  description = "Subscription to deploy into (TF_VAR_subscription_id in the pipeline)."
  type        = string
}

variable "location" {
  description = "Azure region."
  type        = string
}

variable "network" {
  description = "Address plan of the VNet."
  type = object({
    address_space                  = list(string)
    function_subnet_prefix         = string
    private_endpoint_subnet_prefix = string
    postgres_subnet_prefix         = string
  })
}

variable "function_app" {
  description = "Flex Consumption sizing."
  type = object({
    runtime_version        = optional(string, "1.0")
    instance_memory_mb     = optional(number, 2048)
    maximum_instance_count = optional(number, 40)
    always_ready           = optional(map(number), {})
  })
  default = {}
}

variable "postgres" {
  description = "PostgreSQL sizing, HA and backups."
  type = object({
    sku_name                     = string
    storage_mb                   = optional(number, 32768)
    zone                         = optional(string)
    high_availability_mode       = optional(string, "Disabled")
    standby_zone                 = optional(string)
    backup_retention_days        = optional(number, 7)
    geo_redundant_backup_enabled = optional(bool, false)
    max_connections_per_instance = optional(number, 5)
  })
}

variable "postgres_admin" {
  description = "The PostgreSQL Entra administrator that runs migrations, never the app identity (TF_VAR_postgres_admin in the pipeline)."
  type = object({
    object_id      = string
    principal_name = string
    principal_type = optional(string, "ServicePrincipal")
  })
}

variable "postgres_additional_entra_admins" {
  description = "Extra Entra administrators of the database, keyed by display name."
  type = map(object({
    object_id      = string
    principal_type = string
  }))
  default = {}
}

variable "storage_replication_type" {
  description = "Replication of the storage account."
  type        = string
  default     = "ZRS"
}

variable "raw_immutability_locked" {
  description = "Lock the raw container's retention policy (irreversible)."
  type        = bool
  default     = false
}

variable "key_vault_purge_protection" {
  description = "Purge protection on the Key Vault."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "Log Analytics retention in days."
  type        = number
  default     = 30
}

variable "log_daily_quota_gb" {
  description = "Log Analytics daily cap in GB; -1 for none."
  type        = number
  default     = -1
}

variable "monitored_scopes" {
  description = "Management group or subscription IDs AzCops reads in the control-plane tenant."
  type        = list(string)
  default     = []
}

variable "auth_audience" {
  description = "Audience of the AzCops API app registration (TF_VAR_auth_audience)."
  type        = string
}

variable "cors_origins" {
  description = "Browser origins allowed to call the API."
  type        = list(string)
  default     = []
}

variable "rust_log" {
  description = "Log filter for the binary."
  type        = string
  default     = "info"
}

variable "eventgrid_subscription_enabled" {
  description = "Create the manifest BlobCreated subscription (after the first package deployment)."
  type        = bool
  default     = false
}

variable "alert_email_receivers" {
  description = "Who is told about operational alerts: name => email address."
  type        = map(string)
  default     = {}
}

variable "egress_nat_gateway" {
  description = "Fixed egress IP for the app through a NAT gateway."
  type        = bool
  default     = false
}

variable "control_plane_tenant_id" {
  description = "Tenant of the platform operators; null means the deploying tenant."
  type        = string
  default     = null
}

variable "otel_exporter_otlp_endpoint" {
  description = "OTLP/HTTP endpoint for traces; empty disables export."
  type        = string
  default     = ""
}

variable "extra_app_settings" {
  description = "Additional plain app settings."
  type        = map(string)
  default     = {}
}

variable "extra_secrets" {
  description = "Additional secret app settings (setting name => value), stored in Key Vault; pass as TF_VAR_extra_secrets from a secret store."
  type        = map(string)
  default     = {}
  sensitive   = true
}

variable "tags" {
  description = "Extra tags."
  type        = map(string)
  default     = {}
}

variable "enable_remediation" {
  description = "Opt in to remediation of approved waste with a separate least-privilege identity."
  type        = bool
  default     = false
}
