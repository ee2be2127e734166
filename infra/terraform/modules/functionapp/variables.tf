variable "name" {
  description = "Function App name (globally unique host name label, at most 32 characters)."
  type        = string

  validation {
    condition     = length(var.name) <= 32
    error_message = "name must be at most 32 characters (longer names can collide on the host ID)."
  }
}

variable "location" {
  description = "Azure region."
  type        = string
}

variable "resource_group_name" {
  description = "Resource group for the plan and the app."
  type        = string
}

variable "identity_id" {
  description = "Resource ID of the user-assigned identity the app runs as."
  type        = string
}

variable "deployment_identity_id" {
  description = "Resource ID of the user-assigned identity Flex Consumption uses for the deployment container (package upload and download). Must not be identity_id, so the app identity cannot write its own package."
  type        = string

  validation {
    condition     = var.deployment_identity_id != ""
    error_message = "deployment_identity_id is required."
  }
}

variable "identity_client_id" {
  description = "Client ID of that identity."
  type        = string
}

variable "storage_account_name" {
  description = "Host storage account (AzureWebJobsStorage__accountName)."
  type        = string
}

variable "deployment_container_url" {
  description = "Blob container URL the deployment package is run from."
  type        = string
}

variable "function_subnet_id" {
  description = "Subnet delegated to Microsoft.App/environments for outbound VNet integration."
  type        = string
}

variable "runtime_version" {
  description = "Version of the Flex \"custom\" runtime stack. ARM accepts any string but the app only starts with one from the regional catalog: check `az functionapp list-flexconsumption-runtimes --location <region> --runtime custom`."
  type        = string
  default     = "1.0"
}

variable "instance_memory_mb" {
  description = "Flex Consumption instance memory: 512, 2048 or 4096 MB."
  type        = number
  default     = 2048

  validation {
    condition     = contains([512, 2048, 4096], var.instance_memory_mb)
    error_message = "instance_memory_mb must be 512, 2048 or 4096."
  }
}

variable "maximum_instance_count" {
  description = "Upper bound of Flex Consumption scale-out (1-1000). Each instance opens up to AZCOPS_DB_MAX_CONNECTIONS PostgreSQL connections, so size the server for the product."
  type        = number
  default     = 40

  validation {
    condition     = var.maximum_instance_count >= 1 && var.maximum_instance_count <= 1000
    error_message = "maximum_instance_count must be between 1 and 1000."
  }
}

variable "always_ready" {
  description = "Always-ready instances per function group, e.g. { \"http\" = 1 } to keep the API warm. Billed while idle; empty means scale to zero."
  type        = map(number)
  default     = {}
}

variable "key_vault_name" {
  description = "Vault holding the secrets referenced from app settings."
  type        = string
}

variable "app_insights_secret_name" {
  description = "Key Vault secret holding the Application Insights connection string."
  type        = string
}

variable "secret_app_settings" {
  description = "Further app settings whose values are Key Vault secrets: setting name => secret name. The secret must exist in the vault (written out of band or through the keyvault module)."
  type        = map(string)
  default     = {}
}

variable "database_url" {
  description = "Password-less PostgreSQL URL naming the app identity as user."
  type        = string
}

variable "db_max_connections" {
  description = "Pool size per instance (AZCOPS_DB_MAX_CONNECTIONS)."
  type        = number
  default     = 5
}

variable "raw_store_url" {
  description = "URL of the raw snapshot container (AZCOPS_RAW_STORE)."
  type        = string
}

variable "exports_container_url" {
  description = "URL of the Cost Management exports container (AZCOPS_EXPORTS_CONTAINER)."
  type        = string
}

variable "cloud_endpoints" {
  description = "Cloud endpoints; the defaults are Azure public cloud."
  type = object({
    arm_endpoint           = optional(string, "https://management.azure.com")
    arm_audience           = optional(string, "https://management.azure.com/")
    authority_host         = optional(string, "https://login.microsoftonline.com")
    retail_prices_endpoint = optional(string, "https://prices.azure.com")
  })
  default = {}
}

variable "azure_client" {
  description = "Azure client tuning (retries, timeouts, paging cap, request governor, metrics fan-out, client tag). Defaults match the binary's."
  type = object({
    max_retries         = optional(number, 5)
    timeout_secs        = optional(number, 100)
    page_cap            = optional(number, 10000)
    governor_enabled    = optional(bool, true)
    metrics_concurrency = optional(number, 8)
    client_type         = optional(string, "azcops")
  })
  default = {}
}

variable "auth" {
  description = "Validation of callers' Entra tokens on /api/v1: the API app registration's audience, the authority, and the JWKS URL."
  type = object({
    audience  = string
    authority = optional(string, "https://login.microsoftonline.com")
    jwks_url  = optional(string, "https://login.microsoftonline.com/common/discovery/v2.0/keys")
  })

  # The binary refuses plain http for these unless the host is loopback, which never applies here.
  validation {
    condition     = startswith(var.auth.authority, "https://") && startswith(var.auth.jwks_url, "https://")
    error_message = "auth.authority and auth.jwks_url must be https URLs."
  }
}

variable "control_plane_tenant_id" {
  description = "Tenant whose platform-admin role may act across customer tenants (AZCOPS_CONTROL_PLANE_TENANT)."
  type        = string
}

variable "cors_origins" {
  description = "Browser origins allowed to call the API (AZCOPS_CORS_ORIGINS). CORS is handled by the binary, not by the platform."
  type        = list(string)
  default     = []
}

variable "rust_log" {
  description = "Log filter (RUST_LOG)."
  type        = string
  default     = "info"
}

variable "otel_exporter_otlp_endpoint" {
  description = "OTLP/HTTP trace endpoint (OTEL_EXPORTER_OTLP_ENDPOINT); empty disables trace export."
  type        = string
  default     = ""
}

variable "extra_app_settings" {
  description = "Additional plain app settings (must also be documented in local.settings.json.example)."
  type        = map(string)
  default     = {}
}

variable "log_analytics_workspace_id" {
  description = "Workspace receiving FunctionAppLogs."
  type        = string
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}

variable "web" {
  description = "The dashboard's Entra app registration (a confidential web client with redirect URI https://<app>/auth/callback): its client id, and the Key Vault secret names of its client secret and of the session cookie key (at least 32 characters); the defaults are the names the azcops module gives extra_secrets AZCOPS_WEB_CLIENT_SECRET and AZCOPS_SESSION_KEY. client_assertion \"managed-identity\" replaces the client secret with the federated credential (no secret reference is set)."
  type = object({
    client_id               = optional(string, "")
    client_assertion        = optional(string, "")
    client_secret_name      = optional(string, "azcops-web-client-secret")
    session_key_secret_name = optional(string, "azcops-session-key")
  })
  default = {}
}

variable "notify" {
  description = "Notifications: the Key Vault secret name of the key sealing channel secrets (base64 of 32 bytes, AZCOPS_NOTIFY_SECRET_KEY), the Azure Communication Services endpoint and verified sender address for email channels (empty: email channels fail with a recorded reason), and the dashboard URL linked from Teams cards and emails."
  type = object({
    secret_key_name = optional(string, "azcops-notify-secret-key")
    acs_endpoint    = optional(string, "")
    email_sender    = optional(string, "")
    dashboard_url   = optional(string, "")
  })
  default = {}
}

variable "remediation_identity" {
  description = "The remediation identity (resource id and client id) when remediation is enabled, else null: it is attached to the app and named in AZCOPS_REMEDIATION_CLIENT_ID."
  type = object({
    id        = string
    client_id = string
  })
  default = null
}
