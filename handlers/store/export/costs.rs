//! Keyset pages of `costs_daily`, newest day first, in primary-key order.

use chrono::NaiveDate;
use sqlx::QueryBuilder;

use super::{count_bound, count_result, page_limit};
use crate::store::costs::{COLUMNS, push_filters};
use crate::store::{CostFilter, CostRow, Store, StoreError, TenantScope, on_pool};

/// Where the next page of a cost export starts: after this primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostCursor {
    date: NaiveDate,
    subscription_id: String,
    resource_group: String,
    service_name: String,
    meter_category: String,
    resource_id: String,
}

impl CostCursor {
    /// The cursor that continues after `row`.
    pub fn after(row: &CostRow) -> Self {
        Self {
            date: row.date,
            subscription_id: row.subscription_id.clone(),
            resource_group: row.resource_group.clone(),
            service_name: row.service_name.clone(),
            meter_category: row.meter_category.clone(),
            resource_id: row.resource_id.clone(),
        }
    }
}

impl Store {
    /// Up to `limit` (1..=1000) cost rows matching `filter` after `after`, in the order of
    /// [`Store::list_costs`]: the primary key descending, which is a total order, so one
    /// row-value comparison on the key continues exactly where the last page stopped.
    ///
    /// # Errors
    /// [`StoreError::Validation`] for a bad `limit`; database errors.
    pub async fn export_costs_page(
        &self,
        scope: &TenantScope,
        filter: &CostFilter,
        after: Option<&CostCursor>,
        limit: u32,
    ) -> Result<Vec<CostRow>, StoreError> {
        let limit = page_limit(limit)?;
        Ok(on_pool!(self, pool => {
            let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM costs_daily WHERE "));
            push_filters(&mut qb, scope, filter);
            if let Some(after) = after {
                qb.push(
                    " AND (date, subscription_id, resource_group, service_name, meter_category, resource_id) < (",
                );
                qb.push_bind(after.date);
                for value in [
                    &after.subscription_id,
                    &after.resource_group,
                    &after.service_name,
                    &after.meter_category,
                    &after.resource_id,
                ] {
                    qb.push(", ").push_bind(value.clone());
                }
                qb.push(")");
            }
            qb.push(
                " ORDER BY date DESC, subscription_id DESC, resource_group DESC, service_name DESC, \
                 meter_category DESC, resource_id DESC LIMIT ",
            );
            qb.push_bind(limit);
            qb.build_query_as().fetch_all(pool).await?
        }))
    }

    /// How many cost rows match `filter`, counting no further than `upto`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn count_costs_upto(
        &self,
        scope: &TenantScope,
        filter: &CostFilter,
        upto: u64,
    ) -> Result<u64, StoreError> {
        let count: i64 = on_pool!(self, pool => {
            let mut qb = QueryBuilder::new("SELECT COUNT(*) FROM (SELECT 1 FROM costs_daily WHERE ");
            push_filters(&mut qb, scope, filter);
            qb.push(" LIMIT ").push_bind(count_bound(upto)).push(") AS capped");
            qb.build_query_scalar().fetch_one(pool).await?
        });
        Ok(count_result(count))
    }
}
