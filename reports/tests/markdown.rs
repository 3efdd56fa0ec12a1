//! The Markdown summary: verdict, counts, the capped table, and escaping of
//! text that comes from hosts.

#![allow(clippy::unwrap_used)] // helpers of integration tests panic like the tests do

mod common;

use common::{sample_report, with_rules};
use sslaudit_reports::baseline::{Baseline, BaselineFormat, compare};
use sslaudit_reports::markdown::{GateVerdict, MarkdownOptions, to_markdown};
use sslaudit_rules::report::ScanReport;
use sslaudit_rules::{Finding, Location, Severity};

fn failed_gate() -> GateVerdict {
    GateVerdict {
        fail_on: Some(Severity::High),
        passed: false,
        failing: 3,
        new_only: false,
        audit_gap: true,
    }
}

fn markdown(report: &ScanReport, opts: &MarkdownOptions<'_>) -> String {
    with_rules(|rules| to_markdown(report, rules, opts))
}

/// Table rows: lines that start with `| ` after the header and separator.
fn table_rows(md: &str) -> Vec<&str> {
    let mut lines = md.lines().skip_while(|l| !l.starts_with("### Findings"));
    lines.next();
    lines
        .filter(|l| l.starts_with('|'))
        .skip(2) // header and separator
        .collect()
}

/// Cell separators: `|` not escaped by a backslash.
fn separators(row: &str) -> usize {
    let mut n = 0;
    let mut escaped = false;
    for c in row.chars() {
        match c {
            '\\' if !escaped => escaped = true,
            '|' if !escaped => n += 1,
            _ => escaped = false,
        }
    }
    n
}

#[test]
fn snapshot() {
    let opts = MarkdownOptions {
        gate: Some(failed_gate()),
        ..MarkdownOptions::default()
    };
    insta::assert_snapshot!(markdown(&sample_report(), &opts));
}

#[test]
fn verdicts() {
    let report = sample_report();
    let md = markdown(
        &report,
        &MarkdownOptions {
            gate: Some(failed_gate()),
            ..MarkdownOptions::default()
        },
    );
    assert!(
        md.contains(
            "**Gate: FAILED**: 3 findings at or above high; a host could not be (fully) scanned (this always fails an audit)."
        ),
        "{md}"
    );
    let passed = GateVerdict {
        fail_on: Some(Severity::Critical),
        passed: true,
        failing: 0,
        new_only: true,
        audit_gap: false,
    };
    let md = markdown(
        &report,
        &MarkdownOptions {
            gate: Some(passed),
            ..MarkdownOptions::default()
        },
    );
    assert!(
        md.contains("**Gate: passed**: no new findings at or above critical."),
        "{md}"
    );
    let never = GateVerdict {
        fail_on: None,
        passed: true,
        failing: 0,
        new_only: false,
        audit_gap: false,
    };
    let md = markdown(
        &report,
        &MarkdownOptions {
            gate: Some(never),
            ..MarkdownOptions::default()
        },
    );
    assert!(md.contains("**Gate: not enforced**"), "{md}");
    let md = markdown(&report, &MarkdownOptions::default());
    assert!(!md.contains("Gate"), "{md}");
}

#[test]
fn counts_by_severity_and_only_active_findings_in_the_table() {
    let md = markdown(&sample_report(), &MarkdownOptions::default());
    assert!(md.contains("| CRITICAL | 1 |"), "{md}");
    // SSL001, SCAN001 (SSL005 is waived).
    assert!(md.contains("| HIGH | 2 |"), "{md}");
    assert!(md.contains("| MEDIUM | 2 |"), "{md}");
    assert!(md.contains("| LOW | 1 |"), "{md}");
    assert!(md.contains("| waived | 1 |"), "{md}");
    assert!(
        md.contains("As of 2026-06-01: 4 hosts (2 scanned, 1 partial, 1 unreachable)."),
        "{md}"
    );
    let rows = table_rows(&md);
    assert_eq!(rows.len(), 6, "{md}");
    // Worst first.
    assert!(
        rows[0].starts_with("| CRITICAL | SSL004 certificate-expiry |"),
        "{}",
        rows[0]
    );
    assert!(rows.iter().all(|r| !r.contains("REQUIRE X509")));
    assert!(md.contains("SSL005 on db-master (account:reports@%): expired on 2026-01-01"));
}

#[test]
fn the_table_is_capped() {
    let mut report = sample_report();
    for i in 0..120 {
        report.findings.push(Finding::new(
            "SSL004",
            Severity::Medium,
            &format!("db-{i:03}"),
            "production",
            "certificate expires in 20 days",
            Location::file("/etc/mysql/server.crt", None),
        ));
    }
    let md = markdown(&report, &MarkdownOptions::default());
    assert_eq!(table_rows(&md).len(), 50);
    assert!(md.contains("### Findings (top 50 of 126)"), "{md}");
    assert!(md.contains("_and 76 more: see the full report"), "{md}");

    let md = markdown(
        &report,
        &MarkdownOptions {
            max_rows: 5,
            ..MarkdownOptions::default()
        },
    );
    assert_eq!(table_rows(&md).len(), 5);
    assert!(md.contains("_and 121 more"), "{md}");
}

#[test]
fn host_text_cannot_break_the_table() {
    let mut report = sample_report();
    report.findings.push(Finding::new(
        "SSL004",
        Severity::Critical,
        "db|x",
        "production",
        "subject `CN=a|b`\nnext line <script>alert(1)</script> [x](http://e) **bold**",
        Location::file("/etc/ssl/a.pem", None),
    ));
    let md = markdown(&report, &MarkdownOptions::default());
    let rows = table_rows(&md);
    for row in &rows {
        assert_eq!(separators(row), 5, "{row}");
    }
    let row = rows.iter().find(|r| r.contains("db\\|x")).unwrap();
    assert!(
        row.contains("subject \\`CN=a\\|b\\` next line &lt;script&gt;"),
        "{row}"
    );
    assert!(row.contains("\\[x\\](http://e) \\*\\*bold\\*\\*"), "{row}");
    assert!(!md.contains("<script>"));
}

#[test]
fn long_messages_are_cut() {
    let mut report = sample_report();
    report.findings.push(Finding::new(
        "SSL004",
        Severity::Critical,
        "db-long",
        "production",
        "x".repeat(1000),
        Location::file("/etc/ssl/a.pem", None),
    ));
    let md = markdown(&report, &MarkdownOptions::default());
    let row = table_rows(&md)
        .into_iter()
        .find(|r| r.contains("db-long"))
        .unwrap();
    assert!(row.contains(&format!("{}… |", "x".repeat(299))), "{row}");
    assert!(!row.contains(&"x".repeat(300)));
}

#[test]
fn baseline_column_lists_new_findings_first() {
    let report = sample_report();
    // The baseline had everything but the critical SSL004 and the SCAN002.
    let baseline = Baseline {
        format: BaselineFormat::Json,
        findings: report
            .findings
            .iter()
            .filter(|f| f.rule_id != "SSL004" && f.rule_id != "SCAN002")
            .cloned()
            .chain([Finding::new(
                "SSL001",
                Severity::High,
                "gone",
                "production",
                "fixed since",
                Location::object("variable:have_ssl"),
            )])
            .collect(),
    };
    let cmp = compare(&report, &baseline);
    let md = markdown(
        &report,
        &MarkdownOptions {
            baseline: Some((&cmp, "main|`x`.json")),
            ..MarkdownOptions::default()
        },
    );
    assert!(
        md.contains("Compared with the baseline ``main|`x`.json``: 2 new, 5 unchanged, 1 fixed"),
        "{md}"
    );
    let rows = table_rows(&md);
    assert!(
        rows[0].starts_with("| **new** | CRITICAL | SSL004"),
        "{}",
        rows[0]
    );
    assert!(
        rows[1].starts_with("| **new** | MEDIUM | SCAN002"),
        "{}",
        rows[1]
    );
    assert!(rows[2].starts_with("| unchanged | HIGH |"), "{}", rows[2]);
    for row in &rows {
        assert_eq!(separators(row), 6, "{row}");
    }
}

#[test]
fn no_findings() {
    let mut report = sample_report();
    report.findings.clear();
    report.expired_waivers.clear();
    let md = markdown(&report, &MarkdownOptions::default());
    assert!(md.contains("No active findings."));
    assert!(!md.contains("### Findings"));
    assert!(md.ends_with('\n'));
}

#[test]
fn title() {
    let md = markdown(
        &sample_report(),
        &MarkdownOptions {
            title: Some("sslaudit: production_fleet".into()),
            ..MarkdownOptions::default()
        },
    );
    assert!(md.starts_with("## sslaudit: production\\_fleet\n"), "{md}");
}
