//! Sending one delivery over HTTP: the signed webhook, the Teams Workflows message or the ACS
//! email. The host is resolved first and every address checked ([`super::url_guard`]), then
//! the connection is pinned to those addresses and redirects are not followed, so a channel
//! cannot be turned against internal endpoints by DNS or a redirect. Errors never carry the
//! URL (a Teams URL holds its signature) or a secret.

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::event::{Envelope, bounded_body};
use super::policy::{Outcome, classify};
use super::{NotifyConfig, email, sign, teams, url_guard};
use crate::azure::credential::TokenSource;
use crate::store::ClaimedDelivery;

/// Sends deliveries as the settings say.
#[derive(Clone)]
pub struct Sender {
    config: NotifyConfig,
    tokens: Option<Arc<dyn TokenSource>>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").field("has_tokens", &self.tokens.is_some()).finish_non_exhaustive()
    }
}

/// Largest answer body read (a larger one is dropped: ticket answers are small).
pub(crate) const MAX_REPLY_BYTES: usize = 1 << 20;

/// A receiver's answer: status, `Retry-After` and body.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The `Retry-After` header, as sent.
    pub retry_after: Option<String>,
    /// The body (empty when over [`MAX_REPLY_BYTES`]).
    pub body: Vec<u8>,
}

/// A prepared request: URL, body and headers.
struct Request {
    url: url::Url,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

impl Sender {
    /// A sender; `tokens` issues the managed identity's ACS tokens (email channels need it).
    pub fn new(config: NotifyConfig, tokens: Option<Arc<dyn TokenSource>>) -> Self {
        Self { config, tokens }
    }

    /// The settings.
    pub fn config(&self) -> &NotifyConfig {
        &self.config
    }

    /// Sends `delivery` at `at` (the signature's timestamp) and says how it went. The whole
    /// send (token, name lookup, request) is bounded by the configured timeout, so it always
    /// ends within the lease it was claimed under.
    pub async fn send(&self, delivery: &ClaimedDelivery, at: DateTime<Utc>) -> Outcome {
        let attempt = async {
            let request = match self.prepare(delivery, at).await {
                Ok(request) => request,
                Err(outcome) => return outcome,
            };
            self.post(request, at).await
        };
        match tokio::time::timeout(self.config.timeout, attempt).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome::Retry {
                status: None,
                error: format!("timed out after {} s", self.config.timeout.as_secs()),
                retry_after: None,
            },
        }
    }

    async fn prepare(&self, delivery: &ClaimedDelivery, at: DateTime<Utc>) -> Result<Request, Outcome> {
        let channel = &delivery.channel;
        let permanent = |error: String| Outcome::Permanent { status: None, error };
        let envelope = Envelope {
            id: delivery.event_id.clone(),
            event_type: delivery.event_type.clone(),
            tenant_id: channel.tenant_id.clone(),
            occurred_at: delivery.occurred_at,
            data: delivery.data.clone(),
        };
        let body = bounded_body(&envelope, self.config.max_body_bytes);
        let common = vec![
            (sign::EVENT_ID_HEADER, delivery.event_id.clone()),
            (sign::EVENT_TYPE_HEADER, delivery.event_type.clone()),
            ("Content-Type", "application/json".to_owned()),
        ];
        match channel.kind.as_str() {
            "webhook" => {
                let url = url_guard::check("webhook", &channel.url, self.config.allow_loopback)
                    .map_err(|e| permanent(format!("channel URL refused: {e}")))?;
                let secret = self.secret(channel).ok_or_else(|| {
                    permanent("the channel's secret cannot be opened with AZCOPS_NOTIFY_SECRET_KEY".into())
                })?;
                let timestamp = at.timestamp();
                let mut headers = common;
                headers.push((sign::TIMESTAMP_HEADER, timestamp.to_string()));
                headers.push((sign::SIGNATURE_HEADER, sign::signature(&secret, timestamp, &body)));
                Ok(Request { url, body, headers })
            }
            "teams" => {
                let url = url_guard::check("teams", &channel.url, self.config.allow_loopback)
                    .map_err(|e| permanent(format!("channel URL refused: {e}")))?;
                let bounded: Envelope = serde_json::from_slice(&body).unwrap_or(envelope);
                let message = teams::message(&bounded, self.config.dashboard_url.as_deref());
                Ok(Request { url, body: serde_json::to_vec(&message).unwrap_or_default(), headers: common })
            }
            "email" => {
                let (Some(endpoint), Some(sender)) = (&self.config.acs_endpoint, &self.config.email_sender)
                else {
                    return Err(permanent(
                        "email needs AZCOPS_NOTIFY_ACS_ENDPOINT and AZCOPS_NOTIFY_EMAIL_SENDER".into(),
                    ));
                };
                let tokens =
                    self.tokens.as_ref().ok_or_else(|| permanent("email needs an Azure identity".into()))?;
                let address = url_guard::check("email", &channel.url, self.config.allow_loopback)
                    .map_err(|e| permanent(format!("channel address refused: {e}")))?;
                let recipient = url_guard::email_address(&address)
                    .map_err(|e| permanent(format!("channel address refused: {e}")))?
                    .to_owned();
                let url = url::Url::parse(&email::send_url(endpoint))
                    .map_err(|e| permanent(format!("AZCOPS_NOTIFY_ACS_ENDPOINT is not a URL: {e}")))?;
                let token = tokens.token(None, email::SCOPE).await.map_err(|e| Outcome::Retry {
                    status: None,
                    error: format!("no token for Azure Communication Services: {e}"),
                    retry_after: None,
                })?;
                let bounded: Envelope = serde_json::from_slice(&body).unwrap_or(envelope);
                let message = email::body(&bounded, sender, &recipient, self.config.dashboard_url.as_deref());
                let mut headers = common;
                headers.push(("Authorization", format!("Bearer {}", token.token.expose())));
                // ACS deduplicates sends by Operation-Id: one per (event, channel) delivery.
                headers.push(("Operation-Id", delivery.id.clone()));
                Ok(Request { url, body: serde_json::to_vec(&message).unwrap_or_default(), headers })
            }
            other => Err(permanent(format!("{other} channels receive no deliveries"))),
        }
    }

    /// The channel's secret, opened with the configured key.
    pub(crate) fn secret(&self, channel: &crate::store::NotificationChannel) -> Option<String> {
        let sealed = channel.secret_sealed.as_deref()?;
        self.config.secret_box()?.open(&channel.tenant_id, &channel.id, sealed)
    }

    async fn post(&self, request: Request, at: DateTime<Utc>) -> Outcome {
        match self.call(reqwest::Method::POST, request.url, request.headers, Some(request.body)).await {
            Ok(reply) => classify(reply.status, reply.retry_after.as_deref(), at),
            Err(outcome) => outcome,
        }
    }

    /// Sends one request to a tenant's receiver (`url` already checked): the host's
    /// addresses are checked and pinned, redirects are not followed, and the answer's body is
    /// read up to [`MAX_REPLY_BYTES`]. A failure to reach the receiver is the outcome to record.
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        url: url::Url,
        headers: Vec<(&'static str, String)>,
        body: Option<Vec<u8>>,
    ) -> Result<Reply, Outcome> {
        let retry = |error: String| Outcome::Retry { status: None, error, retry_after: None };
        let Some(host) = url.host_str().map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
        else {
            return Err(Outcome::Permanent { status: None, error: "the URL has no host".into() });
        };
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((host.as_str(), port)).await {
            Ok(addrs) => addrs.collect(),
            Err(e) => return Err(retry(format!("cannot resolve the receiver's host: {e}"))),
        };
        if addrs.is_empty() {
            return Err(retry("the receiver's host has no address".into()));
        }
        if let Some(why) =
            addrs.iter().find_map(|a| url_guard::address_allowed(a.ip(), self.config.allow_loopback).err())
        {
            return Err(Outcome::Permanent { status: None, error: format!("receiver refused: {why}") });
        }
        let client = match crate::outbound::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            // A proxy from the environment would connect instead of the checked addresses.
            .no_proxy()
            .timeout(self.config.timeout)
            .resolve_to_addrs(&host, &addrs)
            .build()
        {
            Ok(client) => client,
            Err(e) => return Err(retry(format!("cannot build an HTTP client: {}", e.without_url()))),
        };
        let mut builder = client.request(method, url);
        if let Some(body) = body {
            builder = builder.body(body);
        }
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        let timed_out = || retry(format!("timed out after {} s", self.config.timeout.as_secs()));
        let mut response = match builder.send().await {
            Ok(response) => response,
            Err(e) if e.is_timeout() => return Err(timed_out()),
            Err(e) => return Err(retry(format!("request failed: {}", e.without_url()))),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) if body.len() + chunk.len() <= MAX_REPLY_BYTES => {
                    body.extend_from_slice(&chunk)
                }
                Ok(Some(_)) => {
                    body.clear();
                    break;
                }
                Ok(None) => break,
                Err(e) if e.is_timeout() => return Err(timed_out()),
                Err(e) => return Err(retry(format!("reading the answer failed: {}", e.without_url()))),
            }
        }
        Ok(Reply { status, retry_after, body })
    }
}
