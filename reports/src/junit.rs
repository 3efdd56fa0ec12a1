//! JUnit XML, for CI systems that show test reports (GitLab's
//! `artifacts:reports:junit`, Jenkins, Azure Pipelines...).
//!
//! A fleet audit maps onto tests like this:
//!
//! - one `<testsuite>` per host, named `<environment>/<host>`, in environment
//!   then host order;
//! - in it, one `<testcase>` per rule evaluated on that host (`classname` =
//!   rule id, `name` = rule name), in the order the rules are given:
//!   - a `<failure>` per active finding (`message` = the finding's message,
//!     `type` = its severity, text = location, evidence and fingerprint);
//!   - `<skipped>` when every finding of the rule on that host is waived
//!     (`message` = the justification);
//!   - an empty, passing testcase otherwise;
//! - an unreachable host was not evaluated: its suite holds one failing
//!   testcase for SCAN001 (and any other rule that still reported on it).
//!
//! A fleet of more than [`HOST_SUITES`] hosts (the 10,000-host benchmark
//! fleet made 250,000 testcases, 20 MB) is mapped by environment instead,
//! so the document grows with environments and findings, not hosts x rules:
//!
//! - one `<testsuite>` per environment, named after it;
//! - one `<testcase>` per rule evaluated in it, failing with a single
//!   `<failure>` whose `message` counts the active findings and the hosts,
//!   whose `type` is the worst severity, and whose text lists the first
//!   [`LISTED_PER_CASE`] findings (host, message, location, fingerprint) and
//!   how many more there are: the JSON report has them all;
//! - the environment's unreachable hosts fail its SCAN001 testcase.
//!
//! `tests`, `failures` and `skipped` count testcases, on each suite and on
//! `<testsuites>`; `errors` is always 0 (a rule never errors: what could not be
//! collected is a SCAN002 finding). Nothing in the document depends on time,
//! so the same report always gives the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use sslaudit_rules::finding::Finding;
use sslaudit_rules::report::{HostStatus, HostSummary, ScanReport};
use sslaudit_rules::{RuleMeta, Severity};

/// The rule that stands for a host that could not be scanned.
const UNREACHABLE_RULE: &str = "SCAN001";
const UNREACHABLE_NAME: &str = "host-unreachable";

/// Up to this many hosts, a suite per host; above, a suite per environment.
pub const HOST_SUITES: usize = 500;

/// In a testcase of an environment suite, the findings its failure lists.
pub const LISTED_PER_CASE: usize = 20;

/// The report as a JUnit XML document with a trailing newline. `rules` are
/// the rules that were evaluated (the enabled ones), in catalogue order; a
/// rule id that a finding names but `rules` lacks gets a testcase too, named
/// by its id, after the given ones.
pub fn to_junit(report: &ScanReport, rules: &[&RuleMeta]) -> String {
    let suites = suites(report, rules);
    let tests: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failures: usize = suites.iter().map(Suite::failures).sum();
    let skipped: usize = suites.iter().map(Suite::skipped).sum();

    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">",
        attr(&format!("{} {}", report.tool.name, report.tool.version)),
    );
    for suite in &suites {
        write_suite(&mut out, suite, &report.as_of);
    }
    out.push_str("</testsuites>\n");
    out
}

/// One host's, or one environment's, suite before it is written.
struct Suite<'a> {
    environment: &'a str,
    /// `None` for an environment's suite.
    host: Option<&'a str>,
    summary: Option<&'a HostSummary>,
    /// Hosts of an environment's suite.
    hosts: usize,
    cases: Vec<Case<'a>>,
}

impl Suite<'_> {
    fn failures(&self) -> usize {
        self.cases
            .iter()
            .filter(|c| c.outcome() == Outcome::Failed)
            .count()
    }

    fn skipped(&self) -> usize {
        self.cases
            .iter()
            .filter(|c| c.outcome() == Outcome::Skipped)
            .count()
    }
}

struct Case<'a> {
    rule_id: &'a str,
    rule_name: &'a str,
    findings: Vec<&'a Finding>,
    /// Unreachable hosts without a SCAN001 finding (the rule disabled): the
    /// testcase fails on their status alone, so the audit does not pass by
    /// silence.
    unreached: Vec<&'a str>,
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Passed,
    Failed,
    Skipped,
}

impl Case<'_> {
    fn outcome(&self) -> Outcome {
        if !self.unreached.is_empty() || self.findings.iter().any(|f| f.suppressed.is_none()) {
            Outcome::Failed
        } else if self.findings.is_empty() {
            Outcome::Passed
        } else {
            Outcome::Skipped
        }
    }
}

fn suites<'a>(report: &'a ScanReport, rules: &[&'a RuleMeta]) -> Vec<Suite<'a>> {
    let catalogue = catalogue(report, rules);
    if report.hosts.len() > HOST_SUITES {
        environment_suites(report, &catalogue)
    } else {
        host_suites(report, &catalogue)
    }
}

/// The rules in the given order, then rule ids only findings know, sorted.
fn catalogue<'a>(report: &'a ScanReport, rules: &[&'a RuleMeta]) -> Vec<(&'a str, &'a str)> {
    // The rules in the given order, then rule ids only findings know, sorted.
    let mut catalogue: Vec<(&str, &str)> = Vec::new();
    let mut known: BTreeSet<&str> = BTreeSet::new();
    for m in rules {
        if known.insert(m.id.as_ref()) {
            catalogue.push((m.id.as_ref(), m.name.as_ref()));
        }
    }
    let unknown: BTreeSet<&str> = report
        .findings
        .iter()
        .map(|f| f.rule_id.as_str())
        .filter(|id| !known.contains(id))
        .collect();
    catalogue.extend(unknown.into_iter().map(|id| (id, id)));
    catalogue
}

fn host_suites<'a>(report: &'a ScanReport, catalogue: &[(&'a str, &'a str)]) -> Vec<Suite<'a>> {
    // Every host of the report, plus any host a finding names that the host
    // list lacks (a hand-edited or merged report), so no finding is dropped.
    let mut hosts: BTreeMap<(&str, &str), Option<&HostSummary>> = report
        .hosts
        .iter()
        .map(|h| ((h.environment.as_str(), h.name.as_str()), Some(h)))
        .collect();
    let mut by_host: BTreeMap<(&str, &str), BTreeMap<&str, Vec<&Finding>>> = BTreeMap::new();
    for f in &report.findings {
        let key = (f.environment.as_str(), f.host.as_str());
        hosts.entry(key).or_insert(None);
        by_host
            .entry(key)
            .or_default()
            .entry(f.rule_id.as_str())
            .or_default()
            .push(f);
    }

    let mut out = Vec::new();
    for ((environment, host), summary) in hosts {
        let mut findings = by_host.remove(&(environment, host)).unwrap_or_default();
        for list in findings.values_mut() {
            list.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        }
        let unreachable = summary.is_some_and(|s| s.status == HostStatus::Unreachable);
        let mut cases = Vec::new();
        for &(rule_id, rule_name) in catalogue {
            let list = findings.remove(rule_id).unwrap_or_default();
            // Nothing was evaluated on an unreachable host: only the rules
            // that still said something about it, and SCAN001, are cases.
            if unreachable && list.is_empty() && rule_id != UNREACHABLE_RULE {
                continue;
            }
            cases.push(Case {
                rule_id,
                rule_name,
                unreached: if unreachable && list.is_empty() {
                    vec![host]
                } else {
                    Vec::new()
                },
                findings: list,
            });
        }
        if unreachable && !cases.iter().any(|c| c.rule_id == UNREACHABLE_RULE) {
            cases.insert(
                0,
                Case {
                    rule_id: UNREACHABLE_RULE,
                    rule_name: UNREACHABLE_NAME,
                    findings: Vec::new(),
                    unreached: vec![host],
                },
            );
        }
        out.push(Suite {
            environment,
            host: Some(host),
            summary,
            hosts: 1,
            cases,
        });
    }
    out
}

/// A suite per environment, a testcase per rule: a large fleet's document
/// grows with its environments and findings, not with hosts x rules.
fn environment_suites<'a>(
    report: &'a ScanReport,
    catalogue: &[(&'a str, &'a str)],
) -> Vec<Suite<'a>> {
    struct Env<'a> {
        hosts: usize,
        /// Unreachable hosts, and whether a SCAN001 finding names each.
        unreachable: BTreeMap<&'a str, bool>,
        findings: BTreeMap<&'a str, Vec<&'a Finding>>,
    }
    let mut envs: BTreeMap<&str, Env> = BTreeMap::new();
    let env = |envs: &mut BTreeMap<&'a str, Env<'a>>, name: &'a str| {
        envs.entry(name).or_insert_with(|| Env {
            hosts: 0,
            unreachable: BTreeMap::new(),
            findings: BTreeMap::new(),
        });
    };
    for h in &report.hosts {
        env(&mut envs, &h.environment);
        let e = envs
            .get_mut(h.environment.as_str())
            .expect("inserted above");
        e.hosts += 1;
        if h.status == HostStatus::Unreachable {
            e.unreachable.insert(&h.name, false);
        }
    }
    for f in &report.findings {
        env(&mut envs, &f.environment);
        let e = envs
            .get_mut(f.environment.as_str())
            .expect("inserted above");
        if f.rule_id == UNREACHABLE_RULE {
            if let Some(named) = e.unreachable.get_mut(f.host.as_str()) {
                *named = true;
            }
        }
        e.findings.entry(f.rule_id.as_str()).or_default().push(f);
    }
    envs.into_iter()
        .map(|(environment, mut e)| {
            let unreached: Vec<&str> = e
                .unreachable
                .iter()
                .filter(|(_, named)| !**named)
                .map(|(h, _)| *h)
                .collect();
            let mut cases: Vec<Case> = catalogue
                .iter()
                .map(|&(rule_id, rule_name)| {
                    let mut findings = e.findings.remove(rule_id).unwrap_or_default();
                    findings.sort_by(|a, b| (&a.host, a.sort_key()).cmp(&(&b.host, b.sort_key())));
                    Case {
                        rule_id,
                        rule_name,
                        findings,
                        unreached: if rule_id == UNREACHABLE_RULE {
                            unreached.clone()
                        } else {
                            Vec::new()
                        },
                    }
                })
                .collect();
            if !unreached.is_empty() && !cases.iter().any(|c| c.rule_id == UNREACHABLE_RULE) {
                cases.insert(
                    0,
                    Case {
                        rule_id: UNREACHABLE_RULE,
                        rule_name: UNREACHABLE_NAME,
                        findings: Vec::new(),
                        unreached,
                    },
                );
            }
            Suite {
                environment,
                host: None,
                summary: None,
                hosts: e.hosts,
                cases,
            }
        })
        .collect()
}

fn write_suite(out: &mut String, suite: &Suite<'_>, as_of: &str) {
    let (name, hostname) = match suite.host {
        Some(host) => (
            format!("{}/{}", suite.environment, host),
            format!(" hostname=\"{}\"", attr(host)),
        ),
        None => (suite.environment.to_string(), String::new()),
    };
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\"{hostname}>",
        attr(&name),
        suite.cases.len(),
        suite.failures(),
        suite.skipped(),
    );
    out.push_str("    <properties>\n");
    let mut properties = vec![("environment", suite.environment.to_string())];
    match suite.host {
        Some(host) => properties.push(("host", host.to_string())),
        None => properties.push(("hosts", suite.hosts.to_string())),
    }
    if let Some(s) = suite.summary {
        properties.push(("roles", s.roles.join(",")));
        properties.push((
            "status",
            match s.status {
                HostStatus::Scanned => "scanned",
                HostStatus::Partial => "partial",
                HostStatus::Unreachable => "unreachable",
            }
            .to_string(),
        ));
    }
    properties.push(("as_of", as_of.to_string()));
    for (name, value) in properties {
        let _ = writeln!(
            out,
            "      <property name=\"{}\" value=\"{}\"/>",
            attr(name),
            attr(&value)
        );
    }
    out.push_str("    </properties>\n");
    for case in &suite.cases {
        write_case(out, suite, case);
    }
    out.push_str("  </testsuite>\n");
}

fn write_case(out: &mut String, suite: &Suite<'_>, case: &Case<'_>) {
    let open = format!(
        "    <testcase classname=\"{}\" name=\"{}\"",
        attr(case.rule_id),
        attr(case.rule_name)
    );
    let (active, waived): (Vec<&Finding>, Vec<&Finding>) =
        case.findings.iter().partition(|f| f.suppressed.is_none());
    match case.outcome() {
        Outcome::Failed if suite.host.is_none() => {
            let _ = writeln!(out, "{open}>");
            write_grouped_failure(out, suite.environment, case, &active, &waived);
            let _ = writeln!(out, "    </testcase>");
        }
        Outcome::Passed => {
            let _ = writeln!(out, "{open}/>");
        }
        Outcome::Skipped => {
            let _ = writeln!(out, "{open}>");
            let body: Vec<String> = waived.iter().map(|f| waived_line(f)).collect();
            let _ = writeln!(
                out,
                "      <skipped message=\"{}\">{}</skipped>",
                attr(&skipped_message(&waived)),
                text(&body.join("\n"))
            );
            let _ = writeln!(out, "    </testcase>");
        }
        Outcome::Failed => {
            let _ = writeln!(out, "{open}>");
            for host in &case.unreached {
                let message = format!(
                    "host {}/{host} could not be reached: nothing on it was checked",
                    suite.environment
                );
                let _ = writeln!(
                    out,
                    "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                    attr(&message),
                    Severity::High,
                    text("status: unreachable (no SCAN001 finding: the rule is disabled)")
                );
            }
            for f in &active {
                let _ = writeln!(
                    out,
                    "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                    attr(&f.message),
                    f.severity,
                    text(&failure_body(f))
                );
            }
            if !waived.is_empty() {
                let body: Vec<String> = waived.iter().map(|f| waived_line(f)).collect();
                let _ = writeln!(
                    out,
                    "      <system-out>{}</system-out>",
                    text(&body.join("\n"))
                );
            }
            let _ = writeln!(out, "    </testcase>");
        }
    }
}

/// An environment's testcase: one `<failure>` that counts the active
/// findings and the hosts and lists the first [`LISTED_PER_CASE`].
fn write_grouped_failure(
    out: &mut String,
    environment: &str,
    case: &Case<'_>,
    active: &[&Finding],
    waived: &[&Finding],
) {
    let hosts: BTreeSet<&str> = active
        .iter()
        .map(|f| f.host.as_str())
        .chain(case.unreached.iter().copied())
        .collect();
    let worst = active
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(Severity::High);
    let mut message = format!(
        "{} on {} of {environment}",
        crate::plural(active.len(), "active finding"),
        crate::plural(hosts.len(), "host")
    );
    if let Some(first) = active.first() {
        let _ = write!(message, ", first: {}", first.message);
    }
    let mut body = String::new();
    for host in &case.unreached {
        let _ = writeln!(
            body,
            "{host}: could not be reached, nothing on it was checked (no SCAN001 finding: the rule is disabled)"
        );
    }
    for f in active.iter().take(LISTED_PER_CASE) {
        let mut location = f.location.display();
        if location.is_empty() {
            location = "host".to_string();
        }
        let _ = writeln!(
            body,
            "{}: [{}] {} ({location}) fingerprint {}",
            f.host, f.severity, f.message, f.fingerprint
        );
    }
    if active.len() > LISTED_PER_CASE {
        let _ = writeln!(
            body,
            "... and {} more: the JSON report (--json) lists every finding",
            active.len() - LISTED_PER_CASE
        );
    }
    if !waived.is_empty() {
        let _ = writeln!(body, "{} waived", crate::plural(waived.len(), "finding"));
    }
    let _ = writeln!(
        out,
        "      <failure message=\"{}\" type=\"{worst}\">{}</failure>",
        attr(&message),
        text(body.trim_end())
    );
}

/// Where the finding points, what backs it, and how to find it again.
fn failure_body(f: &Finding) -> String {
    let mut body = String::new();
    let loc = &f.location;
    let mut location = loc.display();
    if let (Some(_), Some(object)) = (&loc.file, &loc.object) {
        let _ = write!(location, " ({object})");
    }
    if location.is_empty() {
        location = format!("host {}", f.host);
    }
    let _ = writeln!(body, "location: {location}");
    if !f.evidence.is_empty() {
        body.push_str("evidence:\n");
        for (k, v) in &f.evidence {
            let _ = writeln!(body, "  {k}: {v}");
        }
    }
    let _ = write!(body, "fingerprint: {}", f.fingerprint);
    body
}

fn waiver_text(f: &Finding) -> String {
    match &f.suppressed {
        Some(s) => match &s.expires {
            Some(date) => format!("waived until {date}: {}", s.justification),
            None => format!("waived: {}", s.justification),
        },
        None => String::new(),
    }
}

fn waived_line(f: &Finding) -> String {
    format!(
        "{} [{}] {} ({})",
        waiver_text(f),
        f.severity,
        f.message,
        f.location.display()
    )
}

/// The justification of the waived findings, each distinct one once.
fn skipped_message(waived: &[&Finding]) -> String {
    let mut seen = BTreeSet::new();
    let texts: Vec<String> = waived
        .iter()
        .map(|f| waiver_text(f))
        .filter(|t| seen.insert(t.clone()))
        .collect();
    if waived.len() == 1 {
        texts.join("")
    } else {
        format!("{} findings {}", waived.len(), texts.join("; "))
    }
}

/// XML 1.0 cannot carry most control characters even as references, so they
/// are written as visible `\u{..}` escapes; everything else is kept.
fn push_escaped(out: &mut String, s: &str, in_attribute: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // Attributes are always double-quoted: `'` needs no escape.
            '"' if in_attribute => out.push_str("&quot;"),
            // Attribute value normalization would turn these into spaces.
            '\n' if in_attribute => out.push_str("&#10;"),
            '\t' if in_attribute => out.push_str("&#9;"),
            // A bare CR is normalized to LF even in text.
            '\r' => out.push_str("&#13;"),
            '\n' | '\t' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

fn attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_escaped(&mut out, s, true);
    out
}

fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_escaped(&mut out, s, false);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(
            attr("a<b & \"c\" 'd'\n\te\r"),
            "a&lt;b &amp; &quot;c&quot; 'd'&#10;&#9;e&#13;"
        );
        assert_eq!(text("]]> <x/>\n\"q\""), "]]&gt; &lt;x/&gt;\n\"q\"");
        assert_eq!(text("bell\u{7}esc\u{1b}[31m"), "bell\\u{7}esc\\u{1b}[31m");
        assert_eq!(attr("\u{0}\u{FFFF}ok\u{85}"), "\\u{0}\\u{ffff}ok\u{85}");
    }
}
