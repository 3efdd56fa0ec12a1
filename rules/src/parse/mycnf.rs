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
    let redacted_value = if crate::secrets::is_secret_name(spelled) && !value_text.is_empty() {
        let pad = &value[..value.len() - value.trim_start_matches(is_space).len()];
        let tail = &value[value.trim_end_matches(is_space).len()..];
        format!("{pad}{REDACTED}{tail}")
    } else {
        crate::secrets::strip_command_line_passwords(value).into_owned()
    };
    Ok(format!(
        "{}{redacted_value}{}",
        &code[..=eq],
        redact_trailing_comment(comment)
    ))
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
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    use super::*;

    #[test]
    fn unquote_value_trims_and_strips_one_pair_of_quotes() {
        assert_eq!(unquote_value(" '/x' "), "/x");
        assert_eq!(unquote_value("\" /x \""), "/x");
        assert_eq!(unquote_value("'/x\""), "'/x\"");
        assert_eq!(unquote_value("\"'/x'\""), "'/x'");
        assert_eq!(unquote_value(r"a\tb"), r"a\tb");
        assert_eq!(unquote_value(""), "");
    }
    use crate::facts::Flavor;

    /// A host's files in memory. Directories are implied by the files under
    /// them; `dirs` adds empty ones, `unreadable` makes paths fail.
    #[derive(Default)]
    struct MemFs {
        files: BTreeMap<String, Vec<u8>>,
        dirs: BTreeSet<String>,
        unreadable: BTreeSet<String>,
    }

    impl MemFs {
        fn with(files: &[(&str, &str)]) -> Self {
            let mut fs = MemFs::default();
            for (path, text) in files {
                fs.add(path, text);
            }
            fs
        }

        fn add(&mut self, path: &str, text: &str) {
            self.files
                .insert(path.to_string(), text.as_bytes().to_vec());
        }

        /// Loads a fixture tree: `DIR/etc/mysql/my.cnf` becomes `/etc/mysql/my.cnf`.
        fn from_fixture(name: &str) -> Self {
            fn walk(root: &Path, dir: &Path, fs: &mut MemFs) {
                let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
                    .expect("fixture directory is readable")
                    .map(|e| e.expect("fixture entry").path())
                    .collect();
                entries.sort();
                for path in entries {
                    if path.is_dir() {
                        walk(root, &path, fs);
                    } else {
                        let rel = path.strip_prefix(root).expect("under the root");
                        let key = format!("/{}", rel.to_string_lossy());
                        fs.files
                            .insert(key, std::fs::read(&path).expect("fixture file"));
                    }
                }
            }
            let root = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../fixtures/parsers/mycnf")
                .join(name);
            let mut fs = MemFs::default();
            walk(&root, &root, &mut fs);
            assert!(!fs.files.is_empty(), "fixture {name} is empty");
            fs
        }
    }

    impl FileSource for MemFs {
        fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
            if self.unreadable.contains(path) {
                return Err(SourceError::Unreadable("Permission denied".to_string()));
            }
            self.files.get(path).cloned().ok_or(SourceError::Missing)
        }

        fn list_dir(&self, path: &str) -> Result<Vec<String>, SourceError> {
            if self.unreadable.contains(path) {
                return Err(SourceError::Unreadable("Permission denied".to_string()));
            }
            let prefix = format!("{}/", path.trim_end_matches('/'));
            let names: BTreeSet<String> = self
                .files
                .keys()
                .filter_map(|p| p.strip_prefix(&prefix))
                .map(|rest| rest.split('/').next().unwrap_or(rest).to_string())
                .collect();
            if names.is_empty() && !self.dirs.contains(path.trim_end_matches('/')) {
                return Err(SourceError::Missing);
            }
            Ok(names.into_iter().collect())
        }
    }

    fn roots(paths: &[&str]) -> Vec<String> {
        paths.iter().map(|s| s.to_string()).collect()
    }

    fn version(flavor: Flavor, major: u32, minor: u32, patch: u32) -> MysqlVersion {
        MysqlVersion {
            flavor,
            major,
            minor,
            patch,
            raw: format!("{major}.{minor}.{patch}"),
        }
    }

    fn parse_one(text: &str) -> ParsedOptions {
        let fs = MemFs::with(&[("/etc/my.cnf", text)]);
        parse_option_files(&roots(&["/etc/my.cnf"]), &fs)
    }

    fn value_of(set: &OptionSet, name: &str) -> Option<String> {
        set.get(name).and_then(|v| v.value.clone())
    }

    fn messages(parsed: &ParsedOptions) -> Vec<String> {
        parsed.problems.iter().map(|p| p.message.clone()).collect()
    }

    const DEBIAN_ROOTS: &[&str] = &["/etc/my.cnf", "/etc/mysql/my.cnf", "/root/.my.cnf"];

    #[test]
    fn debian12_mariadb_layout() {
        let fs = MemFs::from_fixture("debian12-mariadb");
        let parsed = parse_option_files(&roots(DEBIAN_ROOTS), &fs);
        assert_eq!(parsed.problems, vec![], "a stock layout has no problems");
        assert_eq!(
            parsed.files_read,
            vec![
                "/etc/mysql/my.cnf",
                "/etc/mysql/conf.d/mysql.cnf",
                "/etc/mysql/conf.d/mysqldump.cnf",
                "/etc/mysql/mariadb.conf.d/50-client.cnf",
                "/etc/mysql/mariadb.conf.d/50-mysql-clients.cnf",
                "/etc/mysql/mariadb.conf.d/50-mysqld_safe.cnf",
                "/etc/mysql/mariadb.conf.d/50-server.cnf",
                "/etc/mysql/mariadb.conf.d/60-galera.cnf",
                "/etc/mysql/mariadb.conf.d/99-ssl-local.cnf",
            ]
        );

        let v = version(Flavor::Mariadb, 10, 11, 6);
        let server = effective(&parsed.entries, &server_groups(Some(&v)));
        let ca = server.get("ssl-ca").expect("ssl-ca is set");
        assert_eq!(ca.as_str(), "/etc/mysql/ssl/ca.pem");
        assert_eq!(ca.spelled, "ssl-ca");
        assert_eq!(ca.group, "mysqld");
        assert_eq!(ca.file, "/etc/mysql/mariadb.conf.d/50-server.cnf");
        assert_eq!(ca.line, 69);
        // `ssl_cert = "..."` in 50-server.cnf, overridden by 99-ssl-local.cnf.
        let cert = server.get("ssl_cert").expect("ssl_cert is set");
        assert_eq!(cert.as_str(), "/etc/mysql/ssl/server-cert-2025.pem");
        assert_eq!(cert.spelled, "ssl-cert");
        assert_eq!(cert.group, "mariadb");
        assert_eq!(cert.file, "/etc/mysql/mariadb.conf.d/99-ssl-local.cnf");
        assert_eq!(cert.line, 6);
        // A trailing comment after a quoted value with a `#` inside it.
        assert_eq!(
            value_of(&server, "ssl_key"),
            Some("/etc/mysql/ssl/server#1-key.pem".to_string())
        );
        assert_eq!(
            value_of(&server, "require_secure_transport"),
            Some("ON".to_string())
        );
        assert_eq!(
            value_of(&server, "tls_version"),
            Some("TLSv1.2,TLSv1.3".to_string())
        );
        // [client-server] in my.cnf reaches the server too.
        assert_eq!(
            value_of(&server, "socket"),
            Some("/run/mysqld/mysqld.sock".to_string())
        );
        // Commented-out options are not options.
        assert!(server.get("skip_name_resolve").is_none());
        assert!(server.get("log_bin").is_none());
        // [mysqld_safe] and [embedded] are not read by the server.
        assert!(server.get("nice").is_none());
        // The stale dpkg copy and the README in the directory are not read.
        assert_ne!(
            value_of(&server, "ssl_ca"),
            Some("/etc/mysql/old-ca.pem".to_string())
        );

        let client = effective(&parsed.entries, &client_groups(Some(&v)));
        assert_eq!(
            value_of(&client, "default-character-set"),
            Some("utf8mb4".to_string())
        );
        assert_eq!(
            value_of(&client, "ssl-verify-server-cert"),
            Some("on".to_string())
        );
        assert!(client.get("ssl_ca").is_none(), "server options stay out");
    }

    #[test]
    fn debian12_mariadb_ignores_non_cnf_files_in_includedir() {
        let fs = MemFs::from_fixture("debian12-mariadb");
        // The fixture has them, so the test would pass for the wrong reason
        // if they were absent.
        assert!(
            fs.files
                .contains_key("/etc/mysql/mariadb.conf.d/50-server.cnf.dpkg-old")
        );
        assert!(fs.files.contains_key("/etc/mysql/conf.d/README"));
        let parsed = parse_option_files(&roots(DEBIAN_ROOTS), &fs);
        assert!(
            parsed
                .files_read
                .iter()
                .all(|f| f.ends_with(".cnf") && !f.contains("dpkg-old"))
        );
        assert!(
            parsed
                .entries
                .iter()
                .all(|e| e.value.as_deref() != Some("/etc/mysql/old-ca.pem"))
        );
    }

    #[test]
    fn engineyard_mysql56_my_cnf() {
        let fs = MemFs::from_fixture("engineyard-mysql56");
        let parsed = parse_option_files(&roots(&["/etc/my.cnf", "/etc/mysql/my.cnf"]), &fs);
        assert_eq!(parsed.problems, vec![]);
        assert_eq!(
            parsed.files_read,
            vec!["/etc/mysql/my.cnf", "/etc/mysql/conf.d/custom.cnf"]
        );
        let v56 = version(Flavor::Mysql, 5, 6, 21);
        let server = effective(&parsed.entries, &server_groups(Some(&v56)));
        for (name, path, line) in [
            ("ssl-ca", "/db/mysql/5.6/data/root.crt", 59),
            ("ssl-cert", "/db/mysql/5.6/data/server.crt", 60),
            ("ssl-key", "/db/mysql/5.6/data/server.key", 61),
        ] {
            let v = server.get(name).expect("ssl option is set");
            assert_eq!(v.as_str(), path);
            assert_eq!(v.file, "/etc/mysql/my.cnf");
            assert_eq!(v.line, line, "{name}");
            assert_eq!(v.group, "mysqld");
        }
        // Overridden in conf.d/custom.cnf, read after my.cnf's own lines.
        let max = server.get("max_connections").expect("set");
        assert_eq!(max.as_str(), "500");
        assert_eq!(max.file, "/etc/mysql/conf.d/custom.cnf");
        // A bare flag.
        let flag = server.get("skip-name-resolve").expect("set");
        assert_eq!(flag.value, None);
        assert_eq!(flag.as_str(), "");
        // [mysqld-5.6] applies to 5.6 only; [mysqld-5.7] does not.
        assert_eq!(
            value_of(&server, "ssl_cipher"),
            Some("DHE-RSA-AES256-SHA:AES128-SHA".to_string())
        );
        assert!(server.get("tls_version").is_none());

        let v57 = version(Flavor::Mysql, 5, 7, 44);
        let server57 = effective(&parsed.entries, &server_groups(Some(&v57)));
        assert!(server57.get("ssl_cipher").is_none());
        assert_eq!(
            value_of(&server57, "tls_version"),
            Some("TLSv1.2".to_string())
        );
        // Unknown version: no versioned group at all.
        let unknown = effective(&parsed.entries, &server_groups(None));
        assert!(unknown.get("ssl_cipher").is_none());
        assert!(unknown.get("tls_version").is_none());
        assert!(unknown.get("ssl_ca").is_some());

        let client = effective(&parsed.entries, &client_groups(Some(&v56)));
        assert_eq!(value_of(&client, "port"), Some("3306".to_string()));
        // The password is never kept, but that one is set is.
        assert_eq!(value_of(&client, "password"), Some(REDACTED.to_string()));
        assert!(
            parsed
                .entries
                .iter()
                .all(|e| e.value.as_deref() != Some("s3cr3t#pass"))
        );
    }

    #[test]
    fn last_value_wins_across_files_and_groups() {
        let fs = MemFs::with(&[
            (
                "/etc/mysql/my.cnf",
                "[mysqld]\nssl-ca=/a.pem\n!include /etc/mysql/extra.cnf\n[server]\nssl_ca=/c.pem\n",
            ),
            ("/etc/mysql/extra.cnf", "[mysqld]\nSSL-CA = /b.pem\n"),
            ("/root/.my.cnf", "[client]\nssl-ca=/client.pem\n"),
        ]);
        let parsed = parse_option_files(&roots(&["/etc/mysql/my.cnf", "/root/.my.cnf"]), &fs);
        let entries: Vec<(&str, u32, Option<&str>)> = parsed
            .entries
            .iter()
            .map(|e| (e.file.as_str(), e.line, e.value.as_deref()))
            .collect();
        assert_eq!(
            entries,
            vec![
                ("/etc/mysql/my.cnf", 2, Some("/a.pem")),
                ("/etc/mysql/extra.cnf", 2, Some("/b.pem")),
                ("/etc/mysql/my.cnf", 5, Some("/c.pem")),
                ("/root/.my.cnf", 2, Some("/client.pem")),
            ]
        );
        let server = effective(&parsed.entries, &roots(&["mysqld"]));
        let ca = server.get("ssl_ca").expect("set");
        assert_eq!((ca.as_str(), ca.spelled.as_str()), ("/b.pem", "SSL-CA"));
        assert_eq!(ca.file, "/etc/mysql/extra.cnf");
        let both = effective(&parsed.entries, &roots(&["MYSQLD", "server"]));
        assert_eq!(value_of(&both, "ssl-ca"), Some("/c.pem".to_string()));
    }

    #[test]
    fn group_names_are_trimmed_and_case_insensitive() {
        let parsed = parse_one("[ MySQLd ] # the server\nport=3306\n");
        assert_eq!(parsed.problems, vec![]);
        assert_eq!(parsed.entries[0].group, "mysqld");
        let set = effective(&parsed.entries, &roots(&["mysqld"]));
        assert_eq!(value_of(&set, "port"), Some("3306".to_string()));
    }

    #[test]
    fn values_quotes_escapes_and_comments() {
        let text = concat!(
            "[client]\n",
            "a = plain value   \n",
            "b=\"double quoted # not a comment\"  # comment\n",
            "c='single \\'quoted\\''\n",
            "d=tab\\there\\snew\\nline\\\\back\n",
            "e=C:\\Program Files\\x\n",
            "f=unquoted#comment\n",
            "g=\"\"\n",
            "h=\n",
            "i=\"\n",
            "j=trailing\\\n",
            "k=\"mismatched'\n",
            "l='bell\\b\\rcr'\n",
            "m='say \\\"hi\\\"'\n",
            "n=\"esc \\\" # still quoted\" #gone\n",
            "o = a=b=c\n",
        );
        let parsed = parse_one(text);
        assert_eq!(parsed.problems, vec![]);
        let set = effective(&parsed.entries, &roots(&["client"]));
        let expect = [
            ("a", "plain value"),
            ("b", "double quoted # not a comment"),
            ("c", "single 'quoted'"),
            ("d", "tab\there new\nline\\back"),
            ("e", "C:\\Program Files\\x"),
            ("f", "unquoted"),
            ("g", ""),
            ("h", ""),
            ("i", "\""),
            ("j", "trailing\\"),
            ("k", "\"mismatched'"),
            ("l", "bell\u{8}\rcr"),
            ("m", "say \"hi\""),
            ("n", "esc \" # still quoted"),
            ("o", "a=b=c"),
        ];
        for (name, value) in expect {
            assert_eq!(
                value_of(&set, name).as_deref(),
                Some(value),
                "option {name}"
            );
        }
    }

    #[test]
    fn names_are_normalized_and_spelling_kept() {
        let parsed =
            parse_one("[mysqld]\nloose-ssl-ca=/x.pem\nSkip_SSL # off\n  ssl_Cert\t=\t/y.pem\n");
        let got: Vec<(&str, &str, Option<&str>)> = parsed
            .entries
            .iter()
            .map(|e| (e.name.as_str(), e.spelled.as_str(), e.value.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("ssl_ca", "loose-ssl-ca", Some("/x.pem")),
                ("skip_ssl", "Skip_SSL", None),
                ("ssl_cert", "ssl_Cert", Some("/y.pem")),
            ]
        );
    }

    #[test]
    fn comments_blank_lines_crlf_and_bom() {
        let text = "\u{feff}# top comment\r\n; semicolon comment\r\n\r\n   \t\r\n[mysqld]\r\n  # indented comment\r\nssl-ca = /etc/ca.pem\r\nskip-ssl\r\n";
        let parsed = parse_one(text);
        assert_eq!(parsed.problems, vec![]);
        let got: Vec<(&str, Option<&str>, u32)> = parsed
            .entries
            .iter()
            .map(|e| (e.name.as_str(), e.value.as_deref(), e.line))
            .collect();
        assert_eq!(
            got,
            vec![("ssl_ca", Some("/etc/ca.pem"), 7), ("skip_ssl", None, 8)]
        );
    }

    #[test]
    fn option_before_any_group_is_a_problem_per_file() {
        let fs = MemFs::with(&[
            (
                "/etc/mysql/my.cnf",
                "ssl-ca=/early.pem\n[mysqld]\n!include /etc/mysql/inc.cnf\nport=3306\n",
            ),
            // Each file starts with no group, even when included from inside one.
            (
                "/etc/mysql/inc.cnf",
                "# hello\nssl-key=/k.pem\n[mysqld]\nssl-cert=/c.pem\n",
            ),
        ]);
        let parsed = parse_option_files(&roots(&["/etc/mysql/my.cnf"]), &fs);
        let problems: Vec<(Option<&str>, Option<u32>, &str)> = parsed
            .problems
            .iter()
            .map(|p| (p.path.as_deref(), p.line, p.message.as_str()))
            .collect();
        assert_eq!(
            problems,
            vec![
                (
                    Some("/etc/mysql/my.cnf"),
                    Some(1),
                    "option ssl-ca appears before any [group] header and is ignored (mysqld refuses such a file)"
                ),
                (
                    Some("/etc/mysql/inc.cnf"),
                    Some(2),
                    "option ssl-key appears before any [group] header and is ignored (mysqld refuses such a file)"
                ),
            ]
        );
        assert!(parsed.problems.iter().all(|p| p.what == "option file"));
        let set = effective(&parsed.entries, &roots(&["mysqld"]));
        assert!(set.get("ssl_ca").is_none());
        assert!(set.get("ssl_key").is_none());
        assert_eq!(value_of(&set, "ssl_cert"), Some("/c.pem".to_string()));
        // The including file's group resumes after the include.
        assert_eq!(set.get("port").map(|v| v.group.as_str()), Some("mysqld"));
    }

    #[test]
    fn malformed_lines_are_problems_and_parsing_goes_on() {
        let text = concat!(
            "[mysqld]\n",
            "=hunter2\n",
            "ssl ca = /x.pem\n",
            "port=3306\n",
            "[unterminated\n",
            "ssl-ca=/lost.pem\n",
            "[]\n",
            "ssl-ca=/lost-too.pem\n",
            "[mysqld]\n",
            "ssl-cert=/ok.pem\n",
            "!frobnicate /x\n",
        );
        let parsed = parse_one(text);
        let problems: Vec<(Option<u32>, &str)> = parsed
            .problems
            .iter()
            .map(|p| (p.line, p.message.as_str()))
            .collect();
        assert_eq!(
            problems,
            vec![
                (Some(2), "option line without a name before '='"),
                (
                    Some(3),
                    "malformed option name \"ssl ca\" (contains whitespace)"
                ),
                (
                    Some(5),
                    "unterminated group header [unterminated, options up to the next header are ignored"
                ),
                (
                    Some(7),
                    "empty group name [], options up to the next header are ignored"
                ),
                (Some(11), "unknown directive !frobnicate /x ignored"),
            ]
        );
        assert!(!format!("{:?}", parsed.problems).contains("hunter2"));
        let set = effective(&parsed.entries, &roots(&["mysqld"]));
        let names: Vec<&str> = set.options.keys().map(String::as_str).collect();
        assert_eq!(names, vec!["port", "ssl_cert"]);
    }

    #[test]
    fn option_files_are_redacted_line_for_line() {
        let text = "\u{feff}[client]\npassword = \"p#ss word\" # old: x\npassword\n\
                    #password=old\n; pass = y\n[mysqld]\nloose-ssl-key-password=k\n\
                    wsrep_sst_auth=root:pw\nssl-ca=/etc/ca.pem # password: z\n\
                    [mysqld_safe]\nmalloc-lib = x\nexec = mysqladmin --password=q -pw2 ping\r\n\
                    !include /etc/mysql/secret.cnf\ndefault_password_lifetime = 90\n";
        let out = redact_option_file(text).unwrap();
        assert_eq!(
            out,
            "\u{feff}[client]\npassword = <redacted> # old: x\npassword\n\
             #password=<redacted>\n; pass = <redacted>\n[mysqld]\nloose-ssl-key-password=<redacted>\n\
             wsrep_sst_auth=<redacted>\nssl-ca=/etc/ca.pem # password: <redacted>\n\
             [mysqld_safe]\nmalloc-lib = x\nexec = mysqladmin --password=<redacted> -p<redacted> ping\r\n\
             !include /etc/mysql/secret.cnf\ndefault_password_lifetime = 90\n"
        );
        assert_eq!(out.lines().count(), text.lines().count());
        for secret in ["p#ss", "=old", "k\n", "root:pw", "=q", "w2", "= y"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert_eq!(
            redact_option_file("[client\npassword=x\n"),
            Err((1, "unterminated group header".to_string()))
        );
        assert!(redact_option_file("[client]\npass word=x\n").is_err());
    }

    #[test]
    fn secrets_are_redacted() {
        let parsed = parse_one(
            "[client]\npassword = \"p#ss\"\npassword\n[mysqld]\nwsrep_sst_auth=root:pw\n\
             ssl-passphrase=x\nloose-ldap-bind-password=y\ndefault_password_lifetime=90\n",
        );
        let got: Vec<(&str, Option<&str>)> = parsed
            .entries
            .iter()
            .map(|e| (e.name.as_str(), e.value.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("password", Some(REDACTED)),
                ("password", None),
                ("wsrep_sst_auth", Some(REDACTED)),
                ("ssl_passphrase", Some(REDACTED)),
                ("ldap_bind_password", Some(REDACTED)),
                ("default_password_lifetime", Some("90")),
            ]
        );
    }

    #[test]
    fn relative_includes_resolve_against_the_including_file() {
        let fs = MemFs::with(&[
            (
                "/etc/mysql/my.cnf",
                "!include ./local/./ssl.cnf\n!includedir ../mysql/conf.d//\n",
            ),
            ("/etc/mysql/local/ssl.cnf", "[mysqld]\nssl-ca=ca.pem\n"),
            ("/etc/mysql/conf.d/b.cnf", "[mysqld]\nssl-key=b\n"),
            ("/etc/mysql/conf.d/a.cnf", "[mysqld]\nssl-key=a\n"),
        ]);
        let parsed = parse_option_files(&roots(&["/etc/mysql/my.cnf"]), &fs);
        assert_eq!(parsed.problems, vec![]);
        assert_eq!(
            parsed.files_read,
            vec![
                "/etc/mysql/my.cnf",
                "/etc/mysql/local/ssl.cnf",
                "/etc/mysql/conf.d/a.cnf",
                "/etc/mysql/conf.d/b.cnf",
            ]
        );
        let set = effective(&parsed.entries, &roots(&["mysqld"]));
        assert_eq!(value_of(&set, "ssl_key"), Some("b".to_string()));
    }

    #[test]
    fn include_cycle_is_reported_and_not_followed() {
        let fs = MemFs::with(&[
            (
                "/etc/mysql/my.cnf",
                "[mysqld]\nport=1\n!include /etc/mysql/a.cnf\n",
            ),
            (
                "/etc/mysql/a.cnf",
                "[mysqld]\nport=2\n!include /etc/mysql/b.cnf\n",
            ),
            (
                "/etc/mysql/b.cnf",
                "[mysqld]\nport=3\n!include ../mysql/my.cnf\n",
            ),
        ]);
        let parsed = parse_option_files(&roots(&["/etc/mysql/my.cnf"]), &fs);
        assert_eq!(parsed.problems.len(), 1, "{:?}", parsed.problems);
        let p = &parsed.problems[0];
        assert_eq!(p.path.as_deref(), Some("/etc/mysql/b.cnf"));
        assert_eq!(p.line, Some(3));
        assert_eq!(
            p.message,
            "include cycle /etc/mysql/my.cnf -> /etc/mysql/a.cnf -> /etc/mysql/b.cnf -> /etc/mysql/my.cnf is not followed"
        );
        assert_eq!(parsed.entries.len(), 3);
    }

    #[test]
    fn includedir_including_itself_is_a_cycle() {
        let fs = MemFs::with(&[(
            "/etc/mysql/conf.d/loop.cnf",
            "!includedir /etc/mysql/conf.d\n[mysqld]\nport=1\n",
        )]);
        let parsed = parse_option_files(&roots(&["/etc/mysql/conf.d/loop.cnf"]), &fs);
        assert_eq!(messages(&parsed).len(), 1);
        assert!(messages(&parsed)[0].starts_with("include cycle "));
        assert_eq!(parsed.entries.len(), 1);
    }

    #[test]
    fn depth_limit_skips_directives_like_mysqld() {
        // A chain of 12 distinct files: f0 includes f1 ... includes f11.
        let mut fs = MemFs::default();
        for i in 0..12 {
            fs.add(
                &format!("/etc/mysql/f{i}.cnf"),
                &format!("[mysqld]\nlevel={i}\n!include /etc/mysql/f{}.cnf\n", i + 1),
            );
        }
        let parsed = parse_option_files(&roots(&["/etc/mysql/f0.cnf"]), &fs);
        // Files at depth 0..=10 are read; the directive in f10 is skipped.
        assert_eq!(parsed.files_read.len(), 11);
        assert_eq!(
            messages(&parsed),
            vec![
                "!include /etc/mysql/f11.cnf skipped: maximum include depth 10 reached (as mysqld does)"
            ]
        );
        assert_eq!(
            parsed.problems[0].path.as_deref(),
            Some("/etc/mysql/f10.cnf")
        );
        let set = effective(&parsed.entries, &roots(&["mysqld"]));
        assert_eq!(value_of(&set, "level"), Some("10".to_string()));
    }

    #[test]
    fn include_fan_out_is_bounded() {
        // Every file includes the directory holding 20 files, each of which
        // includes a second directory of 20: 400+ reads without a cycle.
        let mut fs = MemFs::default();
        fs.add("/etc/my.cnf", "!includedir /d1\n");
        for i in 0..20 {
            fs.add(&format!("/d1/{i:02}.cnf"), "!includedir /d2\n");
            fs.add(&format!("/d2/{i:02}.cnf"), "[mysqld]\nport=1\n");
        }
        let parsed = parse_option_files(&roots(&["/etc/my.cnf"]), &fs);
        // my.cnf, then 12 x (one d1 file + 20 d2 files) = 253 reads, then
        // d1/12, d2/00 and d2/01: 256.
        assert_eq!(parsed.entries.len(), 12 * 20 + 2);
        assert_eq!(
            messages(&parsed),
            vec!["more than 256 option files included, /d2/02.cnf and later ones not read"]
        );
        assert_eq!(parsed.problems[0].path.as_deref(), Some("/d1/12.cnf"));
    }

    #[test]
    fn missing_and_unreadable_targets_are_problems() {
        let mut fs = MemFs::with(&[(
            "/etc/mysql/my.cnf",
            concat!(
                "!include /etc/mysql/nope.cnf\n",
                "!includedir /etc/mysql/nodir/\n",
                "!include /etc/mysql/secret.cnf\n",
                "!include sub/../gone.cnf\n",
                "!includedir /etc/mysql/locked\n",
                "!include\n",
                "!includedir   \n",
                "!include ~/.my.cnf\n",
                "!includedir /etc/mysql/empty\n",
                "[mysqld]\nport=3306\n",
            ),
        )]);
        fs.add("/etc/mysql/secret.cnf", "[mysqld]\nport=1\n");
        fs.unreadable.insert("/etc/mysql/secret.cnf".to_string());
        fs.unreadable.insert("/etc/mysql/locked".to_string());
        fs.dirs.insert("/etc/mysql/empty".to_string());
        let parsed = parse_option_files(&roots(&["/etc/mysql/my.cnf"]), &fs);
        let problems: Vec<(Option<&str>, Option<u32>, &str)> = parsed
            .problems
            .iter()
            .map(|p| (p.path.as_deref(), p.line, p.message.as_str()))
            .collect();
        let f = Some("/etc/mysql/my.cnf");
        assert_eq!(
            problems,
            vec![
                (
                    f,
                    Some(1),
                    "!include /etc/mysql/nope.cnf: no such file or directory"
                ),
                (
                    f,
                    Some(2),
                    "!includedir /etc/mysql/nodir/: no such directory (mysqld refuses this file)"
                ),
                (
                    f,
                    Some(3),
                    "!include /etc/mysql/secret.cnf: Permission denied"
                ),
                (
                    f,
                    Some(4),
                    "!include sub/../gone.cnf: /etc/mysql/gone.cnf: no such file or directory"
                ),
                (
                    f,
                    Some(5),
                    "!includedir /etc/mysql/locked: cannot list the directory: Permission denied"
                ),
                (
                    f,
                    Some(6),
                    "!include without a path (mysqld refuses this file)"
                ),
                (
                    f,
                    Some(7),
                    "!includedir without a path (mysqld refuses this file)"
                ),
                (
                    f,
                    Some(8),
                    "!include ~/.my.cnf: a path relative to a home directory cannot be resolved here"
                ),
            ]
        );
        assert_eq!(parsed.files_read, vec!["/etc/mysql/my.cnf"]);
        assert_eq!(parsed.entries.len(), 1);
    }

    #[test]
    fn roots_missing_silently_unreadable_loudly() {
        let mut fs = MemFs::with(&[("/etc/mysql/my.cnf", "[mysqld]\nport=1\n")]);
        fs.add("/root/.my.cnf", "[client]\nuser=root\n");
        fs.unreadable.insert("/root/.my.cnf".to_string());
        let parsed = parse_option_files(
            &roots(&[
                "/etc/my.cnf",
                "/etc/mysql/my.cnf",
                "/root/.my.cnf",
                "relative.cnf",
            ]),
            &fs,
        );
        assert_eq!(parsed.files_read, vec!["/etc/mysql/my.cnf"]);
        let problems: Vec<(Option<&str>, &str)> = parsed
            .problems
            .iter()
            .map(|p| (p.path.as_deref(), p.message.as_str()))
            .collect();
        assert_eq!(
            problems,
            vec![
                (
                    Some("/root/.my.cnf"),
                    "cannot read /root/.my.cnf: Permission denied"
                ),
                (
                    Some("relative.cnf"),
                    "option file path relative.cnf is not absolute"
                ),
            ]
        );
    }

    #[test]
    fn oversized_file_is_not_parsed() {
        let mut text = String::from("[mysqld]\nssl-ca=/x.pem\n");
        while text.len() <= MAX_FILE_SIZE {
            text.push_str("# padding padding padding padding padding padding padding\n");
        }
        let parsed = parse_one(&text);
        assert!(parsed.entries.is_empty());
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].path.as_deref(), Some("/etc/my.cnf"));
        assert!(
            parsed.problems[0]
                .message
                .ends_with("over the 1048576-byte limit for an option file; not parsed"),
            "{}",
            parsed.problems[0].message
        );
    }

    #[test]
    fn a_file_included_many_times_is_bounded_in_all() {
        // 200 includes of the same 512 KiB file is no cycle and stays under
        // the read count, but would be 100 MiB and 10 million entries.
        let mut big = String::from("[mysqld]\n");
        while big.len() < 512 * 1024 {
            big.push_str("a=1\nb=2\nc=3\nd=4\n");
        }
        let mut fs = MemFs::with(&[("/etc/mysql/big.cnf", big.as_str())]);
        fs.add("/etc/my.cnf", &"!include /etc/mysql/big.cnf\n".repeat(200));
        // The budget is in bytes parsed, not time: a timed assertion would
        // only measure the machine (docs/BENCHMARKS.md has the speed).
        let parsed = parse_option_files(&roots(&["/etc/my.cnf"]), &fs);
        let parsed_bytes = parsed.entries.iter().filter(|e| e.name == "a").count() * 16;
        assert!(parsed_bytes <= OPTION_FILES_TOTAL_BYTES, "{parsed_bytes}");
        let budget: Vec<_> = parsed
            .problems
            .iter()
            .filter(|p| p.message.contains("in all"))
            .collect();
        assert_eq!(budget.len(), 1, "{:?}", messages(&parsed));
        assert_eq!(budget[0].path.as_deref(), Some("/etc/mysql/big.cnf"));
    }

    #[test]
    fn loose_prefix_alone_is_not_an_option() {
        // Found by fuzzing (fuzz/corpus/mycnf/regress-loose-alone): the
        // prefix normalized away left an entry with an empty name.
        let parsed = parse_one("[mysqld]\nloose_\nloose-=1\nssl\n");
        assert_eq!(parsed.entries.len(), 1);
        assert_eq!(parsed.entries[0].name, "ssl");
        assert_eq!(
            messages(&parsed),
            vec![
                "malformed option name \"loose_\" (nothing after loose-)",
                "malformed option name \"loose-\" (nothing after loose-)",
            ]
        );
        assert_eq!(parsed.problems[1].line, Some(3));
    }

    #[test]
    fn binary_garbage_is_refused_with_one_problem() {
        let mut garbage: Vec<u8> = (0..=255u8).cycle().take(256 * 1024).collect();
        garbage.splice(0..0, b"[mysqld]\nssl-ca=/x.pem\n".iter().copied());
        let mut fs = MemFs::default();
        fs.files.insert("/etc/my.cnf".to_string(), garbage);
        let parsed = parse_option_files(&roots(&["/etc/my.cnf"]), &fs);
        assert!(parsed.entries.is_empty());
        assert_eq!(parsed.files_read, vec!["/etc/my.cnf"]);
        assert_eq!(
            messages(&parsed),
            vec!["binary data (a NUL byte at offset 23), not an option file; not parsed"]
        );
        assert_eq!(parsed.problems[0].path.as_deref(), Some("/etc/my.cnf"));
    }

    #[test]
    fn problems_of_one_file_are_capped() {
        // Text garbage without NULs: every line is a problem, 50 are kept.
        let text = "garbage line\n".repeat(10_000);
        let parsed = parse_one(&text);
        assert_eq!(parsed.problems.len(), OPTION_PROBLEMS_PER_FILE + 1);
        let last = parsed.problems.last().unwrap();
        assert_eq!(last.path.as_deref(), Some("/etc/my.cnf"));
        assert_eq!(
            last.message,
            "9950 more problems in this file not shown (at most 50 per file)"
        );
    }

    #[test]
    fn invalid_utf8_does_not_stop_parsing() {
        let mut fs = MemFs::default();
        fs.files.insert(
            "/etc/my.cnf".to_string(),
            b"# caf\xe9 latin-1 comment\n[mysqld]\nssl-ca=/x.pem\n".to_vec(),
        );
        let parsed = parse_option_files(&roots(&["/etc/my.cnf"]), &fs);
        assert_eq!(parsed.problems, vec![]);
        assert_eq!(parsed.entries[0].line, 3);
    }

    #[test]
    fn server_groups_by_flavor_and_version() {
        assert_eq!(
            server_groups(Some(&version(Flavor::Mysql, 5, 6, 21))),
            vec!["mysqld", "server", "mysqld-5.6"]
        );
        assert_eq!(
            server_groups(Some(&version(Flavor::Percona, 8, 0, 36))),
            vec!["mysqld", "server", "mysqld-8.0"]
        );
        assert_eq!(
            server_groups(Some(&version(Flavor::Mariadb, 10, 11, 6))),
            vec![
                "mysqld",
                "server",
                "mysqld-10.11",
                "mariadb",
                "mariadb-10.11",
                "mariadbd",
                "mariadbd-10.11",
                "client-server",
                "galera"
            ]
        );
        assert_eq!(
            server_groups(Some(&version(Flavor::Mariadb, 10, 3, 39))),
            vec![
                "mysqld",
                "server",
                "mysqld-10.3",
                "mariadb",
                "mariadb-10.3",
                "client-server",
                "galera"
            ]
        );
        let unknown = server_groups(None);
        assert!(unknown.iter().all(|g| !g.contains('.')));
        assert!(unknown.contains(&"mysqld".to_string()));
        assert!(unknown.contains(&"mariadb".to_string()));
    }

    #[test]
    fn client_groups_by_flavor_and_version() {
        assert_eq!(
            client_groups(Some(&version(Flavor::Mysql, 8, 0, 36))),
            vec!["mysql", "client"]
        );
        assert_eq!(
            client_groups(Some(&version(Flavor::Mariadb, 10, 11, 6))),
            vec![
                "mysql",
                "mariadb-client",
                "client",
                "client-server",
                "client-mariadb"
            ]
        );
        assert!(client_groups(None).contains(&"client-mariadb".to_string()));
        assert!(!client_groups(None).contains(&"mysqld".to_string()));
    }
}
