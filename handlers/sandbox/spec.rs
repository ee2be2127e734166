//! Estate size specifications: named presets and the explicit `key=value` form.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::SandboxError;

/// The most days of cost history an estate may hold (13 months, the Cost Details limit).
pub const MAX_DAYS: u32 = 397;

/// How big a generated estate is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EstateSpec {
    /// Number of tenants; tenant #0 is the managing (control-plane) tenant.
    pub tenants: u32,
    /// Subscriptions per tenant.
    pub subscriptions: u32,
    /// Resources per subscription.
    pub resources: u32,
    /// Days of cost history ending the day before the as-of date.
    pub days: u32,
}

impl EstateSpec {
    /// The `demo` preset: 3 tenants × 4 subscriptions × 60 resources, 60 days.
    pub const DEMO: Self = Self { tenants: 3, subscriptions: 4, resources: 60, days: 60 };
    /// The `large` preset: 10 tenants × 10 subscriptions × 300 resources, 90 days.
    pub const LARGE: Self = Self { tenants: 10, subscriptions: 10, resources: 300, days: 90 };
    /// The `bench` preset: 500 subscriptions (10 tenants × 50) × 500 resources, 30 days.
    pub const BENCH: Self = Self { tenants: 10, subscriptions: 50, resources: 500, days: 30 };

    /// Total subscriptions in the estate.
    pub fn total_subscriptions(&self) -> u64 {
        u64::from(self.tenants) * u64::from(self.subscriptions)
    }
}

impl fmt::Display for EstateSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "tenants={},subscriptions={},resources={},days={}",
            self.tenants, self.subscriptions, self.resources, self.days
        )
    }
}

impl FromStr for EstateSpec {
    type Err = SandboxError;

    /// Parses a preset name (`demo`, `large`, `bench`), optionally followed by overrides
    /// (`demo,days=30`), or an explicit `tenants=3,subscriptions=4,resources=60,days=60`
    /// (missing keys take the `demo` values).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |reason: String| SandboxError::InvalidSpec(format!("{text:?}: {reason}"));
        let mut spec = Self::DEMO;
        for (i, part) in text.split(',').map(str::trim).filter(|p| !p.is_empty()).enumerate() {
            let Some((key, value)) = part.split_once('=') else {
                if i > 0 {
                    return Err(bad(format!("preset {part:?} must come first")));
                }
                spec = match part {
                    "demo" => Self::DEMO,
                    "large" => Self::LARGE,
                    "bench" => Self::BENCH,
                    other => return Err(bad(format!("unknown preset {other:?}"))),
                };
                continue;
            };
            let value: u32 = value.trim().parse().map_err(|e| bad(format!("{key}: {e}")))?;
            match key.trim() {
                "tenants" => spec.tenants = value,
                "subscriptions" => spec.subscriptions = value,
                "resources" => spec.resources = value,
                "days" => spec.days = value,
                other => return Err(bad(format!("unknown key {other:?}"))),
            }
        }
        if spec.tenants == 0 || spec.subscriptions == 0 {
            return Err(bad("tenants and subscriptions must be at least 1".into()));
        }
        if spec.resources > 100_000 {
            return Err(bad("at most 100000 resources per subscription".into()));
        }
        if spec.days == 0 || spec.days > MAX_DAYS {
            return Err(bad(format!("days must be within 1..={MAX_DAYS}")));
        }
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_and_explicit_forms_parse() {
        assert_eq!("demo".parse::<EstateSpec>().unwrap(), EstateSpec::DEMO);
        assert_eq!("bench".parse::<EstateSpec>().unwrap().total_subscriptions(), 500);
        let s: EstateSpec = "tenants=2,subscriptions=3,resources=10,days=7".parse().unwrap();
        assert_eq!(s, EstateSpec { tenants: 2, subscriptions: 3, resources: 10, days: 7 });
        assert_eq!("large,days=30".parse::<EstateSpec>().unwrap().days, 30);
        assert_eq!(s.to_string().parse::<EstateSpec>().unwrap(), s);
    }

    #[test]
    fn bad_specs_are_rejected() {
        for bad in ["huge", "tenants=0", "days=500", "resources=x", "color=1", "days=3,demo"] {
            assert!(bad.parse::<EstateSpec>().is_err(), "{bad}");
        }
    }
}
