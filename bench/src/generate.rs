//! `sslaudit-bench gen`: a synthetic snapshot fleet (docs/snapshot-format.md)
//! for the offline benchmarks.
//!
//! Environments of about ten hosts: a db_master, one or two db_replicas and
//! application hosts, laid out as the seed's stack does (keys under
//! `/db/mysql/<version>/data`, client keys in `/db/mysql/keygen/<user>/` and
//! `~deploy/.mysql/`, `database.yml` with `sslca`/`sslkey`/`sslcert`). Each
//! environment has its own CA, server key and client keys: EC P-256, so a
//! hundred thousand hosts cost seconds of key generation, not hours. Option
//! files use `!includedir` and `!include`; each host carries three to six
//! certificates. A share of the hosts is misconfigured with one fault from a
//! fixed list (per role), so the rules have findings to report.
//!
//! The host choices follow `--seed` (the same seed gives the same fleet
//! shape and faults); keys and serials are fresh on every run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{BasicConstraints, KeyUsage, SubjectAlternativeName};
use openssl::x509::{X509, X509NameBuilder};
use rayon::prelude::*;
use serde_json::{Value, json};

mod files;
mod kit;

use files::*;
use kit::*;

/// Hosts per environment (the last one may be smaller).
const ENV_SIZE: usize = 10;
const DAY: i64 = 86_400;

/// What `gen` was asked for.
#[derive(Debug, Clone)]
pub struct GenOptions {
    pub hosts: usize,
    pub out: PathBuf,
    pub seed: u64,
    /// Share of hosts (0..=1) that carry one fault.
    pub misconfigured_share: f64,
}

/// What was written, for the caller's summary line.
#[derive(Debug, Default)]
pub struct GenSummary {
    pub hosts: usize,
    pub environments: usize,
    pub misconfigured: usize,
    pub files: usize,
}

/// splitmix64: small, fast, and the same sequence for the same seed.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// One role of a generated host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Master,
    Replica,
    App,
}

/// The faults a host can carry, per role. Each one makes a rule fire.
const DB_FAULTS: &[&str] = &[
    "have-ssl-disabled",
    "expired-cert",
    "tls11",
    "no-secure-transport",
    "key-0644",
    "randfile",
    "config-missing",
];
const MASTER_FAULTS: &[&str] = &["account-no-x509"];
const REPLICA_FAULTS: &[&str] = &["repl-no-verify"];
const APP_FAULTS: &[&str] = &[
    "yml-no-ssl",
    "yml-localhost",
    "key-0644",
    "other-ca",
    "missing-key",
];

/// A host to write: everything but the key material, which the
/// environment's kit holds.
#[derive(Debug, Clone)]
struct HostPlan {
    env: usize,
    name: String,
    kind: Kind,
    index: usize,
    /// Loopback-free documentation addresses: never a target.
    address: String,
    mariadb: bool,
    fault: Option<&'static str>,
    unreachable: bool,
}

fn env_name(i: usize) -> String {
    format!("env-{i:05}")
}

fn data_dir(h: &HostPlan) -> &'static str {
    if h.mariadb {
        "/db/mysql/10.11/data"
    } else {
        "/db/mysql/8.0/data"
    }
}

/// The hosts of the fleet, in folder order, with their faults.
fn plan(opts: &GenOptions) -> Vec<HostPlan> {
    let mut rng = Rng::new(opts.seed);
    let mut hosts = Vec::with_capacity(opts.hosts);
    let mut env = 0;
    while hosts.len() < opts.hosts {
        let size = ENV_SIZE.min(opts.hosts - hosts.len());
        let replicas = if size >= 6 {
            1 + rng.below(2)
        } else {
            size.saturating_sub(2).min(1)
        };
        let mariadb = rng.chance(0.5);
        for i in 0..size {
            let (kind, name, index) = match i {
                0 => (Kind::Master, "db-master".to_string(), 0),
                i if i <= replicas => (Kind::Replica, format!("db-replica-{i}"), i),
                i => (Kind::App, format!("app-{}", i - replicas), i - replicas),
            };
            let faulty = rng.chance(opts.misconfigured_share);
            let fault = faulty.then(|| {
                let own: &[&str] = match kind {
                    Kind::Master => MASTER_FAULTS,
                    Kind::Replica => REPLICA_FAULTS,
                    Kind::App => APP_FAULTS,
                };
                if kind == Kind::App || rng.below(DB_FAULTS.len() + own.len()) < own.len() {
                    *rng.pick(own)
                } else {
                    *rng.pick(DB_FAULTS)
                }
            });
            // One host in 200 could not be reached at collection time.
            let unreachable = fault.is_none() && rng.chance(0.005);
            hosts.push(HostPlan {
                env,
                address: format!("10.{}.{}.{}", (env >> 8) & 0xff, env & 0xff, 10 + i),
                name,
                kind,
                index,
                mariadb,
                fault,
                unreachable,
            });
        }
        env += 1;
    }
    hosts
}

/// Writes the fleet. `out` must not exist or be empty.
pub fn generate(opts: &GenOptions) -> Result<GenSummary> {
    if opts.hosts == 0 {
        bail!("--hosts must be at least 1");
    }
    if !(0.0..=1.0).contains(&opts.misconfigured_share) {
        bail!(
            "--misconfigured-share {} must be between 0 and 1",
            opts.misconfigured_share
        );
    }
    if opts.out.exists()
        && fs::read_dir(&opts.out)
            .with_context(|| format!("reading {}", opts.out.display()))?
            .next()
            .is_some()
    {
        bail!("{} is not empty: choose a new folder", opts.out.display());
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let hosts = plan(opts);
    let environments = hosts.last().map_or(0, |h| h.env + 1);
    let mut masters: Vec<Option<&str>> = vec![None; environments];
    for h in hosts.iter().filter(|h| h.kind == Kind::Master) {
        masters[h.env] = Some(&h.address);
    }
    // The kits are made in parallel, each from its own seeded stream.
    let kits: Vec<Kit> = (0..environments)
        .into_par_iter()
        .map(|e| {
            Kit::new(
                &env_name(e),
                masters[e],
                now,
                &mut Rng::new(opts.seed ^ (e as u64 + 1) << 20),
            )
        })
        .collect::<Result<_>>()?;
    let rogue = Kit::new("rogue", None, now, &mut Rng::new(opts.seed ^ 0x5eed))?;
    fs::create_dir_all(&opts.out).with_context(|| format!("creating {}", opts.out.display()))?;
    let collected_at = time::OffsetDateTime::from_unix_timestamp(now)?
        .format(&time::format_description::well_known::Rfc3339)?;
    fs::write(
        opts.out.join("snapshot.toml"),
        format!(
            "format = 1\ntool = \"sslaudit-bench {}\"\ncollected_at = \"{collected_at}\"\n\
             description = \"synthetic fleet: {} hosts, seed {}, misconfigured share {}\"\n",
            env!("CARGO_PKG_VERSION"),
            opts.hosts,
            opts.seed,
            opts.misconfigured_share
        ),
    )?;
    let files = hosts
        .par_iter()
        .map(|h| write_host(&opts.out, h, &kits[h.env], &rogue, &hosts, now))
        .collect::<Result<Vec<usize>>>()?;
    Ok(GenSummary {
        hosts: hosts.len(),
        environments,
        misconfigured: hosts.iter().filter(|h| h.fault.is_some()).count(),
        files: files.iter().sum(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_follows_the_seed_and_the_share() {
        let opts = |seed| GenOptions {
            hosts: 1000,
            out: PathBuf::from("/nonexistent"),
            seed,
            misconfigured_share: 0.15,
        };
        let a = plan(&opts(7));
        let b = plan(&opts(7));
        assert_eq!(a.len(), 1000);
        assert_eq!(
            a.iter().map(|h| (&h.name, h.fault)).collect::<Vec<_>>(),
            b.iter().map(|h| (&h.name, h.fault)).collect::<Vec<_>>()
        );
        let faulty = a.iter().filter(|h| h.fault.is_some()).count();
        assert!(
            (100..=200).contains(&faulty),
            "{faulty} of 1000 misconfigured"
        );
        assert_eq!(a.iter().filter(|h| h.kind == Kind::Master).count(), 100);
        assert!(a.iter().any(|h| h.kind == Kind::Replica));
    }

    /// Without faults the fleet is healthy: the only findings are the
    /// unreachable hosts' SCAN001, so what a benchmark scan reports is the
    /// faults it was asked for.
    #[test]
    fn a_fleet_without_faults_has_no_findings() {
        use sslaudit_rules::policy::Policy;
        use sslaudit_scanner::engine::{Part, RuleSet, scan_streaming};
        use sslaudit_scanner::snapshot::Snapshot;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("fleet");
        generate(&GenOptions {
            hosts: 40,
            out: out.clone(),
            seed: 11,
            misconfigured_share: 0.0,
        })
        .unwrap();
        let snapshot = Snapshot::open(&out).unwrap();
        let groups = snapshot.host_groups(|_| true);
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let report = scan_streaming(
            &groups,
            |&i| snapshot.load_host(i),
            &RuleSet::new(Vec::new()),
            &Policy::default(),
            now,
            "now",
            Part::Whole,
        )
        .unwrap();
        assert_eq!(report.hosts.len(), 40);
        let unexpected: Vec<String> = report
            .findings
            .iter()
            .filter(|f| f.rule_id != "SCAN001")
            .map(|f| format!("{}/{} {} {}", f.environment, f.host, f.rule_id, f.message))
            .collect();
        assert!(unexpected.is_empty(), "{unexpected:#?}");
    }

    #[test]
    fn ssl_dates_look_like_the_servers() {
        assert_eq!(ssl_date(1_867_642_006), "Mar  8 05:26:46 2029 GMT");
    }
}
