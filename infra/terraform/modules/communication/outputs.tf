output "endpoint" {
  description = "The Communication Services endpoint (AZCOPS_NOTIFY_ACS_ENDPOINT)."
  value       = "https://${azurerm_communication_service.this.hostname}"
}

output "sender_address" {
  description = "The Azure-managed domain's DoNotReply sender (AZCOPS_NOTIFY_EMAIL_SENDER)."
  value       = "DoNotReply@${azurerm_email_communication_service_domain.managed.from_sender_domain}"
}
