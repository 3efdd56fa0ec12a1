//! The session census, live: a MariaDB master with performance_schema on
//! and a reporting cron job nobody listed, holding one session open over
//! TCP in plaintext and one over TLS without a client certificate (the
//! `live-clients` fault). The scan names the plaintext session (SSL028)
//! and lists both in the report's census, via ssh and via tcp; a census
//! window (`--census 6s`) catches a client that connects only briefly.
//! enforce-x509 and the require_secure_transport runner refuse while the
//! plaintext session lives, naming it; enforce-x509 still refuses while
//! the certificate-less TLS session lives, and plans once it is gone; the
//! secure-transport runner applies, is verified (plaintext logins refused,
//! TLS ones work) and rolls back.
//! Runs only with SSLAUDIT_LIVE=1; subnet 58.
#![allow(clippy::unwrap_used)] // helpers of integration tests panic like the tests do

mod fleet_util;

use fleet_util::{Fleet, assert_sane, report, sslaudit, text};
use serde_json::Value;

const SPEC: &str = "db-master census db_master live-clients\napp-1 census app\n";

fn census(r: &Value) -> Value {
    r["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "db-master")
        .unwrap()["census"]
        .clone()
}

fn ssl028(r: &Value) -> Vec<String> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "SSL028")
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn live_plaintext_sessions_are_named_and_block_enforcement_until_gone() {
    if !fleet_util::live("census_live") {
        return;
    }
    let fleet = Fleet::up(58, SPEC, &[], &[]);
    let pw = fleet.sslaudit_password();
    let env = [("SSLAUDIT_MYSQL_PASSWORD", pw.as_str())];
    let cwd = fleet.dir.path();

    for inv in ["inventory.yaml", "inventory-tcp.yaml"] {
        let json = fleet.path(&format!("{inv}.json"));
        let out = sslaudit(
            &[
                "scan",
                "--inventory",
                &fleet.path(inv),
                "--json",
                &json,
                "--fail-on",
                "never",
            ],
            &env,
            cwd,
        );
        assert_sane(&out);
        assert!(out.status.success(), "{inv}: {}", text(&out));
        let r = report(&json);
        let c = census(&r);
        assert_eq!(c["source"], "performance_schema", "{inv}: {c}");
        let sessions = c["sessions"].as_array().unwrap();
        let of = |t: &str| {
            sessions
                .iter()
                .filter(|s| s["user"] == "cron_report" && s["transport"] == t)
                .count()
        };
        assert_eq!((of("tcp"), of("tls")), (1, 1), "{inv}: {c}");
        assert!(
            sessions.iter().all(|s| s["user"] != "sslaudit"),
            "{inv}: the scanner's own session is not counted: {c}"
        );
        let tls = sessions.iter().find(|s| s["transport"] == "tls").unwrap();
        assert!(tls["cipher"].as_str().unwrap().starts_with("TLS_"), "{tls}");
        let named = ssl028(&r);
        assert_eq!(named.len(), 1, "{inv}: {named:?}");
        assert!(
            named[0].starts_with("cron_report@")
                && named[0].contains("1 session connected over TCP without TLS right now"),
            "{named:?}"
        );
    }

    // A client that connects for 1.5 s every 2.5 s: one look may miss it,
    // a window of looks (once a second, every look of a session longer
    // than the interval inside the window) cannot.
    let deploy_pw = fleet.read("secrets/deploy.password").trim().to_string();
    let sql = format!("CREATE USER 'bi_refresh'@'%' IDENTIFIED BY '{deploy_pw}' REQUIRE NONE");
    let made = fleet.ssh("db-master", &format!("mariadb -e \"{sql}\""));
    assert!(made.status.success(), "{}", text(&made));
    let looper = format!(
        "rm -f /tmp/bi.stop; nohup setsid sh -c 'while [ ! -e /tmp/bi.stop ]; do MYSQL_PWD={deploy_pw} mariadb --skip-ssl -h {} -u bi_refresh -e \"SELECT SLEEP(1.5)\"; sleep 1; done' >/dev/null 2>&1 </dev/null &",
        fleet.address(1)
    );
    let started = fleet.ssh("db-master", &looper);
    assert!(started.status.success(), "{}", text(&started));
    for inv in ["inventory.yaml", "inventory-tcp.yaml"] {
        let json = fleet.path(&format!("{inv}.window.json"));
        let args = [
            "scan",
            "--inventory",
            &fleet.path(inv),
            "--census",
            "6s",
            "--json",
            &json,
            "--fail-on",
            "never",
        ];
        let out = sslaudit(&args, &env, cwd);
        assert_sane(&out);
        assert!(out.status.success(), "{inv}: {}", text(&out));
        let r = report(&json);
        let c = census(&r);
        assert_eq!(c["window_secs"], 6, "{inv}: {c}");
        assert!(c["samples"].as_u64().unwrap() >= 6, "{inv}: {c}");
        let bi = c["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["user"] == "bi_refresh")
            .unwrap_or_else(|| panic!("{inv}: the brief client was not seen: {c}"));
        assert_eq!(bi["transport"], "tcp", "{bi}");
        let seen = bi["seen"].as_u64().unwrap();
        assert!(
            seen >= 1 && seen < c["samples"].as_u64().unwrap(),
            "{inv}: {c}"
        );
        let named = ssl028(&r);
        assert!(
            named.iter().any(|m| m.starts_with("bi_refresh@")
                && m.contains("while the census watched (6 s, seen in")),
            "{inv}: {named:?}"
        );
    }
    let stop = fleet.ssh(
        "db-master",
        "touch /tmp/bi.stop; for i in $(seq 100); do n=$(mariadb -N -e \"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'bi_refresh'\"); [ \"$n\" = 0 ] && exec mariadb -e \"DROP USER 'bi_refresh'@'%'\"; sleep 0.1; done; exit 1",
    );
    assert!(
        stop.status.success(),
        "the brief client did not stop: {}",
        text(&stop)
    );

    // REQUIRE X509 for cron_report would cut its plaintext session off: refused, named.
    let inv = fleet.path("inventory.yaml");
    let plan = fleet.path("plan.json");
    let plan_args = [
        "remediate",
        "plan",
        "--inventory",
        &inv,
        "--rule",
        "SSL005",
        "-o",
        &plan,
    ];
    let out = sslaudit(&plan_args, &env, cwd);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("not planned: SSL005 on db-master"), "{said}");
    assert!(
        said.contains("live sessions would be cut off: cron_report@")
            && said.contains("on db-master (TCP without TLS, 1 session"),
        "{said}"
    );
    assert!(said.contains("--allow-live-sessions"), "{said}");
    // So would require_secure_transport = ON.
    let st_plan = fleet.path("secure-transport.json");
    let st_args = [
        "remediate",
        "plan",
        "--inventory",
        &inv,
        "--rule",
        "SSL017",
        "-o",
        &st_plan,
    ];
    let out = sslaudit(&st_args, &env, cwd);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains(
            "require_secure_transport on db-master: live sessions would be cut off: cron_report@"
        ),
        "{said}"
    );

    // The plaintext session goes away. The TLS one stays, and nothing
    // shows whether it presents a client certificate (no host of the
    // inventory connects as cron_report): REQUIRE X509 is still refused,
    // naming it; require_secure_transport would keep it.
    let kill = |transport: &str| {
        let kill = fleet.ssh(
            "db-master",
            &format!("mariadb -N -e \"SELECT PROCESSLIST_ID FROM performance_schema.threads WHERE PROCESSLIST_USER = 'cron_report' AND CONNECTION_TYPE = '{transport}'\" | xargs -r -n1 mariadb-admin kill"),
        );
        assert!(kill.status.success(), "{}", text(&kill));
    };
    kill("TCP/IP");
    let out = sslaudit(&plan_args, &env, cwd);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("live sessions would be cut off: cron_report@")
            && said.contains("on db-master (TLS, with no client certificate known"),
        "{said}"
    );
    assert!(!said.contains("TCP without TLS"), "{said}");

    // Now require_secure_transport: on live and in my.cnf, verified by the
    // rescan; a plaintext login is refused, a TLS one works; rolled back.
    let state = fleet.path("state");
    let out = sslaudit(&st_args, &env, cwd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let p: Value = serde_json::from_str(&std::fs::read_to_string(&st_plan).unwrap()).unwrap();
    assert!(
        p.to_string()
            .contains("1 live session(s) it does not cut off (over TLS or a local socket)"),
        "{p}"
    );
    let out = sslaudit(
        &[
            "remediate",
            "apply",
            &st_plan,
            "--inventory",
            &inv,
            "--yes",
            "--state-dir",
            &state,
        ],
        &env,
        cwd,
    );
    let said = text(&out);
    assert!(
        out.status.success() && said.contains("done and verified"),
        "{said}"
    );
    let my_cnf =
        std::fs::read_to_string(fleet.upper("db-master").join("etc/mysql/my.cnf")).unwrap();
    assert!(my_cnf.contains("require_secure_transport = ON"), "{my_cnf}");
    let login = |tls: &str| {
        fleet.ssh(
            "db-master",
            &format!(
                "MYSQL_PWD='{deploy_pw}' mariadb {tls} -h {} -u cron_report -N -e 'SELECT 1'",
                fleet.address(1)
            ),
        )
    };
    // Refused: MySQL says 3159 (insecure transport); MariaDB 10.11 answers
    // 1045 (Access denied) to the right password in plaintext. The same
    // password over TLS logs in, so the refusal is the transport's.
    let plain = login("--skip-ssl");
    assert!(!plain.status.success(), "a plaintext login still works");
    let why = text(&plain);
    assert!(
        why.contains("insecure transport") || why.contains("ERROR 1045"),
        "{why}"
    );
    assert!(
        login("--ssl").status.success(),
        "TLS logins must still work"
    );
    let p: Value = serde_json::from_str(&std::fs::read_to_string(&st_plan).unwrap()).unwrap();
    let run = p["run_id"].as_str().unwrap();
    let out = sslaudit(
        &[
            "remediate",
            "rollback",
            run,
            "--inventory",
            &inv,
            "--yes",
            "--state-dir",
            &state,
        ],
        &env,
        cwd,
    );
    assert!(out.status.success(), "{}", text(&out));
    let my_cnf =
        std::fs::read_to_string(fleet.upper("db-master").join("etc/mysql/my.cnf")).unwrap();
    assert!(
        my_cnf.contains("require_secure_transport = OFF"),
        "{my_cnf}"
    );
    assert!(
        login("--skip-ssl").status.success(),
        "rolled back: plaintext logins work again"
    );

    // The TLS session goes too: REQUIRE X509 is planned, with the census
    // in the step.
    kill("SSL/TLS");
    let out = sslaudit(&plan_args, &env, cwd);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    let p: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let step = p["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["host"] == "db-master")
        .unwrap_or_else(|| panic!("no step on db-master: {p}"));
    assert!(
        step["why"]
            .as_str()
            .unwrap()
            .contains("session census: no live session would be cut off"),
        "{step}"
    );
    assert!(step.to_string().contains("cron_report"), "{step}");
}
