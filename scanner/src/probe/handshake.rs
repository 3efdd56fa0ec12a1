//! One probe connection: the MySQL greeting, the SSLRequest, the TLS
//! handshake with the OpenSSL context of an offer, what the session
//! negotiated, and an orderly close that waits for the server to hang up.

use super::*;

/// One connection: greeting, SSLRequest, TLS handshake, polite close.
pub(super) fn handshake<S: Read + Write>(
    stream: S,
    offer: Offer,
    opts: &ProbeOptions,
    deadline: Instant,
) -> Result<Outcome, Failure> {
    let timeout = human(opts.timeout);
    let mut conn = Conn {
        inner: stream,
        deadline,
        seen: None,
    };
    let (seq, payload) = read_greeting(&mut conn, &timeout).map_err(Failure::new)?;
    if let Some(e) = parse_err_packet(&payload) {
        return Err(Failure::new(format!(
            "server refused the connection with {e}"
        )));
    }
    let greeting = parse_greeting(&payload).map_err(|e| {
        Failure::new(format!(
            "malformed server greeting: {e} (not a MySQL server? it sent {})",
            packet::preview(&payload)
        ))
    })?;
    if !greeting.advertises_ssl() {
        return Ok(Outcome::NoSsl(greeting));
    }
    let fail = |greeting: Greeting, message: String, tls_refused: bool| Failure {
        greeting: Some(greeting),
        message,
        tls_refused,
    };
    let request = ssl_request(seq.wrapping_add(1), &greeting);
    if let Err(e) = conn.write_all(&request).and_then(|()| conn.flush()) {
        let message = match kind(&e) {
            IoKind::Timeout => format!("timed out after {timeout} sending the SSLRequest"),
            IoKind::Reset | IoKind::Closed => {
                "connection reset by the server before the SSLRequest".to_string()
            }
            IoKind::Other => format!("cannot send the SSLRequest: {e}"),
        };
        return Err(fail(greeting, message, false));
    }
    let ctx = match context(offer) {
        Ok(c) => c,
        Err(e) => return Err(fail(greeting, e, false)),
    };
    let ssl = Ssl::new(ctx).and_then(|mut ssl| {
        if let Some(name) = &opts.server_name {
            ssl.set_hostname(name)?;
        }
        Ok(ssl)
    });
    let ssl = match ssl {
        Ok(s) => s,
        Err(e) => {
            return Err(fail(
                greeting,
                format!("cannot set up the TLS handshake: {}", reasons(&e)),
                false,
            ));
        }
    };
    conn.seen = Some(Vec::new());
    certreq::begin();
    match ssl.connect(conn) {
        Ok(mut tls) => {
            let mut session = session(tls.ssl());
            let (requested, names) = certreq::take();
            session.client_cert_request = requested.then_some(names);
            // close_notify, and no login: the server counts the aborted
            // connection against this address. It does so before it hangs
            // up, so waiting for its hang-up orders that count before
            // whatever the caller does next (the scanner's login, which
            // resets it, must not overtake it).
            let _ = tls.shutdown();
            await_hang_up(&mut tls);
            Ok(Outcome::Tls { greeting, session })
        }
        Err(HandshakeError::SetupFailure(e)) => Err(fail(
            greeting,
            format!("cannot set up the TLS handshake: {}", reasons(&e)),
            false,
        )),
        Err(HandshakeError::Failure(mid)) | Err(HandshakeError::WouldBlock(mid)) => {
            let (message, tls_refused) = handshake_failure(mid, &timeout);
            Err(fail(greeting, message, tls_refused))
        }
    }
}

/// Reads until the peer closes the connection, fails, or the handshake's
/// deadline passes (the stream under `tls` enforces it); anything it sends is
/// discarded.
pub(super) fn await_hang_up(tls: &mut impl Read) {
    let mut buf = [0u8; 512];
    while let Ok(n) = tls.read(&mut buf) {
        if n == 0 {
            break;
        }
    }
}

/// Reads the first packet: `(sequence id, payload)`, or why not.
pub(super) fn read_greeting<S: Read + Write>(
    conn: &mut Conn<S>,
    timeout: &str,
) -> Result<(u8, Vec<u8>), String> {
    let mut header = [0u8; 4];
    let got = read_full(conn, &mut header);
    if let Err((e, n)) = got {
        return Err(match kind(&e) {
            IoKind::Timeout => format!("timed out after {timeout} waiting for the server greeting"),
            IoKind::Closed if n == 0 => {
                "connection closed by the server before sending a greeting".to_string()
            }
            IoKind::Closed => format!(
                "connection closed by the server in the middle of the greeting (it sent {})",
                packet::preview(&header[..n])
            ),
            IoKind::Reset => "connection reset by the server before the greeting".to_string(),
            IoKind::Other => format!("cannot read the server greeting: {e}"),
        });
    }
    let (len, seq) = packet::parse_header(header);
    if len == 0 {
        return Err("malformed server greeting: an empty packet".to_string());
    }
    if len > MAX_GREETING {
        return Err(format!(
            "malformed server greeting: its header announces {len} bytes, more than the \
             {MAX_GREETING} allowed (not a MySQL server? it sent {})",
            packet::preview(&header)
        ));
    }
    let mut payload = vec![0u8; len];
    if let Err((e, n)) = read_full(conn, &mut payload) {
        return Err(match kind(&e) {
            IoKind::Timeout => format!(
                "timed out after {timeout} waiting for the server greeting (got {n} of {len} bytes)"
            ),
            IoKind::Closed | IoKind::Reset => format!(
                "connection closed by the server in the middle of the greeting ({n} of {len} bytes)"
            ),
            IoKind::Other => format!("cannot read the server greeting: {e}"),
        });
    }
    Ok((seq, payload))
}

/// `read_exact` that tells how many bytes arrived before the error.
pub(super) fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> Result<(), (io::Error, usize)> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => return Err((io::ErrorKind::UnexpectedEof.into(), n)),
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err((e, n)),
        }
    }
    Ok(())
}

/// Explains a failed handshake; the flag tells whether the legacy offer is
/// worth a try.
pub(super) fn handshake_failure<S: Read + Write>(
    mut mid: MidHandshakeSslStream<Conn<S>>,
    timeout: &str,
) -> (String, bool) {
    // A MySQL packet where the ServerHello should be: the server refused
    // the SSLRequest (`Bad handshake`) or does not do TLS after all.
    let seen = mid.get_ref().seen.clone().unwrap_or_default();
    if let Some(message) = mysql_answer(&seen, mid.get_mut()) {
        return (message, false);
    }
    let err = mid.error();
    if let Some(io) = err.io_error() {
        return match kind(io) {
            IoKind::Timeout => (
                format!("timed out after {timeout} during the TLS handshake"),
                false,
            ),
            IoKind::Reset => (
                "connection reset during the TLS handshake".to_string(),
                true,
            ),
            IoKind::Closed => (
                "connection closed by the server during the TLS handshake".to_string(),
                true,
            ),
            IoKind::Other => (format!("I/O error during the TLS handshake: {io}"), false),
        };
    }
    let closed = (
        "connection closed by the server during the TLS handshake".to_string(),
        true,
    );
    match err.ssl_error() {
        _ if err.code() == ErrorCode::ZERO_RETURN => closed,
        None if err.code() == ErrorCode::SYSCALL => closed,
        Some(stack) if reasons(stack).contains("unexpected eof") => closed,
        Some(stack) => (format!("TLS handshake failed: {}", reasons(stack)), true),
        None => (format!("TLS handshake failed: {err}"), true),
    }
}

/// When the bytes the server sent instead of a ServerHello are a MySQL
/// packet, what it said. Reads the rest of an ERR packet (within the
/// connection's deadline) to show the server's whole message.
pub(super) fn mysql_answer<S: Read + Write>(seen: &[u8], conn: &mut Conn<S>) -> Option<String> {
    if seen.len() < 4 {
        return None;
    }
    // A TLS record starts with a content type 20-24 and major version 3;
    // a MySQL packet's second byte is the middle of a 24-bit length, 0 for
    // anything short.
    if (20..=24).contains(&seen[0]) && seen[1] == 3 {
        return None;
    }
    let (len, _) = packet::parse_header([seen[0], seen[1], seen[2], seen[3]]);
    let mut payload = seen[4..].to_vec();
    if payload.first() == Some(&0xff) && len <= MAX_GREETING && payload.len() < len {
        let mut rest = vec![0u8; len - payload.len()];
        conn.seen = None;
        match read_full(conn, &mut rest) {
            Ok(()) => payload.extend_from_slice(&rest),
            Err((_, n)) => payload.extend_from_slice(&rest[..n]),
        }
    }
    match parse_err_packet(&payload) {
        Some(e) => Some(format!("server answered the SSLRequest with {e}")),
        None => Some(format!(
            "server answered the SSLRequest with something other than TLS: {}",
            packet::preview(seen)
        )),
    }
}

pub(super) fn session(ssl: &SslRef) -> Session {
    let pem = |c: &openssl::x509::X509Ref| {
        c.to_pem()
            .ok()
            .map(|p| String::from_utf8_lossy(&p).into_owned())
    };
    // On the client side the peer chain starts with the leaf.
    let chain_pem = match ssl.peer_cert_chain() {
        Some(chain) => chain.iter().filter_map(pem).collect(),
        None => ssl
            .peer_certificate()
            .and_then(|c| pem(&c))
            .into_iter()
            .collect(),
    };
    Session {
        protocol: ssl.version_str().to_string(),
        cipher: ssl.current_cipher().map(|c| c.name().to_string()),
        chain_pem,
        client_cert_request: None,
    }
}

/// The SSL contexts, built once per process (building one loads OpenSSL's
/// providers and costs far more than a handshake on the same machine).
pub(super) fn context(offer: Offer) -> Result<&'static SslContext, String> {
    static CONTEXTS: [OnceLock<Result<SslContext, String>>; 6] = [const { OnceLock::new() }; 6];
    let slot = match offer {
        Offer::Full => 4,
        Offer::Legacy => 5,
        Offer::Only(i) => i.min(3),
    };
    CONTEXTS[slot]
        .get_or_init(|| {
            build_context(offer)
                .map_err(|e| format!("cannot set up OpenSSL for the probe: {}", reasons(&e)))
        })
        .as_ref()
        .map_err(Clone::clone)
}

pub(super) fn build_context(offer: Offer) -> Result<SslContext, ErrorStack> {
    let mut b = SslContext::builder(SslMethod::tls_client())?;
    // The probe records what the server presents; the rules judge it.
    b.set_verify(SslVerifyMode::NONE);
    // Only here: legacy handshakes (TLS 1.0/1.1, small keys, SHA-1) must
    // complete to be observed.
    b.set_security_level(0);
    b.set_options(LEGACY_SERVER_CONNECT);
    // Records whether the server asks for a client certificate (none is sent).
    certreq::install(&mut b);
    let (min, max, ciphers) = match offer {
        Offer::Full => (SslVersion::TLS1, None, FULL_CIPHERS),
        Offer::Legacy => (SslVersion::TLS1, Some(SslVersion::TLS1_2), COMPAT_CIPHERS),
        Offer::Only(i) => {
            let v = SSL_VERSIONS[i.min(3)];
            (v, Some(v), COMPAT_CIPHERS)
        }
    };
    b.set_min_proto_version(Some(min))?;
    b.set_max_proto_version(max)?;
    b.set_cipher_list(ciphers)?;
    b.set_ciphersuites(TLS13_SUITES)?;
    Ok(b.build())
}

pub(super) fn reasons(stack: &ErrorStack) -> String {
    let mut out: Vec<String> = Vec::new();
    for e in stack.errors() {
        let r = e
            .reason()
            .map(str::to_string)
            .unwrap_or_else(|| format!("error {:#x}", e.code()));
        if !out.contains(&r) {
            out.push(r);
        }
    }
    if out.is_empty() {
        "unknown OpenSSL error".to_string()
    } else {
        out.join("; ")
    }
}
