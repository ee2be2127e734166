//! ARM's asynchronous-operation protocol as pure decisions: where to poll after a `201`/`202`
//! (`Azure-AsyncOperation` first, else `Location`), how long to wait (`Retry-After`, capped),
//! what a poll answer means, and the bounds that stop a remediation that never settles.

use std::time::Duration;

use http::HeaderMap;
use serde_json::Value;

/// Most status polls of one operation before the remediation gives up (as failed).
pub const MAX_POLLS: u32 = 60;
/// Most consecutive failed polls (5xx/429 after the client's own retries, transport errors)
/// tolerated before the remediation gives up for this delivery.
pub const MAX_POLL_ERRORS: u32 = 5;
/// Wait between polls when ARM gives no `Retry-After`.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(5);

/// Which header named the status monitor (they answer differently).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Monitor {
    /// `Azure-AsyncOperation`: a status body `{status: InProgress|Succeeded|Failed|Canceled}`.
    AsyncOperation(String),
    /// `Location`: `202` while running, `200`/`204` when done.
    Location(String),
}

/// The monitor of an accepted request, or `None` when the answer is final.
pub fn monitor(status: u16, headers: &HeaderMap) -> Option<Monitor> {
    if !matches!(status, 201 | 202) {
        return None;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    header("azure-asyncoperation")
        .map(Monitor::AsyncOperation)
        .or_else(|| header("location").map(Monitor::Location))
}

/// The wait before the next poll: `Retry-After` seconds when given, capped at `cap`.
pub fn wait(headers: &HeaderMap, cap: Duration) -> Duration {
    headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(DEFAULT_WAIT, Duration::from_secs)
        .min(cap)
}

/// Where an operation stands after one poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollState {
    /// Still running: poll again.
    Running,
    /// Done.
    Succeeded,
    /// Failed or was canceled, with ARM's message.
    Failed(String),
}

/// What a successful poll answer means for `monitor`.
pub fn interpret(monitor: &Monitor, status: u16, body: &Value) -> PollState {
    match monitor {
        Monitor::AsyncOperation(_) => {
            match body.get("status").and_then(Value::as_str).unwrap_or("InProgress") {
                s if s.eq_ignore_ascii_case("Succeeded") => PollState::Succeeded,
                s if s.eq_ignore_ascii_case("Failed") || s.eq_ignore_ascii_case("Canceled") => {
                    let message =
                        body.pointer("/error/message").and_then(Value::as_str).unwrap_or("no message");
                    PollState::Failed(format!("the operation ended {s}: {message}"))
                }
                _ => PollState::Running,
            }
        }
        Monitor::Location(_) if status == 202 => PollState::Running,
        Monitor::Location(_) => PollState::Succeeded,
    }
}

/// Counts polls and failed polls against [`MAX_POLLS`] and [`MAX_POLL_ERRORS`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollBudget {
    polls: u32,
    errors: u32,
}

impl PollBudget {
    /// Takes one poll; `Err` names the bound once [`MAX_POLLS`] polls were made.
    ///
    /// # Errors
    /// The operation did not settle within the bound.
    pub fn poll(&mut self) -> Result<(), String> {
        if self.polls >= MAX_POLLS {
            return Err(format!("the operation did not finish within {MAX_POLLS} status polls"));
        }
        self.polls += 1;
        Ok(())
    }

    /// Records a failed poll; `Err` once [`MAX_POLL_ERRORS`] failed in a row.
    ///
    /// # Errors
    /// Too many consecutive failed polls.
    pub fn failed(&mut self, why: &str) -> Result<(), String> {
        self.errors += 1;
        if self.errors >= MAX_POLL_ERRORS {
            return Err(format!("{MAX_POLL_ERRORS} status polls in a row failed; last: {why}"));
        }
        Ok(())
    }

    /// Records an answered poll (the error streak ends).
    pub fn answered(&mut self) {
        self.errors = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_async_operation_header_wins_and_waits_are_capped() {
        let both = headers(&[
            ("azure-asyncoperation", "https://arm/op"),
            ("location", "https://arm/loc"),
            ("retry-after", "7"),
        ]);
        assert_eq!(monitor(202, &both), Some(Monitor::AsyncOperation("https://arm/op".into())));
        assert_eq!(
            monitor(202, &headers(&[("location", "https://arm/loc")])),
            Some(Monitor::Location("https://arm/loc".into()))
        );
        assert_eq!(monitor(200, &both), None);
        assert_eq!(wait(&both, Duration::from_secs(60)), Duration::from_secs(7));
        assert_eq!(wait(&both, Duration::from_secs(2)), Duration::from_secs(2));
        assert_eq!(wait(&HeaderMap::new(), Duration::from_secs(60)), DEFAULT_WAIT);
    }

    #[test]
    fn poll_answers_are_read_per_monitor() {
        let op = Monitor::AsyncOperation(String::new());
        assert_eq!(interpret(&op, 200, &json!({"status": "InProgress"})), PollState::Running);
        assert_eq!(interpret(&op, 200, &json!({"status": "Succeeded"})), PollState::Succeeded);
        assert!(
            matches!(interpret(&op, 200, &json!({"status": "Failed", "error": {"message": "boom"}})), PollState::Failed(m) if m.contains("boom"))
        );
        let loc = Monitor::Location(String::new());
        assert_eq!(interpret(&loc, 202, &Value::Null), PollState::Running);
        assert_eq!(interpret(&loc, 204, &Value::Null), PollState::Succeeded);
    }

    #[test]
    fn the_poll_bounds_are_hit() {
        let mut budget = PollBudget::default();
        for _ in 0..MAX_POLLS {
            budget.poll().unwrap();
        }
        assert!(budget.poll().unwrap_err().contains("60 status polls"));
        let mut errors = PollBudget::default();
        for _ in 1..MAX_POLL_ERRORS {
            errors.failed("503").unwrap();
        }
        errors.answered();
        for _ in 1..MAX_POLL_ERRORS {
            errors.failed("503").unwrap();
        }
        assert!(errors.failed("503").unwrap_err().contains("in a row"));
    }
}
