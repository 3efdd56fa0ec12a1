//! `sslaudit remediate plan|apply|resume|rollback`: fixes of findings
//! planned from a fresh scan, and plans applied, resumed or rolled back.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use sslaudit_remediations::apply::{self, ApplyOptions};
use sslaudit_remediations::journal::Journal;
use sslaudit_remediations::plan::Plan;
use sslaudit_remediations::runners::{self, EnvFacts, PlanMeta};
use sslaudit_remediations::target::Target;
use sslaudit_rules::finding::Finding;
use sslaudit_scanner::inventory::{self, InventoryHost};
use sslaudit_scanner::remediate as rem;

use super::run::{
    RunArgs, VERIFY_FILE, VerifySpec, connect_all, env_hosts, execute, finish, master_of, now,
    print_report, refuse_unreadable, rfc3339, run_id, scan_env, settings_of, state_dir, who,
    write_plan,
};

#[derive(Debug, Subcommand)]
pub enum RemediateCommand {
    /// Plan the fixes of findings (from a fresh scan of the inventory) and write the plan
    Plan(PlanArgs),
    /// Apply a plan written by `remediate plan`, `rotate --plan-out` or `keygen --plan-out`
    Apply(ApplyArgs),
    /// Continue an interrupted run where its journal stops
    Resume(RunIdArgs),
    /// Undo what a run did, newest step first
    Rollback(RunIdArgs),
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[arg(long, value_name = "FILE")]
    inventory: PathBuf,
    /// The environment to plan for (required when the inventory has several)
    #[arg(long, value_name = "NAME")]
    environment: Option<String>,
    /// Only the findings of this JSON report (`scan --json`), matched by fingerprint
    #[arg(long, value_name = "REPORT")]
    from: Option<PathBuf>,
    /// Only findings of this rule (repeatable)
    #[arg(long = "rule", value_name = "ID")]
    rules: Vec<String>,
    /// Only findings on hosts matching this glob (`db-*`)
    #[arg(long, value_name = "GLOB")]
    host: Option<String>,
    /// Only this finding (repeatable)
    #[arg(long = "finding", value_name = "FINGERPRINT")]
    findings: Vec<String>,
    /// Where to write the plan
    #[arg(short = 'o', long, value_name = "FILE")]
    out: PathBuf,
    /// Enforce (REQUIRE X509) even though the session census shows live
    /// sessions it would cut off, or cannot see the sessions; the reason is
    /// kept in the plan and the run's journal
    #[arg(long, value_name = "REASON")]
    allow_live_sessions: Option<String>,
    /// Watch who connects for this long before planning (`30s`; at most 10m): the session
    /// census the enforcement preflight judges looks once a second instead of once, so a
    /// client that connects briefly (a cron job) is seen too
    #[arg(long, value_name = "DURATION", value_parser = super::values::census_window)]
    census: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan (JSON)
    plan: PathBuf,
    /// The inventory that says how to reach the plan's hosts
    #[arg(long, value_name = "FILE")]
    inventory: PathBuf,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Args)]
pub struct RunIdArgs {
    /// The run id (the folder name under the state directory)
    run_id: String,
    #[arg(long, value_name = "FILE")]
    inventory: PathBuf,
    #[command(flatten)]
    run: RunArgs,
}

pub fn remediate(cmd: RemediateCommand) -> Result<ExitCode> {
    match cmd {
        RemediateCommand::Plan(args) => plan(args),
        RemediateCommand::Apply(args) => {
            let plan: Plan = serde_json::from_slice(
                &std::fs::read(&args.plan)
                    .with_context(|| format!("reading {}", args.plan.display()))?,
            )
            .with_context(|| format!("{}: not a plan", args.plan.display()))?;
            plan.validate()
                .with_context(|| format!("{}", args.plan.display()))?;
            let hosts = inventory::load(&args.inventory)?.hosts;
            let environment = plan_environment(&plan, &hosts)?;
            let env: Vec<InventoryHost> = hosts
                .iter()
                .filter(|h| h.environment == environment)
                .cloned()
                .collect();
            print!("{}", plan.to_text());
            let before = if args.run.dry_run {
                Vec::new()
            } else {
                scan_env(&env, Duration::ZERO)?.1
            };
            // `remediate plan` leaves the findings it fixes beside the plan.
            let planned = args.plan.with_extension("verify.json");
            let to_fix = match std::fs::read(&planned) {
                Ok(bytes) => {
                    serde_json::from_slice::<VerifySpec>(&bytes)
                        .with_context(|| format!("{}: bad verification record", planned.display()))?
                        .to_fix
                }
                Err(_) => BTreeSet::new(),
            };
            let spec = VerifySpec {
                environment,
                to_fix,
                before: before.iter().map(|f| f.fingerprint.clone()).collect(),
            };
            execute(&plan, &hosts, &args.inventory, &args.run, spec)
        }
        RemediateCommand::Resume(args) => {
            let (plan, spec, hosts, state) = reopen(&args)?;
            let targets = connect_all(&plan, &hosts)?;
            let lookup = |h: &str| targets.get(h).map(|t| t as &dyn Target);
            if args.run.dry_run {
                let mut opts = ApplyOptions::new(&state);
                opts.dry_run = true;
                opts.yes = true;
                print_report(&apply::resume(&plan.run_id, &lookup, &opts)?);
                return Ok(ExitCode::SUCCESS);
            }
            let run_id = plan.run_id.clone();
            finish(
                &plan,
                &hosts,
                &args.inventory,
                &args.run,
                &targets,
                &state,
                spec,
                |opts| apply::resume(&run_id, &lookup, opts),
            )
        }
        RemediateCommand::Rollback(args) => {
            let (plan, spec, hosts, state) = reopen(&args)?;
            let targets = connect_all(&plan, &hosts)?;
            let lookup = |h: &str| targets.get(h).map(|t| t as &dyn Target);
            let master_target = rem::connect(master_of(&hosts)?)?;
            rem::lock_environment(
                &master_target,
                &spec.environment,
                &plan.run_id,
                &who(),
                &args.inventory.display().to_string(),
            )
            .map_err(anyhow::Error::msg)?;
            let report = apply::rollback(&plan.run_id, &lookup, &ApplyOptions::new(&state))?;
            rem::unlock_environment(&master_target, &spec.environment, &plan.run_id)
                .map_err(anyhow::Error::msg)?;
            println!(
                "run {} rolled back: undid steps {:?}{}",
                plan.run_id,
                report.undone,
                if report.irreversible.is_empty() {
                    String::new()
                } else {
                    format!("; could not undo steps {:?}", report.irreversible)
                }
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn reopen(args: &RunIdArgs) -> Result<(Plan, VerifySpec, Vec<InventoryHost>, PathBuf)> {
    let state = state_dir(&args.run)?;
    let journal = Journal::open(&state, &args.run_id)?;
    let plan = journal.load_plan()?;
    let hosts = inventory::load(&args.inventory)?.hosts;
    let spec_path = journal.dir().join(VERIFY_FILE);
    let spec: VerifySpec = match std::fs::read(&spec_path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("{}: bad verification record", spec_path.display()))?,
        Err(_) => VerifySpec {
            environment: plan_environment(&plan, &hosts)?,
            to_fix: BTreeSet::new(),
            before: BTreeSet::new(),
        },
    };
    Ok((plan, spec, hosts, state))
}

/// The one environment a plan's hosts belong to.
fn plan_environment(plan: &Plan, hosts: &[InventoryHost]) -> Result<String> {
    let mut envs = BTreeSet::new();
    for s in &plan.steps {
        let h = hosts.iter().find(|h| h.name == s.host).with_context(|| {
            format!(
                "the plan names host {}, which the inventory does not have",
                s.host
            )
        })?;
        envs.insert(h.environment.clone());
    }
    match envs.len() {
        1 => Ok(envs.into_iter().next().unwrap_or_default()),
        0 => bail!("the plan has no steps"),
        _ => bail!("the plan spans environments {envs:?}: one run changes one environment"),
    }
}

fn glob_match(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

fn plan(args: PlanArgs) -> Result<ExitCode> {
    let inv = inventory::load(&args.inventory)?;
    let envs: BTreeSet<&str> = inv.hosts.iter().map(|h| h.environment.as_str()).collect();
    let environment = match (&args.environment, envs.len()) {
        (Some(e), _) => e.clone(),
        (None, 1) => envs
            .iter()
            .next()
            .map(|e| e.to_string())
            .unwrap_or_default(),
        (None, _) => {
            bail!("the inventory has environments {envs:?}: choose one with --environment")
        }
    };
    let hosts = env_hosts(&args.inventory, &environment)?;
    eprintln!(
        "scanning environment {environment} ({} hosts)...",
        hosts.len()
    );
    let (facts, findings, texts) = scan_env(&hosts, args.census.unwrap_or_default())?;
    refuse_unreadable(&findings)?;
    let wanted: Option<BTreeSet<String>> = match &args.from {
        Some(path) => {
            let report: serde_json::Value = serde_json::from_slice(
                &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
            )
            .with_context(|| format!("{}: not a JSON report", path.display()))?;
            Some(
                report["findings"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|f| f["fingerprint"].as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
            )
        }
        None => None,
    };
    let selected: Vec<Finding> = findings
        .iter()
        .filter(|f| f.suppressed.is_none())
        .filter(|f| wanted.as_ref().is_none_or(|w| w.contains(&f.fingerprint)))
        .filter(|f| {
            args.rules.is_empty()
                || args
                    .rules
                    .iter()
                    .any(|r| r.eq_ignore_ascii_case(&f.rule_id))
        })
        .filter(|f| args.host.as_deref().is_none_or(|g| glob_match(g, &f.host)))
        .filter(|f| args.findings.is_empty() || args.findings.contains(&f.fingerprint))
        .cloned()
        .collect();
    let settings = settings_of(&hosts);
    let meta = PlanMeta {
        run_id: run_id("remediate"),
        created_at: rfc3339(now()),
        allow_live_sessions: args.allow_live_sessions.clone(),
    };
    let text_of = |h: &str, p: &str| texts.get(&(h.to_string(), p.to_string())).cloned();
    let inventory_label = args.inventory.display().to_string();
    let env = EnvFacts {
        environment: &environment,
        inventory: &inventory_label,
        hosts: &facts,
        settings: &settings,
        texts: &text_of,
    };
    let (plan, refused) = runners::plan_for_findings(&env, &selected, &meta);
    print!("{}", plan.to_text());
    for (f, why) in &refused {
        println!(
            "not planned: {} on {} ({}): {why}",
            f.rule_id, f.host, f.fingerprint
        );
    }
    let spec = VerifySpec {
        environment,
        to_fix: selected
            .iter()
            .filter(|f| !refused.iter().any(|(r, _)| r.fingerprint == f.fingerprint))
            .map(|f| f.fingerprint.clone())
            .collect(),
        before: findings.iter().map(|f| f.fingerprint.clone()).collect(),
    };
    write_plan(&plan, &args.out, &args.inventory)?;
    // Kept beside the plan: `remediate apply` verifies against it.
    let spec_out = args.out.with_extension("verify.json");
    std::fs::write(&spec_out, serde_json::to_vec_pretty(&spec)?)
        .with_context(|| format!("writing {}", spec_out.display()))?;
    Ok(if plan.steps.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("db-*", "db-master"));
        assert!(glob_match("*", "x"));
        assert!(glob_match("app-?", "app-1"));
        assert!(!glob_match("db-*", "app-1"));
    }
}
