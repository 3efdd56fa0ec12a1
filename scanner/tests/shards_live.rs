//! `scan --shard K/N` then `merge`, live: on a test fleet of four
//! environments of unequal sizes (one sharing production's server key, as
//! a staging booted from a production snapshot would), the JSON and SARIF
//! that merging all N shards gives are byte for byte the single scan's at
//! the same `--as-of`, for N = 1..5 via ssh and for N = 2 and 3 via tcp.
//! Runs only with SSLAUDIT_LIVE=1; subnet 77.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod fleet_util;

use std::path::Path;

use fleet_util::{Fleet, assert_sane, assert_sarif_validates, live, report, sslaudit, text};

const SUBNET: u8 = 77;
const SPEC: &str = "\
prod-db       production  db_master   account-no-x509
prod-replica  production  db_replica
prod-app-1    production  app         yml-localhost
prod-app-2    production  app
stg-db        staging     db_master
stg-app       staging     app         key-0644
qa-db         qa          db_master
ops           ops         db_master,app
";
const AS_OF: &str = "2026-12-01";

/// The datadir of a database host, as its overlay upper layer holds it.
fn datadir(fleet: &Fleet, host: &str) -> std::path::PathBuf {
    let versions = fleet.upper(host).join("db/mysql");
    std::fs::read_dir(&versions)
        .unwrap()
        .map(|e| e.unwrap().path().join("data"))
        .find(|d| d.join("server.crt").exists())
        .unwrap_or_else(|| panic!("no datadir with server.crt under {}", versions.display()))
}

/// Scans with `inventory` (one shard of it with `shard`) into
/// `<stem>.json` and `<stem>.sarif`.
fn scan(fleet: &Fleet, inventory: &str, shard: Option<&str>, stem: &str) {
    let (json, sarif) = (
        fleet.path(&format!("{stem}.json")),
        fleet.path(&format!("{stem}.sarif")),
    );
    let mut args = vec![
        "scan",
        "--inventory",
        inventory,
        "--as-of",
        AS_OF,
        "-q",
        "--fail-on",
        "never",
        "--json",
        &json,
        "--sarif",
        &sarif,
    ];
    if let Some(s) = shard {
        args.extend(["--shard", s]);
    }
    let out = sslaudit(&args, &[], fleet.dir.path());
    assert_sane(&out);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

fn first_difference(got: &str, want: &str) -> String {
    got.lines()
        .zip(want.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b)
        .map_or_else(
            || format!("lengths differ: {} and {}", got.len(), want.len()),
            |(i, (a, b))| format!("line {}: merged `{a}`, whole `{b}`", i + 1),
        )
}

#[test]
fn live_shards_merge_into_the_whole_scan() {
    if !live("live_shards_merge_into_the_whole_scan") {
        return;
    }
    let fleet = Fleet::up(SUBNET, SPEC, &[], &[]);
    // staging's master holds production's server key and certificate (the
    // server keeps what it loaded at start).
    let (prod, stg) = (datadir(&fleet, "prod-db"), datadir(&fleet, "stg-db"));
    for file in ["server.crt", "server.key"] {
        std::fs::copy(prod.join(file), stg.join(file)).unwrap();
    }

    let cases: [(&str, &str, &[u32]); 2] = [
        ("ssh", "inventory.yaml", &[1, 2, 3, 4, 5]),
        ("tcp", "inventory-tcp.yaml", &[2, 3]),
    ];
    for (via, inventory, counts) in cases {
        let inventory = fleet.path(inventory);
        let whole = format!("{via}-whole");
        scan(&fleet, &inventory, None, &whole);
        let want_json = fleet.read(&format!("{whole}.json"));
        let want_sarif = fleet.read(&format!("{whole}.sarif"));
        // The fleet is what the test says: production's key reused in
        // staging, seen only by comparing environments.
        let shared = report(&fleet.path(&format!("{whole}.json")))["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| {
                f["host"] == "stg-db" && f["evidence"]["shared_with"] == "production/prod-db"
            })
            .count();
        assert_eq!(shared, 1, "via {via}: {want_json}");
        assert_sarif_validates(Path::new(&fleet.path(&format!("{whole}.sarif"))));

        for &n in counts {
            for kind in ["json", "sarif"] {
                let mut parts = Vec::new();
                for k in 1..=n {
                    let stem = format!("{via}-{k}-of-{n}");
                    if kind == "json" {
                        scan(&fleet, &inventory, Some(&format!("{k}/{n}")), &stem);
                    }
                    parts.push(fleet.path(&format!("{stem}.{kind}")));
                }
                let merged = fleet.path(&format!("{via}-merged-{n}.{kind}"));
                let mut args: Vec<&str> = vec!["merge"];
                args.extend(parts.iter().map(String::as_str));
                args.extend(["-o", &merged]);
                let out = sslaudit(&args, &[], fleet.dir.path());
                assert_eq!(out.status.code(), Some(0), "{}", text(&out));
                let got = std::fs::read_to_string(&merged).unwrap();
                let want = if kind == "json" {
                    &want_json
                } else {
                    &want_sarif
                };
                assert!(
                    &got == want,
                    "via {via}, {kind}: the merge of {n} shards differs from the whole scan: {}",
                    first_difference(&got, want)
                );
            }
        }
    }
}
