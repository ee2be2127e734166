variable "name_prefix" {
  description = "Prefix for every resource name, e.g. azcops-dev."
  type        = string
}

variable "location" {
  description = "Azure region (the storage account's)."
  type        = string
}

variable "resource_group_name" {
  description = "Resource group for the system topic."
  type        = string
}

variable "storage_account_id" {
  description = "Storage account whose BlobCreated events are delivered."
  type        = string
}

variable "raw_container_name" {
  description = "Container holding the manifests."
  type        = string
}

variable "exports_container_name" {
  description = "Container Cost Management exports are delivered to."
  type        = string
}

variable "function_app_name" {
  description = "Function App hosting evaluate_rules."
  type        = string
}

variable "function_app_hostname" {
  description = "Default host name of the Function App."
  type        = string
}

variable "subscription_enabled" {
  description = "Create the BlobCreated subscription. The blobs_extension system key it needs exists only once the app has started with the package deployed, so the first apply runs with false, the package is deployed, and a second apply sets true."
  type        = bool
  default     = false
}

variable "action_group_id" {
  description = "Action group notified when manifest events are dropped."
  type        = string
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
