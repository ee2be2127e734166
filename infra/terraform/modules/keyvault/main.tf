resource "azurerm_key_vault" "this" {
  #checkov:skip=CKV_AZURE_42:Soft delete is always on for new vaults; purge protection is a per-environment variable (true in prod) so dev/test vault names can be reused after teardown.
  #checkov:skip=CKV_AZURE_110:Same as CKV_AZURE_42: purge protection is enabled in prod through purge_protection_enabled.
  name                          = var.name
  location                      = var.location
  resource_group_name           = var.resource_group_name
  tenant_id                     = var.tenant_id
  sku_name                      = "standard"
  rbac_authorization_enabled    = true
  purge_protection_enabled      = var.purge_protection_enabled
  soft_delete_retention_days    = var.soft_delete_retention_days
  public_network_access_enabled = false

  network_acls {
    default_action = "Deny"
    bypass         = "AzureServices"
  }

  tags = var.tags
}

resource "azurerm_private_endpoint" "vault" {
  name                = "pe-${var.name}-vault"
  location            = var.location
  resource_group_name = var.resource_group_name
  subnet_id           = var.private_endpoint_subnet_id
  tags                = var.tags

  private_service_connection {
    name                           = "psc-${var.name}-vault"
    private_connection_resource_id = azurerm_key_vault.this.id
    subresource_names              = ["vault"]
    is_manual_connection           = false
  }

  private_dns_zone_group {
    name                 = "default"
    private_dns_zone_ids = [var.private_dns_zone_id]
  }
}

# Secrets go through the management plane (Microsoft.KeyVault/vaults/secrets) rather than the vault's
# data plane, which is reachable only inside the VNet: a hosted pipeline runner can write them
# without opening the vault's firewall. The value is a write-only argument, so it never lands in
# the Terraform state; a short hash of it is the version that triggers a re-write on change.
resource "azapi_resource" "secret" {
  for_each  = nonsensitive(toset(keys(var.secrets)))
  type      = "Microsoft.KeyVault/vaults/secrets@2023-07-01"
  name      = each.value
  parent_id = azurerm_key_vault.this.id

  body = {
    properties = {
      contentType = "text/plain"
      attributes = {
        enabled = true
      }
    }
  }

  sensitive_body = {
    properties = {
      value = var.secrets[each.value]
    }
  }

  sensitive_body_version = {
    "properties.value" = nonsensitive(substr(sha256(var.secrets[each.value]), 0, 12))
  }

  response_export_values = ["properties.secretUri"]
}

resource "azurerm_monitor_diagnostic_setting" "vault" {
  name                       = "to-log-analytics"
  target_resource_id         = azurerm_key_vault.this.id
  log_analytics_workspace_id = var.log_analytics_workspace_id

  enabled_log {
    category_group = "audit"
  }
  enabled_metric {
    category = "AllMetrics"
  }
}
