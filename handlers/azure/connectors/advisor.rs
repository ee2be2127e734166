//! Advisor: Cost-category recommendations of a subscription, paged by `nextLink` (GET verbatim).
//!
//! Monthly savings: `savingsAmount`, else `annualSavingsAmount ÷ 12`, else an impact-based
//! estimate (High 500, Medium 100, Low 20) marked `savings_estimated`. Confidence from impact:
//! High 0.9, Medium 0.7, Low 0.5. `extendedProperties` values are strings even when numeric.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::azure::client::{ApiRequest, Exchange};
use crate::azure::connectors::ADVISOR_API_VERSION;
use crate::azure::paging::PageGuard;
use crate::azure::{Api, ArmClient, AzureError, CallContext};
use crate::model::AdvisorRecommendationRow;

/// Wire: one page of recommendations.
#[derive(Debug, Clone, Deserialize)]
pub struct RecommendationList {
    /// Recommendations on this page.
    #[serde(default)]
    pub value: Vec<Recommendation>,
    /// Absolute URL of the next page.
    #[serde(rename = "nextLink")]
    pub next_link: Option<String>,
}

/// Wire: one recommendation.
#[derive(Debug, Clone, Deserialize)]
pub struct Recommendation {
    /// The recommendation's ARM id.
    pub id: Option<String>,
    /// GUID name.
    pub name: Option<String>,
    /// Details.
    pub properties: Option<RecommendationProperties>,
}

/// Wire: recommendation properties (all optional; unknown fields ignored).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecommendationProperties {
    /// `Cost`, `Security`, …
    pub category: Option<String>,
    /// `High`, `Medium`, `Low`.
    pub impact: Option<String>,
    /// Resource type of the impacted resource.
    pub impacted_field: Option<String>,
    /// Usually the resource name.
    pub impacted_value: Option<String>,
    /// Last refresh.
    pub last_updated: Option<String>,
    /// Rule id.
    pub recommendation_type_id: Option<String>,
    /// Problem / solution text.
    pub short_description: Option<ShortDescription>,
    /// Type-specific string map (savings live here).
    pub extended_properties: Option<Value>,
    /// `{ resourceId, source }`.
    pub resource_metadata: Option<ResourceMetadata>,
}

/// Wire: `shortDescription`.
#[derive(Debug, Clone, Deserialize)]
pub struct ShortDescription {
    /// The problem.
    pub problem: Option<String>,
    /// The fix.
    pub solution: Option<String>,
}

/// Wire: `resourceMetadata`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceMetadata {
    /// Impacted resource id.
    pub resource_id: Option<String>,
}

fn number(ext: Option<&Value>, key: &str) -> Option<f64> {
    let v = ext?.get(key)?;
    v.as_f64().or_else(|| v.as_str().and_then(|s| s.trim().parse::<f64>().ok())).filter(|f| f.is_finite())
}

/// `(monthly savings, estimated?)` from extended properties and impact.
pub fn monthly_savings(ext: Option<&Value>, impact: &str) -> (f64, bool) {
    if let Some(m) = number(ext, "savingsAmount") {
        return (m, false);
    }
    if let Some(a) = number(ext, "annualSavingsAmount") {
        return (a / 12.0, false);
    }
    let estimate = match impact.to_ascii_lowercase().as_str() {
        "high" => 500.0,
        "medium" => 100.0,
        _ => 20.0,
    };
    (estimate, true)
}

/// Confidence derived from impact.
pub fn confidence(impact: &str) -> f64 {
    match impact.to_ascii_lowercase().as_str() {
        "high" => 0.9,
        "medium" => 0.7,
        _ => 0.5,
    }
}

/// The impacted resource: `resourceMetadata.resourceId`, else the recommendation id up to
/// `/providers/Microsoft.Advisor/`.
fn impacted_resource(rec: &Recommendation, props: &RecommendationProperties) -> String {
    if let Some(id) =
        props.resource_metadata.as_ref().and_then(|m| m.resource_id.clone()).filter(|s| !s.is_empty())
    {
        return id.to_ascii_lowercase();
    }
    let id = rec.id.clone().unwrap_or_default().to_ascii_lowercase();
    match id.find("/providers/microsoft.advisor/") {
        Some(i) => id[..i].to_owned(),
        None => id,
    }
}

/// Maps one recommendation; `None` when it has no properties.
pub fn map_recommendation(subscription_id: &str, rec: &Recommendation) -> Option<AdvisorRecommendationRow> {
    let p = rec.properties.as_ref()?;
    let impact = p.impact.clone().unwrap_or_default();
    let ext = p.extended_properties.as_ref().filter(|v| !v.is_null());
    let (monthly, estimated) = monthly_savings(ext, &impact);
    let currency = ext
        .and_then(|e| e.get("savingsCurrency"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| "USD".into());
    let short = p.short_description.as_ref();
    Some(AdvisorRecommendationRow {
        subscription_id: subscription_id.to_ascii_lowercase(),
        advisor_id: rec.id.clone().unwrap_or_default(),
        recommendation_type_id: p.recommendation_type_id.clone().unwrap_or_default(),
        resource_id: impacted_resource(rec, p),
        impacted_field: p.impacted_field.clone().unwrap_or_default(),
        impacted_value: p.impacted_value.clone().unwrap_or_default(),
        confidence: confidence(&impact),
        impact,
        problem: short.and_then(|s| s.problem.clone()).unwrap_or_default(),
        solution: short.and_then(|s| s.solution.clone()).unwrap_or_default(),
        monthly_savings: monthly,
        savings_estimated: estimated,
        currency,
        last_updated: p
            .last_updated
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc)),
        extended_properties: ext.cloned().unwrap_or_else(|| Value::Object(Default::default())),
    })
}

/// The Cost recommendations of one page as curated rows.
pub fn map_page(subscription_id: &str, page: &RecommendationList) -> Vec<AdvisorRecommendationRow> {
    page.value
        .iter()
        .filter(|r| {
            // The filter is server-side; re-check in case a service ignores it.
            r.properties
                .as_ref()
                .and_then(|p| p.category.as_deref())
                .is_none_or(|c| c.eq_ignore_ascii_case("cost"))
        })
        .filter_map(|r| map_recommendation(subscription_id, r))
        .collect()
}

/// Pages through the Cost recommendations of `subscription_id` for a caller that records the
/// exchanges and maps them with [`rows_from_exchanges`].
///
/// # Errors
/// Any [`AzureError`]; `PagingLoop` on a repeated `nextLink`.
pub async fn query_recommendations(
    client: &ArmClient,
    ctx: &CallContext,
    subscription_id: &str,
) -> Result<(), AzureError> {
    let path = format!("/subscriptions/{subscription_id}/providers/Microsoft.Advisor/recommendations");
    let mut url =
        client.arm_url(&path, &[("api-version", ADVISOR_API_VERSION), ("$filter", "Category eq 'Cost'")])?;
    let mut guard = PageGuard::new(Api::Advisor, client.config().page_cap);
    loop {
        let page: RecommendationList =
            client.send_json(ctx, &ApiRequest::get(Api::Advisor, url.clone())).await?;
        guard.page_received()?;
        match guard.next_url(&url, page.next_link.as_deref())? {
            Some(next) => url = next,
            None => return Ok(()),
        }
    }
}

/// The Cost recommendations in recorded Advisor exchanges whose resource lies in
/// `subscription_id`, and how many named another subscription and were dropped. The one mapping
/// from Advisor responses to rows ([`fetch_recommendations`] and ingestion's snapshot replay
/// both use it).
///
/// # Errors
/// `Decode` when a recorded page does not decode.
pub fn rows_from_exchanges(
    exchanges: &[Exchange],
    subscription_id: &str,
) -> Result<(Vec<AdvisorRecommendationRow>, usize), AzureError> {
    let mut rows = Vec::new();
    let mut foreign = 0;
    for exchange in exchanges {
        let page: RecommendationList = serde_json::from_str(exchange.response.get())
            .map_err(|e| super::undecodable(Api::Advisor, &e))?;
        for row in map_page(subscription_id, &page) {
            let named = super::subscription_of(&row.resource_id);
            if named.is_empty() || named.eq_ignore_ascii_case(subscription_id) {
                rows.push(row);
            } else {
                foreign += 1;
            }
        }
    }
    Ok((rows, foreign))
}

/// Every Cost recommendation of `subscription_id` (all pages: [`query_recommendations`], then
/// [`rows_from_exchanges`]).
///
/// # Errors
/// Any [`AzureError`]; `PagingLoop` on a repeated `nextLink`.
pub async fn fetch_recommendations(
    client: &ArmClient,
    ctx: &CallContext,
    subscription_id: &str,
) -> Result<Vec<AdvisorRecommendationRow>, AzureError> {
    let (recording, recorder) = super::recording(ctx);
    query_recommendations(client, &recording, subscription_id).await?;
    Ok(rows_from_exchanges(&super::recorded(&recorder), subscription_id)?.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(impact: &str, ext: Value) -> Recommendation {
        serde_json::from_value(json!({
            "id": "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/VM1/providers/Microsoft.Advisor/recommendations/g1",
            "name": "g1",
            "properties": {"category": "Cost", "impact": impact, "impactedField": "Microsoft.Compute/virtualMachines",
                "impactedValue": "VM1", "recommendationTypeId": "e10b1381-5f0a-47ff-8c7b-37bd13d7c974",
                "lastUpdated": "2026-11-20T10:00:00Z",
                "shortDescription": {"problem": "p", "solution": "s"}, "extendedProperties": ext}
        }))
        .unwrap()
    }

    #[test]
    fn savings_sources_in_order() {
        let r = map_recommendation(
            "S",
            &rec(
                "Low",
                json!({"savingsAmount": "42.5", "annualSavingsAmount": "9999", "savingsCurrency": "EUR"}),
            ),
        )
        .unwrap();
        assert_eq!((r.monthly_savings, r.savings_estimated, r.currency.as_str()), (42.5, false, "EUR"));
        let r = map_recommendation("S", &rec("Low", json!({"annualSavingsAmount": "1200"}))).unwrap();
        assert_eq!((r.monthly_savings, r.savings_estimated), (100.0, false));
        for (impact, savings, conf) in [("High", 500.0, 0.9), ("Medium", 100.0, 0.7), ("Low", 20.0, 0.5)] {
            let r = map_recommendation("S", &rec(impact, json!({}))).unwrap();
            assert_eq!(
                (r.monthly_savings, r.savings_estimated, r.confidence),
                (savings, true, conf),
                "{impact}"
            );
        }
        let r = map_recommendation("S", &rec("High", json!({"savingsAmount": "n/a"}))).unwrap();
        assert!(r.savings_estimated, "unparseable savings are unknown, not zero");
    }

    #[test]
    fn impacted_resource_is_derived_from_the_id() {
        let r = map_recommendation("S", &rec("High", Value::Null)).unwrap();
        assert_eq!(
            r.resource_id,
            "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1"
        );
        assert_eq!(r.subscription_id, "s");
        assert!(r.last_updated.is_some());
        assert_eq!(r.extended_properties, json!({}));
    }
}
