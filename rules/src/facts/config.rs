use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One effective option: the last value wins, and it remembers where it was set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionValue {
    /// `None` for a bare flag such as `skip-ssl`.
    pub value: Option<String>,
    /// The name as written (`ssl-ca`, `loose_ssl_ca`).
    pub spelled: String,
    pub group: String,
    pub file: String,
    pub line: u32,
}

impl OptionValue {
    pub fn location(&self) -> crate::Location {
        crate::Location::file(self.file.clone(), Some(self.line))
    }

    /// The value, or `""` for a bare flag.
    pub fn as_str(&self) -> &str {
        self.value.as_deref().unwrap_or("")
    }
}

/// Effective options of a program (mysqld, or the mysql client), keyed by
/// normalized name: lowercase, `-` folded to `_`, `loose_` prefix removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionSet {
    pub options: BTreeMap<String, OptionValue>,
}

impl OptionSet {
    /// Looks an option up by any spelling (`ssl-ca`, `ssl_ca`).
    pub fn get(&self, name: &str) -> Option<&OptionValue> {
        self.options.get(&normalize_option_name(name))
    }
}

/// `Ssl-CA` -> `ssl_ca`; `loose-ssl-ca` -> `ssl_ca`.
pub fn normalize_option_name(name: &str) -> String {
    let n = name.trim().to_ascii_lowercase().replace('-', "_");
    match n.strip_prefix("loose_") {
        Some(rest) => rest.to_string(),
        None => n,
    }
}

/// A scalar from database.yml with the line it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct YmlValue {
    pub value: String,
    pub line: u32,
    /// The value is (or contains) an ERB tag such as `<%= ENV['DB_HOST'] %>`:
    /// its runtime value is unknown.
    pub erb: bool,
}

/// One environment (`production:`) of a Rails database.yml, after anchors,
/// aliases and `<<:` merge keys are resolved and `url:` is folded in.
/// Passwords are never kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbEnvironment {
    pub name: String,
    /// Line of the environment's key.
    pub line: u32,
    pub adapter: Option<YmlValue>,
    pub host: Option<YmlValue>,
    pub port: Option<YmlValue>,
    pub socket: Option<YmlValue>,
    pub username: Option<YmlValue>,
    pub database: Option<YmlValue>,
    pub sslca: Option<YmlValue>,
    pub sslkey: Option<YmlValue>,
    pub sslcert: Option<YmlValue>,
    pub sslcapath: Option<YmlValue>,
    pub sslcipher: Option<YmlValue>,
    pub ssl_mode: Option<YmlValue>,
    pub sslverify: Option<YmlValue>,
    /// `url:` with any password removed.
    pub url: Option<YmlValue>,
    /// Every key written in the environment (merged ones included) that
    /// reads as a TLS setting (`ssl...`, `tls...`), as spelled, with its
    /// line: what the adapter may not read (`ssl_ca` under mysql2,
    /// `sslmode`). Names only, never values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<YmlKey>,
    /// The fields whose value came from `url:` (its query string holds
    /// strings only: `?sslverify=false` is a non-empty string, which Ruby
    /// takes as true).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub url_fields: Vec<String>,
}

/// A key of a database.yml environment, as written (`:ssl_ca` keeps its
/// colon off: Rails symbolizes keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct YmlKey {
    pub name: String,
    pub line: u32,
}

impl DbEnvironment {
    /// True for keys that by convention only hold shared settings for `<<:`
    /// merges (`default: &default`). Rails never connects with them unless
    /// RAILS_ENV names them, and the environments that merge them already
    /// carry their values, so judging them too would only repeat (or
    /// invent) findings.
    pub fn is_template(&self) -> bool {
        const TEMPLATE_NAMES: &[&str] = &["default", "defaults", "common", "base", "shared"];
        self.name.starts_with('.')
            || TEMPLATE_NAMES
                .iter()
                .any(|t| self.name.eq_ignore_ascii_case(t))
    }

    /// True when the adapter is a MySQL one (mysql2, trilogy, mysql) or unknown.
    pub fn is_mysql(&self) -> bool {
        match &self.adapter {
            None => true,
            Some(a) if a.erb => true,
            Some(a) => {
                let a = a.value.to_ascii_lowercase();
                a.contains("mysql") || a == "trilogy" || a == "makara_mysql2"
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseYml {
    pub path: String,
    pub environments: Vec<DbEnvironment>,
    /// The application's `Gemfile.lock` (beside `config/`), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gemfile_lock: Option<GemfileLock>,
}

/// The driver gems an application's `Gemfile.lock` pins: what decides how
/// its database.yml's TLS settings are read (docs/drivers.md).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GemfileLock {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mysql2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trilogy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activerecord: Option<String>,
}

/// A MySQL client library installed on a host, as its package metadata
/// shows it (Debian's `/var/lib/dpkg/info/<package>.shlibs`): what a
/// mysql2 gem built there links against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientLibrary {
    pub family: LibraryFamily,
    /// The package (`libmariadb3`, `libmysqlclient21`).
    pub package: String,
    /// The package's version, as its shlibs file states the minimum
    /// (`1:10.11.19`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The file that showed it.
    pub evidence: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LibraryFamily {
    /// MariaDB Connector/C (`libmariadb.so.3`).
    Libmariadb,
    /// Oracle's `libmysqlclient`.
    Libmysqlclient,
}

impl DatabaseYml {
    /// A path setting of this file (`sslca: config/certs/ca.pem`) as the
    /// one absolute spelling the collector asks the host for and the rules
    /// look files up by: see [`resolve_app_path`].
    pub fn resolve(&self, value: &str) -> String {
        resolve_app_path(&self.path, value)
    }
}

/// `value`, a path setting of the database.yml at `yml_path`, made
/// absolute: a relative one is taken from the application root, the folder
/// that holds `config/database.yml` (Rails runs from there; a file outside a
/// `config/` folder: its own folder). `.`, `..` and doubled slashes are
/// folded lexically, as a reader of the file would: through a symlinked
/// `current` release folder the host's own `..` may lead elsewhere.
pub fn resolve_app_path(yml_path: &str, value: &str) -> String {
    if value.starts_with('/') {
        return fold_path(value);
    }
    let dir = yml_path.rsplit_once('/').map_or("", |(d, _)| d);
    let root = match dir.rsplit_once('/') {
        Some((parent, "config")) => parent,
        _ => dir,
    };
    fold_path(&format!("{root}/{value}"))
}

/// Folds `.`, `..` and doubled slashes of an absolute path, lexically.
fn fold_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `/etc/ssl/openssl.cnf`: the part the RANDFILE rule reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpensslCnf {
    pub path: String,
    /// Active (not commented out) `RANDFILE = ...` lines: (line, text).
    pub randfile: Vec<(u32, String)>,
}

/// An `/etc/passwd` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
}
