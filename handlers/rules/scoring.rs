//! Scoring: `priority = monthly savings × confidence ÷ risk weight`.
//!
//! Risk weights: low 1, medium 2, high 4. Doubling per level means a high-risk action (say,
//! deleting a disk that may hold the only copy of data) must promise four times the
//! confidence-weighted savings of a low-risk one (buying a reservation for a VM that has run
//! all month) to rank above it. Effort is reported per rule and does not enter the score:
//! people filter on it ("quick wins") rather than trade it against money.

use serde::Serialize;

/// Risk of acting on a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Reversible, no service impact.
    Low,
    /// Reversible with some service impact or a financial commitment.
    Medium,
    /// Irreversible (deletes data) or may cause an outage.
    High,
}

impl Risk {
    /// The divisor in the priority formula.
    pub fn weight(self) -> f64 {
        match self {
            Self::Low => 1.0,
            Self::Medium => 2.0,
            Self::High => 4.0,
        }
    }

    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// Effort of acting on a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Effort {
    /// One click or command.
    Low,
    /// A planned change (resize with a restart, a purchase decision).
    Medium,
    /// Work across teams (tagging conventions, migrations).
    High,
}

impl Effort {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// The priority score of a finding, rounded to cents so identical inputs store identically.
pub fn priority(monthly_savings: f64, confidence: f64, risk: Risk) -> f64 {
    round2(monthly_savings.max(0.0) * confidence.clamp(0.0, 1.0) / risk.weight())
}

/// Rounds to two decimals (money).
pub fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_divides_by_risk_weight() {
        // (savings, confidence, risk, expected)
        let cases = [
            (100.0, 0.9, Risk::Low, 90.0),
            (100.0, 0.9, Risk::Medium, 45.0),
            (100.0, 0.9, Risk::High, 22.5),
            (0.0, 1.0, Risk::Low, 0.0),
            (-5.0, 1.0, Risk::Low, 0.0),
            (10.0, 1.5, Risk::Low, 10.0),
        ];
        for (s, c, r, want) in cases {
            assert_eq!(priority(s, c, r), want, "{s} {c} {r:?}");
        }
    }
}
