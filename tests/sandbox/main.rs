//! Integration tests of the sandbox: fidelity to the real API examples, determinism, paging,
//! quotas, faults, auth and error shapes — all over HTTP with reqwest.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod auth;
mod azure_answers;
mod backfill;
mod behaviour;
mod determinism;
mod faults;
mod fidelity;
mod identity;
mod paging;
mod quotas;
mod shape;
mod support;
mod telemetry;
mod wire;
