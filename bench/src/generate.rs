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

/// A key pair as the snapshot describes it: never the key itself.
struct KeyPair {
    pkey: PKey<Private>,
    spki_sha256: String,
}

impl KeyPair {
    fn ec() -> Result<Self> {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
        let ec = EcKey::generate(&group)?;
        let pkey = PKey::from_ec_key(ec)?;
        let spki = pkey.public_key_to_der()?;
        Ok(KeyPair {
            spki_sha256: hex::encode(openssl::sha::sha256(&spki)),
            pkey,
        })
    }

    fn facts(&self) -> Value {
        json!({
            "algorithm": "ec", "bits": 256, "curve": "prime256v1", "encrypted": false,
            "spki_sha256": self.spki_sha256, "format": "EC PRIVATE KEY"
        })
    }
}

/// One environment's keys and certificates (PEM).
struct Kit {
    ca_pem: String,
    server: KeyPair,
    server_pem: String,
    expired_server_pem: String,
    clients: BTreeMap<&'static str, (KeyPair, String)>,
}

const CLIENT_USERS: [&str; 3] = ["deploy", "reports", "repl"];

fn name(env: &str, ou: Option<&str>, cn: &str) -> Result<openssl::x509::X509Name> {
    let mut b = X509NameBuilder::new()?;
    b.append_entry_by_nid(Nid::ORGANIZATIONNAME, "Bench Shop")?;
    if let Some(ou) = ou {
        b.append_entry_by_nid(Nid::ORGANIZATIONALUNITNAME, ou)?;
    }
    b.append_entry_by_nid(Nid::COMMONNAME, &format!("{cn}{env}"))?;
    Ok(b.build())
}

fn serial(rng: &mut Rng) -> Result<Asn1Integer> {
    let bn = BigNum::from_slice(&rng.next().to_be_bytes())?;
    Ok(bn.to_asn1_integer()?)
}

struct Signed<'a> {
    subject: openssl::x509::X509Name,
    key: &'a PKey<Private>,
    issuer: Option<(&'a X509, &'a PKey<Private>)>,
    not_before: i64,
    not_after: i64,
    ca: bool,
    san: Option<String>,
}

fn sign(s: Signed<'_>, rng: &mut Rng) -> Result<X509> {
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let serial = serial(rng)?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&s.subject)?;
    match s.issuer {
        Some((cert, _)) => b.set_issuer_name(cert.subject_name())?,
        None => b.set_issuer_name(&s.subject)?,
    }
    b.set_pubkey(s.key)?;
    let (nb, na) = (
        Asn1Time::from_unix(s.not_before)?,
        Asn1Time::from_unix(s.not_after)?,
    );
    b.set_not_before(&nb)?;
    b.set_not_after(&na)?;
    if s.ca {
        b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()?,
        )?;
    } else {
        b.append_extension(BasicConstraints::new().build()?)?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .key_agreement()
                .build()?,
        )?;
    }
    if let Some(dns) = s.san {
        let ext = SubjectAlternativeName::new()
            .dns(&dns)
            .build(&b.x509v3_context(s.issuer.map(|(c, _)| &**c), None))?;
        b.append_extension(ext)?;
    }
    let signer = s.issuer.map(|(_, k)| k).unwrap_or(s.key);
    b.sign(signer, MessageDigest::sha256())?;
    Ok(b.build())
}

fn pem(cert: &X509) -> Result<String> {
    Ok(String::from_utf8(cert.to_pem()?)?)
}

impl Kit {
    fn new(env: &str, now: i64, rng: &mut Rng) -> Result<Kit> {
        let ca_key = KeyPair::ec()?;
        let ca = sign(
            Signed {
                subject: name("", None, &format!("{env} MySQL CA"))?,
                key: &ca_key.pkey,
                issuer: None,
                not_before: now - 400 * DAY,
                not_after: now + 3250 * DAY,
                ca: true,
                san: None,
            },
            rng,
        )?;
        let server = KeyPair::ec()?;
        let server_cert = |nb: i64, na: i64, rng: &mut Rng| {
            sign(
                Signed {
                    subject: name("", Some(env), "db-master")?,
                    key: &server.pkey,
                    issuer: Some((&ca, &ca_key.pkey)),
                    not_before: nb,
                    not_after: na,
                    ca: false,
                    san: Some(format!("db-master.{env}.internal")),
                },
                rng,
            )
        };
        let current = server_cert(now - 200 * DAY, now + 500 * DAY, rng)?;
        let expired = server_cert(now - 800 * DAY, now - 35 * DAY, rng)?;
        let mut clients = BTreeMap::new();
        for user in CLIENT_USERS {
            let key = KeyPair::ec()?;
            let cert = sign(
                Signed {
                    subject: name("", Some(env), user)?,
                    key: &key.pkey,
                    issuer: Some((&ca, &ca_key.pkey)),
                    not_before: now - 200 * DAY,
                    not_after: now + 700 * DAY,
                    ca: false,
                    san: None,
                },
                rng,
            )?;
            clients.insert(user, (key, pem(&cert)?));
        }
        Ok(Kit {
            ca_pem: pem(&ca)?,
            server_pem: pem(&current)?,
            expired_server_pem: pem(&expired)?,
            server,
            clients,
        })
    }
}

/// A host folder being assembled: fs/ contents and files.json entries.
#[derive(Default)]
struct HostFiles {
    fs: BTreeMap<String, String>,
    records: BTreeMap<String, Value>,
}

impl HostFiles {
    fn add(&mut self, path: &str, content: String, mode: &str, owner: &str) {
        self.records.insert(
            path.to_string(),
            json!({"status": "present", "mode": mode, "owner": owner, "group": owner, "size": content.len()}),
        );
        self.fs.insert(path.to_string(), content);
    }
    fn key(&mut self, path: &str, key: &KeyPair, mode: &str, owner: &str) {
        self.records.insert(
            path.to_string(),
            json!({"status": "present", "mode": mode, "owner": owner, "group": owner, "size": 227, "key": key.facts()}),
        );
    }
    fn dir(&mut self, path: &str) {
        self.records.insert(
            path.to_string(),
            json!({"status": "present", "mode": "0755", "owner": "root", "group": "root"}),
        );
    }
    fn missing(&mut self, path: &str) {
        self.records
            .insert(path.to_string(), json!({"status": "missing"}));
    }
}

const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
sync:x:4:65534:sync:/bin:/bin/sync
man:x:6:12:man:/var/cache/man:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
systemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin
messagebus:x:100:107::/nonexistent:/usr/sbin/nologin
sshd:x:101:65534::/run/sshd:/usr/sbin/nologin
mysql:x:102:110:MySQL Server,,,:/nonexistent:/bin/false
deploy:x:1000:1000:Application deploy user:/home/deploy:/bin/bash
";

fn openssl_cnf(randfile: bool) -> String {
    let rnd = if randfile {
        "RANDFILE\t\t= $ENV::HOME/.rnd\n"
    } else {
        "#RANDFILE\t\t= $ENV::HOME/.rnd\n"
    };
    format!(
        "#\n# OpenSSL configuration file.\n#\n\nHOME\t\t\t= .\n{rnd}oid_section\t\t= new_oids\n\n\
         [ new_oids ]\ntsa_policy1 = 1.2.3.4.1\n\n[ req ]\ndefault_bits\t\t= 2048\n\
         distinguished_name\t= req_distinguished_name\nx509_extensions\t= v3_ca\nstring_mask = utf8only\n\n\
         [ req_distinguished_name ]\ncountryName\t\t\t= Country Name (2 letter code)\n\
         commonName\t\t\t= Common Name (e.g. server FQDN or YOUR name)\n\n\
         [ v3_ca ]\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always,issuer\n\
         basicConstraints = critical,CA:true\n"
    )
}

/// Server variables beyond the TLS ones: a realistic `SHOW GLOBAL
/// VARIABLES` is hundreds of rows, and the engine must not keep them.
const FILLER_VARIABLES: &[(&str, &str)] = &[
    ("auto_increment_increment", "1"),
    ("autocommit", "ON"),
    ("back_log", "80"),
    ("binlog_cache_size", "32768"),
    ("binlog_format", "ROW"),
    ("bulk_insert_buffer_size", "8388608"),
    ("character_set_server", "utf8mb4"),
    ("collation_server", "utf8mb4_general_ci"),
    ("connect_timeout", "10"),
    ("default_storage_engine", "InnoDB"),
    ("expire_logs_days", "7"),
    ("general_log", "OFF"),
    ("innodb_buffer_pool_instances", "8"),
    ("innodb_buffer_pool_size", "5368709120"),
    ("innodb_file_per_table", "ON"),
    ("innodb_flush_log_at_trx_commit", "1"),
    ("innodb_flush_method", "O_DIRECT"),
    ("innodb_io_capacity", "200"),
    ("innodb_log_buffer_size", "16777216"),
    ("innodb_log_file_size", "268435456"),
    ("innodb_read_io_threads", "4"),
    ("innodb_write_io_threads", "4"),
    ("interactive_timeout", "28800"),
    ("join_buffer_size", "262144"),
    ("key_buffer_size", "134217728"),
    ("log_bin", "ON"),
    ("log_error", "/db/mysql/log/mysqld.err"),
    ("long_query_time", "10.000000"),
    ("lower_case_table_names", "0"),
    ("max_allowed_packet", "33554432"),
    ("max_connect_errors", "100"),
    ("max_connections", "300"),
    ("max_heap_table_size", "16777216"),
    ("net_buffer_length", "16384"),
    ("net_read_timeout", "30"),
    ("net_write_timeout", "60"),
    ("open_files_limit", "65535"),
    ("port", "3306"),
    ("query_cache_size", "0"),
    ("read_buffer_size", "131072"),
    ("read_rnd_buffer_size", "262144"),
    ("skip_name_resolve", "ON"),
    ("slow_query_log", "OFF"),
    ("socket", "/var/run/mysqld/mysqld.sock"),
    ("sort_buffer_size", "2097152"),
    (
        "sql_mode",
        "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION",
    ),
    ("sync_binlog", "1"),
    ("table_definition_cache", "2000"),
    ("table_open_cache", "4096"),
    ("thread_cache_size", "32"),
    ("thread_stack", "299008"),
    ("time_zone", "SYSTEM"),
    ("tmp_table_size", "16777216"),
    ("tmpdir", "/mnt/mysql/tmp"),
    ("transaction_isolation", "REPEATABLE-READ"),
    ("wait_timeout", "28800"),
];

fn ssl_date(unix: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {:>2} {:02}:{:02}:{:02} {} GMT",
        months[usize::from(u8::from(t.month())) - 1],
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.year()
    )
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
    // The kits are made in parallel, each from its own seeded stream.
    let kits: Vec<Kit> = (0..environments)
        .into_par_iter()
        .map(|e| {
            Kit::new(
                &env_name(e),
                now,
                &mut Rng::new(opts.seed ^ (e as u64 + 1) << 20),
            )
        })
        .collect::<Result<_>>()?;
    let rogue = Kit::new("rogue", now, &mut Rng::new(opts.seed ^ 0x5eed))?;
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

fn master_address(h: &HostPlan, all: &[HostPlan]) -> String {
    all.iter()
        .find(|o| o.env == h.env && o.kind == Kind::Master)
        .map(|o| o.address.clone())
        .unwrap_or_default()
}

fn write_host(
    root: &Path,
    h: &HostPlan,
    kit: &Kit,
    rogue: &Kit,
    all: &[HostPlan],
    now: i64,
) -> Result<usize> {
    let env = env_name(h.env);
    let dir = root.join(&env).join(&h.name);
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let roles = match h.kind {
        Kind::Master => "db_master",
        Kind::Replica => "db_replica",
        Kind::App => "app",
    };
    let mut toml = format!(
        "name = \"{}\"\nenvironment = \"{env}\"\nroles = [\"{roles}\"]\naddress = \"{}\"\nlayout = \"engineyard\"\n",
        h.name, h.address
    );
    let yml = "/data/shop/current/config/database.yml";
    if h.kind == Kind::App {
        toml.push_str(&format!(
            "app_user = \"deploy\"\ndatabase_yml = [\"{yml}\"]\n"
        ));
    }
    if h.unreachable {
        toml.push_str(&format!(
            "\n[reachability]\nstatus = \"unreachable\"\nreason = \"ssh: connection timed out ({}:22)\"\n",
            h.address
        ));
        fs::write(dir.join("host.toml"), toml)?;
        return Ok(1);
    }
    let mut f = HostFiles::default();
    f.add("/etc/passwd", PASSWD.to_string(), "0644", "root");
    match h.kind {
        Kind::Master | Kind::Replica => db_files(h, kit, &mut f, all, now)?,
        Kind::App => app_files(h, kit, rogue, &mut f, all, yml),
    }
    let mut n = 2;
    fs::write(dir.join("host.toml"), toml)?;
    for (path, content) in &f.fs {
        let target = dir.join("fs").join(path.trim_start_matches('/'));
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&target, content).with_context(|| format!("writing {}", target.display()))?;
        n += 1;
    }
    fs::write(
        dir.join("files.json"),
        serde_json::to_string_pretty(&f.records)? + "\n",
    )?;
    if h.kind != Kind::App {
        for (name, value) in db_json(h, kit, all, now) {
            fs::write(dir.join(name), serde_json::to_string_pretty(&value)? + "\n")?;
            n += 1;
        }
    }
    Ok(n)
}

fn db_files(h: &HostPlan, kit: &Kit, f: &mut HostFiles, all: &[HostPlan], now: i64) -> Result<()> {
    let _ = now;
    let data = data_dir(h);
    let fault = h.fault.unwrap_or("");
    let server_id = h.index + 1;
    let mut my = String::from(
        "# /etc/mysql/my.cnf - managed by Chef (Engine Yard stack, mysql recipe).\n\
         # Local changes are overwritten on the next \"Apply\".\n\n[client]\nport = 3306\n\
         socket = /var/run/mysqld/mysqld.sock\n\n[mysqld_safe]\nsocket = /var/run/mysqld/mysqld.sock\nnice = 0\n\n\
         [mysqld]\nuser = mysql\npid-file = /var/run/mysqld/mysqld.pid\nsocket = /var/run/mysqld/mysqld.sock\n\
         port = 3306\nbasedir = /usr\n",
    );
    let _ = writeln!(
        my,
        "datadir = {data}\ntmpdir = /mnt/mysql/tmp\nbind-address = 0.0.0.0\nskip-name-resolve\n"
    );
    let _ = writeln!(
        my,
        "server-id = {server_id}\nlog-bin = /db/mysql/binlogs/binlog\nbinlog_format = ROW\n"
    );
    my.push_str("!includedir /etc/mysql/conf.d/\n");
    if h.kind == Kind::Replica {
        my.push_str("!include /etc/mysql/replication.cnf\n");
    }
    my.push_str(
        "\n[mysqldump]\nquick\nquote-names\nmax_allowed_packet = 32M\n\n[mysql]\nno-auto-rehash\n",
    );
    f.add("/etc/mysql/my.cnf", my, "0644", "root");
    f.missing("/etc/my.cnf");
    f.dir("/etc/mysql/conf.d");
    f.add(
        "/etc/mysql/conf.d/tuning.cnf",
        "[mysqld]\nmax_connections = 300\nmax_allowed_packet = 32M\nthread_cache_size = 32\n\
         table_open_cache = 4096\ninnodb_buffer_pool_size = 5G\ninnodb_log_file_size = 256M\n\
         innodb_flush_log_at_trx_commit = 1\ninnodb_flush_method = O_DIRECT\n"
            .to_string(),
        "0644",
        "root",
    );
    if fault != "config-missing" {
        let mut ssl = format!(
            "# SSL: keys generated by /engineyard/bin/db_server_ssl_keys.sh on the master\n\
             [mysqld]\nssl-ca = {data}/root.crt\nssl-cert = {data}/server.crt\nssl-key = {data}/server.key\n"
        );
        if fault != "no-secure-transport" {
            ssl.push_str("require_secure_transport = ON\n");
        }
        if fault == "tls11" {
            ssl.push_str("tls_version = TLSv1.1,TLSv1.2,TLSv1.3\n");
        } else {
            ssl.push_str("tls_version = TLSv1.2,TLSv1.3\n");
        }
        f.add("/etc/mysql/conf.d/ssl.cnf", ssl, "0644", "root");
    }
    if h.kind == Kind::Replica {
        let verify = if fault == "repl-no-verify" { 0 } else { 1 };
        f.add(
            "/etc/mysql/replication.cnf",
            format!(
                "[mysqld]\nrelay-log = /db/mysql/binlogs/relay-log\nread_only = 1\n\
                 # master-ssl-verify-server-cert = {verify}\nreport-host = {}\n",
                h.name
            ),
            "0644",
            "root",
        );
    }
    f.add(
        &format!("{data}/root.crt"),
        kit.ca_pem.clone(),
        "0644",
        "mysql",
    );
    let server = if fault == "expired-cert" {
        &kit.expired_server_pem
    } else {
        &kit.server_pem
    };
    f.add(
        &format!("{data}/server.crt"),
        server.clone(),
        "0644",
        "mysql",
    );
    let key_mode = if fault == "key-0644" { "0644" } else { "0600" };
    f.key(
        &format!("{data}/server.key"),
        &kit.server,
        key_mode,
        "mysql",
    );
    f.add(
        "/etc/ssl/openssl.cnf",
        openssl_cnf(fault == "randfile"),
        "0644",
        "root",
    );
    if h.kind == Kind::Master {
        for user in ["deploy", "reports"] {
            let dir = format!("/db/mysql/keygen/{user}");
            let (key, cert) = &kit.clients[user];
            f.add(
                &format!("{dir}/root.crt"),
                kit.ca_pem.clone(),
                "0644",
                "root",
            );
            f.add(&format!("{dir}/mysql.crt"), cert.clone(), "0644", "root");
            f.key(&format!("{dir}/mysql.key"), key, "0600", "root");
        }
    } else {
        let (key, cert) = &kit.clients["repl"];
        f.add("/root/.mysql/root.crt", kit.ca_pem.clone(), "0644", "root");
        f.add("/root/.mysql/mysql.crt", cert.clone(), "0644", "root");
        f.key("/root/.mysql/mysql.key", key, "0600", "root");
    }
    let _ = all;
    Ok(())
}

fn app_files(h: &HostPlan, kit: &Kit, rogue: &Kit, f: &mut HostFiles, all: &[HostPlan], yml: &str) {
    let fault = h.fault.unwrap_or("");
    let home = "/home/deploy/.mysql";
    let ca = if fault == "other-ca" {
        &rogue.ca_pem
    } else {
        &kit.ca_pem
    };
    let (key, cert) = &kit.clients["deploy"];
    f.add(&format!("{home}/root.crt"), ca.clone(), "0644", "deploy");
    f.add(&format!("{home}/mysql.crt"), cert.clone(), "0644", "deploy");
    if fault == "missing-key" {
        f.missing(&format!("{home}/mysql.key"));
    } else {
        let mode = if fault == "key-0644" { "0644" } else { "0600" };
        f.key(&format!("{home}/mysql.key"), key, mode, "deploy");
    }
    // The distribution's CA bundle plus the environment's CA.
    f.add(
        "/etc/ssl/certs/internal-ca-bundle.pem",
        format!("{}{}", kit.ca_pem, rogue.ca_pem),
        "0644",
        "root",
    );
    f.add(
        "/etc/mysql/my.cnf",
        "[client]\nport = 3306\nsocket = /var/run/mysqld/mysqld.sock\ndefault-character-set = utf8mb4\n\n\
         !includedir /etc/mysql/conf.d/\n"
            .to_string(),
        "0644",
        "root",
    );
    f.missing("/etc/my.cnf");
    f.dir("/etc/mysql/conf.d");
    f.add(
        "/etc/mysql/conf.d/client.cnf",
        format!("[mysql]\nno-auto-rehash\nprompt = \"{}> \"\n", h.name),
        "0644",
        "root",
    );
    let host = if fault == "yml-localhost" {
        "localhost".to_string()
    } else {
        master_address(h, all)
    };
    let ssl = if fault == "yml-no-ssl" {
        String::new()
    } else {
        format!(
            "  sslca: '{home}/root.crt'\n  sslkey: '{home}/mysql.key'\n  sslcert: '{home}/mysql.crt'\n"
        )
    };
    f.add(
        yml,
        format!(
            "# Generated by Chef (Engine Yard stack, database.yml template).\n\
             default: &default\n  adapter: mysql2\n  encoding: utf8mb4\n  reconnect: false\n  pool: 25\n\
             \x20 database: shop\n  username: deploy\n  password: <redacted>\n  host: {host}\n  port: 3306\n{ssl}\n\
             production:\n  <<: *default\n"
        ),
        "0640",
        "deploy",
    );
}

/// mysql.json, connection.json and probe.json of a database host.
fn db_json(h: &HostPlan, kit: &Kit, all: &[HostPlan], now: i64) -> Vec<(&'static str, Value)> {
    let fault = h.fault.unwrap_or("");
    let data = data_dir(h);
    let (version, comment) = if h.mariadb {
        ("10.11.6-MariaDB-0+deb12u1-log", "Debian 12")
    } else {
        ("8.0.36", "MySQL Community Server - GPL")
    };
    let mut vars: BTreeMap<String, String> = FILLER_VARIABLES
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let ssl_on = fault != "have-ssl-disabled" && fault != "config-missing";
    let tls = if fault == "tls11" {
        "TLSv1.1,TLSv1.2,TLSv1.3"
    } else {
        "TLSv1.2,TLSv1.3"
    };
    for (k, v) in [
        ("version", version),
        ("version_comment", comment),
        ("have_ssl", if ssl_on { "YES" } else { "DISABLED" }),
        ("have_openssl", if ssl_on { "YES" } else { "DISABLED" }),
        ("ssl_cipher", ""),
        ("tls_version", tls),
        (
            "require_secure_transport",
            if fault == "no-secure-transport" || !ssl_on {
                "OFF"
            } else {
                "ON"
            },
        ),
        ("datadir", &format!("{data}/")),
        ("server_id", &(h.index + 1).to_string()),
        (
            "read_only",
            if h.kind == Kind::Replica { "ON" } else { "OFF" },
        ),
    ] {
        vars.insert(k.to_string(), v.to_string());
    }
    if fault != "config-missing" {
        for (k, file) in [
            ("ssl_ca", "root.crt"),
            ("ssl_cert", "server.crt"),
            ("ssl_key", "server.key"),
        ] {
            vars.insert(k.to_string(), format!("{data}/{file}"));
        }
    }
    let (nb, na) = if fault == "expired-cert" {
        (now - 800 * DAY, now - 35 * DAY)
    } else {
        (now - 200 * DAY, now + 500 * DAY)
    };
    let mut status = json!({"Uptime": "1836800", "Threads_connected": "12"});
    if ssl_on {
        status["Ssl_server_not_before"] = json!(ssl_date(nb));
        status["Ssl_server_not_after"] = json!(ssl_date(na));
        status["Ssl_version"] = json!("TLSv1.3");
        status["Ssl_cipher"] = json!("TLS_AES_256_GCM_SHA384");
    }
    let net = h
        .address
        .rsplit_once('.')
        .map(|(n, _)| n)
        .unwrap_or("10.0.0");
    let deploy_require = if fault == "account-no-x509" {
        json!({"type": "none"})
    } else {
        json!({"type": "x509"})
    };
    let mut accounts = vec![
        json!({"user": "root", "host": "localhost", "require": {"type": "none"}}),
        json!({"user": "mysql", "host": "localhost", "require": {"type": "none"}, "locked": true}),
        json!({"user": "deploy", "host": "%", "require": deploy_require}),
        json!({"user": "reports", "host": format!("{net}.%"), "require": {"type": "x509"}}),
        json!({"user": "repl", "host": format!("{net}.%"), "require": {"type": "x509"}}),
        json!({"user": "sslaudit", "host": "%", "require": {"type": "x509"}}),
    ];
    if h.mariadb {
        accounts.push(json!({"user": "mariadb.sys", "host": "localhost", "require": {"type": "none"}, "locked": true}));
    } else {
        accounts.push(json!({"user": "mysql.sys", "host": "localhost", "require": {"type": "none"}, "locked": true}));
        accounts.push(json!({"user": "mysql.session", "host": "localhost", "require": {"type": "none"}, "locked": true}));
    }
    let replication = if h.kind == Kind::Replica {
        json!([{
            "name": "", "source_host": master_address(h, all), "source_user": "repl",
            "ssl_allowed": true, "ssl_verify_server_cert": fault != "repl-no-verify",
            "ssl_ca": format!("{data}/root.crt"),
            "ssl_cert": "/root/.mysql/mysql.crt", "ssl_key": "/root/.mysql/mysql.key"
        }])
    } else {
        json!([])
    };
    let mysql = json!({
        "variables": vars, "status": status, "accounts": accounts, "replication": replication
    });
    let endpoint = format!("{}:3306", h.address);
    let connection = if ssl_on {
        json!({"via": "tcp", "endpoint": endpoint, "tls_version": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384"})
    } else {
        json!({"via": "ssh", "endpoint": "socket"})
    };
    let chain = if fault == "expired-cert" {
        &kit.expired_server_pem
    } else {
        &kit.server_pem
    };
    let probe = if ssl_on {
        json!({
            "address": endpoint, "greeting_version": version, "advertises_ssl": true,
            "protocol": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384", "chain_pem": [chain],
            "accepted": {"TLSv1": false, "TLSv1.1": fault == "tls11", "TLSv1.2": true, "TLSv1.3": true},
            "error": null
        })
    } else {
        json!({
            "address": endpoint, "greeting_version": version, "advertises_ssl": false,
            "chain_pem": [], "accepted": {}, "error": null
        })
    };
    vec![
        ("mysql.json", mysql),
        ("connection.json", connection),
        ("probe.json", probe),
    ]
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

    #[test]
    fn ssl_dates_look_like_the_servers() {
        assert_eq!(ssl_date(1_867_642_006), "Mar  8 05:26:46 2029 GMT");
    }
}
