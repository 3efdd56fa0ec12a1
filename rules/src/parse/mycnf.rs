//! MySQL/MariaDB option files (`my.cnf` and what it includes), read the way
//! mysys's `search_default_file_with_ext()` reads them, so that the options
//! we report are the ones mysqld really started with.
//!
//! Where mysqld gives up (a fatal error that stops the server from starting)
//! we record a [`CollectionProblem`] and go on, so one bad line does not
//! hide the rest of a host's configuration.

use std::collections::{BTreeMap, BTreeSet};

use super::{FileSource, SourceError};
use crate::facts::{
    CollectionProblem, MysqlVersion, OptionSet, OptionValue, normalize_option_name,
};

use super::limits::{
    OPTION_FILE_BYTES, OPTION_FILES_READ, OPTION_FILES_TOTAL_BYTES, OPTION_INCLUDE_DEPTH,
    OPTION_PROBLEMS_PER_FILE,
};

/// mysys's `max_recursion_level`: directives in a file this deep are skipped.
pub const MAX_INCLUDE_DEPTH: u32 = OPTION_INCLUDE_DEPTH;
/// Larger files are not parsed ([`super::limits::OPTION_FILE_BYTES`]).
pub const MAX_FILE_SIZE: usize = OPTION_FILE_BYTES;
/// Guards against include fan-out (a directory of files that each include
/// the directory again) that stays under the depth limit but explodes.
const MAX_FILES_READ: usize = OPTION_FILES_READ;
/// What a [`CollectionProblem`] of this parser is about.
const WHAT: &str = "option file";
/// Replaces secret values, as in snapshots (docs/snapshot-format.md).
pub const REDACTED: &str = crate::secrets::MARKER;

/// One option line as read, in read order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionEntry {
    /// Lowercase, trimmed group name (`mysqld`, `client-server`).
    pub group: String,
    /// Normalized name (see [`normalize_option_name`]): `ssl_ca`.
    pub name: String,
    /// The name as written: `ssl-ca`, `loose_ssl_ca`.
    pub spelled: String,
    /// `None` for a bare flag (`skip-ssl`); quotes removed and escapes
    /// processed; secrets replaced by [`REDACTED`].
    pub value: Option<String>,
    pub file: String,
    /// 1-based.
    pub line: u32,
}

/// Everything read from a set of option files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedOptions {
    /// Files read, in first-read order, each once (one too large to parse
    /// included: mysqld reads it, and a problem says we did not).
    pub files_read: Vec<String>,
    /// Every option line of every group, in read order (a file included
    /// twice contributes twice, as in mysqld).
    pub entries: Vec<OptionEntry>,
    pub problems: Vec<CollectionProblem>,
}

/// Reads each root in order (missing roots are skipped silently, as mysqld
/// does), following `!include` and `!includedir`.
///
/// Roots must be absolute paths. Two things mysqld does are left to the
/// caller because a [`FileSource`] cannot tell: it ignores world-writable
/// option files, and it resolves `~/` roots to its user's home.
pub fn parse_option_files(roots: &[String], fs: &dyn FileSource) -> ParsedOptions {
    let mut reader = Reader {
        fs,
        out: ParsedOptions::default(),
        stack: Vec::new(),
        reads: 0,
        capped: false,
        bytes: 0,
        over_budget: false,
        per_file: BTreeMap::new(),
    };
    for root in roots {
        match absolute(root) {
            Some(path) => reader.read_file(&path, 0, None),
            None => reader.problem(
                Some(root),
                None,
                format!("option file path {root} is not absolute"),
            ),
        }
    }
    reader.finish()
}

/// Last-value-wins effective options of the given groups (any case), in
/// read order: a later line of any of these groups overrides an earlier one,
/// whichever group each is in, as mysqld's argument list does.
pub fn effective(entries: &[OptionEntry], groups: &[String]) -> OptionSet {
    let wanted: BTreeSet<String> = groups.iter().map(|g| group_key(g)).collect();
    let mut set = OptionSet::default();
    for e in entries.iter().filter(|e| wanted.contains(&e.group)) {
        set.options.insert(
            e.name.clone(),
            OptionValue {
                value: e.value.clone(),
                spelled: e.spelled.clone(),
                group: e.group.clone(),
                file: e.file.clone(),
                line: e.line,
            },
        );
    }
    set
}

/// Groups mysqld reads (`load_default_groups` in sql/mysqld.cc).
///
/// With no version, the unversioned groups of both MySQL and MariaDB are
/// returned and no `mysqld-X.Y`-style group at all: guessing X.Y would
/// either apply options the server ignores or drop ones it reads, and a
/// wrong guess is worse than a known gap in a compliance report.
pub fn server_groups(version: Option<&MysqlVersion>) -> Vec<String> {
    let Some(v) = version else {
        return to_strings(&[
            "mysqld",
            "server",
            "mariadb",
            "mariadbd",
            "client-server",
            "galera",
        ]);
    };
    let xy = format!("{}.{}", v.major, v.minor);
    let mut groups = to_strings(&["mysqld", "server"]);
    groups.push(format!("mysqld-{xy}"));
    if v.is_mariadb() {
        groups.push("mariadb".to_string());
        groups.push(format!("mariadb-{xy}"));
        // The mariadbd name (and its groups) arrived with MariaDB 10.4.6.
        if v.at_least(10, 4, 6) {
            groups.push("mariadbd".to_string());
            groups.push(format!("mariadbd-{xy}"));
        }
        groups.push("client-server".to_string());
        // Debian/RHEL packages are built WITH_WSREP, which adds [galera].
        groups.push("galera".to_string());
    }
    groups
}

/// Groups the mysql command-line client reads (client/mysql.cc).
pub fn client_groups(version: Option<&MysqlVersion>) -> Vec<String> {
    match version {
        None => to_strings(&[
            "mysql",
            "mariadb-client",
            "client",
            "client-server",
            "client-mariadb",
        ]),
        Some(v) if v.is_mariadb() => {
            let mut groups = to_strings(&["mysql"]);
            if v.at_least(10, 4, 6) {
                groups.push("mariadb-client".to_string());
            }
            groups.extend(to_strings(&["client", "client-server", "client-mariadb"]));
            groups
        }
        Some(_) => to_strings(&["mysql", "client"]),
    }
}

fn to_strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// mysqld compares group names case-insensitively (`find_type`).
fn group_key(name: &str) -> String {
    name.trim_matches(is_space).to_ascii_lowercase()
}

/// Where an included file was named: the including file and line, for
/// problems about a target that cannot be read.
struct Origin<'a> {
    file: &'a str,
    line: u32,
    directive: &'a str,
}

enum Group {
    /// No header yet in this file (mysqld keeps the current group per file).
    None,
    Valid(String),
    /// A malformed header: its options belong to no known group.
    Broken,
}

struct Reader<'a> {
    fs: &'a dyn FileSource,
    out: ParsedOptions,
    /// Files being read, outermost first, to detect include cycles.
    stack: Vec<String>,
    reads: usize,
    /// The read limit was hit and reported (once).
    capped: bool,
    /// Bytes parsed so far, every read counted.
    bytes: usize,
    /// The byte budget was hit and reported (once).
    over_budget: bool,
    /// Problems per file: (recorded, left out over the cap).
    per_file: BTreeMap<String, (usize, usize)>,
}

impl Reader<'_> {
    fn problem(&mut self, path: Option<&str>, line: Option<u32>, message: String) {
        if let Some(p) = path {
            let (recorded, left_out) = self.per_file.entry(p.to_string()).or_default();
            if *recorded >= OPTION_PROBLEMS_PER_FILE {
                *left_out += 1;
                return;
            }
            *recorded += 1;
        }
        self.out.problems.push(CollectionProblem {
            what: WHAT.to_string(),
            path: path.map(str::to_string),
            line,
            message,
        });
    }

    /// The result, with one problem per file whose problems went over the cap.
    fn finish(mut self) -> ParsedOptions {
        for (path, (_, left_out)) in std::mem::take(&mut self.per_file) {
            if left_out > 0 {
                self.out.problems.push(CollectionProblem {
                    what: WHAT.to_string(),
                    path: Some(path),
                    line: None,
                    message: format!(
                        "{left_out} more problems in this file not shown (at most \
                         {OPTION_PROBLEMS_PER_FILE} per file)"
                    ),
                });
            }
        }
        self.out
    }

    fn read_file(&mut self, path: &str, depth: u32, origin: Option<Origin<'_>>) {
        if let Some(pos) = self.stack.iter().position(|p| p == path) {
            let mut chain: Vec<&str> = self.stack[pos..].iter().map(String::as_str).collect();
            chain.push(path);
            let (file, line) = match &origin {
                Some(o) => (o.file, Some(o.line)),
                None => (path, None),
            };
            let message = format!("include cycle {} is not followed", chain.join(" -> "));
            self.problem(Some(file), line, message);
            return;
        }
        if self.reads >= MAX_FILES_READ {
            if self.capped {
                return;
            }
            self.capped = true;
            let message = format!(
                "more than {MAX_FILES_READ} option files included, {path} and later ones not read"
            );
            let (file, line) = match &origin {
                Some(o) => (o.file, Some(o.line)),
                None => (path, None),
            };
            self.problem(Some(file), line, message);
            return;
        }
        let bytes = match self.fs.read(path) {
            Ok(b) => b,
            Err(err) => {
                match (&origin, err) {
                    // mysqld silently skips default files that do not exist.
                    (None, SourceError::Missing) => {}
                    (None, SourceError::Unreadable(reason)) => {
                        self.problem(Some(path), None, format!("cannot read {path}: {reason}"));
                    }
                    (Some(o), err) => {
                        // Name the file only when the directive does not.
                        let message = match o.directive.split_once(' ') {
                            Some((_, arg)) if arg == path => format!("{}: {err}", o.directive),
                            _ => format!("{}: {path}: {err}", o.directive),
                        };
                        self.problem(Some(o.file), Some(o.line), message);
                    }
                }
                return;
            }
        };
        self.reads += 1;
        if !self.out.files_read.iter().any(|p| p == path) {
            self.out.files_read.push(path.to_string());
        }
        if bytes.len() > MAX_FILE_SIZE {
            let message = format!(
                "file is {} bytes, over the {MAX_FILE_SIZE}-byte limit for an option file; \
                 not parsed",
                bytes.len()
            );
            self.problem(Some(path), None, message);
            return;
        }
        // mysqld reads lines with fgets and stops each at a NUL: a file with
        // one is binary (or corrupt), not configuration anyone wrote.
        if let Some(at) = bytes.iter().position(|&b| b == 0) {
            let message =
                format!("binary data (a NUL byte at offset {at}), not an option file; not parsed");
            self.problem(Some(path), None, message);
            return;
        }
        if self.bytes.saturating_add(bytes.len()) > OPTION_FILES_TOTAL_BYTES {
            if !self.over_budget {
                self.over_budget = true;
                let message = format!(
                    "option files read reach {OPTION_FILES_TOTAL_BYTES} bytes in all (a file \
                     included many times?); this file and later ones not parsed"
                );
                self.problem(Some(path), None, message);
            }
            return;
        }
        self.bytes += bytes.len();
        self.stack.push(path.to_string());
        self.parse_text(path, &bytes, depth);
        self.stack.pop();
    }

    fn parse_text(&mut self, path: &str, bytes: &[u8], depth: u32) {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut group = Group::None;
        for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
            let line = u32::try_from(index + 1).unwrap_or(u32::MAX);
            let text = String::from_utf8_lossy(raw);
            let ptr = text.trim_start_matches(is_space);
            if ptr.is_empty() || ptr.starts_with('#') || ptr.starts_with(';') {
                continue;
            }
            if let Some(directive) = ptr.strip_prefix('!') {
                self.directive(path, line, directive, depth);
            } else if let Some(header) = ptr.strip_prefix('[') {
                group = self.group_header(path, line, header);
            } else {
                match &group {
                    Group::Valid(g) => {
                        let g = g.clone();
                        self.option(path, line, ptr, &g);
                    }
                    // The malformed header was reported once; its options
                    // would go to a group mysqld never reaches.
                    Group::Broken => {}
                    Group::None => {
                        let name = option_name_of(ptr);
                        self.problem(
                            Some(path),
                            Some(line),
                            format!(
                                "option {name} appears before any [group] header and is ignored \
                                 (mysqld refuses such a file)"
                            ),
                        );
                    }
                }
            }
        }
    }

    /// `!include FILE`, `!includedir DIR`; `rest` follows the `!`.
    fn directive(&mut self, path: &str, line: u32, rest: &str, depth: u32) {
        let shown = format!("!{}", rest.trim_end_matches(is_space));
        if depth >= MAX_INCLUDE_DEPTH {
            let message = format!(
                "{shown} skipped: maximum include depth {MAX_INCLUDE_DEPTH} reached (as mysqld does)"
            );
            self.problem(Some(path), Some(line), message);
            return;
        }
        let rest = rest.trim_start_matches(is_space);
        // mysqld wants whitespace right after the keyword; the line end
        // counts, which is how `!include` alone becomes an error below.
        let (keyword, arg) = if let Some(arg) = keyword_arg(rest, "includedir") {
            ("!includedir", arg)
        } else if let Some(arg) = keyword_arg(rest, "include") {
            ("!include", arg)
        } else {
            self.problem(
                Some(path),
                Some(line),
                format!("unknown directive {shown} ignored"),
            );
            return;
        };
        // Unlike option lines, directives have no trailing comments: the
        // whole rest of the line is the path, as in mysqld.
        let arg = arg.trim_matches(is_space);
        if arg.is_empty() {
            let message = format!("{keyword} without a path (mysqld refuses this file)");
            self.problem(Some(path), Some(line), message);
            return;
        }
        let Some(target) = resolve(path, arg) else {
            let message = format!(
                "{keyword} {arg}: a path relative to a home directory cannot be resolved here"
            );
            self.problem(Some(path), Some(line), message);
            return;
        };
        let directive = format!("{keyword} {arg}");
        if keyword == "!include" {
            let origin = Origin {
                file: path,
                line,
                directive: &directive,
            };
            self.read_file(&target, depth + 1, Some(origin));
            return;
        }
        match self.fs.list_dir(&target) {
            Ok(mut names) => {
                // MariaDB reads the directory sorted; MySQL in readdir order,
                // which we cannot know: sorted is the only stable choice.
                names.sort();
                for name in names
                    .iter()
                    .filter(|n| n.ends_with(".cnf") && !n.contains('/'))
                {
                    let file = join(&target, name);
                    let origin = Origin {
                        file: path,
                        line,
                        directive: &directive,
                    };
                    self.read_file(&file, depth + 1, Some(origin));
                }
            }
            Err(SourceError::Missing) => {
                let message = format!("{directive}: no such directory (mysqld refuses this file)");
                self.problem(Some(path), Some(line), message);
            }
            Err(SourceError::Unreadable(reason)) => {
                let message = format!("{directive}: cannot list the directory: {reason}");
                self.problem(Some(path), Some(line), message);
            }
        }
    }

    /// `header` follows the `[`.
    fn group_header(&mut self, path: &str, line: u32, header: &str) -> Group {
        let Some(end) = header.find(']') else {
            let message = format!(
                "unterminated group header [{}, options up to the next header are ignored",
                header.trim_end_matches(is_space)
            );
            self.problem(Some(path), Some(line), message);
            return Group::Broken;
        };
        let name = group_key(&header[..end]);
        if name.is_empty() {
            let message =
                "empty group name [], options up to the next header are ignored".to_string();
            self.problem(Some(path), Some(line), message);
            return Group::Broken;
        }
        Group::Valid(name)
    }

    /// An option line, from its first non-blank character.
    fn option(&mut self, path: &str, line: u32, ptr: &str, group: &str) {
        let ptr = remove_end_comment(ptr);
        let (spelled, value) = match ptr.find('=') {
            Some(eq) => {
                let value = ptr[eq + 1..].trim_matches(is_space);
                (ptr[..eq].trim_end_matches(is_space), Some(unquote(value)))
            }
            None => (ptr.trim_end_matches(is_space), None),
        };
        if spelled.is_empty() {
            // Never echo the value: it may be a password.
            let message = "option line without a name before '='".to_string();
            self.problem(Some(path), Some(line), message);
            return;
        }
        if spelled.contains(is_space) {
            let message = format!("malformed option name {spelled:?} (contains whitespace)");
            self.problem(Some(path), Some(line), message);
            return;
        }
        let name = normalize_option_name(spelled);
        if name.is_empty() {
            // `loose-` alone: mysqld has no option by that name to set.
            let message = format!("malformed option name {spelled:?} (nothing after loose-)");
            self.problem(Some(path), Some(line), message);
            return;
        }
        let value = match value {
            Some(_) if crate::secrets::is_secret_name(&name) => Some(REDACTED.to_string()),
            v => v,
        };
        self.out.entries.push(OptionEntry {
            group: group.to_string(),
            name,
            spelled: spelled.to_string(),
            value,
            file: path.to_string(),
            line,
        });
    }
}

/// The argument after `keyword` when it is followed by whitespace or the end
/// of the line.
fn keyword_arg<'a>(rest: &'a str, keyword: &str) -> Option<&'a str> {
    let arg = rest.strip_prefix(keyword)?;
    match arg.chars().next() {
        None => Some(arg),
        Some(c) if is_space(c) => Some(arg),
        Some(_) => None,
    }
}

/// For problems about a line that has no group: its option name only.
fn option_name_of(ptr: &str) -> String {
    let ptr = remove_end_comment(ptr);
    let name = ptr.split('=').next().unwrap_or("").trim_matches(is_space);
    if name.is_empty() {
        "line".to_string()
    } else {
        name.to_string()
    }
}

/// `my_isspace()` over latin1.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// Cuts a trailing `# comment`: a `#` outside quotes starts one anywhere,
/// even with no space before it (`password=ab#c` is `ab`), as in mysys.
fn remove_end_comment(s: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut escape = false;
    for (i, c) in s.char_indices() {
        if (c == '\'' || c == '"') && !escape {
            match quote {
                None => quote = Some(c),
                Some(q) if q == c => quote = None,
                Some(_) => {}
            }
        }
        if quote.is_none() && c == '#' {
            return &s[..i];
        }
        escape = quote.is_some() && c == '\\' && !escape;
    }
    s
}

/// Strips one pair of matching surrounding quotes, then processes escapes.
/// mysqld processes escapes in every value, quoted or not; an unknown escape
/// keeps its backslash, and so does a backslash ending the value.
///
/// This is mysqld's rule, applied once, by the parser, to the raw text of
/// an option line. Code that reads parsed values uses [`unquote_value`].
fn unquote(value: &str) -> String {
    let bytes = value.as_bytes();
    let inner = match (bytes.first(), bytes.last()) {
        (Some(&f), Some(&l)) if (f == b'"' || f == b'\'') && bytes.len() > 1 && f == l => {
            &value[1..value.len() - 1]
        }
        _ => value,
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            None => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('s') => out.push(' '),
            Some('"') => out.push('"'),
            Some('\'') => out.push('\''),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}

/// An option value as rules and remediations compare it: blanks trimmed,
/// then one pair of matching quotes and the blanks inside them removed
/// (`ssl-ca = '/x'` and `' /x '` both read as `/x`); borrowed, no escapes.
///
/// Deliberately not the parser's [`unquote`] (mysqld's rule, escapes and
/// all, applied once to the raw line): this one is applied to values that
/// were already parsed, or built by hand in facts, and tolerates the quotes
/// and blanks that survive there, so that an option is compared, tested
/// for emptiness and checked after an edit the same way everywhere.
pub fn unquote_value(v: &str) -> &str {
    let v = v.trim();
    for q in ['\'', '"'] {
        if let Some(inner) = v.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner.trim();
        }
    }
    v
}

/// An absolute path with `.`, `..` and repeated or trailing slashes folded,
/// so that cycle detection and reports see one spelling per file. `..` is
/// folded lexically: a snapshot has no symlinks to follow.
fn absolute(path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// The target of a directive in `including`. mysqld opens a relative path
/// against its working directory, which a collector cannot know; the
/// including file's directory is what such paths are always meant to be.
/// `None` for `~` paths (the home of the user mysqld runs as is unknown).
fn resolve(including: &str, arg: &str) -> Option<String> {
    if arg.starts_with('~') {
        return None;
    }
    if arg.starts_with('/') {
        return absolute(arg);
    }
    let dir = match including.rfind('/') {
        Some(i) => &including[..i],
        None => "",
    };
    absolute(&format!("{dir}/{arg}"))
}

fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

// --- redaction ----------------------------------------------------------------------

/// An option file with the value of every secret option replaced by
/// [`REDACTED`], read the way this parser reads it: groups, `loose-`
/// prefixes, quoted values, trailing `#` comments, commented-out options,
/// `password` with no value (kept: it makes the client prompt), and
/// passwords on command lines kept in values (`--password=`, `-p`). Every
/// line stays where it was, so findings' line numbers hold. `Err((line,
/// why))` for a line this parser cannot read (a group header that never
/// ends, an option name with a space): such a file must be withheld whole
/// rather than guessed at.
pub fn redact_option_file(text: &str) -> Result<String, (u32, String)> {
    let mut out = String::with_capacity(text.len());
    let (bom, body) = match text.strip_prefix('\u{feff}') {
        Some(rest) => ("\u{feff}", rest),
        None => ("", text),
    };
    out.push_str(bom);
    for (index, piece) in body.split_inclusive('\n').enumerate() {
        let line = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let (content, eol) = split_eol(piece);
        let ptr = content.trim_start_matches(is_space);
        let lead = &content[..content.len() - ptr.len()];
        out.push_str(lead);
        if let Some(body) = ptr.strip_prefix(['#', ';']) {
            out.push_str(&ptr[..1]);
            out.push_str(&redact_comment_text(body));
        } else if ptr.is_empty() || ptr.starts_with('!') {
            // Directives name paths; the rest of the line is the path.
            out.push_str(ptr);
        } else if ptr.starts_with('[') {
            if !ptr.contains(']') {
                return Err((line, "unterminated group header".to_string()));
            }
            out.push_str(ptr);
        } else {
            out.push_str(&redact_option_line(ptr).map_err(|why| (line, why))?);
        }
        out.push_str(eol);
    }
    Ok(out)
}

/// `(line, "\n" | "\r\n" | "")`.
fn split_eol(piece: &str) -> (&str, &str) {
    if let Some(l) = piece.strip_suffix("\r\n") {
        (l, "\r\n")
    } else if let Some(l) = piece.strip_suffix('\n') {
        (l, "\n")
    } else {
        (piece, "")
    }
}

/// One option line (from its first non-blank character).
fn redact_option_line(ptr: &str) -> Result<String, String> {
    let code = remove_end_comment(ptr);
    let comment = &ptr[code.len()..];
    let Some(eq) = code.find('=') else {
        let name = code.trim_end_matches(is_space);
        if name.contains(is_space) {
            return Err("malformed option name (contains whitespace)".to_string());
        }
        return Ok(format!("{code}{}", redact_trailing_comment(comment)));
    };
    let spelled = code[..eq].trim_end_matches(is_space);
    if spelled.is_empty() || spelled.contains(is_space) {
        return Err("malformed option name".to_string());
    }
    let value = &code[eq + 1..];
    let value_text = value.trim_matches(is_space);
    let pad = &value[..value.len() - value.trim_start_matches(is_space).len()];
    let tail = &value[value.trim_end_matches(is_space).len()..];
    let whole = format!("{}{pad}{REDACTED}{tail}", &code[..=eq]);
    let mut new_code = if crate::secrets::is_secret_name(spelled) && !value_text.is_empty() {
        whole.clone()
    } else {
        format!(
            "{}{}",
            &code[..=eq],
            crate::secrets::strip_command_line_passwords(value)
        )
    };
    // What was taken out may have held a quote or a backslash, which would
    // move where the comment starts (and make a second pass redact more):
    // then the whole value goes.
    if remove_end_comment(&format!("{new_code}{comment}")).len() != new_code.len() {
        new_code = whole;
    }
    Ok(format!("{new_code}{}", redact_trailing_comment(comment)))
}

/// A trailing `# ...` after an option: a comment may hold an old password.
fn redact_trailing_comment(comment: &str) -> String {
    match comment.strip_prefix('#') {
        Some(body) => format!("#{}", redact_comment_text(body)),
        None => comment.to_string(),
    }
}

/// The body of a comment (after `#` or `;`): a commented-out secret option
/// (`#password=old`, `# password: old`) keeps its name and loses its value;
/// passwords in URLs and command lines go too.
pub(crate) fn redact_comment_text(body: &str) -> String {
    let trimmed = body.trim_start();
    if let Some(pos) = trimmed.find(['=', ':']) {
        let key = trimmed[..pos].trim();
        let value = trimmed[pos + 1..].trim();
        if crate::secrets::is_secret_name(key)
            && !key.contains(char::is_whitespace)
            && !value.is_empty()
        {
            let head = &body[..body.len() - trimmed.len() + pos + 1];
            let gap = if trimmed[pos + 1..].starts_with(' ') {
                " "
            } else {
                ""
            };
            return format!("{head}{gap}{REDACTED}");
        }
    }
    crate::secrets::strip_command_line_passwords(body).into_owned()
}

#[cfg(test)]
#[path = "mycnf_tests.rs"]
mod tests;
