//! Secrets never leave the scanner: canary passwords in a database.yml, in
//! the environment variable the inventory names (`password_env`), in my.cnf
//! `[client] password` and in the remediation admin's password variable
//! (`admin_password_env`) appear in nothing sslaudit writes: stdout and
//! stderr (terminal summary, -vv logs), JSON, SARIF, HTML, JUnit, Markdown,
//! the evidence snapshot, `facts`, `inventory check`, a rotation's dry run,
//! plan, journals, audit log and generated.json. Runs only with
//! SSLAUDIT_LIVE=1; subnet 72.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod fleet_util;

use std::path::Path;
use std::process::Output;

use fleet_util::{Fleet, assert_sane, by_host, files_under, live, report, sslaudit, text};

const SPEC: &str = "\
db-master  production  db_master
app-1      production  app
";

/// Appends `text` to a file of a host (its overlay upper layer holds it).
fn append(fleet: &Fleet, host: &str, path: &str, text: &str) {
    let p = fleet.upper(host).join(path.trim_start_matches('/'));
    let mut body = std::fs::read_to_string(&p).unwrap();
    body.push_str(text);
    std::fs::write(&p, body).unwrap();
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn canary_passwords_appear_in_nothing_sslaudit_writes() {
    if !live("canary_passwords_appear_in_nothing_sslaudit_writes") {
        return;
    }
    let pid = std::process::id();
    let canary = |tag: &str| format!("Kanary{tag}{pid}q7Z");
    let (env_pw, yml_pw, cnf_pw, admin_pw, wrong_pw) = (
        canary("Env"),
        canary("Yml"),
        canary("Cnf"),
        canary("Admin"),
        canary("Wrong"),
    );
    let all = [&env_pw, &yml_pw, &cnf_pw, &admin_pw, &wrong_pw];
    let fleet = Fleet::up(72, SPEC, &[], &[("SSLAUDIT_MYSQL_PASSWORD", &env_pw)]);

    // The canaries on the hosts: deploy's password in database.yml, and a
    // [client] password in both hosts' my.cnf (root's own client logs in
    // over the socket all the same: unix_socket follows a failed password).
    let yml = "/data/shop/current/config/database.yml";
    let path = fleet.upper("app-1").join(yml.trim_start_matches('/'));
    let text_yml = std::fs::read_to_string(&path).unwrap();
    let replaced: String = text_yml
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("password:") {
                format!("  password: \"{yml_pw}\"\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert_ne!(replaced, text_yml);
    std::fs::write(&path, replaced).unwrap();
    for host in ["db-master", "app-1"] {
        append(
            &fleet,
            host,
            "/etc/mysql/my.cnf",
            &format!("\n[client]\npassword = {cnf_pw}\n"),
        );
    }
    // Remediation logs in as root with a password from the environment.
    let admin_inv = fleet.read("inventory.yaml").replace(
        "  mysql:\n    via: ssh\n",
        "  mysql:\n    via: ssh\n    admin_user: root\n    admin_password_env: SSLAUDIT_ADMIN_PASSWORD\n",
    );
    assert!(admin_inv.contains("admin_password_env"), "{admin_inv}");
    let admin_inv = fleet.write("inventory-admin.yaml", &admin_inv);
    let tcp_inv = fleet.path("inventory-tcp.yaml");

    let work = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let out_dir = work.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let o = |name: &str| out_dir.join(name).display().to_string();
    let state = o("state");
    let home_s = home.path().display().to_string();
    let env_ok = [
        ("SSLAUDIT_MYSQL_PASSWORD", env_pw.as_str()),
        ("SSLAUDIT_ADMIN_PASSWORD", admin_pw.as_str()),
        ("HOME", home_s.as_str()),
    ];
    let env_wrong = [
        ("SSLAUDIT_MYSQL_PASSWORD", wrong_pw.as_str()),
        ("HOME", home_s.as_str()),
    ];
    let mut outputs: Vec<(String, Output)> = Vec::new();
    let mut run = |label: &str, args: &[&str], env: &[(&str, &str)]| -> Output {
        let out = sslaudit(args, env, work.path());
        assert_sane(&out);
        outputs.push((label.to_string(), out.clone()));
        out
    };

    // Scans: every report format, the terminal summary and debug logs.
    let out = run(
        "scan tcp",
        &[
            "scan",
            "--inventory",
            &tcp_inv,
            "-vv",
            "--color",
            "never",
            "--json",
            &o("scan.json"),
            "--sarif",
            &o("scan.sarif"),
            "--html",
            &o("scan.html"),
            "--junit",
            &o("junit.xml"),
            "--markdown",
            &o("summary.md"),
            "--fail-on",
            "never",
        ],
        &env_ok,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Positive control: the password from the environment logged in.
    let got = by_host(&report(&o("scan.json")));
    assert!(got["db-master"].is_empty(), "{got:?}");
    run(
        "scan ssh",
        &[
            "scan",
            "--inventory",
            &admin_inv,
            "-v",
            "--json",
            &o("ssh.json"),
            "--fail-on",
            "never",
        ],
        &env_ok,
    );
    // A refused password is not echoed in the refusal.
    run(
        "scan wrong password",
        &[
            "scan",
            "--inventory",
            &tcp_inv,
            "-vv",
            "--json",
            &o("wrong.json"),
        ],
        &env_wrong,
    );
    let got = by_host(&report(&o("wrong.json")));
    assert!(
        got["db-master"]["SCAN002"]
            .iter()
            .any(|m| m.contains("Access denied")),
        "{got:?}"
    );
    // Evidence, and a scan of it; facts; inventory check.
    let out = run(
        "collect",
        &[
            "collect",
            "--inventory",
            &tcp_inv,
            "--out",
            &o("snapshot"),
            "-vv",
        ],
        &env_ok,
    );
    assert!(out.status.success(), "{}", text(&out));
    run(
        "scan snapshot",
        &[
            "scan",
            "--snapshot",
            &o("snapshot"),
            "--json",
            &o("offline.json"),
            "--html",
            &o("offline.html"),
            "--fail-on",
            "never",
        ],
        &env_ok,
    );
    run("facts", &["facts", "--inventory", &tcp_inv], &env_ok);
    run(
        "inventory check",
        &["inventory", "check", "--inventory", &tcp_inv],
        &env_ok,
    );
    // A rotation: dry run, plan, and a real run with its journal.
    let rotate = [
        "rotate",
        "--inventory",
        admin_inv.as_str(),
        "--environment",
        "production",
    ];
    let out = run(
        "rotate dry run",
        &[&rotate[..], &["--dry-run", "--state-dir", &state, "-vv"]].concat(),
        &env_ok,
    );
    assert!(out.status.success(), "{}", text(&out));
    run(
        "rotate plan",
        &[
            &rotate[..],
            &["--plan-out", &o("rotate-plan.json"), "--state-dir", &state],
        ]
        .concat(),
        &env_ok,
    );
    let out = run(
        "rotate",
        &[&rotate[..], &["--yes", "--state-dir", &state, "-vv"]].concat(),
        &env_ok,
    );
    assert!(out.status.success(), "{}", text(&out));
    let state_files = files_under(Path::new(&state));
    for want in ["audit.log", "generated.json"] {
        assert!(
            state_files.iter().any(|p| p.ends_with(want)),
            "no {want} in {state_files:?}"
        );
    }

    // The canaries really were where the scanner read them...
    let on_host = std::fs::read(fleet.upper("app-1").join(yml.trim_start_matches('/'))).unwrap();
    assert!(contains(&on_host, &yml_pw));
    let cnf = std::fs::read(fleet.upper("db-master").join("etc/mysql/my.cnf")).unwrap();
    assert!(contains(&cnf, &cnf_pw));
    // ...and the snapshot kept the files, redacted in place.
    let snap = files_under(&out_dir.join("snapshot"));
    let snap_yml = snap
        .iter()
        .find(|p| p.ends_with("config/database.yml"))
        .unwrap_or_else(|| panic!("database.yml not in the snapshot: {snap:?}"));
    assert!(
        contains(
            &std::fs::read(snap_yml).unwrap(),
            "password: \"<redacted>\""
        ) || contains(&std::fs::read(snap_yml).unwrap(), "password: <redacted>")
    );

    // Nothing sslaudit wrote holds any canary: outputs, and every file under
    // the output folder, the state folder, its working directory and HOME.
    let mut leaks = Vec::new();
    for (label, out) in &outputs {
        for c in all {
            for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
                if contains(bytes, c) {
                    leaks.push(format!("{label} {stream} holds {c}"));
                }
            }
        }
    }
    let mut written = files_under(work.path());
    written.extend(files_under(home.path()));
    assert!(written.len() > 20, "{written:?}");
    for p in &written {
        let bytes = std::fs::read(p).unwrap();
        for c in all {
            if contains(&bytes, c) {
                leaks.push(format!("{} holds {c}", p.display()));
            }
        }
    }
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
    eprintln!(
        "secrets: {} commands, {} files written, no canary in any",
        outputs.len(),
        written.len()
    );
}
