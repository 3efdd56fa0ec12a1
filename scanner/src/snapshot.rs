//! Reading a snapshot folder (docs/snapshot-format.md) into evidence.
//!
//! The folder's structure (snapshot.toml, host.toml) is the caller's
//! contract: a broken one stops the scan with an error naming the file and
//! line. Everything a host handed over (its files, mysql.json, ...) is
//! evidence: a bad one becomes a problem on that host (SCAN002) and the
//! scan goes on.

use std::collections::BTreeMap;
use std::fs;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::collections::BTreeSet;

use sslaudit_rules::facts::{CollectionProblem, FileMeta, FileStatus, Fleet};
use sslaudit_rules::layout::Layout;
use sslaudit_rules::parse::{gemfile_lock, mycnf, redact, x509};

use crate::evidence::{FileEntry, FileRecord, HostEvidence, HostMeta};

mod either;
pub mod pack;
pub mod packed;

pub use either::Snapshot;

/// The snapshot format this build reads and writes.
pub const FORMAT: u32 = 1;

/// Files larger than this are recorded but not read.
pub const MAX_FILE_BYTES: u64 = crate::limits::SNAPSHOT_FILE_BYTES;

/// The first buffer for a file whose size nothing states: most of a
/// snapshot's files (certificates, option files) fit in one read.
const FILE_BUFFER: u64 = 8 * 1024;
/// The first buffer for a JSON evidence file (`files.json`, `mysql.json`).
const JSON_BUFFER: u64 = 64 * 1024;

/// `snapshot.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    #[serde(default)]
    pub tool: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub collected_at: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The inventory the evidence was collected with (as given to
    /// `collect`): scans of the snapshot name it in fix commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot {0} does not exist (neither a snapshot folder nor a packed snapshot file)")]
    NotFound(PathBuf),
    /// A packed snapshot whose structure is broken (not a packed snapshot,
    /// truncated, members out of place): the archive (or member) and why.
    #[error("{path}: {message}")]
    Packed { path: PathBuf, message: String },
    /// Evidence that does not match its `SHA256SUMS`.
    #[error("{path}: {message}")]
    Integrity { path: PathBuf, message: String },
    /// Snapshots are written fresh, never over anything.
    #[error("{0} exists: a snapshot is written fresh, never over old evidence")]
    Exists(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: snapshot format {found} is not supported (this build reads format {FORMAT})")]
    Format { path: PathBuf, found: u32 },
    #[error("{0}: no hosts found (expected <environment>/<host>/host.toml folders)")]
    Empty(PathBuf),
    /// Evidence that could not be turned into the file's text: nothing is
    /// written rather than an empty or partial file.
    #[error("{path}: cannot serialize the evidence: {message}")]
    Serialize { path: PathBuf, message: String },
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Parses a TOML file, turning errors into `file:line: message`.
fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, SnapshotError> {
    let text = fs::read_to_string(path).map_err(io_err(path))?;
    parse_toml(path, &text)
}

/// Parses TOML read from `path`, errors as `file:line: message`.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<T, SnapshotError> {
    toml::from_str(text).map_err(|e| SnapshotError::Parse {
        path: path.to_path_buf(),
        line: e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(1),
        message: e.message().to_string(),
    })
}

/// Reads `snapshot.toml` alone (for `--as-of` defaults and checks).
pub fn read_manifest(root: &Path) -> Result<Manifest, SnapshotError> {
    if root.is_file() {
        return Snapshot::open(root)?.manifest();
    }
    if !root.is_dir() {
        return Err(SnapshotError::NotFound(root.to_path_buf()));
    }
    let path = root.join("snapshot.toml");
    let manifest: Manifest = read_toml(&path)?;
    if manifest.format != FORMAT {
        return Err(SnapshotError::Format {
            path,
            found: manifest.format,
        });
    }
    Ok(manifest)
}

/// The host folders of a snapshot (`<env>/<host>`), sorted, without reading them.
pub fn host_dirs(root: &Path) -> Result<Vec<PathBuf>, SnapshotError> {
    Ok(host_folders(root)?
        .into_iter()
        .map(|(dir, _)| dir)
        .collect())
}

/// The host folders of a snapshot, sorted, each with its `host.toml` read
/// once: a folder without one is not a host (an `open` that finds nothing
/// says so, no separate `stat`).
fn host_folders(root: &Path) -> Result<Vec<(PathBuf, HostMeta)>, SnapshotError> {
    let mut hosts = Vec::new();
    for env in sorted_dirs(root)? {
        for host in sorted_dirs(&env)? {
            if let Some(meta) = try_read_host_meta(&host)? {
                hosts.push((host, meta));
            }
        }
    }
    if hosts.is_empty() {
        return Err(SnapshotError::Empty(root.to_path_buf()));
    }
    Ok(hosts)
}

fn sorted_dirs(dir: &Path) -> Result<Vec<PathBuf>, SnapshotError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let ft = entry.file_type().map_err(io_err(dir))?;
        if ft.is_dir() {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// Reads `host.toml` of a host folder, defaulting name and environment from the path.
pub fn read_host_meta(dir: &Path) -> Result<HostMeta, SnapshotError> {
    let path = dir.join("host.toml");
    let text = fs::read_to_string(&path).map_err(io_err(&path))?;
    host_meta_from(&path, &text, dir)
}

/// `host.toml` of a folder that may not be a host folder: `None` without one.
fn try_read_host_meta(dir: &Path) -> Result<Option<HostMeta>, SnapshotError> {
    let path = dir.join("host.toml");
    match fs::read_to_string(&path) {
        Ok(text) => host_meta_from(&path, &text, dir).map(Some),
        // A folder named host.toml is not a host's file either.
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::IsADirectory) => Ok(None),
        Err(e) => Err(SnapshotError::Io { path, source: e }),
    }
}

/// Parses `host.toml` (read from `path`) of the host folder `dir`,
/// defaulting name and environment from the folder's names.
pub(crate) fn host_meta_from(
    path: &Path,
    text: &str,
    dir: &Path,
) -> Result<HostMeta, SnapshotError> {
    let mut meta: HostMeta = parse_toml(path, text)?;
    let folder = |p: Option<&Path>| {
        p.and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    if meta.name.is_empty() {
        meta.name = folder(Some(dir));
    }
    if meta.environment.is_empty() {
        meta.environment = folder(dir.parent());
    }
    Ok(meta)
}

/// Reads one host folder. Only `host.toml` errors are fatal.
pub fn read_host(dir: &Path) -> Result<HostEvidence, SnapshotError> {
    let meta = read_host_meta(dir)?;
    Ok(read_host_with(dir, meta))
}

/// The evidence of a host whose `host.toml` is already read: a folder's
/// other entries are listed once, so an absent `mysql.json` costs no
/// failed `open` and the `fs/` tree is walked by the types its listings
/// give (no `stat` per entry).
fn read_host_with(dir: &Path, meta: HostMeta) -> HostEvidence {
    let mut ev = new_evidence(meta, dir);
    // Each entry's name and whether it is a folder (by the listing's type;
    // a link is followed, as a folder's `fs` always was).
    let present: BTreeMap<String, bool> = match fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .map(|e| {
                let is_dir = match e.file_type() {
                    Ok(t) if t.is_symlink() => e.path().is_dir(),
                    Ok(t) => t.is_dir(),
                    Err(_) => false,
                };
                (e.file_name().to_string_lossy().into_owned(), is_dir)
            })
            .collect(),
        Err(e) => {
            unreadable_folder(&mut ev, dir, &e);
            BTreeMap::new()
        }
    };
    let read = |name: &str| -> std::io::Result<Option<Vec<u8>>> {
        if !present.contains_key(name) {
            return Ok(None);
        }
        match read_limited(
            &dir.join(name),
            crate::limits::SNAPSHOT_JSON_BYTES,
            JSON_BUFFER,
        ) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    };
    let records: BTreeMap<String, FileRecord> =
        json_evidence(dir, "files.json", read("files.json"), &mut ev.problems).unwrap_or_default();
    if present.get("fs") == Some(&true) {
        let fs_root = dir.join("fs");
        walk_fs(&fs_root, &fs_root, &records, &mut ev);
    }
    finish_host(&mut ev, dir, records, read);
    ev
}

/// A host's evidence before its files and facts are read.
pub(crate) fn new_evidence(meta: HostMeta, dir: &Path) -> HostEvidence {
    HostEvidence {
        meta,
        origin: dir.display().to_string(),
        declared_at: Some(sslaudit_rules::Location::file(
            dir.join("host.toml").display().to_string(),
            Some(1),
        )),
        files: BTreeMap::new(),
        mysql: None,
        connection: None,
        probe: None,
        galera_ports: Vec::new(),
        problems: Vec::new(),
    }
}

/// What every form of snapshot does once a host's files are in `ev`:
/// `files.json`'s records over them, then the SQL, connection, probe and
/// Galera facts. `read(name)` gives a JSON file's bytes (`None`: absent).
pub(crate) fn finish_host(
    ev: &mut HostEvidence,
    dir: &Path,
    records: BTreeMap<String, FileRecord>,
    read: impl Fn(&str) -> std::io::Result<Option<Vec<u8>>>,
) {
    for (path, rec) in records {
        apply_record(ev, path, rec);
    }
    ev.mysql = json_evidence(dir, "mysql.json", read("mysql.json"), &mut ev.problems);
    ev.connection = json_evidence(
        dir,
        "connection.json",
        read("connection.json"),
        &mut ev.problems,
    );
    ev.probe = json_evidence(dir, "probe.json", read("probe.json"), &mut ev.problems);
    ev.galera_ports = json_evidence(
        dir,
        "galera_ports.json",
        read("galera_ports.json"),
        &mut ev.problems,
    )
    .unwrap_or_default();
}

/// An optional JSON evidence file, as read; a broken one is a problem on the host.
pub(crate) fn json_evidence<T: serde::de::DeserializeOwned>(
    dir: &Path,
    name: &str,
    read: std::io::Result<Option<Vec<u8>>>,
    problems: &mut Vec<CollectionProblem>,
) -> Option<T> {
    let path = dir.join(name);
    let text = match read.and_then(|b| b.map(text_of).transpose()) {
        Ok(Some(t)) => t,
        Ok(None) => return None,
        Err(e) => {
            problems.push(CollectionProblem {
                what: format!("snapshot {name}"),
                path: Some(path.display().to_string()),
                line: None,
                message: e.to_string(),
            });
            return None;
        }
    };
    match serde_json::from_str(&text) {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(CollectionProblem {
                what: format!("snapshot {name}"),
                path: Some(path.display().to_string()),
                line: u32::try_from(e.line()).ok(),
                message: e.to_string(),
            });
            None
        }
    }
}

/// A file kept under `fs/`, with the defaults of a file `files.json` does
/// not describe (its records are applied after).
pub(crate) fn kept_file(
    host_path: String,
    size: u64,
    content: Result<Vec<u8>, String>,
) -> FileEntry {
    let mut meta = FileMeta {
        path: host_path,
        status: FileStatus::Present,
        mode: Some(0o644),
        owner: Some("root".into()),
        group: Some("root".into()),
        size: Some(size),
        lines: None,
    };
    let content = match content {
        Ok(bytes) => Some(bytes),
        Err(reason) => {
            meta.status = FileStatus::Unreadable { reason };
            None
        }
    };
    FileEntry {
        meta,
        content,
        key: None,
    }
}

/// Why a link inside a snapshot is not read.
pub(crate) const SYMLINK_REASON: &str = "symbolic link inside the snapshot (not followed)";
/// Why a FIFO or device inside a snapshot is not read.
pub(crate) const SPECIAL_REASON: &str = "not a regular file inside the snapshot (not read)";

/// Why a file over the cap is not read.
pub(crate) fn over_cap_reason(len: u64) -> String {
    format!("file is {len} bytes, over the {MAX_FILE_BYTES} byte cap")
}

/// A host's folder (or one below its `fs/`) that cannot be listed: a
/// problem on that host, and the scan goes on.
fn unreadable_folder(ev: &mut HostEvidence, dir: &Path, e: &std::io::Error) {
    ev.problems.push(CollectionProblem {
        what: "snapshot folder".into(),
        path: Some(dir.display().to_string()),
        line: None,
        message: e.to_string(),
    });
}

fn walk_fs(
    fs_root: &Path,
    dir: &Path,
    records: &BTreeMap<String, FileRecord>,
    ev: &mut HostEvidence,
) {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            unreadable_folder(ev, dir, &e);
            return;
        }
    };
    // The listing's types (d_type) say what each entry is without a
    // `stat`; a file system that does not give them costs one.
    let mut listed: Vec<(PathBuf, Option<fs::FileType>)> = entries
        .filter_map(|e| e.ok().map(|e| (e.path(), e.file_type().ok())))
        .collect();
    listed.sort_by(|a, b| a.0.cmp(&b.0));
    for (p, ft) in listed {
        let Ok(rel) = p.strip_prefix(fs_root) else {
            continue;
        };
        let host_path = format!("/{}", rel.to_string_lossy());
        let Some(ft) = ft.or_else(|| fs::symlink_metadata(&p).ok().map(|m| m.file_type())) else {
            continue;
        };
        if ft.is_dir() {
            walk_fs(fs_root, &p, records, ev);
            continue;
        }
        let entry = if ft.is_file() {
            // files.json's size (when it states one) sizes the buffer: a
            // file costs open, read, read (end), close.
            let expected = records
                .get(&host_path)
                .and_then(|r| r.size)
                .unwrap_or(FILE_BUFFER);
            match read_limited(&p, MAX_FILE_BYTES, expected) {
                Ok(bytes) => kept_file(host_path.clone(), bytes.len() as u64, Ok(bytes)),
                Err(e) if e.kind() == ErrorKind::FileTooLarge => {
                    let len = fs::metadata(&p)
                        .map(|m| m.len())
                        .unwrap_or(MAX_FILE_BYTES + 1);
                    kept_file(host_path.clone(), len, Err(over_cap_reason(len)))
                }
                Err(e) => {
                    let len = fs::symlink_metadata(&p).map(|m| m.len()).unwrap_or(0);
                    kept_file(host_path.clone(), len, Err(e.to_string()))
                }
            }
        } else {
            // A snapshot holds files as found, never links: a link in one
            // could point anywhere on the scanning machine. A FIFO or
            // device would block the read or never end.
            let len = fs::symlink_metadata(&p).map(|m| m.len()).unwrap_or(0);
            let reason = if ft.is_symlink() {
                SYMLINK_REASON
            } else {
                SPECIAL_REASON
            };
            kept_file(host_path.clone(), len, Err(reason.into()))
        };
        ev.files.insert(host_path, entry);
    }
}

/// At most `cap` bytes of a file: one that is larger (or grew past the cap
/// since its size was checked) is an error (`FileTooLarge`), never read
/// whole. `expected` (its size, when known) sizes the buffer so a small
/// file costs one read, not a probe.
fn read_limited(path: &Path, cap: u64, expected: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(usize::try_from(expected.min(cap) + 1).unwrap_or(0));
    fs::File::open(path)?.take(cap + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > cap {
        return Err(over_cap(cap));
    }
    Ok(buf)
}

pub(crate) fn over_cap(cap: u64) -> std::io::Error {
    std::io::Error::new(
        ErrorKind::FileTooLarge,
        format!("file is over the {cap} byte cap"),
    )
}

/// A snapshot's JSON evidence as text.
fn text_of(bytes: Vec<u8>) -> std::io::Result<String> {
    String::from_utf8(bytes).map_err(|e| std::io::Error::new(ErrorKind::InvalidData, e))
}

fn parse_mode(s: &str) -> Option<u32> {
    u32::from_str_radix(s.trim().trim_start_matches("0o"), 8).ok()
}

fn apply_record(ev: &mut HostEvidence, path: String, rec: FileRecord) {
    let entry = ev.files.entry(path.clone()).or_insert_with(|| FileEntry {
        meta: FileMeta::bare(&path, FileStatus::Present),
        content: None,
        key: None,
    });
    entry.meta.status = match rec.status.as_str() {
        "missing" => FileStatus::Missing,
        "unreadable" => FileStatus::Unreadable {
            reason: rec.reason.clone().unwrap_or_else(|| "unreadable".into()),
        },
        _ => entry.meta.status.clone(),
    };
    if let Some(m) = &rec.mode {
        match parse_mode(m) {
            Some(m) => entry.meta.mode = Some(m),
            None => ev.problems.push(CollectionProblem {
                what: "snapshot files.json".into(),
                path: Some(path.clone()),
                line: None,
                message: format!("mode `{m}` is not an octal number"),
            }),
        }
    }
    if rec.owner.is_some() {
        entry.meta.owner = rec.owner;
    }
    if rec.group.is_some() {
        entry.meta.group = rec.group;
    }
    if rec.size.is_some() {
        entry.meta.size = rec.size;
    }
    if rec.key.is_some() {
        entry.key = rec.key;
    }
    if let Some(reason) = rec.withheld {
        ev.problems.push(CollectionProblem {
            what: "file".into(),
            path: Some(path),
            line: None,
            message: format!(
                "its content is not in the snapshot, which never keeps what it cannot redact: \
                 {reason}"
            ),
        });
    }
}

/// Reads a snapshot (a folder or a packed file) and builds the facts of
/// every host `select` keeps, hosts in parallel, in folder order.
pub fn load_fleet(
    root: &Path,
    select: impl Fn(&HostMeta) -> bool,
) -> Result<(Manifest, Fleet), SnapshotError> {
    let snapshot = Snapshot::open(root)?;
    let manifest = snapshot.manifest()?;
    let keep: Vec<usize> = (0..snapshot.len())
        .filter(|&i| select(snapshot.meta(i)))
        .collect();
    let hosts = keep
        .par_iter()
        .map(|&i| snapshot.load_host(i))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((manifest, Fleet { hosts }))
}

/// Reads one host folder and builds its facts (the evidence is dropped).
pub fn load_host(dir: &Path) -> Result<sslaudit_rules::facts::HostFacts, SnapshotError> {
    read_host(dir).map(|ev| crate::build::build_host(&ev))
}

impl Manifest {
    /// `collected_at` as unix seconds, when present and valid.
    pub fn collected_at_unix(&self) -> Option<i64> {
        let s = self.collected_at.as_deref()?;
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .ok()
            .map(|t| t.unix_timestamp())
    }
}

/// Where a host's files go inside `fs/`, or `None` for a path that could
/// escape it (`..`, `.`, empty components): host paths are untrusted.
fn fs_relative(path: &str) -> Option<&str> {
    let rest = path.strip_prefix('/')?;
    for part in rest.split('/') {
        if part.is_empty() || part == "." || part == ".." || part.contains('\0') {
            return None;
        }
    }
    Some(rest)
}

/// A name usable as one folder (environment or host name).
fn folder_name(kind: &str, name: &str) -> Result<String, SnapshotError> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        return Err(SnapshotError::Parse {
            path: PathBuf::from(name),
            line: 1,
            message: format!("{kind} name `{name}` cannot be a snapshot folder name"),
        });
    }
    Ok(name.to_string())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), SnapshotError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    fs::write(path, bytes).map_err(io_err(path))
}

/// Writes `value` as pretty JSON to `path`. A value serde_json cannot
/// write (a map with non-string keys, a failing `Serialize` impl) is an
/// error naming the file, never an empty file.
/// `value` as pretty JSON, the text of the file `path`.
fn json_bytes<T: Serialize>(path: &Path, value: &T) -> Result<Vec<u8>, SnapshotError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| SnapshotError::Serialize {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok((text + "\n").into_bytes())
}

/// What a snapshot holds of a file's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// Its content with every secret replaced, line for line.
    Redacted(Vec<u8>),
    /// A file the rules read whose secrets cannot be removed by its
    /// structure (it does not parse): why; never written.
    Withheld(String),
    /// A file no rule reads: listed, never copied.
    NotKept,
}

/// What [`write_host`] writes of the content of `path` on the host `ev`
/// describes.
pub fn as_written(ev: &HostEvidence, path: &str, content: &[u8]) -> Written {
    FileKinds::of(ev).as_written(path, content)
}

/// Which kind of file each path of a host is, for redaction: the files the
/// rules read by their role on the host, certificates by their content.
struct FileKinds {
    database_ymls: BTreeSet<String>,
    gemfile_locks: BTreeSet<String>,
    option_files: BTreeSet<String>,
    openssl_cnf: String,
}

impl FileKinds {
    fn of(ev: &HostEvidence) -> Self {
        let layout = Layout::with_overrides(&ev.meta.layout, &ev.meta.layout_overrides)
            .unwrap_or_else(|_| Layout::engineyard());
        let read = mycnf::parse_option_files(&layout.option_files, ev);
        FileKinds {
            database_ymls: ev.meta.database_yml.iter().cloned().collect(),
            gemfile_locks: ev
                .meta
                .database_yml
                .iter()
                .map(|p| gemfile_lock::path_for(p))
                .collect(),
            option_files: read.files_read.into_iter().collect(),
            openssl_cnf: layout.openssl_cnf,
        }
    }

    fn as_written(&self, path: &str, content: &[u8]) -> Written {
        match self.kind(path, content) {
            Some(kind) => match redact::redact(kind, content) {
                Ok(redacted) => Written::Redacted(redacted),
                Err(w) => Written::Withheld(w.reason),
            },
            None => Written::NotKept,
        }
    }

    /// `None`: a file no rule reads, which is never copied.
    fn kind(&self, path: &str, content: &[u8]) -> Option<redact::Kind> {
        use redact::Kind;
        if self.database_ymls.contains(path) {
            return Some(Kind::DatabaseYml);
        }
        if self.gemfile_locks.contains(path) {
            return Some(Kind::GemfileLock);
        }
        if path.starts_with("/var/lib/dpkg/info/") && path.ends_with(".shlibs") {
            return Some(Kind::PackageMetadata);
        }
        if path == self.openssl_cnf {
            return Some(Kind::OpensslCnf);
        }
        if path == "/etc/passwd" {
            return Some(Kind::Passwd);
        }
        // Option files mysqld reads (includes followed), and client ones.
        let name = path.rsplit('/').next().unwrap_or(path);
        if self.option_files.contains(path) || name.ends_with(".cnf") || name == ".my.cnf" {
            return Some(Kind::OptionFile);
        }
        if x509::looks_like_certificate(content) {
            // PEM is text (with bag attributes, perhaps); DER never is.
            return Some(if std::str::from_utf8(content).is_ok() {
                Kind::Pem
            } else {
                Kind::Der
            });
        }
        if x509::looks_like_public_key(content) {
            return Some(Kind::Pem);
        }
        None
    }
}

/// Writes one host's evidence as `<root>/<environment>/<name>/`: the files
/// the rules read with their secrets redacted in place by their structure
/// (or withheld, with why, when that cannot be done), private keys as
/// derived facts only, other files listed but never copied.
pub fn write_host(root: &Path, ev: &HostEvidence) -> Result<PathBuf, SnapshotError> {
    let (folder, members) = host_members(ev)?;
    let dir = root.join(&folder);
    fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    for (rel, bytes) in members {
        write_file(&dir.join(rel), &bytes)?;
    }
    Ok(dir)
}

/// Appends one host's evidence to a packed snapshot, its members together,
/// as [`write_host`] writes them to a folder.
pub fn write_host_packed(
    writer: &std::sync::Mutex<pack::PackedWriter>,
    ev: &HostEvidence,
) -> Result<String, SnapshotError> {
    let (folder, members) = host_members(ev)?;
    let mut w = writer
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    w.add_host(&folder, &members)?;
    Ok(folder)
}

/// A host's files, relative to its folder, with their contents.
pub type Members = Vec<(String, Vec<u8>)>;

/// What a host's folder holds: `<environment>/<name>` and its files
/// (relative to it) with their contents, in the order they are written.
pub fn host_members(ev: &HostEvidence) -> Result<(String, Members), SnapshotError> {
    let folder = format!(
        "{}/{}",
        folder_name("environment", &ev.meta.environment)?,
        folder_name("host", &ev.meta.name)?
    );
    let label = PathBuf::from(&folder);
    let mut members = Vec::new();
    let mut meta = ev.meta.clone();
    meta.problems.extend(ev.problems.iter().cloned());
    let host_toml = toml::to_string_pretty(&meta).map_err(|e| SnapshotError::Parse {
        path: label.join("host.toml"),
        line: 1,
        message: e.to_string(),
    })?;
    members.push(("host.toml".to_string(), host_toml.into_bytes()));

    let kinds = FileKinds::of(ev);
    let mut records: BTreeMap<String, FileRecord> = BTreeMap::new();
    for (path, entry) in &ev.files {
        let Some(rel) = fs_relative(path) else {
            continue;
        };
        let (status, reason) = match &entry.meta.status {
            FileStatus::Present => ("present", None),
            FileStatus::Missing => ("missing", None),
            FileStatus::Unreadable { reason } => ("unreadable", Some(reason.clone())),
        };
        let mut record = FileRecord {
            status: status.into(),
            reason,
            mode: entry.meta.mode.map(|m| format!("{m:04o}")),
            owner: entry.meta.owner.clone(),
            group: entry.meta.group.clone(),
            size: entry.meta.size,
            key: entry.key.clone(),
            withheld: None,
            not_kept: false,
        };
        if let Some(content) = &entry.content {
            match kinds.as_written(path, content) {
                Written::Redacted(redacted) => {
                    members.push((format!("fs/{rel}"), redacted));
                }
                Written::Withheld(reason) => record.withheld = Some(reason),
                Written::NotKept => record.not_kept = true,
            }
        }
        records.insert(path.clone(), record);
    }
    members.push((
        "files.json".into(),
        json_bytes(&label.join("files.json"), &records)?,
    ));
    if let Some(m) = &ev.mysql {
        members.push((
            "mysql.json".into(),
            json_bytes(&label.join("mysql.json"), m)?,
        ));
    }
    if let Some(c) = &ev.connection {
        members.push((
            "connection.json".into(),
            json_bytes(&label.join("connection.json"), c)?,
        ));
    }
    if let Some(p) = &ev.probe {
        members.push((
            "probe.json".into(),
            json_bytes(&label.join("probe.json"), p)?,
        ));
    }
    if !ev.galera_ports.is_empty() {
        members.push((
            "galera_ports.json".into(),
            json_bytes(&label.join("galera_ports.json"), &ev.galera_ports)?,
        ));
    }
    Ok((folder, members))
}

/// Writes `snapshot.toml` and `SHA256SUMS` (every file of the snapshot, in
/// `sha256sum -c` format) once every host is written.
pub fn write_manifest(root: &Path, manifest: &Manifest) -> Result<(), SnapshotError> {
    let text = toml::to_string_pretty(manifest).map_err(|e| SnapshotError::Parse {
        path: root.join("snapshot.toml"),
        line: 1,
        message: e.to_string(),
    })?;
    write_file(&root.join("snapshot.toml"), text.as_bytes())?;
    let mut files = Vec::new();
    collect_paths(root, root, &mut files)?;
    files.sort();
    let mut sums = String::new();
    for rel in files {
        if rel == Path::new("SHA256SUMS") {
            continue;
        }
        let bytes = fs::read(root.join(&rel)).map_err(io_err(&rel))?;
        let digest = sha2::Sha256::digest(&bytes);
        sums.push_str(&format!("{}  {}\n", hex::encode(digest), rel.display()));
    }
    write_file(&root.join("SHA256SUMS"), sums.as_bytes())
}

fn collect_paths(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SnapshotError> {
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let p = entry.path();
        if entry.file_type().map_err(io_err(&p))?.is_dir() {
            collect_paths(root, &p, out)?;
        } else if let Ok(rel) = p.strip_prefix(root) {
            out.push(rel.to_path_buf());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sslaudit_rules::facts::{KeyAlgorithm, PrivateKeyFacts};

    #[test]
    fn evidence_that_cannot_be_serialized_is_an_error_naming_the_file() {
        let path = PathBuf::from("production/db/mysql.json");
        // serde_json refuses map keys that are not strings.
        let bad: BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into_iter().collect();
        let err = json_bytes(&path, &bad).unwrap_err();
        assert!(matches!(&err, SnapshotError::Serialize { path: p, .. } if *p == path));
        assert!(err.to_string().contains("mysql.json"), "{err}");
        assert_eq!(
            json_bytes(&path, &BTreeMap::from([("a", 1)])).unwrap(),
            b"{\n  \"a\": 1\n}\n"
        );
    }

    fn entry(path: &str, content: Option<&[u8]>, mode: u32) -> FileEntry {
        FileEntry {
            meta: FileMeta {
                path: path.into(),
                status: FileStatus::Present,
                mode: Some(mode),
                owner: Some("mysql".into()),
                group: Some("mysql".into()),
                size: content.map(|c| c.len() as u64),
                lines: None,
            },
            content: content.map(<[u8]>::to_vec),
            key: None,
        }
    }

    #[test]
    fn written_evidence_reads_back_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let meta: HostMeta = toml::from_str(
            "name = \"db-master\"\nenvironment = \"production\"\nroles = [\"db_master\"]\n",
        )
        .unwrap();
        let mut files = BTreeMap::new();
        files.insert(
            "/etc/mysql/my.cnf".to_string(),
            entry(
                "/etc/mysql/my.cnf",
                Some(b"[client]\npassword=hunter2\n"),
                0o644,
            ),
        );
        let mut key = entry("/db/mysql/5.6/data/server.key", None, 0o600);
        key.key = Some(PrivateKeyFacts {
            algorithm: KeyAlgorithm::Rsa,
            bits: 2048,
            curve: None,
            encrypted: false,
            spki_sha256: Some("ab".repeat(32)),
            format: "RSA PRIVATE KEY".into(),
        });
        files.insert(key.meta.path.clone(), key);
        files.insert(
            "/../../escape".to_string(),
            entry("/../../escape", Some(b"x"), 0o644),
        );
        // A database.yml the inventory names, with a secret in a block
        // scalar; one that does not parse; a script no rule reads.
        let yml = "/data/shop/current/config/database.yml";
        let broken = "/data/shop/current/config/broken.yml";
        files.insert(
            yml.to_string(),
            entry(
                yml,
                Some(b"production:\n  password: >-\n    hunter3\n  host: db\n"),
                0o640,
            ),
        );
        files.insert(
            broken.to_string(),
            entry(broken, Some(b"production:\n  password: [hunter4\n"), 0o640),
        );
        files.insert(
            "/etc/mysql/debian-start".to_string(),
            entry(
                "/etc/mysql/debian-start",
                Some(b"#!/bin/sh\nPW=hunter5\n"),
                0o755,
            ),
        );
        let mut meta = meta;
        meta.database_yml = vec![yml.to_string(), broken.to_string()];
        let ev = HostEvidence {
            meta,
            origin: "test".into(),
            declared_at: None,
            files,
            mysql: None,
            connection: None,
            probe: None,
            galera_ports: Vec::new(),
            problems: Vec::new(),
        };
        let host_dir = write_host(dir.path(), &ev).unwrap();
        write_manifest(
            dir.path(),
            &Manifest {
                format: FORMAT,
                tool: Some("sslaudit test".into()),
                collected_at: Some("2026-11-30T00:00:00Z".into()),
                description: None,
                inventory: None,
            },
        )
        .unwrap();
        assert!(!dir.path().join("escape").exists());
        let back = read_host(&host_dir).unwrap();
        assert_eq!(
            back.files["/etc/mysql/my.cnf"].content.as_deref(),
            Some(&b"[client]\npassword=<redacted>\n"[..])
        );
        let k = &back.files["/db/mysql/5.6/data/server.key"];
        assert_eq!(k.meta.mode, Some(0o600));
        assert!(k.content.is_none());
        assert_eq!(k.key.as_ref().unwrap().bits, 2048);
        assert_eq!(
            back.files[yml].content.as_deref(),
            Some(&b"production:\n  password: >-\n    <redacted>\n  host: db\n"[..])
        );
        // Not parsed, not written: the record says why, and a scan says so.
        assert!(back.files[broken].content.is_none());
        assert!(
            back.problems
                .iter()
                .any(|p| p.path.as_deref() == Some(broken) && p.message.contains("not valid YAML")),
            "{:?}",
            back.problems
        );
        // No rule reads it: listed, never copied, no problem.
        assert!(back.files["/etc/mysql/debian-start"].content.is_none());
        assert_eq!(back.problems.len(), 1, "{:?}", back.problems);
        let mut written = Vec::new();
        collect_paths(dir.path(), dir.path(), &mut written).unwrap();
        for f in written {
            let text = fs::read(dir.path().join(&f)).unwrap();
            for secret in ["hunter2", "hunter3", "hunter4", "hunter5"] {
                assert!(
                    !String::from_utf8_lossy(&text).contains(secret),
                    "{secret} in {}",
                    f.display()
                );
            }
        }
        let sums = fs::read_to_string(dir.path().join("SHA256SUMS")).unwrap();
        assert!(sums.contains("production/db-master/host.toml"));
        assert_eq!(read_manifest(dir.path()).unwrap().format, FORMAT);
    }
}
