//! `sslaudit merge`: one report from the reports of several shards of a
//! scan (the N jobs of `--shard K/N`, or one job per environment with
//! `--limit`), exactly as one scan of them all writes it.
//!
//! - JSON reports ([`merge_reports`]): the union of hosts, findings,
//!   expired waivers and certificates, sorted and without repeats.
//! - SARIF logs ([`merge_sarif`]): one run whose `driver.rules` is the union
//!   of the inputs' rules sorted by id, every result's `ruleIndex` rewritten
//!   to match, results sorted as [`crate::sarif`] sorts them, the hosts' base
//!   ids recomputed over all results, and one invocation.
//!
//! Both complete the shards' pending findings (the comparisons across
//! environments, see [`sslaudit_rules::pending`]) over every shard, as one
//! scan completes them.
//!
//! The inputs must come from one sslaudit, share `as_of`, and record the
//! same inventory and policy in their `scope`; shards must share N and
//! `--limit`, each once, none missing.
//!
//! [`merge`] reads the inputs and tells the kinds apart by content; mixing
//! JSON and SARIF is an error.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};
use sslaudit_rules::finding::{Finding, sort_findings};
use sslaudit_rules::pending::{KeySighting, completions};
use sslaudit_rules::report::{HostStatus, HostSummary, ScanReport, Scope};

use crate::ReportError;
use crate::sarif::{PENDING_KEY, result_text};
use crate::sarif_json::{finding_of_result, rule_id_of, rule_ids};

/// What a merge says beyond its inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeOptions {
    /// SARIF `automationDetails.id` of the merged run. Without it, the
    /// inputs' categories must agree (the merged run keeps theirs).
    pub category: Option<String>,
}

/// A merged report, of the inputs' kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Merged {
    Json(Box<ScanReport>),
    Sarif(Value),
}

impl Merged {
    /// Pretty JSON with a trailing newline, like the scan writes it.
    pub fn to_text(&self) -> String {
        let mut out = match self {
            Merged::Json(report) => return crate::json::to_json(report),
            // A Value always serializes.
            Merged::Sarif(log) => {
                serde_json::to_string_pretty(log).expect("a JSON value always serializes")
            }
        };
        out.push('\n');
        out
    }

    /// The merged findings, for the gate: a SARIF log's results read back
    /// as the findings they were written from.
    pub fn findings(&self) -> Result<Vec<Finding>, String> {
        match self {
            Merged::Json(report) => Ok(report.findings.clone()),
            Merged::Sarif(log) => {
                let mut out = Vec::new();
                for (i, run) in log
                    .get("runs")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    let rules = run.as_object().map(rule_ids).unwrap_or_default();
                    for (j, r) in run
                        .get("results")
                        .and_then(Value::as_array)
                        .map(Vec::as_slice)
                        .unwrap_or_default()
                        .iter()
                        .enumerate()
                    {
                        out.push(
                            finding_of_result(r, &rules)
                                .map_err(|e| format!("runs[{i}].results[{j}]: {e}"))?,
                        );
                    }
                }
                Ok(out)
            }
        }
    }
}

/// Why inputs could not be merged; every variant names the files involved.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge")]
    NoInput,
    // `error`, not `source`: the message already quotes it, and a source
    // would be printed twice in an error chain.
    #[error("{name}: not JSON: {error}")]
    NotJson {
        name: String,
        error: serde_json::Error,
    },
    #[error(
        "{name}: neither an sslaudit JSON report (no `schema_version`) nor a SARIF log (no `runs`)"
    )]
    Unrecognized { name: String },
    #[error("{name}: {error}")]
    Report { name: String, error: ReportError },
    #[error(
        "cannot merge JSON reports ({json}) with SARIF logs ({sarif}): merge files of one kind"
    )]
    MixedKinds { json: String, sarif: String },
    /// Shards judged at different instants would disagree on expiry.
    #[error(
        "as_of differs: {first} has `{first_value}`, {other} has `{other_value}`: merge the shards of one scan (same --as-of) only"
    )]
    AsOfDiffers {
        first: String,
        first_value: String,
        other: String,
        other_value: String,
    },
    #[error(
        "tool differs: {first} was written by `{first_value}`, {other} by `{other_value}`: merge the outputs of one sslaudit only"
    )]
    ToolDiffers {
        first: String,
        first_value: String,
        other: String,
        other_value: String,
    },
    #[error(
        "category (automationDetails.id) differs: {first} has `{first_value}`, {other} has `{other_value}`: give the merged run one with --category"
    )]
    CategoryDiffers {
        first: String,
        first_value: String,
        other: String,
        other_value: String,
    },
    /// The inputs' scopes (inventory, policy, `--limit`, shard count) differ.
    #[error(
        "{what} differs: {first} has `{first_value}`, {other} has `{other_value}`: merge the shards of one scan only"
    )]
    ScopeDiffers {
        what: &'static str,
        first: String,
        first_value: String,
        other: String,
        other_value: String,
    },
    #[error("{first} and {other} are both shard {shard}: give each shard once")]
    ShardTwice {
        first: String,
        other: String,
        shard: String,
    },
    #[error("shard {missing} of {count} missing (got {got}): merge all {count} shards of the scan")]
    ShardsMissing {
        missing: String,
        count: u32,
        got: String,
    },
    /// A SARIF document of the wrong shape; `at` is the JSON path.
    #[error("{name}: {at}: {message}")]
    Sarif {
        name: String,
        at: String,
        message: String,
    },
}

/// Which kind of report a text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Json,
    Sarif,
}

/// Merges reports given as `(name, text)`: names are used in errors only.
pub fn merge(inputs: &[(&str, &str)], opts: &MergeOptions) -> Result<Merged, MergeError> {
    if inputs.is_empty() {
        return Err(MergeError::NoInput);
    }
    let mut parsed = Vec::with_capacity(inputs.len());
    for &(name, text) in inputs {
        let value: Value = serde_json::from_str(text).map_err(|error| MergeError::NotJson {
            name: name.to_string(),
            error,
        })?;
        let kind = match value.as_object() {
            Some(top) if top.contains_key("schema_version") => Kind::Json,
            Some(top) if top.contains_key("runs") => Kind::Sarif,
            _ => {
                return Err(MergeError::Unrecognized {
                    name: name.to_string(),
                });
            }
        };
        parsed.push((name, text, kind, value));
    }
    let names_of = |k: Kind| {
        parsed
            .iter()
            .filter(|p| p.2 == k)
            .map(|p| p.0)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (json, sarif) = (names_of(Kind::Json), names_of(Kind::Sarif));
    if !json.is_empty() && !sarif.is_empty() {
        return Err(MergeError::MixedKinds { json, sarif });
    }
    if sarif.is_empty() {
        let mut reports = Vec::with_capacity(parsed.len());
        for (name, text, _, _) in &parsed {
            let report = crate::json::from_json(text).map_err(|error| MergeError::Report {
                name: name.to_string(),
                error,
            })?;
            reports.push((*name, report));
        }
        merge_reports(&reports).map(|r| Merged::Json(Box::new(r)))
    } else {
        let logs: Vec<(&str, Value)> = parsed.into_iter().map(|(n, _, _, v)| (n, v)).collect();
        merge_sarif(&logs, opts).map(Merged::Sarif)
    }
}

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
        .flat_map(|(_, r)| r.certificates.iter().cloned())
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

    let mut merged = ScanReport {
        scope,
        schema_version: first.schema_version,
        tool: first.tool.clone(),
        as_of: first.as_of.clone(),
        hosts: hosts.into_values().collect(),
        findings,
        expired_waivers,
        certificates,
        pending: inputs
            .iter()
            .flat_map(|(_, r)| r.pending.iter().cloned())
            .collect(),
    };
    // Every shard is here (a missing one was refused): the comparisons
    // across environments complete as one scan completes them.
    merged.settle();
    Ok(merged)
}

/// The scope of the merged report: the inputs must come from one source
/// and policy; shards (`K/N`) must share N and `--limit` and be all there,
/// each once; inputs without shards (one `--limit` job per environment)
/// merge their globs. `None` when no input records a scope (older reports).
fn merge_scopes(inputs: &[(&str, Option<&Scope>)]) -> Result<Option<Scope>, MergeError> {
    type Part = fn(&Scope) -> String;
    let describe =
        |s: Option<&Scope>, f: Part| s.map_or_else(|| "nothing (an older report?)".to_string(), f);
    let Some(&(first_name, first)) = inputs.first() else {
        return Ok(None);
    };
    let checks: [(&'static str, Part); 2] = [
        ("inventory (scope.source)", |s| s.source.clone()),
        ("policy and rule packs (scope.policy)", |s| s.policy.clone()),
    ];
    for &(name, scope) in &inputs[1..] {
        for &(what, of) in &checks {
            if scope.map(of) != first.map(of) {
                return Err(MergeError::ScopeDiffers {
                    what,
                    first: first_name.to_string(),
                    first_value: describe(first, of),
                    other: name.to_string(),
                    other_value: describe(scope, of),
                });
            }
        }
    }
    let Some(first) = first else {
        return Ok(None);
    };
    let shard_of: Part = |s| {
        s.shard
            .map_or_else(|| "a whole scan".to_string(), |k| format!("shard {k}"))
    };
    let limit_of: Part = |s| format!("{:?}", s.limit);
    let differs = |what: &'static str, name: &str, s: &Scope, of: Part| MergeError::ScopeDiffers {
        what,
        first: first_name.to_string(),
        first_value: of(first),
        other: name.to_string(),
        other_value: of(s),
    };
    let scopes: Vec<(&str, &Scope)> = inputs
        .iter()
        .filter_map(|(n, s)| Some((*n, (*s)?)))
        .collect();
    let mut merged = first.clone();
    merged.shard = None;
    if first.shard.is_none() {
        for &(name, s) in &scopes[1..] {
            if s.shard.is_some() {
                return Err(differs("part", name, s, shard_of));
            }
            for g in &s.limit {
                if !merged.limit.contains(g) {
                    merged.limit.push(g.clone());
                }
            }
        }
        return Ok(Some(merged));
    }
    let mut seen: BTreeMap<u32, &str> = BTreeMap::new();
    let count = first.shard.map_or(1, |k| k.count);
    for &(name, s) in &scopes {
        let Some(k) = s.shard.filter(|k| k.count == count) else {
            return Err(differs("part", name, s, shard_of));
        };
        if s.limit != first.limit {
            return Err(differs("--limit", name, s, limit_of));
        }
        if let Some(other) = seen.insert(k.index, name) {
            return Err(MergeError::ShardTwice {
                first: other.to_string(),
                other: name.to_string(),
                shard: k.to_string(),
            });
        }
    }
    let missing: Vec<String> = (1..=count)
        .filter(|k| !seen.contains_key(k))
        .map(|k| format!("{k}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::ShardsMissing {
            missing: missing.join(", "),
            count,
            got: seen
                .keys()
                .map(|k| format!("{k}/{count}"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(Some(merged))
}

fn status_rank(s: &HostStatus) -> u8 {
    match s {
        HostStatus::Scanned => 0,
        HostStatus::Partial => 1,
        HostStatus::Unreachable => 2,
    }
}

/// One sslaudit run of an input, with where it came from.
struct InputRun<'a> {
    name: &'a str,
    at: String,
    run: &'a Map<String, Value>,
}

/// Merges SARIF logs (see the module docs). Every run of every input must be
/// an sslaudit run; their tool versions, `properties.as_of` and (unless
/// `opts.category` is given) `automationDetails.id` must agree.
pub fn merge_sarif(inputs: &[(&str, Value)], opts: &MergeOptions) -> Result<Value, MergeError> {
    let sarif_err = |name: &str, at: String, message: &str| MergeError::Sarif {
        name: name.to_string(),
        at,
        message: message.to_string(),
    };
    let mut runs: Vec<InputRun<'_>> = Vec::new();
    for (name, log) in inputs {
        let version = log.get("version").and_then(Value::as_str);
        if version != Some("2.1.0") {
            return Err(sarif_err(
                name,
                "version".into(),
                &format!(
                    "is {}, this sslaudit merges SARIF 2.1.0 only",
                    version.map_or_else(|| "missing".to_string(), |v| format!("`{v}`"))
                ),
            ));
        }
        let list = log
            .get("runs")
            .and_then(Value::as_array)
            .ok_or_else(|| sarif_err(name, "runs".into(), "is not an array"))?;
        for (i, run) in list.iter().enumerate() {
            let at = format!("runs[{i}]");
            let run = run
                .as_object()
                .ok_or_else(|| sarif_err(name, at.clone(), "is not an object"))?;
            let tool = run
                .get("tool")
                .and_then(|t| t.pointer("/driver/name"))
                .and_then(Value::as_str)
                .unwrap_or("");
            if tool != "sslaudit" {
                return Err(sarif_err(
                    name,
                    at,
                    &format!(
                        "is a run of `{tool}`, not sslaudit: merge combines the shards of one sslaudit scan"
                    ),
                ));
            }
            runs.push(InputRun { name, at, run });
        }
    }
    let Some(first) = runs.first() else {
        return Err(MergeError::NoInput);
    };

    let text_at = |r: &InputRun<'_>, path: &[&str]| {
        let mut v = r.run.get(path[0])?;
        for key in &path[1..] {
            v = v.get(key)?;
        }
        v.as_str().map(str::to_string)
    };
    let describe = |r: &InputRun<'_>| format!("{} ({})", r.name, r.at);
    for r in &runs[1..] {
        let (a, b) = (
            text_at(first, &["tool", "driver", "version"]),
            text_at(r, &["tool", "driver", "version"]),
        );
        if a != b {
            return Err(MergeError::ToolDiffers {
                first: describe(first),
                first_value: format!("sslaudit {}", a.unwrap_or_default()),
                other: describe(r),
                other_value: format!("sslaudit {}", b.unwrap_or_default()),
            });
        }
        let (a, b) = (
            text_at(first, &["properties", "as_of"]),
            text_at(r, &["properties", "as_of"]),
        );
        if a != b {
            return Err(MergeError::AsOfDiffers {
                first: describe(first),
                first_value: a.unwrap_or_default(),
                other: describe(r),
                other_value: b.unwrap_or_default(),
            });
        }
        let (a, b) = (
            text_at(first, &["automationDetails", "id"]),
            text_at(r, &["automationDetails", "id"]),
        );
        if opts.category.is_none() && a != b {
            return Err(MergeError::CategoryDiffers {
                first: describe(first),
                first_value: a.unwrap_or_default(),
                other: describe(r),
                other_value: b.unwrap_or_default(),
            });
        }
    }

    let mut scopes = Vec::with_capacity(runs.len());
    for r in &runs {
        let scope = match r.run.get("properties").and_then(|p| p.get("scope")) {
            None => None,
            Some(v) => Some(serde_json::from_value::<Scope>(v.clone()).map_err(|e| {
                sarif_err(r.name, format!("{}.properties.scope", r.at), &e.to_string())
            })?),
        };
        scopes.push((describe(r), scope));
    }
    let scope = merge_scopes(
        &scopes
            .iter()
            .map(|(n, s)| (n.as_str(), s.as_ref()))
            .collect::<Vec<_>>(),
    )?;

    // The union of the rules, sorted by id as a scan sorts them; the first
    // input's descriptor of an id wins.
    let mut descriptors: BTreeMap<String, Value> = BTreeMap::new();
    for r in &runs {
        for (i, d) in r
            .run
            .get("tool")
            .and_then(|t| t.pointer("/driver/rules"))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let id = d.get("id").and_then(Value::as_str).ok_or_else(|| {
                sarif_err(
                    r.name,
                    format!("{}.tool.driver.rules[{i}]", r.at),
                    "has no id",
                )
            })?;
            descriptors
                .entry(id.to_string())
                .or_insert_with(|| d.clone());
        }
    }
    let index: BTreeMap<String, usize> = descriptors
        .keys()
        .enumerate()
        .map(|(i, id)| (id.clone(), i))
        .collect();

    let mut merged = first.run.clone();
    merged.remove("originalUriBaseIds");
    let mut artifacts: Vec<Value> = Vec::new();
    let mut logical: Vec<Value> = Vec::new();
    let mut results: Vec<(SortKey, Value)> = Vec::new();
    let mut invocations = Invocations::default();
    let mut pending: Vec<PendingResult> = Vec::new();
    for r in &runs {
        let offsets = Offsets {
            artifacts: artifacts.len(),
            logical: logical.len(),
        };
        for (key, list) in [
            ("artifacts", &mut artifacts),
            ("logicalLocations", &mut logical),
        ] {
            if let Some(Value::Array(items)) = r.run.get(key) {
                for item in items {
                    let mut item = item.clone();
                    offsets.shift(&mut item);
                    if let Some(parent) = item.get_mut("parentIndex")
                        && let Some(p) = parent.as_u64()
                    {
                        *parent = json!(p + offsets.logical as u64);
                    }
                    list.push(item);
                }
            }
        }
        let own_rules = rule_ids(r.run);
        if let Some(list) = r.run.get("results").and_then(Value::as_array) {
            for (j, result) in list.iter().enumerate() {
                let at = format!("{}.results[{j}]", r.at);
                let rule_id = rule_id_of(result, &own_rules)
                    .ok_or_else(|| sarif_err(r.name, at.clone(), "has no ruleId"))?;
                let mut result = result.clone();
                offsets.shift(&mut result);
                let Some(obj) = result.as_object_mut() else {
                    return Err(sarif_err(r.name, at, "is not an object"));
                };
                set_rule(obj, &rule_id, &index);
                results.push((sort_key(&result, &own_rules), result));
            }
        }
        pending.extend(pending_of(r)?);
        if let Some(list) = r.run.get("invocations").and_then(Value::as_array) {
            for inv in list {
                let mut inv = inv.clone();
                rewrite_associated_rules(&mut inv, &own_rules, &index);
                invocations.add(inv);
            }
        }
    }
    // Every shard is here (a missing one was refused): the pending results
    // complete as one scan completes its findings.
    for mut result in complete_pending(pending) {
        let rule_id = result
            .get("ruleId")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let (Some(obj), Some(rule_id)) = (result.as_object_mut(), rule_id) {
            set_rule(obj, &rule_id, &index);
        }
        results.push((sort_key(&result, &[]), result));
    }
    results.sort_by(|a, b| a.0.cmp(&b.0));
    results.dedup_by(|a, b| a.1 == b.1);
    let mut results: Vec<Value> = results.into_iter().map(|(_, r)| r).collect();
    if let Some(bases) = rebase_hosts(&mut results) {
        merged.insert("originalUriBaseIds".into(), bases);
    }

    if let Some(Value::Object(tool)) = merged.get_mut("tool")
        && let Some(Value::Object(driver)) = tool.get_mut("driver")
    {
        driver.insert(
            "rules".into(),
            Value::Array(descriptors.into_values().collect()),
        );
    }
    merged.insert("results".into(), Value::Array(results));
    for (key, list) in [
        ("invocations", invocations.into_list()),
        ("artifacts", artifacts),
        ("logicalLocations", logical),
    ] {
        if list.is_empty() {
            merged.remove(key);
        } else {
            merged.insert(key.into(), Value::Array(list));
        }
    }
    if let Some(category) = opts.category.as_deref().filter(|c| !c.is_empty()) {
        merged.insert("automationDetails".into(), json!({ "id": category }));
    }
    if let Some(Value::Object(props)) = merged.get_mut("properties") {
        props.remove(PENDING_KEY);
        match scope {
            Some(scope) => {
                props.insert("scope".into(), json!(scope));
            }
            None => {
                props.remove("scope");
            }
        }
    }

    // serde-sarif writes the fields of a run and an invocation in name
    // order: so does the merge, whatever it added or dropped.
    merged.sort_keys();
    if let Some(Value::Array(list)) = merged.get_mut("invocations") {
        for inv in list {
            if let Value::Object(inv) = inv {
                inv.sort_keys();
            }
        }
    }

    let mut log = match inputs.first() {
        Some((_, Value::Object(top))) => top.clone(),
        _ => Map::new(),
    };
    log.insert("runs".into(), json!([Value::Object(merged)]));
    Ok(Value::Object(log))
}

/// Points a result at its rule in the merged `driver.rules`.
fn set_rule(obj: &mut Map<String, Value>, rule_id: &str, index: &BTreeMap<String, usize>) {
    obj.insert("ruleId".into(), json!(rule_id));
    match index.get(rule_id) {
        Some(&i) => {
            obj.insert("ruleIndex".into(), json!(i));
            if let Some(Value::Object(rule)) = obj.get_mut("rule") {
                rule.insert("index".into(), json!(i));
            }
        }
        // No input describes the rule: an index would point nowhere.
        None => {
            obj.remove("ruleIndex");
            if let Some(Value::Object(rule)) = obj.get_mut("rule") {
                rule.remove("index");
            }
        }
    }
}

/// A shard's pending result ([`crate::sarif::PENDING_KEY`]) with its
/// environment, host and key.
struct PendingResult {
    environment: String,
    host: String,
    key: KeySighting,
    result: Value,
}

fn pending_of(r: &InputRun<'_>) -> Result<Vec<PendingResult>, MergeError> {
    let Some(list) = r.run.get("properties").and_then(|p| p.get(PENDING_KEY)) else {
        return Ok(Vec::new());
    };
    let at = format!("{}.properties.{PENDING_KEY}", r.at);
    let err = |at: String, message: String| MergeError::Sarif {
        name: r.name.to_string(),
        at,
        message,
    };
    let list = list
        .as_array()
        .ok_or_else(|| err(at.clone(), "is not an array".into()))?;
    let mut out = Vec::with_capacity(list.len());
    for (j, item) in list.iter().enumerate() {
        let at = format!("{at}[{j}]");
        let key = item
            .get("key")
            .cloned()
            .ok_or_else(|| err(at.clone(), "has no key".into()))
            .and_then(|k| {
                serde_json::from_value::<KeySighting>(k)
                    .map_err(|e| err(format!("{at}.key"), e.to_string()))
            })?;
        let result = item
            .get("result")
            .filter(|v| v.is_object())
            .cloned()
            .ok_or_else(|| err(at.clone(), "has no result object".into()))?;
        let text = |k: &str| {
            result
                .pointer(&format!("/properties/{k}"))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let (Some(environment), Some(host)) = (text("environment"), text("host")) else {
            return Err(err(
                format!("{at}.result"),
                "names no environment and host in its properties".into(),
            ));
        };
        out.push(PendingResult {
            environment,
            host,
            key,
            result,
        });
    }
    Ok(out)
}

/// The results the pending ones of every shard give: each reported one
/// with its message and `evidence.shared_with`, as the scan writes them.
fn complete_pending(pending: Vec<PendingResult>) -> Vec<Value> {
    let keys: Vec<(&str, &str, &KeySighting)> = pending
        .iter()
        .map(|p| (p.environment.as_str(), p.host.as_str(), &p.key))
        .collect();
    let done = completions(&keys);
    pending
        .into_iter()
        .zip(done)
        .filter_map(|(p, c)| {
            let c = c?;
            let mut result = p.result;
            result["message"] = json!({
                "text": result_text(&p.environment, &p.host, &c.message)
            });
            if let Some(Value::Object(props)) = result.get_mut("properties") {
                let evidence = props
                    .entry("evidence")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(evidence) = evidence {
                    evidence.insert("shared_with".into(), json!(c.shared_with));
                    // A scan writes evidence in name order.
                    evidence.sort_keys();
                }
            }
            Some(result)
        })
        .collect()
}

/// The hosts' base ids as one scan of all their results names them
/// ([`crate::sarif`]'s `HOST_<host>`, suffixed on collisions in host
/// order): every `uriBaseId` of a result is its host's. Returns the new
/// `originalUriBaseIds`, `None` when no result points into a host's file.
fn rebase_hosts(results: &mut [Value]) -> Option<Value> {
    let host_of = |r: &Value| {
        r.pointer("/properties/host")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let mut hosts = BTreeSet::new();
    for r in results.iter() {
        if has_base_id(r)
            && let Some(h) = host_of(r)
        {
            hosts.insert(h);
        }
    }
    if hosts.is_empty() {
        return None;
    }
    let bases = crate::sarif::HostBases::of_hosts(hosts.iter().map(String::as_str).collect());
    for r in results.iter_mut() {
        if let Some(id) = host_of(r).and_then(|h| bases.by_host.get(&h)) {
            set_base_ids(r, id);
        }
    }
    serde_json::to_value(bases.original_uri_base_ids()).ok()
}

fn has_base_id(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.contains_key("uriBaseId") || m.values().any(has_base_id),
        Value::Array(items) => items.iter().any(has_base_id),
        _ => false,
    }
}

/// Sets every `uriBaseId` in a value to `id`.
fn set_base_ids(v: &mut Value, id: &str) {
    match v {
        Value::Object(map) => {
            if let Some(old) = map.get_mut("uriBaseId") {
                *old = json!(id);
            }
            map.values_mut().for_each(|c| set_base_ids(c, id));
        }
        Value::Array(items) => items.iter_mut().for_each(|c| set_base_ids(c, id)),
        _ => {}
    }
}

/// The shards' invocations as one scan's: execution notifications (one per
/// host not fully scanned) ordered by environment and host, configuration
/// notifications (expired waivers, the same in every shard) once each in
/// first-seen order, successful when all were, from the earliest start to
/// the latest end (when every shard recorded them; with `--as-of` none do).
#[derive(Default)]
struct Invocations {
    first: Option<Map<String, Value>>,
    execution: Vec<Value>,
    configuration: Vec<Value>,
    failed: bool,
    start: Vec<Option<String>>,
    end: Vec<Option<String>>,
}

impl Invocations {
    fn add(&mut self, inv: Value) {
        let Value::Object(mut inv) = inv else {
            return;
        };
        let ok = inv
            .get("executionSuccessful")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        self.failed |= !ok;
        let text = |k: &str, inv: &Map<String, Value>| {
            inv.get(k).and_then(Value::as_str).map(str::to_string)
        };
        self.start.push(text("startTimeUtc", &inv));
        self.end.push(text("endTimeUtc", &inv));
        if let Some(Value::Array(list)) = inv.remove("toolExecutionNotifications") {
            self.execution.extend(list);
        }
        if let Some(Value::Array(list)) = inv.remove("toolConfigurationNotifications") {
            for n in list {
                if !self.configuration.contains(&n) {
                    self.configuration.push(n);
                }
            }
        }
        self.first.get_or_insert(inv);
    }

    fn into_list(mut self) -> Vec<Value> {
        let Some(mut inv) = self.first.take() else {
            return Vec::new();
        };
        inv.insert("executionSuccessful".into(), json!(!self.failed));
        // RFC 3339 UTC instants of one format order as text.
        let all = |v: &[Option<String>]| v.iter().cloned().collect::<Option<Vec<String>>>();
        for (key, times, earliest) in [
            ("startTimeUtc", all(&self.start), true),
            ("endTimeUtc", all(&self.end), false),
        ] {
            let pick = times.and_then(|t| {
                if earliest {
                    t.into_iter().min()
                } else {
                    t.into_iter().max()
                }
            });
            match pick {
                Some(t) => inv.insert(key.into(), json!(t)),
                None => inv.remove(key),
            };
        }
        let key = |n: &Value| {
            let p = |k: &str| {
                n.pointer(&format!("/properties/{k}"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            (p("environment"), p("host"), n.to_string())
        };
        self.execution.sort_by_cached_key(key);
        for (k, list) in [
            ("toolExecutionNotifications", self.execution),
            ("toolConfigurationNotifications", self.configuration),
        ] {
            if !list.is_empty() {
                inv.insert(k.into(), Value::Array(list));
            }
        }
        vec![Value::Object(inv)]
    }
}

/// Index shifts of the run-level arrays results point into.
struct Offsets {
    artifacts: usize,
    logical: usize,
}

impl Offsets {
    /// Shifts `artifactLocation.index` and the `index` of entries of
    /// `logicalLocations` arrays anywhere in `v`.
    fn shift(&self, v: &mut Value) {
        if self.artifacts == 0 && self.logical == 0 {
            return;
        }
        match v {
            Value::Object(map) => {
                for (k, child) in map.iter_mut() {
                    match (k.as_str(), &mut *child) {
                        ("artifactLocation", Value::Object(a)) => {
                            shift_index(a, self.artifacts);
                        }
                        ("logicalLocations", Value::Array(items)) => {
                            for item in items.iter_mut() {
                                if let Value::Object(l) = item {
                                    shift_index(l, self.logical);
                                }
                            }
                        }
                        _ => {}
                    }
                    self.shift(child);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| self.shift(i)),
            _ => {}
        }
    }
}

fn shift_index(obj: &mut Map<String, Value>, by: usize) {
    if let Some(i) = obj.get("index").and_then(Value::as_u64) {
        obj.insert("index".into(), json!(i + by as u64));
    }
}

/// Notifications may name a rule by index (`associatedRule.index`).
fn rewrite_associated_rules(
    v: &mut Value,
    own: &[Option<String>],
    index: &BTreeMap<String, usize>,
) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Object(rule)) = map.get_mut("associatedRule") {
                let id = rule
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| {
                        let i = usize::try_from(rule.get("index")?.as_u64()?).ok()?;
                        own.get(i).cloned().flatten()
                    });
                match id.as_ref().and_then(|id| index.get(id)) {
                    Some(&i) => {
                        rule.insert("index".into(), json!(i));
                    }
                    None => {
                        rule.remove("index");
                    }
                }
            }
            map.values_mut()
                .for_each(|c| rewrite_associated_rules(c, own, index));
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|c| rewrite_associated_rules(c, own, index)),
        _ => {}
    }
}

/// The order [`crate::sarif::to_sarif`] writes results in (environment,
/// host, rule, location, message), then the whole result as text so that
/// results of other shapes still sort the same way every time.
type SortKey = (
    Option<(String, String, String, sslaudit_rules::Location, String)>,
    String,
);

fn sort_key(result: &Value, rules: &[Option<String>]) -> SortKey {
    let model = finding_of_result(result, rules)
        .ok()
        .map(|f| (f.environment, f.host, f.rule_id, f.location, f.message));
    (model, result.to_string())
}
