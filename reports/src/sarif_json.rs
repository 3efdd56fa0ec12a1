//! sslaudit's SARIF logs as JSON values, for the modules that read or edit
//! a log after [`crate::sarif`] wrote it: reading a result back into the
//! finding it was written from (baselines, the merge's gate and sort order),
//! and adding rules and host base ids to a run (absent baseline findings,
//! merged shards). Shared here so that neither `baseline` nor `merge`
//! depends on the other.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};
use sslaudit_rules::Severity;
use sslaudit_rules::Subject;
use sslaudit_rules::finding::{Finding, Location, Suppression};

use crate::sarif::{FINGERPRINT_KEY, MISSING_FILE_KIND};

/// `FINGERPRINT_KEY` as a JSON pointer token (`/` escaped as `~1`).
pub(crate) const FINGERPRINT_KEY_PTR: &str = "sslaudit~1v1";

/// The rule ids of a run's `tool.driver.rules`, by index.
pub(crate) fn rule_ids(run: &Map<String, Value>) -> Vec<Option<String>> {
    run.get("tool")
        .and_then(|t| t.pointer("/driver/rules"))
        .and_then(Value::as_array)
        .map(|rules| {
            rules
                .iter()
                .map(|r| r.get("id").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The rule id of a result: `ruleId`, `rule.id`, or the id of the rule its
/// `ruleIndex` (or `rule.index`) points at.
pub(crate) fn rule_id_of(result: &Value, rules: &[Option<String>]) -> Option<String> {
    if let Some(id) = result.get("ruleId").and_then(Value::as_str) {
        return Some(id.to_string());
    }
    if let Some(id) = result.pointer("/rule/id").and_then(Value::as_str) {
        return Some(id.to_string());
    }
    let index = result
        .get("ruleIndex")
        .or_else(|| result.pointer("/rule/index"))
        .and_then(Value::as_u64)?;
    rules.get(usize::try_from(index).ok()?).cloned().flatten()
}

/// Rebuilds the finding an sslaudit SARIF result was written from (see
/// `docs/sarif.md`): rule, host, environment and severity from the result's
/// properties, the message without its `env/host: ` prefix, the file from a
/// physical location that has a host base id, the object from the logical
/// location `mysql://<host>/<object>`, the waiver from `suppressions`.
pub(crate) fn finding_of_result(
    result: &Value,
    rules: &[Option<String>],
) -> Result<Finding, String> {
    let rule_id = rule_id_of(result, rules).ok_or("has no ruleId")?;
    let fingerprint = result
        .pointer(&format!("/partialFingerprints/{FINGERPRINT_KEY_PTR}"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            format!("has no partialFingerprints[\"{FINGERPRINT_KEY}\"] (not written by sslaudit?)")
        })?
        .to_string();
    let props = result.get("properties");
    let prop = |k: &str| props.and_then(|p| p.get(k)).and_then(Value::as_str);
    let host = prop("host")
        .ok_or("has no properties.host (not written by sslaudit?)")?
        .to_string();
    let environment = prop("environment").unwrap_or("").to_string();
    let severity = match prop("severity") {
        Some(s) => s
            .parse::<Severity>()
            .map_err(|e| format!("properties.severity: {e}"))?,
        None => match result.get("level").and_then(Value::as_str) {
            Some("error") => Severity::High,
            Some("warning") | None => Severity::Medium,
            Some(_) => Severity::Low,
        },
    };
    let text = result
        .pointer("/message/text")
        .and_then(Value::as_str)
        .unwrap_or("");
    let prefix = format!("{environment}/{host}: ");
    let message = text.strip_prefix(&prefix).unwrap_or(text).to_string();

    let mut location = Location::default();
    if let Some(loc) = result.pointer("/locations/0") {
        let artifact = loc.pointer("/physicalLocation/artifactLocation");
        let has_base = artifact
            .and_then(|a| a.get("uriBaseId"))
            .and_then(Value::as_str)
            .is_some();
        if has_base && let Some(uri) = artifact.and_then(|a| a.get("uri")).and_then(Value::as_str) {
            location.file = Some(format!("/{}", percent_decode(uri)));
            // A region spanning the whole file (lines 1 to the last, or
            // its bytes) stands for a finding without a line.
            let region = loc.pointer("/physicalLocation/region");
            let whole =
                region.is_some_and(|r| r.get("endLine").is_some() || r.get("byteOffset").is_some());
            location.line = region
                .filter(|_| !whole)
                .and_then(|r| r.get("startLine"))
                .and_then(Value::as_u64)
                .and_then(|l| u32::try_from(l).ok());
        }
        let host_prefix = format!("mysql://{host}/");
        for logical in loc
            .get("logicalLocations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let fq = logical.get("fullyQualifiedName").and_then(Value::as_str);
            if logical.get("kind").and_then(Value::as_str) == Some(MISSING_FILE_KIND) {
                // A file the host does not have (see sarif.rs).
                location.file = logical
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_string);
            } else if location.object.is_none() {
                location.object = fq
                    .and_then(|fq| fq.strip_prefix(&host_prefix))
                    .filter(|o| !o.is_empty())
                    .map(Subject::parse);
            }
        }
    }

    let evidence: BTreeMap<String, String> = props
        .and_then(|p| p.get("evidence"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let suppressed = result
        .get("suppressions")
        .and_then(Value::as_array)
        .and_then(|s| {
            s.iter().find(|s| {
                matches!(
                    s.get("status").and_then(Value::as_str),
                    None | Some("accepted")
                )
            })
        })
        .map(|s| Suppression {
            justification: s
                .get("justification")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            expires: s
                .pointer("/properties/expires")
                .and_then(Value::as_str)
                .map(str::to_string),
        });

    Ok(Finding {
        rule_id,
        severity,
        host,
        environment,
        message,
        location,
        evidence,
        fingerprint,
        suppressed,
        fix: None,
        awaiting: None,
    })
}

/// `%XX` sequences to bytes; an invalid sequence is kept as written.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Merges `incoming` base ids into `run.originalUriBaseIds`. An id whose
/// location (`uri`, `uriBaseId`) the run already has under some id is mapped
/// to that id; a new id is added as is; an id the run uses for another
/// location gets the first free `<id>_<n>`. Returns the renames.
pub(crate) fn merge_uri_base_ids(
    run: &mut Map<String, Value>,
    incoming: &Map<String, Value>,
) -> BTreeMap<String, String> {
    let mut renames = BTreeMap::new();
    if incoming.is_empty() {
        return renames;
    }
    let target = run
        .entry("originalUriBaseIds")
        .or_insert_with(|| Value::Object(Map::new()));
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(target) = target else {
        return renames;
    };
    let where_of = |v: &Value| (v.get("uri").cloned(), v.get("uriBaseId").cloned());
    for (id, loc) in incoming {
        let wanted = where_of(loc);
        if let Some((existing, _)) = target.iter().find(|(_, v)| where_of(v) == wanted) {
            if existing != id {
                renames.insert(id.clone(), existing.clone());
            }
            continue;
        }
        if !target.contains_key(id) {
            target.insert(id.clone(), loc.clone());
            continue;
        }
        let mut n = 2;
        let fresh = loop {
            let candidate = format!("{id}_{n}");
            if !target.contains_key(&candidate) && !incoming.contains_key(&candidate) {
                break candidate;
            }
            n += 1;
        };
        target.insert(fresh.clone(), loc.clone());
        renames.insert(id.clone(), fresh);
    }
    renames
}

/// Rewrites every `uriBaseId` in `v` by `renames`.
pub(crate) fn rename_uri_base_ids(v: &mut Value, renames: &BTreeMap<String, String>) {
    if renames.is_empty() {
        return;
    }
    match v {
        Value::Object(map) => {
            if let Some(Value::String(id)) = map.get_mut("uriBaseId")
                && let Some(new) = renames.get(id.as_str())
            {
                *id = new.clone();
            }
            map.values_mut()
                .for_each(|c| rename_uri_base_ids(c, renames));
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|c| rename_uri_base_ids(c, renames)),
        _ => {}
    }
}

/// Appends to `run.tool.driver.rules` the descriptors of `incoming` whose id
/// it lacks; returns the index of every rule id of the run afterwards.
pub(crate) fn extend_rules(
    run: &mut Map<String, Value>,
    incoming: &[Value],
) -> BTreeMap<String, usize> {
    let mut index = BTreeMap::new();
    let Some(Value::Array(rules)) = run
        .get_mut("tool")
        .and_then(|t| t.get_mut("driver"))
        .and_then(|d| d.as_object_mut())
        .map(|d| d.entry("rules").or_insert_with(|| Value::Array(Vec::new())))
    else {
        return index;
    };
    let mut ids: BTreeSet<String> = BTreeSet::new();
    for (i, r) in rules.iter().enumerate() {
        if let Some(id) = r.get("id").and_then(Value::as_str)
            && ids.insert(id.to_string())
        {
            index.insert(id.to_string(), i);
        }
    }
    for d in incoming {
        if let Some(id) = d.get("id").and_then(Value::as_str)
            && ids.insert(id.to_string())
        {
            index.insert(id.to_string(), rules.len());
            rules.push(d.clone());
        }
    }
    index
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("etc/my%20cnf/a%3Ab%25"), "etc/my cnf/a:b%");
        assert_eq!(percent_decode("home/zo%C3%AB"), "home/zoë");
        assert_eq!(percent_decode("bad%zz%4"), "bad%zz%4");
    }

    #[test]
    fn base_ids_merge_by_location() {
        let mut run = Map::new();
        run.insert(
            "originalUriBaseIds".into(),
            json!({"HOST_a": {"uri": "ssh://a/"}, "HOST_b": {"uri": "ssh://b/"}}),
        );
        let incoming = json!({
            "HOST_a": {"uri": "ssh://a/"},
            "HOST_b": {"uri": "ssh://b.other/"},
            "X": {"uri": "ssh://a/"},
            "HOST_c": {"uri": "ssh://c/"}
        });
        let renames = merge_uri_base_ids(&mut run, incoming.as_object().unwrap());
        assert_eq!(
            renames,
            BTreeMap::from([
                ("HOST_b".to_string(), "HOST_b_2".to_string()),
                ("X".to_string(), "HOST_a".to_string()),
            ])
        );
        assert_eq!(
            run["originalUriBaseIds"],
            json!({
                "HOST_a": {"uri": "ssh://a/"},
                "HOST_b": {"uri": "ssh://b/"},
                "HOST_b_2": {"uri": "ssh://b.other/"},
                "HOST_c": {"uri": "ssh://c/"}
            })
        );
        let mut result = json!({"locations": [{"physicalLocation": {"artifactLocation": {"uri": "x", "uriBaseId": "HOST_b"}}}]});
        rename_uri_base_ids(&mut result, &renames);
        assert_eq!(
            result.pointer("/locations/0/physicalLocation/artifactLocation/uriBaseId"),
            Some(&json!("HOST_b_2"))
        );
    }

    #[test]
    fn rules_are_extended_once() {
        let mut run = Map::new();
        run.insert(
            "tool".into(),
            json!({"driver": {"name": "sslaudit", "rules": [{"id": "B"}, {"id": "A"}]}}),
        );
        let index = extend_rules(&mut run, &[json!({"id": "A"}), json!({"id": "C"})]);
        assert_eq!(
            index,
            BTreeMap::from([("A".into(), 1), ("B".into(), 0), ("C".into(), 2)])
        );
        assert_eq!(
            run["tool"]["driver"]["rules"],
            json!([{"id": "B"}, {"id": "A"}, {"id": "C"}])
        );
    }
}
