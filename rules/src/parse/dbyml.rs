//! Rails `config/database.yml` to [`DatabaseYml`] facts.
//!
//! The file is ERB before it is YAML. Output tags (`<%= ENV['DB_HOST'] %>`)
//! become opaque placeholders so the YAML parses, and the values holding them
//! are reported with `erb = true` and the original tag text; control tags
//! (`<% if ... %>`) and comments (`<%# %>`) are dropped, and values written
//! inside a control block are flagged `erb` too (they may not apply at run
//! time). Every newline is kept, so lines in facts and errors are the file's.
//!
//! The YAML is read from `saphyr-parser` events (for the line of every
//! value) into a small tree; anchors, aliases and `<<` merge keys are
//! resolved the way Psych (Rails' YAML loader) does: a merge overwrites the
//! keys written before it, keys written after it win, and in `<<: [*a, *b]`
//! the earlier mapping wins. Alias expansion is capped against "billion
//! laughs" documents.
//!
//! Passwords are never kept: `password` keys are not read, and `url:` is
//! stored with its password removed.

use std::collections::HashMap;
use std::rc::Rc;

use super::yaml::{Entry as YamlEntry, Limits, Node, parse_first_document};
use crate::facts::{DatabaseYml, DbEnvironment, YmlKey, YmlValue};

/// Largest database.yml read ([`super::limits`]).
pub const MAX_INPUT_BYTES: usize = super::limits::DATABASE_YML_BYTES;
/// Most YAML nodes that aliases may add (each alias adds the size of what it
/// names). Nodes written out in the text are bounded by [`MAX_INPUT_BYTES`].
pub const MAX_EXPANDED_NODES: usize = super::limits::YAML_EXPANDED_NODES;
/// Deepest nesting of collections, aliases expanded.
pub const MAX_DEPTH: usize = super::limits::YAML_DEPTH;

/// Keys that make a mapping a database configuration rather than a group of
/// them (Rails' multi-database `production: { primary: {...}, ... }`).
const CONFIG_KEYS: [&str; 7] = [
    "adapter", "host", "database", "url", "username", "socket", "port",
];

const PLACEHOLDER_PREFIX: &str = "__sslaudit_erb_";
const PLACEHOLDER_SUFFIX: &str = "__";

/// Why a database.yml could not be read: file, 1-based line and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}: {message}")]
pub struct YmlError {
    pub path: String,
    pub line: u32,
    pub message: String,
}

/// Parses a Rails database.yml: every top-level key whose value is a mapping
/// is an environment (`default` included); a mapping with no connection keys
/// whose values are mappings is Rails' multi-database form and yields
/// `production.primary`, `production.replica`...
///
/// Scalars of any YAML type become strings as written (`3306`, `true`); a
/// null (`~`, `null`, empty) leaves the field unset. Besides the mysql2
/// spellings, mysql2's aliases `user`, `hostname`, `dbname`/`db` are read,
/// and with `adapter: trilogy` its `ssl_ca`, `ssl_cert`, `ssl_key`,
/// `ssl_capath`, `ssl_cipher`. Values from `url:` override the explicit
/// keys, as in Rails (`UrlConfig` merges the URL's hash over the rest).
pub fn parse_database_yml(path: &str, text: &str) -> Result<DatabaseYml, YmlError> {
    let err = |line: u32, message: String| YmlError {
        path: path.to_string(),
        line,
        message,
    };
    if text.len() > MAX_INPUT_BYTES {
        return Err(err(
            1,
            format!(
                "file is {} bytes, over the {MAX_INPUT_BYTES}-byte limit",
                text.len()
            ),
        ));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let erb = preprocess_erb(text).map_err(|(line, message)| err(line, message))?;
    let root = build_tree(&erb.yaml).map_err(|(line, message)| err(line, message))?;
    let Some(root) = root else {
        return Err(err(
            1,
            "the document is empty, expected a mapping of environments".to_string(),
        ));
    };
    if !matches!(*root, Node::Map { .. }) {
        return Err(err(
            root.line(),
            format!(
                "the top level is a {}, expected a mapping of environments",
                root.kind()
            ),
        ));
    }
    let ctx = Ctx { erb: &erb };
    let mut environments = Vec::new();
    for entry in resolve_map(&root, 0).map_err(|(line, message)| err(line, message))? {
        if !matches!(*entry.value, Node::Map { .. }) {
            continue;
        }
        let fields = resolve_map(&entry.value, 1).map_err(|(line, message)| err(line, message))?;
        let name = ctx.restore(&entry.key).0;
        if is_database_group(&fields) {
            for child in &fields {
                if !matches!(*child.value, Node::Map { .. }) {
                    continue;
                }
                let child_fields =
                    resolve_map(&child.value, 2).map_err(|(line, message)| err(line, message))?;
                let child_name = format!("{name}.{}", ctx.restore(&child.key).0);
                environments.push(ctx.environment(child_name, child.key_line, &child_fields));
            }
        } else {
            environments.push(ctx.environment(name, entry.key_line, &fields));
        }
    }
    Ok(DatabaseYml {
        path: path.to_string(),
        environments,
        gemfile_lock: None,
    })
}

fn is_database_group(fields: &[Entry]) -> bool {
    !fields
        .iter()
        .any(|f| CONFIG_KEYS.contains(&normalize_key(&f.key)))
        && fields.iter().any(|f| matches!(*f.value, Node::Map { .. }))
}

/// Rails symbolizes keys, so `:host:` is `host`.
fn normalize_key(key: &str) -> &str {
    key.strip_prefix(':').unwrap_or(key)
}

// --- ERB ----------------------------------------------------------------------

struct Erb {
    /// The YAML with output tags replaced by placeholders.
    yaml: String,
    /// Original text of each output tag, by placeholder number.
    tags: Vec<String>,
    /// Per line (0-based): YAML content written inside an ERB control block.
    conditional: Vec<bool>,
}

type Failure = (u32, String);

fn preprocess_erb(src: &str) -> Result<Erb, Failure> {
    let mut out = Erb {
        yaml: String::with_capacity(src.len()),
        tags: Vec::new(),
        conditional: vec![false],
    };
    let mut pending_newlines = 0usize;
    let mut depth = 0usize;
    let mut src_line: u32 = 1;
    let mut rest = src;
    loop {
        let Some(pos) = rest.find("<%") else {
            copy_text(&mut out, rest, depth, &mut pending_newlines);
            break;
        };
        let before = &rest[..pos];
        copy_text(&mut out, before, depth, &mut pending_newlines);
        src_line += count_newlines(before);
        let after = &rest[pos + 2..];
        if let Some(literal) = after.strip_prefix('%') {
            // `<%%` is ERB's escape for a literal `<%`.
            copy_text(&mut out, "<%", depth, &mut pending_newlines);
            rest = literal;
            continue;
        }
        let Some(end) = after.find("%>") else {
            return Err((src_line, "ERB tag `<%` is never closed by `%>`".to_string()));
        };
        let inner = &after[..end];
        let tag = &rest[pos..pos + 2 + end + 2];
        if inner.starts_with('=') {
            out.yaml.push_str(&placeholder(out.tags.len()));
            out.tags.push(tag.to_string());
        } else if !inner.starts_with('#') {
            // `<% code %>` or `<%- code -%>`: no output.
            let code = inner.trim_start_matches('-').trim_end_matches('-').trim();
            depth = match block_change(code) {
                BlockChange::Open => depth + 1,
                BlockChange::Close => depth.saturating_sub(1),
                BlockChange::None => depth,
            };
        }
        let newlines = count_newlines(inner);
        src_line += newlines;
        // The tag's own newlines are put back after the end of its line, so
        // what follows the tag stays on the tag's line and every later line
        // keeps its number.
        pending_newlines += newlines as usize;
        rest = &after[end + 2..];
    }
    for _ in 0..pending_newlines {
        out.yaml.push('\n');
    }
    Ok(out)
}

fn count_newlines(s: &str) -> u32 {
    u32::try_from(s.bytes().filter(|b| *b == b'\n').count()).unwrap_or(u32::MAX)
}

fn copy_text(out: &mut Erb, text: &str, depth: usize, pending_newlines: &mut usize) {
    for c in text.chars() {
        out.yaml.push(c);
        if c == '\n' {
            out.conditional.push(false);
            for _ in 0..*pending_newlines {
                out.yaml.push('\n');
                out.conditional.push(false);
            }
            *pending_newlines = 0;
        } else if depth > 0 && !c.is_whitespace() {
            if let Some(line) = out.conditional.last_mut() {
                *line = true;
            }
        }
    }
}

fn placeholder(n: usize) -> String {
    format!("{PLACEHOLDER_PREFIX}{n}{PLACEHOLDER_SUFFIX}")
}

enum BlockChange {
    Open,
    Close,
    None,
}

/// Whether a Ruby code tag opens or closes a block (`if`, `unless`, `case`,
/// loops, `do`, `{`) or ends one (`end`, `}`). A heuristic: enough for the
/// conditionals database.yml files use.
fn block_change(code: &str) -> BlockChange {
    let words: Vec<&str> = code
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '?' || c == '!'))
        .filter(|w| !w.is_empty())
        .collect();
    let first = words.first().copied().unwrap_or("");
    if first == "end" || code.starts_with('}') {
        return BlockChange::Close;
    }
    let opens_keyword = matches!(
        first,
        "if" | "unless" | "case" | "while" | "until" | "for" | "begin"
    );
    // `<% if x then y end %>` opens and closes on one line.
    if opens_keyword && !words[1..].contains(&"end") {
        return BlockChange::Open;
    }
    let tail = match code.rfind('|') {
        // `do |x|` and `{ |x|`: look before the block parameters.
        Some(close) if code.trim_end().ends_with('|') => match code[..close].rfind('|') {
            Some(open) => code[..open].trim_end(),
            None => code,
        },
        _ => code.trim_end(),
    };
    if tail.ends_with('{') || tail.ends_with(" do") || tail == "do" {
        return BlockChange::Open;
    }
    BlockChange::None
}

// --- YAML tree -------------------------------------------------------------------

const LIMITS: Limits = Limits {
    max_expanded_nodes: MAX_EXPANDED_NODES,
    max_depth: MAX_DEPTH,
};

/// The first document of the stream (what Psych's `load` reads), or `None`
/// for an empty stream.
fn build_tree(yaml: &str) -> Result<Option<Rc<Node>>, Failure> {
    parse_first_document(yaml, &LIMITS).map_err(|e| (e.line, e.message))
}

// --- Mappings with merge keys --------------------------------------------------------

struct Entry {
    /// Key text (placeholders not yet restored).
    key: String,
    key_line: u32,
    value: Rc<Node>,
}

/// Ruby Hash semantics: a key set again keeps its first position, takes the
/// new value.
#[derive(Default)]
struct OrderedMap {
    entries: Vec<Entry>,
    index: HashMap<String, usize>,
}

impl OrderedMap {
    fn insert(&mut self, entry: Entry) {
        match self.index.get(&entry.key) {
            Some(&i) => self.entries[i] = entry,
            None => {
                self.index.insert(entry.key.clone(), self.entries.len());
                self.entries.push(entry);
            }
        }
    }

    fn merge(&mut self, other: Vec<Entry>) {
        for entry in other {
            self.insert(entry);
        }
    }
}

/// The entries of a mapping with `<<` merges applied as Psych applies them.
/// Keys that are not scalars (`? [a, b]`) are skipped: Rails has no use for
/// them.
fn resolve_map(node: &Node, depth: usize) -> Result<Vec<Entry>, Failure> {
    let Node::Map { entries, .. } = node else {
        return Ok(Vec::new());
    };
    if depth > MAX_DEPTH {
        return Err((
            node.line(),
            format!("merge keys nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    let mut map = OrderedMap::default();
    for YamlEntry { key, value, .. } in entries {
        let Node::Scalar {
            text,
            line: key_line,
            ..
        } = &**key
        else {
            continue;
        };
        let plain_entry = || Entry {
            key: text.clone(),
            key_line: *key_line,
            value: Rc::clone(value),
        };
        if text != "<<" {
            map.insert(plain_entry());
            continue;
        }
        match &**value {
            Node::Map { .. } => map.merge(resolve_map(value, depth + 1)?),
            Node::Seq { items, .. } if items.iter().all(|i| matches!(**i, Node::Map { .. })) => {
                // Earlier mappings of the list win over later ones.
                let mut merged = OrderedMap::default();
                for item in items.iter().rev() {
                    merged.merge(resolve_map(item, depth + 1)?);
                }
                map.merge(merged.entries);
            }
            // Psych keeps a `<<` it cannot merge as an ordinary key.
            _ => map.insert(plain_entry()),
        }
    }
    Ok(map.entries)
}

// --- Environments ----------------------------------------------------------------

struct Ctx<'a> {
    erb: &'a Erb,
}

impl Ctx<'_> {
    /// The text with each placeholder replaced by its ERB tag, and whether
    /// there was any.
    fn restore(&self, text: &str) -> (String, bool) {
        if !text.contains(PLACEHOLDER_PREFIX) {
            return (text.to_string(), false);
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        let mut found = false;
        while let Some(pos) = rest.find(PLACEHOLDER_PREFIX) {
            out.push_str(&rest[..pos]);
            let after = &rest[pos + PLACEHOLDER_PREFIX.len()..];
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            let tag = after[..digits]
                .parse::<usize>()
                .ok()
                .filter(|_| after[digits..].starts_with(PLACEHOLDER_SUFFIX))
                .and_then(|n| self.erb.tags.get(n));
            match tag {
                Some(tag) => {
                    out.push_str(tag);
                    found = true;
                    rest = &after[digits + PLACEHOLDER_SUFFIX.len()..];
                }
                None => {
                    out.push_str(PLACEHOLDER_PREFIX);
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        (out, found)
    }

    fn is_conditional(&self, line: u32) -> bool {
        let index = usize::try_from(line).unwrap_or(usize::MAX).wrapping_sub(1);
        self.erb.conditional.get(index).copied().unwrap_or(false)
    }

    /// A scalar as a fact; `None` for a YAML null or a non-scalar.
    fn value(&self, node: &Node) -> Option<YmlValue> {
        let Node::Scalar { text, line, .. } = node else {
            return None;
        };
        if node.is_null() {
            return None;
        }
        let (value, has_erb) = self.restore(text);
        // A URL with a password in any value keeps no password, as the
        // snapshot redactor writes it.
        Some(YmlValue {
            value: crate::secrets::strip_url_password(&value).into_owned(),
            line: *line,
            erb: has_erb || self.is_conditional(*line),
        })
    }

    fn environment(&self, name: String, line: u32, fields: &[Entry]) -> DbEnvironment {
        let mut env = DbEnvironment {
            name,
            line,
            ..DbEnvironment::default()
        };
        let mut aliases: HashMap<&str, YmlValue> = HashMap::new();
        let mut raw_url: Option<(String, YmlValue)> = None;
        let trilogy = fields.iter().any(|f| {
            normalize_key(&f.key) == "adapter"
                && self
                    .value(&f.value)
                    .is_some_and(|a| !a.erb && a.value.trim().eq_ignore_ascii_case("trilogy"))
        });
        for field in fields {
            let key = normalize_key(&field.key);
            if looks_like_tls_key(key) {
                env.keys.push(YmlKey {
                    name: self.restore(key).0,
                    line: field.key_line,
                });
            }
            let Some(value) = self.value(&field.value) else {
                continue;
            };
            // Rails' Trilogy adapter hands the options to the trilogy gem,
            // which reads `ssl_ca`, never mysql2's `sslca`.
            if trilogy && TRILOGY_UNREAD.contains(&key) {
                continue;
            }
            if key == "url" {
                if let Node::Scalar { text, .. } = &*field.value {
                    raw_url = Some((text.clone(), value));
                }
                continue;
            }
            match slot(&mut env, key) {
                Some(slot) => *slot = Some(value),
                None => {
                    if matches!(
                        key,
                        "user"
                            | "hostname"
                            | "dbname"
                            | "db"
                            | "ssl_ca"
                            | "ssl_cert"
                            | "ssl_key"
                            | "ssl_capath"
                            | "ssl_cipher"
                    ) {
                        aliases.insert(key, value);
                    }
                }
            }
        }
        let mut fallbacks = vec![
            ("user", "username"),
            ("hostname", "host"),
            ("dbname", "database"),
            ("db", "database"),
        ];
        if trilogy {
            fallbacks.extend([
                ("ssl_ca", "sslca"),
                ("ssl_cert", "sslcert"),
                ("ssl_key", "sslkey"),
                ("ssl_capath", "sslcapath"),
                ("ssl_cipher", "sslcipher"),
            ]);
        }
        for (alias, field) in fallbacks {
            if let (Some(value), Some(slot)) = (aliases.get(alias), slot(&mut env, field)) {
                if slot.is_none() {
                    *slot = Some(value.clone());
                }
            }
        }
        if let Some((raw, value)) = raw_url {
            self.fold_url(&mut env, &raw, value);
        }
        env
    }

    /// Stores the URL without its password and lays its parts over the
    /// explicit keys, as Rails does.
    fn fold_url(&self, env: &mut DbEnvironment, raw: &str, value: YmlValue) {
        let conditional = self.is_conditional(value.line);
        let at = |text: &str| {
            let (text, has_erb) = self.restore(text);
            YmlValue {
                value: text,
                line: value.line,
                erb: has_erb || conditional,
            }
        };
        // Read as the snapshot redactor leaves it (URL passwords out), so a
        // redacted file yields the same facts.
        let raw = crate::secrets::strip_url_password(raw);
        let raw = raw.as_ref();
        let parsed = parse_url(raw);
        let sanitized = match &parsed {
            Some(url) => url.sanitized.clone(),
            None => without_passwords(raw),
        };
        // A URL inside a part (a query value, an opaque path) keeps no
        // password either, as the snapshot redactor writes it.
        env.url = Some(at(&crate::secrets::strip_url_password(&sanitized)));
        let Some(url) = parsed else {
            return;
        };
        for (key, part) in url.fields {
            if let Some(slot) = slot(env, key) {
                *slot = Some(at(&without_passwords(&part)));
                if !env.url_fields.iter().any(|f| f == key) {
                    env.url_fields.push(key.to_string());
                }
            }
        }
    }
}

/// A key that reads as a TLS setting (`ssl...`, `tls...`, any case): the
/// ones [`DbEnvironment::keys`] keeps.
pub fn looks_like_tls_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.starts_with("ssl") || k.starts_with("tls")
}

/// mysql2's spellings, which the trilogy gem does not read (it has its
/// own: `ssl_ca`, `ssl_cert`...).
const TRILOGY_UNREAD: [&str; 6] = [
    "sslca",
    "sslkey",
    "sslcert",
    "sslcapath",
    "sslcipher",
    "sslverify",
];

fn slot<'e>(env: &'e mut DbEnvironment, key: &str) -> Option<&'e mut Option<YmlValue>> {
    Some(match key {
        "adapter" => &mut env.adapter,
        "host" => &mut env.host,
        "port" => &mut env.port,
        "socket" => &mut env.socket,
        "username" => &mut env.username,
        "database" => &mut env.database,
        "sslca" => &mut env.sslca,
        "sslkey" => &mut env.sslkey,
        "sslcert" => &mut env.sslcert,
        "sslcapath" => &mut env.sslcapath,
        "sslcipher" => &mut env.sslcipher,
        "ssl_mode" => &mut env.ssl_mode,
        "sslverify" => &mut env.sslverify,
        _ => return None,
    })
}

// --- URL ------------------------------------------------------------------------------

struct ParsedUrl {
    /// The URL as written, minus any password.
    sanitized: String,
    /// (field, value) in increasing precedence: authority parts, then query
    /// parameters (Rails' `query_hash.reverse_merge(...)`).
    fields: Vec<(&'static str, String)>,
}

/// Text that is not a parsed URL, without what reads as a password: every
/// embedded `scheme://user:secret@` and a trailing `user:secret@`.
fn without_passwords(text: &str) -> String {
    crate::secrets::strip_userinfo_password(&crate::secrets::strip_url_password(text)).into_owned()
}

/// `scheme://user:password@host:port/database?key=value&...` as Rails'
/// `ConnectionUrlResolver` reads it. `None` for what Rails passes through
/// unparsed (`jdbc:`, `http(s):`) or what is not a URL (a bare ERB tag).
fn parse_url(raw: &str) -> Option<ParsedUrl> {
    let trimmed = raw.trim();
    let (scheme, rest) = trimmed.split_once(':')?;
    let valid_scheme = !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.' | '_'));
    if !valid_scheme || matches!(scheme, "jdbc" | "http" | "https") {
        return None;
    }
    let mut fields: Vec<(&'static str, String)> = vec![("adapter", scheme.replace('-', "_"))];
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let before_query = before_query.split('#').next().unwrap_or("");
    let mut sanitized = format!("{scheme}:");
    if let Some(hierarchical) = before_query.strip_prefix("//") {
        let (authority, path) = match hierarchical.find('/') {
            Some(i) => hierarchical.split_at(i),
            None => (hierarchical, ""),
        };
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        sanitized.push_str("//");
        if let Some(userinfo) = userinfo {
            let (user, password) = match userinfo.split_once(':') {
                Some((user, _)) => (user, true),
                None => (userinfo, false),
            };
            if !user.is_empty() {
                fields.push(("username", percent_decode(user)));
            }
            sanitized.push_str(user);
            if password {
                sanitized.push(':');
                sanitized.push_str(crate::secrets::MARKER);
            }
            sanitized.push('@');
        }
        sanitized.push_str(hostport);
        sanitized.push_str(path);
        let (host, port) = split_host_port(hostport);
        if !host.is_empty() {
            fields.push(("host", percent_decode(host)));
        }
        if let Some(port) = port.filter(|p| !p.is_empty()) {
            fields.push(("port", port.to_string()));
        }
        let database = path.trim_start_matches('/');
        if !database.is_empty() {
            fields.push(("database", percent_decode(database)));
        }
    } else {
        // `mysql2:shop`: an opaque URL names the database. What reads as
        // `user:secret@` in it is withheld there too.
        let opaque = without_passwords(before_query);
        if !opaque.is_empty() {
            fields.push(("database", percent_decode(&opaque)));
        }
        sanitized.push_str(&opaque);
    }
    if let Some(query) = query {
        let query = query.split('#').next().unwrap_or("");
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = percent_decode(key);
            if crate::secrets::is_secret_name(&key) {
                kept.push(format!(
                    "{}={}",
                    pair.split('=').next().unwrap_or(""),
                    crate::secrets::MARKER
                ));
                continue;
            }
            kept.push(pair.to_string());
            if let Some(field) = CONFIG_FIELDS.iter().find(|f| **f == key) {
                let value = percent_decode(value);
                if !value.is_empty() {
                    fields.push((field, value));
                }
            }
        }
        if !kept.is_empty() {
            sanitized.push('?');
            sanitized.push_str(&kept.join("&"));
        }
    }
    Some(ParsedUrl { sanitized, fields })
}

/// Every field of [`DbEnvironment`] a URL query can set.
const CONFIG_FIELDS: [&str; 13] = [
    "adapter",
    "host",
    "port",
    "socket",
    "username",
    "database",
    "sslca",
    "sslkey",
    "sslcert",
    "sslcapath",
    "sslcipher",
    "ssl_mode",
    "sslverify",
];

/// `host:port`, `[::1]:port`, `host`.
fn split_host_port(hostport: &str) -> (&str, Option<&str>) {
    if let Some(v6) = hostport.strip_prefix('[') {
        return match v6.split_once(']') {
            Some((host, rest)) => (host, rest.strip_prefix(':')),
            None => (hostport, None),
        };
    }
    match hostport.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (hostport, None),
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match decoded {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
#[path = "dbyml_tests.rs"]
mod tests;
