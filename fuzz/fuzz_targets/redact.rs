//! Structural redaction of host files before they go into a snapshot: the
//! first byte picks the kind of file, the rest is its content. Whatever the
//! input, redaction writes something with every line where it was (or
//! withholds the file), a database.yml it writes parses to the same facts
//! as the original (but for a value that is also a secret, see
//! `redact.rs`), and redacting twice changes nothing more.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use sslaudit_rules::parse::dbyml;
use sslaudit_rules::parse::redact::{Kind, redact};
use sslaudit_rules::secrets::MARKER;

const KINDS: [Kind; 8] = [
    Kind::DatabaseYml,
    Kind::OptionFile,
    Kind::OpensslCnf,
    Kind::Passwd,
    Kind::Pem,
    Kind::Der,
    Kind::GemfileLock,
    Kind::PackageMetadata,
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, content)) = data.split_first() else {
        return;
    };
    let kind = KINDS[usize::from(pick) % KINDS.len()];
    let Ok(out) = redact(kind, content) else {
        return;
    };
    let newlines = |b: &[u8]| b.iter().filter(|c| **c == b'\n').count();
    assert_eq!(newlines(&out), newlines(content), "a line moved");
    let again = redact(kind, &out).expect("what redaction wrote redacts again");
    assert_eq!(again, out, "redaction is idempotent");
    if kind == Kind::DatabaseYml {
        let (Ok(before), Ok(after)) = (std::str::from_utf8(content), std::str::from_utf8(&out))
        else {
            return;
        };
        if let Ok(facts) = dbyml::parse_database_yml("database.yml", before) {
            let redacted = dbyml::parse_database_yml("database.yml", after)
                .expect("a database.yml that parsed still parses once redacted");
            let (before, after) = (
                serde_json::to_value(&facts).expect("facts serialize"),
                serde_json::to_value(&redacted).expect("facts serialize"),
            );
            assert!(
                same_or_redacted(&before, &after),
                "redaction changed a fact: {before:#} became {after:#}"
            );
        }
    }
});

/// Equal, except where the redacted side is the marker: a value anchored
/// under an ordinary key and aliased under a secret one is blanked (secrecy
/// wins over that one fact).
fn same_or_redacted(before: &Value, after: &Value) -> bool {
    match (before, after) {
        (_, Value::String(s)) if s == MARKER => true,
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_or_redacted(a, b))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| same_or_redacted(v, w)))
        }
        _ => before == after,
    }
}
