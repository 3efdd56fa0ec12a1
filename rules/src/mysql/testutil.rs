//! Hand-built facts for the MySQL-server rule tests.

use std::collections::BTreeMap;

use crate::facts::{
    Certificate, FileMeta, FileStatus, Flavor, Fleet, HostFacts, IdentityKind, KeyAlgorithm,
    MysqlFacts, MysqlVersion, OptionSet, OptionValue, ProbeFacts, PublicKeyInfo, Role, TlsIdentity,
    normalize_option_name,
};
use crate::layout::Layout;
use crate::policy::Thresholds;
use crate::{Context, Finding, Location, Rule};

pub(crate) const MY_CNF: &str = "/etc/mysql/my.cnf";

/// A reachable db_master in `production` whose SQL facts were collected (empty).
pub(crate) fn db_host(name: &str) -> HostFacts {
    let mut h = HostFacts::new(name, "production", Layout::engineyard());
    h.roles.insert(Role::DbMaster);
    h.address = Some("10.0.0.10".into());
    h.mysql = Some(MysqlFacts::default());
    h
}

/// A version as the parser would build it, written by hand.
pub(crate) fn version(flavor: Flavor, raw: &str) -> MysqlVersion {
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
pub(crate) fn mysql(vars: &[(&str, &str)]) -> MysqlFacts {
    let mut m = MysqlFacts::default();
    for (k, v) in vars {
        m.variables.insert(k.to_ascii_lowercase(), (*v).to_string());
    }
    m
}

/// Sets `performance_schema.tls_channel_status` mysql_main `Enabled`.
pub(crate) fn channel(m: &mut MysqlFacts, enabled: &str) {
    m.tls_channels
        .entry("mysql_main".into())
        .or_default()
        .insert("Enabled".into(), enabled.into());
}

pub(crate) fn set_mysql(h: &mut HostFacts, m: MysqlFacts) {
    h.mysql = Some(m);
}

pub(crate) fn mysql_mut(h: &mut HostFacts) -> &mut MysqlFacts {
    h.mysql.get_or_insert_with(MysqlFacts::default)
}

fn file_meta(path: &str, status: FileStatus) -> FileMeta {
    FileMeta {
        path: path.into(),
        status,
        mode: Some(0o644),
        owner: Some("root".into()),
        group: Some("root".into()),
        size: None,
        lines: None,
    }
}

pub(crate) fn present(h: &mut HostFacts, path: &str) {
    h.files
        .insert(path.into(), file_meta(path, FileStatus::Present));
}

pub(crate) fn missing(h: &mut HostFacts, path: &str) {
    h.files
        .insert(path.into(), file_meta(path, FileStatus::Missing));
}

pub(crate) fn unreadable(h: &mut HostFacts, path: &str, reason: &str) {
    h.files.insert(
        path.into(),
        file_meta(
            path,
            FileStatus::Unreadable {
                reason: reason.into(),
            },
        ),
    );
}

/// Adds (or replaces) one option, as the option-file parser would.
pub(crate) fn add(o: &mut OptionSet, name: &str, value: Option<&str>, file: &str, line: u32) {
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
pub(crate) fn my_cnf(h: &mut HostFacts, options: &[(&str, &str)]) {
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
        let origin = SSL_FIRST
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

const SSL_FIRST: [&str; 3] = ["ssl_ca", "ssl_cert", "ssl_key"];

/// A successful probe with nothing negotiated yet.
pub(crate) fn probe(address: &str) -> ProbeFacts {
    ProbeFacts {
        address: address.into(),
        greeting_version: None,
        advertises_ssl: true,
        protocol: Some("TLSv1.2".into()),
        cipher: Some("ECDHE-RSA-AES256-GCM-SHA384".into()),
        chain: Vec::new(),
        accepted: BTreeMap::new(),
        error: None,
    }
}

/// A certificate with the dates and fingerprint given.
pub(crate) fn cert(path: &str, not_before: i64, not_after: i64, sha256: &str) -> Certificate {
    Certificate {
        path: path.into(),
        index: 0,
        subject: "CN=db-master".into(),
        issuer: "CN=MySQL CA".into(),
        serial: "01".into(),
        not_before,
        not_after,
        public_key: PublicKeyInfo {
            algorithm: KeyAlgorithm::Rsa,
            bits: 2048,
            curve: None,
        },
        signature_algorithm: "sha256WithRSAEncryption".into(),
        is_ca: false,
        subject_alt_names: Vec::new(),
        sha256: sha256.into(),
        spki_sha256: "00".into(),
        der: Vec::new(),
    }
}

/// Runs one rule over a fleet with the given thresholds (host and fleet checks).
pub(crate) fn run_fleet(rule: &dyn Rule, hosts: Vec<HostFacts>, t: &Thresholds) -> Vec<Finding> {
    let fleet = Fleet { hosts };
    let cx = Context {
        as_of: 1_780_272_000, // 2026-06-01
        thresholds: t,
        fleet: &fleet,
    };
    let mut out = Vec::new();
    for h in &fleet.hosts {
        rule.check_host(&cx, h, &mut out);
    }
    rule.check_fleet(&cx, &mut out);
    // As a whole scan does: the comparisons across environments complete.
    crate::pending::settle(&mut out);
    for f in &out {
        assert_eq!(f.rule_id, rule.meta().id, "finding of another rule");
        // Lowercase, except for a proper noun or an acronym (MySQL, TLS, Percona).
        let first = f.message.split(' ').next().unwrap_or("");
        assert!(
            first.chars().next().is_some_and(|c| !c.is_uppercase())
                || first.chars().filter(|c| c.is_uppercase()).count() > 1
                || first == "Percona",
            "message must start lowercase: {}",
            f.message
        );
        assert!(!f.message.ends_with('.'), "trailing period: {}", f.message);
    }
    out
}

/// Runs one rule on one host alone, with default thresholds.
pub(crate) fn run(rule: &dyn Rule, host: &HostFacts) -> Vec<Finding> {
    run_fleet(rule, vec![host.clone()], &Thresholds::default())
}
