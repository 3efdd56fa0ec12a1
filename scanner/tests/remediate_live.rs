//! Remediation runs against the project's real test fleet (testfleet/):
//! a leaf key rotation of an environment (master, replica, application
//! host), interrupted and resumed; and one whose new key is broken, which
//! must roll back to the old, working certificates. Runs only with
//! SSLAUDIT_LIVE=1 (root, `testfleet/fleet deps`); .ci/run sets it.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

mod fleet_util;

use fleet_util::live;

const SPEC: &str = "\
db-master     production   db_master
db-replica-1  production   db_replica
app-1         production   app
";

/// An environment before its hardening: the application's account does not
/// require a certificate, and its host has no keys and a database.yml
/// without TLS.
const UNHARDENED: &str = "\
db-master     production   db_master   account-no-x509
app-1         production   app         yml-no-ssl,no-client-keys
";

/// A fleet and the state folder of the runs made on it.
struct Fleet {
    fleet: fleet_util::Fleet,
    state: tempfile::TempDir,
}

impl std::ops::Deref for Fleet {
    type Target = fleet_util::Fleet;
    fn deref(&self) -> &fleet_util::Fleet {
        &self.fleet
    }
}

impl Fleet {
    fn up(subnet: u8, hosts: &str) -> Fleet {
        Fleet {
            fleet: fleet_util::Fleet::up_with(subnet, hosts, &[], &[]),
            state: tempfile::tempdir().unwrap(),
        }
    }

    fn inventory(&self) -> String {
        self.dir.path().join("inventory.yaml").display().to_string()
    }

    fn sslaudit(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let state = self.state.path().display().to_string();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sslaudit"));
        cmd.args(args);
        // Everything but planning runs, and runs keep journals.
        if args.get(1) != Some(&"plan") {
            cmd.args(["--state-dir", &state]);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    /// A file of a host, read from its overlay's upper layer (every file
    /// the fleet or a remediation wrote is there).
    fn file(&self, host: &str, path: &str) -> Option<Vec<u8>> {
        std::fs::read(
            self.dir
                .path()
                .join("hosts")
                .join(host)
                .join("upper")
                .join(path.trim_start_matches('/')),
        )
        .ok()
    }

    /// SHA-256 of every file under the hosts' key folders.
    fn key_files(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for host in ["db-master", "db-replica-1", "app-1"] {
            for top in ["db", "home/deploy", "etc/mysql", "data/shop"] {
                let base = self
                    .dir
                    .path()
                    .join("hosts")
                    .join(host)
                    .join("upper")
                    .join(top);
                walk(&base, &mut |p| {
                    if let Ok(bytes) = std::fs::read(p) {
                        let rel = p
                            .strip_prefix(self.dir.path())
                            .unwrap()
                            .display()
                            .to_string();
                        if !rel.contains("/data/") || rel.ends_with(".crt") || rel.ends_with(".key")
                        {
                            out.insert(rel, hex::encode(Sha256::digest(&bytes)));
                        }
                    }
                });
            }
        }
        out
    }

    /// SHA-256 of the leaf certificate the server at `address` presents.
    fn served(&self, address: &str) -> String {
        let rec = sslaudit_scanner::probe::probe_tcp(
            &format!("{address}:3306"),
            &sslaudit_scanner::probe::ProbeOptions {
                versions: false,
                ..Default::default()
            },
        );
        let pem = rec
            .chain_pem
            .first()
            .unwrap_or_else(|| panic!("no certificate from {address}: {rec:?}"));
        let der = openssl::x509::X509::from_pem(pem.as_bytes())
            .unwrap()
            .to_der()
            .unwrap();
        hex::encode(Sha256::digest(der))
    }

    fn runs(&self) -> Vec<String> {
        let mut runs: Vec<String> = std::fs::read_dir(self.state.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("rotate-"))
            .collect();
        runs.sort();
        runs
    }
}

fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, f);
        } else {
            f(&p);
        }
    }
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The application's account logs in over TLS with the client files of
/// the application host (the mariadb client of this machine, the files of
/// app-1), and the session is encrypted.
fn app_connects(fleet: &Fleet) -> bool {
    let yml = String::from_utf8(
        fleet
            .file("app-1", "/data/shop/current/config/database.yml")
            .unwrap(),
    )
    .unwrap();
    let password = yml
        .lines()
        .find_map(|l| l.trim().strip_prefix("password:"))
        .map(|p| p.trim().trim_matches('\'').trim_matches('"').to_string())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for f in ["root.crt", "mysql.crt", "mysql.key"] {
        std::fs::write(
            dir.path().join(f),
            fleet
                .file("app-1", &format!("/home/deploy/.mysql/{f}"))
                .unwrap(),
        )
        .unwrap();
    }
    let p = |f: &str| dir.path().join(f).display().to_string();
    let out = Command::new("mariadb")
        .args(["--no-defaults", "--batch", "--skip-column-names", "-h"])
        .arg(fleet.address(1))
        .args(["-u", "deploy", &format!("-p{password}")])
        .arg(format!("--ssl-ca={}", p("root.crt")))
        .arg(format!("--ssl-cert={}", p("mysql.crt")))
        .arg(format!("--ssl-key={}", p("mysql.key")))
        .args(["-e", "SHOW STATUS LIKE 'Ssl_cipher'"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    out.status.success() && stdout.contains("Ssl_cipher\t") && !stdout.contains("Ssl_cipher\t\n")
}

/// `sslaudit` with the fleet's state directory, asserting the exit code.
fn run_ok(fleet: &Fleet, args: &[&str], code: i32) -> String {
    let out = fleet.sslaudit(args, &[]);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Logs in as `deploy` over TLS without a client certificate.
fn login_without_certificate(fleet: &Fleet, password: &str) -> Output {
    Command::new("mariadb")
        .args([
            "--no-defaults",
            "--batch",
            "--ssl",
            "--skip-ssl-verify-server-cert",
            "-h",
        ])
        .arg(fleet.address(1))
        .args(["-u", "deploy", &format!("-p{password}"), "-e", "SELECT 1"])
        .output()
        .unwrap()
}

fn fires(by_host: &BTreeMap<String, Vec<String>>, host: &str, rule: &str) -> bool {
    by_host
        .get(host)
        .is_some_and(|r| r.iter().any(|x| x == rule))
}

/// None of `rules` fires on any of `hosts`.
fn assert_none_fire(by_host: &BTreeMap<String, Vec<String>>, hosts: &[&str], rules: &[&str]) {
    for host in hosts {
        for rule in rules {
            assert!(
                !fires(by_host, host, rule),
                "{host}: {rule} still fires: {by_host:?}"
            );
        }
    }
}

/// A rotation killed (the test switch) right after the master's new key
/// landed, before its server reloads.
fn crash_rotation_after_the_masters_key(fleet: &Fleet) {
    let inv = fleet.inventory();
    let out = fleet.sslaudit(
        &[
            "rotate",
            "--inventory",
            &inv,
            "--environment",
            "production",
            "--yes",
        ],
        &[("SSLAUDIT_TEST_CRASH_AFTER_STEP", "4")],
    );
    assert!(!out.status.success(), "{}", text(&out));
}

fn rules_per_host(fleet: &Fleet) -> BTreeMap<String, Vec<String>> {
    let json = fleet.dir.path().join("scan.json").display().to_string();
    let inv = fleet.inventory();
    let out = Command::new(env!("CARGO_BIN_EXE_sslaudit"))
        .args([
            "scan",
            "--inventory",
            &inv,
            "--json",
            &json,
            "-q",
            "--fail-on",
            "never",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in report["findings"].as_array().unwrap() {
        by.entry(f["host"].as_str().unwrap().into())
            .or_default()
            .push(f["rule_id"].as_str().unwrap().into());
    }
    by
}

#[test]
fn rotation_dry_run_then_crash_and_resume_ends_with_new_working_keys() {
    if !live("rotation_dry_run_then_crash_and_resume_ends_with_new_working_keys") {
        return;
    }
    let fleet = Fleet::up(51, SPEC);
    let inv = fleet.inventory();
    let before_files = fleet.key_files();
    let before_findings = rules_per_host(&fleet);
    assert!(
        before_findings.is_empty(),
        "a healthy environment has no finding: {before_findings:?}"
    );
    let (master0, replica0) = (
        fleet.served(&fleet.address(1)),
        fleet.served(&fleet.address(2)),
    );
    assert!(
        app_connects(&fleet),
        "the fresh fleet's application connects"
    );

    // The plan is shown, and a dry run changes nothing on any host.
    let out = fleet.sslaudit(
        &[
            "rotate",
            "--inventory",
            &inv,
            "--environment",
            "production",
            "--dry-run",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("leaf key rotation of environment production"),
        "{stdout}"
    );
    assert!(stdout.contains("signed by"), "{stdout}");
    assert!(stdout.contains("dry run: nothing was changed"), "{stdout}");
    assert_eq!(fleet.key_files(), before_files, "dry run changed files");
    assert!(fleet.runs().is_empty(), "dry run left a journal");

    // Killed right after the master's new key landed, before its reload.
    crash_rotation_after_the_masters_key(&fleet);
    let runs = fleet.runs();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run = &runs[0];
    assert_eq!(fleet.served(&fleet.address(1)), master0, "not reloaded yet");

    // A second run on the environment is refused while this one holds it.
    let out = fleet.sslaudit(
        &[
            "rotate",
            "--inventory",
            &inv,
            "--environment",
            "production",
            "--yes",
        ],
        &[],
    );
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("locked by run {run}")),
        "{}",
        text(&out)
    );

    let out = fleet.sslaudit(&["remediate", "resume", run, "--inventory", &inv], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("done and verified"),
        "{}",
        text(&out)
    );

    // The servers present new certificates; the old keys are in
    // /db/old_keys/server/<run>/ on each database host, byte for byte.
    assert_ne!(fleet.served(&fleet.address(1)), master0);
    assert_ne!(fleet.served(&fleet.address(2)), replica0);
    let datadir = before_files
        .keys()
        .find(|k| k.starts_with("hosts/db-master/") && k.ends_with("/data/server.key"))
        .unwrap()
        .trim_start_matches("hosts/db-master/upper")
        .to_string();
    let old = fleet
        .file(
            "db-master",
            &format!("/db/old_keys/server/{run}/server.key"),
        )
        .unwrap();
    assert_eq!(
        hex::encode(Sha256::digest(&old)),
        before_files[&format!("hosts/db-master/upper{datadir}")]
    );
    assert_ne!(fleet.file("db-master", &datadir).unwrap(), old);
    assert!(
        fleet
            .file(
                "db-replica-1",
                &format!("/db/old_keys/user/{run}/deploy/mysql.key")
            )
            .is_some()
    );
    // The application's new client certificate works, and the rescan has
    // nothing new.
    assert_ne!(fleet.file("app-1", "/home/deploy/.mysql/mysql.key"), None);
    assert!(
        app_connects(&fleet),
        "the application connects with its new keys"
    );
    assert_eq!(rules_per_host(&fleet), before_findings);
}

#[test]
fn a_rotation_whose_new_key_is_broken_rolls_back_to_the_working_keys() {
    if !live("a_rotation_whose_new_key_is_broken_rolls_back_to_the_working_keys") {
        return;
    }
    let fleet = Fleet::up(52, SPEC);
    let inv = fleet.inventory();
    let master0 = fleet.served(&fleet.address(1));
    let before_files = fleet.key_files();
    crash_rotation_after_the_masters_key(&fleet);
    let run = fleet.runs().pop().unwrap();
    // Break the new key on the master before the server loads it.
    let key = before_files
        .keys()
        .find(|k| k.starts_with("hosts/db-master/") && k.ends_with("/data/server.key"))
        .unwrap()
        .clone();
    std::fs::write(
        fleet.dir.path().join(&key),
        "-----BEGIN RSA PRIVATE KEY-----\nbroken\n-----END RSA PRIVATE KEY-----\n",
    )
    .unwrap();
    let out = fleet.sslaudit(&["remediate", "resume", &run, "--inventory", &inv], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rolled back"), "{}", text(&out));
    // The server still presents the old certificate, the old key is back,
    // and the application still connects.
    assert_eq!(fleet.served(&fleet.address(1)), master0);
    assert_eq!(fleet.key_files()[&key], before_files[&key]);
    assert!(app_connects(&fleet));
}

#[test]
fn keygen_then_database_yml_then_enforce_x509_harden_an_environment() {
    if !live("keygen_then_database_yml_then_enforce_x509_harden_an_environment") {
        return;
    }
    let fleet = Fleet::up(54, UNHARDENED);
    let inv = fleet.inventory();
    let before = rules_per_host(&fleet);
    assert!(fires(&before, "db-master", "SSL005"), "{before:?}");
    assert!(fires(&before, "app-1", "SSL006"), "{before:?}");
    let dir = fleet.dir.path().display().to_string();
    let plan = |name: &str| format!("{dir}/{name}.json");

    // Requiring X509 now would lock the application out: refused.
    let out = run_ok(
        &fleet,
        &[
            "remediate",
            "plan",
            "--inventory",
            &inv,
            "--rule",
            "SSL005",
            "-o",
            &plan("x509-early"),
        ],
        1,
    );
    assert!(out.contains("not planned: SSL005 on db-master"), "{out}");
    assert!(out.contains("keygen --inventory"), "{out}");

    // keygen gives app-1 deploy's keys, signed by the environment's CA on
    // the master.
    let out = run_ok(
        &fleet,
        &[
            "keygen",
            "--inventory",
            &inv,
            "--environment",
            "production",
            "--yes",
        ],
        0,
    );
    assert!(out.contains("done and verified"), "{out}");
    assert!(
        fleet
            .file("app-1", "/home/deploy/.mysql/mysql.key")
            .is_some()
    );
    let key_mode = std::fs::metadata(
        fleet
            .dir
            .path()
            .join("hosts/app-1/upper/home/deploy/.mysql/mysql.key"),
    )
    .unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&key_mode.permissions()) & 0o777,
        0o600
    );

    // The database.yml edit: planned, previewed (nothing changes), applied.
    let yml = "/data/shop/current/config/database.yml";
    let original = String::from_utf8(fleet.file("app-1", yml).unwrap()).unwrap();
    run_ok(
        &fleet,
        &[
            "remediate",
            "plan",
            "--inventory",
            &inv,
            "--rule",
            "SSL006",
            "-o",
            &plan("yml"),
        ],
        0,
    );
    let files = fleet.key_files();
    let out = run_ok(
        &fleet,
        &[
            "remediate",
            "apply",
            &plan("yml"),
            "--inventory",
            &inv,
            "--dry-run",
        ],
        0,
    );
    assert!(
        out.contains("+  sslca:"),
        "the dry run shows the diff: {out}"
    );
    assert_eq!(fleet.key_files(), files, "dry run changed files");
    let out = run_ok(
        &fleet,
        &[
            "remediate",
            "apply",
            &plan("yml"),
            "--inventory",
            &inv,
            "--yes",
        ],
        0,
    );
    assert!(out.contains("done and verified"), "{out}");
    let edited = String::from_utf8(fleet.file("app-1", yml).unwrap()).unwrap();
    assert!(
        edited.contains("# Puma's threads each hold a connection."),
        "{edited}"
    );
    assert!(
        edited.contains("<%= ENV.fetch(\"RAILS_MAX_THREADS\") { 5 } %>"),
        "{edited}"
    );
    assert!(edited.contains("sslcert:"), "{edited}");
    for line in original.lines() {
        assert!(edited.contains(line), "the edit lost {line:?}:\n{edited}");
    }

    // Now X509 can be required: the application still connects with its
    // certificate, and a login without one is refused.
    let out = run_ok(
        &fleet,
        &[
            "remediate",
            "plan",
            "--inventory",
            &inv,
            "--rule",
            "SSL005",
            "-o",
            &plan("x509"),
        ],
        0,
    );
    assert!(out.contains("REQUIRE X509"), "{out}");
    let out = run_ok(
        &fleet,
        &[
            "remediate",
            "apply",
            &plan("x509"),
            "--inventory",
            &inv,
            "--yes",
        ],
        0,
    );
    assert!(out.contains("done and verified"), "{out}");
    assert!(
        app_connects(&fleet),
        "the application connects with its certificate"
    );
    let password = edited
        .lines()
        .find_map(|l| l.trim().strip_prefix("password:"))
        .map(|p| p.trim().trim_matches('\'').trim_matches('"').to_string())
        .unwrap();
    // Neither the plans nor the journals ever held the password.
    for path in [plan("yml"), plan("x509")] {
        assert!(
            !std::fs::read_to_string(&path).unwrap().contains(&password),
            "{path}"
        );
    }
    walk(fleet.state.path(), &mut |p| {
        let bytes = std::fs::read(p).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&password),
            "{} holds the password",
            p.display()
        );
    });
    let out = login_without_certificate(&fleet, &password);
    assert!(
        !out.status.success(),
        "a login without a certificate must fail: {}",
        text(&out)
    );

    // The app-side rules pass, and nothing else fired.
    let after = rules_per_host(&fleet);
    assert_none_fire(
        &after,
        &["db-master", "app-1"],
        &["SSL005", "SSL006", "SSL013"],
    );
}

#[test]
fn a_staged_ca_rotation_moves_the_environment_to_a_new_ca_without_downtime() {
    if !live("a_staged_ca_rotation_moves_the_environment_to_a_new_ca_without_downtime") {
        return;
    }
    let fleet = Fleet::up(53, SPEC);
    let inv = fleet.inventory();
    let before = rules_per_host(&fleet);
    let old_ca = fleet.file("app-1", "/home/deploy/.mysql/root.crt").unwrap();
    let master0 = fleet.served(&fleet.address(1));
    let out = run_ok(
        &fleet,
        &[
            "rotate",
            "--inventory",
            &inv,
            "--environment",
            "production",
            "--ca",
            "--yes",
        ],
        0,
    );
    assert!(
        out.contains("staged CA rotation of environment production"),
        "{out}"
    );
    assert!(out.contains("done and verified"), "{out}");
    // Every CA file holds the new CA alone; both servers present
    // certificates it signed; the application connects with its new keys.
    let new_ca = fleet.file("app-1", "/home/deploy/.mysql/root.crt").unwrap();
    assert_ne!(new_ca, old_ca);
    let ca = openssl::x509::X509::from_pem(&new_ca).unwrap();
    assert_eq!(
        openssl::x509::X509::stack_from_pem(&new_ca).unwrap().len(),
        1
    );
    for n in [1, 2] {
        let rec = sslaudit_scanner::probe::probe_tcp(
            &format!("{}:3306", fleet.address(n)),
            &sslaudit_scanner::probe::ProbeOptions {
                versions: false,
                ..Default::default()
            },
        );
        let leaf = openssl::x509::X509::from_pem(rec.chain_pem[0].as_bytes()).unwrap();
        assert!(
            leaf.verify(&ca.public_key().unwrap()).unwrap(),
            "server {n}"
        );
    }
    assert_ne!(fleet.served(&fleet.address(1)), master0);
    assert!(app_connects(&fleet));
    assert_eq!(rules_per_host(&fleet), before);
}

/// The config runner on live hosts: an active RANDFILE line (SSL010) and
/// private keys readable by others (SSL014), fixed in one plan and gone on
/// the rescan; the edit keeps the rest of openssl.cnf.
const LOOSE: &str = "\
db-master     production   db_master   randfile,key-0644
app-1         production   app         key-0644
";

#[test]
fn config_fixes_comment_out_randfile_and_tighten_keys() {
    if !live("config_fixes_comment_out_randfile_and_tighten_keys") {
        return;
    }
    let fleet = Fleet::up(56, LOOSE);
    let inv = fleet.inventory();
    let before = rules_per_host(&fleet);
    assert!(fires(&before, "db-master", "SSL010"), "{before:?}");
    assert!(fires(&before, "app-1", "SSL014"), "{before:?}");
    let cnf = String::from_utf8(fleet.file("db-master", "/etc/ssl/openssl.cnf").unwrap()).unwrap();
    let plan = fleet.dir.path().join("config.json").display().to_string();
    let out = run_ok(
        &fleet,
        &[
            "remediate",
            "plan",
            "--inventory",
            &inv,
            "--rule",
            "SSL010",
            "--rule",
            "SSL014",
            "-o",
            &plan,
        ],
        0,
    );
    assert!(
        out.contains("set /home/deploy/.mysql/mysql.key to mode 0600"),
        "{out}"
    );
    let out = run_ok(
        &fleet,
        &["remediate", "apply", &plan, "--inventory", &inv, "--yes"],
        0,
    );
    assert!(out.contains("done and verified"), "{out}");
    let edited =
        String::from_utf8(fleet.file("db-master", "/etc/ssl/openssl.cnf").unwrap()).unwrap();
    assert!(
        edited.contains("#RANDFILE") || edited.contains("# RANDFILE"),
        "{edited}"
    );
    assert_eq!(
        edited.lines().count(),
        cnf.lines().count(),
        "one line changed, none lost"
    );
    let mode = |host: &str, path: &str| {
        let p = fleet
            .dir
            .path()
            .join("hosts")
            .join(host)
            .join("upper")
            .join(path);
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).unwrap().permissions())
            & 0o777
    };
    assert_eq!(mode("app-1", "home/deploy/.mysql/mysql.key"), 0o600);
    let after = rules_per_host(&fleet);
    assert_none_fire(&after, &["db-master", "app-1"], &["SSL010", "SSL014"]);
}
