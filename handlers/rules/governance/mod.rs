//! Governance rules: hygiene that makes cost attributable.

pub mod missing_cost_center_tag;
