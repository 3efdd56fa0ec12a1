//! The parallel engine: evidence to facts to findings, hosts in parallel.

use std::collections::BTreeSet;

use rayon::prelude::*;
use sslaudit_rules::facts::{Fleet, HostFacts};
use sslaudit_rules::finding::sort_findings;
use sslaudit_rules::policy::{Policy, PolicyOutcome};
use sslaudit_rules::report::{
    CertificateSummary, HostSummary, SCHEMA_VERSION, ScanReport, ToolInfo,
};
use sslaudit_rules::{Context, Finding, Rule, RuleMeta, Severity};

/// The rules of a scan: the compiled catalogue plus any rule packs, minus
/// what the policy disables.
pub struct RuleSet {
    rules: Vec<Box<dyn Rule>>,
}

/// Adapts a `&'static dyn Rule` of the compiled registry to an owned box.
struct Static(&'static dyn Rule);

impl Rule for Static {
    fn meta(&self) -> &RuleMeta {
        self.0.meta()
    }
    fn check_host(&self, cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        self.0.check_host(cx, host, out);
    }
    fn check_fleet(&self, cx: &Context<'_>, out: &mut Vec<Finding>) {
        self.0.check_fleet(cx, out);
    }
}

impl RuleSet {
    /// The compiled catalogue followed by `extra` (rule packs).
    pub fn new(extra: Vec<Box<dyn Rule>>) -> Self {
        let mut rules: Vec<Box<dyn Rule>> = sslaudit_rules::registry::RULES
            .iter()
            .map(|r| Box::new(Static(*r)) as Box<dyn Rule>)
            .collect();
        rules.extend(extra);
        RuleSet { rules }
    }

    pub fn ids(&self) -> BTreeSet<String> {
        self.rules.iter().map(|r| r.meta().id.to_string()).collect()
    }

    pub fn metas(&self) -> Vec<&RuleMeta> {
        self.rules.iter().map(|r| r.meta()).collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &dyn Rule> {
        self.rules.iter().map(|r| r.as_ref())
    }
}

/// Runs every enabled rule over the fleet: host rules on each host in
/// parallel, then fleet rules; applies the policy; sorts.
pub fn evaluate(
    fleet: &Fleet,
    rules: &RuleSet,
    policy: &Policy,
    as_of: i64,
) -> (Vec<Finding>, PolicyOutcome) {
    let cx = Context {
        as_of,
        thresholds: &policy.thresholds,
        fleet,
    };
    let enabled: Vec<&dyn Rule> = rules
        .iter()
        .filter(|r| policy.is_enabled(&r.meta().id))
        .collect();
    let mut findings: Vec<Finding> = fleet
        .hosts
        .par_iter()
        .flat_map_iter(|host| {
            let mut out = Vec::new();
            for r in &enabled {
                r.check_host(&cx, host, &mut out);
            }
            out
        })
        .collect();
    for r in &enabled {
        r.check_fleet(&cx, &mut findings);
    }
    let outcome = policy.apply(&mut findings, as_of);
    sort_findings(&mut findings);
    (findings, outcome)
}

/// Assembles the report every output format presents.
pub fn report(
    fleet: &Fleet,
    findings: Vec<Finding>,
    outcome: PolicyOutcome,
    policy: &Policy,
    as_of: i64,
    as_of_label: &str,
) -> ScanReport {
    let mut hosts: Vec<HostSummary> = fleet.hosts.iter().map(HostSummary::of).collect();
    hosts.sort_by(|a, b| (&a.environment, &a.name).cmp(&(&b.environment, &b.name)));
    let mut certificates: Vec<CertificateSummary> = fleet
        .hosts
        .iter()
        .flat_map(|h| CertificateSummary::of_host(h, as_of, policy.thresholds.expiry_medium_days))
        .collect();
    certificates.sort_by(|a, b| {
        (&a.environment, &a.host, &a.path, a.index).cmp(&(
            &b.environment,
            &b.host,
            &b.path,
            b.index,
        ))
    });
    ScanReport {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "sslaudit".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        as_of: as_of_label.to_string(),
        hosts,
        findings,
        expired_waivers: outcome.expired_waivers,
        certificates,
    }
}

/// The CI gate: `--fail-on` threshold, or `None` for `never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate(pub Option<Severity>);

impl Gate {
    /// Active findings at or above the threshold.
    pub fn failing<'a>(&self, report: &'a ScanReport) -> Vec<&'a Finding> {
        match self.0 {
            None => Vec::new(),
            Some(min) => report.active().filter(|f| f.severity >= min).collect(),
        }
    }

    /// An audit never passes by silence: an unwaived SCAN001 fails the gate
    /// whatever the threshold, unless the gate is `never`.
    pub fn passes(&self, report: &ScanReport) -> bool {
        match self.0 {
            None => true,
            Some(_) => {
                self.failing(report).is_empty() && !report.active().any(|f| f.rule_id == "SCAN001")
            }
        }
    }
}
