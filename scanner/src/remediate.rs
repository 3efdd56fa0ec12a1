//! What remediation runs need from the scanner: a [`Target`] per inventory
//! host over SSH (and MySQL), fresh facts and findings of an environment,
//! the environment lock on its db_master, and the verification that
//! compares findings before and after a run.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::Arc;
use std::time::Duration;

use sslaudit_remediations::commands;
use sslaudit_remediations::target::Target;
use sslaudit_rules::facts::{Fleet, HostFacts};
use sslaudit_rules::finding::Finding;
use sslaudit_rules::policy::Policy;

use crate::build::build_host;
use crate::collect::mysql::connect_tcp;
use crate::engine::{self, RuleSet};
use crate::inventory::{InventoryHost, Via};
use crate::live::{self, LiveOptions, Silent, endpoint, tcp_settings};
use crate::probe::{ProbeOptions, probe_tcp, probe_with};
use crate::remote::ssh::SshHost;
use crate::remote::target::{HostTarget, SqlRoute};
use crate::remote::{RemoteError, shell_quote};
use crate::secret::Secret;

/// Rules whose appearance on a touched host fails a run's verification:
/// TLS off, certificates that do not verify or match their keys, expired
/// certificates, and clients that cannot use TLS.
pub const MUST_NOT_APPEAR: [&str; 6] = ["SSL001", "SSL003", "SSL004", "SSL011", "SSL012", "SSL018"];

/// The slowest single command a remediation waits for (a server restart).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(180);

fn admin_password(h: &InventoryHost) -> Result<Option<Secret>, String> {
    let m = &h.mysql;
    match (&m.admin_password_env, &m.admin_password_file) {
        (Some(var), _) => Secret::from_env(var).map(Some),
        (None, Some(file)) => Secret::from_file(file).map(Some),
        (None, None) => Ok(None),
    }
    .map_err(|e| e.to_string())
}

fn sql_route(h: &InventoryHost) -> SqlRoute {
    let password = match admin_password(h) {
        Ok(p) => p,
        Err(e) => return SqlRoute::Unavailable(format!("admin password: {e}")),
    };
    match h.mysql.via {
        // The host's own client as the SSH user: root's socket auth, as the
        // seed does, unless the inventory names an admin account.
        Via::Ssh => SqlRoute::Client {
            user: h.mysql.admin_user.clone(),
            password,
        },
        Via::Tcp | Via::Tunnel => {
            let Some(admin) = h.mysql.admin_user.clone() else {
                return SqlRoute::Unavailable(format!(
                    "{}: changing accounts and reloading TLS over via: {} needs mysql.admin_user \
                     (and admin_password_env); the read-only scanner account is never assumed \
                     to be enough",
                    h.name,
                    h.mysql.via.as_str()
                ));
            };
            let mut settings = match tcp_settings(h) {
                Ok(s) => s,
                Err(p) => return SqlRoute::Unavailable(p.message),
            };
            settings.user = admin;
            settings.password = password;
            let host = h.clone();
            SqlRoute::Connect(Box::new(move || {
                let ep = endpoint(&host.address, host.mysql.port);
                if host.mysql.via == Via::Tunnel {
                    let fwd = SshHost::forward(&host, &host.address, host.mysql.port)
                        .map_err(|e| e.to_string())?;
                    connect_tcp("127.0.0.1", fwd.port(), &ep, &settings).map_err(|p| p.message)
                } else {
                    connect_tcp(&host.address, host.mysql.port, &ep, &settings)
                        .map_err(|p| p.message)
                }
            }))
        }
    }
}

/// Logs in to a host for a remediation run: SSH with the inventory's
/// settings (host key verified), SQL as [`sql_route`] says, the served
/// certificate through the TLS probe (from the host itself unless
/// `via: tcp`).
pub fn connect(h: &InventoryHost) -> Result<HostTarget, RemoteError> {
    let ssh = SshHost::connect(h)?;
    ssh.set_timeout(COMMAND_TIMEOUT.max(h.ssh.timeout));
    let ssh = Arc::new(ssh);
    let opts = ProbeOptions {
        timeout: h.ssh.timeout,
        versions: false,
        // Remediation only needs the presented chain.
        plaintext: false,
        ..ProbeOptions::default()
    };
    let ep = endpoint(&h.address, h.mysql.port);
    let probe: Box<dyn Fn() -> crate::evidence::ProbeRecord + Send + Sync> = match h.mysql.via {
        Via::Tcp => Box::new(move || probe_tcp(&ep, &opts)),
        Via::Ssh | Via::Tunnel => {
            let ssh = Arc::clone(&ssh);
            let (address, port) = (h.address.clone(), h.mysql.port);
            Box::new(move || {
                probe_with(
                    &ep,
                    || {
                        ssh.direct_tcpip(&address, port)
                            .map_err(|e| io::Error::other(e.to_string()))
                    },
                    &opts,
                )
            })
        }
    };
    Ok(HostTarget::new(&h.name, ssh, sql_route(h), Some(probe)))
}

/// The text of the files collected, by (host, path): what edits start from.
pub type Texts = BTreeMap<(String, String), String>;

/// Collects `hosts` now and builds their facts (unreachable hosts included,
/// as facts without content), keeping the UTF-8 text of collected files
/// (private keys are reduced to facts by the collector and never kept).
pub fn collect_facts(
    hosts: &[InventoryHost],
    opts: &LiveOptions,
) -> io::Result<(Vec<HostFacts>, Texts)> {
    let built = live::collect_fleet(hosts, opts, &Silent, |ev| {
        let texts: Vec<((String, String), String)> = ev
            .files
            .iter()
            .filter(|(_, f)| f.key.is_none())
            .filter_map(|(path, f)| {
                let text = String::from_utf8(f.content.clone()?).ok()?;
                Some(((ev.meta.name.clone(), path.clone()), text))
            })
            .collect();
        (build_host(&ev), texts)
    })
    .map_err(io::Error::other)?;
    let mut facts = Vec::new();
    let mut texts = Texts::new();
    for (f, t) in built {
        facts.push(f);
        texts.extend(t);
    }
    Ok((facts, texts))
}

/// Names on each finding the command that plans its fix (see
/// [`commands::fix`]); `inventory` is the inventory the scan used, or the
/// one a snapshot remembers.
pub fn annotate_fixes(findings: &mut [Finding], inventory: &str) {
    for f in findings {
        f.fix = commands::fix(f, inventory).map(|c| c.to_string());
    }
}

/// Every enabled rule of the catalogue over these hosts, as of now.
pub fn findings(hosts: Vec<HostFacts>, as_of: i64) -> (Fleet, Vec<Finding>) {
    let fleet = Fleet { hosts };
    let (found, _) = engine::evaluate(&fleet, &RuleSet::new(Vec::new()), &Policy::default(), as_of);
    (fleet, found)
}

/// Why a run's result is not accepted: findings it set out to fix that
/// are still there, findings of [`MUST_NOT_APPEAR`] rules new on a host it
/// touched, and hosts it touched or meant to fix that the rescan could not
/// check (an audit gap: rules without evidence stay silent, so a fix would
/// look verified when nothing was checked). Empty when the run is good.
pub fn verify(
    before: &[Finding],
    after: &[Finding],
    to_fix: &BTreeSet<String>,
    touched: &BTreeSet<String>,
) -> Vec<String> {
    let had: BTreeSet<&str> = before.iter().map(|f| f.fingerprint.as_str()).collect();
    let fixed_on: BTreeSet<&str> = before
        .iter()
        .filter(|f| to_fix.contains(&f.fingerprint))
        .map(|f| f.host.as_str())
        .collect();
    let mut problems = Vec::new();
    for f in after {
        let ours = touched.contains(&f.host) || fixed_on.contains(f.host.as_str());
        if ours && f.is_audit_gap() && !had.contains(f.fingerprint.as_str()) {
            problems.push(format!(
                "could not check {} after the run ({}): {}",
                f.host, f.rule_id, f.message
            ));
        } else if to_fix.contains(&f.fingerprint) {
            problems.push(format!(
                "still there: {} on {}: {}",
                f.rule_id, f.host, f.message
            ));
        } else if touched.contains(&f.host)
            && MUST_NOT_APPEAR.contains(&f.rule_id.as_str())
            && !had.contains(f.fingerprint.as_str())
        {
            problems.push(format!(
                "new after the run: {} on {}: {}",
                f.rule_id, f.host, f.message
            ));
        }
    }
    problems
}

/// The lock folder of an environment on its db_master.
pub fn lock_path(environment: &str) -> String {
    let safe: String = environment
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("/var/lib/sslaudit/locks/{safe}")
}

/// Takes the environment lock for `run_id` on the db_master (a folder made
/// with `mkdir`, atomic on every filesystem, holding the run id). Taking it
/// again for the same run (resume, rollback) succeeds; another run's lock
/// is an error naming it. A crashed run keeps its lock until it is resumed
/// or rolled back.
pub fn lock_environment(
    master: &dyn Target,
    environment: &str,
    run_id: &str,
    who: &str,
    inventory: &str,
) -> Result<(), String> {
    let dir = shell_quote(&lock_path(environment));
    let script = format!(
        "mkdir -p /var/lib/sslaudit/locks && if mkdir {dir} 2>/dev/null; then \
         printf '%s\\n' {run} > {dir}/run && printf '%s\\n' {who} > {dir}/holder && echo taken; \
         else cat {dir}/run 2>/dev/null || echo unknown; fi",
        run = shell_quote(run_id),
        who = shell_quote(who),
    );
    let out = master.run_command(&script).map_err(|e| e.to_string())?;
    if out.status != 0 {
        return Err(format!(
            "taking {}: {}",
            lock_path(environment),
            out.stderr.trim()
        ));
    }
    match out.stdout.trim() {
        "taken" => Ok(()),
        holder if holder == run_id => Ok(()),
        holder => Err(format!(
            "environment {environment} is locked by run {holder} ({} on {}): finish it with \
             `{}` or `{}`",
            lock_path(environment),
            master.host(),
            commands::resume(holder, inventory),
            commands::rollback(holder, inventory),
        )),
    }
}

/// Releases the lock if `run_id` holds it.
pub fn unlock_environment(
    master: &dyn Target,
    environment: &str,
    run_id: &str,
) -> Result<(), String> {
    let dir = shell_quote(&lock_path(environment));
    let script = format!(
        "[ \"$(cat {dir}/run 2>/dev/null)\" = {run} ] || exit 0; rm -f {dir}/run {dir}/holder && rmdir {dir}",
        run = shell_quote(run_id),
    );
    let out = master.run_command(&script).map_err(|e| e.to_string())?;
    if out.status != 0 {
        return Err(format!(
            "releasing {}: {}",
            lock_path(environment),
            out.stderr.trim()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sslaudit_rules::{Location, Severity};

    fn finding(rule: &str, host: &str, fp: &str) -> Finding {
        let mut f = Finding::new(
            rule,
            Severity::High,
            host,
            "production",
            "m",
            Location::default(),
        );
        f.fingerprint = fp.to_string();
        f
    }

    #[test]
    fn verification_wants_the_fixed_gone_and_nothing_worse_on_touched_hosts() {
        let before = vec![finding("SSL005", "db", "a"), finding("SSL003", "db2", "b")];
        let to_fix: BTreeSet<String> = ["a".to_string()].into();
        let touched: BTreeSet<String> = ["db".to_string()].into();
        assert!(verify(&before, &before[1..], &to_fix, &touched).is_empty());
        let still = verify(&before, &before, &to_fix, &touched);
        assert_eq!(still.len(), 1, "{still:?}");
        // SSL003 new on a touched host fails; on an untouched one it does not
        // count, and one that was there before does not either.
        let after = vec![
            finding("SSL003", "db", "c"),
            finding("SSL003", "other", "d"),
        ];
        let worse = verify(&before, &after, &to_fix, &touched);
        assert_eq!(worse.len(), 1, "{worse:?}");
        assert!(
            worse[0].contains("new after the run: SSL003 on db"),
            "{worse:?}"
        );
        // The fixed finding is gone because the rescan could not log in:
        // not verified.
        let mut gap = finding("SCAN002", "db", "g");
        gap.message = "the database refused the scanner's login".into();
        let unchecked = verify(&before, &[gap.clone()], &to_fix, &touched);
        assert_eq!(unchecked.len(), 1, "{unchecked:?}");
        assert!(unchecked[0].starts_with("could not check db after the run"));
        gap.severity = Severity::Medium;
        assert!(verify(&before, &[gap], &to_fix, &touched).is_empty());
    }

    #[test]
    fn lock_paths_are_single_safe_names() {
        assert_eq!(
            lock_path("production"),
            "/var/lib/sslaudit/locks/production"
        );
        assert_eq!(lock_path("a/../b c"), "/var/lib/sslaudit/locks/a_.._b_c");
    }
}
