//! Where a host keeps its MySQL configuration and keys.
//!
//! `engineyard` is the seed document's layout: `/etc/mysql/my.cnf`, keys in
//! `/db/mysql/<version>/data/{root.crt,server.crt,server.key}`, per-user
//! keys under `/db/mysql/keygen/<user>/` and copies in
//! `~<user>/.mysql/{root.crt,mysql.key,mysql.crt}`. `debian` is a stock
//! Debian/Ubuntu MySQL or MariaDB. Any path can be overridden per host.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The newest MySQL version the seed document's stacks run (its "Pre-existing
/// MySQL 5.7"): the version directory keys are laid out for when none is
/// named.
pub const NEWEST_KNOWN_VERSION: &str = "5.7";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    pub name: String,
    /// Option files mysqld reads first, in order (missing ones are skipped).
    pub option_files: Vec<String>,
    /// Data directories; a `*` matches one path component (`/db/mysql/*/data`).
    pub data_dirs: Vec<String>,
    /// File names of the server's CA, certificate and key inside a data directory.
    pub server_ca: String,
    pub server_cert: String,
    pub server_key: String,
    /// Per-user client keys on database hosts: `<keygen_dir>/<user>/`.
    pub keygen_dir: Option<String>,
    /// Per-user client keys in a home directory: `~<user>/<client_dir>/`.
    pub client_dir: String,
    pub client_ca: String,
    pub client_cert: String,
    pub client_key: String,
    pub openssl_cnf: String,
    /// The OS user mysqld runs as; it owns the server key.
    pub service_user: String,
    /// Where key maintenance moves old keys (`/db/old_keys/{server,user}`).
    pub old_keys_dir: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("unknown layout `{0}` (expected engineyard or debian)")]
    Unknown(String),
    #[error("unknown layout key `{0}` in overrides")]
    UnknownKey(String),
}

impl Layout {
    pub fn engineyard() -> Self {
        Layout {
            name: "engineyard".into(),
            option_files: vec!["/etc/my.cnf".into(), "/etc/mysql/my.cnf".into()],
            data_dirs: vec!["/db/mysql/*/data".into()],
            server_ca: "root.crt".into(),
            server_cert: "server.crt".into(),
            server_key: "server.key".into(),
            keygen_dir: Some("/db/mysql/keygen".into()),
            client_dir: ".mysql".into(),
            client_ca: "root.crt".into(),
            client_cert: "mysql.crt".into(),
            client_key: "mysql.key".into(),
            openssl_cnf: "/etc/ssl/openssl.cnf".into(),
            service_user: "mysql".into(),
            old_keys_dir: "/db/old_keys".into(),
        }
    }

    pub fn debian() -> Self {
        Layout {
            name: "debian".into(),
            data_dirs: vec!["/var/lib/mysql".into()],
            server_ca: "ca.pem".into(),
            server_cert: "server-cert.pem".into(),
            server_key: "server-key.pem".into(),
            keygen_dir: None,
            old_keys_dir: "/var/lib/mysql-old-keys".into(),
            ..Layout::engineyard()
        }
    }

    pub fn named(name: &str) -> Result<Self, LayoutError> {
        match name {
            "engineyard" => Ok(Layout::engineyard()),
            "debian" => Ok(Layout::debian()),
            other => Err(LayoutError::Unknown(other.to_string())),
        }
    }

    /// A layout by name with per-host overrides of single paths
    /// (`keygen_dir = "/srv/keys"`, `data_dirs = "/data/mysql"`).
    pub fn with_overrides(
        name: &str,
        overrides: &BTreeMap<String, String>,
    ) -> Result<Self, LayoutError> {
        let mut l = Layout::named(name)?;
        for (k, v) in overrides {
            let v = v.clone();
            match k.as_str() {
                "option_files" => l.option_files = v.split(',').map(str::to_string).collect(),
                "data_dirs" => l.data_dirs = v.split(',').map(str::to_string).collect(),
                "server_ca" => l.server_ca = v,
                "server_cert" => l.server_cert = v,
                "server_key" => l.server_key = v,
                "keygen_dir" => l.keygen_dir = Some(v),
                "client_dir" => l.client_dir = v,
                "client_ca" => l.client_ca = v,
                "client_cert" => l.client_cert = v,
                "client_key" => l.client_key = v,
                "openssl_cnf" => l.openssl_cnf = v,
                "service_user" => l.service_user = v,
                "old_keys_dir" => l.old_keys_dir = v,
                other => return Err(LayoutError::UnknownKey(other.to_string())),
            }
        }
        Ok(l)
    }

    /// `~user/.mysql` for a home directory.
    pub fn client_dir_for(&self, home: &str) -> String {
        format!("{}/{}", home.trim_end_matches('/'), self.client_dir)
    }

    /// The server's data directory: the `datadir` option when set, else the
    /// first layout data directory that holds one of `paths` (a `*`
    /// component matched against them), else the first pattern itself.
    pub fn data_dir<'p>(
        &self,
        datadir_option: Option<&str>,
        paths: impl IntoIterator<Item = &'p str> + Clone,
    ) -> String {
        if let Some(d) = datadir_option {
            return d.to_string();
        }
        for pattern in &self.data_dirs {
            if let Some(dir) = paths
                .clone()
                .into_iter()
                .find_map(|p| match_dir_pattern(pattern, p))
            {
                return dir;
            }
        }
        self.data_dirs.first().cloned().unwrap_or_default()
    }

    /// The data directory to lay new keys out for when none is given: the
    /// first concrete one, or the first pattern with its version component
    /// taken as the newest MySQL version the seed's stacks run
    /// ([`NEWEST_KNOWN_VERSION`], `/db/mysql/5.7/data`).
    pub fn default_data_dir(&self) -> Option<String> {
        let first = self.data_dirs.first()?;
        Some(first.replacen('*', NEWEST_KNOWN_VERSION, 1))
    }

    /// True when `path` is inside one of the data directories.
    pub fn in_data_dir(&self, path: &str) -> bool {
        self.data_dirs.iter().any(|d| glob_prefix_matches(d, path))
    }
}

/// If `path` lies under `pattern` (with `*` components), the matched directory.
pub fn match_dir_pattern(pattern: &str, path: &str) -> Option<String> {
    let pat: Vec<&str> = pattern.trim_end_matches('/').split('/').collect();
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() <= pat.len() {
        return None;
    }
    let ok = pat.iter().zip(&parts).all(|(a, b)| *a == "*" || a == b);
    ok.then(|| parts[..pat.len()].join("/"))
}

/// Does `path` lie under the directory pattern `dir` (each `*` matching one component)?
fn glob_prefix_matches(dir: &str, path: &str) -> bool {
    let dparts: Vec<&str> = dir.trim_end_matches('/').split('/').collect();
    let pparts: Vec<&str> = path.split('/').collect();
    pparts.len() > dparts.len() && dparts.iter().zip(&pparts).all(|(d, p)| *d == "*" || d == p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_data_dirs() {
        assert_eq!(
            Layout::engineyard().default_data_dir().as_deref(),
            Some("/db/mysql/5.7/data")
        );
        assert_eq!(
            Layout::debian().default_data_dir().as_deref(),
            Some("/var/lib/mysql")
        );
    }

    #[test]
    fn data_dir_patterns_match_one_component() {
        assert_eq!(
            match_dir_pattern("/db/mysql/*/data", "/db/mysql/5.6/data/server.crt").as_deref(),
            Some("/db/mysql/5.6/data")
        );
        assert_eq!(
            match_dir_pattern("/db/mysql/*/data", "/db/mysql/keygen/x"),
            None
        );
        let l = Layout::engineyard();
        assert_eq!(l.data_dir(Some("/srv/db"), ["/x"]), "/srv/db");
        assert_eq!(
            l.data_dir(None, ["/etc/x", "/db/mysql/5.7/data/server.crt"]),
            "/db/mysql/5.7/data"
        );
    }

    #[test]
    fn data_dir_globs_match_one_component() {
        let l = Layout::engineyard();
        assert!(l.in_data_dir("/db/mysql/5.6/data/server.crt"));
        assert!(!l.in_data_dir("/db/mysql/keygen/deploy/mysql.crt"));
        assert!(!l.in_data_dir("/db/mysql/5.6/data"));
    }

    #[test]
    fn overrides_replace_single_paths() {
        let mut o = BTreeMap::new();
        o.insert("keygen_dir".to_string(), "/srv/keys".to_string());
        let l = Layout::with_overrides("engineyard", &o).unwrap();
        assert_eq!(l.keygen_dir.as_deref(), Some("/srv/keys"));
        o.insert("nope".to_string(), String::new());
        assert!(Layout::with_overrides("engineyard", &o).is_err());
    }
}
