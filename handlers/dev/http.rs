//! The public HTTP side on port 7071: `/admin/functions/{name}`, raw forwarding for forwarded
//! HTTP functions, and envelopes for other HTTP functions (spec §4.6, §5.1, §6.4).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::appdef::FunctionDef;
use crate::invocation::encoding::{encode_bytes, encode_string, promote_json_properties};
use crate::invocation::{HOST_VERSION_HEADER, INVOCATION_ID_HEADER};

use super::engine::Engine;
use super::invoker::{HOST_VERSION, Outcome, envelope};
use super::routes::{match_route, specificity};

/// Largest request body accepted, the host's limit.
const MAX_BODY: usize = 100 * 1024 * 1024;

/// The running public listener.
pub struct PublicServer {
    /// The bound port.
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl PublicServer {
    /// Stops listening.
    pub fn stop(&self) {
        self.task.abort();
    }
}

/// Binds `127.0.0.1:port` and serves the public side.
///
/// # Errors
/// The port cannot be bound.
pub async fn bind(engine: Arc<Engine>, port: u16) -> std::io::Result<PublicServer> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let port = listener.local_addr()?.port();
    let router = Router::new().fallback(handle).with_state(engine);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(PublicServer { port, task })
}

async fn handle(State(engine): State<Arc<Engine>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    if let Some(name) = path.strip_prefix("/admin/functions/") {
        return admin_run(engine, name.to_owned(), request).await;
    }
    if path == "/admin/host/status" {
        return axum::Json(json!({"state": "Running", "version": HOST_VERSION})).into_response();
    }
    let prefix = engine.app.host.route_prefix.clone();
    let route_path = if prefix.is_empty() {
        Some(path.trim_start_matches('/'))
    } else {
        path.strip_prefix(&format!("/{prefix}"))
            .filter(|r| r.is_empty() || r.starts_with('/'))
            .map(|r| r.trim_start_matches('/'))
    };
    let Some(route_path) = route_path else { return not_found() };
    let method = request.method().as_str().to_ascii_lowercase();
    let mut candidates: Vec<(&FunctionDef, BTreeMap<String, String>)> = engine
        .app
        .functions
        .iter()
        .filter(|f| !f.disabled)
        .filter_map(|f| {
            let trigger = f.trigger().filter(|t| t.kind == "httpTrigger")?;
            if !trigger.methods.is_empty() && !trigger.methods.iter().any(|m| m.eq_ignore_ascii_case(&method))
            {
                return None;
            }
            let template = trigger.route.clone().unwrap_or_else(|| f.name.clone());
            match_route(&template, route_path).map(|params| (f, params))
        })
        .collect();
    candidates.sort_by_key(|(f, _)| {
        std::cmp::Reverse(specificity(f.trigger().and_then(|t| t.route.as_deref()).unwrap_or("")))
    });
    let Some((def, params)) = candidates.into_iter().next() else { return not_found() };
    let def = def.clone();
    if def.is_forwarded_http(&engine.app.host) {
        forward(&engine, &def, request).await
    } else {
        invoke_http(&engine, &def, params, request).await
    }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, axum::Json(json!({"error": {"code": "not_found", "message": "no function matches this route", "details": null}}))).into_response()
}

async fn admin_run(engine: Arc<Engine>, name: String, request: Request) -> Response {
    if request.method() != Method::POST {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let Some(def) = engine.app.function(&name) else { return not_found() };
    if def.trigger().is_some_and(|t| t.kind == "httpTrigger") {
        return (StatusCode::BAD_REQUEST, "HTTP-triggered functions are called on their route")
            .into_response();
    }
    let body = axum::body::to_bytes(request.into_body(), MAX_BODY).await.unwrap_or_default();
    let input = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("input").and_then(Value::as_str).map(str::to_owned));
    tokio::spawn(async move { engine.run_manually(&name, input).await });
    StatusCode::ACCEPTED.into_response()
}

/// Forwards the raw request to the handler at its public path, copying every header (including
/// `Host`), adding the invocation headers, and returning the handler's response unchanged.
async fn forward(engine: &Engine, def: &FunctionDef, request: Request) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    let started = std::time::Instant::now();
    let (parts, body) = request.into_parts();
    let target = format!(
        "http://127.0.0.1:{}{}",
        engine.handler_port(),
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let body = axum::body::to_bytes(body, MAX_BODY).await.unwrap_or_default();
    let mut outbound = engine.forwarder.request(parts.method.clone(), target);
    for (name, value) in &parts.headers {
        if !is_hop_by_hop(name) && name != header::USER_AGENT && name != header::CONTENT_LENGTH {
            outbound = outbound.header(name, value);
        }
    }
    let agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    outbound = outbound
        .header(header::USER_AGENT, format!("{agent} Azure-Functions-Host/{HOST_VERSION}").trim().to_owned())
        .header(INVOCATION_ID_HEADER, &id)
        .header(HOST_VERSION_HEADER, HOST_VERSION);
    if !body.is_empty() {
        outbound = outbound.body(body);
    }
    let result = outbound.send().await;
    let ms = started.elapsed().as_millis();
    match result {
        Ok(response) => {
            say!(
                "[{}] Executed 'Functions.{}' (Succeeded, Id={id}, Duration={ms}ms) {} {} -> {}",
                chrono::Utc::now().to_rfc3339(),
                def.name,
                parts.method,
                parts.uri.path(),
                response.status().as_u16()
            );
            let status = response.status();
            let headers = response.headers().clone();
            let bytes = response.bytes().await.unwrap_or_default();
            let mut out = Response::new(Body::from(bytes));
            *out.status_mut() = status;
            for (name, value) in &headers {
                if !is_hop_by_hop(name) {
                    out.headers_mut().append(name.clone(), value.clone());
                }
            }
            out
        }
        Err(e) => {
            say!(
                "[{}] Executed 'Functions.{}' (Failed, Id={id}, Duration={ms}ms)",
                chrono::Utc::now().to_rfc3339(),
                def.name
            );
            say!("    handler unreachable: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection" | "keep-alive" | "transfer-encoding" | "te" | "trailer" | "upgrade" | "proxy-connection"
    )
}

/// Invokes a non-forwarded HTTP function with the envelope and turns its `http` output into the
/// response (spec §6.4); queue outputs are enqueued.
async fn invoke_http(
    engine: &Engine,
    def: &FunctionDef,
    params: BTreeMap<String, String>,
    request: Request,
) -> Response {
    let Some(trigger) = def.trigger().cloned() else { return not_found() };
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY).await.unwrap_or_default();
    let (data, metadata) = http_envelope_parts(&parts, &params, &body);
    let outcome = engine.invoke(def, envelope(&trigger.name, data, metadata)).await;
    let Outcome::Succeeded(response) = outcome else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Some(http_out) = def.outputs().find(|b| b.kind == "http") else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let value = if http_out.name == "$return" {
        Some(response.return_value.clone())
    } else {
        response.outputs.get(&http_out.name).cloned()
    };
    match value {
        None | Some(Value::Null) => StatusCode::NO_CONTENT.into_response(),
        Some(value) => http_output_response(&value),
    }
}

fn http_envelope_parts(
    parts: &axum::http::request::Parts,
    params: &BTreeMap<String, String>,
    body: &Bytes,
) -> (Value, Map<String, Value>) {
    let query: BTreeMap<String, String> = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes()).into_owned().fold(
                BTreeMap::new(),
                |mut acc: BTreeMap<String, String>, (k, v)| {
                    acc.entry(k)
                        .and_modify(|e| {
                            e.push(',');
                            e.push_str(&v);
                        })
                        .or_insert(v);
                    acc
                },
            )
        })
        .unwrap_or_default();
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in &parts.headers {
        headers
            .entry(name.as_str().to_owned())
            .or_default()
            .push(value.to_str().unwrap_or_default().to_owned());
    }
    let host = parts.headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("127.0.0.1");
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let binary =
        content_type.starts_with("application/octet-stream") || content_type.starts_with("multipart/");
    let body_value = if body.is_empty() {
        Value::Null
    } else if binary {
        encode_bytes(body)
    } else {
        Value::String(String::from_utf8_lossy(body).into_owned())
    };
    let mut req = json!({
        "Url": format!("http://{host}{}", parts.uri.path_and_query().map_or("", |p| p.as_str())),
        "Method": parts.method.as_str(),
        "Query": query,
        "Headers": headers,
        "Params": params,
        "Identities": [],
    });
    if let (Some(obj), false) = (req.as_object_mut(), body_value.is_null()) {
        obj.insert("Body".into(), body_value);
    }
    let mut metadata = Map::new();
    for (k, v) in &query {
        if k != "code" {
            metadata.insert(k.clone(), encode_string(v));
        }
    }
    for (k, v) in params {
        metadata.insert(k.clone(), encode_string(v));
    }
    promote_json_properties(&mut metadata, &String::from_utf8_lossy(body));
    metadata.insert("Query".into(), json!(query));
    let joined: BTreeMap<String, String> = headers.iter().map(|(k, v)| (k.clone(), v.join(","))).collect();
    metadata.insert("Headers".into(), json!(joined));
    (req, metadata)
}

/// Builds the caller's response from an `http` output value (`statusCode`, `headers`, `body`).
pub fn http_output_response(value: &Value) -> Response {
    let parsed;
    let object = match value {
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(v @ Value::Object(_)) => {
                parsed = v;
                &parsed
            }
            _ => {
                return (StatusCode::INTERNAL_SERVER_ERROR, "http output is not a JSON object")
                    .into_response();
            }
        },
        other => other,
    };
    let field = |name: &str| {
        object.as_object().and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
    };
    let status = field("statusCode")
        .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
        .and_then(|code| StatusCode::from_u16(u16::try_from(code).ok()?).ok())
        .unwrap_or(StatusCode::OK);
    let mut headers = HeaderMap::new();
    if let Some(Value::Object(map)) = field("headers") {
        for (k, v) in map {
            let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            if let (Ok(name), Ok(value)) = (HeaderName::try_from(k.as_str()), HeaderValue::from_str(&text)) {
                headers.insert(name, value);
            }
        }
    }
    let body = match field("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(other) => serde_json::to_vec_pretty(other).unwrap_or_default(),
    };
    if !headers.contains_key(header::CONTENT_TYPE) {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    }
    (status, headers, body).into_response()
}
