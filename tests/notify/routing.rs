//! Owner routing: a finding goes only to the channel its resource's owner tag routes to.

use azcops::store::RouteInput;
use serde_json::json;

use crate::on_both;
use crate::receiver::Receiver;
use crate::support::*;

async fn findings_reach_only_their_owners_channel(backend: Backend) {
    let (api, notifier) = instance(backend, config()).await;
    let (team_a, team_b, central) =
        (Receiver::start().await, Receiver::start().await, Receiver::start().await);
    let secret = "whsec-0123456789abcdef";
    webhook(&api, &api.scope_a, "team-a", &team_a.url, secret).await;
    webhook(&api, &api.scope_a, "team-b", &team_b.url, secret).await;
    webhook(&api, &api.scope_a, "central", &central.url, secret).await;
    let admin = token(&tid_a(), &[ADMIN]).await;
    for (value, channel) in [("team-a", "team-a"), ("team-b", "team-b")] {
        let body = json!({"tag_key": "owner", "tag_value": value, "channel": channel});
        let reply =
            api.call(axum::http::Method::POST, "/api/v1/notification-routes", Some(&admin), Some(body)).await;
        assert_eq!(reply.status, axum::http::StatusCode::CREATED, "{}", reply.text);
    }
    let reader = token(&tid_a(), &[READER]).await;
    let refused = api
        .call(
            axum::http::Method::POST,
            "/api/v1/notification-routes",
            Some(&reader),
            Some(json!({"tag_key": "owner", "tag_value": "x", "channel": "central"})),
        )
        .await;
    assert_eq!(refused.status, axum::http::StatusCode::FORBIDDEN);
    let unknown = RouteInput { tag_key: "owner".into(), tag_value: "x".into(), channel: "nope".into() };
    assert!(api.store.create_route(&api.scope_a, &unknown, &azcops::store::Actor::named("t")).await.is_err());
    let resources = [
        resource_row(1, "disk-a", &[("Owner", "team-a")]),
        resource_row(1, "disk-b", &[("owner", "team-b")]),
        resource_row(1, "disk-c", &[("owner", "nobody")]),
    ];
    api.store.upsert_resources(&api.scope_a, &resources, azcops::store::now()).await.unwrap();
    let findings = [finding(1, "disk-a", 30.0), finding(1, "disk-b", 20.0), finding(1, "disk-c", 10.0)];
    api.store.upsert_recommendations(&api.scope_a, &findings).await.unwrap();
    let report = notifier.process_tenant(&api.scope_a, azcops::store::now()).await.unwrap();
    assert_eq!(report.delivered, 3);
    let titles = |r: &Receiver| -> Vec<String> {
        r.received()
            .iter()
            .flat_map(|x| x.json()["data"]["findings"].as_array().unwrap().clone())
            .map(|f| f["title"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(titles(&team_a), ["Delete disk-a"]);
    assert_eq!(titles(&team_b), ["Delete disk-b"]);
    assert_eq!(titles(&central), ["Delete disk-c"], "unrouted findings go to channels no route targets");
    let audit = api.get("/api/v1/audit-logs?action=notification_route.created", &admin).await.json();
    assert_eq!(audit["total"], 2);
    api.finish().await;
}
on_both!(findings_reach_only_their_owners_channel, findings_reach_only_their_owners_channel);

async fn the_weekly_digest_reports_each_channels_own_findings(backend: Backend) {
    let (api, notifier) = instance(backend, config()).await;
    let (team_a, central) = (Receiver::start().await, Receiver::start().await);
    let secret = "whsec-0123456789abcdef";
    let a = webhook(&api, &api.scope_a, "team-a", &team_a.url, secret).await;
    webhook(&api, &api.scope_a, "central", &central.url, secret).await;
    let route = RouteInput { tag_key: "owner".into(), tag_value: "team-a".into(), channel: a.id.clone() };
    api.store.create_route(&api.scope_a, &route, &azcops::store::Actor::named("t")).await.unwrap();
    let resources = [resource_row(1, "disk-a", &[("owner", "team-a")]), resource_row(1, "disk-c", &[])];
    api.store.upsert_resources(&api.scope_a, &resources, azcops::store::now()).await.unwrap();
    api.store.upsert_recommendations(&api.scope_a, &[finding(1, "disk-a", 30.0)]).await.unwrap();
    let c = seed_recommendation(&api, &api.scope_a, 1, "disk-c", 10.0).await;
    for to in [azcops::store::RecommendationStatus::Approved, azcops::store::RecommendationStatus::Executed] {
        api.store.transition_recommendation(&api.scope_a, &c, to, "someone", None).await.unwrap();
    }
    // Deliver the events of those changes first; the digest comes on its own.
    notifier.process_tenant(&api.scope_a, azcops::store::now()).await.unwrap();
    let (before_a, before_central) = (team_a.received().len(), central.received().len());
    let since = azcops::store::now() - chrono::Duration::days(7);
    assert_eq!(api.store.record_weekly_digests(&api.scope_a, since).await.unwrap(), 2);
    notifier.process_tenant(&api.scope_a, azcops::store::now()).await.unwrap();
    let digest =
        |r: &Receiver, skip: usize| r.received()[skip..].iter().map(|x| x.json()).collect::<Vec<_>>();
    let a_digest = digest(&team_a, before_a);
    let central_digest = digest(&central, before_central);
    assert_eq!((a_digest.len(), central_digest.len()), (1, 1));
    assert_eq!(a_digest[0]["type"], "digest.weekly");
    assert_eq!(a_digest[0]["data"]["open"]["count"], 1);
    assert_eq!(a_digest[0]["data"]["open"]["top"][0]["title"], "Delete disk-a");
    assert_eq!(central_digest[0]["data"]["open"]["count"], 0);
    assert_eq!(
        central_digest[0]["data"]["realised"]["total_savings"]["EUR"], 10.0,
        "savings realised this week"
    );
    api.finish().await;
}
on_both!(
    the_weekly_digest_reports_each_channels_own_findings,
    the_weekly_digest_reports_each_channels_own_findings
);
