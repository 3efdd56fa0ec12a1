//! Load: one scan of a 60-host test fleet (6 environments, 12 MariaDB
//! servers) with --jobs at its maximum: every host reported and audited,
//! peak memory bounded, no file-descriptor exhaustion; and the same scan
//! under `ulimit -n 128`, where the scanner lowers its parallelism instead
//! of failing hosts with EMFILE. The full 200-host run is `testfleet/load`
//! (figures in docs/RELIABILITY.md). Runs only with SSLAUDIT_LIVE=1; subnet 71.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod fleet_util;

use std::process::Command;

use fleet_util::{Fleet, assert_sane, by_host, live, measure, report, text};

const HOSTS: usize = 60;

fn all_audited(json: &str) {
    let got = by_host(&report(json));
    assert_eq!(got.len(), HOSTS, "hosts reported: {}", got.len());
    let failed: Vec<_> = got
        .iter()
        .filter(|(_, rules)| rules.contains_key("SCAN001") || rules.contains_key("SCAN002"))
        .collect();
    assert!(failed.is_empty(), "not audited: {failed:?}");
}

#[test]
fn a_60_host_fleet_at_full_parallelism() {
    if !live("a_60_host_fleet_at_full_parallelism") {
        return;
    }
    let password = format!("pw-{}-load", std::process::id());
    let env = [("SSLAUDIT_MYSQL_PASSWORD", password.as_str())];
    // The test machine has two cores and other tests: allow slow handshakes.
    let fleet = Fleet::up(71, &HOSTS.to_string(), &["--scan-timeout", "20s"], &env);

    // via: ssh, --jobs 512 (the maximum): one host in flight per host.
    let json = fleet.path("load.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sslaudit"));
    cmd.args(["scan", "--inventory", &fleet.path("inventory.yaml")])
        .args(["--jobs", "512", "--json", &json, "-q"])
        .current_dir(fleet.dir.path());
    let m = measure(cmd);
    eprintln!(
        "load: {HOSTS} hosts (fleet up {:?}), scan {:?}, peak RSS {} MiB, peak fds {}",
        fleet.up_took,
        m.took,
        m.peak_rss_kib / 1024,
        m.peak_fds
    );
    assert_sane(&m.output);
    assert_eq!(m.output.status.code(), Some(0), "{}", text(&m.output));
    all_audited(&json);
    // Debug build: about 60 MiB here; the bound leaves room, not a leak.
    assert!(
        m.peak_rss_kib < 400 * 1024,
        "peak RSS {} KiB",
        m.peak_rss_kib
    );
    // About one descriptor per host in flight, plus stdio and the report.
    assert!(m.peak_fds < 2 * HOSTS + 32, "peak fds {}", m.peak_fds);

    // via: tcp (three connections per database host) under a descriptor
    // limit too small for 512 hosts in flight: the scanner says it lowers
    // --jobs, and every host is still audited.
    let json = fleet.path("ulimit.json");
    let script = format!(
        "ulimit -n 128 && exec '{}' scan --inventory '{}' --jobs 512 --json '{json}' -q",
        env!("CARGO_BIN_EXE_sslaudit"),
        fleet.path("inventory-tcp.yaml"),
    );
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", &script])
        .env("SSLAUDIT_MYSQL_PASSWORD", &password)
        .current_dir(fleet.dir.path());
    let m = measure(cmd);
    eprintln!(
        "load under ulimit -n 128: scan {:?}, peak RSS {} MiB, peak fds {}",
        m.took,
        m.peak_rss_kib / 1024,
        m.peak_fds
    );
    assert_sane(&m.output);
    assert_eq!(m.output.status.code(), Some(0), "{}", text(&m.output));
    let stderr = String::from_utf8_lossy(&m.output.stderr);
    assert!(stderr.contains("--jobs 512 lowered to 12"), "{stderr}");
    all_audited(&json);
}
