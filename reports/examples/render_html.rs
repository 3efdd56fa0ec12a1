//! Renders a saved JSON report as the HTML report, without running a scan:
//!
//! ```text
//! sslaudit scan --snapshot fixtures/demo-fleet --json demo.json
//! sslaudit rules --json > rules.json
//! cargo run -p sslaudit-reports --example render_html -- demo.json rules.json demo.html [GATE]
//! ```
//!
//! GATE is `critical`, `high` (the default), `medium`, `low` or `never`.

use std::borrow::Cow;
use std::process::ExitCode;

use serde::Deserialize;
use sslaudit_reports::html::{HtmlOptions, render};
use sslaudit_reports::json::from_json;
use sslaudit_rules::{RuleMeta, Severity};

/// One entry of `sslaudit rules --json`.
#[derive(Deserialize)]
struct RuleJson {
    id: String,
    name: String,
    severity: Severity,
    summary: String,
    help: String,
    references: Vec<String>,
}

impl RuleJson {
    fn into_meta(self) -> RuleMeta {
        // RuleMeta holds `&'static str` references; this process renders
        // once and exits, so leaking them is the simple, honest lifetime.
        let references: Vec<&'static str> = self
            .references
            .into_iter()
            .map(|r| &*Box::leak(r.into_boxed_str()))
            .collect();
        RuleMeta {
            id: Cow::Owned(self.id),
            name: Cow::Owned(self.name),
            severity: self.severity,
            summary: Cow::Owned(self.summary),
            help: Cow::Owned(self.help),
            references: Cow::Owned(references),
            evidence: Default::default(),
            controls: &[],
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let [report_path, rules_path, out_path, rest @ ..] = args else {
        return Err("usage: render_html REPORT.json RULES.json OUT.html [GATE]".into());
    };
    let read = |p: &str| std::fs::read_to_string(p).map_err(|e| format!("cannot read {p}: {e}"));
    let report = from_json(&read(report_path)?).map_err(|e| format!("{report_path}: {e}"))?;
    let rules: Vec<RuleJson> =
        serde_json::from_str(&read(rules_path)?).map_err(|e| format!("{rules_path}: {e}"))?;
    let metas: Vec<RuleMeta> = rules.into_iter().map(RuleJson::into_meta).collect();
    let refs: Vec<&RuleMeta> = metas.iter().collect();
    let gate = match rest.first().map(String::as_str) {
        None => Some(Severity::High),
        Some("never") => None,
        Some(s) => Some(s.parse::<Severity>().map_err(|e| e.to_string())?),
    };
    let opts = HtmlOptions {
        gate,
        ..HtmlOptions::default()
    };
    let html = render(&report, &refs, &opts).map_err(|e| e.to_string())?;
    std::fs::write(out_path, html).map_err(|e| format!("cannot write {out_path}: {e}"))?;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("render_html: {e}");
            ExitCode::from(2)
        }
    }
}
