//! The custom-handler server: readiness on `/`, invocations on `POST /<FunctionName>`, and the
//! forwarded API under the route prefix.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use tracing::Instrument as _;

use crate::invocation::logs::{InvocationLog, capture};
use crate::invocation::{INVOCATION_ID_HEADER, InvocationRequest, InvocationResponse};
use crate::state::AppState;
use crate::telemetry::correlation_id_or_new;
use crate::triggers::{self, TriggerError};

/// The bound server, ready to run.
pub struct Server {
    listener: tokio::net::TcpListener,
    router: Router,
}

#[derive(Clone)]
struct ServerState {
    app: AppState,
    port: u16,
}

impl Server {
    /// Binds `127.0.0.1:port` (0 picks a free port) and builds the router.
    ///
    /// # Errors
    /// The port cannot be bound.
    pub async fn bind(port: u16, route_prefix: &str, state: AppState) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
        let port = listener.local_addr()?.port();
        let router = router(state, route_prefix, port);
        Ok(Self { listener, router })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// Serves until `shutdown` completes, then drains in-flight requests.
    ///
    /// # Errors
    /// The server fails.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        axum::serve(self.listener, self.router).with_graceful_shutdown(shutdown).await
    }
}

/// The full router: readiness, gated invocation routes and the API under `route_prefix`.
pub fn router(state: AppState, route_prefix: &str, port: u16) -> Router {
    let api = crate::api::router(state.clone());
    // The dashboard also answers `GET /`: the readiness JSON unless a browser asks for HTML.
    let web = crate::web::router(state.clone());
    let internal = Router::new()
        .route("/{function}", post(invoke))
        .with_state(ServerState { app: state, port })
        .merge(web);
    let prefix = route_prefix.trim_matches('/');
    if prefix.is_empty() { internal.merge(api) } else { internal.nest(&format!("/{prefix}"), api) }
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_response))
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    let body = json!({"error": {"code": "internal_error", "message": "internal error", "details": null}});
    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
}

/// Only the host reaches invocation routes: it calls `http://127.0.0.1:<port>/<Function>` with an
/// invocation id, while a forwarded public request keeps the caller's original `Host` header.
/// This keeps `POST /<Function>` unreachable from outside even when `routePrefix` is empty.
fn is_host_invocation(headers: &HeaderMap, port: u16) -> bool {
    let from_host = headers.contains_key(INVOCATION_ID_HEADER);
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let loopback = [format!("127.0.0.1:{port}"), format!("localhost:{port}"), format!("[::1]:{port}")];
    from_host && loopback.iter().any(|l| l.eq_ignore_ascii_case(host))
}

async fn invoke(
    State(server): State<ServerState>,
    Path(function): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_host_invocation(&headers, server.port) || !triggers::is_served(&server.app, &function) {
        return crate::api::not_found().await.into_response();
    }
    let invocation_id =
        headers.get(INVOCATION_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let correlation_id = correlation_id_or_new(
        headers.get(crate::api::middleware::CORRELATION_HEADER).and_then(|v| v.to_str().ok()),
    );
    let span = tracing::info_span!(
        "invocation",
        function = %function,
        operation_name = %function,
        invocation_id = %invocation_id,
        correlation_id = %correlation_id,
        tenant_id = tracing::field::Empty,
        subscription_id = tracing::field::Empty,
    );
    let log = Arc::new(InvocationLog::default());
    let started = Instant::now();
    let outcome = capture(log.clone(), async {
        let request = InvocationRequest::from_slice(&body)?;
        triggers::dispatch(&server.app, &function, &request).await
    })
    .instrument(span.clone())
    .await;
    let duration_ms = started.elapsed().as_millis() as u64;
    let labels = log.labels();
    let (status, error) = match &outcome {
        Ok(_) => (StatusCode::OK, None),
        Err(e) if e.is_bad_request() => (StatusCode::BAD_REQUEST, Some(e.to_string())),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, outcome.as_ref().err().map(ToString::to_string)),
    };
    span.in_scope(|| {
        let fields = (
            function.as_str(),
            invocation_id.as_str(),
            correlation_id.as_str(),
            labels.tenant_id.as_deref().unwrap_or(""),
            labels.subscription_id.as_deref().unwrap_or(""),
        );
        match &error {
            None => tracing::info!(
                function = fields.0,
                invocation_id = fields.1,
                correlation_id = fields.2,
                operation_name = fields.0,
                tenant_id = fields.3,
                subscription_id = fields.4,
                duration_ms,
                outcome = "succeeded",
                "invocation completed"
            ),
            Some(message) => tracing::error!(
                function = fields.0, invocation_id = fields.1, correlation_id = fields.2,
                operation_name = fields.0, tenant_id = fields.3, subscription_id = fields.4,
                duration_ms, outcome = "failed", error = %message, "invocation failed"
            ),
        }
    });
    // The invocation's request item is queued when its span closes; a non-HTTP invocation then
    // waits (boundedly) for the upload, since the instance may be frozen once it answers.
    drop(span);
    if !crate::insights::is_http_function(&function) {
        crate::insights::flush().await;
    }
    let mut logs = log.lines();
    match outcome {
        Ok(mut response) => {
            response.logs.append(&mut logs);
            (status, axum::Json(response)).into_response()
        }
        Err(err) => failure_response(status, &function, &err, logs),
    }
}

/// A failed invocation: non-2xx so the host retries or poisons, with the error in the body and
/// in `Logs` (the host drops the body of a failure, but the emulator and curl show it).
fn failure_response(
    status: StatusCode,
    function: &str,
    err: &TriggerError,
    mut logs: Vec<String>,
) -> Response {
    logs.push(format!("ERROR {function} failed: {err}"));
    let body = InvocationResponse { logs, ..InvocationResponse::default() };
    let mut value = serde_json::to_value(&body).unwrap_or_default();
    if let Some(obj) = value.as_object_mut() {
        obj.insert("error".into(), json!({"function": function, "message": err.to_string()}));
    }
    (status, axum::Json(value)).into_response()
}
