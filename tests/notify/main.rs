//! Integration tests of notifications: channels through the API (real tokens from the mock
//! OpenID provider), the outbox and delivery runs against a real HTTP receiver, on SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod budget;
mod channels;
mod delivery;
mod functions;
mod receiver;
mod retention;
mod routing;
mod sandbox;
mod shapes;
mod support;
mod tickets;
