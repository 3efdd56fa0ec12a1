//! Runs every per-rule fixture case: `fixtures/cases/<ID>/fail-*/` must
//! yield at least one finding of `<ID>` (matching its `expect.toml`, if
//! any), `pass-*/` must yield none. Each case is a snapshot judged as of its
//! `collected_at`, so cases never rot as time passes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sslaudit_rules::policy::Policy;
use sslaudit_rules::{Finding, registry};
use sslaudit_scanner::engine::{self, RuleSet};
use sslaudit_scanner::snapshot;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    #[serde(default)]
    finding: Vec<ExpectedFinding>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedFinding {
    host: Option<String>,
    severity: Option<String>,
    message_contains: Option<String>,
}

fn cases_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/cases")
}

fn sorted_dirs(p: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

fn run_case(dir: &Path) -> Vec<Finding> {
    let (manifest, fleet) =
        snapshot::load_fleet(dir, |_| true).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let as_of = manifest
        .collected_at_unix()
        .unwrap_or_else(|| panic!("{}: snapshot.toml needs collected_at", dir.display()));
    let rules = RuleSet::new(Vec::new());
    engine::evaluate(&fleet, &rules, &Policy::default(), as_of).0
}

fn check_case(rule: &str, dir: &Path) -> Result<(), String> {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let findings = run_case(dir);
    let mine: Vec<&Finding> = findings.iter().filter(|f| f.rule_id == rule).collect();
    let show = |fs: &[&Finding]| {
        fs.iter()
            .map(|f| format!("    {} {} {}: {}", f.rule_id, f.severity, f.host, f.message))
            .collect::<Vec<_>>()
            .join("\n")
    };
    if name.starts_with("pass-") {
        if !mine.is_empty() {
            return Err(format!(
                "{rule}/{name}: expected no {rule} finding, got:\n{}",
                show(&mine)
            ));
        }
        return Ok(());
    }
    if !name.starts_with("fail-") {
        return Err(format!(
            "{rule}/{name}: case folders must start with pass- or fail-"
        ));
    }
    if mine.is_empty() {
        let all: Vec<&Finding> = findings.iter().collect();
        return Err(format!(
            "{rule}/{name}: expected a {rule} finding, got none; all findings:\n{}",
            show(&all)
        ));
    }
    let expect_path = dir.join("expect.toml");
    if expect_path.is_file() {
        let text = std::fs::read_to_string(&expect_path).map_err(|e| e.to_string())?;
        let expect: Expect =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", expect_path.display()))?;
        for want in &expect.finding {
            let hit = mine.iter().any(|f| {
                want.host.as_ref().is_none_or(|h| *h == f.host)
                    && want
                        .severity
                        .as_ref()
                        .is_none_or(|s| *s == f.severity.as_str())
                    && want
                        .message_contains
                        .as_ref()
                        .is_none_or(|m| f.message.contains(m.as_str()))
            });
            if !hit {
                return Err(format!(
                    "{rule}/{name}: no {rule} finding matches {want:?}; got:\n{}",
                    show(&mine)
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn every_case_meets_its_expectation() {
    let mut failures = Vec::new();
    let mut count = 0;
    for rule_dir in sorted_dirs(&cases_root()) {
        let rule = rule_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        assert!(
            registry::find(&rule).is_some(),
            "fixtures/cases/{rule}: no such rule"
        );
        for case in sorted_dirs(&rule_dir) {
            count += 1;
            if let Err(e) = check_case(&rule, &case) {
                failures.push(e);
            }
        }
    }
    assert!(count > 0, "no fixture cases found");
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_rule_has_a_passing_and_a_failing_case() {
    let mut missing = Vec::new();
    for r in registry::RULES {
        let id = r.meta().id.to_string();
        let dir = cases_root().join(&id);
        let names: BTreeSet<String> = if dir.is_dir() {
            sorted_dirs(&dir)
                .iter()
                .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_string))
                .collect()
        } else {
            BTreeSet::new()
        };
        for kind in ["pass-", "fail-"] {
            if !names.iter().any(|n| n.starts_with(kind)) {
                missing.push(format!("{id}: no {kind}* case"));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
