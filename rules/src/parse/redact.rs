//! Removing secrets from a host's files before they are written anywhere
//! (evidence snapshots), by each file's structure as its parser reads it,
//! never by line patterns:
//!
//! - database.yml: the YAML events with their spans. The value of every
//!   secret key ([`crate::secrets::is_secret_name`]) is blanked, whatever
//!   its style: plain, quoted, block literal or folded, multi-line, in a
//!   flow mapping, anchored and aliased elsewhere, an ERB tag; a sequence
//!   of them item by item. A mapping is judged entry by entry by its own
//!   keys, so keys and a config's structure (`<<` merges) never change.
//!   ERB around a secret is left as ERB. URL passwords go everywhere, and
//!   so do secrets in comments. Secrecy wins over facts: a value anchored
//!   under an ordinary key (`socket: &s x`) and used through an alias under
//!   a secret one (`password: *s`) is blanked at its anchor, so that fact
//!   reads as the marker; every other fact stays as it was.
//! - option files: [`mycnf::redact_option_file`], the option-file parser's
//!   own view of each line.
//! - openssl.cnf: its `name = value` lines (`input_password`...).
//! - /etc/passwd: a password field that is not `x` (a hash).
//! - certificates and other PEM without private keys: kept as they are.
//!
//! Every line stays where it was (a secret spanning lines leaves empty
//! lines), so findings' line numbers hold. A file that cannot be read this
//! way is [`Withheld`] whole: no content is ever written on a guess.

use std::collections::HashMap;
use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle};

use super::mycnf;
use crate::secrets::{self, MARKER};

/// The kinds of files a snapshot keeps the content of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A Rails database.yml (ERB, then YAML).
    DatabaseYml,
    /// A MySQL/MariaDB option file.
    OptionFile,
    /// OpenSSL's configuration file.
    OpensslCnf,
    /// `/etc/passwd`.
    Passwd,
    /// PEM text (certificates, public keys, CRLs).
    Pem,
    /// A DER certificate.
    Der,
    /// An application's Gemfile.lock: its resolved gems only.
    GemfileLock,
    /// Package metadata that names no one (dpkg's `shlibs` files).
    PackageMetadata,
}

impl Kind {
    /// The kind a file's name tells, for files seen outside a collection
    /// (a remediation's edit): `database.yml` and other YAML, openssl.cnf,
    /// option files (`.cnf`, `.my.cnf`), `/etc/passwd`.
    pub fn of_path(path: &str) -> Option<Kind> {
        let name = path.rsplit('/').next().unwrap_or(path);
        if name.ends_with(".yml") || name.ends_with(".yaml") {
            Some(Kind::DatabaseYml)
        } else if name == "openssl.cnf" {
            Some(Kind::OpensslCnf)
        } else if name.ends_with(".cnf") || name == ".my.cnf" {
            Some(Kind::OptionFile)
        } else if path == "/etc/passwd" {
            Some(Kind::Passwd)
        } else {
            None
        }
    }
}

/// Why a file's content is not written: it is said instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Withheld {
    pub reason: String,
}

fn withheld(reason: impl Into<String>) -> Withheld {
    Withheld {
        reason: reason.into(),
    }
}

/// Most passes [`redact`] makes before it gives up on a file.
const MAX_PASSES: usize = 4;

/// The content to write for a file of this kind, secrets replaced by
/// [`MARKER`], or why it is withheld.
///
/// What is written is a fixed point: redacting it again changes nothing.
/// One pass can leave text that a second pass reads as a secret (taking
/// out a secret-looking word can change where a comment or a quoted value
/// starts), so passes repeat until one changes nothing; a file that does
/// not settle within [`MAX_PASSES`] is withheld.
pub fn redact(kind: Kind, bytes: &[u8]) -> Result<Vec<u8>, Withheld> {
    let mut out = redact_once(kind, bytes)?;
    for _ in 1..MAX_PASSES {
        let again = redact_once(kind, &out)?;
        if again == out {
            return Ok(out);
        }
        out = again;
    }
    Err(withheld(format!(
        "redaction did not settle in {MAX_PASSES} passes"
    )))
}

/// One pass of [`redact`].
fn redact_once(kind: Kind, bytes: &[u8]) -> Result<Vec<u8>, Withheld> {
    if kind == Kind::Der {
        return if super::x509::looks_like_certificate(bytes) {
            Ok(bytes.to_vec())
        } else {
            Err(withheld("binary content that is not a DER certificate"))
        };
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        withheld(format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    let out = match kind {
        Kind::DatabaseYml => database_yml(text)?,
        Kind::OptionFile => mycnf::redact_option_file(text)
            .map_err(|(line, why)| withheld(format!("line {line} cannot be parsed: {why}")))?,
        Kind::OpensslCnf => openssl_cnf(text)?,
        Kind::Passwd => passwd(text),
        Kind::Pem => pem(text)?,
        Kind::GemfileLock => gemfile_lock(text),
        Kind::PackageMetadata => package_metadata(text),
        // Answered before the text is decoded.
        Kind::Der => return Err(withheld("binary content that is not a DER certificate")),
    };
    debug_assert_eq!(
        out.matches('\n').count(),
        text.matches('\n').count(),
        "redaction keeps every line"
    );
    Ok(out.into_bytes())
}

// --- database.yml ---------------------------------------------------------------------

/// ERB tags masked char for char so that YAML spans are the file's own:
/// an output tag (`<%= %>`) becomes `x`s (a value), a control or comment
/// tag spaces, newlines stay newlines.
fn mask_erb(text: &str) -> Result<String, Withheld> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut line = 1usize;
    loop {
        let Some(pos) = rest.find("<%") else {
            out.push_str(rest);
            return Ok(out);
        };
        out.push_str(&rest[..pos]);
        line += rest[..pos].matches('\n').count();
        let after = &rest[pos + 2..];
        if let Some(literal) = after.strip_prefix('%') {
            // `<%%` is a literal `<%`.
            out.push_str("<%%");
            rest = literal;
            continue;
        }
        let Some(end) = after.find("%>") else {
            return Err(withheld(format!(
                "line {line}: ERB tag `<%` is never closed by `%>`"
            )));
        };
        let tag = &rest[pos..pos + 2 + end + 2];
        let fill = if after.starts_with('=') { 'x' } else { ' ' };
        for c in tag.chars() {
            out.push(if c == '\n' { '\n' } else { fill });
        }
        line += tag.matches('\n').count();
        rest = &after[end + 2..];
    }
}

/// What the YAML walk found, in char indices of the (masked) text.
#[derive(Default)]
struct Found {
    /// Scalars to blank.
    secrets: Vec<Range<usize>>,
    /// Every scalar and alias (what is not a comment).
    content: Vec<Range<usize>>,
    /// Scalars outside secrets (URL passwords may hide there).
    plain: Vec<Range<usize>>,
}

enum Frame {
    Map {
        /// Waiting for a key (else for the value of `key_secret`).
        want_key: bool,
        key_secret: bool,
    },
    Seq {
        secret: bool,
        anchor: usize,
    },
}

/// Walks the YAML events of the masked text.
fn walk(masked: &str) -> Result<Found, Withheld> {
    let mut found = Found::default();
    let mut stack: Vec<Frame> = Vec::new();
    // Scalars under each anchor (collections: every scalar inside).
    let mut anchored: HashMap<usize, Vec<Range<usize>>> = HashMap::new();
    let mut secret_aliases: Vec<usize> = Vec::new();
    let mut parser = Parser::new_from_str(masked);
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| {
            withheld(format!(
                "line {}: not valid YAML: {}",
                e.marker().line(),
                e.info()
            ))
        })?;
        let range = span.start.index()..span.end.index();
        // Is the node starting here a key, and is it secret? A secret key's
        // value is secret: a scalar, or every item of a sequence (a list
        // of passwords). A mapping is not: its entries are judged by their
        // own keys, so that a config's structure (`<<` merges, fields the
        // facts read) is never touched. Keys themselves are never blanked.
        let (is_key, secret) = match stack.last() {
            Some(Frame::Map { want_key: true, .. }) => (true, false),
            Some(Frame::Map { key_secret, .. }) => (false, *key_secret),
            Some(Frame::Seq { secret, .. }) => (false, *secret),
            None => (false, false),
        };
        // The anchored sequences this node is an item of (nested ones too,
        // up to the first mapping): an alias of one under a secret key
        // blanks its items.
        let open: Vec<usize> = stack
            .iter()
            .rev()
            .map_while(|f| match f {
                Frame::Seq { anchor, .. } => Some(*anchor),
                Frame::Map { .. } => None,
            })
            .filter(|a| *a != 0)
            .collect();
        match event {
            // A null (empty, or a plain `~`/`null`) hides nothing, and the
            // parser may give an empty one the span of the punctuation
            // after it; blanking one would turn a null into a value (an
            // anchored `socket: &s ~` aliased under a secret key).
            Event::Scalar(value, style, ..) if is_null_scalar(&value, style) => {
                after_node(&mut stack, is_key.then_some(false));
            }
            Event::Scalar(value, _style, anchor, _tag) => {
                found.content.push(range.clone());
                if secret {
                    found.secrets.push(range.clone());
                } else if !is_key {
                    found.plain.push(range.clone());
                }
                // Keys are the file's structure, never blanked: a key that
                // an alias under a secret key names is no secret the file
                // does not already show as a key.
                if !is_key {
                    for a in open.iter().chain((anchor != 0).then_some(&anchor)) {
                        anchored.entry(*a).or_default().push(range.clone());
                    }
                }
                after_node(&mut stack, is_key.then(|| secrets::is_secret_name(&value)));
            }
            Event::Alias(id) => {
                found.content.push(range);
                if secret {
                    secret_aliases.push(id);
                }
                after_node(&mut stack, is_key.then_some(false));
            }
            Event::MappingStart(_, _) => stack.push(Frame::Map {
                want_key: true,
                key_secret: false,
            }),
            Event::SequenceStart(anchor, _) => stack.push(Frame::Seq { secret, anchor }),
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                after_node(&mut stack, None);
            }
            Event::DocumentStart(_) | Event::DocumentEnd | Event::StreamStart => {}
            Event::StreamEnd => break,
            Event::Nothing => {}
        }
    }
    // An alias under a secret key: what its anchor names is the secret.
    let mut seen = std::collections::HashSet::new();
    while let Some(id) = secret_aliases.pop() {
        if seen.insert(id)
            && let Some(ranges) = anchored.get(&id)
        {
            found.secrets.extend(ranges.iter().cloned());
        }
    }
    Ok(found)
}

/// YAML's null as a scalar event: empty, or `~`/`null` written plain.
fn is_null_scalar(value: &str, style: ScalarStyle) -> bool {
    value.is_empty()
        || (style == ScalarStyle::Plain && matches!(value, "~" | "null" | "Null" | "NULL"))
}

/// After a node of the frame on top: a key makes the frame wait for its
/// value (`Some(secret)`), a value for the next key.
fn after_node(stack: &mut [Frame], key: Option<bool>) {
    if let Some(Frame::Map {
        want_key,
        key_secret,
        ..
    }) = stack.last_mut()
    {
        match key {
            Some(secret) => {
                *want_key = false;
                *key_secret = secret;
            }
            None => {
                *want_key = true;
                *key_secret = false;
            }
        }
    }
}

/// A scalar's source blanked, line for line: the first line keeps an
/// anchor or tag and becomes the marker (quoted as it was), the lines
/// after it are emptied, and a last line of indentation (which the next
/// key needs) stays.
fn blank_scalar(src: &str) -> String {
    let lines: Vec<&str> = src.split('\n').collect();
    let mut out = String::with_capacity(src.len());
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        // A CRLF file keeps its line ends.
        let (l, cr) = match l.strip_suffix('\r') {
            Some(l) if i + 1 < lines.len() => (l, "\r"),
            _ => (*l, ""),
        };
        if i == 0 {
            let mut rest = l;
            // `&anchor`, `!tag` before the value stay.
            while rest.starts_with(['&', '!']) {
                let end = rest.find([' ', '\t']).unwrap_or(rest.len());
                let token_and_space = rest[end..].len() - rest[end..].trim_start().len();
                out.push_str(&rest[..end + token_and_space]);
                rest = &rest[end + token_and_space..];
            }
            match rest.chars().next() {
                Some('"') => out.push_str(&format!("\"{MARKER}\"")),
                Some('\'') => out.push_str(&format!("'{MARKER}'")),
                Some(_) => out.push_str(MARKER),
                None => {}
            }
        } else if i == lines.len() - 1 && l.trim().is_empty() {
            out.push_str(l);
        }
        out.push_str(cr);
    }
    out
}

fn database_yml(text: &str) -> Result<String, Withheld> {
    // YAML breaks lines at a lone CR too; lines here are counted by LF.
    if let Some(at) = text
        .as_bytes()
        .windows(2)
        .position(|w| w[0] == b'\r' && w[1] != b'\n')
        .or_else(|| text.ends_with('\r').then(|| text.len() - 1))
    {
        let line = text[..at].matches('\n').count() + 1;
        return Err(withheld(format!(
            "line {line}: a carriage return without a line feed (YAML would read another line)"
        )));
    }
    let masked = mask_erb(text)?;
    let found = walk(&masked)?;
    // Char indices (what the parser counts) to byte offsets of the file;
    // masking kept every char in place.
    let mut offsets: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    offsets.push(text.len());
    let bytes = |r: &Range<usize>| {
        offsets[r.start.min(offsets.len() - 1)]..offsets[r.end.min(offsets.len() - 1)]
    };

    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let mut secrets_sorted: Vec<Range<usize>> = found.secrets.iter().map(bytes).collect();
    secrets_sorted.sort_by_key(|r| (r.start, r.end));
    secrets_sorted.dedup();
    for r in &secrets_sorted {
        if r.is_empty() {
            continue;
        }
        edits.push((r.clone(), blank_scalar(&text[r.clone()])));
    }
    for r in found.plain.iter().map(bytes) {
        let src = &text[r.clone()];
        if let std::borrow::Cow::Owned(stripped) = secrets::strip_url_password(src) {
            edits.push((r, stripped));
        }
    }
    edits.extend(comment_edits(text, &masked, &found.content, &offsets));
    let out = apply(text, edits)?;
    // What is written must still read as YAML.
    walk(&mask_erb(&out)?)?;
    Ok(out)
}

/// Comments (a `#` at a line start or after a blank, outside every scalar)
/// whose text holds a secret.
fn comment_edits(
    text: &str,
    masked: &str,
    content: &[Range<usize>],
    offsets: &[usize],
) -> Vec<(Range<usize>, String)> {
    let mut inside = vec![false; masked.chars().count() + 1];
    for r in content {
        for flag in inside.iter_mut().take(r.end).skip(r.start) {
            *flag = true;
        }
    }
    let chars: Vec<char> = masked.chars().collect();
    let mut edits = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts_comment =
            chars[i] == '#' && !inside[i] && (i == 0 || chars[i - 1].is_whitespace());
        if !starts_comment {
            i += 1;
            continue;
        }
        let end = (i..chars.len())
            .find(|&j| chars[j] == '\n')
            .unwrap_or(chars.len());
        let (from, to) = (offsets[i + 1], offsets[end]);
        let body = &text[from..to];
        let redacted = redact_comment_outside_erb(body);
        if redacted != body {
            edits.push((from..to, redacted));
        }
        i = end;
    }
    edits
}

/// A database.yml comment redacted between its ERB tags only: a tag is
/// evaluated at runtime, not a literal secret, and keeping it whole keeps
/// the file's ERB structure (a tag opened in a comment may close lines
/// later), so redacting the result again changes nothing.
fn redact_comment_outside_erb(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(open) = rest.find("<%") {
        out.push_str(&mycnf::redact_comment_text(&rest[..open]));
        let tag = &rest[open..];
        let end = tag.find("%>").map_or(tag.len(), |e| e + 2);
        out.push_str(&tag[..end]);
        rest = &tag[end..];
    }
    out.push_str(&mycnf::redact_comment_text(rest));
    out
}

/// Applies non-overlapping edits (byte ranges); overlapping ones (a URL
/// inside a secret) keep the outer.
fn apply(text: &str, mut edits: Vec<(Range<usize>, String)>) -> Result<String, Withheld> {
    edits.sort_by_key(|(r, _)| (r.start, std::cmp::Reverse(r.end)));
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (r, replacement) in edits {
        if r.start < at {
            continue;
        }
        if text[r.clone()].matches('\n').count() != replacement.matches('\n').count() {
            return Err(withheld("a secret could not be replaced line for line"));
        }
        out.push_str(&text[at..r.start]);
        out.push_str(&replacement);
        at = r.end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

// --- openssl.cnf, /etc/passwd, PEM ------------------------------------------------------

/// `name = value` lines, `[ section ]`, `.include`/`.pragma` directives and
/// comments. OpenSSL joins a line that ends with `\\` to the next before it
/// reads it (comments included), so each logical line is judged whole: a
/// secret split over several lines is found, and the lines that held it
/// are kept, blank.
fn openssl_cnf(text: &str) -> Result<String, Withheld> {
    let pieces: Vec<&str> = text.split_inclusive('\n').collect();
    let mut out = String::with_capacity(text.len());
    let mut first = 0;
    while first < pieces.len() {
        let mut last = first;
        while last + 1 < pieces.len() && continues(pieces[last]) {
            last += 1;
        }
        cnf_logical_line(&pieces[first..=last], first + 1, &mut out)?;
        first = last + 1;
    }
    Ok(out)
}

fn without_eol(piece: &str) -> (&str, &str) {
    match piece.strip_suffix('\n') {
        Some(l) => (l, "\n"),
        None => (piece, ""),
    }
}

fn continues(piece: &str) -> bool {
    without_eol(piece).0.trim_end().ends_with('\\')
}

/// One logical line of openssl.cnf (`pieces`, the first at line `line`):
/// copied as it is, or, where it holds a secret, rewritten on its first
/// line with the rest blank.
fn cnf_logical_line(pieces: &[&str], line: usize, out: &mut String) -> Result<(), Withheld> {
    let mut joined = String::new();
    for (i, piece) in pieces.iter().enumerate() {
        let content = without_eol(piece).0;
        if i + 1 < pieces.len() {
            let kept = content.trim_end();
            joined.push_str(&kept[..kept.len() - 1]);
        } else {
            joined.push_str(content);
        }
    }
    let body = joined.trim_start();
    let lead = &joined[..joined.len() - body.len()];
    let rewritten = if body.is_empty() || body.starts_with('[') || body.starts_with('.') {
        None
    } else if let Some(comment) = body.strip_prefix('#') {
        let redacted = mycnf::redact_comment_text(comment);
        (redacted != comment).then(|| format!("{lead}#{redacted}"))
    } else if let Some(eq) = body.find('=') {
        let name = body[..eq].trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(withheld(format!("line {line}: not `name = value`")));
        }
        let value = &body[eq + 1..];
        if secrets::is_secret_name(name) {
            let pad = &value[..value.len() - value.trim_start().len()];
            Some(format!("{lead}{}{pad}{MARKER}", &body[..=eq]))
        } else {
            let stripped = secrets::strip_url_password(value);
            (stripped != value).then(|| format!("{lead}{}{stripped}", &body[..=eq]))
        }
    } else {
        return Err(withheld(format!("line {line}: not `name = value`")));
    };
    match rewritten {
        None => pieces.iter().for_each(|p| out.push_str(p)),
        Some(first) => {
            // No trailing `\\`: the blank lines after it are lines of their own.
            out.push_str(first.trim_end_matches(['\\', ' ', '\t']));
            for piece in pieces {
                out.push_str(without_eol(piece).1);
            }
        }
    }
    Ok(())
}

/// A password field that holds a hash (no shadow file) becomes the marker.
/// Every line but the resolved gems (`    mysql2 (0.5.3)`) and the section
/// headers goes blank: a `remote:` of a private gem server may carry a
/// token, and nothing else of the file is read.
fn gemfile_lock(text: &str) -> String {
    keep_lines(text, |line| {
        let spec = line
            .strip_prefix("    ")
            .filter(|l| !l.starts_with(' '))
            .and_then(|l| l.split_once(" ("))
            .is_some_and(|(name, v)| {
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                    && v.ends_with(')')
                    && !v.contains(['/', '@', ':'])
            });
        let header = line == "  specs:"
            || (!line.is_empty() && line.chars().all(|c| c.is_ascii_uppercase() || c == ' '));
        spec || header
    })
}

/// Lines of the form `library soversion package (>= version)` stay; any
/// other line goes blank.
fn package_metadata(text: &str) -> String {
    keep_lines(text, |line| {
        line.len() < 200
            && line
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || " .:_+-~()>=<#*".contains(c))
    })
}

/// `text` with every line `keep` refuses made empty (line breaks kept).
fn keep_lines(text: &str, keep: impl Fn(&str) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for piece in text.split_inclusive('\n') {
        let (line, eol) = match piece.strip_suffix('\n') {
            Some(l) => (l, "\n"),
            None => (piece, ""),
        };
        if keep(line) {
            out.push_str(line);
        }
        out.push_str(eol);
    }
    out
}

fn passwd(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for piece in text.split_inclusive('\n') {
        let (line, eol) = match piece.strip_suffix('\n') {
            Some(l) => (l, "\n"),
            None => (piece, ""),
        };
        let mut fields: Vec<&str> = line.split(':').collect();
        if fields.len() >= 2 && !matches!(fields[1], "" | "x" | "*" | "!" | "!!" | "*NP*") {
            fields[1] = MARKER;
        }
        out.push_str(&fields.join(":"));
        out.push_str(eol);
    }
    out
}

/// PEM without private keys is public (certificates, public keys, CRLs).
fn pem(text: &str) -> Result<String, Withheld> {
    let private = text.lines().any(|l| {
        l.trim_start()
            .strip_prefix("-----BEGIN ")
            .is_some_and(|label| label.contains("PRIVATE KEY"))
    });
    if private {
        return Err(withheld("holds a private key"));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yml(text: &str) -> String {
        String::from_utf8(redact(Kind::DatabaseYml, text.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn every_yaml_style_of_a_secret() {
        let text = "\
staging: { adapter: mysql2, host: db, username: deploy, password: s3cret1 }
reporting:
  password: >-
    s3cret2
    more2
  next: 1
other:
  \"password\":
    s3cret3
    line3
  q: 'a
    b'
  db_password: &pw \"s3cret4\"
  replica:
    password: *pw
  list_password: [s3cret5, 's3cret6']
  lit_password: |
    s3cret7
  erb_password: <%= ENV.fetch('P', 's3cret8') %>
  url: mysql2://u:s3cret9@db/shop
  empty_password:
  # password: s3cret10
  host: db # password=s3cret11
";
        let out = yml(text);
        for n in 1..=11 {
            assert!(!out.contains(&format!("s3cret{n}")), "s3cret{n} in:\n{out}");
        }
        assert_eq!(out.lines().count(), text.lines().count(), "{out}");
        assert!(
            out.contains("q: 'a\n    b'"),
            "non-secrets untouched:\n{out}"
        );
        assert!(out.contains("db_password: &pw \"<redacted>\""), "{out}");
        assert!(out.contains("password: *pw"), "{out}");
        assert!(out.contains("url: mysql2://u:<redacted>@db/shop"), "{out}");
        assert!(out.contains("  host: db # password=<redacted>"), "{out}");
        // Still YAML, same non-secret facts.
        let a = crate::parse::dbyml::parse_database_yml("d.yml", text).unwrap();
        let b = crate::parse::dbyml::parse_database_yml("d.yml", &out).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn crlf_is_kept_and_a_lone_cr_withheld() {
        let out = yml("prod:\r\n  password: >-\r\n    s3cret\r\n    more\r\n  host: db\r\n");
        assert_eq!(
            out,
            "prod:\r\n  password: >-\r\n    <redacted>\r\n\r\n  host: db\r\n"
        );
        assert!(redact(Kind::DatabaseYml, b"prod:\r  password: x\n").is_err());
    }

    #[test]
    fn aliases_under_secret_keys_blank_their_anchor() {
        // A list of passwords, anchored under a harmless key.
        let text = "keys: &k [abc123, [def456]]\nprod:\n  password: *k\n";
        let out = yml(text);
        assert!(!out.contains("abc123") && !out.contains("def456"), "{out}");
        // A mapping is judged entry by entry, whatever it is aliased as:
        // its keys and a config's structure stay.
        let text = "base: &b\n  host: db\n  db_password: x1\nprod:\n  <<: *b\n  password: *b\n";
        let out = yml(text);
        assert_eq!(
            out,
            "base: &b\n  host: db\n  db_password: <redacted>\nprod:\n  <<: *b\n  password: *b\n"
        );
    }

    #[test]
    fn erb_stays_erb_and_bad_files_are_withheld() {
        let text = "<% if true %>\nprod:\n  host: <%= ENV['H'] %>\n  password: <%= ENV['P'] %>\n<% end %>\n";
        let out = yml(text);
        assert_eq!(
            out,
            "<% if true %>\nprod:\n  host: <%= ENV['H'] %>\n  password: <redacted>\n<% end %>\n"
        );
        assert!(redact(Kind::DatabaseYml, b"prod:\n  password: [unclosed\n").is_err());
        assert!(redact(Kind::DatabaseYml, b"prod: <% never closed\n").is_err());
        assert!(redact(Kind::DatabaseYml, &[0xff, 0xfe]).is_err());
    }

    #[test]
    fn a_null_under_a_secret_key_stays_null() {
        // Found by the fuzzer: a null anchored under an ordinary key and
        // aliased under a secret one became the marker, so the ordinary
        // key read as set once redacted.
        let yml = "r:\n  socket: &p ~\n  db_password: *p\n  password: null\n";
        let out = String::from_utf8(redact(Kind::DatabaseYml, yml.as_bytes()).unwrap()).unwrap();
        assert_eq!(out, yml);
    }

    #[test]
    fn keys_named_by_a_secret_alias_stay_keys() {
        // Found by the fuzzer: an anchored key aliased under a secret key
        // was blanked, which renamed an environment.
        let yml = "rep:\n  &p ng: { adapter: mysql2 }\nreporting:\n  db_password: *p\n";
        let out = String::from_utf8(redact(Kind::DatabaseYml, yml.as_bytes()).unwrap()).unwrap();
        assert_eq!(out, yml);
    }

    #[test]
    fn a_secret_continued_over_lines_is_found_and_the_lines_kept() {
        // Found by the fuzzer: a comment whose secret-looking tail ended in
        // `\\` lost it once redacted, and the next line became a setting.
        // OpenSSL joins continued lines first, comments included.
        let cnf =
            "#-pssl\\\\\n\0dn;d\n# mysql -p\\\nS3cret\nurl = mysql://u:pa\\\nss@db/x\nx = 1\n";
        let out = String::from_utf8(redact(Kind::OpensslCnf, cnf.as_bytes()).unwrap()).unwrap();
        assert_eq!(
            out,
            "#-p<redacted>\n\n# mysql -p<redacted>\n\nurl = mysql://u:<redacted>@db/x\n\nx = 1\n"
        );
        let again = redact(Kind::OpensslCnf, out.as_bytes()).unwrap();
        assert_eq!(String::from_utf8(again).unwrap(), out);
    }

    #[test]
    fn openssl_cnf_passwd_and_pem() {
        let cnf = "[ req ]\ninput_password = s3cret\noutput_password = a \\\n  b\nRANDFILE = $ENV::HOME/.rnd\n# input_password = old\n";
        let out = String::from_utf8(redact(Kind::OpensslCnf, cnf.as_bytes()).unwrap()).unwrap();
        assert_eq!(
            out,
            "[ req ]\ninput_password = <redacted>\noutput_password = <redacted>\n\nRANDFILE = $ENV::HOME/.rnd\n# input_password = <redacted>\n"
        );
        assert!(redact(Kind::OpensslCnf, b"[ req ]\nnot a setting\n").is_err());
        let pw = "root:x:0:0::/root:/bin/sh\nold:$6$salt$hash:1000:1000::/home/old:/bin/sh\n";
        let out = String::from_utf8(redact(Kind::Passwd, pw.as_bytes()).unwrap()).unwrap();
        assert_eq!(
            out,
            "root:x:0:0::/root:/bin/sh\nold:<redacted>:1000:1000::/home/old:/bin/sh\n"
        );
        assert!(
            redact(
                Kind::Pem,
                b"-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n"
            )
            .is_err()
        );
        let cert = b"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n";
        assert_eq!(redact(Kind::Pem, cert).unwrap(), cert.to_vec());
        assert!(redact(Kind::Der, &[0x30, 0x01, 0x00]).is_err());
    }

    #[test]
    fn gemfile_lock_keeps_resolved_gems_only() {
        let lock = "GEM\n  remote: https://deploy:s3cret@gems.example.com/\n  specs:\n    mysql2 (0.5.3)\n      bigdecimal\n    rake (13.0.6)\n\nBUNDLED WITH\n   2.4.10\n";
        let out = String::from_utf8(redact(Kind::GemfileLock, lock.as_bytes()).unwrap()).unwrap();
        assert!(!out.contains("s3cret"), "{out}");
        assert_eq!(
            out,
            "GEM\n\n  specs:\n    mysql2 (0.5.3)\n\n    rake (13.0.6)\n\nBUNDLED WITH\n\n"
        );
        let facts = super::super::gemfile_lock::parse_gemfile_lock("/a", &out);
        assert_eq!(facts.mysql2.as_deref(), Some("0.5.3"));
        let shlibs = "libmariadb 3 libmariadb3 (>= 1:10.11.19)\nhttps://x:y@z/\n";
        let out =
            String::from_utf8(redact(Kind::PackageMetadata, shlibs.as_bytes()).unwrap()).unwrap();
        assert_eq!(out, "libmariadb 3 libmariadb3 (>= 1:10.11.19)\n\n");
    }
}
