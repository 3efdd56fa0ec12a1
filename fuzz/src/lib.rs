//! Helpers shared by the fuzz targets: turning one fuzz input into the
//! several files an option-file parse reads.

pub use sslaudit_rules::testkit::MemFs;

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
pub fn host_files(data: &[u8]) -> MemFs {
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

/// The roots as the parser takes them.
pub fn roots() -> Vec<String> {
    ROOTS.iter().map(|s| s.to_string()).collect()
}
