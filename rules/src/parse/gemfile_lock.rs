//! An application's `Gemfile.lock` to [`GemfileLock`] facts, and Debian's
//! `shlibs` files to [`ClientLibrary`] facts: the driver and the library
//! that decide what database.yml's TLS settings really do
//! (docs/drivers.md).
//!
//! Bundler writes every resolved gem once, four spaces in, under a
//! source's `specs:` (`    mysql2 (0.5.3)`, `    mysql2 (0.5.6-x86_64-linux)`
//! for a platform build); the gems those depend on follow six spaces in and
//! are not resolutions. Nothing else of the file is read.

use crate::facts::{ClientLibrary, GemfileLock, LibraryFamily};

/// Largest Gemfile.lock read ([`super::limits`]).
pub const MAX_INPUT_BYTES: usize = super::limits::GEMFILE_LOCK_BYTES;

/// The Gemfile.lock that belongs with a database.yml: in the application
/// root, the folder that holds `config/` (for a file outside `config/`, its
/// own folder).
pub fn path_for(database_yml: &str) -> String {
    crate::facts::resolve_app_path(database_yml, "Gemfile.lock")
}

/// The driver gems a Gemfile.lock resolves. A file over the size limit or
/// not UTF-8 yields what its readable lines name (a lock file is a list:
/// there is no structure to lose).
pub fn parse_gemfile_lock(path: &str, text: &str) -> GemfileLock {
    let mut lock = GemfileLock {
        path: path.to_string(),
        ..GemfileLock::default()
    };
    let text = &text[..floor_char_boundary(text, MAX_INPUT_BYTES)];
    for line in text.lines() {
        // Exactly four spaces: a resolved spec (six are its dependencies).
        let Some(spec) = line.strip_prefix("    ").filter(|l| !l.starts_with(' ')) else {
            continue;
        };
        let Some((name, rest)) = spec.split_once(" (") else {
            continue;
        };
        let Some(version) = rest.strip_suffix(')') else {
            continue;
        };
        // `0.5.6-x86_64-linux`: the platform is not part of the version.
        let version = version.split('-').next().unwrap_or(version).trim();
        let slot = match name.trim() {
            "mysql2" => &mut lock.mysql2,
            "trilogy" => &mut lock.trilogy,
            "activerecord" => &mut lock.activerecord,
            _ => continue,
        };
        if slot.is_none() && !version.is_empty() {
            *slot = Some(version.to_string());
        }
    }
    lock
}

fn floor_char_boundary(text: &str, max: usize) -> usize {
    if text.len() <= max {
        return text.len();
    }
    (0..=max)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0)
}

/// The packages whose shlibs files name a MySQL client library, and their
/// family. Debian and Ubuntu name the runtime library packages this way
/// (`libmariadb3`; `libmysqlclient21` for MySQL 8.0, `libmysqlclient24` for
/// 8.4).
pub const LIBRARY_PACKAGES: [(&str, LibraryFamily); 5] = [
    ("libmariadb3", LibraryFamily::Libmariadb),
    ("libmysqlclient24", LibraryFamily::Libmysqlclient),
    ("libmysqlclient21", LibraryFamily::Libmysqlclient),
    ("libmysqlclient20", LibraryFamily::Libmysqlclient),
    ("libmysqlclient18", LibraryFamily::Libmysqlclient),
];

/// The architectures whose dpkg metadata is looked at.
pub const DPKG_ARCHES: [&str; 2] = ["amd64", "arm64"];

/// Where dpkg keeps a package's shlibs file.
pub fn shlibs_path(package: &str, arch: &str) -> String {
    format!("/var/lib/dpkg/info/{package}:{arch}.shlibs")
}

/// A shlibs file (`libmariadb 3 libmariadb3 (>= 1:10.11.19)`) as a library
/// fact; `None` when no line names the package.
pub fn parse_shlibs(
    path: &str,
    package: &str,
    family: LibraryFamily,
    text: &str,
) -> Option<ClientLibrary> {
    let line = text
        .lines()
        .find(|l| l.split_whitespace().nth(2) == Some(package))?;
    let version = line
        .split_once("(>=")
        .and_then(|(_, v)| v.split(')').next())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    Some(ClientLibrary {
        family,
        package: package.to_string(),
        version,
        evidence: path.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = "GEM
  remote: https://rubygems.org/
  specs:
    activerecord (6.1.7.10)
      activemodel (= 6.1.7.10)
      activesupport (= 6.1.7.10)
    mysql2 (0.5.6-x86_64-linux)
    rake (13.0.6)
    trilogy (2.9.0)
      bigdecimal

PLATFORMS
  ruby

DEPENDENCIES
  mysql2 (~> 0.5)
  trilogy

BUNDLED WITH
   2.4.10
";

    #[test]
    fn resolved_versions_only() {
        let l = parse_gemfile_lock("/app/Gemfile.lock", LOCK);
        assert_eq!(l.mysql2.as_deref(), Some("0.5.6"));
        assert_eq!(l.trilogy.as_deref(), Some("2.9.0"));
        assert_eq!(l.activerecord.as_deref(), Some("6.1.7.10"));
        assert_eq!(l.path, "/app/Gemfile.lock");
        // A dependency line (six spaces) or DEPENDENCIES is not a resolution.
        let deps = "GEM\n  specs:\n    rails (7.1.0)\n      mysql2 (>= 0.4)\nDEPENDENCIES\n  mysql2 (~> 0.5)\n";
        assert_eq!(parse_gemfile_lock("/a", deps).mysql2, None);
    }

    #[test]
    fn lock_beside_the_config_folder() {
        assert_eq!(
            path_for("/data/shop/current/config/database.yml"),
            "/data/shop/current/Gemfile.lock"
        );
        assert_eq!(path_for("/srv/app/database.yml"), "/srv/app/Gemfile.lock");
    }

    #[test]
    fn shlibs_name_the_package_and_version() {
        let l = parse_shlibs(
            "/var/lib/dpkg/info/libmariadb3:amd64.shlibs",
            "libmariadb3",
            LibraryFamily::Libmariadb,
            "libmariadb 3 libmariadb3 (>= 1:10.11.19)\n",
        )
        .unwrap();
        assert_eq!(l.version.as_deref(), Some("1:10.11.19"));
        assert_eq!(l.family, LibraryFamily::Libmariadb);
        assert!(
            parse_shlibs(
                "/x",
                "libmariadb3",
                LibraryFamily::Libmariadb,
                "libfoo 1 libfoo1\n"
            )
            .is_none()
        );
        let unversioned = parse_shlibs(
            "/x",
            "libmysqlclient21",
            LibraryFamily::Libmysqlclient,
            "libmysqlclient 21 libmysqlclient21\n",
        )
        .unwrap();
        assert_eq!(unversioned.version, None);
    }

    #[test]
    fn oversized_and_odd_input_never_panics() {
        let big = format!(
            "GEM\n  specs:\n    mysql2 (0.5.3)\n{}",
            "é".repeat(MAX_INPUT_BYTES)
        );
        assert_eq!(
            parse_gemfile_lock("/a", &big).mysql2.as_deref(),
            Some("0.5.3")
        );
        for odd in ["    mysql2 (", "    mysql2 ()", "    (1.0)", ""] {
            let _ = parse_gemfile_lock("/a", odd);
        }
    }
}
