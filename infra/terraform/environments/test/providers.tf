provider "azurerm" {
  subscription_id = var.subscription_id
  # The storage account has shared-key access disabled; the provider must use Entra ID for the
  # few data-plane reads it does.
  storage_use_azuread = true

  features {
    key_vault {
      purge_soft_delete_on_destroy = false
    }
    resource_group {
      prevent_deletion_if_contains_resources = true
    }
  }
}

provider "azapi" {
  subscription_id = var.subscription_id
}
