//! Where a scan's hosts come from: a snapshot folder, an inventory (native
//! or Ansible), or `--host` targets; and the live subcommands that only
//! make sense against real hosts (`collect`, `probe`, `inventory check`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::Args;
use globset::Glob;
use indicatif::{ProgressBar, ProgressStyle};
use sslaudit_rules::facts::{Fleet, Role};
use sslaudit_rules::policy::Policy;
use sslaudit_rules::report::ScanReport;
use sslaudit_scanner::build::build_host;
use sslaudit_scanner::engine::{self, RuleSet};
use sslaudit_scanner::inventory::{self, HostDefaults, Inventory, InventoryHost, Shard, Via};
use sslaudit_scanner::live::{self, LiveOptions, Progress, Silent};
use sslaudit_scanner::snapshot;

#[derive(Debug, Args)]
pub struct SourceArgs {
    /// A snapshot folder (see docs/snapshot-format.md): scan offline, no network
    #[arg(long, value_name = "DIR", conflicts_with_all = ["inventory", "hosts"])]
    pub snapshot: Option<PathBuf>,
    /// An inventory: sslaudit's YAML or an Ansible inventory (INI or YAML; see docs/inventory.md)
    #[arg(long, short = 'i', value_name = "FILE", conflicts_with = "hosts")]
    pub inventory: Option<PathBuf>,
    /// Scan this host ad hoc over SSH: USER@ADDR[:PORT] (repeatable; environment `adhoc`)
    #[arg(long = "host", value_name = "USER@ADDR[:PORT]")]
    pub hosts: Vec<String>,
    /// Role of the --host targets: db_master, db_replica or app
    #[arg(long, value_name = "ROLE", default_value = "db_master")]
    pub role: String,
    /// --host targets: the SSH private key (default: the ssh-agent)
    #[arg(long, value_name = "FILE")]
    pub identity_file: Option<PathBuf>,
    /// --host targets: the known_hosts file host keys are verified against
    #[arg(long, value_name = "FILE")]
    pub known_hosts: Option<PathBuf>,
    /// --host targets: how to reach MySQL: ssh (the host's client), tcp or tunnel
    #[arg(long, value_name = "VIA")]
    pub via: Option<String>,
    /// Only hosts whose name or environment matches this glob (repeatable)
    #[arg(long, value_name = "GLOB")]
    pub limit: Vec<String>,
    /// Scan a deterministic part K of N of the hosts (for CI matrices; merge the reports after)
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Hosts scanned at once (live scans are I/O bound: more than the cores)
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub jobs: usize,
    /// No progress bar on stderr
    #[arg(long)]
    pub no_progress: bool,
    /// Trust and record the SSH host key of hosts not yet in known_hosts (first contact only; a changed key is still refused; loud on stderr)
    #[arg(long)]
    pub accept_new_host_keys: bool,
}

impl SourceArgs {
    /// What reports name as the scan's source (SARIF's physical location
    /// for findings about accounts and variables).
    pub fn label(&self) -> String {
        match (&self.snapshot, &self.inventory) {
            (Some(s), _) => s.display().to_string(),
            (None, Some(i)) => i.display().to_string(),
            (None, None) => "sslaudit-adhoc-hosts".to_string(),
        }
    }

    /// The live hosts selected by --inventory/--host, --limit and --shard.
    pub fn live_hosts(&self) -> Result<Vec<InventoryHost>> {
        if self.inventory.is_none() && self.hosts.is_empty() {
            bail!("say what to scan: --snapshot DIR, --inventory FILE or --host USER@ADDR");
        }
        let inv = match &self.inventory {
            Some(path) => inventory::load(path)?,
            None => {
                let role = match self.role.as_str() {
                    "db_master" => Role::DbMaster,
                    "db_replica" => Role::DbReplica,
                    "app" => Role::App,
                    other => bail!("--role `{other}`: expected db_master, db_replica or app"),
                };
                let via = match self.via.as_deref() {
                    None => None,
                    Some("ssh") => Some(Via::Ssh),
                    Some("tcp") => Some(Via::Tcp),
                    Some("tunnel") => Some(Via::Tunnel),
                    Some(other) => bail!("--via `{other}`: expected ssh, tcp or tunnel"),
                };
                let defaults = HostDefaults {
                    identity_file: self.identity_file.clone(),
                    known_hosts: self.known_hosts.clone(),
                    via,
                    ..HostDefaults::default()
                };
                Inventory::adhoc(&self.hosts, role, &defaults)?
            }
        };
        let mut inv = if self.limit.is_empty() {
            inv
        } else {
            inv.limit(&self.limit)?
        };
        if let Some(s) = &self.shard {
            inv = inv.shard(Shard::parse(s)?);
        }
        if inv.hosts.is_empty() {
            bail!("no host selected (check --limit and --shard)");
        }
        if self.accept_new_host_keys {
            sslaudit_scanner::remote::ssh::accept_new_host_keys(true);
        }
        Ok(inv.hosts)
    }

    pub fn live_options(&self) -> LiveOptions {
        LiveOptions {
            jobs: self.jobs,
            ..LiveOptions::default()
        }
    }

    /// A progress bar on stderr when it is a terminal and not unwanted.
    pub fn progress(&self, hosts: usize, quiet: bool) -> Box<dyn Progress> {
        if quiet || self.no_progress || !std::io::stderr().is_terminal() {
            return Box::new(Silent);
        }
        Box::new(Bar::new(hosts))
    }
}

/// hosts done / failed, on stderr.
struct Bar {
    bar: ProgressBar,
    failed: std::sync::atomic::AtomicUsize,
}

impl Bar {
    fn new(hosts: usize) -> Self {
        let bar = ProgressBar::new(hosts as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {bar:30} {pos}/{len} hosts {msg} [{elapsed}]")
        {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        Bar {
            bar,
            failed: std::sync::atomic::AtomicUsize::new(0),
        }
    }
}

impl Progress for Bar {
    fn host_done(&self, host: &InventoryHost, ok: bool) {
        if !ok {
            let n = self
                .failed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                + 1;
            self.bar
                .set_message(format!("({n} failed, last {})", host.label()));
        }
        self.bar.inc(1);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// The `--limit` globs, compiled.
fn limit_globs(source: &SourceArgs) -> Result<Vec<globset::GlobMatcher>> {
    source
        .limit
        .iter()
        .map(|g| {
            Glob::new(g)
                .map(|g| g.compile_matcher())
                .with_context(|| format!("--limit `{g}`"))
        })
        .collect()
}

fn selected(globs: &[globset::GlobMatcher], name: &str, environment: &str) -> bool {
    globs.is_empty()
        || globs
            .iter()
            .any(|g| g.is_match(name) || g.is_match(environment))
}

/// Scans the selected hosts and assembles the report. A snapshot streams:
/// hosts are built, checked and dropped one environment at a time, so
/// memory follows the findings rather than the fleet's files. Live hosts
/// are collected in parallel first (their facts built on the worker that
/// collected them), then checked.
pub fn scan(
    source: &SourceArgs,
    quiet: bool,
    rules: &RuleSet,
    policy: &Policy,
    as_of: i64,
    as_of_label: &str,
) -> Result<ScanReport> {
    if let Some(dir) = &source.snapshot {
        if source.shard.is_some() {
            bail!("--shard works with --inventory; a snapshot is already one part of a fleet");
        }
        let globs = limit_globs(source)?;
        let (_, groups) =
            snapshot::host_groups(dir, |meta| selected(&globs, &meta.name, &meta.environment))?;
        if groups.is_empty() {
            bail!("--limit matches no host of {}", dir.display());
        }
        let started = Instant::now();
        let report = engine::scan_streaming(
            &groups,
            |d| snapshot::load_host(d),
            rules,
            policy,
            as_of,
            as_of_label,
        )?;
        tracing::info!(hosts = report.hosts.len(), elapsed = ?started.elapsed(), "snapshot scan done");
        return Ok(report);
    }
    let fleet = load_fleet(source, quiet)?;
    let (findings, outcome) = engine::evaluate(&fleet, rules, policy, as_of);
    Ok(engine::report(
        &fleet,
        findings,
        outcome,
        policy,
        as_of,
        as_of_label,
    ))
}

/// Builds the facts of every selected host: from the snapshot, or by
/// collecting them live (hosts in parallel, facts built on the worker that
/// collected them).
pub fn load_fleet(source: &SourceArgs, quiet: bool) -> Result<Fleet> {
    if let Some(dir) = &source.snapshot {
        if source.shard.is_some() {
            bail!("--shard works with --inventory; a snapshot is already one part of a fleet");
        }
        let globs = limit_globs(source)?;
        let (_, fleet) =
            snapshot::load_fleet(dir, |meta| selected(&globs, &meta.name, &meta.environment))?;
        if fleet.hosts.is_empty() {
            bail!("--limit matches no host of {}", dir.display());
        }
        return Ok(fleet);
    }
    let hosts = source.live_hosts()?;
    let progress = source.progress(hosts.len(), quiet);
    let started = Instant::now();
    let facts = live::collect_fleet(&hosts, &source.live_options(), progress.as_ref(), |ev| {
        build_host(&ev)
    })?;
    drop(progress);
    tracing::info!(hosts = facts.len(), elapsed = ?started.elapsed(), "live collection done");
    Ok(Fleet { hosts: facts })
}
