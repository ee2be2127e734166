//! Rightsizing rules: resources larger than their load, and the size ladders they step down.

pub mod app_service_plan;
pub mod sql_dtu;
pub mod underutilised_vm;

/// A VM size name split around its vCPU count: `Standard_D4s_v5` → (`Standard_D`, 4, `s_v5`).
fn split_size(size: &str) -> Option<(&str, u32, &str)> {
    let start = size.find(|c: char| c.is_ascii_digit())?;
    let rest = &size[start..];
    let len = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    let n: u32 = rest[..len].parse().ok()?;
    Some((&size[..start], n, &rest[len..]))
}

/// The next smaller VM size in the same family: half the vCPUs, same series and version
/// (`Standard_D4s_v5` → `Standard_D2s_v5`). Sizes of 2 vCPUs or fewer, odd counts and
/// constrained-core sizes (`D8-4s`) have no step down.
pub fn vm_step_down(size: &str) -> Option<(String, f64)> {
    let (prefix, n, suffix) = split_size(size)?;
    if n < 4 || n % 2 != 0 || suffix.starts_with('-') {
        return None;
    }
    Some((format!("{prefix}{}{suffix}", n / 2), 2.0))
}

/// Memory of a VM size in GiB from the family's GiB per vCPU: D and B-`ms` 4, E 8, F and
/// B-`s` 2; `l` (low-memory) variants 2. `None` for families it does not know.
pub fn vm_memory_gib(size: &str) -> Option<f64> {
    let (prefix, n, suffix) = split_size(size)?;
    let family = prefix.trim_start_matches("Standard_").trim_start_matches("Basic_").to_ascii_uppercase();
    let suffix = suffix.to_ascii_lowercase();
    let per_cpu = match family.as_str() {
        _ if suffix.starts_with('l') || suffix.starts_with("al") => 2.0,
        "D" => 4.0,
        "E" => 8.0,
        "F" => 2.0,
        "B" if suffix.starts_with("ms") => 4.0,
        "B" if suffix.starts_with('s') => 2.0,
        _ => return None,
    };
    Some(per_cpu * f64::from(n))
}

/// The next-lower App Service plan size in the same tier (`P2v3` → `P1v3`, `S3` → `S2`).
pub fn plan_step_down(sku: &str) -> Option<String> {
    let (prefix, n, suffix) = split_size(sku)?;
    (n >= 2 && prefix.len() == 1).then(|| format!("{prefix}{}{suffix}", n - 1))
}

/// DTU service objectives per edition, ascending.
const DTU_LADDER: &[(&str, &[(&str, f64)])] = &[
    ("basic", &[("Basic", 5.0)]),
    (
        "standard",
        &[
            ("S0", 10.0),
            ("S1", 20.0),
            ("S2", 50.0),
            ("S3", 100.0),
            ("S4", 200.0),
            ("S6", 400.0),
            ("S7", 800.0),
            ("S9", 1600.0),
            ("S12", 3000.0),
        ],
    ),
    (
        "premium",
        &[("P1", 125.0), ("P2", 250.0), ("P4", 500.0), ("P6", 1000.0), ("P11", 1750.0), ("P15", 4000.0)],
    ),
];

/// The DTUs of `objective` and the next-lower objective of the same edition with its DTUs.
pub fn dtu_step_down(tier: &str, objective: &str) -> Option<(f64, Option<(&'static str, f64)>)> {
    let (_, ladder) = DTU_LADDER.iter().find(|(t, _)| t.eq_ignore_ascii_case(tier))?;
    let i = ladder.iter().position(|(o, _)| o.eq_ignore_ascii_case(objective))?;
    let lower = i.checked_sub(1).and_then(|j| ladder.get(j)).copied();
    Some((ladder[i].1, lower))
}

/// The objective of `tier` with exactly `dtu` DTUs.
pub fn dtu_objective(tier: &str, dtu: f64) -> Option<&'static str> {
    let (_, ladder) = DTU_LADDER.iter().find(|(t, _)| t.eq_ignore_ascii_case(tier))?;
    ladder.iter().find(|(_, d)| (*d - dtu).abs() < 1e-9).map(|(o, _)| *o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladders() {
        let vms = [
            ("Standard_D4s_v5", Some("Standard_D2s_v5")),
            ("Standard_E8s_v5", Some("Standard_E4s_v5")),
            ("Standard_B4ms", Some("Standard_B2ms")),
            ("Standard_D2s_v5", None),
            ("Standard_D8-4s_v5", None),
            ("weird", None),
        ];
        for (from, to) in vms {
            assert_eq!(vm_step_down(from).map(|t| t.0), to.map(str::to_owned), "{from}");
        }
        let mems = [
            ("Standard_D4s_v5", Some(16.0)),
            ("Standard_E4s_v5", Some(32.0)),
            ("Standard_B2s", Some(4.0)),
            ("Standard_B4ms", Some(16.0)),
            ("Standard_M64", None),
        ];
        for (size, gib) in mems {
            assert_eq!(vm_memory_gib(size), gib, "{size}");
        }
        let plans = [("P3v3", Some("P2v3")), ("P1v3", None), ("S3", Some("S2")), ("S1", None), ("EP1", None)];
        for (from, to) in plans {
            assert_eq!(plan_step_down(from).as_deref(), to, "{from}");
        }
        assert_eq!(dtu_step_down("Standard", "S3"), Some((100.0, Some(("S2", 50.0)))));
        assert_eq!(dtu_step_down("Standard", "S0"), Some((10.0, None)));
        assert_eq!(dtu_step_down("GeneralPurpose", "GP_Gen5_2"), None);
        assert_eq!(dtu_objective("Standard", 50.0), Some("S2"));
        assert_eq!(dtu_objective("Premium", 50.0), None);
    }
}
