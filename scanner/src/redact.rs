//! Removing secrets from host files before they are written anywhere.
//!
//! Snapshots keep files as found so that findings' line numbers stay true:
//! a secret value is replaced in place by [`MARKER`], never the line removed.

/// What stands where a secret was.
pub const MARKER: &str = "<redacted>";

/// Option names (option files) and keys (YAML) whose values are secrets.
fn is_secret_key(key: &str) -> bool {
    let k = key
        .trim()
        .trim_matches(['"', '\''])
        .to_ascii_lowercase()
        .replace('-', "_");
    let k = k.strip_prefix("loose_").unwrap_or(&k);
    k == "password"
        || k == "pass"
        || k == "pwd"
        || k.ends_with("_password")
        || k.ends_with("passwd")
        || k.contains("passphrase")
        || k == "wsrep_sst_auth"
        || k == "secret"
        || k.ends_with("_secret")
}

/// Redacts one line: `password = x`, `password: x`, `--password=x`, and the
/// password part of `scheme://user:password@host` URLs.
fn redact_line(line: &str) -> String {
    let trimmed = line.trim_start();
    let indent = &line[..line.len() - trimmed.len()];
    // Comments stay as they are: a commented-out password is still a
    // password, so it is redacted too.
    let (comment_prefix, body) = match trimmed.strip_prefix('#') {
        Some(rest) => ("#", rest),
        None => ("", trimmed),
    };
    let body_trim = body.trim_start();
    let pad = &body[..body.len() - body_trim.len()];
    // The key ends at the first `=` (option files) or `:` (YAML).
    if let Some(pos) = body_trim.find(['=', ':']) {
        let key = body_trim[..pos].trim_start_matches('-');
        let after = &body_trim[pos + 1..];
        if is_secret_key(key) && !after.trim().is_empty() {
            let sep = &body_trim[pos..=pos];
            let space = &after[..after.len() - after.trim_start().len()];
            return format!(
                "{indent}{comment_prefix}{pad}{}{sep}{space}{MARKER}",
                &body_trim[..pos]
            );
        }
    }
    redact_url_password(line)
}

/// `mysql2://deploy:s3cret@db/shop` -> `mysql2://deploy:<redacted>@db/shop`.
fn redact_url_password(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..=colon]);
                out.push_str(MARKER);
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Redacts secret values in a text file, keeping every line where it was.
/// Binary content (not UTF-8) is returned unchanged: certificates in DER
/// hold no secrets, and private keys never reach this point.
pub fn redact(content: &[u8]) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(content) else {
        return content.to_vec();
    };
    let mut out = String::with_capacity(text.len());
    for piece in text.split_inclusive('\n') {
        let (line, eol) = match piece.strip_suffix("\r\n") {
            Some(l) => (l, "\r\n"),
            None => match piece.strip_suffix('\n') {
                Some(l) => (l, "\n"),
                None => (piece, ""),
            },
        };
        out.push_str(&redact_line(line));
        out.push_str(eol);
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> String {
        String::from_utf8(redact(s.as_bytes())).unwrap()
    }

    #[test]
    fn option_file_passwords() {
        assert_eq!(
            r("[client]\npassword=hunter2\n"),
            "[client]\npassword=<redacted>\n"
        );
        assert_eq!(r("  password = 'a b'\r\n"), "  password = <redacted>\r\n");
        assert_eq!(
            r("loose-ssl-key-password=x\n"),
            "loose-ssl-key-password=<redacted>\n"
        );
        assert_eq!(r("#password=old\n"), "#password=<redacted>\n");
        assert_eq!(r("ssl-ca=/etc/ca.pem\n"), "ssl-ca=/etc/ca.pem\n");
        assert_eq!(r("wsrep_sst_auth=root:pw\n"), "wsrep_sst_auth=<redacted>\n");
    }

    #[test]
    fn yaml_passwords_and_urls() {
        assert_eq!(
            r("production:\n  password: <%= ENV['X'] %>\n  username: deploy\n"),
            "production:\n  password: <redacted>\n  username: deploy\n"
        );
        assert_eq!(
            r("  url: mysql2://deploy:s3cret@db.internal:3306/shop\n"),
            "  url: mysql2://deploy:<redacted>@db.internal:3306/shop\n"
        );
        assert_eq!(r("  password:\n"), "  password:\n");
        assert_eq!(r("  host: db:3306\n"), "  host: db:3306\n");
    }

    #[test]
    fn binary_is_untouched() {
        let der = [0x30u8, 0x82, 0xff, 0x00, b'p'];
        assert_eq!(redact(&der), der.to_vec());
    }
}
