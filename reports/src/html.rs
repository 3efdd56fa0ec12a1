//! The auditor's HTML report: one self-contained file to file as evidence.
//!
//! The page opens with a ten-second summary (hosts by status, active findings
//! by severity, the gate verdict, as-of date and tool version), then a host
//! overview, the findings by environment and host, the same findings by rule
//! with each rule's help, the waived findings and expired waivers, and a
//! certificate expiry timeline (inline SVG, with a table that says the same).
//!
//! Safety: everything is rendered by minijinja with HTML auto-escaping on, and
//! no value that comes from the report or from a rule is ever marked safe;
//! rule help (markdown) is parsed here into blocks and spans of plain text
//! that the template escapes like any other string. Control characters and
//! bidirectional overrides in host-supplied text are shown escaped (`\u{202e}`),
//! as in the terminal summary. The only unescaped inserts are the page's own
//! stylesheet and script, compiled into the binary; a Content-Security-Policy
//! allows that one script (by hash) and forbids fetching anything, so the file
//! makes no request when opened.
//!
//! Filters by severity, environment and rule are a few lines of inline
//! JavaScript that only toggle `hidden`; with JavaScript off the filter bar
//! stays hidden and the page shows everything.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sslaudit_rules::finding::Finding;
use sslaudit_rules::report::{CertificateSummary, ExpiryStatus, HostStatus, ScanReport};
use sslaudit_rules::{RuleMeta, Severity};

use crate::{ReportError, severity_label};

const TEMPLATE_NAME: &str = "report.html.j2";
const TEMPLATE: &str = include_str!("../templates/report.html.j2");
const STYLE: &str = include_str!("../templates/report.css");
const SCRIPT: &str = include_str!("../templates/report.js");

/// How the HTML report is rendered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HtmlOptions {
    /// The CI gate the verdict is judged against (`--fail-on`): active
    /// findings at or above it fail; `None` is `--fail-on never`.
    pub gate: Option<Severity>,
    /// The page heading; `None` gives "MySQL SSL/TLS audit".
    pub title: Option<String>,
    /// `--fail-on-new`: the fingerprints of the findings new since the
    /// baseline; only those count against the gate (an unscanned host still
    /// fails it), as in the CLI's exit status.
    pub new_only: Option<std::collections::BTreeSet<String>>,
}

/// The report as one self-contained HTML document (no external resources).
pub fn render(
    report: &ScanReport,
    rules: &[&RuleMeta],
    opts: &HtmlOptions,
) -> Result<String, ReportError> {
    let page = Page::build(report, rules, opts);
    let mut env = Environment::new();
    // minijinja's default callback already escapes `*.html.j2` (it ignores
    // the `.j2`); every template here is HTML, so say it outright rather than
    // let escaping hang on a file name.
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    // A misspelt field is an error in tests, not a silently empty cell.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_template(TEMPLATE_NAME, TEMPLATE)?;
    // Constants compiled into the binary, never report data.
    env.add_global("style", Value::from_safe_string(STYLE.to_string()));
    env.add_global("script", Value::from_safe_string(SCRIPT.to_string()));
    Ok(env.get_template(TEMPLATE_NAME)?.render(Serde(&page))?)
}

/// The Content-Security-Policy of the page: nothing may be fetched, and the
/// only script that may run is the page's own.
fn content_security_policy() -> String {
    let hash = base64(&Sha256::digest(SCRIPT.as_bytes()));
    format!(
        "default-src 'none'; script-src 'sha256-{hash}'; style-src 'unsafe-inline'; \
         img-src data:; base-uri 'none'; form-action 'none'"
    )
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Text from hosts with control characters and bidi overrides escaped;
/// `keep_lines` keeps newlines and tabs (evidence values are shown
/// preformatted).
fn clean(s: &str, keep_lines: bool) -> String {
    crate::escape_controls(s, keep_lines).into_owned()
}

fn c(s: &str) -> String {
    clean(s, false)
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

// ---------------------------------------------------------------------------
// The page model the template reads.

#[derive(Serialize)]
struct Page {
    title: String,
    html_title: String,
    tool: String,
    as_of: String,
    schema_version: u32,
    csp: String,
    environments_label: String,
    verdict: Verdict,
    hosts: HostCounts,
    severities: Vec<SeverityCount>,
    active_total: usize,
    waived_total: usize,
    expired_waiver_total: usize,
    certs: CertCounts,
    host_rows: Vec<HostRow>,
    environments: Vec<EnvGroup>,
    rules: Vec<RuleView>,
    quiet_rules: Vec<QuietRule>,
    waived: Vec<HostGroup>,
    expired_waivers: Vec<ExpiredWaiverView>,
    timeline: Option<Timeline>,
    cert_groups: Vec<CertGroup>,
    filter_envs: Vec<String>,
    filter_rules: Vec<FilterRule>,
}

#[derive(Serialize)]
struct Verdict {
    /// `pass`, `fail` or `none`.
    state: &'static str,
    headline: String,
    reasons: Vec<String>,
}

#[derive(Serialize)]
struct HostCounts {
    total: usize,
    scanned: usize,
    partial: usize,
    unreachable: usize,
}

#[derive(Serialize)]
struct SeverityCount {
    key: &'static str,
    label: &'static str,
    count: usize,
}

#[derive(Serialize)]
struct CertCounts {
    total: usize,
    expired: usize,
    soon: usize,
    ok: usize,
}

#[derive(Serialize)]
struct HostRow {
    anchor: Option<String>,
    environment: String,
    name: String,
    roles: String,
    status: &'static str,
    status_label: &'static str,
    /// Active findings per severity, worst first.
    counts: Vec<usize>,
    waived: usize,
    certificates: usize,
}

#[derive(Serialize)]
struct EnvGroup {
    name: String,
    count: usize,
    hosts: Vec<HostGroup>,
}

#[derive(Serialize)]
struct HostGroup {
    anchor: String,
    environment: String,
    name: String,
    roles: String,
    status: &'static str,
    status_label: &'static str,
    findings: Vec<FindingView>,
}

#[derive(Serialize)]
struct FindingView {
    anchor: String,
    severity: &'static str,
    severity_label: &'static str,
    rule_id: String,
    rule_name: Option<String>,
    rule_anchor: Option<String>,
    host: String,
    environment: String,
    message: String,
    /// `file:line` or `file`.
    file: Option<String>,
    object: Option<String>,
    evidence: Vec<Pair>,
    fingerprint: String,
    waiver: Option<WaiverView>,
    fix: Option<String>,
}

#[derive(Serialize)]
struct Pair {
    key: String,
    value: String,
}

#[derive(Serialize)]
struct WaiverView {
    justification: String,
    expires: Option<String>,
}

#[derive(Serialize)]
struct RuleView {
    anchor: String,
    id: String,
    name: Option<String>,
    summary: Option<String>,
    severity: Option<&'static str>,
    help: Vec<Block>,
    references: Vec<String>,
    active: usize,
    waived: usize,
    findings: Vec<FindingRef>,
}

#[derive(Serialize)]
struct FindingRef {
    anchor: String,
    severity: &'static str,
    severity_label: &'static str,
    rule_id: String,
    environment: String,
    host: String,
    message: String,
    location: String,
    waived: bool,
}

#[derive(Serialize)]
struct QuietRule {
    id: String,
    name: String,
    summary: String,
}

#[derive(Serialize)]
struct ExpiredWaiverView {
    rule: String,
    host: String,
    object: Option<String>,
    expires: String,
    origin: String,
}

#[derive(Serialize)]
struct FilterRule {
    id: String,
    label: String,
}

#[derive(Serialize)]
struct CertGroup {
    environment: String,
    host: String,
    certs: Vec<CertRow>,
}

#[derive(Serialize)]
struct CertRow {
    subject: String,
    issuer: String,
    path: String,
    not_before: String,
    not_after: String,
    days_left: i64,
    days_text: String,
    status: &'static str,
    status_label: &'static str,
    sha256: String,
}

/// Severity order of every per-severity list: worst first.
const SEVERITIES: [Severity; 4] = Severity::ALL;

fn severity_title(sev: Severity) -> &'static str {
    match sev {
        Severity::Critical => "Critical",
        Severity::High => "High",
        Severity::Medium => "Medium",
        Severity::Low => "Low",
    }
}

fn status_key(s: &HostStatus) -> (&'static str, &'static str) {
    match s {
        HostStatus::Scanned => ("scanned", "scanned"),
        HostStatus::Partial => ("partial", "partial"),
        HostStatus::Unreachable => ("unreachable", "unreachable"),
    }
}

fn expiry_key(s: ExpiryStatus) -> (&'static str, &'static str) {
    match s {
        ExpiryStatus::Expired => ("expired", "expired"),
        ExpiryStatus::Soon => ("soon", "expires soon"),
        ExpiryStatus::Ok => ("ok", "valid"),
    }
}

fn days_text(days_left: i64, status: ExpiryStatus) -> String {
    match status {
        ExpiryStatus::Expired if days_left == 0 => "expired today".to_string(),
        ExpiryStatus::Expired => format!(
            "expired {} ago",
            plural(days_left.unsigned_abs() as usize, "day")
        ),
        _ if days_left <= 0 => "expires today".to_string(),
        _ => format!("{} left", plural(days_left as usize, "day")),
    }
}

/// Everything the template shows about a host, keyed by (environment, name).
struct HostInfo {
    roles: String,
    status: Option<HostStatus>,
}

impl Page {
    fn build(report: &ScanReport, rules: &[&RuleMeta], opts: &HtmlOptions) -> Page {
        let metas: BTreeMap<&str, (usize, &RuleMeta)> = rules
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id.as_ref(), (i, *m)))
            .collect();

        // Every rule that appears, in catalogue order, then unknown ids.
        let mut rule_order: Vec<String> = rules.iter().map(|m| m.id.to_string()).collect();
        let unknown: BTreeSet<&str> = report
            .findings
            .iter()
            .map(|f| f.rule_id.as_str())
            .filter(|id| !metas.contains_key(id))
            .collect();
        rule_order.extend(unknown.iter().map(|s| s.to_string()));
        let rule_anchor: BTreeMap<&str, String> = rule_order
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), format!("rule-{}", i + 1)))
            .collect();

        let mut hosts: BTreeMap<(String, String), HostInfo> = BTreeMap::new();
        for h in &report.hosts {
            hosts.insert(
                (h.environment.clone(), h.name.clone()),
                HostInfo {
                    roles: c(&h.roles.join(", ")),
                    status: Some(h.status.clone()),
                },
            );
        }
        for f in &report.findings {
            hosts
                .entry((f.environment.clone(), f.host.clone()))
                .or_insert(HostInfo {
                    roles: String::new(),
                    status: None,
                });
        }
        let host_anchor: BTreeMap<&(String, String), String> = hosts
            .keys()
            .enumerate()
            .map(|(i, k)| (k, format!("host-{}", i + 1)))
            .collect();

        // Finding anchors follow the report's own order, so they are stable
        // for a given report.
        let anchors: Vec<String> = (1..=report.findings.len())
            .map(|i| format!("f-{i}"))
            .collect();
        let mut order: Vec<(usize, &Finding)> = report.findings.iter().enumerate().collect();
        // Worst first within a host: a person reads the top lines.
        order.sort_by(|(_, a), (_, b)| {
            (&a.environment, &a.host, Reverse(a.severity), a.sort_key()).cmp(&(
                &b.environment,
                &b.host,
                Reverse(b.severity),
                b.sort_key(),
            ))
        });

        let view = |i: usize, f: &Finding| {
            let meta = metas.get(f.rule_id.as_str()).map(|(_, m)| *m);
            let file = f.location.file.as_ref().map(|p| match f.location.line {
                Some(l) => format!("{}:{l}", c(p)),
                None => c(p),
            });
            FindingView {
                anchor: anchors[i].clone(),
                severity: f.severity.as_str(),
                severity_label: severity_label(f.severity),
                rule_id: c(&f.rule_id),
                rule_name: meta.map(|m| c(&m.name)),
                rule_anchor: rule_anchor.get(f.rule_id.as_str()).cloned(),
                host: c(&f.host),
                environment: c(&f.environment),
                message: c(&f.message),
                file,
                object: f.location.object.as_deref().map(c),
                evidence: f
                    .evidence
                    .iter()
                    .map(|(k, v)| Pair {
                        key: c(k),
                        value: clean(v, true),
                    })
                    .collect(),
                fingerprint: c(&f.fingerprint),
                waiver: f.suppressed.as_ref().map(|s| WaiverView {
                    justification: c(&s.justification),
                    expires: s.expires.as_deref().map(c),
                }),
                fix: f.fix.as_deref().map(c),
            }
        };

        let group_of = |key: &(String, String), findings: Vec<FindingView>| {
            let info = hosts.get(key);
            let (status, status_label) = match info.and_then(|i| i.status.as_ref()) {
                Some(s) => status_key(s),
                None => ("unknown", "not in inventory"),
            };
            HostGroup {
                anchor: host_anchor.get(key).cloned().unwrap_or_default(),
                environment: c(&key.0),
                name: c(&key.1),
                roles: info.map(|i| i.roles.clone()).unwrap_or_default(),
                status,
                status_label,
                findings,
            }
        };

        // Findings by environment and host (active), and waived ones apart.
        let mut active_by_host: BTreeMap<(String, String), Vec<FindingView>> = BTreeMap::new();
        let mut waived_by_host: BTreeMap<(String, String), Vec<FindingView>> = BTreeMap::new();
        for &(i, f) in &order {
            let key = (f.environment.clone(), f.host.clone());
            let target = if f.suppressed.is_some() {
                &mut waived_by_host
            } else {
                &mut active_by_host
            };
            target.entry(key).or_default().push(view(i, f));
        }
        let mut environments: Vec<EnvGroup> = Vec::new();
        for (key, findings) in active_by_host {
            let group = group_of(&key, findings);
            match environments.last_mut() {
                Some(env) if env.name == group.environment => {
                    env.count += group.findings.len();
                    env.hosts.push(group);
                }
                _ => environments.push(EnvGroup {
                    name: group.environment.clone(),
                    count: group.findings.len(),
                    hosts: vec![group],
                }),
            }
        }
        let waived: Vec<HostGroup> = waived_by_host
            .into_iter()
            .map(|(key, findings)| group_of(&key, findings))
            .collect();

        // Findings by rule: worst first, then where.
        let mut by_severity = order.clone();
        by_severity.sort_by(|(_, a), (_, b)| {
            (Reverse(a.severity), a.sort_key()).cmp(&(Reverse(b.severity), b.sort_key()))
        });
        let mut by_rule: BTreeMap<&str, Vec<FindingRef>> = BTreeMap::new();
        for &(i, f) in &by_severity {
            by_rule
                .entry(f.rule_id.as_str())
                .or_default()
                .push(FindingRef {
                    anchor: anchors[i].clone(),
                    severity: f.severity.as_str(),
                    severity_label: severity_label(f.severity),
                    rule_id: c(&f.rule_id),
                    environment: c(&f.environment),
                    host: c(&f.host),
                    message: c(&f.message),
                    location: c(&f.location.display()),
                    waived: f.suppressed.is_some(),
                });
        }
        let mut rule_views = Vec::new();
        let mut quiet_rules = Vec::new();
        let mut filter_rules = Vec::new();
        for id in &rule_order {
            let meta = metas.get(id.as_str()).map(|(_, m)| *m);
            let Some(findings) = by_rule.remove(id.as_str()) else {
                if let Some(m) = meta {
                    quiet_rules.push(QuietRule {
                        id: c(&m.id),
                        name: c(&m.name),
                        summary: c(&m.summary),
                    });
                }
                continue;
            };
            let active = findings.iter().filter(|f| !f.waived).count();
            filter_rules.push(FilterRule {
                id: c(id),
                label: match meta {
                    Some(m) => format!("{} {} ({})", c(id), c(&m.name), findings.len()),
                    None => format!("{} ({})", c(id), findings.len()),
                },
            });
            rule_views.push(RuleView {
                anchor: rule_anchor[id.as_str()].clone(),
                id: c(id),
                name: meta.map(|m| c(&m.name)),
                summary: meta.map(|m| c(&m.summary)),
                severity: meta.map(|m| m.severity.as_str()),
                help: meta.map(|m| markdown(&m.help)).unwrap_or_default(),
                references: meta
                    .map(|m| m.references.iter().map(|r| c(r)).collect())
                    .unwrap_or_default(),
                waived: findings.len() - active,
                active,
                findings,
            });
        }

        // Host overview: every host, with its counts.
        let mut host_rows = Vec::new();
        for (key, info) in &hosts {
            let of_host = || {
                report
                    .findings
                    .iter()
                    .filter(move |f| f.environment == key.0 && f.host == key.1)
            };
            let counts: Vec<usize> = SEVERITIES
                .iter()
                .map(|&s| {
                    of_host()
                        .filter(|f| f.suppressed.is_none() && f.severity == s)
                        .count()
                })
                .collect();
            let (status, status_label) = match &info.status {
                Some(s) => status_key(s),
                None => ("unknown", "not in inventory"),
            };
            let has_active = counts.iter().any(|&n| n > 0);
            host_rows.push(HostRow {
                anchor: has_active.then(|| host_anchor[key].clone()),
                environment: c(&key.0),
                name: c(&key.1),
                roles: info.roles.clone(),
                status,
                status_label,
                counts,
                waived: of_host().filter(|f| f.suppressed.is_some()).count(),
                certificates: report
                    .certificates
                    .iter()
                    .filter(|cs| cs.environment == key.0 && cs.host == key.1)
                    .count(),
            });
        }

        let count_status = |s: HostStatus| report.hosts.iter().filter(|h| h.status == s).count();
        let host_counts = HostCounts {
            total: report.hosts.len(),
            scanned: count_status(HostStatus::Scanned),
            partial: count_status(HostStatus::Partial),
            unreachable: count_status(HostStatus::Unreachable),
        };
        let severities = SEVERITIES
            .iter()
            .map(|&s| SeverityCount {
                key: s.as_str(),
                label: severity_title(s),
                count: report.active().filter(|f| f.severity == s).count(),
            })
            .collect();
        let cert_count =
            |s: ExpiryStatus| report.certificates.iter().filter(|x| x.status == s).count();

        let envs: BTreeSet<&str> = report
            .hosts
            .iter()
            .map(|h| h.environment.as_str())
            .chain(report.findings.iter().map(|f| f.environment.as_str()))
            .collect();
        let title = opts
            .title
            .as_deref()
            .map(c)
            .unwrap_or_else(|| "MySQL SSL/TLS audit".to_string());

        let mut certs: Vec<&CertificateSummary> = report.certificates.iter().collect();
        certs.sort_by(|a, b| {
            (&a.environment, &a.host, &a.path, a.index).cmp(&(
                &b.environment,
                &b.host,
                &b.path,
                b.index,
            ))
        });

        Page {
            html_title: format!("{title}, as of {}", c(&report.as_of)),
            title,
            tool: format!("{} {}", c(&report.tool.name), c(&report.tool.version)),
            as_of: c(&report.as_of),
            schema_version: report.schema_version,
            csp: content_security_policy(),
            environments_label: envs.iter().map(|e| c(e)).collect::<Vec<_>>().join(", "),
            verdict: verdict(report, opts.gate, opts.new_only.as_ref()),
            hosts: host_counts,
            severities,
            active_total: report.active().count(),
            waived_total: report.findings.len() - report.active().count(),
            expired_waiver_total: report.expired_waivers.len(),
            certs: CertCounts {
                total: report.certificates.len(),
                expired: cert_count(ExpiryStatus::Expired),
                soon: cert_count(ExpiryStatus::Soon),
                ok: cert_count(ExpiryStatus::Ok),
            },
            host_rows,
            environments,
            rules: rule_views,
            quiet_rules,
            waived,
            expired_waivers: report
                .expired_waivers
                .iter()
                .map(|w| ExpiredWaiverView {
                    rule: c(&w.rule),
                    host: c(&w.host),
                    object: w.object.as_deref().map(c),
                    expires: c(&w.expires),
                    origin: c(&w.origin),
                })
                .collect(),
            timeline: Timeline::build(&report.as_of, &certs),
            cert_groups: cert_groups(&certs),
            filter_envs: envs.iter().map(|e| c(e)).collect(),
            filter_rules,
        }
    }
}

fn cert_groups(certs: &[&CertificateSummary]) -> Vec<CertGroup> {
    let mut groups: Vec<CertGroup> = Vec::new();
    for cs in certs {
        let (status, status_label) = expiry_key(cs.status);
        let row = CertRow {
            subject: c(&cs.subject),
            issuer: c(&cs.issuer),
            path: if cs.index > 0 {
                format!("{} #{}", c(&cs.path), cs.index)
            } else {
                c(&cs.path)
            },
            not_before: c(&cs.not_before),
            not_after: c(&cs.not_after),
            days_left: cs.days_left,
            days_text: days_text(cs.days_left, cs.status),
            status,
            status_label,
            sha256: c(&cs.sha256),
        };
        match groups.last_mut() {
            Some(g) if g.environment == c(&cs.environment) && g.host == c(&cs.host) => {
                g.certs.push(row)
            }
            _ => groups.push(CertGroup {
                environment: c(&cs.environment),
                host: c(&cs.host),
                certs: vec![row],
            }),
        }
    }
    groups
}

/// The gate verdict, judged as the CLI judges its exit status: active
/// findings at or above the gate fail, and so does any active SCAN001 (an
/// audit never passes by silence); `None` never fails.
fn verdict(
    report: &ScanReport,
    gate: Option<Severity>,
    new_only: Option<&std::collections::BTreeSet<String>>,
) -> Verdict {
    // Hosts with an audit gap: nothing checked (SCAN001), or a database
    // that could not be queried (a high SCAN002).
    let unreachable = report
        .active()
        .filter(|f| f.is_audit_gap())
        .map(|f| (f.environment.as_str(), f.host.as_str()))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let Some(min) = gate else {
        let mut reasons =
            vec!["the report was produced without a gate (--fail-on never)".to_string()];
        if unreachable > 0 {
            reasons.push(format!(
                "{} could not be (fully) scanned: this report is not complete evidence",
                plural(unreachable, "host")
            ));
        }
        return Verdict {
            state: "none",
            headline: "No gate: this report never fails".to_string(),
            reasons,
        };
    };
    let counts = |f: &&sslaudit_rules::Finding| new_only.is_none_or(|n| n.contains(&f.fingerprint));
    let failing = report
        .active()
        .filter(|f| f.severity >= min)
        .filter(counts)
        .count();
    let new = if new_only.is_some() { " new" } else { "" };
    if failing == 0 && unreachable == 0 {
        let mut reasons = vec![format!("no unwaived{new} findings at or above {min}")];
        if new_only.is_some() {
            reasons.push("only findings new since the baseline count (--fail-on-new)".to_string());
        }
        let below = report.active().count();
        if below > 0 {
            reasons.push(format!("{} below the gate", plural(below, "finding")));
        }
        return Verdict {
            state: "pass",
            headline: format!("Passed the gate (fails on {min} and above)"),
            reasons,
        };
    }
    let mut reasons = Vec::new();
    if failing > 0 {
        let noun = if new_only.is_some() {
            "new finding"
        } else {
            "finding"
        };
        reasons.push(format!("{} at or above {min}", plural(failing, noun)));
    }
    if unreachable > 0 {
        reasons.push(format!(
            "{} could not be (fully) scanned, and an incomplete audit always fails",
            plural(unreachable, "host")
        ));
    }
    Verdict {
        state: "fail",
        headline: format!("Failed the gate (fails on {min} and above)"),
        reasons,
    }
}

// ---------------------------------------------------------------------------
// Rule help: the markdown subset rule help uses, as blocks of plain-text spans.

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Block {
    Heading {
        level: u8,
        spans: Vec<Span>,
    },
    Paragraph {
        spans: Vec<Span>,
    },
    List {
        ordered: bool,
        start: u32,
        items: Vec<Vec<Span>>,
    },
    Code {
        lang: String,
        text: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Span {
    text: String,
    code: bool,
    strong: bool,
}

impl Span {
    fn plain(text: &str) -> Self {
        Span {
            text: c(text),
            code: false,
            strong: false,
        }
    }
}

/// `## heading`, paragraphs, `- ` / `* ` / `1. ` lists (continuation lines
/// indented or lazy), fenced code blocks, and inline `code` and `**strong**`.
/// Anything else is kept as literal text, which the template escapes.
fn markdown(src: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut para: Vec<&str> = Vec::new();
    // (ordered, start, items' raw text)
    let mut list: Option<(bool, u32, Vec<String>)> = None;
    let mut blank_in_list = false;

    fn flush_para(para: &mut Vec<&str>, blocks: &mut Vec<Block>) {
        if !para.is_empty() {
            blocks.push(Block::Paragraph {
                spans: inline(&para.join(" ")),
            });
            para.clear();
        }
    }
    fn flush_list(list: &mut Option<(bool, u32, Vec<String>)>, blocks: &mut Vec<Block>) {
        if let Some((ordered, start, items)) = list.take() {
            blocks.push(Block::List {
                ordered,
                start,
                items: items.iter().map(|i| inline(i)).collect(),
            });
        }
    }

    let mut lines = src.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.is_empty() {
            flush_para(&mut para, &mut blocks);
            blank_in_list = list.is_some();
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("```") {
            flush_para(&mut para, &mut blocks);
            flush_list(&mut list, &mut blocks);
            blank_in_list = false;
            let lang = rest.split_whitespace().next().unwrap_or("").to_string();
            let mut code = Vec::new();
            for l in lines.by_ref() {
                if l.trim_start().starts_with("```") {
                    break;
                }
                // Fences indented inside a list item indent their content too.
                let cut = (l.len() - l.trim_start().len()).min(indent);
                code.push(clean(l.get(cut..).unwrap_or(l), true));
            }
            blocks.push(Block::Code {
                lang: c(&lang),
                text: code.join("\n"),
            });
            continue;
        }
        if indent < 4
            && let Some((level, text)) = heading(trimmed)
        {
            flush_para(&mut para, &mut blocks);
            flush_list(&mut list, &mut blocks);
            blank_in_list = false;
            blocks.push(Block::Heading {
                level,
                spans: inline(text),
            });
            continue;
        }
        if indent < 4
            && let Some((ordered, number, text)) = list_item(trimmed)
        {
            flush_para(&mut para, &mut blocks);
            match &mut list {
                Some((o, _, items)) if *o == ordered => items.push(text.to_string()),
                _ => {
                    flush_list(&mut list, &mut blocks);
                    list = Some((ordered, number, vec![text.to_string()]));
                }
            }
            blank_in_list = false;
            continue;
        }
        if let Some((_, _, items)) = &mut list {
            // An indented line continues the item, even after a blank line;
            // an unindented one does only directly after it (lazy continuation).
            if indent >= 2 || !blank_in_list {
                if let Some(last) = items.last_mut() {
                    last.push(' ');
                    last.push_str(trimmed);
                }
                blank_in_list = false;
                continue;
            }
            flush_list(&mut list, &mut blocks);
            blank_in_list = false;
        }
        para.push(trimmed);
    }
    flush_para(&mut para, &mut blocks);
    flush_list(&mut list, &mut blocks);
    blocks
}

fn heading(line: &str) -> Option<(u8, &str)> {
    let hashes = line.bytes().take_while(|&b| b == b'#').count();
    if !(1..=6).contains(&hashes) {
        return None;
    }
    let rest = &line[hashes..];
    if rest.is_empty() {
        return Some((hashes as u8, ""));
    }
    rest.strip_prefix(' ')
        .map(|t| (hashes as u8, t.trim().trim_end_matches('#').trim_end()))
}

fn list_item(line: &str) -> Option<(bool, u32, &str)> {
    for bullet in ["- ", "* ", "+ "] {
        if let Some(rest) = line.strip_prefix(bullet) {
            return Some((false, 1, rest.trim_start()));
        }
    }
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=9).contains(&digits) {
        let rest = &line[digits..];
        if let Some(text) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            let n = line[..digits].parse().unwrap_or(1);
            return Some((true, n, text.trim_start()));
        }
    }
    None
}

/// Inline `code` (any run of backticks closed by the same run) and `**strong**`.
fn inline(text: &str) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('`') {
        let ticks = rest[i..].bytes().take_while(|&b| b == b'`').count();
        let after = &rest[i + ticks..];
        match closing_run(after, ticks) {
            Some(end) => {
                strong_spans(&rest[..i], &mut out);
                let code = &after[..end];
                // CommonMark: one space on each side is padding.
                let code = if code.len() > 2 && code.starts_with(' ') && code.ends_with(' ') {
                    &code[1..code.len() - 1]
                } else {
                    code
                };
                out.push(Span {
                    text: c(code),
                    code: true,
                    strong: false,
                });
                rest = &after[end + ticks..];
            }
            None => {
                strong_spans(&rest[..i + ticks], &mut out);
                rest = after;
            }
        }
    }
    strong_spans(rest, &mut out);
    // Merge neighbours of the same kind (literal backticks split them).
    let mut merged: Vec<Span> = Vec::with_capacity(out.len());
    for s in out {
        match merged.last_mut() {
            Some(last) if !last.code && !s.code && last.strong == s.strong => {
                last.text.push_str(&s.text)
            }
            _ => merged.push(s),
        }
    }
    merged
}

fn closing_run(s: &str, n: usize) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'`' {
            let start = i;
            while i < b.len() && b[i] == b'`' {
                i += 1;
            }
            if i - start == n {
                return Some(start);
            }
        } else {
            i += 1;
        }
    }
    None
}

fn strong_spans(s: &str, out: &mut Vec<Span>) {
    let mut rest = s;
    while let Some(i) = rest.find("**") {
        match rest[i + 2..].find("**") {
            Some(j) if j > 0 => {
                if i > 0 {
                    out.push(Span::plain(&rest[..i]));
                }
                out.push(Span {
                    text: c(&rest[i + 2..i + 2 + j]),
                    code: false,
                    strong: true,
                });
                rest = &rest[i + 2 + j + 2..];
            }
            _ => break,
        }
    }
    if !rest.is_empty() {
        out.push(Span::plain(rest));
    }
}

// ---------------------------------------------------------------------------
// Certificate expiry timeline: inline SVG geometry (viewBox units).

const TL_WIDTH: f64 = 1000.0;
const TL_CHART_X0: f64 = 318.0;
const TL_CHART_X1: f64 = 848.0;
const TL_RIGHT_X: f64 = 862.0;
const TL_AXIS_H: f64 = 44.0;
const TL_GROUP_H: f64 = 26.0;
const TL_ROW_H: f64 = 32.0;
/// The window shown: a year before as-of (what just expired) to two years
/// after (what comes due); bars outside are clipped with an arrow.
const TL_DAYS_BEFORE: i64 = 365;
const TL_DAYS_AFTER: i64 = 730;
/// Characters that fit the label column (12px bold, 10.5px mono).
const TL_SUBJECT_CHARS: usize = 44;
const TL_PATH_CHARS: usize = 46;

#[derive(Serialize)]
struct Timeline {
    width: f64,
    height: f64,
    chart_x0: f64,
    chart_x1: f64,
    right_x: f64,
    axis_y: f64,
    now_x: f64,
    now_label: String,
    start_label: String,
    end_label: String,
    ticks: Vec<Tick>,
    groups: Vec<TimelineGroup>,
    bars: usize,
    summary: String,
}

#[derive(Serialize)]
struct Tick {
    x: f64,
    label: String,
    major: bool,
}

#[derive(Serialize)]
struct TimelineGroup {
    y: f64,
    label: String,
    rows: Vec<TimelineRow>,
}

#[derive(Serialize)]
struct TimelineRow {
    y: f64,
    /// Vertical centre of the bar.
    cy: f64,
    subject: String,
    path: String,
    title: String,
    status: &'static str,
    not_after: String,
    days_text: String,
    /// The bar, or `None` when the dates could not be read.
    bar: Option<Bar>,
}

#[derive(Serialize)]
struct Bar {
    x: f64,
    width: f64,
    /// Arrow marks: the bar goes on before / after the window.
    clip_left: Option<String>,
    clip_right: Option<String>,
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

impl Timeline {
    fn build(as_of: &str, certs: &[&CertificateSummary]) -> Option<Timeline> {
        if certs.is_empty() {
            return None;
        }
        // as_of may be a date or an RFC 3339 instant; failing both, recover it
        // from any certificate's expiry and days left.
        let now = parse_day(as_of).or_else(|| {
            certs
                .iter()
                .find_map(|cs| parse_day(&cs.not_after).map(|d| d - cs.days_left))
        })?;
        let start = now - TL_DAYS_BEFORE;
        let end = now + TL_DAYS_AFTER;
        let x_of = |day: i64| {
            let t = (day.clamp(start, end) - start) as f64 / (end - start) as f64;
            round1(TL_CHART_X0 + t * (TL_CHART_X1 - TL_CHART_X0))
        };

        let mut ticks = Vec::new();
        let (y0, _, _) = civil_from_days(start);
        let (y1, _, _) = civil_from_days(end);
        for year in y0..=y1 {
            for month in [1u32, 4, 7, 10] {
                let day = days_from_civil(year, month, 1);
                if day <= start || day >= end {
                    continue;
                }
                ticks.push(Tick {
                    x: x_of(day),
                    label: if month == 1 {
                        year.to_string()
                    } else {
                        MONTHS[month as usize - 1].to_string()
                    },
                    major: month == 1,
                });
            }
        }

        let mut groups: Vec<TimelineGroup> = Vec::new();
        let mut y = TL_AXIS_H;
        let mut bars = 0;
        for cs in certs {
            let label = format!("{} / {}", c(&cs.environment), c(&cs.host));
            if groups.last().is_none_or(|g| g.label != label) {
                groups.push(TimelineGroup {
                    y,
                    label,
                    rows: Vec::new(),
                });
                y += TL_GROUP_H;
            }
            let (status, status_label) = expiry_key(cs.status);
            let path = if cs.index > 0 {
                format!("{} #{}", cs.path, cs.index)
            } else {
                cs.path.clone()
            };
            let bar = match (parse_day(&cs.not_before), parse_day(&cs.not_after)) {
                (Some(nb), Some(na)) if nb <= na => {
                    bars += 1;
                    let (x0, x1) = (x_of(nb), x_of(na));
                    Some(Bar {
                        x: x0,
                        // A bar wholly outside the window still shows as a sliver.
                        width: round1((x1 - x0).max(2.0)),
                        clip_left: (nb < start).then(|| arrow(x0, y + 16.0, -1.0)),
                        clip_right: (na > end)
                            .then(|| arrow(x0 + (x1 - x0).max(2.0), y + 16.0, 1.0)),
                    })
                }
                _ => None,
            };
            let row = TimelineRow {
                y,
                cy: y + 16.0,
                subject: truncate_end(&c(&short_subject(&cs.subject)), TL_SUBJECT_CHARS),
                path: truncate_start(&c(&path), TL_PATH_CHARS),
                title: format!(
                    "{} ({}), {}: valid {} to {}, {} ({})",
                    c(&cs.subject),
                    c(&path),
                    c(&cs.host),
                    c(&cs.not_before),
                    c(&cs.not_after),
                    status_label,
                    days_text(cs.days_left, cs.status)
                ),
                status,
                not_after: c(&cs.not_after),
                days_text: days_text(cs.days_left, cs.status),
                bar,
            };
            if let Some(g) = groups.last_mut() {
                g.rows.push(row);
            }
            y += TL_ROW_H;
        }
        let count = |s: ExpiryStatus| certs.iter().filter(|x| x.status == s).count();
        Some(Timeline {
            width: TL_WIDTH,
            height: y + 8.0,
            chart_x0: TL_CHART_X0,
            chart_x1: TL_CHART_X1,
            right_x: TL_RIGHT_X,
            axis_y: TL_AXIS_H - 4.0,
            now_x: x_of(now),
            now_label: format!("as of {}", format_day(now)),
            start_label: format_day(start),
            end_label: format_day(end),
            ticks,
            groups,
            bars,
            summary: format!(
                "Certificate expiry timeline from {} to {}: {}, {} expired, {} expiring soon, {} valid",
                format_day(start),
                format_day(end),
                plural(certs.len(), "certificate"),
                count(ExpiryStatus::Expired),
                count(ExpiryStatus::Soon),
                count(ExpiryStatus::Ok),
            ),
        })
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A small triangle at `x` pointing left (`dir` -1) or right (+1).
fn arrow(x: f64, cy: f64, dir: f64) -> String {
    let tip = round1(x + dir * 7.0);
    let x = round1(x + dir);
    format!("{x},{} {tip},{cy} {x},{}", cy - 6.0, cy + 6.0)
}

/// The CN of a distinguished name (`CN=db-master,O=Acme` -> `db-master`),
/// or the whole name when it has none.
fn short_subject(subject: &str) -> Cow<'_, str> {
    subject
        .split(',')
        .map(str::trim)
        .find_map(|part| part.strip_prefix("CN="))
        .filter(|cn| !cn.is_empty())
        .map_or(Cow::Borrowed(subject), Cow::Borrowed)
}

fn truncate_end(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

fn truncate_start(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let mut out = String::from("…");
    out.extend(s.chars().skip(n - (max - 1)));
    out
}

/// Days since 1970-01-01 of the `YYYY-MM-DD` a date or an RFC 3339 instant starts with.
fn parse_day(s: &str) -> Option<i64> {
    let date = s.get(..10)?;
    let b = date.as_bytes();
    if b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year: i64 = date[..4].parse().ok()?;
    let month: u32 = date[5..7].parse().ok()?;
    let day: u32 = date[8..10].parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// Howard Hinnant's `days_from_civil`: proleptic Gregorian date to days since 1970-01-01.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn format_day(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minijinja_escapes_html_j2_by_default_too() {
        // The explicit callback in `render` is belt and braces: minijinja 3
        // already treats `*.html.j2` as HTML.
        assert_eq!(
            minijinja::default_auto_escape_callback(TEMPLATE_NAME),
            AutoEscape::Html
        );
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    #[test]
    fn the_script_cannot_close_its_element() {
        assert!(!SCRIPT.to_ascii_lowercase().contains("</script"));
        assert!(!STYLE.to_ascii_lowercase().contains("</style"));
    }

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(parse_day("2026-11-30"), Some(days_from_civil(2026, 11, 30)));
        assert_eq!(
            parse_day("2026-11-30T05:23:00.469491943Z"),
            parse_day("2026-11-30")
        );
        assert_eq!(
            days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28),
            2
        );
        for d in [-800_000, -1, 0, 59, 10_957, 20_787, 2_932_896] {
            let (y, m, day) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, day), d);
        }
        assert_eq!(format_day(days_from_civil(2024, 2, 29)), "2024-02-29");
        assert_eq!(parse_day("2026-13-01"), None);
        assert_eq!(parse_day("soon"), None);
        assert_eq!(parse_day("2026-1-1xx"), None);
    }

    fn text(spans: &[Span]) -> String {
        spans
            .iter()
            .map(|s| {
                if s.code {
                    format!("[{}]", s.text)
                } else if s.strong {
                    format!("*{}*", s.text)
                } else {
                    s.text.clone()
                }
            })
            .collect()
    }

    #[test]
    fn markdown_subset_of_rule_help() {
        let help = "## What it checks\n\nThat `have_ssl` is `YES`\nacross lines.\n\n\
            - one `a`\n  continued\n- two\n\n1. first\n2. **second**\n\n\
            ## How to fix\n\n```sh\n/etc/init.d/mysql restart\n  indented\n```\nafter `` a`b `` end\n";
        let blocks = markdown(help);
        assert_eq!(blocks.len(), 7, "{blocks:#?}");
        assert!(
            matches!(&blocks[0], Block::Heading { level: 2, spans } if text(spans) == "What it checks")
        );
        assert!(
            matches!(&blocks[1], Block::Paragraph { spans } if text(spans) == "That [have_ssl] is [YES] across lines.")
        );
        match &blocks[2] {
            Block::List {
                ordered: false,
                items,
                ..
            } => {
                assert_eq!(items.len(), 2);
                assert_eq!(text(&items[0]), "one [a] continued");
            }
            b => panic!("{b:?}"),
        }
        match &blocks[3] {
            Block::List {
                ordered: true,
                start: 1,
                items,
            } => assert_eq!(text(&items[1]), "*second*"),
            b => panic!("{b:?}"),
        }
        assert!(
            matches!(&blocks[5], Block::Code { lang, text } if lang == "sh" && text == "/etc/init.d/mysql restart\n  indented")
        );
        assert!(
            matches!(&blocks[6], Block::Paragraph { spans } if text(spans) == "after [a`b] end")
        );
    }

    #[test]
    fn markdown_keeps_odd_input_literal() {
        // Unclosed backticks and bold, an unclosed fence, html: all plain text.
        let blocks = markdown("a ` b ** c <b>x</b>\n\n```\nnever closed");
        assert!(
            matches!(&blocks[0], Block::Paragraph { spans } if text(spans) == "a ` b ** c <b>x</b>")
        );
        assert!(matches!(&blocks[1], Block::Code { text, .. } if text == "never closed"));
        assert!(markdown("").is_empty());
        // A list item separated by a blank line stays one list.
        let blocks = markdown("- a\n\n- b\n\nafter");
        assert!(matches!(&blocks[0], Block::List { items, .. } if items.len() == 2));
        assert!(matches!(&blocks[1], Block::Paragraph { .. }));
    }

    #[test]
    fn control_and_bidi_characters_are_shown_escaped() {
        assert_eq!(clean("key\u{202e}txt.crt", false), "key\\u{202e}txt.crt");
        assert_eq!(clean("a\tb\nc", false), "a\\tb\\nc");
        assert_eq!(clean("a\tb\nc", true), "a\tb\nc");
        assert_eq!(clean("a\x1b[2J", true), "a\\u{1b}[2J");
    }

    #[test]
    fn labels_are_truncated_keeping_the_useful_end() {
        assert_eq!(
            short_subject("CN=db-master,OU=production,O=Acme"),
            "db-master"
        );
        assert_eq!(short_subject("O=Acme"), "O=Acme");
        assert_eq!(truncate_end("abcdef", 4), "abc…");
        assert_eq!(truncate_start("/a/b/server.crt", 8), "…ver.crt");
        assert_eq!(truncate_start("short", 8), "short");
    }
}
