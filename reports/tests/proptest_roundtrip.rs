//! Property tests: any report survives the JSON format unchanged, and the
//! SARIF log of any report reads back as the same log and carries every
//! finding (rule, level, message, fingerprint, host, suppression).
#![allow(clippy::unwrap_used)] // helpers of integration tests panic like the tests do

use std::collections::BTreeMap;

use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use serde_sarif::sarif::Sarif;
use sslaudit_reports::json::{from_json, to_json, write_json};
use sslaudit_reports::sarif::{FINGERPRINT_KEY, SarifOptions, to_sarif, to_sarif_string};
use sslaudit_rules::finding::{Suppression, fingerprint};
use sslaudit_rules::policy::ExpiredWaiver;
use sslaudit_rules::registry::RULES;
use sslaudit_rules::report::{
    CertificateSummary, ExpiryStatus, HostStatus, HostSummary, SCHEMA_VERSION, ScanReport,
    ToolInfo, WireSummary,
};
use sslaudit_rules::{Finding, Location, RuleMeta, Severity};

/// Any text, control characters and non-ASCII included.
fn text() -> impl Strategy<Value = String> {
    "(?s).{0,24}"
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9.-]{0,12}"
}

fn severity() -> impl Strategy<Value = Severity> {
    prop::sample::select(Severity::ALL.to_vec())
}

fn location() -> impl Strategy<Value = Location> {
    (
        option::of("/[a-zA-Z0-9 ._%#?/-]{1,30}"),
        option::of(0u32..100_000),
        option::of(text()),
    )
        .prop_map(|(file, line, object)| Location {
            file,
            line,
            object: object.map(Into::into),
        })
}

fn rule_id() -> impl Strategy<Value = String> {
    let known: Vec<String> = RULES.iter().map(|r| r.meta().id.to_string()).collect();
    prop_oneof![
        4 => prop::sample::select(known),
        1 => "[A-Z]{3}[0-9]{3}",
    ]
}

fn finding() -> impl Strategy<Value = Finding> {
    (
        rule_id(),
        severity(),
        name(),
        name(),
        text(),
        location(),
        btree_map("[a-z_]{1,10}", text(), 0..3),
        option::of((text(), option::of("20[0-9]{2}-[01][0-9]-[0-3][0-9]"))),
    )
        .prop_map(|(rule, sev, host, env, message, loc, evidence, sup)| {
            let mut f = Finding::new(rule, sev, &host, &env, message, loc);
            f.evidence = evidence;
            f.suppressed = sup.map(|(justification, expires)| Suppression {
                justification,
                expires,
            });
            f
        })
}

fn certificate() -> impl Strategy<Value = CertificateSummary> {
    (
        (name(), name(), text(), 0usize..5, text(), text()),
        (text(), text(), any::<i64>(), 0..3u8, "[0-9a-f]{64}"),
        proptest::option::of(text()),
        (
            option::of("[0-9a-f]{1,40}"),
            option::of(any::<i64>()),
            option::of(any::<i64>()),
        ),
    )
        .prop_map(
            |(
                (host, environment, path, index, subject, issuer),
                (nb, na, days, st, sha),
                ca,
                (serial, not_before_unix, not_after_unix),
            )| {
                CertificateSummary {
                    host,
                    environment,
                    path,
                    index,
                    subject,
                    issuer,
                    not_before: nb,
                    not_after: na,
                    days_left: days,
                    status: [ExpiryStatus::Expired, ExpiryStatus::Soon, ExpiryStatus::Ok]
                        [usize::from(st)],
                    sha256: sha,
                    issuing_ca: ca,
                    serial,
                    not_before_unix,
                    not_after_unix,
                }
            },
        )
}

fn report() -> impl Strategy<Value = ScanReport> {
    let wire = option::of(
        (
            text(),
            option::of(text()),
            vec("TLSv1(\\.[0-3])?", 0..4),
            option::of(any::<bool>()),
            option::of(text()),
        )
            .prop_map(
                |(address, protocol, accepted, requests_client_cert, plaintext_answer)| {
                    WireSummary {
                        address,
                        cipher: protocol.clone(),
                        protocol,
                        accepted,
                        requests_client_cert,
                        plaintext_answer,
                    }
                },
            ),
    );
    let host = (name(), name(), vec("[a-z_]{2,10}", 0..3), 0..3u8, wire).prop_map(
        |(name, environment, roles, st, wire)| HostSummary {
            name,
            environment,
            roles,
            status: match st {
                0 => HostStatus::Scanned,
                1 => HostStatus::Partial,
                _ => HostStatus::Unreachable,
            },
            declared_at: None,
            files: Default::default(),
            access: Default::default(),
            not_applicable: Vec::new(),
            wire,
            client_tls: Vec::new(),
            census: None,
        },
    );
    let waiver = (rule_id(), name(), option::of(text()), text(), text()).prop_map(
        |(rule, host, object, expires, origin)| ExpiredWaiver {
            rule,
            host,
            object,
            expires,
            origin,
        },
    );
    (
        text(),
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]",
        vec(host, 0..4),
        vec(finding(), 0..8),
        vec(waiver, 0..2),
        vec(certificate(), 0..3),
    )
        .prop_map(
            |(version, as_of, hosts, findings, expired_waivers, certificates)| ScanReport {
                schema_version: SCHEMA_VERSION,
                tool: ToolInfo {
                    name: "sslaudit".into(),
                    version,
                },
                as_of,
                hosts,
                findings,
                expired_waivers,
                certificates: certificates.into(),
                scope: None,
                pending: Vec::new(),
                next_ca: Vec::new(),
                readiness: Vec::new(),
            },
        )
}

fn metas() -> Vec<&'static RuleMeta> {
    RULES.iter().map(|r| r.meta()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn json_report_round_trips(report in report()) {
        let text = to_json(&report);
        let back = from_json(&text).expect("a written report reads back");
        prop_assert_eq!(&back, &report);
        // And writing it again gives the same bytes (deterministic output).
        prop_assert_eq!(&to_json(&back), &text);
        // Streamed to a writer, the same bytes again.
        let mut written = Vec::new();
        write_json(&report, &mut written).expect("writing to memory");
        prop_assert_eq!(String::from_utf8(written).expect("UTF-8"), text);
    }

    #[test]
    fn sarif_log_round_trips_and_keeps_every_finding(
        report in report(),
        category in option::of("[a-z/]{1,12}"),
    ) {
        let rules = metas();
        let opts = SarifOptions { category, ..SarifOptions::default() };
        let log = to_sarif(&report, &rules, &opts);
        let text = to_sarif_string(&report, &rules, &opts);
        let back: Sarif = serde_json::from_str(&text).expect("the log is valid JSON");
        prop_assert_eq!(&back, &log);

        let results = back.runs[0].results.clone().unwrap_or_default();
        prop_assert_eq!(results.len(), report.findings.len());
        let mut by_print: BTreeMap<String, usize> = BTreeMap::new();
        for r in &results {
            let print = r.partial_fingerprints.as_ref().unwrap()[FINGERPRINT_KEY].clone();
            *by_print.entry(print).or_default() += 1;
        }
        for f in &report.findings {
            let print = fingerprint(&f.rule_id, &f.environment, &f.host, &f.location);
            prop_assert_eq!(&f.fingerprint, &print);
            let r = results
                .iter()
                .find(|r| {
                    r.partial_fingerprints.as_ref().unwrap()[FINGERPRINT_KEY] == print
                        && r.message.text.as_deref()
                            == Some(&format!("{}/{}: {}", f.environment, f.host, f.message))
                })
                .expect("every finding has its result");
            prop_assert_eq!(r.rule_id.as_deref(), Some(f.rule_id.as_str()));
            let props = &r.properties.as_ref().unwrap().additional_properties;
            prop_assert_eq!(&props["host"], &serde_json::json!(f.host));
            prop_assert_eq!(&props["severity"], &serde_json::json!(f.severity.as_str()));
            prop_assert_eq!(r.suppressions.is_some(), f.suppressed.is_some());
        }
        prop_assert_eq!(by_print.values().sum::<usize>(), report.findings.len());
    }
}
