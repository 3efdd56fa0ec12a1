//! The plaintext login attempt: a connection WITHOUT SSLRequest that sends
//! a HandshakeResponse41 for [`packet::PROBE_USER`], a user that does not
//! exist, with empty auth data, no database and no connection attributes,
//! and reads how the server refuses it. An AuthSwitchRequest (0xfe) or
//! auth-more-data (0x01) is answered with an empty packet, still no
//! credential, at most [`MAX_ROUNDS`] times. No byte of a password, a key
//! or any other secret is ever sent: the probe has none to send.

use super::*;

use sslaudit_rules::facts::{PlaintextAnswer, PlaintextOutcome};

/// Auth round trips answered before the probe gives up (a real server needs
/// one at most for an account that does not exist).
const MAX_ROUNDS: usize = 3;

/// One plaintext login attempt over `stream`.
pub(super) fn attempt<S: Read + Write>(
    stream: S,
    opts: &ProbeOptions,
    deadline: Instant,
) -> PlaintextAnswer {
    let timeout = human(opts.timeout);
    let mut conn = Conn {
        inner: stream,
        deadline,
        seen: None,
    };
    let (seq, payload) = match read_greeting(&mut conn, &timeout) {
        Ok(p) => p,
        Err(e) => return PlaintextAnswer::none(e),
    };
    if let Some(e) = parse_err_packet(&payload) {
        return PlaintextAnswer::error(e.code, e.sql_state, e.message);
    }
    let greeting = match parse_greeting(&payload) {
        Ok(g) => g,
        Err(e) => return PlaintextAnswer::none(format!("malformed server greeting: {e}")),
    };
    let mut seq = seq.wrapping_add(1);
    if let Err(e) = send(&mut conn, &packet::handshake_response(seq, &greeting)) {
        return PlaintextAnswer::none(format!("cannot send the login packet: {e}"));
    }
    for _ in 0..=MAX_ROUNDS {
        let (server_seq, payload) = match read_packet(&mut conn, &timeout) {
            Ok(p) => p,
            Err(e) => return PlaintextAnswer::none(e),
        };
        seq = server_seq.wrapping_add(1);
        match payload.first() {
            Some(0xff) => {
                return match parse_err_packet(&payload) {
                    Some(e) => PlaintextAnswer::error(e.code, e.sql_state, e.message),
                    None => PlaintextAnswer::none("an empty ERR packet".into()),
                };
            }
            Some(0x00) => {
                // Let in (an anonymous account): leave at once.
                let _ = send(&mut conn, &packet::com_quit());
                return PlaintextAnswer {
                    outcome: PlaintextOutcome::LoggedIn,
                    code: None,
                    sql_state: None,
                    message: String::new(),
                };
            }
            // AuthSwitchRequest, or auth-more-data: no credential to give.
            Some(0xfe) | Some(0x01) => {
                if let Err(e) = send(&mut conn, &packet::empty_packet(seq)) {
                    return PlaintextAnswer::none(format!(
                        "cannot send the empty auth response: {e}"
                    ));
                }
            }
            _ => {
                return PlaintextAnswer::none(format!(
                    "unexpected answer to the login packet: {}",
                    packet::preview(&payload)
                ));
            }
        }
    }
    PlaintextAnswer::none(format!(
        "the server asked for authentication data more than {MAX_ROUNDS} times"
    ))
}

fn send<S: Write>(conn: &mut S, bytes: &[u8]) -> io::Result<()> {
    conn.write_all(bytes)?;
    conn.flush()
}

/// Reads one packet after the greeting: `(sequence id, payload)`.
fn read_packet<S: Read + Write>(
    conn: &mut Conn<S>,
    timeout: &str,
) -> Result<(u8, Vec<u8>), String> {
    let describe = |e: &io::Error, what: &str| match kind(e) {
        IoKind::Timeout => format!("timed out after {timeout} waiting for {what}"),
        IoKind::Closed | IoKind::Reset => {
            format!("connection closed by the server before {what}")
        }
        IoKind::Other => format!("cannot read {what}: {e}"),
    };
    let mut header = [0u8; 4];
    read_full(conn, &mut header)
        .map_err(|(e, _)| describe(&e, "the answer to the login packet"))?;
    let (len, seq) = packet::parse_header(header);
    if len > MAX_GREETING {
        return Err(format!(
            "the answer to the login packet announces {len} bytes, more than the {MAX_GREETING} allowed"
        ));
    }
    let mut payload = vec![0u8; len];
    read_full(conn, &mut payload).map_err(|(e, _)| describe(&e, "the end of the answer"))?;
    Ok((seq, payload))
}
