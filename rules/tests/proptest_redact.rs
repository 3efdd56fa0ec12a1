//! Property: a database.yml with secrets written in any YAML style Rails
//! loads (plain, quoted, folded, literal, multi-line, flow, anchored and
//! aliased, quoted keys, ERB, URLs, comments) loses every secret byte to
//! redaction, keeps every line where it was, and still parses to the same
//! facts (which never hold a password).

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed property

use proptest::prelude::*;
use sslaudit_rules::parse::dbyml::parse_database_yml;
use sslaudit_rules::parse::redact::{Kind, redact};

/// A secret no other part of the document can contain by chance.
fn canary(n: usize, salt: &str) -> String {
    format!("Cnry{n}x{salt}")
}

/// One way of writing `password` (or another secret key) with `secret`
/// inside an environment indented by two spaces; `n` keeps anchors unique.
fn secret_style(style: u8, secret: &str, n: usize) -> String {
    match style % 13 {
        0 => format!("  password: {secret}\n"),
        1 => format!("  password: '{secret}'\n"),
        2 => format!("  password: \"{secret}\"\n"),
        3 => format!("  password: >-\n    {secret}\n    tail{secret}\n"),
        4 => format!("  password: |\n    {secret}\n"),
        5 => format!("  \"password\":\n    {secret}\n    more{secret}\n"),
        6 => format!("  db_password: &pw{n} {secret}\n  password: *pw{n}\n"),
        7 => format!("  password: <%= ENV.fetch('DB_PASSWORD', '{secret}') %>\n"),
        8 => format!("  url: mysql2://deploy:{secret}@db.internal:3306/shop\n"),
        9 => format!("  # password: {secret}\n"),
        10 => format!("  sslkey_passphrase: [{secret}, 'b{secret}']\n"),
        11 => format!("  ? password\n  : {secret}\n"),
        // The secret written under a harmless key, used under a secret one.
        _ => format!("  shared: &sh{n} {secret}\n  password: *sh{n}\n"),
    }
}

fn document() -> impl Strategy<Value = (String, Vec<String>)> {
    (
        prop::collection::vec((0u8..13, 0u8..3, any::<bool>()), 1..5),
        "[a-z0-9]{6}",
    )
        .prop_map(|(envs, salt)| {
            let mut text = String::from("# database.yml\n");
            let mut secrets = Vec::new();
            for (i, (style, host, flow)) in envs.into_iter().enumerate() {
                let secret = canary(i, &salt);
                let host = ["10.0.0.10", "localhost", "<%= ENV['DB_HOST'] %>"][host as usize];
                if flow {
                    text.push_str(&format!(
                        "env{i}: {{ adapter: mysql2, host: \"{host}\", username: u{i}, password: {secret} }}\n"
                    ));
                } else {
                    text.push_str(&format!(
                        "env{i}:\n  adapter: mysql2\n  host: \"{host}\"\n  username: u{i}\n"
                    ));
                    text.push_str(&secret_style(style, &secret, i));
                    text.push_str("  database: shop\n");
                }
                secrets.push(secret);
            }
            (text, secrets)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_secret_byte_survives_and_the_facts_stay((text, secrets) in document()) {
        let out = redact(Kind::DatabaseYml, text.as_bytes())
            .unwrap_or_else(|w| panic!("withheld ({w}):\n{text}"));
        let out = String::from_utf8(out).unwrap();
        for s in &secrets {
            prop_assert!(!out.contains(s.as_str()), "{s} survived:\n{out}");
        }
        prop_assert_eq!(out.lines().count(), text.lines().count());
        let before = parse_database_yml("database.yml", &text).unwrap();
        let after = parse_database_yml("database.yml", &out).unwrap();
        prop_assert_eq!(before, after);
    }

    /// Whatever the bytes, redaction either writes something with no more
    /// lines than it was given, or withholds: it never panics.
    #[test]
    fn arbitrary_input_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        for kind in [Kind::DatabaseYml, Kind::OptionFile, Kind::OpensslCnf, Kind::Passwd, Kind::Pem] {
            if let Ok(out) = redact(kind, &bytes) {
                let count = |b: &[u8]| b.iter().filter(|c| **c == b'\n').count();
                prop_assert_eq!(count(&out), count(&bytes));
            }
        }
    }
}
