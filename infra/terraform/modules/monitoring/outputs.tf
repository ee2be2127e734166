output "log_analytics_workspace_id" {
  description = "ID of the Log Analytics workspace every diagnostic setting sends to."
  value       = azurerm_log_analytics_workspace.this.id
}

output "application_insights_id" {
  description = "ID of the Application Insights resource."
  value       = azurerm_application_insights.this.id
}

output "application_insights_name" {
  description = "Name of the Application Insights resource."
  value       = azurerm_application_insights.this.name
}

output "application_insights_connection_string" {
  description = "Application Insights connection string (kept in Key Vault, referenced by the app)."
  value       = azurerm_application_insights.this.connection_string
  sensitive   = true
}

output "action_group_id" {
  description = "Action group notified by operational alerts."
  value       = azurerm_monitor_action_group.ops.id
}
