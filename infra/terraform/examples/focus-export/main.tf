# An example Cost Management export for one customer scope: FOCUS 1.0 (actual and amortized in one
# dataset), month to date, daily, partitioned gzip CSV with a manifest, delivered to the AzCops
# `exports` container under the customer's Entra tenant id. Cost Management re-sends the whole
# month on every run; AzCops replaces each (subscription, month) slice, so re-deliveries never add
# up. Apply it with credentials that can create exports at the scope (EA: Enterprise
# Administrator; MCA: billing profile owner or contributor) — Lighthouse delegations cannot,
# which is why exports exist as a second cost source. See docs on cost sources in the README.

resource "azapi_resource" "focus_export" {
  type      = "Microsoft.CostManagement/exports@2025-03-01"
  name      = var.export_name
  parent_id = var.scope_id
  location  = var.location

  # The export writes with its own identity, which needs Storage Blob Data Contributor on the
  # container (granted below once the identity exists).
  identity {
    type = "SystemAssigned"
  }

  body = {
    properties = {
      format                = "Csv"
      compressionMode       = "gzip"
      partitionData         = true
      dataOverwriteBehavior = "OverwritePreviousReport"
      exportDescription     = "FOCUS cost for AzCops"
      schedule = {
        status     = "Active"
        recurrence = "Daily"
        recurrencePeriod = {
          from = var.recurrence_start
        }
      }
      deliveryInfo = {
        destination = {
          type           = "AzureBlob"
          resourceId     = var.storage_account_id
          container      = "exports"
          rootFolderPath = var.customer_tenant_id
        }
      }
      definition = {
        type      = "FocusCost"
        timeframe = "MonthToDate"
        dataSet = {
          granularity = "Daily"
          configuration = {
            dataVersion = "1.0"
          }
        }
      }
    }
  }

  response_export_values = ["identity.principalId"]
}

resource "azapi_resource" "export_writer" {
  type      = "Microsoft.Authorization/roleAssignments@2022-04-01"
  name      = uuidv5("url", "${azapi_resource.focus_export.id}/exports-writer")
  parent_id = "${var.storage_account_id}/blobServices/default/containers/exports"

  body = {
    properties = {
      # Storage Blob Data Contributor.
      roleDefinitionId = "/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe"
      principalId      = azapi_resource.focus_export.output.identity.principalId
      principalType    = "ServicePrincipal"
    }
  }
}
