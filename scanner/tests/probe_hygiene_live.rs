//! A scanner run on a schedule must never get its own address blocked. A
//! MariaDB that resolves client names keeps a host cache that counts every
//! connection ending before a login against the client's address, and
//! blocks the address at `max_connect_errors` (here 3) until a login from it
//! succeeds (docs/scanner-queries.md, "What the probe costs a server").
//! Twenty scans in a row, via tcp and via ssh, from a source address the
//! host cache counts (127.0.9.1, named `sslaudit-scanner` in the server's
//! /etc/hosts: 127.0.0.1 itself is exempt), must leave the scanner
//! unblocked with no blocking error on record; and a control shows that the
//! same server does block an address whose connections end before a login.
//! Runs only with SSLAUDIT_LIVE=1; subnet 76.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod fleet_util;

use std::process::Command;

use fleet_util::{Fleet, assert_sane, by_host, live, report, sslaudit, text};

const SUBNET: u8 = 76;
const SPEC: &str = "\
db-master  production  db_master  name-resolve
app-1      production  app
";
const SOURCE: &str = "127.0.9.1";

/// Connections from this machine to the fleet's subnet leave from
/// `SOURCE` while it lives: a more specific local route with that source
/// address (only for the test's own subnet), removed on drop.
struct SourceRoute(String);

impl SourceRoute {
    fn add() -> SourceRoute {
        let net = format!("127.0.{SUBNET}.0/24");
        let args = [
            "route", "replace", "local", &net, "dev", "lo", "src", SOURCE, "table", "local",
        ];
        let out = Command::new("ip").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "ip {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = Command::new("ip")
            .args(["route", "get", &format!("127.0.{SUBNET}.1")])
            .output()
            .unwrap();
        let got = String::from_utf8_lossy(&got.stdout).into_owned();
        assert!(got.contains(&format!("src {SOURCE}")), "{got}");
        SourceRoute(net)
    }
}

impl Drop for SourceRoute {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args([
                "route", "del", "local", &self.0, "dev", "lo", "table", "local",
            ])
            .output();
    }
}

/// One row of the server's `performance_schema.host_cache` for `ip`:
/// (blocking errors, handshake errors), zeros when it has no row.
fn host_cache(fleet: &Fleet, ip: &str) -> (u64, u64) {
    let out = fleet.ssh(
        "db-master",
        &format!(
            "mariadb -N -B -e \"SELECT SUM_CONNECT_ERRORS, COUNT_HANDSHAKE_ERRORS \
             FROM performance_schema.host_cache WHERE IP = '{ip}'\""
        ),
    );
    assert!(out.status.success(), "{}", text(&out));
    let row = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut cols = row.split_whitespace().map(|c| c.parse::<u64>().unwrap());
    (cols.next().unwrap_or(0), cols.next().unwrap_or(0))
}

fn aborted_connects(fleet: &Fleet) -> u64 {
    let out = fleet.ssh(
        "db-master",
        "mariadb -N -B -e \"SHOW GLOBAL STATUS LIKE 'Aborted_connects'\"",
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn twenty_scans_never_get_the_scanner_blocked() {
    if !live("twenty_scans_never_get_the_scanner_blocked") {
        return;
    }
    let password = format!("pw-{}-hygiene", std::process::id());
    let env = [("SSLAUDIT_MYSQL_PASSWORD", password.as_str())];
    let fleet = Fleet::up(SUBNET, SPEC, &[], &env);
    let _route = SourceRoute::add();
    let master = format!("127.0.{SUBNET}.1");
    let vars = fleet.ssh(
        "db-master",
        "mariadb -N -B -e 'SELECT @@skip_name_resolve, @@max_connect_errors, @@performance_schema'",
    );
    assert_eq!(
        String::from_utf8_lossy(&vars.stdout)
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["0", "3", "1"],
        "{}",
        text(&vars)
    );

    for (via, inventory) in [("tcp", "inventory-tcp.yaml"), ("ssh", "inventory.yaml")] {
        let inv = fleet.path(inventory);
        let aborted_before = aborted_connects(&fleet);
        let (_, handshakes_before) = host_cache(&fleet, SOURCE);
        for round in 1..=20 {
            let json = fleet.path(&format!("{via}-{round}.json"));
            let out = sslaudit(
                &["scan", "--inventory", &inv, "--json", &json, "-q"],
                &env,
                fleet.dir.path(),
            );
            assert_sane(&out);
            assert_eq!(
                out.status.code(),
                Some(0),
                "via {via}, scan {round}: {}",
                text(&out)
            );
            let got = by_host(&report(&json));
            assert!(
                got["db-master"].is_empty(),
                "via {via}, scan {round}: {got:?}"
            );
            let (blocking, _) = host_cache(&fleet, SOURCE);
            assert_eq!(
                blocking, 0,
                "via {via}, scan {round}: errors that block add up"
            );
        }
        let (_, handshakes_after) = host_cache(&fleet, SOURCE);
        let aborted = aborted_connects(&fleet) - aborted_before;
        eprintln!(
            "via {via}: 20 scans, {} handshake errors recorded for {SOURCE} (each reset by \
             the scanner's login), {aborted} aborted connects",
            handshakes_after - handshakes_before
        );
        if via == "tcp" {
            // One probe handshake per scan, before the scanner's login; the
            // server's tls_version makes the version tests unnecessary.
            assert_eq!(handshakes_after - handshakes_before, 20);
        } else {
            // The host's own client over the socket, and no probe from the
            // host to its own address: nothing aborted at all.
            assert_eq!(aborted, 0, "via ssh leaves no aborted connection");
            assert_eq!(host_cache(&fleet, &master).1, 0);
        }
    }

    // Control: the same server blocks an address whose connections end
    // before a login. `sslaudit probe` alone (three handshakes: the first,
    // then TLS 1.0 and 1.1) gets 127.0.9.1 blocked.
    let out = sslaudit(
        &["probe", &master, "--timeout", "3s"],
        &[],
        fleet.dir.path(),
    );
    assert_sane(&out);
    // (A TLS handshake the server refuses may count twice.)
    let (blocking, _) = host_cache(&fleet, SOURCE);
    assert!(blocking >= 3, "{blocking} blocking errors: {}", text(&out));
    let out = sslaudit(
        &["probe", &master, "--timeout", "3s"],
        &[],
        fleet.dir.path(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("blocked because of many connection errors"),
        "{}",
        text(&out)
    );
    assert_eq!(out.status.code(), Some(1));
}
