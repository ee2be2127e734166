# Every app setting the binary reads in Azure. scripts/check-infra.sh compares the keys of
# local.app_settings (plus the Application Insights connection string set through site_config)
# with local.settings.json.example, so keep the keys literal here.

locals {
  key_vault_reference = "@Microsoft.KeyVault(VaultName=${var.key_vault_name};SecretName=%s)"

  app_settings = {
    # Identity-based host storage: no connection string exists anywhere.
    AzureWebJobsStorage__accountName = var.storage_account_name
    AzureWebJobsStorage__credential  = "managedidentity"
    AzureWebJobsStorage__clientId    = var.identity_client_id

    # Application Insights with local auth disabled: the host authenticates ingestion as the app identity.
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING = "Authorization=AAD;ClientId=${var.identity_client_id}"

    # Days of costs a subscription's first run backfills (the 30 days savings are priced on, plus
    # late billing corrections), and the margin later nightly runs re-read.
    AZCOPS_INGEST_COST_DAYS    = "35"
    AZCOPS_INGEST_REFRESH_DAYS = "3"

    # Days after execution with cost data before a realised-savings verdict (nightly, after
    # each subscription's rule evaluation).
    AZCOPS_REALISED_SAVINGS_MIN_DAYS = "30"

    # Entra-only PostgreSQL: the password-less DATABASE_URL logs in with the identity's token.
    DATABASE_URL              = var.database_url
    AZCOPS_DB_MAX_CONNECTIONS = tostring(var.db_max_connections)
    AZCOPS_DB_AUTH            = "entra"

    # Raw snapshots: the `raw` container, written once per blob with the app identity.
    AZCOPS_RAW_STORE = var.raw_store_url

    # Cost Management exports (FOCUS), read with the app identity; never written by the app.
    AZCOPS_EXPORTS_CONTAINER = var.exports_container_url

    AZCOPS_ARM_ENDPOINT           = var.cloud_endpoints.arm_endpoint
    AZCOPS_ARM_AUDIENCE           = var.cloud_endpoints.arm_audience
    AZCOPS_AUTHORITY_HOST         = var.cloud_endpoints.authority_host
    AZCOPS_RETAIL_PRICES_ENDPOINT = var.cloud_endpoints.retail_prices_endpoint
    AZCOPS_AZURE_CREDENTIAL       = "managed_identity"
    AZURE_CLIENT_ID               = var.identity_client_id

    AZCOPS_AZURE_MAX_RETRIES   = tostring(var.azure_client.max_retries)
    AZCOPS_AZURE_TIMEOUT_SECS  = tostring(var.azure_client.timeout_secs)
    AZCOPS_AZURE_PAGE_CAP      = tostring(var.azure_client.page_cap)
    AZCOPS_AZURE_GOVERNOR      = tostring(var.azure_client.governor_enabled)
    AZCOPS_METRICS_CONCURRENCY = tostring(var.azure_client.metrics_concurrency)
    AZCOPS_CLIENT_TYPE         = var.azure_client.client_type

    AZCOPS_AUTH_AUDIENCE        = var.auth.audience
    AZCOPS_AUTH_AUTHORITY       = var.auth.authority
    AZCOPS_AUTH_JWKS_URL        = var.auth.jwks_url
    AZCOPS_CONTROL_PLANE_TENANT = var.control_plane_tenant_id
    AZCOPS_CORS_ORIGINS         = join(",", var.cors_origins)

    # The dashboard's sign-in (handlers/web): the client secret and the cookie key are Key Vault
    # references; with an empty client id the dashboard says sign-in is not configured. With the
    # federated credential (client_assertion = managed-identity) there is no client secret.
    AZCOPS_WEB_CLIENT_ID        = var.web.client_id
    AZCOPS_WEB_CLIENT_ASSERTION = var.web.client_assertion
    AZCOPS_WEB_CLIENT_SECRET    = var.web.client_assertion == "" ? format(local.key_vault_reference, var.web.client_secret_name) : ""
    AZCOPS_SESSION_KEY          = format(local.key_vault_reference, var.web.session_key_secret_name)

    AZCOPS_API_RATE_LIMIT_PER_MINUTE = "1200"
    AZCOPS_API_MAX_BODY_BYTES        = "65536"
    AZCOPS_API_REQUEST_TIMEOUT_SECS  = "30"

    AZCOPS_API_RATE_LIMIT_PER_CALLER_PER_MINUTE = "300"
    AZCOPS_API_CACHE_SECONDS                    = "15"
    AZCOPS_API_CACHE_MAX_BYTES                  = "33554432"
    AZCOPS_INGESTION_TRIGGER_COOLDOWN_MINUTES   = "15"
    AZCOPS_API_EXPORT_MAX_ROWS                  = "100000"
    AZCOPS_API_EXPORT_CONCURRENCY               = "2"
    AZCOPS_DB_STATEMENT_TIMEOUT_MS              = "20000"
    AZCOPS_FRESHNESS_MAX_AGE_HOURS              = "26"

    # Notifications (handlers/notify): channel secrets are sealed with a key kept in Key Vault;
    # email goes through Azure Communication Services with the managed identity.
    AZCOPS_NOTIFY_SECRET_KEY     = format(local.key_vault_reference, var.notify.secret_key_name)
    AZCOPS_NOTIFY_BATCH_SIZE     = "50"
    AZCOPS_NOTIFY_TIMEOUT_SECS   = "10"
    AZCOPS_NOTIFY_MAX_ATTEMPTS   = "8"
    AZCOPS_NOTIFY_MAX_BODY_BYTES = "262144"
    AZCOPS_NOTIFY_ACS_ENDPOINT   = var.notify.acs_endpoint
    AZCOPS_NOTIFY_EMAIL_SENDER   = var.notify.email_sender
    AZCOPS_NOTIFY_RETENTION_DAYS = "90"
    AZCOPS_DASHBOARD_URL         = var.notify.dashboard_url

    # Remediation acts as its own identity; empty (remediation off) unless enable_remediation.
    AZCOPS_REMEDIATION_CLIENT_ID = try(var.remediation_identity.client_id, "")

    AZCOPS_LOG_FORMAT = "json"
    RUST_LOG          = var.rust_log
  }

  # Settings of capabilities this build does not have yet (OpenTelemetry export). They are not
  # applied: each moves into app_settings in the change that makes the
  # binary read it, which scripts/check-infra.sh enforces both ways.
  planned_app_settings = {
    OTEL_EXPORTER_OTLP_ENDPOINT = var.otel_exporter_otlp_endpoint
  }

  secret_app_settings = {
    for setting, secret in var.secret_app_settings : setting => format(local.key_vault_reference, secret)
  }

  app_insights_connection_string = format(local.key_vault_reference, var.app_insights_secret_name)

  all_app_settings = merge(local.app_settings, var.extra_app_settings, local.secret_app_settings)
}
