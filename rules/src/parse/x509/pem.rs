//! PEM: the `-----BEGIN`/`-----END` blocks of a file, found without
//! decoding, and a block's RFC 1421 headers and base64 body decoded on
//! demand.

/// A PEM block as found; decoded on demand so blocks of no interest cost
/// nothing and cannot fail the file.
pub(super) struct PemBlock<'a> {
    pub(super) label: String,
    /// 1-based line of the `-----BEGIN`.
    pub(super) line: u32,
    body: Vec<&'a [u8]>,
    /// Why the block is malformed before decoding (missing END...).
    problem: Option<String>,
}

pub(super) struct DecodedPem {
    pub(super) headers: Vec<(String, String)>,
    pub(super) der: Vec<u8>,
}

/// The decoded bytes may be a private key: overwritten before the memory
/// is released (best effort, without `unsafe`).
impl Drop for DecodedPem {
    fn drop(&mut self) {
        self.der.fill(0);
        std::hint::black_box(&self.der);
    }
}

impl PemBlock<'_> {
    pub(super) fn decode(&self) -> Result<DecodedPem, String> {
        if let Some(problem) = &self.problem {
            return Err(problem.clone());
        }
        let mut headers = Vec::new();
        let mut lines = self.body.iter().map(|l| l.trim_ascii()).peekable();
        // RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`) come before a blank
        // line; base64 never contains `:`.
        if lines.peek().is_some_and(|l| l.contains(&b':')) {
            for line in lines.by_ref() {
                if line.is_empty() {
                    break;
                }
                let text = String::from_utf8_lossy(line);
                if let Some((k, v)) = text.split_once(':') {
                    headers.push((k.trim().to_string(), v.trim().to_string()));
                }
            }
        }
        let mut b64 = Vec::new();
        for line in lines {
            b64.extend(line.iter().filter(|b| !b.is_ascii_whitespace()));
        }
        if b64.is_empty() {
            return Err("empty PEM block".to_string());
        }
        let der = base64_decode(&b64).ok_or_else(|| "invalid base64 in PEM block".to_string())?;
        Ok(DecodedPem { headers, der })
    }
}

pub(super) fn is_pem(bytes: &[u8]) -> bool {
    lines(bytes).any(|(_, l)| begin_label(l).is_some())
}

pub(super) fn pem_labels(bytes: &[u8]) -> impl Iterator<Item = String> + '_ {
    lines(bytes).filter_map(|(_, l)| begin_label(l))
}

fn lines(bytes: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    bytes.split(|b| *b == b'\n').enumerate().map(|(i, l)| {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        (u32::try_from(i + 1).unwrap_or(u32::MAX), l)
    })
}

fn begin_label(line: &[u8]) -> Option<String> {
    let line = line.trim_ascii();
    let rest = line.strip_prefix(b"-----BEGIN ")?;
    let label = rest.strip_suffix(b"-----")?;
    Some(String::from_utf8_lossy(label).trim().to_string())
}

fn end_label(line: &[u8]) -> Option<String> {
    let line = line.trim_ascii();
    let rest = line.strip_prefix(b"-----END ")?;
    let label = rest.strip_suffix(b"-----").unwrap_or(rest);
    Some(String::from_utf8_lossy(label).trim().to_string())
}

pub(super) fn pem_blocks(bytes: &[u8]) -> Vec<PemBlock<'_>> {
    let mut blocks: Vec<PemBlock<'_>> = Vec::new();
    let mut open: Option<PemBlock<'_>> = None;
    for (number, line) in lines(bytes) {
        if let Some(label) = begin_label(line) {
            if let Some(mut unfinished) = open.take() {
                unfinished.problem = Some(format!(
                    "no -----END {}----- line before the next -----BEGIN",
                    unfinished.label
                ));
                blocks.push(unfinished);
            }
            open = Some(PemBlock {
                label,
                line: number,
                body: Vec::new(),
                problem: None,
            });
            continue;
        }
        let Some(block) = open.as_mut() else {
            continue;
        };
        if let Some(label) = end_label(line) {
            if label != block.label {
                block.problem = Some(format!(
                    "-----END {label}----- does not match -----BEGIN {}-----",
                    block.label
                ));
            }
            if let Some(done) = open.take() {
                blocks.push(done);
            }
        } else {
            block.body.push(line);
        }
    }
    if let Some(mut unfinished) = open {
        unfinished.problem = Some(format!(
            "no -----END {}----- line (file truncated?)",
            unfinished.label
        ));
        blocks.push(unfinished);
    }
    blocks
}

/// Strict base64: the standard alphabet only, `=` only as the padding that
/// ends the last quantum (at most two, input then a multiple of 4), and
/// unpadded input allowed. OpenSSL does the decoding; the checks come first
/// because its block decoder alone is laxer (it reads `=` anywhere as zero
/// bits, skips leading blanks and trailing blanks and `-`), and hostile
/// files must not get more through than this accepts.
fn base64_decode(input: &[u8]) -> Option<Vec<u8>> {
    let data = match input.iter().position(|c| *c == b'=') {
        Some(pad) => {
            // Padding only at the end, at most two, and completing a quantum.
            let padding = &input[pad..];
            if padding.len() > 2 || padding.iter().any(|c| *c != b'=') || input.len() % 4 != 0 {
                return None;
            }
            &input[..pad]
        }
        None => input,
    };
    let alphabet = |c: &u8| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/';
    if data.len() % 4 == 1 || !data.iter().all(alphabet) {
        return None;
    }
    // ASCII by now. OpenSSL decodes whole quantums only: unpadded input
    // gets the one or two `=` it left out.
    let text = std::str::from_utf8(input).ok()?;
    let missing = (4 - input.len() % 4) % 4;
    openssl::base64::decode_block(&format!("{text}{}", &"=="[..missing])).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decoder_is_strict() {
        assert_eq!(base64_decode(b"TWFu").as_deref(), Some(&b"Man"[..]));
        assert_eq!(base64_decode(b"TWE=").as_deref(), Some(&b"Ma"[..]));
        assert_eq!(base64_decode(b"TQ==").as_deref(), Some(&b"M"[..]));
        assert_eq!(base64_decode(b"TQ").as_deref(), Some(&b"M"[..]));
        assert_eq!(base64_decode(b"T"), None);
        assert_eq!(base64_decode(b"TQ=="[..3].as_ref()), None);
        assert_eq!(base64_decode(b"TQ==TQ=="), None);
        assert_eq!(base64_decode(b"T*=="), None);
    }
}
