//! The API test instance (tests/api/support.rs) with a notifier whose secret key and loopback
//! setting let channels point at a receiver in the test.

use std::time::Duration;

use axum::Router;
use azcops::config::Secret;
use azcops::notify::NotifyConfig;
use azcops::notify::service::Notifier;
use azcops::store::{ChannelInput, ChannelPolicy, NotificationChannel, TenantScope};
use base64::Engine as _;

#[allow(dead_code)]
#[path = "../api/support.rs"]
mod api_support;

pub use api_support::*;

/// The test key sealing channel secrets.
pub fn key() -> String {
    base64::engine::general_purpose::STANDARD.encode([42u8; 32])
}

pub fn config() -> NotifyConfig {
    NotifyConfig {
        secret_key: Some(Secret::new(key())),
        allow_loopback: true,
        // Generous: a loaded machine must not turn a slow answer into a retry; the test of the
        // timeout itself sets its own.
        timeout: Duration::from_secs(30),
        dashboard_url: Some("https://azcops.example.com".into()),
        ..NotifyConfig::default()
    }
}

/// An API instance on `backend` whose state has a notifier built from `config`.
pub async fn instance(backend: Backend, config: NotifyConfig) -> (Api, Notifier) {
    let mut api = Api::on(backend, &[]).await;
    api.state = api.state.clone().with_notify(config.clone(), None);
    api.router = Router::new().nest("/api", azcops::api::router(api.state.clone()));
    let notifier = Notifier::new(api.store.clone(), config, None);
    (api, notifier)
}

/// A webhook channel to `url` signed with `secret`, created through the store.
pub async fn webhook(
    api: &Api,
    scope: &TenantScope,
    name: &str,
    url: &str,
    secret: &str,
) -> NotificationChannel {
    channel(api, scope, "webhook", name, url, Some(secret)).await
}

pub async fn channel(
    api: &Api,
    scope: &TenantScope,
    kind: &str,
    name: &str,
    url: &str,
    secret: Option<&str>,
) -> NotificationChannel {
    let sealer = config().secret_box();
    let policy = ChannelPolicy { allow_loopback: true, secret_box: sealer.as_ref() };
    let input = ChannelInput {
        name: Some(name.into()),
        kind: Some(kind.into()),
        url: Some(url.into()),
        secret: secret.map(|s| Some(s.to_owned())),
        ..ChannelInput::default()
    };
    api.store.create_channel(scope, &input, &policy, &azcops::store::Actor::named("test")).await.unwrap()
}

/// Runs `$body` (an async fn of a [`Backend`]) as a SQLite and a PostgreSQL test.
#[macro_export]
macro_rules! on_both {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$body($crate::support::Backend::Sqlite).await;
            }
            #[tokio::test]
            async fn postgres() {
                super::$body($crate::support::Backend::Postgres).await;
            }
        }
    };
}
