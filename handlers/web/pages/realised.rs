//! The realised-savings block of a recommendation's page: what an executed recommendation
//! actually saved, once verified (see the README's *Realised savings*).

use maud::{Markup, html};

use crate::store::RealisedSavings;
use crate::web::format::{money, percent, when, words};

/// The block, or nothing for a recommendation not verified (yet).
pub fn section(realised: Option<&RealisedSavings>) -> Markup {
    let Some(r) = realised else { return html! {} };
    let figure = r.realised_monthly_savings.map_or_else(|| "—".to_owned(), |v| money(v, &r.currency));
    html! {
        section aria-labelledby="realised-h" {
            h2 #realised-h { "Realised savings" }
            dl.facts data-testid="realised" {
                dt { "Verdict" } dd data-testid="realised-verdict" { (words(r.verdict.as_str())) }
                dt { "Realised per month" } dd data-testid="realised-savings" {
                    (figure) " of " (money(r.identified_monthly_savings, &r.currency)) " identified"
                }
                dt { "Basis" } dd { (words(r.basis.as_str())) }
                dt { "Confidence" } dd { (r.confidence.as_str()) " (" (percent(r.confidence_score)) ")" }
                dt { "Before execution" } dd { (money(r.before_amount, &r.currency)) " over " (r.before_days) " days" }
                dt { "After execution" } dd { (money(r.after_amount, &r.currency)) " over " (r.after_days) " days" }
                dt { "Verified" } dd { "as of " (r.as_of.to_string()) ", " (when(r.computed_at)) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::realised::{Basis, Confidence, Verdict};

    #[test]
    fn the_block_shows_the_verdict_and_figures_and_nothing_before_verification() {
        assert_eq!(section(None).into_string(), "");
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-07T06:00:00Z").unwrap().to_utc();
        let r = RealisedSavings {
            recommendation_id: "r".into(),
            subscription_id: "s".into(),
            executed_at: at,
            currency: "EUR".into(),
            identified_monthly_savings: 300.0,
            realised_monthly_savings: Some(15.004),
            basis: Basis::ResourceCostBeforeAfter,
            confidence: Confidence::High,
            confidence_score: 0.9,
            verdict: Verdict::NotRealised,
            before_amount: 300.0,
            before_days: 30,
            before_cost_days: 30,
            after_amount: 285.0,
            after_days: 30,
            after_cost_days: 30,
            as_of: at.date_naive(),
            computed_at: at,
        };
        let text = section(Some(&r)).into_string();
        assert!(text.contains("not realised"), "{text}");
        assert!(text.contains("€15.00 of €300.00 identified"), "{text}");
        assert!(text.contains("resource cost before after") && text.contains("high (90%)"), "{text}");
    }
}
