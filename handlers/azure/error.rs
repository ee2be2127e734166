//! The one error type of the Azure client and connectors.

use std::time::Duration;

use crate::azure::Api;
use crate::config::ConfigError;

/// Everything that can go wrong talking to Azure; variants name the API at fault.
#[derive(Debug, thiserror::Error)]
pub enum AzureError {
    /// Azure answered 429 and the caller chose not to (or could no longer) wait.
    #[error("{api} throttled the request (retry after {retry_after:?})")]
    Throttled {
        /// The API that throttled.
        api: Api,
        /// How long the service asked us to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// A non-success status that retrying does not fix.
    #[error("HTTP {status}: {code}: {message}")]
    Http {
        /// HTTP status code.
        status: u16,
        /// The error envelope's `code` (empty when the body had none).
        code: String,
        /// The error envelope's `message`, or the start of the body.
        message: String,
    },
    /// The request never got an HTTP answer (connect error, timeout, reset).
    #[error("transport error: {0}")]
    Transport(String),
    /// A page whose body is not complete JSON; no partial data is returned.
    #[error("{api} returned a truncated page")]
    Truncated {
        /// The API whose page was cut short.
        api: Api,
    },
    /// A service returned a continuation token it had already returned, or too many pages.
    #[error("{api} paging did not terminate (repeated continuation token or page cap reached)")]
    PagingLoop {
        /// The API that looped.
        api: Api,
    },
    /// A paging link named another scheme, host or port than the first page's: not followed,
    /// so the bearer token never goes to a host a response chose.
    #[error(
        "{api} paging link points to {link_origin}, not to {first_origin} which served the first page; not followed"
    )]
    ForeignPageLink {
        /// The API whose response carried the link.
        api: Api,
        /// Scheme, host and port of the link.
        link_origin: String,
        /// Scheme, host and port of the first page.
        first_origin: String,
    },
    /// A token could not be obtained, or Azure rejected it (401).
    #[error("authentication failed: {0}")]
    Auth(String),
    /// The principal cannot read the subscription (403).
    #[error("access to subscription {subscription} is forbidden")]
    Forbidden {
        /// The subscription that could not be read (empty for tenant-level calls).
        subscription: String,
    },
    /// A response did not match the expected shape.
    #[error("{api} response does not decode at {path}: {message}")]
    Decode {
        /// The API whose response failed.
        api: Api,
        /// The JSON path of the failing value.
        path: String,
        /// The decoder's message.
        message: String,
    },
    /// Retryable failures persisted through every attempt.
    #[error("{api} failed after {attempts} attempts: {last}")]
    RetriesExhausted {
        /// The API that kept failing.
        api: Api,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// The client was misconfigured.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A request could not be built (bad URL, bad argument).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}
