//! Every compiled rule names the controls its findings evidence, each with
//! the source of the mapping, and at least one NIST SP 800-53 control (the
//! catalogue OSCAL findings target).

use std::path::Path;

use sslaudit_rules::registry::{RULES, controls_table};
use sslaudit_rules::rule::{CIS_MYSQL_8, CIS_MYSQL_57, NIST_800_53, PCI_DSS};

#[test]
fn every_rule_maps_to_controls_with_their_source() {
    for r in RULES {
        let m = r.meta();
        assert!(
            m.controls.iter().any(|c| c.framework == NIST_800_53),
            "{}: no NIST SP 800-53 control mapping: add `.controls(&[Control::nist(..)])` to its META",
            m.id
        );
        for c in m.controls {
            assert!(
                [NIST_800_53, PCI_DSS, CIS_MYSQL_8, CIS_MYSQL_57].contains(&c.framework),
                "{}: unknown framework {:?}",
                m.id,
                c.framework
            );
            assert!(!c.id.trim().is_empty(), "{}: a control without an id", m.id);
            assert!(
                c.source.trim().len() >= 10,
                "{} {}: the mapping needs its source (the control's text, the seed section or the reasoning)",
                m.id,
                c.id
            );
        }
        let mut seen: Vec<(&str, &str)> = m.controls.iter().map(|c| (c.framework, c.id)).collect();
        seen.sort();
        let n = seen.len();
        seen.dedup();
        assert_eq!(n, seen.len(), "{}: a control is mapped twice", m.id);
    }
}

#[test]
fn nist_ids_have_the_catalogue_shape() {
    for r in RULES {
        for c in r
            .meta()
            .controls
            .iter()
            .filter(|c| c.framework == NIST_800_53)
        {
            let oscal = c.oscal_id().expect("a NIST control has an OSCAL id");
            assert!(
                oscal.chars().all(|ch| ch.is_ascii_lowercase()
                    || ch.is_ascii_digit()
                    || ch == '-'
                    || ch == '.'),
                "{}: {} -> {oscal}",
                r.meta().id,
                c.id
            );
            assert!(oscal.contains('-'), "{}: {}", r.meta().id, c.id);
        }
    }
}

#[test]
fn oscal_ids_follow_the_catalogue() {
    let c = sslaudit_rules::Control::nist("SC-8(1)", "x");
    assert_eq!(c.oscal_id().as_deref(), Some("sc-8.1"));
    assert_eq!(
        sslaudit_rules::Control::nist("IA-5(2)", "x")
            .oscal_id()
            .as_deref(),
        Some("ia-5.2")
    );
    assert_eq!(
        sslaudit_rules::Control::nist("CA-7", "x")
            .oscal_id()
            .as_deref(),
        Some("ca-7")
    );
    assert_eq!(sslaudit_rules::Control::pci("4.2.1", "x").oscal_id(), None);
    assert_eq!(c.tag(), "NIST-800-53:SC-8(1)");
}

const BEGIN: &str =
    "<!-- controls:begin: generated from the rules' metadata (rules/tests/controls.rs) -->\n";
const END: &str = "<!-- controls:end -->";

/// docs/oscal.md's mapping table is the rules' metadata;
/// `SSLAUDIT_BLESS=1 cargo test -p sslaudit-rules --test controls`
/// rewrites it.
#[test]
fn the_docs_mapping_table_is_the_metadata() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/oscal.md");
    let doc = std::fs::read_to_string(&path).expect("read docs/oscal.md");
    let start = doc
        .find(BEGIN)
        .unwrap_or_else(|| panic!("docs/oscal.md lacks the line {BEGIN:?}"))
        + BEGIN.len();
    let end = start
        + doc[start..]
            .find(END)
            .unwrap_or_else(|| panic!("docs/oscal.md lacks {END:?} after the table"));
    let want = controls_table(RULES.iter().map(|r| r.meta()));
    if doc[start..end] == want {
        return;
    }
    if std::env::var("SSLAUDIT_BLESS").as_deref() == Ok("1") {
        let fixed = format!("{}{want}{}", &doc[..start], &doc[end..]);
        std::fs::write(&path, fixed).expect("write docs/oscal.md");
        return;
    }
    panic!(
        "docs/oscal.md's mapping table differs from the rules' metadata; run\n  \
         SSLAUDIT_BLESS=1 cargo test -p sslaudit-rules --test controls\nIt should be:\n{want}"
    );
}
