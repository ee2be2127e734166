//! The forwarded HTTP API (`api` function): routes, middleware and the error format.
//!
//! The host forwards public requests raw, with their original path under the route prefix
//! (`/api/...`), so this router is mounted at that prefix by [`crate::app`].

pub mod error;
pub mod middleware;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use crate::state::{AppState, VERSION};

pub use error::ApiError;

/// The API router (without the route prefix).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .fallback(not_found)
        .with_state(state)
        .layer(axum::middleware::from_fn(middleware::correlation_and_logging))
}

/// `GET /api/health`: 200 when the database answers, 207 (degraded) when it does not.
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    if state.database().is_connected().await {
        (StatusCode::OK, Json(json!({"status": "healthy", "version": VERSION, "database": "connected"})))
    } else {
        (
            StatusCode::MULTI_STATUS,
            Json(json!({"status": "degraded", "version": VERSION, "database": "disconnected"})),
        )
    }
}

/// The JSON 404 for any path the API does not serve.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}
