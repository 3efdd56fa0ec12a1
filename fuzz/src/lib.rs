//! Helpers shared by the fuzz targets: turning one fuzz input into the
//! several files an option-file parse reads.

use std::collections::{BTreeMap, BTreeSet};

use sslaudit_rules::parse::{FileSource, SourceError};

/// The file the input's first chunk becomes.
pub const FIRST_FILE: &str = "/etc/mysql/my.cnf";
/// The roots parsed, as the debian/mariadb layouts list them.
pub const ROOTS: [&str; 3] = ["/etc/my.cnf", "/etc/mysql/my.cnf", "/etc/mysql/mariadb.cnf"];

/// A host's files in memory, built from one fuzz input:
///
/// - the bytes up to the first marker line are `/etc/mysql/my.cnf`;
/// - a line `#@ PATH` starts the file PATH (relative paths are under
///   `/etc/mysql/`), `#@! PATH` an unreadable one;
///
/// `#` starts a comment in an option file, so a seed taken from a real host
/// is a valid input as it is. Directories are implied by the files under
/// them.
#[derive(Debug, Default)]
pub struct MemFs {
    pub files: BTreeMap<String, Vec<u8>>,
    pub unreadable: BTreeSet<String>,
}

impl MemFs {
    pub fn from_input(data: &[u8]) -> MemFs {
        let mut fs = MemFs::default();
        let mut path = FIRST_FILE.to_string();
        let mut current: Vec<u8> = Vec::new();
        for line in data.split_inclusive(|&b| b == b'\n') {
            let marker = line
                .strip_prefix(b"#@! ")
                .map(|p| (p, true))
                .or_else(|| line.strip_prefix(b"#@ ").map(|p| (p, false)));
            let Some((raw, unreadable)) = marker else {
                current.extend_from_slice(line);
                continue;
            };
            fs.files
                .entry(path.clone())
                .or_default()
                .extend_from_slice(&current);
            current.clear();
            let name = String::from_utf8_lossy(raw).trim().to_string();
            path = if name.starts_with('/') {
                name
            } else {
                format!("/etc/mysql/{name}")
            };
            if unreadable {
                fs.unreadable.insert(path.clone());
            }
        }
        fs.files
            .entry(path)
            .or_default()
            .extend_from_slice(&current);
        fs
    }
}

impl FileSource for MemFs {
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        if self.unreadable.contains(path) {
            return Err(SourceError::Unreadable("Permission denied".to_string()));
        }
        self.files.get(path).cloned().ok_or(SourceError::Missing)
    }

    fn list_dir(&self, path: &str) -> Result<Vec<String>, SourceError> {
        if self.unreadable.contains(path) {
            return Err(SourceError::Unreadable("Permission denied".to_string()));
        }
        let prefix = format!("{}/", path.trim_end_matches('/'));
        let names: BTreeSet<String> = self
            .files
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter_map(|(p, _)| p[prefix.len()..].split('/').next().map(str::to_string))
            .filter(|n| !n.is_empty())
            .collect();
        if names.is_empty() {
            return Err(SourceError::Missing);
        }
        Ok(names.into_iter().collect())
    }
}

/// The roots as the parser takes them.
pub fn roots() -> Vec<String> {
    ROOTS.iter().map(|s| s.to_string()).collect()
}
