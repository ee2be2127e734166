//! Stores under test, each scoped by a unique tenant prefix so runs sharing one Azurite never
//! see each other's blobs.

use std::sync::Arc;

use azcops::config::SettingsSource;
use azcops::raw::{RawConfig, RawStore, open};

/// The Azurite connection string from `scripts/start-azurite.sh`, or `None` when the caller set
/// `AZCOPS_SKIP_AZURITE=1`; otherwise a missing Azurite fails the test.
pub fn azurite() -> Option<String> {
    match std::env::var("AZCOPS_TEST_AZURITE") {
        Ok(value) if !value.is_empty() => Some(value),
        _ if std::env::var("AZCOPS_SKIP_AZURITE").as_deref() == Ok("1") => {
            eprintln!("skipped: AZCOPS_SKIP_AZURITE=1");
            None
        }
        _ => panic!(
            "AZCOPS_TEST_AZURITE is not set: run `eval \"$(scripts/start-azurite.sh)\"` (or set AZCOPS_SKIP_AZURITE=1)"
        ),
    }
}

/// A tenant id no other test or run uses.
pub fn tenant() -> String {
    format!("t-{}", uuid::Uuid::new_v4().simple())
}

/// A local store on a fresh temp dir (kept alive by the returned guard).
pub async fn local() -> (tempfile::TempDir, Arc<dyn RawStore>) {
    let dir = tempfile::tempdir().unwrap();
    let source = SettingsSource::from_pairs([("AZCOPS_RAW_STORE", dir.path().to_str().unwrap())]);
    let store = open(&RawConfig::from_source(&source).unwrap()).await.unwrap();
    (dir, store)
}

/// The Blob store on Azurite's `raw` container, or `None` when Azurite is skipped.
pub async fn blob() -> Option<Arc<dyn RawStore>> {
    let connection = azurite()?;
    let source = SettingsSource::from_pairs([("AZCOPS_RAW_STORE", connection)]);
    let config = RawConfig::from_source(&source).unwrap();
    assert!(matches!(config, RawConfig::Azurite { .. }), "{config:?}");
    Some(open(&config).await.unwrap())
}
