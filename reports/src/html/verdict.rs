//! The gate verdict at the top of the page: passed, failed or no gate, with
//! the reasons, judged as the CLI judges its exit status.

use serde::Serialize;
use sslaudit_rules::Severity;
use sslaudit_rules::report::ScanReport;

use crate::plural;

#[derive(Serialize)]
pub(super) struct Verdict {
    /// `pass`, `fail` or `none`.
    state: &'static str,
    headline: String,
    reasons: Vec<String>,
}

/// The gate verdict, judged as the CLI judges its exit status: active
/// findings at or above the gate fail, and so does any active SCAN001 (an
/// audit never passes by silence); `None` never fails.
pub(super) fn verdict(
    report: &ScanReport,
    gate: Option<Severity>,
    new_only: Option<&std::collections::BTreeSet<String>>,
) -> Verdict {
    // Hosts with an audit gap: nothing checked (SCAN001), or a database
    // that could not be queried (a high SCAN002).
    let unreachable = report
        .active()
        .filter(|f| f.is_audit_gap())
        .map(|f| (f.environment.as_str(), f.host.as_str()))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let Some(min) = gate else {
        let mut reasons =
            vec!["the report was produced without a gate (--fail-on never)".to_string()];
        if unreachable > 0 {
            reasons.push(format!(
                "{} could not be (fully) scanned: this report is not complete evidence",
                plural(unreachable, "host")
            ));
        }
        return Verdict {
            state: "none",
            headline: "No gate: this report never fails".to_string(),
            reasons,
        };
    };
    let counts = |f: &&sslaudit_rules::Finding| new_only.is_none_or(|n| n.contains(&f.fingerprint));
    let failing = report
        .active()
        .filter(|f| f.severity >= min)
        .filter(counts)
        .count();
    let new = if new_only.is_some() { " new" } else { "" };
    if failing == 0 && unreachable == 0 {
        let mut reasons = vec![format!("no unwaived{new} findings at or above {min}")];
        if new_only.is_some() {
            reasons.push("only findings new since the baseline count (--fail-on-new)".to_string());
        }
        let below = report.active().count();
        if below > 0 {
            reasons.push(format!("{} below the gate", plural(below, "finding")));
        }
        return Verdict {
            state: "pass",
            headline: format!("Passed the gate (fails on {min} and above)"),
            reasons,
        };
    }
    let mut reasons = Vec::new();
    if failing > 0 {
        let noun = if new_only.is_some() {
            "new finding"
        } else {
            "finding"
        };
        reasons.push(format!("{} at or above {min}", plural(failing, noun)));
    }
    if unreachable > 0 {
        reasons.push(format!(
            "{} could not be (fully) scanned, and an incomplete audit always fails",
            plural(unreachable, "host")
        ));
    }
    Verdict {
        state: "fail",
        headline: format!("Failed the gate (fails on {min} and above)"),
        reasons,
    }
}
