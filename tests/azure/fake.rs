//! A scripted fake of ARM: every request is recorded, and a closure decides the response.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use azcops::azure::credential::{BearerToken, TokenSource};
use azcops::azure::{ArmClient, AzureConfig, AzureError};
use azcops::config::Secret;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: serde_json::Value,
    pub raw: String,
    pub at: tokio::time::Instant,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }
}

/// What the script answers.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self { status, headers: vec![], body: body.to_string() }
    }
    pub fn raw(status: u16, body: &str) -> Self {
        Self { status, headers: vec![], body: body.to_owned() }
    }
    pub fn header(mut self, k: &'static str, v: impl Into<String>) -> Self {
        self.headers.push((k, v.into()));
        self
    }
}

type Script = dyn Fn(&Seen, usize) -> Reply + Send + Sync;

struct Shared {
    seen: Mutex<Vec<Seen>>,
    script: Box<Script>,
}

pub struct Fake {
    pub base: String,
    shared: Arc<Shared>,
}

impl Fake {
    /// Starts the server on 127.0.0.1; `script(request, index)` answers each request.
    pub async fn start(script: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Self {
        let shared = Arc::new(Shared { seen: Mutex::new(Vec::new()), script: Box::new(script) });
        let app = axum::Router::new().fallback(handle).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, shared }
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// A client against this server with a fixed token source.
    pub fn client(&self) -> ArmClient {
        self.client_with(Arc::new(FixedToken("test-token".into())))
    }

    pub fn client_with(&self, tokens: Arc<dyn TokenSource>) -> ArmClient {
        let mut config = AzureConfig::for_base_url(&self.base).unwrap();
        // Paused-clock tests must not be hit by a spurious per-attempt timeout.
        config.timeout = std::time::Duration::from_secs(3600);
        ArmClient::new(config, tokens).unwrap()
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seen = Seen {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        headers,
        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        raw: String::from_utf8_lossy(&body).into_owned(),
        at: tokio::time::Instant::now(),
    };
    let index = {
        let mut all = shared.seen.lock().unwrap();
        all.push(seen.clone());
        all.len() - 1
    };
    let reply = (shared.script)(&seen, index);
    let mut resp = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
    resp.headers_mut().insert("content-type", "application/json".parse().unwrap());
    for (k, v) in reply.headers {
        resp.headers_mut().insert(k, v.parse().unwrap());
    }
    resp
}

/// Always the same long-lived token.
pub struct FixedToken(pub String);

#[async_trait]
impl TokenSource for FixedToken {
    async fn token(&self, _tenant: Option<&str>, _scope: &str) -> Result<BearerToken, AzureError> {
        Ok(BearerToken {
            token: Secret::new(self.0.clone()),
            expires_at: SystemTime::now() + std::time::Duration::from_secs(3600),
        })
    }
}

pub fn query_param(seen: &Seen, key: &str) -> Option<String> {
    url::form_urlencoded::parse(seen.query.as_bytes()).find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}
