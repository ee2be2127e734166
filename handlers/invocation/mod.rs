//! The Azure Functions custom-handler protocol, and nothing about FinOps.
//!
//! The host POSTs `{Data, Metadata}` envelopes to `/<FunctionName>` and expects
//! `{Outputs, Logs, ReturnValue}` back with a 2xx status and a JSON content type. This module
//! owns those wire types (shared with the local host emulator so the two cannot drift), the
//! typed trigger payloads, the host's value encoding rules (double-encoded strings, base64
//! bytes), and the capture of an invocation's log events into `Logs`.

pub mod encoding;
pub mod envelope;
pub mod logs;
pub mod payload;

pub use envelope::{InvocationRequest, InvocationResponse, http_output};
pub use payload::{BlobTrigger, HttpTriggerRequest, QueueTrigger, TimerInfo, TriggerPayload};

/// Header carrying the host's invocation id on every invocation and forwarded request.
pub const INVOCATION_ID_HEADER: &str = "x-azure-functions-invocationid";
/// Header carrying the host's version.
pub const HOST_VERSION_HEADER: &str = "x-azure-functions-hostversion";

/// Why an invocation envelope could not be turned into a typed payload.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The body is not a JSON envelope; `path` names where parsing stopped.
    #[error("invalid invocation envelope at {path}: {message}")]
    Envelope {
        /// JSON path of the failure (`.` for the root).
        path: String,
        /// The parser's message.
        message: String,
    },
    /// The trigger binding is absent from `Data`.
    #[error("binding `{binding}` is missing from Data")]
    MissingBinding {
        /// The binding name from function.json.
        binding: String,
    },
    /// A value does not have the shape or encoding the host uses.
    #[error("{field}: {reason}")]
    Field {
        /// Where the value sits (`Data.message`, `Metadata.DequeueCount`, ...).
        field: String,
        /// What is wrong.
        reason: String,
    },
}

impl DecodeError {
    /// A field-level decoding error.
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Field { field: field.into(), reason: reason.into() }
    }
}
