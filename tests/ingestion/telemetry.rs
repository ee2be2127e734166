//! Application Insights export with the sandbox as the ingestion endpoint: a nightly run through
//! the emulator produces request, dependency and trace items joined by the invocation's
//! operation id, Azure calls as dependencies without tokens, a bearer on every upload with
//! `Authorization=AAD`, nothing without a connection string, and an ingestion outage that
//! fails no invocation.

use std::collections::BTreeSet;

use azcops::sandbox::control::FaultConfig;
use azcops::store::ItemStatus;
use serde_json::{Value, json};

use crate::support::{Backends, World, check};

async fn telemetry(world: &World) -> Value {
    reqwest::get(format!("{}/_sandbox/telemetry", world.sandbox_url())).await.unwrap().json().await.unwrap()
}

async fn configure(world: &World, config: Value) {
    let response = reqwest::Client::new()
        .put(format!("{}/_sandbox/telemetry", world.sandbox_url()))
        .json(&config)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
}

fn connect(world: &mut World) {
    let connection = format!(
        "InstrumentationKey=00000000-0000-4000-8000-0000000000a1;IngestionEndpoint={}/",
        world.sandbox_url()
    );
    world.set("APPLICATIONINSIGHTS_CONNECTION_STRING", &connection);
    world.set("WEBSITE_SITE_NAME", "func-azcops-test");
}

fn of_type<'a>(items: &'a [Value], base_type: &str) -> Vec<&'a Value> {
    items.iter().filter(|i| i["data"]["baseType"] == base_type).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nightly_run_reaches_application_insights_joined_by_invocation_with_a_bearer_on_every_upload() {
    let mut world = World::start(Backends::Embedded, FaultConfig::default()).await;
    connect(&mut world);
    world.set("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "Authorization=AAD");
    configure(&world, json!({"require_token": true})).await;
    world.register_all();
    let (tenant_index, hidden) = world.unreadable_subscription();
    world.insert_subscription(tenant_index, &hidden).await;
    assert_eq!(telemetry(&world).await["uploads"], json!([]), "local commands export nothing");

    check(&world.nightly(), "azcops dev --run nightly_ingest");
    let (_, items) = world.items_of_tenant(tenant_index).await;
    assert!(items.iter().any(|i| i.subscription_id == hidden && i.status == ItemStatus::Failed));

    let received = telemetry(&world).await;
    assert_eq!(received["refused_uploads"], 0, "every upload carried a valid bearer");
    let uploads = received["uploads"].as_array().unwrap();
    assert!(!uploads.is_empty());
    for upload in uploads {
        assert_eq!(upload["bearer"]["aud"], "https://monitor.azure.com", "{upload}");
    }
    assert_eq!(received["dropped_items"], 0, "the sandbox kept everything");
    let items = received["items"].as_array().unwrap();
    let text = received["items"].to_string();
    assert!(!text.contains("sbx."), "no token reaches Application Insights");
    assert!(!text.to_ascii_lowercase().contains("bearer "), "no authorization header either");
    assert!(items.iter().all(|i| i["tags"]["ai.cloud.role"] == "func-azcops-test"));

    // One request per invocation, whose operation id is its invocation id.
    let requests = of_type(items, "RequestData");
    let ingests: Vec<&&Value> = requests
        .iter()
        .filter(|r| r["data"]["baseData"]["properties"]["faas.name"] == "ingest_subscription")
        .collect();
    assert!(ingests.len() > 3, "{requests:?}");
    let mut operations = BTreeSet::new();
    for request in &requests {
        let invocation = request["data"]["baseData"]["properties"]["faas.invocation_id"].as_str().unwrap();
        let operation = request["tags"]["ai.operation.id"].as_str().unwrap();
        assert_eq!(operation, invocation.replace('-', ""), "{request}");
        operations.insert(operation.to_owned());
    }
    assert_eq!(operations.len(), requests.len(), "one operation per invocation");
    // The Azure calls (ingestion's, and the rule evaluations' price look-ups) are dependencies
    // inside those operations.
    let dependencies = of_type(items, "RemoteDependencyData");
    let azure: Vec<&&Value> =
        dependencies.iter().filter(|d| d["data"]["baseData"]["type"] == "Azure").collect();
    assert!(!azure.is_empty());
    for dependency in &azure {
        let data = dependency["data"]["baseData"]["data"].as_str().unwrap();
        assert!(!data.contains("skiptoken") && !data.contains("sig="), "{data}");
        assert_eq!(dependency["data"]["baseData"]["target"], "127.0.0.1", "{dependency}");
    }
    let in_operation =
        |item: &Value| item["tags"]["ai.operation.id"].as_str().is_some_and(|op| operations.contains(op));
    let joined = azure.iter().filter(|d| in_operation(d)).count();
    assert_eq!(
        joined,
        azure.len(),
        "every Azure call joins its invocation's operation: {joined} of {}",
        azure.len()
    );
    assert!(of_type(items, "MessageData").iter().any(|m| in_operation(m)), "trace messages join too");

    // The run's figures as custom metrics, under names the infrastructure checks know.
    let metrics = of_type(items, "MetricData");
    let sum = |name: &str| -> f64 {
        metrics
            .iter()
            .map(|m| &m["data"]["baseData"]["metrics"][0])
            .filter(|m| m["name"] == name)
            .map(|m| m["value"].as_f64().unwrap())
            .sum()
    };
    let succeeded = {
        let mut n = 0;
        for tenant in 0..world.tenant_count() {
            n += world
                .items_of_tenant(tenant)
                .await
                .1
                .iter()
                .filter(|i| i.status == ItemStatus::Succeeded)
                .count();
        }
        n
    };
    assert_eq!(sum("azcops.ingestion.subscriptions_failed"), 1.0, "the one subscription outside its tenant");
    assert_eq!(sum("azcops.ingestion.subscriptions_succeeded"), succeeded as f64);
    assert!(sum("azcops.ingestion.rows") > 0.0);
    assert!(sum("azcops.azure.requests") >= azure.len() as f64 - 0.5, "every Azure request is counted");
    assert!(sum("azcops.rules.evaluated") > 0.0);
    assert!(sum("azcops.findings") > 0.0 && sum("azcops.savings.monthly") > 0.0);
    let durations = metrics
        .iter()
        .filter(|m| m["data"]["baseData"]["metrics"][0]["name"] == "azcops.ingestion.duration_ms")
        .count();
    assert_eq!(durations, succeeded, "one duration per ingested subscription");
    for metric in &metrics {
        let name = metric["data"]["baseData"]["metrics"][0]["name"].as_str().unwrap();
        assert!(azcops::insights::metrics::NAMES.contains(&name), "{name} is not a listed metric");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_connection_string_nothing_is_sent_and_an_outage_fails_no_invocation() {
    let quiet = World::start(Backends::Embedded, FaultConfig::default()).await;
    quiet.register_all();
    check(&quiet.nightly(), "a run without a connection string");
    let received = telemetry(&quiet).await;
    assert_eq!((received["uploads"].clone(), received["refused_uploads"].clone()), (json!([]), json!(0)));

    let mut down = World::start(Backends::Embedded, FaultConfig::default()).await;
    connect(&mut down);
    configure(&down, json!({"fail_status": 500})).await;
    down.register_all();
    check(&down.nightly(), "a run while the ingestion endpoint answers 500");
    for tenant in 0..down.tenant_count() {
        let (_, items) = down.items_of_tenant(tenant).await;
        assert!(items.iter().all(|i| i.status == ItemStatus::Succeeded), "{items:?}");
    }
    let received = telemetry(&down).await;
    assert!(received["refused_uploads"].as_u64().unwrap() > 0, "the handler did try: {received}");
    assert_eq!(received["items"], json!([]));
}
