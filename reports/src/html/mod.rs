//! The auditor's HTML report: one self-contained file to file as evidence.
//!
//! The page opens with a ten-second summary (hosts by status, active findings
//! by severity, the gate verdict, as-of date and tool version), then a host
//! overview, the findings by environment and host, the same findings by rule
//! with each rule's help, the waived findings and expired waivers, and a
//! certificate expiry timeline (inline SVG, with a table that says the same).
//!
//! Safety: everything is rendered by minijinja with HTML auto-escaping on, and
//! no value that comes from the report or from a rule is ever marked safe;
//! rule help (markdown) is parsed (`rule_help`) into blocks and spans of
//! plain text that the template escapes like any other string. Control characters and
//! bidirectional overrides in host-supplied text are shown escaped (`\u{202e}`),
//! as in the terminal summary. The only unescaped inserts are the page's own
//! stylesheet and script, compiled into the binary; a Content-Security-Policy
//! allows that one script (by hash) and forbids fetching anything, so the file
//! makes no request when opened.
//!
//! Filters by severity, environment and rule, and the pagers of long lists,
//! are a few lines of inline JavaScript that only toggle `hidden`; with
//! JavaScript off the filter bar and the pagers stay hidden and the page
//! shows everything it lists.
//!
//! The page scales to fleets of thousands of hosts (docs/large-fleets.md):
//! the summary and an overview (findings counted by rule and by
//! environment, with drill-down links that set the filters) come before any
//! list, and past the limits of `limits` a section aggregates (expiries per
//! month) or lists what needs attention and says what it left out.
//!
//! Here: the entry point, the page's Content-Security-Policy and the text
//! helpers every part shares. `view` builds the model the template reads,
//! `overview` counts findings by rule and environment, `verdict` judges the
//! gate, `rule_help` turns rule help into plain-text blocks, `timeline` and
//! `expiry_chart` make the certificate expiry section.

mod census;
mod client_tls;
mod expiry_chart;
mod limits;
mod overview;
mod rule_help;
mod timeline;
mod verdict;
mod view;

use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use sha2::{Digest, Sha256};
use sslaudit_rules::report::ScanReport;
use sslaudit_rules::{RuleMeta, Severity};

use crate::ReportError;
use view::Page;

const TEMPLATE_NAME: &str = "report.html.j2";
const TEMPLATE: &str = include_str!("../../templates/report.html.j2");
const STYLE: &str = include_str!("../../templates/report.css");
const SCRIPT: &str = include_str!("../../templates/report.js");

/// How the HTML report is rendered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HtmlOptions {
    /// The CI gate the verdict is judged against (`--fail-on`): active
    /// findings at or above it fail; `None` is `--fail-on never`.
    pub gate: Option<Severity>,
    /// The page heading; `None` gives "MySQL SSL/TLS audit".
    pub title: Option<String>,
    /// `--fail-on-new`: the fingerprints of the findings new since the
    /// baseline; only those count against the gate (an unscanned host still
    /// fails it), as in the CLI's exit status.
    pub new_only: Option<std::collections::BTreeSet<String>>,
}

/// The report as one self-contained HTML document (no external resources).
pub fn render(
    report: &ScanReport,
    rules: &[&RuleMeta],
    opts: &HtmlOptions,
) -> Result<String, ReportError> {
    let page = Page::build(report, rules, opts);
    let mut env = Environment::new();
    // minijinja's default callback already escapes `*.html.j2` (it ignores
    // the `.j2`); every template here is HTML, so say it outright rather than
    // let escaping hang on a file name.
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    // A misspelt field is an error in tests, not a silently empty cell.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_template(TEMPLATE_NAME, TEMPLATE)?;
    // Constants compiled into the binary, never report data.
    env.add_global("style", Value::from_safe_string(STYLE.to_string()));
    env.add_global("script", Value::from_safe_string(SCRIPT.to_string()));
    Ok(env.get_template(TEMPLATE_NAME)?.render(Serde(&page))?)
}

/// The Content-Security-Policy of the page: nothing may be fetched, and the
/// only script that may run is the page's own.
fn content_security_policy() -> String {
    let hash = openssl::base64::encode_block(&Sha256::digest(SCRIPT.as_bytes()));
    format!(
        "default-src 'none'; script-src 'sha256-{hash}'; style-src 'unsafe-inline'; \
         img-src data:; base-uri 'none'; form-action 'none'"
    )
}

/// Text from hosts with control characters and bidi overrides escaped;
/// `keep_lines` keeps newlines and tabs (evidence values are shown
/// preformatted).
fn clean(s: &str, keep_lines: bool) -> String {
    crate::escape_controls(s, keep_lines).into_owned()
}

fn c(s: &str) -> String {
    clean(s, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minijinja_escapes_html_j2_by_default_too() {
        // The explicit callback in `render` is belt and braces: minijinja 3
        // already treats `*.html.j2` as HTML.
        assert_eq!(
            minijinja::default_auto_escape_callback(TEMPLATE_NAME),
            AutoEscape::Html
        );
    }

    #[test]
    fn the_script_cannot_close_its_element() {
        assert!(!SCRIPT.to_ascii_lowercase().contains("</script"));
        assert!(!STYLE.to_ascii_lowercase().contains("</style"));
    }

    #[test]
    fn control_and_bidi_characters_are_shown_escaped() {
        assert_eq!(clean("key\u{202e}txt.crt", false), "key\\u{202e}txt.crt");
        assert_eq!(clean("a\tb\nc", false), "a\\tb\\nc");
        assert_eq!(clean("a\tb\nc", true), "a\tb\nc");
        assert_eq!(clean("a\x1b[2J", true), "a\\u{1b}[2J");
    }
}
