//! The store's one error type, shaped so the API can map each variant to an HTTP status.

use super::lifecycle::RecommendationStatus;

/// Everything a repository call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist in the caller's tenant (a foreign tenant's row is reported the same way).
    #[error("not found")]
    NotFound,
    /// A unique key is already taken (duplicate tenant, duplicate subscription, ...).
    #[error("{what} already exists")]
    Conflict {
        /// What collided, e.g. `tenant` or `subscription`.
        what: &'static str,
    },
    /// A recommendation status change the lifecycle does not allow.
    #[error("cannot move a recommendation from {from} to {to}")]
    InvalidTransition {
        /// The current status.
        from: RecommendationStatus,
        /// The requested status.
        to: RecommendationStatus,
    },
    /// An argument is out of range or malformed.
    #[error("invalid {field}: {reason}")]
    Validation {
        /// The offending field or parameter.
        field: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// The database cannot be reached (maps to 503).
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// Migrations failed to apply.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

impl StoreError {
    /// Builds a [`StoreError::Validation`].
    pub fn validation(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Validation { field, reason: reason.into() }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Self::Unavailable(error),
            other => Self::Database(other),
        }
    }
}

/// Converts a unique-key violation into [`StoreError::Conflict`] naming `what`.
pub(crate) fn conflict_as(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict { what },
        _ => StoreError::from(error),
    }
}
