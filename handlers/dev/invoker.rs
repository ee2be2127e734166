//! Posts invocation envelopes to the handler and judges the answer as the host does (spec §6.1).

use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Map, Value, json};

use crate::invocation::{HOST_VERSION_HEADER, INVOCATION_ID_HEADER, InvocationRequest, InvocationResponse};

/// The host version the emulator reports.
pub const HOST_VERSION: &str = "4.1037.0.0";

/// The result of one invocation.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// 2xx with a JSON object body.
    Succeeded(InvocationResponse),
    /// Anything else, with the reason.
    Failed(String),
    /// The handler did not answer at all (its process died or is restarting).
    Unreachable(String),
}

impl Outcome {
    /// True for [`Outcome::Succeeded`].
    pub fn succeeded(&self) -> bool {
        matches!(self, Self::Succeeded(_))
    }
}

/// Posts envelopes to the handler.
#[derive(Clone)]
pub struct Invoker {
    client: reqwest::Client,
    port: u16,
}

impl Invoker {
    /// An invoker for the handler on `127.0.0.1:port`; `timeout` is `functionTimeout` + 1 minute.
    pub fn new(port: u16, timeout: Option<Duration>) -> Self {
        let mut builder = reqwest::Client::builder().no_proxy();
        if let Some(t) = timeout {
            builder = builder.timeout(t + Duration::from_secs(60));
        }
        Self { client: builder.build().unwrap_or_default(), port }
    }

    /// Invokes `function` with `request`, prints the host-style console line, and returns the outcome.
    pub async fn invoke(&self, function: &str, mut request: InvocationRequest) -> Outcome {
        let id = uuid::Uuid::new_v4().to_string();
        request.metadata.insert("sys".into(), sys_metadata(function));
        let started = Instant::now();
        say!("[{}] Executing 'Functions.{function}' (Id={id})", Utc::now().to_rfc3339());
        let outcome = self.post(function, &id, &request).await;
        let ms = started.elapsed().as_millis();
        match &outcome {
            Outcome::Succeeded(response) => {
                for line in &response.logs {
                    say!("    {line}");
                }
                say!(
                    "[{}] Executed 'Functions.{function}' (Succeeded, Id={id}, Duration={ms}ms)",
                    Utc::now().to_rfc3339()
                );
            }
            Outcome::Failed(reason) | Outcome::Unreachable(reason) => {
                say!(
                    "[{}] Executed 'Functions.{function}' (Failed, Id={id}, Duration={ms}ms)",
                    Utc::now().to_rfc3339()
                );
                say!("    {reason}");
            }
        }
        outcome
    }

    async fn post(&self, function: &str, id: &str, request: &InvocationRequest) -> Outcome {
        let sent = self
            .client
            .post(format!("http://127.0.0.1:{}/{function}", self.port))
            .header(INVOCATION_ID_HEADER, id)
            .header(HOST_VERSION_HEADER, HOST_VERSION)
            .header(reqwest::header::USER_AGENT, format!("Azure-Functions-Host/{HOST_VERSION}"))
            .json(request)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return Outcome::Unreachable(format!("handler unreachable: {e}")),
        };
        let status = response.status();
        let json_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json") || ct.starts_with("text/json"));
        let body = response.bytes().await.unwrap_or_default();
        if !status.is_success() {
            let detail = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.pointer("/error/message").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(500).collect());
            return Outcome::Failed(format!("status {}: {detail}", status.as_u16()));
        }
        if !json_type {
            return Outcome::Failed("response content type is not application/json".into());
        }
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(_)) => match serde_json::from_slice::<InvocationResponse>(&body) {
                Ok(parsed) => Outcome::Succeeded(parsed),
                Err(e) => Outcome::Failed(format!("response is not an invocation result: {e}")),
            },
            // An empty body hangs the real host until functionTimeout; fail it loudly instead.
            _ => Outcome::Failed("response body is not a JSON object".into()),
        }
    }
}

/// The `sys` metadata the host adds to every invocation.
fn sys_metadata(function: &str) -> Value {
    let now = Utc::now();
    // .NET prints seven fractional digits (100 ns ticks).
    let utc_now = format!("{}.{:07}Z", now.format("%Y-%m-%dT%H:%M:%S"), now.timestamp_subsec_nanos() / 100);
    json!({
        "MethodName": function,
        "UtcNow": utc_now,
        "RandGuid": uuid::Uuid::new_v4().to_string(),
    })
}

/// Builds an envelope with one `Data` entry.
pub fn envelope(binding: &str, data: Value, metadata: Map<String, Value>) -> InvocationRequest {
    let mut request = InvocationRequest { metadata, ..InvocationRequest::default() };
    request.data.insert(binding.to_owned(), data);
    request
}
