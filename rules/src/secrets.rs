//! What a secret is, in one place: the names whose values are secrets (in
//! option files, YAML, openssl.cnf, inventories), the marker that stands
//! where one was removed, and the password part of URLs and command lines.
//! Every parser that drops secrets and the snapshot redactor use exactly
//! these; there is no second list.

use std::borrow::Cow;

/// What stands where a secret was.
pub const MARKER: &str = "<redacted>";

/// Names that contain a secret word but hold a setting about secrets, not
/// one: `default_password_lifetime`, `validate_password_policy`,
/// `disconnect_on_expired_password`, an inventory's `password_env`.
const NOT_SECRETS: &[&str] = &[
    "password_env",
    "password_file",
    "admin_password_env",
    "admin_password_file",
    "disconnect_on_expired_password",
];

/// Words that make a setting about secrets when a name starts or ends with
/// them around a secret word (`default_password_lifetime`,
/// `validate_password_length`, `password_history`).
const SETTING_WORDS: &[&str] = &[
    "lifetime",
    "policy",
    "length",
    "history",
    "reuse",
    "check",
    "expired",
    "require",
    "validation",
    "complexity",
    "strength",
    "mixed",
    "number",
    "special",
    "dictionary",
];

/// The canonical form of a name: lowercase, `-` as `_`, without quotes,
/// without a `loose_` prefix (mysqld's) or a leading `--` (command lines).
pub fn normalize_name(name: &str) -> String {
    let n = name
        .trim()
        .trim_matches(['"', '\''])
        .trim_start_matches('-')
        .to_ascii_lowercase()
        .replace('-', "_");
    match n.strip_prefix("loose_") {
        Some(rest) => rest.to_string(),
        None => n,
    }
}

/// True when a value stored under this name is a secret: `password`,
/// `pass`, `pwd`, `passwd`, `secret`, `passphrase`, `token`, and names
/// ending in `_password`, `_pass`, `_pwd`, `passwd`, `_secret`, `_token` or
/// holding `passphrase` (`ssl_key_passphrase`, `report_password`,
/// `ansible_ssh_pass`, `DB_PASSWORD`); also `wsrep_sst_auth` (Galera's
/// `user:password`) and `input_password`/`output_password` (openssl.cnf).
/// Settings about passwords are not secrets (see [`NOT_SECRETS`],
/// [`SETTING_WORDS`]).
pub fn is_secret_name(name: &str) -> bool {
    let n = normalize_name(name);
    if n.is_empty() || NOT_SECRETS.contains(&n.as_str()) {
        return false;
    }
    let words: Vec<&str> = n.split('_').filter(|w| !w.is_empty()).collect();
    if words.iter().any(|w| SETTING_WORDS.contains(w)) {
        return false;
    }
    const EXACT: &[&str] = &[
        "password",
        "pass",
        "pwd",
        "passwd",
        "secret",
        "passphrase",
        "token",
        "wsrep_sst_auth",
    ];
    EXACT.contains(&n.as_str())
        || n.ends_with("_password")
        || n.ends_with("_pass")
        || n.ends_with("_pwd")
        || n.ends_with("passwd")
        || n.ends_with("_secret")
        || n.ends_with("_token")
        || n.contains("passphrase")
}

/// `scheme://user:password@host/...` -> `scheme://user:<redacted>@host/...`,
/// for every URL in the text; text without one is returned as it is.
pub fn strip_url_password(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| {
                c == '/' || c == '?' || c == '#' || c.is_whitespace() || c == '"' || c == '\''
            })
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..=colon]);
                out.push_str(MARKER);
                out.push_str(&authority[at..]);
                changed = true;
            }
            _ => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

/// For text that is not a parsable URL (`user:secret@host`, an opaque
/// `mysql2:user:secret@db`): the part between the last `:` of the user
/// information and the `@` becomes [`MARKER`].
pub fn strip_userinfo_password(text: &str) -> Cow<'_, str> {
    let Some(at) = text.rfind('@') else {
        return Cow::Borrowed(text);
    };
    let start = text[..at].rfind('/').map_or(0, |i| i + 1);
    let userinfo = &text[start..at];
    match userinfo.find(':') {
        Some(colon) => Cow::Owned(format!(
            "{}:{MARKER}{}",
            &text[..start + colon],
            &text[at..]
        )),
        None => Cow::Borrowed(text),
    }
}

/// Passwords given on a command line inside a value (`mysqldump
/// --password=x`, `--password x`, `-px`, `--ssl-key-passphrase=y`):
/// each one's value becomes [`MARKER`]; URL passwords too.
pub fn strip_command_line_passwords(text: &str) -> Cow<'_, str> {
    let url = strip_url_password(text);
    let words: Vec<&str> = url.split_inclusive(char::is_whitespace).collect();
    let mut out = String::with_capacity(url.len());
    let mut changed = false;
    let mut next_is_secret = false;
    for w in words {
        let (word, space) = split_trailing_space(w);
        if next_is_secret && !word.is_empty() && !word.starts_with('-') {
            out.push_str(MARKER);
            out.push_str(space);
            next_is_secret = false;
            changed = true;
            continue;
        }
        next_is_secret = false;
        if let Some((flag, value)) = word.split_once('=')
            && flag.starts_with('-')
            && is_secret_name(flag)
            && !value.is_empty()
        {
            out.push_str(flag);
            out.push('=');
            out.push_str(MARKER);
            out.push_str(space);
            changed = true;
            continue;
        }
        if word.starts_with("--") && !word.contains('=') && is_secret_name(word) {
            // `--password x`: the next word is the value (mysql's own
            // `--password` alone prompts, so a following option is not one).
            next_is_secret = true;
        } else if let Some(value) = word.strip_prefix("-p")
            && !word.starts_with("--")
            && !value.is_empty()
        {
            // mysql's `-pSECRET` (a separate `-p` prompts).
            out.push_str("-p");
            out.push_str(MARKER);
            out.push_str(space);
            changed = true;
            continue;
        }
        out.push_str(w);
    }
    if changed { Cow::Owned(out) } else { url }
}

fn split_trailing_space(w: &str) -> (&str, &str) {
    let trimmed = w.trim_end_matches(char::is_whitespace);
    (trimmed, &w[trimmed.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for name in [
            "password",
            "Password",
            "loose-ssl-key-password",
            "ssl_passphrase",
            "report-password",
            "wsrep_sst_auth",
            "DB_PASSWORD",
            "ansible_ssh_pass",
            "ansible_become_password",
            "\"password\"",
            "passwd",
            "pwd",
            "secret",
            "client_secret",
            "api_token",
            "input_password",
            "output_password",
            "--password",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in [
            "default_password_lifetime",
            "validate_password_policy",
            "validate_password.length",
            "password_history",
            "password_reuse_interval",
            "disconnect_on_expired_password",
            "password_env",
            "admin_password_file",
            "username",
            "ssl-key",
            "passenger",
            "",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn url_and_command_line_passwords() {
        assert_eq!(
            strip_url_password("mysql2://deploy:s3cret@db.internal:3306/shop?x=1"),
            "mysql2://deploy:<redacted>@db.internal:3306/shop?x=1"
        );
        assert_eq!(strip_url_password("db:3306"), "db:3306");
        assert!(matches!(strip_url_password("a://b@c"), Cow::Borrowed(_)));
        assert_eq!(
            strip_command_line_passwords("mysqldump --password=s3cret --user=x -pOther --ssl"),
            "mysqldump --password=<redacted> --user=x -p<redacted> --ssl"
        );
        assert_eq!(
            strip_command_line_passwords("mysql --password s3cret -h db"),
            "mysql --password <redacted> -h db"
        );
        assert_eq!(
            strip_command_line_passwords("mysql --password -h db"),
            "mysql --password -h db"
        );
        assert_eq!(
            strip_command_line_passwords("/usr/bin/mysqld"),
            "/usr/bin/mysqld"
        );
    }
}
