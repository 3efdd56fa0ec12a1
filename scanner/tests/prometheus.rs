//! `scan --prometheus`: the demo scan's textfile as README's main command
//! writes it, and the example alerting rules (examples/prometheus/),
//! checked by Prometheus's own `promtool` when it is installed
//! (CI installs Debian's `prometheus` and sets SSLAUDIT_REQUIRE_PROMTOOL=1
//! so that these checks cannot skip there).

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod fleet_util;

use std::process::{Command, Output};

use fleet_util::{promtool, root};

fn sslaudit(args: &[&str]) -> Output {
    fleet_util::sslaudit(args, &[], &root())
}

/// The demo scan, as README's main command runs it, with `--prometheus`.
fn demo_scan(out: &str) -> Output {
    sslaudit(&[
        "scan",
        "--snapshot",
        "fixtures/demo-fleet",
        "--next-ca",
        "production=fixtures/demo-fleet-next-ca.pem",
        "--quiet",
        "--prometheus",
        out,
    ])
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn the_demo_scans_textfile_passes_promtool_check_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("out.prom");
    let out = demo_scan(prom.to_str().unwrap());
    // The demo fails its gate (exit 1); the metrics are written all the same.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let metrics = std::fs::read_to_string(&prom).unwrap();
    // Nothing but the file beside it: the temporary file was renamed.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["out.prom"]);
    for series in [
        "sslaudit_host_up{environment=\"staging\",host=\"db-replica-1\"} 0",
        "sslaudit_host_status{environment=\"production\",host=\"db-replica-2\",status=\"partial\"} 1",
        "sslaudit_findings{environment=\"production\",host=\"db-master\",rule=\"SSL004\",severity=\"critical\"} 1",
        "sslaudit_tls_version_info{environment=\"production\",host=\"db-master\",endpoint=\"10.0.0.10:3306\",version=\"TLSv1\"} 1",
        "sslaudit_ca_rotation_ready{environment=\"production\",host=\"app-1\",ca_file=\"/home/deploy/.mysql/root.crt\",server=\"db-master\"} 0",
    ] {
        assert!(metrics.contains(series), "{series} in\n{metrics}");
    }
    // The production server certificate, to the second.
    assert!(
        metrics.lines().any(|l| l.starts_with(
            "sslaudit_cert_not_after{environment=\"production\",host=\"db-master\",\
             file=\"/db/mysql/5.6/data/server.crt\",subject=\"CN=db-master,OU=production,O=Acme Shop\",\
             cn=\"db-master\",issuer_cn=\"production MySQL CA\",serial_no=\""
        ) && l.ends_with(" 1796447918")),
        "{metrics}"
    );
    let duration = metrics
        .lines()
        .find_map(|l| l.strip_prefix("sslaudit_scan_duration_seconds "))
        .unwrap();
    assert!(duration.parse::<f64>().unwrap() >= 0.0);
    let Some(check) = promtool(&["check", "metrics"], Some(&prom)) else {
        return;
    };
    // Problems (and lint) go to stderr; a clean file says nothing.
    assert!(
        check.status.success() && check.stdout.is_empty() && check.stderr.is_empty(),
        "promtool check metrics: {}",
        text(&check)
    );
}

#[test]
fn prometheus_to_stdout_and_one_stdout_only() {
    let out = demo_scan("-");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with("# HELP sslaudit_build_info "),
        "{stdout}"
    );
    let out = sslaudit(&[
        "scan",
        "--snapshot",
        "fixtures/demo-fleet",
        "--json",
        "-",
        "--prometheus",
        "-",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("--json, --prometheus all write to stdout"));
}

#[test]
fn an_unwritable_textfile_is_exit_2_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo_scan(dir.path().join("missing/out.prom").to_str().unwrap());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("missing/out.prom"), "{}", text(&out));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// The example alerting rules load (`promtool check rules`) and fire when
/// and only when they should (`promtool test rules` on their unit tests).
#[test]
fn the_example_alerts_pass_promtool_check_and_test_rules() {
    let dir = root().join("examples/prometheus");
    let Some(check) = promtool(
        &["check", "rules", "examples/prometheus/sslaudit-alerts.yml"],
        None,
    ) else {
        return;
    };
    assert!(check.status.success(), "{}", text(&check));
    assert!(
        text(&check).contains("SUCCESS: 7 rules found"),
        "{}",
        text(&check)
    );
    let test = Command::new("promtool")
        .args(["test", "rules", "sslaudit-alerts.test.yml"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(test.status.success(), "{}", text(&test));
    assert!(text(&test).contains("SUCCESS"), "{}", text(&test));
}
