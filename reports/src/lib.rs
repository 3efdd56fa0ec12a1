//! sslaudit's output formats. Every format presents the same
//! [`ScanReport`](sslaudit_rules::report::ScanReport) (plus, where it shows rule
//! help, the metadata of the rules that ran, in catalogue order):
//!
//! - [`json`]: the complete machine-readable model, and its
//!   reader, so a saved report can be turned into another format later;
//!   documented in `docs/json-report.md`.
//! - [`sarif`]: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers;
//!   documented in `docs/sarif.md`.
//! - [`html`]: the auditor's self-contained page (minijinja, autoescaped).
//! - [`junit`], [`markdown`]: CI test reports and pull-request summaries.
//! - [`terminal`]: the human summary, optionally colored.
//! - [`prometheus`]: metrics in the text exposition format, for
//!   node_exporter's textfile collector and `/metrics`; documented in
//!   `docs/metrics.md`.
//! - [`baseline`], [`merge`]: comparing with an earlier report, and
//!   combining the reports of sharded scans.
//!
//! The crate does no I/O: every function takes the model and returns a value
//! or a string, and the CLI decides where it goes.
#![forbid(unsafe_code)]

pub mod baseline;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod merge;
pub mod oscal;
pub mod prometheus;
pub mod sarif;
mod sarif_json;
pub mod terminal;

use sslaudit_rules::Severity;

/// Why a report could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Not JSON, or JSON of the wrong shape; serde_json's message names the
    /// line and column.
    #[error("invalid sslaudit JSON report: {0}")]
    Json(#[from] serde_json::Error),
    /// A JSON document without `schema_version`; `hint` says what it looks like instead.
    #[error("not an sslaudit JSON report: no `schema_version` at the top level{hint}")]
    NotAReport { hint: &'static str },
    /// A report written by a version of sslaudit whose JSON shape this one does not read.
    #[error("sslaudit JSON report has schema_version {found}, this sslaudit reads {supported}")]
    UnsupportedSchema { found: u64, supported: u32 },
    /// The HTML report's template failed to render (a bug in sslaudit, not in the input).
    #[error("cannot render the HTML report: {0}")]
    Template(#[from] minijinja::Error),
}

/// The SARIF result level of a severity: critical and high are `error`,
/// medium is `warning`, low is `note`.
pub fn level_for(sev: Severity) -> &'static str {
    match sev {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// GitHub's `security-severity` score of a severity, chosen inside GitHub's
/// bands (critical > 9.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9) so the
/// alert shows the same severity word as our own reports.
pub fn security_severity(sev: Severity) -> &'static str {
    match sev {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "2.0",
    }
}

/// Upper-case severity label for human output (`CRITICAL`, `HIGH`, ...).
/// `1 host`, `3 hosts`.
pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `3 hosts (2 scanned, 0 partial, 1 unreachable)`, and `; 1 audited from
/// the wire` when some hosts were reached without SSH: the hosts part of
/// the terminal's and the Markdown summary's first line.
pub(crate) fn hosts_line(report: &sslaudit_rules::report::ScanReport) -> String {
    use sslaudit_rules::report::HostStatus;
    let count = |s: HostStatus| report.hosts.iter().filter(|h| h.status == s).count();
    let wire = report.hosts.iter().filter(|h| !h.access.is_ssh()).count();
    format!(
        "{} ({} scanned, {} partial, {} unreachable{})",
        plural(report.hosts.len(), "host"),
        count(HostStatus::Scanned),
        count(HostStatus::Partial),
        count(HostStatus::Unreachable),
        if wire > 0 {
            format!("; {wire} audited from the wire")
        } else {
            String::new()
        }
    )
}

/// `CA rotation: 4 trust stores; 1 will not trust its server after the
/// rotation to ..., 1 does not trust it today`: the readiness table in one
/// line, for the terminal and the Markdown summary; `None` when there is
/// nothing to say (no store, or no next CA and every store trusts today).
pub(crate) fn readiness_line(report: &sslaudit_rules::report::ScanReport) -> Option<String> {
    let rows = &report.readiness;
    let breaking = rows.iter().filter(|r| r.trusts_next == Some(false)).count();
    let broken_now = rows
        .iter()
        .filter(|r| r.trusts_current == Some(false))
        .count();
    if rows.is_empty() || (report.next_ca.is_empty() && broken_now == 0) {
        return None;
    }
    let mut line = format!("CA rotation: {}", plural(rows.len(), "trust store"));
    if !report.next_ca.is_empty() {
        line.push_str(&format!(
            "; {breaking} will not trust its server after the rotation to {}",
            report.next_ca.join(", ")
        ));
    }
    line.push_str(&format!("; {broken_now} does not trust its server today"));
    Some(line)
}

pub fn severity_label(sev: Severity) -> &'static str {
    match sev {
        Severity::Critical => "CRITICAL",
        Severity::High => "HIGH",
        Severity::Medium => "MEDIUM",
        Severity::Low => "LOW",
    }
}

/// Shows control characters (ESC, newlines, ...) and bidirectional
/// overrides escaped, so text from a host (a crafted file name, a message)
/// cannot move the cursor or reorder what a person reads. `keep_lines`
/// keeps newlines and tabs, for text shown preformatted.
pub(crate) fn escape_controls(s: &str, keep_lines: bool) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && !(keep_lines && matches!(c, '\n' | '\t')))
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !s.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(
        s.chars()
            .map(|c| {
                if unsafe_char(c) {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_severity() {
        assert_eq!(level_for(Severity::Critical), "error");
        assert_eq!(level_for(Severity::High), "error");
        assert_eq!(level_for(Severity::Medium), "warning");
        assert_eq!(level_for(Severity::Low), "note");
    }

    #[test]
    fn security_severity_falls_in_github_bands() {
        // GitHub: critical > 9.0, high 7.0..=8.9, medium 4.0..=6.9, low 0.1..=3.9.
        let score = |s| security_severity(s).parse::<f64>().unwrap();
        assert!(score(Severity::Critical) > 9.0);
        assert!((7.0..=8.9).contains(&score(Severity::High)));
        assert!((4.0..=6.9).contains(&score(Severity::Medium)));
        assert!((0.1..=3.9).contains(&score(Severity::Low)));
    }
}
