//! The one way to run a rule in a test: hand-built facts and a judge.
//!
//! Every rule test (and the remediations crate's tests, through the
//! `testkit` feature) builds its hosts here and runs rules with [`run`] and
//! its siblings, which do what a scan does (every host, then the fleet, then
//! the cross-environment comparisons settle) at one explicit date, [`AS_OF`],
//! unless a test names another, and which enforce the finding conventions
//! once: the finding belongs to the rule that ran, its message starts
//! lowercase (a proper noun or an acronym excepted) and ends without a period.

use std::collections::{BTreeMap, BTreeSet};

use crate::facts::{
    Certificate, DbEnvironment, FileMeta, FileStatus, Flavor, Fleet, HostFacts, IdentityKind,
    KeyAlgorithm, MysqlFacts, MysqlVersion, OptionSet, OptionValue, OsUser, PrivateKeyFacts,
    ProbeFacts, PublicKeyInfo, Role, TlsIdentity, YmlValue, normalize_option_name,
};
use crate::layout::Layout;
use crate::parse::x509::parse_certificates;
use crate::parse::{FileSource, SourceError};
use crate::policy::{Thresholds, parse_date};
use crate::{Context, Finding, Location, Rule};

// ---------------------------------------------------------------------------
// Judging

/// The date every test judges at unless it names another: 2026-06-01T00:00:00Z.
pub const AS_OF: i64 = 1_780_272_000;

/// `YYYY-MM-DD` at midnight UTC.
pub fn ts(date: &str) -> i64 {
    parse_date(date).expect("test dates are YYYY-MM-DD")
}

/// Runs `rule` as a scan does (every host, then the fleet; pending
/// comparisons settle) at `as_of` with `thresholds`, and checks the finding
/// conventions.
pub fn run_with(
    rule: &dyn Rule,
    hosts: Vec<HostFacts>,
    as_of: i64,
    thresholds: &Thresholds,
) -> Vec<Finding> {
    run_cx(rule, hosts, as_of, thresholds, &[])
}

fn run_cx(
    rule: &dyn Rule,
    hosts: Vec<HostFacts>,
    as_of: i64,
    thresholds: &Thresholds,
    next_ca: &[crate::readiness::NextCa],
) -> Vec<Finding> {
    let fleet = Fleet { hosts };
    let cx = Context {
        as_of,
        thresholds,
        fleet: &fleet,
        next_ca,
    };
    let mut out = Vec::new();
    for h in &fleet.hosts {
        rule.check_host(&cx, h, &mut out);
    }
    // As the engine runs them: once per environment, over its hosts.
    let mut environments: Vec<&str> = fleet.hosts.iter().map(|h| h.environment.as_str()).collect();
    environments.sort_unstable();
    environments.dedup();
    for env in environments {
        let one = Fleet {
            hosts: fleet.hosts_in(env).cloned().collect(),
        };
        rule.check_fleet(&Context { fleet: &one, ..cx }, &mut out);
    }
    crate::pending::settle(&mut out);
    for f in &out {
        assert_eq!(f.rule_id, rule.meta().id, "finding of another rule");
        assert_message_style(&f.message);
    }
    out
}

/// [`run_with`] at [`AS_OF`] with default thresholds and the next CAs of
/// an announced rotation (`scan --next-ca`).
pub fn run_with_next_ca(
    rule: &dyn Rule,
    hosts: Vec<HostFacts>,
    next_ca: &[crate::readiness::NextCa],
) -> Vec<Finding> {
    run_cx(rule, hosts, AS_OF, &Thresholds::default(), next_ca)
}

/// One host alone, at [`AS_OF`], default thresholds.
pub fn run(rule: &dyn Rule, host: &HostFacts) -> Vec<Finding> {
    run_with(rule, vec![host.clone()], AS_OF, &Thresholds::default())
}

/// A fleet at [`AS_OF`] with `thresholds`.
pub fn run_fleet(rule: &dyn Rule, hosts: Vec<HostFacts>, thresholds: &Thresholds) -> Vec<Finding> {
    run_with(rule, hosts, AS_OF, thresholds)
}

/// A fleet at `as_of`, default thresholds.
pub fn run_at(rule: &dyn Rule, hosts: Vec<HostFacts>, as_of: i64) -> Vec<Finding> {
    run_with(rule, hosts, as_of, &Thresholds::default())
}

/// Findings speak in lowercase fragments: the first word starts lowercase
/// unless it is a proper noun or an acronym (MySQL, TLS, Percona), and no
/// message ends with a period.
pub fn assert_message_style(message: &str) {
    let first = message.split(' ').next().unwrap_or("");
    assert!(
        first.chars().next().is_some_and(|c| !c.is_uppercase())
            || first.chars().filter(|c| c.is_uppercase()).count() > 1
            || first == "Percona",
        "message must start lowercase: {message}"
    );
    assert!(!message.ends_with('.'), "trailing period: {message}");
}

/// Asserts that every finding has a distinct fingerprint on its host.
pub fn assert_distinct(findings: &[Finding]) {
    let mut seen = BTreeSet::new();
    for f in findings {
        assert!(
            seen.insert((f.host.clone(), f.fingerprint.clone())),
            "duplicate fingerprint for {:?}",
            f.location
        );
    }
}

// ---------------------------------------------------------------------------
// Hosts and files

pub const MY_CNF: &str = "/etc/mysql/my.cnf";
pub const YML: &str = "/data/shop/current/config/database.yml";

/// An engineyard host with these roles.
pub fn host(name: &str, env: &str, roles: &[Role]) -> HostFacts {
    let mut h = HostFacts::new(name, env, Layout::engineyard());
    h.roles = roles.iter().copied().collect();
    h
}

/// A reachable db_master in `production` whose SQL facts were collected (empty).
pub fn db_host(name: &str) -> HostFacts {
    let mut h = host(name, "production", &[Role::DbMaster]);
    h.address = Some("10.0.0.10".into());
    h.mysql = Some(MysqlFacts::default());
    h
}

/// A Galera node of `cluster` (a db_master of `production`, SQL facts
/// empty) whose `/etc/mysql/my.cnf` is `[mysqld]` + `wsrep_on`, the
/// provider, and `cnf` (more options, more groups: `[sst]`...), read as a
/// scan reads it.
pub fn galera_node(name: &str, cnf: &str) -> HostFacts {
    let mut h = db_host(name);
    let text = format!(
        "[mysqld]\nwsrep_on = ON\nwsrep_provider = /usr/lib/galera/libgalera_smm.so\n{cnf}"
    );
    let fs = MemFs::with(&[(MY_CNF, text.as_str())]);
    let parsed = crate::parse::mycnf::parse_option_files(&[MY_CNF.to_string()], &fs);
    h.galera = crate::parse::galera::galera_facts(&parsed.entries, None, None);
    assert!(h.galera.is_some(), "not a Galera node: {text}");
    h.option_files = parsed.files_read;
    h
}

/// File metadata of a present file.
pub fn file_meta(path: &str, mode: u32, owner: &str, group: &str) -> FileMeta {
    FileMeta {
        mode: Some(mode),
        owner: Some(owner.to_string()),
        group: Some(group.to_string()),
        ..FileMeta::bare(path, FileStatus::Present)
    }
}

/// Records a file as present with this mode and owner.
pub fn file(h: &mut HostFacts, path: &str, mode: u32, owner: &str, group: &str) {
    h.files
        .insert(path.into(), file_meta(path, mode, owner, group));
}

/// Records a file as present (0644 root:root).
pub fn present(h: &mut HostFacts, path: &str) {
    file(h, path, 0o644, "root", "root");
}

/// Records a file as present (0600 mysql:mysql), as key files are.
pub fn touch(h: &mut HostFacts, path: &str) {
    file(h, path, 0o600, "mysql", "mysql");
}

/// Records a file as missing.
pub fn missing(h: &mut HostFacts, path: &str) {
    h.files
        .insert(path.into(), FileMeta::bare(path, FileStatus::Missing));
}

/// Records a file as unreadable, for `reason`.
pub fn unreadable(h: &mut HostFacts, path: &str, reason: &str) {
    let status = FileStatus::Unreadable {
        reason: reason.into(),
    };
    h.files.insert(path.into(), FileMeta::bare(path, status));
}

pub fn os_user(name: &str, uid: u32, home: &str) -> OsUser {
    OsUser {
        name: name.to_string(),
        uid,
        gid: uid,
        home: home.to_string(),
        shell: "/bin/bash".into(),
    }
}

pub fn users(list: &[OsUser]) -> Option<BTreeMap<String, OsUser>> {
    Some(list.iter().map(|u| (u.name.clone(), u.clone())).collect())
}

// ---------------------------------------------------------------------------
// The server: versions, variables, option files, the probe

/// A version as the parser would build it, written by hand.
pub fn version(flavor: Flavor, raw: &str) -> MysqlVersion {
    let digits = raw.strip_prefix("5.5.5-").unwrap_or(raw);
    let mut it = digits
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().expect("test versions start with x.y.z"));
    MysqlVersion {
        flavor,
        major: it.next().expect("major"),
        minor: it.next().expect("minor"),
        patch: it.next().expect("patch"),
        raw: raw.to_string(),
    }
}

/// SQL facts with these global variables (names lowercased as the loader does).
pub fn mysql(vars: &[(&str, &str)]) -> MysqlFacts {
    let mut m = MysqlFacts::default();
    for (k, v) in vars {
        m.variables.insert(k.to_ascii_lowercase(), (*v).to_string());
    }
    m
}

/// Sets `performance_schema.tls_channel_status` mysql_main `Enabled`.
pub fn channel(m: &mut MysqlFacts, enabled: &str) {
    m.tls_channels
        .entry("mysql_main".into())
        .or_default()
        .insert("Enabled".into(), enabled.into());
}

pub fn set_mysql(h: &mut HostFacts, m: MysqlFacts) {
    h.mysql = Some(m);
}

pub fn mysql_mut(h: &mut HostFacts) -> &mut MysqlFacts {
    h.mysql.get_or_insert_with(MysqlFacts::default)
}

/// Adds (or replaces) one `[mysqld]` option, as the option-file parser would.
pub fn add(o: &mut OptionSet, name: &str, value: Option<&str>, file: &str, line: u32) {
    o.options.insert(
        normalize_option_name(name),
        OptionValue {
            value: value.map(str::to_string),
            spelled: name.replace('_', "-"),
            group: "mysqld".into(),
            file: file.into(),
            line,
        },
    );
}

/// Gives the host server options read from /etc/mysql/my.cnf, one per line
/// from line 2 (line 1 is `[mysqld]`), and the server identity they imply.
pub fn my_cnf(h: &mut HostFacts, options: &[(&str, &str)]) {
    let mut o = OptionSet::default();
    for (i, (k, v)) in options.iter().enumerate() {
        add(&mut o, k, Some(v), MY_CNF, i as u32 + 2);
    }
    h.option_files = vec![MY_CNF.into()];
    present(h, MY_CNF);
    let get = |n: &str| o.get(n).map(|v| v.as_str().to_string());
    let (ca, cert, key) = (get("ssl_ca"), get("ssl_cert"), get("ssl_key"));
    h.identities.retain(|i| i.kind != IdentityKind::Server);
    if ca.is_some() || cert.is_some() || key.is_some() {
        let origin = ["ssl_ca", "ssl_cert", "ssl_key"]
            .iter()
            .find_map(|n| o.get(n))
            .map(|v| v.location())
            .unwrap_or_else(|| Location::file(MY_CNF, None));
        h.identities.push(TlsIdentity {
            kind: IdentityKind::Server,
            origin,
            ca,
            cert,
            key,
        });
    }
    h.server_options = Some(o);
}

/// A successful probe that negotiated TLSv1.2 and saw no certificate.
pub fn probe(address: &str) -> ProbeFacts {
    probe_with_chain(address, Vec::new())
}

/// A successful probe that negotiated TLSv1.2 and was shown `chain`.
pub fn probe_with_chain(address: &str, chain: Vec<Certificate>) -> ProbeFacts {
    ProbeFacts {
        address: address.into(),
        greeting_version: None,
        advertises_ssl: true,
        protocol: Some("TLSv1.2".into()),
        cipher: Some("ECDHE-RSA-AES256-GCM-SHA384".into()),
        chain,
        accepted: BTreeMap::new(),
        error: None,
        plaintext: None,
        requests_client_cert: None,
        client_ca_names: Vec::new(),
    }
}

// ---------------------------------------------------------------------------
// Certificates, keys, identities

/// Real certificates made by `rules/src/certs/testdata/gen.sh` (for signature checks).
pub const PROD_CA: &str = include_str!("certs/testdata/prod-ca.crt");
pub const PROD_DEPLOY: &str = include_str!("certs/testdata/prod-deploy.crt");
pub const STAGING_CA: &str = include_str!("certs/testdata/staging-ca.crt");
pub const STAGING_DEPLOY: &str = include_str!("certs/testdata/staging-deploy.crt");
pub const INTER: &str = include_str!("certs/testdata/inter.crt");
pub const INTER_LEAF: &str = include_str!("certs/testdata/inter-leaf.crt");

/// A certificate with a 2048-bit RSA key and a SHA-256 signature, valid for
/// the year before `not_after`; the hashes are derived from the subject so
/// distinct subjects differ.
pub fn cert(path: &str, index: usize, subject: &str, issuer: &str, not_after: i64) -> Certificate {
    let digest = |s: &str| crate::digest::sha256_hex(s.as_bytes());
    Certificate {
        path: path.to_string(),
        index,
        subject: subject.to_string(),
        issuer: issuer.to_string(),
        serial: "01".into(),
        not_before: not_after - 365 * 86_400,
        not_after,
        public_key: PublicKeyInfo {
            algorithm: KeyAlgorithm::Rsa,
            bits: 2048,
            curve: None,
        },
        signature_algorithm: "sha256WithRSAEncryption".into(),
        is_ca: false,
        subject_alt_names: Vec::new(),
        sha256: digest(&format!("cert {path} {index} {subject}")),
        spki_sha256: digest(&format!("spki {subject}")),
        der: Vec::new(),
    }
}

/// Every certificate of a PEM text, as the loader describes it.
pub fn pem_certs(path: &str, pem: &str) -> Vec<Certificate> {
    parse_certificates(path, pem.as_bytes()).expect("test certificates parse")
}

pub fn rsa_key(spki: &str, bits: u32) -> PrivateKeyFacts {
    PrivateKeyFacts {
        algorithm: KeyAlgorithm::Rsa,
        bits,
        curve: None,
        encrypted: false,
        spki_sha256: Some(spki.to_string()),
        format: "RSA PRIVATE KEY".into(),
    }
}

pub fn identity(
    kind: IdentityKind,
    origin: Location,
    ca: Option<&str>,
    cert: Option<&str>,
    key: Option<&str>,
) -> TlsIdentity {
    TlsIdentity {
        kind,
        origin,
        ca: ca.map(str::to_string),
        cert: cert.map(str::to_string),
        key: key.map(str::to_string),
    }
}

/// The server identity of `/etc/mysql/my.cnf:10` with engineyard paths under `dir`.
pub fn server_identity(dir: &str) -> TlsIdentity {
    identity(
        IdentityKind::Server,
        Location::file(MY_CNF, Some(10)),
        Some(&format!("{dir}/root.crt")),
        Some(&format!("{dir}/server.crt")),
        Some(&format!("{dir}/server.key")),
    )
}

// ---------------------------------------------------------------------------
// Rails database.yml

pub fn yv(value: &str, line: u32) -> YmlValue {
    YmlValue {
        value: value.to_string(),
        line,
        erb: false,
    }
}

pub fn erb(value: &str, line: u32) -> YmlValue {
    YmlValue {
        erb: true,
        ..yv(value, line)
    }
}

/// An environment with nothing set.
pub fn env(name: &str, line: u32) -> DbEnvironment {
    DbEnvironment {
        name: name.to_string(),
        line,
        ..DbEnvironment::default()
    }
}

/// A mysql2 environment connecting to `host` (line + 1 .. + 2).
pub fn tcp_env(name: &str, line: u32, host: &str) -> DbEnvironment {
    DbEnvironment {
        adapter: Some(yv("mysql2", line + 1)),
        host: Some(yv(host, line + 2)),
        ..env(name, line)
    }
}

/// The seed's three client key settings (line + 5 .. + 7).
pub fn with_seed_keys(e: DbEnvironment) -> DbEnvironment {
    let l = e.line;
    DbEnvironment {
        sslca: Some(yv("/home/deploy/.mysql/root.crt", l + 5)),
        sslkey: Some(yv("/home/deploy/.mysql/mysql.key", l + 6)),
        sslcert: Some(yv("/home/deploy/.mysql/mysql.crt", l + 7)),
        ..e
    }
}

/// An app host in `production` whose one database.yml ([`YML`]) holds `envs`.
pub fn app_host(envs: Vec<DbEnvironment>) -> HostFacts {
    let mut h = host("app-1", "production", &[Role::App]);
    h.app_user = Some("deploy".into());
    h.database_ymls.push(crate::facts::DatabaseYml {
        path: YML.into(),
        environments: envs,
        gemfile_lock: None,
    });
    h
}

/// Records a file with `status` and no metadata.
pub fn set_file(h: &mut HostFacts, path: &str, status: FileStatus) {
    h.files
        .insert(path.to_string(), FileMeta::bare(path, status));
}

/// A host's files in memory, as parsers read them ([`FileSource`]):
/// directories are implied by the files under them; `dirs` adds empty
/// ones, `unreadable` makes paths fail as a permission error does. The
/// parser tests and the fuzz targets build their hosts with it.
#[derive(Debug, Default)]
pub struct MemFs {
    pub files: BTreeMap<String, Vec<u8>>,
    pub dirs: BTreeSet<String>,
    pub unreadable: BTreeSet<String>,
}

impl MemFs {
    pub fn with(files: &[(&str, &str)]) -> Self {
        let mut fs = MemFs::default();
        for (path, text) in files {
            fs.add(path, text);
        }
        fs
    }

    pub fn add(&mut self, path: &str, text: &str) {
        self.files
            .insert(path.to_string(), text.as_bytes().to_vec());
    }
}

impl FileSource for MemFs {
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        if self.unreadable.contains(path) {
            return Err(SourceError::Unreadable("Permission denied".to_string()));
        }
        self.files.get(path).cloned().ok_or(SourceError::Missing)
    }

    fn list_dir(&self, path: &str) -> Result<Vec<String>, SourceError> {
        if self.unreadable.contains(path) {
            return Err(SourceError::Unreadable("Permission denied".to_string()));
        }
        let prefix = format!("{}/", path.trim_end_matches('/'));
        let names: BTreeSet<String> = self
            .files
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter_map(|(p, _)| p[prefix.len()..].split('/').next().map(str::to_string))
            .filter(|n| !n.is_empty())
            .collect();
        if names.is_empty() && !self.dirs.contains(path.trim_end_matches('/')) {
            return Err(SourceError::Missing);
        }
        Ok(names.into_iter().collect())
    }
}
