//! Integration tests of the dashboard API: real RS256 tokens from the mock OpenID provider
//! (`eval "$(scripts/start-oidc.sh)"`), a migrated SQLite store per test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod analytics;
mod auth;
mod bounds;
mod budgets;
mod cache;
mod docs;
mod explore;
mod export_faults;
mod exports;
mod freshness;
mod lifecycle;
mod limits;
mod money;
mod ownership;
mod realised;
mod requests;
mod rule_settings;
mod sandbox;
mod support;
mod tenancy;
