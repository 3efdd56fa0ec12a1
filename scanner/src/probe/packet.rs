//! The MySQL client/server protocol up to the SSLRequest packet, as pure
//! functions over bytes: the server's initial handshake (greeting), its ERR
//! packet, and the client's SSLRequest.
//!
//! References: MySQL Internals "Connection Phase Packets"
//! (Protocol::HandshakeV10, Protocol::SSLRequest, ERR_Packet) and MariaDB's
//! "Connection" page (the extended capabilities in the greeting's filler).

/// Capability flags used here (MySQL `CLIENT_*`).
pub const CLIENT_LONG_PASSWORD: u32 = 0x0000_0001;
pub const CLIENT_LONG_FLAG: u32 = 0x0000_0004;
pub const CLIENT_PROTOCOL_41: u32 = 0x0000_0200;
pub const CLIENT_SSL: u32 = 0x0000_0800;
pub const CLIENT_TRANSACTIONS: u32 = 0x0000_2000;
pub const CLIENT_SECURE_CONNECTION: u32 = 0x0000_8000;
pub const CLIENT_MULTI_RESULTS: u32 = 0x0002_0000;
pub const CLIENT_PLUGIN_AUTH: u32 = 0x0008_0000;

/// The largest greeting accepted. Real greetings are about 100 bytes; the
/// cap keeps a peer that is not a MySQL server (or announces an absurd
/// length) from making the probe allocate or wait for megabytes.
pub const MAX_GREETING: usize = crate::limits::GREETING_BYTES;

/// What the SSLRequest announces as the client's maximum packet size.
const MAX_PACKET: u32 = 16 * 1024 * 1024;

/// utf8_general_ci: known to every server since 4.1, used when the greeting
/// names no character set.
const DEFAULT_CHARSET: u8 = 33;

/// The server's initial handshake packet (protocol version 10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    /// As sent: `8.0.36`, `5.6.21-log`, `5.5.5-10.11.6-MariaDB-0+deb12u1`.
    pub server_version: String,
    pub connection_id: u32,
    /// Lower and upper capability flags combined (the upper half is 0 when
    /// the greeting stops after the lower flags, as pre-4.1 servers do).
    pub capabilities: u32,
    pub charset: Option<u8>,
    pub status: Option<u16>,
    /// MariaDB's extended capabilities (sent in the filler when the server
    /// clears `CLIENT_LONG_PASSWORD`, which MariaDB calls `CLIENT_MYSQL`).
    pub mariadb_capabilities: Option<u32>,
    /// `mysql_native_password`, `caching_sha2_password`...
    pub auth_plugin: Option<String>,
}

impl Greeting {
    /// The `CLIENT_SSL` capability: the server is willing to switch to TLS.
    pub fn advertises_ssl(&self) -> bool {
        self.capabilities & CLIENT_SSL != 0
    }
}

/// Why a greeting payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GreetingError {
    #[error("the greeting packet is empty")]
    Empty,
    #[error("protocol version 9 (MySQL 3.21 and older) is not supported")]
    Protocol9,
    #[error("first byte 0x{0:02x} is not protocol version 10")]
    Protocol(u8),
    #[error("the server version string is not NUL-terminated")]
    UnterminatedVersion,
    #[error("the greeting ends after {at} bytes, inside the {field}")]
    Truncated { field: &'static str, at: usize },
}

/// A MySQL ERR packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    pub code: u16,
    /// `HY000`: only present when the server already knew the client speaks
    /// protocol 4.1 (errors sent before the greeting have none).
    pub sql_state: Option<String>,
    pub message: String,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.message.is_empty() {
            write!(f, "error {}", self.code)
        } else {
            write!(f, "error {}: {}", self.code, self.message)
        }
    }
}

/// A packet header: payload length (24 bits) and sequence id.
pub fn parse_header(header: [u8; 4]) -> (usize, u8) {
    let len = usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
    (len, header[3])
}

/// Reads the payload of a greeting packet. An ERR payload (first byte 0xff)
/// is not a greeting: check [`parse_err_packet`] first.
pub fn parse_greeting(payload: &[u8]) -> Result<Greeting, GreetingError> {
    let mut r = Reader {
        buf: payload,
        at: 0,
    };
    match r.u8("protocol version") {
        Err(_) => return Err(GreetingError::Empty),
        Ok(10) => {}
        Ok(9) => return Err(GreetingError::Protocol9),
        Ok(other) => return Err(GreetingError::Protocol(other)),
    }
    let version = r.cstr().ok_or(GreetingError::UnterminatedVersion)?;
    let server_version = String::from_utf8_lossy(version).into_owned();
    let connection_id = r.u32("connection id")?;
    r.take(8, "auth-plugin-data-part-1")?;
    r.u8("filler")?;
    let lower = u32::from(r.u16("capability flags")?);
    let mut g = Greeting {
        server_version,
        connection_id,
        capabilities: lower,
        charset: None,
        status: None,
        mariadb_capabilities: None,
        auth_plugin: None,
    };
    if r.rest().is_empty() {
        return Ok(g);
    }
    g.charset = Some(r.u8("character set")?);
    g.status = Some(r.u16("status flags")?);
    let upper = u32::from(r.u16("upper capability flags")?);
    g.capabilities |= upper << 16;
    let auth_len = r.u8("auth-plugin-data length")?;
    let reserved = r.take(10, "reserved bytes")?;
    if lower & CLIENT_LONG_PASSWORD == 0 {
        g.mariadb_capabilities = Some(u32::from_le_bytes([
            reserved[6],
            reserved[7],
            reserved[8],
            reserved[9],
        ]));
    }
    // What follows only matters for logging in, which the probe never does:
    // read it when well-formed, never fail on it.
    if g.capabilities & CLIENT_SECURE_CONNECTION != 0 {
        let part2 = usize::from(auth_len).saturating_sub(8).max(13);
        if r.take(part2, "auth-plugin-data-part-2").is_err() {
            return Ok(g);
        }
    }
    if g.capabilities & CLIENT_PLUGIN_AUTH != 0 {
        // Some servers (MySQL 5.5.7-5.5.9) omit the terminating NUL.
        let rest = r.rest();
        let name = rest.split(|&b| b == 0).next().unwrap_or(rest);
        if !name.is_empty() {
            g.auth_plugin = Some(String::from_utf8_lossy(name).into_owned());
        }
    }
    Ok(g)
}

/// Reads an ERR packet payload (`0xff`, code, optional `#` + SQL state,
/// message). `None` when the payload is not an ERR packet.
pub fn parse_err_packet(payload: &[u8]) -> Option<ServerError> {
    let (&marker, rest) = payload.split_first()?;
    if marker != 0xff {
        return None;
    }
    let code = match rest {
        [lo, hi, ..] => u16::from_le_bytes([*lo, *hi]),
        _ => 0,
    };
    let mut text = rest.get(2..).unwrap_or_default();
    let mut sql_state = None;
    if let [b'#', state @ ..] = text
        && state.len() >= 5
    {
        sql_state = Some(String::from_utf8_lossy(&state[..5]).into_owned());
        text = &state[5..];
    }
    let message = String::from_utf8_lossy(text)
        .trim_end_matches('\0')
        .trim()
        .to_string();
    Some(ServerError {
        code,
        sql_state,
        message,
    })
}

/// What both of the probe's answers to a greeting claim: the SSLRequest
/// adds `CLIENT_SSL`, the plaintext login attempt nothing.
const CLIENT_CAPABILITIES: u32 = CLIENT_LONG_PASSWORD
    | CLIENT_LONG_FLAG
    | CLIENT_PROTOCOL_41
    | CLIENT_TRANSACTIONS
    | CLIENT_SECURE_CONNECTION
    | CLIENT_MULTI_RESULTS
    | CLIENT_PLUGIN_AUTH;

/// The greeting's character set, else the default one.
fn charset_of(greeting: &Greeting) -> u8 {
    greeting
        .charset
        .filter(|&c| c != 0)
        .unwrap_or(DEFAULT_CHARSET)
}

/// The SSLRequest packet (header included): the 32-byte prefix of a
/// HandshakeResponse41 with `CLIENT_SSL` set, after which the client starts
/// the TLS handshake. `seq` is the greeting's sequence id plus one.
pub fn ssl_request(seq: u8, greeting: &Greeting) -> [u8; 36] {
    let capabilities = CLIENT_CAPABILITIES | CLIENT_SSL;
    let charset = charset_of(greeting);
    let mut p = [0u8; 36];
    p[0] = 32;
    p[3] = seq;
    p[4..8].copy_from_slice(&capabilities.to_le_bytes());
    p[8..12].copy_from_slice(&MAX_PACKET.to_le_bytes());
    p[12] = charset;
    // 23 reserved zero bytes follow (MariaDB reads its extended
    // capabilities from the last 4 only when CLIENT_MYSQL is clear).
    p
}

/// The user name of the plaintext login attempt: one that no server has
/// (MySQL and MariaDB user names are at most 32 and 80 characters, and this
/// one is fixed and documented so that an administrator who sees it in a
/// log knows what it was; docs/scanner-queries.md, "What the probe sends").
pub const PROBE_USER: &str = "sslaudit-probe-nonexistent";

/// The client's auth plugin named in the plaintext login attempt when the
/// greeting names none.
const DEFAULT_AUTH_PLUGIN: &str = "mysql_native_password";

/// The HandshakeResponse41 of the plaintext login attempt (header
/// included): no `CLIENT_SSL` (so no TLS), [`PROBE_USER`], auth data of
/// length zero, no database (`CLIENT_CONNECT_WITH_DB` clear), no connection
/// attributes (`CLIENT_CONNECT_ATTRS` clear), and the greeting's auth plugin
/// name so that the server answers in its own terms. `seq` is the
/// greeting's sequence id plus one.
pub fn handshake_response(seq: u8, greeting: &Greeting) -> Vec<u8> {
    let capabilities = CLIENT_CAPABILITIES;
    let charset = charset_of(greeting);
    let plugin = greeting
        .auth_plugin
        .as_deref()
        .filter(|p| !p.is_empty() && p.len() < 64 && p.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or(DEFAULT_AUTH_PLUGIN);
    let mut payload = Vec::with_capacity(64);
    payload.extend_from_slice(&capabilities.to_le_bytes());
    payload.extend_from_slice(&MAX_PACKET.to_le_bytes());
    payload.push(charset);
    payload.extend_from_slice(&[0u8; 23]);
    payload.extend_from_slice(PROBE_USER.as_bytes());
    payload.push(0);
    // CLIENT_SECURE_CONNECTION: a one-byte length, then the auth data: none.
    payload.push(0);
    payload.extend_from_slice(plugin.as_bytes());
    payload.push(0);
    let mut p = Vec::with_capacity(payload.len() + 4);
    p.extend_from_slice(&(payload.len() as u32).to_le_bytes()[..3]);
    p.push(seq);
    p.extend_from_slice(&payload);
    p
}

/// An empty packet: the client's answer to an AuthSwitchRequest or to
/// auth-more-data when it has no credential to give.
pub fn empty_packet(seq: u8) -> [u8; 4] {
    [0, 0, 0, seq]
}

/// `COM_QUIT`, sent when a plaintext login attempt was let in.
pub fn com_quit() -> [u8; 5] {
    [1, 0, 0, 0, 0x01]
}

/// How the start of an unexpected answer looks, for messages: its text when
/// it reads as text (`"SSH-2.0-OpenSSH_9.2p1"`, `"HTTP/1.1 400"`), else hex.
pub fn preview(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(32)];
    let printable = head
        .iter()
        .all(|&b| b.is_ascii_graphic() || b == b' ' || b == b'\r' || b == b'\n');
    if printable && !head.is_empty() {
        let line = String::from_utf8_lossy(head);
        let line = line.lines().next().unwrap_or_default();
        format!("\"{}\"", line.escape_default())
    } else {
        let hex: Vec<String> = head.iter().map(|b| format!("{b:02x}")).collect();
        hex.join(" ")
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], GreetingError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.at..end];
                self.at = end;
                Ok(s)
            }
            None => Err(GreetingError::Truncated {
                field,
                at: self.buf.len(),
            }),
        }
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, GreetingError> {
        Ok(self.take(1, field)?[0])
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, GreetingError> {
        let b = self.take(2, field)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, GreetingError> {
        let b = self.take(4, field)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A NUL-terminated string, without the NUL.
    fn cstr(&mut self) -> Option<&'a [u8]> {
        let rest = &self.buf[self.at..];
        let nul = rest.iter().position(|&b| b == 0)?;
        self.at += nul + 1;
        Some(&rest[..nul])
    }

    fn rest(&self) -> &'a [u8] {
        &self.buf[self.at..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Captured from MariaDB 10.11.19 (Debian 12) started with ssl-ca/cert/key:
    /// the whole packet, header included.
    const MARIADB_10_11: &str = "640000000a352e352e352d31302e31312e31392d4d6172696144422d302b646562313275310005000000733b6a25743e744f00feff080200ff81150000000000001d0000006f607447445f342457692b36006d7973716c5f6e61746976655f70617373776f726400";

    /// The same server with no account matching 127.0.0.1 (skip-name-resolve).
    const MARIADB_NOT_ALLOWED: &str = "44000000ff6a04486f737420273132372e302e302e3127206973206e6f7420616c6c6f77656420746f20636f6e6e65637420746f2074686973204d61726961444220736572766572";

    /// MariaDB 10.11's answer to a malformed SSLRequest.
    const MARIADB_BAD_HANDSHAKE: &str = "10000002ff13044261642068616e647368616b65";

    fn mysql80_greeting(caps_lower: u16) -> Vec<u8> {
        // Protocol::HandshakeV10 as MySQL 8.0 sends it.
        let mut p = vec![10];
        p.extend_from_slice(b"8.0.36\0");
        p.extend_from_slice(&42u32.to_le_bytes());
        p.extend_from_slice(b"abcdefgh");
        p.push(0);
        p.extend_from_slice(&caps_lower.to_le_bytes());
        p.push(255); // utf8mb4_0900_ai_ci
        p.extend_from_slice(&2u16.to_le_bytes());
        p.extend_from_slice(&0xdfffu16.to_le_bytes());
        p.push(21);
        p.extend_from_slice(&[0; 10]);
        p.extend_from_slice(b"ijklmnopqrst\0");
        p.extend_from_slice(b"caching_sha2_password\0");
        p
    }

    fn mysql56_greeting() -> Vec<u8> {
        // MySQL 5.6 community (yaSSL): CLIENT_SSL set, upper flags 0x807f.
        let mut p = vec![10];
        p.extend_from_slice(b"5.6.21-log\0");
        p.extend_from_slice(&7u32.to_le_bytes());
        p.extend_from_slice(b"12345678");
        p.push(0);
        p.extend_from_slice(&0xffffu16.to_le_bytes());
        p.push(8);
        p.extend_from_slice(&2u16.to_le_bytes());
        p.extend_from_slice(&0x807fu16.to_le_bytes());
        p.push(21);
        p.extend_from_slice(&[0; 10]);
        p.extend_from_slice(b"9abcdefghijk\0");
        p.extend_from_slice(b"mysql_native_password\0");
        p
    }

    #[test]
    fn captured_mariadb_greeting() {
        let packet = unhex(MARIADB_10_11);
        let (len, seq) = parse_header([packet[0], packet[1], packet[2], packet[3]]);
        assert_eq!((len, seq), (packet.len() - 4, 0));
        let g = parse_greeting(&packet[4..]).unwrap();
        assert_eq!(g.server_version, "5.5.5-10.11.19-MariaDB-0+deb12u1");
        assert_eq!(g.connection_id, 5);
        assert!(g.advertises_ssl());
        assert_eq!(g.capabilities, 0x81ff_fffe);
        assert_eq!(g.charset, Some(8));
        assert_eq!(g.mariadb_capabilities, Some(0x1d));
        assert_eq!(g.auth_plugin.as_deref(), Some("mysql_native_password"));
    }

    #[test]
    fn mysql_greetings_built_from_the_protocol_docs() {
        let g = parse_greeting(&mysql80_greeting(0xffff)).unwrap();
        assert_eq!(g.server_version, "8.0.36");
        assert!(g.advertises_ssl());
        assert_eq!(g.capabilities, 0xdfff_ffff);
        assert_eq!(g.mariadb_capabilities, None);
        assert_eq!(g.auth_plugin.as_deref(), Some("caching_sha2_password"));

        let g = parse_greeting(&mysql80_greeting(0xf7ff)).unwrap();
        assert!(!g.advertises_ssl());

        let g = parse_greeting(&mysql56_greeting()).unwrap();
        assert_eq!(g.server_version, "5.6.21-log");
        assert!(g.advertises_ssl());
        assert_eq!(g.charset, Some(8));
    }

    #[test]
    fn greeting_that_stops_after_the_lower_flags() {
        // Pre-4.1 servers end the greeting after the lower capability flags.
        let mut p = vec![10];
        p.extend_from_slice(b"4.0.27\0");
        p.extend_from_slice(&[1, 0, 0, 0]);
        p.extend_from_slice(b"abcdefgh\0");
        p.extend_from_slice(&0x082cu16.to_le_bytes());
        let g = parse_greeting(&p).unwrap();
        assert_eq!(g.server_version, "4.0.27");
        assert!(g.advertises_ssl());
        assert_eq!(g.charset, None);
    }

    #[test]
    fn bad_greetings_are_errors() {
        assert_eq!(parse_greeting(&[]), Err(GreetingError::Empty));
        assert_eq!(parse_greeting(b"\x093.21\0"), Err(GreetingError::Protocol9));
        assert_eq!(
            parse_greeting(b"GET / HTTP/1.1"),
            Err(GreetingError::Protocol(b'G'))
        );
        assert_eq!(
            parse_greeting(b"\x0a8.0.36"),
            Err(GreetingError::UnterminatedVersion)
        );
        assert_eq!(
            parse_greeting(b"\x0a8.0.36\0\x01\x02"),
            Err(GreetingError::Truncated {
                field: "connection id",
                at: 10
            })
        );
        assert_eq!(
            GreetingError::Truncated {
                field: "capability flags",
                at: 20
            }
            .to_string(),
            "the greeting ends after 20 bytes, inside the capability flags"
        );
    }

    #[test]
    fn err_packets() {
        let packet = unhex(MARIADB_BAD_HANDSHAKE);
        assert_eq!(
            parse_header([packet[0], packet[1], packet[2], packet[3]]),
            (16, 2)
        );
        let e = parse_err_packet(&packet[4..]).unwrap();
        assert_eq!(e.code, 1043);
        assert_eq!(e.sql_state, None);
        assert_eq!(e.to_string(), "error 1043: Bad handshake");

        let packet = unhex(MARIADB_NOT_ALLOWED);
        let e = parse_err_packet(&packet[4..]).unwrap();
        assert_eq!(e.code, 1130);
        assert_eq!(
            e.message,
            "Host '127.0.0.1' is not allowed to connect to this MariaDB server"
        );

        // With the 4.1 SQL state marker.
        let e = parse_err_packet(b"\xff\x10\x04#08004Too many connections").unwrap();
        assert_eq!(e.code, 1040);
        assert_eq!(e.sql_state.as_deref(), Some("08004"));
        assert_eq!(e.message, "Too many connections");

        let e = parse_err_packet(b"\xff\x69\x04Host '10.0.0.5' is blocked because of many connection errors; unblock with 'mariadb-admin flush-hosts'").unwrap();
        assert_eq!(e.code, 1129);
        assert!(e.message.starts_with("Host '10.0.0.5' is blocked"));

        assert_eq!(parse_err_packet(b"\xff").unwrap().to_string(), "error 0");
        assert_eq!(parse_err_packet(b"\x0a8.0"), None);
        assert_eq!(parse_err_packet(&[]), None);
    }

    #[test]
    fn ssl_request_layout() {
        let g = parse_greeting(&mysql80_greeting(0xffff)).unwrap();
        let p = ssl_request(1, &g);
        assert_eq!(&p[..4], &[32, 0, 0, 1]);
        let caps = u32::from_le_bytes([p[4], p[5], p[6], p[7]]);
        for flag in [CLIENT_SSL, CLIENT_PROTOCOL_41, CLIENT_SECURE_CONNECTION] {
            assert_ne!(caps & flag, 0, "flag {flag:#x}");
        }
        assert_eq!(u32::from_le_bytes([p[8], p[9], p[10], p[11]]), 1 << 24);
        assert_eq!(p[12], 255);
        assert!(p[13..].iter().all(|&b| b == 0));
    }

    #[test]
    fn handshake_response_layout() {
        let g = parse_greeting(&mysql80_greeting(0xffff)).unwrap();
        let p = handshake_response(1, &g);
        let (len, seq) = parse_header([p[0], p[1], p[2], p[3]]);
        assert_eq!((len, seq), (p.len() - 4, 1));
        let caps = u32::from_le_bytes([p[4], p[5], p[6], p[7]]);
        assert_eq!(caps & CLIENT_SSL, 0, "no SSLRequest, no TLS");
        assert_eq!(caps & 0x0000_0008, 0, "no CLIENT_CONNECT_WITH_DB");
        assert_eq!(caps & 0x0010_0000, 0, "no CLIENT_CONNECT_ATTRS");
        assert_eq!(caps & 0x0020_0000, 0, "no lenenc auth data");
        assert_eq!(p[12], 255);
        assert!(p[13..36].iter().all(|&b| b == 0));
        let rest = &p[36..];
        let user_end = rest.iter().position(|&b| b == 0).unwrap();
        assert_eq!(&rest[..user_end], PROBE_USER.as_bytes());
        assert_eq!(rest[user_end + 1], 0, "auth data of length zero");
        assert_eq!(&rest[user_end + 2..], b"caching_sha2_password\0");
        // A greeting without a plugin name: mysql_native_password.
        let g = parse_greeting(&mysql56_greeting()[..56]).unwrap();
        assert_eq!(g.auth_plugin, None);
        let p = handshake_response(1, &g);
        assert!(p.ends_with(b"\0\0mysql_native_password\0"));
    }

    #[test]
    fn previews() {
        assert_eq!(
            preview(b"SSH-2.0-OpenSSH_9.2p1\r\n"),
            "\"SSH-2.0-OpenSSH_9.2p1\""
        );
        assert_eq!(preview(&[0x16, 0x03, 0x01]), "16 03 01");
    }

    /// Every prefix of every known greeting parses or fails cleanly.
    #[test]
    fn every_prefix_is_handled() {
        let packet = unhex(MARIADB_10_11);
        for full in [
            packet[4..].to_vec(),
            mysql80_greeting(0xffff),
            mysql56_greeting(),
        ] {
            for n in 0..=full.len() {
                let _ = parse_greeting(&full[..n]);
                let _ = parse_err_packet(&full[..n]);
            }
            // Ending right after the lower flags (pre-4.1) or anywhere after
            // the fixed 4.1 fields is a greeting; cut inside those fields or
            // before the lower flags, it is an error.
            let flags_end = full.iter().position(|&b| b == 0).unwrap() + 1 + 4 + 8 + 1 + 2;
            let fixed_end = flags_end + 1 + 2 + 2 + 1 + 10;
            for n in 0..=full.len() {
                let ok = n == flags_end || n >= fixed_end;
                assert_eq!(parse_greeting(&full[..n]).is_ok(), ok, "prefix {n}");
            }
        }
    }

    /// Random bytes (a fixed xorshift stream, so failures reproduce) never panic.
    #[test]
    fn random_bytes_never_panic() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let base = unhex(MARIADB_10_11)[4..].to_vec();
        for round in 0..20_000 {
            let len = (next() % 160) as usize;
            let mut buf: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if round % 2 == 0 && !buf.is_empty() {
                // Mostly-valid greetings with random damage reach deeper.
                buf = base.clone();
                for _ in 0..(next() % 4 + 1) {
                    let i = (next() as usize) % buf.len();
                    buf[i] = next() as u8;
                }
                buf.truncate((next() as usize) % (buf.len() + 1));
            }
            if let Ok(g) = parse_greeting(&buf) {
                let _ = ssl_request(1, &g);
            }
            let _ = parse_err_packet(&buf);
            let _ = preview(&buf);
        }
    }
}
