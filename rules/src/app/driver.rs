//! What a database.yml environment's TLS settings really do: the table of
//! driver behaviour (adapter, gem version, client library -> encrypted,
//! verified, identity checked), and its verdict per environment.
//!
//! The same file can mean a verified connection under one driver and a
//! plaintext one under another: mysql2 0.5.3 on MariaDB Connector/C ignores
//! `ssl_mode` altogether, Rails' Trilogy adapter negotiates TLS only when
//! `ssl_mode` asks for it, and libmysqlclient encrypts opportunistically.
//! Each row of [`ROWS`] says which drivers it covers, how it reads the
//! settings, and what it rests on: the real-driver matrix run against real
//! servers in CI (scanner/tests/rails_live.rs), or the cited sources.
//! docs/drivers.md holds the table as [`markdown_table`] prints it (a test
//! keeps the two in step).
//!
//! When the facts do not single out a row (no Gemfile.lock, no visible
//! client library), every row that fits is evaluated and only what they
//! all agree on is claimed; the rest is `unknown`, and no rule judges it.

use serde::{Deserialize, Serialize};

use crate::app::transport::{Transport, set_value, transport};
use crate::facts::{ClientLibrary, DatabaseYml, DbEnvironment, HostFacts, LibraryFamily, YmlValue};

/// Yes, no, or not known from the facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tri {
    Yes,
    No,
    Unknown,
}

impl Tri {
    fn of(b: bool) -> Tri {
        if b { Tri::Yes } else { Tri::No }
    }

    /// What two candidate drivers agree on.
    fn meet(self, other: Tri) -> Tri {
        if self == other { self } else { Tri::Unknown }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Tri::Yes => "yes",
            Tri::No => "no",
            Tri::Unknown => "unknown",
        }
    }
}

/// The adapter a database.yml environment names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adapter {
    Mysql2,
    Trilogy,
}

impl Adapter {
    /// The adapter as written; `None` for ERB or a non-MySQL one.
    pub fn of(env: &DbEnvironment) -> Option<Adapter> {
        let a = env.adapter.as_ref()?;
        if a.erb {
            return None;
        }
        match a.value.trim().to_ascii_lowercase().as_str() {
            "mysql2" | "makara_mysql2" => Some(Adapter::Mysql2),
            "trilogy" => Some(Adapter::Trilogy),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Adapter::Mysql2 => "mysql2",
            Adapter::Trilogy => "trilogy",
        }
    }

    /// The database.yml keys the adapter hands to its driver that concern
    /// TLS. Any other key that reads as a TLS setting is never read.
    pub fn tls_keys(self) -> &'static [&'static str] {
        match self {
            // mysql2's Client#initialize (lib/mysql2/client.rb).
            Adapter::Mysql2 => &[
                "sslkey",
                "sslcert",
                "sslca",
                "sslcapath",
                "sslcipher",
                "sslverify",
                "ssl_mode",
            ],
            // The trilogy gem's options (contrib/ruby/ext/trilogy-ruby/cext.c).
            Adapter::Trilogy => &[
                "ssl_ca",
                "ssl_capath",
                "ssl_cert",
                "ssl_key",
                "ssl_cipher",
                "ssl_crl",
                "ssl_crlpath",
                "ssl_mode",
                "tls_ciphersuites",
                "tls_min_version",
                "tls_max_version",
            ],
        }
    }
}

/// `ssl_mode` as written: mysql2 and Rails accept `disabled`, `:disabled`,
/// `DISABLED` and `SSL_MODE_DISABLED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disabled,
    Preferred,
    Required,
    VerifyCa,
    VerifyIdentity,
    /// ERB, or a value no driver knows.
    Unknown,
}

impl SslMode {
    pub fn parse(v: &YmlValue) -> SslMode {
        if v.erb {
            return SslMode::Unknown;
        }
        SslMode::of(&v.value)
    }

    /// A literal value in any of those spellings (also `ssl-mode=` of an
    /// option file).
    pub fn of(value: &str) -> SslMode {
        let m = value
            .trim()
            .trim_start_matches(':')
            .to_ascii_uppercase()
            .replace('-', "_");
        match m.strip_prefix("SSL_MODE_").unwrap_or(&m) {
            "DISABLED" => SslMode::Disabled,
            "PREFERRED" => SslMode::Preferred,
            "REQUIRED" => SslMode::Required,
            "VERIFY_CA" => SslMode::VerifyCa,
            "VERIFY_IDENTITY" => SslMode::VerifyIdentity,
            _ => SslMode::Unknown,
        }
    }
}

/// The TLS settings of one environment, as a driver reads them.
#[derive(Debug, Clone, Copy)]
struct Settings {
    /// `sslkey`, `sslcert`, `sslca`, `sslcapath` or `sslcipher` is set
    /// (the trilogy spellings under trilogy).
    any_file_option: bool,
    /// A CA to verify against: `sslca` or `sslcapath`.
    ca: bool,
    /// The `sslverify` key is there at all (mysql2 calls `ssl_set` then).
    sslverify_present: bool,
    mode: Option<SslMode>,
}

impl Settings {
    fn of(env: &DbEnvironment) -> Settings {
        let set = |v: &Option<YmlValue>| set_value(v).is_some();
        Settings {
            any_file_option: set(&env.sslkey)
                || set(&env.sslcert)
                || set(&env.sslca)
                || set(&env.sslcapath)
                || set(&env.sslcipher),
            ca: set(&env.sslca) || set(&env.sslcapath),
            sslverify_present: env.sslverify.is_some(),
            mode: env.ssl_mode.as_ref().map(SslMode::parse),
        }
    }
}

/// What a driver does with an environment's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Effect {
    encrypted: Tri,
    verified: Tri,
    identity: Tri,
    /// Settings the driver reads and then ignores (`ssl_mode` on mysql2
    /// 0.5.3 with Connector/C), with why.
    ignored: Vec<(&'static str, &'static str)>,
}

/// How a row's driver reads the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Semantics {
    /// mysql2 up to 0.5.3 on Connector/C before 3.4.
    Mysql2ConnectorC,
    /// mysql2 0.5.4 and later on Connector/C before 3.4.
    Mysql2ConnectorCModes,
    /// mysql2 on Connector/C 3.4 and later.
    Mysql2ConnectorC34,
    /// mysql2 on libmysqlclient 5.7.11 and later (`ssl_mode` passed through).
    Mysql2Libmysqlclient,
    /// Rails' Trilogy adapter and the trilogy gem.
    Trilogy,
}

impl Semantics {
    fn effect(self, s: Settings) -> Effect {
        match self {
            Semantics::Mysql2ConnectorC => {
                let encrypted = s.any_file_option || s.sslverify_present;
                Effect {
                    encrypted: Tri::of(encrypted),
                    verified: Tri::of(encrypted && s.ca),
                    identity: Tri::No,
                    ignored: s
                        .mode
                        .map(|_| ("ssl_mode", "mysql2 before 0.5.4 does not pass ssl_mode to MariaDB Connector/C (it warns \"does not support ssl_mode as expected\")"))
                        .into_iter()
                        .collect(),
                }
            }
            Semantics::Mysql2ConnectorCModes => {
                let base = s.any_file_option || s.sslverify_present;
                let ignored_mode = (
                    "ssl_mode",
                    "mysql2 on MariaDB Connector/C maps only disabled, required and verify_identity; preferred and verify_ca are ignored with a warning",
                );
                match s.mode {
                    Some(SslMode::Disabled) => Effect {
                        encrypted: Tri::No,
                        verified: Tri::No,
                        identity: Tri::No,
                        ignored: Vec::new(),
                    },
                    Some(SslMode::Required) => Effect {
                        encrypted: Tri::Yes,
                        verified: Tri::of(s.ca),
                        identity: Tri::No,
                        ignored: Vec::new(),
                    },
                    Some(SslMode::VerifyIdentity) => Effect {
                        encrypted: Tri::Yes,
                        verified: Tri::Yes,
                        // Skipped for IP addresses and tunnels (mysql2#879).
                        identity: Tri::Unknown,
                        ignored: Vec::new(),
                    },
                    Some(SslMode::Unknown) => Effect {
                        encrypted: Tri::Unknown,
                        verified: Tri::Unknown,
                        identity: Tri::Unknown,
                        ignored: Vec::new(),
                    },
                    Some(SslMode::Preferred | SslMode::VerifyCa) | None => Effect {
                        encrypted: Tri::of(base),
                        verified: Tri::of(base && s.ca),
                        identity: Tri::No,
                        ignored: s.mode.map(|_| ignored_mode).into_iter().collect(),
                    },
                }
            }
            Semantics::Mysql2ConnectorC34 => Effect {
                encrypted: Tri::Yes,
                verified: Tri::Yes,
                identity: Tri::Yes,
                ignored: match s.mode {
                    Some(SslMode::Disabled) => vec![(
                        "ssl_mode",
                        "Connector/C 3.4 enforces TLS and ignores ssl_mode: disabled (mysql2#1379)",
                    )],
                    _ => Vec::new(),
                },
            },
            Semantics::Mysql2Libmysqlclient => {
                let (encrypted, verified, identity) = match s.mode {
                    Some(SslMode::Disabled) => (Tri::No, Tri::No, Tri::No),
                    Some(SslMode::Preferred | SslMode::Required) => (Tri::Yes, Tri::No, Tri::No),
                    Some(SslMode::VerifyCa) => (Tri::Yes, Tri::Yes, Tri::No),
                    Some(SslMode::VerifyIdentity) => (Tri::Yes, Tri::Yes, Tri::Yes),
                    Some(SslMode::Unknown) => (Tri::Unknown, Tri::Unknown, Tri::Unknown),
                    // PREFERRED by default: encrypted when the server offers
                    // TLS; whether sslverify's connect flag upgrades it to a
                    // verifying mode is not settled for every version.
                    None if s.sslverify_present || s.ca => (Tri::Yes, Tri::Unknown, Tri::Unknown),
                    None => (Tri::Yes, Tri::No, Tri::No),
                };
                Effect {
                    encrypted,
                    verified,
                    identity,
                    ignored: Vec::new(),
                }
            }
            Semantics::Trilogy => {
                let (encrypted, verified, identity) = match s.mode {
                    None | Some(SslMode::Disabled) => (Tri::No, Tri::No, Tri::No),
                    Some(SslMode::Preferred | SslMode::Required) => (Tri::Yes, Tri::No, Tri::No),
                    Some(SslMode::VerifyCa) => (Tri::Yes, Tri::Yes, Tri::No),
                    Some(SslMode::VerifyIdentity) => (Tri::Yes, Tri::Yes, Tri::Yes),
                    Some(SslMode::Unknown) => (Tri::Unknown, Tri::Unknown, Tri::Unknown),
                };
                Effect {
                    encrypted,
                    verified,
                    identity,
                    ignored: Vec::new(),
                }
            }
        }
    }
}

/// What a row rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The real-driver matrix, run in CI against real servers
    /// (scanner/tests/rails_live.rs), with these versions.
    Measured(&'static str),
    /// Read from the drivers' sources and issue trackers.
    Sources,
}

/// One row of the driver table.
#[derive(Debug, Clone, Copy)]
pub struct DriverRow {
    pub id: &'static str,
    pub adapter: Adapter,
    /// Gem versions covered: `[from, to)`; `None` is open.
    pub gem: (Option<&'static str>, Option<&'static str>),
    /// The client library, for adapters that use one.
    pub library: Option<LibraryFamily>,
    /// Library versions covered, as the driver table compares them (see
    /// [`library_version`]): `[from, to)`.
    pub library_versions: (Option<&'static str>, Option<&'static str>),
    semantics: Semantics,
    /// What the row does with database.yml's settings, in a sentence.
    pub behaviour: &'static str,
    pub basis: Basis,
    pub sources: &'static [&'static str],
}

/// The table (docs/drivers.md).
pub static ROWS: &[DriverRow] = &[
    DriverRow {
        id: "mysql2-0.5.3-connector-c",
        adapter: Adapter::Mysql2,
        gem: (None, Some("0.5.4")),
        library: Some(LibraryFamily::Libmariadb),
        library_versions: (None, Some("3.4")),
        semantics: Semantics::Mysql2ConnectorC,
        behaviour: "TLS when any of sslca, sslcapath, sslkey, sslcert, sslcipher is set or the sslverify key is present (even `false`); the chain is verified only against sslca/sslcapath; the host name is never checked (sslverify: true changes nothing); ssl_mode is ignored with a warning",
        basis: Basis::Measured(
            "mysql2 0.5.3, ActiveRecord 6.1.7, libmariadb3 1:10.11 (Connector/C 3.3), MariaDB 10.11",
        ),
        sources: &[
            "https://github.com/brianmario/mysql2/blob/0.5.3/ext/mysql2/client.c (rb_set_ssl_mode_option)",
            "https://github.com/brianmario/mysql2/blob/0.5.3/lib/mysql2/client.rb (ssl_set, SSL_VERIFY_SERVER_CERT)",
            "https://github.com/brianmario/mysql2/issues/936",
            "https://github.com/brianmario/mysql2/issues/1576",
        ],
    },
    DriverRow {
        id: "mysql2-0.5.4-connector-c",
        adapter: Adapter::Mysql2,
        gem: (Some("0.5.4"), None),
        library: Some(LibraryFamily::Libmariadb),
        library_versions: (None, Some("3.4")),
        semantics: Semantics::Mysql2ConnectorCModes,
        behaviour: "as mysql2 0.5.3, except that ssl_mode: disabled turns TLS off, required enforces it (verifying only against sslca), and verify_identity verifies the chain and the name, but skips the name for IP addresses and tunnels; preferred and verify_ca are ignored with a warning",
        basis: Basis::Sources,
        sources: &[
            "https://github.com/brianmario/mysql2/blob/0.5.5/ext/mysql2/client.c (rb_set_ssl_mode_option: MariaDB and Connector/C 3.x)",
            "https://github.com/brianmario/mysql2/issues/879",
        ],
    },
    DriverRow {
        id: "mysql2-connector-c-3.4",
        adapter: Adapter::Mysql2,
        gem: (None, None),
        library: Some(LibraryFamily::Libmariadb),
        library_versions: (Some("3.4"), None),
        semantics: Semantics::Mysql2ConnectorC34,
        behaviour: "Connector/C 3.4 (MariaDB 11.4 and later) negotiates TLS and verifies the server's certificate and name by default; ssl_mode: disabled is ignored",
        basis: Basis::Sources,
        sources: &[
            "https://mariadb.com/kb/en/mariadb-connector-c-3-4-0-release-notes/",
            "https://github.com/brianmario/mysql2/issues/1379",
            "https://github.com/brianmario/mysql2/issues/1613",
        ],
    },
    DriverRow {
        id: "mysql2-libmysqlclient",
        adapter: Adapter::Mysql2,
        gem: (None, None),
        library: Some(LibraryFamily::Libmysqlclient),
        library_versions: (None, None),
        semantics: Semantics::Mysql2Libmysqlclient,
        behaviour: "ssl_mode goes to MYSQL_OPT_SSL_MODE: PREFERRED by default (encrypted when the server offers TLS, nothing verified), REQUIRED encrypts without verifying, VERIFY_CA verifies the chain, VERIFY_IDENTITY the chain and the name, DISABLED turns TLS off",
        basis: Basis::Sources,
        sources: &[
            "https://dev.mysql.com/doc/c-api/8.0/en/mysql-options.html (MYSQL_OPT_SSL_MODE)",
            "https://github.com/brianmario/mysql2/blob/0.5.6/ext/mysql2/client.c (FULL_SSL_MODE_SUPPORT)",
        ],
    },
    DriverRow {
        id: "rails-trilogy",
        adapter: Adapter::Trilogy,
        gem: (None, None),
        library: None,
        library_versions: (None, None),
        semantics: Semantics::Trilogy,
        behaviour: "TLS only when ssl_mode asks for it (no ssl_mode: plaintext, whatever ssl_ca says); Rails maps preferred and required to modes that do not verify, verify_ca verifies the chain (ssl_ca, or the system store), verify_identity the chain and the name; mysql2's sslca/sslkey/sslcert are not read",
        basis: Basis::Sources,
        sources: &[
            "https://github.com/trilogy-libraries/trilogy/blob/main/contrib/ruby/ext/trilogy-ruby/cext.c (authenticate, ssl_mode)",
            "https://github.com/rails/rails/blob/main/activerecord/lib/active_record/connection_adapters/trilogy_adapter.rb (SSL_MODES)",
        ],
    },
];

/// A library's version as the table compares it: MariaDB Connector/C's own
/// version. Debian's `libmariadb3` carries the server's version (epoch `1:`,
/// `10.11.19`); server series before 11.4 ship Connector/C 3.3 or older,
/// 11.4 and later 3.4.
pub fn library_version(lib: &ClientLibrary) -> Option<String> {
    let v = lib.version.as_deref()?;
    let v = v.split_once(':').map_or(v, |(_, rest)| rest);
    let v = v.split(['-', '+', '~']).next().unwrap_or(v);
    if lib.family != LibraryFamily::Libmariadb {
        return Some(v.to_string());
    }
    let major: u32 = v.split('.').next()?.parse().ok()?;
    if major >= 10 {
        // A server-series package.
        Some(if cmp_versions(v, "11.4") == std::cmp::Ordering::Less {
            "3.3".to_string()
        } else {
            "3.4".to_string()
        })
    } else {
        Some(v.to_string())
    }
}

/// Dotted numeric versions (`0.5.10` after `0.5.9`); a part that is not a
/// number compares as 0.
pub fn cmp_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |s: &str| -> Vec<u64> {
        s.split('.')
            .map(|p| {
                p.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
                    .parse()
                    .unwrap_or(0)
            })
            .collect()
    };
    let (a, b) = (parts(a), parts(b));
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (
            a.get(i).copied().unwrap_or(0),
            b.get(i).copied().unwrap_or(0),
        );
        if x != y {
            return x.cmp(&y);
        }
    }
    std::cmp::Ordering::Equal
}

fn in_range(v: Option<&str>, range: (Option<&str>, Option<&str>)) -> bool {
    let Some(v) = v else {
        // Unknown: every range may hold it.
        return true;
    };
    range
        .0
        .is_none_or(|from| cmp_versions(v, from) != std::cmp::Ordering::Less)
        && range
            .1
            .is_none_or(|to| cmp_versions(v, to) == std::cmp::Ordering::Less)
}

/// The driver an environment runs on, as far as the host shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Driver {
    /// `mysql2`, `trilogy`, or the adapter as written.
    pub adapter: String,
    /// The gem version from the application's Gemfile.lock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gem_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gemfile_lock: Option<String>,
    /// The client library (`libmariadb3 1:10.11.19`), when one is visible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library: Option<String>,
}

impl Driver {
    /// `mysql2 0.5.3 on libmariadb3 1:10.11.19`, for messages.
    pub fn describe(&self) -> String {
        let mut s = self.adapter.clone();
        match &self.gem_version {
            Some(v) => s.push_str(&format!(" {v}")),
            None => s.push_str(" (version unknown: no Gemfile.lock entry)"),
        }
        if let Some(lib) = &self.library {
            s.push_str(&format!(" on {lib}"));
        }
        s
    }
}

/// The verdict for one database.yml environment: what its driver does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvTls {
    pub path: String,
    pub environment: String,
    /// The host written in database.yml (literal, TCP), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Its line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_line: Option<u32>,
    pub driver: Driver,
    pub encrypted: Tri,
    pub verified: Tri,
    pub identity: Tri,
    /// The driver-table rows the verdict rests on (one when the facts
    /// single a driver out).
    pub rows: Vec<String>,
    /// Settings the driver reads and ignores, with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<IgnoredSetting>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IgnoredSetting {
    pub key: String,
    pub line: u32,
    pub why: String,
}

/// The library a mysql2 gem on this host links against: the one family
/// installed, or `None` when none or both are visible.
fn host_library(libs: &[ClientLibrary]) -> Option<&ClientLibrary> {
    let mut families = libs.iter().map(|l| l.family).collect::<Vec<_>>();
    families.dedup();
    if families.len() == 1 {
        libs.first()
    } else {
        None
    }
}

/// The verdict for `env` of `yml` on `host`; `None` for templates and
/// environments that are not MySQL ones.
pub fn env_tls(host: &HostFacts, yml: &DatabaseYml, env: &DbEnvironment) -> Option<EnvTls> {
    if env.is_template() || !env.is_mysql() {
        return None;
    }
    let adapter = Adapter::of(env);
    let lock = yml.gemfile_lock.as_ref();
    let gem_version = match adapter {
        Some(Adapter::Mysql2) => lock.and_then(|l| l.mysql2.clone()),
        Some(Adapter::Trilogy) => lock.and_then(|l| l.trilogy.clone()),
        None => None,
    };
    let lib = match adapter {
        Some(Adapter::Mysql2) => host_library(&host.client_libraries),
        _ => None,
    };
    let driver = Driver {
        adapter: adapter.map_or_else(
            || {
                env.adapter
                    .as_ref()
                    .map_or("(no adapter)".to_string(), |a| a.value.trim().to_string())
            },
            |a| a.as_str().to_string(),
        ),
        gem_version: gem_version.clone(),
        gemfile_lock: lock.map(|l| l.path.clone()),
        library: lib.map(|l| match &l.version {
            Some(v) => format!("{} {v}", l.package),
            None => l.package.clone(),
        }),
    };
    let (host_value, host_line) = match transport(env) {
        Transport::Tcp => env
            .host
            .as_ref()
            .filter(|h| !h.erb)
            .map_or((None, None), |h| {
                (Some(h.value.trim().to_string()), Some(h.line))
            }),
        Transport::Socket(_) => (None, None),
    };
    let mut out = EnvTls {
        path: yml.path.clone(),
        environment: env.name.clone(),
        host: host_value,
        host_line,
        driver,
        encrypted: Tri::Unknown,
        verified: Tri::Unknown,
        identity: Tri::Unknown,
        rows: Vec::new(),
        ignored: Vec::new(),
    };
    if matches!(transport(env), Transport::Socket(_)) {
        // The Unix socket never carries TLS (SSL007 says so).
        out.encrypted = Tri::No;
        out.verified = Tri::No;
        out.identity = Tri::No;
        return Some(out);
    }
    let Some(adapter) = adapter else {
        return Some(out);
    };
    if env.url.as_ref().is_some_and(|u| u.erb) {
        // `url: <%= ENV["DATABASE_URL"] %>`: its query may set anything.
        return Some(out);
    }
    let lib_family = lib.map(|l| l.family);
    let lib_version = lib.and_then(library_version);
    let candidates: Vec<&DriverRow> = ROWS
        .iter()
        .filter(|r| r.adapter == adapter)
        .filter(|r| in_range(gem_version.as_deref(), r.gem))
        .filter(|r| match (r.library, lib_family) {
            (None, _) | (_, None) => true,
            (Some(want), Some(have)) => want == have,
        })
        .filter(|r| r.library.is_none() || in_range(lib_version.as_deref(), r.library_versions))
        .collect();
    let settings = Settings::of(env);
    let mut effects = candidates.iter().map(|r| r.semantics.effect(settings));
    let Some(first) = effects.next() else {
        return Some(out);
    };
    let merged = effects.fold(first, |acc, e| Effect {
        encrypted: acc.encrypted.meet(e.encrypted),
        verified: acc.verified.meet(e.verified),
        identity: acc.identity.meet(e.identity),
        ignored: acc
            .ignored
            .into_iter()
            .filter(|i| e.ignored.contains(i))
            .collect(),
    });
    out.encrypted = merged.encrypted;
    out.verified = merged.verified;
    out.identity = merged.identity;
    // Nothing is verified on a connection that is not encrypted.
    if out.encrypted == Tri::No {
        out.verified = Tri::No;
        out.identity = Tri::No;
    }
    out.rows = candidates.iter().map(|r| r.id.to_string()).collect();
    out.ignored = merged
        .ignored
        .into_iter()
        .filter_map(|(key, why)| {
            let line = match key {
                "ssl_mode" => env.ssl_mode.as_ref()?.line,
                _ => return None,
            };
            Some(IgnoredSetting {
                key: key.to_string(),
                line,
                why: why.to_string(),
            })
        })
        .collect();
    Some(out)
}

/// Every MySQL environment of every database.yml on the host, judged.
pub fn client_tls(host: &HostFacts) -> Vec<EnvTls> {
    host.database_ymls
        .iter()
        .flat_map(|y| y.environments.iter().filter_map(|e| env_tls(host, y, e)))
        .collect()
}

/// The table as Markdown (docs/drivers.md holds it between
/// `<!-- drivers:begin -->` and `<!-- drivers:end -->`).
pub fn markdown_table() -> String {
    let range = |r: (Option<&str>, Option<&str>)| match r {
        (None, None) => "any".to_string(),
        (Some(a), None) => format!(">= {a}"),
        (None, Some(b)) => format!("< {b}"),
        (Some(a), Some(b)) => format!(">= {a}, < {b}"),
    };
    let mut out = String::from(
        "| row | adapter | gem | library | what the driver does | basis |\n|---|---|---|---|---|---|\n",
    );
    for r in ROWS {
        let library = match r.library {
            None => "(none: its own TLS)".to_string(),
            Some(LibraryFamily::Libmariadb) => {
                format!("MariaDB Connector/C {}", range(r.library_versions))
            }
            Some(LibraryFamily::Libmysqlclient) => "libmysqlclient".to_string(),
        };
        let basis = match r.basis {
            Basis::Measured(what) => format!("measured in CI: {what}; {}", r.sources.join("; ")),
            Basis::Sources => r.sources.join("; "),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            r.id,
            r.adapter.as_str(),
            range(r.gem),
            library,
            r.behaviour.replace('|', "\\|"),
            basis.replace('|', "\\|")
        ));
    }
    out
}

#[cfg(test)]
#[path = "driver_tests.rs"]
mod tests;
