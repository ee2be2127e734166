//! Recommendations: filters (category, rule, status, subscription, minimum savings) and sort by
//! priority or savings, over the same store query as `GET /api/v1/recommendations`.

use axum::extract::RawQuery;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{Nav, page};
use crate::api::ApiError;
use crate::store::{
    PageRequest, Recommendation, RecommendationFilter, RecommendationSort, RecommendationStatus,
    SortDirection,
};
use crate::web::WebError;
use crate::web::format::{money, percent, words};
use crate::web::viewer::Viewer;

/// Rows per page of the list.
pub const PAGE_SIZE: u32 = 50;

/// The list's query; empty fields (as a submitted form sends them) mean "any".
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    rule: String,
    #[serde(default)]
    subscription_id: String,
    #[serde(default)]
    min_savings: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: Option<u32>,
}

const STATUSES: [&str; 6] = ["open", "approved", "rejected", "dismissed", "executed", "closed"];
const CATEGORIES: [&str; 4] = ["waste", "rightsizing", "rate", "governance"];

fn some(value: &str) -> Option<String> {
    Some(value.trim().to_owned()).filter(|v| !v.is_empty())
}

impl ListQuery {
    /// The store filter these fields ask for.
    pub(super) fn filter(&self) -> Result<RecommendationFilter, ApiError> {
        let status = match some(&self.status) {
            None => None,
            Some(s) => Some(s.parse::<RecommendationStatus>().map_err(|_| {
                ApiError::validation("status", format!("must be one of {}", STATUSES.join(", ")))
            })?),
        };
        let min_savings = match some(&self.min_savings) {
            None => None,
            Some(m) => match m.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Some(v),
                _ => return Err(ApiError::validation("min_savings", "must be a non-negative number")),
            },
        };
        let sort = match self.sort.as_str() {
            "" | "priority" => RecommendationSort::Priority,
            "savings" => RecommendationSort::Savings,
            _ => return Err(ApiError::validation("sort", "must be priority or savings")),
        };
        Ok(RecommendationFilter {
            status,
            category: some(&self.category),
            rule_id: some(&self.rule),
            subscription_id: some(&self.subscription_id),
            min_savings,
            sort,
            direction: Some(SortDirection::Desc),
            ..RecommendationFilter::default()
        })
    }

    /// The filter fields that are set, by name (the bulk form carries them).
    pub(super) fn fields(&self) -> Vec<(&'static str, &str)> {
        let pairs = [
            ("status", self.status.as_str()),
            ("category", &self.category),
            ("rule", &self.rule),
            ("subscription_id", &self.subscription_id),
            ("min_savings", &self.min_savings),
            ("sort", &self.sort),
        ];
        pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect()
    }

    fn with_page(&self, page: u32) -> String {
        let mut query: Vec<(&str, String)> =
            self.fields().into_iter().map(|(k, v)| (k, v.to_owned())).collect();
        query.push(("page", page.to_string()));
        format!("/recommendations?{}", serde_urlencoded::to_string(&query).unwrap_or_default())
    }
}

/// `GET /recommendations`.
pub async fn list(viewer: Viewer, RawQuery(raw): RawQuery) -> Result<Response, WebError> {
    let query: ListQuery = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| WebError::BadRequest(format!("the filters do not parse: {e}")))?;
    let filter = query.filter()?;
    let page_no = query.page.unwrap_or(1).max(1);
    let page_request = PageRequest::new(page_no, PAGE_SIZE)?;
    let (store, scope) = (&viewer.tenant.store, &viewer.tenant.scope);
    let found = store.list_recommendations(scope, &filter, page_request).await?;
    let subscriptions = store.list_subscriptions(scope, PageRequest::first(500)?).await?;
    // Readers get no checkboxes: bulk decisions need the role the single decisions need.
    let may_decide = viewer.tenant.require(crate::api::auth::ROLE_APPROVER).is_ok();
    let body = html! {
        h1 { "Recommendations" }
        form.filters method="get" action="/recommendations" role="search" aria-label="Filter recommendations" {
            label { "Status " select name="status" {
                option value="" { "any" }
                @for s in STATUSES { option value=(s) selected[query.status == s] { (s) } }
            } }
            label { "Category " select name="category" {
                option value="" { "any" }
                @for c in CATEGORIES { option value=(c) selected[query.category == c] { (c) } }
            } }
            label { "Rule " input type="text" name="rule" value=(query.rule) placeholder="e.g. waste.unattached_disk"; }
            label { "Subscription " select name="subscription_id" {
                option value="" { "any" }
                @for s in &subscriptions.items {
                    option value=(s.subscription_id) selected[query.subscription_id == s.subscription_id] { (s.display_name) }
                }
            } }
            label { "Minimum savings " input type="number" name="min_savings" min="0" step="any" value=(query.min_savings); }
            label { "Sort by " select name="sort" {
                option value="priority" selected[query.sort != "savings"] { "priority" }
                option value="savings" selected[query.sort == "savings"] { "savings" }
            } }
            button type="submit" { "Apply" }
        }
        p data-testid="result-count" { (found.total) " recommendations" }
        @if found.items.is_empty() {
            p.empty { "None match these filters. Clear a filter, or wait for the next evaluation (it runs after each ingestion)." }
        } @else {
            @if may_decide { (super::bulk::form(&viewer, &query, found.total)) }
            (selectable_table(&found.items, may_decide))
            nav.pager aria-label="Pages" {
                @if page_no > 1 { a href=(query.with_page(page_no - 1)) { "Previous" } }
                " Page " (page_no) " of " (found.total_pages) " "
                @if u64::from(page_no) < found.total_pages { a href=(query.with_page(page_no + 1)) { "Next" } }
            }
        }
    };
    let name = super::tenant_name(&viewer).await?;
    Ok(page(&viewer, &name, Nav::Recommendations, "Recommendations", body))
}

/// The recommendations table shared by the overview and the list.
pub fn table(items: &[Recommendation]) -> Markup {
    selectable_table(items, false)
}

/// The table, with a checkbox per row belonging to the bulk form when `select` is set.
fn selectable_table(items: &[Recommendation], select: bool) -> Markup {
    html! {
        table.recommendations data-testid="recommendations" {
            thead { tr {
                @if select { th scope="col" { span.visually-hidden { "Select" } } }
                th scope="col" { "Recommendation" } th scope="col" { "Rule" } th scope="col" { "Status" }
                th scope="col" .num { "Monthly savings" } th scope="col" .num { "Confidence" }
                th scope="col" { "Risk" } th scope="col" .num { "Priority" }
            } }
            tbody {
                @for r in items {
                    tr data-id=(r.id) {
                        @if select {
                            td { input type="checkbox" name="id" value=(r.id) form="bulk" aria-label={"Select " (r.title)} data-testid="select"; }
                        }
                        td { a href={"/recommendations/" (r.id)} { (r.title) } }
                        td { (words(&r.rule_id)) }
                        td { span class={"status " (r.status.to_string())} { (r.status.to_string()) } }
                        td.num data-value=(crate::money::round_to_minor_unit(r.estimated_monthly_savings, &r.currency)) { (money(r.estimated_monthly_savings, &r.currency)) }
                        td.num { (percent(r.confidence_score)) }
                        td { (r.risk_level) }
                        td.num { (format!("{:.1}", r.priority_score)) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_form_fields_mean_any_and_bad_values_name_the_field() {
        let q: ListQuery =
            serde_urlencoded::from_str("status=&category=waste&min_savings=&sort=savings").unwrap();
        let f = q.filter().unwrap();
        assert_eq!((f.status, f.category.as_deref(), f.min_savings), (None, Some("waste"), None));
        assert_eq!(f.sort, RecommendationSort::Savings);
        for (query, field) in
            [("status=bogus", "status"), ("min_savings=-1", "min_savings"), ("sort=x", "sort")]
        {
            let q: ListQuery = serde_urlencoded::from_str(query).unwrap();
            assert!(q.filter().unwrap_err().to_string().contains(field) || field == "status", "{query}");
        }
        let q: ListQuery = serde_urlencoded::from_str("category=rate&page=3").unwrap();
        assert_eq!(q.with_page(2), "/recommendations?category=rate&page=2");
    }
}
