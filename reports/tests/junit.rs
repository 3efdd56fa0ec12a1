//! JUnit XML: parsed back with roxmltree, so every test also proves the
//! document is well-formed.

#![allow(clippy::unwrap_used)] // helpers of integration tests panic like the tests do

mod common;

use common::{SCAN001, SSL001, SSL004, SSL005, sample_report, with_rules};
use roxmltree::{Document, Node};
use sslaudit_reports::junit::to_junit;
use sslaudit_rules::finding::Suppression;
use sslaudit_rules::report::{HostStatus, ScanReport};
use sslaudit_rules::{Finding, Location, RuleMeta, Severity};

fn junit(report: &ScanReport) -> String {
    with_rules(|rules| to_junit(report, rules))
}

fn attr<'a>(n: Node<'a, '_>, name: &str) -> &'a str {
    n.attribute(name)
        .unwrap_or_else(|| panic!("<{}> has no {name}", n.tag_name().name()))
}

fn count(n: Node<'_, '_>, name: &str) -> usize {
    attr(n, name).parse().unwrap()
}

fn children<'a, 'i>(n: Node<'a, 'i>, tag: &'a str) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children().filter(move |c| c.has_tag_name(tag))
}

fn suite<'a, 'i>(doc: &'a Document<'i>, name: &str) -> Node<'a, 'i> {
    children(doc.root_element(), "testsuite")
        .find(|s| attr(*s, "name") == name)
        .unwrap_or_else(|| panic!("no suite {name}"))
}

fn case<'a, 'i>(suite: Node<'a, 'i>, classname: &str) -> Node<'a, 'i> {
    children(suite, "testcase")
        .find(|c| attr(*c, "classname") == classname)
        .unwrap_or_else(|| panic!("no testcase {classname}"))
}

/// The counts on every suite and on `<testsuites>` are those of the elements.
fn assert_counts(doc: &Document<'_>) {
    let root = doc.root_element();
    assert!(root.has_tag_name("testsuites"));
    let (mut tests, mut failures, mut skipped) = (0, 0, 0);
    for s in children(root, "testsuite") {
        let cases: Vec<Node> = children(s, "testcase").collect();
        let failed = cases
            .iter()
            .filter(|c| children(**c, "failure").next().is_some())
            .count();
        let skip = cases
            .iter()
            .filter(|c| children(**c, "skipped").next().is_some())
            .count();
        assert_eq!(count(s, "tests"), cases.len(), "{}", attr(s, "name"));
        assert_eq!(count(s, "failures"), failed, "{}", attr(s, "name"));
        assert_eq!(count(s, "skipped"), skip, "{}", attr(s, "name"));
        assert_eq!(count(s, "errors"), 0);
        tests += cases.len();
        failures += failed;
        skipped += skip;
    }
    assert_eq!(count(root, "tests"), tests);
    assert_eq!(count(root, "failures"), failures);
    assert_eq!(count(root, "skipped"), skipped);
}

#[test]
fn snapshot() {
    insta::assert_snapshot!(junit(&sample_report()));
}

#[test]
fn one_suite_per_host_one_case_per_rule() {
    let text = junit(&sample_report());
    let doc = Document::parse(&text).unwrap();
    assert_counts(&doc);
    let names: Vec<&str> = children(doc.root_element(), "testsuite")
        .map(|s| attr(s, "name"))
        .collect();
    assert_eq!(
        names,
        [
            "production/app-1",
            "production/db-master",
            "production/db-replica",
            "staging/staging-db"
        ]
    );
    // Seven rules ran: every reachable host has seven cases, in catalogue order.
    let db = suite(&doc, "production/db-master");
    let classes: Vec<&str> = children(db, "testcase")
        .map(|c| attr(c, "classname"))
        .collect();
    assert_eq!(
        classes,
        [
            "SCAN001", "SCAN002", "SSL001", "SSL004", "SSL005", "SSL020", "ORG001"
        ]
    );
    assert_eq!(attr(case(db, "SSL001"), "name"), "have-ssl-disabled");
    assert_eq!(attr(db, "hostname"), "db-master");
    let props: Vec<(&str, &str)> = children(children(db, "properties").next().unwrap(), "property")
        .map(|p| (attr(p, "name"), attr(p, "value")))
        .collect();
    assert!(props.contains(&("status", "scanned")), "{props:?}");
    assert!(props.contains(&("environment", "production")), "{props:?}");

    let root = doc.root_element();
    // db-master: SSL001 and SSL004 fail, SSL005 is waived; app-1: SCAN002
    // and ORG001 fail; db-replica: SCAN001; staging-db: SSL020.
    assert_eq!(count(root, "failures"), 6);
    assert_eq!(count(root, "skipped"), 1);
    assert_eq!(count(root, "tests"), 7 * 3 + 1);
}

#[test]
fn a_failure_per_finding_with_location_and_evidence() {
    let text = junit(&sample_report());
    let doc = Document::parse(&text).unwrap();
    let c = case(suite(&doc, "production/db-master"), "SSL001");
    let failures: Vec<Node> = children(c, "failure").collect();
    assert_eq!(failures.len(), 1);
    let f = failures[0];
    assert_eq!(
        attr(f, "message"),
        "have_ssl is DISABLED (ssl-ca configured in /etc/mysql/my.cnf:12 but not loaded)"
    );
    assert_eq!(attr(f, "type"), "high");
    let body = f.text().unwrap();
    assert!(
        body.contains("location: /etc/mysql/my.cnf:12 (variable:have_ssl)"),
        "{body}"
    );
    assert!(body.contains("have_ssl: DISABLED"), "{body}");
    assert!(body.contains("fingerprint: "), "{body}");

    let expiry = children(
        case(suite(&doc, "production/db-master"), "SSL004"),
        "failure",
    )
    .next()
    .unwrap();
    assert_eq!(attr(expiry, "type"), "critical");
}

#[test]
fn waived_rules_are_skipped_with_the_justification() {
    let text = junit(&sample_report());
    let doc = Document::parse(&text).unwrap();
    let c = case(suite(&doc, "production/db-master"), "SSL005");
    assert!(children(c, "failure").next().is_none());
    let skipped = children(c, "skipped").next().unwrap();
    assert_eq!(
        attr(skipped, "message"),
        "waived until 2027-01-31: legacy reporting job, ticket OPS-12"
    );
    assert!(
        skipped
            .text()
            .unwrap()
            .contains("account deploy@% does not REQUIRE X509")
    );
}

#[test]
fn a_rule_with_active_and_waived_findings_fails_and_lists_the_waived() {
    let mut report = sample_report();
    let mut waived = Finding::new(
        "SSL001",
        Severity::High,
        "db-master",
        "production",
        "have_ssl is DISABLED on the second instance",
        Location::object("variable:have_ssl#2"),
    );
    waived.suppressed = Some(Suppression {
        justification: "decommissioned next week".into(),
        expires: None,
    });
    report.findings.push(waived);
    let text = junit(&report);
    let doc = Document::parse(&text).unwrap();
    assert_counts(&doc);
    let c = case(suite(&doc, "production/db-master"), "SSL001");
    assert_eq!(children(c, "failure").count(), 1);
    assert!(children(c, "skipped").next().is_none());
    let out = children(c, "system-out").next().unwrap().text().unwrap();
    assert!(out.contains("waived: decommissioned next week"), "{out}");
}

#[test]
fn an_unreachable_host_is_one_failing_scan001_case() {
    let text = junit(&sample_report());
    let doc = Document::parse(&text).unwrap();
    let s = suite(&doc, "production/db-replica");
    let cases: Vec<Node> = children(s, "testcase").collect();
    assert_eq!(cases.len(), 1);
    assert_eq!(attr(cases[0], "classname"), "SCAN001");
    assert_eq!(attr(cases[0], "name"), "host-unreachable");
    let f = children(cases[0], "failure").next().unwrap();
    assert!(attr(f, "message").starts_with("host could not be reached"));
    assert_eq!(count(s, "failures"), 1);
}

#[test]
fn an_unreachable_host_fails_even_when_scan001_is_off() {
    // SCAN001 disabled by policy: no finding and no such rule among those
    // given, but the host was still not scanned.
    let mut report = sample_report();
    report.findings.retain(|f| f.rule_id != "SCAN001");
    let rules: Vec<&RuleMeta> = vec![&SSL001, &SSL004, &SSL005];
    let text = to_junit(&report, &rules);
    let doc = Document::parse(&text).unwrap();
    assert_counts(&doc);
    let s = suite(&doc, "production/db-replica");
    let cases: Vec<Node> = children(s, "testcase").collect();
    assert_eq!(cases.len(), 1);
    let f = children(case(s, "SCAN001"), "failure").next().unwrap();
    assert!(attr(f, "message").contains("could not be reached"));
}

#[test]
fn rules_only_findings_name_still_get_cases() {
    // A report read back from JSON by a catalogue that lacks ORG001 and SCAN002.
    let report = sample_report();
    let rules: Vec<&RuleMeta> = vec![&SCAN001, &SSL001, &SSL004, &SSL005];
    let text = to_junit(&report, &rules);
    let doc = Document::parse(&text).unwrap();
    assert_counts(&doc);
    let app = suite(&doc, "production/app-1");
    let classes: Vec<&str> = children(app, "testcase")
        .map(|c| attr(c, "classname"))
        .collect();
    assert_eq!(
        classes,
        [
            "SCAN001", "SSL001", "SSL004", "SSL005", "ORG001", "SCAN002", "SSL020"
        ]
    );
    assert_eq!(attr(case(app, "ORG001"), "name"), "ORG001");
}

#[test]
fn hostile_text_round_trips_through_xml() {
    let message = "subject CN=<x> & \"y\" 'z' ]]> \u{1b}[31mred\nsecond line\ttab";
    let mut report = sample_report();
    report.hosts.push(common::host(
        "prod&<test>",
        "db\"1",
        "db_master",
        HostStatus::Scanned,
    ));
    report.findings.push(
        Finding::new(
            "SSL004",
            Severity::High,
            "db\"1",
            "prod&<test>",
            message,
            Location::file("/etc/<ssl>/a&b.pem", Some(3)),
        )
        .evidence("subject", "CN=</failure><injected/>"),
    );
    let text = junit(&report);
    let doc = Document::parse(&text).unwrap();
    assert_counts(&doc);
    let s = suite(&doc, "prod&<test>/db\"1");
    assert_eq!(attr(s, "hostname"), "db\"1");
    let f = children(case(s, "SSL004"), "failure").next().unwrap();
    // Control characters cannot be in XML 1.0 at all: they stay visible.
    assert_eq!(
        attr(f, "message"),
        "subject CN=<x> & \"y\" 'z' ]]> \\u{1b}[31mred\nsecond line\ttab"
    );
    let body = f.text().unwrap();
    assert!(body.contains("location: /etc/<ssl>/a&b.pem:3"), "{body}");
    assert!(body.contains("subject: CN=</failure><injected/>"), "{body}");
    assert!(doc.descendants().all(|n| !n.has_tag_name("injected")));
}

#[test]
fn empty_report_is_still_a_document() {
    let mut report = sample_report();
    report.hosts.clear();
    report.findings.clear();
    let text = to_junit(&report, &[&SSL001]);
    let doc = Document::parse(&text).unwrap();
    assert_counts(&doc);
    assert_eq!(count(doc.root_element(), "tests"), 0);
}

#[test]
fn deterministic() {
    assert_eq!(junit(&sample_report()), junit(&sample_report()));
}

// ---------------------------------------------------------------------------
// A large fleet: a suite per environment (issue #20).

#[test]
fn a_large_fleet_gets_a_suite_per_environment_and_a_case_per_rule() {
    let report = common::large::fleet(2_000);
    assert!(report.hosts.len() > sslaudit_reports::junit::HOST_SUITES);
    let text = junit(&report);
    let doc = Document::parse(&text).unwrap();
    assert_counts(&doc);
    let suites: Vec<Node> = children(doc.root_element(), "testsuite").collect();
    assert_eq!(suites.len(), 200);
    // Bounded by environments x rules: the 7 rules given and the 3 that only
    // findings name (SSL006, SSL011, SSL013).
    let rules = with_rules(|r| r.len()) + 3;
    assert!(suites.iter().all(|s| count(*s, "tests") == rules));
    // The document no longer grows with hosts x rules (that was 14,000
    // testcases and about 2.9 MB for these 2,000 hosts).
    assert!(text.len() < 1_000_000, "{} bytes", text.len());

    // An environment with an unreachable host fails its SCAN001 case, with
    // the host named.
    let down = report
        .hosts
        .iter()
        .find(|h| h.status == HostStatus::Unreachable)
        .unwrap();
    let s = suite(&doc, &down.environment);
    assert!(s.attribute("hostname").is_none());
    let scan001 = case(s, "SCAN001");
    assert_eq!(children(scan001, "failure").count(), 1);
    let failure = children(scan001, "failure").next().unwrap();
    assert_eq!(attr(failure, "type"), "high");
    assert!(
        attr(failure, "message").starts_with(&format!(
            "1 active finding on 1 host of {}, first: host could not be reached",
            down.environment
        )),
        "{}",
        attr(failure, "message")
    );
    assert!(
        failure
            .text()
            .unwrap()
            .starts_with(&format!("{}: [high]", down.name))
    );
}

#[test]
fn an_environment_case_lists_its_first_findings_and_counts_the_rest() {
    let mut report = common::large::fleet(2_000);
    report.findings.retain(|f| f.environment != "env-00000");
    for i in 0..30 {
        report.findings.push(Finding::new(
            "SSL001",
            Severity::High,
            &format!("db-{i:02}"),
            "env-00000",
            "have_ssl is DISABLED",
            Location::file("/etc/mysql/my.cnf", Some(12)),
        ));
    }
    let text = junit(&report);
    let doc = Document::parse(&text).unwrap();
    let ssl001 = case(suite(&doc, "env-00000"), "SSL001");
    let failure = children(ssl001, "failure").next().unwrap();
    assert_eq!(
        attr(failure, "message"),
        "30 active findings on 30 hosts of env-00000, first: have_ssl is DISABLED"
    );
    let body = failure.text().unwrap();
    assert_eq!(body.lines().count(), 21, "{body}");
    assert!(body.starts_with("db-00: [high] have_ssl is DISABLED (/etc/mysql/my.cnf:12)"));
    assert!(body.ends_with("... and 10 more: the JSON report (--json) lists every finding"));
    // The other rules of that environment pass.
    assert!(
        children(case(suite(&doc, "env-00000"), "SSL004"), "failure")
            .next()
            .is_none()
    );
}
