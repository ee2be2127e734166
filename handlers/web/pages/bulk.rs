//! Bulk decisions on the Recommendations list: Approvers approve or dismiss the rows they ticked,
//! or every recommendation matching the list's filter, with one POST. Each item goes through the
//! single-item path — the API's role table and the store's audited
//! `transition_recommendation`, one transaction per item (a failure half-way keeps the items
//! already changed, each with its audit row) — and the answer says how many changed and how many
//! were skipped because their status no longer allows the decision.

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{Markup, html};

use super::layout::{Nav, page};
use super::recommendations::ListQuery;
use crate::api::ApiError;
use crate::api::routes::recommendations::{check_reason, decision};
use crate::store::{Changer, PageRequest, StoreError};
use crate::web::WebError;
use crate::web::viewer::{CSRF_FIELD, Viewer, check_csrf};

/// Most recommendations one bulk decision may cover (ticked rows, or all matching the filter).
pub const MAX_BULK: u32 = 500;

/// The decisions offered in bulk.
pub const BULK_ACTIONS: [&str; 2] = ["approve", "dismiss"];

/// The filter fields the bulk form carries, as the list's query names them.
const FILTER_FIELDS: [&str; 6] = ["status", "category", "rule", "subscription_id", "min_savings", "sort"];

/// A parsed bulk form.
#[derive(Debug, Default)]
struct BulkForm {
    csrf: Option<String>,
    action: String,
    reason: Option<String>,
    ids: Vec<String>,
    all: bool,
    filter: Vec<(String, String)>,
}

impl BulkForm {
    /// Repeated `id` fields need the raw pairs (serde_urlencoded keeps one value per key).
    fn parse(body: &[u8]) -> Self {
        let mut form = Self::default();
        for (key, value) in url::form_urlencoded::parse(body) {
            match key.as_ref() {
                CSRF_FIELD => form.csrf = Some(value.into_owned()),
                "action" => form.action = value.into_owned(),
                "reason" => form.reason = Some(value.into_owned()),
                "id" => form.ids.push(value.trim().to_owned()),
                "all" => form.all = value == "1",
                k if FILTER_FIELDS.contains(&k) => form.filter.push((k.to_owned(), value.into_owned())),
                _ => {}
            }
        }
        form.ids.retain(|id| !id.is_empty());
        form.ids.sort_unstable();
        form.ids.dedup();
        form
    }

    /// The list's query these filter fields make (to link back and to select all).
    fn query(&self) -> Result<ListQuery, WebError> {
        let encoded = serde_urlencoded::to_string(&self.filter).unwrap_or_default();
        serde_urlencoded::from_str(&encoded)
            .map_err(|e| WebError::BadRequest(format!("the filters do not parse: {e}")))
    }
}

/// What a bulk decision did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BulkOutcome {
    /// Recommendations whose status changed (each with its audit row).
    pub changed: Vec<String>,
    /// Recommendations whose status does not allow the decision (any more).
    pub skipped: Vec<String>,
    /// Ids that name no recommendation of the tenant.
    pub not_found: Vec<String>,
}

/// `POST /recommendations/bulk`: anti-forgery token, the Approver role (from the API's table),
/// the bound and the reason checked before anything changes.
pub async fn decide(viewer: Viewer, headers: HeaderMap, body: Bytes) -> Result<Response, WebError> {
    let form = BulkForm::parse(&body);
    check_csrf(&viewer.session, &headers, form.csrf.as_deref())?;
    if !BULK_ACTIONS.contains(&form.action.as_str()) {
        return Err(ApiError::validation("action", "must be approve or dismiss").into());
    }
    let (to, role) = decision(&form.action).ok_or_else(|| ApiError::NotFound("no such decision".into()))?;
    viewer.tenant.require(role)?;
    let reason = check_reason(to, form.reason.clone())?;
    let query = form.query()?;
    let (store, scope) = (&viewer.tenant.store, &viewer.tenant.scope);
    let mut outcome = BulkOutcome::default();
    let ids = if form.all {
        let found =
            store.list_recommendations(scope, &query.filter()?, PageRequest::first(MAX_BULK)?).await?;
        if found.total > u64::from(MAX_BULK) {
            return Err(too_many(found.total));
        }
        // Rows whose status already rules the decision out are skipped without a write; the
        // store checks again under its lock for the others.
        let (possible, impossible): (Vec<_>, Vec<_>) =
            found.items.into_iter().partition(|r| r.status.can_transition(to, Changer::Person));
        outcome.skipped.extend(impossible.into_iter().map(|r| r.id));
        possible.into_iter().map(|r| r.id).collect()
    } else {
        if form.ids.is_empty() {
            return Err(ApiError::validation(
                "id",
                "tick at least one recommendation, or all matching the filter",
            )
            .into());
        }
        if form.ids.len() > MAX_BULK as usize {
            return Err(too_many(form.ids.len() as u64));
        }
        form.ids.clone()
    };
    let actor = viewer.tenant.caller.actor();
    for id in ids {
        match store.transition_recommendation(scope, &id, to, &actor, reason.as_deref()).await {
            Ok(_) => outcome.changed.push(id),
            Err(StoreError::InvalidTransition { .. }) => outcome.skipped.push(id),
            Err(StoreError::NotFound) => outcome.not_found.push(id),
            Err(other) => return Err(other.into()),
        }
    }
    let body = summary(&form.action, &outcome, &back_link(&form.filter));
    let name = super::tenant_name(&viewer).await?;
    Ok(page(&viewer, &name, Nav::Recommendations, "Bulk decision", body))
}

fn too_many(count: u64) -> WebError {
    ApiError::validation(
        "id",
        format!(
            "{count} recommendations selected; at most {MAX_BULK} can be decided at once — narrow the filter"
        ),
    )
    .into()
}

fn back_link(filter: &[(String, String)]) -> String {
    let kept: Vec<_> = filter.iter().filter(|(_, v)| !v.is_empty()).collect();
    match serde_urlencoded::to_string(&kept) {
        Ok(q) if !q.is_empty() => format!("/recommendations?{q}"),
        _ => "/recommendations".to_owned(),
    }
}

fn summary(action: &str, outcome: &BulkOutcome, back: &str) -> Markup {
    let done = if action == "approve" { "approved" } else { "dismissed" };
    html! {
        h1 { "Bulk " (action) }
        div.notice role="status" {
            p {
                span data-testid="bulk-changed" data-value=(outcome.changed.len()) { (outcome.changed.len()) }
                " " (done) "; "
                span data-testid="bulk-skipped" data-value=(outcome.skipped.len()) { (outcome.skipped.len()) }
                " skipped because their status no longer allows it"
                @if !outcome.not_found.is_empty() {
                    "; " span data-testid="bulk-not-found" data-value=(outcome.not_found.len()) { (outcome.not_found.len()) }
                    " not found"
                }
                "."
            }
        }
        @if !outcome.changed.is_empty() {
            h2 { "Changed" }
            ul data-testid="bulk-changed-ids" {
                @for id in &outcome.changed { li { a href={"/recommendations/" (id)} { (id) } } }
            }
        }
        @if !outcome.skipped.is_empty() {
            h2 { "Skipped" }
            ul {
                @for id in &outcome.skipped { li { a href={"/recommendations/" (id)} { (id) } } }
            }
        }
        p { a href=(back) { "Back to the list" } }
    }
}

/// The bulk form above the list, for viewers who may approve; the rows' checkboxes belong to it
/// through their `form` attribute.
pub fn form(viewer: &Viewer, query: &ListQuery, total: u64) -> Markup {
    html! {
        form.bulk #bulk method="post" action="/recommendations/bulk" aria-labelledby="bulk-h" {
            h2 #bulk-h { "Decide in bulk" }
            input type="hidden" name=(CSRF_FIELD) value=(viewer.session.csrf);
            @for (key, value) in query.fields() {
                input type="hidden" name=(key) value=(value);
            }
            label {
                input type="checkbox" name="all" value="1" data-testid="bulk-all";
                " All " (total) " matching this filter (at most " (MAX_BULK) "), instead of the ticked rows"
            }
            label { "Reason (to dismiss) " input type="text" name="reason" maxlength="2000" data-testid="bulk-reason"; }
            button type="submit" name="action" value="approve" data-bulk="approve" { "Approve selected" }
            " "
            button type="submit" name="action" value="dismiss" data-bulk="dismiss" { "Dismiss selected" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_keeps_every_ticked_id_once_and_the_filter() {
        let form = BulkForm::parse(
            b"_csrf=t&action=approve&id=b&id=a&id=b&id=&status=open&min_savings=&page=3&all=0",
        );
        assert_eq!(form.ids, ["a", "b"]);
        assert_eq!((form.csrf.as_deref(), form.action.as_str(), form.all), (Some("t"), "approve", false));
        assert_eq!(back_link(&form.filter), "/recommendations?status=open");
        assert!(form.query().is_ok());
        assert!(BulkForm::parse(b"all=1").all);
    }

    #[test]
    fn the_bound_is_named_in_the_error() {
        let error = too_many(501).to_string();
        assert!(error.contains("501") && error.contains("500"), "{error}");
    }
}
