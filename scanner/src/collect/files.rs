//! Reads the files a host's rules need, in as few round trips as possible:
//! each round is ONE command (`files.pl` where the host has perl, one
//! process; else `files.sh`; both on the command line, the list of paths
//! on stdin as data) that streams every requested file with its metadata in a framed
//! format, and the next round asks only for what the previous ones
//! revealed (`!include` targets, ssl-* paths, paths named by database.yml).
//!
//! Round 1: the layout's option files, its data directories' certificate
//! and key files, the keygen tree, /etc/passwd, openssl.cnf, database.yml,
//! the /etc/mysql tree, and `~/.mysql` of every regular user (uid >= 1000),
//! the app user and root (the script reads /etc/passwd itself, which saves
//! a round). Later rounds: includes outside those trees, ssl-* paths
//! (resolved against the datadir), paths database.yml names; at most
//! [`MAX_ROUNDS`] rounds in all.
//!
//! The output is parsed as hostile: every length is checked against what
//! is left and against the caps, each record must be followed by the next
//! record's marker (which carries a random token the host cannot guess
//! ahead of time), and a record that breaks the framing (a file that
//! changed while it was read) is reported, not trusted. Private keys are
//! turned into facts at once and their bytes dropped.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use sslaudit_rules::facts::{CollectionProblem, FileMeta, FileStatus};
use sslaudit_rules::layout::Layout;
use sslaudit_rules::parse::{FileSource, SourceError, dbyml, galera, gemfile_lock, mycnf, x509};

use crate::evidence::{FileEntry, HostMeta};
use crate::remote::{Exec, shell_quote};

/// Default cap on one file's size; larger files are listed, not read.
pub const DEFAULT_MAX_BYTES: u64 = crate::limits::COLLECT_FILE_BYTES;
/// Most rounds (commands) one host's collection takes.
pub const MAX_ROUNDS: u32 = crate::limits::COLLECT_ROUNDS;
/// Most records (files and directories) one round returns.
pub const MAX_RECORDS: u32 = crate::limits::COLLECT_RECORDS;
/// Most file bytes one round sends (beyond it files are listed, not read).
pub const ROUND_BUDGET: u64 = crate::limits::COLLECT_ROUND_BYTES;
/// Users from this uid on are people (Debian, Ubuntu, RHEL 7+).
pub const FIRST_REGULAR_UID: u32 = 1000;

const SCRIPT: &str = include_str!("files.sh");
/// The same collector in one Perl process (no `ls`, `dd` and subshell per
/// file), run where the host has perl.
const PERL_SCRIPT: &str = include_str!("files.pl");
/// With perl (`$1` is [`PERL_SCRIPT`]), runs it on stdin; a perl that
/// cannot run it (missing, or too old to compile it: exit 2 before reading
/// stdin) falls back to files.sh (`$2`). Both scripts travel on the command
/// line, so stdin holds only the header and the requests: a short run of
/// lines that a shell can hand over exactly, which lets a round share its
/// exec with another command ([`crate::remote::joint`]).
const BOOTSTRAP: &str = r#"if command -v perl >/dev/null 2>&1; then perl -e "$1"; r=$?; case $r in 2 | 126 | 127) ;; *) exit "$r" ;; esac; fi; eval "$2""#;

/// The command every round runs: the bootstrap with both collectors as its
/// arguments (code, never a secret: the paths travel on stdin). The same
/// for every host and round, so it is built once per process.
pub fn round_command() -> &'static str {
    static COMMAND: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "env LC_ALL=C sh -c {} sslaudit-files {} {}",
            shell_quote(BOOTSTRAP),
            shell_quote(PERL_SCRIPT),
            shell_quote(SCRIPT)
        )
    });
    &COMMAND
}

/// Option names whose values are files or directories to collect.
const SSL_FILE_OPTIONS: &[&str] = &["ssl_ca", "ssl_cert", "ssl_key", "ssl_crl"];
const SSL_DIR_OPTIONS: &[&str] = &["ssl_capath", "ssl_crlpath"];

/// What one collection produced, with how it went.
#[derive(Debug, Clone, Default)]
pub struct Collected {
    pub files: BTreeMap<String, FileEntry>,
    pub problems: Vec<CollectionProblem>,
    /// Commands run (one per round).
    pub rounds: u32,
    /// Bytes the host sent.
    pub bytes: u64,
    /// Symlinks seen: path -> `readlink -f` target.
    pub links: BTreeMap<String, String>,
}

/// Collects the files of one host (see the module comment); problems are
/// returned, never raised: whatever was read is kept.
pub fn collect_files(
    exec: &dyn Exec,
    layout: &Layout,
    meta: &HostMeta,
    max_bytes: u64,
) -> (BTreeMap<String, FileEntry>, Vec<CollectionProblem>) {
    let c = collect(exec, layout, meta, max_bytes);
    (c.files, c.problems)
}

/// [`collect_files`] with the round count, byte count and symlinks.
pub fn collect(exec: &dyn Exec, layout: &Layout, meta: &HostMeta, max_bytes: u64) -> Collected {
    collect_with_first(exec, exec, layout, meta, max_bytes)
}

/// [`collect`] with the first round run through `first` and the later ones
/// through `exec`: the first round is the one every host needs, so another
/// command the host must run anyway can share its exec (`via: ssh`: the
/// host's MySQL client, see [`crate::remote::joint`]).
pub fn collect_with_first(
    exec: &dyn Exec,
    first: &dyn Exec,
    layout: &Layout,
    meta: &HostMeta,
    max_bytes: u64,
) -> Collected {
    let mut st = State::default();
    let mut out = Collected::default();
    let mut next = first_round(layout, meta);
    for round in 1..=MAX_ROUNDS {
        let reqs: Vec<Request> = next
            .into_iter()
            .filter(|r| st.needs(r))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if reqs.is_empty() {
            break;
        }
        st.requested.extend(reqs.iter().cloned());
        let started = Instant::now();
        let via = if round == 1 { first } else { exec };
        let result = run_round(via, &reqs, max_bytes);
        out.rounds += 1;
        match result {
            Ok((bytes, parsed)) => {
                out.bytes += bytes;
                tracing::debug!(
                    host = exec.host(),
                    round,
                    requests = reqs.len(),
                    records = parsed.records.len(),
                    bytes,
                    elapsed = ?started.elapsed(),
                    "file collection round"
                );
                st.merge(parsed, max_bytes, &mut out);
            }
            Err(message) => {
                out.problems
                    .push(problem(None, format!("round {round}: {message}")));
                break;
            }
        }
        next = follow_up(&st, layout, meta);
    }
    let left: BTreeSet<String> = follow_up(&st, layout, meta)
        .into_iter()
        .filter(|r| st.needs(r))
        .map(|r| r.path().to_string())
        .collect();
    if !left.is_empty() && out.rounds >= MAX_ROUNDS {
        out.problems.push(problem(
            None,
            format!(
                "includes and referenced paths nest deeper than {MAX_ROUNDS} rounds; not \
                 collected: {}",
                left.into_iter().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    out.files = st.files;
    derive_keys(&mut out.files, &mut out.problems);
    out.links.extend(st.links);
    out
}

fn problem(path: Option<&str>, message: String) -> CollectionProblem {
    CollectionProblem {
        what: "file collection".to_string(),
        path: path.map(str::to_string),
        line: None,
        message,
    }
}

// --- requests --------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Request {
    File(String),
    Tree(String, u32),
    /// Data directories matching a pattern (`*` = one component): their
    /// certificate and key files, and these names.
    DataDir(String, Vec<String>),
    /// `<home>/<client_dir>` of regular users and these users.
    Homes(String, Vec<String>),
}

impl Request {
    fn path(&self) -> &str {
        match self {
            Request::File(p) | Request::Tree(p, _) | Request::DataDir(p, _) => p,
            Request::Homes(d, _) => d,
        }
    }

    fn line(&self) -> String {
        match self {
            Request::File(p) => format!("F {}\n", enc(p)),
            Request::Tree(p, depth) => format!("T {depth} {}\n", enc(p)),
            Request::DataDir(p, names) => format!("S {} {}\n", enc(p), names.join(" ")),
            Request::Homes(dir, users) => {
                format!("H {} {FIRST_REGULAR_UID} {}\n", enc(dir), users.join(" "))
            }
        }
    }
}

/// printf %b escapes for every byte but a few safe ones: the script gets
/// the path back byte for byte, and no byte of it is ever shell syntax.
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"/._+-".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\0{b:03o}"));
        }
    }
    out
}

/// Names passed to the script unencoded must be plain words.
fn plain_word(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// A path worth asking for: absolute, no NUL, at most PATH_MAX, no
/// trailing slash.
fn clean(p: &str) -> Option<String> {
    if !p.starts_with('/') || p.contains('\0') || p.len() > 4096 {
        return None;
    }
    let t = p.trim_end_matches('/');
    Some(if t.is_empty() {
        "/".to_string()
    } else {
        t.to_string()
    })
}

fn first_round(layout: &Layout, meta: &HostMeta) -> Vec<Request> {
    let mut r = Vec::new();
    for p in &layout.option_files {
        r.extend(clean(p).map(Request::File));
    }
    let names: Vec<String> = [&layout.server_ca, &layout.server_cert, &layout.server_key]
        .into_iter()
        .filter(|n| plain_word(n))
        .cloned()
        .collect();
    for d in &layout.data_dirs {
        r.extend(clean(d).map(|d| Request::DataDir(d, names.clone())));
    }
    if let Some(k) = &layout.keygen_dir {
        r.extend(clean(k).map(|k| Request::Tree(k, 2)));
    }
    r.push(Request::File("/etc/passwd".to_string()));
    r.extend(clean(&layout.openssl_cnf).map(Request::File));
    for p in &meta.database_yml {
        r.extend(clean(p).map(Request::File));
        // The application's driver gems, beside its config/ folder.
        r.extend(clean(&gemfile_lock::path_for(p)).map(Request::File));
    }
    if !meta.database_yml.is_empty() {
        // The MySQL client library a mysql2 gem built there links against.
        for (package, _) in gemfile_lock::LIBRARY_PACKAGES {
            for arch in gemfile_lock::DPKG_ARCHES {
                r.push(Request::File(gemfile_lock::shlibs_path(package, arch)));
            }
        }
    }
    r.push(Request::Tree("/etc/mysql".to_string(), 2));
    let mut users: Vec<String> = vec!["root".to_string()];
    users.extend(meta.app_user.iter().filter(|u| plain_word(u)).cloned());
    if !layout.client_dir.is_empty() && !layout.client_dir.contains('\0') {
        r.push(Request::Homes(
            layout.client_dir.trim_matches('/').to_string(),
            users,
        ));
    }
    r
}

/// What the files collected so far point to.
fn follow_up(st: &State, layout: &Layout, meta: &HostMeta) -> Vec<Request> {
    let mut r = Vec::new();
    let probe = Probe {
        st,
        files: RefCell::new(BTreeSet::new()),
        dirs: RefCell::new(BTreeSet::new()),
    };
    let parsed = mycnf::parse_option_files(&layout.option_files, &probe);
    r.extend(probe.files.into_inner().into_iter().map(Request::File));
    r.extend(
        probe
            .dirs
            .into_inner()
            .into_iter()
            .map(|d| Request::Tree(d, 1)),
    );

    let server = mycnf::effective(&parsed.entries, &mycnf::server_groups(None));
    let datadirs: Vec<String> = match server.get("datadir").map(|v| v.as_str().to_string()) {
        Some(d) if d.starts_with('/') => {
            let names = [&layout.server_ca, &layout.server_cert, &layout.server_key]
                .into_iter()
                .filter(|n| plain_word(n))
                .cloned()
                .collect();
            r.extend(clean(&d).map(|c| Request::DataDir(c, names)));
            vec![d]
        }
        _ => st.data_dirs(layout),
    };
    // The ssl-* paths, then the certificates and keys Galera's replication
    // and SST use (wsrep_provider_options socket.ssl_*, [sst] tca/tcert/tkey).
    let named = parsed
        .entries
        .iter()
        .filter_map(|e| {
            let is_file = SSL_FILE_OPTIONS.contains(&e.name.as_str());
            let is_dir = SSL_DIR_OPTIONS.contains(&e.name.as_str());
            let v = e.value.as_deref()?;
            (is_file || is_dir).then(|| (v.to_string(), is_dir))
        })
        .chain(
            galera::named_files(&parsed.entries)
                .into_iter()
                .map(|v| (v, false)),
        );
    for (v, is_dir) in named {
        let v = v.as_str();
        if v.is_empty() || v == mycnf::REDACTED {
            continue;
        }
        let paths: Vec<String> = if v.starts_with('/') {
            vec![v.to_string()]
        } else {
            datadirs
                .iter()
                .map(|d| format!("{}/{v}", d.trim_end_matches('/')))
                .collect()
        };
        for p in paths.iter().filter_map(|p| clean(p)) {
            r.push(if is_dir {
                Request::Tree(p, 1)
            } else {
                Request::File(p)
            });
        }
    }

    for path in &meta.database_yml {
        let Some(FileEntry {
            content: Some(bytes),
            ..
        }) = st.files.get(path)
        else {
            continue;
        };
        let Ok(text) = std::str::from_utf8(bytes) else {
            continue;
        };
        let Ok(yml) = dbyml::parse_database_yml(path, text) else {
            continue;
        };
        for env in &yml.environments {
            for (v, dir) in [
                (&env.sslca, false),
                (&env.sslcert, false),
                (&env.sslkey, false),
                (&env.sslcapath, true),
            ] {
                let Some(v) = v.as_ref().filter(|v| !v.erb && !v.value.is_empty()) else {
                    continue;
                };
                // The spelling the rules look the file up by.
                if let Some(p) = clean(&yml.resolve(v.value.trim())) {
                    r.push(if dir {
                        Request::Tree(p, 1)
                    } else {
                        Request::File(p)
                    });
                }
            }
        }
    }
    r
}

// --- state -------------------------------------------------------------------

#[derive(Default)]
struct State {
    files: BTreeMap<String, FileEntry>,
    /// Directories whose entries were all listed.
    listed: BTreeSet<String>,
    requested: BTreeSet<Request>,
    links: BTreeMap<String, String>,
}

impl State {
    fn needs(&self, r: &Request) -> bool {
        if self.requested.contains(r) {
            return false;
        }
        match r {
            Request::File(p) => !self.files.contains_key(p),
            Request::Tree(p, _) => !self.listed.contains(p),
            Request::DataDir(..) | Request::Homes(..) => true,
        }
    }

    /// Directories present on the host that match the layout's data dirs.
    fn data_dirs(&self, layout: &Layout) -> Vec<String> {
        let mut out = Vec::new();
        for pattern in &layout.data_dirs {
            let pat: Vec<&str> = pattern.trim_end_matches('/').split('/').collect();
            for (p, e) in &self.files {
                if e.meta.status != FileStatus::Present || e.meta.size.is_some() {
                    continue;
                }
                let parts: Vec<&str> = p.split('/').collect();
                if parts.len() == pat.len()
                    && pat.iter().zip(&parts).all(|(a, b)| *a == "*" || a == b)
                    && !out.contains(p)
                {
                    out.push(p.clone());
                }
            }
        }
        out
    }

    fn merge(&mut self, parsed: Parsed, max_bytes: u64, out: &mut Collected) {
        for d in parsed.listed {
            self.listed.insert(d);
        }
        for m in parsed.problems {
            out.problems.push(problem(None, m));
        }
        for (path, message) in parsed.garbled {
            if !self.files.contains_key(&path) {
                self.files.insert(
                    path.clone(),
                    FileEntry {
                        meta: FileMeta::bare(
                            &path,
                            FileStatus::Unreadable {
                                reason: message.clone(),
                            },
                        ),
                        content: None,
                        key: None,
                    },
                );
            }
            out.problems.push(problem(Some(&path), message));
        }
        for rec in parsed.records {
            let Some((entry, note)) = rec.into_entry(max_bytes, &mut self.links) else {
                continue;
            };
            if self.files.contains_key(&entry.meta.path) {
                continue;
            }
            if let Some(note) = note {
                out.problems.push(problem(Some(&entry.meta.path), note));
            }
            self.files.insert(entry.meta.path.clone(), entry);
        }
    }
}

/// The collected files as the option-file parser sees them, noting every
/// path it wanted that is not collected yet.
struct Probe<'a> {
    st: &'a State,
    files: RefCell<BTreeSet<String>>,
    dirs: RefCell<BTreeSet<String>>,
}

impl FileSource for Probe<'_> {
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        match self.st.files.get(path) {
            Some(FileEntry {
                content: Some(c), ..
            }) => Ok(c.clone()),
            Some(e) => Err(match &e.meta.status {
                FileStatus::Missing => SourceError::Missing,
                FileStatus::Unreadable { reason } => SourceError::Unreadable(reason.clone()),
                FileStatus::Present => SourceError::Unreadable("not collected".to_string()),
            }),
            None => {
                if let Some(p) = clean(path) {
                    self.files.borrow_mut().insert(p);
                }
                Err(SourceError::Missing)
            }
        }
    }

    fn list_dir(&self, path: &str) -> Result<Vec<String>, SourceError> {
        let dir = path.trim_end_matches('/');
        if self.st.listed.contains(dir) {
            let prefix = format!("{dir}/");
            let names: BTreeSet<String> = self
                .st
                .files
                .range(prefix.clone()..)
                .take_while(|(p, _)| p.starts_with(&prefix))
                .filter(|(_, e)| e.meta.status != FileStatus::Missing)
                .filter_map(|(p, _)| p[prefix.len()..].split('/').next().map(str::to_string))
                .collect();
            return Ok(names.into_iter().collect());
        }
        match self.st.files.get(dir).map(|e| &e.meta.status) {
            Some(FileStatus::Missing) => Err(SourceError::Missing),
            Some(FileStatus::Unreadable { reason }) => Err(SourceError::Unreadable(reason.clone())),
            _ => {
                if let Some(p) = clean(dir) {
                    self.dirs.borrow_mut().insert(p);
                }
                Err(SourceError::Missing)
            }
        }
    }
}

/// Private keys become facts; their bytes are dropped here, before anything
/// else (snapshot, log, report) can see them.
fn derive_keys(files: &mut BTreeMap<String, FileEntry>, problems: &mut Vec<CollectionProblem>) {
    for (path, entry) in files.iter_mut() {
        let Some(bytes) = &entry.content else {
            continue;
        };
        if !x509::looks_like_private_key(bytes) {
            continue;
        }
        match x509::parse_private_key(bytes) {
            Ok(facts) => entry.key = Some(facts),
            Err(e) => problems.push(CollectionProblem {
                what: "private key".to_string(),
                path: Some(path.clone()),
                line: None,
                message: e.to_string(),
            }),
        }
        entry.content = None;
    }
}

// --- one round -------------------------------------------------------------

/// Runs the script once with these requests: the bytes received and what
/// they parse to, or why the round failed.
fn run_round(exec: &dyn Exec, reqs: &[Request], max_bytes: u64) -> Result<(u64, Parsed), String> {
    let token = crate::remote::token();
    let out = exec
        .exec(
            round_command(),
            round_input(&token, reqs, max_bytes).as_bytes(),
        )
        .map_err(|e| e.to_string())?;
    let parsed = parse_output(&out.stdout, &token, max_bytes);
    if !parsed.complete {
        let status = match out.status {
            Some(s) => format!("exit status {s}"),
            None => "killed".to_string(),
        };
        let err = out.stderr_text();
        let err: String = err.chars().take(300).collect();
        return if parsed.records.is_empty() {
            Err(format!(
                "the collector script failed ({status}){}",
                if err.is_empty() {
                    String::new()
                } else {
                    format!(": {err}")
                }
            ))
        } else {
            let mut p = parsed;
            p.problems.push(format!(
                "the collector's output ended early ({status}{}); later files are missing",
                if err.is_empty() {
                    String::new()
                } else {
                    format!(": {err}")
                }
            ));
            Ok((out.stdout.len() as u64, p))
        };
    }
    Ok((out.stdout.len() as u64, parsed))
}

/// What a round's collector reads on stdin: the header (the records'
/// token, the caps), then one line per request.
fn round_input(token: &str, reqs: &[Request], max_bytes: u64) -> String {
    let mut stdin = format!(
        "{token}\n{max_bytes}\n{}\n{MAX_RECORDS}\n",
        ROUND_BUDGET.max(max_bytes)
    );
    for r in reqs {
        stdin.push_str(&r.line());
    }
    stdin
}

// --- framing -----------------------------------------------------------------

/// One file or directory as the script reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub path: Vec<u8>,
    pub status: String,
    pub target: Vec<u8>,
    pub mode: String,
    pub owner: String,
    pub group: String,
    pub size: String,
    pub content: Vec<u8>,
    pub rc: String,
}

#[derive(Debug, Default)]
pub struct Parsed {
    pub records: Vec<Record>,
    pub listed: Vec<String>,
    /// Records that broke the framing: path and why.
    pub garbled: Vec<(String, String)>,
    pub problems: Vec<String>,
    /// The end marker was seen.
    pub complete: bool,
}

/// Longest metadata field accepted (paths are at most PATH_MAX = 4096).
const MAX_FIELD: usize = 8192;

/// Parses the script's output. Nothing in it is trusted: a length that
/// overruns the output or a cap, or a record not followed by the next
/// marker, makes that record garbled and parsing resumes at the next marker.
pub fn parse_output(out: &[u8], token: &str, max_bytes: u64) -> Parsed {
    let marker = format!("\n@@{token} ");
    let marker = marker.as_bytes();
    let mut p = Parsed::default();
    let mut pos = find(out, marker, 0);
    if pos.is_none() {
        p.problems
            .push("the collector printed no records".to_string());
    }
    let content_cap = usize::try_from(max_bytes).unwrap_or(usize::MAX);
    while let Some(at) = pos {
        let start = at + marker.len();
        let Some(&kind) = out.get(start) else { break };
        if out.get(start + 1) != Some(&b'\n') {
            p.problems.push("malformed record header".to_string());
            pos = find(out, marker, start);
            continue;
        }
        let mut cur = start + 2;
        match kind {
            b'E' => {
                p.complete = true;
                break;
            }
            b'L' => {
                p.problems.push(format!(
                    "more than {MAX_RECORDS} files and directories; the rest were not collected"
                ));
            }
            b'D' => match netstring(out, &mut cur, MAX_FIELD) {
                Some(dir) if followed_by_marker(out, cur, marker) => {
                    p.listed.push(String::from_utf8_lossy(dir).into_owned());
                }
                _ => p.problems.push("garbled directory record".to_string()),
            },
            b'F' => {
                let mut fields: Vec<&[u8]> = Vec::with_capacity(9);
                let mut broken = false;
                for i in 0..9 {
                    let cap = if i == 7 { content_cap } else { MAX_FIELD };
                    match netstring(out, &mut cur, cap) {
                        Some(f) => fields.push(f),
                        None => {
                            broken = true;
                            break;
                        }
                    }
                }
                if broken || !followed_by_marker(out, cur, marker) {
                    let path = fields
                        .first()
                        .map(|f| String::from_utf8_lossy(f).into_owned());
                    match path {
                        Some(path) if !path.is_empty() => p.garbled.push((
                            path,
                            "the file changed or vanished while it was read (it did not \
                             send the size it was listed with); not collected"
                                .to_string(),
                        )),
                        _ => p.problems.push("garbled file record".to_string()),
                    }
                    pos = find(out, marker, start);
                    continue;
                }
                let text = |f: &[u8]| String::from_utf8_lossy(f).into_owned();
                p.records.push(Record {
                    path: fields[0].to_vec(),
                    status: text(fields[1]),
                    target: fields[2].to_vec(),
                    mode: text(fields[3]),
                    owner: text(fields[4]),
                    group: text(fields[5]),
                    size: text(fields[6]),
                    content: fields[7].to_vec(),
                    rc: text(fields[8]),
                });
            }
            _ => p.problems.push("unknown record type".to_string()),
        }
        pos = find(out, marker, start);
    }
    p
}

/// `LEN:BYTES,` at `*cur`, LEN at most 20 digits and `cap`.
fn netstring<'a>(out: &'a [u8], cur: &mut usize, cap: usize) -> Option<&'a [u8]> {
    let rest = out.get(*cur..)?;
    let digits = rest
        .iter()
        .take(21)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 || digits > 20 || rest.get(digits) != Some(&b':') {
        return None;
    }
    let len: usize = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    if len > cap {
        return None;
    }
    let body_start = digits + 1;
    let body_end = body_start.checked_add(len)?;
    if rest.get(body_end) != Some(&b',') {
        return None;
    }
    *cur += body_end + 1;
    Some(&rest[body_start..body_end])
}

fn followed_by_marker(out: &[u8], cur: usize, marker: &[u8]) -> bool {
    out.get(cur..).is_some_and(|r| r.starts_with(marker))
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from >= hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

impl Record {
    /// The entry for this record, with a note for the problems list.
    fn into_entry(
        self,
        max_bytes: u64,
        links: &mut BTreeMap<String, String>,
    ) -> Option<(FileEntry, Option<String>)> {
        let path = match String::from_utf8(self.path) {
            Ok(p) => p,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        if path.is_empty() {
            return None;
        }
        if !self.target.is_empty() {
            links.insert(
                path.clone(),
                String::from_utf8_lossy(&self.target).into_owned(),
            );
        }
        let opt = |s: String| (!s.is_empty()).then_some(s);
        let size: Option<u64> = self.size.parse().ok();
        let mut meta = FileMeta {
            path: path.clone(),
            status: FileStatus::Present,
            mode: parse_mode(&self.mode),
            owner: opt(self.owner),
            group: opt(self.group),
            size,
            lines: None,
        };
        let mut content = None;
        let mut note = None;
        match self.status.as_str() {
            "file" => {
                if self.rc != "0" {
                    meta.status = FileStatus::Unreadable {
                        reason: format!(
                            "read failed (dd exit status {}): it vanished or became \
                             unreadable after it was listed",
                            self.rc
                        ),
                    };
                } else if size.is_some_and(|s| s != self.content.len() as u64) {
                    meta.status = FileStatus::Unreadable {
                        reason: "the file changed while it was read".to_string(),
                    };
                } else {
                    content = Some(self.content);
                }
            }
            "toolarge" => {
                note = Some(format!(
                    "{} bytes, over the {max_bytes}-byte cap: listed, not read",
                    size.unwrap_or(0)
                ));
            }
            "budget" => {
                note = Some(format!(
                    "not read: this round already sent {ROUND_BUDGET} bytes"
                ));
            }
            // Directories carry no size, which tells them from files not read.
            "dir" => meta.size = None,
            "special" => meta.size = None,
            "unreadable" => {
                meta.status = FileStatus::Unreadable {
                    reason: "permission denied".to_string(),
                };
                meta.size = None;
            }
            "missing" | "dangling" => {
                meta = FileMeta::bare(&path, FileStatus::Missing);
            }
            other => {
                meta.status = FileStatus::Unreadable {
                    reason: format!("unknown status `{other}` from the collector"),
                };
            }
        }
        Some((
            FileEntry {
                meta,
                content,
                key: None,
            },
            note,
        ))
    }
}

/// `-rw-r-----`, `drwsr-x--T.`, `-rw-r--r--+` -> permission bits.
pub(crate) fn parse_mode(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    if b.len() < 10 {
        return None;
    }
    let mut mode = 0u32;
    for (i, &c) in b[1..10].iter().enumerate() {
        let bit = 1u32 << (8 - i);
        let special = match i {
            2 => 0o4000,
            5 => 0o2000,
            8 => 0o1000,
            _ => 0,
        };
        let expect = match i % 3 {
            0 => b'r',
            1 => b'w',
            _ => b'x',
        };
        match c {
            b'-' => {}
            c if c == expect => mode |= bit,
            b's' if special == 0o4000 || special == 0o2000 => mode |= bit | special,
            b'S' if special == 0o4000 || special == 0o2000 => mode |= special,
            b't' if special == 0o1000 => mode |= bit | special,
            b'T' if special == 0o1000 => mode |= special,
            _ => return None,
        }
    }
    Some(mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOK: &str = "0123456789abcdef0123456789abcdef";

    fn ns(s: &[u8]) -> Vec<u8> {
        let mut v = format!("{}:", s.len()).into_bytes();
        v.extend_from_slice(s);
        v.push(b',');
        v
    }

    fn file_record(path: &str, content: &[u8], declared: usize) -> Vec<u8> {
        let mut v = format!("\n@@{TOK} F\n").into_bytes();
        for f in [
            path.as_bytes(),
            b"file",
            b"",
            b"-rw-r-----",
            b"mysql",
            b"mysql",
            declared.to_string().as_bytes(),
        ] {
            v.extend(ns(f));
        }
        v.extend(format!("{declared}:").as_bytes());
        v.extend_from_slice(content);
        v.push(b',');
        v.extend(ns(b"0"));
        v
    }

    fn end() -> Vec<u8> {
        format!("\n@@{TOK} E\n").into_bytes()
    }

    #[test]
    fn framing_round_trip() {
        let mut out = b"motd from a noisy .bashrc\n".to_vec();
        out.extend(file_record("/a", b"x,y\n@@ not a marker", 19));
        out.extend(file_record("/b\nc", b"", 0));
        out.extend(end());
        let p = parse_output(&out, TOK, 1024);
        assert!(p.complete);
        assert_eq!(p.records.len(), 2);
        assert_eq!(p.records[0].content, b"x,y\n@@ not a marker");
        assert_eq!(p.records[1].path, b"/b\nc");
        assert!(p.garbled.is_empty() && p.problems.is_empty());
    }

    #[test]
    fn a_shrunk_file_is_garbled_and_parsing_resumes() {
        let mut out = file_record("/shrunk", b"abcd", 8);
        out.extend(file_record("/ok", b"fine", 4));
        out.extend(end());
        let p = parse_output(&out, TOK, 1024);
        assert!(p.complete);
        assert_eq!(p.records.len(), 1);
        assert_eq!(p.records[0].path, b"/ok");
        assert_eq!(p.garbled[0].0, "/shrunk");
    }

    #[test]
    fn hostile_lengths_are_not_trusted() {
        for evil in [
            format!("\n@@{TOK} F\n99999999999999999999999:x,"),
            format!("\n@@{TOK} F\n18446744073709551615:x,"),
            format!("\n@@{TOK} F\n5:ab,"),
            format!("\n@@{TOK} F\n-1:,"),
            format!("\n@@{TOK} F\n"),
            format!("\n@@{TOK} "),
            format!("\n@@{TOK} Z\n"),
            format!("\n@@{TOK} D\n3:/a"),
        ] {
            let p = parse_output(evil.as_bytes(), TOK, 1024);
            assert!(p.records.is_empty(), "{evil:?}");
            assert!(!p.complete);
        }
        // Content over the cap is refused even if well framed.
        let mut out = file_record("/big", &[b'a'; 2000], 2000);
        out.extend(end());
        let p = parse_output(&out, TOK, 1024);
        assert!(p.records.is_empty());
        assert_eq!(p.garbled[0].0, "/big");
        // A wrong token is not a marker.
        let p = parse_output(b"\n@@ffff F\n", TOK, 1024);
        assert!(p.records.is_empty());
    }

    #[test]
    fn modes() {
        assert_eq!(parse_mode("-rw-r-----"), Some(0o640));
        assert_eq!(parse_mode("drwxr-xr-x."), Some(0o755));
        assert_eq!(parse_mode("-rwsr-xr-x+"), Some(0o4755));
        assert_eq!(parse_mode("drwxrwxrwt"), Some(0o1777));
        assert_eq!(parse_mode("-rwSr-S--T"), Some(0o7640));
        assert_eq!(parse_mode("-rwq------"), None);
        assert_eq!(parse_mode("short"), None);
    }

    #[test]
    fn encoding_keeps_every_byte_out_of_shell_syntax() {
        assert_eq!(enc("/etc/my.cnf"), "/etc/my.cnf");
        assert_eq!(enc("a b"), "a\\0040b");
        assert_eq!(enc("$(x)"), "\\0044\\0050x\\0051");
        assert!(
            enc("t\n'\"\\")
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"\\/._+-".contains(&b))
        );
        assert!(plain_word("deploy") && !plain_word("-x") && !plain_word("a b") && !plain_word(""));
    }
}

#[cfg(test)]
#[path = "files_tests.rs"]
mod local_tests;
