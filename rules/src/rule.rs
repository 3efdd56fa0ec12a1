//! The `Rule` trait and the metadata every rule carries beside its code.

use std::borrow::Cow;

use serde::Serialize;

use crate::facts::{FleetView, HostFacts};
use crate::policy::Thresholds;
use crate::{Finding, Severity};

/// What a rule is, next to its code: the same text feeds `sslaudit explain`,
/// the HTML report and SARIF's rule help.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleMeta {
    /// Stable id (`SSL004`): reports, waivers and CI gates refer to it.
    pub id: Cow<'static, str>,
    /// Kebab-case name of the bad state (`certificate-expiry`).
    pub name: Cow<'static, str>,
    /// Nominal severity; a rule may grade its findings (SSL004: critical,
    /// high or medium) and a policy may override it.
    pub severity: Severity,
    /// One line, no trailing period.
    pub summary: Cow<'static, str>,
    /// Markdown with the sections "What it checks", "Why it matters" and "How to fix".
    pub help: Cow<'static, str>,
    /// Seed document sections, CIS controls, manual pages.
    pub references: Cow<'static, [&'static str]>,
    /// What the rule judges from: whether a host audited from the wire
    /// alone (`ssh: none`) can be judged by it at all.
    pub evidence: Evidence,
    /// The controls a finding of this rule is evidence against (NIST SP
    /// 800-53, CIS benchmarks, PCI DSS), each with the source of the
    /// mapping: `explain`, SARIF tags and the OSCAL assessment results.
    pub controls: &'static [Control],
}

/// NIST SP 800-53 Rev. 5, the catalogue OSCAL findings target.
pub const NIST_800_53: &str = "NIST SP 800-53 Rev. 5";
/// PCI DSS v4.0 requirements.
pub const PCI_DSS: &str = "PCI DSS v4.0";
/// CIS Oracle MySQL 8.0 Benchmark recommendations.
pub const CIS_MYSQL_8: &str = "CIS Oracle MySQL 8.0 Benchmark";
/// CIS Oracle MySQL Enterprise Edition 5.7 Benchmark recommendations.
pub const CIS_MYSQL_57: &str = "CIS Oracle MySQL Enterprise Edition 5.7 Benchmark";

/// A control of a framework that a rule's findings evidence, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Control {
    /// The framework and its version ([`NIST_800_53`], [`PCI_DSS`], ...).
    pub framework: &'static str,
    /// The control's id as the framework writes it (`SC-8(1)`, `4.2.1`).
    pub id: &'static str,
    /// Where the mapping comes from: the control's published text, the
    /// seed document's section, or the reasoning, in one line.
    pub source: &'static str,
}

impl Control {
    /// A NIST SP 800-53 Rev. 5 control or enhancement (`SC-8(1)`).
    pub const fn nist(id: &'static str, source: &'static str) -> Self {
        Control {
            framework: NIST_800_53,
            id,
            source,
        }
    }

    /// A PCI DSS v4.0 requirement (`4.2.1`).
    pub const fn pci(id: &'static str, source: &'static str) -> Self {
        Control {
            framework: PCI_DSS,
            id,
            source,
        }
    }

    /// A recommendation of a CIS benchmark (`framework`: a `CIS_*` constant).
    pub const fn cis(framework: &'static str, id: &'static str, source: &'static str) -> Self {
        Control {
            framework,
            id,
            source,
        }
    }

    /// `NIST-800-53:SC-8(1)`: the short form SARIF tags carry.
    pub fn tag(&self) -> String {
        let short = match self.framework {
            NIST_800_53 => "NIST-800-53",
            PCI_DSS => "PCI-DSS-4.0",
            CIS_MYSQL_8 => "CIS-MySQL-8.0",
            CIS_MYSQL_57 => "CIS-MySQL-EE-5.7",
            other => other,
        };
        format!("{short}:{}", self.id)
    }

    /// The control's id in NIST's OSCAL catalogue of SP 800-53 Rev. 5
    /// (`SC-8(1)` is `sc-8.1`); `None` for other frameworks.
    pub fn oscal_id(&self) -> Option<String> {
        if self.framework != NIST_800_53 {
            return None;
        }
        let lower = self.id.to_ascii_lowercase();
        Some(match lower.split_once('(') {
            Some((base, rest)) => format!("{base}.{}", rest.trim_end_matches(')')),
            None => lower,
        })
    }
}

/// What a rule judges from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// SQL facts, the TLS probe or files: whatever the host shows.
    #[default]
    Any,
    /// Files on the host (option files, keys, certificates on disk,
    /// database.yml, openssl.cnf, /etc/passwd): not applicable on a host
    /// audited from the wire alone, which says so once in its report
    /// instead of a finding per missing file.
    HostFiles,
}

impl RuleMeta {
    pub const fn new(
        id: &'static str,
        name: &'static str,
        severity: Severity,
        summary: &'static str,
        help: &'static str,
        references: &'static [&'static str],
    ) -> Self {
        RuleMeta {
            id: Cow::Borrowed(id),
            name: Cow::Borrowed(name),
            severity,
            summary: Cow::Borrowed(summary),
            help: Cow::Borrowed(help),
            references: Cow::Borrowed(references),
            evidence: Evidence::Any,
            controls: &[],
        }
    }

    /// The controls the rule's findings evidence ([`Control`]).
    pub const fn controls(mut self, controls: &'static [Control]) -> Self {
        self.controls = controls;
        self
    }

    /// The rule judges from files on the host only ([`Evidence::HostFiles`]).
    pub const fn from_host_files(mut self) -> Self {
        self.evidence = Evidence::HostFiles;
        self
    }

    /// True when the rule can judge a host reached as `access` says.
    pub fn applies_to(&self, access: crate::facts::Access) -> bool {
        !(self.evidence == Evidence::HostFiles && access == crate::facts::Access::Wire)
    }
}

/// What every rule sees besides the host it checks.
pub struct Context<'a> {
    /// The instant expiry and waivers are judged against (unix seconds).
    pub as_of: i64,
    pub thresholds: &'a Thresholds,
    /// The other hosts, for rules that compare a host with its
    /// environment: a [`crate::facts::Fleet`] of full facts, or the
    /// engine's [`crate::facts::FleetSummary`] of digests. In
    /// [`Rule::check_fleet`] it holds one environment's hosts.
    pub fleet: &'a dyn FleetView,
    /// The CAs servers' certificates will come from after an announced
    /// rotation (`scan --next-ca`); empty when none was given.
    pub next_ca: &'a [crate::readiness::NextCa],
}

/// A check. Implementations are pure functions of facts: they never do I/O.
///
/// The engine calls [`Rule::check_host`] once per host (hosts in parallel,
/// each with the answers about its environment complete) and
/// [`Rule::check_fleet`] once per environment, over its hosts' digests (the
/// facts themselves are gone by then: see [`crate::facts::HostDigest`]):
/// fleet rules compare the hosts of one environment, which is what lets a
/// scan drop an environment once it is checked and a shard hold whole
/// environments (a comparison across environments is a
/// [`crate::pending`] finding). A rule implements whichever fits and pushes
/// findings to `out`; it reports nothing when a fact it needs was not collected (SCAN002
/// says so). Every finding carries the rule's id and a location whose file
/// or object tells apart two problems of the same rule on the same host.
pub trait Rule: Send + Sync {
    fn meta(&self) -> &RuleMeta;

    fn check_host(&self, _cx: &Context<'_>, _host: &HostFacts, _out: &mut Vec<Finding>) {}

    fn check_fleet(&self, _cx: &Context<'_>, _out: &mut Vec<Finding>) {}

    /// A finding of this rule at its default severity, on a host a fleet
    /// rule knows by its digest.
    fn finding_on(
        &self,
        host: &crate::facts::HostDigest,
        message: String,
        location: crate::Location,
    ) -> Finding {
        at_default_severity(
            self.meta(),
            (&host.name, &host.environment),
            message,
            location,
        )
    }

    /// A finding of this rule at its default severity.
    fn finding(&self, host: &HostFacts, message: String, location: crate::Location) -> Finding {
        at_default_severity(
            self.meta(),
            (&host.name, &host.environment),
            message,
            location,
        )
    }
}

/// A finding of the rule `meta` describes, at its default severity, on the
/// host `(name, environment)`.
fn at_default_severity(
    meta: &RuleMeta,
    (host, environment): (&str, &str),
    message: String,
    location: crate::Location,
) -> Finding {
    Finding::new(
        meta.id.clone(),
        meta.severity,
        host,
        environment,
        message,
        location,
    )
}
