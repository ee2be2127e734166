//! Pagination edges: bounds, the last partial page and pages beyond the end.

use azcops::store::{PageRequest, ResourceFilter, StoreError};

use crate::store_test;
use crate::support::{Ctx, at, guid, resource, tenant};

store_test!(pagination_edges);

async fn pagination_edges(ctx: Ctx) {
    let store = &ctx.store;
    let scope = tenant(store, 1).await;
    let sub = guid(101);
    let rows: Vec<_> = (0..7)
        .map(|i| resource(&sub, &format!("r{i}"), "microsoft.compute/disks", "westeurope", "prod"))
        .collect();
    store.upsert_resources(&scope, &rows, at(2026, 11, 24, 0)).await.unwrap();
    let filter = ResourceFilter::default();

    let third = store.list_resources(&scope, &filter, PageRequest::new(3, 3).unwrap()).await.unwrap();
    assert_eq!(
        (third.items.len(), third.total, third.total_pages, third.page, third.page_size),
        (1, 7, 3, 3, 3)
    );
    assert_eq!(third.items[0].name, "r6");

    let beyond = store.list_resources(&scope, &filter, PageRequest::new(4, 3).unwrap()).await.unwrap();
    assert!(beyond.items.is_empty());
    assert_eq!((beyond.total, beyond.total_pages, beyond.page), (7, 3, 4));

    let exact = store.list_resources(&scope, &filter, PageRequest::new(1, 7).unwrap()).await.unwrap();
    assert_eq!((exact.items.len(), exact.total_pages), (7, 1));
    let max = store.list_resources(&scope, &filter, PageRequest::new(1, 500).unwrap()).await.unwrap();
    assert_eq!(max.items.len(), 7);

    assert!(matches!(PageRequest::new(0, 10), Err(StoreError::Validation { field: "page", .. })));
    assert!(matches!(PageRequest::new(1, 0), Err(StoreError::Validation { field: "page_size", .. })));
    assert!(matches!(PageRequest::new(1, 501), Err(StoreError::Validation { field: "page_size", .. })));

    let json = serde_json::to_value(&third).unwrap();
    for key in ["items", "page", "page_size", "total", "total_pages"] {
        assert!(json.get(key).is_some(), "{key} missing from {json}");
    }
}
