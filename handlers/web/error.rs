//! Failures of dashboard requests, answered as HTML pages saying what is wrong and what to do.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::pages::layout;
use crate::api::ApiError;

/// Why a dashboard request failed.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// `AZCOPS_WEB_CLIENT_ID` is not set.
    #[error("sign-in is not configured")]
    NotConfigured,
    /// No valid session: go and sign in.
    #[error("not signed in")]
    SignedOut,
    /// A state-changing request without the session's anti-forgery token.
    #[error("the request carries no valid anti-forgery token; reload the page and try again")]
    Csrf,
    /// The sign-in could not be completed (the reason is for the user; tokens are never shown).
    #[error("{0}")]
    SignIn(String),
    /// A platform admin has not chosen a customer tenant yet.
    #[error("choose the tenant to act on")]
    ChooseTenant,
    /// 400 from the dashboard's own checks.
    #[error("{0}")]
    BadRequest(String),
    /// Anything the API's code refused, with the API's status and message.
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl From<crate::store::StoreError> for WebError {
    fn from(error: crate::store::StoreError) -> Self {
        Self::Api(error.into())
    }
}

impl From<crate::api::AuthError> for WebError {
    fn from(error: crate::api::AuthError) -> Self {
        match error {
            // A session whose tenant was deactivated or whose token no longer validates.
            crate::api::AuthError::Invalid(_) | crate::api::AuthError::Missing => Self::SignedOut,
            other => Self::Api(other.into()),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            Self::NotConfigured => return layout::not_configured(),
            Self::SignedOut => {
                return (StatusCode::SEE_OTHER, [(header::LOCATION, "/auth/signin")]).into_response();
            }
            Self::ChooseTenant => return layout::choose_tenant_hint(),
            Self::Csrf => (StatusCode::FORBIDDEN, "Refused", self.to_string()),
            Self::SignIn(reason) => (StatusCode::BAD_REQUEST, "Sign-in failed", reason),
            Self::BadRequest(reason) => (StatusCode::BAD_REQUEST, "Bad request", reason),
            Self::Api(error) => {
                let message = match &error {
                    ApiError::Internal(_) => "internal error; the details are in the logs".to_owned(),
                    ApiError::NotFound(_) => "not found".to_owned(),
                    other => other.to_string(),
                };
                let status = error.into_response().status();
                let title = match status {
                    StatusCode::NOT_FOUND => "Not found",
                    StatusCode::FORBIDDEN => "Not allowed",
                    StatusCode::CONFLICT => "Not possible now",
                    s if s.is_server_error() => "Unavailable",
                    _ => "Cannot do that",
                };
                (status, title, message)
            }
        };
        let body = html! {
            div.notice.error role="alert" {
                h1 { (title) }
                p data-testid="error-message" { (message) }
                p { a href="/" { "Back to the overview" } }
            }
        };
        (status, layout::bare(title, body)).into_response()
    }
}
