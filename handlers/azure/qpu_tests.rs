use super::*;

const S: Duration = Duration::from_secs(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A response that came back `rtt` after `sent`, with the server's remaining values.
fn answer(sent: Instant, rtt: Duration, planned: u32, consumed: u32, remaining: [u32; 3]) -> Observation {
    Observation {
        sent,
        received: sent + rtt,
        server_second_end: None,
        consumed: Some(consumed),
        remaining: vec![
            (WINDOWS[2].len, remaining[2]),
            (WINDOWS[1].len, remaining[1]),
            (WINDOWS[0].len, remaining[0]),
        ],
        planned,
        throttled: false,
    }
}

#[test]
fn remaining_headers_parse_by_window_name() {
    assert_eq!(
        parse_remaining("QueriesPerHour:597,QueriesPerMin:57,QueriesPer10Sec:9"),
        vec![(Duration::from_secs(3600), 597), (Duration::from_secs(60), 57), (Duration::from_secs(10), 9)]
    );
    assert_eq!(parse_remaining(" QueriesPer10Sec : 0 "), vec![(Duration::from_secs(10), 0)]);
    assert_eq!(
        parse_remaining("QueriesPerDay:5,QueriesPerMin:x,QueriesPerHour:-3"),
        vec![(Duration::from_secs(3600), 0)]
    );
    assert!(parse_remaining("").is_empty());
    assert_eq!(window_len("queriesperhour"), Some(Duration::from_secs(3600)));
}

#[test]
fn plan_cost_is_a_month_of_data_read_both_ways() {
    assert_eq!(planned_qpu(29, 1), 1);
    assert_eq!(planned_qpu(6, 1), 1);
    assert_eq!(planned_qpu(31, 1), 2, "31 days are more than a 30.4-day month");
    assert_eq!(planned_qpu(2, 2), 2, "two calendar months");
    assert_eq!(planned_qpu(0, 0), 1);
    assert_eq!(planned_qpu(366, 13), MAX_RESERVATION);
}

#[test]
fn lower_bound_counts_whole_windows() {
    assert_eq!(lower_bound(12), Duration::ZERO);
    assert_eq!(lower_bound(16), Duration::from_secs(10));
    // 80 QPU: seven 10 s windows (60 s) and two minutes (60 s).
    assert_eq!(lower_bound(80), Duration::from_secs(60));
    assert_eq!(lower_bound(606), Duration::from_secs(3600));
}

#[test]
fn a_fresh_window_takes_its_limit_then_waits_for_its_certain_end() {
    let t0 = Instant::now();
    let mut q = QpuWindows::new();
    assert_eq!(q.wait_for(4, t0), Duration::ZERO);
    let first = q.take(4, t0);
    assert_eq!(q.wait_for(8, t0), Duration::ZERO, "8 more fit the 10 s window");
    q.take(8, t0);
    assert_eq!(q.used(), [12, 12, 12]);
    // Unconfirmed, the window opened at most the arrival bound (250 ms) after the send.
    assert_eq!(q.wait_for(1, t0), 10 * S + ms(250));
    // The opener's answer came back after 100 ms: the window started by then.
    q.observe(first, &answer(t0, ms(100), 4, 4, [8, 56, 596]));
    assert_eq!(q.wait_for(1, t0 + S), 9 * S + ms(100));
    // After the certain end a new 10 s window opens; the minute still holds 12.
    let t1 = t0 + 10 * S + ms(100);
    assert_eq!(q.wait_for(12, t1), Duration::ZERO);
    q.take(12, t1);
    assert_eq!(q.used(), [12, 24, 24]);
}

#[test]
fn nothing_is_sent_in_the_guard_band_before_a_window_ends() {
    let t0 = Instant::now();
    let mut q = QpuWindows::new();
    let c = q.take(4, t0);
    q.observe(c, &answer(t0, ms(200), 4, 4, [8, 56, 596]));
    assert_eq!(q.arrival_bound(), ms(400), "twice the longest round trip");
    // 8 QPU still fit, but a query sent 9.7 s in could arrive after the window's earliest end
    // (t0 + 10 s) and land in the next one: wait for the certain end (t0 + 10.2 s).
    assert_eq!(q.wait_for(8, t0 + ms(9_500)), Duration::ZERO);
    assert_eq!(q.wait_for(8, t0 + ms(9_700)), ms(500));
    assert_eq!(q.wait_for(8, t0 + ms(10_200)), Duration::ZERO);
}

#[test]
fn the_minute_and_the_hour_bind_too() {
    let t0 = Instant::now();
    let mut q = QpuWindows::new();
    let mut now = t0;
    for _ in 0..5 {
        assert_eq!(q.wait_for(12, now), Duration::ZERO);
        let c = q.take(12, now);
        q.observe(c, &answer(now, ms(50), 12, 12, [0, 60 - q.used()[1], 600 - q.used()[2]]));
        now += 10 * S + ms(60);
    }
    assert_eq!(q.used()[1], 60);
    // The minute opened at t0 (confirmed by t0 + 50 ms): the sixth batch waits for it.
    assert_eq!(q.wait_for(1, now), (t0 + 60 * S + ms(50)) - now);
}

#[test]
fn server_counts_win_over_the_model() {
    let t0 = Instant::now();
    let mut q = QpuWindows::new();
    let c = q.take(1, t0);
    // Another client of the tenant (the portal) drew 9 QPU in this window already.
    q.observe(c, &answer(t0, ms(80), 1, 1, [2, 50, 590]));
    assert_eq!(q.used(), [10, 10, 10]);
    assert_eq!(q.wait_for(3, t0 + S), 9 * S + ms(80));
    assert_eq!(q.wait_for(2, t0 + S), Duration::ZERO);
}

#[test]
fn consumed_corrects_the_plan_and_refunds_give_back_unsent_units() {
    let t0 = Instant::now();
    let mut q = QpuWindows::new();
    let stage = q.take(12, t0);
    // A query planned at 2 QPU (31 days) consumed 1: one comes back.
    q.observe(stage, &answer(t0, ms(50), 2, 1, [11, 59, 599]));
    assert_eq!(q.used(), [11, 11, 11]);
    // A conditional query of the stage was not needed.
    q.refund(stage, 3);
    assert_eq!(q.used(), [8, 8, 8]);
    // A throttled query consumed nothing.
    let one = q.take(1, t0 + ms(10));
    let mut refused = answer(t0 + ms(10), ms(30), 1, 0, [0, 0, 0]);
    refused.throttled = true;
    refused.remaining.clear();
    q.observe(one, &refused);
    assert_eq!(q.used(), [8, 8, 8]);
    // A refund of a window that has ended since leaves the new one alone.
    let later = t0 + 11 * S;
    q.take(2, later);
    q.refund(stage, 1);
    assert_eq!(q.used(), [2, 9, 9]);
}

#[test]
fn an_opener_the_model_did_not_expect_moves_the_window() {
    let t0 = Instant::now();
    let mut q = QpuWindows::new();
    let c = q.take(2, t0);
    q.observe(c, &answer(t0, ms(100), 2, 2, [10, 58, 598]));
    // 10.2 s later the 10 s window has certainly ended: this query opens the next one, whose
    // start the server's Date second narrows (the answer came back 900 ms later, but the server
    // counted it within the second that ended 300 ms after the send).
    let t1 = t0 + ms(10_200);
    let c = q.take(1, t1);
    let mut obs = answer(t1, ms(900), 1, 1, [11, 57, 597]);
    obs.server_second_end = Some(t1 + ms(300));
    q.observe(c, &obs);
    assert_eq!(q.wait_for(12, t1 + S), (t1 + ms(10_300)) - (t1 + S));
    assert_eq!(q.arrival_bound(), ms(1800));
}

#[test]
fn the_arrival_bound_is_capped_and_forgets_old_round_trips() {
    let t0 = Instant::now();
    let mut q = QpuWindows::new();
    assert_eq!(q.arrival_bound(), MIN_ARRIVAL_BOUND, "before any answer");
    let c = q.take(1, t0);
    q.observe(c, &answer(t0, 8 * S, 1, 1, [11, 59, 599]));
    assert_eq!(
        q.arrival_bound(),
        MAX_ARRIVAL_BOUND,
        "a stalled answer closes a window for at most 10 s more"
    );
    for i in 0..RTT_HISTORY as u64 {
        q.observe(c, &answer(t0 + ms(i), ms(50), 1, 1, [11, 59, 599]));
    }
    assert_eq!(q.arrival_bound(), MIN_ARRIVAL_BOUND, "the last 32 round trips count, the stall is forgotten");
}
