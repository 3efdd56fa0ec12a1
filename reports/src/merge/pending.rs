//! Completing the shards' pending SARIF results: the comparisons across
//! environments (see [`sslaudit_rules::pending`]) a shard cannot finish
//! alone, written by each shard under `properties.pending` and finished
//! here over all of them, as one scan finishes them.

use serde_json::{Map, Value, json};
use sslaudit_rules::pending::{KeySighting, complete_with};

use super::MergeError;
use crate::sarif::{PENDING_KEY, result_text};

/// A shard's pending result ([`crate::sarif::PENDING_KEY`]) with its
/// environment, host and key.
pub(super) struct PendingResult {
    environment: String,
    host: String,
    key: KeySighting,
    result: Value,
}

/// The pending results of one run (`name` and `at` say where, for errors).
pub(super) fn pending_of(
    name: &str,
    at: &str,
    run: &Map<String, Value>,
) -> Result<Vec<PendingResult>, MergeError> {
    let Some(list) = run.get("properties").and_then(|p| p.get(PENDING_KEY)) else {
        return Ok(Vec::new());
    };
    let at = format!("{at}.properties.{PENDING_KEY}");
    let err = |at: String, message: String| MergeError::Sarif {
        name: name.to_string(),
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
pub(super) fn complete_pending(pending: Vec<PendingResult>) -> Vec<Value> {
    complete_with(
        pending,
        |p| (p.environment.as_str(), p.host.as_str(), &p.key),
        |p, c| {
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
            result
        },
    )
}
