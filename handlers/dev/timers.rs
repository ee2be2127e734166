//! Timer triggers on their NCRONTAB schedules (UTC), with `ScheduleStatus` bookkeeping.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use serde_json::{Map, Value, json};

use crate::appdef::FunctionDef;

use super::engine::Engine;
use super::invoker::envelope;

/// Parses a six-field (or five-field) NCRONTAB expression.
///
/// # Errors
/// The expression is not valid.
pub fn parse_schedule(expression: &str) -> Result<Cron, String> {
    CronParser::builder().seconds(Seconds::Optional).build().parse(expression).map_err(|e| e.to_string())
}

/// The serialised `TimerInfo` for an occurrence; `ScheduleStatus` is null without a monitor.
pub fn timer_info(last: Option<DateTime<Utc>>, next: Option<DateTime<Utc>>) -> Value {
    let date = |d: DateTime<Utc>| d.format("%Y-%m-%dT%H:%M:%S%.f+00:00").to_string();
    let status = match (last, next) {
        (Some(last), Some(next)) => {
            json!({"Last": date(last), "Next": date(next), "LastUpdated": date(last)})
        }
        (None, Some(next)) => {
            json!({"Last": date(DateTime::<Utc>::MIN_UTC), "Next": date(next), "LastUpdated": date(DateTime::<Utc>::MIN_UTC)})
        }
        _ => Value::Null,
    };
    json!({"Schedule": {"AdjustForDST": true}, "ScheduleStatus": status, "IsPastDue": false})
}

/// Fires `def` at every occurrence of its schedule until the engine stops.
pub async fn run(engine: Arc<Engine>, def: FunctionDef) {
    let Some(trigger) = def.trigger().cloned() else { return };
    let expression = trigger.schedule.clone().unwrap_or_default();
    let cron = match parse_schedule(&expression) {
        Ok(c) => c,
        Err(e) => {
            say_err!("[host] {}: invalid schedule {expression:?}: {e}", def.name);
            return;
        }
    };
    let monitor = trigger.use_monitor.unwrap_or(true);
    let mut last: Option<DateTime<Utc>> = None;
    if trigger.run_on_startup {
        engine.invoke(&def, envelope(&trigger.name, timer_info(None, None), Map::new())).await;
    }
    while !engine.is_stopping() {
        let Ok(next) = cron.find_next_occurrence(&Utc::now(), false) else { return };
        let wait = (next - Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
        let info = if monitor { timer_info(last, Some(next)) } else { timer_info(None, None) };
        engine.invoke(&def, envelope(&trigger.name, info, Map::new())).await;
        last = Some(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invocation::{TimerInfo, TriggerPayload};
    use chrono::TimeZone;

    #[test]
    fn the_apps_schedules_parse_and_fire_when_expected() {
        let nightly = parse_schedule("0 0 2 * * *").unwrap();
        let from = Utc.with_ymd_and_hms(2026, 11, 25, 14, 0, 0).unwrap();
        let next = nightly.find_next_occurrence(&from, false).unwrap();
        assert_eq!(next, Utc.with_ymd_and_hms(2026, 11, 26, 2, 0, 0).unwrap());
        let hourly = parse_schedule("0 5 * * * *").unwrap();
        assert_eq!(
            hourly.find_next_occurrence(&from, false).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 25, 14, 5, 0).unwrap()
        );
        assert!(parse_schedule("not a schedule").is_err());
    }

    #[test]
    fn timer_info_decodes_in_the_handler() {
        let at = Utc.with_ymd_and_hms(2026, 11, 26, 2, 0, 0).unwrap();
        let request =
            envelope("timer", timer_info(Some(at - chrono::Duration::days(1)), Some(at)), Map::new());
        let info = TimerInfo::decode("timer", &request).unwrap();
        assert_eq!(info.occurrence().map(|d| d.timestamp()), Some(at.timestamp()));
        let request = envelope("timer", timer_info(None, None), Map::new());
        assert!(TimerInfo::decode("timer", &request).unwrap().schedule_status.is_none());
    }
}
