//! Keyset export pages: small pages walk exactly the rows and order of the full listing (ties
//! included), stay inside the tenant, and the page and count bounds hold.

use azcops::store::{
    CostCursor, CostFilter, MAX_EXPORT_PAGE, PageRequest, RecommendationCursor, RecommendationFilter,
    RecommendationSort, ResourceCursor, ResourceFilter, ResourceSort, SortDirection, SortValue, Store,
    StoreError, TenantScope,
};

use crate::store_test;
use crate::support::{Ctx, at, cost, day, finding, guid, resource, tenant};

store_test!(keyset_walks_follow_the_list_order, export_bounds);

/// Resource ids an export walk returns, `page` rows at a time.
async fn walk_resources(
    store: &Store,
    scope: &TenantScope,
    filter: &ResourceFilter,
    page: u32,
) -> Vec<String> {
    let (mut ids, mut after): (Vec<String>, Option<ResourceCursor>) = (Vec::new(), None);
    loop {
        let rows = store.export_resources_page(scope, filter, after.as_ref(), page).await.unwrap();
        ids.extend(rows.iter().map(|r| r.resource_id.clone()));
        match rows.last() {
            Some(last) if rows.len() == page as usize => after = Some(last.cursor(filter.sort)),
            _ => return ids,
        }
    }
}

async fn keyset_walks_follow_the_list_order(ctx: Ctx) {
    let store = &ctx.store;
    let scope = tenant(store, 1).await;
    let other = tenant(store, 2).await;
    let sub = guid(101);
    // Few distinct values per column, so every sort has long runs of ties.
    let rows: Vec<_> = (0..23)
        .map(|i| {
            let kind = ["microsoft.compute/disks", "microsoft.network/publicipaddresses"][i % 2];
            let location = ["westeurope", "northeurope", "eastus"][i % 3];
            resource(&sub, &format!("r{:02}", i % 7), kind, location, ["prod", "dev"][i % 2])
        })
        .enumerate()
        .map(|(i, mut row)| {
            row.resource_id = format!("{}-{i:02}", row.resource_id);
            row
        })
        .collect();
    store.upsert_resources(&scope, &rows[..11], at(2026, 11, 1, 0)).await.unwrap();
    store.upsert_resources(&scope, &rows[11..], at(2026, 11, 2, 0)).await.unwrap();
    store
        .upsert_resources(
            &other,
            &[resource(&guid(102), "r00", "x/y", "westeurope", "prod")],
            at(2026, 11, 1, 0),
        )
        .await
        .unwrap();
    for sort in [
        ResourceSort::Name,
        ResourceSort::Type,
        ResourceSort::Location,
        ResourceSort::ResourceGroup,
        ResourceSort::LastSeen,
    ] {
        for direction in [SortDirection::Asc, SortDirection::Desc] {
            let filter = ResourceFilter { sort, direction, ..ResourceFilter::default() };
            let all = store.export_resources_page(&scope, &filter, None, MAX_EXPORT_PAGE).await.unwrap();
            assert_eq!(all.len(), 23, "only the tenant's rows");
            let key = |r: &azcops::store::ResourceExportRow| match r.cursor(sort).sort {
                SortValue::Text(text) => text,
                SortValue::Time(time) => time.to_rfc3339(),
            };
            let mut expected: Vec<(String, String)> =
                all.iter().map(|r| (key(r), r.resource_id.clone())).collect();
            expected.sort();
            if direction == SortDirection::Desc {
                expected.reverse();
            }
            let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();
            for page in [1, 2, 5, 23] {
                assert_eq!(
                    walk_resources(store, &scope, &filter, page).await,
                    expected,
                    "{sort:?} {direction:?} by {page}"
                );
            }
        }
    }
    let filtered = ResourceFilter { location: Some("eastus".into()), ..ResourceFilter::default() };
    assert_eq!(walk_resources(store, &scope, &filtered, 2).await.len(), 7);

    // Recommendations: equal scores in runs; the walk is the list, page for page.
    let findings: Vec<_> = (0..17)
        .map(|i| finding(&sub, &format!("/res/{i:02}"), "waste.x", f64::from(i % 4), f64::from(i % 3)))
        .collect();
    store.upsert_recommendations(&scope, &findings).await.unwrap();
    for sort in [RecommendationSort::Priority, RecommendationSort::Savings] {
        let filter = RecommendationFilter { sort, ..RecommendationFilter::default() };
        let list =
            store.list_recommendations(&scope, &filter, PageRequest::new(1, 500).unwrap()).await.unwrap();
        let expected: Vec<String> = list.items.iter().map(|r| r.id.clone()).collect();
        let (mut ids, mut after) = (Vec::new(), None);
        loop {
            let rows = store.export_recommendations_page(&scope, &filter, after.as_ref(), 3).await.unwrap();
            ids.extend(rows.iter().map(|r| r.id.clone()));
            match rows.last() {
                Some(last) if rows.len() == 3 => after = Some(RecommendationCursor::after(last, sort)),
                _ => break,
            }
        }
        assert_eq!(ids, expected, "{sort:?}");
    }

    // Costs: the primary key descending, as the list.
    let costs: Vec<_> = (0..19)
        .map(|i| {
            cost(
                &sub,
                day(2026, 11, 1 + i % 4),
                ["Storage", "Compute"][i as usize % 2],
                &format!("/r/{i}"),
                1.0,
            )
        })
        .collect();
    store.upsert_costs_daily(&scope, &costs).await.unwrap();
    let filter = CostFilter::default();
    let list = store.list_costs(&scope, &filter, PageRequest::new(1, 500).unwrap()).await.unwrap();
    let (mut rows, mut after) = (Vec::new(), None);
    loop {
        let page = store.export_costs_page(&scope, &filter, after.as_ref(), 4).await.unwrap();
        rows.extend(page.iter().cloned());
        match page.last() {
            Some(last) if page.len() == 4 => after = Some(CostCursor::after(last)),
            _ => break,
        }
    }
    assert_eq!(rows, list.items);
}

async fn export_bounds(ctx: Ctx) {
    let store = &ctx.store;
    let scope = tenant(store, 1).await;
    let sub = guid(101);
    let rows: Vec<_> = (0..7)
        .map(|i| resource(&sub, &format!("r{i}"), "microsoft.compute/disks", "westeurope", "prod"))
        .collect();
    store.upsert_resources(&scope, &rows, at(2026, 11, 1, 0)).await.unwrap();
    let filter = ResourceFilter::default();
    for limit in [0, MAX_EXPORT_PAGE + 1] {
        let refused = store.export_resources_page(&scope, &filter, None, limit).await;
        assert!(matches!(refused, Err(StoreError::Validation { field: "limit", .. })), "{limit}");
        let refused = store.export_costs_page(&scope, &CostFilter::default(), None, limit).await;
        assert!(matches!(refused, Err(StoreError::Validation { field: "limit", .. })), "{limit}");
        let refused =
            store.export_recommendations_page(&scope, &RecommendationFilter::default(), None, limit).await;
        assert!(matches!(refused, Err(StoreError::Validation { field: "limit", .. })), "{limit}");
    }
    assert_eq!(store.export_resources_page(&scope, &filter, None, MAX_EXPORT_PAGE).await.unwrap().len(), 7);

    // A cursor of the wrong kind for the sort column is refused, not misread.
    let text = ResourceCursor { sort: SortValue::Text("r1".into()), resource_id: String::new() };
    let by_time = ResourceFilter { sort: ResourceSort::LastSeen, ..ResourceFilter::default() };
    let refused = store.export_resources_page(&scope, &by_time, Some(&text), 10).await;
    assert!(matches!(refused, Err(StoreError::Validation { field: "cursor", .. })));
    let time = ResourceCursor { sort: SortValue::Time(at(2026, 1, 1, 0)), resource_id: String::new() };
    let refused = store.export_resources_page(&scope, &filter, Some(&time), 10).await;
    assert!(matches!(refused, Err(StoreError::Validation { field: "cursor", .. })));

    // Counts stop at their bound.
    assert_eq!(store.count_resources_upto(&scope, &filter, 3).await.unwrap(), 3);
    assert_eq!(store.count_resources_upto(&scope, &filter, 100).await.unwrap(), 7);
    assert_eq!(store.count_resources_upto(&scope, &filter, u64::MAX).await.unwrap(), 7);
    let costs: Vec<_> = (0..5).map(|i| cost(&sub, day(2026, 11, 1 + i), "Storage", "", 1.0)).collect();
    store.upsert_costs_daily(&scope, &costs).await.unwrap();
    assert_eq!(store.count_costs_upto(&scope, &CostFilter::default(), 4).await.unwrap(), 4);
    assert_eq!(store.count_costs_upto(&scope, &CostFilter::default(), 6).await.unwrap(), 5);
    let findings: Vec<_> = (0..3).map(|i| finding(&sub, &format!("/res/{i}"), "waste.x", 1.0, 1.0)).collect();
    store.upsert_recommendations(&scope, &findings).await.unwrap();
    assert_eq!(
        store.count_recommendations_upto(&scope, &RecommendationFilter::default(), 2).await.unwrap(),
        2
    );
    assert_eq!(
        store.count_recommendations_upto(&scope, &RecommendationFilter::default(), 9).await.unwrap(),
        3
    );
    let other = tenant(store, 2).await;
    assert_eq!(store.count_resources_upto(&other, &filter, 100).await.unwrap(), 0, "scoped by tenant");
}
