# Operational alerts on what the handler exports to Application Insights (see the README's
# Telemetry section). Every metric name below is one handlers/insights/metrics.rs emits;
# scripts/check-infra.sh holds these queries and the workbook to that list.

locals {
  alert_queries = {
    poison-message = {
      description = "A queue message reached the poison queue (ingest_poison ran)."
      severity    = 1
      query       = <<-KQL
        requests
        | where name == "ingest_poison"
        | summarize poisoned = count()
      KQL
      measure     = "poisoned"
      threshold   = 0
    }
    failed-subscriptions = {
      description = "An ingestion run had subscriptions that failed for good."
      severity    = 2
      query       = <<-KQL
        customMetrics
        | where name == "azcops.ingestion.subscriptions_failed"
        | summarize failed = sum(value)
      KQL
      measure     = "failed"
      threshold   = 0
    }
    stale-data = {
      description = "A tenant's data is older than 26 hours."
      severity    = 2
      query       = <<-KQL
        customMetrics
        | where name == "azcops.data.age_hours"
        | summarize age = max(value)
      KQL
      measure     = "age"
      threshold   = 26
    }
    api-5xx-rate = {
      description = "More than 5 % of API requests answered 5xx."
      severity    = 2
      query       = <<-KQL
        requests
        | where isnotempty(tostring(customDimensions.route))
        | summarize total = count(), failed = countif(toint(resultCode) >= 500)
        | extend rate = iff(total == 0, 0.0, 100.0 * failed / total)
      KQL
      measure     = "rate"
      threshold   = 5
    }
    handler-restarts = {
      description = "The handler started more than 5 times in an hour on one instance (crash loop)."
      severity    = 2
      query       = <<-KQL
        traces
        | where message == "custom handler listening"
        | summarize starts = count() by cloud_RoleInstance
      KQL
      measure     = "starts"
      threshold   = 5
    }
  }
}

resource "azurerm_monitor_scheduled_query_rules_alert_v2" "ops" {
  for_each = local.alert_queries

  name                 = "alert-${var.name_prefix}-${each.key}"
  resource_group_name  = var.resource_group_name
  location             = var.location
  description          = each.value.description
  severity             = each.value.severity
  scopes               = [azurerm_application_insights.this.id]
  evaluation_frequency = "PT15M"
  window_duration      = each.key == "handler-restarts" ? "PT1H" : "PT15M"
  tags                 = var.tags

  criteria {
    query                   = each.value.query
    time_aggregation_method = "Maximum"
    metric_measure_column   = each.value.measure
    operator                = "GreaterThan"
    threshold               = each.value.threshold

    failing_periods {
      minimum_failing_periods_to_trigger_alert = 1
      number_of_evaluation_periods             = 1
    }
  }

  action {
    action_groups = [azurerm_monitor_action_group.ops.id]
  }
}

resource "azurerm_application_insights_workbook" "operations" {
  name                = uuidv5("url", "azcops/${var.name_prefix}/operations")
  resource_group_name = var.resource_group_name
  location            = var.location
  display_name        = "AzCops operations (${var.name_prefix})"
  source_id           = lower(azurerm_application_insights.this.id)
  data_json           = file("${path.module}/workbook.json")
  tags                = var.tags
}
