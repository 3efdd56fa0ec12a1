//! Live scanning: one host's collection pipeline (SSH, files, MySQL, TLS
//! probe) into evidence, and the bounded parallel run over a fleet.
//!
//! A host failing any step is recorded in its evidence (unreachable, or a
//! collection problem) and every other host is scanned as usual.

use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

use rayon::prelude::*;
use sslaudit_rules::facts::{Access, CollectionProblem, Reachability, Role, what};

use crate::collect::files::{self, DEFAULT_MAX_BYTES};
use crate::collect::mysql::{
    ClientRun, ClientSettings, Collected, Secret, TcpSettings, collect_via_tcp, collect_via_tunnel,
};
use crate::evidence::MysqlRecord;
use crate::evidence::ProbeRecord;
use crate::evidence::{HostEvidence, HostMeta};
use crate::inventory::{InventoryHost, Via};
use crate::probe::{Probe, ProbeOptions};
use crate::remote::ssh::SshHost;
use crate::remote::{Exec, ExecOutput, RemoteError, joint};

/// How hosts are collected.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Files larger than this are recorded, not read.
    pub max_file_bytes: u64,
    /// Probe each database host's TLS (on by default).
    pub probe: bool,
    /// Hosts collected at once: I/O bound work, so not the number of cores.
    pub jobs: usize,
    /// Sample the session census over this window (`--census 30s`); zero
    /// looks once.
    pub census: Duration,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            max_file_bytes: DEFAULT_MAX_BYTES,
            probe: true,
            jobs: 32,
            census: Duration::ZERO,
        }
    }
}

fn problem(what: &str, message: String) -> CollectionProblem {
    CollectionProblem {
        what: what.into(),
        path: None,
        line: None,
        message,
    }
}

/// The MySQL password named by the inventory (`password_env` or
/// `password_file`); a missing one is a problem, never a guess.
pub(crate) fn password(h: &InventoryHost) -> Result<Option<Secret>, CollectionProblem> {
    let m = &h.mysql;
    let secret = match (&m.password_env, &m.password_file) {
        (Some(var), _) => Secret::from_env(var).map(Some),
        (None, Some(file)) => Secret::from_file(file).map(Some),
        (None, None) => Ok(None),
    };
    secret.map_err(|e| problem(what::MYSQL_LOGIN, e.to_string()))
}

pub(crate) fn tcp_settings(h: &InventoryHost) -> Result<TcpSettings, CollectionProblem> {
    let tls = h.mysql.tls.as_ref();
    Ok(TcpSettings {
        user: h
            .mysql
            .user
            .clone()
            .unwrap_or_else(|| crate::inventory::DEFAULT_MYSQL_USER.into()),
        password: password(h)?,
        ca: tls.and_then(|t| t.ca.clone()),
        cert: tls.and_then(|t| t.cert.clone()),
        key: tls.and_then(|t| t.key.clone()),
        timeout: h.ssh.timeout,
        ..TcpSettings::default()
    })
}

fn client_settings(
    h: &InventoryHost,
    census: Duration,
) -> Result<ClientSettings, CollectionProblem> {
    Ok(ClientSettings {
        user: h.mysql.user.clone(),
        password: password(h)?,
        timeout: h.ssh.timeout,
        census_window: census,
        ..ClientSettings::default()
    })
}

/// `host:port`, bracketing IPv6 literals.
pub(crate) fn endpoint(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The server's SQL facts, each way in with an exec or a connection of its
/// own. A scan runs the host's client (`via: ssh`) beside the first file
/// round instead ([`files_and_client`]); the exec of its own here is for a
/// host whose client did not run there.
fn collect_mysql(h: &InventoryHost, ssh: &SshHost, census: Duration) -> Collected {
    let fail = |p: CollectionProblem| (None, None, vec![p]);
    let tcp = |h| {
        tcp_settings(h).map(|s| TcpSettings {
            census_window: census,
            ..s
        })
    };
    match h.mysql.via {
        Via::Ssh => match client_settings(h, census) {
            Ok(s) => {
                let run = ClientRun::new(&s);
                let ssh = Stretched { ssh, census };
                run.finish(ssh.exec(run.command(), run.stdin()))
            }
            Err(p) => fail(p),
        },
        Via::Tcp => match tcp(h) {
            Ok(s) => collect_via_tcp(&h.address, h.mysql.port, &s),
            Err(p) => fail(p),
        },
        Via::Tunnel => match tcp(h) {
            Ok(s) => match SshHost::forward(h, &h.address, h.mysql.port) {
                Ok(fwd) => collect_via_tunnel(fwd.port(), &endpoint(&h.address, h.mysql.port), &s),
                Err(e) => fail(problem(what::MYSQL_CONNECTION, e.to_string())),
            },
            Err(p) => fail(p),
        },
    }
}

/// The host seen through a timeout stretched by the census window, for the
/// exec the host's client runs in (alone, or beside the first file round:
/// [`joint::Rider`]): the client's output of a sampled census arrives at its
/// end, so one read may wait the window longer than usual.
struct Stretched<'a> {
    ssh: &'a SshHost,
    census: Duration,
}

impl Stretched<'_> {
    fn around<T>(&self, f: impl FnOnce(&SshHost) -> T) -> T {
        let timeout = self.ssh.timeout();
        self.ssh.set_timeout(timeout + self.census);
        let done = f(self.ssh);
        self.ssh.set_timeout(timeout);
        done
    }
}

impl Exec for Stretched<'_> {
    fn host(&self) -> &str {
        self.ssh.host()
    }

    fn exec(&self, command: &str, stdin: &[u8]) -> Result<ExecOutput, RemoteError> {
        self.around(|ssh| ssh.exec(command, stdin))
    }

    fn exec_partial(
        &self,
        command: &str,
        stdin: &[u8],
    ) -> Result<ExecOutput, (RemoteError, Vec<u8>)> {
        self.around(|ssh| ssh.exec_partial(command, stdin))
    }
}

/// The host's files and, on a database host `via: ssh`, what its own MySQL
/// client says: the client runs in the first file round's exec
/// ([`joint::Rider`]), one exec per host fewer than each on its own.
fn files_and_client(
    h: &InventoryHost,
    ssh: &SshHost,
    meta: &HostMeta,
    opts: &LiveOptions,
    is_db: bool,
) -> (files::Collected, Option<Collected>) {
    let files = |first: &dyn Exec| {
        files::collect_with_first(ssh, first, &h.layout, meta, opts.max_file_bytes)
    };
    if !is_db || h.mysql.via != Via::Ssh {
        return (files(ssh), None);
    }
    let run = match client_settings(h, opts.census) {
        Ok(s) => ClientRun::new(&s),
        Err(p) => return (files(ssh), Some((None, None, vec![p]))),
    };
    let stretched = Stretched {
        ssh,
        census: opts.census,
    };
    let rider = joint::Rider::new(&stretched, run.command(), run.stdin());
    let collected = files(&rider);
    (collected, Some(run.finish(rider.answer())))
}

/// Collects one host. Never panics on what the host returns; never takes
/// longer than the host's timeouts allow.
pub fn collect_host(h: &InventoryHost, opts: &LiveOptions) -> HostEvidence {
    let mut ev = HostEvidence {
        meta: h.host_meta(),
        origin: h.origin.clone(),
        declared_at: h.declared_at.clone(),
        files: BTreeMap::new(),
        mysql: None,
        connection: None,
        probe: None,
        galera_ports: Vec::new(),
        problems: Vec::new(),
    };
    if h.access == Access::Wire {
        return collect_wire(h, opts, ev);
    }
    let is_db = ev
        .meta
        .roles
        .iter()
        .any(|r| matches!(r, Role::DbMaster | Role::DbReplica));
    // Via tcp the server is reached straight from the scanner: its probe
    // and queries run while SSH logs in and reads the files, instead of
    // after them. What they found is dropped if SSH then fails: the host
    // was not audited.
    std::thread::scope(|scope| {
        let straight =
            (is_db && h.mysql.via == Via::Tcp).then(|| scope.spawn(|| direct(h, opts, false)));
        let ssh = match SshHost::connect(h) {
            Ok(s) => s,
            Err(e) => {
                tracing::info!(host = %h.label(), "unreachable: {e}");
                ev.meta.reachability = Reachability::Unreachable {
                    reason: e.to_string(),
                };
                return ev;
            }
        };
        let (collected, from_client) = files_and_client(h, &ssh, &ev.meta, opts, is_db);
        tracing::debug!(
            host = %h.label(),
            execs = ssh.execs(),
            file_rounds = collected.rounds,
            "commands run"
        );
        let (files, problems) = (collected.files, collected.problems);
        if files.is_empty() {
            // Logged in, but not one path could be read (the host went away
            // mid-scan, or every command fails, as with a sudo that wants a
            // password): the host was not audited, which is SCAN001, never a
            // mere incomplete collection that a gate would let pass.
            if let Some(p) = problems.first() {
                tracing::info!(host = %h.label(), "not audited: {}", p.message);
                ev.meta.reachability = Reachability::Unreachable {
                    reason: format!("logged in, but nothing could be read: {}", p.message),
                };
                return ev;
            }
        }
        ev.files = files;
        ev.problems.extend(problems);
        if !is_db {
            return ev;
        }
        let (probe, (record, connection, problems)) = match straight {
            Some(t) => match t.join() {
                Ok(done) => done,
                Err(panic) => std::panic::resume_unwind(panic),
            },
            None => through_ssh(h, opts, &ssh, from_client),
        };
        if opts.probe
            && let Some(port) = galera_replication_port(record.as_ref())
        {
            // From the host itself, as the MySQL probe: the cluster's ports are
            // seldom open to the scanner.
            let label = endpoint(&h.address, port);
            ev.galera_ports = vec![crate::probe::tls_port_handshake(
                &label,
                ssh.direct_tcpip(&h.address, port)
                    .map_err(|e| io::Error::other(e.to_string())),
            )];
        }
        ev.mysql = record;
        ev.connection = connection;
        ev.problems.extend(problems);
        ev.probe = probe;
        ev
    })
}

/// The server reached through the host's SSH connection (`via: ssh`, the
/// host's own client; `via: tunnel`, the scanner's login through a
/// forwarded port), with the probe from the host itself.
///
/// Every probe connection ends before a login, which a server with its
/// host cache in use counts against the connecting address
/// (`max_connect_errors`) until a login from there succeeds. Through the
/// tunnel (whose far end is the host) the probe's first handshake therefore
/// comes before the scanner's own login, which resets the count; the
/// version tests come only when the server's `tls_version` does not already
/// say what it accepts. docs/scanner-queries.md, "What the probe costs a
/// server".
fn through_ssh(
    h: &InventoryHost,
    opts: &LiveOptions,
    ssh: &SshHost,
    from_client: Option<Collected>,
) -> (Option<ProbeRecord>, Collected) {
    let probe_opts = probe_options(h);
    let target = endpoint(&h.address, h.mysql.port);
    let mut probe = match h.mysql.via {
        // The database port is usually not reachable from outside (the
        // seed's setup): probe it from the host itself, through SSH.
        Via::Tunnel if opts.probe => Some(probe_through(
            ssh,
            &target,
            &h.address,
            h.mysql.port,
            &probe_opts,
        )),
        _ => None,
    };
    let collected = from_client.unwrap_or_else(|| collect_mysql(h, ssh, opts.census));
    if opts.probe && h.mysql.via == Via::Ssh {
        // The host's own client used the socket, which resets nothing: a
        // probe from the host to its own address would add up there.
        probe = match probe_route(&h.address, collected.0.as_ref()) {
            Some(address) => Some(probe_through(
                ssh,
                &target,
                &address,
                h.mysql.port,
                &probe_opts,
            )),
            None => {
                tracing::info!(
                    host = %h.label(),
                    "TLS probe skipped: the server resolves client names (skip_name_resolve = \
                     OFF) and does not listen on loopback, so each probe connection would count \
                     against max_connect_errors for its own address; the SQL facts and files judge it"
                );
                None
            }
        };
    }
    if let Some(p) = probe.as_mut()
        && !tls_version_known(collected.0.as_ref())
    {
        p.test_versions();
    }
    (probe.map(Probe::finish), collected)
}

/// The replication port of a running Galera node (`wsrep_on=ON`), from its
/// `wsrep_provider_options`.
fn galera_replication_port(record: Option<&MysqlRecord>) -> Option<u16> {
    use sslaudit_rules::facts::galera::{parse_provider_options, replication_port};
    let rec = record?;
    variable(rec, "wsrep_on").filter(|v| v.trim().eq_ignore_ascii_case("ON"))?;
    let opts = variable(rec, "wsrep_provider_options")
        .map(parse_provider_options)
        .unwrap_or_default();
    Some(replication_port(&opts))
}

/// Collects a host audited from the wire (`ssh: none`): the probe's first
/// handshake, the scanner's own login over TCP (which resets the host
/// cache's count of the probe's connection), the version tests when the
/// server's `tls_version` does not answer, and the plaintext login attempt.
/// The host is unreachable (SCAN001) when neither the probe nor the login
/// got a word from the server.
fn collect_wire(h: &InventoryHost, opts: &LiveOptions, mut ev: HostEvidence) -> HostEvidence {
    let target = endpoint(&h.address, h.mysql.port);
    // Without SSH this is the only view of how the server treats a
    // plaintext login (docs/scanner-queries.md, "The plaintext login
    // attempt"): never a credential, an unknown user.
    let (probe, (record, connection, problems)) = direct(h, opts, true);
    let greeted = probe.as_ref().is_some_and(|p| p.greeting_version.is_some());
    let answered = record.is_some()
        || greeted
        || problems
            .iter()
            .any(|p| p.what == what::MYSQL_LOGIN || p.is_tls_not_offered());
    if !answered {
        let reason = problems
            .iter()
            .map(|p| p.message.as_str())
            .chain(probe.as_ref().and_then(|p| p.error.as_deref()))
            .next()
            .unwrap_or("no answer")
            .to_string();
        tracing::info!(host = %h.label(), "unreachable on the wire: {reason}");
        ev.meta.reachability = Reachability::Unreachable {
            reason: format!("MySQL port {target}: {reason}"),
        };
        return ev;
    }
    ev.mysql = record;
    ev.connection = connection;
    ev.problems.extend(problems);
    ev.probe = probe;
    ev
}

/// The probe's first handshake only: the version tests come when the
/// server's `tls_version` does not already say what it accepts.
fn probe_options(h: &InventoryHost) -> ProbeOptions {
    ProbeOptions {
        timeout: h.ssh.timeout,
        versions: false,
        ..ProbeOptions::default()
    }
}

/// The server straight over TCP: the probe's first handshake, then the
/// scanner's own login and queries (which reset the host cache's count of
/// the probe's connection), then the version tests when the server's
/// `tls_version` does not already answer, and with `plaintext` the
/// plaintext login attempt.
fn direct(
    h: &InventoryHost,
    opts: &LiveOptions,
    plaintext: bool,
) -> (Option<ProbeRecord>, Collected) {
    let target = endpoint(&h.address, h.mysql.port);
    let probe_opts = probe_options(h);
    let started = std::time::Instant::now();
    let mut probe = opts.probe.then(|| Probe::tcp(&target, &probe_opts));
    tracing::debug!(host = %h.label(), elapsed = ?started.elapsed(), "probe handshake done");
    let collected = match tcp_settings(h) {
        Ok(s) => collect_via_tcp(
            &h.address,
            h.mysql.port,
            &TcpSettings {
                census_window: opts.census,
                ..s
            },
        ),
        Err(p) => (None, None, vec![p]),
    };
    tracing::debug!(host = %h.label(), elapsed = ?started.elapsed(), "mysql queries done");
    if let Some(p) = probe.as_mut() {
        if !tls_version_known(collected.0.as_ref()) {
            p.test_versions();
        }
        if plaintext {
            p.test_plaintext();
        }
    }
    (probe.map(Probe::finish), collected)
}

/// A probe of `label` through the host's SSH connection to `address:port`.
fn probe_through<'a>(
    ssh: &'a SshHost,
    label: &str,
    address: &str,
    port: u16,
    opts: &ProbeOptions,
) -> Probe<'a> {
    let address = address.to_string();
    Probe::with(
        label,
        move || {
            ssh.direct_tcpip(&address, port)
                .map_err(|e| io::Error::other(e.to_string()))
        },
        opts,
    )
}

/// Where the probe connects from the host (`via: ssh`): its address, unless
/// the server resolves client names (its host cache counts the address's
/// aborted connections, and no login from it resets them): then loopback,
/// which the host cache leaves out, when the server listens there, else
/// nowhere.
fn probe_route(address: &str, record: Option<&MysqlRecord>) -> Option<String> {
    let Some(rec) = record else {
        return Some(address.to_string());
    };
    let resolves = variable(rec, "skip_name_resolve").is_some_and(is_off)
        && variable(rec, "host_cache_size").is_none_or(|v| v.trim() != "0");
    if !resolves {
        return Some(address.to_string());
    }
    let bind = variable(rec, "bind_address").unwrap_or("");
    let loopback = bind.trim().is_empty()
        || bind.split(',').map(str::trim).any(|a| {
            matches!(
                a,
                "*" | "0.0.0.0" | "::" | "127.0.0.1" | "::1" | "localhost"
            )
        });
    loopback.then(|| "127.0.0.1".to_string())
}

/// True when the server's `tls_version` says which protocol versions it
/// accepts, so the probe need not test them one connection at a time.
fn tls_version_known(record: Option<&MysqlRecord>) -> bool {
    record.is_some_and(|r| variable(r, "tls_version").is_some())
}

/// A server variable of a record, by name in any case.
fn variable<'a>(rec: &'a MysqlRecord, name: &str) -> Option<&'a str> {
    rec.variables
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn is_off(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_uppercase().as_str(),
        "OFF" | "0" | "FALSE" | "NO"
    )
}

/// Progress of a fleet run, for a progress bar.
pub trait Progress: Sync {
    fn host_done(&self, host: &InventoryHost, ok: bool);
}

/// No progress output.
pub struct Silent;

impl Progress for Silent {
    fn host_done(&self, _: &InventoryHost, _: bool) {}
}

/// Descriptors one host in flight may hold at once: its SSH connection, the
/// MySQL session and the TLS probe (`via: tcp`), a tunnel's own SSH
/// connection, listener and both ends, and the identity and known_hosts
/// files read while logging in.
const FDS_PER_HOST: usize = 8;
/// Descriptors kept for everything else: stdio, logs, reports being written.
const FDS_RESERVED: usize = 32;

/// The soft limit on open files (`ulimit -n`), from /proc/self/limits;
/// None when unlimited or unknown.
fn open_files_limit() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `jobs` (1..=512), lowered when the hosts in flight could otherwise run
/// out of file descriptors: a scan under a small `ulimit -n` is slower,
/// never a fleet of EMFILE errors.
pub fn effective_jobs(jobs: usize) -> usize {
    let jobs = jobs.clamp(1, 512);
    let Some(limit) = open_files_limit() else {
        return jobs;
    };
    let fit = (limit.saturating_sub(FDS_RESERVED) / FDS_PER_HOST).max(1);
    if fit < jobs {
        tracing::warn!(
            "--jobs {jobs} lowered to {fit}: the open-files limit is {limit} (ulimit -n) and each \
             host being scanned may hold up to {FDS_PER_HOST} descriptors"
        );
        fit
    } else {
        jobs
    }
}

/// Collects every host with at most `opts.jobs` at once, then hands each
/// host's evidence to `finish` on the worker that collected it (so parsing
/// happens beside the bytes, and nothing waits for the slowest host but
/// the final join). Results come back in inventory order.
pub fn collect_fleet<T: Send>(
    hosts: &[InventoryHost],
    opts: &LiveOptions,
    progress: &dyn Progress,
    finish: impl Fn(HostEvidence) -> T + Sync,
) -> Result<Vec<T>, rayon::ThreadPoolBuildError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(effective_jobs(opts.jobs))
        .thread_name(|i| format!("sslaudit-host-{i}"))
        .build()?;
    Ok(pool.install(|| {
        hosts
            .par_iter()
            .with_max_len(1)
            .map(|h| {
                let ev = collect_host(h, opts);
                let ok = ev.meta.reachability == Reachability::Reachable
                    && !ev.problems.iter().any(|p| p.is_access_failure());
                progress.host_done(h, ok);
                finish(ev)
            })
            .collect()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(vars: &[(&str, &str)]) -> MysqlRecord {
        MysqlRecord {
            variables: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..MysqlRecord::default()
        }
    }

    #[test]
    fn the_probe_never_adds_up_on_a_server_that_resolves_names() {
        let addr = "10.0.0.10";
        assert_eq!(probe_route(addr, None).as_deref(), Some(addr));
        let skip = record(&[("skip_name_resolve", "ON"), ("bind_address", "10.0.0.10")]);
        assert_eq!(probe_route(addr, Some(&skip)).as_deref(), Some(addr));
        // Name resolution on: loopback, which the host cache leaves out...
        for bind in ["", "*", "0.0.0.0", "::", "10.0.0.10,127.0.0.1"] {
            let r = record(&[("skip_name_resolve", "OFF"), ("bind_address", bind)]);
            assert_eq!(
                probe_route(addr, Some(&r)).as_deref(),
                Some("127.0.0.1"),
                "{bind}"
            );
        }
        // ...or no probe at all when the server is not on loopback.
        let r = record(&[("skip_name_resolve", "OFF"), ("bind_address", "10.0.0.10")]);
        assert_eq!(probe_route(addr, Some(&r)), None);
        // A host cache of size 0 counts nothing.
        let r = record(&[
            ("skip_name_resolve", "OFF"),
            ("bind_address", "10.0.0.10"),
            ("host_cache_size", "0"),
        ]);
        assert_eq!(probe_route(addr, Some(&r)).as_deref(), Some(addr));
    }
}
