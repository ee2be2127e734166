//! How the local host and its handler child end together.
//!
//! The emulator stops on Ctrl-C or SIGTERM and kills the handler before it exits. For every other
//! way it can end (a panic, SIGKILL, an abort) the handler watches a pipe: its stdin is the read
//! end of a pipe whose write end only the emulator holds, so the kernel closes it when the
//! emulator dies, however it dies, and the handler sees end-of-file and exits. This needs no
//! `unsafe` (unlike `prctl(PR_SET_PDEATHSIG)` in a `pre_exec` hook) and also covers a handler
//! whose parent died before it could have registered a death signal.

use std::io::Read;

/// Set to `1` by the emulator on the handler it starts: stdin is the emulator's lifeline pipe.
/// The Functions host sets no such variable, so a deployed handler never watches stdin.
pub const PARENT_PIPE_ENV: &str = "AZCOPS_DEV_PARENT_PIPE";

/// Resolves once the emulator that started this process is gone (end-of-file or an error on
/// stdin), when [`PARENT_PIPE_ENV`] is `1`; otherwise never.
pub async fn parent_gone() {
    if std::env::var(PARENT_PIPE_ENV).as_deref() != Ok("1") {
        return std::future::pending().await;
    }
    let (gone, wait) = tokio::sync::oneshot::channel::<()>();
    // A plain thread, not Tokio's blocking pool: a read blocked on stdin must not hold up the
    // runtime's shutdown when the process ends for another reason.
    let watcher = std::thread::Builder::new().name("parent-pipe".into()).spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 256];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = gone.send(());
    });
    if watcher.is_err() {
        return std::future::pending().await;
    }
    let _ = wait.await;
}

/// Listens for Ctrl-C (SIGINT) and SIGTERM, the two ways a local host is asked to stop, from
/// this call on (a signal arriving before the returned future is awaited is not lost), and
/// resolves on the first. Call it before starting anything that must be stopped. Needs a Tokio
/// runtime.
pub fn stop_requested() -> impl std::future::Future<Output = ()> + Send {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let listening =
            signal(SignalKind::interrupt()).and_then(|i| Ok((i, signal(SignalKind::terminate())?)));
        async move {
            match listening {
                Ok((mut interrupt, mut terminate)) => {
                    tokio::select! { _ = interrupt.recv() => {}, _ = terminate.recv() => {} }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
