//! Migrations, health, tenants and subscriptions, including duplicate detection.

use azcops::store::{
    AuditFilter, NewSubscription, NewTenant, PageRequest, StoreError, SubscriptionUpdate, TenantScope,
    TenantType, TenantUpdate,
};

use crate::store_test;
use crate::support::{Ctx, at, by, cost, day, guid, tenant};

store_test!(
    migrations_are_idempotent_and_ping_works,
    tenant_lifecycle_and_duplicates,
    subscriptions_and_duplicates
);

async fn migrations_are_idempotent_and_ping_works(ctx: Ctx) {
    ctx.store.migrate().await.unwrap();
    ctx.store.ping().await.unwrap();
}

async fn tenant_lifecycle_and_duplicates(ctx: Ctx) {
    let admin = ctx.store.platform_admin();
    let new = NewTenant {
        name: "Contoso".into(),
        azure_tenant_id: guid(7).to_uppercase(),
        tenant_type: TenantType::External,
    };
    let created = admin.create_tenant(&new, &by()).await.unwrap();
    assert_eq!(created.azure_tenant_id, guid(7), "GUIDs are stored lower-cased");
    assert_eq!(admin.get_tenant(&created.id).await.unwrap(), created);
    assert_eq!(admin.get_tenant_by_azure_tenant_id(&guid(7)).await.unwrap(), created);

    let duplicate = admin.create_tenant(&new, &by()).await.unwrap_err();
    assert!(matches!(duplicate, StoreError::Conflict { what: "tenant" }), "{duplicate:?}");
    let bad = NewTenant { azure_tenant_id: "not-a-guid".into(), ..new.clone() };
    assert!(matches!(
        admin.create_tenant(&bad, &by()).await.unwrap_err(),
        StoreError::Validation { field: "azure_tenant_id", .. }
    ));

    let renamed = admin
        .update_tenant(
            &created.id,
            &TenantUpdate { name: Some("Contoso Ltd".into()), ..TenantUpdate::default() },
            &by(),
        )
        .await
        .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.tenant_type, renamed.active),
        ("Contoso Ltd", TenantType::External, true)
    );
    assert!(!admin.deactivate_tenant(&created.id, &by()).await.unwrap().active);
    assert!(admin.list_active_tenants().await.unwrap().is_empty());
    assert_eq!(admin.list_tenants(PageRequest::first(10).unwrap()).await.unwrap().total, 1);
    assert!(matches!(admin.get_tenant("nope").await, Err(StoreError::NotFound)));
    assert!(matches!(
        admin.update_tenant("nope", &TenantUpdate::default(), &by()).await,
        Err(StoreError::NotFound)
    ));

    // Deleting a tenant removes its data but keeps its audit trail.
    let scope = TenantScope::from_trusted_trigger(created.id.clone());
    ctx.store
        .add_subscription(
            &scope,
            &NewSubscription { subscription_id: guid(1), display_name: "s".into(), billing_scope: None },
            &by(),
        )
        .await
        .unwrap();
    ctx.store
        .append_audit(
            &scope,
            &azcops::store::NewAuditEntry {
                actor: "op".into(),
                action: "tenant.created".into(),
                target_type: "tenant".into(),
                target_id: created.id.clone(),
                metadata: serde_json::json!({}),
                occurred_at: at(2026, 11, 1, 0),
            },
        )
        .await
        .unwrap();
    ctx.store.upsert_costs_daily(&scope, &[cost(&guid(1), day(2026, 11, 2), "VM", "", 5.0)]).await.unwrap();
    let rollup_rows =
        |table: &str| format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = '{}'", created.id);
    assert_eq!(ctx.count(&rollup_rows("cost_rollup_monthly")).await, 1);
    admin.delete_tenant(&created.id, &by()).await.unwrap();
    assert!(matches!(admin.get_tenant(&created.id).await, Err(StoreError::NotFound)));
    // Its cost rollups go with its costs.
    for table in
        ["cost_rollup_daily", "cost_rollup_tenant_daily", "cost_rollup_tag_daily", "cost_rollup_monthly"]
    {
        assert_eq!(ctx.count(&rollup_rows(table)).await, 0, "{table}");
    }
    assert_eq!(ctx.store.list_subscriptions(&scope, PageRequest::first(10).unwrap()).await.unwrap().total, 0);
    let audit =
        ctx.store.list_audit(&scope, &Default::default(), PageRequest::first(10).unwrap()).await.unwrap();
    let mut actions: Vec<&str> = audit.items.iter().map(|e| e.action.as_str()).collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        [
            "subscription.created",
            "tenant.created",
            "tenant.created",
            "tenant.deleted",
            "tenant.updated",
            "tenant.updated"
        ],
        "every change is audited with the change and survives the tenant's deletion"
    );
    let deleted = audit.items.iter().find(|e| e.action == "tenant.deleted").unwrap();
    assert_eq!(deleted.actor, "test");
    assert_eq!(deleted.metadata.0["before"]["name"], "Contoso Ltd");
    assert!(deleted.metadata.0["after"].is_null());
    let renamed = audit
        .items
        .iter()
        .find(|e| e.action == "tenant.updated" && e.metadata.0["before"]["name"] == "Contoso")
        .unwrap();
    assert_eq!(renamed.metadata.0["after"]["name"], "Contoso Ltd");
    assert_eq!(renamed.metadata.0["after"]["active"], true, "the rename came before the deactivation");
    assert!(matches!(admin.delete_tenant(&created.id, &by()).await, Err(StoreError::NotFound)));
}

async fn subscriptions_and_duplicates(ctx: Ctx) {
    let store = &ctx.store;
    let scope = tenant(store, 1).await;
    let new = NewSubscription {
        subscription_id: guid(500).to_uppercase(),
        display_name: "Prod".into(),
        billing_scope: None,
    };
    let added = store.add_subscription(&scope, &new, &by()).await.unwrap();
    assert_eq!(added.subscription_id, guid(500));
    let duplicate = store.add_subscription(&scope, &new, &by()).await.unwrap_err();
    assert!(matches!(duplicate, StoreError::Conflict { what: "subscription" }), "{duplicate:?}");

    let ghost = TenantScope::from_trusted_trigger("no-such-tenant");
    assert!(matches!(store.add_subscription(&ghost, &new, &by()).await, Err(StoreError::NotFound)));

    assert_eq!(store.get_subscription(&scope, &guid(500)).await.unwrap(), added);
    let updated = store
        .update_subscription(
            &scope,
            &guid(500),
            &SubscriptionUpdate {
                display_name: Some("Production".into()),
                active: Some(false),
                ..Default::default()
            },
            &by(),
        )
        .await
        .unwrap();
    assert_eq!((updated.display_name.as_str(), updated.active), ("Production", false));
    assert_eq!(
        store.list_active_subscriptions(&scope).await.unwrap().len(),
        1,
        "the seeded one stays active"
    );

    store.mark_subscription_ingested(&scope, &guid(500), at(2026, 11, 25, 3)).await.unwrap();
    assert_eq!(
        store.get_subscription(&scope, &guid(500)).await.unwrap().last_ingested_at,
        Some(at(2026, 11, 25, 3))
    );

    let page = store.list_subscriptions(&scope, PageRequest::first(10).unwrap()).await.unwrap();
    assert_eq!(page.total, 2);
    store.delete_subscription(&scope, &guid(500), &by()).await.unwrap();
    assert!(matches!(store.get_subscription(&scope, &guid(500)).await, Err(StoreError::NotFound)));
    assert!(matches!(store.delete_subscription(&scope, &guid(500), &by()).await, Err(StoreError::NotFound)));

    // One row per change that happened, written with it: the refused duplicate and the
    // deletion of a missing subscription left none.
    let filter = AuditFilter { target_id: Some(guid(500)), ..AuditFilter::default() };
    let audit = store.list_audit(&scope, &filter, PageRequest::first(10).unwrap()).await.unwrap();
    let mut actions: Vec<&str> = audit.items.iter().map(|e| e.action.as_str()).collect();
    actions.sort_unstable();
    assert_eq!(actions, ["subscription.created", "subscription.deleted", "subscription.updated"]);
    let updated = audit.items.iter().find(|e| e.action == "subscription.updated").unwrap();
    assert_eq!(updated.metadata.0["before"]["display_name"], "Prod");
    assert_eq!(updated.metadata.0["after"]["display_name"], "Production");
    assert_eq!(updated.metadata.0["after"]["active"], false);
}
