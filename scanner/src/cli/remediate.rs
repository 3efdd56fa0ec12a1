//! `sslaudit rotate` and `sslaudit remediate plan|apply|resume|rollback`:
//! plans shown before anything changes, applied through the journaled
//! engine, verified by a rescan, rolled back when the rescan says no.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use sslaudit_remediations::apply::{self, ApplyError, ApplyOptions, RunReport, StepOutcome};
use sslaudit_remediations::journal::Journal;
use sslaudit_remediations::plan::{KeyType, Plan};
use sslaudit_remediations::runners::distribute::{self, CaChoice, DistributeInput};
use sslaudit_remediations::runners::rotate::{self, CaRotateInput, CaSource, RotateInput};
use sslaudit_remediations::runners::{self, EnvFacts, HostSettings, PlanMeta};
use sslaudit_remediations::target::Target;
use sslaudit_rules::facts::{HostFacts, IdentityKind, Role};
use sslaudit_rules::finding::Finding;
use sslaudit_scanner::inventory::{self, InventoryHost};
use sslaudit_scanner::live::LiveOptions;
use sslaudit_scanner::remediate::{self as rem, MUST_NOT_APPEAR};
use sslaudit_scanner::remote::target::HostTarget;

use super::keygen::{KeygenArgs, default_state_dir};

/// How a run is applied (shared by `rotate` and `remediate apply`).
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Apply without asking (steps that need confirmation included)
    #[arg(long)]
    yes: bool,
    /// Show what each step would change (with diffs of edited files); change nothing
    #[arg(long)]
    dry_run: bool,
    /// Keep what was done when a step or the verification fails (the run can then be resumed or rolled back by hand)
    #[arg(long)]
    no_rollback: bool,
    /// Where run journals and audit logs go (default: $XDG_STATE_HOME/sslaudit or ~/.local/state/sslaudit)
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The inventory (native YAML or Ansible)
    #[arg(long, value_name = "FILE")]
    inventory: PathBuf,
    /// The environment whose keys are rotated
    #[arg(long, value_name = "NAME")]
    environment: String,
    /// The CA certificate to sign with, on this machine (with --ca-key)
    #[arg(long, value_name = "FILE", requires = "ca_key")]
    ca_cert: Option<PathBuf>,
    /// The CA private key on this machine (default: the CA key stays on the db_master: the inventory's ca_key, else root.key beside the server's ssl-ca)
    #[arg(long, value_name = "FILE", requires = "ca_cert")]
    ca_key: Option<PathBuf>,
    /// Rotate the CA itself, in stages without downtime: trust both CAs everywhere, switch the
    /// server certificates, switch the client certificates, drop the old CA
    #[arg(long, conflicts_with_all = ["ca_cert", "ca_key"])]
    ca: bool,
    /// Validity of a new CA (--ca), in days
    #[arg(long, value_name = "N", default_value_t = 3650, requires = "ca")]
    ca_days: u32,
    /// Validity of the new certificates, in days
    #[arg(long, value_name = "N", default_value_t = sslaudit_remediations::keygen::DEFAULT_DAYS)]
    days: u32,
    /// Write the plan as JSON here and stop (apply it later with `sslaudit remediate apply`)
    #[arg(long, value_name = "FILE")]
    plan_out: Option<PathBuf>,
    #[command(flatten)]
    run: RunArgs,
}

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

/// What verification compares, kept beside the journal so a resumed run
/// is verified like the original one.
#[derive(Debug, Serialize, Deserialize)]
struct VerifySpec {
    environment: String,
    /// Fingerprints of the findings the plan fixes.
    to_fix: BTreeSet<String>,
    /// Fingerprints of every finding before the run.
    before: BTreeSet<String>,
}

const VERIFY_FILE: &str = "verify.json";

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn run_id(kind: &str) -> String {
    let t = now();
    format!("{kind}-{}-{}", t.unix_timestamp(), std::process::id())
}

fn state_dir(run: &RunArgs) -> Result<PathBuf> {
    match &run.state_dir {
        Some(d) => Ok(d.clone()),
        None => default_state_dir(),
    }
}

fn env_hosts(inventory: &Path, environment: &str) -> Result<Vec<InventoryHost>> {
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

fn settings_of(hosts: &[InventoryHost]) -> BTreeMap<String, HostSettings> {
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

fn live_options() -> LiveOptions {
    LiveOptions {
        probe: true,
        ..LiveOptions::default()
    }
}

/// Fresh facts and findings of an environment; refuses when a host could
/// not be read (a plan on stale or partial facts could do harm).
fn scan_env(hosts: &[InventoryHost]) -> Result<(Vec<HostFacts>, Vec<Finding>, rem::Texts)> {
    let (facts, texts) = rem::collect_facts(hosts, &live_options())?;
    let (fleet, findings) = rem::findings(facts, now().unix_timestamp());
    Ok((fleet.hosts, findings, texts))
}

fn refuse_unreadable(findings: &[Finding]) -> Result<()> {
    let failed: Vec<String> = findings
        .iter()
        .filter(|f| f.rule_id == "SCAN001")
        .map(|f| format!("{}: {}", f.host, f.message))
        .collect();
    if !failed.is_empty() {
        bail!(
            "cannot plan on partial facts; these hosts could not be read:\n  {}",
            failed.join("\n  ")
        );
    }
    Ok(())
}

fn master_of(hosts: &[InventoryHost]) -> Result<&InventoryHost> {
    hosts
        .iter()
        .find(|h| h.roles.contains(&Role::DbMaster))
        .context("the environment has no db_master in the inventory")
}

pub fn rotate(args: RotateArgs) -> Result<ExitCode> {
    let hosts = env_hosts(&args.inventory, &args.environment)?;
    let master = master_of(&hosts)?;
    eprintln!(
        "scanning environment {} ({} hosts)...",
        args.environment,
        hosts.len()
    );
    let (facts, before, texts) = scan_env(&hosts)?;
    refuse_unreadable(&before)?;
    let settings = settings_of(&hosts);
    let mut reload = BTreeMap::new();
    for h in &facts {
        if h.roles.contains(&Role::DbMaster) || h.roles.contains(&Role::DbReplica) {
            let s = settings.get(&h.name).cloned().unwrap_or_default();
            reload.insert(h.name.clone(), runners::server::tls_reload(h, &s).action());
        }
    }
    let run = run_id("rotate");
    if args.ca {
        let text_of = |h: &str, p: &str| texts.get(&(h.to_string(), p.to_string())).cloned();
        let plan = rotate::ca_rotation(
            &CaRotateInput {
                environment: &args.environment,
                hosts: &facts,
                reload: &reload,
                texts: &text_of,
                ca_key_path: master
                    .ca_key
                    .as_ref()
                    .map(|p| p.to_string_lossy().into_owned()),
                common_name: format!("sslaudit MySQL CA ({})", args.environment),
                ca_days: args.ca_days,
                days: args.days,
                algo: KeyType::Rsa2048,
            },
            &run,
            &rfc3339(now()),
        )?;
        return finish_plan(plan, &hosts, &args, &before);
    }
    let Some((ca, _)) = find_ca(
        master,
        &facts,
        &texts,
        args.ca_cert.as_deref(),
        args.ca_key.as_deref(),
    )?
    else {
        bail!(
            "{}: the server has no CA certificate (ssl-ca) to keep: give the environment keys \
             first (`sslaudit keygen --inventory {} --environment {}`)",
            master.name,
            args.inventory.display(),
            args.environment
        );
    };
    let plan = rotate::leaf_rotation(
        &RotateInput {
            environment: &args.environment,
            hosts: &facts,
            reload: &reload,
            ca,
            days: args.days,
            algo: KeyType::Rsa2048,
        },
        &run,
        &rfc3339(now()),
    )?;
    finish_plan(plan, &hosts, &args, &before)
}

/// Shows a rotation plan, then writes it (`--plan-out`) or runs it.
fn finish_plan(
    plan: Plan,
    hosts: &[InventoryHost],
    args: &RotateArgs,
    before: &[Finding],
) -> Result<ExitCode> {
    let spec = VerifySpec {
        environment: args.environment.clone(),
        to_fix: BTreeSet::new(),
        before: before.iter().map(|f| f.fingerprint.clone()).collect(),
    };
    print!("{}", plan.to_text());
    if let Some(out) = &args.plan_out {
        write_plan(&plan, out)?;
        return Ok(ExitCode::SUCCESS);
    }
    execute(&plan, hosts, &args.run, spec)
}

/// The environment's CA: local files when given, else the db_master's
/// `ssl-ca` with its key where the inventory says (`ca_key`) or beside it
/// (`root.key`). `None` when the master has no CA certificate at all;
/// an error when it has one but its key cannot be found.
fn find_ca(
    master: &InventoryHost,
    facts: &[HostFacts],
    texts: &rem::Texts,
    ca_cert: Option<&Path>,
    ca_key: Option<&Path>,
) -> Result<Option<(CaSource, String)>> {
    if let (Some(c), Some(k)) = (ca_cert, ca_key) {
        let pem = std::fs::read_to_string(c).with_context(|| format!("reading {}", c.display()))?;
        return Ok(Some((
            CaSource::Local {
                cert_path: absolute(c)?,
                key_path: absolute(k)?,
            },
            pem,
        )));
    }
    let master_facts = facts
        .iter()
        .find(|h| h.name == master.name)
        .context("no facts for the db_master")?;
    let Some(cert_path) = master_facts
        .identities
        .iter()
        .find(|i| i.kind == IdentityKind::Server)
        .and_then(|i| i.ca.clone())
        .filter(|p| master_facts.file_exists(p))
    else {
        return Ok(None);
    };
    let key_path = match &master.ca_key {
        Some(p) => p.to_string_lossy().into_owned(),
        None => match cert_path.rsplit_once('/') {
            Some((dir, _)) => format!("{dir}/root.key"),
            None => bail!("the db_master's ssl-ca {cert_path} is not an absolute path"),
        },
    };
    let master_target = rem::connect(master)?;
    if master_target.metadata(&key_path)?.is_none() {
        bail!(
            "no CA key on {} at {key_path}: new certificates are signed with the existing CA. \
             Set the environment's ca_key in the inventory or give --ca-cert/--ca-key files",
            master.name
        );
    }
    let pem = texts
        .get(&(master.name.clone(), cert_path.clone()))
        .cloned()
        .with_context(|| format!("{}: {cert_path} was not collected", master.name))?;
    Ok(Some((
        CaSource::Remote {
            host: master.name.clone(),
            cert_path,
            key_path,
        },
        pem,
    )))
}

/// `sslaudit keygen --inventory F --environment E`: the missing keys of an
/// environment, generated and distributed as the seed does.
pub fn keygen_inventory(args: KeygenArgs) -> Result<ExitCode> {
    let (Some(inventory), Some(environment)) = (&args.inventory, &args.environment) else {
        bail!("--inventory needs --environment");
    };
    let hosts = env_hosts(inventory, environment)?;
    let master = master_of(&hosts)?;
    eprintln!(
        "scanning environment {environment} ({} hosts)...",
        hosts.len()
    );
    let (facts, before, texts) = scan_env(&hosts)?;
    refuse_unreadable(&before)?;
    let algo = match super::keygen::key_algo(&args.key_type)? {
        sslaudit_remediations::keygen::KeyAlgo::EcdsaP256 => KeyType::EcdsaP256,
        _ => KeyType::Rsa2048,
    };
    let ca = match find_ca(
        master,
        &facts,
        &texts,
        args.ca_cert.as_deref(),
        args.ca_key.as_deref(),
    )? {
        Some((source, cert_pem)) => CaChoice::Existing { source, cert_pem },
        None => CaChoice::New {
            common_name: format!("sslaudit MySQL CA ({environment})"),
            days: 3650,
        },
    };
    let run = run_id("keygen");
    let plan = distribute::distribute(
        &DistributeInput {
            environment,
            hosts: &facts,
            users: &args.users,
            ca,
            days: args.days,
            algo,
        },
        &run,
        &rfc3339(now()),
    )?;
    print!("{}", plan.to_text());
    if plan.steps.is_empty() {
        println!("nothing to do: every host of {environment} has its keys");
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(out) = &args.plan_out {
        write_plan(&plan, out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let spec = VerifySpec {
        environment: environment.clone(),
        to_fix: BTreeSet::new(),
        before: before.iter().map(|f| f.fingerprint.clone()).collect(),
    };
    let run_args = RunArgs {
        yes: args.yes,
        dry_run: args.dry_run,
        no_rollback: args.no_rollback,
        state_dir: args.state_dir.clone(),
    };
    execute(&plan, &hosts, &run_args, spec)
}

fn absolute(p: &Path) -> Result<String> {
    let abs = std::fs::canonicalize(p).with_context(|| format!("reading {}", p.display()))?;
    Ok(abs.to_string_lossy().into_owned())
}

fn write_plan(plan: &Plan, out: &Path) -> Result<()> {
    let json = serde_json::to_string_pretty(plan)? + "\n";
    std::fs::write(out, json).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "plan written to {} (nothing applied; apply it with `sslaudit remediate apply {}`)",
        out.display(),
        out.display()
    );
    Ok(())
}

/// Connects to every host the plan names (and the CA host of its recipes).
fn connect_all(plan: &Plan, hosts: &[InventoryHost]) -> Result<BTreeMap<String, HostTarget>> {
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

fn confirm(plan: &Plan) -> Result<()> {
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

fn print_report(report: &RunReport) {
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
fn execute(
    plan: &Plan,
    hosts: &[InventoryHost],
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
    finish(plan, hosts, run, &targets, &state, spec, |opts| {
        apply::apply(plan, &lookup, opts)
    })
}

/// Runs `go` under the environment lock, then verifies; the shared tail of
/// apply and resume.
fn finish(
    plan: &Plan,
    hosts: &[InventoryHost],
    run: &RunArgs,
    targets: &BTreeMap<String, HostTarget>,
    state: &Path,
    spec: VerifySpec,
    go: impl FnOnce(&ApplyOptions<'_>) -> Result<RunReport, ApplyError>,
) -> Result<ExitCode> {
    let lookup = |h: &str| targets.get(h).map(|t| t as &dyn Target);
    let master = master_of(hosts)?;
    let master_target = rem::connect(master)?;
    rem::lock_environment(&master_target, &spec.environment, &plan.run_id, &who())
        .map_err(anyhow::Error::msg)?;
    let mut opts = ApplyOptions::new(state);
    opts.yes = true;
    let outcome = go(&opts);
    let failure = match outcome {
        Ok(report) => {
            print_report(&report);
            let env: Vec<InventoryHost> = hosts
                .iter()
                .filter(|h| h.environment == spec.environment)
                .cloned()
                .collect();
            eprintln!("verifying: rescanning environment {}...", spec.environment);
            let (_, after, _) = scan_env(&env)?;
            let touched: BTreeSet<String> = plan.steps.iter().map(|s| s.host.clone()).collect();
            let before: Vec<Finding> = after
                .iter()
                .filter(|f| spec.before.contains(&f.fingerprint))
                .cloned()
                .collect();
            let problems = rem::verify(&before, &after, &spec.to_fix, &touched);
            if problems.is_empty() {
                rem::unlock_environment(&master_target, &spec.environment, &plan.run_id)
                    .map_err(anyhow::Error::msg)?;
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
        Err(e) => format!("{e}"),
    };
    eprintln!("run {} failed: {failure}", plan.run_id);
    if run.no_rollback {
        eprintln!(
            "--no-rollback: left as it is; continue with `sslaudit remediate resume {0}` or undo with `sslaudit remediate rollback {0}`",
            plan.run_id
        );
        return Ok(ExitCode::from(1));
    }
    let report = apply::rollback(&plan.run_id, &lookup, &opts)?;
    rem::unlock_environment(&master_target, &spec.environment, &plan.run_id)
        .map_err(anyhow::Error::msg)?;
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

fn who() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    format!("{user}@{} pid {}", host.trim(), std::process::id())
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
                scan_env(&env)?.1
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
            execute(&plan, &hosts, &args.run, spec)
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
            finish(&plan, &hosts, &args.run, &targets, &state, spec, |opts| {
                apply::resume(&run_id, &lookup, opts)
            })
        }
        RemediateCommand::Rollback(args) => {
            let (plan, spec, hosts, state) = reopen(&args)?;
            let targets = connect_all(&plan, &hosts)?;
            let lookup = |h: &str| targets.get(h).map(|t| t as &dyn Target);
            let master_target = rem::connect(master_of(&hosts)?)?;
            rem::lock_environment(&master_target, &spec.environment, &plan.run_id, &who())
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
    let (facts, findings, texts) = scan_env(&hosts)?;
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
    };
    let text_of = |h: &str, p: &str| texts.get(&(h.to_string(), p.to_string())).cloned();
    let env = EnvFacts {
        environment: &environment,
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
    write_plan(&plan, &args.out)?;
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
