//! The outputs of a fleet too large to list in full (issue #20), end to end
//! through `sslaudit scan`: the terminal summary counts findings by rule and
//! lists the worst ones unless `--all`, and the HTML report counts the
//! environments in its header. The fleet is the demo fleet's production
//! environment copied twelve times (each copy its own environment), next to
//! staging: over 60 hosts in 13 environments, enough to pass the limits.
#![allow(clippy::unwrap_used)] // helpers of integration tests panic like the tests do

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sslaudit_scanner::snapshot;

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/demo-fleet")
}

/// Copies a folder, keeping symbolic links as links and file modes.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let meta = std::fs::symlink_metadata(&src).unwrap();
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if meta.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// The demo fleet with production copied `copies` times as `production-NN`.
fn large_snapshot(dir: &Path, copies: usize) -> PathBuf {
    let snap = dir.join("snapshot");
    std::fs::create_dir_all(&snap).unwrap();
    std::fs::copy(demo().join("snapshot.toml"), snap.join("snapshot.toml")).unwrap();
    copy_tree(&demo().join("staging"), &snap.join("staging"));
    for n in 0..copies {
        let env = format!("production-{n:02}");
        copy_tree(&demo().join("production"), &snap.join(&env));
        for host in std::fs::read_dir(snap.join(&env)).unwrap() {
            let toml = host.unwrap().path().join("host.toml");
            let text = std::fs::read_to_string(&toml).unwrap();
            let renamed = text.replace(
                "environment = \"production\"",
                &format!("environment = \"{env}\""),
            );
            assert_ne!(text, renamed, "{} names no environment", toml.display());
            std::fs::write(&toml, renamed).unwrap();
        }
    }
    snap
}

fn scan(snap: &Path, extra: &[&str]) -> Output {
    let as_of = snapshot::read_manifest(&demo())
        .unwrap()
        .collected_at
        .unwrap()[..10]
        .to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_sslaudit"))
        .args(["scan", "--snapshot"])
        .arg(snap)
        .args(["--as-of", &as_of, "--fail-on", "never", "--color", "never"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Lines of the terminal summary that list a finding.
fn finding_lines(text: &str) -> usize {
    text.lines()
        .filter(|l| {
            ["CRITICAL", "HIGH", "MEDIUM", "LOW"]
                .iter()
                .any(|s| l.starts_with(&format!("  {s} ")))
        })
        .count()
}

#[test]
fn a_large_scan_summarises_in_the_terminal_unless_all() {
    let dir = tempfile::tempdir().unwrap();
    let snap = large_snapshot(dir.path(), 12);
    let json = dir.path().join("report.json");
    let html = dir.path().join("report.html");
    let out = scan(
        &snap,
        &[
            "--json",
            json.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let report =
        sslaudit_reports::json::from_json(&std::fs::read_to_string(&json).unwrap()).unwrap();
    // Every host folder of the snapshot is in the report.
    let folders: usize = std::fs::read_dir(&snap)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| std::fs::read_dir(e.path()).unwrap().count())
        .sum();
    assert!(folders > 60, "{folders} hosts");
    assert_eq!(report.hosts.len(), folders);
    let active = report.active().count();
    assert!(active > 50, "only {active} active findings");

    assert!(text.contains("\nactive findings by rule\n"), "{text}");
    assert!(text.contains(&format!("\nthe 50 worst of {active} active findings\n")));
    assert_eq!(finding_lines(&text), 50 + report_waived_lines(&report));
    assert!(text.contains("more active findings: --all lists them"));

    let all = String::from_utf8(scan(&snap, &["--all"]).stdout).unwrap();
    assert!(!all.contains("active findings by rule"));
    assert_eq!(finding_lines(&all), report.findings.len());

    // 13 environments: the HTML header counts them.
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<a href=\"#environments\">13 environments</a>"));
}

/// Waived findings are listed apart, up to the limit too.
fn report_waived_lines(report: &sslaudit_rules::report::ScanReport) -> usize {
    (report.findings.len() - report.active().count()).min(50)
}
