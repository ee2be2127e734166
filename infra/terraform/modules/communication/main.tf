# Email for notification channels: an Email Communication Service with an Azure-managed domain,
# connected to a Communication Services resource the function app's identity sends through
# (POST {endpoint}/emails:send with a Microsoft Entra token; no connection string or key).

resource "azurerm_email_communication_service" "this" {
  name                = "ecs-${var.name_prefix}-${var.suffix}"
  resource_group_name = var.resource_group_name
  data_location       = var.data_location
  tags                = var.tags
}

resource "azurerm_email_communication_service_domain" "managed" {
  name              = "AzureManagedDomain"
  email_service_id  = azurerm_email_communication_service.this.id
  domain_management = "AzureManaged"
  tags              = var.tags
}

resource "azurerm_communication_service" "this" {
  name                = "acs-${var.name_prefix}-${var.suffix}"
  resource_group_name = var.resource_group_name
  data_location       = var.data_location
  tags                = var.tags
}

resource "azurerm_communication_service_email_domain_association" "this" {
  communication_service_id = azurerm_communication_service.this.id
  email_service_domain_id  = azurerm_email_communication_service_domain.managed.id
}

# Sending with an Entra token needs a role on the Communication Services resource itself,
# scoped to it alone.
resource "azurerm_role_assignment" "sender" {
  scope                = azurerm_communication_service.this.id
  role_definition_name = "Contributor"
  principal_id         = var.sender_principal_id
  principal_type       = "ServicePrincipal"
}
