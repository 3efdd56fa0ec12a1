//! Running a plan for the remediation commands: the environment scanned
//! before and after, the plan shown and confirmed, applied under the
//! environment lock, verified by a rescan, rolled back on failure.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::Args;
use serde::{Deserialize, Serialize};
use sslaudit_remediations::apply::{self, ApplyError, ApplyOptions, RunReport, StepOutcome};
use sslaudit_remediations::commands;
use sslaudit_remediations::journal::Journal;
use sslaudit_remediations::plan::Plan;
use sslaudit_remediations::runners::HostSettings;
use sslaudit_remediations::target::Target;
use sslaudit_rules::facts::{Access, HostFacts, Role};
use sslaudit_rules::finding::Finding;
use sslaudit_scanner::inventory::{self, InventoryHost};
use sslaudit_scanner::live::LiveOptions;
use sslaudit_scanner::remediate::{self as rem, MUST_NOT_APPEAR};
use sslaudit_scanner::remote::target::HostTarget;

/// How a run is applied (shared by `rotate` and `remediate apply`).
#[derive(Debug, Args)]
pub(super) struct RunArgs {
    /// Apply without asking (steps that need confirmation included)
    #[arg(long)]
    pub(super) yes: bool,
    /// Show what each step would change (with diffs of edited files); change nothing
    #[arg(long)]
    pub(super) dry_run: bool,
    /// Keep what was done when a step or the verification fails (the run can then be resumed or rolled back by hand)
    #[arg(long)]
    pub(super) no_rollback: bool,
    /// Where run journals and audit logs go (default: $XDG_STATE_HOME/sslaudit or ~/.local/state/sslaudit)
    #[arg(long, value_name = "DIR")]
    pub(super) state_dir: Option<PathBuf>,
}

/// What verification compares, kept beside the journal so a resumed run
/// is verified like the original one.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct VerifySpec {
    pub(super) environment: String,
    /// Fingerprints of the findings the plan fixes.
    pub(super) to_fix: BTreeSet<String>,
    /// Fingerprints of every finding before the run.
    pub(super) before: BTreeSet<String>,
}

pub(super) const VERIFY_FILE: &str = "verify.json";

pub(super) fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

pub(super) fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub(super) fn run_id(kind: &str) -> String {
    let t = now();
    format!("{kind}-{}-{}", t.unix_timestamp(), std::process::id())
}

pub(super) fn state_dir(run: &RunArgs) -> Result<PathBuf> {
    super::state::state_dir(run.state_dir.as_deref())
}

pub(super) fn env_hosts(inventory: &Path, environment: &str) -> Result<Vec<InventoryHost>> {
    let inv = inventory::load(inventory)?;
    let hosts: Vec<InventoryHost> = inv
        .hosts
        .into_iter()
        .filter(|h| h.environment == environment)
        .collect();
    if hosts.is_empty() {
        bail!(
            "{}: no hosts in environment {environment}",
            inventory.display()
        );
    }
    Ok(hosts)
}

/// Keys are generated on the db_master and copied to every host over SSH
/// (the seed's Key Maintenance): an environment with hosts the inventory
/// marks `ssh: none` cannot go through it, and says which before anything
/// is scanned or planned.
pub(super) fn refuse_wire_hosts(hosts: &[InventoryHost], command: &str) -> Result<()> {
    let wire: Vec<String> = hosts
        .iter()
        .filter(|h| h.access == Access::Wire)
        .map(|h| format!("{} ({})", h.name, h.origin))
        .collect();
    if !wire.is_empty() {
        bail!(
            "`sslaudit {command}` generates and copies keys over SSH, and the inventory says \
             `ssh: none` for {}: their certificates are the provider's or their owner's to \
             change; `sslaudit scan --next-ca` tells which clients are ready for the new CA",
            wire.join(", ")
        );
    }
    Ok(())
}

pub(super) fn settings_of(hosts: &[InventoryHost]) -> BTreeMap<String, HostSettings> {
    hosts
        .iter()
        .map(|h| {
            (
                h.name.clone(),
                HostSettings {
                    app_user: h.app_user.clone(),
                    app_restart_command: h.app_restart_command.clone(),
                    mysql_restart_command: h.mysql.restart_command.clone(),
                },
            )
        })
        .collect()
}

/// A remediation's scan: probe on; `census` is the session census's window
/// (`remediate plan --census 30s`).
pub(super) fn live_options(census: Duration) -> LiveOptions {
    LiveOptions {
        probe: true,
        census,
        ..LiveOptions::default()
    }
}

/// Fresh facts and findings of an environment; refuses when a host could
/// not be read (a plan on stale or partial facts could do harm).
pub(super) fn scan_env(
    hosts: &[InventoryHost],
    census: Duration,
) -> Result<(Vec<HostFacts>, Vec<Finding>, rem::Texts)> {
    let (facts, texts) = rem::collect_facts(hosts, &live_options(census))?;
    let (fleet, findings) = rem::findings(facts, now().unix_timestamp());
    Ok((fleet.hosts, findings, texts))
}

pub(super) fn refuse_unreadable(findings: &[Finding]) -> Result<()> {
    let failed: Vec<String> = findings
        .iter()
        .filter(|f| f.is_audit_gap())
        .map(|f| format!("{}: {}", f.host, f.message))
        .collect();
    if !failed.is_empty() {
        bail!(
            "cannot plan on partial facts; these hosts could not be (fully) read:\n  {}",
            failed.join("\n  ")
        );
    }
    Ok(())
}

pub(super) fn master_of(hosts: &[InventoryHost]) -> Result<&InventoryHost> {
    hosts
        .iter()
        .find(|h| h.roles.contains(&Role::DbMaster))
        .context("the environment has no db_master in the inventory")
}

pub(super) fn write_plan(plan: &Plan, out: &Path, inventory: &Path) -> Result<()> {
    let json = serde_json::to_string_pretty(plan)? + "\n";
    std::fs::write(out, json).with_context(|| format!("writing {}", out.display()))?;
    println!("{}", plan_written(out, inventory));
    Ok(())
}

/// What `--plan-out` and `remediate plan` say once the plan is written.
pub(super) fn plan_written(out: &Path, inventory: &Path) -> String {
    format!(
        "plan written to {} (nothing applied; apply it with `{}`)",
        out.display(),
        commands::apply(&out.display().to_string(), &inventory.display().to_string())
    )
}

/// Connects to every host the plan names (and the CA host of its recipes).
pub(super) fn connect_all(
    plan: &Plan,
    hosts: &[InventoryHost],
) -> Result<BTreeMap<String, HostTarget>> {
    let mut names: BTreeSet<&str> = plan.steps.iter().map(|s| s.host.as_str()).collect();
    for r in &plan.generate {
        if let sslaudit_remediations::plan::Recipe::Leaf {
            issuer: sslaudit_remediations::plan::Issuer::Remote { host, .. },
            ..
        } = r
        {
            names.insert(host);
        }
    }
    let mut out = BTreeMap::new();
    for name in names {
        let h = hosts.iter().find(|h| h.name == name).with_context(|| {
            format!("the plan names host {name}, which the inventory does not have")
        })?;
        out.insert(name.to_string(), rem::connect(h)?);
    }
    Ok(out)
}

pub(super) fn confirm(plan: &Plan) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!("not applied: confirm with --yes (stdin is not a terminal)");
    }
    eprint!(
        "apply these {} steps of run {}? [y/N] ",
        plan.steps.len(),
        plan.run_id
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if !matches!(answer.trim(), "y" | "Y" | "yes") {
        bail!("not applied");
    }
    Ok(())
}

pub(super) fn print_report(report: &RunReport) {
    for s in &report.steps {
        match &s.outcome {
            StepOutcome::WouldChange { preview } => {
                println!("{:>3}. [{}] {}", s.step, s.host, preview.summary);
                if let Some(d) = &preview.diff {
                    for line in d.lines() {
                        println!("       {line}");
                    }
                }
            }
            StepOutcome::Skipped { reason } => {
                println!("{:>3}. [{}] skipped: {reason}", s.step, s.host)
            }
            other => println!("{:>3}. [{}] {other:?}", s.step, s.host),
        }
    }
}

/// Applies (or resumes) a run, verifies it by a rescan and rolls back what
/// it changed when a step or the verification fails.
pub(super) fn execute(
    plan: &Plan,
    hosts: &[InventoryHost],
    inventory: &Path,
    run: &RunArgs,
    spec: VerifySpec,
) -> Result<ExitCode> {
    let state = state_dir(run)?;
    let targets = connect_all(plan, hosts)?;
    let lookup = |h: &str| targets.get(h).map(|t| t as &dyn Target);
    let mut opts = ApplyOptions::new(&state);
    opts.dry_run = run.dry_run;
    opts.yes = true;
    if run.dry_run {
        let report = apply::apply(plan, &lookup, &opts)?;
        print_report(&report);
        println!("dry run: nothing was changed");
        return Ok(ExitCode::SUCCESS);
    }
    if !run.yes {
        confirm(plan)?;
    }
    let run_dir = Journal::run_dir(&state, &plan.run_id);
    std::fs::create_dir_all(&run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    std::fs::write(run_dir.join(VERIFY_FILE), serde_json::to_vec_pretty(&spec)?)
        .with_context(|| format!("writing {}", run_dir.join(VERIFY_FILE).display()))?;
    finish(
        plan,
        hosts,
        inventory,
        run,
        &targets,
        &state,
        spec,
        |opts| apply::apply(plan, &lookup, opts),
    )
}

/// Runs `go` under the environment lock, then verifies; the shared tail of
/// apply and resume.
#[allow(clippy::too_many_arguments)] // the shared tail of three commands
pub(super) fn finish(
    plan: &Plan,
    hosts: &[InventoryHost],
    inventory: &Path,
    run: &RunArgs,
    targets: &BTreeMap<String, HostTarget>,
    state: &Path,
    spec: VerifySpec,
    go: impl FnOnce(&ApplyOptions<'_>) -> Result<RunReport, ApplyError>,
) -> Result<ExitCode> {
    let lookup = |h: &str| targets.get(h).map(|t| t as &dyn Target);
    let master = master_of(hosts)?;
    let master_target = rem::connect(master)?;
    let inventory = inventory.display().to_string();
    let resume = commands::resume(&plan.run_id, &inventory);
    let rollback = commands::rollback(&plan.run_id, &inventory);
    rem::lock_environment(
        &master_target,
        &spec.environment,
        &plan.run_id,
        &who(),
        &inventory,
    )
    .map_err(anyhow::Error::msg)?;
    let mut opts = ApplyOptions::new(state);
    opts.yes = true;
    let outcome = go(&opts);
    let unlock = || {
        rem::unlock_environment(&master_target, &spec.environment, &plan.run_id)
            .map_err(anyhow::Error::msg)
    };
    let failure = match outcome {
        Ok(report) => {
            print_report(&report);
            let env: Vec<InventoryHost> = hosts
                .iter()
                .filter(|h| h.environment == spec.environment)
                .cloned()
                .collect();
            eprintln!("verifying: rescanning environment {}...", spec.environment);
            let (_, after, _) = scan_env(&env, Duration::ZERO).with_context(|| {
                format!(
                    "the run's steps are done but the verification scan failed; the environment \
                     stays locked: `{resume}` verifies again, `{rollback}` undoes the run"
                )
            })?;
            let touched: BTreeSet<String> = plan.steps.iter().map(|s| s.host.clone()).collect();
            let before: Vec<Finding> = after
                .iter()
                .filter(|f| spec.before.contains(&f.fingerprint))
                .cloned()
                .collect();
            let problems = rem::verify(&before, &after, &spec.to_fix, &touched);
            if problems.is_empty() {
                unlock()?;
                println!(
                    "run {} done and verified: no finding of {} new on the {} touched host(s)",
                    plan.run_id,
                    MUST_NOT_APPEAR.join("/"),
                    touched.len()
                );
                return Ok(ExitCode::SUCCESS);
            }
            format!("verification failed:\n  {}", problems.join("\n  "))
        }
        Err(ApplyError::Crashed { step }) => {
            // The test switch: stop dead, as a killed process would.
            eprintln!("crashed after step {step} (test switch)");
            std::process::abort();
        }
        // Refused before this invocation changed anything: nothing of
        // this attempt to undo (and another attempt's steps are not ours).
        Err(
            e @ (ApplyError::Plan(_)
            | ApplyError::UnknownHost { .. }
            | ApplyError::Locked { .. }
            | ApplyError::AlreadyStarted { .. }
            | ApplyError::NotStarted { .. }
            | ApplyError::RolledBack { .. }
            | ApplyError::NeedsConfirmation { .. }
            | ApplyError::DryRunRollback),
        ) => {
            unlock()?;
            return Err(e.into());
        }
        Err(e @ (ApplyError::State { .. } | ApplyError::Journal { .. })) => {
            return Err(anyhow::Error::new(e).context(format!(
                "the journal of run {} could not be written or read; the environment stays \
                 locked: look at the hosts, then `{resume}` or `{rollback}`",
                plan.run_id
            )));
        }
        Err(e) => format!("{e}"),
    };
    eprintln!("run {} failed: {failure}", plan.run_id);
    if run.no_rollback {
        eprintln!(
            "--no-rollback: left as it is (the environment stays locked by the run); continue with \
             `{resume}` or undo with `{rollback}`"
        );
        return Ok(ExitCode::from(1));
    }
    let report = apply::rollback(&plan.run_id, &lookup, &opts).with_context(|| {
        format!(
            "rolling back run {} failed; the environment stays locked: fix the cause and run \
             `{rollback}` again",
            plan.run_id
        )
    })?;
    unlock()?;
    eprintln!(
        "rolled back: undid steps {:?}{}",
        report.undone,
        if report.irreversible.is_empty() {
            String::new()
        } else {
            format!("; could not undo steps {:?}", report.irreversible)
        }
    );
    Ok(ExitCode::from(1))
}

pub(super) fn who() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    format!("{user}@{} pid {}", host.trim(), std::process::id())
}
