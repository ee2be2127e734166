#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Raw-store tests: one behaviour suite run on the local directory store (a temp dir) and on the
//! Blob store against Azurite (`AZCOPS_TEST_AZURITE`, see `scripts/start-azurite.sh`), plus
//! `raw::open` from settings.

mod support;

mod behaviour;
mod open;
