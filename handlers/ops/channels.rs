//! `azcops channel add|list|test`: a tenant's notification channels from the command line,
//! through the same store (and audit) as the API; and the inline delivery `azcops ingest` runs
//! after evaluation.

use crate::application::Application;
use crate::notify::EventType;
use crate::store::{ChannelInput, ChannelPolicy, DeliveryFilter, PageRequest, TenantScope};

use super::{OpsError, operator, resolve_tenant};

/// `azcops channel …`.
#[derive(Debug, Clone, clap::Args)]
pub struct ChannelArgs {
    #[command(subcommand)]
    command: ChannelCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
enum ChannelCommand {
    /// Add a channel.
    Add {
        /// The tenant (its Azure tenant id or AzCops id).
        #[arg(long)]
        tenant: String,
        /// `webhook`, `teams`, `email`, `servicenow` or `jira`.
        #[arg(long)]
        kind: String,
        /// Name, unique within the tenant.
        #[arg(long)]
        name: String,
        /// `https://` URL (Teams: the Workflows webhook URL); email: `mailto:address`.
        #[arg(long)]
        url: String,
        /// Signing secret (webhook: required); stored sealed, never shown.
        #[arg(long, hide_env_values = true)]
        secret: Option<String>,
        /// Send only findings saving at least this much a month.
        #[arg(long)]
        min_savings: Option<f64>,
        /// Event types to receive, comma-separated (default: all).
        #[arg(long, value_delimiter = ',')]
        events: Option<Vec<String>>,
    },
    /// List a tenant's channels (secrets are never shown).
    List {
        /// The tenant.
        #[arg(long)]
        tenant: String,
    },
    /// Send a `notification.test` event to one channel now and print the outcome.
    Test {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The channel's name.
        #[arg(long)]
        name: String,
    },
}

/// Runs `azcops channel …`, printing to stdout.
///
/// # Errors
/// Invalid input, an unknown tenant or channel, or store failures.
pub async fn run(args: ChannelArgs, app: &Application) -> Result<(), OpsError> {
    let store = app.migrated_store().await?;
    let config = &app.settings().notify;
    match args.command {
        ChannelCommand::Add { tenant, kind, name, url, secret, min_savings, events } => {
            let scope = TenantScope::from_trusted_trigger(resolve_tenant(&store, &tenant).await?.id);
            let sealer = config.secret_box();
            let policy = ChannelPolicy { allow_loopback: config.allow_loopback, secret_box: sealer.as_ref() };
            let input = ChannelInput {
                name: Some(name),
                kind: Some(kind),
                url: Some(url),
                secret: secret.map(Some),
                min_savings: min_savings.map(Some),
                events,
                ..ChannelInput::default()
            };
            let channel =
                store.create_channel(&scope, &input, &policy, &operator(app.settings().source())).await?;
            println!("channel {} added: {} ({})", channel.id, channel.name, channel.kind);
        }
        ChannelCommand::List { tenant } => {
            let scope = TenantScope::from_trusted_trigger(resolve_tenant(&store, &tenant).await?.id);
            println!(
                "{:<24}  {:<10}  {:<6}  {:<12}  {:<40}  url",
                "name", "kind", "secret", "min_savings", "events"
            );
            for channel in store.list_channels(&scope).await? {
                let view = channel.view();
                let events = if view.events.is_empty() { "all".to_owned() } else { view.events.join(",") };
                let min = view.min_savings.map_or_else(|| "-".to_owned(), |m| m.to_string());
                println!(
                    "{:<24}  {:<10}  {:<6}  {:<12}  {:<40}  {}",
                    view.name,
                    view.kind,
                    if view.has_secret { "yes" } else { "no" },
                    min,
                    events,
                    view.url
                );
            }
        }
        ChannelCommand::Test { tenant, name } => {
            let scope = TenantScope::from_trusted_trigger(resolve_tenant(&store, &tenant).await?.id);
            let channel = match store.get_channel(&scope, &name).await {
                Err(crate::store::StoreError::NotFound) => {
                    return Err(OpsError::Invalid(format!("no channel named {name:?} in this tenant")));
                }
                other => other?,
            };
            let data = serde_json::json!({
                "channel": channel.name,
                "message": "A test delivery from AzCops: this channel is reachable.",
            });
            let event =
                store.record_event(&scope, EventType::NotificationTest, Some(&channel.id), data).await?;
            let report = app
                .notifier()
                .process_event(&scope, &event, crate::store::now())
                .await
                .map_err(|e| OpsError::Invalid(e.to_string()))?;
            let filter = DeliveryFilter { channel_id: Some(channel.id.clone()), ..DeliveryFilter::default() };
            let log = store.list_deliveries(&scope, &filter, PageRequest::first(1)?).await?;
            match log.items.first() {
                Some(d) if d.event_id == event => {
                    let code = d.last_status.map_or_else(|| "-".to_owned(), |s| s.to_string());
                    println!(
                        "test event {event} to {}: {} (HTTP {code}){}",
                        channel.name,
                        d.status,
                        d.last_error.as_ref().map(|e| format!(": {e}")).unwrap_or_default()
                    );
                    if report.failed > 0 || d.status != "delivered" {
                        return Err(OpsError::Invalid(format!(
                            "the test delivery to {} did not succeed",
                            channel.name
                        )));
                    }
                }
                _ => println!("test event {event}: no delivery was created (is the channel enabled?)"),
            }
        }
    }
    store.close().await;
    Ok(())
}

/// Most batches `azcops ingest` delivers inline per tenant.
const DRAIN_ROUNDS: usize = 20;

/// Delivers the notifications of `tenant_ids` inline (`azcops ingest` after evaluation, as the
/// queue function would) and prints a one-line summary. Failures are reported, not fatal: the
/// dispatch timer picks up anything left.
pub async fn deliver_inline(app: &Application, tenant_ids: &[String]) {
    let notifier = app.notifier();
    let mut total = crate::notify::service::Report::default();
    for tenant in tenant_ids {
        let scope = TenantScope::from_trusted_trigger(tenant.clone());
        match notifier.drain_tenant(&scope, DRAIN_ROUNDS).await {
            Ok(report) => {
                total.delivered += report.delivered;
                total.retrying += report.retrying;
                total.failed += report.failed;
            }
            Err(e) => tracing::error!(tenant_id = %tenant, error = %e, "notifications not delivered"),
        }
    }
    if total != crate::notify::service::Report::default() {
        println!(
            "{:<24} {:>12}",
            "notifications",
            format!("{} sent, {} retrying, {} failed", total.delivered, total.retrying, total.failed)
        );
    }
}

/// The secret the demo's channel signs with and its receiver verifies (local runs only).
pub const DEMO_SECRET: &str = "azcops-demo-webhook-secret";

/// The key sealing channel secrets in `azcops demo` when none is configured: fixed, so the demo
/// database opens across runs; it protects nothing and is never used outside the demo.
pub const DEMO_SECRET_KEY: &str = "YXpjb3BzLWRlbW8tbm90aWZ5LWtleS0zMi1ieXRlcyE=";

/// Starts `azcops demo`'s webhook receiver on loopback: it verifies each delivery's signature
/// with [`DEMO_SECRET`] and prints it. Returns its URL.
///
/// # Errors
/// The listener cannot bind.
pub async fn start_demo_receiver() -> Result<String, OpsError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| OpsError::Invalid(format!("webhook receiver: {e}")))?;
    let url = listener
        .local_addr()
        .map(|a| format!("http://{a}/azcops"))
        .map_err(|e| OpsError::Invalid(format!("webhook receiver: {e}")))?;
    let app = axum::Router::new().fallback(receive);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "the demo webhook receiver stopped");
        }
    });
    Ok(url)
}

/// What the demo receiver prints of one delivery, and its answer.
async fn receive(headers: axum::http::HeaderMap, body: axum::body::Bytes) -> axum::http::StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let timestamp: i64 = header("x-azcops-timestamp").parse().unwrap_or(0);
    let verified = crate::notify::sign::verify(DEMO_SECRET, timestamp, &body, &header("x-azcops-signature"));
    let event: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let findings = event["data"]["count"].as_u64().map(|n| format!(", {n} item(s)")).unwrap_or_default();
    println!(
        "webhook receiver: {} event {} signature {}{findings}",
        event["type"].as_str().unwrap_or("?"),
        header("x-azcops-event-id"),
        if verified { "verified" } else { "INVALID" }
    );
    if verified { axum::http::StatusCode::NO_CONTENT } else { axum::http::StatusCode::UNAUTHORIZED }
}

/// Points the tenant's `demo-receiver` webhook channel at `url` (created on the first run).
///
/// # Errors
/// Store failures or a refused URL.
pub async fn configure_demo_channel(
    app: &Application,
    scope: &TenantScope,
    url: &str,
) -> Result<(), OpsError> {
    let config = &app.settings().notify;
    let sealer = config.secret_box();
    let policy = ChannelPolicy { allow_loopback: config.allow_loopback, secret_box: sealer.as_ref() };
    let actor = crate::store::Actor::named("system:demo");
    let input = ChannelInput {
        name: Some("demo-receiver".into()),
        kind: Some("webhook".into()),
        url: Some(url.to_owned()),
        secret: Some(Some(DEMO_SECRET.to_owned())),
        ..ChannelInput::default()
    };
    let store = app.store();
    match store.get_channel(scope, "demo-receiver").await {
        Ok(existing) => {
            store.update_channel(scope, &existing.id, &input, &policy, &actor).await?;
        }
        Err(crate::store::StoreError::NotFound) => {
            store.create_channel(scope, &input, &policy, &actor).await?;
        }
        Err(e) => return Err(e.into()),
    }
    println!("webhook channel demo-receiver → {url} (signed with the secret {DEMO_SECRET:?})");
    Ok(())
}
