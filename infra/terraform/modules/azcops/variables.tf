variable "environment" {
  description = "Environment name: dev, test or prod."
  type        = string

  validation {
    condition     = contains(["dev", "test", "prod"], var.environment)
    error_message = "environment must be dev, test or prod."
  }
}

variable "location" {
  description = "Azure region (must offer Flex Consumption and PostgreSQL Flexible Server)."
  type        = string
}

variable "project" {
  description = "Short project name used in resource names."
  type        = string
  default     = "azcops"
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
  description = "Flex Consumption sizing: instance memory, maximum scale-out, always-ready instances."
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
  description = "The PostgreSQL Entra administrator: a principal separate from the app identity (e.g. a deployment identity with a federated credential for the pipeline) that runs `azcops migrate` and infra/sql/app-role.sql. principal_name is its display name, which is also its PostgreSQL role."
  type = object({
    object_id      = string
    principal_name = string
    principal_type = optional(string, "ServicePrincipal")
  })
}

variable "postgres_additional_entra_admins" {
  description = "Extra Entra administrators of the database (e.g. an operators group), keyed by display name."
  type = map(object({
    object_id      = string
    principal_type = string
  }))
  default = {}
}

variable "storage_replication_type" {
  description = "Replication of the storage account (ZRS, GZRS, ...)."
  type        = string
  default     = "ZRS"
}

variable "raw_retention_days" {
  description = "Days a raw snapshot is immutable and then deleted."
  type        = number
  default     = 90
}

variable "raw_immutability_locked" {
  description = "Lock the raw container's retention policy (irreversible; prod)."
  type        = bool
  default     = false
}

variable "key_vault_purge_protection" {
  description = "Purge protection on the Key Vault (prod)."
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
  description = "Management group or subscription IDs the app identity gets Reader, Cost Management Reader and Monitoring Reader on."
  type        = list(string)
  default     = []
}

variable "auth_audience" {
  description = "Audience (App ID URI or client ID) of the AzCops API app registration."
  type        = string
}

variable "web_client_id" {
  description = "Client ID of the dashboard's app registration (AZCOPS_WEB_CLIENT_ID; redirect URI https://<app>/auth/callback). Empty: the dashboard says sign-in is not configured. Its secret and the session key go in extra_secrets as AZCOPS_WEB_CLIENT_SECRET and AZCOPS_SESSION_KEY."
  type        = string
  default     = ""
}

variable "web_client_credential" {
  description = "How the dashboard redeems sign-in codes: \"secret\" (AZCOPS_WEB_CLIENT_SECRET from extra_secrets) or \"federated\" (a federated identity credential on the registration trusts the app's user-assigned identity; the app sends that identity's token as client assertion, AZCOPS_WEB_CLIENT_ASSERTION = managed-identity, and no client secret exists)."
  type        = string
  default     = "secret"

  validation {
    condition     = contains(["secret", "federated"], var.web_client_credential)
    error_message = "web_client_credential must be \"secret\" or \"federated\"."
  }
}

variable "web_application_id" {
  description = "Resource ID of the dashboard's app registration (\"/applications/<object id>\"), on which the federated identity credential is created when web_client_credential is \"federated\"."
  type        = string
  default     = ""

  validation {
    condition     = var.web_application_id == "" || can(regex("^/applications/[0-9a-fA-F-]{36}$", var.web_application_id))
    error_message = "web_application_id must be \"/applications/<object id>\"."
  }
}

variable "control_plane_tenant_id" {
  description = "Tenant of the platform operators; defaults to the deploying tenant."
  type        = string
  default     = null
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
  description = "Additional secrets to store in Key Vault and expose as app settings: setting name => secret value."
  type        = map(string)
  default     = {}
  sensitive   = true
}

variable "eventgrid_subscription_enabled" {
  description = "Create the manifest BlobCreated subscription (second apply, after the first package deployment)."
  type        = bool
  default     = false
}

variable "alert_email_receivers" {
  description = "Who is told about operational alerts: name => email address."
  type        = map(string)
  default     = {}
}

variable "egress_nat_gateway" {
  description = "Give the app's outbound traffic a NAT gateway (fixed public IP, explicit outbound) instead of the subnet's default outbound access."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}

variable "email_enabled" {
  description = "Create Azure Communication Services email (an Azure-managed sender domain) for email notification channels, and give the function app's identity a role to send through it. Off: email channels record a failure naming the missing setting. The channel secret key goes in extra_secrets as AZCOPS_NOTIFY_SECRET_KEY (base64 of 32 bytes)."
  type        = bool
  default     = false
}

variable "dashboard_url" {
  description = "The dashboard's public URL, linked from Teams cards and emails (AZCOPS_DASHBOARD_URL). Empty: no link."
  type        = string
  default     = ""
}

variable "enable_remediation" {
  description = "Opt in to remediation: a separate identity with a least-privilege custom role that deletes approved waste (see README, Remediation). Tenants still turn each action on in their rule settings."
  type        = bool
  default     = false
}
