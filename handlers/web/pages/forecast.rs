//! The overview's month-end forecast (80 % interval) and budget status, per currency, from the
//! same store and analytics calls as `GET /api/v1/costs/forecast` (made for today, the whole
//! tenant) and `GET /api/v1/budgets`.

use chrono::NaiveDate;
use maud::{Markup, html};

use crate::api::money::RoundMoney as _;
use crate::api::routes::budgets::{BudgetView, budget_forecasts, views_on};
use crate::store::{CostForecast, Store, TenantScope};
use crate::web::WebError;
use crate::web::format::money;

/// The tenant's forecasts and budget views on `today`, as the forecast route computes them.
///
/// # Errors
/// The store fails.
pub async fn load(
    store: &Store,
    scope: &TenantScope,
    today: NaiveDate,
) -> Result<(Vec<CostForecast>, Vec<BudgetView>), WebError> {
    // The tenant's forecast, and those of the subscriptions budgets hold (as the budgets route
    // computes them), not every subscription's.
    let budgets = store.list_budgets(scope).await?;
    let forecasts = budget_forecasts(store, scope, &budgets, today, true).await?;
    let budgets = views_on(store, scope, budgets, &forecasts, today).await?;
    // Only the tenant-wide forecasts are shown; rounded as the API answers them.
    let tenant =
        forecasts.into_iter().filter(|f| f.subscription_id.is_none()).map(|f| f.round_money()).collect();
    Ok((tenant, budgets))
}

/// One card per currency: month to date, the month-end forecast and its 80 % interval.
pub fn cards(forecasts: &[CostForecast]) -> Markup {
    html! {
        @for f in forecasts {
            @let e = f.actual.month_end;
            div.card data-testid="forecast" data-currency=(f.currency) {
                div.label { "Month-end forecast (" (f.currency) ")" }
                div.figure data-testid={"forecast-" (f.currency)} data-value=(e.forecast) data-currency=(f.currency) {
                    (money(e.forecast, &f.currency))
                }
                div.note {
                    "80 % interval "
                    span data-testid={"forecast-lower-" (f.currency)} data-value=(e.lower) { (money(e.lower, &f.currency)) }
                    " – "
                    span data-testid={"forecast-upper-" (f.currency)} data-value=(e.upper) { (money(e.upper, &f.currency)) }
                    "; " (money(f.actual.month_to_date, &f.currency)) " so far, data through " (f.data_through)
                }
            }
        }
    }
}

/// The budgets table, or what to do when there is none.
pub fn budgets(views: &[BudgetView]) -> Markup {
    html! {
        @if views.is_empty() {
            p.empty data-testid="empty-budgets" {
                "No budget yet. An Admin creates one with "
                code { "POST /api/v1/budgets" } " (for example "
                code { r#"{"name":"Monthly","amount":5000,"currency":"USD"}"# }
                "); its spend and month-end forecast then appear here."
            }
        } @else {
            table data-testid="budgets" {
                thead { tr {
                    th scope="col" { "Budget" } th scope="col" { "Scope" } th scope="col" .num { "Amount" }
                    th scope="col" .num { "Spent" } th scope="col" .num { "Month-end forecast" } th scope="col" { "Status" }
                } }
                tbody {
                    @for v in views {
                        @let (b, s) = (&v.budget, &v.status);
                        tr data-budget=(b.id) {
                            td { (b.name) " (" (b.metric) ")" }
                            td.mono { (b.subscription_id.as_deref().unwrap_or("whole tenant")) }
                            td.num data-value=(b.amount) { (money(b.amount, &b.currency)) }
                            td.num data-testid="budget-spent" data-value=(s.spent) { (money(s.spent, &b.currency)) " (" (s.percent_spent) " %)" }
                            td.num data-testid="budget-forecast" data-value=(s.forecast.map(|f| f.to_string()).unwrap_or_default()) {
                                @match s.forecast { Some(f) => { (money(f, &b.currency)) @if let Some(p) = s.percent_forecast { " (" (p) " %)" } }, None => "no history yet" }
                            }
                            td { span class={"status " (s.state)} data-testid="budget-state" { (s.state.replace('_', " ")) } }
                        }
                    }
                }
            }
        }
    }
}
