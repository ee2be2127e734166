//! `recommendation_summary`: counts and savings per (category, status), tenant-scoped.

use azcops::store::{RecommendationGroup, RecommendationStatus};

use crate::store_test;
use crate::support::{Ctx, finding, guid, tenant};

store_test!(groups_by_category_and_status_within_the_tenant);

async fn groups_by_category_and_status_within_the_tenant(ctx: Ctx) {
    let store = &ctx.store;
    let a = tenant(store, 1).await;
    let b = tenant(store, 2).await;
    assert!(store.recommendation_summary(&a).await.unwrap().is_empty());
    let sub_a = guid(101);
    store
        .upsert_recommendations(
            &a,
            &[
                finding(&sub_a, "/r/disk-1", "waste.unattached_disk", 10.0, 9.0),
                finding(&sub_a, "/r/disk-2", "waste.unattached_disk", 2.5, 2.0),
                finding(&sub_a, "/r/vm-1", "rightsizing.underutilised_vm", 40.0, 30.0),
            ],
        )
        .await
        .unwrap();
    store
        .upsert_recommendations(&b, &[finding(&guid(102), "/r/disk-9", "waste.unattached_disk", 999.0, 1.0)])
        .await
        .unwrap();
    let page = store
        .list_recommendations(&a, &Default::default(), azcops::store::PageRequest::new(1, 10).unwrap())
        .await
        .unwrap();
    let disk2 = page.items.iter().find(|r| r.resource_id == "/r/disk-2").unwrap();
    store
        .transition_recommendation(&a, &disk2.id, RecommendationStatus::Dismissed, "u", Some("noise"))
        .await
        .unwrap();

    let groups = store.recommendation_summary(&a).await.unwrap();
    let row = |category: &str, status: &str, count: i64, savings: f64| RecommendationGroup {
        category: category.into(),
        status: status.into(),
        count,
        estimated_monthly_savings: savings,
    };
    assert_eq!(
        groups,
        vec![
            row("rightsizing", "open", 1, 40.0),
            row("waste", "dismissed", 1, 2.5),
            row("waste", "open", 1, 10.0)
        ]
    );
    let other = store.recommendation_summary(&b).await.unwrap();
    assert_eq!(other, vec![row("waste", "open", 1, 999.0)]);
}
