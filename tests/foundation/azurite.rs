//! The emulator on Azurite: queue retries and poison, and blob-created events, through the real
//! storage service rather than in memory.

use azcops::azurite::StorageAccount;
use azure_core::http::RequestContent;
use azure_storage_blob::BlobContainerClient;

use crate::support::{Dev, azurite, isolate_queues, make_app};

fn quiet_host(host: &mut serde_json::Value) {
    host["extensions"]["queues"]["visibilityTimeout"] = "00:00:00".into();
    host["extensions"]["queues"]["maxDequeueCount"] = 3.into();
}

#[test]
fn queues_on_azurite_retry_then_poison() {
    let Some(connection) = azurite() else { return };
    let dir = tempfile::tempdir().unwrap();
    let app = make_app(dir.path(), &["api"], quiet_host);
    let queue = isolate_queues(&app);
    let mut dev = Dev::start(
        &app,
        &dir.path().join("data"),
        &["--run", "diag_fanout", "--until-idle", "--no-timers"],
        &[
            ("AzureWebJobsStorage", &connection),
            ("AZCOPS_DIAGNOSTIC_FANOUT", "4"),
            ("AZCOPS_DIAGNOSTIC_FAIL_SEQUENCE", "3"),
        ],
    );
    assert!(dev.wait_exit().success(), "{}", dev.seen.join("\n"));
    assert_eq!(dev.count("diag_queue", "Succeeded"), 3, "{}", dev.seen.join("\n"));
    assert_eq!(dev.count("diag_queue", "Failed"), 3);
    let poisoned = format!("moved to {queue}-poison after 3 attempts");
    assert_eq!(dev.seen.iter().filter(|l| l.contains(&poisoned)).count(), 1, "{}", dev.seen.join("\n"));
    assert_eq!(dev.count("diag_poison", "Succeeded"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blob_created_on_azurite_triggers_exactly_once() {
    let Some(connection) = azurite() else { return };
    let account = StorageAccount::from_connection_string("AZCOPS_TEST_AZURITE", &connection).unwrap();
    let container =
        BlobContainerClient::new(account.signed_url(&account.blob_endpoint, "raw").unwrap(), None, None)
            .unwrap();
    let _ = container.create(None).await; // already exists on a second run
    let dir = tempfile::tempdir().unwrap();
    let app = make_app(dir.path(), &["api"], quiet_host);
    let tenant = uuid::Uuid::new_v4().simple().to_string();
    let mut dev = tokio::task::block_in_place(|| {
        Dev::start(&app, &dir.path().join("data"), &["--no-timers"], &[("AzureWebJobsStorage", &connection)])
    });
    for name in [
        format!("{tenant}/resource_graph/2026/11/25/sub-1/run.json"),
        format!("{tenant}/manifests/2026/11/25/sub-1.json"),
    ] {
        container
            .blob_client(&name)
            .upload(RequestContent::from(br#"{"run_id":"r1"}"#.to_vec()), None)
            .await
            .unwrap();
    }
    tokio::task::block_in_place(|| {
        dev.wait_for("the blob invocation", |l| l.contains("Executed 'Functions.diag_blob' (Succeeded"));
    });
    // Scans run in order, so a duplicate event for the first manifest would come before the
    // second manifest's event.
    let second = format!("{tenant}/manifests/2026/11/25/sub-2.json");
    container.blob_client(&second).upload(RequestContent::from(b"{}".to_vec()), None).await.unwrap();
    tokio::task::block_in_place(|| {
        dev.wait_for("the second blob invocation", |l| {
            l.contains("diag_blob received a blob") && l.contains("sub-2.json")
        });
    });
    let received: Vec<&String> =
        dev.seen.iter().filter(|l| l.contains("diag_blob received a blob")).collect();
    assert_eq!(received.len(), 2, "one per manifest; none for the non-matching blob: {received:?}");
    assert!(received[0].contains(&format!("raw/{tenant}/manifests/2026/11/25/sub-1.json")), "{received:?}");
}
