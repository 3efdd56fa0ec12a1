//! Quoting for a POSIX shell: the one implementation behind every command
//! line the tool builds, whether it runs (plan steps, the scanner's remote
//! commands) or is printed for a person to run ([`crate::commands`]).
//!
//! Two spellings, because the callers need both: command lines that run
//! quote every value the same way whatever it holds ([`quote`]), while the
//! next-step commands shown to people stay readable and quote only the
//! words a shell would split or expand ([`quote_if_needed`]). Either one
//! reads back, through `sh`, as exactly the string that went in.

use std::borrow::Cow;

/// Single-quotes a string for a POSIX shell: `it's` -> `'it'\''s'`. Every
/// value that reaches a command line that runs goes through this.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Quotes a word only where a shell needs it (`plain` stays `plain`,
/// `a b` becomes `'a b'`), for command lines shown to people. Only a NUL
/// cannot be quoted; it is dropped (no path or name holds one).
pub fn quote_if_needed(s: &str) -> Cow<'_, str> {
    match shlex::try_quote(s) {
        Ok(q) => q,
        Err(_) => Cow::Owned(s.replace('\0', "")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_always_single_quotes() {
        assert_eq!(quote("plain"), "'plain'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn quote_if_needed_leaves_plain_words_alone() {
        assert_eq!(quote_if_needed("plain"), "plain");
        assert_eq!(quote_if_needed("a b"), "'a b'");
        assert_eq!(quote_if_needed("a\0b"), "ab");
    }
}
