//! The `ingest_exports` function under the local host: an export run landing in the `exports`
//! container (the manifest written last) is ingested for the tenant whose folder it is in.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use azcops::store::CostSource;

use crate::support::{Db, Kind, estate, exports, register};

/// Lays out an app root: host.json and every function.json of the repository.
fn app_root(app: &Path) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(app.join("functions")).unwrap();
    std::fs::copy(repo.join("host.json"), app.join("host.json")).unwrap();
    for entry in std::fs::read_dir(repo.join("functions")).unwrap() {
        let source = entry.unwrap().path();
        let target = app.join("functions").join(source.file_name().unwrap());
        std::fs::create_dir_all(&target).unwrap();
        std::fs::copy(source.join("function.json"), target.join("function.json")).unwrap();
    }
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_landing_in_the_container_is_ingested_by_the_trigger() {
    let db = Db::new(Kind::Sqlite).await.unwrap();
    let estate = estate(chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap());
    register(&db.store, &estate, 1, CostSource::Exports).await;
    let root = db.dir.path().join("storage");
    let app = db.dir.path().join("app");
    app_root(&app);
    std::fs::create_dir_all(root.join("exports")).unwrap();
    let mut dev = Command::new(env!("CARGO_BIN_EXE_azcops"))
        .args(["dev", "--app-root", &app.display().to_string(), "--port", "0", "--no-timers"])
        .current_dir(&app)
        .env("DATABASE_URL", &db.url)
        .env("AZCOPS_DEV_STORAGE_ROOT", &root)
        .env("AZCOPS_RAW_STORE", root.join("raw"))
        .env("AZCOPS_EXPORTS_CONTAINER", root.join("exports"))
        .env("AzureWebJobsStorage", "memory")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the banner: events are raised only for blobs created after start-up.
    {
        use std::io::{BufRead, BufReader};
        let mut lines = BufReader::new(dev.stdout.take().unwrap()).lines();
        lines.by_ref().map_while(Result::ok).find(|l| l.contains("listening on http://127.0.0.1:")).unwrap();
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    }
    // Written elsewhere, then moved in part files first and the manifest last, as Cost
    // Management delivers a run.
    let staging = db.dir.path().join("staging");
    let runs = exports(&estate, &staging, 200, 0);
    let run = runs.iter().find(|r| r.tenant == 1 && r.month.to_string() == "2026-11-01").unwrap();
    let folder = Path::new(&run.manifest).parent().unwrap();
    std::fs::create_dir_all(root.join("exports").join(folder)).unwrap();
    for entry in std::fs::read_dir(staging.join(folder)).unwrap() {
        let name = entry.unwrap().file_name();
        if name != "manifest.json" {
            std::fs::rename(staging.join(folder).join(&name), root.join("exports").join(folder).join(&name))
                .unwrap();
        }
    }
    std::fs::rename(staging.join(&run.manifest), root.join("exports").join(&run.manifest)).unwrap();

    // Done when the raw layer holds the run's record (written after the slices commit).
    let records = root.join("raw");
    let recorded = || walk(&records).into_iter().any(|p| p.to_string_lossy().contains("/exports/2026/11/"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline && !recorded() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(recorded(), "the run is recorded in the raw layer");
    let slices = db.count("SELECT COUNT(*) FROM export_slices").await;
    let _ = dev.kill();
    let _ = dev.wait();
    let registered = estate.subscriptions.iter().filter(|s| s.tenant == 1 && s.delegated).count() as i64;
    assert_eq!(slices, registered, "the trigger replaced one November slice per registered subscription");
    assert!(db.count("SELECT COUNT(*) FROM costs_daily").await > 100);
    db.finish().await;
}
