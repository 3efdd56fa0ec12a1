//! The subcommands that work on live hosts only: `collect` (evidence
//! snapshots), `probe` (TLS of MySQL ports) and `inventory check`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use rayon::prelude::*;
use sslaudit_reports::terminal;
use sslaudit_rules::facts::{Access, Fleet, Reachability, Role};
use sslaudit_rules::policy::Policy;
use sslaudit_scanner::build::build_host;
use sslaudit_scanner::engine::{self, Gate, RuleSet};
use sslaudit_scanner::evidence::{HostEvidence, HostMeta};
use sslaudit_scanner::live::{self, collect_host};
use sslaudit_scanner::probe::{ProbeOptions, probe_tcp};
use sslaudit_scanner::snapshot::{self, FORMAT, Manifest};

use super::source::SourceArgs;

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// `sslaudit collect`: writes the evidence of every selected host as a
/// snapshot folder (or one packed file), for audits to keep and for
/// `scan --snapshot` later.
pub fn collect(source: &SourceArgs, out: &Path, packed: bool, quiet: bool) -> Result<ExitCode> {
    if source.snapshot.is_some() {
        bail!("collect reads live hosts: give --inventory FILE or --host USER@ADDR");
    }
    if packed && out.exists() {
        bail!(
            "{} exists: collect --packed writes a fresh file, never over old evidence",
            out.display()
        );
    }
    if !packed
        && out.exists()
        && std::fs::read_dir(out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!(
            "{} exists and is not empty: collect writes a fresh snapshot, never over old evidence",
            out.display()
        );
    }
    let hosts = source.live_hosts()?;
    let now = time::OffsetDateTime::now_utc();
    let collected_at = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let manifest = Manifest {
        format: FORMAT,
        tool: Some(format!("sslaudit {}", env!("CARGO_PKG_VERSION"))),
        collected_at: Some(collected_at),
        description: Some(format!("collected from {}", source.label())),
        inventory: source.inventory.as_ref().map(|p| p.display().to_string()),
    };
    // The packed file is a temporary one until every host is in it.
    let writer = if packed {
        let mtime = u64::try_from(now.unix_timestamp()).unwrap_or(0);
        Some(std::sync::Mutex::new(snapshot::pack::PackedWriter::create(
            out, mtime,
        )?))
    } else {
        None
    };
    let progress = source.progress(hosts.len(), quiet);
    let written = live::collect_fleet(&hosts, &source.live_options(), progress.as_ref(), |ev| {
        let ok = ev.meta.reachability == Reachability::Reachable;
        match &writer {
            Some(w) => snapshot::write_host_packed(w, &ev).map(|_| ok),
            None => snapshot::write_host(out, &ev).map(|_| ok),
        }
    })?;
    drop(progress);
    let mut reached = 0;
    for w in written {
        if w? {
            reached += 1;
        }
    }
    match writer {
        Some(w) => {
            let mut w = w
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            w.add("snapshot.toml", manifest_text(&manifest)?.as_bytes())?;
            w.finish()?;
        }
        None => snapshot::write_manifest(out, &manifest)?,
    }
    if !quiet {
        eprintln!(
            "wrote {} ({} hosts, {reached} reached); scan it with: {}",
            out.display(),
            hosts.len(),
            sslaudit_remediations::commands::scan_snapshot(&out.display().to_string())
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `snapshot.toml`'s text.
fn manifest_text(manifest: &Manifest) -> Result<String> {
    toml::to_string_pretty(manifest).context("writing snapshot.toml")
}

/// `sslaudit probe`: the TLS of MySQL ports, no credentials needed.
/// The indented lines under a probed server's line: the plaintext login
/// attempt's answer and whether the server asks for a client certificate.
fn probe_details(p: &sslaudit_rules::facts::ProbeFacts) -> String {
    use sslaudit_rules::facts::PlaintextOutcome;
    let pad = " ".repeat(26);
    let mut out = String::new();
    if let Some(a) = &p.plaintext {
        let meaning = match a.outcome {
            PlaintextOutcome::SecureTransportRequired => {
                "refused before authentication: require_secure_transport is ON"
            }
            PlaintextOutcome::AccessDenied => {
                "read up to authentication; says nothing about require_secure_transport"
            }
            PlaintextOutcome::LoggedIn => "let in: plaintext sessions are accepted",
            PlaintextOutcome::Other | PlaintextOutcome::NoAnswer => "proves nothing",
        };
        out.push_str(&format!(
            "{pad}plaintext login as {}: {} — {meaning}\n",
            sslaudit_scanner::probe::PROBE_USER,
            a.describe()
        ));
    }
    match p.requests_client_cert {
        Some(true) if p.client_ca_names.is_empty() => out.push_str(&format!(
            "{pad}asks for a client certificate (no CA names listed)\n"
        )),
        Some(true) => out.push_str(&format!(
            "{pad}asks for a client certificate from: {}\n",
            p.client_ca_names.join("; ")
        )),
        Some(false) => out.push_str(&format!("{pad}does not ask for a client certificate\n")),
        None => {}
    }
    out
}

pub fn probe(
    targets: &[String],
    timeout: Duration,
    versions: bool,
    gate: Gate,
    json_out: Option<&Path>,
) -> Result<ExitCode> {
    let opts = ProbeOptions {
        timeout,
        versions,
        ..ProbeOptions::default()
    };
    let hosts: Vec<_> = targets
        .par_iter()
        .map(|t| {
            let record = probe_tcp(t, &opts);
            // The probe is all `probe` checks: a port that gave no MySQL
            // greeting (refused, stalled, not a MySQL server) was not
            // checked at all, which is SCAN001 and fails the command.
            let reachability = match (&record.greeting_version, &record.error) {
                (None, Some(e)) => Reachability::Unreachable {
                    reason: format!("no MySQL greeting from {}: {e}", record.address),
                },
                _ => Reachability::Reachable,
            };
            let meta: HostMeta = HostMeta {
                name: t.clone(),
                environment: "probe".into(),
                roles: vec![Role::DbMaster],
                address: Some(t.clone()),
                aliases: Vec::new(),
                layout: "engineyard".into(),
                layout_overrides: Default::default(),
                app_user: None,
                named_users: Vec::new(),
                database_yml: Vec::new(),
                reachability,
                access: Access::Wire,
                problems: Vec::new(),
            };
            let ev = HostEvidence {
                meta,
                origin: t.clone(),
                declared_at: None,
                files: Default::default(),
                mysql: None,
                connection: None,
                probe: Some(record),
                galera_ports: Vec::new(),
                problems: Vec::new(),
            };
            build_host(&ev)
        })
        .collect();
    let mut table = String::new();
    for (h, t) in hosts.iter().zip(targets) {
        let Some(p) = &h.probe else {
            // Unreachable: built without facts; the reason is the probe's error.
            if let Reachability::Unreachable { reason } = &h.reachability {
                table.push_str(&format!("{t:<24} error: {reason}\n"));
            }
            continue;
        };
        let accepted: Vec<&str> = p
            .accepted
            .iter()
            .filter(|(_, ok)| **ok)
            .map(|(v, _)| v.as_str())
            .collect();
        let line = match &p.error {
            Some(e) => format!("{:<24} error: {e}\n", p.address),
            None if !p.advertises_ssl => format!(
                "{:<24} {} — no TLS offered (CLIENT_SSL not in the greeting)\n",
                p.address,
                p.greeting_version.as_deref().unwrap_or("?")
            ),
            None => format!(
                "{:<24} {} — {} {} — accepts {} — presents {}\n",
                p.address,
                p.greeting_version.as_deref().unwrap_or("?"),
                p.protocol.as_deref().unwrap_or("?"),
                p.cipher.as_deref().unwrap_or("?"),
                if accepted.is_empty() {
                    "-".to_string()
                } else {
                    accepted.join(", ")
                },
                p.chain
                    .first()
                    .map(|c| format!("{} (until {})", c.subject, c.not_after_date()))
                    .unwrap_or_else(|| "no certificate".into())
            ),
        };
        table.push_str(&line);
        table.push_str(&probe_details(p));
    }
    let fleet = Fleet { hosts };
    let rules = RuleSet::new(Vec::new());
    let policy = Policy::default();
    let as_of = time::OffsetDateTime::now_utc().unix_timestamp();
    let (findings, outcome) = engine::evaluate(&fleet, &rules, &policy, as_of);
    let report = engine::report(
        &fleet,
        findings,
        outcome,
        (&rules, &policy),
        as_of,
        &now_rfc3339(),
    );
    if let Some(path) = json_out {
        std::fs::File::create(path)
            .and_then(|file| sslaudit_reports::json::write_json(&report, file))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let mut out = table;
    out.push('\n');
    out.push_str(&terminal::summary(&report, &rules.metas(), false));
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(if gate.passes(&report.findings) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// What `inventory check` says of the SSH of a host audited from the wire.
const NO_SSH: &str = "not used (ssh: none)";

/// `sslaudit inventory check`: validates an inventory and tries each host's
/// SSH and MySQL login, printing a table.
pub fn inventory_check(source: &SourceArgs) -> Result<ExitCode> {
    let hosts = source.live_hosts()?;
    let opts = live::LiveOptions {
        probe: false,
        ..source.live_options()
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.clamp(1, 512))
        .build()?;
    let rows: Vec<(String, String, String, Duration)> = pool.install(|| {
        hosts
            .par_iter()
            .map(|h| {
                let started = Instant::now();
                let ev = collect_host(h, &opts);
                let ssh = match (&ev.meta.reachability, h.access) {
                    (Reachability::Reachable, Access::Wire) => NO_SSH.to_string(),
                    (Reachability::Reachable, Access::Ssh) => "ok".to_string(),
                    (Reachability::Unreachable { reason }, _) => reason.clone(),
                };
                let is_db = h
                    .roles
                    .iter()
                    .any(|r| matches!(r, Role::DbMaster | Role::DbReplica));
                let mysql = if ev.meta.reachability != Reachability::Reachable {
                    "-".to_string()
                } else if !is_db {
                    "(not a database host)".to_string()
                } else if let Some(p) = ev
                    .problems
                    .iter()
                    .find(|p| p.is_access_failure() || p.is_tls_not_offered())
                {
                    format!("{}: {}", p.what, p.message)
                } else if ev.mysql.is_some() {
                    format!("ok (via {})", h.mysql.via.as_str())
                } else {
                    "no facts".to_string()
                };
                (h.label(), ssh, mysql, started.elapsed())
            })
            .collect()
    });
    let mut out = format!(
        "{:<32} {:<40} {:<40} {:>8}\n",
        "HOST", "SSH", "MYSQL", "TIME"
    );
    let ready = |ssh: &str, mysql: &str| {
        (ssh == "ok" || ssh == NO_SSH) && (mysql.starts_with("ok") || mysql.starts_with('('))
    };
    for (label, ssh, mysql, took) in &rows {
        out.push_str(&format!(
            "{label:<32} {ssh:<40} {mysql:<40} {:>6}ms\n",
            took.as_millis()
        ));
    }
    let ready_count = rows.iter().filter(|(_, s, m, _)| ready(s, m)).count();
    let all_ok = ready_count == rows.len();
    out.push_str(&format!(
        "\n{ready_count} of {} hosts ready to scan\n",
        rows.len()
    ));
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
