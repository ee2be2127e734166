//! The page frame: head with the versioned assets, navigation, the user and tenant, sign-out.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use crate::web::assets::url;
use crate::web::viewer::{CSRF_FIELD, Viewer};

/// Which navigation entry is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// The overview.
    Overview,
    /// Recommendations.
    Recommendations,
    /// Ingestion runs.
    Ingestion,
    /// The cost explorer.
    Costs,
    /// The resource inventory.
    Resources,
    /// Cost-center tag coverage.
    Governance,
    /// The tenant's rule settings (Admins).
    Settings,
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            // htmx must not inject its indicator <style> (the CSP refuses inline styles), and error
            // pages (4xx/5xx) are shown like any page rather than silently dropped.
            meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"responseHandling":[{"code":"204","swap":false},{"code":"...","swap":true}]}"#;
            title { (title) " · AzCops" }
            link rel="icon" href=(url("favicon.svg")) type="image/svg+xml";
            link rel="stylesheet" href=(url("app.css"));
            script src=(url("htmx.min.js")) defer {}
            script src=(url("echarts.simple.min.js")) defer {}
            script src=(url("app.js")) defer {}
        }
    }
}

fn footer() -> Markup {
    html! {
        footer.site-footer {
            "AzCops " (crate::state::VERSION) " · "
            a href="/api/docs" { "API" } " · Licences: "
            a href=(url("LICENSE-htmx.txt")) { "htmx (0BSD)" } ", "
            a href=(url("LICENSE-echarts.txt")) { "Apache ECharts (Apache-2.0)" } " ("
            a href=(url("NOTICE-echarts.txt")) { "notice" } ", "
            a href=(url("LICENSE-echarts-d3.txt")) { "d3" } ")"
        }
    }
}

/// A full page for a signed-in viewer.
pub fn page(viewer: &Viewer, tenant_name: &str, nav: Nav, title: &str, body: Markup) -> Response {
    let caller = &viewer.tenant.caller;
    let roles = caller.roles.iter().map(|r| r.trim_start_matches("AzCops.")).collect::<Vec<_>>().join(", ");
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body hx-boost="true" hx-headers=(format!(r#"{{"x-csrf-token":"{}"}}"#, viewer.session.csrf)) {
                a.skip-link href="#main" { "Skip to content" }
                header.site-header {
                    a.brand href="/" { "AzCops" }
                    nav aria-label="Main" {
                        ul {
                            li { a href="/" aria-current=[(nav == Nav::Overview).then_some("page")] { "Overview" } }
                            li { a href="/costs" aria-current=[(nav == Nav::Costs).then_some("page")] { "Costs" } }
                            li { a href="/recommendations" aria-current=[(nav == Nav::Recommendations).then_some("page")] { "Recommendations" } }
                            li { a href="/ingestion" aria-current=[(nav == Nav::Ingestion).then_some("page")] { "Ingestion" } }
                            li { a href="/resources" aria-current=[(nav == Nav::Resources).then_some("page")] { "Resources" } }
                            li { a href="/governance" aria-current=[(nav == Nav::Governance).then_some("page")] { "Governance" } }
                            @if viewer.tenant.require(crate::api::auth::ROLE_ADMIN).is_ok() {
                                li { a href="/settings" aria-current=[(nav == Nav::Settings).then_some("page")] { "Settings" } }
                            }
                        }
                    }
                    div.who {
                        span data-testid="tenant-name" { (tenant_name) }
                        @if caller.platform_admin { " " a href="/portfolio" { "Portfolio · switch tenant" } }
                        " · "
                        span data-testid="user-name" { (caller.display_name.as_deref().unwrap_or("signed in")) }
                        " "
                        span.roles data-testid="user-roles" { "(" (roles) ")" }
                        form.inline method="post" action="/auth/signout" hx-boost="false" {
                            input type="hidden" name=(CSRF_FIELD) value=(viewer.session.csrf);
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main #main tabindex="-1" { (body) }
                (footer())
            }
        }
    };
    Html(markup.into_string()).into_response()
}

/// A page without a signed-in viewer (errors, sign-in states).
pub fn bare(title: &str, body: Markup) -> Html<String> {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.site-header { a.brand href="/" { "AzCops" } }
                main #main { (body) }
                (footer())
            }
        }
    };
    Html(markup.into_string())
}

/// `/` without `AZCOPS_WEB_CLIENT_ID`: says so and names the settings.
pub fn not_configured() -> Response {
    let body = html! {
        div.notice role="status" {
            h1 { "Sign-in is not configured" }
            p data-testid="not-configured" {
                "The dashboard needs an Entra ID app registration to sign users in. Set "
                code { "AZCOPS_WEB_CLIENT_ID" } " (the registration's client id), "
                code { "AZCOPS_WEB_CLIENT_SECRET" } " and " code { "AZCOPS_SESSION_KEY" }
                " and restart. The API under " a href="/api/docs" { "/api" } " works without them."
            }
        }
    };
    (StatusCode::SERVICE_UNAVAILABLE, bare("Sign-in is not configured", body)).into_response()
}

/// After sign-out.
pub fn signed_out() -> Html<String> {
    bare(
        "Signed out",
        html! {
            div.notice role="status" {
                h1 { "You are signed out" }
                p { a href="/auth/signin" { "Sign in again" } }
            }
        },
    )
}

/// A platform admin has no tenant of their own chosen: points at the tenant switcher.
pub fn choose_tenant_hint() -> Response {
    (StatusCode::SEE_OTHER, [(axum::http::header::LOCATION, "/portfolio")]).into_response()
}
