terraform {
  required_version = ">= 1.11.0"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 4.78.0, < 5.0.0"
    }
    azapi = {
      source  = "Azure/azapi"
      version = ">= 2.5.0, < 3.0.0"
    }
    azuread = {
      source  = "hashicorp/azuread"
      version = ">= 3.0.0, < 4.0.0"
    }
  }

  # Partial configuration: storage account, container and key come from -backend-config in the
  # pipeline (see infra/README.md). State is read with Entra ID, never an account key.
  backend "azurerm" {
    use_azuread_auth = true
  }
}
