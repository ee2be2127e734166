//! The queries of a cost window, planned up front with their QPU, in stages a tenant's quota
//! windows can take at once.
//!
//! Cost Management charges per query, per month of data, against 12 QPU per 10 s per tenant.
//! A 35-day backfill is 16 queries of 1 QPU (four per cost type and calendar month, see
//! [`super::cost_management`]), more than one 10 s window holds, so some of them must wait for
//! the next window. The plan decides which, so that what waits is cheap to hold:
//! - the **small** queries (B: meter category × service) go first, packed into stages of at
//!   most 12 QPU;
//! - then the **large** ones, per cost type and month: A (resource × meter category), D
//!   (resource × service) and C (resource × group, sent only when A has charges without a
//!   resource; reserved with them and refunded when not sent), packed the same way.
//!
//! Each stage is reserved whole before its first query is sent, so no query of a stage waits on
//! the quota once the stage has started: a subscription waits (without its work slot) before a
//! stage, holding at most the small answers of the stages before.

use chrono::NaiveDate;

use super::cost_management::{CostQuery, CostType, month_chunks};
use crate::azure::qpu::{MAX_RESERVATION, planned_qpu};

/// One query of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedQuery {
    /// Which of the four queries.
    pub query: CostQuery,
    /// Actual or amortized.
    pub cost_type: CostType,
    /// First day (inclusive).
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
    /// QPU it is planned at.
    pub qpu: u32,
}

/// Queries reserved and sent together.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stage {
    /// The queries, C after the A it depends on.
    pub queries: Vec<PlannedQuery>,
}

impl Stage {
    /// QPU of every query of the stage, the conditional ones included.
    pub fn qpu(&self) -> u32 {
        self.queries.iter().map(|q| q.qpu).sum()
    }
}

/// Plans `[from, to]` (inclusive; empty when `from > to`).
pub fn plan(from: NaiveDate, to: NaiveDate) -> Vec<Stage> {
    let chunks = month_chunks(from, to);
    let types = [CostType::ActualCost, CostType::AmortizedCost];
    let query = |query, cost_type, (from, to): (NaiveDate, NaiveDate)| {
        let days = ((to - from).num_days() + 1).max(1) as u32;
        PlannedQuery { query, cost_type, from, to, qpu: planned_qpu(days, 1) }
    };
    let mut stages = Vec::new();
    let mut current = Stage::default();
    let add = |stages: &mut Vec<Stage>, current: &mut Stage, group: Vec<PlannedQuery>| {
        let qpu: u32 = group.iter().map(|q| q.qpu).sum();
        if !current.queries.is_empty() && current.qpu() + qpu > MAX_RESERVATION {
            stages.push(std::mem::take(current));
        }
        current.queries.extend(group);
    };
    for &chunk in &chunks {
        for cost_type in types {
            add(&mut stages, &mut current, vec![query(CostQuery::B, cost_type, chunk)]);
        }
    }
    if !current.queries.is_empty() {
        stages.push(std::mem::take(&mut current));
    }
    for &chunk in &chunks {
        for cost_type in types {
            let group = [CostQuery::A, CostQuery::D, CostQuery::C].map(|q| query(q, cost_type, chunk));
            add(&mut stages, &mut current, group.to_vec());
        }
    }
    if !current.queries.is_empty() {
        stages.push(current);
    }
    stages
}

/// QPU of a whole plan (conditional queries included): what a tenant's windows must give.
pub fn plan_qpu(stages: &[Stage]) -> u32 {
    stages.iter().map(Stage::qpu).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn shape(stages: &[Stage]) -> Vec<Vec<(CostQuery, u32)>> {
        stages.iter().map(|s| s.queries.iter().map(|q| (q.query, q.qpu)).collect()).collect()
    }

    #[test]
    fn a_backfill_of_two_months_is_small_queries_then_one_full_window() {
        // 35 days ending yesterday, two calendar months.
        let stages = plan(d("2026-11-02"), d("2026-12-06"));
        assert_eq!(plan_qpu(&stages), 16);
        assert_eq!(stages.iter().map(Stage::qpu).collect::<Vec<_>>(), vec![4, 12]);
        assert!(stages[0].queries.iter().all(|q| q.query == CostQuery::B));
        let big = &stages[1].queries;
        assert_eq!(big.len(), 12);
        // Each C follows the A of its cost type and month.
        for (i, q) in big.iter().enumerate().filter(|(_, q)| q.query == CostQuery::C) {
            let a = big[..i]
                .iter()
                .find(|a| a.query == CostQuery::A && a.cost_type == q.cost_type && a.from == q.from);
            assert!(a.is_some(), "{q:?}");
        }
        assert!(stages.iter().all(|s| s.qpu() <= MAX_RESERVATION));
    }

    #[test]
    fn a_steady_night_fits_one_window_and_long_months_cost_two() {
        let stages = plan(d("2026-11-21"), d("2026-11-24"));
        assert_eq!(
            shape(&stages),
            vec![
                vec![(CostQuery::B, 1), (CostQuery::B, 1)],
                vec![
                    (CostQuery::A, 1),
                    (CostQuery::D, 1),
                    (CostQuery::C, 1),
                    (CostQuery::A, 1),
                    (CostQuery::D, 1),
                    (CostQuery::C, 1),
                ],
            ]
        );
        // A whole 31-day month is planned at 2 QPU a query; a stage still never exceeds 12.
        let stages = plan(d("2026-10-01"), d("2026-11-05"));
        assert_eq!(plan_qpu(&stages), 2 * (2 + 2 + 2 + 2) + 2 * (1 + 1 + 1 + 1));
        assert!(stages.iter().all(|s| s.qpu() <= MAX_RESERVATION), "{:?}", shape(&stages));
        assert!(plan(d("2026-11-24"), d("2026-11-23")).is_empty());
    }
}
