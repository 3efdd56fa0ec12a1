//! Aggregates before lists: the active findings counted by rule and by
//! environment, each row a drill-down link (`#rule=SSL004`, `#env=staging`)
//! that sets the page's filters, so a fleet of 1,000 environments reads as
//! two tables before any finding is listed.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use sslaudit_rules::report::{HostStatus, ScanReport};
use sslaudit_rules::{RuleMeta, Severity};

use super::c;
use super::limits::PAGE_SIZE;

#[derive(Serialize)]
pub(super) struct Overview {
    /// Rules with at least one finding, in catalogue order.
    rules: Vec<RuleCount>,
    /// Every environment, the worst first.
    environments: Vec<EnvCount>,
    /// More environments than a page: the table gets a pager and a search box.
    env_paged: bool,
}

#[derive(Serialize)]
struct RuleCount {
    id: String,
    name: Option<String>,
    /// The rule's section in "Findings by rule".
    anchor: String,
    /// The fragment that filters the finding cards to this rule.
    drill: String,
    /// Active findings per severity, worst first.
    counts: [usize; 4],
    waived: usize,
    hosts: usize,
    environments: usize,
}

#[derive(Serialize)]
struct EnvCount {
    name: String,
    drill: String,
    hosts: usize,
    /// Partial or unreachable hosts.
    gaps: usize,
    counts: [usize; 4],
    waived: usize,
}

/// The fragment the page's script reads as a filter: `#rule=SSL004`.
pub(super) fn drill_link(key: &str, value: &str) -> String {
    format!("#{key}={}", utf8_percent_encode(value, NON_ALPHANUMERIC))
}

fn severity_index(sev: Severity) -> usize {
    Severity::ALL.iter().position(|&s| s == sev).unwrap_or(0)
}

impl Overview {
    /// `rule_order` is every rule id in the order the page shows them, and
    /// `rule_anchor` their sections' anchors.
    pub(super) fn build(
        report: &ScanReport,
        rule_order: &[String],
        metas: &BTreeMap<&str, (usize, &RuleMeta)>,
        rule_anchor: &BTreeMap<&str, String>,
    ) -> Overview {
        #[derive(Default)]
        struct Tally<'a> {
            counts: [usize; 4],
            waived: usize,
            hosts: BTreeSet<(&'a str, &'a str)>,
            environments: BTreeSet<&'a str>,
        }
        let mut by_rule: BTreeMap<&str, Tally> = BTreeMap::new();
        let mut by_env: BTreeMap<&str, EnvCount> = BTreeMap::new();
        let env_row = |name: &str| EnvCount {
            name: c(name),
            drill: drill_link("env", &c(name)),
            hosts: 0,
            gaps: 0,
            counts: [0; 4],
            waived: 0,
        };
        for h in &report.hosts {
            let row = by_env
                .entry(h.environment.as_str())
                .or_insert_with(|| env_row(&h.environment));
            row.hosts += 1;
            if h.status != HostStatus::Scanned {
                row.gaps += 1;
            }
        }
        for f in &report.findings {
            let tally = by_rule.entry(f.rule_id.as_str()).or_default();
            let env = by_env
                .entry(f.environment.as_str())
                .or_insert_with(|| env_row(&f.environment));
            if f.suppressed.is_some() {
                tally.waived += 1;
                env.waived += 1;
                continue;
            }
            let i = severity_index(f.severity);
            tally.counts[i] += 1;
            env.counts[i] += 1;
            tally
                .hosts
                .insert((f.environment.as_str(), f.host.as_str()));
            tally.environments.insert(f.environment.as_str());
        }
        let rules = rule_order
            .iter()
            .filter_map(|id| {
                let tally = by_rule.remove(id.as_str())?;
                Some(RuleCount {
                    id: c(id),
                    name: metas.get(id.as_str()).map(|(_, m)| c(&m.name)),
                    anchor: rule_anchor.get(id.as_str()).cloned().unwrap_or_default(),
                    drill: drill_link("rule", &c(id)),
                    counts: tally.counts,
                    waived: tally.waived,
                    hosts: tally.hosts.len(),
                    environments: tally.environments.len(),
                })
            })
            .collect();
        let mut environments: Vec<EnvCount> = by_env.into_values().collect();
        // Worst first: the most critical findings, then high, ..., then the
        // most hosts not fully scanned; names break ties.
        environments.sort_by(|a, b| {
            (Reverse(a.counts), Reverse(a.gaps), &a.name).cmp(&(
                Reverse(b.counts),
                Reverse(b.gaps),
                &b.name,
            ))
        });
        Overview {
            env_paged: environments.len() > PAGE_SIZE,
            rules,
            environments,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drill_links_are_percent_encoded() {
        assert_eq!(drill_link("rule", "SSL004"), "#rule=SSL004");
        assert_eq!(drill_link("env", "eu west&1"), "#env=eu%20west%261");
    }
}
