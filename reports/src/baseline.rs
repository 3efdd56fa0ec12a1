//! Baselines: what changed since a previous scan.
//!
//! A baseline is a report an earlier scan wrote, as JSON ([`crate::json`]) or
//! SARIF ([`crate::sarif`]); [`parse`] tells which by its content. Findings
//! are matched by fingerprint (rule, environment, host, file and object, never
//! a line or a message), so a finding whose line moved or whose message now
//! shows another value is `unchanged`:
//!
//! - a current finding whose fingerprint the baseline has is `unchanged`,
//!   otherwise `new`;
//! - a baseline finding whose fingerprint the current scan lacks is `absent`
//!   (fixed, or its host no longer scanned).
//!
//! Waived findings are compared like any other: the CI gate ignores them
//! anyway. The finding model has no place for a baseline state, so the JSON
//! report gets a top-level `baseline` block ([`to_json_with_baseline`]) and
//! SARIF uses its own `baselineState` ([`apply_to_sarif`]).

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value, json};
use sslaudit_rules::finding::{Finding, fingerprint};
use sslaudit_rules::report::{SCHEMA_VERSION, ScanReport, ToolInfo};
use sslaudit_rules::{RuleMeta, Severity};

use crate::ReportError;
use crate::sarif::{SarifOptions, to_sarif};
use crate::sarif_json::{
    FINGERPRINT_KEY_PTR, extend_rules, finding_of_result, merge_uri_base_ids, rename_uri_base_ids,
    rule_ids,
};

/// Which format a baseline was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BaselineFormat {
    Json,
    Sarif,
}

/// The findings of a previous scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baseline {
    pub format: BaselineFormat,
    /// As recorded; from SARIF they are rebuilt from the results (see [`parse`]).
    pub findings: Vec<Finding>,
}

/// A finding's state relative to the baseline (SARIF's `baselineState` words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BaselineState {
    New,
    Unchanged,
    Absent,
}

impl BaselineState {
    pub fn as_str(self) -> &'static str {
        match self {
            BaselineState::New => "new",
            BaselineState::Unchanged => "unchanged",
            BaselineState::Absent => "absent",
        }
    }
}

/// Why a baseline could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// Not JSON at all; serde_json's message names the line and column.
    /// (Not a `#[source]`: the message quotes it already.)
    #[error("not JSON: {0}")]
    Json(serde_json::Error),
    /// A JSON report that does not read back (not a `#[source]`, for the
    /// same reason as `Json`).
    #[error("{0}")]
    Report(ReportError),
    #[error(
        "neither an sslaudit JSON report (no `schema_version`) nor a SARIF log (no `runs`) at the top level"
    )]
    Unrecognized,
    /// A SARIF log of other tools only.
    #[error("the SARIF log has no run of sslaudit (runs of: {tools})")]
    NoSslauditRun { tools: String },
    /// A SARIF result that cannot be matched; `at` is its JSON path.
    #[error("SARIF {at}: {message}")]
    Sarif { at: String, message: String },
}

/// Reads a baseline: an sslaudit JSON report (any report [`crate::json::from_json`]
/// reads) or a SARIF log with at least one sslaudit run. From SARIF, every
/// result of every sslaudit run counts except those already marked
/// `baselineState: "absent"` (a log written with a baseline of its own); each
/// needs `partialFingerprints["sslaudit/v1"]` and `properties.host`.
pub fn parse(text: &str) -> Result<Baseline, BaselineError> {
    let value: Value = serde_json::from_str(text).map_err(BaselineError::Json)?;
    let Some(top) = value.as_object() else {
        return Err(BaselineError::Unrecognized);
    };
    if top.contains_key("schema_version") {
        let report = crate::json::from_json(text).map_err(BaselineError::Report)?;
        return Ok(Baseline {
            format: BaselineFormat::Json,
            findings: report.findings,
        });
    }
    let Some(runs) = top.get("runs").and_then(Value::as_array) else {
        return Err(BaselineError::Unrecognized);
    };
    let mut findings = Vec::new();
    let mut tools = BTreeSet::new();
    let mut any = false;
    for (i, run) in runs.iter().enumerate() {
        let tool = run
            .pointer("/tool/driver/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        if tool != "sslaudit" {
            tools.insert(if tool.is_empty() {
                "an unnamed tool"
            } else {
                tool
            });
            continue;
        }
        any = true;
        let rules = run.as_object().map(rule_ids).unwrap_or_default();
        let results = match run.get("results") {
            None | Some(Value::Null) => continue,
            Some(Value::Array(results)) => results,
            Some(_) => {
                return Err(BaselineError::Sarif {
                    at: format!("runs[{i}].results"),
                    message: "is not an array".into(),
                });
            }
        };
        for (j, result) in results.iter().enumerate() {
            if result.get("baselineState").and_then(Value::as_str) == Some("absent") {
                continue;
            }
            let f = finding_of_result(result, &rules).map_err(|message| BaselineError::Sarif {
                at: format!("runs[{i}].results[{j}]"),
                message,
            })?;
            findings.push(f);
        }
    }
    if !any {
        return Err(BaselineError::NoSslauditRun {
            tools: if tools.is_empty() {
                "none".into()
            } else {
                tools.into_iter().collect::<Vec<_>>().join(", ")
            },
        });
    }
    Ok(Baseline {
        format: BaselineFormat::Sarif,
        findings,
    })
}

/// The current scan against a baseline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Fingerprints of current findings the baseline lacks.
    pub new: BTreeSet<String>,
    /// Fingerprints of current findings the baseline has.
    pub unchanged: BTreeSet<String>,
    /// Baseline findings the current scan lacks, one per fingerprint, sorted.
    pub absent: Vec<Finding>,
}

impl Comparison {
    /// The state of a finding of the current scan.
    pub fn state(&self, f: &Finding) -> BaselineState {
        if self.unchanged.contains(fingerprint_of(f).as_ref()) {
            BaselineState::Unchanged
        } else {
            BaselineState::New
        }
    }

    pub fn is_new(&self, f: &Finding) -> bool {
        self.state(f) == BaselineState::New
    }

    /// The `baseline` block of the JSON report; `source` names the baseline
    /// file as the user gave it.
    pub fn summary(&self, source: &str, format: BaselineFormat) -> BaselineSummary {
        BaselineSummary {
            source: source.to_string(),
            format,
            new: self.new.len(),
            unchanged: self.unchanged.len(),
            absent: self.absent.len(),
            new_fingerprints: self.new.iter().cloned().collect(),
            absent_findings: self
                .absent
                .iter()
                .map(|f| AbsentFinding {
                    fingerprint: fingerprint_of(f).into_owned(),
                    rule_id: f.rule_id.clone(),
                    severity: f.severity,
                    environment: f.environment.clone(),
                    host: f.host.clone(),
                    message: f.message.clone(),
                })
                .collect(),
        }
    }
}

/// Compares the current report with a baseline by fingerprint.
pub fn compare(report: &ScanReport, baseline: &Baseline) -> Comparison {
    let before: BTreeSet<String> = baseline
        .findings
        .iter()
        .map(|f| fingerprint_of(f).into_owned())
        .collect();
    let now: BTreeSet<String> = report
        .findings
        .iter()
        .map(|f| fingerprint_of(f).into_owned())
        .collect();
    let mut cmp = Comparison::default();
    for fp in &now {
        if before.contains(fp) {
            cmp.unchanged.insert(fp.clone());
        } else {
            cmp.new.insert(fp.clone());
        }
    }
    let mut absent: Vec<Finding> = baseline
        .findings
        .iter()
        .filter(|f| !now.contains(fingerprint_of(f).as_ref()))
        .cloned()
        .collect();
    absent.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let mut seen = BTreeSet::new();
    absent.retain(|f| seen.insert(fingerprint_of(f).into_owned()));
    cmp.absent = absent;
    cmp
}

/// The JSON report's `baseline` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaselineSummary {
    /// The baseline file as given on the command line.
    pub source: String,
    pub format: BaselineFormat,
    /// Counts of distinct fingerprints.
    pub new: usize,
    pub unchanged: usize,
    pub absent: usize,
    /// The fingerprints of the findings that are new, sorted.
    pub new_fingerprints: Vec<String>,
    /// The baseline's findings that are gone, in report order.
    pub absent_findings: Vec<AbsentFinding>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AbsentFinding {
    pub fingerprint: String,
    pub rule_id: String,
    pub severity: Severity,
    pub environment: String,
    pub host: String,
    pub message: String,
}

/// The JSON report ([`crate::json::to_json`]'s bytes) with a last top-level
/// key `baseline`. [`crate::json::from_json`] ignores the block, so such a
/// report still reads back, and can be the next scan's baseline.
pub fn to_json_with_baseline(report: &ScanReport, summary: &BaselineSummary) -> String {
    #[derive(Serialize)]
    struct WithBaseline<'a> {
        #[serde(flatten)]
        report: &'a ScanReport,
        baseline: &'a BaselineSummary,
    }
    // Plain data with string keys, as in `to_json`.
    let mut out = serde_json::to_string_pretty(&WithBaseline {
        report,
        baseline: summary,
    })
    .expect("a ScanReport and a BaselineSummary always serialize to JSON");
    out.push('\n');
    out
}

/// Marks a SARIF log written by [`to_sarif`] against a baseline: every result
/// of the first run gets `baselineState` `new` or `unchanged`, and each absent
/// finding is appended as a result with `baselineState: "absent"`,
/// `kind: "pass"`, `level: "none"` and the message `fixed since the baseline:
/// ...`, located as [`to_sarif`] would locate it. `rules` and `opts` must be
/// those the log was written with: a rule only an absent finding names gets
/// its descriptor appended to `driver.rules`, and host base ids are merged
/// into `originalUriBaseIds`.
pub fn apply_to_sarif(
    log: &mut Value,
    comparison: &Comparison,
    rules: &[&RuleMeta],
    opts: &SarifOptions,
) {
    let Some(run) = log.pointer_mut("/runs/0").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(results) = run.get_mut("results").and_then(Value::as_array_mut) {
        for r in results {
            let state = match r.pointer(&format!("/partialFingerprints/{FINGERPRINT_KEY_PTR}")) {
                Some(Value::String(fp)) if comparison.unchanged.contains(fp) => {
                    BaselineState::Unchanged
                }
                _ => BaselineState::New,
            };
            if let Some(obj) = r.as_object_mut() {
                obj.insert("baselineState".into(), json!(state.as_str()));
            }
        }
    }
    if comparison.absent.is_empty() {
        return;
    }

    // Let the SARIF writer locate the absent findings as it locates any
    // finding, then move its results into this run.
    let absent_report = ScanReport {
        scope: None,
        pending: Vec::new(),
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "sslaudit".into(),
            version: String::new(),
        },
        as_of: String::new(),
        hosts: Vec::new(),
        findings: comparison.absent.clone(),
        expired_waivers: Vec::new(),
        certificates: Default::default(),
        next_ca: Vec::new(),
        readiness: Vec::new(),
    };
    let Ok(mut absent_log) = serde_json::to_value(to_sarif(&absent_report, rules, opts)) else {
        return;
    };
    let Some(absent_run) = absent_log
        .pointer_mut("/runs/0")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let absent_rules: Vec<Value> = take_array(absent_run.get_mut("tool"), "driver", "rules");
    let mut absent_results: Vec<Value> = match absent_run.remove("results") {
        Some(Value::Array(r)) => r,
        _ => Vec::new(),
    };
    let absent_bases = match absent_run.remove("originalUriBaseIds") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };

    let renames = merge_uri_base_ids(run, &absent_bases);
    let rule_index = extend_rules(run, &absent_rules);
    for r in &mut absent_results {
        rename_uri_base_ids(r, &renames);
        let Some(obj) = r.as_object_mut() else {
            continue;
        };
        let rule_id = obj
            .get("ruleId")
            .and_then(Value::as_str)
            .map(str::to_string);
        match rule_id.and_then(|id| rule_index.get(&id).copied()) {
            Some(i) => {
                obj.insert("ruleIndex".into(), json!(i));
            }
            None => {
                obj.remove("ruleIndex");
            }
        }
        let text = obj
            .get("message")
            .and_then(|m| m.get("text"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        obj.insert(
            "message".into(),
            json!({ "text": format!("fixed since the baseline: {text}") }),
        );
        obj.insert("kind".into(), json!("pass"));
        obj.insert("level".into(), json!("none"));
        obj.insert(
            "baselineState".into(),
            json!(BaselineState::Absent.as_str()),
        );
        obj.remove("suppressions");
    }
    match run.get_mut("results").and_then(Value::as_array_mut) {
        Some(results) => results.extend(absent_results),
        None => {
            run.insert("results".into(), Value::Array(absent_results));
        }
    }
}

fn take_array(parent: Option<&mut Value>, a: &str, b: &str) -> Vec<Value> {
    match parent
        .and_then(|p| p.get_mut(a))
        .and_then(|p| p.get_mut(b))
        .map(Value::take)
    {
        Some(Value::Array(v)) => v,
        _ => Vec::new(),
    }
}

/// The finding's fingerprint, computed when a hand-built finding has none.
pub(crate) fn fingerprint_of(f: &Finding) -> std::borrow::Cow<'_, str> {
    if f.fingerprint.is_empty() {
        std::borrow::Cow::Owned(fingerprint(
            &f.rule_id,
            &f.environment,
            &f.host,
            &f.location,
        ))
    } else {
        std::borrow::Cow::Borrowed(&f.fingerprint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unrecognized_documents() {
        assert!(matches!(parse("[]"), Err(BaselineError::Unrecognized)));
        assert!(matches!(parse("{}"), Err(BaselineError::Unrecognized)));
        assert!(matches!(parse("{"), Err(BaselineError::Json(_))));
        let e = parse(r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"trivy"}}}]}"#)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the SARIF log has no run of sslaudit (runs of: trivy)"
        );
    }
}
