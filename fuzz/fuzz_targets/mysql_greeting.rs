//! What a MySQL port sends first, as the TLS probe reads it: a packet
//! header, then the greeting (HandshakeV10) or an ERR packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sslaudit_scanner::probe;

fuzz_target!(|data: &[u8]| {
    let _ = probe::preview(data);
    let Some((header, payload)) = data.split_first_chunk::<4>() else {
        let _ = probe::parse_greeting(data);
        return;
    };
    let (len, seq) = probe::parse_header(*header);
    assert!(len < 1 << 24);
    let payload = &payload[..payload.len().min(len).min(probe::MAX_GREETING)];
    if let Some(err) = probe::parse_err_packet(payload) {
        let _ = err.to_string();
        return;
    }
    if let Ok(g) = probe::parse_greeting(payload) {
        let req = probe::ssl_request(seq.wrapping_add(1), &g);
        assert_eq!(req[0], 32);
        let _ = g.advertises_ssl();
    }
});
