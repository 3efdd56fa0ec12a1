//! Runs every per-rule fixture case, `fixtures/cases/<ID>/{pass,fail}-*/`.
//! Each case states the complete set of findings it must produce, as an
//! insta snapshot beside it (`findings.snap`): rule, severity, host,
//! location and message of every finding of every rule, so a rule that adds
//! a finding anywhere it was not expected fails the suite, not only a case
//! of its own. On top of the snapshot, a `fail-*` case must hold a finding
//! of its rule and a `pass-*` case none. Each case is a snapshot judged as
//! of its `collected_at`, so cases never rot as time passes. A case may
//! hold a `next-ca.pem` beside its snapshot: the scan's `--next-ca`.
//!
//! After a deliberate change: `INSTA_UPDATE=always cargo test -p
//! sslaudit-scanner --test fixture_cases`, then review `git diff fixtures/`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use sslaudit_rules::parse::x509::parse_certificates;
use sslaudit_rules::policy::Policy;
use sslaudit_rules::readiness::NextCa;
use sslaudit_rules::{Finding, registry};
use sslaudit_scanner::engine::{self, RuleSet};
use sslaudit_scanner::snapshot;

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
    let mut policy = Policy::default();
    let next = dir.join(NEXT_CA);
    if next.is_file() {
        let pem = std::fs::read(&next).unwrap_or_else(|e| panic!("{}: {e}", next.display()));
        policy.next_ca = vec![NextCa {
            path: NEXT_CA.to_string(),
            environment: None,
            certificates: parse_certificates(NEXT_CA, &pem)
                .unwrap_or_else(|e| panic!("{}: {e}", next.display())),
        }];
    }
    engine::evaluate(&fleet, &rules, &policy, as_of).0
}

/// A case's optional `--next-ca` (the CA its servers move to next).
const NEXT_CA: &str = "next-ca.pem";

/// Every finding, one block each, in the report's order.
fn render(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "(no findings)\n".to_string();
    }
    let mut out = String::new();
    for f in findings {
        let mut at = f.location.display();
        if let (Some(object), true) = (&f.location.object, f.location.file.is_some()) {
            let _ = write!(at, " [{object}]");
        }
        let _ = writeln!(
            out,
            "{} {} {}/{} {at}\n    {}",
            f.rule_id, f.severity, f.environment, f.host, f.message
        );
    }
    out
}

/// The naming contract of a case folder, on top of its snapshot.
fn check_name(rule: &str, name: &str, findings: &[Finding]) -> Result<(), String> {
    let mine = findings.iter().filter(|f| f.rule_id == rule).count();
    match name.split('-').next() {
        Some("pass") if mine > 0 => Err(format!("{rule}/{name}: a pass case with {rule} findings")),
        Some("fail") if mine == 0 => Err(format!("{rule}/{name}: a fail case without {rule}")),
        Some("pass" | "fail") => Ok(()),
        _ => Err(format!(
            "{rule}/{name}: case folders must start with pass- or fail-"
        )),
    }
}

fn check_case(rule: &str, dir: &Path) -> Result<(), String> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let findings = run_case(dir);
    let rendered = render(&findings);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(format!("fixtures/cases/{rule}/{name}: every finding"));
    let snapshot = catch_unwind(AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_snapshot!("findings", rendered));
    }));
    check_name(rule, &name, &findings)?;
    snapshot
        .map_err(|_| format!("{rule}/{name}: the findings differ from findings.snap:\n{rendered}"))
}

#[test]
fn every_case_yields_exactly_its_findings() {
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

/// A case is judged by its snapshot alone: a stray expectation file would
/// look like a second source of truth.
#[test]
fn every_case_has_its_snapshot_and_nothing_else_at_the_top() {
    let mut wrong = Vec::new();
    for rule_dir in sorted_dirs(&cases_root()) {
        for case in sorted_dirs(&rule_dir) {
            for entry in std::fs::read_dir(&case).unwrap_or_else(|e| panic!("{e}")) {
                let Ok(entry) = entry else { continue };
                let name = entry.file_name().to_string_lossy().into_owned();
                if entry.path().is_file()
                    && !["snapshot.toml", "findings.snap", NEXT_CA].contains(&name.as_str())
                {
                    wrong.push(format!("{}: unexpected file {name}", case.display()));
                }
            }
            if !case.join("findings.snap").is_file() {
                wrong.push(format!("{}: no findings.snap", case.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
