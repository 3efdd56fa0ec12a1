//! Servers nobody can SSH into, live: a fleet that mixes SSH hosts with
//! `ssh: none` MariaDB hosts that run no sshd at all (one with
//! require_secure_transport ON, one OFF, one without TLS; the master's
//! certificate from an intermediate CA, presented with its intermediate),
//! and application hosts whose trust bundles hold the current CA only, the
//! next CA only, and both. Everything through the CLI, as a user runs it:
//! scan via ssh/tcp/tunnel, --next-ca, the reports, collect and an
//! offline rescan, and remediation refusing what it cannot reach.
//! Runs only with SSLAUDIT_LIVE=1; subnet 79.
#![allow(clippy::unwrap_used)] // helpers of integration tests panic like the tests do

mod fleet_util;

use fleet_util::{Expect, Fleet, assert_sane, check, report, sslaudit, text};
use serde_json::Value;

const NONE: &[&str] = &[];

fn host<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in the report"))
}

fn readiness<'a>(r: &'a Value, host: &str) -> &'a Value {
    r["readiness"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["host"] == host)
        .unwrap_or_else(|| panic!("no readiness row for {host}: {}", r["readiness"]))
}

#[test]
fn ssh_less_servers_are_audited_from_the_wire_and_rotation_readiness_is_told() {
    if !fleet_util::live("wire_live") {
        return;
    }
    let spec = fleet_util::root().join("testfleet/examples/wire.spec");
    let fleet = Fleet::up(79, spec.to_str().unwrap(), &[], &[]);
    let pw = fleet.sslaudit_password();
    let env = [("SSLAUDIT_MYSQL_PASSWORD", pw.as_str())];
    let cwd = fleet.dir.path();
    let next = format!("wire={}", fleet.path("ca/wire-next/root.crt"));

    // Nothing listens where sshd would: the wire is all there is.
    for n in 4..=6 {
        let addr = format!("{}:22", fleet.address(n));
        assert!(
            std::net::TcpStream::connect(&addr).is_err(),
            "{addr} accepts connections"
        );
    }

    // The SSH-less hosts are checked through their MySQL port; the one
    // without TLS is not ready (the scanner never logs in in plaintext).
    let out = sslaudit(
        &[
            "inventory",
            "check",
            "--inventory",
            &fleet.path("inventory.yaml"),
        ],
        &env,
        cwd,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(table.matches("not used (ssh: none)").count(), 3, "{table}");
    assert!(table.contains("does not offer TLS"), "{table}");
    assert!(table.contains("8 of 9 hosts ready to scan"), "{table}");

    for inventory in [
        "inventory.yaml",
        "inventory-tcp.yaml",
        "inventory-tunnel.yaml",
    ] {
        let json = fleet.path(&format!("{inventory}.json"));
        let sarif = fleet.path(&format!("{inventory}.sarif"));
        let html = fleet.path(&format!("{inventory}.html"));
        let out = sslaudit(
            &[
                "scan",
                "--inventory",
                &fleet.path(inventory),
                "--next-ca",
                &next,
                "--json",
                &json,
                "--sarif",
                &sarif,
                "--html",
                &html,
            ],
            &env,
            cwd,
        );
        assert_sane(&out);
        assert_eq!(out.status.code(), Some(1), "{inventory}: {}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("3 audited from the wire"),
            "{inventory}: {stdout}"
        );
        let r = report(&json);
        let expect: &[Expect<'_>] = &[
            // The control group over SSH: healthy, nothing to say.
            ("db-master", &[], NONE),
            ("db-replica-1", &[], NONE),
            ("app-1", &[], NONE),
            // Audited from the wire: no SCAN001, no SCAN002 for files it
            // cannot show; the server's own verdicts.
            ("w-master", &[], NONE),
            (
                "w-open",
                &[("SSL017", "require_secure_transport is OFF")],
                NONE,
            ),
            (
                "w-plain",
                &[
                    ("SSL001", "offers no SSL in its protocol greeting"),
                    ("SSL018", "does not advertise SSL"),
                    // The scanner never sends its credentials in plaintext.
                    ("SCAN002", "the server offers no TLS"),
                ],
                NONE,
            ),
            // Readiness: current CA only breaks at the rotation; the next CA
            // only is ready but cannot verify the server today (and its
            // client certificate is not from the CA beside it: SSL011);
            // both is fine.
            (
                "w-app-old",
                &[(
                    "SSL021",
                    "does not hold the next CA CN=wire MySQL CA (next)",
                )],
                NONE,
            ),
            (
                "w-app-next",
                &[
                    ("SSL021", "does not verify the chain w-master presents"),
                    ("SSL011", "is not issued by the CA configured beside it"),
                ],
                NONE,
            ),
            ("w-app-both", &[], NONE),
        ];
        check(&r, expect);

        for (name, wire) in [
            ("db-master", false),
            ("app-1", false),
            ("w-master", true),
            ("w-open", true),
            ("w-plain", true),
        ] {
            let h = host(&r, name);
            assert_eq!(h["access"] == "wire", wire, "{inventory} {name}: {h}");
            let not_applicable: Vec<&str> = h["not_applicable"]
                .as_array()
                .map(|a| a.iter().map(|n| n["rule"].as_str().unwrap()).collect())
                .unwrap_or_default();
            if wire {
                assert!(
                    not_applicable.contains(&"SSL002") && not_applicable.contains(&"SSL014"),
                    "{name}: {not_applicable:?}"
                );
            } else {
                assert!(not_applicable.is_empty(), "{name}: {not_applicable:?}");
            }
        }
        let seen = &host(&r, "w-master")["wire"];
        assert_eq!(seen["requests_client_cert"], true, "{seen}");
        assert!(
            seen["plaintext_answer"]
                .as_str()
                .unwrap()
                .starts_with("1045 (28000) Access denied"),
            "{seen}"
        );
        assert_eq!(host(&r, "w-plain")["wire"]["protocol"], Value::Null);
        assert_eq!(host(&r, "w-master")["status"], "scanned");
        assert_eq!(host(&r, "w-open")["status"], "scanned");

        let yes_no = |host: &str| {
            let x = readiness(&r, host);
            (x["trusts_current"].clone(), x["trusts_next"].clone())
        };
        assert_eq!(yes_no("w-app-old"), (Value::Bool(true), Value::Bool(false)));
        assert_eq!(
            yes_no("w-app-next"),
            (Value::Bool(false), Value::Bool(true))
        );
        assert_eq!(yes_no("w-app-both"), (Value::Bool(true), Value::Bool(true)));
        // The next CA is for `wire` only: production is not judged on it.
        assert_eq!(readiness(&r, "app-1")["trusts_next"], Value::Null);
        assert_eq!(readiness(&r, "app-1")["trusts_current"], Value::Bool(true));
        assert_eq!(readiness(&r, "w-app-old")["server"], "w-master");

        // The intermediate CA's chain was presented whole and named.
        let presented: Vec<&Value> = r["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["host"] == "w-master")
            .collect();
        assert_eq!(presented.len(), 2, "{inventory}: {presented:?}");

        // SARIF: a note per wire host; valid.
        let log: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
        let notes = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| {
                n["level"] == "note"
                    && n["message"]["text"]
                        .as_str()
                        .unwrap()
                        .contains("audited from the wire")
            })
            .count();
        assert_eq!(notes, 3, "{inventory}");
        fleet_util::assert_sarif_validates(std::path::Path::new(&sarif));

        // HTML: the wire hosts and the readiness table.
        let page = std::fs::read_to_string(&html).unwrap();
        assert_eq!(page.matches("class=\"pill pill-wire\"").count(), 3);
        assert!(page.contains("CA rotation: who breaks when the CA changes"));
        assert_eq!(
            page.matches("data-current=\"no\" data-next=\"yes\"")
                .count(),
            1,
            "w-app-next"
        );
        assert_eq!(
            page.matches("data-current=\"yes\" data-next=\"no\"")
                .count(),
            1,
            "w-app-old"
        );
    }

    // The wire evidence as recorded: the chain, the plaintext login of an
    // unknown user, the client certificate request. Then the same findings
    // offline from the snapshot.
    let evidence = fleet.path("evidence");
    let out = sslaudit(
        &[
            "collect",
            "--inventory",
            &fleet.path("inventory-tcp.yaml"),
            "--out",
            &evidence,
        ],
        &env,
        cwd,
    );
    assert!(out.status.success(), "{}", text(&out));
    let host_toml = std::fs::read_to_string(format!("{evidence}/wire/w-master/host.toml")).unwrap();
    assert!(host_toml.contains("access = \"wire\""), "{host_toml}");
    for h in ["w-master", "w-open", "w-plain"] {
        let probe: Value = serde_json::from_str(
            &std::fs::read_to_string(format!("{evidence}/wire/{h}/probe.json")).unwrap(),
        )
        .unwrap();
        // MariaDB 10.11 answers an unknown user 1045 whatever
        // require_secure_transport says (docs/scanner-queries.md).
        assert_eq!(probe["plaintext"]["code"], 1045, "{h}: {probe}");
        assert!(
            !probe.to_string().contains(&pw),
            "{h}: the password is in probe.json"
        );
        let tls = h != "w-plain";
        assert_eq!(probe["requests_client_cert"] == true, tls, "{h}: {probe}");
    }
    let offline = fleet.path("offline.json");
    let live = fleet.path("inventory-tcp.yaml.json");
    let out = sslaudit(
        &[
            "scan",
            "--snapshot",
            &evidence,
            "--next-ca",
            &next,
            "--json",
            &offline,
        ],
        &[],
        cwd,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let (a, b) = (report(&live), report(&offline));
    let rules = |r: &Value| fleet_util::by_host(r);
    assert_eq!(rules(&a), rules(&b));
    assert_eq!(a["readiness"], b["readiness"]);

    // Remediation cannot reach a host without SSH, and says which.
    let out = sslaudit(
        &[
            "rotate",
            "--inventory",
            &fleet.path("inventory-tcp.yaml"),
            "--environment",
            "wire",
            "--dry-run",
        ],
        &env,
        cwd,
    );
    assert_sane(&out);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ssh: none"),
        "{}",
        text(&out)
    );
}
