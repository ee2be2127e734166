output "id" {
  description = "Resource ID of the user-assigned identity."
  value       = azurerm_user_assigned_identity.app.id
}

output "name" {
  description = "Name of the identity (its PostgreSQL role name)."
  value       = azurerm_user_assigned_identity.app.name
}

output "principal_id" {
  description = "Object ID of the identity's service principal (role assignments, Lighthouse)."
  value       = azurerm_user_assigned_identity.app.principal_id
}

output "client_id" {
  description = "Client ID of the identity (AZURE_CLIENT_ID, AzureWebJobsStorage__clientId)."
  value       = azurerm_user_assigned_identity.app.client_id
}

output "deployment_id" {
  description = "Resource ID of the deployment storage identity (Flex Consumption package access only)."
  value       = azurerm_user_assigned_identity.deployment.id
}

output "deployment_principal_id" {
  description = "Object ID of the deployment storage identity."
  value       = azurerm_user_assigned_identity.deployment.principal_id
}

output "tenant_id" {
  description = "Tenant of the identity."
  value       = azurerm_user_assigned_identity.app.tenant_id
}

output "remediation_id" {
  description = "Resource ID of the remediation identity (null unless enable_remediation)."
  value       = one(azurerm_user_assigned_identity.remediation[*].id)
}

output "remediation_client_id" {
  description = "Client ID of the remediation identity (AZCOPS_REMEDIATION_CLIENT_ID; null unless enable_remediation)."
  value       = one(azurerm_user_assigned_identity.remediation[*].client_id)
}

output "remediation_principal_id" {
  description = "Object ID of the remediation identity (the opt-in Lighthouse remediation delegation; null unless enable_remediation)."
  value       = one(azurerm_user_assigned_identity.remediation[*].principal_id)
}
