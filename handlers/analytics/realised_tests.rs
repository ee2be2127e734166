use chrono::{Days, NaiveDate};

use super::*;

fn day(n: i64) -> NaiveDate {
    let d = NaiveDate::from_ymd_opt(2026, 6, 15).unwrap();
    if n >= 0 {
        d.checked_add_days(Days::new(n as u64)).unwrap()
    } else {
        d.checked_sub_days(Days::new((-n) as u64)).unwrap()
    }
}

fn subject(identified: f64) -> Subject {
    Subject {
        executed_on: day(0),
        identified_monthly: identified,
        currency: "EUR".into(),
        covered_usage: false,
    }
}

/// `amount(offset)` for each offset in `range` (days relative to execution), in `currency`.
fn history(
    range: std::ops::RangeInclusive<i64>,
    currency: &str,
    amount: impl Fn(i64) -> f64,
) -> Vec<DayCost> {
    range
        .map(|n| DayCost {
            date: day(n),
            currency: currency.into(),
            cost: amount(n),
            amortized_cost: amount(n),
        })
        .collect()
}

/// Cost data known from 40 days before execution to 40 days after.
fn full_span() -> Option<DataSpan> {
    Some(DataSpan { from: day(-40), through: day(40) })
}

fn settled() -> NaiveDate {
    day(45)
}

#[test]
fn a_cost_that_drops_is_realised_with_high_confidence() {
    let days = history(-30..=30, "EUR", |n| if n < 0 { 10.0 } else { 0.5 });
    let a = assess(&subject(300.0), &days, full_span(), settled(), &Params::default());
    assert_eq!(a.basis, Basis::ResourceCostBeforeAfter);
    assert_eq!(a.verdict, Verdict::Realised);
    assert!((a.realised_monthly.unwrap() - 285.0).abs() < 1e-9, "{a:?}");
    assert_eq!((a.before_days, a.before_cost_days, a.after_days, a.after_cost_days), (30, 30, 30, 30));
    assert!((a.before_amount - 300.0).abs() < 1e-9 && (a.after_amount - 15.0).abs() < 1e-9);
    assert_eq!(a.confidence, Confidence::High);
    assert_eq!(a.confidence_score, 1.0);
}

#[test]
fn a_cost_that_does_not_drop_enough_is_not_realised() {
    // 10/day before, 9.5/day after: 15 a month realised of 300 identified (< 50 %).
    let days = history(-30..=30, "EUR", |n| if n < 0 { 10.0 } else { 9.5 });
    let a = assess(&subject(300.0), &days, full_span(), settled(), &Params::default());
    assert_eq!(a.verdict, Verdict::NotRealised);
    assert!((a.realised_monthly.unwrap() - 15.0).abs() < 1e-9);
    // A cost that rose is a negative saving, also not realised.
    let days = history(-30..=30, "EUR", |n| if n < 0 { 10.0 } else { 12.0 });
    let a = assess(&subject(300.0), &days, full_span(), settled(), &Params::default());
    assert_eq!(a.verdict, Verdict::NotRealised);
    assert!((a.realised_monthly.unwrap() + 60.0).abs() < 1e-9);
}

#[test]
fn the_threshold_is_half_the_identified_savings() {
    // Exactly 150 of 300 is realised; just below is not.
    let at = |after: f64| {
        let days = history(-30..=30, "EUR", |n| if n < 0 { 10.0 } else { after });
        assess(&subject(300.0), &days, full_span(), settled(), &Params::default()).verdict
    };
    assert_eq!(at(5.0), Verdict::Realised);
    assert_eq!(at(5.01), Verdict::NotRealised);
    // With nothing identified, any fall in cost counts.
    let days = history(-30..=30, "EUR", |n| if n < 0 { 10.0 } else { 9.0 });
    assert_eq!(
        assess(&subject(0.0), &days, full_span(), settled(), &Params::default()).verdict,
        Verdict::Realised
    );
}

#[test]
fn a_resource_with_no_cost_after_is_gone_and_saves_its_run_rate() {
    let days = history(-30..=-1, "EUR", |_| 4.0);
    let a = assess(&subject(120.0), &days, full_span(), settled(), &Params::default());
    assert_eq!(a.basis, Basis::ResourceGone);
    assert_eq!(a.verdict, Verdict::Realised);
    assert!((a.realised_monthly.unwrap() - 120.0).abs() < 1e-9);
    assert_eq!((a.after_days, a.after_cost_days), (30, 0));
}

#[test]
fn a_resource_already_gone_before_execution_saves_the_rate_it_was_billed_at() {
    // Billed 4/day until 20 days before the execution was recorded, nothing since.
    let days = history(-30..=-21, "EUR", |_| 4.0);
    let a = assess(&subject(120.0), &days, full_span(), settled(), &Params::default());
    assert_eq!(a.basis, Basis::ResourceGone);
    assert_eq!(a.verdict, Verdict::Realised);
    assert!((a.realised_monthly.unwrap() - 120.0).abs() < 1e-9);
    assert_eq!((a.before_days, a.before_cost_days), (30, 10));
}

#[test]
fn no_cost_before_execution_is_no_data() {
    let a = assess(&subject(120.0), &[], full_span(), settled(), &Params::default());
    assert_eq!(a.verdict, Verdict::NoData);
    assert_eq!(a.realised_monthly, None);
    assert_eq!(a.confidence, Confidence::Low);
    // A subscription without any cost data: nothing is known on either side.
    let a = assess(&subject(120.0), &history(-30..=30, "EUR", |_| 1.0), None, settled(), &Params::default());
    assert_eq!((a.verdict, a.before_days, a.after_days), (Verdict::NoData, 0, 0));
}

#[test]
fn too_few_days_after_is_pending_with_a_partial_estimate() {
    let days = history(-30..=30, "EUR", |n| if n < 0 { 10.0 } else { 0.0 });
    // Ten days after execution (days 1..=9 are complete).
    let a = assess(&subject(300.0), &days, full_span(), day(10), &Params::default());
    assert_eq!(a.verdict, Verdict::Pending);
    assert_eq!(a.after_days, 9);
    assert!((a.realised_monthly.unwrap() - 300.0).abs() < 1e-9);
    assert_eq!(a.confidence_score, 0.3);
    assert_eq!(a.confidence, Confidence::Low);
    // The day of execution: nothing after yet, no estimate.
    let a = assess(&subject(300.0), &days, full_span(), day(1), &Params::default());
    assert_eq!((a.verdict, a.after_days, a.realised_monthly), (Verdict::Pending, 0, None));
    // A shorter requirement gives the verdict earlier.
    let quick = Params { min_days_after: 7, ..Params::default() };
    assert_eq!(assess(&subject(300.0), &days, full_span(), day(10), &quick).verdict, Verdict::Realised);
}

#[test]
fn days_not_ingested_yet_are_not_counted_as_savings() {
    // Data only through 5 days after execution: the later days are unknown, not zero.
    let days = history(-30..=5, "EUR", |_| 10.0);
    let span = Some(DataSpan { from: day(-40), through: day(5) });
    let a = assess(&subject(300.0), &days, span, settled(), &Params::default());
    assert_eq!((a.verdict, a.after_days, a.after_cost_days), (Verdict::Pending, 5, 5));
    assert!(a.realised_monthly.unwrap().abs() < 1e-9);
    // Data starting 10 days before execution: the before window is 10 days long.
    let span = Some(DataSpan { from: day(-10), through: day(40) });
    let days = history(-30..=30, "EUR", |n| if n < 0 { 10.0 } else { 0.0 });
    let a = assess(&subject(300.0), &days, span, settled(), &Params::default());
    assert_eq!((a.before_days, a.before_cost_days), (10, 10));
    assert!((a.before_amount - 100.0).abs() < 1e-9);
    assert_eq!(a.verdict, Verdict::Realised);
    assert!(a.confidence_score < 0.4, "{a:?}");
}

#[test]
fn gaps_and_noise_lower_the_confidence() {
    let steady = history(-30..=30, "EUR", |n| if n < 0 { 10.0 } else { 0.0 });
    let gappy: Vec<DayCost> = steady
        .iter()
        .filter(|d| d.date >= day(0) || (d.date - day(0)).num_days() % 2 == 0)
        .cloned()
        .collect();
    let noisy = history(-30..=30, "EUR", |n| {
        if n >= 0 {
            0.0
        } else if n % 2 == 0 {
            2.0
        } else {
            18.0
        }
    });
    let score = |days: &[DayCost]| {
        assess(&subject(100.0), days, full_span(), settled(), &Params::default()).confidence_score
    };
    assert_eq!(score(&steady), 1.0);
    assert!(score(&gappy) < 0.6, "{}", score(&gappy));
    assert!(score(&noisy) < 0.6, "{}", score(&noisy));
    assert_eq!(Confidence::of(0.75), Confidence::High);
    assert_eq!(Confidence::of(0.4), Confidence::Medium);
    assert_eq!(Confidence::of(0.39), Confidence::Low);
}

#[test]
fn other_currencies_are_kept_out_and_never_added() {
    // USD rows on the same days must not change the EUR comparison.
    let mut days = history(-30..=30, "EUR", |n| if n < 0 { 10.0 } else { 0.5 });
    days.extend(history(-30..=30, "USD", |_| 1000.0));
    let a = assess(&subject(300.0), &days, full_span(), settled(), &Params::default());
    assert_eq!(a.verdict, Verdict::Realised);
    assert!((a.realised_monthly.unwrap() - 285.0).abs() < 1e-9);
    assert_eq!(a.other_currency_rows, 61);
    // Only rows in another currency: refused, nothing compared.
    let a = assess(
        &subject(300.0),
        &history(-30..=30, "USD", |_| 10.0),
        full_span(),
        settled(),
        &Params::default(),
    );
    assert_eq!((a.basis, a.verdict, a.realised_monthly), (Basis::CurrencyMismatch, Verdict::NoData, None));
    // The currency code's case and padding do not matter.
    let a = assess(
        &subject(300.0),
        &history(-30..=30, " eur", |n| if n < 0 { 10.0 } else { 0.0 }),
        full_span(),
        settled(),
        &Params::default(),
    );
    assert_eq!(a.verdict, Verdict::Realised);
}

#[test]
fn rate_findings_compare_the_covered_usages_amortized_cost() {
    // After a reservation, the VM's actual cost is zero but its amortized cost is 6/day.
    let days: Vec<DayCost> = (-30..=30)
        .map(|n| DayCost {
            date: day(n),
            currency: "EUR".into(),
            cost: if n < 0 { 10.0 } else { 0.0 },
            amortized_cost: if n < 0 { 10.0 } else { 6.0 },
        })
        .collect();
    let rate = Subject { covered_usage: true, ..subject(150.0) };
    let a = assess(&rate, &days, full_span(), settled(), &Params::default());
    assert_eq!(a.basis, Basis::CoveredUsage);
    assert!((a.realised_monthly.unwrap() - 120.0).abs() < 1e-9);
    assert_eq!(a.verdict, Verdict::Realised);
    // Covered usage with no rows after is not "gone": the commitment may cover it elsewhere.
    let a = assess(&rate, &history(-30..=-1, "EUR", |_| 10.0), full_span(), settled(), &Params::default());
    assert_eq!(a.basis, Basis::CoveredUsage);
}

#[test]
fn several_rows_of_one_day_add_up_and_rows_outside_the_windows_are_ignored() {
    let mut days = history(-30..=30, "EUR", |n| if n < 0 { 5.0 } else { 0.0 });
    days.extend(history(-30..=-1, "EUR", |_| 5.0));
    days.extend(history(-60..=-31, "EUR", |_| 1000.0));
    days.extend(history(0..=0, "EUR", |_| 1000.0));
    days.extend(history(31..=60, "EUR", |_| 1000.0));
    let a = assess(
        &subject(300.0),
        &days,
        Some(DataSpan { from: day(-60), through: day(60) }),
        day(90),
        &Params::default(),
    );
    assert_eq!((a.before_cost_days, a.after_cost_days), (30, 30));
    assert!((a.before_amount - 300.0).abs() < 1e-9);
    assert!((a.realised_monthly.unwrap() - 300.0).abs() < 1e-9);
    assert_eq!(a.confidence_score, 1.0);
}

#[test]
fn the_figure_rounds_to_the_currencys_minor_unit_at_the_edge() {
    // 10/3 a day less: 100.00000000000001-ish, kept in full and rounded where shown.
    let days = history(-30..=30, "JPY", |n| if n < 0 { 10.0 } else { 10.0 - 10.0 / 3.0 - 0.0123 });
    let jpy = Subject { currency: "JPY".into(), ..subject(100.0) };
    let a = assess(&jpy, &days, full_span(), settled(), &Params::default());
    let full = a.realised_monthly.unwrap();
    assert!((full - 100.369).abs() < 1e-9, "{full}");
    assert_eq!(crate::money::round_to_minor_unit(full, "JPY"), 100.0);
    assert_eq!(crate::money::round_to_minor_unit(full, "EUR"), 100.37);
}

#[test]
fn texts_round_trip() {
    for v in [Verdict::Pending, Verdict::Realised, Verdict::NotRealised, Verdict::NoData] {
        assert_eq!(Verdict::parse(v.as_str()), Some(v));
        assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
    }
    for b in
        [Basis::ResourceCostBeforeAfter, Basis::ResourceGone, Basis::CoveredUsage, Basis::CurrencyMismatch]
    {
        assert_eq!(Basis::parse(b.as_str()), Some(b));
        assert_eq!(serde_json::to_value(b).unwrap(), b.as_str());
    }
    assert_eq!(Confidence::parse("medium"), Some(Confidence::Medium));
    assert_eq!(Verdict::parse("bogus"), None);
    let (from, to) = read_window(day(0), &Params::default());
    assert_eq!((from, to), (day(-30), day(30)));
}
