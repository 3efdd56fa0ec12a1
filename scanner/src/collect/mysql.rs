//! SQL facts of a MySQL/MariaDB server: version, ssl/tls variables, the
//! scanner session's `Ssl_*` status, the loaded certificate's dates,
//! accounts with their `REQUIRE`, replica channels and MySQL 8's TLS
//! channels, as a [`MysqlRecord`] plus the scanner's own session as
//! [`ConnectionFacts`].
//!
//! Two ways in, one set of queries (`queries`): the host's own
//! `mysql`/`mariadb` client run over the host's [`Exec`] (`via: ssh`, as the
//! seed document does it), or a direct connection from the scanner with the
//! `mysql` crate over TLS (`via: tcp`, or `via: tunnel` through a local port
//! the SSH transport forwards). Every query may fail on its own (a missing
//! privilege, an old version): its part of the record stays unset and a
//! [`CollectionProblem`] carries the query and the server's error; the other
//! queries still run.
//!
//! Problem `what` values: `mysql client` (the client could not be run),
//! `mysql connection` (no connection: refused, timed out, protocol error),
//! `mysql tls` (TLS required but not offered, or its handshake failed; the
//! client identity could not be loaded), `mysql login` (the server refused
//! the login), then per query `mysql variables`, `mysql status`,
//! `mysql session status`, `mysql accounts`, `mysql replication`,
//! `mysql tls channels`.
//!
//! [`Exec`]: crate::remote::Exec

pub mod batch;
mod client;
mod queries;
mod record;
mod tcp;

use std::path::PathBuf;
use std::time::Duration;

use sslaudit_rules::facts::{CollectionProblem, ConnectionFacts};

use crate::evidence::MysqlRecord;

pub use client::{ClientRun, collect_via_client};
pub use tcp::{collect_via_tcp, collect_via_tunnel, connect as connect_tcp};

pub use crate::secret::{Secret, SecretError};

/// What a MySQL collector returns: the record (`None` when nothing could be
/// queried at all), the scanner's session (`None` when its status could not
/// be read), and every problem met.
pub type Collected = (
    Option<MysqlRecord>,
    Option<ConnectionFacts>,
    Vec<CollectionProblem>,
);

/// One result set: column names and rows, `None` being SQL NULL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultSet {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

/// How the host's own client logs in (`via: ssh`).
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// `None`: whoever the SSH user is to the client (root's socket auth,
    /// `~/.my.cnf`), as the seed document's `mysql -e` does.
    pub user: Option<String>,
    /// Sent on the command's stdin into a temporary option file, never on a
    /// command line.
    pub password: Option<Secret>,
    /// An option file to use instead of the host's (`/etc/mysql/debian.cnf`).
    pub defaults_file: Option<String>,
    /// The server's socket, when not the client's default.
    pub socket: Option<String>,
    /// Connect over TCP on the host (`127.0.0.1`, 3306) instead of the
    /// socket, asking for TLS, to see what a TCP client gets (SSL018).
    pub tcp: Option<(String, u16)>,
    /// The client's connect timeout; the whole run is bounded by the
    /// `Exec`'s own timeout.
    pub timeout: Duration,
    /// Sample the session census over this window (`--census 30s`); zero
    /// looks once.
    pub census_window: Duration,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            user: None,
            password: None,
            defaults_file: None,
            socket: None,
            tcp: None,
            timeout: Duration::from_secs(10),
            census_window: Duration::ZERO,
        }
    }
}

/// Whether the scanner's own connection must be encrypted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS or nothing: a server that does not offer TLS is a `mysql tls`
    /// problem, never a plaintext session.
    #[default]
    Required,
    /// TLS when the server offers it (CLIENT_SSL in its greeting); plaintext
    /// only when it offers none, which the session then records (SSL018).
    /// A failing TLS handshake is still a problem, never a fallback.
    Preferred,
}

/// How the server's certificate is checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CertCheck {
    /// The chain must lead to `ca` (or the system's trust store when no CA
    /// is configured); the name is not checked. Like the mysql client's
    /// `--ssl-mode=VERIFY_CA`: fleet certificates rarely name the address
    /// the scanner uses, and a tunnel connects to 127.0.0.1.
    #[default]
    Ca,
    /// The chain and the certificate's name must match the address
    /// (`VERIFY_IDENTITY`). Not possible through a tunnel.
    Identity,
    /// Encrypt without checking: for auditing servers whose certificate is
    /// expired or self-signed (the rules report that from the probe and the
    /// files).
    Off,
}

/// How the scanner connects by itself (`via: tcp`, `via: tunnel`).
#[derive(Debug, Clone)]
pub struct TcpSettings {
    pub user: String,
    pub password: Option<Secret>,
    pub tls: TlsMode,
    pub verify: CertCheck,
    /// `tls.ca`: PEM (or DER) CA certificates the server's chain must lead to.
    pub ca: Option<PathBuf>,
    /// `tls.cert` and `tls.key`: the scanner's client identity (PEM), for
    /// accounts that `REQUIRE X509`.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// Connect, read and write timeout, each.
    pub timeout: Duration,
    /// Sample the session census over this window (`--census 30s`); zero
    /// looks once.
    pub census_window: Duration,
}

impl Default for TcpSettings {
    fn default() -> Self {
        TcpSettings {
            user: "sslaudit".to_string(),
            password: None,
            tls: TlsMode::Required,
            verify: CertCheck::Ca,
            ca: None,
            cert: None,
            key: None,
            timeout: Duration::from_secs(10),
            census_window: Duration::ZERO,
        }
    }
}

/// `host:port`, with brackets around IPv6 addresses.
fn endpoint(address: &str, port: u16) -> String {
    if address.contains(':') && !address.starts_with('[') {
        format!("[{address}]:{port}")
    } else {
        format!("{address}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        let settings = TcpSettings {
            password: Some(s.clone()),
            ..TcpSettings::default()
        };
        assert!(!format!("{settings:?}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn secret_from_file_takes_the_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "s3cret with space\n").unwrap();
        assert_eq!(Secret::from_file(&p).unwrap().expose(), "s3cret with space");
        let err = Secret::from_file(&dir.path().join("none")).unwrap_err();
        assert!(err.to_string().contains("none"));
        assert!(
            Secret::from_env("SSLAUDIT_SURELY_UNSET_VARIABLE")
                .unwrap_err()
                .to_string()
                .contains("SSLAUDIT_SURELY_UNSET_VARIABLE")
        );
    }

    #[test]
    fn endpoints() {
        assert_eq!(endpoint("127.0.0.1", 3306), "127.0.0.1:3306");
        assert_eq!(endpoint("::1", 3306), "[::1]:3306");
    }
}
