//! Merging SARIF logs: one run whose `driver.rules` is the union of the
//! inputs' rules sorted by id, every result's `ruleIndex` rewritten to
//! match, artifact and logical-location indices shifted, results sorted as
//! [`crate::sarif`] sorts them, the hosts' base ids recomputed over all
//! results, and the shards' invocations as one.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};
use sslaudit_rules::report::Scope;

use super::pending::{PendingResult, complete_pending, pending_of};
use super::scope::merge_scopes;
use super::{MergeError, MergeOptions};
use crate::sarif::PENDING_KEY;
use crate::sarif_json::{finding_of_result, rule_id_of, rule_ids};

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
        pending.extend(pending_of(r.name, &r.at, r.run)?);
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
