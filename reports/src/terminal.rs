//! The human summary: a header line with the counts, the active findings
//! grouped by environment and host, the waived findings apart, and the
//! waivers that expired. The CI gate line is the CLI's, not this module's.
//!
//! With a [`TerminalOptions::limit`] (the CLI's default, `--all` lifts it) a
//! large fleet's summary stays a screenful or two: when there are more
//! active findings than the limit, the active findings are counted by rule
//! and only the worst `limit` are listed; every other list (trust stores that
//! break, hosts audited from the wire, waived findings) shows its first
//! `limit` entries and says how many it left out.
//!
//! Text that comes from hosts (messages, paths, justifications) is printed
//! with control characters escaped, so a crafted certificate subject or file
//! name cannot move the cursor or recolor the terminal.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use sslaudit_rules::finding::Finding;
use sslaudit_rules::report::{HostStatus, HostSummary, ScanReport};
use sslaudit_rules::{RuleMeta, Severity};

use crate::{hosts_line, plural, readiness_line, severity_label};

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";

fn severity_style(sev: Severity) -> &'static str {
    match sev {
        Severity::Critical => "\x1b[1;35m",
        Severity::High => "\x1b[1;31m",
        Severity::Medium => "\x1b[33m",
        Severity::Low => "\x1b[36m",
    }
}

/// Writes ANSI styles only when color is on.
struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, style: &str, text: &str) -> String {
        if self.color {
            format!("{style}{text}{RESET}")
        } else {
            text.to_string()
        }
    }
}

/// How the summary is printed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TerminalOptions {
    /// ANSI colors.
    pub color: bool,
    /// List at most this many entries in each list (the worst findings
    /// first); `None` lists everything.
    pub limit: Option<usize>,
}

/// The CLI's default [`TerminalOptions::limit`], as the Markdown summary's
/// top findings.
pub const DEFAULT_LIMIT: usize = 50;

/// The whole summary, every finding listed: [`summary_with`] without a limit.
pub fn summary(report: &ScanReport, rules: &[&RuleMeta], color: bool) -> String {
    summary_with(report, rules, &TerminalOptions { color, limit: None })
}

/// The summary as lines of text, each ending in a newline. `rules` names the
/// rules (`SSL001 have-ssl-disabled`); a rule missing from it shows its id only.
pub fn summary_with(report: &ScanReport, rules: &[&RuleMeta], opts: &TerminalOptions) -> String {
    let p = Painter { color: opts.color };
    let limit = opts.limit.unwrap_or(usize::MAX);
    let names: BTreeMap<&str, &str> = rules
        .iter()
        .map(|m| (m.id.as_ref(), m.name.as_ref()))
        .collect();
    let hosts: BTreeMap<(&str, &str), &HostSummary> = report
        .hosts
        .iter()
        .map(|h| ((h.environment.as_str(), h.name.as_str()), h))
        .collect();

    let mut findings: Vec<&Finding> = report.findings.iter().collect();
    // Worst first within a host: a person reads the top lines.
    findings.sort_by(|a, b| {
        (&a.environment, &a.host, Reverse(a.severity), a.sort_key()).cmp(&(
            &b.environment,
            &b.host,
            Reverse(b.severity),
            b.sort_key(),
        ))
    });
    let (waived, active): (Vec<&Finding>, Vec<&Finding>) =
        findings.into_iter().partition(|f| f.suppressed.is_some());

    let mut out = header(report, &active, waived.len(), &p);

    if active.is_empty() {
        out.push_str("\nno findings\n");
    }
    let listed: Vec<&Finding> = if active.len() > limit {
        out.push_str(&by_rule(&active, &names, &p));
        let mut worst = active.clone();
        worst.sort_by_key(|f| Reverse(f.severity));
        worst.truncate(limit);
        // Back in environment and host order, as the whole list is printed.
        worst.sort_by(|a, b| {
            (&a.environment, &a.host, Reverse(a.severity), a.sort_key()).cmp(&(
                &b.environment,
                &b.host,
                Reverse(b.severity),
                b.sort_key(),
            ))
        });
        let title = format!("the {} worst of {} active findings", limit, active.len());
        let _ = write!(out, "\n{}\n", p.paint(BOLD, &title));
        worst
    } else {
        active.clone()
    };
    for group in groups(&listed) {
        out.push('\n');
        out.push_str(&host_heading(group[0], &hosts, &p));
        for f in group {
            out.push_str(&finding_line(f, &names, &p));
        }
    }
    if listed.len() < active.len() {
        let _ = write!(
            out,
            "\n{}\n",
            p.paint(
                DIM,
                &format!(
                    "... {} more active findings: --all lists them; --json and --html keep them all",
                    active.len() - listed.len()
                )
            )
        );
    }

    if let Some(line) = readiness_line(report) {
        let _ = write!(out, "\n{}\n", p.paint(BOLD, &clean(&line)));
        let failing: Vec<_> = report
            .readiness
            .iter()
            .filter(|r| r.trusts_next == Some(false) || r.trusts_current == Some(false))
            .collect();
        for r in failing.iter().take(limit) {
            let mut what = Vec::new();
            if r.trusts_current == Some(false) {
                what.push("does not trust the server today");
            }
            if r.trusts_next == Some(false) {
                what.push("breaks at the rotation");
            }
            let _ = writeln!(
                out,
                "  {}/{} {} -> {}: {}",
                clean(&r.environment),
                clean(&r.host),
                clean(&r.ca_file),
                clean(&r.server),
                what.join(", ")
            );
        }
        more(&mut out, failing.len(), limit, "trust stores", &p);
    }

    let wire: Vec<&HostSummary> = report.hosts.iter().filter(|h| !h.access.is_ssh()).collect();
    if !wire.is_empty() {
        let title = format!(
            "audited from the wire ({}): no SSH, so the rules that read files on the host did not judge them",
            wire.len()
        );
        let _ = write!(out, "\n{}\n", p.paint(BOLD, &title));
        let total = wire.len();
        for h in wire.into_iter().take(limit) {
            let ids: Vec<&str> = h.not_applicable.iter().map(|n| n.rule.as_str()).collect();
            let _ = writeln!(
                out,
                "  {}/{}  {}",
                clean(&h.environment),
                clean(&h.name),
                p.paint(DIM, &clean(&format!("not judged: {}", ids.join(", "))))
            );
        }
        more(&mut out, total, limit, "hosts", &p);
    }

    if !waived.is_empty() {
        let _ = write!(
            out,
            "\n{}\n",
            p.paint(BOLD, &format!("waived ({})", waived.len()))
        );
        let shown: Vec<&Finding> = waived.iter().copied().take(limit).collect();
        for group in groups(&shown) {
            out.push_str(&host_heading(group[0], &hosts, &p));
            for f in group {
                out.push_str(&finding_line(f, &names, &p));
                if let Some(s) = &f.suppressed {
                    let when = match &s.expires {
                        Some(date) => format!("waived until {}", clean(date)),
                        None => "waived".to_string(),
                    };
                    let note = format!("{when}: {}", clean(&s.justification));
                    let _ = writeln!(out, "    {}", p.paint(DIM, &note));
                }
            }
        }
        more(&mut out, waived.len(), limit, "waived findings", &p);
    }

    if !report.expired_waivers.is_empty() {
        let title = format!("expired waivers ({})", report.expired_waivers.len());
        let _ = write!(out, "\n{}\n", p.paint(BOLD, &title));
        for w in report.expired_waivers.iter().take(limit) {
            let object = w
                .object
                .as_deref()
                .map(|o| format!(" ({})", clean(o)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} on {}{object}: expired on {}, findings reported again  {}",
                clean(&w.rule),
                clean(&w.host),
                clean(&w.expires),
                p.paint(DIM, &format!("({})", clean(&w.origin))),
            );
        }
        more(
            &mut out,
            report.expired_waivers.len(),
            limit,
            "expired waivers",
            &p,
        );
    }
    out
}

/// `  ... 120 more trust stores: --all lists them`, when a list was cut.
fn more(out: &mut String, total: usize, limit: usize, what: &str, p: &Painter) {
    if total > limit {
        let _ = writeln!(
            out,
            "  {}",
            p.paint(
                DIM,
                &format!("... {} more {what}: --all lists them", total - limit)
            )
        );
    }
}

/// The active findings counted by rule, the most first: what a large
/// fleet's summary shows before its worst findings.
fn by_rule(active: &[&Finding], names: &BTreeMap<&str, &str>, p: &Painter) -> String {
    /// Per severity, worst first, and the (environment, host) pairs.
    type Tally<'a> = ([usize; 4], std::collections::BTreeSet<(&'a str, &'a str)>);
    let mut counts: BTreeMap<&str, Tally> = BTreeMap::new();
    for f in active {
        let entry = counts.entry(f.rule_id.as_str()).or_default();
        if let Some(i) = Severity::ALL.iter().position(|&s| s == f.severity) {
            entry.0[i] += 1;
        }
        entry.1.insert((f.environment.as_str(), f.host.as_str()));
    }
    let mut rows: Vec<_> = counts.into_iter().collect();
    rows.sort_by_key(|(id, (n, _))| (Reverse(*n), *id));
    let mut out = format!("\n{}\n", p.paint(BOLD, "active findings by rule"));
    for (id, (n, hosts)) in rows {
        let name = names
            .get(id)
            .map(|n| format!(" {}", clean(n)))
            .unwrap_or_default();
        let by_sev: Vec<String> = Severity::ALL
            .iter()
            .zip(n)
            .filter(|(_, k)| *k > 0)
            .map(|(&sev, k)| p.paint(severity_style(sev), &format!("{k} {sev}")))
            .collect();
        let _ = writeln!(
            out,
            "  {}{name}  {} on {}",
            clean(id),
            by_sev.join(", "),
            plural(hosts.len(), "host")
        );
    }
    out
}

/// `sslaudit 0.1.0, as of DATE: 3 hosts (...); 4 findings (...); 1 suppressed`.
fn header(report: &ScanReport, active: &[&Finding], suppressed: usize, p: &Painter) -> String {
    let hosts = hosts_line(report);
    let by_severity: Vec<String> = Severity::ALL
        .iter()
        .map(|&sev| {
            let n = active.iter().filter(|f| f.severity == sev).count();
            let text = format!("{n} {sev}");
            if n > 0 {
                p.paint(severity_style(sev), &text)
            } else {
                text
            }
        })
        .collect();
    let mut line = format!(
        "{} {}, as of {}: {hosts}; {} ({}); {suppressed} suppressed",
        clean(&report.tool.name),
        clean(&report.tool.version),
        clean(&report.as_of),
        plural(active.len(), "finding"),
        by_severity.join(", "),
    );
    if !report.expired_waivers.is_empty() {
        let _ = write!(
            line,
            "; {}",
            plural(report.expired_waivers.len(), "expired waiver")
        );
    }
    line.push('\n');
    line
}

/// Consecutive runs of sorted findings on the same environment and host.
fn groups<'a>(findings: &[&'a Finding]) -> Vec<Vec<&'a Finding>> {
    let mut out: Vec<Vec<&Finding>> = Vec::new();
    for &f in findings {
        match out.last_mut() {
            Some(group) if group[0].environment == f.environment && group[0].host == f.host => {
                group.push(f)
            }
            _ => out.push(vec![f]),
        }
    }
    out
}

/// `production/db-master (db_master)`, with the status when not fully scanned.
fn host_heading(f: &Finding, hosts: &BTreeMap<(&str, &str), &HostSummary>, p: &Painter) -> String {
    let mut heading = format!("{}/{}", clean(&f.environment), clean(&f.host));
    if let Some(h) = hosts.get(&(f.environment.as_str(), f.host.as_str())) {
        if !h.roles.is_empty() {
            let _ = write!(heading, " ({})", clean(&h.roles.join(", ")));
        }
        match h.status {
            HostStatus::Scanned => {}
            HostStatus::Partial => heading.push_str(", partial"),
            HostStatus::Unreachable => heading.push_str(", unreachable"),
        }
        if !h.access.is_ssh() {
            heading.push_str(", audited from the wire");
        }
    }
    format!("{}\n", p.paint(BOLD, &heading))
}

/// `  HIGH      SSL001 have-ssl-disabled  message  (/etc/mysql/my.cnf:12)`.
fn finding_line(f: &Finding, names: &BTreeMap<&str, &str>, p: &Painter) -> String {
    let label = format!("{:<8}", severity_label(f.severity));
    let mut line = format!(
        "  {}  {}",
        p.paint(severity_style(f.severity), &label),
        clean(&f.rule_id)
    );
    if let Some(name) = names.get(f.rule_id.as_str()) {
        line.push(' ');
        line.push_str(&clean(name));
    }
    line.push_str("  ");
    line.push_str(&clean(&f.message));
    let at = f.location.display();
    // Most messages already name their file and line; say it only once.
    if !at.is_empty() && !f.message.contains(&at) {
        line.push_str("  ");
        line.push_str(&p.paint(DIM, &format!("({})", clean(&at))));
    }
    line.push('\n');
    line
}

/// Text from hosts with control characters and bidi overrides escaped.
fn clean(s: &str) -> Cow<'_, str> {
    crate::escape_controls(s, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(clean("plain"), "plain");
        assert_eq!(clean("a\x1b[2Jb\nc"), "a\\u{1b}[2Jb\\nc");
        assert_eq!(clean("key\u{202e}txt.crt"), "key\\u{202e}txt.crt");
    }

    #[test]
    fn plural_words() {
        assert_eq!(plural(0, "host"), "0 hosts");
        assert_eq!(plural(1, "host"), "1 host");
        assert_eq!(plural(2, "expired waiver"), "2 expired waivers");
    }
}
