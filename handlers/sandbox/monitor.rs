//! Monitor metrics: `GET {resourceId}/providers/microsoft.insights/metrics`, hourly only, with
//! missing datapoints as `data[]` entries that carry only `timeStamp`, and the API's unwrapped
//! error bodies.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::control::Api;
use super::server::{
    Shared, arm_read, authorize, json_response, query_map, readable_subscription, with_reads,
};
use super::usage::{self, Metric};

const RETENTION_DAYS: i64 = 93;

fn unwrapped(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(status, &json!({ "code": code, "message": message }))
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim()).ok().map(|d| d.with_timezone(&Utc))
}

/// The metrics handler.
pub async fn metrics(
    state: &Shared,
    headers: &HeaderMap,
    sub_id: &str,
    resource_id: &str,
    raw_query: Option<&str>,
) -> Response {
    let claims = match authorize(state, headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let sub = match readable_subscription(state, &claims, sub_id) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let reads = match arm_read(state, Api::Metrics, &claims, sub) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let estate = &state.estate;
    let Some(resource) = estate.resource(resource_id) else {
        return unwrapped(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            &format!("The Resource '{resource_id}' was not found."),
        );
    };
    let params = query_map(raw_query);
    let names: Vec<&str> = params.get("metricnames").map(|m| m.split(',').collect()).unwrap_or_default();
    if names.is_empty() {
        return unwrapped(StatusCode::BAD_REQUEST, "BadRequest", "The metricnames parameter is required.");
    }
    let rtype = usage::arm_type(&resource.kind);
    let mut metrics = Vec::new();
    for name in &names {
        match Metric::resolve(&resource.kind, name) {
            Some(m) => metrics.push(m),
            None => {
                return unwrapped(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    &format!("Failed to find metric configuration for provider: {rtype}, metric: {name}"),
                );
            }
        }
    }
    let interval = params.get("interval").map_or("PT1H", String::as_str);
    if !interval.eq_ignore_ascii_case("PT1H") {
        return unwrapped(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("The sandbox serves interval PT1H only, not {interval}."),
        );
    }
    let now = estate.as_of.and_hms_opt(0, 0, 0).map(|d| d.and_utc()).unwrap_or_default();
    let timespan = params.get("timespan").cloned().unwrap_or_default();
    let (start, end) = match timespan.split_once('/').map(|(a, b)| (parse_time(a), parse_time(b))) {
        Some((Some(a), Some(b))) if a < b => (a, b),
        _ if timespan.is_empty() => (now - chrono::Duration::hours(1), now),
        _ => {
            return unwrapped(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("Invalid timespan '{timespan}'."),
            );
        }
    };
    if start < now - chrono::Duration::days(RETENTION_DAYS) {
        return unwrapped(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!(
                "Time range requested '{timespan}' is out of the Max metrics retention period: 93.00:00:00"
            ),
        );
    }
    let aggregations: Vec<String> = params.get("aggregation").map_or_else(
        || vec!["average".to_owned()],
        |a| a.split(',').map(|s| s.trim().to_ascii_lowercase()).collect(),
    );
    let first = (start.timestamp() + 3599).div_euclid(3600);
    // Bounded by the retention window so a far-future end cannot blow up the response.
    let last = end.timestamp().div_euclid(3600).min(first + (RETENTION_DAYS + 1) * 24);
    let value: Vec<Value> = metrics
        .iter()
        .map(|metric| {
            let (name, localized, unit, description) = metric.describe();
            let data: Vec<Value> = (first..last)
                .map(|hour| {
                    let mut point = Map::new();
                    let stamp = DateTime::from_timestamp(hour * 3600, 0).unwrap_or_default();
                    point.insert("timeStamp".into(), json!(stamp.format("%Y-%m-%dT%H:%M:%SZ").to_string()));
                    if let Some((avg, min, max)) = usage::metric_point(estate, resource, *metric, hour) {
                        for agg in &aggregations {
                            let v = match agg.as_str() {
                                "average" => avg,
                                "minimum" => min,
                                "maximum" => max,
                                "total" => avg,
                                "count" => 1.0,
                                _ => continue,
                            };
                            point.insert(agg.clone(), json!((v * 10_000.0).round() / 10_000.0));
                        }
                    }
                    Value::Object(point)
                })
                .collect();
            json!({
                "id": format!("{}/providers/Microsoft.Insights/metrics/{name}", resource.id),
                "type": "Microsoft.Insights/metrics",
                "name": { "value": name, "localizedValue": localized },
                "displayDescription": description,
                "unit": unit,
                "timeseries": [{ "metadatavalues": [], "data": data }],
                "errorCode": "Success",
            })
        })
        .collect();
    let body = json!({
        "cost": (last - first).max(0) * metrics.len() as i64,
        "timespan": format!("{}/{}", start.format("%Y-%m-%dT%H:%M:%SZ"), end.format("%Y-%m-%dT%H:%M:%SZ")),
        "interval": "PT1H",
        "value": value,
        "namespace": rtype,
        "resourceregion": resource.location,
    });
    with_reads(json_response(StatusCode::OK, &body), reads)
}
