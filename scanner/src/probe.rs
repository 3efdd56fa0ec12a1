//! The credential-less TLS probe of a MySQL/MariaDB port: speak the
//! client/server protocol up to the SSLRequest packet, complete a TLS
//! handshake with OpenSSL, record what the server presented, and close
//! without logging in.
//!
//! OpenSSL rather than rustls because legacy servers (MySQL 5.5/5.6 with
//! yaSSL, TLS 1.0/1.1 only, 1024-bit keys, SHA-1 chains) must still be
//! observed and judged: the probe lowers OpenSSL's security level to 0 for
//! its own handshakes only and verifies nothing (it records the chain; the
//! certificate rules judge it).
//!
//! Every connection has its own deadline (`ProbeOptions::timeout`) covering
//! connect, greeting and handshake, so a probe takes at most about
//! `timeout` x connections, and a peer that stalls, resets, answers with a
//! MySQL error or sends garbage yields a [`ProbeRecord`] with an `error`,
//! never a panic or a hang.
//!
//! Each probe connection ends before authentication, which a MySQL server
//! that resolves client names counts against the client's address in its
//! host cache (`max_connect_errors`) until a login from that address
//! succeeds; loopback connections are exempt. [`Probe`] makes its first
//! handshake and its version tests separately so that a scanner can put
//! its own login between them (docs/scanner-queries.md, "What the probe
//! costs a server").

mod certreq;
mod handshake;
mod net;
mod packet;
mod plaintext;

use handshake::*;
use net::*;

pub use packet::{
    CLIENT_SSL, Greeting, GreetingError, MAX_GREETING, PROBE_USER, ServerError, handshake_response,
    parse_err_packet, parse_greeting, parse_header, preview, ssl_request,
};

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use openssl::error::ErrorStack;
use openssl::ssl::{
    ErrorCode, HandshakeError, MidHandshakeSslStream, Ssl, SslContext, SslMethod, SslOptions,
    SslRef, SslVerifyMode, SslVersion,
};

use crate::evidence::ProbeRecord;
use sslaudit_rules::facts::{GaleraPort, PlaintextAnswer};

/// The MySQL port used when an address names none.
pub const DEFAULT_PORT: u16 = 3306;

/// The protocol versions tested, as OpenSSL and `Ssl_version` name them;
/// the keys of [`ProbeRecord::accepted`].
pub const TLS_VERSIONS: [&str; 4] = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

const SSL_VERSIONS: [SslVersion; 4] = [
    SslVersion::TLS1,
    SslVersion::TLS1_1,
    SslVersion::TLS1_2,
    SslVersion::TLS1_3,
];

/// Everything OpenSSL can offer, in its default order of strength, so the
/// negotiated cipher is what a server picks from a modern client's offer.
const FULL_CIPHERS: &str = "ALL:@SECLEVEL=0";

/// The classic CBC suites first, then everything else. yaSSL (MySQL 5.5/5.6
/// community builds) reads only the first 32 suites of a ClientHello, and
/// the full list starts with 30-odd AEAD suites it does not know; acceptance
/// tests only need some handshake to complete, so they lead with these.
const COMPAT_CIPHERS: &str = "AES256-SHA:AES128-SHA:DHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA:\
     EDH-RSA-DES-CBC3-SHA:DES-CBC3-SHA:ALL:@SECLEVEL=0";

const TLS13_SUITES: &str = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:\
     TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256";

/// `SSL_OP_LEGACY_SERVER_CONNECT` (0x4 in every OpenSSL release), which the
/// openssl crate does not name: OpenSSL 3 refuses servers without RFC 5746
/// renegotiation support (yaSSL) unless it is set.
const LEGACY_SERVER_CONNECT: SslOptions = SslOptions::from_bits_retain(0x4);

/// How to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeOptions {
    /// Per connection: connect, greeting and TLS handshake together.
    pub timeout: Duration,
    /// Also test which protocol versions are accepted (one connection per
    /// version that the first handshake does not already settle).
    pub versions: bool,
    /// SNI to send; none by default (MySQL servers do not use it).
    pub server_name: Option<String>,
    /// Also make the plaintext login attempt (one connection without TLS
    /// for a user that does not exist, no credential; see
    /// [`Probe::test_plaintext`]).
    pub plaintext: bool,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            timeout: Duration::from_secs(10),
            versions: true,
            server_name: None,
            plaintext: true,
        }
    }
}

/// Probes `host`, `host:port`, `[v6]:port` or a bare IPv6 address over TCP
/// (port 3306 when none is given): the first handshake, then the version
/// tests when `opts.versions`. Names are resolved once; each connection
/// tries the resolved addresses in order within its deadline.
pub fn probe_tcp(address: &str, opts: &ProbeOptions) -> ProbeRecord {
    let mut probe = Probe::tcp(address, opts);
    if opts.versions {
        probe.test_versions();
    }
    if opts.plaintext {
        probe.test_plaintext();
    }
    probe.finish()
}

/// A bare TLS handshake on a port that speaks TLS from its first byte
/// (Galera's replication port, 4567, when replication is encrypted), over
/// `stream`: a TCP connection or an SSH channel, which enforces its own
/// timeouts. Nothing is sent after the handshake, and no certificate is
/// checked (the probe observes; rules judge). A port that answers the
/// ClientHello with bytes that are not TLS (galera's own protocol) is
/// `tls: Some(false)`; one that only closes or times out tells nothing.
pub fn tls_port_handshake<S: Read + Write>(label: &str, stream: io::Result<S>) -> GaleraPort {
    let mut port = GaleraPort {
        address: label.to_string(),
        tls: None,
        protocol: None,
        cipher: None,
        error: None,
    };
    let stream = match stream {
        Ok(s) => s,
        Err(e) => {
            port.error = Some(format!("cannot connect: {e}"));
            return port;
        }
    };
    let ssl = match context(Offer::Full).and_then(|c| Ssl::new(c).map_err(|e| reasons(&e))) {
        Ok(ssl) => ssl,
        Err(e) => {
            port.error = Some(e);
            return port;
        }
    };
    match ssl.connect(stream) {
        Ok(mut tls) => {
            port.tls = Some(true);
            port.protocol = Some(tls.ssl().version_str().to_string());
            port.cipher = tls.ssl().current_cipher().map(|c| c.name().to_string());
            let _ = tls.shutdown();
        }
        Err(HandshakeError::Failure(mid)) => {
            let e = mid.error();
            let why = match (e.ssl_error(), e.io_error()) {
                (Some(stack), _) => reasons(stack),
                (None, Some(io)) => io.to_string(),
                (None, None) if e.code() == ErrorCode::SYSCALL => {
                    "the port closed the connection during the TLS handshake".to_string()
                }
                (None, None) => format!("TLS handshake failed (code {:?})", e.code()),
            };
            // OpenSSL's words for a first record that is no TLS record.
            if [
                "wrong version number",
                "packet length too long",
                "unknown protocol",
            ]
            .iter()
            .any(|w| why.contains(w))
            {
                port.tls = Some(false);
            }
            port.error = Some(why);
        }
        Err(HandshakeError::WouldBlock(_)) => {
            port.error = Some("timed out during the TLS handshake".to_string());
        }
        Err(HandshakeError::SetupFailure(e)) => port.error = Some(reasons(&e)),
    }
    port
}

/// [`tls_port_handshake`] over TCP to `address` (`host:port`), everything
/// within `timeout`.
pub fn tls_port_tcp(address: &str, timeout: Duration) -> GaleraPort {
    let deadline = Instant::now() + timeout;
    let stream = split_address(address)
        .map_err(io::Error::other)
        .and_then(|(host, port)| {
            let addrs: Vec<SocketAddr> = (host.as_str(), port).to_socket_addrs()?.collect();
            connect_tcp(&addrs, deadline, timeout).map_err(|f| io::Error::other(f.message))
        })
        .map(|stream| DeadlineTcp { stream, deadline });
    tls_port_handshake(address, stream)
}

/// Probes over streams that `connect` opens, e.g. SSH `direct-tcpip`
/// channels to the server's port; it is called once per handshake (the
/// version tests need a fresh connection each), and sequentially.
///
/// The streams must enforce their own read/write timeouts (for ssh2,
/// `Session::set_timeout`) and report them as `TimedOut` or `WouldBlock`:
/// the probe checks `opts.timeout` between reads and writes but cannot
/// interrupt a blocked one. `label` is recorded as the address.
pub fn probe_with<S, F>(label: &str, connect: F, opts: &ProbeOptions) -> ProbeRecord
where
    S: Read + Write,
    F: FnMut() -> io::Result<S>,
{
    let mut probe = Probe::with(label, connect, opts);
    if opts.versions {
        probe.test_versions();
    }
    if opts.plaintext {
        probe.test_plaintext();
    }
    probe.finish()
}

/// A probe in two steps: [`Probe::tcp`]/[`Probe::with`] make the first
/// handshake (greeting, chain, negotiated protocol and cipher), and
/// [`Probe::test_versions`] the further connections that tell which older
/// protocol versions are accepted, when the caller needs them. Every
/// connection that ends before a login counts against the client's
/// address in a MySQL server's host cache (`max_connect_errors`) until a
/// login from that address succeeds: a scanner puts its own login between
/// the two steps, and skips the second when the server's `tls_version`
/// already answers (docs/scanner-queries.md, "What the probe costs a
/// server").
pub struct Probe<'a> {
    label: String,
    attempts: Box<dyn Attempts + 'a>,
    rec: ProbeRecord,
    /// The first handshake's outcome, when TLS was negotiated.
    first: Option<(Option<usize>, Offer)>,
    versions_tested: bool,
    plaintext_tested: bool,
}

impl<'a> Probe<'a> {
    /// The first handshake over TCP (see [`probe_tcp`]).
    pub fn tcp(address: &str, opts: &ProbeOptions) -> Probe<'static> {
        let (host, port) = match split_address(address) {
            Ok(hp) => hp,
            Err(message) => return Probe::failed(address, message),
        };
        let label = match host.parse::<IpAddr>() {
            Ok(IpAddr::V6(_)) => format!("[{host}]:{port}"),
            _ => format!("{host}:{port}"),
        };
        let addrs: Vec<SocketAddr> = match (host.as_str(), port).to_socket_addrs() {
            Ok(it) => it.collect(),
            Err(e) => return Probe::failed(&label, format!("cannot resolve {host}: {e}")),
        };
        if addrs.is_empty() {
            return Probe::failed(&label, format!("cannot resolve {host}: no address"));
        }
        Probe::start(
            &label,
            Box::new(TcpAttempts {
                addrs,
                opts: opts.clone(),
            }),
        )
    }

    /// The first handshake over streams `connect` opens (see [`probe_with`]).
    pub fn with<S, F>(label: &str, connect: F, opts: &ProbeOptions) -> Probe<'a>
    where
        S: Read + Write + 'a,
        F: FnMut() -> io::Result<S> + 'a,
    {
        Probe::start(
            label,
            Box::new(StreamAttempts {
                connect,
                opts: opts.clone(),
            }),
        )
    }

    fn failed(label: &str, message: String) -> Probe<'static> {
        Probe {
            label: label.to_string(),
            attempts: Box::new(NoAttempts),
            rec: failed(label, message),
            first: None,
            versions_tested: true,
            plaintext_tested: true,
        }
    }

    fn start(label: &str, mut attempts: Box<dyn Attempts + 'a>) -> Self {
        let (rec, first) = first_handshake(label, attempts.as_mut());
        Probe {
            label: label.to_string(),
            attempts,
            rec,
            first,
            versions_tested: false,
            plaintext_tested: false,
        }
    }

    /// What the first handshake saw.
    pub fn record(&self) -> &ProbeRecord {
        &self.rec
    }

    /// Tests which protocol versions the first handshake did not settle
    /// are accepted, one connection each (none when it negotiated no TLS).
    pub fn test_versions(&mut self) {
        if std::mem::replace(&mut self.versions_tested, true) {
            return;
        }
        if let Some((negotiated, offered)) = self.first {
            test_versions(&mut self.rec, negotiated, offered, self.attempts.as_mut());
        } else if self.rec.error.is_none() && !self.rec.advertises_ssl {
            // No CLIENT_SSL: no version can be accepted, nothing to try.
            self.rec.accepted = TLS_VERSIONS
                .iter()
                .map(|v| (v.to_string(), false))
                .collect();
        }
        tracing::debug!(probe = %self.label, "version tests done");
    }

    /// The plaintext login attempt (one connection): without SSLRequest, a
    /// HandshakeResponse41 for [`PROBE_USER`], a user that does not exist,
    /// with empty auth data, no database and no connection attributes; an
    /// AuthSwitchRequest or auth-more-data gets an empty answer. No
    /// credential is ever sent. Made only when the first handshake got a
    /// MySQL greeting (TLS or not). A refused login is an authentication
    /// error to the server: it never counts against `max_connect_errors`,
    /// but the server may log it as `Access denied` (docs/scanner-queries.md,
    /// "What the probe sends").
    pub fn test_plaintext(&mut self) {
        if std::mem::replace(&mut self.plaintext_tested, true) {
            return;
        }
        if self.rec.greeting_version.is_none() {
            return;
        }
        self.rec.plaintext = Some(self.attempts.plaintext());
        tracing::debug!(probe = %self.label, "plaintext login attempt done");
    }

    pub fn finish(self) -> ProbeRecord {
        self.rec
    }
}

/// The attempts of a probe whose address could not even be resolved.
struct NoAttempts;

impl Attempts for NoAttempts {
    fn one(&mut self, _offer: Offer) -> Result<Outcome, Failure> {
        Err(Failure::new("no address to connect to".into()))
    }

    fn plaintext(&mut self) -> PlaintextAnswer {
        PlaintextAnswer::none("no address to connect to".into())
    }
}

/// What one handshake offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Offer {
    /// TLS 1.0 to 1.3, every cipher: what the record's protocol/cipher show.
    Full,
    /// TLS 1.0 to 1.2 with the classic suites first, for servers that fail
    /// the full offer (yaSSL).
    Legacy,
    /// Exactly one version (an index into [`TLS_VERSIONS`]).
    Only(usize),
}

/// What one successful connection saw.
#[derive(Debug)]
enum Outcome {
    NoSsl(Greeting),
    Tls {
        greeting: Greeting,
        session: Session,
    },
}

#[derive(Debug)]
struct Session {
    protocol: String,
    cipher: Option<String>,
    chain_pem: Vec<String>,
    /// The server sent a CertificateRequest, listing these CA names.
    client_cert_request: Option<Vec<String>>,
}

/// Why one connection failed, with the greeting when it got that far.
#[derive(Debug)]
struct Failure {
    greeting: Option<Greeting>,
    message: String,
    /// The TLS handshake itself failed (alert, close, reset): worth one
    /// more try with the legacy offer.
    tls_refused: bool,
}

impl Failure {
    fn new(message: String) -> Self {
        Failure {
            greeting: None,
            message,
            tls_refused: false,
        }
    }
}

/// Runs handshakes; `many` may run them concurrently.
trait Attempts {
    fn one(&mut self, offer: Offer) -> Result<Outcome, Failure>;

    /// One plaintext login attempt (see [`Probe::test_plaintext`]).
    fn plaintext(&mut self) -> PlaintextAnswer;

    fn many(&mut self, offers: &[Offer]) -> Vec<Result<Outcome, Failure>> {
        offers.iter().map(|&o| self.one(o)).collect()
    }
}

struct TcpAttempts {
    addrs: Vec<SocketAddr>,
    opts: ProbeOptions,
}

impl TcpAttempts {
    fn attempt(&self, offer: Offer) -> Result<Outcome, Failure> {
        let deadline = Instant::now() + self.opts.timeout;
        let stream = connect_tcp(&self.addrs, deadline, self.opts.timeout)?;
        // Small request/response exchanges: do not wait for Nagle.
        let _ = stream.set_nodelay(true);
        handshake(
            DeadlineTcp { stream, deadline },
            offer,
            &self.opts,
            deadline,
        )
    }
}

impl Attempts for TcpAttempts {
    fn one(&mut self, offer: Offer) -> Result<Outcome, Failure> {
        self.attempt(offer)
    }

    fn plaintext(&mut self) -> PlaintextAnswer {
        let deadline = Instant::now() + self.opts.timeout;
        let stream = match connect_tcp(&self.addrs, deadline, self.opts.timeout) {
            Ok(s) => s,
            Err(f) => return PlaintextAnswer::none(f.message),
        };
        let _ = stream.set_nodelay(true);
        plaintext::attempt(DeadlineTcp { stream, deadline }, &self.opts, deadline)
    }

    /// One thread per version test: over a real network each costs several
    /// round trips, and they are independent.
    fn many(&mut self, offers: &[Offer]) -> Vec<Result<Outcome, Failure>> {
        let this = &*self;
        std::thread::scope(|s| {
            let handles: Vec<_> = offers
                .iter()
                .map(|&o| s.spawn(move || this.attempt(o)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Failure::new("the probe thread panicked".into())))
                })
                .collect()
        })
    }
}

struct StreamAttempts<F> {
    connect: F,
    opts: ProbeOptions,
}

impl<S, F> Attempts for StreamAttempts<F>
where
    S: Read + Write,
    F: FnMut() -> io::Result<S>,
{
    fn one(&mut self, offer: Offer) -> Result<Outcome, Failure> {
        let deadline = Instant::now() + self.opts.timeout;
        let stream = (self.connect)().map_err(|e| {
            Failure::new(match kind(&e) {
                IoKind::Timeout => format!(
                    "timed out after {} opening the connection",
                    human(self.opts.timeout)
                ),
                _ => format!("cannot open the connection: {e}"),
            })
        })?;
        handshake(stream, offer, &self.opts, deadline)
    }

    fn plaintext(&mut self) -> PlaintextAnswer {
        let deadline = Instant::now() + self.opts.timeout;
        match (self.connect)() {
            Ok(stream) => plaintext::attempt(stream, &self.opts, deadline),
            Err(e) => PlaintextAnswer::none(format!("cannot open the connection: {e}")),
        }
    }
}

/// The record of the first handshake, and when it negotiated TLS, the
/// version it negotiated and the offer that did it.
fn first_handshake(
    label: &str,
    attempts: &mut dyn Attempts,
) -> (ProbeRecord, Option<(Option<usize>, Offer)>) {
    let mut rec = ProbeRecord {
        address: label.to_string(),
        ..ProbeRecord::default()
    };
    let mut first = attempts.one(Offer::Full);
    let mut offered = Offer::Full;
    if let Err(f) = &first
        && f.tls_refused
    {
        let retry = attempts.one(Offer::Legacy);
        if retry.is_ok() {
            first = retry;
            offered = Offer::Legacy;
        }
    }
    let (greeting, session) = match first {
        Ok(Outcome::NoSsl(g)) => (g, None),
        Ok(Outcome::Tls { greeting, session }) => (greeting, Some(session)),
        Err(f) => {
            if let Some(g) = f.greeting {
                rec.greeting_version = Some(g.server_version.clone());
                rec.advertises_ssl = g.advertises_ssl();
            }
            rec.error = Some(f.message);
            return (rec, None);
        }
    };
    rec.greeting_version = Some(greeting.server_version.clone());
    rec.advertises_ssl = greeting.advertises_ssl();
    let Some(session) = session else {
        return (rec, None);
    };
    let negotiated = TLS_VERSIONS.iter().position(|v| *v == session.protocol);
    rec.protocol = Some(session.protocol);
    rec.cipher = session.cipher;
    rec.chain_pem = session.chain_pem;
    rec.requests_client_cert = Some(session.client_cert_request.is_some());
    rec.client_ca_names = session.client_cert_request.unwrap_or_default();
    (rec, Some((negotiated, offered)))
}

/// The version tests after a first handshake that negotiated `negotiated`
/// with `offered`.
fn test_versions(
    rec: &mut ProbeRecord,
    negotiated: Option<usize>,
    offered: Offer,
    attempts: &mut dyn Attempts,
) {
    // A server picks the highest version both sides offer (RFC 8446 4.2.1,
    // RFC 5246 appendix E.1), so the first handshake settles every version
    // it covered from the negotiated one up; only lower ones need a test.
    let covered_up_to = match offered {
        Offer::Legacy => 2,
        _ => 3,
    };
    let mut to_test = Vec::new();
    for (i, v) in TLS_VERSIONS.iter().enumerate() {
        match negotiated {
            Some(n) if i == n => {
                rec.accepted.insert(v.to_string(), true);
            }
            Some(n) if i > n && i <= covered_up_to => {
                rec.accepted.insert(v.to_string(), false);
            }
            _ => to_test.push(i),
        }
    }
    let offers: Vec<Offer> = to_test.iter().map(|&i| Offer::Only(i)).collect();
    for (i, result) in to_test.into_iter().zip(attempts.many(&offers)) {
        let accepted = matches!(result, Ok(Outcome::Tls { .. }));
        rec.accepted.insert(TLS_VERSIONS[i].to_string(), accepted);
    }
}

fn failed(address: &str, message: String) -> ProbeRecord {
    ProbeRecord {
        address: address.to_string(),
        error: Some(message),
        ..ProbeRecord::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A port that answers a ClientHello with its own protocol (galera's,
    /// unencrypted) is told apart from one that says nothing.
    #[test]
    fn a_bare_tls_handshake_tells_plaintext_from_silence() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut hello = [0u8; 5];
            s.read_exact(&mut hello).unwrap();
            s.write_all(b"GCOMM handshake, not TLS\n").unwrap();
            // Keep the connection until the client is done with it.
            let _ = s.read(&mut [0u8; 512]);
        });
        let port = tls_port_tcp(&addr, Duration::from_secs(5));
        server.join().unwrap();
        assert_eq!(port.tls, Some(false), "{port:?}");
        assert!(
            port.describe().ends_with("answered without TLS"),
            "{port:?}"
        );

        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = closed.local_addr().unwrap().to_string();
        drop(closed);
        let port = tls_port_tcp(&addr, Duration::from_secs(5));
        assert_eq!(port.tls, None, "{port:?}");
        assert!(port.error.unwrap().contains("refused"));
    }

    #[test]
    fn addresses() {
        let ok = |a: &str| split_address(a).unwrap();
        assert_eq!(ok("db1"), ("db1".to_string(), 3306));
        assert_eq!(ok("127.0.0.1:3307"), ("127.0.0.1".to_string(), 3307));
        assert_eq!(ok("[::1]:3307"), ("::1".to_string(), 3307));
        assert_eq!(ok("[::1]"), ("::1".to_string(), 3306));
        assert_eq!(ok("::1"), ("::1".to_string(), 3306));
        assert_eq!(
            split_address("db1:x").unwrap_err(),
            "invalid port \"x\" in address \"db1:x\""
        );
        assert!(split_address("db1:0").is_err());
        assert!(split_address("[::1").is_err());
        assert!(split_address("[::1]x").is_err());
        assert!(split_address(" ").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(human(Duration::from_secs(3)), "3s");
        assert_eq!(human(Duration::from_millis(500)), "500ms");
        assert_eq!(human(Duration::from_millis(1500)), "1.5s");
    }

    #[test]
    fn contexts_build() {
        for offer in [
            Offer::Full,
            Offer::Legacy,
            Offer::Only(0),
            Offer::Only(1),
            Offer::Only(2),
            Offer::Only(3),
        ] {
            assert!(context(offer).is_ok(), "{offer:?}");
        }
    }

    #[test]
    fn mysql_answers_in_place_of_a_server_hello() {
        let mut conn = Conn {
            inner: io::Cursor::new(b"shake".to_vec()),
            deadline: Instant::now() + Duration::from_secs(1),
            seen: None,
        };
        // OpenSSL read a 5-byte record header: the ERR packet's first bytes.
        let seen = b"\x10\x00\x00\x02\xff\x13\x04Bad hand";
        assert_eq!(
            mysql_answer(seen, &mut conn).unwrap(),
            "server answered the SSLRequest with error 1043: Bad handshake"
        );
        assert_eq!(mysql_answer(b"\x16\x03\x03\x00\x10", &mut conn), None);
        assert_eq!(
            mysql_answer(b"\x05\x00\x00\x02\x00\x00\x00\x02\x00", &mut conn).unwrap(),
            "server answered the SSLRequest with something other than TLS: \
             05 00 00 02 00 00 00 02 00"
        );
    }
}
