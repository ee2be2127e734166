//! The recommendation status lifecycle, as a pure state machine.
//!
//! People move a recommendation along:
//! `open → approved → executed`, `open → rejected → open`, `open → dismissed → open`,
//! `approved → rejected`. Anything else is refused (the API answers 409).
//!
//! The system owns one more status, `closed`: when a rule is evaluated again and a finding no
//! longer holds, an `open` recommendation is closed; when a closed finding shows up again, the
//! next upsert reopens it (`closed → open`). A status a person set (approved, rejected,
//! dismissed, executed) is never changed by the system. People cannot move to or from `closed`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::StoreError;

/// Where a recommendation is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecommendationStatus {
    /// Detected and awaiting a decision.
    Open,
    /// Accepted for execution.
    Approved,
    /// Refused by a person (may be reopened).
    Rejected,
    /// Hidden by a person as not relevant (may be reopened).
    Dismissed,
    /// Carried out.
    Executed,
    /// Closed by the system because the finding no longer holds.
    Closed,
}

/// Who asks for a status change: people follow the lifecycle, the system only closes/reopens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changer {
    /// A user through the API.
    Person,
    /// The rule engine.
    System,
}

impl RecommendationStatus {
    /// Every status, for exhaustive tests and documentation.
    pub const ALL: [Self; 6] =
        [Self::Open, Self::Approved, Self::Rejected, Self::Dismissed, Self::Executed, Self::Closed];

    /// The status as stored in the database and sent over the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Dismissed => "dismissed",
            Self::Executed => "executed",
            Self::Closed => "closed",
        }
    }

    /// Whether `changer` may move a recommendation from `self` to `to`.
    pub fn can_transition(self, to: Self, changer: Changer) -> bool {
        use RecommendationStatus::{Approved, Closed, Dismissed, Executed, Open, Rejected};
        match changer {
            Changer::Person => matches!(
                (self, to),
                (Open, Approved)
                    | (Approved, Executed)
                    | (Open, Rejected)
                    | (Rejected, Open)
                    | (Open, Dismissed)
                    | (Dismissed, Open)
                    | (Approved, Rejected)
            ),
            Changer::System => matches!((self, to), (Open, Closed) | (Closed, Open)),
        }
    }

    /// Checks a transition.
    ///
    /// # Errors
    /// [`StoreError::InvalidTransition`] when the lifecycle does not allow it.
    pub fn transition(self, to: Self, changer: Changer) -> Result<Self, StoreError> {
        if self.can_transition(to, changer) {
            Ok(to)
        } else {
            Err(StoreError::InvalidTransition { from: self, to })
        }
    }
}

impl fmt::Display for RecommendationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RecommendationStatus {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| StoreError::validation("status", format!("unknown status {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::Changer::{Person, System};
    use super::RecommendationStatus::{self, *};

    /// Every (from, to) a person may perform; all other pairs must be refused.
    const PERSON_ALLOWED: &[(RecommendationStatus, RecommendationStatus)] = &[
        (Open, Approved),
        (Approved, Executed),
        (Open, Rejected),
        (Rejected, Open),
        (Open, Dismissed),
        (Dismissed, Open),
        (Approved, Rejected),
    ];
    const SYSTEM_ALLOWED: &[(RecommendationStatus, RecommendationStatus)] = &[(Open, Closed), (Closed, Open)];

    #[test]
    fn the_full_transition_table() {
        for from in RecommendationStatus::ALL {
            for to in RecommendationStatus::ALL {
                let person = PERSON_ALLOWED.contains(&(from, to));
                let system = SYSTEM_ALLOWED.contains(&(from, to));
                assert_eq!(from.can_transition(to, Person), person, "person {from} -> {to}");
                assert_eq!(from.can_transition(to, System), system, "system {from} -> {to}");
                match from.transition(to, Person) {
                    Ok(next) => assert_eq!(next, to),
                    Err(crate::store::StoreError::InvalidTransition { from: f, to: t }) => {
                        assert!(!person);
                        assert_eq!((f, t), (from, to));
                    }
                    Err(other) => panic!("unexpected {other}"),
                }
            }
        }
    }

    #[test]
    fn executed_is_final_and_closed_is_system_only() {
        for to in RecommendationStatus::ALL {
            assert!(!Executed.can_transition(to, Person));
            assert!(!Executed.can_transition(to, System));
            assert!(!Closed.can_transition(to, Person));
        }
    }

    #[test]
    fn statuses_round_trip_as_text() {
        for status in RecommendationStatus::ALL {
            assert_eq!(status.as_str().parse::<RecommendationStatus>().unwrap(), status);
            assert_eq!(serde_json::to_string(&status).unwrap(), format!("\"{status}\""));
        }
        assert!("bogus".parse::<RecommendationStatus>().is_err());
    }
}
