//! One recommendation: evidence, savings basis, confidence, risk, the resource's Azure Portal
//! link and the audit history, with the decisions the viewer's roles allow. Decisions go
//! through the API's own role table and the store's audited lifecycle transition.

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{Nav, page};
use crate::api::ApiError;
use crate::api::routes::recommendations::{check_reason, decision};
use crate::store::{AuditFilter, Changer, PageRequest, Recommendation};
use crate::web::WebError;
use crate::web::format::{money, percent, when, words};
use crate::web::viewer::{CSRF_FIELD, Viewer, check_csrf};

/// Every decision in the order the buttons appear.
pub const ACTIONS: [&str; 5] = ["approve", "reject", "dismiss", "reopen", "execute"];

/// Audit records shown on the page (newest first).
const AUDIT_ROWS: u32 = 100;

/// The decisions `viewer` may take on `r` now: the role allows it and the lifecycle permits it.
pub fn allowed_actions(viewer: &Viewer, r: &Recommendation) -> Vec<&'static str> {
    ACTIONS
        .into_iter()
        .filter(|action| {
            decision(action).is_some_and(|(to, role)| {
                viewer.tenant.require(role).is_ok() && r.status.can_transition(to, Changer::Person)
            })
        })
        .collect()
}

/// The resource in the Azure Portal.
pub fn portal_link(resource_id: &str) -> String {
    format!("https://portal.azure.com/#resource{resource_id}")
}

/// `GET /recommendations/{id}`: another tenant's id answers 404, as in the API.
pub async fn detail(viewer: Viewer, Path(id): Path<String>) -> Result<Response, WebError> {
    let (store, scope) = (&viewer.tenant.store, &viewer.tenant.scope);
    let r = store.get_recommendation(scope, &id).await?;
    let audit_filter = AuditFilter {
        target_type: Some("recommendation".into()),
        target_id: Some(r.id.clone()),
        ..AuditFilter::default()
    };
    let audit = store.list_audit(scope, &audit_filter, PageRequest::first(AUDIT_ROWS)?).await?;
    let actions = allowed_actions(&viewer, &r);
    let evidence = serde_json::to_string_pretty(&r.evidence.0).unwrap_or_default();
    let body = html! {
        p { a href="/recommendations" { "← Recommendations" } }
        h1 { (r.title) }
        dl.facts {
            dt { "Status" } dd { span data-testid="status" class={"status " (r.status.to_string())} { (r.status.to_string()) } }
            dt { "Monthly savings" } dd data-testid="savings" { (money(r.estimated_monthly_savings, &r.currency)) }
            dt { "Savings basis" } dd { (words(&r.savings_basis)) }
            dt { "Confidence" } dd { (percent(r.confidence_score)) }
            dt { "Risk" } dd { (r.risk_level) }
            dt { "Effort" } dd { (r.effort_level) }
            dt { "Priority" } dd { (format!("{:.1}", r.priority_score)) }
            dt { "Rule" } dd { (r.rule_id) " (" (r.source) ")" }
            dt { "Category" } dd { (r.category) }
            dt { "Subscription" } dd.mono { (r.subscription_id) }
            dt { "Resource" } dd {
                span.mono { (r.resource_id) } " "
                a href=(portal_link(&r.resource_id)) target="_blank" rel="noopener noreferrer" { "Open in the Azure Portal" }
            }
            dt { "Detected" } dd { "first " (when(r.first_detected_at)) ", last " (when(r.last_detected_at)) }
            @if let Some(d) = &r.duplicate_of { dt { "Agrees with" } dd { (d) " (not counted twice)" } }
        }
        (super::realised::section(r.realised.as_ref()))
        (action_forms(&viewer, &r, &actions))
        section aria-labelledby="evidence-h" {
            h2 #evidence-h { "Evidence" }
            pre.evidence tabindex="0" { (evidence) }
        }
        section aria-labelledby="audit-h" {
            h2 #audit-h { "History" }
            @if audit.items.is_empty() {
                p.empty { "No decisions yet." }
            } @else {
                table data-testid="audit" {
                    thead { tr { th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "What" } th scope="col" { "Details" } } }
                    tbody {
                        @for a in &audit.items {
                            tr {
                                td { (when(a.occurred_at)) }
                                td.mono { (a.actor) }
                                td data-testid="audit-action" { (a.action) }
                                td { (a.metadata.0.get("reason").and_then(|v| v.as_str()).unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        }
    };
    let name = super::tenant_name(&viewer).await?;
    Ok(page(&viewer, &name, Nav::Recommendations, &r.title, body))
}

fn action_forms(viewer: &Viewer, r: &Recommendation, actions: &[&str]) -> Markup {
    html! {
        @if !actions.is_empty() {
            section.actions aria-labelledby="decide-h" {
                h2 #decide-h { "Decide" }
                @for action in actions {
                    form.decision method="post" action={"/recommendations/" (r.id) "/" (action)} {
                        input type="hidden" name=(CSRF_FIELD) value=(viewer.session.csrf);
                        @if matches!(*action, "reject" | "dismiss") {
                            label { "Reason " input type="text" name="reason" required maxlength="2000" data-testid={"reason-" (action)}; }
                        }
                        button type="submit" data-action=(action) { (action_label(action)) }
                    }
                }
            }
        }
    }
}

fn action_label(action: &str) -> &'static str {
    match action {
        "approve" => "Approve",
        "reject" => "Reject",
        "dismiss" => "Dismiss",
        "reopen" => "Reopen",
        _ => "Mark executed",
    }
}

/// Body of a decision form.
#[derive(Debug, Default, Deserialize)]
pub struct DecisionForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    reason: Option<String>,
}

/// `POST /recommendations/{id}/{action}`: anti-forgery token, role and lifecycle checked, then
/// the store's audited transition; back to the detail page.
pub async fn decide(
    viewer: Viewer,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    form: Result<axum::Form<DecisionForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, WebError> {
    let form = form.map(|f| f.0).unwrap_or_default();
    check_csrf(&viewer.session, &headers, form.csrf.as_deref())?;
    let (to, role) = decision(&action).ok_or_else(|| ApiError::NotFound("no such decision".into()))?;
    viewer.tenant.require(role)?;
    let reason = check_reason(to, form.reason)?;
    let t = &viewer.tenant;
    if action == "execute" {
        crate::api::routes::remediation::refuse_by_hand_when_remediable(t, &id).await?;
    }
    t.store.transition_recommendation(&t.scope, &id, to, &t.caller.actor(), reason.as_deref()).await?;
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, format!("/recommendations/{id}"))]).into_response())
}
