# The control-plane identity: the Function App runs as it, PostgreSQL knows it as a DML-only role,
# and customers delegate to it through Lighthouse. Read-only roles only at the monitored scopes;
# never Contributor. A second identity exists only for Flex Consumption's deployment storage.

locals {
  # Built-in role names; these three are what ingestion needs (Resource Graph and ARM reads,
  # Cost Management queries, Monitor metrics).
  read_roles = ["Reader", "Cost Management Reader", "Monitoring Reader"]

  scope_roles = {
    for pair in setproduct(var.monitored_scopes, local.read_roles) :
    "${pair[0]}|${pair[1]}" => { scope = pair[0], role = pair[1] }
  }
}

resource "azurerm_user_assigned_identity" "app" {
  name                = "id-${var.name_prefix}"
  location            = var.location
  resource_group_name = var.resource_group_name
  tags                = var.tags
}

# Flex Consumption writes the package (One Deploy) and reads it at start-up with the identity set
# as the app's deployment storage identity. A separate identity keeps that write right off the
# identity the binary uses: the app identity has no role on the deployment container.
resource "azurerm_user_assigned_identity" "deployment" {
  name                = "id-${var.name_prefix}-deploy"
  location            = var.location
  resource_group_name = var.resource_group_name
  tags                = var.tags
}

resource "azurerm_role_assignment" "monitored" {
  for_each             = local.scope_roles
  scope                = each.value.scope
  role_definition_name = each.value.role
  principal_id         = azurerm_user_assigned_identity.app.principal_id
  principal_type       = "ServicePrincipal"
  description          = "AzCops ingestion: ${each.value.role} on a monitored scope"
}
