//! Subscription registration is verified with ARM (the sandbox serves every customer through
//! Lighthouse, as Azure does for the platform identity), and every tenant or subscription change
//! is audited with the change.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use axum::http::{Method, StatusCode};
use azcops::azure::credential::{BearerToken, TokenSource};
use azcops::azure::{ArmClient, AzureConfig, AzureError};
use azcops::config::Secret;
use azcops::sandbox::{RunningSandbox, Sandbox, SandboxOptions};
use azcops::store::{AuditFilter, PageRequest, TenantScope};
use serde_json::json;

use crate::support::*;

/// The platform identity's token, as the sandbox's managed-identity endpoint issues it.
struct PlatformToken(String);

#[async_trait]
impl TokenSource for PlatformToken {
    async fn token(&self, _tenant: Option<&str>, _scope: &str) -> Result<BearerToken, AzureError> {
        Ok(BearerToken {
            token: Secret::new(self.0.clone()),
            expires_at: SystemTime::now() + Duration::from_secs(3000),
        })
    }
}

/// The sandbox's customer tenant that acts as tenant A: the last one, which also owns a
/// subscription it has not delegated (see the sandbox's tenancy rules).
const A: usize = 2;
/// The other customer tenant, B.
const B: usize = 1;

/// A sandbox with a managing tenant and two customers, and an API whose tenants A and B are the
/// two customers.
struct World {
    sandbox: RunningSandbox,
    api: Api,
}

impl World {
    async fn start(backend: Backend) -> Self {
        let options = SandboxOptions::new(
            "tenants=3,subscriptions=4,resources=5,days=3".parse().unwrap(),
            11,
            chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
        );
        let sandbox = Sandbox::start(options).await.unwrap();
        let api = Api::with_azure(
            backend,
            [customer(&sandbox, A), customer(&sandbox, B)],
            arm(&sandbox, sandbox.base_url()),
        )
        .await;
        Self { sandbox, api }
    }

    /// A subscription of customer `tenant` the platform reads through Lighthouse (or not).
    fn subscription(&self, tenant: usize, delegated: bool) -> Option<String> {
        let estate = self.sandbox.estate();
        estate
            .subscriptions
            .iter()
            .find(|s| s.tenant == tenant && s.delegated == delegated)
            .map(|s| s.id.clone())
    }

    fn tid(&self, tenant: usize) -> String {
        customer(&self.sandbox, tenant)
    }

    async fn register(&self, admin: &str, subscription_id: &str) -> Reply {
        let body = json!({"subscription_id": subscription_id, "display_name": "registered"});
        self.api
            .call_with(
                Method::POST,
                "/api/v1/subscriptions",
                Some(admin),
                Some(body),
                &[("x-correlation-id", "corr-0001")],
            )
            .await
    }
}

fn customer(sandbox: &RunningSandbox, index: usize) -> String {
    sandbox.estate().tenants[index].id.clone()
}

fn arm(sandbox: &RunningSandbox, base_url: &str) -> ArmClient {
    let mut config = AzureConfig::for_base_url(base_url).unwrap();
    config.max_attempts = 1;
    config.timeout = Duration::from_secs(5);
    ArmClient::new(config, Arc::new(PlatformToken(sandbox.managed_identity_token()))).unwrap()
}

async fn audit_actions(api: &Api, scope: &TenantScope, target: &str) -> Vec<String> {
    let filter = AuditFilter { target_id: Some(target.to_owned()), ..AuditFilter::default() };
    let page = api.store.list_audit(scope, &filter, PageRequest::first(50).unwrap()).await.unwrap();
    page.items.into_iter().map(|e| e.action).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_registers_only_subscriptions_of_its_own_directory() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let world = World::start(backend).await;
        let admin_a = token(&world.tid(A), &[ADMIN]).await;
        let own = world.subscription(A, true).expect("customer A has a delegated subscription");
        let theirs = world.subscription(B, true).expect("customer B has a delegated subscription");

        // B's subscription is readable by the platform identity, yet A cannot take it.
        let refused = world.register(&admin_a, &theirs).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text);
        assert_eq!(refused.json()["error"]["code"], "subscription_not_in_tenant");
        assert_eq!(refused.json()["error"]["details"]["field"], "subscription_id");
        // Unknown and unreadable subscriptions answer exactly alike: no oracle.
        let unknown = world.register(&admin_a, &guid(0xdead)).await;
        assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(unknown.json()["error"]["code"], refused.json()["error"]["code"]);
        let message =
            |r: &Reply, id: &str| r.json()["error"]["message"].as_str().unwrap().replace(id, "<id>");
        assert_eq!(message(&unknown, &guid(0xdead)), message(&refused, &theirs));
        let hidden = world.subscription(A, false).expect("customer A has an undelegated subscription");
        let undelegated = world.register(&admin_a, &hidden).await;
        assert_eq!(undelegated.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", undelegated.text);
        assert_eq!(message(&undelegated, &hidden), message(&refused, &theirs));
        assert!(
            world.api.store.get_subscription(&world.api.scope_a, &theirs).await.is_err(),
            "nothing stored"
        );
        assert!(audit_actions(&world.api, &world.api.scope_a, &theirs).await.is_empty(), "nothing audited");

        // A's own subscription registers, audited with the actor and the request's correlation id.
        let created = world.register(&admin_a, &own.to_uppercase()).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        assert_eq!(created.json()["subscription_id"], own);
        let filter = AuditFilter { target_id: Some(own.clone()), ..AuditFilter::default() };
        let audit = world
            .api
            .store
            .list_audit(&world.api.scope_a, &filter, PageRequest::first(5).unwrap())
            .await
            .unwrap();
        assert_eq!(audit.total, 1);
        let row = &audit.items[0];
        assert_eq!(row.action, "subscription.created");
        assert_eq!(row.metadata.0["correlation_id"], "corr-0001");
        assert_eq!(row.metadata.0["after"]["display_name"], "registered");
        assert!(row.metadata.0["before"].is_null());
        world.api.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_without_an_answer_from_arm_is_refused_not_accepted() {
    let world = World::start(Backend::Sqlite).await;
    let own = world.subscription(A, true).unwrap();
    // An ARM endpoint nobody listens on: ownership cannot be known, so nothing is registered.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let api =
        Api::with_azure(Backend::Sqlite, [world.tid(A), world.tid(B)], arm(&world.sandbox, &dead)).await;
    let admin_a = token(&world.tid(A), &[ADMIN]).await;
    let body = json!({"subscription_id": own, "display_name": "x"});
    let reply = api.call(Method::POST, "/api/v1/subscriptions", Some(&admin_a), Some(body.clone())).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{}", reply.text);
    assert_eq!(reply.json()["error"]["code"], "unavailable");
    assert!(reply.headers.get("retry-after").is_some());
    assert!(api.store.get_subscription(&api.scope_a, &own).await.is_err());

    // Without any Azure identity the answer is the same 503, never a silent registration.
    let bare = Api::new().await;
    let admin = token(&tid_a(), &[ADMIN]).await;
    let reply = bare.call(Method::POST, "/api/v1/subscriptions", Some(&admin), Some(body)).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{}", reply.text);
    assert!(bare.store.get_subscription(&bare.scope_a, &own).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_change_has_its_audit_row() {
    let world = World::start(Backend::Sqlite).await;
    let api = &world.api;
    let admin_a = token(&world.tid(A), &[ADMIN]).await;
    let own = world.subscription(A, true).unwrap();
    assert_eq!(world.register(&admin_a, &own).await.status, StatusCode::CREATED);
    let path = format!("/api/v1/subscriptions/{own}");
    let patched =
        api.call(Method::PATCH, &path, Some(&admin_a), Some(json!({"display_name": "renamed"}))).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(api.call(Method::DELETE, &path, Some(&admin_a), None).await.status, StatusCode::NO_CONTENT);
    let mut actions = audit_actions(api, &api.scope_a, &own).await;
    actions.sort();
    assert_eq!(actions, ["subscription.created", "subscription.deleted", "subscription.updated"]);

    // Platform admins: create, read, update, delete a tenant; each change audited in the
    // tenant's own log, reads like X-AzCops-Tenant requests.
    let platform = token(&tid_control(), &[PLATFORM_ADMIN]).await;
    let created = api
        .call(
            Method::POST,
            "/api/v1/tenants",
            Some(&platform),
            Some(json!({"name": "Fabrikam", "azure_tenant_id": guid(77)})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let tenant_path = format!("/api/v1/tenants/{id}");
    assert_eq!(api.get(&tenant_path, &platform).await.status, StatusCode::OK);
    assert_eq!(api.get("/api/v1/tenants", &platform).await.status, StatusCode::OK);
    let renamed =
        api.call(Method::PATCH, &tenant_path, Some(&platform), Some(json!({"name": "Fabrikam Ltd"}))).await;
    assert_eq!(renamed.status, StatusCode::OK);
    assert_eq!(
        api.call(Method::DELETE, &tenant_path, Some(&platform), None).await.status,
        StatusCode::NO_CONTENT
    );

    let scope = TenantScope::from_trusted_trigger(id.clone());
    let log =
        api.store.list_audit(&scope, &AuditFilter::default(), PageRequest::first(20).unwrap()).await.unwrap();
    let mut actions: Vec<&str> = log.items.iter().map(|e| e.action.as_str()).collect();
    actions.sort_unstable();
    assert_eq!(actions, ["platform_admin.request", "tenant.created", "tenant.deleted", "tenant.updated"]);
    let platform_oid = claims(&tid_control(), &[PLATFORM_ADMIN])["oid"].clone();
    assert!(log.items.iter().all(|e| json!(e.actor) == platform_oid), "{:?}", log.items);
    let updated = log.items.iter().find(|e| e.action == "tenant.updated").unwrap();
    assert_eq!(updated.metadata.0["before"]["name"], "Fabrikam");
    assert_eq!(updated.metadata.0["after"]["name"], "Fabrikam Ltd");
    assert!(updated.metadata.0["correlation_id"].as_str().is_some_and(|c| !c.is_empty()));
    let listing = api
        .store
        .list_audit(
            &TenantScope::from_trusted_trigger(azcops::store::PLATFORM_AUDIT_TENANT),
            &AuditFilter::default(),
            PageRequest::first(5).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(listing.items.iter().map(|e| e.target_id.as_str()).collect::<Vec<_>>(), ["/api/v1/tenants"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_cannot_spend_the_platforms_arm_quota_by_trying_guids() {
    let world = World::start(Backend::Sqlite).await;
    let admin_a = token(&world.tid(A), &[ADMIN]).await;
    let mut answers = Vec::new();
    for n in 0..(azcops::api::REGISTRATIONS_PER_MINUTE + 10) {
        let reply = world.register(&admin_a, &guid(0xbeef00 + n)).await;
        answers.push((reply.status, reply.headers.get("retry-after").is_some()));
    }
    let refused = answers.iter().filter(|(s, _)| *s == StatusCode::UNPROCESSABLE_ENTITY).count();
    let limited: Vec<_> = answers.iter().filter(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS).collect();
    assert!(!limited.is_empty() && limited.iter().all(|(_, retry)| *retry), "{answers:?}");
    // The bucket refills at half a check a second, so a few more than the burst may pass.
    assert!(refused < azcops::api::REGISTRATIONS_PER_MINUTE as usize + 5, "{answers:?}");
    // Tenant B's budget is its own.
    let admin_b = token(&world.tid(B), &[ADMIN]).await;
    assert_eq!(world.register(&admin_b, &guid(0xbeefff)).await.status, StatusCode::UNPROCESSABLE_ENTITY);
}
