variable "name_prefix" {
  description = "Prefix for every resource name, e.g. azcops-dev."
  type        = string
}

variable "location" {
  description = "Azure region."
  type        = string
}

variable "resource_group_name" {
  description = "Resource group for the workspace and Application Insights."
  type        = string
}

variable "log_retention_days" {
  description = "Log Analytics retention in days (30-730)."
  type        = number
  default     = 30

  validation {
    condition     = var.log_retention_days >= 30 && var.log_retention_days <= 730
    error_message = "log_retention_days must be between 30 and 730."
  }
}

variable "daily_quota_gb" {
  description = "Log Analytics daily ingestion cap in GB; -1 for no cap. A cap keeps a runaway log loop from becoming a bill."
  type        = number
  default     = -1
}

variable "alert_email_receivers" {
  description = "Who is told about operational alerts (dropped manifest events, ...): name => email address."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
