//! Galera, live: two real three-node clusters of Debian's galera-4 on the
//! test fleet (testfleet/examples/galera-*.spec), bootstrapped with
//! `--wsrep-new-cluster` and joined by rsync SST. One encrypts replication,
//! IST and SST (stunnel) with the servers' own keys, one does neither. The
//! scan through the CLI must find the plaintext cluster's replication and
//! state transfers (SSL025, SSL026) on every node, leave the encrypted one
//! clean of them, and name the one member whose cipher list differs
//! (SSL027); every encrypted node's replication port must complete the
//! scanner's TLS handshake and no plaintext node's may. Runs only with
//! SSLAUDIT_LIVE=1; subnets 80 and 81.
#![allow(clippy::unwrap_used)] // helpers of integration tests panic like the tests do

mod fleet_util;

use std::time::Instant;

use fleet_util::{Expect, Fleet, assert_sane, check, report, sslaudit, text};

/// `wsrep_cluster_size` as a node sees it: the cluster is real.
fn cluster_size(fleet: &Fleet, host: &str) -> String {
    let out = fleet.ssh(
        host,
        "mariadb -N -B -e \"SHOW GLOBAL STATUS LIKE 'wsrep_cluster_size'\"",
    );
    assert!(out.status.success(), "{host}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .to_string()
}

/// What the joiner's SST script logged about stunnel (rsync's TLS).
fn sst_used_stunnel(fleet: &Fleet, host: &str) -> bool {
    let log = fleet.upper(host).join("var/log/mysql/error.log");
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("rsync SST completed on joiner"),
        "{host} joined without an rsync SST"
    );
    log.contains("Using stunnel for SSL encryption")
}

fn scan(fleet: &Fleet, inventory: &str, out: &str) -> serde_json::Value {
    let json = fleet.path(out);
    let o = sslaudit(
        &[
            "scan",
            "--inventory",
            &fleet.path(inventory),
            "--json",
            &json,
            "--fail-on",
            "high",
        ],
        &[],
        fleet.dir.path(),
    );
    assert_sane(&o);
    report(&json)
}

#[test]
fn galera_clusters_are_audited_for_their_own_traffic() {
    if !fleet_util::live("galera_live") {
        return;
    }
    let started = Instant::now();
    let spec = |name: &str| {
        fleet_util::root()
            .join(format!("testfleet/examples/{name}.spec"))
            .display()
            .to_string()
    };
    let (tls_spec, plain_spec) = (spec("galera-tls"), spec("galera-plain"));
    // Both clusters come up at once: each takes tens of seconds, mostly the
    // joiners' state transfers.
    let (tls, plain) = std::thread::scope(|s| {
        let t = s.spawn(|| Fleet::up(80, &tls_spec, &[], &[]));
        let p = s.spawn(|| Fleet::up(81, &plain_spec, &[], &[]));
        (t.join().unwrap(), p.join().unwrap())
    });
    eprintln!("both clusters up in {:?}", started.elapsed());
    for (fleet, hosts) in [
        (&tls, ["g-1", "g-2", "g-3"]),
        (&plain, ["p-1", "p-2", "p-3"]),
    ] {
        for h in hosts {
            assert_eq!(
                cluster_size(fleet, h),
                "3",
                "{h} is not in a 3-node cluster"
            );
        }
    }
    // The joiners' SSTs really were encrypted, and really were not.
    assert!(sst_used_stunnel(&tls, "g-2") && sst_used_stunnel(&tls, "g-3"));
    assert!(!sst_used_stunnel(&plain, "p-2") && !sst_used_stunnel(&plain, "p-3"));

    // Plaintext: every node, both channels; the members agree (on plaintext).
    let r = scan(&plain, "inventory.yaml", "plain.json");
    let must: &[(&str, &str)] = &[
        (
            "SSL025",
            "replication of Galera cluster 'galera_cluster-plain' is not encrypted",
        ),
        (
            "SSL026",
            "(SST method rsync) of Galera cluster 'galera_cluster-plain' are not encrypted: ssl-mode=DISABLED",
        ),
    ];
    let expect: Vec<Expect<'_>> = ["p-1", "p-2", "p-3"]
        .into_iter()
        .map(|h| (h, must, &[] as &[&str]))
        .collect();
    check(&r, &expect);
    // The SST verdict comes from the option file the server reads, the
    // replication one from the running server.
    let sst = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "SSL026" && f["host"] == "p-2")
        .unwrap();
    assert_eq!(
        sst["location"]["file"],
        "/etc/mysql/mariadb.conf.d/60-galera.cnf"
    );

    // The same through the scanner's own TLS connection (via: tcp).
    let env = [("SSLAUDIT_MYSQL_PASSWORD", plain.sslaudit_password())];
    let json = plain.path("plain-tcp.json");
    let o = sslaudit(
        &[
            "scan",
            "--inventory",
            &plain.path("inventory-tcp.yaml"),
            "--json",
            &json,
        ],
        &[(env[0].0, env[0].1.as_str())],
        plain.dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    check(&report(&json), &expect);

    // Collected as evidence, the same findings offline: the port's answer
    // travels in galera_ports.json.
    let evidence = plain.path("evidence");
    let o = sslaudit(
        &[
            "collect",
            "--inventory",
            &plain.path("inventory.yaml"),
            "--out",
            &evidence,
        ],
        &[],
        plain.dir.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    let ports =
        std::fs::read_to_string(format!("{evidence}/cluster-plain/p-1/galera_ports.json")).unwrap();
    assert!(ports.contains("127.0.81.1:4567"), "{ports}");
    let json = plain.path("offline.json");
    let o = sslaudit(
        &["scan", "--snapshot", &evidence, "--json", &json],
        &[],
        plain.dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    check(&report(&json), &expect);

    // Encrypted: clean of SSL025/SSL026; g-3's own cipher list is the one
    // disagreement, named on g-3 alone.
    let r = scan(&tls, "inventory.yaml", "tls.json");
    check(
        &r,
        &[
            ("g-1", &[], &[]),
            ("g-2", &[], &[]),
            (
                "g-3",
                &[(
                    "SSL027",
                    "socket.ssl_cipher is ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384 here but unset (galera's default) on g-1, g-2",
                )],
                &[],
            ),
        ],
    );
    // The facts say what the nodes run: the provider's own view of TLS,
    // three members, and what each replication port answered to the
    // scanner's own TLS handshake.
    let facts = |fleet: &Fleet| -> serde_json::Value {
        let o = sslaudit(
            &["facts", "--inventory", &fleet.path("inventory.yaml")],
            &[],
            fleet.dir.path(),
        );
        assert!(o.status.success(), "{}", text(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let f = facts(&tls);
    for h in f["hosts"].as_array().unwrap() {
        let g = &h["galera"];
        assert_eq!(g["provider_options"]["socket.ssl"]["value"], "YES", "{h}");
        assert_eq!(g["members"].as_array().unwrap().len(), 3, "{h}");
        let port = &g["ports"][0];
        assert_eq!(port["tls"], true, "{h}");
        assert!(
            port["address"].as_str().unwrap().ends_with(":4567"),
            "{port}"
        );
        assert!(
            port["protocol"].as_str().unwrap().starts_with("TLSv1."),
            "{port}"
        );
    }
    let f = facts(&plain);
    for h in f["hosts"].as_array().unwrap() {
        // Galera's own protocol, or a close: never a TLS handshake.
        let port = &h["galera"]["ports"][0];
        assert_ne!(port["tls"], true, "{h}");
        assert!(port["error"].is_string(), "{port}");
    }
    eprintln!("galera_live took {:?}", started.elapsed());
}
