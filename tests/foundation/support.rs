//! Test support: a temporary function app and a running `azcops dev` whose console is read line
//! by line.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds an app root in `dir`: the repository's host.json with `edit` applied, the named
/// production functions, and every diagnostic function from `tests/foundation/app`.
pub fn make_app(dir: &Path, production: &[&str], edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let root = dir.join("app");
    std::fs::create_dir_all(root.join("functions")).unwrap();
    let mut host: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("host.json")).unwrap()).unwrap();
    edit(&mut host);
    std::fs::write(root.join("host.json"), serde_json::to_string_pretty(&host).unwrap()).unwrap();
    let mut sources: Vec<PathBuf> = production.iter().map(|n| repo().join("functions").join(n)).collect();
    for entry in std::fs::read_dir(repo().join("tests/foundation/app/functions")).unwrap() {
        sources.push(entry.unwrap().path());
    }
    for source in sources {
        let target = root.join("functions").join(source.file_name().unwrap());
        std::fs::create_dir_all(&target).unwrap();
        std::fs::copy(source.join("function.json"), target.join("function.json")).unwrap();
    }
    root
}

/// A running `azcops dev` process.
pub struct Dev {
    child: Child,
    lines: Receiver<String>,
    /// Every console line read so far.
    pub seen: Vec<String>,
    /// The public port.
    pub port: u16,
}

impl Dev {
    /// Starts `azcops dev --port 0` on `app` with `envs` and waits for its banner.
    pub fn start(app: &Path, storage: &Path, args: &[&str], envs: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_azcops"));
        command
            .args(["dev", "--app-root"])
            .arg(app)
            .args(["--port", "0"])
            .args(args)
            .env("AZCOPS_DIAGNOSTIC_FUNCTIONS", "true")
            .env("AZCOPS_DEV_STORAGE_ROOT", storage)
            .env("DATABASE_URL", format!("sqlite://{}", storage.join("azcops.db").display()))
            .env("RUST_LOG", "info")
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut dev = Self { child, lines, seen: Vec::new(), port: 0 };
        let banner = dev.wait_for("the banner", |l| l.contains("listening on http://127.0.0.1:"));
        let port = banner
            .split("http://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .unwrap();
        dev.port = port.parse().unwrap();
        dev
    }

    /// Reads lines until one satisfies `predicate` (30 s deadline) and returns it.
    pub fn wait_for(&mut self, what: &str, predicate: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if predicate(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("timed out waiting for {what}; console:\n{}", self.seen.join("\n"))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("azcops dev exited before {what}; console:\n{}", self.seen.join("\n"))
                }
            }
        }
    }

    /// Reads every remaining line until the process exits and returns its exit status.
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Ok(line) = self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            self.seen.push(line);
        }
        self.child.wait().unwrap()
    }

    /// How many console lines so far report `function` finishing with `outcome`.
    pub fn count(&self, function: &str, outcome: &str) -> usize {
        let needle = format!("Executed 'Functions.{function}' ({outcome}");
        self.seen.iter().filter(|l| l.contains(&needle)).count()
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes a blob the way the raw store does: a hidden temporary file, then a rename.
pub fn write_blob(storage: &Path, path: &str, content: &str) {
    let target = storage.join(path);
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    let temp = target.with_file_name(format!(".{}.tmp", target.file_name().unwrap().to_string_lossy()));
    std::fs::write(&temp, content).unwrap();
    std::fs::rename(temp, target).unwrap();
}

/// The Azurite connection string from `scripts/start-azurite.sh`, or `None` when the caller set
/// `AZCOPS_SKIP_AZURITE=1`; otherwise a missing Azurite fails the test.
pub fn azurite() -> Option<String> {
    match std::env::var("AZCOPS_TEST_AZURITE") {
        Ok(value) if !value.is_empty() => Some(value),
        _ if std::env::var("AZCOPS_SKIP_AZURITE").as_deref() == Ok("1") => {
            eprintln!("skipped: AZCOPS_SKIP_AZURITE=1");
            None
        }
        _ => panic!(
            "AZCOPS_TEST_AZURITE is not set: run `eval \"$(scripts/start-azurite.sh)\"` (or set AZCOPS_SKIP_AZURITE=1)"
        ),
    }
}

/// Gives the diagnostic queues of the app at `app` a unique name, so runs sharing one Azurite
/// never see each other's messages.
pub fn isolate_queues(app: &Path) -> String {
    let name = format!("diag-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    for function in ["diag_fanout", "diag_queue", "diag_poison"] {
        let file = app.join("functions").join(function).join("function.json");
        let text = std::fs::read_to_string(&file).unwrap().replace("diag-queue", &name);
        std::fs::write(file, text).unwrap();
    }
    name
}
