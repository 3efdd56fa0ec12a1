//! The probe's plaintext login attempt and its client-certificate check
//! against fake servers on 127.0.0.1 that record every byte the probe
//! sends: no SSLRequest on the plaintext connection, the fixed user that
//! does not exist, empty auth data, and nothing else at all (also after an
//! AuthSwitchRequest or auth-more-data).

// Helpers panic on setup failures, as the tests do.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::ssl::{Ssl, SslContext, SslMethod, SslVerifyMode};
use openssl::x509::{X509, X509Name, X509NameBuilder};
use sslaudit_rules::facts::PlaintextOutcome;
use sslaudit_scanner::probe::{PROBE_USER, ProbeOptions, probe_tcp};

/// The fixed user name, spelled out here rather than read from the crate.
const USER: &[u8] = b"sslaudit-probe-nonexistent";
/// The greeting's scramble: it must never come back in any form.
const SCRAMBLE: &[u8; 20] = b"abcdefghijklmnopqrst";

fn opts() -> ProbeOptions {
    ProbeOptions {
        timeout: Duration::from_secs(2),
        versions: false,
        server_name: None,
        plaintext: true,
    }
}

fn packet(seq: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = (payload.len() as u32).to_le_bytes()[..3].to_vec();
    p.push(seq);
    p.extend_from_slice(payload);
    p
}

fn greeting(ssl: bool, plugin: &str) -> Vec<u8> {
    let caps_lower: u16 = if ssl { 0xffff } else { 0xf7ff };
    let mut p = vec![10];
    p.extend_from_slice(b"8.0.36\0");
    p.extend_from_slice(&9u32.to_le_bytes());
    p.extend_from_slice(&SCRAMBLE[..8]);
    p.push(0);
    p.extend_from_slice(&caps_lower.to_le_bytes());
    p.push(255);
    p.extend_from_slice(&2u16.to_le_bytes());
    p.extend_from_slice(&0xdfffu16.to_le_bytes());
    p.push(21);
    p.extend_from_slice(&[0; 10]);
    p.extend_from_slice(&SCRAMBLE[8..]);
    p.push(0);
    p.extend_from_slice(plugin.as_bytes());
    p.push(0);
    packet(0, &p)
}

fn err(seq: u8, code: u16, state: &str, message: &str) -> Vec<u8> {
    let mut p = vec![0xff];
    p.extend_from_slice(&code.to_le_bytes());
    p.push(b'#');
    p.extend_from_slice(state.as_bytes());
    p.extend_from_slice(message.as_bytes());
    packet(seq, &p)
}

/// Reads one packet: (header + payload) bytes.
fn read_packet(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut h = [0u8; 4];
    s.read_exact(&mut h).ok()?;
    let len = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
    let mut p = vec![0u8; len];
    s.read_exact(&mut p).ok()?;
    let mut all = h.to_vec();
    all.extend_from_slice(&p);
    Some(all)
}

/// Everything the client sends until it closes.
fn read_rest(s: &mut TcpStream) -> Vec<u8> {
    let mut rest = Vec::new();
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.read_to_end(&mut rest);
    rest
}

/// How the fake server answers the login packet.
#[derive(Clone, Copy)]
enum Script {
    /// AuthSwitchRequest to mysql_native_password, then ERR 1045.
    SwitchThenDenied,
    /// auth-more-data (caching_sha2_password "perform full authentication"),
    /// then ERR 1045.
    MoreDataThenDenied,
    /// ERR 3159 right away.
    SecureTransport,
    /// OK: an anonymous account let the login in.
    LetIn,
}

/// A fake server: the TLS connection (SSLRequest) is closed after the
/// request; the plaintext connection follows `script`. Every byte a client
/// sends on a connection that is not an SSLRequest is recorded.
fn fake(script: Script, ssl: bool) -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let record = Arc::clone(&record);
            thread::spawn(move || {
                s.write_all(&greeting(ssl, "caching_sha2_password"))
                    .unwrap();
                let Some(first) = read_packet(&mut s) else {
                    return;
                };
                let caps = u32::from_le_bytes([first[4], first[5], first[6], first[7]]);
                if first.len() == 36 && caps & 0x800 != 0 {
                    // The TLS handshake's SSLRequest: not this test's business.
                    return;
                }
                let mut sent = first;
                match script {
                    Script::SwitchThenDenied | Script::MoreDataThenDenied => {
                        let ask = match script {
                            Script::SwitchThenDenied => {
                                let mut p = vec![0xfe];
                                p.extend_from_slice(b"mysql_native_password\0");
                                p.extend_from_slice(SCRAMBLE);
                                p.push(0);
                                p
                            }
                            _ => vec![0x01, 0x04],
                        };
                        s.write_all(&packet(2, &ask)).unwrap();
                        if let Some(answer) = read_packet(&mut s) {
                            sent.extend_from_slice(&answer);
                        }
                        s.write_all(&err(
                            4,
                            1045,
                            "28000",
                            "Access denied for user 'sslaudit-probe-nonexistent'@'127.0.0.1' (using password: NO)",
                        ))
                        .unwrap();
                    }
                    Script::SecureTransport => {
                        s.write_all(&err(
                            2,
                            3159,
                            "08004",
                            "Connections using insecure transport are prohibited while --require_secure_transport=ON.",
                        ))
                        .unwrap();
                    }
                    Script::LetIn => {
                        s.write_all(&packet(2, &[0, 0, 0, 2, 0, 0, 0])).unwrap();
                    }
                }
                let _ = s.shutdown(std::net::Shutdown::Write);
                sent.extend_from_slice(&read_rest(&mut s));
                record.lock().unwrap().push(sent);
            });
        }
    });
    (addr, seen)
}

/// The login packet the probe must send, byte for byte, built here from
/// the protocol documentation (HandshakeResponse41).
fn expected_login(seq: u8) -> Vec<u8> {
    // LONG_PASSWORD, LONG_FLAG, PROTOCOL_41, TRANSACTIONS, SECURE_CONNECTION,
    // MULTI_RESULTS, PLUGIN_AUTH; not SSL, CONNECT_WITH_DB, CONNECT_ATTRS.
    let caps: u32 = 0x1 | 0x4 | 0x200 | 0x2000 | 0x8000 | 0x2_0000 | 0x8_0000;
    let mut p = caps.to_le_bytes().to_vec();
    p.extend_from_slice(&(16u32 << 20).to_le_bytes());
    p.push(255);
    p.extend_from_slice(&[0; 23]);
    p.extend_from_slice(USER);
    p.push(0);
    p.push(0); // auth data: length 0
    p.extend_from_slice(b"caching_sha2_password\0");
    packet(seq, &p)
}

fn only_connection(seen: &Arc<Mutex<Vec<Vec<u8>>>>) -> Vec<u8> {
    // The server thread records after the client closed.
    for _ in 0..200 {
        if !seen.lock().unwrap().is_empty() {
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "one plaintext connection");
    seen[0].clone()
}

/// No byte sequence of the scramble (4 bytes or more) is in `bytes`.
fn assert_no_scramble(bytes: &[u8]) {
    for w in SCRAMBLE.windows(4) {
        assert!(
            !bytes.windows(4).any(|b| b == w),
            "scramble bytes sent back: {bytes:02x?}"
        );
    }
}

#[test]
fn after_an_auth_switch_only_an_empty_packet_follows() {
    assert_eq!(PROBE_USER.as_bytes(), USER);
    let (addr, seen) = fake(Script::SwitchThenDenied, true);
    let r = probe_tcp(&addr, &opts());
    let a = r.plaintext.clone().unwrap();
    assert_eq!(a.outcome, PlaintextOutcome::AccessDenied, "{a:?}");
    assert_eq!(a.code, Some(1045));
    assert_eq!(a.sql_state.as_deref(), Some("28000"));
    let sent = only_connection(&seen);
    let mut expected = expected_login(1);
    // The empty answer to the AuthSwitchRequest (sequence 2 + 1), and nothing else.
    expected.extend_from_slice(&[0, 0, 0, 3]);
    assert_eq!(
        sent, expected,
        "exactly the login packet and one empty packet"
    );
    assert_no_scramble(&sent);
    // No SSLRequest: the capability word lacks CLIENT_SSL, and no TLS record follows.
    let caps = u32::from_le_bytes([sent[4], sent[5], sent[6], sent[7]]);
    assert_eq!(caps & 0x800, 0);
    assert!(!sent.windows(2).any(|w| w == [0x16, 0x03]));
}

#[test]
fn after_auth_more_data_only_an_empty_packet_follows() {
    let (addr, seen) = fake(Script::MoreDataThenDenied, true);
    let r = probe_tcp(&addr, &opts());
    assert_eq!(r.plaintext.unwrap().outcome, PlaintextOutcome::AccessDenied);
    let sent = only_connection(&seen);
    let mut expected = expected_login(1);
    expected.extend_from_slice(&[0, 0, 0, 3]);
    assert_eq!(sent, expected);
    assert_no_scramble(&sent);
}

#[test]
fn secure_transport_required_is_recorded() {
    let (addr, seen) = fake(Script::SecureTransport, true);
    let r = probe_tcp(&addr, &opts());
    let a = r.plaintext.unwrap();
    assert_eq!(a.outcome, PlaintextOutcome::SecureTransportRequired);
    assert_eq!(a.code, Some(3159));
    assert_eq!(a.sql_state.as_deref(), Some("08004"));
    assert!(
        a.message
            .starts_with("Connections using insecure transport")
    );
    assert_eq!(only_connection(&seen), expected_login(1));
}

#[test]
fn a_server_without_tls_gets_the_attempt_and_a_let_in_login_quits_at_once() {
    let (addr, seen) = fake(Script::LetIn, false);
    let r = probe_tcp(&addr, &opts());
    assert!(!r.advertises_ssl);
    assert_eq!(r.requests_client_cert, None, "no TLS negotiated");
    assert_eq!(r.plaintext.unwrap().outcome, PlaintextOutcome::LoggedIn);
    let mut expected = expected_login(1);
    expected.extend_from_slice(&[1, 0, 0, 0, 0x01]); // COM_QUIT
    assert_eq!(only_connection(&seen), expected);
}

#[test]
fn no_greeting_no_attempt() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    thread::spawn(move || {
        for s in listener.incoming().flatten() {
            let mut s = s;
            let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2p1\r\n");
        }
    });
    let r = probe_tcp(&addr, &opts());
    assert!(r.error.is_some());
    assert_eq!(r.plaintext, None);
}

fn ca(cn: &str) -> (X509, PKey<openssl::pkey::Private>) {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    name.append_entry_by_text("O", "sslaudit tests").unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    (b.build(), key)
}

/// A TLS "MySQL server" that asks for a client certificate (listing its CA)
/// when `ask`, at TLS 1.2 or 1.3 only (`max`).
fn tls_server(ask: bool, max: openssl::ssl::SslVersion) -> String {
    let (cert, key) = ca("db-ca");
    let mut b = SslContext::builder(SslMethod::tls_server()).unwrap();
    b.set_certificate(&cert).unwrap();
    b.set_private_key(&key).unwrap();
    b.set_max_proto_version(Some(max)).unwrap();
    if ask {
        // As MariaDB with ssl-ca: request, do not require.
        b.set_verify(SslVerifyMode::PEER);
        let mut names = openssl::stack::Stack::<X509Name>::new().unwrap();
        names.push(cert.subject_name().to_owned().unwrap()).unwrap();
        b.set_client_ca_list(names);
    }
    let ctx = Arc::new(b.build());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let ctx = Arc::clone(&ctx);
            thread::spawn(move || {
                s.write_all(&greeting(true, "mysql_native_password"))
                    .unwrap();
                let Some(first) = read_packet(&mut s) else {
                    return;
                };
                if first.len() != 36 {
                    // The plaintext attempt: refuse it.
                    let _ = s.write_all(&err(2, 1045, "28000", "Access denied"));
                    return;
                }
                if let Ok(mut tls) = Ssl::new(&ctx).unwrap().accept(s) {
                    let mut buf = [0u8; 64];
                    let _ = tls.read(&mut buf);
                }
            });
        }
    });
    addr
}

#[test]
fn whether_the_server_asks_for_a_client_certificate() {
    use openssl::ssl::SslVersion;
    for max in [SslVersion::TLS1_2, SslVersion::TLS1_3] {
        let r = probe_tcp(&tls_server(true, max), &opts());
        assert_eq!(r.error, None);
        assert_eq!(r.requests_client_cert, Some(true), "{max:?}");
        assert_eq!(r.client_ca_names, ["CN=db-ca, O=sslaudit tests"], "{max:?}");
        let r = probe_tcp(&tls_server(false, max), &opts());
        assert_eq!(r.error, None);
        assert_eq!(r.requests_client_cert, Some(false), "{max:?}");
        assert!(r.client_ca_names.is_empty());
    }
}
