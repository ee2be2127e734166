output "system_topic_id" {
  description = "ID of the storage account's Event Grid system topic."
  value       = azurerm_eventgrid_system_topic.storage.id
}

output "subscription_id" {
  description = "ID of the manifest subscription, or null before it is enabled."
  value       = one(azurerm_eventgrid_system_topic_event_subscription.manifests[*].id)
}
