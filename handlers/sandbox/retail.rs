//! Retail Prices: `GET /api/retail/prices` over the internal price sheet, with `eq`/`and`
//! `$filter`s, `currencyCode`, `savingsPlan[]` on eligible items, reservation items priced for
//! the whole term, and `NextPageLink` paging by `$skip`.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::estate::splitmix64;
use super::prices::{self, Meter, REGIONS, round_to};
use super::server::{Shared, arm_error, encode, paged_json, query_map};

const FILTER_FIELDS: &[&str] = &[
    "serviceName",
    "armRegionName",
    "armSkuName",
    "skuName",
    "productName",
    "meterName",
    "priceType",
    "reservationTerm",
    "location",
    "serviceFamily",
    "meterId",
    "skuId",
    "productId",
    "serviceId",
];

fn hash_of(text: &str) -> u64 {
    text.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3))
}

fn code(text: &str, len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789BCDFGHJKLMNPQRSTVWXZ";
    let mut h = splitmix64(hash_of(text));
    (0..len)
        .map(|_| {
            let c = ALPHABET[(h % ALPHABET.len() as u64) as usize] as char;
            h = splitmix64(h);
            c
        })
        .collect()
}

fn meter_id(text: &str) -> String {
    let h = hash_of(text);
    let bytes = ((u128::from(splitmix64(h)) << 64) | u128::from(splitmix64(h ^ 1))).to_be_bytes();
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

/// Every retail item in USD, in a stable order.
pub fn items() -> Vec<Value> {
    let mut out = Vec::new();
    for (region, location) in REGIONS {
        for m in prices::all_meters() {
            out.push(item(&m, region, location, "Consumption", None));
            if m.reservable {
                out.push(item(&m, region, location, "Reservation", Some(1)));
                out.push(item(&m, region, location, "Reservation", Some(3)));
            }
        }
    }
    out
}

fn item(m: &Meter, region: &str, location: &str, kind: &str, years: Option<u32>) -> Value {
    let product_id = format!("DZH318{}", code(m.product_name, 6));
    let price = match years {
        Some(y) => m.reservation_total(y),
        None => m.price,
    };
    let mut v = json!({
        "currencyCode": "USD",
        "tierMinimumUnits": 0.0,
        "retailPrice": price,
        "unitPrice": price,
        "armRegionName": region,
        "location": location,
        "effectiveStartDate": "2024-01-01T00:00:00Z",
        "meterId": meter_id(&format!("{}|{}|{}|{region}", m.product_name, m.sku_name, m.meter_name)),
        "meterName": m.meter_name,
        "productId": product_id,
        "skuId": format!("{product_id}/{}", code(&format!("{}|{}", m.product_name, m.sku_name), 4)),
        "productName": m.product_name,
        "skuName": m.sku_name,
        "serviceName": m.service_name,
        "serviceId": format!("DZH313{}", code(m.service_name, 6)),
        "serviceFamily": m.service_family,
        "unitOfMeasure": m.unit,
        "type": kind,
        "isPrimaryMeterRegion": true,
        "armSkuName": m.arm_sku_name,
    });
    if let Some(y) = years {
        v["reservationTerm"] = json!(if y == 1 { "1 Year" } else { "3 Years" });
    } else if m.savings_plan {
        v["savingsPlan"] = json!([
            { "unitPrice": m.savings_plan_hourly(3), "retailPrice": m.savings_plan_hourly(3), "term": "3 Years" },
            { "unitPrice": m.savings_plan_hourly(1), "retailPrice": m.savings_plan_hourly(1), "term": "1 Year" },
        ]);
    }
    v
}

fn parse_filter(filter: &str) -> Option<Vec<(String, String)>> {
    if filter.trim().is_empty() {
        return Some(Vec::new());
    }
    filter
        .split(" and ")
        .map(|clause| {
            let (field, value) = clause.trim().split_once(" eq ")?;
            let field = field.trim();
            let value = value.trim().strip_prefix('\'')?.strip_suffix('\'')?;
            FILTER_FIELDS.contains(&field).then(|| (field.to_owned(), value.to_owned()))
        })
        .collect()
}

fn matches(item: &Value, clauses: &[(String, String)]) -> bool {
    clauses.iter().all(|(field, value)| {
        let key = if field == "priceType" { "type" } else { field.as_str() };
        item.get(key).and_then(Value::as_str) == Some(value.as_str())
    })
}

/// The Retail Prices handler (no authentication, like the real API).
pub async fn prices(State(state): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let params = query_map(q.as_deref());
    let filter = params.get("$filter").cloned().unwrap_or_default();
    let Some(clauses) = parse_filter(&filter) else {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("Invalid OData filter '{filter}'."),
        );
    };
    let currency =
        params.get("currencycode").map_or("USD".to_owned(), |c| c.trim_matches('\'').to_uppercase());
    let rate = match currency.as_str() {
        "USD" => 1.0,
        "EUR" => 0.92,
        "GBP" => 0.79,
        _ => {
            return arm_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("Invalid currency code '{currency}'."),
            );
        }
    };
    let skip = params.get("$skip").and_then(|s| s.parse::<usize>().ok()).unwrap_or(0);
    let page = state.pages.retail.max(1);
    let all: Vec<Value> = items().into_iter().filter(|i| matches(i, &clauses)).collect();
    let page_items: Vec<Value> = all
        .iter()
        .skip(skip)
        .take(page)
        .map(|i| {
            let mut i = i.clone();
            i["currencyCode"] = json!(currency);
            for key in ["retailPrice", "unitPrice"] {
                let usd = i[key].as_f64().unwrap_or(0.0);
                i[key] = json!(round_to(usd * rate, 6));
            }
            i
        })
        .collect();
    let count = page_items.len();
    let next = (skip + page < all.len()).then(|| {
        let api = params.get("api-version").map_or("2023-01-01-preview", String::as_str);
        format!(
            "{}/api/retail/prices?api-version={api}&currencyCode='{currency}'&$filter={}&$skip={}",
            state.base_url,
            encode(&filter),
            skip + page
        )
    });
    paged_json(&json!({
        "BillingCurrency": currency,
        "CustomerEntityId": "Default",
        "CustomerEntityType": "Retail",
        "Items": page_items,
        "NextPageLink": next,
        "Count": count,
    }))
}
