//! Rails database.yml (ERB, YAML anchors/aliases/merge keys, url:).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sslaudit_rules::parse::dbyml;

const PATH: &str = "/data/app/current/config/database.yml";

fuzz_target!(|data: &[u8]| {
    // The scanner refuses non-UTF-8 before the parser; lossy text still
    // lets the fuzzer reach everything behind it.
    let text = String::from_utf8_lossy(data);
    // YAML line breaks: LF, CRLF, and a lone CR (old Mac files).
    let breaks = text.replace("\r\n", "\n").matches(['\n', '\r']).count();
    let lines = u32::try_from(breaks + 1).unwrap_or(u32::MAX);
    match dbyml::parse_database_yml(PATH, &text) {
        Ok(yml) => {
            assert_eq!(yml.path, PATH);
            for env in &yml.environments {
                assert!(env.line >= 1 && env.line <= lines);
            }
        }
        Err(e) => {
            assert_eq!(e.path, PATH);
            assert!(e.line >= 1 && e.line <= lines, "line {} of {lines}", e.line);
        }
    }
});
