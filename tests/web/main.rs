//! The dashboard's server side against a real store (SQLite and PostgreSQL) and the sandbox as
//! identity provider: delivery (readiness, CSP, versioned gzipped assets), sign-in (code flow,
//! PKCE, state, single-use codes), sessions, CSRF, roles and tenant isolation. The browser
//! suite (`tests/web/browser/`) covers rendering, charts and accessibility.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod actions;
mod assertion;
mod flows;
mod support;
mod views;

use support::*;

#[tokio::test]
async fn without_a_client_id_the_root_says_sign_in_is_not_configured_and_probes_stay_ready() {
    let site = Site::start(Backend::Sqlite, false).await;
    let mut browser = site.browser();
    let page = browser.get("/").await;
    assert_eq!(page.status, 503);
    assert!(
        page.text.contains("Sign-in is not configured") && page.text.contains("AZCOPS_WEB_CLIENT_ID"),
        "{}",
        page.text
    );
    assert!(page.headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(page.headers["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));
    let probe = site.browser().client.get(format!("{}/", site.base)).send().await.unwrap();
    assert_eq!(probe.status().as_u16(), 200);
    assert_eq!(probe.json::<serde_json::Value>().await.unwrap()["status"], "ready");
    assert_eq!(browser.get("/auth/signin").await.status, 503, "no sign-in without a client");
    let health = site.browser().client.get(format!("{}/api/health", site.base)).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200, "the API is unchanged under /api");
    site.finish().await;
}

#[tokio::test]
async fn assets_are_versioned_immutable_gzipped_and_licensed() {
    let site = Site::start(Backend::Sqlite, false).await;
    let client = reqwest::Client::builder().no_proxy().no_gzip().build().unwrap();
    let url = azcops::web::assets::url("echarts.simple.min.js");
    let hash = url.split('/').nth(2).unwrap().to_owned();
    assert_eq!(hash.len(), 16, "{url}");
    let gz =
        client.get(format!("{}{url}", site.base)).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(gz.status().as_u16(), 200);
    assert_eq!(
        gz.headers().get("content-encoding").map(|v| v.to_str().unwrap()),
        Some("gzip"),
        "{:?}",
        gz.headers()
    );
    assert_eq!(gz.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert!(gz.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    let compressed = gz.bytes().await.unwrap().len();
    let plain = client.get(format!("{}{url}", site.base)).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let raw = plain.bytes().await.unwrap().len();
    assert!(compressed * 2 < raw, "{compressed} vs {raw}");
    let stale = client
        .get(format!("{}/assets/0000000000000000/echarts.simple.min.js", site.base))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status().as_u16(), 404, "an outdated hash is not served");
    for licence in ["LICENSE-htmx.txt", "LICENSE-echarts.txt", "NOTICE-echarts.txt"] {
        let text =
            client.get(format!("{}{}", site.base, azcops::web::assets::url(licence))).send().await.unwrap();
        assert_eq!(text.status().as_u16(), 200, "{licence}");
    }
    // Pages are compressed too.
    let page = client
        .get(format!("{}/", site.base))
        .header("accept", "text/html")
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.headers().get("content-encoding").map(|v| v.to_str().unwrap()),
        Some("gzip"),
        "{:?}",
        page.headers()
    );
    site.finish().await;
}

#[tokio::test]
async fn roles_csrf_and_tenants_on_sqlite() {
    let site = Site::start(Backend::Sqlite, true).await;
    flows::roles_csrf_and_tenants(&site).await;
    site.finish().await;
}

#[tokio::test]
async fn roles_csrf_and_tenants_on_postgres() {
    let site = Site::start(Backend::Postgres, true).await;
    flows::roles_csrf_and_tenants(&site).await;
    site.finish().await;
}

#[tokio::test]
async fn sign_in_refuses_wrong_state_replayed_codes_and_wrong_verifiers() {
    let site = Site::start(Backend::Sqlite, true).await;
    flows::sign_in_refusals(&site).await;
    site.finish().await;
}

#[tokio::test]
async fn platform_admins_choose_a_tenant_through_the_audited_path_on_postgres() {
    let site = Site::start(Backend::Postgres, true).await;
    flows::platform_admin(&site).await;
    site.finish().await;
}

#[tokio::test]
async fn platform_admins_choose_a_tenant_through_the_audited_path_on_sqlite() {
    let site = Site::start(Backend::Sqlite, true).await;
    flows::platform_admin(&site).await;
    site.finish().await;
}

#[tokio::test]
async fn every_page_stops_at_its_bound() {
    let site = Site::start(Backend::Sqlite, true).await;
    flows::bounds(&site).await;
    site.finish().await;
}
