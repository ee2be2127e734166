# BlobCreated events for manifests only, delivered to the blob trigger's Event Grid webhook
# (evaluate_rules uses "source": "EventGrid", the only blob trigger Flex Consumption supports).

locals {
  # Subjects look like /blobServices/default/containers/raw/blobs/<tenant>/manifests/<yyyy>/<mm>/<dd>/<sub>.json.
  # Subject filters only match a prefix and a suffix, and the tenant segment sits between the
  # container and "manifests", so the middle segment is matched by an advanced filter.
  subject_prefix = "/blobServices/default/containers/${var.raw_container_name}/blobs/"
}

resource "azurerm_eventgrid_system_topic" "storage" {
  name                = "egst-${var.name_prefix}-storage"
  location            = var.location
  resource_group_name = var.resource_group_name
  source_resource_id  = var.storage_account_id
  topic_type          = "Microsoft.Storage.StorageAccounts"
  tags                = var.tags
}

data "azurerm_function_app_host_keys" "app" {
  count               = var.subscription_enabled ? 1 : 0
  name                = var.function_app_name
  resource_group_name = var.resource_group_name
}

resource "azurerm_eventgrid_system_topic_event_subscription" "manifests" {
  count               = var.subscription_enabled ? 1 : 0
  name                = "evaluate-rules-manifests"
  system_topic        = azurerm_eventgrid_system_topic.storage.name
  resource_group_name = var.resource_group_name

  included_event_types  = ["Microsoft.Storage.BlobCreated"]
  event_delivery_schema = "EventGridSchema"

  subject_filter {
    subject_begins_with = local.subject_prefix
    subject_ends_with   = ".json"
    case_sensitive      = true
  }

  advanced_filter {
    string_contains {
      key    = "subject"
      values = ["/manifests/"]
    }
    # On a hierarchical-namespace account a file written through the DFS API raises BlobCreated
    # at CreateFile (still empty) and again at FlushWithClose; only complete blobs count.
    string_in {
      key    = "data.api"
      values = ["PutBlob", "PutBlockList", "FlushWithClose", "CopyBlob"]
    }
  }

  webhook_endpoint {
    url                               = "https://${var.function_app_hostname}/runtime/webhooks/blobs?functionName=Host.Functions.evaluate_rules&code=${data.azurerm_function_app_host_keys.app[0].blobs_extension_key}"
    max_events_per_batch              = 1
    preferred_batch_size_in_kilobytes = 64
  }

  # No dead-letter destination: Event Grid dead-letters only into storage reachable from public
  # networks (trusted-service exception), and this account has public network access disabled.
  # An event still undelivered after 24 h is dropped (DroppedEventCount metric, alerted below);
  # the manifest itself stays in raw, and the next run writes a new one.
  retry_policy {
    max_delivery_attempts = 30
    event_time_to_live    = 1440
  }
}

# Export runs: only the manifest, written last by Cost Management once every part file of the run
# is in place, fires ingest_exports (the files it lists are read, never guessed from paths).
resource "azurerm_eventgrid_system_topic_event_subscription" "export_manifests" {
  count               = var.subscription_enabled ? 1 : 0
  name                = "ingest-exports-manifests"
  system_topic        = azurerm_eventgrid_system_topic.storage.name
  resource_group_name = var.resource_group_name

  included_event_types  = ["Microsoft.Storage.BlobCreated"]
  event_delivery_schema = "EventGridSchema"

  subject_filter {
    subject_begins_with = "/blobServices/default/containers/${var.exports_container_name}/blobs/"
    subject_ends_with   = "/manifest.json"
    case_sensitive      = true
  }

  advanced_filter {
    string_in {
      key    = "data.api"
      values = ["PutBlob", "PutBlockList", "FlushWithClose", "CopyBlob"]
    }
  }

  webhook_endpoint {
    url                               = "https://${var.function_app_hostname}/runtime/webhooks/blobs?functionName=Host.Functions.ingest_exports&code=${data.azurerm_function_app_host_keys.app[0].blobs_extension_key}"
    max_events_per_batch              = 1
    preferred_batch_size_in_kilobytes = 64
  }

  # As for raw manifests: no dead-letter destination on a private account; a dropped event is
  # alerted below, and the next daily export run re-sends the month.
  retry_policy {
    max_delivery_attempts = 30
    event_time_to_live    = 1440
  }
}

resource "azurerm_monitor_metric_alert" "dropped_events" {
  name                = "alert-${var.name_prefix}-manifest-events-dropped"
  resource_group_name = var.resource_group_name
  scopes              = [azurerm_eventgrid_system_topic.storage.id]
  description         = "Manifest BlobCreated events were dropped after 24 h of failed deliveries to evaluate_rules or ingest_exports: those subscriptions were not evaluated, or that export run was not ingested."
  severity            = 2
  frequency           = "PT15M"
  window_size         = "PT1H"
  tags                = var.tags

  criteria {
    metric_namespace = "Microsoft.EventGrid/systemTopics"
    metric_name      = "DroppedEventCount"
    aggregation      = "Total"
    operator         = "GreaterThan"
    threshold        = 0
  }

  action {
    action_group_id = var.action_group_id
  }
}
