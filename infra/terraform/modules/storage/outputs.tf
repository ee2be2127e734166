output "id" {
  description = "ID of the storage account."
  value       = azurerm_storage_account.this.id
}

output "name" {
  description = "Name of the storage account."
  value       = azurerm_storage_account.this.name
}

output "primary_blob_endpoint" {
  description = "Blob service endpoint, ending in a slash."
  value       = azurerm_storage_account.this.primary_blob_endpoint
}

output "raw_container_name" {
  description = "Name of the raw snapshot container."
  value       = azurerm_storage_container.raw.name
}

output "raw_container_url" {
  description = "URL of the raw snapshot container (AZCOPS_RAW_STORE)."
  value       = "${azurerm_storage_account.this.primary_blob_endpoint}${azurerm_storage_container.raw.name}"
}

output "exports_container_name" {
  description = "Name of the Cost Management exports container."
  value       = azurerm_storage_container.exports.name
}

output "exports_container_url" {
  description = "URL of the Cost Management exports container (AZCOPS_EXPORTS_CONTAINER)."
  value       = "${azurerm_storage_account.this.primary_blob_endpoint}${azurerm_storage_container.exports.name}"
}

output "deployment_container_url" {
  description = "URL of the container Flex Consumption runs the deployment package from."
  value       = "${azurerm_storage_account.this.primary_blob_endpoint}${azurerm_storage_container.deployment.name}"
}

output "container_ids" {
  description = "Resource Manager IDs of the containers, keyed by name: the scopes of the blob data roles."
  value = merge(
    {
      (azurerm_storage_container.raw.name)        = azurerm_storage_container.raw.id
      (azurerm_storage_container.exports.name)    = azurerm_storage_container.exports.id
      (azurerm_storage_container.deployment.name) = azurerm_storage_container.deployment.id
    },
    { for name, container in azurerm_storage_container.host : name => container.id },
  )
}

output "queue_names" {
  description = "Names of the ingestion queue and its poison queue."
  value       = [for q in azurerm_storage_queue.this : q.name]
}
