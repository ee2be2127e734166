//! Typed views of the wire responses, as a connector would parse them: fidelity tests parse
//! both the sandbox's response and the real example with these.
#![allow(dead_code)]

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub subscription_id: String,
    pub tenant_id: String,
    pub display_name: String,
    pub state: String,
    #[serde(default)]
    pub managed_by_tenants: Vec<ManagedBy>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedBy {
    pub tenant_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionList {
    pub value: Vec<Subscription>,
    pub next_link: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphResponse {
    pub total_records: i64,
    pub count: i64,
    pub result_truncated: String,
    #[serde(rename = "$skipToken")]
    pub skip_token: Option<String>,
    pub data: Vec<Value>,
}

#[derive(Debug, Deserialize)]
pub struct CostColumn {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CostProperties {
    pub next_link: Option<String>,
    pub columns: Vec<CostColumn>,
    pub rows: Vec<Vec<Value>>,
}

#[derive(Debug, Deserialize)]
pub struct CostResponse {
    pub id: String,
    pub name: String,
    pub properties: CostProperties,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvisorProperties {
    pub category: String,
    pub impact: String,
    pub impacted_field: String,
    pub impacted_value: String,
    #[serde(default)]
    pub extended_properties: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
pub struct Recommendation {
    pub id: String,
    pub name: String,
    pub properties: AdvisorProperties,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvisorList {
    pub value: Vec<Recommendation>,
    pub next_link: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricPoint {
    pub time_stamp: String,
    pub average: Option<f64>,
    pub maximum: Option<f64>,
    pub minimum: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct TimeSeries {
    pub data: Vec<MetricPoint>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalizedName {
    pub value: String,
    pub localized_value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metric {
    pub id: String,
    pub name: LocalizedName,
    pub unit: String,
    pub timeseries: Vec<TimeSeries>,
    pub error_code: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct MetricsResponse {
    pub timespan: String,
    pub interval: String,
    pub value: Vec<Metric>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetailItem {
    pub currency_code: String,
    pub retail_price: f64,
    pub unit_price: f64,
    pub arm_region_name: String,
    pub arm_sku_name: String,
    pub product_name: String,
    pub sku_name: String,
    pub meter_name: String,
    pub unit_of_measure: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub reservation_term: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ManagedIdentityToken {
    pub access_token: String,
    pub expires_on: String,
    pub resource: String,
    pub token_type: String,
}

#[derive(Debug, Deserialize)]
pub struct EntraToken {
    pub token_type: String,
    pub expires_in: i64,
    pub access_token: String,
}

#[derive(Debug, Deserialize)]
pub struct EntraError {
    pub error: String,
    pub error_description: String,
    pub error_codes: Vec<i64>,
}
