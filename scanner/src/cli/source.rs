//! Where a scan's hosts come from: a snapshot folder, an inventory (native
//! or Ansible), or `--host` targets; and the live subcommands that only
//! make sense against real hosts (`collect`, `probe`, `inventory check`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::Args;
use globset::Glob;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use sslaudit_rules::facts::{Fleet, Role};
use sslaudit_rules::policy::Policy;
use sslaudit_rules::report::ScanReport;
use sslaudit_rules::report::{Scope, scope_digest};
use sslaudit_scanner::build::build_host;
use sslaudit_scanner::engine::{self, Part, RuleSet};
use sslaudit_scanner::evidence::HostMeta;
use sslaudit_scanner::inventory::{
    self, HostDefaults, HostKeyPolicy, Inventory, InventoryHost, Via,
};
use sslaudit_scanner::live::{self, LiveOptions, Progress, Silent};
use sslaudit_scanner::shard::{self, Shard};
use sslaudit_scanner::snapshot::Snapshot;

use super::values::{RoleArg, ViaArg, spelling};

#[derive(Debug, Args)]
pub struct SourceArgs {
    /// A snapshot, folder or packed file (see docs/snapshot-format.md): scan offline, no network
    ///
    /// A folder as `collect` writes it, or one file as `collect --packed` or `sslaudit snapshot
    /// pack` writes it: either is read the same way. Example: --snapshot evidence.sslsnap
    #[arg(long, value_name = "DIR|FILE", conflicts_with_all = ["inventory", "hosts"])]
    pub snapshot: Option<PathBuf>,
    /// An inventory: sslaudit's YAML or an Ansible inventory (INI or YAML; see docs/inventory.md)
    #[arg(long, short = 'i', value_name = "FILE", conflicts_with = "hosts")]
    pub inventory: Option<PathBuf>,
    /// Scan this host ad hoc over SSH: USER@ADDR[:PORT] (repeatable; environment `adhoc`)
    #[arg(long = "host", value_name = "USER@ADDR[:PORT]")]
    pub hosts: Vec<String>,
    /// Role of the --host targets
    #[arg(long, value_name = "ROLE", value_enum, default_value_t = RoleArg::DbMaster)]
    pub role: RoleArg,
    /// --host targets: the SSH private key (default: the ssh-agent)
    #[arg(long, value_name = "FILE")]
    pub identity_file: Option<PathBuf>,
    /// --host targets: the known_hosts file host keys are verified against
    #[arg(long, value_name = "FILE")]
    pub known_hosts: Option<PathBuf>,
    /// --host targets: how to reach MySQL (default: ssh)
    #[arg(long, value_name = "VIA", value_enum)]
    pub via: Option<ViaArg>,
    /// Only hosts whose name or environment matches this glob (repeatable)
    #[arg(long, value_name = "GLOB")]
    pub limit: Vec<String>,
    /// Scan part K of N of the selected environments, each whole (for CI matrices; `merge` the N reports after)
    ///
    /// Environments go to shards largest first, each to the shard with the fewest hosts so far
    /// (see docs/ci.md); every job computes the same split. Example: --shard 2/4
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Hosts scanned at once (live scans are I/O bound: more than the cores)
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub jobs: usize,
    /// Watch who connects for this long (`30s`, `2m`; at most 10m): the session census looks
    /// once a second instead of once
    ///
    /// A single look at performance_schema misses clients that connect briefly (a cron job, a
    /// BI tool's refresh). With a window every session seen in any look is listed, with the
    /// most it had at once and how many looks saw it. Every database host is watched at the
    /// same time, so the scan takes about the window longer.
    #[arg(long, value_name = "DURATION", value_parser = super::values::census_window)]
    pub census: Option<Duration>,
    /// No progress bar on stderr
    #[arg(long)]
    pub no_progress: bool,
    /// Trust and record the SSH host key of hosts not yet in known_hosts (first contact only; a changed key is still refused; loud on stderr)
    #[arg(long)]
    pub accept_new_host_keys: bool,
    /// The snapshot, once opened (its manifest and host list are read once
    /// for the selection, the scan and the report's scope).
    #[arg(skip)]
    opened: std::sync::Mutex<Option<Arc<Snapshot>>>,
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

    /// The `--snapshot` snapshot, opened once (`None` without one).
    pub fn open_snapshot(&self) -> Result<Option<Arc<Snapshot>>> {
        let Some(path) = &self.snapshot else {
            return Ok(None);
        };
        let mut opened = self
            .opened
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(s) = &*opened {
            return Ok(Some(Arc::clone(s)));
        }
        let s = Arc::new(Snapshot::open(path)?);
        *opened = Some(Arc::clone(&s));
        Ok(Some(s))
    }

    /// Forgets the opened snapshot: the next scan reads it anew (`serve`
    /// rescans a snapshot that may have changed).
    pub fn forget_snapshot(&self) {
        *self
            .opened
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    /// The live hosts selected by --inventory/--host, --limit and --shard.
    pub fn live_hosts(&self) -> Result<Vec<InventoryHost>> {
        if self.inventory.is_none() && self.hosts.is_empty() {
            bail!("say what to scan: --snapshot DIR, --inventory FILE or --host USER@ADDR");
        }
        let inv = match &self.inventory {
            Some(path) => inventory::load(path)?,
            None => {
                let defaults = HostDefaults {
                    identity_file: self.identity_file.clone(),
                    known_hosts: self.known_hosts.clone(),
                    via: self.via.map(Via::from),
                    ..HostDefaults::default()
                };
                Inventory::adhoc(&self.hosts, Role::from(self.role), &defaults)?
            }
        };
        let mut inv = if self.limit.is_empty() {
            inv
        } else {
            inv.limit(&self.limit)?
        };
        if let Some(shard) = self.parsed_shard()? {
            let (part, notes) = inv.shard(shard);
            notes.iter().for_each(|n| eprintln!("{n}"));
            inv = part;
        } else if inv.hosts.is_empty() {
            bail!("no host selected (check --limit)");
        }
        let policy = self.host_key_policy();
        if policy == HostKeyPolicy::AcceptNew {
            eprintln!(
                "sslaudit: WARNING: --accept-new-host-keys: hosts not yet in known_hosts are trusted \
                 on first contact and their keys recorded; whoever answers at their address now is \
                 believed. Check the recorded fingerprints (ssh-keygen -lf <known_hosts>) against \
                 the hosts. Changed keys are still refused."
            );
        }
        let mut hosts = inv.hosts;
        for h in &mut hosts {
            h.ssh.host_key_policy = policy;
        }
        Ok(hosts)
    }

    /// Strict unless `--accept-new-host-keys`: the policy every SSH
    /// connection of this scan (jump hosts included) is made with.
    pub fn host_key_policy(&self) -> HostKeyPolicy {
        if self.accept_new_host_keys {
            HostKeyPolicy::AcceptNew
        } else {
            HostKeyPolicy::Strict
        }
    }

    /// `--shard`, parsed.
    pub fn parsed_shard(&self) -> Result<Option<Shard>> {
        self.shard
            .as_deref()
            .map(|s| Shard::parse(s).map_err(|e| anyhow::anyhow!("--{e}")))
            .transpose()
    }

    /// What the scan covers, for the reports (`policy` is the digest of
    /// the policy and rule packs).
    pub fn scope(&self, policy: String) -> Result<Scope> {
        let source = if let Some(snapshot) = self.open_snapshot()? {
            // The same digest for a folder and its packed form.
            let folders: Vec<String> = (0..snapshot.len()).map(|i| snapshot.folder(i)).collect();
            scope_digest(
                std::iter::once(snapshot.manifest_bytes())
                    .chain(folders.iter().map(|f| f.as_bytes())),
            )
        } else if let Some(path) = &self.inventory {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            scope_digest([bytes.as_slice()])
        } else {
            // The spellings on the command line, as when these were strings.
            let role = spelling(&self.role);
            let via = self.via.as_ref().map(spelling).unwrap_or_default();
            scope_digest(
                [role.as_bytes(), via.as_bytes()]
                    .into_iter()
                    .chain(self.hosts.iter().map(|h| h.as_bytes())),
            )
        };
        Ok(Scope {
            source,
            policy,
            limit: self.limit.clone(),
            shard: self.parsed_shard()?,
        })
    }

    pub fn live_options(&self) -> LiveOptions {
        LiveOptions {
            jobs: self.jobs,
            census: self.census.unwrap_or_default(),
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

/// Which hosts of a snapshot `--limit` and `--shard` keep. A shard needs
/// every selected environment's size first (one pass over the host
/// folders' metadata); a shard may be empty (its reports list no host).
fn snapshot_selection(
    source: &SourceArgs,
    snapshot: &Snapshot,
) -> Result<impl Fn(&HostMeta) -> bool + use<>> {
    let dir = snapshot.path();
    let globs = limit_globs(source)?;
    let environments = match source.parsed_shard()? {
        None => None,
        Some(shard) => {
            let mut sizes: std::collections::BTreeMap<String, usize> = Default::default();
            for i in 0..snapshot.len() {
                let meta = snapshot.meta(i);
                if selected(&globs, &meta.name, &meta.environment) {
                    *sizes.entry(meta.environment.clone()).or_default() += 1;
                }
            }
            if sizes.is_empty() {
                bail!("--limit matches no host of {}", dir.display());
            }
            let pick = shard::pick(shard, &sizes);
            pick.notes.iter().for_each(|n| eprintln!("{n}"));
            Some(pick.environments)
        }
    };
    Ok(move |meta: &HostMeta| {
        environments
            .as_ref()
            .is_none_or(|e| e.contains(&meta.environment))
            && selected(&globs, &meta.name, &meta.environment)
    })
}

/// Without `--shard`, a `--limit` that keeps nothing is an error.
fn none_selected(source: &SourceArgs, dir: &std::path::Path, empty: bool) -> Result<()> {
    if empty && source.shard.is_none() {
        bail!("--limit matches no host of {}", dir.display());
    }
    Ok(())
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
    // One shard of several leaves its comparisons across environments to
    // `merge`; shard 1/1 is the whole selection.
    let part = match source.parsed_shard()? {
        Some(s) if s.count > 1 => Part::Shard,
        _ => Part::Whole,
    };
    if let Some(snapshot) = source.open_snapshot()? {
        let keep = snapshot_selection(source, &snapshot)?;
        let groups = snapshot.host_groups(&keep);
        none_selected(source, snapshot.path(), groups.is_empty())?;
        let started = Instant::now();
        let report = engine::scan_streaming(
            &groups,
            |&i| snapshot.load_host(i),
            rules,
            policy,
            as_of,
            as_of_label,
            part,
        )?;
        tracing::info!(hosts = report.hosts.len(), elapsed = ?started.elapsed(), "snapshot scan done");
        return Ok(report);
    }
    let fleet = load_fleet(source, quiet)?;
    let (findings, pending, outcome) = engine::evaluate_part(&fleet, rules, policy, as_of, part);
    let mut report = engine::report(
        &fleet,
        findings,
        outcome,
        (rules, policy),
        as_of,
        as_of_label,
    );
    report.pending = pending;
    Ok(report)
}

/// Builds the facts of every selected host: from the snapshot, or by
/// collecting them live (hosts in parallel, facts built on the worker that
/// collected them).
pub fn load_fleet(source: &SourceArgs, quiet: bool) -> Result<Fleet> {
    if let Some(snapshot) = source.open_snapshot()? {
        let keep = snapshot_selection(source, &snapshot)?;
        let chosen: Vec<usize> = (0..snapshot.len())
            .filter(|&i| keep(snapshot.meta(i)))
            .collect();
        none_selected(source, snapshot.path(), chosen.is_empty())?;
        let hosts = chosen
            .par_iter()
            .map(|&i| snapshot.load_host(i))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Fleet { hosts });
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrap {
        #[command(flatten)]
        source: SourceArgs,
    }

    fn hosts(args: &[&str]) -> Vec<InventoryHost> {
        let w = Wrap::try_parse_from(std::iter::once("t").chain(args.iter().copied())).unwrap();
        w.source.live_hosts().unwrap()
    }

    /// An unknown host key is refused unless the user opted in, and the
    /// opt-in is carried by each host's settings (no process-wide switch).
    #[test]
    fn host_key_policy_is_strict_unless_opted_in() {
        let strict = hosts(&["--host", "root@10.0.0.5", "--host", "root@10.0.0.6"]);
        assert!(
            strict
                .iter()
                .all(|h| h.ssh.host_key_policy == HostKeyPolicy::Strict)
        );
        let accept = hosts(&["--host", "root@10.0.0.5", "--accept-new-host-keys"]);
        assert_eq!(accept[0].ssh.host_key_policy, HostKeyPolicy::AcceptNew);
        // The opt-in of one scan does not leak into the next.
        let again = hosts(&["--host", "root@10.0.0.5"]);
        assert_eq!(again[0].ssh.host_key_policy, HostKeyPolicy::Strict);
    }
}
