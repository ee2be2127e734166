//! Retry decisions and delays, as pure functions.
//!
//! Policy: up to `max_attempts` attempts; 500/502/503/504, connect errors and timeouts back off
//! exponentially with full jitter (ceiling 1 s, 2 s, 4 s … capped at 60 s), but never less than
//! a server hint; a 429 waits exactly the largest server hint among `Retry-After` and the Cost
//! Management / Resource Graph quota headers (falling back to backoff when none is present).

use std::time::{Duration, SystemTime};

use http::HeaderMap;

/// First backoff ceiling.
pub const BASE_DELAY: Duration = Duration::from_secs(1);
/// Largest backoff ceiling.
pub const MAX_DELAY: Duration = Duration::from_secs(60);

/// Cost Management headers naming how long a tripped bucket stays closed (seconds).
pub const COST_MANAGEMENT_RETRY_HEADERS: &[&str] = &[
    "x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after",
    "x-ms-ratelimit-microsoft.costmanagement-entity-retry-after",
    "x-ms-ratelimit-microsoft.costmanagement-tenant-retry-after",
    "x-ms-ratelimit-microsoft.costmanagement-clienttype-retry-after",
    "x-ms-ratelimit-microsoft.costmanagement-client-retry-after",
    "x-ms-ratelimit-microsoft.consumption-retry-after",
];

/// Resource Graph: remaining queries in the current window.
pub const RG_QUOTA_REMAINING: &str = "x-ms-user-quota-remaining";
/// Resource Graph: time until the window resets (`hh:mm:ss`).
pub const RG_QUOTA_RESETS_AFTER: &str = "x-ms-user-quota-resets-after";

/// What one attempt ended with, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP status came back.
    Status(u16),
    /// Connection refused/reset before a response.
    Connect,
    /// The attempt timed out.
    Timeout,
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Done: hand the response (success or final error) to the caller.
    Return,
    /// Wait this long, then try again.
    RetryAfter(Duration),
    /// The outcome was retryable but the attempts are used up.
    GiveUp,
}

/// Whether an outcome is worth retrying at all.
pub fn is_retryable(outcome: Outcome) -> bool {
    match outcome {
        Outcome::Status(s) => matches!(s, 429 | 500 | 502 | 503 | 504),
        Outcome::Connect | Outcome::Timeout => true,
    }
}

/// Full-jitter exponential backoff for `attempt` (1-based: the attempt that just failed).
///
/// `unit` is a uniform random number in `[0, 1)`; passing it in keeps this pure and testable.
pub fn backoff_delay(attempt: u32, unit: f64) -> Duration {
    backoff_ceiling(attempt).mul_f64(unit.clamp(0.0, 1.0))
}

/// The upper bound of the jittered delay after `attempt` failed: 1 s, 2 s, 4 s, … ≤ 60 s.
pub fn backoff_ceiling(attempt: u32) -> Duration {
    let exp = attempt.saturating_sub(1).min(16);
    BASE_DELAY.saturating_mul(1u32 << exp).min(MAX_DELAY)
}

/// Decides what follows `outcome` of attempt number `attempt` (1-based).
///
/// `server_hint` is [`server_wait`] of the response; `unit` is the jitter draw.
pub fn decide(
    outcome: Outcome,
    attempt: u32,
    max_attempts: u32,
    server_hint: Option<Duration>,
    unit: f64,
) -> Decision {
    if !is_retryable(outcome) {
        return Decision::Return;
    }
    if attempt >= max_attempts {
        return Decision::GiveUp;
    }
    let backoff = backoff_delay(attempt, unit);
    let wait = match (outcome, server_hint) {
        // Throttling: the service said exactly when the bucket refills.
        (Outcome::Status(429), Some(hint)) => hint,
        (_, Some(hint)) => hint.max(backoff),
        (_, None) => backoff,
    };
    Decision::RetryAfter(wait)
}

/// Parses `Retry-After`: delta-seconds or an HTTP-date (relative to `now`).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses Resource Graph's `hh:mm:ss` (optionally `d.hh:mm:ss` and fractional seconds).
pub fn parse_hms(value: &str) -> Option<Duration> {
    let value = value.trim();
    let (days, rest) = match value.split_once('.') {
        Some((d, rest)) if rest.contains(':') && !d.contains(':') => (d.parse::<u64>().ok()?, rest),
        _ => (0, value),
    };
    let mut parts = rest.split(':');
    let h: u64 = parts.next()?.parse().ok()?;
    let m: u64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || m >= 60 || !(0.0..60.0).contains(&s) {
        return None;
    }
    Some(Duration::from_secs(days * 86_400 + h * 3600 + m * 60) + Duration::from_secs_f64(s))
}

/// The longest wait any server hint in `headers` asks for, if any.
///
/// Reads `Retry-After`, every Cost Management `*-retry-after` header, and Resource Graph's
/// `x-ms-user-quota-resets-after` when `x-ms-user-quota-remaining` is 0 (or absent on a 429).
pub fn server_wait(headers: &HeaderMap, status: u16, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let mut hints = Vec::new();
    if let Some(v) = text("retry-after") {
        hints.extend(parse_retry_after(v, now));
    }
    for name in COST_MANAGEMENT_RETRY_HEADERS {
        if let Some(v) = text(name) {
            hints.extend(parse_retry_after(v, now));
        }
    }
    if let Some(resets) = text(RG_QUOTA_RESETS_AFTER).and_then(parse_hms) {
        let exhausted = match text(RG_QUOTA_REMAINING).and_then(|v| v.trim().parse::<i64>().ok()) {
            Some(remaining) => remaining <= 0,
            None => status == 429,
        };
        if exhausted {
            hints.push(resets);
        }
    }
    hints.into_iter().max()
}

/// Resource Graph's remaining quota and reset time, when both headers are present.
pub fn resource_graph_quota(headers: &HeaderMap) -> Option<(i64, Duration)> {
    let remaining = headers.get(RG_QUOTA_REMAINING)?.to_str().ok()?.trim().parse().ok()?;
    let resets = parse_hms(headers.get(RG_QUOTA_RESETS_AFTER)?.to_str().ok()?)?;
    Some((remaining, resets))
}

/// Cost Management's wait for the whole tenant after a 429: the longest of its QPU and tenant
/// `retry-after` headers, `None` when neither is present (an entity or client throttle).
pub fn tenant_wide_wait(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    COST_MANAGEMENT_RETRY_HEADERS[..3]
        .iter()
        .filter(|name| !name.contains("entity"))
        .filter_map(|name| headers.get(*name)?.to_str().ok())
        .filter_map(|value| parse_retry_after(value, now))
        .max()
}

/// Parses Cost Management's `Name:value,Name:value` quota lists
/// (`x-ms-ratelimit-microsoft.costmanagement-qpu-remaining: QueriesPerHour:597,QueriesPer10Sec:9`).
pub fn parse_named_quota(value: &str) -> Vec<(String, i64)> {
    value
        .split(',')
        .filter_map(|pair| {
            let (name, n) = pair.split_once(':')?;
            Some((name.trim().to_owned(), n.trim().parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn only_a_qpu_or_tenant_throttle_holds_the_tenant() {
        let now = SystemTime::UNIX_EPOCH;
        let entity = headers(&[("x-ms-ratelimit-microsoft.costmanagement-entity-retry-after", "30")]);
        assert_eq!(tenant_wide_wait(&entity, now), None);
        let plain = headers(&[("retry-after", "30")]);
        assert_eq!(tenant_wide_wait(&plain, now), None);
        let both = headers(&[
            ("x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after", "12"),
            ("x-ms-ratelimit-microsoft.costmanagement-tenant-retry-after", "40"),
        ]);
        assert_eq!(tenant_wide_wait(&both, now), Some(Duration::from_secs(40)));
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn backoff_ceilings_double_and_cap() {
        let seq: Vec<u64> = (1..=9).map(|a| backoff_ceiling(a).as_secs()).collect();
        assert_eq!(seq, vec![1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff_ceiling(1000), MAX_DELAY);
    }

    #[test]
    fn full_jitter_scales_the_ceiling() {
        assert_eq!(backoff_delay(3, 0.5), Duration::from_secs(2));
        assert_eq!(backoff_delay(1, 0.0), Duration::ZERO);
        assert_eq!(backoff_delay(8, 0.999_999), MAX_DELAY.mul_f64(0.999_999));
        assert_eq!(backoff_delay(2, 7.0), Duration::from_secs(2), "unit is clamped");
    }

    #[test]
    fn retry_sequence_for_persistent_503() {
        let seq: Vec<Decision> = (1..=5).map(|a| decide(Outcome::Status(503), a, 5, None, 1.0)).collect();
        assert_eq!(
            seq,
            vec![
                Decision::RetryAfter(Duration::from_secs(1)),
                Decision::RetryAfter(Duration::from_secs(2)),
                Decision::RetryAfter(Duration::from_secs(4)),
                Decision::RetryAfter(Duration::from_secs(8)),
                Decision::GiveUp,
            ]
        );
    }

    #[test]
    fn throttles_wait_exactly_the_hint_and_5xx_the_larger() {
        let three = Some(Duration::from_secs(3));
        assert_eq!(
            decide(Outcome::Status(429), 1, 5, three, 1.0),
            Decision::RetryAfter(Duration::from_secs(3))
        );
        assert_eq!(
            decide(Outcome::Status(429), 4, 5, three, 1.0),
            Decision::RetryAfter(Duration::from_secs(3))
        );
        assert_eq!(
            decide(Outcome::Status(503), 4, 5, three, 1.0),
            Decision::RetryAfter(Duration::from_secs(8))
        );
        assert_eq!(
            decide(Outcome::Status(503), 1, 5, three, 1.0),
            Decision::RetryAfter(Duration::from_secs(3))
        );
        assert_eq!(
            decide(Outcome::Status(429), 1, 5, None, 0.5),
            Decision::RetryAfter(Duration::from_millis(500))
        );
    }

    #[test]
    fn non_retryable_statuses_return() {
        for s in [200, 201, 204, 400, 401, 403, 404, 409, 501] {
            assert_eq!(decide(Outcome::Status(s), 1, 5, None, 0.5), Decision::Return, "{s}");
        }
        assert_eq!(decide(Outcome::Connect, 1, 5, None, 1.0), Decision::RetryAfter(Duration::from_secs(1)));
        assert_eq!(decide(Outcome::Timeout, 5, 5, None, 1.0), Decision::GiveUp);
    }

    #[test]
    fn retry_after_seconds_and_http_date() {
        let now = httpdate::parse_http_date("Wed, 25 Nov 2026 14:00:00 GMT").unwrap();
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 120 ", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Wed, 25 Nov 2026 14:00:42 GMT", now), Some(Duration::from_secs(42)));
        assert_eq!(parse_retry_after("Wed, 25 Nov 2026 13:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn hms_parsing() {
        assert_eq!(parse_hms("00:00:03"), Some(Duration::from_secs(3)));
        assert_eq!(parse_hms("01:02:03"), Some(Duration::from_secs(3723)));
        assert_eq!(parse_hms("1.00:00:01"), Some(Duration::from_secs(86_401)));
        assert_eq!(parse_hms("00:00:01.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_hms("00:61:00"), None);
        assert_eq!(parse_hms("3"), None);
    }

    #[test]
    fn server_wait_takes_the_largest_hint() {
        let now = SystemTime::UNIX_EPOCH;
        let h = headers(&[
            ("retry-after", "2"),
            ("x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after", "7"),
            ("x-ms-ratelimit-microsoft.costmanagement-clienttype-retry-after", "5"),
        ]);
        assert_eq!(server_wait(&h, 429, now), Some(Duration::from_secs(7)));
        let rg = headers(&[(RG_QUOTA_REMAINING, "0"), (RG_QUOTA_RESETS_AFTER, "00:00:04")]);
        assert_eq!(server_wait(&rg, 200, now), Some(Duration::from_secs(4)));
        let rg_ok = headers(&[(RG_QUOTA_REMAINING, "9"), (RG_QUOTA_RESETS_AFTER, "00:00:04")]);
        assert_eq!(server_wait(&rg_ok, 200, now), None);
        assert_eq!(resource_graph_quota(&rg_ok), Some((9, Duration::from_secs(4))));
        assert_eq!(server_wait(&HeaderMap::new(), 429, now), None);
    }

    #[test]
    fn named_quota_lists() {
        assert_eq!(
            parse_named_quota("QueriesPerHour:597,QueriesPerMin:57, QueriesPer10Sec:9"),
            vec![("QueriesPerHour".into(), 597), ("QueriesPerMin".into(), 57), ("QueriesPer10Sec".into(), 9)]
        );
        assert_eq!(parse_named_quota("DefaultQuota:0"), vec![("DefaultQuota".into(), 0)]);
        assert!(parse_named_quota("garbage").is_empty());
    }
}
