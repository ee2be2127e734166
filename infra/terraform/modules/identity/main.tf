# The control-plane identity: the Function App runs as it, PostgreSQL knows it as an Entra
# administrator, and customers delegate to it through Lighthouse. Read-only roles only at the
# monitored scopes; never Contributor.

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

resource "azurerm_role_assignment" "monitored" {
  for_each             = local.scope_roles
  scope                = each.value.scope
  role_definition_name = each.value.role
  principal_id         = azurerm_user_assigned_identity.app.principal_id
  principal_type       = "ServicePrincipal"
  description          = "AzCops ingestion: ${each.value.role} on a monitored scope"
}
