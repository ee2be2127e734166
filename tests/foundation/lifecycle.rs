//! The handler child never outlives the local host. `azcops dev` and `azcops demo` stopped with
//! SIGTERM or Ctrl-C stop their handler and exit cleanly; an emulator killed outright (SIGKILL, as after a crash)
//! leaves no handler behind either, because the handler exits when its stdin lifeline closes.
//! A handler started without the emulator's marker (as the Functions host starts it) ignores
//! stdin. Liveness is read from /proc by pid and start time, waiting in a bounded loop.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use crate::support::make_app;

const DEADLINE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(20);

/// A process identity that survives pid reuse: pid plus start time (field 22 of /proc/pid/stat).
#[derive(Debug, Clone)]
struct Proc {
    pid: u32,
    started: String,
}

/// State letter, parent pid and start time of `pid`, if it exists.
fn stat(pid: u32) -> Option<(String, u32, String)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    Some((fields[0].to_owned(), fields[1].parse().ok()?, fields[19].to_owned()))
}

impl Proc {
    fn of(pid: u32) -> Self {
        let (_, _, started) = stat(pid).unwrap_or_else(|| panic!("no process {pid}"));
        Self { pid, started }
    }

    /// Running (a zombie has exited; a new process with the same pid is another process).
    fn alive(&self) -> bool {
        matches!(stat(self.pid), Some((state, _, started)) if started == self.started && state != "Z" && state != "X")
    }

    fn wait_gone(&self, what: &str) {
        let deadline = Instant::now() + DEADLINE;
        while self.alive() {
            assert!(
                Instant::now() < deadline,
                "{what}: handler pid {} still running after {DEADLINE:?}",
                self.pid
            );
            std::thread::sleep(POLL);
        }
    }
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill").args([&format!("-{name}"), &pid.to_string()]).status().unwrap();
    assert!(status.success(), "kill -{name} {pid}");
}

fn wait_exit(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "the emulator did not exit within {DEADLINE:?}");
        std::thread::sleep(POLL);
    }
}

/// A running `azcops dev` and the handler it started.
struct Emulator {
    child: Child,
    handler: Proc,
}

impl Emulator {
    /// `azcops dev` on a temporary app, running once its banner is printed.
    fn start(dir: &Path) -> Self {
        let app = make_app(dir, &["api"], |_| {});
        let storage = dir.join("data");
        let mut command = Command::new(env!("CARGO_BIN_EXE_azcops"));
        command
            .args(["dev", "--app-root"])
            .arg(&app)
            .args(["--port", "0", "--no-timers"])
            .env("AZCOPS_DEV_STORAGE_ROOT", &storage)
            .env("DATABASE_URL", format!("sqlite://{}", storage.join("azcops.db").display()));
        Self::launch(command, "listening on http://127.0.0.1:")
    }

    /// `azcops demo` on a one-subscription sandbox estate, once `ready` is printed.
    fn demo(dir: &Path, ready: &str) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_azcops"));
        command
            .current_dir(crate::support::repo())
            .args([
                "demo",
                "--port",
                "0",
                "--estate",
                "tenants=1,subscriptions=1,resources=5,days=3",
                "--data-dir",
            ])
            .arg(dir.join("data"));
        Self::launch(command, ready)
    }

    /// Starts `command`, reads its console until a line contains `ready`, and finds the handler
    /// pid in the local host's banner.
    fn launch(mut command: Command, ready: &str) -> Self {
        let mut child = command
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        // Keeps draining after `ready` so the emulator never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + DEADLINE;
        let mut banner = None;
        loop {
            match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    if line.contains("listening on http://127.0.0.1:") {
                        banner = Some(line.clone());
                    }
                    if line.contains(ready) {
                        break;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!("{ready:?} not printed within {DEADLINE:?}"),
                Err(RecvTimeoutError::Disconnected) => panic!("exited before printing {ready:?}"),
            }
        }
        let banner = banner.unwrap_or_else(|| panic!("no local host banner before {ready:?}"));
        let pid: u32 = banner
            .split("pid ")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|digits| digits.parse().ok())
            .unwrap_or_else(|| panic!("no handler pid in the banner: {banner}"));
        let handler = Proc::of(pid);
        let (_, parent, _) = stat(pid).unwrap();
        assert_eq!(parent, child.id(), "the handler is the emulator's child");
        let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap();
        assert!(
            cmdline.split('\0').any(|arg| arg == "serve"),
            "the handler runs `azcops serve`: {cmdline:?}"
        );
        Self { child, handler }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn sigterm_stops_the_emulator_and_its_handler() {
    let dir = tempfile::tempdir().unwrap();
    let mut emulator = Emulator::start(dir.path());
    assert!(emulator.handler.alive());
    signal(emulator.child.id(), "TERM");
    let status = wait_exit(&mut emulator.child);
    assert!(status.success(), "SIGTERM is a clean stop, as Ctrl-C: {status}");
    emulator.handler.wait_gone("after SIGTERM to the emulator");
}

#[test]
fn ctrl_c_stops_the_emulator_and_its_handler() {
    let dir = tempfile::tempdir().unwrap();
    let mut emulator = Emulator::start(dir.path());
    signal(emulator.child.id(), "INT");
    let status = wait_exit(&mut emulator.child);
    assert!(status.success(), "{status}");
    emulator.handler.wait_gone("after Ctrl-C to the emulator");
}

#[test]
fn a_killed_emulator_leaves_no_handler_behind() {
    let dir = tempfile::tempdir().unwrap();
    let mut emulator = Emulator::start(dir.path());
    assert!(emulator.handler.alive());
    // SIGKILL: no handler, no unwinding, no cleanup code runs in the emulator.
    emulator.child.kill().unwrap();
    let status = emulator.child.wait().unwrap();
    assert!(!status.success());
    emulator.handler.wait_gone("after SIGKILL of the emulator");
}

#[test]
fn sigterm_stops_a_serving_demo_and_its_handler() {
    let dir = tempfile::tempdir().unwrap();
    let mut demo = Emulator::demo(dir.path(), "Ctrl-C to stop.");
    signal(demo.child.id(), "TERM");
    let status = wait_exit(&mut demo.child);
    assert!(status.success(), "{status}");
    demo.handler.wait_gone("after SIGTERM to azcops demo");
}

#[test]
fn sigterm_during_the_demo_run_stops_it_and_its_handler() {
    let dir = tempfile::tempdir().unwrap();
    // Signalled as soon as the handler is up, while the demo's ingestion may still be running.
    let mut demo = Emulator::demo(dir.path(), "listening on http://127.0.0.1:");
    signal(demo.child.id(), "TERM");
    let status = wait_exit(&mut demo.child);
    assert!(status.success(), "{status}");
    demo.handler.wait_gone("after SIGTERM during the demo run");
}

#[test]
fn a_killed_demo_leaves_no_handler_behind() {
    let dir = tempfile::tempdir().unwrap();
    let mut demo = Emulator::demo(dir.path(), "Ctrl-C to stop.");
    demo.child.kill().unwrap();
    demo.child.wait().unwrap();
    demo.handler.wait_gone("after SIGKILL of azcops demo");
}

/// `azcops serve` as the Functions host starts it: stdin at end-of-file from the start.
fn serve(dir: &Path, marker: bool) -> (Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_azcops"));
    command
        .arg("serve")
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
        .env("FUNCTIONS_APP_ROOT_PATH", crate::support::repo())
        .env("DATABASE_URL", format!("sqlite://{}", dir.join("azcops.db").display()))
        .env("RUST_LOG", "warn")
        .env_remove(azcops::dev::PARENT_PIPE_ENV)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if marker {
        command.env(azcops::dev::PARENT_PIPE_ENV, "1");
    }
    (command.spawn().unwrap(), port)
}

#[test]
fn only_a_handler_started_by_the_emulator_watches_stdin() {
    let dir = tempfile::tempdir().unwrap();
    // Without the marker, end-of-file on stdin means nothing: the handler serves.
    let (mut plain, port) = serve(dir.path(), false);
    let client =
        reqwest::blocking::Client::builder().no_proxy().timeout(Duration::from_secs(2)).build().unwrap();
    let deadline = Instant::now() + DEADLINE;
    while client.get(format!("http://127.0.0.1:{port}/")).send().is_err() {
        assert!(plain.try_wait().unwrap().is_none(), "a handler without the marker exited");
        assert!(Instant::now() < deadline, "the handler never answered GET /");
        std::thread::sleep(POLL);
    }
    assert!(plain.try_wait().unwrap().is_none(), "still serving with stdin at end-of-file");
    plain.kill().unwrap();
    plain.wait().unwrap();
    // With the marker, a closed lifeline ends it on its own, cleanly.
    let (mut watched, _) = serve(dir.path(), true);
    let status = wait_exit(&mut watched);
    assert!(status.success(), "{status}");
}
