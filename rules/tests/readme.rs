//! README.md's rule table is generated from the registry: this test fails
//! when the two differ. `SSLAUDIT_BLESS=1 cargo test -p sslaudit-rules
//! --test readme` rewrites the table in README.md (as does pasting the
//! output of `sslaudit rules --markdown`).

use std::path::Path;

use sslaudit_rules::registry::{RULES, markdown_table};

const BEGIN: &str = "<!-- rules:begin: generated from the registry (rules/tests/readme.rs) -->\n";
const END: &str = "<!-- rules:end -->";

#[test]
fn the_readme_rule_table_is_the_registry() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&path).expect("read README.md");
    let start = readme
        .find(BEGIN)
        .unwrap_or_else(|| panic!("README.md lacks the line {BEGIN:?}"))
        + BEGIN.len();
    let end = start
        + readme[start..]
            .find(END)
            .unwrap_or_else(|| panic!("README.md lacks {END:?} after the table"));
    let want = markdown_table(RULES.iter().map(|r| r.meta()));
    if readme[start..end] == want {
        return;
    }
    if std::env::var("SSLAUDIT_BLESS").as_deref() == Ok("1") {
        let fixed = format!("{}{want}{}", &readme[..start], &readme[end..]);
        std::fs::write(&path, fixed).expect("write README.md");
        return;
    }
    panic!(
        "README.md's rule table differs from the registry; run\n  SSLAUDIT_BLESS=1 cargo test \
         -p sslaudit-rules --test readme\nIt should be:\n{want}"
    );
}
