//! Resources: the inventory with filters (subscription, resource group, type, location, tag key
//! and value, name search) and tags, paged, with each resource's 30-day cost per currency and its
//! recommendations; and one resource's page (tags, cost, recommendations, Azure Portal link).

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery};
use axum::response::Response;
use chrono::{Days, NaiveDate};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{Nav, page};
use super::recommendation::portal_link;
use crate::api::ApiError;
use crate::store::{InventoryFilter, PageRequest, ResourceFilter, ResourceSummary, Subscription};
use crate::web::WebError;
use crate::web::format::{money, when};
use crate::web::viewer::Viewer;

/// Rows per page unless the query asks for fewer or more.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Most rows one page shows (each row costs two grouped lookups).
pub const MAX_PAGE_SIZE: u32 = 100;
/// Days of cost shown per resource, ending today.
pub const COST_DAYS: u64 = 30;
/// Choices offered per filter (types, locations, resource groups).
pub const MAX_FACETS: u32 = 200;
/// Recommendations listed on a resource's page.
pub const RECOMMENDATIONS_SHOWN: u32 = 100;

/// Query of `GET /resources`; empty fields (as a submitted form sends them) mean "any".
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryQuery {
    #[serde(default)]
    subscription_id: String,
    #[serde(default)]
    resource_group: String,
    #[serde(default, rename = "type")]
    resource_type: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    tag_value: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    page_size: Option<u32>,
}

fn some(value: &str) -> Option<String> {
    Some(value.trim().to_owned()).filter(|v| !v.is_empty())
}

impl InventoryQuery {
    fn filter(&self) -> Result<InventoryFilter, ApiError> {
        let tag = match (some(&self.tag), some(&self.tag_value)) {
            (None, Some(_)) => return Err(ApiError::validation("tag_value", "needs a tag key (`tag`)")),
            (None, None) => None,
            (Some(key), value) => Some((key, value)),
        };
        Ok(InventoryFilter {
            resources: ResourceFilter {
                subscription_id: some(&self.subscription_id),
                resource_group: some(&self.resource_group),
                resource_type: some(&self.resource_type),
                location: some(&self.location),
                ..ResourceFilter::default()
            },
            name_contains: some(&self.q),
            tag,
        })
    }

    fn page_request(&self) -> Result<PageRequest, ApiError> {
        let size = self.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&size) {
            return Err(ApiError::validation("page_size", format!("must be between 1 and {MAX_PAGE_SIZE}")));
        }
        Ok(PageRequest::new(self.page.unwrap_or(1).max(1), size)?)
    }

    fn with_page(&self, page: u32) -> String {
        let size = self.page_size.map(|s| s.to_string()).unwrap_or_default();
        let pairs = [
            ("subscription_id", self.subscription_id.as_str()),
            ("resource_group", &self.resource_group),
            ("type", &self.resource_type),
            ("location", &self.location),
            ("tag", &self.tag),
            ("tag_value", &self.tag_value),
            ("q", &self.q),
            ("page_size", &size),
        ];
        let mut query: Vec<(&str, String)> =
            pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (*k, (*v).to_owned())).collect();
        query.push(("page", page.to_string()));
        format!("/resources?{}", serde_urlencoded::to_string(&query).unwrap_or_default())
    }
}

/// The path of a resource's page: its ARM id under `/resources`.
pub fn resource_href(resource_id: &str) -> String {
    format!("/resources{resource_id}")
}

/// The window of the per-resource cost: the last [`COST_DAYS`] days, today included.
pub fn cost_window(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    (today.checked_sub_days(Days::new(COST_DAYS - 1)).unwrap_or(today), today)
}

/// Amounts per currency, each in its own currency (never added together).
pub fn amounts(costs: &[(String, f64)]) -> Markup {
    html! {
        @if costs.is_empty() { span.empty { "no cost" } }
        @for (i, (currency, amount)) in costs.iter().enumerate() {
            @if i > 0 { br; }
            span data-currency=(currency) data-value=(crate::money::round_to_minor_unit(*amount, currency)) { (money(*amount, currency)) }
        }
    }
}

fn tags_list(tags: &BTreeMap<String, String>) -> Markup {
    html! {
        @if tags.is_empty() { span.empty { "no tags" } }
        @else {
            ul.tags {
                @for (k, v) in tags { li { span.tag-key { (k) } "=" (v) } }
            }
        }
    }
}

fn subscription_name<'a>(subscriptions: &'a [Subscription], id: &'a str) -> &'a str {
    subscriptions.iter().find(|s| s.subscription_id == id).map_or(id, |s| s.display_name.as_str())
}

/// `GET /resources`.
pub async fn list(viewer: Viewer, RawQuery(raw): RawQuery) -> Result<Response, WebError> {
    let query: InventoryQuery = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| WebError::BadRequest(format!("the filters do not parse: {e}")))?;
    let filter = query.filter()?;
    let page_request = query.page_request()?;
    let (store, scope) = (&viewer.tenant.store, &viewer.tenant.scope);
    let (found, subscriptions, facets) = tokio::try_join!(
        store.list_inventory(scope, &filter, page_request),
        store.list_subscriptions(scope, PageRequest::first(500)?),
        store.inventory_facets(scope, MAX_FACETS),
    )?;
    let ids: Vec<String> = found.items.iter().map(|r| r.resource_id.clone()).collect();
    let (from, to) = cost_window(chrono::Utc::now().date_naive());
    let (costs, counts) = tokio::try_join!(
        store.costs_of_resources(scope, &ids, from, to),
        store.recommendation_counts(scope, &ids)
    )?;
    let mut cost_of: BTreeMap<&str, Vec<(String, f64)>> = BTreeMap::new();
    for c in &costs {
        cost_of.entry(c.resource_id.as_str()).or_default().push((c.currency.clone(), c.cost));
    }
    let count_of: BTreeMap<&str, (i64, i64)> =
        counts.iter().map(|c| (c.resource_id.as_str(), (c.open, c.total))).collect();
    let filtered =
        raw.as_deref().is_some_and(|r| r.split('&').any(|p| !p.starts_with("page") && !p.ends_with('=')));
    let page_no = page_request.page();
    let body = html! {
        h1 { "Resources" }
        form.filters method="get" action="/resources" role="search" aria-label="Filter resources" {
            label { "Name contains " input type="search" name="q" value=(query.q) maxlength="200"; }
            label { "Subscription " select name="subscription_id" {
                option value="" { "any" }
                @for s in &subscriptions.items {
                    option value=(s.subscription_id) selected[query.subscription_id == s.subscription_id] { (s.display_name) }
                }
            } }
            label { "Resource group " input type="text" name="resource_group" value=(query.resource_group) list="resource-groups"; }
            datalist #resource-groups { @for g in &facets.resource_groups { option value=(g) {} } }
            label { "Type " select name="type" {
                option value="" { "any" }
                @for t in &facets.types { option value=(t) selected[query.resource_type.eq_ignore_ascii_case(t)] { (t) } }
            } }
            label { "Location " select name="location" {
                option value="" { "any" }
                @for l in &facets.locations { option value=(l) selected[query.location.eq_ignore_ascii_case(l)] { (l) } }
            } }
            label { "Tag key " input type="text" name="tag" value=(query.tag) placeholder="e.g. cost-center"; }
            label { "Tag value " input type="text" name="tag_value" value=(query.tag_value) placeholder="any"; }
            button type="submit" { "Apply" }
            @if filtered { a href="/resources" { "Clear" } }
        }
        p data-testid="result-count" {
            (found.total) " resources · cost over the last " (COST_DAYS) " days (" (from) " to " (to) "), per billing currency"
        }
        @if found.items.is_empty() {
            @if subscriptions.items.is_empty() {
                div.notice role="status" data-testid="empty-subscriptions" {
                    "No subscriptions yet. An Admin registers them with "
                    code { "POST /api/v1/subscriptions" } " or " code { "azcops subscription discover" } "."
                }
            } @else if filtered {
                p.empty data-testid="empty-resources" { "No resource matches these filters. Clear a filter or search for part of a name." }
            } @else {
                div.notice role="status" data-testid="empty-resources" {
                    "No resources yet: the inventory is read by ingestion (nightly; an Admin can start it with "
                    code { "POST /api/v1/ingestion/trigger" } ")."
                }
            }
        } @else {
            (table(&found.items, &subscriptions.items, &cost_of, &count_of))
            nav.pager aria-label="Pages" {
                @if page_no > 1 { a href=(query.with_page(page_no - 1)) { "Previous" } }
                " Page " (page_no) " of " (found.total_pages) " "
                @if u64::from(page_no) < found.total_pages { a href=(query.with_page(page_no + 1)) { "Next" } }
            }
        }
    };
    let name = super::tenant_name(&viewer).await?;
    Ok(page(&viewer, &name, Nav::Resources, "Resources", body))
}

fn table(
    items: &[ResourceSummary],
    subscriptions: &[Subscription],
    cost_of: &BTreeMap<&str, Vec<(String, f64)>>,
    count_of: &BTreeMap<&str, (i64, i64)>,
) -> Markup {
    html! {
        div.scroll {
            table data-testid="resources" {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Type" } th scope="col" { "Resource group" }
                    th scope="col" { "Location" } th scope="col" { "Subscription" } th scope="col" { "Tags" }
                    th scope="col" .num { "Cost, 30 days" } th scope="col" .num { "Recommendations" }
                } }
                tbody {
                    @for r in items {
                        tr data-id=(r.resource_id) {
                            td { a href=(resource_href(&r.resource_id)) { (r.name) } }
                            td { (r.resource_type) }
                            td { (r.resource_group) }
                            td { (r.location) }
                            td { (subscription_name(subscriptions, &r.subscription_id)) }
                            td { (tags_list(&r.tags.0)) }
                            td.num data-testid="resource-cost" {
                                (amounts(cost_of.get(r.resource_id.as_str()).map(Vec::as_slice).unwrap_or(&[])))
                            }
                            td.num data-testid="resource-recommendations" {
                                @match count_of.get(r.resource_id.as_str()) {
                                    Some((open, total)) => {
                                        a href={(resource_href(&r.resource_id)) "#recommendations-h"} data-open=(open) {
                                            (open) " open"
                                            @if total > open { " of " (total) }
                                        }
                                    }
                                    None => { span.empty { "none" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /resources/{*id}`: one resource; another tenant's resource answers 404, as in the API.
pub async fn detail(viewer: Viewer, Path(rest): Path<String>) -> Result<Response, WebError> {
    let id = format!("/{}", rest.trim_start_matches('/'));
    let (store, scope) = (&viewer.tenant.store, &viewer.tenant.scope);
    let r = store.get_resource(scope, &id).await?;
    let (from, to) = cost_window(chrono::Utc::now().date_naive());
    let ids = [r.resource_id.clone()];
    let (costs, recommendations, subscriptions) = tokio::try_join!(
        store.costs_of_resources(scope, &ids, from, to),
        store.recommendations_of_resource(scope, &r.resource_id, RECOMMENDATIONS_SHOWN),
        store.list_subscriptions(scope, PageRequest::first(500)?),
    )?;
    let actual: Vec<(String, f64)> = costs.iter().map(|c| (c.currency.clone(), c.cost)).collect();
    let amortized: Vec<(String, f64)> =
        costs.iter().map(|c| (c.currency.clone(), c.amortized_cost)).collect();
    let sku = r.sku.as_ref().map(|s| s.0.to_string());
    let body = html! {
        p { a href="/resources" { "← Resources" } }
        h1 { (r.name) }
        dl.facts {
            dt { "Type" } dd { (r.resource_type) @if let Some(k) = &r.kind { " (" (k) ")" } }
            dt { "Resource group" } dd { (r.resource_group) }
            dt { "Location" } dd { (r.location) }
            dt { "Subscription" } dd { (subscription_name(&subscriptions.items, &r.subscription_id)) " " span.mono { (r.subscription_id) } }
            @if let Some(sku) = &sku { dt { "SKU" } dd.mono { (sku) } }
            @if let Some(m) = &r.managed_by { dt { "Managed by" } dd.mono { (m) } }
            dt { "Cost, last " (COST_DAYS) " days" } dd data-testid="resource-cost" { (amounts(&actual)) " actual" }
            dt { "Amortized" } dd { (amounts(&amortized)) }
            dt { "Resource id" } dd {
                span.mono { (r.resource_id) } " "
                a href=(portal_link(&r.resource_id)) target="_blank" rel="noopener noreferrer" { "Open in the Azure Portal" }
            }
            dt { "Seen" } dd { "first " (when(r.first_seen)) ", last " (when(r.last_seen)) }
        }
        section aria-labelledby="tags-h" {
            h2 #tags-h { "Tags" }
            @if r.tags.0.is_empty() {
                p.empty data-testid="no-tags" { "No tags. Tag it in the Azure Portal; the next ingestion picks the tags up." }
            } @else {
                table data-testid="tags" {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Value" } } }
                    tbody { @for (k, v) in &r.tags.0 { tr { td { (k) } td { (v) } } } }
                }
            }
        }
        section aria-labelledby="recommendations-h" {
            h2 #recommendations-h { "Recommendations" }
            @if recommendations.is_empty() {
                p.empty data-testid="no-recommendations" { "No recommendation for this resource. The rules run after each ingestion." }
            } @else {
                (super::recommendations::table(&recommendations))
            }
        }
    };
    let name = super::tenant_name(&viewer).await?;
    Ok(page(&viewer, &name, Nav::Resources, &r.name, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_need_a_key_for_a_value_and_pages_are_bounded() {
        let q: InventoryQuery =
            serde_urlencoded::from_str("tag=Cost-Center&tag_value=&q=disk&type=").unwrap();
        let f = q.filter().unwrap();
        assert_eq!(f.tag, Some(("Cost-Center".to_owned(), None)));
        assert_eq!((f.name_contains.as_deref(), f.resources.resource_type), (Some("disk"), None));
        let q: InventoryQuery = serde_urlencoded::from_str("tag_value=x").unwrap();
        assert!(q.filter().unwrap_err().to_string().contains("tag_value"));
        let q: InventoryQuery = serde_urlencoded::from_str("page_size=101").unwrap();
        assert!(q.page_request().is_err());
        let q: InventoryQuery = serde_urlencoded::from_str("page_size=100&location=westeurope").unwrap();
        assert_eq!(q.page_request().unwrap().page_size(), 100);
        assert_eq!(q.with_page(2), "/resources?location=westeurope&page_size=100&page=2");
        assert_eq!(resource_href("/subscriptions/s/x"), "/resources/subscriptions/s/x");
    }
}
