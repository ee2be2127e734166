//! Settings (Admins): the tenant's rule thresholds and cost-center tag name. The form stores
//! the same overrides object as `PUT /api/v1/settings/rules`, checked by the same
//! `RuleSettings::from_overrides` and written by the same audited store call
//! (`rule_settings.updated`). A blank field means "the default". Remediation settings are not
//! on the form; saving it keeps them.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde_json::{Map, Value};

use super::layout::{Nav, page};
use crate::api::auth::ROLE_ADMIN;
use crate::rules::RuleSettings;
use crate::store::Actor;
use crate::web::WebError;
use crate::web::viewer::{CSRF_FIELD, Viewer, check_csrf};

/// The rule-settings key the form leaves alone (remediation is set through the API).
const REMEDIATION: &str = "remediation";

/// What a field holds, which decides how it is parsed and offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A whole number of days, at least 1.
    Days,
    /// A percentage, 0 to 100.
    Percent,
    /// A share, 0 to 1.
    Share,
    /// A tag name.
    Text,
}

/// Every setting of [`RuleSettings`], in the form's order: key, label, kind.
const FIELDS: [(&str, &str, Kind); 12] = [
    ("cost_center_tag", "Cost-center tag name", Kind::Text),
    ("stale_snapshot_days", "Snapshots are stale after (days)", Kind::Days),
    ("vm_cpu_p95_max", "VM underutilised below CPU P95 (%)", Kind::Percent),
    ("vm_memory_p95_max", "VM underutilised below memory P95 (%)", Kind::Percent),
    ("vm_projected_cpu_max", "VM resize: projected CPU P95 at most (%)", Kind::Percent),
    ("min_metric_coverage", "Minimum share of hours with metrics (0–1)", Kind::Share),
    ("plan_cpu_p95_max", "App Service plan underutilised below CPU P95 (%)", Kind::Percent),
    ("plan_memory_p95_max", "App Service plan underutilised below memory P95 (%)", Kind::Percent),
    ("sql_dtu_p95_max", "SQL DTU underutilised below P95 (%)", Kind::Percent),
    ("sql_projected_dtu_max", "SQL resize: projected DTU P95 at most (%)", Kind::Percent),
    ("steady_min_share", "Rate: steady when billed this share of hours (0–1)", Kind::Share),
    ("covered_actual_share", "Rate: already covered below this actual/amortized share (0–1)", Kind::Share),
];

/// The form's state: each field's text and the errors to show beside the fields.
#[derive(Debug, Default)]
struct FormState {
    values: Vec<(&'static str, String)>,
    errors: Vec<(&'static str, String)>,
    general: Option<String>,
}

impl FormState {
    fn from_overrides(overrides: Option<&Value>) -> Self {
        let values = FIELDS
            .iter()
            .map(|(key, _, _)| {
                let text = overrides.and_then(|o| o.get(*key)).map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
                (*key, text.unwrap_or_default())
            })
            .collect();
        Self { values, ..Self::default() }
    }

    fn value(&self, key: &str) -> &str {
        self.values.iter().find(|(k, _)| *k == key).map_or("", |(_, v)| v.as_str())
    }

    fn error(&self, key: &str) -> Option<&str> {
        self.errors.iter().find(|(k, _)| *k == key).map(|(_, e)| e.as_str())
    }
}

/// Parses the submitted fields into an overrides object (blank fields left out), or the form
/// with its errors.
fn parse(pairs: &[(String, String)]) -> Result<Value, FormState> {
    let mut state = FormState::default();
    let mut overrides = Map::new();
    for (key, _, kind) in FIELDS {
        let text =
            pairs.iter().rev().find(|(k, _)| k == key).map_or("", |(_, v)| v.as_str()).trim().to_owned();
        state.values.push((key, text.clone()));
        if text.is_empty() {
            continue;
        }
        let value = match kind {
            Kind::Text => Ok(Value::String(text)),
            Kind::Days => text.parse::<i64>().map(Value::from).map_err(|_| "must be a whole number of days"),
            Kind::Percent | Kind::Share => match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Value::from(v)),
                _ => Err("must be a number"),
            },
        };
        match value {
            Ok(v) => {
                overrides.insert(key.to_owned(), v);
            }
            Err(e) => state.errors.push((key, e.to_owned())),
        }
    }
    if let Some((unknown, _)) =
        pairs.iter().find(|(k, _)| k != CSRF_FIELD && !FIELDS.iter().any(|f| f.0 == k))
    {
        state.general = Some(format!("unknown setting `{unknown}`"));
    }
    let overrides = Value::Object(overrides);
    if state.errors.is_empty() && state.general.is_none() {
        // The API's check: ranges and the tag's name.
        match RuleSettings::from_overrides(Some(&overrides)) {
            Ok(_) => return Ok(overrides),
            Err(e) => {
                let message = e.to_string();
                match FIELDS.iter().find(|f| message.contains(f.0)) {
                    Some(f) => state.errors.push((f.0, message)),
                    None => state.general = Some(message),
                }
            }
        }
    }
    Err(state)
}

fn default_of(defaults: &Value, key: &str) -> String {
    match defaults.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

fn form(viewer: &Viewer, state: &FormState, saved: bool) -> Markup {
    let defaults = serde_json::to_value(RuleSettings::default()).unwrap_or(Value::Null);
    html! {
        h1 { "Settings" }
        p {
            "The rule engine's thresholds and the cost-center tag for this tenant. A blank field uses the default; "
            "changes apply from the next rule run and are recorded in the audit log. The same settings are "
            code { "GET/PUT /api/v1/settings/rules" } "."
        }
        @if saved { div.notice role="status" data-testid="saved" { "Saved. The rules use these settings from their next run." } }
        @if !state.errors.is_empty() || state.general.is_some() {
            div.notice.error role="alert" data-testid="form-errors" {
                p { "Nothing was saved:" }
                ul {
                    @if let Some(g) = &state.general { li { (g) } }
                    @for (key, e) in &state.errors { li { a href={"#f-" (key)} { (e) } } }
                }
            }
        }
        form.settings method="post" action="/settings" {
            input type="hidden" name=(CSRF_FIELD) value=(viewer.session.csrf);
            @for (key, label, kind) in FIELDS {
                @let error = state.error(key);
                div.field {
                    label for={"f-" (key)} { (label) }
                    @match kind {
                        Kind::Text => {
                            input #{"f-" (key)} type="text" name=(key) value=(state.value(key)) maxlength="128"
                                placeholder=(default_of(&defaults, key)) aria-invalid=[error.map(|_| "true")]
                                aria-describedby={"h-" (key)};
                        }
                        _ => {
                            input #{"f-" (key)} type="text" inputmode="decimal" name=(key) value=(state.value(key))
                                placeholder=(default_of(&defaults, key)) aria-invalid=[error.map(|_| "true")]
                                aria-describedby={"h-" (key)};
                        }
                    }
                    span.help #{"h-" (key)} {
                        code { (key) } " · default " (default_of(&defaults, key))
                        @if let Some(e) = error { " · " span.error-text data-testid={"error-" (key)} { (e) } }
                    }
                }
            }
            div { button type="submit" data-action="save-settings" { "Save settings" } }
        }
    }
}

async fn render(
    viewer: &Viewer,
    status: StatusCode,
    state: &FormState,
    saved: bool,
) -> Result<Response, WebError> {
    let name = super::tenant_name(viewer).await?;
    let mut response = page(viewer, &name, Nav::Settings, "Settings", form(viewer, state, saved));
    *response.status_mut() = status;
    Ok(response)
}

/// `GET /settings` (Admin; others get 403).
pub async fn page_view(
    viewer: Viewer,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Result<Response, WebError> {
    viewer.tenant.require(ROLE_ADMIN)?;
    let overrides = viewer.tenant.store.rule_settings(&viewer.tenant.scope).await?;
    let state = FormState::from_overrides(overrides.as_ref());
    let saved = raw.as_deref() == Some("saved=1");
    render(&viewer, StatusCode::OK, &state, saved).await
}

/// `POST /settings` (Admin, CSRF token): validates as the API does, stores through the audited
/// `put_rule_settings`, back to the page; invalid input answers 422 with the form and its errors.
pub async fn save(viewer: Viewer, headers: HeaderMap, body: axum::body::Bytes) -> Result<Response, WebError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let token = pairs.iter().find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v.as_str());
    check_csrf(&viewer.session, &headers, token)?;
    viewer.tenant.require(ROLE_ADMIN)?;
    match parse(&pairs) {
        Ok(mut overrides) => {
            let t = &viewer.tenant;
            // The form has no remediation fields: the tenant's remediation settings (set through
            // the API) are kept as they are.
            let stored = t.store.rule_settings(&t.scope).await?;
            if let (Some(object), Some(remediation)) =
                (overrides.as_object_mut(), stored.as_ref().and_then(|s| s.get(REMEDIATION)))
            {
                object.insert(REMEDIATION.to_owned(), remediation.clone());
            }
            let by = Actor::named(t.caller.actor());
            t.store.put_rule_settings(&t.scope, &overrides, &by).await?;
            Ok((StatusCode::SEE_OTHER, [(header::LOCATION, "/settings?saved=1")]).into_response())
        }
        Err(state) => render(&viewer, StatusCode::UNPROCESSABLE_ENTITY, &state, false).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn blank_fields_are_defaults_and_bad_values_name_their_field() {
        let ok = parse(&pairs(&[
            ("_csrf", "t"),
            ("cost_center_tag", " CostCentre "),
            ("vm_cpu_p95_max", "15"),
            ("stale_snapshot_days", ""),
        ]))
        .unwrap();
        assert_eq!(ok, serde_json::json!({"cost_center_tag": "CostCentre", "vm_cpu_p95_max": 15.0}));
        let bad = parse(&pairs(&[("vm_cpu_p95_max", "150"), ("stale_snapshot_days", "x")])).unwrap_err();
        assert_eq!(bad.error("stale_snapshot_days"), Some("must be a whole number of days"));
        assert_eq!(bad.value("vm_cpu_p95_max"), "150", "the submitted text is kept");
        let range = parse(&pairs(&[("vm_cpu_p95_max", "150")])).unwrap_err();
        assert!(range.error("vm_cpu_p95_max").is_some_and(|e| e.contains("percentage")), "{range:?}");
        assert!(parse(&pairs(&[("bogus", "1")])).unwrap_err().general.is_some());
        let keys: Vec<&str> = FIELDS.iter().map(|f| f.0).collect();
        let defaults = serde_json::to_value(RuleSettings::default()).unwrap();
        let settings = defaults.as_object().unwrap().keys().filter(|k| *k != REMEDIATION).count();
        assert_eq!(settings, keys.len(), "every setting but remediation has a field");
        assert!(keys.iter().all(|k| defaults.get(k).is_some()));
    }
}
