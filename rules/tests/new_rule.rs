//! The rule scaffold (`rules/new-rule`) on a copy of this crate: the rule
//! it creates compiles, registers in id order with complete metadata, its
//! healthy-host test passes and its bad-state test fails until the rule is
//! written; the README's generated table takes the new rule; its fixture
//! cases exist.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type().unwrap().is_dir() {
            copy_dir(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// `cargo test` in the copy: its own target folder under this build's (a
/// second cargo must not wait on the lock of the one running this test),
/// kept between runs.
fn cargo_test(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "target"))
        .map(|t| t.join("new-rule-check"))
        .unwrap_or_else(|| std::env::temp_dir().join("sslaudit-new-rule-check"));
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(dir)
        .args(["test", "--offline", "-q", "-p", "sslaudit-rules"])
        .args(args)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn the_scaffold_makes_a_registered_rule_whose_tests_ask_for_its_logic() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for f in ["Cargo.lock", "README.md"] {
        std::fs::copy(repo().join(f), root.join(f)).unwrap();
    }
    // A workspace of this crate alone.
    let manifest = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let members = manifest
        .lines()
        .find(|l| l.starts_with("members = "))
        .expect("the workspace lists its members on one line");
    std::fs::write(
        root.join("Cargo.toml"),
        manifest.replace(members, "members = [\"rules\"]"),
    )
    .unwrap();
    for d in ["src", "tests", "data"] {
        copy_dir(&repo().join("rules").join(d), &root.join("rules").join(d));
    }
    std::fs::copy(
        repo().join("rules/Cargo.toml"),
        root.join("rules/Cargo.toml"),
    )
    .unwrap();
    std::fs::remove_file(root.join("rules/tests/new_rule.rs")).unwrap();

    let out = Command::new(repo().join("rules/new-rule"))
        .arg("--root")
        .arg(root)
        .args([
            "mysql",
            "SSL999",
            "ssl-ca-self-signed",
            "medium",
            "the server's CA certificate is a self-signed one-off",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let registry = std::fs::read_to_string(root.join("rules/src/registry.rs")).unwrap();
    assert!(registry.contains("    &crate::mysql::SslCaSelfSigned,\n];"));
    for case in ["pass-example", "fail-example"] {
        assert!(
            root.join("fixtures/cases/SSL999")
                .join(case)
                .join("production/db-master/host.toml")
                .is_file()
        );
    }

    // A taken id and an id out of order are refused.
    let again = Command::new(repo().join("rules/new-rule"))
        .arg("--root")
        .arg(root)
        .args(["mysql", "SSL998", "another-one", "low", "another one"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("must come after SSL999"));

    let out = cargo_test(
        root,
        &["--lib", "--", "registry", "ssl_ca_self_signed"],
        &[],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("ssl_ca_self_signed::tests::fires_on_the_bad_state --- FAILED"),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every other test the filter selects (the registry's meta-tests, the
    // healthy-host test) passes; only the logic test fails.
    let passed = text
        .lines()
        .find_map(|l| l.split_once(" passed; 1 failed"))
        .and_then(|(head, _)| head.rsplit(' ').next()?.parse::<u32>().ok());
    assert!(
        passed.is_some_and(|n| n >= 3),
        "the registry's meta-tests and the healthy-host test pass:\n{text}"
    );

    let out = cargo_test(root, &["--test", "readme"], &[("SSLAUDIT_BLESS", "1")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains(
        "| SSL999 | ssl-ca-self-signed | the server's CA certificate is a self-signed one-off | medium |"
    ));
}
