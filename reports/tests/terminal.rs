//! The terminal summary (snapshot) and its color switch.

#![allow(clippy::unwrap_used)] // helpers of integration tests panic like the tests do

mod common;

use common::{sample_report, with_rules};
use sslaudit_reports::terminal::summary;

#[test]
fn snapshot_plain() {
    let text = with_rules(|rules| summary(&sample_report(), rules, false));
    insta::assert_snapshot!(text);
}

#[test]
fn snapshot_color() {
    let text = with_rules(|rules| summary(&sample_report(), rules, true));
    insta::assert_snapshot!(text.replace('\x1b', "<ESC>"));
}

#[test]
fn color_only_when_asked() {
    let plain = with_rules(|rules| summary(&sample_report(), rules, false));
    assert!(!plain.contains('\x1b'));
    let colored = with_rules(|rules| summary(&sample_report(), rules, true));
    assert!(colored.contains("\x1b[1;35mCRITICAL"));
    // Same text once the styles are removed.
    let mut stripped = colored.clone();
    for code in [
        "\x1b[0m",
        "\x1b[1m",
        "\x1b[2m",
        "\x1b[1;35m",
        "\x1b[1;31m",
        "\x1b[33m",
        "\x1b[36m",
    ] {
        stripped = stripped.replace(code, "");
    }
    assert_eq!(stripped, plain);
}

#[test]
fn waived_findings_are_apart_and_not_counted_as_findings() {
    let text = with_rules(|rules| summary(&sample_report(), rules, false));
    let header = text.lines().next().unwrap();
    assert!(
        header.contains("6 findings (1 critical, 2 high, 2 medium, 1 low); 1 suppressed"),
        "{header}"
    );
    let (active, waived) = text.split_once("\nwaived (1)\n").unwrap();
    assert!(!active.contains("SSL005"));
    assert!(waived.contains("SSL005 account-without-x509"));
    assert!(waived.contains("    waived until 2027-01-31: legacy reporting job, ticket OPS-12\n"));
}

#[test]
fn rules_without_metadata_show_their_id() {
    let text = summary(&sample_report(), &[], false);
    assert!(
        text.contains("  HIGH      SSL001  have_ssl is DISABLED"),
        "{text}"
    );
}

#[test]
fn text_from_hosts_cannot_drive_the_terminal() {
    let mut report = sample_report();
    report.findings[0].message = "subject CN=\x1b]0;pwned\x07evil\nnext".into();
    let text = summary(&report, &[], true);
    assert!(
        text.contains("CN=\\u{1b}]0;pwned\\u{7}evil\\nnext"),
        "{text}"
    );
    assert!(!text.contains("\x1b]0"));
}

#[test]
fn a_clean_scan_says_so() {
    let mut report = sample_report();
    report.findings.clear();
    report.expired_waivers.clear();
    let text = summary(&report, &[], false);
    assert_eq!(
        text,
        "sslaudit 0.1.0, as of 2026-06-01: 4 hosts (2 scanned, 1 partial, 1 unreachable); \
         0 findings (0 critical, 0 high, 0 medium, 0 low); 0 suppressed\n\nno findings\n"
    );
}

// ---------------------------------------------------------------------------
// A large fleet (issue #20): counts by rule and the worst findings.

use sslaudit_reports::terminal::{DEFAULT_LIMIT, TerminalOptions, summary_with};
use sslaudit_rules::Severity;

fn limited(report: &sslaudit_rules::report::ScanReport, limit: Option<usize>) -> String {
    with_rules(|rules| {
        summary_with(
            report,
            rules,
            &TerminalOptions {
                color: false,
                limit,
            },
        )
    })
}

/// Lines that list a finding (`  HIGH      SSL001 ...`).
fn finding_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| {
            ["CRITICAL", "HIGH", "MEDIUM", "LOW"]
                .iter()
                .any(|s| l.starts_with(&format!("  {s} ")))
        })
        .collect()
}

#[test]
fn a_small_fleet_is_listed_whole_under_the_default_limit() {
    let report = sample_report();
    assert_eq!(
        limited(&report, Some(DEFAULT_LIMIT)),
        with_rules(|rules| summary(&report, rules, false))
    );
}

#[test]
fn a_large_fleet_shows_counts_by_rule_and_its_worst_findings() {
    let report = common::large::fleet(2_000);
    let active = report.active().count();
    assert!(active > DEFAULT_LIMIT);
    let text = limited(&report, Some(DEFAULT_LIMIT));
    // About four lines per listed entry at most, whatever the fleet size.
    assert!(text.lines().count() < 300, "{} lines", text.lines().count());
    assert!(text.contains("\nactive findings by rule\n"));
    assert!(text.contains(&format!("\nthe 50 worst of {active} active findings\n")));
    assert!(text.contains(&format!(
        "... {} more active findings: --all lists them; --json and --html keep them all",
        active - 50
    )));
    // Worst first: no listed finding is less severe than one left out.
    let lines = finding_lines(&text);
    assert_eq!(lines.len(), 50);
    let mut severities: Vec<Severity> = report.active().map(|f| f.severity).collect();
    severities.sort_by(|a, b| b.cmp(a));
    assert!(
        severities[49] > *severities.last().unwrap(),
        "a cut that tells nothing"
    );
    for sev in Severity::ALL {
        let label = format!("  {} ", sev.as_str().to_uppercase());
        assert_eq!(
            lines.iter().filter(|l| l.starts_with(&label)).count(),
            severities[..50].iter().filter(|&&s| s == sev).count(),
            "{sev}"
        );
    }
    // The trust stores that break are cut at the limit too.
    let broken = report
        .readiness
        .iter()
        .filter(|r| r.trusts_current == Some(false))
        .count();
    assert!(broken > 10);
    let ten = limited(&report, Some(10));
    assert!(ten.contains(&format!(
        "... {} more trust stores: --all lists them",
        broken - 10
    )));

    // --all: everything.
    let all = limited(&report, None);
    assert_eq!(finding_lines(&all).len(), active);
    assert!(!all.contains("--all lists them"));
}
