//! DER structure sniffing: just enough of ASN.1's tag-length-value walk to
//! tell a private key, an encrypted key or a certificate by its shape
//! before any parser sees the bytes.

/// Header and content lengths of the DER element at the start of `der`.
pub(super) fn der_tlv(der: &[u8]) -> Option<(usize, usize)> {
    let first_len = *der.get(1)?;
    if first_len < 0x80 {
        return Some((2, usize::from(first_len)));
    }
    let n = usize::from(first_len & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let len_bytes = der.get(2..2 + n)?;
    let len = len_bytes
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    Some((2 + n, len))
}

/// The elements of the SEQUENCE that spans all of `der`: (tag, content).
fn der_sequence_items(der: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    if *der.first()? != 0x30 {
        return None;
    }
    let (header, len) = der_tlv(der)?;
    if header + len != der.len() {
        return None;
    }
    let mut content = &der[header..];
    let mut items = Vec::new();
    while !content.is_empty() && items.len() < 4 {
        let tag = content[0];
        let (h, l) = der_tlv(content)?;
        let end = h.checked_add(l)?;
        items.push((tag, content.get(h..end)?));
        content = &content[end..];
    }
    Some(items)
}

pub(super) fn looks_like_der_sequence(der: &[u8]) -> bool {
    der.first() == Some(&0x30) && der_tlv(der).is_some()
}

/// EncryptedPrivateKeyInfo ::= SEQUENCE { AlgorithmIdentifier, OCTET STRING }
pub(super) fn is_encrypted_pkcs8(der: &[u8]) -> bool {
    matches!(
        der_sequence_items(der).as_deref(),
        Some([(0x30, _), (0x04, _), ..])
    )
}

/// PKCS#8 `SEQ { INT 0, SEQ, OCTET }`, PKCS#1 `SEQ { INT 0, INT, INT, ... }`,
/// SEC1 `SEQ { INT 1, OCTET, ... }`, or encrypted PKCS#8.
pub(super) fn der_key_shape(der: &[u8]) -> bool {
    matches!(
        der_sequence_items(der).as_deref(),
        Some(
            [(0x02, [0]), (0x30, _), (0x04, _), ..]
                | [(0x02, [0]), (0x02, _), (0x02, _), ..]
                | [(0x02, [1]), (0x04, _), ..]
                | [(0x30, _), (0x04, _)]
        )
    )
}

// --- PEM --------------------------------------------------------------------
