variable "name" {
  description = "Storage account name (3-24 lowercase letters and digits, globally unique)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]{3,24}$", var.name))
    error_message = "name must be 3-24 lowercase letters or digits."
  }
}

variable "location" {
  description = "Azure region."
  type        = string
}

variable "resource_group_name" {
  description = "Resource group for the storage account."
  type        = string
}

variable "replication_type" {
  description = "Replication: ZRS, GRS, RAGRS, GZRS or RAGZRS."
  type        = string
  default     = "ZRS"

  validation {
    condition     = contains(["ZRS", "GRS", "RAGRS", "GZRS", "RAGZRS"], var.replication_type)
    error_message = "replication_type must be ZRS, GRS, RAGRS, GZRS or RAGZRS (LRS loses the raw layer with one datacentre)."
  }
}

variable "raw_retention_days" {
  description = "Days a raw snapshot is kept: the immutability period of the raw container and the age at which the lifecycle rule deletes it."
  type        = number
  default     = 90
}

variable "raw_immutability_locked" {
  description = "Lock the raw container's time-based retention policy. A locked policy cannot be removed or shortened and blocks deleting the account until every blob has expired: true for prod only."
  type        = bool
  default     = false
}

variable "soft_delete_retention_days" {
  description = "Blob and container soft-delete retention in days."
  type        = number
  default     = 7
}

variable "private_endpoint_subnet_id" {
  description = "Subnet for the blob, queue, table and dfs private endpoints."
  type        = string
}

variable "private_dns_zone_ids" {
  description = "Private DNS zone IDs keyed by service (blob, queue, table, dfs)."
  type        = map(string)
}

variable "log_analytics_workspace_id" {
  description = "Workspace receiving the account's diagnostic logs and metrics."
  type        = string
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
