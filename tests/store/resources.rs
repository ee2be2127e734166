//! `resources` + `resource_history` and `vm_metrics`: idempotent upserts, filters and sort.

use azcops::store::{PageRequest, ResourceFilter, ResourceRecord, ResourceSort, SortDirection, StoreError};

use crate::store_test;
use crate::support::{Ctx, at, day, guid, resource, tenant, vm_metrics};

store_test!(resource_upserts_are_idempotent, resource_filters_and_sort, vm_metric_upserts_are_idempotent);

async fn resource_upserts_are_idempotent(ctx: Ctx) {
    let store = &ctx.store;
    let scope = &tenant(store, 1).await;
    let sub = guid(101);
    let batch: Vec<_> = (0..700)
        .map(|i| resource(&sub, &format!("disk{i:04}"), "microsoft.compute/disks", "westeurope", "prod"))
        .collect();
    let all = |filter: ResourceFilter| async move {
        let mut rows: Vec<ResourceRecord> = Vec::new();
        for p in 1..=2 {
            rows.extend(
                store.list_resources(scope, &filter, PageRequest::new(p, 500).unwrap()).await.unwrap().items,
            );
        }
        rows
    };
    let monday = at(2026, 11, 23, 2);
    store.upsert_resources(scope, &batch, monday).await.unwrap();
    let first = all(ResourceFilter::default()).await;
    assert_eq!(first.len(), 700);
    store.upsert_resources(scope, &batch, monday).await.unwrap();
    assert_eq!(all(ResourceFilter::default()).await, first, "same batch, same instant: identical rows");

    // A later inventory with the same content only moves last_seen.
    let tuesday = at(2026, 11, 24, 2);
    store.upsert_resources(scope, &batch, tuesday).await.unwrap();
    let later = all(ResourceFilter::default()).await;
    for (before, after) in first.iter().zip(&later) {
        assert_eq!(after.last_seen, tuesday);
        assert_eq!(ResourceRecord { last_seen: before.last_seen, ..after.clone() }, *before);
    }

    // A real change moves updated_at (and the snapshot of that day).
    let mut retagged = batch[0].clone();
    retagged.tags.insert("costcenter".into(), "42".into());
    store.upsert_resources(scope, &[retagged.clone()], tuesday).await.unwrap();
    let row = store.get_resource(scope, &retagged.resource_id.to_uppercase()).await.unwrap();
    assert!(row.updated_at > first[0].updated_at);
    assert_eq!(row.tags.0.get("costcenter").map(String::as_str), Some("42"));
    assert_eq!(row.first_seen, monday);
    assert_eq!(
        store.resource_history_dates(scope, &retagged.resource_id).await.unwrap(),
        [day(2026, 11, 23), day(2026, 11, 24)]
    );
    assert!(matches!(store.get_resource(scope, "/nope").await, Err(StoreError::NotFound)));
}

async fn resource_filters_and_sort(ctx: Ctx) {
    let store = &ctx.store;
    let scope = &tenant(store, 1).await;
    let (a, b) = (guid(101), guid(102));
    let rows = vec![
        resource(&a, "vm-b", "microsoft.compute/virtualmachines", "westeurope", "prod"),
        resource(&a, "disk-a", "microsoft.compute/disks", "westeurope", "dev"),
        resource(&b, "ip-c", "microsoft.network/publicipaddresses", "northeurope", "prod"),
    ];
    store.upsert_resources(scope, &rows, at(2026, 11, 24, 2)).await.unwrap();
    let page = PageRequest::first(10).unwrap();
    let names = |filter: ResourceFilter| async move {
        let got = store.list_resources(scope, &filter, page).await.unwrap();
        assert_eq!(got.total as usize, got.items.len());
        got.items.into_iter().map(|r| r.name).collect::<Vec<_>>()
    };
    assert_eq!(names(ResourceFilter::default()).await, ["disk-a", "ip-c", "vm-b"]);
    assert_eq!(
        names(ResourceFilter {
            sort: ResourceSort::Name,
            direction: SortDirection::Desc,
            ..Default::default()
        })
        .await,
        ["vm-b", "ip-c", "disk-a"]
    );
    assert_eq!(
        names(ResourceFilter { resource_type: Some("Microsoft.Compute/Disks".into()), ..Default::default() })
            .await,
        ["disk-a"]
    );
    assert_eq!(
        names(ResourceFilter { location: Some("northeurope".into()), ..Default::default() }).await,
        ["ip-c"]
    );
    assert_eq!(
        names(ResourceFilter { resource_group: Some("rg-prod".into()), ..Default::default() }).await,
        ["ip-c", "vm-b"]
    );
    assert_eq!(
        names(ResourceFilter { subscription_id: Some(a.clone()), ..Default::default() }).await,
        ["disk-a", "vm-b"]
    );
    assert_eq!(
        names(ResourceFilter { tag: Some(("env".into(), "dev".into())), ..Default::default() }).await,
        ["disk-a"]
    );
    assert!(
        names(ResourceFilter { tag: Some(("env".into(), "test".into())), ..Default::default() })
            .await
            .is_empty()
    );
    assert_eq!(
        names(ResourceFilter {
            sort: ResourceSort::Location,
            direction: SortDirection::Asc,
            ..Default::default()
        })
        .await[0],
        "ip-c"
    );
    assert_eq!(
        names(ResourceFilter {
            tag: Some(("env".into(), "prod".into())),
            location: Some("westeurope".into()),
            ..Default::default()
        })
        .await,
        ["vm-b"]
    );
}

async fn vm_metric_upserts_are_idempotent(ctx: Ctx) {
    let store = &ctx.store;
    let scope = &tenant(store, 1).await;
    let sub = guid(101);
    let batch: Vec<_> = (0..50).map(|i| vm_metrics(&sub, &format!("vm{i}"), f64::from(i))).collect();
    store.upsert_vm_metrics(scope, &batch).await.unwrap();
    let first = store.list_vm_metrics(scope, &sub).await.unwrap();
    assert_eq!(first.len(), 50);
    store.upsert_vm_metrics(scope, &batch).await.unwrap();
    assert_eq!(store.list_vm_metrics(scope, &sub).await.unwrap(), first);

    let mut changed = batch[3].clone();
    changed.memory_available_min_bytes = Some(1.0e9);
    store.upsert_vm_metrics(scope, &[changed.clone()]).await.unwrap();
    let after = store.list_vm_metrics(scope, &sub).await.unwrap();
    let moved: Vec<_> = after.iter().filter(|r| !first.contains(r)).collect();
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].resource_id, changed.resource_id);
    assert_eq!(moved[0].memory_available_min_bytes, Some(1.0e9));
}
