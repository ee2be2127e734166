# Remediation (opt-in, var.enable_remediation): a second user-assigned identity that deletes
# approved waste (unattached disks, orphaned public IPs and NICs, stale snapshots) and takes the
# snapshot before a disk deletion. It holds one custom role with only those actions, at the
# monitored scopes; the ingestion identity above stays read-only. The binary uses it only when
# AZCOPS_REMEDIATION_CLIENT_ID names it.

locals {
  remediation_scopes = var.enable_remediation ? toset(var.monitored_scopes) : toset([])
}

resource "azurerm_user_assigned_identity" "remediation" {
  count               = var.enable_remediation ? 1 : 0
  name                = "id-${var.name_prefix}-remediation"
  location            = var.location
  resource_group_name = var.resource_group_name
  tags                = var.tags
}

resource "azurerm_role_definition" "remediation" {
  count       = var.enable_remediation && length(var.monitored_scopes) > 0 ? 1 : 0
  name        = "AzCops Remediation (${var.name_prefix})"
  scope       = var.monitored_scopes[0]
  description = "AzCops remediation of approved waste: read and delete unattached disks, orphaned public IPs and NICs and stale snapshots, snapshot a disk before deleting it, read management locks."

  permissions {
    actions = [
      "Microsoft.Compute/disks/read",
      "Microsoft.Compute/disks/delete",
      "Microsoft.Compute/snapshots/read",
      "Microsoft.Compute/snapshots/write",
      "Microsoft.Compute/snapshots/delete",
      "Microsoft.Compute/locations/operations/read",
      "Microsoft.Compute/locations/DiskOperations/read",
      "Microsoft.Network/publicIPAddresses/read",
      "Microsoft.Network/publicIPAddresses/delete",
      "Microsoft.Network/networkInterfaces/read",
      "Microsoft.Network/networkInterfaces/delete",
      "Microsoft.Network/locations/operations/read",
      "Microsoft.Network/locations/operationResults/read",
      "Microsoft.Authorization/locks/read",
      "Microsoft.Resources/subscriptions/resourceGroups/read",
    ]
    not_actions = []
  }

  assignable_scopes = var.monitored_scopes
}

resource "azurerm_role_assignment" "remediation" {
  for_each           = length(azurerm_role_definition.remediation) > 0 ? local.remediation_scopes : toset([])
  scope              = each.value
  role_definition_id = azurerm_role_definition.remediation[0].role_definition_resource_id
  principal_id       = azurerm_user_assigned_identity.remediation[0].principal_id
  principal_type     = "ServicePrincipal"
  description        = "AzCops remediation: delete approved waste on a monitored scope"
}
