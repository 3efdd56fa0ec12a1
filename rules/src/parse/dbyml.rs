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
use crate::facts::{DatabaseYml, DbEnvironment, YmlValue};

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
        for field in fields {
            let key = normalize_key(&field.key);
            let Some(value) = self.value(&field.value) else {
                continue;
            };
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
        let trilogy = env
            .adapter
            .as_ref()
            .is_some_and(|a| !a.erb && a.value.eq_ignore_ascii_case("trilogy"));
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
            }
        }
    }
}

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
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/../fixtures/parsers/dbyml/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn parse(name: &str) -> DatabaseYml {
        parse_database_yml(name, &fixture(name)).unwrap()
    }

    fn parse_text(text: &str) -> DatabaseYml {
        parse_database_yml("database.yml", text).unwrap()
    }

    fn error(text: &str) -> YmlError {
        parse_database_yml("database.yml", text).unwrap_err()
    }

    fn env<'a>(yml: &'a DatabaseYml, name: &str) -> &'a DbEnvironment {
        yml.environments
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("no environment {name} in {yml:#?}"))
    }

    fn val(value: &str, line: u32) -> Option<YmlValue> {
        Some(YmlValue {
            value: value.to_string(),
            line,
            erb: false,
        })
    }

    fn erb(value: &str, line: u32) -> Option<YmlValue> {
        Some(YmlValue {
            value: value.to_string(),
            line,
            erb: true,
        })
    }

    #[test]
    fn realistic_rails_file() {
        let yml = parse("rails-app.yml");
        assert_eq!(yml.path, "rails-app.yml");
        let names: Vec<(&str, u32)> = yml
            .environments
            .iter()
            .map(|e| (e.name.as_str(), e.line))
            .collect();
        assert_eq!(
            names,
            [
                ("default", 6),
                ("development", 15),
                ("test", 21),
                ("production", 27)
            ]
        );

        let dev = env(&yml, "development");
        assert_eq!(dev.adapter, val("mysql2", 7), "merged from the anchor");
        assert_eq!(dev.username, val("deploy", 10));
        assert_eq!(dev.port, val("3306", 13), "an int becomes a string");
        assert_eq!(
            dev.host,
            val("localhost", 18),
            "explicit key overrides the merge"
        );
        assert_eq!(dev.database, val("shop_development", 17));

        let test = env(&yml, "test");
        assert_eq!(
            test.database,
            erb("shop_test<%= ENV['TEST_ENV_NUMBER'] %>", 23)
        );
        assert_eq!(test.socket, val("/var/run/mysqld/mysqld.sock", 24));

        let prod = env(&yml, "production");
        assert_eq!(
            prod.host,
            erb(r#"<%= ENV.fetch("DB_HOST") { "db-master" } %>"#, 12)
        );
        assert!(prod.is_mysql());
        assert_eq!(prod.database, val("shop_production", 29));
        assert_eq!(prod.sslca, val("/home/deploy/.mysql/root.crt", 30));
        assert_eq!(prod.sslkey, val("/home/deploy/.mysql/mysql.key", 31));
        assert_eq!(prod.sslcert, val("/home/deploy/.mysql/mysql.crt", 32));
        assert_eq!(prod.sslverify, val("true", 33));
        // Written inside `<% if ENV['DB_SSL_CIPHER'] %>`: may not apply.
        assert_eq!(prod.sslcipher, erb("<%= ENV['DB_SSL_CIPHER'] %>", 35));
        assert_eq!(prod.ssl_mode, erb("VERIFY_IDENTITY", 36));
        assert_eq!(prod.url, None);

        let shown = format!("{yml:?}");
        for secret in ["devsecret", "DB_PASSWORD", "password"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }

    #[test]
    fn multi_database_environments_are_flattened() {
        let yml = parse("multi-db.yml");
        let names: Vec<(&str, u32)> = yml
            .environments
            .iter()
            .map(|e| (e.name.as_str(), e.line))
            .collect();
        assert_eq!(
            names,
            [
                ("default", 1),
                ("production.primary", 8),
                ("production.primary_replica", 13),
                ("production.animals", 18)
            ]
        );
        let primary = env(&yml, "production.primary");
        assert_eq!(primary.adapter, val("trilogy", 2));
        assert_eq!(primary.host, val("db-master.internal", 11));
        assert_eq!(primary.ssl_mode, val("REQUIRED", 12));
        assert_eq!(
            primary.sslca,
            val("/etc/mysql/ca.pem", 5),
            "trilogy's ssl_ca"
        );
        assert_eq!(
            env(&yml, "production.primary_replica").host,
            val("db-replica.internal", 16)
        );
        let animals = env(&yml, "production.animals");
        assert_eq!(animals.adapter, val("mysql2", 19));
        assert_eq!(animals.sslca, val("/etc/mysql/animals-ca.pem", 22));
        assert!(!format!("{yml:?}").contains("redacted"));
    }

    #[test]
    fn url_is_folded_in_and_its_password_dropped() {
        let yml = parse("url.yml");
        let prod = env(&yml, "production");
        assert_eq!(
            prod.url,
            val(
                "mysql2://deploy:<redacted>@db.internal:3307/shop?sslca=/etc/mysql/root.crt&password=<redacted>&sslverify=true",
                5
            )
        );
        // Rails merges the URL's values over the explicit keys.
        assert_eq!(prod.host, val("db.internal", 5));
        assert_eq!(prod.adapter, val("mysql2", 5));
        assert_eq!(prod.port, val("3307", 5));
        assert_eq!(prod.username, val("deploy", 5));
        assert_eq!(prod.database, val("shop", 5));
        assert_eq!(prod.sslca, val("/etc/mysql/root.crt", 5));
        assert_eq!(prod.sslverify, val("true", 5));
        assert_eq!(prod.sslcert, val("/home/deploy/.mysql/mysql.crt", 4));

        let staging = env(&yml, "staging");
        assert_eq!(staging.url, erb("<%= ENV['DATABASE_URL'] %>", 8));
        assert_eq!(staging.host, None);

        let replica = env(&yml, "replica");
        assert_eq!(
            replica.url,
            val("mysql2://repl:<redacted>@[fd00::10]/shop", 11)
        );
        assert_eq!(replica.host, val("fd00::10", 11));
        assert_eq!(replica.username, val("repl", 11));

        let shown = format!("{yml:?}");
        for secret in ["S3cr3t", "Pa55", "Query-S3cret", "REPL_PASSWORD"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }

    #[test]
    fn url_forms() {
        let yml = parse_text(
            "a:\n  url: mysql2://db.example/shop\n\
             b:\n  url: trilogy:///shop?socket=/tmp/mysql.sock&ssl_mode=DISABLED\n\
             c:\n  url: mysql2:shop\n\
             d:\n  url: jdbc:mysql://u:pw@h/db\n\
             e:\n  url: mysql2://u:p%40ss@h:3306\n\
             f:\n  url: mysql2:u:pw@db\n",
        );
        let a = env(&yml, "a");
        assert_eq!(
            (a.host.clone(), a.port.clone()),
            (val("db.example", 2), None)
        );
        let b = env(&yml, "b");
        assert_eq!(b.adapter, val("trilogy", 4));
        assert_eq!(b.host, None);
        assert_eq!(b.socket, val("/tmp/mysql.sock", 4));
        assert_eq!(b.ssl_mode, val("DISABLED", 4));
        assert_eq!(env(&yml, "c").database, val("shop", 6));
        let d = env(&yml, "d");
        assert_eq!(
            d.url,
            val("jdbc:mysql://u:<redacted>@h/db", 8),
            "not parsed, still redacted"
        );
        assert_eq!(d.host, None);
        let e = env(&yml, "e");
        assert_eq!(e.url, val("mysql2://u:<redacted>@h:3306", 10));
        let f = env(&yml, "f");
        assert_eq!(f.url, val("mysql2:u:<redacted>@db", 12));
        assert_eq!(
            f.database,
            val("u:<redacted>@db", 12),
            "opaque, still redacted"
        );
        let shown = format!("{yml:?}");
        assert!(!shown.contains("ss@") && !shown.contains("pw@"), "{shown}");
    }

    #[test]
    fn oversized_file_is_refused() {
        let text = format!(
            "production:\n  adapter: mysql2\n{}",
            "# pad\n".repeat(200_000)
        );
        assert!(text.len() > MAX_INPUT_BYTES);
        let err = error(&text);
        assert_eq!(err.line, 1);
        assert_eq!(
            err.message,
            format!("file is {} bytes, over the 1048576-byte limit", text.len())
        );
    }

    #[test]
    fn alias_bomb_is_refused() {
        let err = parse_database_yml("bomb.yml", &fixture("alias-bomb.yml")).unwrap_err();
        assert_eq!(err.path, "bomb.yml");
        assert_eq!(err.line, 7);
        assert!(err.message.contains("alias bomb"), "{err}");
    }

    #[test]
    fn malformed_yaml_reports_the_file_line() {
        // A three-line ERB tag sits above the error: lines must not shift.
        let err = parse_database_yml("malformed.yml", &fixture("malformed.yml")).unwrap_err();
        assert_eq!(err.line, 10, "{err}");
        assert!(err.to_string().starts_with("malformed.yml:10: "), "{err}");
    }

    #[test]
    fn top_level_must_be_a_mapping() {
        let err = parse_database_yml("list.yml", &fixture("not-a-mapping.yml")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "list.yml:2: the top level is a sequence, expected a mapping of environments"
        );
        assert!(
            error("just a string\n")
                .message
                .contains("top level is a scalar")
        );
        assert_eq!(
            error("# nothing\n").message,
            "the document is empty, expected a mapping of environments"
        );
    }

    #[test]
    fn erb_tags_of_every_kind() {
        let yml = parse_text(
            "<%# a comment\n   over two lines %>\n\
             production:\n\
             <%- if true -%>\n  host: a\n<%- else -%>\n  host: b\n<%- end -%>\n\
             \x20 port: <%= 3306 -%>\n\
             \x20 database: \"<%= ENV.fetch('DB') {\n    'shop'\n  } %>\" # three lines\n\
             \x20 username: app\n\
             \x20 sslcipher: '<%%= not a tag'\n",
        );
        let prod = env(&yml, "production");
        assert_eq!(prod.line, 3);
        // Both branches are visible; Psych keeps the last, and it is flagged.
        assert_eq!(prod.host, erb("b", 7));
        assert_eq!(prod.port, erb("<%= 3306 -%>", 9));
        assert_eq!(
            prod.database,
            erb("<%= ENV.fetch('DB') {\n    'shop'\n  } %>", 10)
        );
        assert_eq!(
            prod.username,
            val("app", 13),
            "line kept after a multi-line tag"
        );
        assert_eq!(prod.sslcipher, val("<%= not a tag", 14));

        let err = error("production:\n  host: <%= ENV['X']\n");
        assert_eq!(
            (err.line, err.message.as_str()),
            (2, "ERB tag `<%` is never closed by `%>`")
        );
    }

    #[test]
    fn merge_keys_follow_psych() {
        let yml = parse_text(
            "base: &base\n  host: base-host\n  port: 1\n\
             tls: &tls\n  host: tls-host\n  sslca: /ca.pem\n\
             list: &list\n  <<: [*tls, *base]\n  port: 2\n\
             before:\n  host: mine\n  <<: *base\n\
             inline:\n  <<: {host: inline-host, sslkey: /k}\n\
             nested:\n  <<: *list\n  database: d\n",
        );
        let list = env(&yml, "list");
        assert_eq!(
            list.host,
            val("tls-host", 5),
            "earlier mapping of the list wins"
        );
        assert_eq!(list.sslca, val("/ca.pem", 6));
        assert_eq!(list.port, val("2", 9));
        // Psych's merge! overwrites keys written before the `<<`.
        assert_eq!(env(&yml, "before").host, val("base-host", 2));
        let inline = env(&yml, "inline");
        assert_eq!(inline.host, val("inline-host", 14));
        assert_eq!(inline.sslkey, val("/k", 14));
        let nested = env(&yml, "nested");
        assert_eq!(nested.host, val("tls-host", 5));
        assert_eq!(nested.port, val("2", 9));
        assert_eq!(nested.database, val("d", 17));
    }

    #[test]
    fn scalars_nulls_keys_and_aliases() {
        let yml = parse_text(
            "production:\n  adapter: mysql2\n  host: ~\n  socket:\n  port: !!str 3306\n\
             \x20 sslverify: yes\n  :sslca: /sym.pem\n  user: legacy\n  hostname: h\n\
             \x20 database: \"\"\n  ssl_ca: /not-for-mysql2.pem\n  sslkey: &k /k.pem\n  sslcert: *k\n\
             \x20 ? [complex, key]\n  : ignored\n\
             scalar_env: hello\n\
             list_env: [1, 2]\n",
        );
        assert_eq!(yml.environments.len(), 1);
        let prod = env(&yml, "production");
        // A null host lets mysql2 fall back to `hostname`.
        assert_eq!(
            (prod.host.clone(), prod.socket.clone()),
            (val("h", 9), None)
        );
        assert_eq!(prod.port, val("3306", 5));
        assert_eq!(prod.sslverify, val("yes", 6));
        assert_eq!(prod.sslca, val("/sym.pem", 7), "symbol keys");
        assert_eq!(prod.username, val("legacy", 8), "mysql2 reads user");
        assert_eq!(prod.database, val("", 10));
        assert_eq!(prod.sslkey, val("/k.pem", 12));
        assert_eq!(
            prod.sslcert,
            val("/k.pem", 12),
            "an alias keeps the anchor's line"
        );

        let yml = parse_text("production:\n  hostname: h\n  host: real\n");
        assert_eq!(env(&yml, "production").host, val("real", 3));
    }

    #[test]
    fn only_the_first_document_is_read() {
        let yml = parse_text("---\na:\n  host: one\n...\n---\nb:\n  host: two\n");
        assert_eq!(yml.environments.len(), 1);
        assert_eq!(env(&yml, "a").host, val("one", 3));
    }

    #[test]
    fn crlf_and_bom() {
        let yml = parse_text("\u{feff}production:\r\n  host: <%= h %>\r\n  port: 3306\r\n");
        let prod = env(&yml, "production");
        assert_eq!(prod.host, erb("<%= h %>", 2));
        assert_eq!(prod.port, val("3306", 3));
    }

    #[test]
    fn damaged_inputs_never_panic() {
        for name in ["rails-app.yml", "multi-db.yml", "url.yml", "malformed.yml"] {
            let text = fixture(name);
            for (end, _) in text.char_indices() {
                let _ = parse_database_yml(name, &text[..end]);
            }
        }
    }
}
