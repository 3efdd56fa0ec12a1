//! Faults against the live test fleet (docs/RELIABILITY.md): every way a host can
//! fail the scan gives its finding within the timeout while the rest of the
//! fleet is scanned as usual, with no panic and exit status 1; and the trust
//! the scanner puts in hosts (SSH host keys, the MySQL server certificate)
//! is checked, never assumed. Runs only with SSLAUDIT_LIVE=1 (root,
//! `testfleet/fleet deps`); .ci/run sets it. Subnets 70 and 74.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod fleet_util;

use std::time::{Duration, Instant};

use fleet_util::{Expect, Fleet, assert_sane, by_host, check, live, report, sslaudit, text};

/// One fault per host of the `faults` environment, beside a healthy
/// `production`.
const FAULTS: &str = "\
db-master      production  db_master
db-replica-1   production  db_replica
app-1          production  app
x-refused      faults      app         down
x-hostkey      faults      app         wrong-hostkey
x-auth         faults      app         auth-refused
x-silent-ssh   faults      app         stall-ssh
x-dies         faults      app         dies-mid-scan
x-sudo         faults      app         sudo-password
x-key-perm     faults      app         key-unreadable
x-vanish       faults      app         vanishing-file
x-master       faults      db_master   mysql-login-refused
x-stall-mysql  faults      db_replica  stall-mysql
x-ssl-error    faults      db_replica  mysql-ssl-error
x-tls-reset    faults      db_replica  mysql-tls-reset
x-untrusted    faults      db_replica  other-ca
";

const TIMEOUT_SECS: u64 = 3;
const NONE: &[&str] = &[];

#[test]
fn each_fault_gives_its_finding_while_the_rest_is_scanned() {
    if !live("each_fault_gives_its_finding_while_the_rest_is_scanned") {
        return;
    }
    let password = format!("pw-{}-faults", std::process::id());
    let fleet = Fleet::up(
        70,
        FAULTS,
        &["--scan-timeout", &format!("{TIMEOUT_SECS}s")],
        &[("SSLAUDIT_MYSQL_PASSWORD", &password)],
    );
    // via: tcp, so the scanner's own MySQL session meets the MySQL faults;
    // x-untrusted is checked against its environment's CA, not its own.
    let inv = Fleet::strip_host_overrides(&fleet.read("inventory-tcp.yaml"), "x-untrusted");
    let inv = fleet.write("inventory-faults.yaml", &inv);
    let json = fleet.path("faults.json");
    let started = Instant::now();
    let out = sslaudit(
        &[
            "scan",
            "--inventory",
            &inv,
            "--json",
            &json,
            "--jobs",
            "32",
            "-q",
        ],
        &[("SSLAUDIT_MYSQL_PASSWORD", &password)],
        fleet.dir.path(),
    );
    let took = started.elapsed();
    eprintln!("scan of {} hosts with faults took {took:?}", 16);
    assert_sane(&out);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // Not a speed target (benchmarks measure speed): a guard against a fault
    // that hangs the scan. Stalls cost a few timeouts each, in parallel; the
    // bound leaves room for a loaded machine.
    assert!(
        took < Duration::from_secs(20 * TIMEOUT_SECS),
        "the faults held the scan {took:?}"
    );
    let r = report(&json);
    let expect: &[Expect<'_>] = &[
        // The healthy environment is scanned as usual.
        ("db-master", &[], NONE),
        ("db-replica-1", &[], NONE),
        ("app-1", &[], NONE),
        ("x-refused", &[("SCAN001", "Connection refused")], NONE),
        ("x-hostkey", &[("SCAN001", "host key changed")], NONE),
        ("x-auth", &[("SCAN001", "was refused for user root")], NONE),
        (
            "x-silent-ssh",
            &[(
                "SCAN001",
                "timed out after 3s while doing the ssh handshake",
            )],
            NONE,
        ),
        (
            "x-dies",
            &[("SCAN001", "logged in, but nothing could be read")],
            NONE,
        ),
        ("x-sudo", &[("SCAN001", "sudo requires a password")], NONE),
        // Scanned as deploy: its own client key is root's alone.
        (
            "x-key-perm",
            &[("SSL006", "/home/deploy/.mysql/mysql.key")],
            &["SCAN002"],
        ),
        (
            "x-vanish",
            &[("SCAN002", "/etc/mysql/conf.d/zz-vanishing.cnf")],
            NONE,
        ),
        // Hosts that answered are never unreachable: a database the scanner
        // could not get into is a high SCAN002 (an audit gap all the same).
        ("x-master", &[("SCAN002", "Access denied")], NONE),
        (
            "x-stall-mysql",
            &[
                ("SCAN002", "TLS handshake"),
                ("SSL018", "timed out after 3s"),
            ],
            NONE,
        ),
        (
            "x-ssl-error",
            &[
                ("SCAN002", "TLS handshake"),
                ("SSL018", "answered the SSLRequest with error 1043"),
            ],
            NONE,
        ),
        (
            "x-tls-reset",
            &[
                ("SCAN002", "reset"),
                ("SSL018", "connection reset during the TLS handshake"),
            ],
            NONE,
        ),
        (
            "x-untrusted",
            &[("SCAN002", "certificate verify failed")],
            &["SSL012"],
        ),
    ];
    check(&r, expect);
    let got = by_host(&r);
    let perm = got["x-key-perm"]["SSL006"].join("\n");
    assert!(perm.contains("permission denied"), "{perm}");
    let vanish = got["x-vanish"]["SCAN002"].join("\n");
    assert!(vanish.contains("vanished"), "{vanish}");

    // A host the scanner logged in to but could not read (sudo wants a
    // password) fails the gate even at --fail-on critical: SCAN001 always
    // does, so an audit never passes by silence.
    let json = fleet.path("sudo.json");
    let out = sslaudit(
        &[
            "scan",
            "--inventory",
            &inv,
            "--limit",
            "x-sudo",
            "--limit",
            "app-1",
            "--json",
            &json,
            "--fail-on",
            "critical",
            "-q",
        ],
        &[("SSLAUDIT_MYSQL_PASSWORD", &password)],
        fleet.dir.path(),
    );
    assert_sane(&out);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // inventory check says the same per host, and exits 1.
    let out = sslaudit(
        &["inventory", "check", "--inventory", &inv, "--limit", "x-*"],
        &[("SSLAUDIT_MYSQL_PASSWORD", &password)],
        fleet.dir.path(),
    );
    assert_sane(&out);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    for want in [
        "sudo requires a password",
        "host key changed",
        "Access denied",
    ] {
        assert!(table.contains(want), "{want}:\n{table}");
    }

    // Via ssh the host's client shares the first file round's exec: a
    // client that stalls (its server stopped) costs the SQL facts, within
    // the timeout, never the files read beside it.
    let stop = fleet.ssh("db-replica-1", "kill -STOP $(pidof mariadbd)");
    assert!(stop.status.success(), "{}", text(&stop));
    let json = fleet.path("stalled-client.json");
    let out = sslaudit(
        &[
            "scan",
            "--inventory",
            &fleet.path("inventory.yaml"),
            "--limit",
            "db-replica-1",
            "--json",
            &json,
            "-q",
        ],
        &[("SSLAUDIT_MYSQL_PASSWORD", &password)],
        fleet.dir.path(),
    );
    let cont = fleet.ssh("db-replica-1", "kill -CONT $(pidof mariadbd)");
    assert!(cont.status.success(), "{}", text(&cont));
    assert_sane(&out);
    let r = report(&json);
    check(
        &r,
        &[(
            "db-replica-1",
            &[(
                "SCAN002",
                "mysql client could not be run, so its SQL facts were not checked: \
                 db-replica-1: timed out after 3s while reading a command's output",
            )],
            NONE,
        )],
    );
    let host = &r["hosts"][0];
    assert_eq!(host["status"], "partial", "{host}");
}

const TRUST: &str = "\
db-master   production  db_master
app-1       production  app
x-hostkey   production  app         wrong-hostkey
x-other     production  db_replica  other-ca
";

#[test]
fn host_keys_and_server_certificates_are_verified_by_default() {
    if !live("host_keys_and_server_certificates_are_verified_by_default") {
        return;
    }
    let password = format!("pw-{}-trust", std::process::id());
    let env = [("SSLAUDIT_MYSQL_PASSWORD", password.as_str())];
    let fleet = Fleet::up(74, TRUST, &["--scan-timeout", "3s"], &env);
    let app = "127.0.74.2";

    // known_hosts without app-1: an unknown key is refused and reported,
    // and known_hosts is left alone.
    let known = fleet.read("known_hosts");
    let partial: String = known
        .lines()
        .filter(|l| !l.starts_with(&format!("{app} ")))
        .map(|l| format!("{l}\n"))
        .collect();
    let kh = fleet.write("known_hosts.partial", &partial);
    let inv = fleet
        .read("inventory.yaml")
        .replace(&fleet.path("known_hosts"), &kh);
    let inv = fleet.write("inventory-partial.yaml", &inv);
    let scan = |extra: &[&str], name: &str| {
        let json = fleet.path(name);
        let mut args = vec!["scan", "--inventory", &inv, "--json", &json, "-q"];
        args.extend_from_slice(extra);
        let out = sslaudit(&args, &env, fleet.dir.path());
        assert_sane(&out);
        (report(&json), out)
    };
    let (r, out) = scan(&[], "strict.json");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    check(
        &r,
        &[
            ("db-master", &[], NONE),
            (
                "app-1",
                &[("SCAN001", "unknown host key ssh-ed25519")],
                NONE,
            ),
            ("x-hostkey", &[("SCAN001", "host key changed")], NONE),
        ],
    );
    assert_eq!(std::fs::read_to_string(&kh).unwrap(), partial);

    // --accept-new-host-keys: loud, records app-1's real key (only), and
    // still refuses the changed one.
    let (r, out) = scan(&["--accept-new-host-keys"], "accept.json");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("WARNING: --accept-new-host-keys"),
        "{stderr}"
    );
    assert!(
        stderr.contains("trusted the new host key ssh-ed25519 SHA256:"),
        "{stderr}"
    );
    check(
        &r,
        &[
            ("app-1", &[], NONE),
            ("x-hostkey", &[("SCAN001", "host key changed")], NONE),
        ],
    );
    let now = std::fs::read_to_string(&kh).unwrap();
    let added: Vec<&str> = now.lines().filter(|l| !partial.contains(*l)).collect();
    let real = std::fs::read_to_string(
        fleet
            .upper("app-1")
            .join("etc/ssh/ssh_host_ed25519_key.pub"),
    )
    .unwrap();
    let real: Vec<&str> = real.split_whitespace().take(2).collect();
    assert_eq!(added, [format!("{app} {} {}", real[0], real[1])], "{now}");
    // Recorded once: the next strict scan trusts it.
    let (r, out) = scan(&[], "after.json");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("WARNING"));
    check(&r, &[("app-1", &[], NONE)]);

    // MySQL over TCP verifies the server certificate against the configured
    // CA: x-other's certificate, from another CA, is refused with the
    // environment's CA, and accepted with its own.
    let tcp = fleet.read("inventory-tcp.yaml");
    for (name, inv_text, refused) in [
        (
            "tcp-env-ca.yaml",
            Fleet::strip_host_overrides(&tcp, "x-other"),
            true,
        ),
        ("tcp-own-ca.yaml", tcp.clone(), false),
    ] {
        let inv = fleet.write(name, &inv_text);
        let json = fleet.path(&format!("{name}.json"));
        let out = sslaudit(
            &[
                "scan",
                "--inventory",
                &inv,
                "--limit",
                "x-other",
                "--limit",
                "db-master",
                "--json",
                &json,
                "-q",
            ],
            &env,
            fleet.dir.path(),
        );
        assert_sane(&out);
        let got = by_host(&report(&json));
        let gap = got["x-other"].get("SCAN002").cloned().unwrap_or_default();
        if refused {
            assert!(
                gap.iter().any(|m| m.contains("certificate verify failed")),
                "{got:?}"
            );
        } else {
            assert!(gap.is_empty(), "{got:?}");
        }
        assert!(!got["x-other"].contains_key("SCAN001"), "{got:?}");
        assert!(got["db-master"].is_empty(), "{got:?}");
    }
}
