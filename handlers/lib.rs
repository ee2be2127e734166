//! AzCops: a serverless, multi-tenant Azure FinOps control plane.
//!
//! One binary serves every Azure Functions trigger as a custom handler. Everything testable
//! lives in this library; `main.rs` is only the command-line front end.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod azure;
pub mod config;
pub mod model;
pub mod sandbox;
pub mod store;
