//! Keyset-paged reads for the CSV exports.
//!
//! An export walks every row a filter matches. `OFFSET` paging makes the database produce and
//! throw away all earlier rows for each page (quadratic over an export) and skips or repeats rows
//! when ingestion writes in between; here each page starts strictly after the last row of the
//! previous one (`WHERE (sort key, id) > (last) ORDER BY sort key, id LIMIT n`), which both
//! backends answer from an index range and which stays stable while rows are added. Each page
//! is one short statement on a pooled connection, so a paused export holds no connection.
//!
//! [`Store::count_resources_upto`] and its siblings count matches up to a bound, so the API can
//! refuse an export over its row cap before streaming without counting a whole table.

mod costs;
mod recommendations;
mod resources;

pub use costs::CostCursor;
pub use recommendations::RecommendationCursor;
pub use resources::{ResourceCursor, ResourceExportRow, SortValue};

use super::StoreError;

/// Largest page an export reads in one statement.
pub const MAX_EXPORT_PAGE: u32 = 1000;

/// `limit` as a bound parameter, refusing 0 and anything above [`MAX_EXPORT_PAGE`].
fn page_limit(limit: u32) -> Result<i64, StoreError> {
    if !(1..=MAX_EXPORT_PAGE).contains(&limit) {
        return Err(StoreError::validation("limit", format!("must be between 1 and {MAX_EXPORT_PAGE}")));
    }
    Ok(i64::from(limit))
}

/// `upto` as a bound parameter (a count never needs more than `i64::MAX`).
fn count_bound(upto: u64) -> i64 {
    i64::try_from(upto).unwrap_or(i64::MAX)
}

/// A bounded count's result as `u64` (counts are never negative).
fn count_result(count: i64) -> u64 {
    u64::try_from(count).unwrap_or(0)
}
