//! The application's real driver decides: a matrix of database.yml
//! variants, connected with ActiveRecord and mysql2 (testfleet/rails-oracle.rb,
//! the system's Ruby on the application host) to three real MariaDB
//! servers — one whose certificate the application trusts, one with a
//! certificate of that CA for another name, one with a certificate from a
//! CA it does not trust — by name and by address. What the driver did
//! (plaintext or TLS, refused the untrusted server or not, refused the
//! wrong name or not) is compared, case by case, with sslaudit's verdicts
//! on the same file: the driver table's encrypted / verified / identity
//! checked, and SSL006, SSL007, SSL020, SSL022, SSL023, SSL024. A
//! disagreement fails the test.
//!
//! Runs only with SSLAUDIT_LIVE=1; subnet 57.
#![allow(clippy::unwrap_used)] // helpers of integration tests panic like the tests do

mod fleet_util;

use std::collections::BTreeMap;

use fleet_util::{Fleet, assert_sane, report, sslaudit, text};
use serde_json::Value;

const K: &str = "/home/deploy/.mysql";
const MATRIX: &str = "/data/matrix/config/database.yml";

/// The servers of testfleet/examples/rails.spec: key, host name, spec number.
const SERVERS: [(&str, &str, u8); 3] = [
    ("ok", "db-ok", 1),
    ("wrong", "db-wrong", 2),
    ("other", "db-other", 3),
];

/// database.yml variants: name and the TLS lines under `host:` (or, for
/// `url_*`, the URL's query string).
fn variants() -> Vec<(&'static str, String)> {
    let v = |name: &'static str, body: &str| (name, body.to_string());
    vec![
        v("none", ""),
        v("ca", &format!("  sslca: {K}/root.crt\n")),
        v(
            "ca_verify",
            &format!("  sslca: {K}/root.crt\n  sslverify: true\n"),
        ),
        v(
            "ca_verify_false",
            &format!("  sslca: {K}/root.crt\n  sslverify: false\n"),
        ),
        v("verify_only", "  sslverify: true\n"),
        v("verify_false_only", "  sslverify: false\n"),
        v(
            "keycert",
            &format!("  sslkey: {K}/mysql.key\n  sslcert: {K}/mysql.crt\n"),
        ),
        v(
            "full",
            &format!("  sslca: {K}/root.crt\n  sslkey: {K}/mysql.key\n  sslcert: {K}/mysql.crt\n"),
        ),
        v(
            "cipher_only",
            "  sslcipher: ECDHE-ECDSA-AES256-GCM-SHA384\n",
        ),
        v(
            "mode_disabled",
            &format!("  sslca: {K}/root.crt\n  ssl_mode: disabled\n"),
        ),
        v("mode_disabled_only", "  ssl_mode: disabled\n"),
        v("mode_preferred", "  ssl_mode: preferred\n"),
        v("mode_required", "  ssl_mode: required\n"),
        v("mode_verify_ca", "  ssl_mode: verify_ca\n"),
        v("mode_verify_identity", "  ssl_mode: verify_identity\n"),
        v(
            "mode_verify_identity_ca",
            &format!("  sslca: {K}/root.crt\n  ssl_mode: verify_identity\n"),
        ),
        v(
            "trilogy_keys",
            &format!("  ssl_ca: {K}/root.crt\n  ssl_mode: verify_identity\n"),
        ),
        v(
            "misspelled",
            "  sslmode: verify_identity\n  ssl_verify: true\n",
        ),
        v(
            "erb",
            "  sslca: <%= \"/home/deploy/\" + \".mysql/root.crt\" %>\n  sslverify: true\n",
        ),
        // The CA from a template, by YAML merge key (`default: &tls`).
        v("merged", "  <<: *tls\n"),
        v(
            "url_ca_verify_false",
            &format!("?sslca={K}/root.crt&sslverify=false"),
        ),
        v("url_verify_false_only", "?sslverify=false"),
    ]
}

/// The matrix file: every variant against every server, by name and by
/// address, and one `localhost` environment.
fn matrix(fleet: &Fleet, password: &str) -> String {
    let mut out =
        String::from("# The real-driver matrix, written by scanner/tests/rails_live.rs\n");
    out.push_str(&format!(
        "default: &tls\n  sslca: {K}/root.crt\n  sslverify: true\n"
    ));
    for (server, name, n) in SERVERS {
        for (by, host) in [("name", name.to_string()), ("ip", fleet.address(n))] {
            for (variant, body) in variants() {
                let env = format!("{variant}__{server}__{by}");
                if let Some(query) = body.strip_prefix('?') {
                    out.push_str(&format!(
                        "{env}:\n  url: mysql2://deploy:{password}@{host}:3306/shop_rails?{query}\n"
                    ));
                } else {
                    out.push_str(&format!(
                        "{env}:\n  adapter: mysql2\n  host: {host}\n  port: 3306\n  username: deploy\n  password: \"{password}\"\n  database: shop_rails\n{body}"
                    ));
                }
            }
        }
    }
    // The URL from the process environment, as Heroku-style deployments
    // give it: only the running application knows it.
    out.push_str("database_url:\n  adapter: mysql2\n  url: <%= ENV['DATABASE_URL'] %>\n");
    out.push_str(&format!(
        "localhost:\n  adapter: mysql2\n  host: localhost\n  username: deploy\n  password: \"{password}\"\n  database: shop_rails\n  sslca: {K}/root.crt\n  sslkey: {K}/mysql.key\n  sslcert: {K}/mysql.crt\n"
    ));
    out
}

/// What the real driver did in one environment.
#[derive(Debug, Clone)]
struct Outcome {
    connected: bool,
    tls: bool,
    error: String,
    warnings: Vec<String>,
}

/// Where the oracle is copied on the application host (the repository may
/// live under /tmp, which every fleet host has of its own).
const ORACLE: &str = "/data/matrix/rails-oracle.rb";

fn run_oracle(fleet: &Fleet, envs: &[String]) -> BTreeMap<String, Outcome> {
    let out = fleet.ssh("app", &format!("ruby {ORACLE} {MATRIX} {}", envs.join(" ")));
    assert!(out.status.success(), "the oracle failed: {}", text(&out));
    let mut seen = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        seen.insert(
            v["env"].as_str().unwrap().to_string(),
            Outcome {
                connected: v["connected"].as_bool().unwrap(),
                tls: !v["ssl_version"].as_str().unwrap().is_empty(),
                error: v["error"].as_str().unwrap_or("").to_string(),
                warnings: v["warnings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|w| w.as_str().unwrap().to_string())
                    .collect(),
            },
        );
    }
    assert_eq!(
        seen.len(),
        envs.len(),
        "the oracle answered for every environment"
    );
    seen
}

fn tri(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

#[test]
fn every_database_yml_verdict_matches_the_real_driver() {
    if !fleet_util::live("rails_live") {
        return;
    }
    let spec = fleet_util::root().join("testfleet/examples/rails.spec");
    let fleet = Fleet::up(57, spec.to_str().unwrap(), &[], &[]);
    let password = fleet.read("secrets/deploy.password").trim().to_string();
    let app = fleet.host_root("app").expect("the app host runs");

    // The application as deployed: the matrix, and a Gemfile.lock that pins
    // the driver really installed there.
    let version = fleet.ssh("app", "ruby -rmysql2 -e 'print Mysql2::VERSION'");
    assert!(version.status.success(), "{}", text(&version));
    let mysql2 = String::from_utf8(version.stdout).unwrap();
    std::fs::create_dir_all(app.join("data/matrix/config")).unwrap();
    std::fs::copy(
        fleet_util::root().join("testfleet/rails-oracle.rb"),
        app.join(ORACLE.trim_start_matches('/')),
    )
    .unwrap();
    std::fs::write(
        app.join(MATRIX.trim_start_matches('/')),
        matrix(&fleet, &password),
    )
    .unwrap();
    std::fs::write(
        app.join("data/matrix/Gemfile.lock"),
        format!("GEM\n  remote: https://rubygems.org/\n  specs:\n    mysql2 ({mysql2})\n\nDEPENDENCIES\n  mysql2\n"),
    )
    .unwrap();

    let mut envs: Vec<String> = Vec::new();
    for (server, _, _) in SERVERS {
        for by in ["name", "ip"] {
            for (variant, _) in variants() {
                envs.push(format!("{variant}__{server}__{by}"));
            }
        }
    }
    envs.push("localhost".into());
    let real = run_oracle(&fleet, &envs);
    // DATABASE_URL, merged by ActiveRecord into the RAILS_ENV environment:
    // `?sslverify=false` is the string "false", which Ruby takes as true.
    let url = fleet.ssh(
        "app",
        &format!(
            "RAILS_ENV=database_url DATABASE_URL='mysql2://deploy:{password}@db-other:3306/shop_rails?sslverify=false' ruby {ORACLE} {MATRIX} database_url"
        ),
    );
    assert!(url.status.success(), "{}", text(&url));
    let from_env: Value = serde_json::from_slice(&url.stdout).unwrap();

    // sslaudit on the same host, over SSH, as a user runs it.
    let inventory = fleet.read("inventory.yaml").replace(
        "database_yml: /data/shop/current/config/database.yml",
        &format!("database_yml: [/data/shop/current/config/database.yml, {MATRIX}]"),
    );
    let inv = fleet.write("inventory-matrix.yaml", &inventory);
    let json = fleet.path("matrix.json");
    let html = fleet.path("matrix.html");
    let out = sslaudit(
        &[
            "scan",
            "--inventory",
            &inv,
            "--json",
            &json,
            "--html",
            &html,
            "--fail-on",
            "never",
        ],
        &[],
        fleet.dir.path(),
    );
    assert_sane(&out);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r = report(&json);
    let host = r["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "app")
        .unwrap();
    let predicted: BTreeMap<String, &Value> = host["client_tls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["path"] == MATRIX)
        .map(|e| (e["environment"].as_str().unwrap().to_string(), e))
        .collect();
    let mut findings: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in r["findings"].as_array().unwrap() {
        if f["host"] != "app" || f["location"]["file"] != MATRIX {
            continue;
        }
        let object = f["location"]["object"].as_str().unwrap_or("");
        let env = object.split(':').nth(1).unwrap_or("").to_string();
        findings
            .entry(env)
            .or_default()
            .push(f["rule_id"].as_str().unwrap().to_string());
    }

    // The driver the scan saw: the Gemfile.lock version on the host's
    // libmariadb3, one row of the table.
    let sample = predicted["none__ok__name"];
    assert_eq!(sample["driver"]["gem_version"], mysql2.as_str());
    assert!(
        sample["driver"]["library"]
            .as_str()
            .unwrap_or("")
            .starts_with("libmariadb3"),
        "{sample}"
    );

    let mut disagreements = Vec::new();
    let mut check = |env: &str, what: &str, ok: bool, detail: String| {
        if !ok {
            disagreements.push(format!("{env}: {what}: {detail}"));
        }
    };
    for by in ["name", "ip"] {
        for (variant, body) in variants() {
            let id = |server: &str| format!("{variant}__{server}__{by}");
            let ok = &real[&id("ok")];
            let (wrong, other) = (&real[&id("wrong")], &real[&id("other")]);
            // What the driver did: TLS with the trusted server; the untrusted
            // one refused means the chain is verified; the wrong name refused
            // (with the chain verified) means the identity is checked.
            let encrypted = ok.connected && ok.tls;
            let verified = encrypted && !other.connected;
            let identity = verified && !wrong.connected;
            let ignored_mode = ok.warnings.iter().any(|w| w.contains("ssl_mode"));
            let unread = body.contains("ssl_ca:")
                || body.contains("sslmode:")
                || body.contains("ssl_verify:");
            assert!(
                ok.connected,
                "{}: the trusted server refused: {}",
                id("ok"),
                ok.error
            );
            for server in ["ok", "wrong", "other"] {
                let env = id(server);
                let p = predicted
                    .get(&env)
                    .unwrap_or_else(|| panic!("no client_tls for {env}"));
                let rules = findings.get(&env).cloned().unwrap_or_default();
                let has = |r: &str| rules.iter().any(|x| x == r);
                let got = format!(
                    "predicted {}/{}/{}, rules {rules:?}",
                    p["encrypted"], p["verified"], p["identity"]
                );
                check(
                    &env,
                    "encrypted",
                    p["encrypted"] == tri(encrypted),
                    got.clone(),
                );
                check(
                    &env,
                    "verified",
                    p["verified"] == tri(verified),
                    got.clone(),
                );
                check(
                    &env,
                    "identity checked",
                    p["identity"] == tri(identity),
                    got.clone(),
                );
                check(
                    &env,
                    "plaintext is reported (SSL006/SSL020/SSL024)",
                    encrypted || has("SSL006") || has("SSL020") || has("SSL024"),
                    got.clone(),
                );
                check(
                    &env,
                    "SSL020 only where the driver really stays in plaintext",
                    !has("SSL020") || !encrypted,
                    got.clone(),
                );
                check(
                    &env,
                    "SSL022 exactly when encrypted and unverified",
                    has("SSL022") == (encrypted && !verified),
                    got.clone(),
                );
                check(
                    &env,
                    "SSL023 exactly where the certificate lacks the name used",
                    has("SSL023") == (server == "wrong" && encrypted),
                    got.clone(),
                );
                check(
                    &env,
                    "SSL024 exactly for unread keys and what the driver ignored",
                    has("SSL024") == (unread || ignored_mode),
                    got.clone(),
                );
            }
        }
    }
    // localhost: the driver went to the Unix socket, where there is no TLS.
    let local = &real["localhost"];
    check(
        "localhost",
        "the driver used the socket",
        !local.connected && local.error.contains("socket"),
        local.error.clone(),
    );
    let lrules = findings.get("localhost").cloned().unwrap_or_default();
    check(
        "localhost",
        "SSL007 and not encrypted",
        lrules.iter().any(|r| r == "SSL007") && predicted["localhost"]["encrypted"] == "no",
        format!("{lrules:?}"),
    );
    // The driver encrypted to the untrusted server without verifying it;
    // sslaudit cannot see the process environment and says it does not
    // know, with no claim either way.
    assert_eq!(from_env["connected"], true, "{from_env}");
    assert_ne!(from_env["ssl_version"], "", "{from_env}");
    let p = predicted["database_url"];
    let rules = findings.get("database_url").cloned().unwrap_or_default();
    check(
        "database_url",
        "unknown, and no verdict, for a URL only the process knows",
        p["encrypted"] == "unknown" && p["verified"] == "unknown" && rules.is_empty(),
        format!("{p} {rules:?}"),
    );
    assert!(
        disagreements.is_empty(),
        "{} disagreement(s) between sslaudit and the real driver:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );

    // Collected into a snapshot (Gemfile.lock and the library's shlibs
    // kept, redacted) and scanned offline: the same verdicts.
    let evidence = fleet.path("evidence");
    let out = sslaudit(
        &["collect", "--inventory", &inv, "--out", &evidence],
        &[],
        fleet.dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let offline = fleet.path("offline.json");
    let out = sslaudit(
        &[
            "scan",
            "--snapshot",
            &evidence,
            "--json",
            &offline,
            "--fail-on",
            "never",
        ],
        &[],
        fleet.dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let again = report(&offline);
    let tls_of = |r: &Value| {
        r["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == "app")
            .unwrap()["client_tls"]
            .clone()
    };
    assert_eq!(
        tls_of(&again),
        tls_of(&r),
        "the snapshot changes the verdicts"
    );
    let lock = std::fs::read_to_string(
        std::path::Path::new(&evidence).join("rails/app/fs/data/matrix/Gemfile.lock"),
    )
    .unwrap();
    assert!(lock.contains(&format!("    mysql2 ({mysql2})")), "{lock}");
    assert!(
        !lock.contains("rubygems.org"),
        "remote: lines are not kept: {lock}"
    );

    // The report shows the driver's verdict per environment.
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("Applications: what their driver really does"));
    assert!(page.contains(&format!("mysql2 {mysql2} on libmariadb3")));
}
