resource "azurerm_service_plan" "this" {
  #checkov:skip=CKV_AZURE_225:FC1 (Flex Consumption) has no dedicated instances to spread across zones; the platform places on-demand instances.
  #checkov:skip=CKV_AZURE_212:Flex Consumption scales from zero by design; prod keeps one always-ready HTTP instance through the app's always_ready setting.
  name                = "asp-${var.name}"
  location            = var.location
  resource_group_name = var.resource_group_name
  os_type             = "Linux"
  sku_name            = "FC1"
  tags                = var.tags
}

resource "azurerm_function_app_flex_consumption" "this" {
  #checkov:skip=CKV_AZURE_221:The API and the Event Grid blob webhook are called from outside Azure's network; the binary validates Entra tokens on /api/v1 and the webhook requires the blobs_extension key. Every data service behind the app is private.
  #checkov:skip=CKV_AZURE_56:Authentication is done by the binary (JWT validation against Entra JWKS), not by App Service Authentication, because the webhook and /health must stay reachable without a user token.
  #checkov:skip=CKV_AZURE_213:Flex Consumption scales to zero; a platform health-check ping would keep an instance warm. Liveness is observed through Application Insights availability instead.
  name                = var.name
  location            = var.location
  resource_group_name = var.resource_group_name
  service_plan_id     = azurerm_service_plan.this.id

  runtime_name    = "custom"
  runtime_version = var.runtime_version

  storage_container_type            = "blobContainer"
  storage_container_endpoint        = var.deployment_container_url
  storage_authentication_type       = "UserAssignedIdentity"
  storage_user_assigned_identity_id = var.deployment_identity_id

  instance_memory_in_mb  = var.instance_memory_mb
  maximum_instance_count = var.maximum_instance_count

  dynamic "always_ready" {
    for_each = var.always_ready
    content {
      name           = always_ready.key
      instance_count = always_ready.value
    }
  }

  https_only                                     = true
  public_network_access_enabled                  = true
  virtual_network_subnet_id                      = var.function_subnet_id
  webdeploy_publish_basic_authentication_enabled = false

  # The app identity does all the work; the deployment identity only gives the platform access
  # to the package container (Flex needs it attached to use it); the system-assigned one exists
  # only to resolve Key Vault references, which Flex resolves with the system identity (this
  # resource cannot set keyVaultReferenceIdentity).
  identity {
    type         = "SystemAssigned, UserAssigned"
    identity_ids = compact([var.identity_id, var.deployment_identity_id, try(var.remediation_identity.id, "")])
  }

  site_config {
    minimum_tls_version                    = "1.2"
    scm_minimum_tls_version                = "1.2"
    http2_enabled                          = true
    remote_debugging_enabled               = false
    vnet_route_all_enabled                 = true
    application_insights_connection_string = local.app_insights_connection_string
  }

  app_settings = local.all_app_settings

  tags = var.tags
}

# The provider writes an AzureWebJobsStorage connection string with an empty key next to the
# identity-based settings (terraform-provider-azurerm#29693); an exact AzureWebJobsStorage setting
# wins over the AzureWebJobsStorage__* form, so the host would fail to reach its storage. Re-put
# the full settings without it after every change to the app.
resource "azapi_resource_action" "app_settings" {
  type        = "Microsoft.Web/sites/config@2024-04-01"
  resource_id = "${azurerm_function_app_flex_consumption.this.id}/config/appsettings"
  method      = "PUT"

  body = {
    properties = merge(local.all_app_settings, {
      APPLICATIONINSIGHTS_CONNECTION_STRING = local.app_insights_connection_string
    })
  }

  lifecycle {
    replace_triggered_by = [azurerm_function_app_flex_consumption.this]
  }
}

resource "azurerm_monitor_diagnostic_setting" "app" {
  name                       = "to-log-analytics"
  target_resource_id         = azurerm_function_app_flex_consumption.this.id
  log_analytics_workspace_id = var.log_analytics_workspace_id

  enabled_log {
    category = "FunctionAppLogs"
  }
  enabled_metric {
    category = "AllMetrics"
  }
}
