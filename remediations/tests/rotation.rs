//! A leaf rotation of a three-host environment on in-memory hosts whose
//! "servers" load their key files on `FLUSH SSL` (and refuse a key that does
//! not belong to its certificate): a full run, a run killed after every
//! step in turn and then resumed or rolled back, and a run whose new key
//! breaks and must leave the servers on their old certificates.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::collections::BTreeMap;

use sslaudit_remediations::apply::{self, ApplyError, ApplyOptions};
use sslaudit_remediations::generate::STORE_FILE;
use sslaudit_remediations::keygen::{Ca, CertSpec, KeyAlgo};
use sslaudit_remediations::plan::{Action, KeyType, Plan};
use sslaudit_remediations::runners::rotate::{
    CaRotateInput, CaSource, RotateInput, ca_rotation, leaf_rotation,
};
use sslaudit_remediations::target::{MemEntry, MemoryTarget, Target};
use sslaudit_rules::Location;
use sslaudit_rules::facts::{FileMeta, FileStatus, HostFacts, IdentityKind, Role, TlsIdentity};
use sslaudit_rules::layout::Layout;

const DATA: &str = "/db/mysql/8.0/data";

struct Env {
    hosts: Vec<MemoryTarget>,
    original_keys: Vec<Vec<u8>>,
    facts: Vec<HostFacts>,
    ca_dir: tempfile::TempDir,
}

fn identity(kind: IdentityKind, dir: &str, ca: &str, cert: &str, key: &str) -> TlsIdentity {
    TlsIdentity {
        kind,
        origin: Location::default(),
        ca: Some(format!("{dir}/{ca}")),
        cert: Some(format!("{dir}/{cert}")),
        key: Some(format!("{dir}/{key}")),
    }
}

/// Adds a file to the target and to the facts, as a collector would.
fn put(t: &MemoryTarget, f: &mut HostFacts, path: &str, content: &str, mode: u32, owner: &str) {
    t.add_file(path, content.as_bytes(), mode, Some(owner));
    f.files.insert(
        path.to_string(),
        FileMeta {
            path: path.to_string(),
            status: FileStatus::Present,
            mode: Some(mode),
            owner: Some(owner.to_string()),
            group: Some(owner.to_string()),
            size: Some(content.len() as u64),
            lines: None,
        },
    );
}

fn env() -> Env {
    let ca = Ca::generate("test CA", 3650, KeyAlgo::EcdsaP256).unwrap();
    let ca_dir = tempfile::tempdir().unwrap();
    std::fs::write(ca_dir.path().join("ca.crt"), ca.cert_pem()).unwrap();
    std::fs::write(ca_dir.path().join("ca.key"), ca.key_pem()).unwrap();
    let spec = |cn: &str| CertSpec {
        algo: KeyAlgo::EcdsaP256,
        ..CertSpec::new(cn)
    };
    let deploy = ca.issue_client(&spec("deploy")).unwrap();
    let mut hosts = Vec::new();
    let mut facts = Vec::new();
    for (name, role) in [
        ("db-master", Role::DbMaster),
        ("db-replica-1", Role::DbReplica),
        ("app-1", Role::App),
    ] {
        let t = MemoryTarget::new(name);
        let mut f = HostFacts::new(name, "production", Layout::engineyard());
        f.roles.insert(role);
        f.address = Some(format!("127.0.9.{}", hosts.len() + 1));
        if role == Role::App {
            let dir = "/home/deploy/.mysql";
            put(
                &t,
                &mut f,
                &format!("{dir}/root.crt"),
                &ca.cert_pem(),
                0o644,
                "deploy",
            );
            put(
                &t,
                &mut f,
                &format!("{dir}/mysql.crt"),
                &deploy.cert_pem,
                0o644,
                "deploy",
            );
            put(
                &t,
                &mut f,
                &format!("{dir}/mysql.key"),
                &deploy.key_pem,
                0o600,
                "deploy",
            );
            f.identities.push(identity(
                IdentityKind::UserHome {
                    user: "deploy".into(),
                },
                dir,
                "root.crt",
                "mysql.crt",
                "mysql.key",
            ));
        } else {
            let server = ca.issue_server(&spec(name)).unwrap();
            put(
                &t,
                &mut f,
                &format!("{DATA}/root.crt"),
                &ca.cert_pem(),
                0o644,
                "mysql",
            );
            put(
                &t,
                &mut f,
                &format!("{DATA}/server.crt"),
                &server.cert_pem,
                0o644,
                "mysql",
            );
            // A key that was too open is written back 0600.
            put(
                &t,
                &mut f,
                &format!("{DATA}/server.key"),
                &server.key_pem,
                0o640,
                "mysql",
            );
            let kg = "/db/mysql/keygen/deploy";
            put(
                &t,
                &mut f,
                &format!("{kg}/root.crt"),
                &ca.cert_pem(),
                0o644,
                "mysql",
            );
            put(
                &t,
                &mut f,
                &format!("{kg}/mysql.crt"),
                &deploy.cert_pem,
                0o644,
                "mysql",
            );
            put(
                &t,
                &mut f,
                &format!("{kg}/mysql.key"),
                &deploy.key_pem,
                0o600,
                "mysql",
            );
            f.identities.push(identity(
                IdentityKind::Server,
                DATA,
                "root.crt",
                "server.crt",
                "server.key",
            ));
            f.identities.push(identity(
                IdentityKind::Keygen {
                    user: "deploy".into(),
                },
                kg,
                "root.crt",
                "mysql.crt",
                "mysql.key",
            ));
            t.emulate_tls_server(
                &format!("{DATA}/server.crt"),
                &format!("{DATA}/server.key"),
                "FLUSH SSL",
            );
        }
        hosts.push(t);
        facts.push(f);
    }
    let original_keys = hosts
        .iter()
        .flat_map(|h| h.snapshot().into_values())
        .filter_map(|e| match e {
            MemEntry::File(f) if String::from_utf8_lossy(&f.content).contains("PRIVATE KEY") => {
                Some(f.content)
            }
            _ => None,
        })
        .collect();
    Env {
        hosts,
        original_keys,
        facts,
        ca_dir,
    }
}

impl Env {
    fn plan(&self, run: &str) -> Plan {
        let reload: BTreeMap<String, Action> = ["db-master", "db-replica-1"]
            .iter()
            .map(|h| {
                (
                    h.to_string(),
                    Action::RunSql {
                        sql: "FLUSH SSL".into(),
                    },
                )
            })
            .collect();
        let p = |f: &str| self.ca_dir.path().join(f).display().to_string();
        leaf_rotation(
            &RotateInput {
                environment: "production",
                hosts: &self.facts,
                reload: &reload,
                ca: CaSource::Local {
                    cert_path: p("ca.crt"),
                    key_path: p("ca.key"),
                },
                days: 30,
                algo: KeyType::EcdsaP256,
            },
            run,
            "2026-11-30T00:00:00Z",
        )
        .unwrap()
    }

    fn target(&self, name: &str) -> Option<&dyn Target> {
        self.hosts
            .iter()
            .find(|h| h.host() == name)
            .map(|t| t as &dyn Target)
    }

    fn snapshots(&self) -> Vec<BTreeMap<String, MemEntry>> {
        self.hosts.iter().map(MemoryTarget::snapshot).collect()
    }

    fn served(&self) -> Vec<Option<Vec<u8>>> {
        self.hosts[..2]
            .iter()
            .map(|h| h.served_certificate().unwrap())
            .collect()
    }
}

/// No private key the run wrote is readable by group or others (the
/// master's original key is 0640 on purpose: it and its backup keep that).
fn keys_private(env: &Env) {
    for h in &env.hosts {
        for (path, e) in h.snapshot() {
            if let MemEntry::File(f) = e
                && String::from_utf8_lossy(&f.content).contains("PRIVATE KEY")
                && !env.original_keys.contains(&f.content)
            {
                assert_eq!(f.mode & 0o077, 0, "{}:{path} is {:o}", h.host(), f.mode);
            }
        }
    }
}

fn store(state: &std::path::Path, run: &str) -> BTreeMap<String, String> {
    serde_json::from_slice(&std::fs::read(state.join(run).join(STORE_FILE)).unwrap()).unwrap()
}

fn der(pem: &str) -> Vec<u8> {
    openssl::x509::X509::from_pem(pem.as_bytes())
        .unwrap()
        .to_der()
        .unwrap()
}

/// After a complete run: every server presents its new certificate and
/// every replaced file holds the run's new bytes.
fn rotated(env: &Env, state: &std::path::Path, run: &str) {
    let made = store(state, run);
    assert_eq!(
        env.served(),
        vec![
            Some(der(&made["server-db-master.crt"])),
            Some(der(&made["server-db-replica-1.crt"]))
        ]
    );
    let file = |host: usize, path: &str| match env.hosts[host].snapshot().remove(path) {
        Some(MemEntry::File(f)) => String::from_utf8(f.content).unwrap(),
        other => panic!("{path}: {other:?}"),
    };
    assert_eq!(
        file(0, &format!("{DATA}/server.key")),
        made["server-db-master.key"]
    );
    assert_eq!(
        file(1, &format!("{DATA}/server.crt")),
        made["server-db-replica-1.crt"]
    );
    assert_eq!(
        file(2, "/home/deploy/.mysql/mysql.key"),
        made["user-deploy.key"]
    );
    assert_eq!(
        file(0, "/db/mysql/keygen/deploy/mysql.crt"),
        made["user-deploy.crt"]
    );
    match env.hosts[0]
        .snapshot()
        .remove(&format!("{DATA}/server.key"))
    {
        Some(MemEntry::File(f)) => assert_eq!(f.mode, 0o600, "the 0640 key came back 0600"),
        other => panic!("{other:?}"),
    }
    keys_private(env);
}

#[test]
fn a_full_rotation_serves_new_certificates_master_first() {
    let env = env();
    let plan = env.plan("r-full");
    plan.validate().unwrap();
    let json = serde_json::to_string(&plan).unwrap();
    assert!(!json.contains("PRIVATE KEY"), "no key material in the plan");
    let state = tempfile::tempdir().unwrap();
    let before = env.served();
    let lookup = |h: &str| env.target(h);
    apply::apply(&plan, &lookup, &ApplyOptions::new(state.path())).unwrap();
    rotated(&env, state.path(), "r-full");
    assert_ne!(env.served(), before);
    // The master reloaded before the replica was touched at all.
    let reload_master = plan
        .steps
        .iter()
        .position(|s| s.host == "db-master" && matches!(s.action, Action::RunSql { .. }))
        .unwrap();
    let first_replica = plan
        .steps
        .iter()
        .position(|s| s.host == "db-replica-1")
        .unwrap();
    assert!(reload_master < first_replica);
    // The old keys are copied to /db/old_keys/<run>/ on the database hosts.
    assert!(
        env.hosts[0].commands().iter().any(|c| c
            == &format!("cp -p -- '{DATA}/server.key' '/db/old_keys/server/r-full/server.key'"))
    );
}

#[test]
fn killed_after_any_step_resume_finishes_and_rollback_restores_everything() {
    let steps = env().plan("probe").steps.len();
    for crash in 1..=steps {
        for undo in [false, true] {
            let env = env();
            let original = env.snapshots();
            let served = env.served();
            let run = format!("r-{crash}-{undo}");
            let plan = env.plan(&run);
            let state = tempfile::tempdir().unwrap();
            let lookup = |h: &str| env.target(h);
            let mut opts = ApplyOptions::new(state.path());
            opts.crash_after_step = Some(crash);
            match apply::apply(&plan, &lookup, &opts) {
                Err(ApplyError::Crashed { step }) => assert_eq!(step, crash),
                other => panic!("step {crash}: {other:?}"),
            }
            keys_private(&env);
            let opts = ApplyOptions::new(state.path());
            if undo {
                apply::rollback(&run, &lookup, &opts).unwrap();
                assert_eq!(env.snapshots(), original, "rollback after step {crash}");
                assert_eq!(env.served(), served, "rollback after step {crash}");
            } else {
                apply::resume(&run, &lookup, &opts).unwrap();
                rotated(&env, state.path(), &run);
            }
        }
    }
}

#[test]
fn a_broken_new_key_fails_the_reload_and_rollback_keeps_the_old_certificate() {
    let env = env();
    let served = env.served();
    let original = env.snapshots();
    let plan = env.plan("r-broken");
    let key_step = plan
        .steps
        .iter()
        .find(|s| {
            s.host == "db-master"
                && matches!(&s.action, Action::WriteFile { path, .. } if path.ends_with("server.key"))
        })
        .unwrap()
        .id;
    let state = tempfile::tempdir().unwrap();
    let lookup = |h: &str| env.target(h);
    let mut opts = ApplyOptions::new(state.path());
    opts.crash_after_step = Some(key_step);
    assert!(matches!(
        apply::apply(&plan, &lookup, &opts),
        Err(ApplyError::Crashed { .. })
    ));
    // Someone (or a disk) breaks the new key before the server loads it.
    env.hosts[0].add_file(
        &format!("{DATA}/server.key"),
        b"-----BEGIN EC PRIVATE KEY-----\nbroken\n-----END EC PRIVATE KEY-----\n",
        0o600,
        Some("mysql"),
    );
    let opts = ApplyOptions::new(state.path());
    let err = apply::resume("r-broken", &lookup, &opts).unwrap_err();
    assert!(
        err.to_string().contains("FLUSH SSL") || err.to_string().contains("server.key"),
        "{err}"
    );
    assert_eq!(env.served(), served, "the server kept its old certificate");
    apply::rollback("r-broken", &lookup, &opts).unwrap();
    assert_eq!(env.snapshots(), original);
    assert_eq!(env.served(), served);
}

impl Env {
    fn ca_plan(&self, run: &str) -> Plan {
        let reload: BTreeMap<String, Action> = ["db-master", "db-replica-1"]
            .iter()
            .map(|h| {
                (
                    h.to_string(),
                    Action::RunSql {
                        sql: "FLUSH SSL".into(),
                    },
                )
            })
            .collect();
        let texts = |host: &str, path: &str| match self
            .hosts
            .iter()
            .find(|h| h.host() == host)?
            .snapshot()
            .remove(path)
        {
            Some(MemEntry::File(f)) => String::from_utf8(f.content).ok(),
            _ => None,
        };
        ca_rotation(
            &CaRotateInput {
                environment: "production",
                hosts: &self.facts,
                reload: &reload,
                texts: &texts,
                ca_key_path: None,
                common_name: "new CA".into(),
                ca_days: 3650,
                days: 30,
                algo: KeyType::EcdsaP256,
            },
            run,
            "2026-11-30T00:00:00Z",
        )
        .unwrap()
    }
}

fn text_of(t: &MemoryTarget, path: &str) -> String {
    match t.snapshot().remove(path) {
        Some(MemEntry::File(f)) => String::from_utf8(f.content).unwrap(),
        other => panic!("{path}: {other:?}"),
    }
}

#[test]
fn a_staged_ca_rotation_passes_through_bundles_to_the_new_ca_alone() {
    let env = env();
    let before = env.snapshots();
    let served_before = env.served();
    let plan = env.ca_plan("r-ca");
    plan.validate().unwrap();
    let old_ca = text_of(&env.hosts[2], "/home/deploy/.mysql/root.crt");
    // Stage 1 writes bundles before any server certificate changes, and
    // stage 2 changes servers before any client.
    let first = |pred: &dyn Fn(&sslaudit_remediations::plan::Step) -> bool| {
        plan.steps.iter().position(pred).unwrap()
    };
    let bundle = first(&|s| {
        matches!(
            &s.action,
            Action::WriteFile {
                content: sslaudit_remediations::plan::Content::Bundle { .. },
                ..
            }
        )
    });
    let server = first(
        &|s| matches!(&s.action, Action::WriteFile { path, .. } if path.ends_with("server.key")),
    );
    let client = first(
        &|s| matches!(&s.action, Action::WriteFile { path, .. } if path.ends_with("mysql.key")),
    );
    assert!(
        bundle < server && server < client,
        "{bundle} {server} {client}"
    );

    // Killed in the middle of stage 2 and resumed.
    let state = tempfile::tempdir().unwrap();
    let lookup = |h: &str| env.target(h);
    let mut opts = ApplyOptions::new(state.path());
    opts.crash_after_step = Some(server + 1);
    assert!(matches!(
        apply::apply(&plan, &lookup, &opts),
        Err(ApplyError::Crashed { .. })
    ));
    // Meanwhile the application trusts both CAs.
    let mid = text_of(&env.hosts[2], "/home/deploy/.mysql/root.crt");
    assert!(
        mid.starts_with(&old_ca) && mid.len() > old_ca.len(),
        "{mid}"
    );
    apply::resume("r-ca", &lookup, &ApplyOptions::new(state.path())).unwrap();

    let made = store(state.path(), "r-ca");
    let new_ca = &made["ca.crt"];
    for (h, path) in [
        (0, format!("{DATA}/root.crt")),
        (1, "/db/mysql/keygen/deploy/root.crt".to_string()),
        (2, "/home/deploy/.mysql/root.crt".to_string()),
    ] {
        assert_eq!(&text_of(&env.hosts[h], &path), new_ca, "{path}");
    }
    assert_eq!(
        text_of(&env.hosts[0], &format!("{DATA}/root.key")),
        made["ca.key"]
    );
    let ca = openssl::x509::X509::from_pem(new_ca.as_bytes()).unwrap();
    for (i, served) in env.served().into_iter().enumerate() {
        let cert = openssl::x509::X509::from_der(&served.unwrap()).unwrap();
        assert!(
            cert.verify(&ca.public_key().unwrap()).unwrap(),
            "server {i}"
        );
    }
    let client = openssl::x509::X509::from_pem(
        text_of(&env.hosts[2], "/home/deploy/.mysql/mysql.crt").as_bytes(),
    )
    .unwrap();
    assert!(client.verify(&ca.public_key().unwrap()).unwrap());
    keys_private(&env);

    // And the whole run rolls back to the old CA everywhere.
    apply::rollback("r-ca", &lookup, &ApplyOptions::new(state.path())).unwrap();
    assert_eq!(
        text_of(&env.hosts[2], "/home/deploy/.mysql/root.crt"),
        old_ca
    );
    assert_eq!(env.snapshots(), before);
    assert_eq!(env.served(), served_before);
}
