//! The TLS probe against real peers: fake servers on 127.0.0.1 built here
//! (one per fault the probe must turn into a clear error within its
//! timeout), an in-process OpenSSL "MySQL" server, and, gated on
//! SSLAUDIT_LIVE=1, real MariaDB servers this test starts itself.

// Helpers shared by the tests panic on setup failures, as the tests do.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::ssl::{ClientHelloResponse, Ssl, SslContext, SslMethod, SslVersion};
use openssl::x509::{X509, X509NameBuilder};
use sslaudit_scanner::evidence::ProbeRecord;
use sslaudit_scanner::probe::{ProbeOptions, probe_tcp, probe_with};

const SECOND: Duration = Duration::from_secs(1);

fn opts(versions: bool) -> ProbeOptions {
    ProbeOptions {
        timeout: SECOND,
        versions,
        server_name: None,
        // The plaintext login attempt has its tests in probe_plaintext.rs;
        // these count and script the TLS connections alone.
        plaintext: false,
    }
}

/// A greeting packet as MySQL 8.0 sends it (header included).
fn greeting(version: &str, ssl: bool) -> Vec<u8> {
    let caps_lower: u16 = if ssl { 0xffff } else { 0xf7ff };
    let mut p = vec![10];
    p.extend_from_slice(version.as_bytes());
    p.push(0);
    p.extend_from_slice(&9u32.to_le_bytes());
    p.extend_from_slice(b"abcdefgh\0");
    p.extend_from_slice(&caps_lower.to_le_bytes());
    p.push(255);
    p.extend_from_slice(&2u16.to_le_bytes());
    p.extend_from_slice(&0xdfffu16.to_le_bytes());
    p.push(21);
    p.extend_from_slice(&[0; 10]);
    p.extend_from_slice(b"ijklmnopqrst\0mysql_native_password\0");
    packet(0, &p)
}

fn packet(seq: u8, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut p = len.to_le_bytes()[..3].to_vec();
    p.push(seq);
    p.extend_from_slice(payload);
    p
}

fn err_packet(seq: u8, code: u16, state: Option<&str>, message: &str) -> Vec<u8> {
    let mut p = vec![0xff];
    p.extend_from_slice(&code.to_le_bytes());
    if let Some(s) = state {
        p.push(b'#');
        p.extend_from_slice(s.as_bytes());
    }
    p.extend_from_slice(message.as_bytes());
    packet(seq, &p)
}

/// Serves every connection on an ephemeral loopback port with `handler`
/// (one thread each) for the rest of the test process.
fn serve<F>(handler: F) -> String
where
    F: Fn(TcpStream) + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handler = Arc::new(handler);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let h = Arc::clone(&handler);
            thread::spawn(move || h(stream));
        }
    });
    addr
}

/// Reads the 36-byte SSLRequest the probe sends after the greeting.
fn read_ssl_request(s: &mut TcpStream) -> Vec<u8> {
    let mut buf = [0u8; 36];
    s.read_exact(&mut buf).unwrap();
    buf.to_vec()
}

/// Reads the client's first TLS record (the ClientHello) completely.
fn read_client_hello(s: &mut TcpStream) {
    let mut header = [0u8; 5];
    s.read_exact(&mut header).unwrap();
    let len = u16::from_be_bytes([header[3], header[4]]) as usize;
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
}

fn timed(address: &str, o: &ProbeOptions) -> (ProbeRecord, Duration) {
    let t = Instant::now();
    let r = probe_tcp(address, o);
    (r, t.elapsed())
}

#[test]
fn stall_before_the_greeting_times_out() {
    let addr = serve(|s| {
        thread::sleep(Duration::from_secs(5));
        drop(s);
    });
    let (r, took) = timed(&addr, &opts(true));
    assert_eq!(
        r.error.as_deref(),
        Some("timed out after 1s waiting for the server greeting")
    );
    assert_eq!(r.greeting_version, None);
    assert!(r.accepted.is_empty());
    assert!(took < Duration::from_millis(1500), "{took:?}");
}

/// A greeting dribbled one byte at a time must not extend the deadline.
#[test]
fn dribbled_greeting_is_bounded_by_the_deadline() {
    let addr = serve(|mut s| {
        for b in greeting("8.0.36", true) {
            if s.write_all(&[b]).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(200));
        }
    });
    let (r, took) = timed(&addr, &opts(true));
    let err = r.error.unwrap();
    assert!(
        err.starts_with("timed out after 1s waiting for the server greeting"),
        "{err}"
    );
    assert!(took < Duration::from_millis(1500), "{took:?}");
}

#[test]
fn stall_after_the_greeting_times_out_in_the_handshake() {
    let addr = serve(|mut s| {
        s.write_all(&greeting("8.0.36", true)).unwrap();
        let _ = read_ssl_request(&mut s);
        thread::sleep(Duration::from_secs(5));
    });
    let (r, took) = timed(&addr, &opts(true));
    assert_eq!(
        r.error.as_deref(),
        Some("timed out after 1s during the TLS handshake")
    );
    assert_eq!(r.greeting_version.as_deref(), Some("8.0.36"));
    assert!(r.advertises_ssl);
    assert!(r.accepted.is_empty());
    // No retry after a timeout: one connection, one timeout.
    assert!(took < Duration::from_millis(1500), "{took:?}");
}

#[test]
fn error_packet_instead_of_a_greeting() {
    let blocked = "Host '127.0.0.1' is blocked because of many connection errors; \
                   unblock with 'mysqladmin flush-hosts'";
    let addr = serve(move |mut s| {
        s.write_all(&err_packet(0, 1129, None, blocked)).unwrap();
    });
    let r = probe_tcp(&addr, &opts(true));
    assert_eq!(
        r.error,
        Some(format!(
            "server refused the connection with error 1129: {blocked}"
        ))
    );
    assert_eq!(r.greeting_version, None);

    let addr = serve(|mut s| {
        s.write_all(&err_packet(0, 1040, Some("08004"), "Too many connections"))
            .unwrap();
    });
    let r = probe_tcp(&addr, &opts(false));
    assert_eq!(
        r.error.as_deref(),
        Some("server refused the connection with error 1040: Too many connections")
    );
}

#[test]
fn error_packet_after_the_ssl_request() {
    let (tx, rx) = mpsc::channel();
    let addr = serve(move |mut s| {
        s.write_all(&greeting("5.7.44-log", true)).unwrap();
        let request = read_ssl_request(&mut s);
        let _ = tx.send(request);
        read_client_hello(&mut s);
        s.write_all(&err_packet(2, 1043, Some("08S01"), "Bad handshake"))
            .unwrap();
    });
    let r = probe_tcp(&addr, &opts(true));
    assert_eq!(
        r.error.as_deref(),
        Some("server answered the SSLRequest with error 1043: Bad handshake")
    );
    assert_eq!(r.greeting_version.as_deref(), Some("5.7.44-log"));
    // The SSLRequest as sent: length 32, sequence 1, CLIENT_SSL and 4.1.
    let request = rx.recv().unwrap();
    assert_eq!(&request[..4], &[32, 0, 0, 1]);
    let caps = u32::from_le_bytes([request[4], request[5], request[6], request[7]]);
    assert_eq!(caps & 0x0800, 0x0800);
    assert_eq!(caps & 0x0200, 0x0200);
    assert_eq!(caps & 0x8000, 0x8000);

    // A server that answers and closes without reading the ClientHello (the
    // close then resets the connection): the error packet still shows.
    let addr = serve(|mut s| {
        s.write_all(&greeting("5.7.44-log", true)).unwrap();
        let _ = read_ssl_request(&mut s);
        s.write_all(&err_packet(2, 1043, Some("08S01"), "Bad handshake"))
            .unwrap();
    });
    for _ in 0..20 {
        let r = probe_tcp(&addr, &opts(false));
        assert_eq!(
            r.error.as_deref(),
            Some("server answered the SSLRequest with error 1043: Bad handshake")
        );
    }
}

#[test]
fn reset_during_the_handshake() {
    let addr = serve(|mut s| {
        s.write_all(&greeting("8.0.36", true)).unwrap();
        let _ = read_ssl_request(&mut s);
        // Read a little of the ClientHello and close with the rest unread:
        // the kernel answers with a reset.
        let mut one = [0u8; 1];
        let _ = s.read_exact(&mut one);
        drop(s);
    });
    let (r, took) = timed(&addr, &opts(true));
    assert_eq!(
        r.error.as_deref(),
        Some("connection reset during the TLS handshake")
    );
    assert_eq!(r.greeting_version.as_deref(), Some("8.0.36"));
    assert!(took < Duration::from_millis(900), "{took:?}");
}

#[test]
fn close_during_the_handshake() {
    let addr = serve(|mut s| {
        s.write_all(&greeting("8.0.36", true)).unwrap();
        let _ = read_ssl_request(&mut s);
        read_client_hello(&mut s);
        let _ = s.shutdown(Shutdown::Both);
    });
    let r = probe_tcp(&addr, &opts(false));
    assert_eq!(
        r.error.as_deref(),
        Some("connection closed by the server during the TLS handshake")
    );
}

#[test]
fn greeting_without_client_ssl() {
    let (tx, rx) = mpsc::channel();
    let addr = serve(move |mut s| {
        s.write_all(&greeting("5.5.62", false)).unwrap();
        // The probe must not send anything: no SSLRequest, no login.
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    let r = probe_tcp(&addr, &opts(true));
    assert_eq!(r.error, None);
    assert_eq!(r.greeting_version.as_deref(), Some("5.5.62"));
    assert!(!r.advertises_ssl);
    assert_eq!(r.protocol, None);
    assert!(r.chain_pem.is_empty());
    assert_eq!(r.accepted.len(), 4);
    assert!(r.accepted.values().all(|a| !a));
    assert_eq!(rx.recv().unwrap(), Vec::<u8>::new());

    let r = probe_tcp(&addr, &opts(false));
    assert!(r.accepted.is_empty());
}

#[test]
fn garbage_and_absurd_lengths() {
    let addr = serve(|mut s| {
        let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
        thread::sleep(Duration::from_secs(3));
    });
    let (r, took) = timed(&addr, &opts(true));
    assert_eq!(
        r.error.as_deref(),
        Some(
            "malformed server greeting: its header announces 4739923 bytes, more than \
             the 65536 allowed (not a MySQL server? it sent \"SSH-\")"
        )
    );
    assert!(took < Duration::from_millis(900), "{took:?}");

    let addr = serve(|mut s| {
        let _ = s.write_all(&[0xff, 0xff, 0xff, 0x00]);
        thread::sleep(Duration::from_secs(3));
    });
    let r = probe_tcp(&addr, &opts(true));
    assert!(
        r.error.unwrap().contains("announces 16777215 bytes"),
        "absurd length"
    );

    let addr = serve(|mut s| {
        let _ = s.write_all(&packet(0, b"hello world"));
    });
    let r = probe_tcp(&addr, &opts(true));
    assert_eq!(
        r.error.as_deref(),
        Some(
            "malformed server greeting: first byte 0x68 is not protocol version 10 \
             (not a MySQL server? it sent \"hello world\")"
        )
    );

    // Random bytes (a fixed xorshift stream): whatever they are, a record
    // with an error comes back, and soon.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..20 {
        let bytes: Vec<u8> = (0..64)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let addr = serve(move |mut s| {
            let _ = s.write_all(&bytes);
        });
        let (r, took) = timed(&addr, &opts(true));
        assert!(r.error.is_some(), "{r:?}");
        assert!(took < Duration::from_millis(1500), "{took:?}");
    }
}

#[test]
fn closed_before_the_greeting_and_refused() {
    let addr = serve(drop);
    let r = probe_tcp(&addr, &opts(true));
    assert_eq!(
        r.error.as_deref(),
        Some("connection closed by the server before sending a greeting")
    );

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    drop(listener);
    let r = probe_tcp(&addr, &opts(true));
    assert_eq!(r.error, Some(format!("connection refused by {addr}")));
    assert_eq!(r.address, addr);

    let r = probe_tcp("127.0.0.1:notaport", &opts(true));
    assert_eq!(
        r.error.as_deref(),
        Some("invalid port \"notaport\" in address \"127.0.0.1:notaport\"")
    );
}

/// `sslaudit probe` judges one thing, the port's TLS: a port that gives no
/// MySQL greeting was not checked, so the command must fail with SCAN001,
/// never print "no findings" and exit 0 (a CI gate on `probe` would pass
/// while the database is down). Guards that hole.
#[test]
fn probe_command_fails_on_ports_it_cannot_check() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let refused = listener.local_addr().unwrap().to_string();
    drop(listener);
    let (hold, held) = mpsc::channel::<TcpStream>();
    let stalled = serve(move |s| {
        // Keep the connection open and silent until the test ends.
        let _ = hold.send(s);
    });
    let http = serve(|mut s| {
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    });
    for (addr, why) in [
        (&refused, "connection refused"),
        (
            &stalled,
            "timed out after 1s waiting for the server greeting",
        ),
        (&http, "not a MySQL server?"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_sslaudit"))
            .args(["probe", addr, "--timeout", "1s"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{addr}: {stdout}");
        assert!(stdout.contains("SCAN001"), "{addr}: {stdout}");
        assert!(stdout.contains(why), "{addr}: {stdout}");
        assert!(!stdout.contains("no findings"), "{addr}: {stdout}");
    }
    drop(held);
}

/// A throw-away certificate; `bits` and `digest` make it as weak as needed.
fn certificate(bits: u32, digest: MessageDigest) -> (X509, PKey<Private>) {
    let key = PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text(
        "CN",
        "MySQL_Server_8.0.36_Auto_Generated_Server_Certificate",
    )
    .unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    let serial = BigNum::from_u32(7).unwrap().to_asn1_integer().unwrap();
    b.set_serial_number(&serial).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    b.sign(&key, digest).unwrap();
    (b.build(), key)
}

/// A "MySQL server" that completes the TLS handshake with OpenSSL.
fn tls_server(ctx: SslContext) -> String {
    let ctx = Arc::new(ctx);
    serve(move |mut s| {
        if s.write_all(&greeting("8.0.36", true)).is_err() {
            return;
        }
        let _ = read_ssl_request(&mut s);
        let ssl = Ssl::new(&ctx).unwrap();
        if let Ok(mut tls) = ssl.accept(s) {
            // Wait for the probe's close_notify (or its close).
            let mut buf = [0u8; 64];
            let _ = tls.read(&mut buf);
        }
    })
}

fn server_context(
    cert: &X509,
    key: &PKey<Private>,
    min: SslVersion,
    max: SslVersion,
    ciphers: &str,
) -> openssl::ssl::SslContextBuilder {
    let mut b = SslContext::builder(SslMethod::tls_server()).unwrap();
    b.set_security_level(0);
    b.set_certificate(cert).unwrap();
    b.set_private_key(key).unwrap();
    b.set_min_proto_version(Some(min)).unwrap();
    b.set_max_proto_version(Some(max)).unwrap();
    b.set_cipher_list(ciphers).unwrap();
    b
}

#[test]
fn tls_server_modern() {
    let (cert, key) = certificate(2048, MessageDigest::sha256());
    let ctx = server_context(
        &cert,
        &key,
        SslVersion::TLS1_2,
        SslVersion::TLS1_3,
        "DEFAULT",
    );
    let addr = tls_server(ctx.build());
    let (r, took) = timed(&addr, &opts(true));
    assert_eq!(r.error, None);
    assert!(r.advertises_ssl);
    assert_eq!(r.protocol.as_deref(), Some("TLSv1.3"));
    assert_eq!(r.cipher.as_deref(), Some("TLS_AES_256_GCM_SHA384"));
    let pem = String::from_utf8(cert.to_pem().unwrap()).unwrap();
    assert_eq!(r.chain_pem, vec![pem]);
    assert_eq!(
        accepted(&r),
        [
            ("TLSv1", false),
            ("TLSv1.1", false),
            ("TLSv1.2", true),
            ("TLSv1.3", true)
        ]
    );
    assert!(took < Duration::from_millis(900), "{took:?}");

    // SNI is sent only when asked for.
    let (tx, rx) = mpsc::channel();
    let mut ctx = server_context(
        &cert,
        &key,
        SslVersion::TLS1_2,
        SslVersion::TLS1_3,
        "DEFAULT",
    );
    let tx = std::sync::Mutex::new(tx);
    ctx.set_servername_callback(move |ssl, _| {
        let name = ssl
            .servername(openssl::ssl::NameType::HOST_NAME)
            .map(str::to_string);
        let _ = tx.lock().unwrap().send(name);
        Ok(())
    });
    let addr = tls_server(ctx.build());
    let mut o = opts(false);
    o.server_name = Some("db-master.example".into());
    assert_eq!(probe_tcp(&addr, &o).error, None);
    assert_eq!(rx.recv().unwrap().as_deref(), Some("db-master.example"));
    o.server_name = None;
    assert_eq!(probe_tcp(&addr, &o).error, None);
    assert_eq!(rx.recv().unwrap(), None);
}

/// TLS 1.0/1.1, a 1024-bit key and a SHA-1 signature: still observed.
/// A server counts the probe's aborted connection (as MySQL's host cache
/// does) only once it has read the probe's close, and takes its time doing
/// so; the probe returns only after the server hung up, so the scanner's
/// login, which resets the count, can never overtake it.
#[test]
fn the_probe_returns_only_after_the_server_counted_it() {
    let (cert, key) = certificate(2048, MessageDigest::sha256());
    let ctx = server_context(
        &cert,
        &key,
        SslVersion::TLS1_2,
        SslVersion::TLS1_3,
        "DEFAULT",
    )
    .build();
    let counted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = Arc::clone(&counted);
    let addr = serve(move |mut s| {
        if s.write_all(&greeting("10.11.6-MariaDB", true)).is_err() {
            return;
        }
        let _ = read_ssl_request(&mut s);
        if let Ok(mut tls) = Ssl::new(&ctx).unwrap().accept(s) {
            let mut buf = [0u8; 64];
            let _ = tls.read(&mut buf);
            thread::sleep(Duration::from_millis(300));
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let r = probe_tcp(&addr, &opts(false));
    assert_eq!(r.protocol.as_deref(), Some("TLSv1.3"), "{r:?}");
    assert_eq!(counted.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn tls_server_legacy_versions_and_weak_certificate() {
    let (cert, key) = certificate(1024, MessageDigest::sha1());
    let ctx = server_context(
        &cert,
        &key,
        SslVersion::TLS1,
        SslVersion::TLS1_1,
        "ALL:@SECLEVEL=0",
    );
    let addr = tls_server(ctx.build());
    let r = probe_tcp(&addr, &opts(true));
    assert_eq!(r.error, None);
    assert_eq!(r.protocol.as_deref(), Some("TLSv1.1"));
    assert_eq!(r.chain_pem.len(), 1);
    assert_eq!(
        accepted(&r),
        [
            ("TLSv1", true),
            ("TLSv1.1", true),
            ("TLSv1.2", false),
            ("TLSv1.3", false)
        ]
    );
}

/// yaSSL (MySQL 5.5/5.6 community builds) reads only the first 32 cipher
/// suites of a ClientHello. OpenSSL's full offer starts with 30-odd AEAD
/// suites yaSSL does not know, so the probe must retry with the classic
/// suites first instead of calling the server broken.
#[test]
fn yassl_like_server_that_reads_32_suites() {
    let (cert, key) = certificate(2048, MessageDigest::sha1());
    let mut ctx = server_context(
        &cert,
        &key,
        SslVersion::TLS1,
        SslVersion::TLS1_1,
        "AES256-SHA:AES128-SHA:DHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA:@SECLEVEL=0",
    );
    ctx.set_client_hello_callback(|ssl, alert| {
        // AES256-SHA, AES128-SHA, DHE-RSA-AES256-SHA, DHE-RSA-AES128-SHA.
        let known: [[u8; 2]; 4] = [[0, 0x35], [0, 0x2f], [0, 0x39], [0, 0x33]];
        let suites = ssl.client_hello_ciphers().unwrap_or_default();
        let first32 = &suites[..suites.len().min(64)];
        if first32.chunks(2).any(|c| known.iter().any(|k| k == c)) {
            Ok(ClientHelloResponse::SUCCESS)
        } else {
            *alert = openssl::ssl::SslAlert::HANDSHAKE_FAILURE;
            Err(openssl::error::ErrorStack::get())
        }
    });
    let addr = tls_server(ctx.build());
    let r = probe_tcp(&addr, &opts(true));
    assert_eq!(r.error, None, "{r:?}");
    assert_eq!(r.protocol.as_deref(), Some("TLSv1.1"));
    assert_eq!(r.cipher.as_deref(), Some("AES256-SHA"));
    assert_eq!(
        accepted(&r),
        [
            ("TLSv1", true),
            ("TLSv1.1", true),
            ("TLSv1.2", false),
            ("TLSv1.3", false)
        ]
    );
}

/// Both ends refuse each other: the error names OpenSSL's reason.
#[test]
fn tls_failure_names_the_reason() {
    let (cert, key) = certificate(2048, MessageDigest::sha256());
    let ctx = server_context(
        &cert,
        &key,
        SslVersion::TLS1_2,
        SslVersion::TLS1_2,
        "ECDHE-RSA-AES256-GCM-SHA384",
    );
    let mut ctx = ctx;
    ctx.set_client_hello_callback(|_, alert| {
        *alert = openssl::ssl::SslAlert::HANDSHAKE_FAILURE;
        Err(openssl::error::ErrorStack::get())
    });
    let addr = tls_server(ctx.build());
    let r = probe_tcp(&addr, &opts(true));
    let err = r.error.unwrap();
    assert!(
        err.starts_with("TLS handshake failed: ") && err.contains("handshake failure"),
        "{err}"
    );
    assert!(r.advertises_ssl);
    assert!(r.accepted.is_empty());
}

/// probe_with over caller-opened streams (what an SSH direct-tcpip channel
/// is): one stream per handshake, failures of the opener reported.
#[test]
fn probe_over_caller_streams() {
    let (cert, key) = certificate(2048, MessageDigest::sha256());
    let ctx = server_context(
        &cert,
        &key,
        SslVersion::TLS1,
        SslVersion::TLS1_2,
        "ALL:@SECLEVEL=0",
    );
    let addr = tls_server(ctx.build());
    let mut opened = 0;
    let r = probe_with(
        "db-master via ssh",
        || {
            opened += 1;
            let s = TcpStream::connect(&addr)?;
            s.set_read_timeout(Some(SECOND))?;
            Ok(s)
        },
        &opts(true),
    );
    assert_eq!(r.error, None);
    assert_eq!(r.address, "db-master via ssh");
    assert_eq!(r.protocol.as_deref(), Some("TLSv1.2"));
    assert_eq!(r.accepted.values().filter(|a| **a).count(), 3);
    // TLSv1.2 settled TLSv1.2 and TLSv1.3; TLSv1 and TLSv1.1 took one each.
    assert_eq!(opened, 3);

    let r = probe_with(
        "db-master via ssh",
        || -> std::io::Result<TcpStream> {
            Err(std::io::Error::other(
                "channel open failed: administratively prohibited",
            ))
        },
        &opts(true),
    );
    assert_eq!(
        r.error.as_deref(),
        Some("cannot open the connection: channel open failed: administratively prohibited")
    );

    // A stream whose reads time out the way ssh2 reports it.
    let stall = serve(|s| {
        thread::sleep(Duration::from_secs(3));
        drop(s);
    });
    let r = probe_with(
        "stalled",
        || {
            let s = TcpStream::connect(&stall)?;
            s.set_read_timeout(Some(Duration::from_millis(300)))?;
            Ok(s)
        },
        &opts(true),
    );
    assert_eq!(
        r.error.as_deref(),
        Some("timed out after 1s waiting for the server greeting")
    );
}

// ---------------------------------------------------------------------------
// Real MariaDB servers (SSLAUDIT_LIVE=1).

/// Whether live tests must run; prints why they skip otherwise.
fn live(test: &str) -> bool {
    let required = std::env::var("SSLAUDIT_LIVE").as_deref() == Ok("1");
    let found = which("mariadbd").is_some() && which("mariadb-install-db").is_some();
    match (required, found) {
        (true, true) => true,
        (true, false) => {
            panic!("{test}: SSLAUDIT_LIVE=1 but mariadbd/mariadb-install-db not found")
        }
        (false, _) => {
            eprintln!("{test}: skipped (set SSLAUDIT_LIVE=1 to run it against a real MariaDB)");
            false
        }
    }
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/bin".into()])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// A mariadbd on 127.0.0.1 in a temporary data directory, killed on drop.
struct Mariadb {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Mariadb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn write_pem(path: &Path, pem: &[u8]) {
    std::fs::write(path, pem).unwrap();
}

/// Starts a server with a CA-signed certificate (`Some((bits, digest))`)
/// or without TLS (`None`), extra server options, and SQL run at startup.
fn start_mariadb(
    tls: Option<(u32, MessageDigest)>,
    extra: &[&str],
    init_sql: &str,
) -> (Mariadb, Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&tmp).unwrap();
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    let user = if root {
        vec!["--user=root".to_string()]
    } else {
        Vec::new()
    };
    // Small InnoDB files: a default install writes ~100 MB.
    let small = ["--innodb-log-file-size=4M", "--innodb-buffer-pool-size=16M"];
    let out = Command::new(which("mariadb-install-db").unwrap())
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .args(&user)
        .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
        .args(small)
        // Parallel installs race on a shared /tmp (temporary tables).
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mariadb-install-db failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut args = vec![
        "--no-defaults".to_string(),
        format!("--datadir={}", data.display()),
        format!("--tmpdir={}", tmp.display()),
        format!("--socket={}", dir.path().join("sock").display()),
        format!("--pid-file={}", dir.path().join("pid").display()),
        format!("--log-error={}", dir.path().join("error.log").display()),
        "--bind-address=127.0.0.1".to_string(),
        "--skip-name-resolve".to_string(),
    ];
    args.extend(user);
    args.extend(small.iter().map(|s| s.to_string()));
    let mut leaf_pem = None;
    if let Some((bits, digest)) = tls {
        let (ca, ca_key) = certificate(2048, MessageDigest::sha256());
        let (leaf, key) = signed_by(&ca, &ca_key, bits, digest);
        let pem = String::from_utf8(leaf.to_pem().unwrap()).unwrap();
        write_pem(&dir.path().join("ca.pem"), &ca.to_pem().unwrap());
        write_pem(&dir.path().join("server.pem"), pem.as_bytes());
        write_pem(
            &dir.path().join("server.key"),
            &key.private_key_to_pem_pkcs8().unwrap(),
        );
        for (opt, file) in [
            ("ssl-ca", "ca.pem"),
            ("ssl-cert", "server.pem"),
            ("ssl-key", "server.key"),
        ] {
            args.push(format!("--{opt}={}", dir.path().join(file).display()));
        }
        leaf_pem = Some(pem);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    if !init_sql.is_empty() {
        let init = dir.path().join("init.sql");
        std::fs::write(&init, init_sql).unwrap();
        args.push(format!("--init-file={}", init.display()));
    }

    // The port is free when picked; retry if another process takes it
    // before mariadbd binds.
    let mut started = None;
    for _ in 0..3 {
        let port = free_port();
        let mut child = Command::new(which("mariadbd").unwrap())
            .args(&args)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if wait_ready(&mut child, port) {
            started = Some((child, port));
            break;
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    let Some((child, port)) = started else {
        let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
        panic!("mariadbd did not start:\n{log}");
    };
    (
        Mariadb {
            child,
            port,
            _dir: dir,
        },
        leaf_pem,
    )
}

/// Waits until the server accepts connections (or exits).
fn wait_ready(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        thread::sleep(Duration::from_millis(50));
    }
    false
}

fn signed_by(
    ca: &X509,
    ca_key: &PKey<Private>,
    bits: u32,
    digest: MessageDigest,
) -> (X509, PKey<Private>) {
    let key = PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "MySQL_Server_10.11_Auto_Generated_Server_Certificate")
        .unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    let mut serial = BigNum::new().unwrap();
    serial
        .rand(64, openssl::bn::MsbOption::MAYBE_ZERO, false)
        .unwrap();
    b.set_serial_number(&serial.to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(ca.subject_name()).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    b.sign(ca_key, digest).unwrap();
    (b.build(), key)
}

fn accepted(r: &ProbeRecord) -> Vec<(&str, bool)> {
    r.accepted.iter().map(|(k, v)| (k.as_str(), *v)).collect()
}

#[test]
fn live_mariadb_healthy_weak_without_tls_and_refusing() {
    if !live("live_mariadb_healthy_weak_without_tls_and_refusing") {
        return;
    }
    // Healthy; weak (TLSv1.1 allowed, 1024-bit SHA-1 certificate); no TLS;
    // no account for 127.0.0.1 (skip-name-resolve), so the server refuses
    // before its greeting.
    let no_local_root = "RENAME USER root@'127.0.0.1' TO root@'192.0.2.1';\n\
                         RENAME USER root@'::1' TO root@'192.0.2.2';\n";
    let starts: Vec<_> = [
        (Some((2048, MessageDigest::sha256())), vec![], ""),
        (
            Some((1024, MessageDigest::sha1())),
            vec![
                "--tls-version=TLSv1.1,TLSv1.2,TLSv1.3",
                "--ssl-cipher=DEFAULT:@SECLEVEL=0",
            ],
            "",
        ),
        (None, vec![], ""),
        (Some((2048, MessageDigest::sha256())), vec![], no_local_root),
    ]
    .into_iter()
    .map(|(tls, extra, sql)| thread::spawn(move || start_mariadb(tls, &extra, sql)))
    .collect();
    let mut servers: Vec<_> = starts.into_iter().map(|h| h.join().unwrap()).collect();
    let (refusing, _) = servers.pop().unwrap();
    let (plain, _) = servers.pop().unwrap();
    let (weak, weak_pem) = servers.pop().unwrap();
    let (good, good_pem) = servers.pop().unwrap();

    let o = ProbeOptions {
        timeout: Duration::from_secs(5),
        versions: true,
        server_name: None,
        plaintext: false,
    };
    let addr = format!("127.0.0.1:{}", good.port);
    let (r, took) = timed(&addr, &o);
    eprintln!("healthy MariaDB probed with version tests in {took:?}");
    assert_eq!(r.error, None, "{r:?}");
    assert!(r.greeting_version.as_deref().unwrap().contains("MariaDB"));
    assert!(r.advertises_ssl);
    assert_eq!(r.protocol.as_deref(), Some("TLSv1.3"));
    assert!(r.cipher.is_some());
    // Leaf first, then the CA mariadbd sends from ssl-ca.
    assert_eq!(r.chain_pem.first(), good_pem.as_ref());
    assert_eq!(
        accepted(&r),
        [
            ("TLSv1", false),
            ("TLSv1.1", false),
            ("TLSv1.2", true),
            ("TLSv1.3", true)
        ]
    );

    let addr = format!("127.0.0.1:{}", weak.port);
    let r = probe_tcp(&addr, &o);
    assert_eq!(r.error, None, "{r:?}");
    assert_eq!(r.chain_pem.first(), weak_pem.as_ref());
    assert_eq!(
        accepted(&r),
        [
            ("TLSv1", false),
            ("TLSv1.1", true),
            ("TLSv1.2", true),
            ("TLSv1.3", true)
        ]
    );

    let addr = format!("127.0.0.1:{}", plain.port);
    let r = probe_tcp(&addr, &o);
    assert_eq!(r.error, None, "{r:?}");
    assert!(r.greeting_version.is_some());
    assert!(!r.advertises_ssl);
    assert!(r.accepted.values().all(|a| !a));

    let addr = format!("127.0.0.1:{}", refusing.port);
    let r = probe_tcp(&addr, &o);
    assert_eq!(
        r.error.as_deref(),
        Some(
            "server refused the connection with error 1130: Host '127.0.0.1' is not \
             allowed to connect to this MariaDB server"
        )
    );
    assert_eq!(r.greeting_version, None);
}
