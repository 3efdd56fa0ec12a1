//! The HTML report: content, escaping, self-containment, the gate verdict,
//! the timeline, and a real browser (headless Chromium) when one is installed.
//!
//! `data/demo-report.json` is `sslaudit scan --snapshot fixtures/demo-fleet
//! --as-of 2026-11-30 --policy policy.toml --json` with a policy that waives
//! SSL010 on db-master (until 2027-01-31) and has an expired SSL007 waiver;
//! `data/demo-rules.json` is `sslaudit rules --json` of the same build.

#![allow(clippy::unwrap_used)] // helpers of integration tests panic like the tests do

mod browser;

use std::borrow::Cow;

use browser::{chromium, file_url, run_chromium, write_page};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sslaudit_reports::html::{HtmlOptions, render};
use sslaudit_reports::json::from_json;
use sslaudit_rules::facts::Access;
use sslaudit_rules::finding::Suppression;
use sslaudit_rules::policy::ExpiredWaiver;
use sslaudit_rules::readiness::TrustRow;
use sslaudit_rules::report::{
    CertificateSummary, ExpiryStatus, HostStatus, HostSummary, NotApplicable, SCHEMA_VERSION,
    ScanReport, ToolInfo, WireSummary,
};
use sslaudit_rules::{Finding, Location, RuleMeta, Severity};

const SCRIPT_TAG: &str = "<script>alert(1)</script>";
const ATTR_BREAK: &str = "\"><img src=x onerror=alert(1)>";
/// Would retitle the page if it ever ran.
const CANARY_SCRIPT: &str = "<script>document.title='XSS-FIRED'</script>";
const CANARY_IMG: &str = "<img src=x onerror=\"document.title='XSS-FIRED'\">";

fn demo_report() -> ScanReport {
    from_json(include_str!("data/demo-report.json")).unwrap()
}

#[derive(Deserialize)]
struct RuleJson {
    id: String,
    name: String,
    severity: Severity,
    summary: String,
    help: String,
    references: Vec<String>,
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn meta(
    id: &str,
    name: &str,
    severity: Severity,
    summary: &str,
    help: &str,
    refs: &[&str],
) -> RuleMeta {
    RuleMeta {
        id: Cow::Owned(id.into()),
        name: Cow::Owned(name.into()),
        severity,
        summary: Cow::Owned(summary.into()),
        help: Cow::Owned(help.into()),
        references: Cow::Owned(refs.iter().map(|r| leak(r.to_string())).collect()),
        evidence: Default::default(),
        controls: &[],
    }
}

fn demo_rules() -> Vec<RuleMeta> {
    let rules: Vec<RuleJson> = serde_json::from_str(include_str!("data/demo-rules.json")).unwrap();
    rules
        .into_iter()
        .map(|r| {
            let refs: Vec<&str> = r.references.iter().map(String::as_str).collect();
            meta(&r.id, &r.name, r.severity, &r.summary, &r.help, &refs)
        })
        .collect()
}

fn render_with(report: &ScanReport, rules: &[RuleMeta], opts: &HtmlOptions) -> String {
    let refs: Vec<&RuleMeta> = rules.iter().collect();
    render(report, &refs, opts).unwrap()
}

fn gate(sev: Option<Severity>) -> HtmlOptions {
    HtmlOptions {
        gate: sev,
        title: None,
        new_only: None,
    }
}

/// What minijinja's HTML auto-escaping writes for `s`.
fn esc(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            '/' => out.push_str("&#x2f;"),
            c => out.push(c),
        }
    }
    out
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn demo_report_shows_every_host_finding_and_certificate() {
    let report = demo_report();
    let html = render_with(&report, &demo_rules(), &gate(Some(Severity::High)));
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.trim_end().ends_with("</html>"));
    for h in &report.hosts {
        assert!(html.contains(&esc(&h.name)), "host {}", h.name);
    }
    // The message shows in the host view and in the rule's table (control
    // characters shown escaped, as in the terminal).
    for f in &report.findings {
        assert!(
            count(&html, &esc(&f.message.replace('\t', "\\t"))) >= 2,
            "finding message {:?}",
            f.message
        );
        for v in f.evidence.values() {
            assert!(html.contains(&esc(v)), "evidence {v:?}");
        }
    }
    for cs in report.certificates.iter() {
        assert!(html.contains(&esc(&cs.sha256)), "certificate {}", cs.path);
    }
    // One card per finding: active ones counted by the filters, waived ones apart.
    let active = report.active().count();
    assert_eq!(
        count(&html, "<article class=\"finding"),
        report.findings.len()
    );
    assert_eq!(count(&html, " data-active>"), active);
    // The ten-second summary: hosts by status, findings by severity.
    assert!(html.contains("<b>6</b> scanned"), "scanned hosts");
    assert!(html.contains("<b>1</b> partial"));
    assert!(html.contains("<b>1</b> unreachable"));
    for (sev, n) in [("critical", 1), ("high", 8), ("medium", 9), ("low", 0)] {
        let tile = format!("sevtile sev-{sev}");
        let at = html.find(&tile).unwrap_or_else(|| panic!("{tile}"));
        assert!(
            html[at..].contains(&format!("<span class=\"n\">{n}</span>")),
            "{sev} count"
        );
        let shown = report
            .active()
            .filter(|f| f.severity.as_str() == sev)
            .count();
        assert_eq!(shown, n, "the fixture changed: {sev}");
    }
    assert!(html.contains("2026-11-30"), "as of");
    assert!(html.contains("sslaudit 0.1.0"), "tool version");
    // Waived finding with its justification and expiry; the expired waiver.
    assert!(html.contains("Waived until 2027-01-31"));
    assert!(html.contains(&esc(
        "Chef run scheduled for the January maintenance window (OPS-231)"
    )));
    assert!(html.contains("<td>2026-10-31</td>"), "expired waiver");
    assert!(html.contains(&esc("policy.toml:8")));
    // Rule help is rendered from markdown, not shown raw.
    assert!(html.contains("<h4>How to fix</h4>"));
    assert!(!html.contains("## How to fix"));
    assert!(html.contains("<pre data-lang=\"sh\"><code>"));
    assert!(html.contains(&format!(
        "<code>{}</code>",
        esc("/etc/init.d/mysql restart")
    )));
    // Every rule of the demo has findings.
    assert!(!html.contains("Rules with no findings"));
}

#[test]
fn rendering_is_deterministic() {
    let report = demo_report();
    let rules = demo_rules();
    let a = render_with(&report, &rules, &gate(Some(Severity::High)));
    let b = render_with(&report, &rules, &gate(Some(Severity::High)));
    assert_eq!(a, b);
}

/// A small report for the verdict: one host, findings as given.
fn small_report(findings: Vec<Finding>, unreachable: bool) -> ScanReport {
    let mut hosts = vec![HostSummary {
        name: "db-master".into(),
        environment: "production".into(),
        roles: vec!["db_master".into()],
        status: HostStatus::Scanned,
        declared_at: None,
        files: Default::default(),
        access: Default::default(),
        not_applicable: Vec::new(),
        wire: None,
        client_tls: Vec::new(),
        census: None,
    }];
    if unreachable {
        hosts.push(HostSummary {
            name: "db-replica".into(),
            environment: "production".into(),
            roles: vec!["db_replica".into()],
            status: HostStatus::Unreachable,
            declared_at: None,
            files: Default::default(),
            access: Default::default(),
            not_applicable: Vec::new(),
            wire: None,
            client_tls: Vec::new(),
            census: None,
        });
    }
    ScanReport {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "sslaudit".into(),
            version: "0.1.0".into(),
        },
        as_of: "2026-06-01".into(),
        hosts,
        findings,
        expired_waivers: Vec::new(),
        certificates: Default::default(),
        scope: None,
        pending: Vec::new(),
        next_ca: Vec::new(),
        readiness: Vec::new(),
    }
}

fn medium_finding() -> Finding {
    Finding::new(
        "SSL007",
        Severity::Medium,
        "db-master",
        "production",
        "database.yml environment production connects to localhost",
        Location::file("/data/app/config/database.yml", Some(4)),
    )
}

fn unreachable_finding() -> Finding {
    Finding::new(
        "SCAN001",
        Severity::High,
        "db-replica",
        "production",
        "host could not be reached, nothing on it was checked: ssh: connection refused",
        Location::object("host:reachability"),
    )
}

fn verdict_of(report: &ScanReport, sev: Option<Severity>) -> String {
    let html = render_with(report, &[], &gate(sev));
    let at = html.find("data-verdict=\"").unwrap() + "data-verdict=\"".len();
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

#[test]
fn gate_verdict_pass_fail_and_never() {
    let report = small_report(vec![medium_finding()], false);
    assert_eq!(verdict_of(&report, Some(Severity::High)), "pass");
    assert_eq!(verdict_of(&report, Some(Severity::Medium)), "fail");
    assert_eq!(verdict_of(&report, Some(Severity::Low)), "fail");
    assert_eq!(verdict_of(&report, None), "none");
    let html = render_with(&report, &[], &gate(Some(Severity::Medium)));
    assert!(html.contains("1 finding at or above medium"));

    // A clean report passes any gate.
    assert_eq!(
        verdict_of(&small_report(vec![], false), Some(Severity::Low)),
        "pass"
    );

    // A waived finding does not count.
    let mut waived = medium_finding();
    waived.suppressed = Some(Suppression {
        justification: "accepted".into(),
        expires: None,
    });
    assert_eq!(
        verdict_of(&small_report(vec![waived], false), Some(Severity::Low)),
        "pass"
    );
}

#[test]
fn fail_on_new_counts_only_new_findings() {
    // Guards the verdict agreeing with the exit status under --fail-on-new.
    let old = medium_finding();
    let report = small_report(vec![old.clone()], false);
    let mut opts = gate(Some(Severity::Medium));
    opts.new_only = Some(Default::default());
    let html = render_with(&report, &[], &opts);
    assert!(html.contains("data-verdict=\"pass\""));
    assert!(html.contains("only findings new since the baseline count"));
    opts.new_only = Some([old.fingerprint.clone()].into_iter().collect());
    let html = render_with(&report, &[], &opts);
    assert!(html.contains("data-verdict=\"fail\""));
    assert!(
        html.contains("1 new finding at or above medium"),
        "new findings are named as such"
    );
}

#[test]
fn unreachable_hosts_always_fail_a_gate() {
    // SCAN001 is high; even a critical-only gate fails, as the CLI's exit status does.
    let report = small_report(vec![unreachable_finding()], true);
    assert_eq!(verdict_of(&report, Some(Severity::Critical)), "fail");
    let html = render_with(&report, &[], &gate(Some(Severity::Critical)));
    assert!(html.contains("an incomplete audit always fails"));
    // `never` still never fails, but says the evidence is incomplete.
    assert_eq!(verdict_of(&report, None), "none");
    let html = render_with(&report, &[], &gate(None));
    assert!(html.contains("1 host could not be (fully) scanned"));
    // A waived SCAN001 is the policy's decision, as in the CLI.
    let mut waived = unreachable_finding();
    waived.suppressed = Some(Suppression {
        justification: "host retired".into(),
        expires: Some("2026-12-31".into()),
    });
    assert_eq!(
        verdict_of(&small_report(vec![waived], true), Some(Severity::Critical)),
        "pass"
    );
}

#[test]
fn timeline_has_one_bar_per_certificate() {
    let report = demo_report();
    let html = render_with(&report, &demo_rules(), &gate(Some(Severity::High)));
    let n = report.certificates.len();
    assert_eq!(n, 22, "the fixture changed");
    assert_eq!(count(&html, "class=\"tl-bar\""), n);
    assert!(html.contains(&format!("data-bars=\"{n}\"")));
    assert_eq!(count(&html, "<g class=\"tl-row "), n);
    // Each status colors its rows; the as-of line and the table are there.
    for (status, want) in [
        (ExpiryStatus::Expired, "expired"),
        (ExpiryStatus::Soon, "soon"),
        (ExpiryStatus::Ok, "ok"),
    ] {
        let expected = report
            .certificates
            .iter()
            .filter(|c| c.status == status)
            .count();
        assert_eq!(
            count(&html, &format!("<g class=\"tl-row {want}\">")),
            expected,
            "{want}"
        );
    }
    assert!(html.contains("class=\"tl-now\""));
    assert!(html.contains("as of 2026-11-30"));
    assert_eq!(count(&html, "<td class=\"sha\">"), n, "table fallback");
    // Groups follow hosts: 8 hosts, 7 with certificates.
    assert_eq!(count(&html, "<rect class=\"tl-band\""), 7);
}

#[test]
fn timeline_survives_unreadable_dates() {
    let mut report = small_report(vec![], false);
    let cert = |not_before: &str, not_after: &str, days_left, status| CertificateSummary {
        host: "db-master".into(),
        environment: "production".into(),
        path: "/etc/mysql/server.crt".into(),
        index: 0,
        subject: "CN=db-master".into(),
        issuer: "CN=CA".into(),
        not_before: not_before.into(),
        not_after: not_after.into(),
        days_left,
        status,
        sha256: "00".into(),
        issuing_ca: None,
        serial: None,
        not_before_unix: None,
        not_after_unix: None,
    };
    report.as_of = "not a date".into();
    report.certificates = vec![
        cert("2020-01-01", "2021-01-01", -1977, ExpiryStatus::Expired),
        cert("garbage", "2040-01-01", 4962, ExpiryStatus::Ok),
        cert("2026-05-01", "2026-06-10", 9, ExpiryStatus::Soon),
    ]
    .into();
    report.certificates.to_mut()[2].issuing_ca =
        Some("rds-ca-rsa2048-g1 (Amazon RDS, valid until 2061-05-25)".into());
    let html = render_with(&report, &[], &gate(None));
    // The issuing CA of a presented leaf is named beside its issuer.
    assert_eq!(count(&html, "<small>issued by "), 1);
    assert!(html.contains("issued by rds-ca-rsa2048-g1 (Amazon RDS, valid until 2061-05-25)"));
    // as_of is recovered from a certificate; the unreadable row says so.
    assert_eq!(count(&html, "class=\"tl-bar\""), 2);
    assert!(html.contains("validity dates could not be read"));
    assert!(html.contains("as of 2026-06-01"));
    assert_eq!(count(&html, "<td class=\"sha\">"), 3);
}

#[test]
fn empty_report_renders() {
    let report = small_report(vec![], false);
    let rules = demo_rules();
    let html = render_with(&report, &rules, &HtmlOptions::default());
    assert!(html.contains("No active findings"));
    assert!(html.contains("The scan found no certificates."));
    assert!(!html.contains("<svg"));
    // Rules that ran without findings are listed as checked.
    assert!(html.contains("Rules with no findings"));
    let quiet = &html[html.find("id=\"quiet-h\"").unwrap()..];
    assert_eq!(
        count(&quiet[..quiet.find("</ul>").unwrap()], "<li>"),
        rules.len()
    );
}

/// The demo report with hostile strings in every field that comes from a
/// host or a policy, and a rule pack whose metadata is hostile too.
fn hostile_report() -> (ScanReport, Vec<RuleMeta>) {
    let mut report = demo_report();
    let evil = format!("{SCRIPT_TAG}{ATTR_BREAK}{CANARY_SCRIPT}{CANARY_IMG}");
    report.hosts[0].name = format!("app-1{evil}");
    report.hosts[0].environment = format!("production{evil}");
    report.hosts[0].roles = vec![evil.clone()];
    let f = &mut report.findings[0];
    f.host = format!("app-1{evil}");
    f.environment = format!("production{evil}");
    f.message = format!("private key {evil} is mode 0644");
    f.location.file = Some(format!("/home/deploy/{evil}/mysql.key"));
    f.location.object = Some(format!("key:{evil}").into());
    f.evidence.insert("mode".into(), evil.clone());
    f.evidence.insert(evil.clone(), "0644".into());
    f.rule_id = format!("ORG{evil}");
    let waived = report
        .findings
        .iter_mut()
        .find(|f| f.suppressed.is_some())
        .unwrap();
    waived.suppressed = Some(Suppression {
        justification: evil.clone(),
        expires: Some(evil.clone()),
    });
    let c = &mut report.certificates.to_mut()[0];
    c.subject = format!("CN={evil}");
    c.issuer = evil.clone();
    c.issuing_ca = Some(evil.clone());
    c.path = format!("/home/deploy/.mysql/{evil}.crt");
    c.host = format!("app-1{evil}");
    report.expired_waivers = vec![ExpiredWaiver {
        rule: evil.clone(),
        host: evil.clone(),
        object: Some(evil.clone()),
        expires: evil.clone(),
        origin: evil.clone(),
    }];
    report.tool.version = evil.clone();
    report.hosts[0].access = Access::Wire;
    report.hosts[0].not_applicable = vec![NotApplicable {
        rule: evil.clone(),
        name: evil.clone(),
        needs: evil.clone(),
    }];
    report.next_ca = vec![evil.clone()];
    report.readiness = vec![trust_row(&evil, Some(false), Some(false))];
    let mut rules = demo_rules();
    let help = format!(
        "## What {evil}\n\nText {evil} with `{evil}` code.\n\n- item {evil}\n\n```sh{evil}\n{evil}\n```\n"
    );
    rules.push(meta(
        &format!("ORG{evil}"),
        &evil,
        Severity::High,
        &evil,
        &help,
        &[&evil],
    ));
    (report, rules)
}

/// A readiness row whose every string is `s`.
fn trust_row(s: &str, current: Option<bool>, next: Option<bool>) -> TrustRow {
    TrustRow {
        environment: s.into(),
        host: s.into(),
        client: s.into(),
        ca_file: s.into(),
        server: s.into(),
        trusts_current: current,
        trusts_next: next,
        missing_next: if next == Some(false) {
            vec![s.into()]
        } else {
            Vec::new()
        },
    }
}

#[test]
fn wire_hosts_and_the_readiness_table_render() {
    let mut report = demo_report();
    let html = render_with(&report, &demo_rules(), &gate(Some(Severity::High)));
    assert!(!html.contains("id=\"readiness\""), "no stores, no table");
    assert_eq!(count(&html, "class=\"pill pill-wire\""), 0);

    report.hosts[0].access = Access::Wire;
    report.hosts[0].not_applicable = vec![NotApplicable {
        rule: "SSL002".into(),
        name: "ssl-config-missing".into(),
        needs: "files on the host".into(),
    }];
    report.hosts[0].wire = Some(WireSummary {
        address: "db.example.net:3306".into(),
        protocol: Some("TLSv1.3".into()),
        cipher: Some("TLS_AES_256_GCM_SHA384".into()),
        accepted: vec!["TLSv1.2".into(), "TLSv1.3".into()],
        requests_client_cert: Some(true),
        plaintext_answer: Some("1045 (28000) Access denied".into()),
    });
    report.next_ca = vec!["CN=next CA (next.pem)".into()];
    report.readiness = vec![
        trust_row("old-only", Some(true), Some(false)),
        trust_row("next-only", Some(false), Some(true)),
        trust_row("both", Some(true), Some(true)),
        trust_row("unjudged", None, None),
    ];
    let html = render_with(&report, &demo_rules(), &gate(Some(Severity::High)));
    assert_eq!(count(&html, "class=\"pill pill-wire\""), 1);
    assert!(html.contains("1 rule not applicable without SSH"));
    assert!(html.contains(
        "Seen on the wire: TLSv1.3 (TLS_AES_256_GCM_SHA384); accepts TLSv1.2, TLSv1.3; \
         asks for a client certificate; a plaintext login of an unknown user: 1045 (28000) \
         Access denied"
    ));
    assert!(html.contains("SSL002 ssl-config-missing"));
    assert!(html.contains("audited from the wire</li>"), "summary card");
    assert!(html.contains("href=\"#readiness\""), "table of contents");
    assert_eq!(count(&html, "data-current=\"yes\" data-next=\"no\""), 1);
    assert_eq!(count(&html, "data-current=\"no\" data-next=\"yes\""), 1);
    assert_eq!(count(&html, "data-current=\"yes\" data-next=\"yes\""), 1);
    assert_eq!(count(&html, "data-current=\"unknown\" data-next=\"-\""), 1);
    assert!(html.contains("<b>1</b> will not trust its server after the rotation"));
}

#[test]
fn hostile_strings_are_escaped_everywhere() {
    let (report, rules) = hostile_report();
    let opts = HtmlOptions {
        gate: Some(Severity::High),
        title: Some(format!("Audit {SCRIPT_TAG}{ATTR_BREAK}")),
        new_only: None,
    };
    let html = render_with(&report, &rules, &opts);
    for raw in [SCRIPT_TAG, ATTR_BREAK, CANARY_SCRIPT, CANARY_IMG] {
        assert!(!html.contains(raw), "raw {raw:?} in the output");
        assert!(html.contains(&esc(raw)), "escaped {raw:?} missing");
    }
    // No element or attribute came from the data: one script (ours), no image.
    assert_eq!(count(&html, "<script"), 1);
    assert!(!html.contains("<img"));
    // The escaped payload shows in each place it was put.
    let e = esc(SCRIPT_TAG);
    for context in [
        format!("private key {e}"),                 // message
        format!("&#x2f;home&#x2f;deploy&#x2f;{e}"), // file path
        format!("key:{e}"),                         // object
        format!("<th scope=\"row\">{e}"),           // evidence key
        format!("<td>{e}"),                         // evidence value (and table cells)
        format!("CN={e}"),                          // certificate subject
        format!("data-env=\"production{e}"),        // attribute
        format!("<h4>What {e}"),                    // rule help heading
        format!("<code>{e}"),                       // rule help code
        format!("<title>Audit {e}"),                // page title
    ] {
        assert!(html.contains(&context), "missing {context:?}");
    }
}

#[test]
fn nothing_is_fetched_from_outside_the_file() {
    let (report, rules) = hostile_report();
    for html in [
        render_with(&demo_report(), &demo_rules(), &gate(Some(Severity::High))),
        render_with(&report, &rules, &gate(None)),
    ] {
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(!html.contains("@import"));
        assert!(!html.contains("url("));
        assert!(!html.contains("<link rel=\"stylesheet\""));
        // Every src/href/action stays inside the page (or is inline data).
        for attr in ["src=", "href=", "action=", "srcset=", "poster="] {
            let mut rest = html.as_str();
            while let Some(at) = rest.find(attr) {
                let value = &rest[at + attr.len()..];
                let before = rest[..at].chars().last();
                // `src=x` inside escaped text is text, not an attribute.
                if before == Some(' ') && value.starts_with('"') {
                    assert!(
                        value.starts_with("\"#") || value.starts_with("\"data:"),
                        "{attr}{}",
                        &value[..value.len().min(60)]
                    );
                }
                rest = value;
            }
        }
        // The policy forbids any fetch, and allows only the page's own script.
        let csp_at = html.find("Content-Security-Policy\" content=\"").unwrap();
        let csp = &html[csp_at..html[csp_at..].find('>').unwrap() + csp_at];
        assert!(csp.contains("default-src &#x27;none&#x27;"), "{csp}");
        let script_at = html.find("<script>").unwrap() + "<script>".len();
        let script = &html[script_at..script_at + html[script_at..].find("</script>").unwrap()];
        let hash = base64(&Sha256::digest(script.as_bytes()));
        assert!(csp.contains(&format!("sha256-{}", esc(&hash))), "{csp}");
    }
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                char::from(A[((n >> (18 - 6 * i)) & 63) as usize])
            } else {
                '='
            });
        }
    }
    out
}

#[test]
fn filters_are_hidden_until_javascript_runs() {
    let html = render_with(&demo_report(), &demo_rules(), &gate(Some(Severity::High)));
    // Without JavaScript nothing is hidden but the (inert) filter bar.
    let body = &html[html.find("<body>").unwrap()..html.find("<script>").unwrap()];
    assert!(body.contains("<form id=\"filters\" class=\"filters\" hidden"));
    assert_eq!(count(body, " hidden"), 1);
    assert!(html.contains("<details class=\"help\">"));
    assert!(html.contains("@media print"));
}

// ---------------------------------------------------------------------------
// A real browser.

#[test]
fn chromium_screenshot_is_not_blank() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let html = render_with(&demo_report(), &demo_rules(), &gate(Some(Severity::High)));
    let page = write_page(dir.path(), "report.html", &html);
    let png_path = dir.path().join("shot.png");
    run_chromium(
        chromium,
        &dir.path().join("profile"),
        &[
            format!("--screenshot={}", png_path.display()),
            "--window-size=1280,2000".into(),
        ],
        &file_url(&page),
    );
    let bytes = std::fs::read(&png_path).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        bytes.len() > 50_000,
        "suspiciously small screenshot: {} bytes",
        bytes.len()
    );

    let decoder = png::Decoder::new(std::io::Cursor::new(&bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1280, 2000));
    let channels = info.color_type.samples();
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let pixels = &buf[..info.buffer_size()];
    let mut colors = std::collections::BTreeSet::new();
    let mut counts = std::collections::BTreeMap::<[u8; 3], usize>::new();
    for px in pixels.chunks(channels) {
        let rgb = [px[0], px[1], px[2]];
        colors.insert(rgb);
        *counts.entry(rgb).or_default() += 1;
    }
    assert!(colors.len() > 200, "only {} distinct colors", colors.len());
    // No single color (the background) covers nearly everything.
    let total = pixels.len() / channels;
    let most = counts.values().max().copied().unwrap_or(0);
    assert!(
        most * 100 < total * 85,
        "one color covers {most} of {total} pixels"
    );
    // The masthead's navy and the FAIL banner's red are on screen.
    assert!(
        colors.contains(&[0x14, 0x21, 0x3d]),
        "masthead color missing"
    );
    assert!(
        colors.contains(&[0xb4, 0x23, 0x18]),
        "verdict color missing"
    );
}

/// The `<title>` text of a dumped DOM.
fn dom_title(dom: &str) -> &str {
    let start = dom.find("<title>").unwrap() + "<title>".len();
    &dom[start..start + dom[start..].find("</title>").unwrap()]
}

#[test]
fn chromium_runs_no_injected_script() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (report, rules) = hostile_report();
    let opts = HtmlOptions {
        gate: Some(Severity::High),
        title: Some("Canary audit".into()),
        new_only: None,
    };
    let page = write_page(
        dir.path(),
        "canary.html",
        &render_with(&report, &rules, &opts),
    );
    let dom = run_chromium(
        chromium,
        &dir.path().join("profile"),
        &["--dump-dom".into()],
        &file_url(&page),
    );
    assert!(dom.contains("</html>"), "no DOM dumped: {dom:.200}");
    // The canary would have retitled the page.
    assert_eq!(dom_title(&dom), "Canary audit, as of 2026-11-30");
    assert!(!dom.contains("XSS-FIRED</title>"));
    assert!(
        !dom.contains("<img"),
        "an injected element exists in the DOM"
    );
    // The page's own script did run (the CSP hash is right): filters shown.
    assert!(
        dom.contains("data-js=\"on\""),
        "the report's script did not run"
    );
    assert!(!dom.contains("<form id=\"filters\" class=\"filters\" hidden"));
}

#[test]
fn chromium_applies_filters_from_the_url() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let report = demo_report();
    let html = render_with(&report, &demo_rules(), &gate(Some(Severity::High)));
    let page = write_page(dir.path(), "report.html", &html);
    let url = format!("{}#sev=critical,high&env=staging", file_url(&page));
    let dom = run_chromium(
        chromium,
        &dir.path().join("profile"),
        &["--dump-dom".into()],
        &url,
    );
    let cards: Vec<&str> = dom
        .split("<article class=\"finding")
        .skip(1)
        .map(|s| &s[..s.find('>').unwrap()])
        .collect();
    assert_eq!(cards.len(), report.findings.len());
    let visible_active = cards
        .iter()
        .filter(|c| c.contains("data-active") && !c.contains(" hidden"))
        .count();
    let expected = report
        .active()
        .filter(|f| f.environment == "staging" && f.severity >= Severity::High)
        .count();
    assert!(expected > 0);
    assert_eq!(visible_active, expected);
    assert!(dom.contains(&format!(
        "showing {expected} of {} active findings",
        report.active().count()
    )));
}

#[test]
fn a_finding_names_the_command_that_plans_its_fix() {
    let mut f = medium_finding();
    f.fix = Some("sslaudit remediate plan --inventory 'a<b>.yaml' --finding x -o plan.json".into());
    let html = render_with(
        &small_report(vec![f, unreachable_finding()], false),
        &[],
        &gate(None),
    );
    assert!(
        html.contains("<dt>Fix</dt><dd><code class=\"fix\">sslaudit remediate plan --inventory &#x27;a&lt;b&gt;.yaml&#x27; --finding x -o plan.json</code></dd>")
            || html.contains("<dt>Fix</dt><dd><code class=\"fix\">sslaudit remediate plan --inventory &#39;a&lt;b&gt;.yaml&#39; --finding x -o plan.json</code></dd>"),
        "{html}"
    );
    assert_eq!(
        count(&html, "class=\"fix\""),
        1,
        "only the finding with a fix shows one"
    );
}

#[test]
fn the_session_census_lists_who_connects_without_tls_now() {
    use sslaudit_rules::facts::{CensusSource, LiveSession, SessionCensus, SessionTransport};
    let mut report = demo_report();
    let html = render_with(&report, &demo_rules(), &gate(Some(Severity::High)));
    assert!(!html.contains("id=\"census\""), "no census, no section");
    let session = |user: &str, transport: SessionTransport, count: u32| LiveSession {
        user: user.into(),
        host: "10.0.0.31".into(),
        transport,
        cipher: None,
        program: Some("<nightly>".into()),
        count,
        seen: None,
    };
    report.hosts[0].census = Some(SessionCensus {
        source: CensusSource::PerformanceSchema,
        note: None,
        sessions: vec![
            session("deploy", SessionTransport::Tls, 9),
            session("cron_report", SessionTransport::Tcp, 2),
        ],
        samples: 1,
        window_secs: 0,
    });
    report.hosts[1].census = Some(SessionCensus {
        source: CensusSource::Unavailable,
        note: Some("SELECT command denied".into()),
        sessions: vec![],
        samples: 1,
        window_secs: 0,
    });
    let html = render_with(&report, &demo_rules(), &gate(Some(Severity::High)));
    assert!(html.contains("id=\"census\""));
    assert!(
        html.contains("<code>cron_report@10.0.0.31</code>"),
        "{html}"
    );
    assert!(
        !html.contains("<code>deploy@10.0.0.31</code>"),
        "TLS sessions are not listed"
    );
    assert!(html.contains(&esc("<nightly>")));
    assert!(html.contains("No census on: "));
    assert!(html.contains("SELECT command denied"));
}
