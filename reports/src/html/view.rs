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
    readiness: Option<ReadinessView>,
    client_tls: Option<super::client_tls::ClientTlsView>,
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
        Some(ReadinessView {
            next_ca: report.next_ca.iter().map(|n| c(n)).collect(),
            breaking: rows.iter().filter(|r| r.next == "no").count(),
            broken_now: rows.iter().filter(|r| r.current == "no").count(),
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
                wire: info.wire.clone(),
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
            readiness: ReadinessView::of(report),
            client_tls: super::client_tls::ClientTlsView::of(report),
        }
    }
}
