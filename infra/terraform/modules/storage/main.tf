# One account is both the Functions host storage and the raw snapshot lake. Shared-key access is off,
# so every client (the host, the binary, Terraform itself) authenticates with Entra ID; containers and
# queues are created through the management plane because the data plane is private.

locals {
  raw_container        = "raw"
  exports_container    = "exports"
  deployment_container = "deployment"
  # The Functions host's own containers (locks, timer schedules, blob receipts; host keys). Created
  # here so the app's roles can be scoped to them instead of to the account.
  host_containers   = ["azure-webjobs-hosts", "azure-webjobs-secrets"]
  queues            = ["ingest-subscription", "ingest-subscription-poison"]
  endpoint_services = ["blob", "queue", "table", "dfs"]
}

resource "azurerm_storage_account" "this" {
  #checkov:skip=CKV2_AZURE_1:Microsoft-managed keys; a customer-managed key needs a key in a vault reachable at account creation, left as an operator option.
  #checkov:skip=CKV_AZURE_206:ZRS (three zones) is the floor enforced by the replication_type validation; prod uses GZRS.
  #checkov:skip=CKV_AZURE_43:The name is composed from variables and validated against the naming rule in variable "name".
  #checkov:skip=CKV_AZURE_33:Classic Storage Analytics logging needs shared-key data-plane calls; queue logs go to Log Analytics through the diagnostic setting below.
  name                     = var.name
  location                 = var.location
  resource_group_name      = var.resource_group_name
  account_kind             = "StorageV2"
  account_tier             = "Standard"
  account_replication_type = var.replication_type
  access_tier              = "Hot"

  # Hierarchical namespace for the raw lake (directory-scoped listing and ACLs).
  is_hns_enabled = true

  min_tls_version                   = "TLS1_2"
  https_traffic_only_enabled        = true
  shared_access_key_enabled         = false
  default_to_oauth_authentication   = true
  allow_nested_items_to_be_public   = false
  public_network_access_enabled     = false
  local_user_enabled                = false
  sftp_enabled                      = false
  infrastructure_encryption_enabled = true
  cross_tenant_replication_enabled  = false

  # Public network access is off, so these rules only matter if someone re-enables it.
  network_rules {
    default_action = "Deny"
    bypass         = ["AzureServices"]
  }

  blob_properties {
    delete_retention_policy {
      days = var.soft_delete_retention_days
    }
    container_delete_retention_policy {
      days = var.soft_delete_retention_days
    }
  }

  sas_policy {
    expiration_period = "00.01:00:00"
    expiration_action = "Block"
  }

  tags = var.tags
}

resource "azurerm_storage_container" "raw" {
  #checkov:skip=CKV2_AZURE_21:Blob read/write/delete logs go to Log Analytics through the blobServices diagnostic setting below, which checkov cannot link to the container.
  name                  = local.raw_container
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}

# Cost Management exports (FOCUS) land here, one folder per customer tenant (its Entra tenant id as
# the export's rootFolderPath); the files stay here and AzCops records what it ingested.
resource "azurerm_storage_container" "exports" {
  #checkov:skip=CKV2_AZURE_21:Blob read/write/delete logs go to Log Analytics through the blobServices diagnostic setting below, which checkov cannot link to the container.
  name                  = local.exports_container
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}

resource "azurerm_storage_container" "deployment" {
  #checkov:skip=CKV2_AZURE_21:Blob read/write/delete logs go to Log Analytics through the blobServices diagnostic setting below, which checkov cannot link to the container.
  name                  = local.deployment_container
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}

resource "azurerm_storage_container" "host" {
  #checkov:skip=CKV2_AZURE_21:Blob read/write/delete logs go to Log Analytics through the blobServices diagnostic setting below, which checkov cannot link to the container.
  for_each              = toset(local.host_containers)
  name                  = each.value
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}

# Version-level WORM is not available on accounts with a hierarchical namespace, so the raw layer
# is protected by a container-level time-based retention policy of the same length as the
# lifecycle rule: a raw snapshot cannot be overwritten or deleted until the rule may delete it.
resource "azurerm_storage_container_immutability_policy" "raw" {
  storage_container_resource_manager_id = azurerm_storage_container.raw.id
  immutability_period_in_days           = var.raw_retention_days
  locked                                = var.raw_immutability_locked
  protected_append_writes_all_enabled   = false
  protected_append_writes_enabled       = false
}

resource "azurerm_storage_management_policy" "this" {
  storage_account_id = azurerm_storage_account.this.id

  rule {
    name    = "raw-delete-after-retention"
    enabled = true
    filters {
      prefix_match = ["${local.raw_container}/"]
      blob_types   = ["blockBlob"]
    }
    actions {
      base_blob {
        delete_after_days_since_creation_greater_than = var.raw_retention_days
      }
    }
  }

}

resource "azurerm_storage_queue" "this" {
  for_each           = toset(local.queues)
  name               = each.value
  storage_account_id = azurerm_storage_account.this.id
}

resource "azurerm_private_endpoint" "this" {
  for_each            = toset(local.endpoint_services)
  name                = "pe-${var.name}-${each.value}"
  location            = var.location
  resource_group_name = var.resource_group_name
  subnet_id           = var.private_endpoint_subnet_id
  tags                = var.tags

  private_service_connection {
    name                           = "psc-${var.name}-${each.value}"
    private_connection_resource_id = azurerm_storage_account.this.id
    subresource_names              = [each.value]
    is_manual_connection           = false
  }

  private_dns_zone_group {
    name                 = "default"
    private_dns_zone_ids = [var.private_dns_zone_ids[each.value]]
  }
}

resource "azurerm_monitor_diagnostic_setting" "account" {
  name                       = "to-log-analytics"
  target_resource_id         = azurerm_storage_account.this.id
  log_analytics_workspace_id = var.log_analytics_workspace_id

  enabled_metric {
    category = "Transaction"
  }
}

resource "azurerm_monitor_diagnostic_setting" "services" {
  for_each                   = toset(["blobServices", "queueServices"])
  name                       = "to-log-analytics"
  target_resource_id         = "${azurerm_storage_account.this.id}/${each.value}/default"
  log_analytics_workspace_id = var.log_analytics_workspace_id

  enabled_log {
    category = "StorageRead"
  }
  enabled_log {
    category = "StorageWrite"
  }
  enabled_log {
    category = "StorageDelete"
  }
  enabled_metric {
    category = "Transaction"
  }
}
