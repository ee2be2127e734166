use std::collections::HashMap;

use super::*;

fn cell(date: &str, dims: &[(&str, &str)], cost: f64) -> CostCell {
    CostCell {
        date: NaiveDate::parse_from_str(date, "%Y-%m-%d").ok(),
        dims: dims.iter().map(|(k, v)| (Arc::from(*k), v.to_string())).collect(),
        cost,
        currency: "USD".into(),
    }
}

fn total(m: &HashMap<Key, f64>) -> f64 {
    m.values().sum()
}

#[test]
fn usage_dates_in_every_shape() {
    let d = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    assert_eq!(parse_usage_date(&json!(20261124)), Some(d));
    assert_eq!(parse_usage_date(&json!(20261124.0)), Some(d));
    assert_eq!(parse_usage_date(&json!("20261124")), Some(d));
    assert_eq!(parse_usage_date(&json!("2026-11-24")), Some(d));
    assert_eq!(parse_usage_date(&json!("2026-11-24T00:00:00")), Some(d));
    assert_eq!(parse_usage_date(&json!("yesterday")), None);
    assert_eq!(parse_usage_date(&Value::Null), None);
}

#[test]
fn cells_are_read_by_column_name() {
    let props: QueryProperties = serde_json::from_value(json!({
        "nextLink": null,
        "columns": [{"name": "Cost", "type": "Number"}, {"name": "ResourceId", "type": "String"},
                    {"name": "MeterCategory", "type": "String"}, {"name": "UsageDate", "type": "Number"},
                    {"name": "Currency", "type": "String"}],
        "rows": [[1.5, "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/x", "Storage", 20261124, "EUR"]]
    }))
    .unwrap();
    let cells = props.cells().unwrap();
    assert_eq!(cells[0].cost, 1.5);
    assert_eq!(cells[0].currency, "EUR");
    assert_eq!(cells[0].dim("MeterCategory"), Some("Storage"));
    assert_eq!(cells[0].date, NaiveDate::from_ymd_opt(2026, 11, 24));
}

#[test]
fn body_has_two_groupings_and_a_custom_window() {
    let d = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let b = query_body(CostType::AmortizedCost, d, d, &["ResourceId", "MeterCategory", "ServiceName"]);
    assert_eq!(b["type"], "AmortizedCost");
    assert_eq!(b["timeframe"], "Custom");
    assert_eq!(b["timePeriod"]["from"], "2026-11-01T00:00:00Z");
    assert_eq!(b["timePeriod"]["to"], "2026-11-01T23:59:59Z");
    assert_eq!(b["dataset"]["granularity"], "Daily");
    assert_eq!(b["dataset"]["grouping"].as_array().unwrap().len(), 2, "API maximum");
}

#[test]
fn month_chunks_cover_the_window_once() {
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let chunks = month_chunks(d("2025-11-15"), d("2026-02-03"));
    assert_eq!(
        chunks,
        vec![
            (d("2025-11-15"), d("2025-11-30")),
            (d("2025-12-01"), d("2025-12-31")),
            (d("2026-01-01"), d("2026-01-31")),
            (d("2026-02-01"), d("2026-02-03")),
        ]
    );
    assert_eq!(month_chunks(d("2026-11-24"), d("2026-11-24")), vec![(d("2026-11-24"), d("2026-11-24"))]);
}

#[test]
fn exact_join_when_meter_category_names_one_service() {
    let vm = "/subscriptions/s/resourceGroups/RG-A/providers/Microsoft.Compute/virtualMachines/vm1";
    let a = vec![
        cell("2026-11-24", &[("ResourceId", vm), ("MeterCategory", "Virtual Machines")], 10.0),
        cell("2026-11-24", &[("ResourceId", vm), ("MeterCategory", "Bandwidth")], 0.5),
        cell("2026-11-24", &[("ResourceId", ""), ("MeterCategory", "Support")], 100.0),
    ];
    let b = vec![
        cell(
            "2026-11-24",
            &[("MeterCategory", "Virtual Machines"), ("ServiceName", "Virtual Machines")],
            10.0,
        ),
        cell("2026-11-24", &[("MeterCategory", "Bandwidth"), ("ServiceName", "Bandwidth")], 0.5),
        cell("2026-11-24", &[("MeterCategory", "Support"), ("ServiceName", "Azure Support")], 100.0),
    ];
    let c = vec![cell("2026-11-24", &[("ResourceId", ""), ("ResourceGroupName", "")], 100.0)];
    let mut report = CostReport::default();
    let m = assemble(&a, &b, &c, &[], &mut report);
    assert_eq!(report.apportioned, 0);
    assert_eq!(m.len(), 3);
    assert!((total(&m) - 110.5).abs() < 1e-9);
    let rows = merge("S", m, HashMap::new());
    let vm_row = rows.iter().find(|r| r.meter_category == "Virtual Machines").unwrap();
    assert_eq!(vm_row.resource_group, "rg-a");
    assert_eq!(vm_row.resource_id, vm.to_ascii_lowercase());
    assert_eq!(vm_row.subscription_id, "s");
    let support = rows.iter().find(|r| r.resource_id.is_empty()).unwrap();
    assert_eq!((support.service_name.as_str(), support.resource_group.as_str()), ("Azure Support", ""));
}

#[test]
fn ambiguous_days_are_apportioned_and_still_sum_exactly() {
    let a = vec![
        cell("2026-11-24", &[("ResourceId", ""), ("MeterCategory", "Marketplace")], 30.0),
        cell(
            "2026-11-24",
            &[
                ("ResourceId", "/subscriptions/s/resourcegroups/r/providers/p/t/x"),
                ("MeterCategory", "Marketplace"),
            ],
            10.0,
        ),
    ];
    let b = vec![
        cell("2026-11-24", &[("MeterCategory", "Marketplace"), ("ServiceName", "Vendor A")], 30.0),
        cell("2026-11-24", &[("MeterCategory", "Marketplace"), ("ServiceName", "Vendor B")], 10.0),
    ];
    let c = vec![
        cell("2026-11-24", &[("ResourceId", ""), ("ResourceGroupName", "RG1")], 20.0),
        cell("2026-11-24", &[("ResourceId", ""), ("ResourceGroupName", "rg2")], 10.0),
    ];
    let mut report = CostReport::default();
    let m = assemble(&a, &b, &c, &[], &mut report);
    assert!(report.apportioned >= 2);
    assert!((total(&m) - 40.0).abs() < 1e-9, "every charge lands exactly once");
    let rg1: f64 = m.iter().filter(|(k, _)| k.1 == "rg1").map(|(_, v)| v).sum();
    assert!((rg1 - 20.0).abs() < 1e-9);
}

#[test]
fn actual_and_amortized_merge_on_the_full_key() {
    let vm = "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1";
    let b = vec![cell(
        "2026-11-24",
        &[("MeterCategory", "Virtual Machines"), ("ServiceName", "Virtual Machines")],
        0.0,
    )];
    let actual_a =
        vec![cell("2026-11-24", &[("ResourceId", vm), ("MeterCategory", "Virtual Machines")], 0.0)];
    let amort_a = vec![cell("2026-11-24", &[("ResourceId", vm), ("MeterCategory", "Virtual Machines")], 4.2)];
    let mut r = CostReport::default();
    let rows =
        merge("s", assemble(&actual_a, &b, &[], &[], &mut r), assemble(&amort_a, &b, &[], &[], &mut r));
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].cost, rows[0].amortized_cost), (0.0, 4.2));
}

#[test]
fn management_group_scope_takes_subscriptions_from_resources() {
    assert_eq!(
        CostScope::ManagementGroup("mg-root".into()).path(),
        "/providers/Microsoft.Management/managementGroups/mg-root"
    );
    assert_eq!(CostScope::Subscription("s1".into()).path(), "/subscriptions/s1");
    let a = vec![cell(
        "2026-11-24",
        &[
            ("ResourceId", "/subscriptions/SUB-B/resourceGroups/r/providers/p/t/x"),
            ("MeterCategory", "Storage"),
        ],
        1.0,
    )];
    let mut r = CostReport::default();
    let rows = merge("", assemble(&a, &[], &[], &[], &mut r), HashMap::new());
    assert_eq!(rows[0].subscription_id, "sub-b");
    assert_eq!(rows[0].service_name, "Storage", "without B the meter category stands in for the service");
}

#[test]
fn an_unnamed_measure_is_the_first_non_date_number() {
    let props: QueryProperties = serde_json::from_value(json!({
        "columns": [{"name": "UsageDate", "type": "Number"}, {"name": "CostUSD2", "type": "Number"}, {"name": "Currency", "type": "String"}],
        "rows": [[20261124, 9.5, "USD"]]
    }))
    .unwrap();
    let cells = props.cells().unwrap();
    assert_eq!((cells[0].cost, cells[0].date), (9.5, NaiveDate::from_ymd_opt(2026, 11, 24)));
    let none: QueryProperties =
        serde_json::from_value(json!({"columns": [{"name": "X", "type": "String"}], "rows": []})).unwrap();
    assert!(matches!(none.cells(), Err(AzureError::Decode { .. })));
}

#[test]
fn a_meter_category_spanning_services_is_resolved_per_resource() {
    // Azure's `Virtual Network` meter category covers the `Virtual Network` and `NAT Gateway`
    // services: B alone would split both resources in two; D names each resource's service.
    let ip = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/ip1";
    let nat = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/natGateways/ng1";
    let day = "2026-11-24";
    let a = vec![
        cell(day, &[("ResourceId", ip), ("MeterCategory", "Virtual Network")], 0.12),
        cell(day, &[("ResourceId", nat), ("MeterCategory", "Virtual Network")], 1.08),
    ];
    let b = vec![
        cell(day, &[("MeterCategory", "Virtual Network"), ("ServiceName", "Virtual Network")], 0.12),
        cell(day, &[("MeterCategory", "Virtual Network"), ("ServiceName", "NAT Gateway")], 1.08),
    ];
    let d = vec![
        cell(day, &[("ResourceId", ip), ("ServiceName", "Virtual Network")], 0.12),
        cell(day, &[("ResourceId", nat), ("ServiceName", "NAT Gateway")], 1.08),
    ];
    let mut report = CostReport::default();
    let rows = merge("s", assemble(&a, &b, &[], &d, &mut report), HashMap::new());
    assert_eq!(report.apportioned, 0, "exact with D");
    assert_eq!(rows.len(), 2);
    let nat_row = rows.iter().find(|r| r.resource_id.ends_with("ng1")).unwrap();
    assert_eq!((nat_row.service_name.as_str(), nat_row.cost), ("NAT Gateway", 1.08));
    let mut without_d = CostReport::default();
    let split = merge("s", assemble(&a, &b, &[], &[], &mut without_d), HashMap::new());
    assert_eq!((split.len(), without_d.apportioned), (4, 2), "B alone can only apportion");
}

#[test]
fn a_scanned_page_tells_its_next_link_and_resource_less_rows() {
    let page = |rows: Value, next: Value| {
        serde_json::to_vec(&json!({"properties": {"nextLink": next,
            "columns": [{"name": "Cost", "type": "Number"}, {"name": "ResourceId", "type": "String"},
                        {"name": "UsageDate", "type": "Number"}, {"name": "Currency", "type": "String"}],
            "rows": rows}}))
        .unwrap()
    };
    let with_id = json!([[1.0, "/subscriptions/s/resourcegroups/rg/x", 20261124, "USD"]]);
    assert_eq!(
        scan_page(&page(with_id, json!("https://next"))).unwrap(),
        (Some("https://next".into()), false)
    );
    let support =
        json!([[1.0, "/subscriptions/s/resourcegroups/rg/x", 20261124, "USD"], [9.0, "", 20261124, "USD"]]);
    assert_eq!(scan_page(&page(support, Value::Null)).unwrap(), (None, true));
    assert!(scan_page(&page(json!([[2.0, null, 20261124, "USD"]]), Value::Null)).unwrap().1);
    assert!(matches!(scan_page(b"{\"properties\": {\"rows\": [[1"), Err(AzureError::Truncated { .. })));
    assert_eq!(scan_page(b"{}").unwrap(), (None, false));
}
