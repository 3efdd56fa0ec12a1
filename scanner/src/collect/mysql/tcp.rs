//! `via: tcp` and `via: tunnel`: the scanner's own connection with the
//! `mysql` crate over TLS (its `native-tls` feature, which is OpenSSL on
//! Linux).
//!
//! The crate builds its TLS connector itself and offers no hook for the
//! cipher list or OpenSSL's security level, so a server that only speaks
//! TLS 1.0/1.1 (legacy 5.5/5.6, yaSSL) fails the handshake here on an
//! OpenSSL 3 system: that is a `mysql tls` problem, and the probe (which
//! lowers the security level for exactly that handshake) and `via: ssh`
//! still judge such a server.

use std::collections::BTreeMap;
use std::io::Write as _;

use mysql::prelude::Queryable;
use mysql::{ClientIdentity, Conn, DriverError, Opts, OptsBuilder, SslOpts, Value};
use openssl::pkcs12::Pkcs12;
use openssl::pkey::PKey;
use openssl::stack::Stack;
use openssl::x509::X509;
use tempfile::NamedTempFile;

use super::queries::{
    CENSUS_INTERVAL, SECTIONS, Section, census_looks, census_window_secs, replication_sections,
};
use super::record::{Outcome, add_samples, assemble, connection, problem};
use super::{CertCheck, Collected, ResultSet, TcpSettings, TlsMode, endpoint};
use sslaudit_rules::facts::{CollectionProblem, what};
use sslaudit_rules::parse::version::parse_version;

/// Big enough for any row the queries return; set so that connecting does
/// not cost a `SELECT @@max_allowed_packet`.
const MAX_PACKET: usize = 16 * 1024 * 1024;

/// Connects to `address:port` and runs every query. The session facts say
/// `via: tcp` with that endpoint.
pub fn collect_via_tcp(address: &str, port: u16, settings: &TcpSettings) -> Collected {
    collect(address, port, "tcp", &endpoint(address, port), settings)
}

/// Connects to `127.0.0.1:local_port`, a port the SSH transport forwards to
/// the server; `endpoint` (`10.0.0.10:3306`) is what the session facts
/// name. The certificate's name cannot be checked through the tunnel (the
/// TLS name is the address connected to), so `CertCheck::Identity` is a
/// problem rather than a silent downgrade.
pub fn collect_via_tunnel(local_port: u16, endpoint: &str, settings: &TcpSettings) -> Collected {
    if settings.verify == CertCheck::Identity {
        return (
            None,
            None,
            vec![problem(
                what::MYSQL_TLS,
                format!(
                    "cannot verify the certificate's name for {endpoint} through an SSH tunnel; \
                     use `ca` verification"
                ),
            )],
        );
    }
    collect("127.0.0.1", local_port, "tunnel", endpoint, settings)
}

/// The scanner's client identity as a PKCS#12 file (what the crate's
/// native-tls path loads, by path only): built in memory from the PEM
/// certificate (chain) and key, encrypted with a random throwaway password,
/// written to a 0600 temporary file that is removed once connected.
struct Identity {
    file: NamedTempFile,
    password: String,
}

fn identity(settings: &TcpSettings) -> Result<Option<Identity>, CollectionProblem> {
    let tls = |m: String| problem(what::MYSQL_TLS, m);
    let (cert, key) = match (&settings.cert, &settings.key) {
        (None, None) => return Ok(None),
        (Some(c), Some(k)) => (c, k),
        (Some(c), None) => {
            return Err(tls(format!(
                "client certificate {} has no key configured",
                c.display()
            )));
        }
        (None, Some(k)) => {
            return Err(tls(format!(
                "client key {} has no certificate configured",
                k.display()
            )));
        }
    };
    let read = |p: &std::path::Path| {
        std::fs::read(p).map_err(|e| tls(format!("reading {}: {e}", p.display())))
    };
    let certs = X509::stack_from_pem(&read(cert)?)
        .map_err(|e| tls(format!("{}: not a PEM certificate: {e}", cert.display())))?;
    let mut certs = certs.into_iter();
    let leaf = certs
        .next()
        .ok_or_else(|| tls(format!("{}: no certificate in the file", cert.display())))?;
    let pkey = PKey::private_key_from_pem(&read(key)?)
        .map_err(|e| tls(format!("{}: not a PEM private key: {e}", key.display())))?;
    let mut chain = Stack::new().map_err(|e| tls(format!("building the client identity: {e}")))?;
    for c in certs {
        chain
            .push(c)
            .map_err(|e| tls(format!("building the client identity: {e}")))?;
    }
    let mut raw = [0u8; 24];
    openssl::rand::rand_bytes(&mut raw)
        .map_err(|e| tls(format!("generating a PKCS#12 password: {e}")))?;
    let password: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    // One round of key derivation, not OpenSSL's 2048: the file lives for
    // one handshake, mode 0600, under a random 192-bit password, so the
    // rounds would protect nothing and cost every connection (to build
    // here and again to parse in the crate) more than its TLS handshake.
    let der = Pkcs12::builder()
        .name("sslaudit")
        .pkey(&pkey)
        .cert(&leaf)
        .ca(chain)
        .key_iter(1)
        .mac_iter(1)
        .build2(&password)
        .and_then(|p| p.to_der())
        .map_err(|e| {
            tls(format!(
                "{} and {} do not make a client identity: {e}",
                cert.display(),
                key.display()
            ))
        })?;
    let mut file = tempfile::Builder::new()
        .prefix("sslaudit-identity-")
        .suffix(".p12")
        .tempfile()
        .map_err(|e| tls(format!("writing the client identity: {e}")))?;
    file.write_all(&der)
        .and_then(|()| file.flush())
        .map_err(|e| tls(format!("writing the client identity: {e}")))?;
    Ok(Some(Identity { file, password }))
}

fn options(host: &str, port: u16, settings: &TcpSettings, ssl: Option<SslOpts>) -> Opts {
    let t = Some(settings.timeout);
    let builder = OptsBuilder::new()
        .ip_or_hostname(Some(host))
        .tcp_port(port)
        // Never switch to the server's Unix socket on a loopback address:
        // the tunnel's local end is one.
        .prefer_socket(false)
        .user(Some(settings.user.as_str()))
        .pass(settings.password.as_ref().map(|p| p.expose().to_string()))
        .tcp_connect_timeout(t)
        .read_timeout(t)
        .write_timeout(t)
        .max_allowed_packet(Some(MAX_PACKET))
        .ssl_opts(ssl);
    builder.into()
}

fn ssl_opts(settings: &TcpSettings, identity: Option<&Identity>) -> SslOpts {
    let mut ssl = SslOpts::default()
        .with_root_cert_path(settings.ca.clone())
        .with_danger_skip_domain_validation(settings.verify != CertCheck::Identity)
        .with_danger_accept_invalid_certs(settings.verify == CertCheck::Off);
    if let Some(id) = identity {
        ssl = ssl.with_client_identity(Some(
            ClientIdentity::new(id.file.path().to_path_buf()).with_password(id.password.clone()),
        ));
    }
    ssl
}

/// The I/O error under a crate error, if any (a timeout reads as
/// `WouldBlock` on a socket with a read timeout).
fn io_error(e: &mysql::Error) -> Option<&std::io::Error> {
    match e {
        mysql::Error::IoError(io) => Some(io),
        mysql::Error::CodecError(c) => {
            std::error::Error::source(c).and_then(|s| s.downcast_ref::<std::io::Error>())
        }
        _ => None,
    }
}

fn is_timeout(e: &mysql::Error) -> bool {
    io_error(e).is_some_and(|io| {
        matches!(
            io.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        )
    })
}

/// A failed connect, as a problem: the server refused the login, TLS
/// failed, or no connection came about.
fn connect_problem(endpoint: &str, e: &mysql::Error) -> CollectionProblem {
    match e {
        mysql::Error::MySqlError(se) => problem(what::MYSQL_LOGIN, format!("{endpoint}: {se}")),
        mysql::Error::TlsError(te) => problem(
            what::MYSQL_TLS,
            format!("TLS handshake with {endpoint} failed: {te}"),
        ),
        e if is_timeout(e) => problem(
            what::MYSQL_CONNECTION,
            format!("{endpoint}: timed out waiting for the server"),
        ),
        e => match io_error(e) {
            Some(io) => problem(what::MYSQL_CONNECTION, format!("{endpoint}: {io}")),
            None => problem(what::MYSQL_CONNECTION, format!("{endpoint}: {e}")),
        },
    }
}

/// Opens a session with `settings` (TLS as they require, the certificate
/// checked as they say), for the collector and for remediation SQL.
pub fn connect(
    host: &str,
    port: u16,
    endpoint: &str,
    settings: &TcpSettings,
) -> Result<Conn, CollectionProblem> {
    let id = identity(settings)?;
    let tls_opts = options(host, port, settings, Some(ssl_opts(settings, id.as_ref())));
    let conn = match Conn::new(tls_opts) {
        Ok(c) => Ok(c),
        Err(mysql::Error::DriverError(DriverError::TlsNotSupported)) => match settings.tls {
            TlsMode::Required => {
                return Err(problem(
                    what::MYSQL_NO_TLS,
                    format!(
                        "{endpoint} does not offer TLS (no CLIENT_SSL in its greeting; \
                         tls: required)"
                    ),
                ));
            }
            TlsMode::Preferred => Conn::new(options(host, port, settings, None)),
        },
        Err(e) => Err(e),
    };
    // The crate has read the identity during the handshake.
    drop(id);
    conn.map_err(|e| connect_problem(endpoint, &e))
}

fn collect(host: &str, port: u16, via: &str, endpoint: &str, settings: &TcpSettings) -> Collected {
    let mut conn = match connect(host, port, endpoint, settings) {
        Ok(c) => c,
        Err(p) => return (None, None, vec![p]),
    };
    let outcomes = run_all(&mut conn);
    let (mut rec, problems) = assemble(&outcomes);
    if let Some(census) = rec.sessions.as_mut() {
        let looks = census_looks(settings.census_window);
        if looks > 0 {
            add_samples(
                census,
                &look_again(&mut conn, looks),
                census_window_secs(settings.census_window),
            );
        }
    }
    let session = connection(&outcomes, via, endpoint);
    (Some(rec), session, problems)
}

fn text(v: Value) -> Option<String> {
    match v {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Double(d) => Some(d.to_string()),
        // The text protocol sends everything else as bytes.
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

fn run_section(conn: &mut Conn, section: Section) -> Result<ResultSet, mysql::Error> {
    let mut last = ResultSet::default();
    for st in section.statements() {
        let mut result = conn.query_iter(*st)?;
        while let Some(set) = result.iter() {
            let columns: Vec<String> = set
                .columns()
                .as_ref()
                .iter()
                .map(|c| c.name_str().into_owned())
                .collect();
            let mut rows = Vec::new();
            for row in set {
                rows.push(row?.unwrap().into_iter().map(text).collect());
            }
            if !columns.is_empty() {
                last = ResultSet { columns, rows };
            }
        }
    }
    Ok(last)
}

/// A query's error as the problem shows it; `true` when the connection
/// itself is gone (every later query would fail the same way).
fn query_error(e: &mysql::Error) -> (String, bool) {
    match e {
        mysql::Error::MySqlError(se) => (se.to_string(), false),
        e if is_timeout(e) => (
            "connection lost: timed out waiting for the server".to_string(),
            true,
        ),
        e => match io_error(e) {
            Some(io) => (format!("connection lost: {io}"), true),
            None => (format!("connection lost: {e}"), true),
        },
    }
}

/// Runs the sections in order; only the replica spelling the version takes
/// (all of them, first success wins, when the version is unknown). Once the
/// connection itself fails, the remaining sections fail with that error
/// instead of each waiting for its own timeout.
fn run_all(conn: &mut Conn) -> BTreeMap<Section, Outcome> {
    let mut outcomes = BTreeMap::new();
    let mut dead: Option<String> = None;
    let mut run = |conn: &mut Conn, section: Section, outcomes: &mut BTreeMap<Section, Outcome>| {
        let outcome = match &dead {
            Some(e) => Err(e.clone()),
            None => run_section(conn, section).map_err(|e| {
                let (msg, fatal) = query_error(&e);
                if fatal {
                    dead = Some(msg.clone());
                }
                msg
            }),
        };
        let ok = outcome.is_ok();
        outcomes.insert(section, outcome);
        ok
    };
    for section in SECTIONS {
        if section.is_replication() {
            continue;
        }
        run(conn, section, &mut outcomes);
        if section == Section::Variables {
            let version = match outcomes.get(&Section::Variables) {
                Some(Ok(set)) => version_of(set),
                _ => None,
            };
            for s in replication_sections(version.as_ref()) {
                if run(conn, *s, &mut outcomes) {
                    break;
                }
            }
        }
    }
    outcomes
}

/// The census's further looks, once per interval on the same session,
/// until one fails (the look that failed and the later ones are not taken).
fn look_again(conn: &mut Conn, looks: u32) -> Vec<ResultSet> {
    let mut sets = Vec::new();
    for _ in 0..looks {
        std::thread::sleep(CENSUS_INTERVAL);
        match run_section(conn, Section::Sessions) {
            Ok(set) => sets.push(set),
            Err(_) => break,
        }
    }
    sets
}

fn version_of(set: &ResultSet) -> Option<sslaudit_rules::facts::MysqlVersion> {
    let get = |name: &str| {
        set.rows
            .iter()
            .find(|r| r.first().and_then(Option::as_deref) == Some(name))
            .and_then(|r| r.get(1).cloned().flatten())
    };
    parse_version(&get("version")?, get("version_comment").as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::{Duration, Instant};

    #[test]
    fn identity_needs_both_halves() {
        let s = TcpSettings {
            cert: Some("/nonexistent/c.pem".into()),
            ..TcpSettings::default()
        };
        let p = identity(&s).err().unwrap();
        assert_eq!(p.what, what::MYSQL_TLS);
        assert!(p.message.contains("has no key"));
        let s = TcpSettings {
            cert: Some("/nonexistent/c.pem".into()),
            key: Some("/nonexistent/k.pem".into()),
            ..TcpSettings::default()
        };
        assert!(
            identity(&s)
                .err()
                .unwrap()
                .message
                .contains("/nonexistent/c.pem")
        );
    }

    #[test]
    fn identity_from_pem_is_a_private_pkcs12() {
        use openssl::asn1::Asn1Time;
        use openssl::hash::MessageDigest;
        use openssl::rsa::Rsa;
        use openssl::x509::X509NameBuilder;
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "sslaudit").unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::days_from_now(1).unwrap())
            .unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        let cert = b.build();
        let dir = tempfile::tempdir().unwrap();
        let (c, k) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&c, cert.to_pem().unwrap()).unwrap();
        std::fs::write(&k, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
        let s = TcpSettings {
            cert: Some(c),
            key: Some(k.clone()),
            ..TcpSettings::default()
        };
        let id = identity(&s).unwrap().unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(id.file.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "not readable by others");
        let der = std::fs::read(id.file.path()).unwrap();
        let parsed = Pkcs12::from_der(&der)
            .unwrap()
            .parse2(&id.password)
            .unwrap();
        assert_eq!(
            parsed.cert.unwrap().to_der().unwrap(),
            cert.to_der().unwrap()
        );
        let path = id.file.path().to_path_buf();
        drop(id);
        assert!(!path.exists(), "removed once dropped");

        // A key that is not PEM is named in the problem.
        std::fs::write(&k, b"garbage").unwrap();
        let p = identity(&s).err().unwrap();
        assert!(p.message.contains("not a PEM private key"), "{}", p.message);
    }

    #[test]
    fn a_closed_port_is_a_connection_problem() {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let (rec, conn, problems) = collect_via_tcp("127.0.0.1", port, &TcpSettings::default());
        assert!(rec.is_none() && conn.is_none());
        assert_eq!(problems[0].what, what::MYSQL_CONNECTION);
        assert!(
            problems[0]
                .message
                .starts_with(&format!("127.0.0.1:{port}: "))
        );
    }

    /// A port that accepts but never sends a greeting must not hang.
    #[test]
    fn a_silent_server_times_out() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let keep = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            std::thread::sleep(Duration::from_millis(1200));
            drop(s);
        });
        let settings = TcpSettings {
            timeout: Duration::from_millis(500),
            ..TcpSettings::default()
        };
        let t = Instant::now();
        let (rec, _, problems) = collect_via_tcp("127.0.0.1", port, &settings);
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        assert!(rec.is_none());
        assert_eq!(problems[0].what, what::MYSQL_CONNECTION);
        assert!(
            problems[0].message.contains("timed out"),
            "{}",
            problems[0].message
        );
        keep.join().unwrap();
    }

    #[test]
    fn identity_verification_is_refused_through_a_tunnel() {
        let s = TcpSettings {
            verify: CertCheck::Identity,
            ..TcpSettings::default()
        };
        let (_, _, p) = collect_via_tunnel(1, "10.0.0.10:3306", &s);
        assert_eq!(p[0].what, what::MYSQL_TLS);
    }
}
