//! The option-file parser with `!include`/`!includedir` over an in-memory
//! host (see `host_files` for how one input becomes several files).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sslaudit_fuzz::{host_files, roots};
use sslaudit_rules::parse::mycnf;

fuzz_target!(|data: &[u8]| {
    let fs = host_files(data);
    let parsed = mycnf::parse_option_files(&roots(), &fs);
    // Each file is listed once, every entry comes from a listed file, and
    // every problem names its file.
    let mut seen = std::collections::BTreeSet::new();
    for f in &parsed.files_read {
        assert!(seen.insert(f.as_str()), "{f} listed twice");
    }
    for e in &parsed.entries {
        assert!(
            seen.contains(e.file.as_str()),
            "entry from unlisted {}",
            e.file
        );
        assert!(e.line >= 1);
        assert!(!e.name.is_empty());
    }
    for p in &parsed.problems {
        assert!(p.path.is_some(), "problem without a file: {}", p.message);
    }
    // Passwords never survive into facts.
    for e in &parsed.entries {
        if e.name == "password" && e.value.is_some() {
            assert_eq!(e.value.as_deref(), Some(mycnf::REDACTED));
        }
    }
    for groups in [mycnf::server_groups(None), mycnf::client_groups(None)] {
        let set = mycnf::effective(&parsed.entries, &groups);
        assert!(set.options.len() <= parsed.entries.len());
    }
    // Parsing is a pure function of the files.
    assert_eq!(mycnf::parse_option_files(&roots(), &fs), parsed);
});
