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
//!
//! Here: the entry point, the options, the result and the errors. `json`
//! merges JSON reports, `sarif` merges SARIF logs (with `pending`, which
//! completes the shards' pending results), and `scope` checks and merges
//! the inputs' scopes for both.

mod json;
mod pending;
mod sarif;
mod scope;

use serde_json::Value;
use sslaudit_rules::finding::Finding;
use sslaudit_rules::report::ScanReport;

use crate::ReportError;
use crate::sarif_json::{finding_of_result, rule_ids};

pub use json::merge_reports;
pub use sarif::merge_sarif;

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
