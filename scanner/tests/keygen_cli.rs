//! `sslaudit keygen --out DIR`: the layout's files, keys 0600, plans without
//! key material, and never writing over existing keys.

#![allow(clippy::unwrap_used)] // helpers of integration tests panic like the tests do

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use sslaudit_rules::parse::x509;

fn sslaudit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sslaudit"))
        .args(args)
        .output()
        .unwrap()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn keygen_lays_out_verified_keys_through_the_engine() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("keys");
    let state = tmp.path().join("state");
    let run = sslaudit(&[
        "keygen",
        "--out",
        out.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
        "--server-name",
        "db-master",
        "--user",
        "deploy",
        "--datadir",
        "/db/mysql/5.7/data",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let data = out.join("db-master/db/mysql/5.7/data");
    let ca =
        x509::parse_certificates("ca", &std::fs::read(out.join("ca/root.crt")).unwrap()).unwrap();
    let server =
        x509::parse_certificates("server", &std::fs::read(data.join("server.crt")).unwrap())
            .unwrap();
    assert!(x509::is_issued_by(&server[0], &ca[0]));
    let key = x509::parse_private_key(&std::fs::read(data.join("server.key")).unwrap()).unwrap();
    assert_eq!(key.matches(&server[0]), Some(true));
    assert_eq!(key.format, "RSA PRIVATE KEY");
    assert_eq!(
        (server[0].not_after - server[0].not_before) / 86_400,
        1825,
        "1825 days by default, as the seed's keygen scripts"
    );
    for private in [
        data.join("server.key"),
        out.join("db-master/db/mysql/keygen/deploy/mysql.key"),
        out.join("ca/root.key"),
    ] {
        assert_eq!(mode(&private), 0o600, "{}", private.display());
    }
    assert_eq!(mode(&data.join("server.crt")), 0o644);
    // One journal folder with its plan, journal and audit log.
    let runs: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .collect();
    assert_eq!(runs.len(), 1);
    for f in ["plan.json", "journal.jsonl", "audit.log"] {
        let text = std::fs::read_to_string(runs[0].path().join(f)).unwrap();
        assert!(
            !text.contains("PRIVATE KEY-----\n"),
            "{f} holds key material"
        );
    }

    // Never over existing keys.
    let again = sslaudit(&[
        "keygen",
        "--out",
        out.to_str().unwrap(),
        "--server-name",
        "x",
        "--datadir",
        "/d",
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
}

#[test]
fn plan_out_writes_the_plan_without_keys_and_applies_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("keys");
    let plan = tmp.path().join("plan.json");
    let run = sslaudit(&[
        "keygen",
        "--out",
        out.to_str().unwrap(),
        "--server-name",
        "db-master",
        "--layout",
        "debian",
        "--plan-out",
        plan.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(!out.exists(), "--plan-out applies nothing");
    let text = std::fs::read_to_string(&plan).unwrap();
    assert!(
        text.contains("/db-master/var/lib/mysql/server-key.pem"),
        "{text}"
    );
    assert!(!text.contains("PRIVATE KEY"));
    // Without --datadir the engineyard layout's newest version directory
    // is used, and the command says so.
    let run = sslaudit(&[
        "keygen",
        "--out",
        out.to_str().unwrap(),
        "--server-name",
        "x",
        "--user",
        "deploy",
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains("no --datadir: the server keys go to /db/mysql/5.7/data"),
        "{stderr}"
    );
    assert!(out.join("x/db/mysql/5.7/data/server.key").exists());
    assert!(out.join("x/db/mysql/keygen/deploy/mysql.key").exists());
}
