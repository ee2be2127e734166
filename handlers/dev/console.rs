//! Where the local host's console lines go: the terminal (`azcops dev`, `azcops demo --verbose`)
//! or, once [`log_to`] is called (`azcops demo` by default), a log file, so the demo's own
//! progress and summary are not buried under every invocation's and every Azure request's lines.

use std::io::Write as _;
use std::path::Path;
use std::sync::{Mutex, OnceLock, PoisonError};

static LOG: OnceLock<Mutex<std::fs::File>> = OnceLock::new();

/// Sends the host's console lines (and the handler's output it relays) to `path` from now on.
///
/// # Errors
/// The file cannot be created.
pub fn log_to(path: &Path) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    // A second call keeps the first file: one process, one log.
    let _ = LOG.set(Mutex::new(file));
    Ok(())
}

fn to_log(line: &str) -> bool {
    let Some(file) = LOG.get() else { return false };
    let mut file = file.lock().unwrap_or_else(PoisonError::into_inner);
    let _ = writeln!(file, "{line}");
    true
}

/// A line for standard output (the log file when quiet).
pub fn out(line: &str) {
    if !to_log(line) {
        println!("{line}");
    }
}

/// A line for standard error (the log file when quiet).
pub fn err(line: &str) {
    if !to_log(line) {
        eprintln!("{line}");
    }
}
