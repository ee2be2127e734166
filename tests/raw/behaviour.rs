//! The write-once contract, identical on every implementation.

use std::sync::Arc;

use azcops::raw::{PutOutcome, RawError, RawStore};

type Store = Arc<dyn RawStore>;

fn snapshot(tenant: &str, day: &str, sub: &str, run: &str) -> String {
    format!("{tenant}/costs/2026/11/{day}/{sub}/{run}.json")
}

async fn create_then_read_back(store: Store, tenant: String) {
    let path = snapshot(&tenant, "25", "sub-1", "run-1");
    let content = br#"{"rows":[1,2,3]}"#;
    assert_eq!(store.put_create_only(&path, content).await.unwrap(), PutOutcome::Created);
    assert_eq!(store.get(&path).await.unwrap().as_deref(), Some(&content[..]));
    assert_eq!(store.list(&tenant).await.unwrap(), [path]);
}

async fn identical_reput_is_already_exists(store: Store, tenant: String) {
    let path = format!("{tenant}/manifests/2026/11/25/sub-1.json");
    assert_eq!(store.put_create_only(&path, b"{\"n\":1}").await.unwrap(), PutOutcome::Created);
    for _ in 0..2 {
        assert_eq!(store.put_create_only(&path, b"{\"n\":1}").await.unwrap(), PutOutcome::AlreadyExists);
    }
    assert_eq!(store.list(&tenant).await.unwrap().len(), 1);
}

async fn different_content_conflicts_and_keeps_the_original(store: Store, tenant: String) {
    let path = snapshot(&tenant, "25", "sub-1", "run-1");
    store.put_create_only(&path, b"{\"v\":1}").await.unwrap();
    // A prefix of the original and a longer body must both be told apart.
    for other in [&b"{\"v\":2}"[..], b"{\"v\"", b"{\"v\":1} "] {
        let err = store.put_create_only(&path, other).await.unwrap_err();
        assert!(matches!(&err, RawError::Conflict { path: p } if *p == path), "{err}");
    }
    assert_eq!(store.get(&path).await.unwrap().unwrap(), b"{\"v\":1}");
}

async fn concurrent_identical_puts_create_exactly_once(store: Store, tenant: String) {
    let path = snapshot(&tenant, "25", "sub-1", "run-race");
    let content: Vec<u8> =
        serde_json::to_vec(&serde_json::json!({"rows": (0..2000).collect::<Vec<_>>()})).unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (store, path, content) = (store.clone(), path.clone(), content.clone());
            tokio::spawn(async move { store.put_create_only(&path, &content).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap().unwrap());
    }
    assert_eq!(outcomes.iter().filter(|o| **o == PutOutcome::Created).count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == PutOutcome::AlreadyExists).count(), 15);
    assert_eq!(store.get(&path).await.unwrap().unwrap(), content);
    assert_eq!(store.list(&tenant).await.unwrap(), [path]);
}

async fn concurrent_different_puts_have_one_winner(store: Store, tenant: String) {
    let path = snapshot(&tenant, "25", "sub-1", "run-race");
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let (store, path) = (store.clone(), path.clone());
            let content = format!("{{\"writer\":{i},\"pad\":\"{}\"}}", "x".repeat(4096)).into_bytes();
            tokio::spawn(async move { (content.clone(), store.put_create_only(&path, &content).await) })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (content, Ok(PutOutcome::Created)) => winners.push(content),
            (_, Err(RawError::Conflict { .. })) => {}
            (_, other) => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    assert_eq!(store.get(&path).await.unwrap().unwrap(), winners[0], "the winner's content, whole");
}

async fn missing_paths_read_as_none(store: Store, tenant: String) {
    assert_eq!(store.get(&snapshot(&tenant, "25", "sub-1", "absent")).await.unwrap(), None);
    store.put_create_only(&snapshot(&tenant, "25", "sub-1", "run-1"), b"{}").await.unwrap();
    // A "directory" of other blobs is not a blob.
    assert_eq!(store.get(&format!("{tenant}/costs/2026/11/25/sub-1")).await.unwrap(), None);
    assert_eq!(store.get(&format!("{tenant}/costs/2026/11/25/sub-1/run-1.json/x")).await.unwrap(), None);
    assert!(store.list(&format!("{tenant}/nothing/")).await.unwrap().is_empty());
}

async fn list_by_prefix_is_sorted(store: Store, tenant: String) {
    let other = format!("{tenant}x");
    let paths = [
        snapshot(&tenant, "25", "sub-2", "run-1"),
        format!("{tenant}/manifests/2026/11/25/sub-1.json"),
        snapshot(&tenant, "24", "sub-1", "run-9"),
        snapshot(&tenant, "25", "sub-1", "run-2"),
        snapshot(&tenant, "25", "sub-1", "run-10"),
        format!("{tenant}/costs-extra.json"),
        snapshot(&other, "25", "sub-1", "run-1"),
    ];
    for p in &paths {
        store.put_create_only(p, b"{}").await.unwrap();
    }
    let costs = store.list(&format!("{tenant}/costs/")).await.unwrap();
    assert_eq!(
        costs,
        [
            snapshot(&tenant, "24", "sub-1", "run-9"),
            snapshot(&tenant, "25", "sub-1", "run-10"),
            snapshot(&tenant, "25", "sub-1", "run-2"),
            snapshot(&tenant, "25", "sub-2", "run-1"),
        ]
    );
    // A prefix is a string prefix, as in Blob Storage: it need not end at a `/`.
    let partial = store.list(&format!("{tenant}/costs")).await.unwrap();
    assert_eq!(partial.len(), 5);
    assert_eq!(partial[0], format!("{tenant}/costs-extra.json"));
    let mut all = store.list(&format!("{tenant}/")).await.unwrap();
    assert_eq!(all.len(), 6);
    assert!(all.is_sorted());
    all.push(snapshot(&other, "25", "sub-1", "run-1"));
    assert_eq!(store.list(&tenant).await.unwrap(), all, "the bare tenant also matches `{tenant}x`");
    assert_eq!(store.list(&format!("{tenant}/costs/2026/11/25/sub-1/run-1")).await.unwrap().len(), 1);
}

async fn invalid_paths_are_rejected(store: Store, tenant: String) {
    let bad = [
        String::new(),
        format!("/{tenant}/a.json"),
        format!("{tenant}//a.json"),
        format!("{tenant}/a.json/"),
        format!("{tenant}/../escape.json"),
        format!("../{tenant}/a.json"),
        format!("{tenant}/./a.json"),
        format!("{tenant}/.hidden.json"),
        format!("{tenant}\\a.json"),
    ];
    for path in &bad {
        let put = store.put_create_only(path, b"{}").await;
        assert!(matches!(&put, Err(RawError::InvalidPath { path: p }) if p == path), "put {path:?}: {put:?}");
        let got = store.get(path).await;
        assert!(matches!(&got, Err(RawError::InvalidPath { .. })), "get {path:?}: {got:?}");
    }
    for prefix in [format!("/{tenant}"), format!("{tenant}/../"), format!("{tenant}//")] {
        assert!(matches!(store.list(&prefix).await, Err(RawError::InvalidPath { .. })), "list {prefix:?}");
    }
    assert!(store.list(&tenant).await.unwrap().is_empty(), "nothing was written");
}

async fn empty_and_large_contents_round_trip(store: Store, tenant: String) {
    let empty = format!("{tenant}/empty.json");
    assert_eq!(store.put_create_only(&empty, b"").await.unwrap(), PutOutcome::Created);
    assert_eq!(store.get(&empty).await.unwrap(), Some(Vec::new()));
    assert_eq!(store.put_create_only(&empty, b"").await.unwrap(), PutOutcome::AlreadyExists);
    // Larger than one download partition, with every byte value, seeded.
    let large: Vec<u8> =
        (0..(5 * 1024 * 1024 + 17u32)).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let path = format!("{tenant}/large.json");
    assert_eq!(store.put_create_only(&path, &large).await.unwrap(), PutOutcome::Created);
    assert_eq!(store.get(&path).await.unwrap().unwrap(), large);
    assert_eq!(store.put_create_only(&path, &large).await.unwrap(), PutOutcome::AlreadyExists);
    let mut changed = large.clone();
    changed[large.len() - 1] ^= 1;
    assert!(matches!(store.put_create_only(&path, &changed).await, Err(RawError::Conflict { .. })));
}

/// Runs each behaviour on both stores.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod local {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let (_dir, store) = crate::support::local().await;
                    super::$name(store, crate::support::tenant()).await;
                }
            )*
        }
        mod blob {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(store) = crate::support::blob().await else { return };
                    super::$name(store, crate::support::tenant()).await;
                }
            )*
        }
    };
}

on_both_stores!(
    create_then_read_back,
    identical_reput_is_already_exists,
    different_content_conflicts_and_keeps_the_original,
    concurrent_identical_puts_create_exactly_once,
    concurrent_different_puts_have_one_winner,
    missing_paths_read_as_none,
    list_by_prefix_is_sorted,
    invalid_paths_are_rejected,
    empty_and_large_contents_round_trip,
);
