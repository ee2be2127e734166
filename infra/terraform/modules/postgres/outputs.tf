output "id" {
  description = "ID of the server."
  value       = azurerm_postgresql_flexible_server.this.id
}

output "fqdn" {
  description = "Server FQDN; resolves to the private endpoint inside the VNet."
  value       = azurerm_postgresql_flexible_server.this.fqdn
}

output "database_name" {
  description = "Name of the AzCops database."
  value       = azurerm_postgresql_flexible_server_database.this.name
}

output "app_role_name" {
  description = "PostgreSQL role the app logs in as (the app identity's name); DML only."
  value       = var.app_identity.name
}

output "admin_principal_name" {
  description = "PostgreSQL role of the Entra administrator that migrates the schema."
  value       = azurerm_postgresql_flexible_server_active_directory_administrator.admin.principal_name
}

output "database_url" {
  description = "Password-less connection URL for the app identity (DATABASE_URL)."
  value       = "postgres://${urlencode(var.app_identity.name)}@${azurerm_postgresql_flexible_server.this.fqdn}:5432/${azurerm_postgresql_flexible_server_database.this.name}?sslmode=require"
}
