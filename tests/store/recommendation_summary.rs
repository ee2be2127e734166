//! `recommendation_summary`: counts and savings per (category, status), tenant-scoped.

use azcops::store::{RecommendationGroup, RecommendationStatus, RecommendationUpsert};

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
                // Azure's own advice on disk-1 agrees with the rule: kept, linked, not summed.
                RecommendationUpsert {
                    rule_id: "advisor:disk-type".into(),
                    source: "advisor".into(),
                    duplicate_of: Some("waste.unattached_disk".into()),
                    ..finding(&sub_a, "/r/disk-1", "waste.unattached_disk", 10.0, 9.0)
                },
                // A second billing currency is summed on its own.
                RecommendationUpsert {
                    currency: "USD".into(),
                    ..finding(&sub_a, "/r/disk-3", "waste.unattached_disk", 7.0, 6.0)
                },
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
    let linked = page.items.iter().find(|r| r.source == "advisor").unwrap();
    assert_eq!(linked.duplicate_of.as_deref(), Some("waste.unattached_disk"));
    store
        .transition_recommendation(&a, &disk2.id, RecommendationStatus::Dismissed, "u", Some("noise"))
        .await
        .unwrap();

    let groups = store.recommendation_summary(&a).await.unwrap();
    let row = |category: &str, status: &str, currency: &str, count: i64, savings: f64| RecommendationGroup {
        category: category.into(),
        status: status.into(),
        currency: currency.into(),
        count,
        estimated_monthly_savings: savings,
    };
    assert_eq!(
        groups,
        vec![
            row("rightsizing", "open", "EUR", 1, 40.0),
            row("waste", "dismissed", "EUR", 1, 2.5),
            row("waste", "open", "EUR", 1, 10.0),
            row("waste", "open", "USD", 1, 7.0),
        ]
    );
    assert_eq!(store.count_advisor_agreements(&a).await.unwrap(), 1);
    let other = store.recommendation_summary(&b).await.unwrap();
    assert_eq!(other, vec![row("waste", "open", "EUR", 1, 999.0)]);
    assert_eq!(store.count_advisor_agreements(&b).await.unwrap(), 0);
}
