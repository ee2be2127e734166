//! Integration tests of the Azure client and connectors against real fixtures and a local
//! fake ARM server (the sandbox is built separately; these tests need nothing running).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod collect;
mod fake;
mod fixtures;
mod foreign_links;
mod identity;
mod lighthouse;
mod logging;
mod paging;
mod retries;
mod tenants;
