variable "name" {
  description = "Key Vault name (3-24 characters, globally unique)."
  type        = string
}

variable "location" {
  description = "Azure region."
  type        = string
}

variable "resource_group_name" {
  description = "Resource group for the vault."
  type        = string
}

variable "tenant_id" {
  description = "Entra tenant that authenticates requests to the vault."
  type        = string
}

variable "purge_protection_enabled" {
  description = "Purge protection: deleted secrets cannot be purged before soft-delete retention ends. On in prod; off elsewhere so a test environment can be torn down and recreated under the same name."
  type        = bool
  default     = true
}

variable "soft_delete_retention_days" {
  description = "Soft-delete retention in days (7-90)."
  type        = number
  default     = 90
}

variable "private_endpoint_subnet_id" {
  description = "Subnet for the vault's private endpoint."
  type        = string
}

variable "private_dns_zone_id" {
  description = "ID of the privatelink.vaultcore.azure.net zone."
  type        = string
}

variable "log_analytics_workspace_id" {
  description = "Workspace receiving the vault's audit logs."
  type        = string
}

variable "secrets" {
  description = "Secrets to store, name => value. Written through Azure Resource Manager so the vault's data plane can stay private."
  type        = map(string)
  default     = {}
  sensitive   = true
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
