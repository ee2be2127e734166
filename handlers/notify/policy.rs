//! Delivery policy: what an answer means (delivered, retry, permanent failure), when to try
//! again (exponential backoff, or the receiver's `Retry-After`), and quiet hours.

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc, Weekday};

/// The first retry waits this long; each further one twice as long.
pub const BASE_BACKOFF_SECS: i64 = 30;
/// No retry waits longer than this, whatever `Retry-After` asks.
pub const MAX_BACKOFF_SECS: i64 = 6 * 3600;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx.
    Delivered {
        /// The status code.
        status: u16,
    },
    /// 408, 429, 5xx, a timeout or a connection failure: try again later.
    Retry {
        /// The status code, if the receiver answered.
        status: Option<u16>,
        /// What went wrong.
        error: String,
        /// The receiver's `Retry-After`, in seconds.
        retry_after: Option<i64>,
    },
    /// Any other 4xx, or a channel that cannot be used: recorded, never retried.
    Permanent {
        /// The status code, if the receiver answered.
        status: Option<u16>,
        /// What went wrong.
        error: String,
    },
}

/// The outcome of an HTTP answer `status` with the `Retry-After` header `retry_after`
/// (seconds or an HTTP date) read at `now`.
pub fn classify(status: u16, retry_after: Option<&str>, now: DateTime<Utc>) -> Outcome {
    match status {
        200..=299 => Outcome::Delivered { status },
        408 | 429 | 500..=599 => Outcome::Retry {
            status: Some(status),
            error: format!("receiver answered {status}"),
            retry_after: retry_after.and_then(|v| parse_retry_after(v, now)),
        },
        _ => Outcome::Permanent { status: Some(status), error: format!("receiver answered {status}") },
    }
}

/// `Retry-After` as whole seconds from `now`: a number of seconds or an HTTP date (never
/// negative), read as the Azure clients read it ([`crate::azure::retry::parse_retry_after`]).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<i64> {
    let wait = crate::azure::retry::parse_retry_after(value, now.into())?;
    Some(i64::try_from(wait.as_secs()).unwrap_or(i64::MAX))
}

/// When attempt number `attempts + 1` may run after a retryable failure at `now`: the
/// receiver's `Retry-After` when given, else 30 s doubled per attempt; at most six hours.
pub fn next_attempt(attempts: u32, retry_after: Option<i64>, now: DateTime<Utc>) -> DateTime<Utc> {
    let exponent = attempts.saturating_sub(1).min(20);
    let backoff = BASE_BACKOFF_SECS.saturating_mul(1i64 << exponent);
    let wait = retry_after.unwrap_or(backoff).clamp(0, MAX_BACKOFF_SECS);
    now + Duration::seconds(wait)
}

/// When a channel may be sent to: its quiet hours (`start..end`, UTC hours, may wrap midnight)
/// and the weekdays it accepts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schedule {
    /// First quiet hour (0–23), if the channel has quiet hours.
    pub quiet_start: Option<u32>,
    /// The hour quiet ends (0–23, exclusive).
    pub quiet_end: Option<u32>,
    /// Accepted weekdays; empty accepts every day.
    pub days: Vec<Weekday>,
}

impl Schedule {
    /// Whether `at` falls in an allowed day outside quiet hours.
    pub fn allows(&self, at: DateTime<Utc>) -> bool {
        let day_ok = self.days.is_empty() || self.days.contains(&at.weekday());
        let hour = at.hour();
        let quiet = match (self.quiet_start, self.quiet_end) {
            (Some(start), Some(end)) if start < end => (start..end).contains(&hour),
            (Some(start), Some(end)) if start > end => hour >= start || hour < end,
            _ => false,
        };
        day_ok && !quiet
    }

    /// The first instant at or after `now` the schedule allows (at most a week ahead; a
    /// schedule that allows nothing sends at once rather than never).
    pub fn next_allowed(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        if self.allows(now) {
            return now;
        }
        let mut hour = Utc
            .with_ymd_and_hms(now.year(), now.month(), now.day(), now.hour(), 0, 0)
            .single()
            .unwrap_or(now);
        for _ in 0..(7 * 24 + 1) {
            hour += Duration::hours(1);
            if self.allows(hour) {
                return hour;
            }
        }
        now
    }
}

/// Parses a weekday written `mon`…`sun`.
pub fn parse_day(text: &str) -> Option<Weekday> {
    match text.trim().to_ascii_lowercase().as_str() {
        "mon" => Some(Weekday::Mon),
        "tue" => Some(Weekday::Tue),
        "wed" => Some(Weekday::Wed),
        "thu" => Some(Weekday::Thu),
        "fri" => Some(Weekday::Fri),
        "sat" => Some(Weekday::Sat),
        "sun" => Some(Weekday::Sun),
        _ => None,
    }
}

/// The day as [`parse_day`] reads it.
pub fn day_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        // 2026-12-07 is a Monday.
        Utc.with_ymd_and_hms(2026, 12, day, hour, 30, 0).unwrap()
    }

    #[test]
    fn answers_are_classified_as_the_contract_says() {
        let now = at(7, 10);
        assert_eq!(classify(204, None, now), Outcome::Delivered { status: 204 });
        for status in [408, 429, 500, 503] {
            assert!(matches!(classify(status, None, now), Outcome::Retry { .. }), "{status}");
        }
        for status in [400, 401, 404, 410, 413] {
            assert!(matches!(classify(status, None, now), Outcome::Permanent { .. }), "{status}");
        }
        let Outcome::Retry { retry_after, .. } = classify(429, Some("120"), now) else { panic!() };
        assert_eq!(retry_after, Some(120));
        let date = httpdate::fmt_http_date((now + Duration::seconds(90)).into());
        assert_eq!(parse_retry_after(&date, now), Some(90));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_doubles_honours_retry_after_and_is_capped() {
        let now = at(7, 10);
        assert_eq!(next_attempt(1, None, now) - now, Duration::seconds(30));
        assert_eq!(next_attempt(3, None, now) - now, Duration::seconds(120));
        assert_eq!(next_attempt(1, Some(600), now) - now, Duration::seconds(600));
        assert_eq!(next_attempt(30, None, now) - now, Duration::seconds(MAX_BACKOFF_SECS));
        assert_eq!(next_attempt(1, Some(10_000_000), now) - now, Duration::seconds(MAX_BACKOFF_SECS));
    }

    #[test]
    fn quiet_hours_and_days_defer_to_the_next_allowed_hour() {
        let night = Schedule { quiet_start: Some(22), quiet_end: Some(7), days: vec![] };
        assert!(night.allows(at(7, 10)));
        assert!(!night.allows(at(7, 23)) && !night.allows(at(8, 3)));
        assert_eq!(night.next_allowed(at(7, 23)), Utc.with_ymd_and_hms(2026, 12, 8, 7, 0, 0).unwrap());
        let weekdays = Schedule { days: vec![Weekday::Mon, Weekday::Tue], ..Schedule::default() };
        // Saturday 12th → Monday 14th at midnight.
        assert_eq!(weekdays.next_allowed(at(12, 9)), Utc.with_ymd_and_hms(2026, 12, 14, 0, 0, 0).unwrap());
        assert_eq!(Schedule::default().next_allowed(at(7, 3)), at(7, 3));
        assert_eq!(parse_day("Fri"), Some(Weekday::Fri));
        assert_eq!(day_name(Weekday::Sun), "sun");
    }
}
