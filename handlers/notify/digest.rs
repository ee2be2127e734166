//! The weekly digest of one channel: its open findings (with the top ones), those new this
//! week, and the savings realised (findings executed this week), each total kept per currency.
//! Owner routing applies as for events: a channel sees only the findings it owns.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::event::{FindingSummary, NewFindings};
use super::routing::{ChannelFilter, Route, owners};

/// Findings listed by name in a digest.
pub const TOP: usize = 10;

/// One finding as the digest reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestRow {
    /// The finding.
    pub finding: FindingSummary,
    /// `open` or `executed`.
    pub status: String,
    /// When it was first detected.
    pub first_detected_at: DateTime<Utc>,
    /// When its status last changed.
    pub status_changed_at: DateTime<Utc>,
}

/// The `digest.weekly` data of `channel` among `channels` for the week from `since`, or `None`
/// when it has nothing to say.
pub fn compose(
    channel: &ChannelFilter,
    channels: &[ChannelFilter],
    rows: &[DigestRow],
    routes: &[Route],
    tags: &HashMap<String, BTreeMap<String, String>>,
    since: DateTime<Utc>,
) -> Option<Value> {
    let wanted: Vec<&ChannelFilter> = channels.iter().collect();
    let mine: Vec<&DigestRow> = rows
        .iter()
        .filter(|r| owners(&r.finding.resource_id, &wanted, routes, tags).iter().any(|c| c.id == channel.id))
        .filter(|r| channel.min_savings.is_none_or(|m| r.finding.estimated_monthly_savings >= m))
        .collect();
    let open: Vec<FindingSummary> =
        mine.iter().filter(|r| r.status == "open").map(|r| r.finding.clone()).collect();
    let new: Vec<FindingSummary> = mine
        .iter()
        .filter(|r| r.status == "open" && r.first_detected_at >= since)
        .map(|r| r.finding.clone())
        .collect();
    let realised: Vec<FindingSummary> = mine
        .iter()
        .filter(|r| r.status == "executed" && r.status_changed_at >= since)
        .map(|r| r.finding.clone())
        .collect();
    if open.is_empty() && realised.is_empty() {
        return None;
    }
    let summary = |findings: Vec<FindingSummary>| {
        let mut data = NewFindings::new("", findings);
        data.findings.truncate(TOP);
        data
    };
    let (open, new, realised) = (summary(open), summary(new), summary(realised));
    Some(json!({
        "week_start": since,
        "open": {"count": open.count, "total_savings": open.total_savings, "top": open.findings},
        "new_this_week": {"count": new.count, "total_savings": new.total_savings},
        "realised": {"count": realised.count, "total_savings": realised.total_savings},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn row(n: u32, savings: f64, status: &str, age_days: i64, now: DateTime<Utc>) -> DigestRow {
        DigestRow {
            finding: FindingSummary {
                id: format!("r{n}"),
                subscription_id: "s".into(),
                resource_id: format!("/d{n}"),
                rule_id: "x".into(),
                title: format!("Delete d{n}"),
                estimated_monthly_savings: savings,
                currency: "EUR".into(),
            },
            status: status.into(),
            first_detected_at: now - Duration::days(age_days),
            status_changed_at: now - Duration::days(age_days.min(3)),
        }
    }

    #[test]
    fn the_digest_counts_open_new_and_realised_for_the_owner_only() {
        let now = chrono::Utc::now();
        let since = now - Duration::days(7);
        let rows = [
            row(1, 40.0, "open", 30, now),
            row(2, 10.0, "open", 2, now),
            row(3, 25.0, "executed", 20, now),
            row(4, 99.0, "open", 1, now),
        ];
        let team = ChannelFilter { id: "team".into(), events: vec![], min_savings: None };
        let central = ChannelFilter { id: "central".into(), events: vec![], min_savings: None };
        let routes = [Route { tag_key: "owner".into(), tag_value: "t".into(), channel_id: "team".into() }];
        let tags =
            HashMap::from([("/d4".to_owned(), BTreeMap::from([("owner".to_owned(), "t".to_owned())]))]);
        let channels = [team.clone(), central.clone()];
        let digest = compose(&central, &channels, &rows, &routes, &tags, since).unwrap();
        assert_eq!(digest["open"]["count"], 2);
        assert_eq!(digest["open"]["total_savings"]["EUR"], 50.0);
        assert_eq!(digest["new_this_week"]["count"], 1);
        assert_eq!(digest["realised"]["total_savings"]["EUR"], 25.0);
        let team_digest = compose(&team, &channels, &rows, &routes, &tags, since).unwrap();
        assert_eq!(team_digest["open"]["top"][0]["id"], "r4");
        assert_eq!(team_digest["realised"]["count"], 0);
        let quiet = compose(&team, &channels, &rows[..3], &routes, &tags, since);
        assert_eq!(quiet, None, "nothing owned, nothing sent");
    }
}
