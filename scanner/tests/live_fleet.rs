//! The whole scanner against the project's real test fleet (testfleet/):
//! sshd and MariaDB with TLS per host, one host per seeded fault, behind a
//! bastion. Runs only with SSLAUDIT_LIVE=1 (as root, with the fleet's
//! packages installed: `testfleet/fleet deps`); .ci/run sets it.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod fleet_util;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output};

use fleet_util::{live, root};

/// The fleet of every seeded fault, behind a bastion, and the MySQL
/// password it was made with (a canary the evidence must never hold).
struct Fleet {
    fleet: fleet_util::Fleet,
    password: String,
}

impl Fleet {
    fn up(subnet: u8, spec: &str) -> Fleet {
        let password = format!("pw-{}-canary", std::process::id());
        let spec = root().join(spec).display().to_string();
        let fleet = fleet_util::Fleet::up_with(
            subnet,
            &spec,
            &["--bastion"],
            &[("SSLAUDIT_MYSQL_PASSWORD", &password)],
        );
        Fleet { fleet, password }
    }

    fn path(&self, name: &str) -> String {
        self.fleet.path(name)
    }

    fn sslaudit(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_sslaudit"))
            .args(args)
            .env("SSLAUDIT_MYSQL_PASSWORD", &self.password)
            .output()
            .expect("run sslaudit")
    }

    /// Scans with an inventory and returns the JSON report; its SARIF must
    /// pass Microsoft's validator, its OSCAL NIST's schema and
    /// compliance-trestle.
    fn scan(&self, inventory: &str, extra: &[&str]) -> (serde_json::Value, Output) {
        let json = self.path(&format!("{inventory}.report.json"));
        let sarif = self.path(&format!("{inventory}.report.sarif"));
        let oscal = self.path(&format!("{inventory}.oscal.json"));
        let inv = self.path(inventory);
        let mut args = vec![
            "scan",
            "--inventory",
            inv.as_str(),
            "--json",
            json.as_str(),
            "--sarif",
            sarif.as_str(),
            "--oscal",
            oscal.as_str(),
            "-q",
        ];
        args.extend_from_slice(extra);
        let out = self.sslaudit(&args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "a fleet with faults fails the gate; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        fleet_util::assert_sarif_validates(Path::new(&sarif));
        fleet_util::assert_oscal_validates(Path::new(&oscal));
        (report, out)
    }
}

fn fired(report: &serde_json::Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for h in report["hosts"].as_array().unwrap() {
        out.entry(h["name"].as_str().unwrap().to_string())
            .or_default();
    }
    for f in report["findings"].as_array().unwrap() {
        out.entry(f["host"].as_str().unwrap().to_string())
            .or_default()
            .insert(f["rule_id"].as_str().unwrap().to_string());
    }
    out
}

/// Asserts each host's rules: `must` all fire, and nothing else does
/// unless listed in `may` (consequences of the same seeded fault).
fn check(report: &serde_json::Value, expect: &[(&str, &[&str], &[&str])]) {
    let fired = fired(report);
    let mut errors = Vec::new();
    for (host, must, may) in expect {
        let got = fired.get(*host).cloned().unwrap_or_default();
        for r in *must {
            if !got.contains(*r) {
                errors.push(format!("{host}: expected {r}, got {got:?}"));
            }
        }
        for r in &got {
            if !must.contains(&r.as_str()) && !may.contains(&r.as_str()) {
                errors.push(format!("{host}: unexpected {r} (got {got:?})"));
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

const NONE: &[&str] = &[];

/// `host -> (execs, file rounds)` from the scanner's debug log (`commands
/// run host=... execs=N file_rounds=M`).
fn execs_per_host(log: &str) -> BTreeMap<String, (u32, u32)> {
    let field = |line: &str, name: &str| -> Option<String> {
        let at = line.find(&format!(" {name}="))? + name.len() + 2;
        Some(line[at..].split_whitespace().next()?.to_string())
    };
    // The log may be colored: its escapes go first.
    let mut plain = String::with_capacity(log.len());
    let mut rest = log;
    while let Some(at) = rest.find('\x1b') {
        plain.push_str(&rest[..at]);
        rest = rest[at..].find('m').map_or("", |m| &rest[at + m + 1..]);
    }
    plain.push_str(rest);
    plain
        .lines()
        .filter(|l| l.contains("commands run"))
        .filter_map(|l| {
            let host = field(l, "host")?;
            let execs = field(l, "execs")?.parse().ok()?;
            let rounds = field(l, "file_rounds")?.parse().ok()?;
            Some((host, (execs, rounds)))
        })
        .collect()
}

#[test]
fn the_test_fleet_yields_each_seeded_fault_on_its_host() {
    if !live("the_test_fleet_yields_each_seeded_fault_on_its_host") {
        return;
    }
    let fleet = Fleet::up(41, "testfleet/examples/all-faults.spec");

    // via: ssh — the host's own client, as the seed document does.
    let (ssh, _) = fleet.scan("inventory.yaml", &["--as-of", "2026-11-30"]);
    let common: &[(&str, &[&str], &[&str])] = &[
        ("db-master", NONE, NONE),
        ("db-replica-1", NONE, NONE),
        ("app-1", NONE, NONE),
        ("u-master", NONE, NONE),
        ("f-master", &["SSL005"], NONE),
        ("f-tls11", &["SSL015"], NONE),
        ("f-no-rst", &["SSL017"], NONE),
        ("f-key-mismatch", &["SSL011"], NONE),
        ("f-key-0644", &["SSL014"], NONE),
        ("f-other-ca", &["SSL012"], NONE),
        ("f-repl-no-verify", &["SSL019"], NONE),
        ("f-randfile", &["SSL010"], NONE),
        ("f-yml-no-ssl", &["SSL006"], NONE),
        ("f-yml-localhost", &["SSL007"], NONE),
        ("f-app-mismatch", &["SSL011"], NONE),
        ("f-app-0644", &["SSL014"], NONE),
        ("f-app-other-ca", &["SSL012"], NONE),
        ("u-down", &["SCAN001"], NONE),
        ("u-stall-ssh", &["SCAN001"], NONE),
        ("u-wrong-hostkey", &["SCAN001"], NONE),
        // SSH answered: the database that does not is an audit gap
        // (SCAN002, high), not an unreachable host.
        ("u-stall-mysql", &["SCAN002"], &["SSL018"]),
        // Shapes real fleets have, not faults: MySQL's RSA key pair in the
        // datadir is no certificate; a MySQL-only account and a localhost
        // environment in database.yml are not the master's named users
        // (only the localhost environment's own SSL007); a stock Debian
        // MariaDB (keys in /var/lib/mysql, settings in mariadb.conf.d) is
        // healthy, via ssh and via tcp.
        ("f-rsa", NONE, NONE),
        ("f-yml-mysql-only", &["SSL007"], NONE),
        ("d-master", NONE, NONE),
        ("d-app", NONE, NONE),
    ];
    check(&ssh, common);
    for f in ssh["findings"].as_array().unwrap() {
        if f["host"] == "f-yml-mysql-only" {
            assert!(
                f["message"]
                    .as_str()
                    .unwrap()
                    .contains("environment development"),
                "only the localhost environment: {f}"
            );
        }
    }
    check(
        &ssh,
        &[
            ("f-ssl-off", &["SSL001", "SSL002", "SSL018"], NONE),
            ("f-restart", &["SSL001", "SSL003", "SSL018"], NONE),
            ("f-expired", &["SSL004"], NONE),
            ("f-no-tls", &["SSL018"], &["SSL001", "SSL002", "SSL017"]),
        ],
    );

    // via: tcp — the scanner's own verified TLS session. The scanner never
    // logs in in clear text, so a server without TLS gives no SQL facts:
    // its greeting proves SSL001 (and SSL003 where the option files
    // configure SSL), and a medium SCAN002 says the SQL facts are missing.
    // An expired certificate cannot be verified: the SQL facts are an audit
    // gap (high SCAN002) beside SSL004. No host that answered is SCAN001.
    let (tcp, _) = fleet.scan("inventory-tcp.yaml", &["--as-of", "2026-11-30"]);
    check(&tcp, common);
    check(
        &tcp,
        &[
            // The option files still come over SSH: SSL002 holds either way.
            (
                "f-ssl-off",
                &["SSL001", "SSL002", "SSL018", "SCAN002"],
                NONE,
            ),
            (
                "f-restart",
                &["SSL001", "SSL003", "SSL018", "SCAN002"],
                NONE,
            ),
            ("f-expired", &["SCAN002", "SSL004"], NONE),
            ("f-no-tls", &["SSL001", "SSL002", "SSL018", "SCAN002"], NONE),
        ],
    );
    for f in tcp["findings"].as_array().unwrap() {
        if f["host"] == "f-no-tls" && f["rule_id"] == "SSL001" {
            assert_eq!(f["evidence"]["source"], "probe", "{f}");
        }
        if f["host"] == "f-no-tls" && f["rule_id"] == "SCAN002" {
            assert_eq!(f["severity"], "medium", "{f}");
        }
    }
    let sessions = tcp["findings"].as_array().unwrap();
    assert!(
        sessions
            .iter()
            .all(|f| f["rule_id"] != "SSL018" || f["host"] != "db-master"),
        "the scanner's own TCP session to a healthy server is encrypted"
    );

    // via: tunnel — the same TLS session, through the host's SSH connection.
    let tunnel = std::fs::read_to_string(fleet.path("inventory-tcp.yaml"))
        .unwrap()
        .replace("via: tcp", "via: tunnel");
    std::fs::write(fleet.path("inventory-tunnel.yaml"), tunnel).unwrap();
    let json = fleet.path("tunnel.json");
    let out = fleet.sslaudit(&[
        "scan",
        "--inventory",
        &fleet.path("inventory-tunnel.yaml"),
        "--limit",
        "production",
        "--json",
        &json,
        "-q",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let through: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    check(
        &through,
        &[
            ("db-master", NONE, NONE),
            ("db-replica-1", NONE, NONE),
            ("app-1", NONE, NONE),
        ],
    );

    // A refused MySQL login leaves the host's SQL facts unaudited: a high
    // SCAN002 within the timeout, and the rest of the fleet is scanned as usual.
    let json = fleet.path("refused.json");
    let out = Command::new(env!("CARGO_BIN_EXE_sslaudit"))
        .args(["scan", "--inventory", &fleet.path("inventory-tcp.yaml")])
        .args(["--limit", "production", "--json", &json, "-q"])
        .env("SSLAUDIT_MYSQL_PASSWORD", "not-the-password")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let refused: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    check(
        &refused,
        &[
            ("db-master", &["SCAN002"], NONE),
            ("db-replica-1", &["SCAN002"], NONE),
            ("app-1", NONE, NONE),
        ],
    );
    assert!(
        refused["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Access denied"),
        "{}",
        refused["findings"][0]
    );

    // Evidence collected now and scanned later gives the same findings.
    let evidence = fleet.path("evidence");
    let out = fleet.sslaudit(&[
        "collect",
        "--inventory",
        &fleet.path("inventory.yaml"),
        "--out",
        &evidence,
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let offline = fleet.path("offline.json");
    let out = fleet.sslaudit(&[
        "scan",
        "--snapshot",
        &evidence,
        "--as-of",
        "2026-11-30",
        "--json",
        &offline,
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let offline: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&offline).unwrap()).unwrap();
    let as_lines = |r: &serde_json::Value| -> BTreeSet<String> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.to_string())
            .collect()
    };
    let (live_set, offline_set) = (as_lines(&ssh), as_lines(&offline));
    assert!(
        live_set == offline_set,
        "collect-then-scan differs from the live scan:\nonly live:\n{}\nonly offline:\n{}",
        live_set
            .difference(&offline_set)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n"),
        offline_set
            .difference(&live_set)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(
        offline["findings"], ssh["findings"],
        "the same findings, in the same order"
    );
    let snapshot_text = std::process::Command::new("grep")
        .args(["-rl", &fleet.password, &evidence])
        .output()
        .unwrap();
    assert!(
        snapshot_text.stdout.is_empty(),
        "the MySQL password reached the snapshot"
    );

    // The same evidence as one packed file (`collect --packed`): the
    // folder's findings, and no password in it either.
    let packed = fleet.path("evidence.sslsnap");
    let out = fleet.sslaudit(&[
        "collect",
        "--inventory",
        &fleet.path("inventory.yaml"),
        "--packed",
        "--out",
        &packed,
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let packed_json = fleet.path("offline-packed.json");
    let out = fleet.sslaudit(&[
        "scan",
        "--snapshot",
        &packed,
        "--as-of",
        "2026-11-30",
        "--json",
        &packed_json,
        "-q",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let from_packed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&packed_json).unwrap()).unwrap();
    assert_eq!(
        from_packed["findings"], offline["findings"],
        "collect --packed: the folder's findings"
    );
    let bytes = std::fs::read(&packed).unwrap();
    assert!(
        !bytes
            .windows(fleet.password.len())
            .any(|w| w == fleet.password.as_bytes()),
        "the MySQL password reached the packed snapshot"
    );

    // One exec per file round and nothing else: a database host's own
    // client (via ssh) runs in the first round's exec, not one of its own.
    let out = fleet.sslaudit(&[
        "collect",
        "--inventory",
        &fleet.path("inventory.yaml"),
        "--limit",
        "db-master",
        "--limit",
        "f-ssl-off",
        "--limit",
        "app-1",
        "--out",
        &fleet.path("execs"),
        "-vv",
    ]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let costs = execs_per_host(&log);
    for host in [
        "production/db-master",
        "faulty/f-ssl-off",
        "production/app-1",
    ] {
        let (execs, rounds) = costs
            .get(host)
            .unwrap_or_else(|| panic!("no `commands run` line for {host}:\n{log}"));
        assert!(*rounds >= 1, "{host}: {rounds} rounds");
        assert_eq!(
            execs, rounds,
            "{host}: one exec per file round, the client's included"
        );
    }
    // ...and its facts are there.
    let found = Command::new("grep")
        .args(["-rl", "have_ssl", &fleet.path("execs")])
        .output()
        .unwrap();
    let found = String::from_utf8_lossy(&found.stdout);
    assert!(
        found
            .lines()
            .any(|l| l.contains("db-master") && l.ends_with("mysql.json")),
        "{found}"
    );

    // The probe alone: a healthy server and one that still accepts TLS 1.1.
    let out = fleet.sslaudit(&["probe", "127.0.41.1", "127.0.41.8", "--timeout", "3s"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("SSL015"),
        "the TLS 1.1 server is flagged:\n{text}"
    );
    let healthy = text
        .lines()
        .find(|l| l.starts_with("127.0.41.1:3306"))
        .unwrap_or_default();
    assert!(healthy.contains("accepts TLSv1.2, TLSv1.3"), "{text}");

    // inventory check: a table, and exit 1 while some hosts are not ready.
    let out = fleet.sslaudit(&[
        "inventory",
        "check",
        "--inventory",
        &fleet.path("inventory.yaml"),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("production/db-master") && text.contains("ok (via ssh)"),
        "{text}"
    );
}
