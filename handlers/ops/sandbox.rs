//! `azcops sandbox`: starts the sandbox, prints the client settings as `export` lines, then the
//! estate summary, and serves until Ctrl-C.

use std::path::PathBuf;

use chrono::NaiveDate;

use crate::sandbox::{
    Api, EstateSpec, FaultConfig, LatencyConfig, QuotaConfig, Sandbox, SandboxError, SandboxOptions,
    ThrottleStorm, truth,
};

/// Arguments of `azcops sandbox`.
#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Estate SPEC: `demo`, `large`, `bench`, or `tenants=3,subscriptions=4,resources=60,days=60`.
    #[arg(long, default_value = "demo")]
    pub estate: String,
    /// Estate seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The estate's "today" (YYYY-MM-DD); defaults to today's UTC date.
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
    /// Directory for `estate.json` and `ground_truth.json`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Faults, e.g. `errors=0.05,statuses=500:503,resets=0.01,truncate=3,seed=7,apis=resource_graph:advisor`;
    /// `storm=PERIOD_MS:DURATION_MS` adds recurring 429 storms.
    #[arg(long)]
    pub faults: Option<String>,
    /// Quotas: `on` (real limits) or `off`.
    #[arg(long, default_value = "off")]
    pub quotas: String,
    /// Latency: `fixed:MS`, `uniform:MIN-MAX` or `lognormal:MEDIAN:SIGMA`.
    #[arg(long)]
    pub latency: Option<String>,
    /// Serve https with a generated development certificate (its CA is written to `--out` or a
    /// temporary directory and printed as `AZCOPS_SANDBOX_CA_CERT`); needed by clients that
    /// refuse http, such as the official Azure SDKs and MSAL.
    #[arg(long)]
    pub https: bool,
    /// Write the estate's FOCUS cost exports (gzip CSV or Parquet partitions and manifests, one run per
    /// tenant and month, under each tenant's Entra id) into this directory, which stands for the
    /// exports container: the export view of the costs the query answers.
    #[arg(long)]
    pub exports_dir: Option<PathBuf>,
    /// Partition format of `--exports-dir`: `csv` (gzip) or `parquet` (snappy).
    #[arg(long, default_value = "csv", requires = "exports_dir")]
    pub exports_format: String,
    /// Data rows per partition file of `--exports-dir`.
    #[arg(long, default_value_t = 50_000)]
    pub exports_rows_per_file: usize,
    /// With `--exports-dir`: write the exports, print their manifests and exit without serving.
    #[arg(long, requires = "exports_dir")]
    pub exports_only: bool,
}

fn invalid(what: &str, text: &str) -> SandboxError {
    SandboxError::InvalidOption(format!("{what} {text:?}"))
}

/// Parses `--faults`.
///
/// # Errors
/// Unknown key or bad value.
pub fn parse_faults(text: &str) -> Result<FaultConfig, SandboxError> {
    let mut f = FaultConfig::default();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once('=').ok_or_else(|| invalid("fault", part))?;
        let num = |v: &str| v.parse::<f64>().map_err(|_| invalid("fault", part));
        match key {
            "errors" => f.error_rate = num(value)?,
            "resets" => f.reset_rate = num(value)?,
            "truncate" => f.truncate_page = Some(value.parse().map_err(|_| invalid("fault", part))?),
            "seed" => f.seed = value.parse().map_err(|_| invalid("fault", part))?,
            "storm" => {
                let (period, duration) = value.split_once(':').ok_or_else(|| invalid("fault", part))?;
                let ms = |v: &str| v.parse::<u64>().map_err(|_| invalid("fault", part));
                let storm = ThrottleStorm { period_ms: ms(period)?, duration_ms: ms(duration)? };
                if let Some(problem) = storm.problem() {
                    return Err(invalid(problem, part));
                }
                f.storm = Some(storm);
            }
            "statuses" => {
                f.error_statuses = value
                    .split(':')
                    .map(|s| s.parse().map_err(|_| invalid("fault", part)))
                    .collect::<Result<_, _>>()?;
            }
            "apis" => {
                f.apis = value
                    .split(':')
                    .map(|a| {
                        serde_json::from_value::<Api>(serde_json::Value::from(a))
                            .map_err(|_| invalid("fault api", a))
                    })
                    .collect::<Result<_, _>>()?;
            }
            _ => return Err(invalid("fault", part)),
        }
    }
    Ok(f)
}

/// Parses `--latency`.
///
/// # Errors
/// Unknown form or bad number.
pub fn parse_latency(text: &str) -> Result<LatencyConfig, SandboxError> {
    let bad = || invalid("latency", text);
    let parts: Vec<&str> = text.split(':').collect();
    match parts.as_slice() {
        ["fixed", ms] => Ok(LatencyConfig::Fixed { ms: ms.parse().map_err(|_| bad())? }),
        ["uniform", range] => {
            let (a, b) = range.split_once('-').ok_or_else(bad)?;
            Ok(LatencyConfig::Uniform {
                min_ms: a.parse().map_err(|_| bad())?,
                max_ms: b.parse().map_err(|_| bad())?,
            })
        }
        ["lognormal", median, sigma] => Ok(LatencyConfig::LogNormal {
            median_ms: median.parse().map_err(|_| bad())?,
            sigma: sigma.parse().map_err(|_| bad())?,
        }),
        ["none"] => Ok(LatencyConfig::None),
        _ => Err(bad()),
    }
}

/// Builds sandbox options from the arguments (`today` fills a missing `--as-of`).
///
/// # Errors
/// A SPEC or option does not parse.
pub fn options(args: &SandboxArgs, today: NaiveDate) -> Result<SandboxOptions, SandboxError> {
    let spec: EstateSpec = args.estate.parse()?;
    let mut options = SandboxOptions::new(spec, args.seed, args.as_of.unwrap_or(today));
    options.port = args.port;
    options.out_dir = args.out.clone();
    options.https = args.https;
    options.quotas = match args.quotas.as_str() {
        "on" => QuotaConfig::all_on(),
        "off" => QuotaConfig::default(),
        other => return Err(invalid("quotas", other)),
    };
    if let Some(f) = &args.faults {
        options.faults = parse_faults(f)?;
    }
    if let Some(l) = &args.latency {
        options.latency = parse_latency(l)?;
    }
    Ok(options)
}

/// Runs `azcops sandbox` until Ctrl-C.
///
/// # Errors
/// Bad arguments, files that cannot be written, or a port that cannot be bound.
pub async fn run(args: SandboxArgs) -> Result<(), SandboxError> {
    let options = options(&args, chrono::Utc::now().date_naive())?;
    if let Some(dir) = &args.exports_dir {
        let estate = crate::sandbox::estate::Estate::generate(options.seed, options.estate, options.as_of);
        let format = args.exports_format.parse().map_err(SandboxError::InvalidOption)?;
        write_exports(&estate, dir, args.exports_rows_per_file, format)?;
        if args.exports_only {
            return Ok(());
        }
    }
    let sandbox = Sandbox::start(options).await?;
    for (name, value) in sandbox.exports() {
        println!("export {name}={value}");
    }
    if let Some(ca) = sandbox.ca_cert_path() {
        println!(
            "# https: trust {} (e.g. REQUESTS_CA_BUNDLE for Python, SSL_CERT_FILE for Rust)",
            ca.display()
        );
    }
    println!(
        "# app registrations: AZCOPS_SANDBOX_APP_<n>_* are client credentials for tenant <n> (authority {})",
        sandbox.base_url()
    );
    let estate = sandbox.estate();
    let summary = truth::summarize(estate, sandbox.ground_truth());
    println!("# estate: seed {} as of {} ({})", estate.seed, estate.as_of, estate.spec);
    println!("# tenants: {}", summary.tenants);
    println!("# subscriptions: {}", summary.subscriptions);
    println!("# resources: {}", summary.resources);
    println!("# cost rows: {}", summary.cost_rows);
    println!("# planted findings: {}", summary.planted_findings);
    for (kind, n) in &summary.findings_by_kind {
        println!("#   {kind}: {n}");
    }
    println!("# total true monthly waste: {:.2} USD", summary.total_true_monthly_waste);
    println!("# planted cost anomalies: {}", summary.planted_anomalies);
    match sandbox.ground_truth_path() {
        Some(p) => println!("# ground truth: {}", p.display()),
        None => println!("# ground truth: not written (pass --out DIR)"),
    }
    println!("# serving on {} until Ctrl-C", sandbox.base_url());
    tokio::signal::ctrl_c().await.map_err(|e| SandboxError::Serve(e.to_string()))?;
    sandbox.shutdown().await
}

/// Writes the FOCUS exports of `estate` under `dir` and prints one line per run.
fn write_exports(
    estate: &crate::sandbox::estate::Estate,
    dir: &std::path::Path,
    rows_per_file: usize,
    format: crate::sandbox::exports_write::ExportFormat,
) -> Result<(), SandboxError> {
    use crate::sandbox::exports_write::{ExportOptions, write_exports};
    let options = ExportOptions { rows_per_file: rows_per_file.max(1), format, ..ExportOptions::default() };
    let runs = write_exports(estate, dir, &options).map_err(|e| {
        SandboxError::InvalidOption(format!("cannot write exports to {}: {e}", dir.display()))
    })?;
    for run in runs {
        println!(
            "# export tenant {} month {}: {} files, {} rows, {} bytes: {}",
            estate.tenants[run.tenant].id,
            run.month.format("%Y-%m"),
            run.files,
            run.rows,
            run.bytes,
            run.manifest
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_strings_parse() {
        let f = parse_faults("errors=0.1,statuses=500:503,truncate=2,seed=9,apis=resource_graph:advisor")
            .unwrap();
        assert_eq!(f.error_statuses, vec![500, 503]);
        assert_eq!(f.truncate_page, Some(2));
        assert_eq!(f.apis, vec![Api::ResourceGraph, Api::Advisor]);
        assert!(parse_faults("boom=1").is_err());
        let storm = parse_faults("storm=4000:1500").unwrap().storm;
        assert_eq!(storm, Some(ThrottleStorm { period_ms: 4000, duration_ms: 1500 }));
        assert!(parse_faults("storm=1000:1000").is_err(), "a storm that never ends");
        assert_eq!(parse_latency("uniform:5-10").unwrap(), LatencyConfig::Uniform { min_ms: 5, max_ms: 10 });
        assert!(parse_latency("gauss:1").is_err());
    }
}
