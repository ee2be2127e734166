#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Rule-engine integration tests: `evaluate_subscription` against a real store, on SQLite and
//! PostgreSQL (`AZCOPS_TEST_POSTGRES_URL`, see `scripts/start-postgres.sh`).

#[path = "../store/support.rs"]
#[allow(dead_code)]
mod support;

mod prices;
mod service;
