//! The parallel engine: evidence to facts to findings, hosts in parallel.
//!
//! An environment's rules run as soon as its hosts are built: the host
//! rules over each host's facts, then the fleet rules over the
//! environment's [`HostDigest`]s (fleet rules compare the hosts of one
//! environment). Each host is then reduced to its report lines and
//! findings, and its facts and digest are dropped: memory follows the
//! report, not the fleet. The one comparison across environments (SSL012's
//! shared server key) waits in [`sslaudit_rules::pending`] until every
//! environment is done.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;
use sslaudit_rules::facts::{Fleet, FleetSummary, HostDigest, HostFacts};
use sslaudit_rules::finding::sort_findings;
use sslaudit_rules::pending::{self, Pending};
use sslaudit_rules::policy::{Policy, PolicyOutcome};
use sslaudit_rules::readiness::{self, NextCa, TrustRow};
use sslaudit_rules::report::{
    CertificateSummary, HostSummary, NotApplicable, SCHEMA_VERSION, ScanReport, ToolInfo,
};
use sslaudit_rules::rows::{Block, Rows};
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

/// What a scan keeps of an environment once its rules ran: its hosts' and
/// certificates' lines in the report, its findings and its readiness rows.
/// The facts and the digests are dropped.
#[derive(Default)]
struct Checked {
    hosts: Vec<HostSummary>,
    certificates: Vec<CertificateSummary>,
    findings: Vec<Finding>,
    readiness: Vec<TrustRow>,
}

/// The enabled rules, the policy and the instant of one scan.
struct Run<'a> {
    enabled: Vec<&'a dyn Rule>,
    policy: &'a Policy,
    as_of: i64,
}

impl<'a> Run<'a> {
    fn new(rules: &'a RuleSet, policy: &'a Policy, as_of: i64) -> Self {
        Run {
            enabled: rules
                .iter()
                .filter(|r| policy.is_enabled(&r.meta().id))
                .collect(),
            policy,
            as_of,
        }
    }

    /// Every rule over the hosts of one environment: host rules (hosts in
    /// parallel), then the fleet rules over the environment's digests
    /// (fleet rules compare the hosts of one environment; the one
    /// comparison across environments, SSL012's shared server key, is left
    /// awaiting, see [`pending`]). Each host is then reduced to its report
    /// lines; facts and digests are dropped.
    fn check_environment<H>(&self, hosts: Vec<H>) -> Checked
    where
        H: Borrow<HostFacts> + Send,
    {
        let view = FleetSummary::new(hosts.iter().map(|h| HostDigest::of(h.borrow())).collect());
        let cx = Context {
            as_of: self.as_of,
            thresholds: &self.policy.thresholds,
            fleet: &view,
            next_ca: &self.policy.next_ca,
        };
        let medium = self.policy.thresholds.expiry_medium_days;
        let per_host: Vec<(HostSummary, Vec<CertificateSummary>, Vec<Finding>)> = hosts
            .into_par_iter()
            .map(|host| {
                let host = host.borrow();
                let mut findings = Vec::new();
                for r in &self.enabled {
                    if r.meta().applies_to(host.access) {
                        r.check_host(&cx, host, &mut findings);
                    }
                }
                (
                    self.summary(host, &findings),
                    CertificateSummary::of_host(host, self.as_of, medium),
                    findings,
                )
            })
            .collect();
        let mut out = Checked {
            hosts: Vec::with_capacity(per_host.len()),
            readiness: readiness::rows(view.hosts(), &self.policy.next_ca),
            ..Checked::default()
        };
        for (summary, certificates, findings) in per_host {
            out.hosts.push(summary);
            out.certificates.extend(certificates);
            out.findings.extend(findings);
        }
        for r in &self.enabled {
            r.check_fleet(&cx, &mut out.findings);
        }
        out
    }

    /// The host's line in the report, with the rules that could not judge it.
    fn summary(&self, host: &HostFacts, findings: &[Finding]) -> HostSummary {
        let mut summary = HostSummary::of(host, findings);
        summary.not_applicable =
            NotApplicable::of(host.access, self.enabled.iter().map(|r| r.meta()));
        summary
    }

    /// The policy over the joined environments' findings; the report.
    fn finish(&self, joined: Joined, as_of_label: &str, part: Part) -> ScanReport {
        let Joined {
            all, certificates, ..
        } = joined;
        let (findings, pending, outcome) = self.settle(all.findings, part);
        let mut report = assemble(all.hosts, certificates, findings, outcome, as_of_label);
        report.pending = pending;
        self.readiness(&mut report, all.readiness);
        report
    }

    /// The readiness table of a report, and the next CAs it was judged against.
    fn readiness(&self, report: &mut ScanReport, mut rows: Vec<TrustRow>) {
        readiness::sort(&mut rows);
        report.readiness = rows;
        report.next_ca = self.policy.next_ca.iter().map(NextCa::label).collect();
    }

    /// The policy over every finding, then the comparisons across
    /// environments: completed over these hosts in a whole scan, left
    /// pending in a shard. Findings sorted.
    fn settle(
        &self,
        mut findings: Vec<Finding>,
        part: Part,
    ) -> (Vec<Finding>, Vec<Pending>, PolicyOutcome) {
        let outcome = self.policy.apply(&mut findings, self.as_of);
        let pending = match part {
            Part::Whole => {
                pending::settle(&mut findings);
                Vec::new()
            }
            Part::Shard => pending::take(&mut findings),
        };
        sort_findings(&mut findings);
        (findings, pending, outcome)
    }
}

/// Whether a scan holds every host of its selection, or one shard of it
/// (`--shard K/N`), whose comparisons across environments `merge`
/// completes ([`sslaudit_rules::pending`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Whole,
    Shard,
}

/// Scans hosts environment by environment without keeping their facts:
/// `load` builds a host's facts on the worker (reading and parsing beside
/// each other), the environment's rules run once it is built, and each
/// host is then reduced to its report lines and findings. Memory grows
/// with the report (its certificate lines packed: [`Rows`]), plus the
/// facts of the environments in flight. `environments` holds each
/// environment's hosts in inventory order, environments preferably by name (the
/// report's order, which keeps the certificate lines packed); the report
/// is the same as [`evaluate`] and [`report`] give for the whole fleet at
/// once.
pub fn scan_streaming<T, E>(
    environments: &[Vec<T>],
    load: impl Fn(&T) -> Result<HostFacts, E> + Sync,
    rules: &RuleSet,
    policy: &Policy,
    as_of: i64,
    as_of_label: &str,
    part: Part,
) -> Result<ScanReport, E>
where
    T: Sync,
    E: Send,
{
    let run = Run::new(rules, policy, as_of);
    let joined = Mutex::new(Joined::new(environments.iter().map(Vec::len).sum()));
    // Environments are handed out in order (`par_bridge` pulls from one
    // iterator), so few wait to be joined: each is appended to the report
    // as soon as the ones before it are, and its own vectors freed.
    environments
        .iter()
        .enumerate()
        .par_bridge()
        .try_for_each(|(i, hosts)| {
            let facts = hosts.par_iter().map(&load).collect::<Result<Vec<_>, E>>()?;
            let mut checked = run.check_environment(facts);
            // The environment's certificate lines, sorted and packed here
            // on the worker (a report's largest part: crate::rows).
            let mut certificates = std::mem::take(&mut checked.certificates);
            certificates
                .sort_by(|a, b| (&a.host, &a.path, a.index).cmp(&(&b.host, &b.path, b.index)));
            let environment = checked.hosts.first().map(|h| h.environment.clone());
            let block = (environment, Block::pack(&certificates));
            drop(certificates);
            joined
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(i, checked, block);
            Ok(())
        })?;
    let joined = joined.into_inner().unwrap_or_else(PoisonError::into_inner);
    Ok(run.finish(joined.in_order(), as_of_label, part))
}

/// The report's lines and findings, joined environment by environment in
/// the order of the scan's environments whatever order they finish in
/// (the report is then the same bytes every run).
struct Joined {
    all: Checked,
    /// The environments' certificate lines, packed.
    certificates: Rows<CertificateSummary>,
    /// The last environment appended, and whether every one came after
    /// the one before it by name (packed lines are in the report's order
    /// only then).
    last: Option<String>,
    by_name: bool,
    /// The next environment to append.
    next: usize,
    /// Environments done before one ahead of them.
    waiting: BTreeMap<usize, (Checked, Packed)>,
}

/// An environment's name and its certificate lines, packed.
type Packed = (Option<String>, Block<CertificateSummary>);

impl Joined {
    fn new(hosts: usize) -> Self {
        Joined {
            all: Checked {
                hosts: Vec::with_capacity(hosts),
                ..Checked::default()
            },
            certificates: Rows::default(),
            last: None,
            by_name: true,
            next: 0,
            waiting: BTreeMap::new(),
        }
    }

    fn push(&mut self, index: usize, checked: Checked, packed: Packed) {
        self.waiting.insert(index, (checked, packed));
        while let Some((c, (environment, block))) = self.waiting.remove(&self.next) {
            self.all.hosts.extend(c.hosts);
            self.all.findings.extend(c.findings);
            self.all.readiness.extend(c.readiness);
            if !block.is_empty() {
                if environment <= self.last {
                    self.by_name = false;
                }
                self.last = environment;
            }
            self.certificates.push_block(block);
            self.next += 1;
        }
    }

    /// Environments that did not come by name leave their certificate
    /// lines unpacked, to be sorted with the report.
    fn in_order(mut self) -> Self {
        if !self.by_name {
            self.certificates = Rows::from(self.certificates.to_vec());
        }
        self
    }
}

/// Hosts grouped by environment, in the order each environment first
/// appears; inventory order within each.
fn by_environment(hosts: &[HostFacts]) -> Vec<Vec<&HostFacts>> {
    let mut order: Vec<&str> = Vec::new();
    let mut groups: HashMap<&str, Vec<&HostFacts>> = HashMap::new();
    for h in hosts {
        let env = h.environment.as_str();
        groups
            .entry(env)
            .or_insert_with(|| {
                order.push(env);
                Vec::new()
            })
            .push(h);
    }
    order.into_iter().filter_map(|e| groups.remove(e)).collect()
}

/// Runs every enabled rule over a fleet held in memory (host rules per
/// environment, in parallel, then fleet rules over the digests); applies
/// the policy; sorts. The same findings as [`scan_streaming`] of the whole
/// fleet.
pub fn evaluate(
    fleet: &Fleet,
    rules: &RuleSet,
    policy: &Policy,
    as_of: i64,
) -> (Vec<Finding>, PolicyOutcome) {
    let (findings, _, outcome) = evaluate_part(fleet, rules, policy, as_of, Part::Whole);
    (findings, outcome)
}

/// [`evaluate`] of a whole fleet or of a shard: a shard's findings that
/// compare environments come back pending.
pub fn evaluate_part(
    fleet: &Fleet,
    rules: &RuleSet,
    policy: &Policy,
    as_of: i64,
    part: Part,
) -> (Vec<Finding>, Vec<Pending>, PolicyOutcome) {
    let run = Run::new(rules, policy, as_of);
    let findings = by_environment(&fleet.hosts)
        .into_iter()
        .flat_map(|group| run.check_environment(group).findings)
        .collect();
    run.settle(findings, part)
}

/// Assembles the report every output format presents.
pub fn report(
    fleet: &Fleet,
    findings: Vec<Finding>,
    outcome: PolicyOutcome,
    (rules, policy): (&RuleSet, &Policy),
    as_of: i64,
    as_of_label: &str,
) -> ScanReport {
    let run = Run::new(rules, policy, as_of);
    let hosts: Vec<HostSummary> = fleet
        .hosts
        .iter()
        .map(|h| {
            let mine: Vec<Finding> = findings
                .iter()
                .filter(|f| f.host == h.name && f.environment == h.environment)
                .cloned()
                .collect();
            run.summary(h, &mine)
        })
        .collect();
    let certificates: Vec<CertificateSummary> = fleet
        .hosts
        .iter()
        .flat_map(|h| CertificateSummary::of_host(h, as_of, policy.thresholds.expiry_medium_days))
        .collect();
    let digests: Vec<HostDigest> = fleet.hosts.iter().map(HostDigest::of).collect();
    let mut report = assemble(hosts, certificates.into(), findings, outcome, as_of_label);
    run.readiness(&mut report, readiness::rows(&digests, &policy.next_ca));
    report
}

fn assemble(
    mut hosts: Vec<HostSummary>,
    mut certificates: Rows<CertificateSummary>,
    findings: Vec<Finding>,
    outcome: PolicyOutcome,
    as_of_label: &str,
) -> ScanReport {
    hosts.sort_by(|a, b| (&a.environment, &a.name).cmp(&(&b.environment, &b.name)));
    certificates.sort_plain_by(|a, b| {
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
        // What the scan covered is the caller's to say.
        scope: None,
        pending: Vec::new(),
        next_ca: Vec::new(),
        readiness: Vec::new(),
    }
}

/// The CI gate: `--fail-on` threshold, or `None` for `never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate(pub Option<Severity>);

impl Gate {
    /// Active findings at or above the threshold.
    pub fn failing<'a>(&self, findings: &'a [Finding]) -> Vec<&'a Finding> {
        match self.0 {
            None => Vec::new(),
            Some(min) => findings
                .iter()
                .filter(|f| f.suppressed.is_none() && f.severity >= min)
                .collect(),
        }
    }

    /// An audit never passes by silence: an unwaived audit gap (SCAN001, a
    /// high SCAN002; see [`Finding::is_audit_gap`]) fails the gate whatever
    /// the threshold, unless the gate is `never`.
    pub fn passes(&self, findings: &[Finding]) -> bool {
        match self.0 {
            None => true,
            Some(_) => self.failing(findings).is_empty() && !has_audit_gap(findings),
        }
    }
}

/// An unwaived finding says part of the audit did not happen.
pub fn has_audit_gap(findings: &[Finding]) -> bool {
    findings
        .iter()
        .any(|f| f.suppressed.is_none() && f.is_audit_gap())
}

#[cfg(test)]
mod tests {
    use sslaudit_rules::facts::{Access, Role};
    use sslaudit_rules::testkit::{AS_OF, cert, host, missing, my_cnf};

    use super::*;

    /// A snapshot scan packs each environment's certificate lines as it
    /// finishes: they are in the report's order (environment, host, path,
    /// position) whatever order the environments and hosts come in, and the
    /// report is the one the in-memory path gives.
    #[test]
    fn certificate_lines_are_in_report_order_whatever_order_environments_come_in() {
        let mk = |name: &str, env: &str| {
            let mut h = host(name, env, &[Role::DbMaster]);
            for path in ["/db/server.pem", "/db/ca.pem"] {
                let c = |i| {
                    cert(
                        path,
                        i,
                        &format!("CN={name}"),
                        "CN=CA",
                        AS_OF + 86_400 * 400,
                    )
                };
                h.certificates.insert(path.into(), vec![c(0), c(1)]);
            }
            h
        };
        let hosts = vec![mk("z", "c"), mk("db", "a"), mk("b2", "b"), mk("b1", "b")];
        let rules = RuleSet::new(Vec::new());
        let policy = Policy::default();
        let scan = |groups: Vec<Vec<usize>>| {
            let load = |&i: &usize| Ok::<_, std::convert::Infallible>(hosts[i].clone());
            let report =
                scan_streaming(&groups, load, &rules, &policy, AS_OF, "as of", Part::Whole);
            serde_json::to_string_pretty(&report.unwrap()).unwrap()
        };
        let by_name = scan(vec![vec![1], vec![2, 3], vec![0]]);
        let shuffled = scan(vec![vec![0], vec![3, 2], vec![1]]);
        assert_eq!(by_name, shuffled);
        let fleet = Fleet {
            hosts: hosts.clone(),
        };
        let (findings, outcome) = evaluate(&fleet, &rules, &policy, AS_OF);
        let in_memory = report(&fleet, findings, outcome, (&rules, &policy), AS_OF, "as of");
        assert_eq!(by_name, serde_json::to_string_pretty(&in_memory).unwrap());
        let places: Vec<(String, String, String, usize)> = in_memory
            .certificates
            .iter()
            .map(|c| {
                (
                    c.environment.clone(),
                    c.host.clone(),
                    c.path.clone(),
                    c.index,
                )
            })
            .collect();
        let mut sorted = places.clone();
        sorted.sort();
        assert_eq!(places, sorted);
        assert_eq!(places.len(), 16);
    }

    /// A host audited from the wire is not judged by the rules that read
    /// files: its report says which, once, instead of findings about files
    /// it could not show. The same facts over SSH are judged.
    #[test]
    fn rules_that_read_files_do_not_judge_a_host_seen_from_the_wire() {
        let mut h = host("orders-db", "managed", &[Role::DbMaster]);
        my_cnf(&mut h, &[("ssl_ca", "/db/ca.pem")]);
        missing(&mut h, "/db/ca.pem");
        let rules = RuleSet::new(Vec::new());
        let policy = Policy::default();
        let scan = |access: Access| {
            let mut h = h.clone();
            h.access = access;
            let fleet = Fleet { hosts: vec![h] };
            let (findings, outcome) = evaluate(&fleet, &rules, &policy, AS_OF);
            report(&fleet, findings, outcome, (&rules, &policy), AS_OF, "as of")
        };
        let ssh = scan(Access::Ssh);
        assert!(ssh.findings.iter().any(|f| f.rule_id == "SSL002"));
        assert!(ssh.hosts[0].not_applicable.is_empty());
        let wire = scan(Access::Wire);
        assert!(
            wire.findings.iter().all(|f| f.rule_id != "SSL002"),
            "{:?}",
            wire.findings
        );
        let na: Vec<&str> = wire.hosts[0]
            .not_applicable
            .iter()
            .map(|n| n.rule.as_str())
            .collect();
        assert!(na.contains(&"SSL002") && na.contains(&"SSL014"), "{na:?}");
        assert!(!na.contains(&"SSL004") && !na.contains(&"SSL017"), "{na:?}");
        assert_eq!(wire.hosts[0].access, Access::Wire);
    }
}
