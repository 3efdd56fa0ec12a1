//! `sslaudit rotate` (leaf or staged CA rotation) and `sslaudit keygen
//! --inventory` (the environment's missing keys): plans built from a fresh
//! scan of the environment and run by [`super::run`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::Args;
use sslaudit_remediations::commands;
use sslaudit_remediations::plan::{KeyType, Plan};
use sslaudit_remediations::runners;
use sslaudit_remediations::runners::distribute::{self, CaChoice, DistributeInput};
use sslaudit_remediations::runners::rotate::{self, CaRotateInput, CaSource, RotateInput};
use sslaudit_remediations::target::Target;
use sslaudit_rules::facts::{HostFacts, IdentityKind, Role};
use sslaudit_rules::finding::Finding;
use sslaudit_scanner::inventory::InventoryHost;
use sslaudit_scanner::remediate as rem;

use super::keygen::KeygenArgs;
use super::run::{
    RunArgs, VerifySpec, env_hosts, execute, master_of, now, refuse_unreadable, refuse_wire_hosts,
    rfc3339, run_id, scan_env, settings_of, write_plan,
};

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

pub fn rotate(args: RotateArgs) -> Result<ExitCode> {
    let hosts = env_hosts(&args.inventory, &args.environment)?;
    refuse_wire_hosts(&hosts, "rotate")?;
    let master = master_of(&hosts)?;
    eprintln!(
        "scanning environment {} ({} hosts)...",
        args.environment,
        hosts.len()
    );
    let (facts, before, texts) = scan_env(&hosts, Duration::ZERO)?;
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
             first (`{}`)",
            master.name,
            commands::keygen(
                &args.inventory.display().to_string(),
                &args.environment,
                false
            )
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
        write_plan(&plan, out, &args.inventory)?;
        return Ok(ExitCode::SUCCESS);
    }
    execute(&plan, hosts, &args.inventory, &args.run, spec)
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
             Set the environment's ca_key in the inventory, give --ca-cert/--ca-key files, \
             or replace the CA itself with `sslaudit rotate --ca` (staged, no downtime)",
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
    refuse_wire_hosts(&hosts, "keygen")?;
    let master = master_of(&hosts)?;
    eprintln!(
        "scanning environment {environment} ({} hosts)...",
        hosts.len()
    );
    let (facts, before, texts) = scan_env(&hosts, Duration::ZERO)?;
    refuse_unreadable(&before)?;
    let algo = KeyType::from(args.key_type);
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
        write_plan(&plan, out, inventory)?;
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
    execute(&plan, &hosts, inventory, &run_args, spec)
}

fn absolute(p: &Path) -> Result<String> {
    let abs = std::fs::canonicalize(p).with_context(|| format!("reading {}", p.display()))?;
    Ok(abs.to_string_lossy().into_owned())
}
