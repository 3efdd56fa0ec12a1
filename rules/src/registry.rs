//! Every compiled rule, in one explicit list sorted by id.

use crate::Rule;

/// The catalogue, sorted by id (a test checks it).
pub static RULES: &[&dyn Rule] = &[];

/// Looks a rule up by id (`SSL004`) or name (`certificate-expiry`).
pub fn find(id_or_name: &str) -> Option<&'static dyn Rule> {
    RULES.iter().copied().find(|r| {
        let m = r.meta();
        m.id.eq_ignore_ascii_case(id_or_name) || m.name == id_or_name
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_sorted() {
        let ids: Vec<&str> = RULES.iter().map(|r| r.meta().id.as_ref()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(ids, sorted, "registry must be sorted by id with no duplicates");
    }

    #[test]
    fn metadata_is_complete() {
        for r in RULES {
            let m = r.meta();
            assert!(
                m.name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{}: name must be kebab-case",
                m.id
            );
            for section in ["What it checks", "Why it matters", "How to fix"] {
                assert!(m.help.contains(section), "{}: help lacks `{section}`", m.id);
            }
            assert!(!m.summary.ends_with('.'), "{}: summary ends with a period", m.id);
        }
    }
}
