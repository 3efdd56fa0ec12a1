//! Server version strings (`SELECT @@version`, the handshake greeting) to
//! [`MysqlVersion`].

use crate::facts::{Flavor, MysqlVersion};

/// Parses `5.6.21-log`, `5.5.40-0ubuntu0.14.04.1`, `10.11.19-MariaDB-0+deb12u1`,
/// `5.5.5-10.11.6-MariaDB-log`, `8.0.36-28`... `None` when the string does not
/// start with `MAJOR.MINOR.PATCH`.
///
/// The flavor is MariaDB when the version or the comment says so, Percona
/// when either mentions Percona (Percona's `8.0.36-28` suffix alone looks like
/// any distribution's build number, so only the comment can tell), and
/// MySQL otherwise. `raw` keeps the trimmed string as reported.
pub fn parse_version(version: &str, version_comment: Option<&str>) -> Option<MysqlVersion> {
    let raw = version.trim();
    let (mut triple, rest) = leading_triple(raw)?;
    // MariaDB before 11.0 prefixes its greeting with "5.5.5-" so that old
    // clients, which assumed version 5 at most, accept it; the real version
    // follows. A true MySQL 5.5.5 is followed by a suffix such as "-m3", not
    // by a 10.x version.
    if triple == (5, 5, 5) {
        if let Some((real, _)) = rest.strip_prefix('-').and_then(leading_triple) {
            if real.0 >= 10 {
                triple = real;
            }
        }
    }
    let comment = version_comment.unwrap_or("").to_ascii_lowercase();
    let lower = raw.to_ascii_lowercase();
    let flavor = if lower.contains("mariadb") || comment.contains("mariadb") {
        Flavor::Mariadb
    } else if lower.contains("percona") || comment.contains("percona") {
        Flavor::Percona
    } else {
        Flavor::Mysql
    };
    let (major, minor, patch) = triple;
    Some(MysqlVersion {
        flavor,
        major,
        minor,
        patch,
        raw: raw.to_string(),
    })
}

/// `MAJOR.MINOR.PATCH` at the start of `s` and what follows it, which must
/// be the end or a separator (`-log`, `+deb`), not more of a version.
fn leading_triple(s: &str) -> Option<((u32, u32, u32), &str)> {
    let (major, s) = number(s)?;
    let (minor, s) = number(s.strip_prefix('.')?)?;
    let (patch, rest) = number(s.strip_prefix('.')?)?;
    match rest.chars().next() {
        Some(c) if c.is_ascii_alphanumeric() || c == '.' => None,
        _ => Some(((major, minor, patch), rest)),
    }
}

fn number(s: &str) -> Option<(u32, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if end == 0 {
        return None;
    }
    let n = s[..end].parse().ok()?;
    Some((n, &s[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(version: &str, comment: Option<&str>) -> (Flavor, (u32, u32, u32)) {
        let v = parse_version(version, comment).expect("parses");
        assert_eq!(v.raw, version.trim());
        (v.flavor, v.triple())
    }

    #[test]
    fn mysql_versions() {
        assert_eq!(parsed("5.6.21-log", None), (Flavor::Mysql, (5, 6, 21)));
        assert_eq!(
            parsed("5.5.40-0ubuntu0.14.04.1", Some("(Ubuntu)")),
            (Flavor::Mysql, (5, 5, 40))
        );
        assert_eq!(
            parsed("8.4.3", Some("MySQL Community Server - GPL")),
            (Flavor::Mysql, (8, 4, 3))
        );
        assert_eq!(parsed(" 5.7.44-log\n", None), (Flavor::Mysql, (5, 7, 44)));
        // A real MySQL 5.5.5 milestone is not MariaDB's compatibility prefix.
        assert_eq!(parsed("5.5.5-m3-log", None), (Flavor::Mysql, (5, 5, 5)));
    }

    #[test]
    fn mariadb_versions() {
        assert_eq!(
            parsed("10.11.19-MariaDB-0+deb12u1", Some("Debian 12")),
            (Flavor::Mariadb, (10, 11, 19))
        );
        assert_eq!(
            parsed("11.4.2-MariaDB", None),
            (Flavor::Mariadb, (11, 4, 2))
        );
        assert_eq!(
            parsed("10.3.39", Some("mariadb.org binary distribution")),
            (Flavor::Mariadb, (10, 3, 39))
        );
    }

    #[test]
    fn mariadb_replication_compat_prefix() {
        let v = parse_version("5.5.5-10.11.6-MariaDB-log", None).expect("parses");
        assert_eq!(v.flavor, Flavor::Mariadb);
        assert_eq!(v.triple(), (10, 11, 6));
        assert_eq!(v.raw, "5.5.5-10.11.6-MariaDB-log");
        assert!(v.at_least(10, 4, 6));
    }

    #[test]
    fn percona_only_by_comment() {
        assert_eq!(
            parsed(
                "8.0.36-28",
                Some("Percona Server (GPL), Release 28, Revision 47601f19")
            ),
            (Flavor::Percona, (8, 0, 36))
        );
        assert_eq!(
            parsed(
                "5.7.44-48-log",
                Some("Percona XtraDB Cluster (GPL), Release rel48")
            ),
            (Flavor::Percona, (5, 7, 44))
        );
        assert_eq!(parsed("8.0.36-28", None), (Flavor::Mysql, (8, 0, 36)));
        assert_eq!(
            parsed("8.0.36-28", Some("MySQL Community Server - GPL")),
            (Flavor::Mysql, (8, 0, 36))
        );
    }

    #[test]
    fn garbage_is_none() {
        for s in [
            "",
            "   ",
            "MariaDB",
            "v8.0.36",
            "8.0",
            "8",
            "8.0.",
            "8..36",
            "8.0.36a",
            "8.0.36.1",
            "99999999999.0.0",
            "-8.0.36",
            "８.0.36",
        ] {
            assert_eq!(parse_version(s, Some("MariaDB")), None, "{s:?}");
        }
    }
}
