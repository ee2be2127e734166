//! "Run now" on the Ingestion view (Admins): `POST /ingestion/run`, served by the
//! `web_ingestion_run` function because the run's messages leave through its queue output, as
//! those of `POST /api/v1/ingestion/trigger` do. The run is planned by the API's own
//! [`start_on_demand`] (role, one active on-demand run per tenant, cooldown, audit); the answer
//! sends the browser back to the Ingestion view with the outcome.

use axum::extract::FromRequestParts as _;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use serde_json::Value;

use crate::api::ApiError;
use crate::api::routes::ingestion::{TriggerBody, start_on_demand};
use crate::invocation::{HttpTriggerRequest, http_output};
use crate::state::AppState;
use crate::web::WebError;
use crate::web::viewer::{CSRF_FIELD, Viewer, check_csrf};

/// The path of the form's action (the `web_ingestion_run` function's route).
pub const PATH: &str = "/ingestion/run";

/// How a "Run now" ended, carried to the Ingestion view in its query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Planned: the run's id.
    Started(String),
    /// An on-demand run is still queued or running (the API's 409): its id.
    Active(String),
    /// The cooldown (the API's 429): the last run's id and when the next may start (RFC 3339).
    CoolingDown(String, String),
}

impl Outcome {
    /// The Ingestion view's URL showing this outcome.
    pub fn location(&self) -> String {
        let pairs: Vec<(&str, &str)> = match self {
            Self::Started(run) => vec![("run", run), ("outcome", "started")],
            Self::Active(run) => vec![("run", run), ("outcome", "active")],
            Self::CoolingDown(run, until) => vec![("run", run), ("outcome", "cooldown"), ("until", until)],
        };
        format!("/ingestion?{}", serde_urlencoded::to_string(pairs).unwrap_or_default())
    }
}

/// The API's refusal of an on-demand run, as an outcome the view explains; other errors stay.
fn refusal(error: ApiError, now: chrono::DateTime<chrono::Utc>) -> Result<Outcome, ApiError> {
    let run_of = |details: &Value| details["run_id"].as_str().unwrap_or_default().to_owned();
    match error {
        ApiError::ConflictWith { details, .. } => Ok(Outcome::Active(run_of(&details))),
        ApiError::Throttled { code: "ingestion_cooldown", retry_after, details, .. } => {
            let until =
                now + chrono::Duration::seconds(i64::try_from(retry_after).unwrap_or(i64::MAX / 1000));
            Ok(Outcome::CoolingDown(
                run_of(&details),
                until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ))
        }
        other => Err(other),
    }
}

async fn start(state: &AppState, req: &HttpTriggerRequest) -> Result<(Outcome, Vec<Value>), WebError> {
    let mut builder = axum::http::Request::builder().method(req.method.as_str()).uri(PATH);
    for (name, values) in &req.headers {
        for value in values {
            builder = builder.header(name.as_str(), value.as_str());
        }
    }
    let (mut parts, ()) = builder.body(()).map_err(|e| WebError::BadRequest(e.to_string()))?.into_parts();
    let viewer = Viewer::from_request_parts(&mut parts, state).await?;
    let body = req.body.as_deref().unwrap_or("");
    let token = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.into_owned());
    check_csrf(&viewer.session, &parts.headers, token.as_deref())?;
    match start_on_demand(state, &viewer.tenant, TriggerBody::default()).await {
        Ok((accepted, messages)) => Ok((Outcome::Started(accepted.run_id), messages)),
        Err(error) => Ok((refusal(error, chrono::Utc::now())?, Vec::new())),
    }
}

/// Handles one "Run now": a `303` to the Ingestion view and the run's queue messages, or the
/// dashboard's error page (403 without the token or the Admin role) and no message.
pub async fn run(state: &AppState, req: &HttpTriggerRequest) -> (Value, Vec<Value>) {
    match start(state, req).await {
        Ok((outcome, messages)) => {
            let mut headers = HeaderMap::new();
            if let Ok(location) = header::HeaderValue::from_str(&outcome.location()) {
                headers.insert(header::LOCATION, location);
            }
            headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
            (output(StatusCode::SEE_OTHER, headers, ""), messages)
        }
        Err(error) => (output_of(error.into_response()).await, Vec::new()),
    }
}

/// A response as the host's `http` output binding value.
async fn output_of(response: Response) -> Value {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    output(parts.status, parts.headers, &String::from_utf8_lossy(&bytes))
}

/// The host's `http` output binding value, with the dashboard's security headers (as the web
/// router's middleware sets them on every other dashboard response).
fn output(status: StatusCode, mut headers: HeaderMap, body: &str) -> Value {
    crate::web::insert_security_headers(&mut headers);
    let pairs = headers.iter().filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v.to_owned())));
    http_output(status.as_u16(), pairs, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refusals_become_outcomes_with_the_run_and_the_time_it_may_run_again() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z").unwrap().to_utc();
        let active = ApiError::ConflictWith { message: "m".into(), details: json!({"run_id": "r1"}) };
        assert_eq!(refusal(active, now).unwrap(), Outcome::Active("r1".into()));
        let cooling = ApiError::Throttled {
            code: "ingestion_cooldown",
            message: "m".into(),
            retry_after: 600,
            details: json!({"run_id": "r2", "retry_after_seconds": 600}),
        };
        let outcome = refusal(cooling, now).unwrap();
        assert_eq!(outcome, Outcome::CoolingDown("r2".into(), "2026-12-07T10:10:00Z".into()));
        assert_eq!(outcome.location(), "/ingestion?run=r2&outcome=cooldown&until=2026-12-07T10%3A10%3A00Z");
        assert!(refusal(ApiError::Forbidden("x".into()), now).is_err());
    }
}
