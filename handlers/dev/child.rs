//! Starts and supervises the handler process the way the Functions host does (spec §1).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{Mutex, watch};

use crate::appdef::AppDefinition;
use crate::config::SettingsSource;

use super::DevError;

/// How long the handler may take to answer its first `GET /` (the host's default).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Non-zero exits tolerated within [`RESTART_WINDOW`] before the emulator gives up, as the host.
const MAX_RESTARTS: usize = 3;
const RESTART_WINDOW: Duration = Duration::from_secs(30 * 60);

/// The running handler process, restarted when it dies.
pub struct Supervisor {
    /// The handler's port on 127.0.0.1.
    pub port: u16,
    ready: watch::Receiver<bool>,
    ready_tx: Arc<watch::Sender<bool>>,
    check: Arc<tokio::sync::Notify>,
    child: Arc<Mutex<Option<Child>>>,
    pid: Arc<AtomicU32>,
    stopping: watch::Sender<bool>,
}

struct Launch {
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    dir: PathBuf,
    port: u16,
}

/// How long a stopped handler may take to exit on its own: longer than its telemetry flush
/// (`insights::FLUSH_TIMEOUT`), so what an instance holds at shutdown is not lost locally.
const STOP_GRACE: Duration = Duration::from_secs(5);

impl Supervisor {
    /// Starts the handler and waits until it answers `GET /`.
    ///
    /// # Errors
    /// No free port, the process cannot start, or it is not ready within 30 s.
    pub async fn start(
        app: &AppDefinition,
        program: PathBuf,
        source: &SettingsSource,
    ) -> Result<Self, DevError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let root = std::fs::canonicalize(&app.root)?;
        let worker_id = uuid::Uuid::new_v4().to_string();
        let mut env: Vec<(String, String)> =
            source.pairs().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        for (key, value) in [
            ("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string()),
            ("FUNCTIONS_HTTPWORKER_PORT", port.to_string()),
            ("FUNCTIONS_CUSTOMHANDLER_WORKER_ID", worker_id.clone()),
            ("FUNCTIONS_HTTPWORKER_ID", worker_id),
            ("FUNCTIONS_APP_ROOT_PATH", root.display().to_string()),
            (super::PARENT_PIPE_ENV, "1".to_owned()),
        ] {
            env.push((key.to_owned(), value));
        }
        let args = app.host.arguments.iter().map(|a| expand_settings(a, source)).collect();
        let launch = Launch { program, args, env, dir: root, port };
        let process = spawn(&launch)?;
        let pid = Arc::new(AtomicU32::new(process.id().unwrap_or(0)));
        let child = Arc::new(Mutex::new(Some(process)));
        let (ready_tx, ready) = watch::channel(false);
        let ready_tx = Arc::new(ready_tx);
        let check = Arc::new(tokio::sync::Notify::new());
        let (stopping, stop_rx) = watch::channel(false);
        wait_ready(port).await?;
        let _ = ready_tx.send(true);
        tokio::spawn(supervise(launch, child.clone(), pid.clone(), ready_tx.clone(), check.clone(), stop_rx));
        Ok(Self { port, ready, ready_tx, check, child, pid, stopping })
    }

    /// Reports that the handler did not answer: invocations wait until it is ready again (the
    /// host's dispatcher waits for a restarted worker) and the supervisor checks it at once.
    pub fn report_unreachable(&self) {
        let _ = self.ready_tx.send(false);
        self.check.notify_one();
    }

    /// Waits until the handler is up (immediately, unless it is restarting).
    pub async fn ready(&self) {
        let mut ready = self.ready.clone();
        let _ = ready.wait_for(|r| *r).await;
    }

    /// The running handler's process id (the latest one after a restart).
    pub fn pid(&self) -> u32 {
        self.pid.load(Ordering::SeqCst)
    }

    /// Stops the handler as the host shuts a worker down: it closes the lifeline, so the handler
    /// sends what telemetry it still holds and exits, and kills it if it has not within
    /// [`STOP_GRACE`].
    pub async fn stop(&self) {
        let _ = self.stopping.send(true);
        if let Some(mut child) = self.child.lock().await.take() {
            drop(child.stdin.take());
            if tokio::time::timeout(STOP_GRACE, child.wait()).await.is_err() {
                let _ = child.kill().await;
            }
        }
    }
}

/// Expands `%NAME%` tokens from settings; unresolved tokens are removed, as the host does.
fn expand_settings(text: &str, source: &SettingsSource) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('%') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('%') {
            Some(end) => {
                out.push_str(source.get(&after[..end]).unwrap_or(""));
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn spawn(launch: &Launch) -> Result<Child, DevError> {
    let mut command = Command::new(&launch.program);
    command
        .args(&launch.args)
        .current_dir(&launch.dir)
        .env_clear()
        .envs(launch.env.iter().cloned())
        // The lifeline: the write end stays in `Child` (never written, never closed) until this
        // process ends, and the handler exits at end-of-file (see `lifecycle`).
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| DevError::Handler(format!("cannot start {}: {e}", launch.program.display())))?;
    // The host captures the handler's output; here it goes to stderr so that stdout keeps one
    // console line per invocation.
    if let Some(out) = child.stdout.take() {
        tokio::spawn(relay(BufReader::new(out)));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(relay(BufReader::new(err)));
    }
    Ok(child)
}

async fn relay<R: tokio::io::AsyncRead + Unpin>(reader: BufReader<R>) {
    let mut lines = reader.lines();
    while let Ok(Some(line)) = lines.next_line().await {
        say_err!("[handler] {line}");
    }
}

/// Polls `GET /` every 25 ms until any HTTP response arrives, as the host does.
async fn wait_ready(port: u16) -> Result<(), DevError> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| DevError::Handler(e.to_string()))?;
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    let mut tick = tokio::time::interval(Duration::from_millis(25));
    loop {
        tick.tick().await;
        if client.get(format!("http://127.0.0.1:{port}/")).send().await.is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(DevError::Handler("not ready within 30 s (no answer on GET /)".into()));
        }
    }
}

async fn supervise(
    launch: Launch,
    child: Arc<Mutex<Option<Child>>>,
    pid: Arc<AtomicU32>,
    ready: Arc<watch::Sender<bool>>,
    check: Arc<tokio::sync::Notify>,
    mut stopping: watch::Receiver<bool>,
) {
    let mut failures: Vec<Instant> = Vec::new();
    loop {
        let status = {
            let mut guard = child.lock().await;
            let Some(process) = guard.as_mut() else { return };
            // Poll without holding the lock across the wait so `stop` can take the child.
            match process.try_wait() {
                Ok(Some(status)) => Some(status),
                Ok(None) => None,
                Err(_) => return,
            }
        };
        let Some(status) = status else {
            // Alive but reported unreachable: probe it before letting invocations through.
            if !*ready.borrow() {
                if wait_ready(launch.port).await.is_ok() {
                    let _ = ready.send(true);
                }
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(100)) => {},
                () = check.notified() => {},
                _ = stopping.changed() => return,
            }
            continue;
        };
        if *stopping.borrow() {
            return;
        }
        let _ = ready.send(false);
        if status.code() == Some(0) {
            say_err!("[host] handler exited with code 0; the host does not restart it");
            return;
        }
        failures.retain(|t| t.elapsed() < RESTART_WINDOW);
        failures.push(Instant::now());
        if failures.len() > MAX_RESTARTS {
            say_err!("[host] handler failed {} times within 30 minutes; giving up", failures.len());
            return;
        }
        say_err!("[host] handler exited ({status}); restarting");
        match spawn(&launch) {
            Ok(process) => {
                pid.store(process.id().unwrap_or(0), Ordering::SeqCst);
                *child.lock().await = Some(process);
                if wait_ready(launch.port).await.is_ok() {
                    let _ = ready.send(true);
                }
            }
            Err(e) => {
                say_err!("[host] {e}");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_tokens_expand_and_unknown_ones_vanish() {
        let source = SettingsSource::from_pairs([("MODE", "serve")]);
        assert_eq!(expand_settings("%MODE%", &source), "serve");
        assert_eq!(expand_settings("a%NOPE%b", &source), "ab");
        assert_eq!(expand_settings("50%", &source), "50%");
    }
}
