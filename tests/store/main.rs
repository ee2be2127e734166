#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Store integration tests. Every case runs twice: on a temp-file SQLite database and on a
//! fresh PostgreSQL database (`AZCOPS_TEST_POSTGRES_URL`, see `scripts/start-postgres.sh`).

mod support;

mod anomalies;
mod audit;
mod costs;
mod entra;
mod exports;
mod ingestion;
mod isolation;
mod least_privilege;
mod pagination;
mod pool;
mod recommendation_summary;
mod recommendations;
mod resources;
mod rollups;
mod rule_inputs;
mod tenants;
