//! Sign-in with the federated credential: `azcops serve` (a child process, since azure_identity
//! reads the managed-identity endpoint from the process environment) with
//! `AZCOPS_WEB_CLIENT_ASSERTION=managed-identity` and the sandbox as managed-identity endpoint
//! and issuer, whose token endpoint checks the assertion.

use std::collections::BTreeMap;

use azcops::sandbox::{Sandbox, SandboxOptions};
use azcops::store::{Actor, NewTenant, Store, StoreConfig, TenantType};
use azcops::web::assertion::JWT_BEARER;

use crate::support::*;

struct Served {
    child: tokio::process::Child,
    base: String,
}

async fn serve(
    sandbox: &azcops::sandbox::RunningSandbox,
    database_url: &str,
    identity_header: &str,
) -> Served {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut env: BTreeMap<String, String> = sandbox.exports().into_iter().collect();
    env.insert("IDENTITY_HEADER".into(), identity_header.into());
    env.insert("FUNCTIONS_CUSTOMHANDLER_PORT".into(), port.to_string());
    env.insert("FUNCTIONS_APP_ROOT_PATH".into(), env!("CARGO_MANIFEST_DIR").into());
    env.insert("DATABASE_URL".into(), database_url.into());
    env.insert("AZCOPS_AUTH_AUDIENCE".into(), azcops::sandbox::entra::DEFAULT_AUDIENCE.into());
    env.insert("AZCOPS_AUTH_AUTHORITY".into(), sandbox.base_url().into());
    env.insert("AZCOPS_WEB_CLIENT_ID".into(), CLIENT_ID.into());
    env.insert("AZCOPS_WEB_CLIENT_ASSERTION".into(), "managed-identity".into());
    env.insert("AZCOPS_SESSION_KEY".into(), SESSION_KEY.into());
    env.insert("RUST_LOG".into(), "warn".into());
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_azcops"))
        .arg("serve")
        .env_clear()
        .envs(env)
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    for _ in 0..1000 {
        if client.get(format!("{base}/")).send().await.is_ok() {
            return Served { child, base };
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("azcops serve did not start");
}

fn browser(base: &str) -> Browser {
    Browser {
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap(),
        cookies: BTreeMap::new(),
        base: base.to_owned(),
    }
}

/// Starts a sign-in on the site and picks an identity: the code and redirect URI it returns.
async fn fresh_code(user: &mut Browser) -> (String, String) {
    let start = user.get("/auth/signin").await;
    let (_, mut form) = user.at_identity_page(&start.location()).await;
    form.push(("identity".into(), "t0-reader".into()));
    let chosen = user.client.post(start.location()).form_pairs(&form).send().await.unwrap();
    let callback = url::Url::parse(chosen.headers()["location"].to_str().unwrap()).unwrap();
    let code = callback.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    let redirect = form.iter().find(|(k, _)| k == "redirect_uri").unwrap().1.clone();
    (code, redirect)
}

#[tokio::test]
async fn sign_in_with_the_managed_identitys_client_assertion() {
    let options = SandboxOptions::new(
        "tenants=1,subscriptions=1,resources=5,days=2".parse().unwrap(),
        7,
        chrono::Utc::now().date_naive(),
    );
    let sandbox = Sandbox::start(options).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/assertion.db", dir.path().display());
    let store = Store::connect(&StoreConfig::for_url(&url, 2).unwrap()).await.unwrap();
    store.migrate().await.unwrap();
    let tenant = &sandbox.estate().tenants[0];
    let new = NewTenant {
        name: tenant.name.clone(),
        azure_tenant_id: tenant.id.clone(),
        tenant_type: TenantType::Internal,
    };
    store.platform_admin().create_tenant(&new, &Actor::named("test")).await.unwrap();
    store.close().await;
    let exports: BTreeMap<String, String> = sandbox.exports().into_iter().collect();

    // The identity endpoint gives the app a token for api://AzureADTokenExchange, the sandbox's
    // token endpoint accepts it as the client's credential, and the session starts.
    let mut served = serve(&sandbox, &url, &exports["IDENTITY_HEADER"]).await;
    let mut user = browser(&served.base);
    let signed_in = user.sign_in("t0-reader").await;
    assert_eq!((signed_in.status, signed_in.location().as_str()), (303, "/"), "{}", signed_in.text);
    let overview = user.get("/").await;
    assert_eq!(overview.status, 200, "{}", overview.text);
    assert!(overview.text.contains(&tenant.name));

    // The token endpoint checks the assertion: another audience's token or a forged one is
    // refused before the code's verifier is even looked at (each try needs a fresh code).
    let token_url = format!("{}/organizations/oauth2/v2.0/token", sandbox.base_url());
    for assertion in [sandbox.managed_identity_token(), "sbx.forged.token".to_owned()] {
        let (code, redirect) = fresh_code(&mut user).await;
        let pairs = [
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT_ID),
            ("code", code.as_str()),
            ("redirect_uri", redirect.as_str()),
            ("code_verifier", "not-the-verifier-but-long-enough-0123456789abcdef"),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", assertion.as_str()),
        ];
        let answer = reqwest::Client::new()
            .post(&token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(pairs).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 401);
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client");
        assert!(body["error_description"].as_str().unwrap().starts_with("AADSTS700211"), "{body}");
    }
    // A token for the exchange audience is still refused when its subject is not the managing
    // tenant's identity (another tenant's managed identity), or when the assertion type is not
    // a JWT bearer; the managing identity's token of the right type gets past the assertion
    // check, to the verifier's.
    let exchange = azcops::sandbox::signin::TOKEN_EXCHANGE_AUDIENCE;
    let expires = chrono::Utc::now().timestamp() + 3600;
    let stranger = sandbox.issue_token("11111111-1111-4111-8111-111111111111", exchange, expires);
    let managing = sandbox.issue_token(&tenant.id, exchange, expires);
    let saml = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer";
    for (assertion, assertion_type, status, error, code) in [
        (stranger.as_str(), JWT_BEARER, 401, "invalid_client", "AADSTS700213"),
        (managing.as_str(), saml, 400, "invalid_request", "AADSTS700025"),
        (managing.as_str(), JWT_BEARER, 400, "invalid_grant", "AADSTS501481"),
    ] {
        let (code_value, redirect) = fresh_code(&mut user).await;
        let pairs = [
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT_ID),
            ("code", code_value.as_str()),
            ("redirect_uri", redirect.as_str()),
            ("code_verifier", "not-the-verifier-but-long-enough-0123456789abcdef"),
            ("client_assertion_type", assertion_type),
            ("client_assertion", assertion),
        ];
        let answer = reqwest::Client::new()
            .post(&token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(pairs).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), status, "{code}");
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(body["error"], error, "{body}");
        assert!(body["error_description"].as_str().unwrap().starts_with(code), "{body}");
    }
    served.child.kill().await.unwrap();

    // Without a working managed identity (a wrong identity header) no assertion can be made and
    // the sign-in says the identity provider cannot be reached, rather than sending a secret.
    let mut broken = serve(&sandbox, &url, "wrong-header").await;
    let mut user = browser(&broken.base);
    let refused = user.sign_in("t0-reader").await;
    assert_eq!(refused.status, 503, "{}", refused.text);
    assert!(!user.cookies.contains_key("azcops_session"));
    broken.child.kill().await.unwrap();
    let _ = sandbox.shutdown().await;
}
