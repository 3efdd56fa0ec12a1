//! Command-line interface: argument parsing and the subcommands.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Parser, Subcommand};
use globset::Glob;
use sslaudit_reports::{json, sarif, terminal};
use sslaudit_rules::facts::Fleet;
use sslaudit_rules::policy::{Policy, parse_date};
use sslaudit_rules::{Rule, Severity, pack};
use sslaudit_scanner::engine::{self, Gate, RuleSet};
use sslaudit_scanner::snapshot;

#[derive(Debug, Parser)]
#[command(
    name = "sslaudit",
    version,
    about = "Audit the SSL/TLS posture of MySQL and MariaDB fleets",
    long_about = "Audit the SSL/TLS posture of MySQL and MariaDB fleets: database masters, \
replicas and the application hosts that connect to them. Runs the rule catalogue \
(`sslaudit rules`) over a snapshot of the fleet and reports findings for people \
(terminal), CI gates (exit code, SARIF) and machines (JSON).",
    after_help = "Examples:\n  sslaudit scan --snapshot fixtures/demo-fleet --sarif out.sarif --json out.json\n  sslaudit rules\n  sslaudit explain SSL004"
)]
pub struct Cli {
    /// More output on stderr: -v for progress notes, -vv for debugging (RUST_LOG overrides)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scan a fleet and report findings
    #[command(
        after_help = "Examples:\n  sslaudit scan --snapshot fixtures/demo-fleet\n  \
sslaudit scan --snapshot evidence/ --as-of 2026-11-30 --json out.json --sarif out.sarif --fail-on medium\n  \
sslaudit scan --snapshot evidence/ --policy policy.toml --rules our-rules.toml --limit 'production'\n\n\
Exit status: 0 nothing at or above --fail-on, 1 findings at or above it (or a host could not be \
scanned), 2 the scan could not run."
    )]
    Scan(ScanArgs),
    /// List the rule catalogue
    #[command(
        after_help = "Examples:\n  sslaudit rules\n  sslaudit rules --json\n  sslaudit rules --rules our-rules.toml"
    )]
    Rules {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
        /// Also list the rules of these rule packs
        #[arg(long = "rules", value_name = "FILE")]
        packs: Vec<PathBuf>,
    },
    /// Explain a rule: what it checks, why it matters, how to fix it
    #[command(
        after_help = "Examples:\n  sslaudit explain SSL004\n  sslaudit explain certificate-expiry"
    )]
    Explain {
        /// Rule id (SSL004) or name (certificate-expiry)
        rule: String,
        /// Also look in these rule packs
        #[arg(long = "rules", value_name = "FILE")]
        packs: Vec<PathBuf>,
    },
    /// Print the facts the scanner builds for each host, as JSON (for debugging rules and packs)
    #[command(
        after_help = "Examples:\n  sslaudit facts --snapshot fixtures/demo-fleet --limit db-master"
    )]
    Facts {
        #[command(flatten)]
        source: SourceArgs,
    },
}

#[derive(Debug, Args)]
struct SourceArgs {
    /// A snapshot folder (see docs/snapshot-format.md)
    #[arg(long, value_name = "DIR")]
    snapshot: PathBuf,
    /// Only hosts whose name or environment matches this glob (repeatable)
    #[arg(long, value_name = "GLOB")]
    limit: Vec<String>,
}

#[derive(Debug, Args)]
struct ScanArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Policy file: rule settings, thresholds and waivers (see docs/policy.md)
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Rule pack with extra declarative rules (repeatable; see docs/rule-packs.md)
    #[arg(long = "rules", value_name = "FILE")]
    packs: Vec<PathBuf>,
    /// Judge expiry and waivers as of this date (YYYY-MM-DD) or instant (RFC 3339); default: now
    #[arg(long, value_name = "DATE")]
    as_of: Option<String>,
    /// Write the JSON report here (`-` for stdout)
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a SARIF 2.1.0 report here (`-` for stdout)
    #[arg(long, value_name = "FILE")]
    sarif: Option<PathBuf>,
    /// SARIF automationDetails.id, to tell apart several scans uploaded for one commit
    #[arg(long, value_name = "ID")]
    category: Option<String>,
    /// Lowest severity that fails the run: critical, high, medium, low or never
    #[arg(long, value_name = "SEVERITY", default_value = "high")]
    fail_on: String,
    /// No terminal summary (reports and exit code only)
    #[arg(short, long)]
    quiet: bool,
    /// Colors in the terminal summary: auto, always, never
    #[arg(long, value_name = "WHEN", default_value = "auto")]
    color: String,
}

pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Scan(args) => scan(args),
        Command::Rules { json, packs } => rules(json, &packs),
        Command::Explain { rule, packs } => explain(&rule, &packs),
        Command::Facts { source } => facts(&source),
    }
}

fn parse_gate(s: &str) -> Result<Gate> {
    if s.eq_ignore_ascii_case("never") {
        return Ok(Gate(None));
    }
    let sev: Severity = s.parse().map_err(|_| {
        anyhow::anyhow!("--fail-on `{s}`: expected critical, high, medium, low or never")
    })?;
    Ok(Gate(Some(sev)))
}

/// `--as-of`: a date (midnight UTC) or an RFC 3339 instant; returns (unix, label).
fn parse_as_of(s: Option<&str>) -> Result<(i64, String)> {
    match s {
        None => {
            let now = time::OffsetDateTime::now_utc();
            let label = now
                .format(&time::format_description::well_known::Rfc3339)
                .context("formatting the current time")?;
            Ok((now.unix_timestamp(), label))
        }
        Some(s) if s.len() == 10 => {
            let t = parse_date(s).map_err(|e| anyhow::anyhow!("--as-of: {e}"))?;
            Ok((t, s.to_string()))
        }
        Some(s) => {
            let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .map_err(|e| {
                    anyhow::anyhow!("--as-of `{s}` is neither YYYY-MM-DD nor RFC 3339: {e}")
                })?;
            Ok((t.unix_timestamp(), s.to_string()))
        }
    }
}

/// Loads the rule packs named on the command line, in order.
fn load_packs(paths: &[PathBuf]) -> Result<Vec<Box<dyn Rule>>> {
    let mut taken = RuleSet::new(Vec::new()).ids();
    let mut out: Vec<Box<dyn Rule>> = Vec::new();
    for p in paths {
        for r in pack::load(p, &taken)? {
            taken.insert(r.meta().id.to_string());
            out.push(Box::new(r));
        }
    }
    Ok(out)
}

/// Reads the snapshot and builds every selected host's facts.
fn load_fleet(source: &SourceArgs) -> Result<(snapshot::Manifest, Fleet)> {
    let globs = source
        .limit
        .iter()
        .map(|g| {
            Glob::new(g)
                .map(|g| g.compile_matcher())
                .with_context(|| format!("--limit `{g}`"))
        })
        .collect::<Result<Vec<_>>>()?;
    let (manifest, fleet) = snapshot::load_fleet(&source.snapshot, |meta| {
        globs.is_empty()
            || globs
                .iter()
                .any(|g| g.is_match(&meta.name) || g.is_match(&meta.environment))
    })?;
    if fleet.hosts.is_empty() {
        bail!("--limit matches no host of {}", source.snapshot.display());
    }
    tracing::info!(hosts = fleet.hosts.len(), "facts built");
    Ok((manifest, fleet))
}

fn write_output(path: &Path, content: &str) -> Result<()> {
    if path == Path::new("-") {
        std::io::stdout().write_all(content.as_bytes())?;
        return Ok(());
    }
    // Write beside the target then rename, so a reader never sees half a report.
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    std::fs::write(&tmp, content).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn scan(args: ScanArgs) -> Result<ExitCode> {
    let gate = parse_gate(&args.fail_on)?;
    let (as_of, as_of_label) = parse_as_of(args.as_of.as_deref())?;
    let color = match args.color.as_str() {
        "always" => true,
        "never" => false,
        "auto" => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        other => bail!("--color `{other}`: expected auto, always or never"),
    };
    let packs = load_packs(&args.packs)?;
    let rules = RuleSet::new(packs);
    let policy = match &args.policy {
        Some(p) => Policy::load(p, &rules.ids())?,
        None => Policy::default(),
    };
    let started = time::OffsetDateTime::now_utc();
    let (_, fleet) = load_fleet(&args.source)?;
    let (findings, outcome) = engine::evaluate(&fleet, &rules, &policy, as_of);
    let report = engine::report(&fleet, findings, outcome, &policy, as_of, &as_of_label);
    let ended = time::OffsetDateTime::now_utc();
    let metas = rules.metas();

    if let Some(path) = &args.json {
        write_output(path, &json::to_json(&report))?;
    }
    if let Some(path) = &args.sarif {
        let rfc = |t: time::OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        };
        let opts = sarif::SarifOptions {
            category: args.category.clone(),
            inventory_uri: Some(args.source.snapshot.display().to_string()),
            start_time: rfc(started),
            end_time: rfc(ended),
        };
        write_output(path, &sarif::to_sarif_string(&report, &metas, &opts))?;
    }
    let passes = gate.passes(&report);
    if !args.quiet {
        let mut out = terminal::summary(&report, &metas, color);
        let failing = gate.failing(&report).len();
        match gate.0 {
            None => out.push_str("gate: never fails (--fail-on never)\n"),
            Some(min) if passes => {
                out.push_str(&format!("gate: passed (no findings at or above {min})\n"))
            }
            Some(min) => out.push_str(&format!(
                "gate: FAILED ({failing} finding{} at or above {min}{})\n",
                if failing == 1 { "" } else { "s" },
                if report.active().any(|f| f.rule_id == "SCAN001") {
                    "; hosts that could not be scanned always fail an audit"
                } else {
                    ""
                }
            )),
        }
        std::io::stdout().write_all(out.as_bytes())?;
    }
    Ok(if passes {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn rules(as_json: bool, packs: &[PathBuf]) -> Result<ExitCode> {
    let rules = RuleSet::new(load_packs(packs)?);
    let metas = rules.metas();
    let mut out = String::new();
    if as_json {
        out = serde_json::to_string_pretty(&metas)? + "\n";
    } else {
        for m in &metas {
            out.push_str(&format!(
                "{:<8} {:<9} {:<32} {}\n",
                m.id, m.severity, m.name, m.summary
            ));
        }
        out.push_str("\nRun `sslaudit explain <ID>` for what a rule checks, why it matters and how to fix it.\n");
    }
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn explain(rule: &str, packs: &[PathBuf]) -> Result<ExitCode> {
    let rules = RuleSet::new(load_packs(packs)?);
    let Some(r) = rules
        .iter()
        .find(|r| r.meta().id.eq_ignore_ascii_case(rule) || r.meta().name == rule)
    else {
        let known: BTreeSet<String> = rules.ids();
        bail!(
            "no rule `{rule}` (known: {})",
            known.into_iter().collect::<Vec<_>>().join(", ")
        );
    };
    let m = r.meta();
    let mut out = format!(
        "{} {} (default severity: {})\n{}\n\n{}\n",
        m.id,
        m.name,
        m.severity,
        m.summary,
        m.help.trim_end()
    );
    if !m.references.is_empty() {
        out.push_str("\nReferences:\n");
        for reference in m.references.iter() {
            out.push_str(&format!("  - {reference}\n"));
        }
    }
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn facts(source: &SourceArgs) -> Result<ExitCode> {
    let (_, fleet) = load_fleet(source)?;
    let out = serde_json::to_string_pretty(&fleet)? + "\n";
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
