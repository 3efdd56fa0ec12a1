//! Reading a snapshot folder (docs/snapshot-format.md) into evidence.
//!
//! The folder's structure (snapshot.toml, host.toml) is the caller's
//! contract: a broken one stops the scan with an error naming the file and
//! line. Everything a host handed over (its files, mysql.json, ...) is
//! evidence: a bad one becomes a problem on that host (SCAN002) and the
//! scan goes on.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::collections::BTreeSet;

use sslaudit_rules::facts::{CollectionProblem, FileMeta, FileStatus, Fleet};
use sslaudit_rules::layout::Layout;
use sslaudit_rules::parse::{gemfile_lock, mycnf, redact, x509};

use crate::evidence::{FileEntry, FileRecord, HostEvidence, HostMeta};

/// The snapshot format this build reads and writes.
pub const FORMAT: u32 = 1;

/// Files larger than this are recorded but not read.
pub const MAX_FILE_BYTES: u64 = crate::limits::SNAPSHOT_FILE_BYTES;

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
    #[error("snapshot folder {0} does not exist")]
    NotFound(PathBuf),
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

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Parses a TOML file, turning errors into `file:line: message`.
fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, SnapshotError> {
    let text = fs::read_to_string(path).map_err(io_err(path))?;
    toml::from_str(&text).map_err(|e| SnapshotError::Parse {
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
    let mut dirs = Vec::new();
    for env in sorted_dirs(root)? {
        for host in sorted_dirs(&env)? {
            if host.join("host.toml").is_file() {
                dirs.push(host);
            }
        }
    }
    if dirs.is_empty() {
        return Err(SnapshotError::Empty(root.to_path_buf()));
    }
    Ok(dirs)
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
    let mut meta: HostMeta = read_toml(&dir.join("host.toml"))?;
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
    let mut ev = HostEvidence {
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
    };
    let records: BTreeMap<String, FileRecord> =
        read_json_evidence(dir, "files.json", &mut ev.problems).unwrap_or_default();
    let fs_root = dir.join("fs");
    if fs_root.is_dir() {
        walk_fs(&fs_root, &fs_root, &mut ev);
    }
    for (path, rec) in records {
        apply_record(&mut ev, path, rec);
    }
    ev.mysql = read_json_evidence(dir, "mysql.json", &mut ev.problems);
    ev.connection = read_json_evidence(dir, "connection.json", &mut ev.problems);
    ev.probe = read_json_evidence(dir, "probe.json", &mut ev.problems);
    ev.galera_ports =
        read_json_evidence(dir, "galera_ports.json", &mut ev.problems).unwrap_or_default();
    Ok(ev)
}

/// Reads an optional JSON evidence file; a broken one is a problem on the host.
fn read_json_evidence<T: serde::de::DeserializeOwned>(
    dir: &Path,
    name: &str,
    problems: &mut Vec<CollectionProblem>,
) -> Option<T> {
    let path = dir.join(name);
    let text = match read_text_capped(&path, crate::limits::SNAPSHOT_JSON_BYTES) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
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

fn walk_fs(fs_root: &Path, dir: &Path, ev: &mut HostEvidence) {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            ev.problems.push(CollectionProblem {
                what: "snapshot folder".into(),
                path: Some(dir.display().to_string()),
                line: None,
                message: e.to_string(),
            });
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        let Ok(rel) = p.strip_prefix(fs_root) else {
            continue;
        };
        let host_path = format!("/{}", rel.to_string_lossy());
        let Ok(md) = fs::symlink_metadata(&p) else {
            continue;
        };
        if md.is_dir() {
            walk_fs(fs_root, &p, ev);
            continue;
        }
        let mut meta = FileMeta {
            path: host_path.clone(),
            status: FileStatus::Present,
            mode: Some(0o644),
            owner: Some("root".into()),
            group: Some("root".into()),
            size: Some(md.len()),
            lines: None,
        };
        let content = if md.file_type().is_symlink() {
            // A snapshot holds files as found, never links: a link in one
            // could point anywhere on the scanning machine.
            meta.status = FileStatus::Unreadable {
                reason: "symbolic link inside the snapshot (not followed)".into(),
            };
            None
        } else if !md.file_type().is_file() {
            // A FIFO or device would block the read or never end.
            meta.status = FileStatus::Unreadable {
                reason: "not a regular file inside the snapshot (not read)".into(),
            };
            None
        } else if md.len() > MAX_FILE_BYTES {
            meta.status = FileStatus::Unreadable {
                reason: format!(
                    "file is {} bytes, over the {} byte cap",
                    md.len(),
                    MAX_FILE_BYTES
                ),
            };
            None
        } else {
            match read_capped(&p, md.len()) {
                Ok(bytes) => Some(bytes),
                Err(e) => {
                    meta.status = FileStatus::Unreadable {
                        reason: e.to_string(),
                    };
                    None
                }
            }
        };
        ev.files.insert(
            host_path,
            FileEntry {
                meta,
                content,
                key: None,
            },
        );
    }
}

/// Reads at most `MAX_FILE_BYTES` bytes; `expected` (the size seen a
/// moment ago) sizes the buffer so a small file costs one read, not a probe.
fn read_capped(path: &Path, expected: u64) -> std::io::Result<Vec<u8>> {
    read_limited(path, MAX_FILE_BYTES, expected)
}

/// At most `cap` bytes of a file: one that is larger (or grew past the cap
/// since its size was checked) is an error, never read whole.
fn read_limited(path: &Path, cap: u64, expected: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(usize::try_from(expected.min(cap) + 1).unwrap_or(0));
    fs::File::open(path)?.take(cap + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > cap {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("file is over the {cap} byte cap"),
        ));
    }
    Ok(buf)
}

/// A snapshot's JSON evidence as text, at most `cap` bytes.
fn read_text_capped(path: &Path, cap: u64) -> std::io::Result<String> {
    String::from_utf8(read_limited(path, cap, 0)?)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
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

/// Reads a snapshot and builds the facts of every host `select` keeps,
/// hosts in parallel, in folder order.
pub fn load_fleet(
    root: &Path,
    select: impl Fn(&HostMeta) -> bool,
) -> Result<(Manifest, Fleet), SnapshotError> {
    let manifest = read_manifest(root)?;
    let mut dirs = Vec::new();
    for dir in host_dirs(root)? {
        if select(&read_host_meta(&dir)?) {
            dirs.push(dir);
        }
    }
    let hosts = dirs
        .par_iter()
        .map(|d| read_host(d).map(|ev| crate::build::build_host(&ev)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((manifest, Fleet { hosts }))
}

/// The host folders `select` keeps, grouped by environment (in the order
/// each first appears; folder order within), without building them: what
/// a streaming scan loads one environment at a time with [`load_host`].
pub fn host_groups(
    root: &Path,
    select: impl Fn(&HostMeta) -> bool,
) -> Result<(Manifest, Vec<Vec<PathBuf>>), SnapshotError> {
    let manifest = read_manifest(root)?;
    let mut groups: Vec<Vec<PathBuf>> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for dir in host_dirs(root)? {
        let meta = read_host_meta(&dir)?;
        if !select(&meta) {
            continue;
        }
        let i = *index.entry(meta.environment).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[i].push(dir);
    }
    Ok((manifest, groups))
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
fn fs_relative(path: &str) -> Option<PathBuf> {
    let rest = path.strip_prefix('/')?;
    let mut out = PathBuf::new();
    for part in rest.split('/') {
        if part.is_empty() || part == "." || part == ".." || part.contains('\0') {
            return None;
        }
        out.push(part);
    }
    Some(out)
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
fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), SnapshotError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| SnapshotError::Serialize {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    write_file(path, (text + "\n").as_bytes())
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
    let dir = root
        .join(folder_name("environment", &ev.meta.environment)?)
        .join(folder_name("host", &ev.meta.name)?);
    fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let mut meta = ev.meta.clone();
    meta.problems.extend(ev.problems.iter().cloned());
    let host_toml = toml::to_string_pretty(&meta).map_err(|e| SnapshotError::Parse {
        path: dir.join("host.toml"),
        line: 1,
        message: e.to_string(),
    })?;
    write_file(&dir.join("host.toml"), host_toml.as_bytes())?;

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
                Written::Redacted(redacted) => write_file(&dir.join("fs").join(rel), &redacted)?,
                Written::Withheld(reason) => record.withheld = Some(reason),
                Written::NotKept => record.not_kept = true,
            }
        }
        records.insert(path.clone(), record);
    }
    write_json(&dir.join("files.json"), &records)?;
    if let Some(m) = &ev.mysql {
        write_json(&dir.join("mysql.json"), m)?;
    }
    if let Some(c) = &ev.connection {
        write_json(&dir.join("connection.json"), c)?;
    }
    if let Some(p) = &ev.probe {
        write_json(&dir.join("probe.json"), p)?;
    }
    if !ev.galera_ports.is_empty() {
        write_json(&dir.join("galera_ports.json"), &ev.galera_ports)?;
    }
    Ok(dir)
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
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mysql.json");
        // serde_json refuses map keys that are not strings.
        let bad: BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into_iter().collect();
        let err = write_json(&path, &bad).unwrap_err();
        assert!(matches!(&err, SnapshotError::Serialize { path: p, .. } if *p == path));
        assert!(err.to_string().contains("mysql.json"), "{err}");
        assert!(!path.exists(), "no empty file left behind");
        write_json(&path, &BTreeMap::from([("a", 1)])).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\n  \"a\": 1\n}\n");
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
