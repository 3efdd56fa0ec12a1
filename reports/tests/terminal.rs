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
