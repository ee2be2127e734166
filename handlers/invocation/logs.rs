//! Captures the log events of one invocation so they can be returned in `Logs`.
//!
//! The host records `Logs` lines against the invocation (Application Insights, the Portal's
//! Monitor tab), while stdout lines are only console output. Every event emitted while an
//! invocation's future runs inside [`capture`] is appended to that invocation's buffer by
//! [`CaptureLayer`], in addition to whatever other layers do with it.

use std::fmt::Write as _;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// At most this many lines are returned per invocation; the rest are counted.
const MAX_LINES: usize = 500;

tokio::task_local! {
    static CURRENT: Arc<InvocationLog>;
}

/// The log lines and labels collected for one invocation.
#[derive(Debug, Default)]
pub struct InvocationLog {
    lines: Mutex<Vec<String>>,
    dropped: Mutex<usize>,
    labels: Mutex<Labels>,
}

/// Identifiers learnt while handling an invocation, added to its completion log line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Labels {
    /// The tenant the invocation worked for.
    pub tenant_id: Option<String>,
    /// The subscription the invocation worked on.
    pub subscription_id: Option<String>,
}

impl InvocationLog {
    fn push(&self, line: String) {
        let mut lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        if lines.len() < MAX_LINES {
            lines.push(line);
        } else {
            *self.dropped.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        }
    }

    /// The captured lines, with a final note when some were dropped.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let dropped = *self.dropped.lock().unwrap_or_else(PoisonError::into_inner);
        if dropped > 0 {
            lines.push(format!("({dropped} more log lines not returned)"));
        }
        lines
    }

    /// The labels recorded so far.
    pub fn labels(&self) -> Labels {
        self.labels.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// Runs `fut` with `log` as the current invocation's log buffer.
pub async fn capture<F: Future>(log: Arc<InvocationLog>, fut: F) -> F::Output {
    CURRENT.scope(log, fut).await
}

/// Records the tenant and/or subscription the current invocation works on (no-op outside one):
/// on the invocation span, so every later log line carries them, and for the completion line.
pub fn label(tenant_id: Option<&str>, subscription_id: Option<&str>) {
    let span = tracing::Span::current();
    if let Some(t) = tenant_id {
        span.record("tenant_id", t);
    }
    if let Some(s) = subscription_id {
        span.record("subscription_id", s);
    }
    let _ = CURRENT.try_with(|log| {
        let mut labels = log.labels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = tenant_id {
            labels.tenant_id = Some(t.to_owned());
        }
        if let Some(s) = subscription_id {
            labels.subscription_id = Some(s.to_owned());
        }
    });
}

/// A tracing layer appending events to the current invocation's buffer.
#[derive(Debug, Default, Clone, Copy)]
pub struct CaptureLayer;

impl<S: Subscriber> Layer<S> for CaptureLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let _ = CURRENT.try_with(|log| {
            let mut visitor = LineVisitor::default();
            event.record(&mut visitor);
            let level = event.metadata().level();
            log.push(format!("{level} {}{}", visitor.message, visitor.fields));
        });
    }
}

#[derive(Default)]
struct LineVisitor {
    message: String,
    fields: String,
}

impl Visit for LineVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::prelude::*;

    #[tokio::test]
    async fn events_inside_capture_are_collected_and_outside_are_not() {
        let subscriber = tracing_subscriber::registry().with(CaptureLayer);
        let _guard = tracing::subscriber::set_default(subscriber);
        let log = Arc::new(InvocationLog::default());
        tracing::info!("before");
        capture(log.clone(), async {
            tracing::info!(rows = 3, "upserted");
            tracing::warn!("slow");
            label(Some("t1"), Some("s1"));
        })
        .await;
        tracing::info!("after");
        assert_eq!(log.lines(), vec!["INFO upserted rows=3".to_owned(), "WARN slow".to_owned()]);
        assert_eq!(log.labels().tenant_id.as_deref(), Some("t1"));
    }
}
