//! `raw::open` from settings, and what each store leaves in its storage.

use azcops::config::SettingsSource;
use azcops::raw::{PutOutcome, RawConfig, open};
use azure_storage_blob::BlobContainerClient;
use futures::TryStreamExt as _;

use crate::support::{azurite, tenant};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_local_store_writes_plain_files_under_its_root_and_leaves_no_temporaries() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("raw");
    let url = format!("file://{}", root.display());
    let config = RawConfig::from_source(&SettingsSource::from_pairs([("AZCOPS_RAW_STORE", url)])).unwrap();
    let store = open(&config).await.unwrap();
    let tenant = tenant();
    let path = format!("{tenant}/costs/2026/11/25/sub-1/run-1.json");
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, path) = (store.clone(), path.clone());
            tokio::spawn(async move { store.put_create_only(&path, b"{\"a\":1}").await.unwrap() })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        created += usize::from(task.await.unwrap() == PutOutcome::Created);
    }
    assert_eq!(created, 1);
    let dir_of_file = root.join(&tenant).join("costs/2026/11/25/sub-1");
    assert_eq!(std::fs::read(dir_of_file.join("run-1.json")).unwrap(), b"{\"a\":1}");
    let names: Vec<String> = std::fs::read_dir(&dir_of_file)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    assert_eq!(names, ["run-1.json"], "no temporary file is left behind");
}

#[tokio::test]
async fn azurite_opens_create_the_configured_container_and_blobs_are_json() {
    let Some(connection) = azurite() else { return };
    let container = format!("raw-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let source = SettingsSource::from_pairs([
        ("AZCOPS_RAW_STORE", connection.clone()),
        ("AZCOPS_RAW_CONTAINER", container.clone()),
    ]);
    let config = RawConfig::from_source(&source).unwrap();
    let store = open(&config).await.unwrap();
    let path = format!("{}/manifests/2026/11/25/sub-1.json", tenant());
    assert_eq!(store.put_create_only(&path, b"{}").await.unwrap(), PutOutcome::Created);
    // Opening again finds the container and the blob in it.
    let again = open(&config).await.unwrap();
    assert_eq!(again.list("").await.unwrap(), vec![path.clone()]);

    let RawConfig::Azurite { account, .. } = &config else { panic!("not azurite: {config:?}") };
    let url = account.signed_url(&account.blob_endpoint, &container).unwrap();
    let client = BlobContainerClient::new(url, None, None).unwrap();
    let mut pager = client.list_blobs(None).unwrap();
    let item = pager.try_next().await.unwrap().unwrap();
    assert_eq!(item.name.as_deref(), Some(path.as_str()));
    let content_type = item.properties.and_then(|p| p.content_type);
    assert_eq!(content_type.as_deref(), Some("application/json"));
}

#[tokio::test]
async fn an_https_container_opens_with_the_managed_identity_without_a_request() {
    let source = SettingsSource::from_pairs([
        ("AZCOPS_RAW_STORE", "https://acct.blob.core.windows.net/raw"),
        ("AZCOPS_AZURE_CREDENTIAL", "managed_identity"),
    ]);
    let config = RawConfig::from_source(&source).unwrap();
    assert!(matches!(config, RawConfig::Blob { .. }), "{config:?}");
    // Tokens are fetched on the first blob request, so opening needs no identity endpoint.
    assert!(open(&config).await.is_ok());
}
