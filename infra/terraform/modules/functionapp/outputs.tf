output "id" {
  description = "ID of the Function App."
  value       = azurerm_function_app_flex_consumption.this.id
}

output "name" {
  description = "Name of the Function App."
  value       = azurerm_function_app_flex_consumption.this.name
}

output "default_hostname" {
  description = "Default host name (<name>.azurewebsites.net)."
  value       = azurerm_function_app_flex_consumption.this.default_hostname
}

output "system_principal_id" {
  description = "Object ID of the system-assigned identity (resolves Key Vault references only)."
  value       = azurerm_function_app_flex_consumption.this.identity[0].principal_id
}

output "app_setting_names" {
  description = "Names of every app setting Terraform sets."
  value       = sort(concat(keys(local.all_app_settings), ["APPLICATIONINSIGHTS_CONNECTION_STRING"]))
}
