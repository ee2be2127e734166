//! The cost explorer's reads: sums per period, group and currency from the smallest rollup
//! table that holds every dimension a query names (see [`super::rollups`]).

use chrono::{Datelike as _, Months, NaiveDate};
use sqlx::QueryBuilder;

use super::{Backend, Store, StoreError, TenantScope, on_pool};

/// A dimension costs can be grouped and filtered by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    /// `ServiceName`.
    Service,
    /// Subscription GUID.
    Subscription,
    /// Resource group.
    ResourceGroup,
    /// The resource's region.
    Location,
    /// `<namespace>/<type>` from the resource id.
    ResourceType,
    /// `MeterCategory`.
    MeterCategory,
    /// The value of a tag, by its key (lower-cased).
    Tag(String),
}

/// Every dimension's query-string name (tags are `tag:<key>`).
pub const DIMENSIONS: &str =
    "service, subscription, resource_group, location, resource_type, meter_category, tag:<key>";

impl Dimension {
    /// The dimension a query parameter names, if any.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "service" => Self::Service,
            "subscription" => Self::Subscription,
            "resource_group" => Self::ResourceGroup,
            "location" => Self::Location,
            "resource_type" => Self::ResourceType,
            "meter_category" => Self::MeterCategory,
            _ => {
                let key = name.strip_prefix("tag:")?.trim().to_ascii_lowercase();
                if key.is_empty() {
                    return None;
                }
                Self::Tag(key)
            }
        })
    }

    /// The query-string name.
    pub fn name(&self) -> String {
        match self {
            Self::Service => "service".into(),
            Self::Subscription => "subscription".into(),
            Self::ResourceGroup => "resource_group".into(),
            Self::Location => "location".into(),
            Self::ResourceType => "resource_type".into(),
            Self::MeterCategory => "meter_category".into(),
            Self::Tag(key) => format!("tag:{key}"),
        }
    }

    fn column(&self) -> &'static str {
        match self {
            Self::Service => "service_name",
            Self::Subscription => "subscription_id",
            Self::ResourceGroup => "resource_group",
            Self::Location => "location",
            Self::ResourceType => "resource_type",
            Self::MeterCategory => "meter_category",
            Self::Tag(_) => "tag_value",
        }
    }

    /// A filter value as stored: identifiers lower-cased, names as Cost Management spells them,
    /// tag values trimmed.
    pub fn normalise(&self, value: &str) -> String {
        match self {
            Self::Subscription | Self::ResourceGroup | Self::Location | Self::ResourceType => {
                value.trim().to_ascii_lowercase()
            }
            Self::Tag(_) => value.trim().to_owned(),
            Self::Service | Self::MeterCategory => value.to_owned(),
        }
    }
}

/// Periods of the explorer's series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    /// One period per day.
    Day,
    /// One period per calendar month (labelled by its first day).
    Month,
}

/// Which amount is summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Actual cost.
    Actual,
    /// Amortized cost.
    Amortized,
}

/// One explorer question.
#[derive(Debug, Clone, PartialEq)]
pub struct ExploreQuery {
    /// First day included.
    pub from: NaiveDate,
    /// Last day included.
    pub to: NaiveDate,
    /// Day or month periods.
    pub granularity: Granularity,
    /// The grouping.
    pub group_by: Dimension,
    /// Actual or amortized.
    pub metric: Metric,
    /// Per dimension, the values kept (any of them); dimensions are combined with AND.
    pub filters: Vec<(Dimension, Vec<String>)>,
}

/// The sum of one (period, group, currency).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ExploreCell {
    /// First day of the period.
    pub period: NaiveDate,
    /// The group's value ('' for none: untagged, no location, ...).
    pub key: String,
    /// Billing currency.
    pub currency: String,
    /// The sum.
    pub amount: f64,
}

/// The rollup table a query reads, or why none answers it.
fn table_for(query: &ExploreQuery) -> Result<(&'static str, Option<String>), StoreError> {
    let dims = std::iter::once(&query.group_by).chain(query.filters.iter().map(|(d, _)| d));
    let mut tag: Option<&String> = None;
    let mut only_service = true;
    let mut subscription = false;
    let mut tag_table_fits = true;
    for dim in dims {
        match dim {
            Dimension::Tag(key) => {
                if tag.is_some_and(|t| t != key) {
                    return Err(StoreError::validation("group_by", "a query can name one tag key only"));
                }
                tag = Some(key);
                only_service = false;
            }
            Dimension::Service => {}
            Dimension::Subscription => {
                only_service = false;
                subscription = true;
            }
            _ => {
                only_service = false;
                tag_table_fits = false;
            }
        }
    }
    match tag {
        Some(_) if !tag_table_fits => Err(StoreError::validation(
            "group_by",
            "a tag combines only with the service and subscription dimensions",
        )),
        Some(key) if subscription => Ok(("cost_rollup_tag_daily", Some(key.clone()))),
        Some(key) => Ok(("cost_rollup_tag_tenant_daily", Some(key.clone()))),
        None if only_service => Ok(("cost_rollup_tenant_daily", None)),
        None => Ok(("cost_rollup_daily", None)),
    }
}

/// The whole calendar months inside `from..=to`, as the half-open range of their first days.
fn whole_months(from: NaiveDate, to: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let first = if from.day() == 1 { from } else { from.with_day(1)?.checked_add_months(Months::new(1))? };
    let after = to.succ_opt()?;
    let end = if after.day() == 1 { after } else { to.with_day(1)? };
    (first < end).then_some((first, end))
}

/// `AND <column> = <tag>` and `AND <column> IN (...)` for the query's tag key and filters.
fn push_filters<DB: sqlx::Database>(qb: &mut QueryBuilder<DB>, query: &ExploreQuery, tag: Option<&str>)
where
    String: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    if let Some(key) = tag {
        qb.push(" AND tag_key = ").push_bind(key.to_owned());
    }
    for (dim, values) in &query.filters {
        qb.push(format!(" AND {} IN (", dim.column()));
        let mut list = qb.separated(", ");
        for value in values {
            list.push_bind(dim.normalise(value));
        }
        qb.push(")");
    }
}

impl Store {
    /// Sums per (period, group, currency) of the tenant's costs in the query's window, read
    /// from the rollups. `tag_keys` are the tenant's allocation tags, the only keys rolled up.
    ///
    /// # Errors
    /// [`StoreError::Validation`] for a combination the rollups cannot answer or a tag that is
    /// not an allocation tag; database errors.
    pub async fn explore_costs(
        &self,
        scope: &TenantScope,
        query: &ExploreQuery,
    ) -> Result<Vec<ExploreCell>, StoreError> {
        let (table, tag) = table_for(query)?;
        if let Some(key) = &tag {
            let allocation = self.allocation_tag(scope).await?;
            if allocation.as_deref() != Some(key.as_str()) {
                return Err(StoreError::validation(
                    "group_by",
                    format!(
                        "tag `{key}` is not rolled up: the tenant's allocation tag is `{}`",
                        allocation.unwrap_or_default()
                    ),
                ));
            }
        }
        let period = match (query.granularity, self.backend()) {
            (Granularity::Day, _) => "date",
            (Granularity::Month, Backend::Sqlite) => "substr(date, 1, 7) || '-01'",
            (Granularity::Month, Backend::Postgres) => "CAST(date_trunc('month', date) AS date)",
        };
        let amount = match query.metric {
            Metric::Actual => "cost",
            Metric::Amortized => "amortized_cost",
        };
        let group = query.group_by.column();
        // By month over the per-subscription table, whole months come from its month-level twin
        // and only the partial months at the window's edges from the daily rows.
        let whole_months = (table == "cost_rollup_daily" && query.granularity == Granularity::Month)
            .then(|| whole_months(query.from, query.to))
            .flatten();
        // The daily rows to read: the whole window, or only its partial edge months as two
        // separate ranges. Not one range with `date < first OR date >= end`: PostgreSQL's
        // generic plan of a prepared statement (used from its sixth run) cannot narrow the index
        // scan by an OR of parameters and read every day of the window (measured: 40 ms became
        // 570 ms for 13 months by resource group).
        let daily_ranges: Vec<(NaiveDate, NaiveDate)> = match whole_months {
            None => vec![(query.from, query.to)],
            Some((first, end)) => [first.pred_opt().map(|last| (query.from, last)), Some((end, query.to))]
                .into_iter()
                .flatten()
                .filter(|(from, to)| from <= to)
                .collect(),
        };
        let cells: Vec<ExploreCell> = on_pool!(self, pool => {
            let mut qb = QueryBuilder::new("");
            let mut branches = 0;
            if let Some((first, end)) = whole_months {
                qb.push(format!(
                    "SELECT month AS period, {group} AS grp, currency, SUM({amount}) AS amount \
                     FROM cost_rollup_monthly WHERE tenant_id = "
                ));
                qb.push_bind(scope.tenant_id().to_owned());
                qb.push(" AND month >= ").push_bind(first).push(" AND month < ").push_bind(end);
                push_filters(&mut qb, query, None);
                qb.push(" GROUP BY period, grp, currency");
                branches += 1;
            }
            for (from, to) in &daily_ranges {
                if branches > 0 {
                    qb.push(" UNION ALL ");
                }
                branches += 1;
                qb.push(format!(
                    "SELECT {period} AS period, {group} AS grp, currency, SUM({amount}) AS amount FROM {table} WHERE tenant_id = "
                ));
                qb.push_bind(scope.tenant_id().to_owned());
                qb.push(" AND date >= ").push_bind(*from).push(" AND date <= ").push_bind(*to);
                push_filters(&mut qb, query, tag.as_deref());
                qb.push(" GROUP BY period, grp, currency");
            }
            let rows: Vec<(NaiveDate, String, String, f64)> = qb.build_query_as().fetch_all(pool).await?;
            rows.into_iter()
                .map(|(period, key, currency, amount)| ExploreCell { period, key, currency, amount })
                .collect()
        });
        Ok(cells)
    }

    /// The tenant's allocation tag key as the rollups store it (lower-cased), `None` when the
    /// tenant's settings name an empty one.
    ///
    /// # Errors
    /// Database errors.
    pub async fn allocation_tag(&self, scope: &TenantScope) -> Result<Option<String>, StoreError> {
        let sql = format!("SELECT {}", super::rollups::tag_key_sql(self.backend()));
        let key: String = on_pool!(self, pool => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(scope.tenant_id()).fetch_one(pool).await?
        });
        Ok(Some(key).filter(|k| !k.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(group_by: Dimension, filters: Vec<Dimension>) -> ExploreQuery {
        let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        ExploreQuery {
            from: day,
            to: day,
            granularity: Granularity::Day,
            group_by,
            metric: Metric::Actual,
            filters: filters.into_iter().map(|d| (d, vec!["x".to_owned()])).collect(),
        }
    }

    #[test]
    fn the_smallest_table_that_holds_the_dimensions_answers() {
        let tag = || Dimension::Tag("cost-center".into());
        let pick = |q: ExploreQuery| table_for(&q).map(|(t, _)| t);
        assert_eq!(pick(query(Dimension::Service, vec![])).unwrap(), "cost_rollup_tenant_daily");
        assert_eq!(
            pick(query(Dimension::Service, vec![Dimension::Subscription])).unwrap(),
            "cost_rollup_daily"
        );
        assert_eq!(pick(query(tag(), vec![Dimension::Service])).unwrap(), "cost_rollup_tag_tenant_daily");
        assert_eq!(pick(query(Dimension::Subscription, vec![tag()])).unwrap(), "cost_rollup_tag_daily");
        assert!(pick(query(tag(), vec![Dimension::Location])).is_err());
        assert!(pick(query(tag(), vec![Dimension::Tag("owner".into())])).is_err());
    }

    #[test]
    fn only_whole_months_come_from_the_month_level_table() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(
            whole_months(day(2025, 11, 7), day(2026, 12, 6)),
            Some((day(2025, 12, 1), day(2026, 12, 1)))
        );
        assert_eq!(whole_months(day(2026, 1, 1), day(2026, 1, 31)), Some((day(2026, 1, 1), day(2026, 2, 1))));
        assert_eq!(
            whole_months(day(2026, 11, 30), day(2027, 1, 1)),
            Some((day(2026, 12, 1), day(2027, 1, 1)))
        );
        assert_eq!(whole_months(day(2026, 1, 2), day(2026, 1, 31)), None);
        assert_eq!(whole_months(day(2026, 1, 15), day(2026, 2, 14)), None);
    }

    #[test]
    fn dimensions_parse_by_name() {
        assert_eq!(Dimension::parse("tag:Cost-Center"), Some(Dimension::Tag("cost-center".into())));
        assert_eq!(Dimension::parse("tag:"), None);
        assert_eq!(Dimension::parse("region"), None);
        assert_eq!(Dimension::parse("meter_category").map(|d| d.name()).as_deref(), Some("meter_category"));
    }
}
