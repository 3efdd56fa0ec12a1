//! The page model the template reads, built from the report: the summary
//! counts, the host overview, the findings by environment and host and by
//! rule, the waived findings and expired waivers. Every string from the
//! report is cleaned here (`c`, `clean`); the template escapes it.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sslaudit_rules::facts::Access;
use sslaudit_rules::finding::Finding;
use sslaudit_rules::report::{
    CertificateSummary, ExpiryStatus, HostStatus, ScanReport, WireSummary,
};
use sslaudit_rules::{RuleMeta, Severity};

use super::expiry_chart::ExpiryChart;
use super::limits::{
    CERT_ROWS, FINDING_CARDS, HOST_ROWS, LISTED_HOSTS, NAMED_ENVIRONMENTS, PAGE_SIZE,
    READINESS_ROWS, RULE_ROWS, TIMELINE_BARS, WAIVED_CARDS, thousands,
};
use super::overview::{Overview, drill_link};
use super::rule_help::{Block, markdown};
use super::timeline::{CertGroup, Timeline, cert_groups};
use super::verdict::{Verdict, verdict};
use super::{HtmlOptions, c, clean, content_security_policy};
use crate::severity_label;

#[derive(Serialize)]
pub(super) struct Page {
    title: String,
    html_title: String,
    tool: String,
    as_of: String,
    schema_version: u32,
    csp: String,
    /// The environments' names, when there are few enough to read in a line.
    environments_named: Option<String>,
    /// `1,000 environments`, when there are too many to name.
    environments_count: Option<String>,
    verdict: Verdict,
    hosts: HostCounts,
    severities: Vec<SeverityCount>,
    active_total: usize,
    /// What the finding cards leave out, when they do.
    cards_note: Option<String>,
    waived_total: usize,
    expired_waiver_total: usize,
    certs: CertCounts,
    overview: Overview,
    /// Rows or cards the script shows at once in a paged list.
    page_size: usize,
    hosts_paged: bool,
    /// Every host, listed or not.
    hosts_total: usize,
    /// What the host table leaves out, when it does.
    hosts_note: Option<String>,
    findings_paged: bool,
    /// Whether "Findings by rule" lists each finding under its rule.
    rule_rows: bool,
    host_rows: Vec<HostRow>,
    environments: Vec<EnvGroup>,
    rules: Vec<RuleView>,
    quiet_rules: Vec<QuietRule>,
    waived: Vec<HostGroup>,
    expired_waivers: Vec<ExpiredWaiverView>,
    timeline: Option<Timeline>,
    /// Many certificates: expiries per month instead of a bar each.
    chart: Option<ExpiryChart>,
    cert_groups: Vec<CertGroup>,
    /// What the certificate table leaves out, when it does.
    cert_note: Option<String>,
    filter_envs: Vec<String>,
    filter_rules: Vec<FilterRule>,
    readiness: Option<ReadinessView>,
    client_tls: Option<super::client_tls::ClientTlsView>,
    census: Option<super::census::CensusView>,
}

/// "Who breaks when the CA changes": every client trust store against its
/// server's current chain and the next CAs.
#[derive(Serialize)]
struct ReadinessView {
    /// The next CAs judged against; empty without `--next-ca`.
    next_ca: Vec<String>,
    rows: Vec<ReadinessRow>,
    /// Stores that will not trust their server after the rotation.
    breaking: usize,
    /// Stores that do not trust their server's chain today.
    broken_now: usize,
    /// Every store, listed or not.
    total: usize,
    /// What the table leaves out, when it does.
    note: Option<String>,
}

#[derive(Serialize)]
struct ReadinessRow {
    environment: String,
    host: String,
    client: String,
    ca_file: String,
    server: String,
    /// `yes`, `no` or `unknown`.
    current: &'static str,
    next: &'static str,
    missing: String,
}

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    }
}

impl ReadinessView {
    fn of(report: &ScanReport) -> Option<Self> {
        if report.readiness.is_empty() {
            return None;
        }
        let rows: Vec<ReadinessRow> = report
            .readiness
            .iter()
            .map(|r| ReadinessRow {
                environment: c(&r.environment),
                host: c(&r.host),
                client: c(&r.client),
                ca_file: c(&r.ca_file),
                server: c(&r.server),
                current: yes_no(r.trusts_current),
                // No next CA for its environment (or none given): not judged.
                next: match r.trusts_next {
                    None => "-",
                    v => yes_no(v),
                },
                missing: r
                    .missing_next
                    .iter()
                    .map(|m| c(m))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
            .collect();
        let total = rows.len();
        let breaking = rows.iter().filter(|r| r.next == "no").count();
        let broken_now = rows.iter().filter(|r| r.current == "no").count();
        let (rows, note) = if total <= READINESS_ROWS {
            (rows, None)
        } else {
            let mut rows: Vec<ReadinessRow> = rows
                .into_iter()
                .filter(|r| r.current != "yes" || !matches!(r.next, "yes" | "-"))
                .collect();
            let problems = rows.len();
            rows.truncate(READINESS_ROWS);
            let note = format!(
                "{} of {} trust stores are listed: those that do not trust their server today or after the rotation, or could not be judged{}. The JSON report (--json) lists every store.",
                thousands(rows.len()),
                thousands(total),
                if rows.len() < problems {
                    format!(
                        " (the first {} of {})",
                        thousands(rows.len()),
                        thousands(problems)
                    )
                } else {
                    String::new()
                }
            );
            (rows, Some(note))
        };
        Some(ReadinessView {
            next_ca: report.next_ca.iter().map(|n| c(n)).collect(),
            breaking,
            broken_now,
            total,
            note,
            rows,
        })
    }
}

#[derive(Serialize)]
struct HostCounts {
    total: usize,
    scanned: usize,
    partial: usize,
    unreachable: usize,
    /// Of all hosts, those audited from the wire alone.
    wire: usize,
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
    /// Set for a host audited from the wire alone (`ssh: none`).
    wire: Option<WireView>,
    /// Active findings per severity, worst first.
    counts: Vec<usize>,
    waived: usize,
    certificates: usize,
    /// What the host filter matches: `active` (it has active findings),
    /// `gap` (not fully scanned), space-separated.
    flags: &'static str,
}

#[derive(Serialize)]
struct EnvGroup {
    name: String,
    count: usize,
    hosts: Vec<HostGroup>,
}

#[derive(Serialize)]
struct HostGroup {
    /// (environment, host) as the report writes them.
    #[serde(skip)]
    key: (String, String),
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
    /// The fragment that filters the finding cards to this rule.
    drill: String,
    /// Empty when the page is too large to repeat findings here.
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

/// Everything the template shows about a host, keyed by (environment, name).
struct HostInfo {
    roles: String,
    status: Option<HostStatus>,
    wire: Option<WireView>,
}

/// A host audited from the wire alone: what could not be judged there.
#[derive(Clone, Serialize)]
struct WireView {
    /// `SSL002 ssl-config-missing, SSL003 ...`.
    not_judged: String,
    count: usize,
    /// What the probe saw, in a line; empty when the host was not probed.
    seen: String,
}

/// `TLSv1.3 (TLS_AES_256_GCM_SHA384); accepts TLSv1.2, TLSv1.3; asks for a
/// client certificate; a plaintext login of an unknown user: 1045 ...`.
fn wire_seen(w: &WireSummary) -> String {
    let mut parts = vec![match (&w.protocol, &w.cipher) {
        (Some(p), Some(c)) => format!("{p} ({c})"),
        (Some(p), None) => p.clone(),
        _ => "no TLS".to_string(),
    }];
    if !w.accepted.is_empty() {
        parts.push(format!("accepts {}", w.accepted.join(", ")));
    }
    match w.requests_client_cert {
        Some(true) => parts.push("asks for a client certificate".into()),
        Some(false) => parts.push("asks for no client certificate".into()),
        None => {}
    }
    if let Some(a) = &w.plaintext_answer {
        parts.push(format!("a plaintext login of an unknown user: {a}"));
    }
    parts.join("; ")
}

impl Page {
    pub(super) fn build(report: &ScanReport, rules: &[&RuleMeta], opts: &HtmlOptions) -> Page {
        // Unpacked once: the page counts, sorts and lists them.
        let certificates = report.certificates.to_vec();
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
                    wire: (h.access == Access::Wire).then(|| WireView {
                        not_judged: h
                            .not_applicable
                            .iter()
                            .map(|n| format!("{} {}", c(&n.rule), c(&n.name)))
                            .collect::<Vec<_>>()
                            .join(", "),
                        count: h.not_applicable.len(),
                        seen: h
                            .wire
                            .as_ref()
                            .map(|w| c(&wire_seen(w)))
                            .unwrap_or_default(),
                    }),
                },
            );
        }
        for f in &report.findings {
            hosts
                .entry((f.environment.clone(), f.host.clone()))
                .or_insert(HostInfo {
                    roles: String::new(),
                    status: None,
                    wire: None,
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
                key: key.clone(),
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
        // Each list keeps its worst findings up to its cap (the rest are
        // counted, and in the JSON report).
        let mut worst: Vec<(usize, &Finding)> = order.clone();
        worst.sort_by_key(|&(i, f)| (Reverse(f.severity), i));
        let (mut active_left, mut waived_left) = (FINDING_CARDS, WAIVED_CARDS);
        let carded: BTreeSet<usize> = worst
            .iter()
            .filter(|(_, f)| {
                let left = if f.suppressed.is_some() {
                    &mut waived_left
                } else {
                    &mut active_left
                };
                let keep = *left > 0;
                *left = left.saturating_sub(1);
                keep
            })
            .map(|&(i, _)| i)
            .collect();
        let active_total = report.active().count();
        let cards_note = (active_total > FINDING_CARDS
            || report.findings.len() - active_total > WAIVED_CARDS)
            .then(|| {
                format!(
                    "This page shows the {} worst of {} active findings and the {} worst of {} waived ones; the JSON report (--json) has them all.",
                    thousands(active_total.min(FINDING_CARDS)),
                    thousands(active_total),
                    thousands((report.findings.len() - active_total).min(WAIVED_CARDS)),
                    thousands(report.findings.len() - active_total),
                )
            });
        for &(i, f) in order.iter().filter(|(i, _)| carded.contains(i)) {
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
        let active_hosts: BTreeSet<(String, String)> = environments
            .iter()
            .flat_map(|e| e.hosts.iter())
            .map(|h| (h.key.0.clone(), h.key.1.clone()))
            .collect();
        let waived: Vec<HostGroup> = waived_by_host
            .into_iter()
            .map(|(key, findings)| group_of(&key, findings))
            .collect();

        // Findings by rule: worst first, then where.
        let mut by_severity = order.clone();
        by_severity.sort_by(|(_, a), (_, b)| {
            (Reverse(a.severity), a.sort_key()).cmp(&(Reverse(b.severity), b.sort_key()))
        });
        let rule_rows = report.findings.len() <= RULE_ROWS;
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
            let waived = findings.len() - active;
            let findings = if rule_rows { findings } else { Vec::new() };
            rule_views.push(RuleView {
                drill: drill_link("rule", &c(id)),
                anchor: rule_anchor[id.as_str()].clone(),
                id: c(id),
                name: meta.map(|m| c(&m.name)),
                summary: meta.map(|m| c(&m.summary)),
                severity: meta.map(|m| m.severity.as_str()),
                help: meta.map(|m| markdown(&m.help)).unwrap_or_default(),
                references: meta
                    .map(|m| m.references.iter().map(|r| c(r)).collect())
                    .unwrap_or_default(),
                waived,
                active,
                findings,
            });
        }

        // Host overview: every host, with its counts. Counted in one pass
        // over the findings and the certificates: a fleet of 10,000 hosts
        // must not cost hosts x findings comparisons.
        let mut per_host: BTreeMap<(&str, &str), ([usize; 4], usize, usize)> = BTreeMap::new();
        for f in &report.findings {
            let entry = per_host
                .entry((f.environment.as_str(), f.host.as_str()))
                .or_default();
            if f.suppressed.is_some() {
                entry.1 += 1;
            } else if let Some(i) = SEVERITIES.iter().position(|&s| s == f.severity) {
                entry.0[i] += 1;
            }
        }
        for cs in &certificates {
            per_host
                .entry((cs.environment.as_str(), cs.host.as_str()))
                .or_default()
                .2 += 1;
        }
        let mut host_rows = Vec::new();
        for (key, info) in &hosts {
            let (counts, waived, certificates) = per_host
                .get(&(key.0.as_str(), key.1.as_str()))
                .copied()
                .unwrap_or_default();
            let (status, status_label) = match &info.status {
                Some(s) => status_key(s),
                None => ("unknown", "not in inventory"),
            };
            let has_active = counts.iter().any(|&n| n > 0);
            let carded = has_active && active_hosts.contains(key);
            host_rows.push(HostRow {
                anchor: carded.then(|| host_anchor[key].clone()),
                environment: c(&key.0),
                name: c(&key.1),
                roles: info.roles.clone(),
                status,
                status_label,
                wire: info.wire.clone(),
                counts: counts.to_vec(),
                waived,
                certificates,
                flags: match (has_active, status != "scanned") {
                    (true, true) => "active gap",
                    (true, false) => "active",
                    (false, true) => "gap",
                    (false, false) => "",
                },
            });
        }

        // A large fleet's table lists the hosts that need attention.
        let hosts_total = host_rows.len();
        let hosts_note = (hosts_total > HOST_ROWS).then(|| {
            host_rows.retain(|h| !h.flags.is_empty());
            let attention = host_rows.len();
            host_rows.truncate(LISTED_HOSTS);
            format!(
                "{} of {} hosts are listed: those with active findings or not fully scanned{}. The environment table above counts every host; the JSON report (--json) lists them all.",
                thousands(host_rows.len()),
                thousands(hosts_total),
                if host_rows.len() < attention {
                    format!(" (the first {} of {})", thousands(host_rows.len()), thousands(attention))
                } else {
                    String::new()
                }
            )
        });
        let count_status = |s: HostStatus| report.hosts.iter().filter(|h| h.status == s).count();
        let host_counts = HostCounts {
            total: report.hosts.len(),
            scanned: count_status(HostStatus::Scanned),
            partial: count_status(HostStatus::Partial),
            unreachable: count_status(HostStatus::Unreachable),
            wire: report
                .hosts
                .iter()
                .filter(|h| h.access == Access::Wire)
                .count(),
        };
        let severities = SEVERITIES
            .iter()
            .map(|&s| SeverityCount {
                key: s.as_str(),
                label: severity_title(s),
                count: report.active().filter(|f| f.severity == s).count(),
            })
            .collect();
        let cert_count = |s: ExpiryStatus| certificates.iter().filter(|x| x.status == s).count();

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

        let by_place = |a: &&CertificateSummary, b: &&CertificateSummary| {
            (&a.environment, &a.host, &a.path, a.index).cmp(&(
                &b.environment,
                &b.host,
                &b.path,
                b.index,
            ))
        };
        let mut certs: Vec<&CertificateSummary> = certificates.iter().collect();
        certs.sort_by(by_place);
        // A large fleet's table lists what needs action: expired and
        // expiring certificates, the soonest first, then by place.
        let (listed, cert_note) = if certs.len() <= CERT_ROWS {
            (certs.clone(), None)
        } else {
            let mut due: Vec<&CertificateSummary> = certs
                .iter()
                .copied()
                .filter(|x| x.status != ExpiryStatus::Ok)
                .collect();
            due.sort_by_key(|x| x.days_left);
            let due_total = due.len();
            due.truncate(CERT_ROWS);
            due.sort_by(by_place);
            let note = format!(
                "{} of {} certificates are listed: {}. The JSON report (--json) lists every certificate.",
                thousands(due.len()),
                thousands(certs.len()),
                if due.len() < due_total {
                    format!(
                        "the {} expired or expiring soonest of {} expired or expiring",
                        thousands(due.len()),
                        thousands(due_total)
                    )
                } else {
                    "the expired and expiring ones; valid certificates are counted above and in the chart"
                        .to_string()
                }
            );
            (due, Some(note))
        };
        let (timeline, chart) = if certs.len() <= TIMELINE_BARS {
            (Timeline::build(&report.as_of, &certs), None)
        } else {
            (None, ExpiryChart::build(&report.as_of, &certs))
        };
        let overview = Overview::build(report, &rule_order, &metas, &rule_anchor);

        Page {
            html_title: format!("{title}, as of {}", c(&report.as_of)),
            title,
            tool: format!("{} {}", c(&report.tool.name), c(&report.tool.version)),
            as_of: c(&report.as_of),
            schema_version: report.schema_version,
            csp: content_security_policy(),
            environments_named: (!envs.is_empty() && envs.len() <= NAMED_ENVIRONMENTS)
                .then(|| envs.iter().map(|e| c(e)).collect::<Vec<_>>().join(", ")),
            environments_count: (envs.len() > NAMED_ENVIRONMENTS)
                .then(|| format!("{} environments", thousands(envs.len()))),
            verdict: verdict(report, opts.gate, opts.new_only.as_ref()),
            hosts: host_counts,
            severities,
            active_total,
            cards_note,
            waived_total: report.findings.len() - report.active().count(),
            expired_waiver_total: report.expired_waivers.len(),
            certs: CertCounts {
                total: certificates.len(),
                expired: cert_count(ExpiryStatus::Expired),
                soon: cert_count(ExpiryStatus::Soon),
                ok: cert_count(ExpiryStatus::Ok),
            },
            overview,
            page_size: PAGE_SIZE,
            hosts_paged: host_rows.len() > PAGE_SIZE,
            hosts_total,
            hosts_note,
            findings_paged: report.active().count() > PAGE_SIZE,
            rule_rows,
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
            timeline,
            chart,
            cert_groups: cert_groups(&listed),
            cert_note,
            filter_envs: envs.iter().map(|e| c(e)).collect(),
            filter_rules,
            readiness: ReadinessView::of(report),
            client_tls: super::client_tls::ClientTlsView::of(report),
            census: super::census::CensusView::of(report),
        }
    }
}
