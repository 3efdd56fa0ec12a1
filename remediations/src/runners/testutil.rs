//! Hand-built facts and a memory fleet for the runners' tests.

use std::collections::BTreeMap;

use sslaudit_rules::facts::{
    Account, CensusSource, Certificate, DatabaseYml, Flavor, HostFacts, IdentityKind, MysqlFacts,
    OptionSet, OptionValue, PrivateKeyFacts, Require, Role, SessionCensus, TlsIdentity,
    normalize_option_name,
};
use sslaudit_rules::parse::dbyml::parse_database_yml;
pub(crate) use sslaudit_rules::testkit::{
    MY_CNF, PROD_CA, PROD_DEPLOY, STAGING_DEPLOY, YML, file, missing, pem_certs, version,
};
use sslaudit_rules::testkit::{host, os_user, rsa_key, users};
use sslaudit_rules::{Finding, Location, Severity};

use super::{EnvFacts, HostSettings, PlanMeta};
use crate::apply::{self, ApplyOptions, RunReport};
use crate::plan::Plan;
use crate::target::{MemoryTarget, Target};

pub(crate) const ENV: &str = "production";
pub(crate) const DATA: &str = "/db/mysql/5.6/data";

pub(crate) fn meta() -> PlanMeta {
    PlanMeta {
        allow_live_sessions: None,
        run_id: "run-20260601".into(),
        created_at: "2026-06-01T00:00:00Z".into(),
    }
}

/// Records a certificate file (0644 root) holding `pem`'s certificates.
pub(crate) fn cert(h: &mut HostFacts, path: &str, pem: &str) {
    file(h, path, 0o644, "root", "root");
    h.certificates.insert(path.into(), pem_certs(path, pem));
}

/// The first certificate of `pem`, as found at `path`.
pub(crate) fn leaf(path: &str, pem: &str) -> Certificate {
    pem_certs(path, pem).remove(0)
}

/// Records a 2048-bit RSA key file whose public key has this SPKI hash.
pub(crate) fn key(h: &mut HostFacts, path: &str, mode: u32, owner: &str, spki: Option<&str>) {
    file(h, path, mode, owner, owner);
    let facts = PrivateKeyFacts {
        spki_sha256: spki.map(str::to_string),
        ..rsa_key("", 2048)
    };
    h.private_keys.insert(path.into(), facts);
}

/// An engineyard db_master running MySQL 5.6 with the seed's server keys
/// configured in /etc/mysql/my.cnf.
pub(crate) fn db_host(name: &str) -> HostFacts {
    let mut h = host(name, ENV, &[Role::DbMaster]);
    h.address = Some("10.0.0.10".into());
    h.mysql = Some(MysqlFacts {
        version: Some(version(Flavor::Mysql, "5.6.21-log")),
        variables: [("have_ssl".to_string(), "YES".to_string())].into(),
        accounts: Some(Vec::new()),
        replication: Some(Vec::new()),
        // Seen, and nobody connected.
        sessions: Some(SessionCensus {
            source: CensusSource::PerformanceSchema,
            note: None,
            sessions: Vec::new(),
            samples: 1,
            window_secs: 0,
        }),
        ..MysqlFacts::default()
    });
    h
}

/// Server options as the option-file parser would record them.
pub(crate) fn options(h: &mut HostFacts, file: &str, opts: &[(&str, Option<&str>, u32)]) {
    let mut set = OptionSet::default();
    for (name, value, line) in opts {
        set.options.insert(
            normalize_option_name(name),
            OptionValue {
                value: value.map(str::to_string),
                spelled: (*name).to_string(),
                group: "mysqld".into(),
                file: file.into(),
                line: *line,
            },
        );
    }
    if !h.option_files.iter().any(|f| f == file) {
        h.option_files.push(file.into());
    }
    h.server_options = Some(set);
}

/// The server identity and its files (CA = the production test CA).
pub(crate) fn server_keys(h: &mut HostFacts, dir: &str) {
    let (ca, crt, k) = (
        format!("{dir}/root.crt"),
        format!("{dir}/server.crt"),
        format!("{dir}/server.key"),
    );
    cert(h, &ca, PROD_CA);
    file(h, &crt, 0o644, "mysql", "mysql");
    key(h, &k, 0o600, "mysql", None);
    h.identities.push(TlsIdentity {
        kind: IdentityKind::Server,
        origin: Location::file(MY_CNF, Some(60)),
        ca: Some(ca),
        cert: Some(crt),
        key: Some(k),
    });
}

pub(crate) fn account(user: &str, host: &str, require: Require) -> Account {
    Account {
        user: user.into(),
        host: host.into(),
        require,
        is_role: false,
        locked: false,
    }
}

/// An application host with `deploy` in /etc/passwd.
pub(crate) fn app_host(name: &str) -> HostFacts {
    let mut h = host(name, ENV, &[Role::App]);
    h.address = Some("10.0.0.20".into());
    h.app_user = Some("deploy".into());
    h.os_users = users(&[os_user("deploy", 1000, "/home/deploy")]);
    h
}

/// deploy's client keys in ~/.mysql, issued by `pem`'s CA.
pub(crate) fn client_keys(h: &mut HostFacts, pem: &str) {
    cert(h, "/home/deploy/.mysql/root.crt", PROD_CA);
    cert(h, "/home/deploy/.mysql/mysql.crt", pem);
    let spki = h.certificates["/home/deploy/.mysql/mysql.crt"][0]
        .spki_sha256
        .clone();
    key(
        h,
        "/home/deploy/.mysql/mysql.key",
        0o600,
        "deploy",
        Some(&spki),
    );
    h.identities.push(TlsIdentity {
        kind: IdentityKind::UserHome {
            user: "deploy".into(),
        },
        origin: Location::file("/home/deploy/.mysql", None),
        ca: Some("/home/deploy/.mysql/root.crt".into()),
        cert: Some("/home/deploy/.mysql/mysql.crt".into()),
        key: Some("/home/deploy/.mysql/mysql.key".into()),
    });
}

/// Parses `text` as the host's database.yml (and adds the `App`
/// identities the loader would).
pub(crate) fn database_yml(h: &mut HostFacts, text: &str) {
    let yml: DatabaseYml = parse_database_yml(YML, text).expect("test database.yml parses");
    for env in &yml.environments {
        let lit = |v: &Option<sslaudit_rules::facts::YmlValue>| {
            v.as_ref().filter(|v| !v.erb).map(|v| v.value.clone())
        };
        if env.sslca.is_some() || env.sslcert.is_some() || env.sslkey.is_some() {
            h.identities.push(TlsIdentity {
                kind: IdentityKind::App {
                    path: YML.into(),
                    environment: env.name.clone(),
                },
                origin: Location::file(YML, Some(env.line)),
                ca: lit(&env.sslca),
                cert: lit(&env.sslcert),
                key: lit(&env.sslkey),
            });
        }
    }
    file(h, YML, 0o640, "deploy", "deploy");
    h.database_ymls = vec![yml];
}

pub(crate) fn finding(rule: &str, host: &str, location: Location) -> Finding {
    Finding::new(rule, Severity::High, host, ENV, "test finding", location)
}

/// Texts by (host, path), and the plan made from them.
pub(crate) struct World {
    pub hosts: Vec<HostFacts>,
    pub settings: BTreeMap<String, HostSettings>,
    pub texts: BTreeMap<(String, String), String>,
}

impl World {
    pub(crate) fn new(hosts: Vec<HostFacts>) -> Self {
        World {
            hosts,
            settings: BTreeMap::new(),
            texts: BTreeMap::new(),
        }
    }

    pub(crate) fn text(&mut self, host: &str, path: &str, text: &str) {
        self.texts
            .insert((host.to_string(), path.to_string()), text.to_string());
    }

    pub(crate) fn plan(&self, findings: &[Finding]) -> (Plan, Vec<(Finding, super::Refusal)>) {
        self.plan_with(findings, &meta())
    }

    pub(crate) fn plan_with(
        &self,
        findings: &[Finding],
        meta: &PlanMeta,
    ) -> (Plan, Vec<(Finding, super::Refusal)>) {
        let texts = |h: &str, p: &str| self.texts.get(&(h.to_string(), p.to_string())).cloned();
        let env = EnvFacts {
            environment: ENV,
            inventory: "fleet.yaml",
            hosts: &self.hosts,
            settings: &self.settings,
            texts: &texts,
        };
        let (plan, refusals) = super::plan_for_findings(&env, findings, meta);
        plan.validate().expect("runner plans are valid");
        (plan, refusals)
    }

    /// The text the plan writes to `path` (its edits applied to the
    /// collected text), and that no step holds more than the changed lines.
    pub(crate) fn written(&self, plan: &Plan, path: &str) -> String {
        plan.steps
            .iter()
            .find_map(|s| match &s.action {
                crate::plan::Action::WriteFile {
                    path: p,
                    content: crate::plan::Content::Edit { base_sha256, edits },
                    ..
                } if p == path => {
                    let base = self
                        .texts
                        .get(&(s.host.clone(), p.clone()))
                        .expect("collected text");
                    assert_eq!(*base_sha256, crate::text::sha256_hex(base.as_bytes()));
                    Some(crate::text::apply_edits(base, edits).expect("edits apply"))
                }
                _ => None,
            })
            .expect("the plan edits the file")
    }

    /// One memory host per host, holding the collected texts as files.
    pub(crate) fn targets(&self) -> BTreeMap<String, MemoryTarget> {
        let mut out = BTreeMap::new();
        for h in &self.hosts {
            let t = MemoryTarget::new(&h.name);
            for ((host, path), text) in &self.texts {
                if *host == h.name {
                    let meta = h.file(path);
                    t.add_file(
                        path,
                        text.as_bytes(),
                        meta.and_then(|m| m.mode).unwrap_or(0o644),
                        meta.and_then(|m| m.owner.as_deref()),
                    );
                }
            }
            out.insert(h.name.clone(), t);
        }
        out
    }
}

/// Applies a plan (confirmed) to memory hosts, then rolls it back when
/// asked; returns the apply report.
pub(crate) fn apply_to(
    plan: &Plan,
    hosts: &BTreeMap<String, MemoryTarget>,
    state: &std::path::Path,
) -> RunReport {
    let targets = |h: &str| hosts.get(h).map(|t| t as &dyn Target);
    let opts = ApplyOptions {
        yes: true,
        ..ApplyOptions::new(state)
    };
    apply::apply(plan, &targets, &opts).expect("plan applies")
}

pub(crate) fn rollback_on(
    run_id: &str,
    hosts: &BTreeMap<String, MemoryTarget>,
    state: &std::path::Path,
) {
    let targets = |h: &str| hosts.get(h).map(|t| t as &dyn Target);
    apply::rollback(run_id, &targets, &ApplyOptions::new(state)).expect("rolls back");
}

pub(crate) fn read(t: &MemoryTarget, path: &str) -> Option<String> {
    t.read_file(path)
        .expect("readable")
        .map(|f| String::from_utf8(f.content).expect("utf-8"))
}
