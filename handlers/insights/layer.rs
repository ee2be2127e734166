//! The tracing layer: spans named `invocation` (a function invocation) and `request` (an API
//! request) become request items, every `azure request` event a dependency item, events with a
//! `metric` field custom metrics, and other INFO-or-above events trace messages — all under the
//! operation of their root span (the W3C `traceparent` when one was received, else the
//! invocation id), so they join the host's rows for the invocation.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber, span};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::envelope::{Envelope, Operation, new_id, parse_traceparent};
use super::exporter::Exporter;
use super::metrics::{AzureTally, METRICS_TARGET, derived};

/// Fields never exported: they could carry credentials.
const REDACTED: &[&str] = &["token", "authorization", "access_token", "client_secret", "password", "sig"];

/// The layer installed by [`super::install`].
#[derive(Debug)]
pub struct InsightsLayer {
    exporter: Arc<Exporter>,
    envelope: Envelope,
}

impl InsightsLayer {
    /// Exports through `exporter` with instrumentation key `ikey` as cloud role `role`.
    pub fn new(exporter: Arc<Exporter>, ikey: String, role: String) -> Self {
        let instance = std::env::var("WEBSITE_INSTANCE_ID")
            .or_else(|_| std::env::var("HOSTNAME"))
            .unwrap_or_else(|_| "local".to_owned());
        Self { exporter, envelope: Envelope { ikey, role, instance } }
    }
}

struct SpanState {
    id: String,
    op: Operation,
    start: SystemTime,
    started: Instant,
    fields: Map<String, Value>,
    status: Option<u64>,
    failed: bool,
    azure: std::collections::BTreeMap<String, AzureTally>,
}

struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}").into());
    }
}

fn text(fields: &Map<String, Value>, key: &str) -> Option<String> {
    match fields.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::String(_) | Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Properties of an item: its fields as strings, minus the message and anything secret.
fn properties(fields: &Map<String, Value>, skip: &[&str]) -> Map<String, Value> {
    fields
        .iter()
        .filter(|(k, _)| {
            let k = k.as_str();
            k != "message" && !skip.contains(&k) && !REDACTED.iter().any(|r| k.eq_ignore_ascii_case(r))
        })
        .map(|(k, v)| (k.clone(), Value::String(v.as_str().map_or_else(|| v.to_string(), str::to_owned))))
        .collect()
}

/// The operation of a root span: its `traceparent`, else its invocation id, else a new id.
fn root_operation(fields: &Map<String, Value>) -> (String, Option<String>) {
    if let Some((trace, parent)) = text(fields, "traceparent").as_deref().and_then(parse_traceparent) {
        return (trace, Some(parent));
    }
    let invocation = text(fields, "invocation_id").unwrap_or_default().replace('-', "").to_ascii_lowercase();
    if invocation.len() == 32 && invocation.bytes().all(|b| b.is_ascii_hexdigit()) {
        return (invocation, None);
    }
    (new_id(16), None)
}

fn severity(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 2,
        Level::INFO => 1,
        _ => 0,
    }
}

impl<S> tracing_subscriber::Layer<S> for InsightsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Map::new();
        attrs.record(&mut Fields(&mut fields));
        let parent = span.parent().and_then(|p| {
            p.extensions().get::<SpanState>().map(|s| (s.op.id.clone(), s.id.clone(), s.op.name.clone()))
        });
        let op = match parent {
            Some((op_id, parent_id, name)) => Operation { id: op_id, parent_id: Some(parent_id), name },
            None => {
                let (op_id, parent_id) = root_operation(&fields);
                let name = text(&fields, "function").or_else(|| text(&fields, "route"));
                Operation { id: op_id, parent_id, name }
            }
        };
        let state = SpanState {
            id: new_id(8),
            op,
            start: SystemTime::now(),
            started: Instant::now(),
            fields,
            status: None,
            failed: false,
            azure: Default::default(),
        };
        span.extensions_mut().insert(state);
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(state) = span.extensions_mut().get_mut::<SpanState>()
        {
            values.record(&mut Fields(&mut state.fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let explicit_metric = meta.target() == METRICS_TARGET;
        if meta.target().starts_with("azcops::insights") || (*meta.level() > Level::INFO && !explicit_metric)
        {
            return;
        }
        let mut fields = Map::new();
        event.record(&mut Fields(&mut fields));
        let message = text(&fields, "message").unwrap_or_default();
        let span = ctx.event_span(event);
        let mut op = Operation::default();
        // The root span's fields (tenant, subscription, function) complete the event's.
        let mut merged = Map::new();
        if let Some(span) = &span {
            if let Some(root) = span.scope().from_root().next() {
                let mut extensions = root.extensions_mut();
                if let Some(state) = extensions.get_mut::<SpanState>() {
                    merged.clone_from(&state.fields);
                    if message == "azure request" {
                        tally(state, &fields);
                    }
                }
            }
            let mut extensions = span.extensions_mut();
            if let Some(state) = extensions.get_mut::<SpanState>() {
                op = Operation {
                    id: state.op.id.clone(),
                    parent_id: Some(state.id.clone()),
                    name: state.op.name.clone(),
                };
                if let Some(status) = fields.get("status").and_then(Value::as_u64) {
                    state.status = Some(status);
                }
                // The invocation's own outcome decides its success, not an error logged on the way.
                if text(&fields, "outcome").as_deref() == Some("failed") {
                    state.failed = true;
                }
                for key in ["tenant_id", "subscription_id", "method"] {
                    if let Some(value) = fields.get(key).filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
                    {
                        state.fields.insert(key.to_owned(), value.clone());
                    }
                }
            }
        }
        merged.retain(|_, v| v.as_str().is_none_or(|s| !s.is_empty()));
        merged.extend(fields.clone());
        let now = SystemTime::now();
        if explicit_metric {
            if let (Some(name), Some(value)) =
                (text(&fields, "metric"), fields.get("value").and_then(Value::as_f64))
            {
                let dims = properties(&merged, &["metric", "value", "traceparent"]);
                self.exporter.offer(self.envelope.metric(&op, now, &name, value, dims));
            }
            return;
        }
        for (name, value, dims) in derived(&message, &merged) {
            self.exporter.offer(self.envelope.metric(&op, now, name, value, dims));
        }
        let item = if message == "azure request" {
            self.dependency(&op, &fields, now)
        } else {
            self.envelope.message(&op, now, &message, severity(meta.level()), properties(&fields, &[]))
        };
        self.exporter.offer(item);
    }

    fn on_close(&self, id: span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(state) = span.extensions_mut().remove::<SpanState>() else { return };
        let took = state.started.elapsed();
        let props = properties(&state.fields, &["traceparent"]);
        let item = match span.name() {
            "invocation" => {
                let function = text(&state.fields, "function").unwrap_or_default();
                let mut props = props;
                props.insert("faas.name".into(), function.clone().into());
                if let Some(invocation) = text(&state.fields, "invocation_id") {
                    props.insert("faas.invocation_id".into(), invocation.clone().into());
                    props.insert("InvocationId".into(), invocation.into());
                }
                let code = if state.failed { "500" } else { "200" };
                let now = SystemTime::now();
                for (api, tally) in &state.azure {
                    let mut dims = Map::new();
                    dims.insert("api".into(), api.clone().into());
                    dims.insert("function".into(), function.clone().into());
                    for (name, value) in [
                        ("azcops.azure.requests", tally.requests),
                        ("azcops.azure.throttled", tally.throttled),
                        ("azcops.azure.quota_wait_ms", tally.quota_wait_ms),
                    ] {
                        self.exporter.offer(self.envelope.metric(
                            &state.op,
                            now,
                            name,
                            value as f64,
                            dims.clone(),
                        ));
                    }
                }
                self.envelope.request(
                    &state.op,
                    &state.id,
                    &function,
                    state.start,
                    took,
                    code,
                    !state.failed,
                    props,
                )
            }
            "request" => {
                let route = text(&state.fields, "route").unwrap_or_default();
                let method = text(&state.fields, "method").unwrap_or_else(|| "GET".to_owned());
                let status = state.status.unwrap_or(0);
                let name = format!("{method} {route}");
                let success = (1..500).contains(&status);
                self.envelope.request(
                    &state.op,
                    &state.id,
                    &name,
                    state.start,
                    took,
                    &status.to_string(),
                    success,
                    props,
                )
            }
            other => {
                let name = other.to_owned();
                let (kind, target) = ("InProc", "azcops");
                self.envelope.dependency(
                    &state.op,
                    kind,
                    target,
                    &name,
                    &name,
                    state.start,
                    took,
                    "0",
                    !state.failed,
                    props,
                )
            }
        };
        self.exporter.offer(item);
    }
}

impl InsightsLayer {
    fn dependency(&self, op: &Operation, fields: &Map<String, Value>, now: SystemTime) -> Value {
        let api = text(fields, "api").unwrap_or_default();
        let method = text(fields, "method").unwrap_or_default();
        let path = text(fields, "path").unwrap_or_default();
        let target = text(fields, "host").unwrap_or_else(|| api.clone());
        let status = fields.get("status").and_then(Value::as_u64).unwrap_or(0);
        let took =
            std::time::Duration::from_millis(fields.get("duration_ms").and_then(Value::as_u64).unwrap_or(0));
        let start = now.checked_sub(took).unwrap_or(now);
        // The operation name is the API and the path's provider part, so the Portal groups calls.
        let name = format!("{method} {api}");
        let success = (200..400).contains(&status);
        let props = properties(fields, &["path"]);
        self.envelope.dependency(
            op,
            "Azure",
            &target,
            &name,
            &path,
            start,
            took,
            &status.to_string(),
            success,
            props,
        )
    }
}

/// Counts an `azure request` event against its invocation.
fn tally(state: &mut SpanState, fields: &Map<String, Value>) {
    let api = text(fields, "api").unwrap_or_default();
    let entry = state.azure.entry(api).or_default();
    entry.requests += 1;
    if fields.get("status").and_then(Value::as_u64) == Some(429) {
        entry.throttled += 1;
    }
    entry.quota_wait_ms += fields.get("quota_wait_ms").and_then(Value::as_u64).unwrap_or(0);
}
