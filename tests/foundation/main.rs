//! Foundation tests: the host protocol against real payloads, the function set's layout, the
//! invocation server, and the local host emulator with the real handler process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod azurite;
mod demo_console;
mod emulator;
mod layout;
mod lifecycle;
mod protocol;
mod server;
mod support;
