//! A short Markdown summary for a pull-request comment or GitHub's job
//! summary (`$GITHUB_STEP_SUMMARY`): the gate verdict, counts by severity,
//! and a table of the worst active findings, capped (GitHub limits a step
//! summary to 1 MiB and a comment to 65536 characters).
//!
//! Text that comes from hosts (messages, host names) is escaped so that it
//! can neither break the table (`|`, newlines) nor turn into Markdown or HTML
//! (backticks, `*`, `[`, `<`...).

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use sslaudit_rules::finding::Finding;
use sslaudit_rules::report::ScanReport;
use sslaudit_rules::{RuleMeta, Severity};

use crate::baseline::{BaselineState, Comparison};
use crate::{hosts_line, plural, readiness_line, severity_label};

/// Rows of the findings table unless told otherwise.
pub const DEFAULT_MAX_ROWS: usize = 50;
/// Longer messages are cut (with `…`) so one finding cannot fill the page.
pub const MAX_MESSAGE_CHARS: usize = 300;

/// The CI gate's outcome, as the CLI decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateVerdict {
    /// `--fail-on`; `None` for `never`.
    pub fail_on: Option<Severity>,
    pub passed: bool,
    /// Active findings at or above `fail_on` (only new ones with `new_only`).
    pub failing: usize,
    /// `--fail-on-new`: only findings new since the baseline count.
    pub new_only: bool,
    /// An unwaived audit gap (SCAN001, a high SCAN002) failed the gate
    /// whatever the threshold.
    pub audit_gap: bool,
}

/// What the summary shows beyond the report.
#[derive(Debug, Clone)]
pub struct MarkdownOptions<'a> {
    /// The heading; `sslaudit` when `None`.
    pub title: Option<String>,
    /// No gate line when `None`.
    pub gate: Option<GateVerdict>,
    /// The baseline comparison and the baseline's name: adds the new /
    /// unchanged / fixed counts and a column with each finding's state, and
    /// lists new findings first.
    pub baseline: Option<(&'a Comparison, &'a str)>,
    /// At most this many table rows; the rest are counted below it.
    pub max_rows: usize,
}

impl Default for MarkdownOptions<'_> {
    fn default() -> Self {
        MarkdownOptions {
            title: None,
            gate: None,
            baseline: None,
            max_rows: DEFAULT_MAX_ROWS,
        }
    }
}

/// The summary, ending in a newline. `rules` names the rules in the table
/// (`SSL004 certificate-expiry`); a rule missing from it shows its id.
pub fn to_markdown(report: &ScanReport, rules: &[&RuleMeta], opts: &MarkdownOptions<'_>) -> String {
    let names: BTreeMap<&str, &str> = rules
        .iter()
        .map(|m| (m.id.as_ref(), m.name.as_ref()))
        .collect();
    let mut out = String::new();
    let title = opts.title.as_deref().unwrap_or("sslaudit");
    let _ = writeln!(out, "## {}\n", cell(title));

    if let Some(gate) = &opts.gate {
        let _ = writeln!(out, "{}\n", gate_line(gate));
    }

    let _ = writeln!(
        out,
        "As of {}: {}.\n",
        cell(&report.as_of),
        cell(&hosts_line(report))
    );
    if let Some(line) = readiness_line(report) {
        let _ = writeln!(out, "{}.\n", cell(&line));
    }

    let active: Vec<&Finding> = report.active().collect();
    let waived = report.findings.len() - active.len();
    out.push_str("| severity | findings |\n| --- | ---: |\n");
    for sev in Severity::ALL {
        let n = active.iter().filter(|f| f.severity == sev).count();
        let _ = writeln!(out, "| {} | {n} |", severity_label(sev));
    }
    let _ = writeln!(out, "| waived | {waived} |");
    out.push('\n');

    if let Some((cmp, source)) = opts.baseline {
        let new = active.iter().filter(|f| cmp.is_new(f)).count();
        let _ = writeln!(
            out,
            "Compared with the baseline {}: {} new, {} unchanged, {} fixed (distinct findings; {new} of the new ones active).\n",
            code(source),
            cmp.new.len(),
            cmp.unchanged.len(),
            cmp.absent.len(),
        );
    }

    if active.is_empty() {
        out.push_str("No active findings.\n");
    } else {
        let mut rows = active.clone();
        // New findings first when there is a baseline (what a pull request
        // adds is what its author must look at), then worst first.
        let state = |f: &Finding| opts.baseline.map(|(cmp, _)| cmp.state(f));
        rows.sort_by(|a, b| {
            (state(a), Reverse(a.severity), a.sort_key()).cmp(&(
                state(b),
                Reverse(b.severity),
                b.sort_key(),
            ))
        });
        let shown = rows.len().min(opts.max_rows);
        let _ = writeln!(
            out,
            "### Findings ({})\n",
            if shown < rows.len() {
                format!("top {shown} of {}", rows.len())
            } else {
                rows.len().to_string()
            }
        );
        if opts.baseline.is_some() {
            out.push_str("| baseline | severity | rule | host | message |\n");
            out.push_str("| --- | --- | --- | --- | --- |\n");
        } else {
            out.push_str("| severity | rule | host | message |\n");
            out.push_str("| --- | --- | --- | --- |\n");
        }
        for f in &rows[..shown] {
            let rule = match names.get(f.rule_id.as_str()) {
                Some(name) => format!("{} {}", cell(&f.rule_id), cell(name)),
                None => cell(&f.rule_id),
            };
            if let Some(s) = state(f) {
                let _ = write!(
                    out,
                    "| {} ",
                    if s == BaselineState::New {
                        "**new**"
                    } else {
                        s.as_str()
                    }
                );
            }
            let _ = writeln!(
                out,
                "| {} | {rule} | {}/{} | {} |",
                severity_label(f.severity),
                cell(&f.environment),
                cell(&f.host),
                cell(&truncate(&f.message, MAX_MESSAGE_CHARS)),
            );
        }
        if rows.len() > shown {
            let _ = writeln!(
                out,
                "\n_and {} more: see the full report (JSON, SARIF or HTML)._",
                rows.len() - shown
            );
        }
    }

    if !report.expired_waivers.is_empty() {
        let _ = writeln!(
            out,
            "\n**{} expired** (their findings count again):\n",
            plural(report.expired_waivers.len(), "waiver")
        );
        for w in &report.expired_waivers {
            let object = w
                .object
                .as_deref()
                .map(|o| format!(" ({})", cell(o)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "- {} on {}{object}: expired on {} ({})",
                cell(&w.rule),
                cell(&w.host),
                cell(&w.expires),
                cell(&w.origin)
            );
        }
    }
    out
}

fn gate_line(g: &GateVerdict) -> String {
    let Some(min) = g.fail_on else {
        return "**Gate: not enforced** (`--fail-on never`).".to_string();
    };
    let what = if g.new_only {
        "new findings"
    } else {
        "findings"
    };
    if g.passed {
        return format!("**Gate: passed**: no {what} at or above {min}.");
    }
    let mut reasons = Vec::new();
    if g.failing > 0 {
        reasons.push(format!(
            "{} {} at or above {min}",
            g.failing,
            if g.failing == 1 {
                what.trim_end_matches('s')
            } else {
                what
            }
        ));
    }
    if g.audit_gap {
        reasons
            .push("a host could not be (fully) scanned (this always fails an audit)".to_string());
    }
    format!("**Gate: FAILED**: {}.", reasons.join("; "))
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Text safe inside a table cell (or anywhere in a line): Markdown and HTML
/// punctuation backslash-escaped or as entities, line breaks and other
/// control characters as spaces.
pub fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A code span that holds any text: the fence is one backtick longer than
/// the longest run inside, and control characters become spaces.
fn code(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_escape_table_and_markup() {
        assert_eq!(cell("a|b"), "a\\|b");
        assert_eq!(cell("`x`"), "\\`x\\`");
        assert_eq!(cell("line1\nline2\r\tend"), "line1 line2  end");
        assert_eq!(
            cell("<img src=x onerror=alert(1)> & [link](http://x) *b* _i_"),
            "&lt;img src=x onerror=alert(1)&gt; &amp; \\[link\\](http://x) \\*b\\* \\_i\\_"
        );
        assert_eq!(cell("C:\\path"), "C:\\\\path");
    }

    #[test]
    fn code_spans_hold_backticks() {
        assert_eq!(code("a.json"), "`a.json`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("zoë", 3), "zoë");
    }
}
