//! Cost Management's QPU quotas as Azure meters them: a pure model the governor keeps per tenant.
//!
//! Azure charges every query QPU (1 per month of data today; the response header
//! `x-ms-ratelimit-microsoft.costmanagement-qpu-consumed` says how many) against three **fixed**
//! windows per tenant — 12 per 10 s, 60 per minute, 600 per hour — each opened by the first query
//! the server counts after the previous one ended, and reports what is left in each
//! (`...-qpu-remaining: QueriesPerHour:597,QueriesPerMin:57,QueriesPer10Sec:9`).
//!
//! A window opens on the server's clock, when a query *arrives*, so the client knows its start
//! only within an interval: no earlier than the opener was sent, no later than its response came
//! back or the end of the second its `Date` header names. The model keeps that interval per
//! window and sends a query only where it cannot be miscounted:
//! - in the current window when it must arrive before the window's earliest end (it is sent
//!   more than the arrival bound — twice the longest recent round trip — before it);
//! - in a fresh window once the current one has certainly ended;
//! - never in the guard band between the two, where it could land in either.
//!
//! Responses correct the model: counts rise to what the server reports (another client of the
//! tenant — the portal, another tool — draws on the same windows), a window's start interval
//! narrows to its opener's round trip, and a query's planned QPU is corrected to what the server
//! says it consumed (a refund when it was planned too high).
//!
//! The 429s that can remain, and why they are not removed here:
//! - **another client of the tenant** (the portal, another FinOps tool) draws on the same
//!   windows between two of our queries: the model only learns it from the next response's
//!   `qpu-remaining`, and the 429's `qpu-retry-after` then closes the tenant's key for every
//!   request of ours ([`crate::azure::governor::Governor::hold`]), so one such collision costs
//!   one 429, not a burst;
//! - **a query slower to arrive than twice every one of the last 32 round trips** (the arrival
//!   bound) and sent just before the guard band: it can land in the next window, which a query sent
//!   right after the window's certain end may then fill. Widening the bound further would cost
//!   every window its band for a case the sandbox's lognormal latency (median 100 ms) shows about
//!   once a night or never.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// One documented QPU window: its name in the `qpu-remaining` header, length and limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSpec {
    /// The name in `x-ms-ratelimit-microsoft.costmanagement-qpu-remaining`.
    pub name: &'static str,
    /// Window length.
    pub len: Duration,
    /// QPU per window.
    pub limit: u32,
}

/// The documented windows, shortest first.
pub const WINDOWS: [WindowSpec; 3] = [
    WindowSpec { name: "QueriesPer10Sec", len: Duration::from_secs(10), limit: 12 },
    WindowSpec { name: "QueriesPerMin", len: Duration::from_secs(60), limit: 60 },
    WindowSpec { name: "QueriesPerHour", len: Duration::from_secs(3600), limit: 600 },
];

/// The most QPU one reservation can take: the shortest window's limit.
pub const MAX_RESERVATION: u32 = 12;

/// Round trips remembered for the arrival bound.
const RTT_HISTORY: usize = 32;
/// The arrival bound before any round trip was measured, and its floor.
const MIN_ARRIVAL_BOUND: Duration = Duration::from_millis(250);
/// The arrival bound's ceiling: a stalled response must not close the tenant for minutes.
const MAX_ARRIVAL_BOUND: Duration = Duration::from_secs(10);

/// The window a header name stands for (`QueriesPer10Sec` → 10 s), if it is one of the three.
pub fn window_len(name: &str) -> Option<Duration> {
    WINDOWS.iter().find(|w| w.name.eq_ignore_ascii_case(name.trim())).map(|w| w.len)
}

/// Parses `QueriesPerHour:597,QueriesPerMin:57,QueriesPer10Sec:9` into (window length, remaining);
/// unknown names and malformed pairs are skipped (not every response lists all three).
pub fn parse_remaining(value: &str) -> Vec<(Duration, u32)> {
    super::retry::parse_named_quota(value)
        .into_iter()
        .filter_map(|(name, n)| Some((window_len(&name)?, u32::try_from(n.max(0)).unwrap_or(u32::MAX))))
        .collect()
}

/// QPU a query over `days` days spanning `months` calendar months is planned at: Microsoft's
/// "1 QPU per month of data" read both ways (calendar months touched, and 30.4-day months of
/// span), the larger; the `qpu-consumed` header of the response refunds any excess.
pub fn planned_qpu(days: u32, months: u32) -> u32 {
    let by_span = (f64::from(days.max(1)) / 30.4375).ceil() as u32;
    months.max(by_span).clamp(1, MAX_RESERVATION)
}

/// When the server opened a window, on the local clock.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Opened {
    /// Not before the opener was sent.
    earliest: Instant,
    /// Not after this (a response counted in the window came back); `None` until one did.
    latest: Option<Instant>,
}

#[derive(Debug, Clone)]
struct Window {
    spec: WindowSpec,
    opened: Option<Opened>,
    used: u32,
    /// Bumped whenever a new window opens, so late responses and refunds of an earlier window
    /// leave the current one alone.
    generation: u64,
}

/// The windows a grant was charged to (their generations), for refunds and observations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    generations: [u64; 3],
    /// QPU charged.
    pub units: u32,
}

/// What one response told about the quota.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// When the request was sent.
    pub sent: Instant,
    /// When its response came back.
    pub received: Instant,
    /// The end of the second the response's `Date` names, on the local clock, when known.
    pub server_second_end: Option<Instant>,
    /// `qpu-consumed`, when present.
    pub consumed: Option<u32>,
    /// `qpu-remaining` per window length.
    pub remaining: Vec<(Duration, u32)>,
    /// QPU the query was planned (charged) at.
    pub planned: u32,
    /// Whether the server refused the query (429): nothing was consumed.
    pub throttled: bool,
}

/// One tenant's QPU windows.
#[derive(Debug, Clone)]
pub struct QpuWindows {
    windows: [Window; 3],
    rtts: VecDeque<Duration>,
}

impl Default for QpuWindows {
    fn default() -> Self {
        Self::new()
    }
}

impl QpuWindows {
    /// No window open yet.
    pub fn new() -> Self {
        Self {
            windows: WINDOWS.map(|spec| Window { spec, opened: None, used: 0, generation: 0 }),
            rtts: VecDeque::new(),
        }
    }

    /// The longest time a query may take to reach the server: twice the longest of the recent
    /// round trips (a round trip bounds its own one-way part; a client short of CPU writes a
    /// query later than it timed it, as a bench on a loaded machine showed), within
    /// [250 ms, 10 s].
    pub fn arrival_bound(&self) -> Duration {
        let longest = self.rtts.iter().copied().max().unwrap_or(Duration::ZERO);
        (longest * 2).clamp(MIN_ARRIVAL_BOUND, MAX_ARRIVAL_BOUND)
    }

    fn latest_open(&self, opened: Opened) -> Instant {
        opened.latest.unwrap_or(opened.earliest + self.arrival_bound())
    }

    /// How long until `units` QPU can be sent without any window being exceeded, zero if now.
    pub fn wait_for(&self, units: u32, now: Instant) -> Duration {
        let units = units.min(MAX_RESERVATION);
        let bound = self.arrival_bound();
        let mut wait = Duration::ZERO;
        for w in &self.windows {
            let Some(opened) = w.opened else { continue };
            let certain_end = self.latest_open(opened) + w.spec.len;
            if now >= certain_end {
                continue;
            }
            let lands_inside = now + bound < opened.earliest + w.spec.len;
            if !(lands_inside && w.used + units <= w.spec.limit) {
                wait = wait.max(certain_end - now);
            }
        }
        wait
    }

    /// Charges `units` QPU sent at `now` (call after [`QpuWindows::wait_for`] returned zero):
    /// a window that has certainly ended is replaced by the one this query opens.
    pub fn take(&mut self, units: u32, now: Instant) -> Charge {
        let bound = self.arrival_bound();
        let mut generations = [0; 3];
        for (i, w) in self.windows.iter_mut().enumerate() {
            let ended = match w.opened {
                None => true,
                Some(o) => now >= o.latest.unwrap_or(o.earliest + bound) + w.spec.len,
            };
            if ended {
                w.generation += 1;
                w.opened = Some(Opened { earliest: now, latest: None });
                w.used = 0;
            }
            w.used += units;
            generations[i] = w.generation;
        }
        Charge { generations, units }
    }

    /// Gives back `units` of `charge` that were never sent (a conditional query not needed),
    /// in the windows it was charged to that are still open.
    pub fn refund(&mut self, charge: Charge, units: u32) {
        for (w, g) in self.windows.iter_mut().zip(charge.generations) {
            if w.generation == g {
                w.used = w.used.saturating_sub(units.min(charge.units));
            }
        }
    }

    /// Learns from the response to a query sent under `charge`, planned at `obs.planned` QPU.
    pub fn observe(&mut self, charge: Charge, obs: &Observation) {
        let rtt = obs.received.saturating_duration_since(obs.sent);
        if self.rtts.len() == RTT_HISTORY {
            self.rtts.pop_front();
        }
        self.rtts.push_back(rtt);
        let counted_by = obs.server_second_end.map_or(obs.received, |s| s.min(obs.received));
        let consumed = if obs.throttled { 0 } else { obs.consumed.unwrap_or(obs.planned) };
        for (w, g) in self.windows.iter_mut().zip(charge.generations) {
            if w.generation != g {
                continue;
            }
            // The plan was off (or the server refused the query): the server's count is what
            // the window holds.
            w.used = (w.used + consumed).saturating_sub(obs.planned);
            let Some(&(_, remaining)) = obs.remaining.iter().find(|(len, _)| *len == w.spec.len) else {
                continue;
            };
            let server_used = w.spec.limit.saturating_sub(remaining);
            if let Some(opened) = w.opened.as_mut() {
                let opener = consumed > 0 && server_used == consumed;
                if opener && opened.latest.is_some_and(|l| l < obs.sent) {
                    // The server opened a new window at this query, after the one the model
                    // knew: it started while the query was in flight.
                    *opened = Opened { earliest: obs.sent, latest: Some(counted_by) };
                } else {
                    if opener {
                        opened.earliest = opened.earliest.max(obs.sent);
                    }
                    // The window was open when this query was counted.
                    let latest = opened.latest.map_or(counted_by, |l| l.min(counted_by));
                    opened.latest = Some(latest.max(opened.earliest));
                }
            }
            w.used = w.used.max(server_used);
        }
    }

    /// QPU charged to each window (shortest first), for tests and diagnostics.
    pub fn used(&self) -> [u32; 3] {
        [self.windows[0].used, self.windows[1].used, self.windows[2].used]
    }
}

/// The least time a tenant needs for `units` QPU under the documented windows, starting unused:
/// `n` units span at least `ceil(n / limit) - 1` whole windows of each kind.
pub fn lower_bound(units: u32) -> Duration {
    WINDOWS.iter().map(|w| w.len * (units.div_ceil(w.limit).max(1) - 1)).max().unwrap_or(Duration::ZERO)
}

#[cfg(test)]
#[path = "qpu_tests.rs"]
mod tests;
