//! AzCops: a serverless, multi-tenant Azure FinOps control plane.
//!
//! One binary serves every Azure Functions trigger as a custom handler. Everything testable
//! lives in this library; `main.rs` is only the command-line front end.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod analytics;
pub mod api;
pub mod app;
pub mod appdef;
pub mod application;
pub mod azure;
pub mod azurite;
pub mod config;
pub mod dev;
pub mod evaluation;
pub mod exports;
pub mod ingest;
pub mod insights;
pub mod invocation;
pub mod model;
pub mod money;
pub mod notify;
pub mod ops;
pub mod outbound;
pub mod raw;
pub mod remediation;
pub mod rules;
pub mod sandbox;
pub mod settings;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod triggers;
pub mod web;
