//! The SARIF 2.1.0 schema check shared by the baseline and merge tests
//! (the same vendored schema and fix-up as `tests/sarif.rs`).
#![allow(dead_code)] // each test binary uses a different part

use std::sync::OnceLock;

use serde_json::Value;

fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/sarif-schema-2.1.0.json"
        );
        let text = std::fs::read_to_string(path).unwrap();
        // serde-sarif's copy has a stray `]` in two patterns (see tests/sarif.rs).
        let broken = r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#;
        let text = text.replace(broken, r#""^[a-zA-Z]{2}(-[a-zA-Z]{2})?$""#);
        let schema: Value = serde_json::from_str(&text).unwrap();
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .should_validate_formats(true)
            .build(&schema)
            .unwrap()
    })
}

/// Panics with every schema error of `log`.
pub fn assert_valid(log: &Value) {
    let errors: Vec<String> = validator()
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF fails the 2.1.0 schema:\n{}",
        errors.join("\n")
    );
}

/// Every result's `ruleIndex` points at the descriptor of its `ruleId`.
pub fn assert_rule_indices(log: &Value) {
    for run in log["runs"].as_array().unwrap() {
        let ids: Vec<&str> = run["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        for r in run["results"].as_array().unwrap() {
            let i = r["ruleIndex"]
                .as_u64()
                .expect("every result has a ruleIndex") as usize;
            assert_eq!(ids[i], r["ruleId"].as_str().unwrap(), "{r}");
        }
    }
}
