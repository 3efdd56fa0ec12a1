//! `sslaudit-bench floor`: the physical minimum of a live scan on this
//! machine. For every host of an inventory, at the scan's concurrency: open
//! the SSH session, verify the host key and authenticate (the scanner's own
//! `SshHost::connect`), and on database hosts open the MySQL connection over
//! TLS with the inventory's client identity and log in; then close. No
//! command runs and no query is sent.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow};
use mysql::{ClientIdentity, Conn, OptsBuilder, SslOpts};
use openssl::pkcs12::Pkcs12;
use openssl::pkey::PKey;
use openssl::x509::X509;
use rayon::prelude::*;
use sslaudit_rules::facts::Role;
use sslaudit_scanner::inventory::{self, InventoryHost};
use sslaudit_scanner::remote::ssh::SshHost;
use tempfile::NamedTempFile;

/// The client identity as the `mysql` crate loads it: a PKCS#12 file.
struct P12 {
    file: NamedTempFile,
    password: String,
}

fn p12(cert: &Path, key: &Path) -> Result<P12> {
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    let leaf = X509::stack_from_pem(&read(cert)?)?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("{}: no certificate", cert.display()))?;
    let pkey = PKey::private_key_from_pem(&read(key)?)?;
    let mut raw = [0u8; 16];
    openssl::rand::rand_bytes(&mut raw)?;
    let password = hex::encode(raw);
    // As the scanner builds its identity (collect/mysql/tcp.rs): one round
    // of key derivation, so the floor's logins cost what the scan's do.
    let der = Pkcs12::builder()
        .name("sslaudit-bench")
        .pkey(&pkey)
        .cert(&leaf)
        .key_iter(1)
        .mac_iter(1)
        .build2(&password)?
        .to_der()?;
    let mut file = tempfile::Builder::new()
        .prefix("sslaudit-bench-")
        .suffix(".p12")
        .tempfile()?;
    file.write_all(&der)?;
    file.flush()?;
    Ok(P12 { file, password })
}

/// What one host cost.
#[derive(Debug, Default, Clone, Copy)]
struct HostTimes {
    ssh: Duration,
    mysql: Option<Duration>,
}

/// The floor of one run: wall time and how many connections failed.
#[derive(Debug)]
pub struct Floor {
    pub hosts: usize,
    pub wall: Duration,
    pub failures: Vec<String>,
    pub ssh_median: Duration,
    pub mysql_median: Option<Duration>,
}

fn median(mut v: Vec<Duration>) -> Option<Duration> {
    v.sort();
    v.get(v.len() / 2).copied()
}

fn connect_one(h: &InventoryHost, ids: &BTreeMap<(PathBuf, PathBuf), P12>) -> Result<HostTimes> {
    let started = Instant::now();
    let ssh = SshHost::connect(h).map_err(|e| anyhow!("{}: ssh: {e}", h.name))?;
    drop(ssh);
    let mut times = HostTimes {
        ssh: started.elapsed(),
        mysql: None,
    };
    if !h
        .roles
        .iter()
        .any(|r| matches!(r, Role::DbMaster | Role::DbReplica))
    {
        return Ok(times);
    }
    let started = Instant::now();
    let tls = h.mysql.tls.as_ref();
    let mut ssl = SslOpts::default()
        .with_root_cert_path(tls.and_then(|t| t.ca.clone()))
        .with_danger_skip_domain_validation(true);
    if let Some((cert, key)) = tls.and_then(|t| Some((t.cert.clone()?, t.key.clone()?))) {
        let id = ids
            .get(&(cert, key))
            .ok_or_else(|| anyhow!("{}: no client identity", h.name))?;
        ssl = ssl.with_client_identity(Some(
            ClientIdentity::new(id.file.path().to_path_buf()).with_password(id.password.clone()),
        ));
    }
    let password = match &h.mysql.password_env {
        Some(var) => std::env::var(var).ok(),
        None => match &h.mysql.password_file {
            Some(f) => std::fs::read_to_string(f)
                .ok()
                .map(|s| s.trim_end().to_string()),
            None => None,
        },
    };
    let t = Some(h.ssh.timeout);
    let opts = OptsBuilder::new()
        .ip_or_hostname(Some(h.address.as_str()))
        .tcp_port(h.mysql.port)
        .prefer_socket(false)
        .user(Some(h.mysql.user.as_deref().unwrap_or("sslaudit")))
        .pass(password)
        .tcp_connect_timeout(t)
        .read_timeout(t)
        .write_timeout(t)
        .max_allowed_packet(Some(16 * 1024 * 1024))
        .ssl_opts(Some(ssl));
    let conn = Conn::new(opts).map_err(|e| anyhow!("{}: mysql: {e}", h.name))?;
    drop(conn);
    times.mysql = Some(started.elapsed());
    Ok(times)
}

/// Connects to every host of `inventory` with `jobs` at once.
pub fn run(inventory_path: &Path, jobs: usize, limit: &[String]) -> Result<Floor> {
    let mut inv = inventory::load(inventory_path)?;
    if !limit.is_empty() {
        inv = inv.limit(limit)?;
    }
    let hosts = inv.hosts;
    let mut ids = BTreeMap::new();
    for h in &hosts {
        if let Some(t) = &h.mysql.tls
            && let (Some(c), Some(k)) = (&t.cert, &t.key)
            && !ids.contains_key(&(c.clone(), k.clone()))
        {
            ids.insert((c.clone(), k.clone()), p12(c, k)?);
        }
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.clamp(1, 512))
        .build()?;
    let started = Instant::now();
    let results: Vec<Result<HostTimes>> = pool.install(|| {
        hosts
            .par_iter()
            .with_max_len(1)
            .map(|h| connect_one(h, &ids))
            .collect()
    });
    let wall = started.elapsed();
    let mut failures = Vec::new();
    let mut ssh = Vec::new();
    let mut my = Vec::new();
    for r in results {
        match r {
            Ok(t) => {
                ssh.push(t.ssh);
                my.extend(t.mysql);
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    Ok(Floor {
        hosts: hosts.len(),
        wall,
        failures,
        ssh_median: median(ssh).unwrap_or_default(),
        mysql_median: median(my),
    })
}
