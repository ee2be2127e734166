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

output "database_url" {
  description = "Password-less connection URL for the app identity (DATABASE_URL)."
  value       = "postgres://${urlencode(var.app_identity.name)}@${azurerm_postgresql_flexible_server.this.fqdn}:5432/${azurerm_postgresql_flexible_server_database.this.name}?sslmode=require"
}
