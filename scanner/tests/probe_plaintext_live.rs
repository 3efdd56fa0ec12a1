//! The probe's plaintext login attempt and client-certificate check against
//! real MariaDB servers of the test fleet (subnet 78): one with
//! `require_secure_transport = ON` (a healthy host), one with it OFF
//! (`no-secure-transport`) and one without TLS (`no-tls-server`). A relaying
//! TCP proxy in this test sits between the probe and each server and keeps
//! every byte that leaves the scanner: on the plaintext connection, no
//! SSLRequest, no TLS, the fixed user that does not exist, empty auth data,
//! and no password. Runs only with SSLAUDIT_LIVE=1 (root, `testfleet/fleet
//! deps`). What it measures is in docs/scanner-queries.md ("What the probe
//! sends").

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod fleet_util;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use fleet_util::{Fleet, live, sslaudit};
use sslaudit_rules::facts::PlaintextOutcome;
use sslaudit_scanner::evidence::ProbeRecord;
use sslaudit_scanner::probe::{PROBE_USER, ProbeOptions, probe_tcp};

const SPEC: &str = "\
db-master      production  db_master
db-replica-1   production  db_replica  no-secure-transport
solo           staging     db_master   no-tls-server
";

/// The bytes of one relayed connection: what the client sent, what the
/// server sent.
type Transcript = Arc<Mutex<Bytes>>;

/// Client bytes, server bytes.
type Bytes = (Vec<u8>, Vec<u8>);

/// A relaying proxy on 127.0.0.1 to `upstream`; returns its address and
/// the transcripts of the connections it relayed.
fn proxy(upstream: String) -> (String, Arc<Mutex<Vec<Transcript>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let all: Arc<Mutex<Vec<Transcript>>> = Arc::default();
    let record = Arc::clone(&all);
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            let t: Transcript = Arc::default();
            record.lock().unwrap().push(Arc::clone(&t));
            let pump = |mut from: TcpStream, mut to: TcpStream, t: Transcript, up: bool| {
                thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    loop {
                        match from.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                {
                                    let mut t = t.lock().unwrap();
                                    let side = if up { &mut t.0 } else { &mut t.1 };
                                    side.extend_from_slice(&buf[..n]);
                                }
                                if to.write_all(&buf[..n]).is_err() {
                                    break;
                                }
                            }
                        }
                    }
                    let _ = to.shutdown(Shutdown::Write);
                })
            };
            pump(
                client.try_clone().unwrap(),
                server.try_clone().unwrap(),
                Arc::clone(&t),
                true,
            );
            pump(server, client, t, false);
        }
    });
    (addr, all)
}

/// The probe through a proxy to `upstream`, and the client bytes of every
/// connection it made.
fn probe_via_proxy(upstream: &str) -> (ProbeRecord, Vec<Bytes>) {
    let (addr, transcripts) = proxy(upstream.to_string());
    let opts = ProbeOptions {
        timeout: Duration::from_secs(5),
        versions: false,
        server_name: None,
        plaintext: true,
    };
    let rec = probe_tcp(&addr, &opts);
    // Let the relays see both sides close.
    thread::sleep(Duration::from_millis(300));
    let t = transcripts
        .lock()
        .unwrap()
        .iter()
        .map(|t| t.lock().unwrap().clone())
        .collect();
    (rec, t)
}

/// The first packet after the greeting is a 36-byte SSLRequest.
fn is_ssl_request(client: &[u8]) -> bool {
    client.len() >= 36
        && client[..4] == [32, 0, 0, 1]
        && u32::from_le_bytes([client[4], client[5], client[6], client[7]]) & 0x800 != 0
}

/// Checks what the scanner sent on the plaintext connection: the login
/// packet for the fixed user with empty auth data, then only empty packets,
/// and no secret; returns how many empty packets followed.
fn assert_plaintext_bytes(client: &[u8], server: &[u8], secret: &str) -> usize {
    let (len, seq) = (
        usize::from(client[0]) | usize::from(client[1]) << 8 | usize::from(client[2]) << 16,
        client[3],
    );
    assert_eq!(seq, 1, "the login packet follows the greeting");
    let login = &client[4..4 + len];
    let caps = u32::from_le_bytes([login[0], login[1], login[2], login[3]]);
    assert_eq!(caps & 0x800, 0, "no CLIENT_SSL: no SSLRequest");
    assert_eq!(caps & (0x8 | 0x10_0000), 0, "no database, no attributes");
    let body = &login[32..];
    let nul = body.iter().position(|&b| b == 0).unwrap();
    assert_eq!(&body[..nul], PROBE_USER.as_bytes());
    assert_eq!(PROBE_USER, "sslaudit-probe-nonexistent");
    assert_eq!(body[nul + 1], 0, "auth data of length zero");
    let plugin = &body[nul + 2..];
    assert!(
        plugin.ends_with(b"\0")
            && plugin[..plugin.len() - 1]
                .iter()
                .all(|b| b.is_ascii_graphic())
    );
    // After it: empty packets only (answers to an auth switch).
    let mut rest = &client[4 + len..];
    let mut empties = 0;
    while !rest.is_empty() {
        assert_eq!(
            &rest[..3],
            &[0, 0, 0],
            "only empty packets follow: {rest:02x?}"
        );
        rest = &rest[4..];
        empties += 1;
    }
    assert!(
        !client.windows(2).any(|w| w == [0x16, 0x03]),
        "no TLS record"
    );
    assert!(
        !client.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the fleet's password never leaves the scanner"
    );
    // The greeting's scramble (bytes 8.. of its auth data) never comes back.
    let g = &server[4..];
    let v_end = g[1..].iter().position(|&b| b == 0).unwrap() + 2;
    let scramble = &g[v_end + 4..v_end + 12];
    assert!(!client.windows(8).any(|w| w == scramble));
    empties
}

#[test]
fn plaintext_answers_and_client_certificate_requests_of_real_servers() {
    if !live("plaintext_answers_and_client_certificate_requests_of_real_servers") {
        return;
    }
    let secret = format!("pw-{}-plaintext", std::process::id());
    let fleet = Fleet::up(78, SPEC, &[], &[("SSLAUDIT_MYSQL_PASSWORD", &secret)]);
    let on = format!("{}:3306", fleet.address(1));
    let off = format!("{}:3306", fleet.address(2));
    let no_tls = format!("{}:3306", fleet.address(3));

    let mut answers = Vec::new();
    for (name, upstream) in [("on", &on), ("off", &off), ("no-tls", &no_tls)] {
        let (rec, transcripts) = probe_via_proxy(upstream);
        assert!(rec.greeting_version.is_some(), "{name}: {rec:?}");
        let plain: Vec<_> = transcripts
            .iter()
            .filter(|(c, _)| !c.is_empty() && !is_ssl_request(c))
            .collect();
        assert_eq!(plain.len(), 1, "{name}: one plaintext connection");
        let empties = assert_plaintext_bytes(&plain[0].0, &plain[0].1, &secret);
        let a = rec.plaintext.clone().unwrap();
        eprintln!(
            "{name}: {} answered {} after {empties} empty auth packet(s); \
             client certificate requested: {:?} {:?}",
            rec.greeting_version.as_deref().unwrap_or("?"),
            a.describe(),
            rec.requests_client_cert,
            rec.client_ca_names
        );
        match name {
            "no-tls" => {
                assert!(!rec.advertises_ssl);
                assert_eq!(rec.requests_client_cert, None);
                assert!(transcripts.iter().all(|(c, _)| !is_ssl_request(c)));
            }
            _ => {
                assert_eq!(rec.error, None, "{name}");
                // MariaDB with ssl-ca asks for a certificate; 10.11 lists
                // no CA names in its CertificateRequest (measured).
                assert_eq!(rec.requests_client_cert, Some(true), "{name}");
            }
        }
        answers.push((name, a));
    }
    let (on_a, off_a) = (&answers[0].1, &answers[1].1);
    // OFF: the server reads the plaintext login and refuses the account.
    assert_eq!(off_a.outcome, PlaintextOutcome::AccessDenied, "{off_a:?}");
    assert_eq!(off_a.sql_state.as_deref(), Some("28000"));
    assert!(off_a.message.contains("'sslaudit-probe-nonexistent'@"));
    assert!(off_a.message.contains("(using password: NO)"));
    assert_eq!(answers[2].1.outcome, PlaintextOutcome::AccessDenied);
    // ON: 3159 only where the server checks the transport before
    // authentication (MDEV-30178); MariaDB 10.11 answers exactly as with OFF,
    // which is why 1045 proves nothing about require_secure_transport.
    match on_a.outcome {
        PlaintextOutcome::SecureTransportRequired => {}
        PlaintextOutcome::AccessDenied => {
            assert_eq!(on_a.code, off_a.code);
            assert_eq!(on_a.sql_state, off_a.sql_state);
            assert_eq!(
                on_a.message.split('@').next(),
                off_a.message.split('@').next()
            );
        }
        other => panic!("unexpected answer with require_secure_transport ON: {other:?}"),
    }

    // `sslaudit probe` prints the new facts.
    let out = sslaudit(
        &["probe", &on, &no_tls, "--no-versions", "--timeout", "5s"],
        &[],
        fleet.dir.path(),
    );
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    // Exit status 1: the no-TLS server fails the gate (SSL001, SSL018).
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains("plaintext login as sslaudit-probe-nonexistent: error 1045 (28000)")
            || shown.contains("plaintext login as sslaudit-probe-nonexistent: error 3159"),
        "{shown}"
    );
    assert!(
        shown.contains("asks for a client certificate (no CA names listed)"),
        "{shown}"
    );
    assert!(shown.contains("no TLS offered"), "{shown}");
    assert!(!shown.contains(&secret));
}
