//! One file per function, named exactly like its `functions/<name>/` folder.
//!
//! Each handler decodes its typed payload, calls one service, and maps the outcome to
//! `Outputs`; no SQL and no HTTP building here. [`dispatch`] routes an invocation by name.

pub mod api;
pub mod deliver_notifications;
pub mod diagnostics;
pub mod evaluate_rules;
pub mod hourly_costs;
pub mod ingest_exports;
pub mod ingest_poison;
pub mod ingest_subscription;
pub mod ingestion_trigger;
pub mod nightly_ingest;
pub mod notification_digest;
pub mod notification_dispatch;
pub mod notification_poison;
pub mod remediate;
pub mod remediate_poison;
pub mod remediation_execute;
pub mod retention;
pub mod support;
pub mod ticket_sync;
pub mod web;
pub mod web_ingestion_run;

use crate::invocation::{DecodeError, InvocationRequest, InvocationResponse};
use crate::state::AppState;

/// The kind of trigger a function has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerKind {
    /// `timerTrigger`.
    Timer,
    /// `queueTrigger`.
    Queue,
    /// `blobTrigger` (EventGrid source).
    Blob,
    /// `httpTrigger`.
    Http,
}

/// What the code expects of a function's `function.json` (checked by a test).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionSpec {
    /// The function (and folder, and file) name.
    pub name: &'static str,
    /// Its trigger.
    pub trigger: TriggerKind,
    /// The trigger binding's name.
    pub binding: &'static str,
    /// Output binding names.
    pub outputs: &'static [&'static str],
}

/// Every production function, in the order of ARCHITECTURE.md §2.
pub const FUNCTIONS: &[FunctionSpec] = &[
    nightly_ingest::SPEC,
    hourly_costs::SPEC,
    ingest_subscription::SPEC,
    ingest_poison::SPEC,
    evaluate_rules::SPEC,
    retention::SPEC,
    api::SPEC,
    ingestion_trigger::SPEC,
    web::SPEC,
    web_ingestion_run::SPEC,
    notification_dispatch::SPEC,
    deliver_notifications::SPEC,
    notification_poison::SPEC,
    notification_digest::SPEC,
    ingest_exports::SPEC,
    ticket_sync::SPEC,
    remediation_execute::SPEC,
    remediate::SPEC,
    remediate_poison::SPEC,
];

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    /// No function of that name is served by this binary.
    #[error("no function named `{0}`")]
    UnknownFunction(String),
    /// The envelope did not decode into the function's payload (answered with 400).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The function's capability is not part of this build yet.
    #[error("{function} cannot run: {missing} is not available in this build")]
    NotAvailable {
        /// The function.
        function: &'static str,
        /// What is missing.
        missing: &'static str,
    },
    /// The function ran and failed; the host should retry according to the trigger's rules.
    #[error("{0}")]
    Failed(String),
    /// Ingestion failed.
    #[error(transparent)]
    Ingest(#[from] crate::ingest::IngestError),
    /// The rule evaluation failed.
    #[error(transparent)]
    Evaluation(#[from] crate::evaluation::EvaluationError),
    /// The curated store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl TriggerError {
    /// True for failures caused by the request itself rather than by the function.
    pub fn is_bad_request(&self) -> bool {
        matches!(self, Self::Decode(_))
    }
}

/// True when `name` is a function this binary serves with the current settings.
pub fn is_served(state: &AppState, name: &str) -> bool {
    FUNCTIONS.iter().any(|f| f.name == name)
        || (state.diagnostics().enabled && diagnostics::FUNCTIONS.iter().any(|f| f.name == name))
}

/// Runs the function `name` on `request`.
///
/// # Errors
/// The function is unknown, its payload does not decode, or it fails.
pub async fn dispatch(
    state: &AppState,
    name: &str,
    request: &InvocationRequest,
) -> Result<InvocationResponse, TriggerError> {
    match name {
        "nightly_ingest" => nightly_ingest::run(state, request).await,
        "hourly_costs" => hourly_costs::run(state, request).await,
        "ingest_subscription" => ingest_subscription::run(state, request).await,
        "ingest_poison" => ingest_poison::run(state, request).await,
        "evaluate_rules" => evaluate_rules::run(state, request).await,
        "retention" => retention::run(state, request).await,
        "api" => api::run(state, request).await,
        "ingestion_trigger" => ingestion_trigger::run(state, request).await,
        "web" => web::run(state, request).await,
        "web_ingestion_run" => web_ingestion_run::run(state, request).await,
        "notification_dispatch" => notification_dispatch::run(state, request).await,
        "deliver_notifications" => deliver_notifications::run(state, request).await,
        "notification_poison" => notification_poison::run(state, request).await,
        "notification_digest" => notification_digest::run(state, request).await,
        "ingest_exports" => ingest_exports::run(state, request).await,
        "ticket_sync" => ticket_sync::run(state, request).await,
        "remediation_execute" => remediation_execute::run(state, request).await,
        "remediate" => remediate::run(state, request).await,
        "remediate_poison" => remediate_poison::run(state, request).await,
        other if state.diagnostics().enabled => diagnostics::dispatch(state, other, request).await,
        other => Err(TriggerError::UnknownFunction(other.to_owned())),
    }
}
