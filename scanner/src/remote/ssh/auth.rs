//! Public-key authentication of an SSH login: the identity file checked
//! first (present, readable, not passphrase-protected), then the agent or
//! the key, with errors that say which.

use super::*;

pub(super) fn authenticate(
    host: &str,
    session: &Session,
    ep: &Endpoint<'_>,
    timeout: Duration,
) -> Result<(), RemoteError> {
    let auth = |message: String| RemoteError::Auth {
        host: host.to_string(),
        message: format!("{}{message}", ep.label),
    };
    let timed_out = |during: &str| RemoteError::Timeout {
        host: host.to_string(),
        after: timeout,
        during: format!("{during}{}", ep.on),
    };
    match ep.identity_file {
        Some(path) => {
            check_identity_file(path).map_err(auth)?;
            if let Err(e) = session.userauth_pubkey_file(ep.user, None, path, None) {
                if is_timeout(&e) {
                    return Err(timed_out("authenticating with a key"));
                }
                return Err(auth(format!(
                    "the key {} was refused for user {} ({})",
                    path.display(),
                    ep.user,
                    e.message()
                )));
            }
        }
        None => {
            if std::env::var_os("SSH_AUTH_SOCK").is_none() {
                return Err(auth(
                    "no ssh.identity_file set and no ssh-agent (SSH_AUTH_SOCK is not set)"
                        .to_string(),
                ));
            }
            let mut agent = session
                .agent()
                .map_err(|e| auth(format!("ssh-agent: {}", e.message())))?;
            agent
                .connect()
                .map_err(|e| auth(format!("cannot reach the ssh-agent: {}", e.message())))?;
            agent
                .list_identities()
                .map_err(|e| auth(format!("ssh-agent: {}", e.message())))?;
            let identities = agent
                .identities()
                .map_err(|e| auth(format!("ssh-agent: {}", e.message())))?;
            if identities.is_empty() {
                return Err(auth("the ssh-agent holds no keys".to_string()));
            }
            let mut ok = false;
            for id in &identities {
                match agent.userauth(ep.user, id) {
                    Ok(()) => {
                        ok = true;
                        break;
                    }
                    Err(e) if is_timeout(&e) => {
                        return Err(timed_out("authenticating with the ssh-agent"));
                    }
                    Err(_) => {}
                }
            }
            let _ = agent.disconnect();
            if !ok {
                return Err(auth(format!(
                    "none of the ssh-agent's {} keys was accepted for user {}",
                    identities.len(),
                    ep.user
                )));
            }
        }
    }
    if !session.authenticated() {
        return Err(auth(format!("not authenticated as {}", ep.user)));
    }
    Ok(())
}

/// Tells a passphrase-protected key apart before libssh2 fails on it with
/// an obscure message (the scanner has no passphrase to give: use the agent).
pub(super) fn check_identity_file(path: &Path) -> Result<(), String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("identity file {}: {e}", path.display()))?;
    if meta.len() > 1024 * 1024 {
        return Err(format!(
            "identity file {} is not a private key (over 1 MiB)",
            path.display()
        ));
    }
    let bytes =
        std::fs::read(path).map_err(|e| format!("identity file {}: {e}", path.display()))?;
    if key_is_encrypted(&bytes) {
        return Err(format!(
            "identity file {} is protected by a passphrase: load it into ssh-agent \
             (ssh-add) and leave ssh.identity_file unset",
            path.display()
        ));
    }
    Ok(())
}

/// PEM `Proc-Type: 4,ENCRYPTED`, PKCS#8 `ENCRYPTED PRIVATE KEY`, or an
/// OpenSSH-format key whose cipher is not `none`.
pub(super) fn key_is_encrypted(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    if text.contains("Proc-Type: 4,ENCRYPTED") || text.contains("BEGIN ENCRYPTED PRIVATE KEY") {
        return true;
    }
    let begin = "-----BEGIN OPENSSH PRIVATE KEY-----";
    let Some(start) = text.find(begin) else {
        return false;
    };
    let body: String = text[start + begin.len()..]
        .lines()
        .take_while(|l| !l.starts_with("-----END"))
        .map(str::trim)
        .collect();
    let Ok(raw) = openssl::base64::decode_block(&body) else {
        return false;
    };
    let magic = b"openssh-key-v1\0";
    let Some(rest) = raw.strip_prefix(&magic[..]) else {
        return false;
    };
    let Some(len) = rest
        .get(..4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_be_bytes)
    else {
        return false;
    };
    let cipher = rest.get(4..4 + len as usize).unwrap_or(b"none");
    cipher != b"none"
}
