//! Prometheus metrics: the exact text for a small fleet (snapshot), the
//! exposition format's rules (HELP and TYPE for every family, escaping,
//! one sample per label set), hostile names, and determinism.

#![allow(clippy::unwrap_used)] // helpers of integration tests panic like the tests do

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::sample_report;
use sslaudit_reports::prometheus::{ScanRun, escape_label_value, to_prometheus};
use sslaudit_rules::readiness::TrustRow;
use sslaudit_rules::report::{CertificateSummary, ExpiryStatus, ScanReport, WireSummary};

const RUN: ScanRun = ScanRun {
    finished: 1_780_000_000.5,
    duration: 2.25,
};

fn cert(host: &str, env: &str, path: &str, subject: &str, not_after: i64) -> CertificateSummary {
    CertificateSummary {
        host: host.into(),
        environment: env.into(),
        path: path.into(),
        index: 0,
        subject: subject.into(),
        issuer: "CN=production MySQL CA,O=Acme Shop".into(),
        not_before: "2025-01-01".into(),
        not_after: "2026-05-01".into(),
        days_left: -31,
        status: ExpiryStatus::Expired,
        sha256: "00".into(),
        issuing_ca: None,
        serial: Some("0a".into()),
        not_before_unix: Some(1_735_689_600),
        not_after_unix: Some(not_after),
    }
}

/// The sample report with what only metrics show: certificates, a probed
/// server's TLS versions, readiness rows.
fn report() -> ScanReport {
    let mut r = sample_report();
    r.hosts[0].wire = Some(WireSummary {
        address: "10.0.0.10:3306".into(),
        protocol: Some("TLSv1.2".into()),
        cipher: Some("ECDHE-RSA-AES256-GCM-SHA384".into()),
        accepted: vec!["TLSv1".into(), "TLSv1.2".into()],
        requests_client_cert: Some(true),
        plaintext_answer: None,
    });
    r.certificates = vec![
        cert(
            "db-master",
            "production",
            "/db/mysql/5.7/data/server.crt",
            "CN=db-master,OU=production,O=Acme Shop",
            1_777_593_600,
        ),
        cert(
            "db-master",
            "production",
            "probe:10.0.0.10:3306",
            "CN=db-master-presented",
            1_800_000_000,
        ),
        // A certificate of an older report: dates alone.
        CertificateSummary {
            serial: None,
            not_before_unix: None,
            not_after_unix: None,
            ..cert(
                "staging-db",
                "staging",
                "/etc/mysql/ssl/ca.pem",
                "CN=staging CA",
                0,
            )
        },
    ]
    .into();
    r.readiness = vec![TrustRow {
        environment: "production".into(),
        host: "app-1".into(),
        client: "database.yml production".into(),
        ca_file: "/data/shop/shared/config/ca.pem".into(),
        server: "db-master".into(),
        trusts_current: Some(true),
        trusts_next: Some(false),
        missing_next: vec!["CN=next CA (next.pem)".into()],
    }];
    r
}

#[test]
fn snapshot() {
    insta::assert_snapshot!(to_prometheus(&report(), Some(&RUN)));
}

/// A sample line: name, labels (unescaped), value.
type Sample = (String, Vec<(String, String)>, String);

/// Reads the text format back, strictly: every line a HELP, a TYPE or a
/// sample of the family they announced, label values unescaped.
fn parse(text: &str) -> (Vec<String>, Vec<Sample>) {
    assert!(text.ends_with('\n'), "ends with a newline");
    let mut families = Vec::new();
    let mut samples = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(help) = lines.next() {
        let rest = help
            .strip_prefix("# HELP ")
            .expect("a family starts with HELP");
        let (name, _) = rest.split_once(' ').unwrap();
        assert_eq!(lines.next().unwrap(), format!("# TYPE {name} gauge"));
        families.push(name.to_string());
        while let Some(line) = lines.next_if(|l| !l.starts_with('#')) {
            samples.push(parse_sample(line, name));
        }
    }
    (families, samples)
}

fn parse_sample(line: &str, family: &str) -> Sample {
    let rest = line.strip_prefix(family).unwrap();
    let mut labels = Vec::new();
    let mut chars = rest.chars().peekable();
    if chars.peek() == Some(&'{') {
        chars.next();
        loop {
            let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
            assert_eq!(chars.next(), Some('"'), "in {line}");
            let mut value = String::new();
            loop {
                match chars.next().unwrap() {
                    '\\' => match chars.next().unwrap() {
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        'n' => value.push('\n'),
                        c => panic!("bad escape \\{c} in {line}"),
                    },
                    '"' => break,
                    c => value.push(c),
                }
            }
            labels.push((name, value));
            match chars.next().unwrap() {
                ',' => continue,
                '}' => break,
                c => panic!("unexpected {c} in {line}"),
            }
        }
    }
    assert_eq!(chars.next(), Some(' '), "in {line}");
    let value: String = chars.collect();
    assert!(value.parse::<f64>().is_ok(), "value {value} in {line}");
    (family.to_string(), labels, value)
}

#[test]
fn every_family_has_help_and_type_and_every_series_is_unique() {
    let text = to_prometheus(&report(), Some(&RUN));
    let (families, samples) = parse(&text);
    let mut sorted = families.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(families, sorted, "families sorted, each once");
    for f in &families {
        assert!(f.starts_with("sslaudit_"), "{f}");
        assert!(!f.ends_with("_total"), "{f}: gauges only");
    }
    let series: BTreeSet<_> = samples.iter().map(|(n, l, _)| (n, l)).collect();
    assert_eq!(series.len(), samples.len(), "no series twice");
    let expected = [
        "sslaudit_build_info",
        "sslaudit_ca_rotation_ready",
        "sslaudit_ca_trusts_current",
        "sslaudit_cert_not_after",
        "sslaudit_cert_not_before",
        "sslaudit_findings",
        "sslaudit_findings_waived",
        "sslaudit_host_info",
        "sslaudit_host_status",
        "sslaudit_host_up",
        "sslaudit_last_scan_timestamp_seconds",
        "sslaudit_scan_duration_seconds",
        "sslaudit_tls_version_info",
    ];
    assert_eq!(families, expected);
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<String> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|(_, _, v)| v.clone())
}

#[test]
fn values_say_what_the_report_says() {
    let (_, samples) = parse(&to_prometheus(&report(), Some(&RUN)));
    let v = |name, labels: &[(&str, &str)]| value(&samples, name, labels);
    // Expiry to the second; a presented certificate by its endpoint; the
    // CN, issuer CN and decimal serial as ssl_exporter labels them.
    assert_eq!(
        v(
            "sslaudit_cert_not_after",
            &[
                ("host", "db-master"),
                ("file", "/db/mysql/5.7/data/server.crt"),
                ("cn", "db-master"),
                ("issuer_cn", "production MySQL CA"),
                ("serial_no", "10"),
            ]
        )
        .as_deref(),
        Some("1777593600")
    );
    assert_eq!(
        v(
            "sslaudit_cert_not_after",
            &[
                ("endpoint", "10.0.0.10:3306"),
                ("cn", "db-master-presented")
            ]
        )
        .as_deref(),
        Some("1800000000")
    );
    // An older report's date: midnight UTC, no serial label.
    assert_eq!(
        v("sslaudit_cert_not_after", &[("host", "staging-db")]).as_deref(),
        Some("1777593600")
    );
    assert!(
        samples
            .iter()
            .filter(|(n, l, _)| n == "sslaudit_cert_not_after"
                && l.iter().any(|(_, v)| v == "staging-db"))
            .all(|(_, l, _)| l.iter().all(|(k, _)| k != "serial_no"))
    );
    // Accepted versions only.
    assert_eq!(
        v("sslaudit_tls_version_info", &[("version", "TLSv1")]).as_deref(),
        Some("1")
    );
    assert_eq!(
        v("sslaudit_tls_version_info", &[("version", "TLSv1.1")]),
        None
    );
    // Active and waived findings apart.
    assert_eq!(
        v(
            "sslaudit_findings",
            &[
                ("host", "db-master"),
                ("rule", "SSL004"),
                ("severity", "critical")
            ]
        )
        .as_deref(),
        Some("1")
    );
    assert_eq!(
        v("sslaudit_findings", &[("rule", "SSL005")]),
        None,
        "a waived finding is not active"
    );
    assert_eq!(
        v("sslaudit_findings_waived", &[("rule", "SSL005")]).as_deref(),
        Some("1")
    );
    // Hosts: up, and one status of three.
    assert_eq!(
        v("sslaudit_host_up", &[("host", "db-replica")]).as_deref(),
        Some("0")
    );
    assert_eq!(
        v("sslaudit_host_up", &[("host", "app-1")]).as_deref(),
        Some("1")
    );
    let statuses: BTreeMap<String, String> = samples
        .iter()
        .filter(|(n, l, _)| {
            n == "sslaudit_host_status" && l.iter().any(|(k, v)| k == "host" && v == "app-1")
        })
        .map(|(_, l, v)| (l.last().unwrap().1.clone(), v.clone()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("partial".to_string(), "1".to_string()),
            ("scanned".to_string(), "0".to_string()),
            ("unreachable".to_string(), "0".to_string()),
        ]
        .into()
    );
    assert_eq!(
        v("sslaudit_ca_rotation_ready", &[("host", "app-1")]).as_deref(),
        Some("0")
    );
    assert_eq!(
        v("sslaudit_ca_trusts_current", &[("host", "app-1")]).as_deref(),
        Some("1")
    );
    assert_eq!(
        v("sslaudit_last_scan_timestamp_seconds", &[]).as_deref(),
        Some("1780000000.5")
    );
    assert_eq!(
        v("sslaudit_scan_duration_seconds", &[]).as_deref(),
        Some("2.25")
    );
}

#[test]
fn without_a_run_no_clock_metrics() {
    let text = to_prometheus(&report(), None);
    assert!(!text.contains("sslaudit_last_scan_timestamp_seconds"));
    assert!(!text.contains("sslaudit_scan_duration_seconds"));
    parse(&text);
}

/// Names a host controls (its inventory name, a certificate subject, a CA
/// file path) with every character the format must escape or must not
/// choke on.
#[test]
fn hostile_label_values_stay_inside_their_quotes() {
    let hostile = [
        "db\"} sslaudit_host_up 1\n# TYPE evil counter",
        "back\\slash\\",
        "new\nline\r\n",
        "caf\u{e9} \u{202e}rtl \u{1F512}",
        "a=\"b\",c=\"d\"",
        "trailing\\",
    ];
    let mut r = report();
    for (i, name) in hostile.iter().enumerate() {
        let mut h = r.hosts[0].clone();
        h.name = (*name).to_string();
        h.environment = format!("env{i}\"\\\n");
        h.roles = vec![(*name).to_string()];
        r.hosts.push(h);
        let mut c = cert(name, "production", name, &format!("CN={name},O=x"), 1);
        c.issuer = format!("CN={name}");
        r.certificates.to_mut().push(c);
        let mut f = r.findings[0].clone();
        f.host = (*name).to_string();
        f.rule_id = (*name).to_string();
        r.findings.push(f);
    }
    let text = to_prometheus(&r, Some(&RUN));
    let (_, samples) = parse(&text);
    for name in hostile {
        for metric in ["sslaudit_host_up", "sslaudit_findings"] {
            assert!(
                value(&samples, metric, &[("host", name)]).is_some(),
                "{metric} for {name:?} reads back"
            );
        }
        assert!(value(&samples, "sslaudit_cert_not_after", &[("file", name)]).is_some());
    }
    // Nothing a host wrote starts a line of its own.
    assert!(!text.contains("\n# TYPE evil"));
    assert_eq!(escape_label_value("\"\\\n"), "\\\"\\\\\\n");
    promtool_check(&text);
}

#[test]
fn the_same_report_in_any_order_gives_the_same_bytes() {
    let a = report();
    let mut b = report();
    b.hosts.reverse();
    b.findings.reverse();
    b.certificates.to_mut().reverse();
    let text = to_prometheus(&a, Some(&RUN));
    assert_eq!(text, to_prometheus(&a, Some(&RUN)));
    assert_eq!(text, to_prometheus(&b, Some(&RUN)));
}

#[test]
fn the_sample_passes_promtool() {
    promtool_check(&to_prometheus(&report(), Some(&RUN)));
}

/// `promtool check metrics` when Prometheus's promtool is installed (CI
/// installs Debian's `prometheus` and sets SSLAUDIT_REQUIRE_PROMTOOL=1);
/// says it skips otherwise.
fn promtool_check(text: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if std::env::var_os("SSLAUDIT_REQUIRE_PROMTOOL").is_some() => {
            panic!("SSLAUDIT_REQUIRE_PROMTOOL is set but promtool does not run: {e}")
        }
        Err(_) => {
            eprintln!("skipped: promtool is not installed (apt-get install prometheus)");
            return;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

proptest::proptest! {
    /// Whatever a host is called, each of its series reads back with its
    /// exact name, and the text stays one sample per line.
    #[test]
    fn any_names_read_back(
        names in proptest::collection::vec("(?s)(.|[\\\\\"\\n]){1,24}", 1..5),
        env in "(?s)(.|[\\\\\"\\n]){1,12}",
    ) {
        let mut r = report();
        for name in &names {
            let mut h = r.hosts[0].clone();
            h.name = name.clone();
            h.environment = env.clone();
            r.hosts.push(h);
        }
        let (_, samples) = parse(&to_prometheus(&r, Some(&RUN)));
        for name in &names {
            proptest::prop_assert!(
                value(&samples, "sslaudit_host_up", &[("host", name), ("environment", &env)])
                    .is_some(),
                "{name:?}"
            );
        }
    }
}
