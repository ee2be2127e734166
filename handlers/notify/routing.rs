//! Which channels receive an event, and what each receives: a channel's event filter and
//! minimum savings, and owner routing (a resource tag value → a channel). A finding whose
//! resource matches a route goes only to that route's channels; findings matching no route go
//! to the channels no route targets, so each team sees only its own findings.

use std::collections::{BTreeMap, HashMap};

use super::event::{EventType, FindingSummary, NewFindings};

/// What routing needs of a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelFilter {
    /// Channel id.
    pub id: String,
    /// Event types it wants; empty wants every type.
    pub events: Vec<String>,
    /// Findings under this monthly saving are not sent to it.
    pub min_savings: Option<f64>,
}

/// One routing rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Tag key (compared case-insensitively, as Azure does).
    pub tag_key: String,
    /// Tag value (exact).
    pub tag_value: String,
    /// The channel the matching resources' findings go to.
    pub channel_id: String,
}

/// The deliveries of one event: `(channel id, data for that channel)`.
pub fn plan(
    event_type: EventType,
    target: Option<&str>,
    data: &serde_json::Value,
    channels: &[ChannelFilter],
    routes: &[Route],
    tags: &HashMap<String, BTreeMap<String, String>>,
) -> Vec<(String, serde_json::Value)> {
    let wanted: Vec<&ChannelFilter> = channels
        .iter()
        .filter(|c| target.is_none_or(|t| t == c.id))
        .filter(|c| {
            event_type == EventType::NotificationTest
                || c.events.is_empty()
                || c.events.iter().any(|e| e == event_type.as_str())
        })
        .collect();
    match event_type {
        EventType::RecommendationsNew => {
            let Ok(event) = serde_json::from_value::<NewFindings>(data.clone()) else { return Vec::new() };
            let mut per_channel: BTreeMap<&str, Vec<FindingSummary>> = BTreeMap::new();
            for finding in &event.findings {
                for channel in owners(&finding.resource_id, &wanted, routes, tags) {
                    if channel.min_savings.is_none_or(|m| finding.estimated_monthly_savings >= m) {
                        per_channel.entry(channel.id.as_str()).or_default().push(finding.clone());
                    }
                }
            }
            per_channel
                .into_iter()
                .filter_map(|(id, findings)| {
                    let share = NewFindings::new(&event.subscription_id, findings);
                    serde_json::to_value(share).ok().map(|v| (id.to_owned(), v))
                })
                .collect()
        }
        EventType::RecommendationStatusChanged => {
            let resource = data.get("resource_id").and_then(|v| v.as_str()).unwrap_or_default();
            let savings =
                data.get("estimated_monthly_savings").and_then(serde_json::Value::as_f64).unwrap_or(0.0);
            owners(resource, &wanted, routes, tags)
                .into_iter()
                .filter(|c| c.min_savings.is_none_or(|m| savings >= m))
                .map(|c| (c.id.clone(), data.clone()))
                .collect()
        }
        _ => wanted.into_iter().map(|c| (c.id.clone(), data.clone())).collect(),
    }
}

/// The channels among `wanted` that own `resource_id`: the routed ones if a route matches
/// its tags, else those no route targets.
pub fn owners<'a>(
    resource_id: &str,
    wanted: &[&'a ChannelFilter],
    routes: &[Route],
    tags: &HashMap<String, BTreeMap<String, String>>,
) -> Vec<&'a ChannelFilter> {
    let resource_tags = tags.get(&resource_id.to_ascii_lowercase());
    let matched: Vec<&str> = routes
        .iter()
        .filter(|r| {
            resource_tags.is_some_and(|t| {
                t.iter().any(|(k, v)| k.eq_ignore_ascii_case(&r.tag_key) && *v == r.tag_value)
            })
        })
        .map(|r| r.channel_id.as_str())
        .collect();
    if matched.is_empty() {
        wanted.iter().copied().filter(|c| !routes.iter().any(|r| r.channel_id == c.id)).collect()
    } else {
        wanted.iter().copied().filter(|c| matched.contains(&c.id.as_str())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(n: u32, savings: f64) -> FindingSummary {
        FindingSummary {
            id: format!("r{n}"),
            subscription_id: "s".into(),
            resource_id: format!("/subscriptions/s/disks/d{n}"),
            rule_id: "waste.unattached_disk".into(),
            title: format!("Delete d{n}"),
            estimated_monthly_savings: savings,
            currency: "EUR".into(),
        }
    }

    fn channel(id: &str, events: &[&str], min_savings: Option<f64>) -> ChannelFilter {
        ChannelFilter { id: id.into(), events: events.iter().map(|e| (*e).to_owned()).collect(), min_savings }
    }

    fn ids(plan: &[(String, serde_json::Value)]) -> Vec<(String, Vec<String>)> {
        plan.iter()
            .map(|(c, data)| {
                let findings = data["findings"]
                    .as_array()
                    .map(|f| f.iter().map(|x| x["id"].as_str().unwrap_or_default().to_owned()).collect());
                (c.clone(), findings.unwrap_or_default())
            })
            .collect()
    }

    #[test]
    fn findings_go_only_to_their_owners_channel_and_the_rest_to_unrouted_channels() {
        let data = serde_json::to_value(NewFindings::new(
            "s",
            vec![finding(1, 50.0), finding(2, 20.0), finding(3, 5.0)],
        ))
        .unwrap();
        let channels =
            [channel("team-a", &[], None), channel("team-b", &[], None), channel("central", &[], Some(10.0))];
        let routes = [
            Route { tag_key: "owner".into(), tag_value: "a".into(), channel_id: "team-a".into() },
            Route { tag_key: "owner".into(), tag_value: "b".into(), channel_id: "team-b".into() },
        ];
        let tags = HashMap::from([
            ("/subscriptions/s/disks/d1".to_owned(), BTreeMap::from([("Owner".to_owned(), "a".to_owned())])),
            (
                "/subscriptions/s/disks/d2".to_owned(),
                BTreeMap::from([("owner".to_owned(), "zzz".to_owned())]),
            ),
        ]);
        let planned = plan(EventType::RecommendationsNew, None, &data, &channels, &routes, &tags);
        assert_eq!(
            ids(&planned),
            vec![("central".into(), vec!["r2".into()]), ("team-a".into(), vec!["r1".into()])],
            "d3 is under central's minimum; team-b owns nothing"
        );
        assert_eq!(planned[1].1["count"], 1);
    }

    #[test]
    fn event_filters_and_targets_choose_channels() {
        let channels = [channel("a", &["anomaly.detected"], None), channel("b", &["ingestion.failed"], None)];
        let none = HashMap::new();
        let data = serde_json::json!({"x": 1});
        assert_eq!(
            ids(&plan(EventType::AnomalyDetected, None, &data, &channels, &[], &none)),
            vec![("a".into(), vec![])]
        );
        assert!(plan(EventType::BudgetThreshold, None, &data, &channels, &[], &none).is_empty());
        let test = plan(EventType::NotificationTest, Some("b"), &data, &channels, &[], &none);
        assert_eq!(ids(&test), vec![("b".into(), vec![])], "a test reaches its channel whatever its filter");
        let status = serde_json::json!({"resource_id": "/x", "estimated_monthly_savings": 3.0});
        let channels = [channel("a", &[], Some(5.0)), channel("b", &[], None)];
        assert_eq!(
            ids(&plan(EventType::RecommendationStatusChanged, None, &status, &channels, &[], &none)),
            vec![("b".into(), vec![])]
        );
    }
}
