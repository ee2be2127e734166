output "virtual_network_id" {
  description = "ID of the virtual network."
  value       = azurerm_virtual_network.this.id
}

output "function_subnet_id" {
  description = "ID of the subnet delegated to the Function App's VNet integration."
  value       = azurerm_subnet.function.id
}

output "private_endpoint_subnet_id" {
  description = "ID of the subnet for Storage and Key Vault private endpoints."
  value       = azurerm_subnet.private_endpoints.id
}

output "postgres_subnet_id" {
  description = "ID of the subnet for the PostgreSQL private endpoint."
  value       = azurerm_subnet.postgres.id
}

output "private_dns_zone_ids" {
  description = "Private DNS zone IDs keyed by service: blob, queue, table, dfs, vault, postgres."
  value       = { for k, z in azurerm_private_dns_zone.this : k => z.id }
}
