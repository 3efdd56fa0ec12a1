//! OpenSSH `known_hosts` files, read the way `ssh` reads them (sshd(8),
//! "SSH_KNOWN_HOSTS FILE FORMAT"): host patterns with `*`, `?` and `!`,
//! `[host]:port` for ports other than 22, hashed names (`|1|salt|hash`,
//! HMAC-SHA1) and the `@revoked` marker. Lines this scanner cannot use
//! (`@cert-authority`, key types libssh2 lacks) are skipped.
//!
//! Own code rather than libssh2's knownhost API because libssh2 compares a
//! key with every entry of the host whatever its type, so a host known only
//! by its ed25519 key (what `ssh` records) that negotiates ECDSA would look
//! "changed"; knowing the types lets the caller ask for them in the
//! handshake, as `ssh` does.

use std::path::Path;

use openssl::base64;
use openssl::hash::{MessageDigest, hash};
use openssl::pkey::PKey;
use openssl::sign::Signer;

/// Largest known_hosts file read.
const MAX_FILE: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub line: u32,
    pub revoked: bool,
    /// `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`...
    pub key_type: String,
    /// The key in SSH wire format (what the server sends).
    pub blob: Vec<u8>,
}

/// The entries of `path` that apply to `host` on `port`. A missing file has
/// none; an unreadable one is an error.
pub(crate) fn entries_for(path: &Path, host: &str, port: u16) -> Result<Vec<Entry>, String> {
    let text = match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        Ok(m) if m.len() > MAX_FILE => {
            return Err(format!("{} is larger than 64 MiB", path.display()));
        }
        Ok(_) => std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?,
    };
    Ok(parse(&String::from_utf8_lossy(&text), host, port))
}

/// The name `ssh` looks up: `host`, or `[host]:port` off port 22.
pub(crate) fn lookup_name(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

pub(crate) fn parse(text: &str, host: &str, port: u16) -> Vec<Entry> {
    let name = lookup_name(host, port);
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let mut fields = t.split_whitespace();
        let mut first = fields.next().unwrap_or("");
        let mut revoked = false;
        if first.starts_with('@') {
            match first {
                "@revoked" => revoked = true,
                // Host certificates: libssh2 cannot verify them.
                _ => continue,
            }
            first = fields.next().unwrap_or("");
        }
        let (Some(key_type), Some(key)) = (fields.next(), fields.next()) else {
            continue;
        };
        if !hosts_match(first, &name) {
            continue;
        }
        let Ok(blob) = base64::decode_block(key) else {
            continue;
        };
        // The blob starts with its own type; a line whose two disagree is corrupt.
        if blob_type(&blob).as_deref() != Some(key_type) {
            continue;
        }
        out.push(Entry {
            line,
            revoked,
            key_type: key_type.to_string(),
            blob,
        });
    }
    out
}

/// The key type a wire-format key blob names (its first SSH string).
pub(crate) fn blob_type(blob: &[u8]) -> Option<String> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    let name = blob.get(4..4usize.checked_add(len)?)?;
    String::from_utf8(name.to_vec()).ok()
}

/// `SHA256:...` as `ssh-keygen -l` prints it.
pub(crate) fn fingerprint(blob: &[u8]) -> String {
    match hash(MessageDigest::sha256(), blob) {
        Ok(d) => format!("SHA256:{}", base64::encode_block(&d).trim_end_matches('=')),
        Err(_) => "SHA256:?".to_string(),
    }
}

/// A comma-separated pattern list: matches when a positive pattern matches
/// and no negated one does. Hashed entries hold exactly one name.
fn hosts_match(list: &str, name: &str) -> bool {
    if let Some(hashed) = list.strip_prefix("|1|") {
        return hashed_match(hashed, name);
    }
    let mut positive = false;
    for pattern in list.split(',') {
        let pattern = pattern.to_ascii_lowercase();
        if let Some(neg) = pattern.strip_prefix('!') {
            if glob(neg.as_bytes(), name.as_bytes()) {
                return false;
            }
        } else if glob(pattern.as_bytes(), name.as_bytes()) {
            positive = true;
        }
    }
    positive
}

fn hashed_match(hashed: &str, name: &str) -> bool {
    let Some((salt, want)) = hashed.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(want)) = (base64::decode_block(salt), base64::decode_block(want)) else {
        return false;
    };
    let Ok(key) = PKey::hmac(&salt) else {
        return false;
    };
    let Ok(mut signer) = Signer::new(MessageDigest::sha1(), &key) else {
        return false;
    };
    matches!(signer.sign_oneshot_to_vec(name.as_bytes()), Ok(got) if got == want)
}

/// `*` and `?` globbing, iterative with backtracking to the last `*`.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// libssh2's host key algorithms for a known_hosts key type.
pub(crate) fn algorithms_for(key_type: &str) -> &'static [&'static str] {
    match key_type {
        "ssh-ed25519" => &["ssh-ed25519"],
        "ecdsa-sha2-nistp256" => &["ecdsa-sha2-nistp256"],
        "ecdsa-sha2-nistp384" => &["ecdsa-sha2-nistp384"],
        "ecdsa-sha2-nistp521" => &["ecdsa-sha2-nistp521"],
        "ssh-rsa" => &["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
        "ssh-dss" => &["ssh-dss"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A real ed25519 host key line (ssh-keyscan output format).
    const ED: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

    #[test]
    fn patterns_ports_and_negation() {
        let text = format!(
            "# comment\n\
             db1.example.com,10.0.0.1 ssh-ed25519 {ED}\n\
             [10.0.0.2]:2222 ssh-ed25519 {ED}\n\
             *.prod.example.com,!bad.prod.example.com ssh-ed25519 {ED}\n\
             @cert-authority *.example.com ssh-ed25519 {ED}\n\
             @revoked 10.0.0.9 ssh-ed25519 {ED}\n\
             10.0.0.3 ssh-rsa {ED}\n"
        );
        assert_eq!(parse(&text, "10.0.0.1", 22).len(), 1);
        assert_eq!(parse(&text, "DB1.example.com", 22).len(), 1);
        assert_eq!(parse(&text, "10.0.0.1", 2222).len(), 0);
        assert_eq!(parse(&text, "10.0.0.2", 2222)[0].line, 3);
        assert_eq!(parse(&text, "10.0.0.2", 22).len(), 0);
        assert_eq!(parse(&text, "x.prod.example.com", 22).len(), 1);
        assert_eq!(parse(&text, "bad.prod.example.com", 22).len(), 0);
        assert!(parse(&text, "10.0.0.9", 22)[0].revoked);
        // Type field disagreeing with the blob: ignored as corrupt.
        assert_eq!(parse(&text, "10.0.0.3", 22).len(), 0);
    }

    #[test]
    fn hashed_names() {
        // `ssh-keygen -H` of "[127.0.0.1]:2222" with this salt.
        let salt = [7u8; 20];
        let key = PKey::hmac(&salt).unwrap();
        let mut s = Signer::new(MessageDigest::sha1(), &key).unwrap();
        let h = s.sign_oneshot_to_vec(b"[127.0.0.1]:2222").unwrap();
        let line = format!(
            "|1|{}|{} ssh-ed25519 {ED}\n",
            base64::encode_block(&salt),
            base64::encode_block(&h)
        );
        assert_eq!(parse(&line, "127.0.0.1", 2222).len(), 1);
        assert_eq!(parse(&line, "127.0.0.1", 22).len(), 0);
    }

    #[test]
    fn globbing() {
        assert!(glob(b"*", b"anything"));
        assert!(glob(b"10.0.?.1", b"10.0.5.1"));
        assert!(glob(b"a*b*c", b"aXXbYYc"));
        assert!(!glob(b"a*b*c", b"aXXbYY"));
        assert!(!glob(b"", b"x"));
    }

    #[test]
    fn fingerprints_look_like_ssh_keygen() {
        let blob = base64::decode_block(ED).unwrap();
        assert_eq!(blob_type(&blob).as_deref(), Some("ssh-ed25519"));
        let fp = fingerprint(&blob);
        assert!(fp.starts_with("SHA256:") && !fp.ends_with('='), "{fp}");
        assert_eq!(blob_type(&[0, 0, 0, 9, b'a']), None);
    }
}
