//! Merging JSON reports: the union of hosts (a host in two shards once,
//! with every role and the worse status), findings, expired waivers and
//! certificates, sorted and without repeats, then the pending findings
//! completed over every shard.

use std::collections::BTreeMap;

use sslaudit_rules::finding::{Finding, sort_findings};
use sslaudit_rules::report::{HostStatus, HostSummary, ScanReport, Scope};

use super::MergeError;
use super::scope::merge_scopes;

/// Merges JSON reports (see the module docs).
pub fn merge_reports(inputs: &[(&str, ScanReport)]) -> Result<ScanReport, MergeError> {
    let Some((first_name, first)) = inputs.first() else {
        return Err(MergeError::NoInput);
    };
    let tool_of = |r: &ScanReport| format!("{} {}", r.tool.name, r.tool.version);
    for (name, r) in &inputs[1..] {
        if r.as_of != first.as_of {
            return Err(MergeError::AsOfDiffers {
                first: first_name.to_string(),
                first_value: first.as_of.clone(),
                other: name.to_string(),
                other_value: r.as_of.clone(),
            });
        }
        if r.tool != first.tool {
            return Err(MergeError::ToolDiffers {
                first: first_name.to_string(),
                first_value: tool_of(first),
                other: name.to_string(),
                other_value: tool_of(r),
            });
        }
    }

    let scopes: Vec<(&str, Option<&Scope>)> =
        inputs.iter().map(|(n, r)| (*n, r.scope.as_ref())).collect();
    let scope = merge_scopes(&scopes)?;

    // A host in two shards (overlapping --limit globs) appears once, with
    // every role either saw and the worse status.
    let mut hosts: BTreeMap<(String, String), HostSummary> = BTreeMap::new();
    for (_, r) in inputs {
        for h in &r.hosts {
            let key = (h.environment.clone(), h.name.clone());
            match hosts.get_mut(&key) {
                None => {
                    hosts.insert(key, h.clone());
                }
                Some(seen) => {
                    for role in &h.roles {
                        if !seen.roles.contains(role) {
                            seen.roles.push(role.clone());
                        }
                    }
                    if status_rank(&h.status) > status_rank(&seen.status) {
                        seen.status = h.status.clone();
                    }
                }
            }
        }
    }

    // The engine's own order and repeat rule: findings equal in environment,
    // host, rule, location and message are one (and so have one fingerprint).
    // Two findings that merely share a fingerprint are both kept: one rule
    // may report the same object at two lines.
    let mut findings: Vec<Finding> = inputs
        .iter()
        .flat_map(|(_, r)| r.findings.iter().cloned())
        .collect();
    sort_findings(&mut findings);

    // Every shard of one policy lists the same expired waivers in the
    // policy's order: the first-seen order keeps it.
    let mut expired_waivers = Vec::new();
    for (_, r) in inputs {
        for w in &r.expired_waivers {
            if !expired_waivers.contains(w) {
                expired_waivers.push(w.clone());
            }
        }
    }

    let mut certificates: Vec<_> = inputs
        .iter()
        .flat_map(|(_, r)| r.certificates.iter().map(std::borrow::Cow::into_owned))
        .collect();
    certificates.sort_by(|a, b| {
        (&a.environment, &a.host, &a.path, a.index, &a.sha256).cmp(&(
            &b.environment,
            &b.host,
            &b.path,
            b.index,
            &b.sha256,
        ))
    });
    certificates.dedup();

    // Trust stores are judged within their environment, which a shard
    // holds whole: the shards' rows side by side are the whole scan's.
    let mut readiness: Vec<_> = inputs
        .iter()
        .flat_map(|(_, r)| r.readiness.iter().cloned())
        .collect();
    sslaudit_rules::readiness::sort(&mut readiness);
    readiness.dedup();

    let mut merged = ScanReport {
        scope,
        schema_version: first.schema_version,
        tool: first.tool.clone(),
        as_of: first.as_of.clone(),
        hosts: hosts.into_values().collect(),
        findings,
        expired_waivers,
        certificates: certificates.into(),
        pending: inputs
            .iter()
            .flat_map(|(_, r)| r.pending.iter().cloned())
            .collect(),
        next_ca: first.next_ca.clone(),
        readiness,
    };
    // Every shard is here (a missing one was refused): the comparisons
    // across environments complete as one scan completes them.
    merged.settle();
    Ok(merged)
}

fn status_rank(s: &HostStatus) -> u8 {
    match s {
        HostStatus::Scanned => 0,
        HostStatus::Partial => 1,
        HostStatus::Unreachable => 2,
    }
}
