//! AzCops: a serverless, multi-tenant Azure FinOps control plane.
//!
//! One binary serves every Azure Functions trigger as a custom handler. Everything testable
//! lives in this library; `main.rs` is only the command-line front end.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod api;
pub mod app;
pub mod appdef;
pub mod azure;
pub mod azurite;
pub mod config;
pub mod dev;
pub mod evaluation;
pub mod ingest;
pub mod invocation;
pub mod model;
pub mod money;
pub mod ops;
pub mod raw;
pub mod rules;
pub mod sandbox;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod triggers;
pub mod web;

/// Runs every module's settings parser and returns the problems found, each naming its setting.
pub fn validate_settings(source: &config::SettingsSource) -> Vec<config::ConfigError> {
    let mut problems = Vec::new();
    if let Err(e) = telemetry::TelemetryConfig::from_source(source) {
        problems.push(e);
    }
    if let Err(e) = state::DiagnosticOptions::from_source(source) {
        problems.push(e);
    }
    if let Err(e) = dev::DevConfig::from_source(source) {
        problems.push(e);
    }
    if let Err(e) = azure::AzureConfig::from_source(source) {
        problems.push(e);
    }
    if let Err(e) = store::StoreConfig::from_source(source) {
        problems.push(e);
    }
    if let Err(e) = ingest::IngestConfig::from_source(source) {
        problems.push(e);
    }
    if let Err(e) = raw::RawConfig::from_source(source) {
        problems.push(e);
    }
    if let Err(e) = api::ApiConfig::from_source(source) {
        problems.push(e);
    }
    if let Err(e) = web::WebConfig::from_source(source) {
        problems.push(e);
    }
    problems
}
