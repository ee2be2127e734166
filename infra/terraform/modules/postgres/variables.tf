variable "name" {
  description = "Server name (globally unique DNS label)."
  type        = string
}

variable "location" {
  description = "Azure region."
  type        = string
}

variable "resource_group_name" {
  description = "Resource group for the server."
  type        = string
}

variable "tenant_id" {
  description = "Entra tenant that issues the tokens the server accepts."
  type        = string
}

variable "database_name" {
  description = "Name of the AzCops database."
  type        = string
  default     = "azcops"
}

variable "sku_name" {
  description = "Compute SKU, e.g. B_Standard_B1ms (dev), GP_Standard_D2ds_v5 (prod)."
  type        = string
}

variable "storage_mb" {
  description = "Provisioned storage in MB (32768 and up)."
  type        = number
  default     = 32768
}

variable "zone" {
  description = "Availability zone of the primary; null lets Azure choose."
  type        = string
  default     = null
}

variable "high_availability_mode" {
  description = "ZoneRedundant, SameZone, or Disabled. Burstable SKUs support Disabled only."
  type        = string
  default     = "Disabled"

  validation {
    condition     = contains(["ZoneRedundant", "SameZone", "Disabled"], var.high_availability_mode)
    error_message = "high_availability_mode must be ZoneRedundant, SameZone or Disabled."
  }
}

variable "standby_zone" {
  description = "Availability zone of the HA standby (ZoneRedundant only)."
  type        = string
  default     = null
}

variable "backup_retention_days" {
  description = "Point-in-time restore window in days (7-35)."
  type        = number
  default     = 7
}

variable "geo_redundant_backup_enabled" {
  description = "Copy backups to the paired region."
  type        = bool
  default     = false
}

variable "app_identity" {
  description = "The Function App's user-assigned identity. Its PostgreSQL role (same name) is created by the pipeline and gets DML rights only; it is never an administrator."
  type = object({
    principal_id = string
    name         = string
  })
}

variable "admin_principal" {
  description = "The Entra administrator of the server: the principal the pipeline signs in as to run `azcops migrate` and infra/sql/app-role.sql. Must not be the app identity."
  type = object({
    object_id      = string
    principal_name = string
    principal_type = string
  })

  validation {
    condition     = contains(["ServicePrincipal", "Group", "User"], var.admin_principal.principal_type)
    error_message = "admin_principal.principal_type must be ServicePrincipal, Group or User."
  }
}

variable "additional_entra_admins" {
  description = "Further Entra administrators (e.g. an operators group), keyed by display name. An entry naming the app identity is ignored: the app is never an administrator."
  type = map(object({
    object_id      = string
    principal_type = string
  }))
  default = {}
}

variable "private_endpoint_subnet_id" {
  description = "Subnet for the server's private endpoint."
  type        = string
}

variable "private_dns_zone_id" {
  description = "ID of the privatelink.postgres.database.azure.com zone."
  type        = string
}

variable "log_analytics_workspace_id" {
  description = "Workspace receiving server logs."
  type        = string
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
