variable "name_prefix" {
  description = "Prefix of the resource names (project-environment)."
  type        = string
}

variable "suffix" {
  description = "Short unique suffix: Communication Services names are global."
  type        = string
}

variable "resource_group_name" {
  description = "Resource group for the services."
  type        = string
}

variable "data_location" {
  description = "Where Communication Services keep data at rest (e.g. Europe, United States)."
  type        = string
  default     = "Europe"
}

variable "sender_principal_id" {
  description = "Object ID of the identity that sends email (the function app's managed identity)."
  type        = string
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
