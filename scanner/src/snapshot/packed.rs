//! Reading a packed snapshot: the folder form's files as the members of
//! one tar file (docs/snapshot-format.md, "The packed form").
//!
//! Opening reads the archive once, front to back in large reads: it checks
//! the packed format header, keeps `snapshot.toml` and each host's
//! `host.toml`, and notes where each host's members lie (they are
//! contiguous) and where its lines of `SHA256SUMS` are. A host is then
//! loaded with two positioned reads (its members, its sums) and every
//! member is checked against `SHA256SUMS` as it is read: memory follows the
//! hosts being scanned, not the archive.
//!
//! Errors name the archive and the member (`fleet.sslsnap/<env>/<host>/...`,
//! as the folder form names `DIR/<env>/<host>/...`). A broken archive (bad
//! headers, a truncated member, no `SHA256SUMS`, a host's members apart)
//! stops with an error; a member that does not match `SHA256SUMS` is a
//! problem on its host (SCAN002), its content unused.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, ErrorKind, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Component, Path, PathBuf};

use sha2::Digest;
use sslaudit_rules::facts::CollectionProblem;

use super::{
    FileRecord, HostEvidence, HostMeta, MAX_FILE_BYTES, SPECIAL_REASON, SYMLINK_REASON,
    SnapshotError, finish_host, host_meta_from, json_evidence, kept_file, new_evidence, over_cap,
    over_cap_reason,
};

/// The packed form this build reads and writes.
pub const PACKED_FORMAT: u32 = 1;
/// The key of the archive's first header (a pax global header) that says
/// it is a packed sslaudit snapshot, and of which packed format.
pub const PAX_KEY: &str = "SSLAUDIT.packed";
/// The file name extension `collect --packed` and `snapshot pack` suggest.
pub const EXTENSION: &str = "sslsnap";

const BLOCK: u64 = 512;

/// A SHA-256 digest.
pub(crate) type Digest32 = [u8; 32];

/// An open packed snapshot.
#[derive(Debug)]
pub struct Packed {
    path: PathBuf,
    file: File,
    /// `snapshot.toml`, as packed.
    manifest: Vec<u8>,
    /// Sorted by folder (`<env>/<host>`).
    hosts: Vec<PackedHost>,
}

/// Where one host lies in the archive.
#[derive(Debug, Clone)]
pub struct PackedHost {
    /// `<env>/<host>`.
    pub folder: String,
    pub meta: HostMeta,
    /// Its members: from the first one's header to the last one's data.
    members: (u64, u64),
    /// Its lines of `SHA256SUMS`, as offsets in the archive.
    sums: (u64, u64),
}

/// A broken archive: an error naming it (and the member, when known).
fn broken(path: &Path, message: impl Into<String>) -> SnapshotError {
    SnapshotError::Packed {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn round_up(n: u64) -> u64 {
    n.div_ceil(BLOCK) * BLOCK
}

/// A member's path as `/`-separated normal components, or `None` for one
/// that is absolute, has `..`, or is not UTF-8 (never a snapshot's).
pub(crate) fn member_name(p: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str()?),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// `<env>/<host>` and the rest of a member inside a host folder.
fn split_host(name: &str) -> Option<(&str, &str)> {
    let first = name.find('/')?;
    let second = first + 1 + name[first + 1..].find('/')?;
    Some((&name[..second], &name[second + 1..]))
}

/// Parses a pax record set (`"<len> key=value\n"...`).
fn pax_records(data: &[u8]) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut rest = data;
    while !rest.is_empty() {
        let space = rest.iter().position(|&b| b == b' ')?;
        let len: usize = std::str::from_utf8(&rest[..space]).ok()?.parse().ok()?;
        if len <= space + 1 || len > rest.len() || rest[len - 1] != b'\n' {
            return None;
        }
        let record = std::str::from_utf8(&rest[space + 1..len - 1]).ok()?;
        let (k, v) = record.split_once('=')?;
        out.insert(k.to_string(), v.to_string());
        rest = &rest[len..];
    }
    Some(out)
}

/// One pax record, its length prefix included.
pub(crate) fn pax_record(key: &str, value: &str) -> String {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while format!("{len}").len() + body.len() != len {
        len += 1;
    }
    format!("{len}{body}")
}

/// A `SHA256SUMS` line: the digest and the path, as `sha256sum` writes them.
pub(crate) fn sums_line(line: &str) -> Option<(Digest32, &str)> {
    let (hex_part, path) = line.split_at_checked(64)?;
    let path = path
        .strip_prefix("  ")
        .or_else(|| path.strip_prefix(" *"))?;
    let mut digest = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut digest).ok()?;
    (!path.is_empty()).then_some((digest, path))
}

impl Packed {
    /// Opens `path` and reads its index (one pass over the archive).
    pub fn open(path: &Path) -> Result<Packed, SnapshotError> {
        let file = File::open(path).map_err(|source| SnapshotError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file_len = file
            .metadata()
            .map_err(|source| SnapshotError::Io {
                path: path.to_path_buf(),
                source,
            })?
            .len();
        let reader = Skipping::new(BufReader::with_capacity(1 << 20, &file));
        let mut archive = tar::Archive::new(reader);
        let io = |what: &str, e: std::io::Error| broken(path, format!("{what}: {e}"));
        let mut entries = archive.entries_with_seek().map_err(|e| io("reading", e))?;
        // The first header says what this is.
        let mut first = match entries.next() {
            Some(Ok(e)) => e,
            Some(Err(e)) => return Err(io("not a packed snapshot (no tar header)", e)),
            None => return Err(broken(path, "empty archive: not a packed snapshot")),
        };
        if first.header().entry_type() != tar::EntryType::XGlobalHeader {
            return Err(broken(
                path,
                format!("not a packed snapshot (its first header is not sslaudit's `{PAX_KEY}`)"),
            ));
        }
        let mut data = Vec::new();
        first
            .read_to_end(&mut data)
            .map_err(|e| io("the format header", e))?;
        let format = pax_records(&data)
            .and_then(|r| r.get(PAX_KEY).cloned())
            .ok_or_else(|| broken(path, format!("not a packed snapshot (no `{PAX_KEY}` key)")))?;
        if format != PACKED_FORMAT.to_string() {
            return Err(broken(
                path,
                format!(
                    "packed snapshot format {format} is not supported (this build reads format \
                     {PACKED_FORMAT})"
                ),
            ));
        }
        let mut end = first.raw_file_position() + round_up(first.size());
        drop(first);

        let mut manifest: Option<Vec<u8>> = None;
        let mut root_sums: HashMap<String, Digest32> = HashMap::new();
        let mut host_sums: HashMap<String, (u64, u64)> = HashMap::new();
        let mut have_sums = false;
        // Each host's host.toml, checked once SHA256SUMS is read, then parsed.
        let mut host_tomls: Vec<(String, String)> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut current: Option<(String, u64)> = None;
        // Members of hosts: folder -> (start, end), in archive order.
        let mut blocks: Vec<(String, u64, u64)> = Vec::new();
        // Each host's host.toml line of SHA256SUMS.
        let mut host_toml_sums: HashMap<String, Digest32> = HashMap::new();

        for entry in entries {
            let mut entry = entry.map_err(|e| {
                broken(
                    path,
                    format!("the archive is broken after byte {end} (truncated or damaged?): {e}"),
                )
            })?;
            let start = end;
            let data_at = entry.raw_file_position();
            let size = entry.size();
            end = data_at + round_up(size);
            // Skipped content is seeked over, not read: a member that runs
            // past the end of the file is caught here.
            if data_at.saturating_add(size) > file_len {
                return Err(broken(
                    path,
                    format!(
                        "the archive is broken after byte {start} (truncated or damaged?): a \
                         member of {size} bytes at byte {data_at} ends past the end of the file \
                         ({file_len} bytes)"
                    ),
                ));
            }
            let raw = entry.path().map_err(|e| io("a member's name", e))?;
            let Some(name) = member_name(&raw) else {
                return Err(broken(
                    path,
                    format!("member `{}` is not a relative path", raw.display()),
                ));
            };
            let member = |m: &str| path.join(m);
            let kind = entry.header().entry_type();
            if split_host(&name).is_none() {
                // A member outside the hosts ends the one being read.
                if let Some((f, s)) = current.take() {
                    blocks.push((f, s, start));
                }
            }
            match split_host(&name) {
                None if name == "snapshot.toml" => {
                    let mut bytes = Vec::new();
                    entry
                        .read_to_end(&mut bytes)
                        .map_err(|e| io("snapshot.toml", e))?;
                    manifest = Some(bytes);
                }
                None if name == "SHA256SUMS" => {
                    have_sums = true;
                    let mut lines = BufReader::new(&mut entry);
                    let mut at = data_at;
                    let mut line = String::new();
                    let mut number = 0;
                    loop {
                        line.clear();
                        let n = lines.read_line(&mut line).map_err(|e| {
                            broken(&member("SHA256SUMS"), format!("line {}: {e}", number + 1))
                        })?;
                        if n == 0 {
                            break;
                        }
                        number += 1;
                        let Some((digest, file)) = sums_line(line.trim_end_matches('\n')) else {
                            return Err(SnapshotError::Parse {
                                path: member("SHA256SUMS"),
                                line: number,
                                message: "not a `sha256sum` line (64 hex digits, two spaces, \
                                          a path)"
                                    .into(),
                            });
                        };
                        match split_host(file) {
                            Some((folder, rest)) => {
                                if rest == "host.toml" {
                                    host_toml_sums.insert(folder.to_string(), digest);
                                }
                                let range = host_sums.entry(folder.to_string()).or_insert((at, at));
                                if range.1 != at {
                                    return Err(SnapshotError::Parse {
                                        path: member("SHA256SUMS"),
                                        line: number,
                                        message: format!(
                                            "the lines of {folder} are not together (the file \
                                             is sorted by path)"
                                        ),
                                    });
                                }
                                range.1 = at + n as u64;
                            }
                            None => {
                                root_sums.insert(file.to_string(), digest);
                            }
                        }
                        at += n as u64;
                    }
                }
                None => {}
                Some((folder, rest)) => {
                    match &mut current {
                        Some((f, _)) if f == folder => {}
                        _ => {
                            if let Some((f, s)) = current.take() {
                                blocks.push((f, s, start));
                            }
                            if !seen.insert(folder.to_string()) {
                                return Err(broken(
                                    &member(&name),
                                    format!(
                                        "the members of {folder} are not together in the archive"
                                    ),
                                ));
                            }
                            current = Some((folder.to_string(), start));
                        }
                    }
                    if rest == "host.toml" && kind.is_file() {
                        let mut text = String::new();
                        entry
                            .read_to_string(&mut text)
                            .map_err(|e| broken(&member(&name), e.to_string()))?;
                        host_tomls.push((folder.to_string(), text));
                    }
                }
            }
        }
        if let Some((f, s)) = current.take() {
            blocks.push((f, s, end));
        }
        // tar ends with two zero blocks; a file cut at a member's boundary
        // reads as an archive that just ends there.
        if end.saturating_add(1024) > file_len {
            return Err(broken(
                path,
                format!(
                    "the archive is broken after byte {end} (truncated or damaged?): it ends \
                     without tar's end-of-archive blocks"
                ),
            ));
        }
        let manifest = manifest.ok_or_else(|| {
            broken(
                path,
                "no snapshot.toml member: truncated, or not a snapshot",
            )
        })?;
        if !have_sums {
            return Err(broken(
                path,
                "no SHA256SUMS member (its last): truncated, or not written by sslaudit",
            ));
        }
        // What a whole snapshot rests on must match its digests: a
        // changed snapshot.toml or host.toml stops the scan.
        let check = |name: &str, digest: Digest32| -> Result<(), SnapshotError> {
            match root_sums.get(name) {
                Some(d) if *d == digest => Ok(()),
                Some(_) => Err(broken(
                    &path.join(name),
                    "does not match its SHA-256 in SHA256SUMS (changed since it was packed)",
                )),
                None => Err(broken(&path.join(name), "is not listed in SHA256SUMS")),
            }
        };
        check("snapshot.toml", sha2::Sha256::digest(&manifest).into())?;
        let blocks: HashMap<String, (u64, u64)> =
            blocks.into_iter().map(|(f, s, e)| (f, (s, e))).collect();
        let mut hosts = Vec::with_capacity(host_tomls.len());
        for (folder, text) in host_tomls {
            let name = format!("{folder}/host.toml");
            let digest: Digest32 = sha2::Sha256::digest(&text).into();
            if host_toml_sums.get(&folder) != Some(&digest) {
                return Err(broken(
                    &path.join(&name),
                    "does not match its SHA-256 in SHA256SUMS (changed since it was packed, or \
                     not listed)",
                ));
            }
            hosts.push(PackedHost {
                meta: host_meta_from(&path.join(&name), &text, &path.join(&folder))?,
                members: blocks.get(&folder).copied().unwrap_or((0, 0)),
                sums: host_sums.get(&folder).copied().unwrap_or((0, 0)),
                folder,
            });
        }
        hosts.sort_by(|a, b| Path::new(&a.folder).cmp(Path::new(&b.folder)));
        if hosts.is_empty() {
            return Err(SnapshotError::Empty(path.to_path_buf()));
        }
        Ok(Packed {
            path: path.to_path_buf(),
            file,
            manifest,
            hosts,
        })
    }

    /// `snapshot.toml`, as packed.
    pub fn manifest_bytes(&self) -> &[u8] {
        &self.manifest
    }

    /// The archive's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its hosts, sorted by folder.
    pub fn hosts(&self) -> &[PackedHost] {
        &self.hosts
    }

    fn read_at(&self, (start, end): (u64, u64), what: &str) -> Result<Vec<u8>, SnapshotError> {
        let mut buf = vec![0u8; usize::try_from(end - start).unwrap_or(0)];
        self.file.read_exact_at(&mut buf, start).map_err(|e| {
            let message = if e.kind() == ErrorKind::UnexpectedEof {
                format!("{what}: the archive ends early (truncated?)")
            } else {
                format!("{what}: {e}")
            };
            broken(&self.path, message)
        })?;
        Ok(buf)
    }

    /// Reads one host's members, each checked against `SHA256SUMS`.
    pub fn read_host(&self, host: &PackedHost) -> Result<HostEvidence, SnapshotError> {
        let dir = self.path.join(&host.folder);
        let mut ev = new_evidence(host.meta.clone(), &dir);
        let block = self.read_at(host.members, &host.folder)?;
        let sums_text = self.read_at(host.sums, "SHA256SUMS")?;
        let prefix = format!("{}/", host.folder);
        let mut sums: BTreeMap<String, Digest32> = String::from_utf8_lossy(&sums_text)
            .lines()
            .filter_map(sums_line)
            .filter_map(|(d, p)| p.strip_prefix(&prefix).map(|rest| (rest.to_string(), d)))
            .collect();
        let mut json: BTreeMap<String, std::io::Result<Vec<u8>>> = BTreeMap::new();
        let mut integrity = Vec::new();
        let mut archive = tar::Archive::new(&block[..]);
        let entries = archive.entries().map_err(|e| broken(&dir, e.to_string()))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| broken(&dir, e.to_string()))?;
            let raw = entry.path().map_err(|e| broken(&dir, e.to_string()))?;
            let Some(name) = member_name(&raw) else {
                continue;
            };
            let Some(rest) = name.strip_prefix(&prefix) else {
                continue;
            };
            let rest = rest.to_string();
            let kind = entry.header().entry_type();
            if kind.is_dir() || rest == "host.toml" {
                sums.remove(&rest);
                continue;
            }
            let size = entry.size();
            let link_len = entry.link_name_bytes().map(|l| l.len() as u64).unwrap_or(0);
            let cap = if rest.starts_with("fs/") {
                MAX_FILE_BYTES
            } else {
                crate::limits::SNAPSHOT_JSON_BYTES
            };
            let mut bytes = Vec::new();
            let content: std::io::Result<Vec<u8>> = if !kind.is_file() {
                Ok(Vec::new())
            } else if size > cap {
                Err(over_cap(cap))
            } else {
                entry.read_to_end(&mut bytes).map(|_| bytes)
            };
            // Every member is checked against its digest; one that does not
            // match is not used.
            let verdict = match (&content, sums.remove(&rest)) {
                (Ok(b), Some(d)) if kind.is_file() && sha2::Sha256::digest(b)[..] != d[..] => {
                    Some("its SHA-256 does not match SHA256SUMS: it changed since it was packed")
                }
                (_, None) => Some("it is not listed in SHA256SUMS"),
                _ => None,
            };
            let content = match verdict {
                Some(why) => {
                    integrity.push(CollectionProblem {
                        what: "snapshot member".into(),
                        path: Some(dir.join(&rest).display().to_string()),
                        line: None,
                        message: format!("{why}; its content is not used"),
                    });
                    Err(std::io::Error::new(ErrorKind::InvalidData, why))
                }
                None => content,
            };
            if let Some(file) = rest.strip_prefix("fs/") {
                let host_path = format!("/{file}");
                let entry = if kind.is_symlink() {
                    kept_file(host_path.clone(), link_len, Err(SYMLINK_REASON.into()))
                } else if !kind.is_file() {
                    kept_file(host_path.clone(), size, Err(SPECIAL_REASON.into()))
                } else {
                    match content {
                        Ok(b) => kept_file(host_path.clone(), b.len() as u64, Ok(b)),
                        Err(e) if e.kind() == ErrorKind::FileTooLarge => {
                            kept_file(host_path.clone(), size, Err(over_cap_reason(size)))
                        }
                        Err(e) => kept_file(host_path.clone(), size, Err(e.to_string())),
                    }
                };
                ev.files.insert(host_path, entry);
            } else if !rest.contains('/') {
                json.insert(rest, content);
            }
        }
        for (missing, _) in sums {
            integrity.push(CollectionProblem {
                what: "snapshot member".into(),
                path: Some(dir.join(&missing).display().to_string()),
                line: None,
                message:
                    "listed in SHA256SUMS but not in the archive (removed since it was packed)"
                        .into(),
            });
        }
        ev.problems.extend(integrity);
        let take = |name: &str| -> std::io::Result<Option<Vec<u8>>> {
            match json.get(name) {
                None => Ok(None),
                Some(Ok(b)) => Ok(Some(b.clone())),
                Some(Err(e)) => Err(std::io::Error::new(e.kind(), e.to_string())),
            }
        };
        let records: BTreeMap<String, FileRecord> =
            json_evidence(&dir, "files.json", take("files.json"), &mut ev.problems)
                .unwrap_or_default();
        finish_host(&mut ev, &dir, records, take);
        Ok(ev)
    }
}

/// A buffered reader whose forward skips stay inside its buffer: opening
/// skips the content of every member it does not keep (most of a
/// snapshot), and tar skips by reading into a zeroed 32 KiB scratch array
/// unless the reader can seek. A relative seek within the buffer moves in
/// it (`BufReader::seek_relative`); the position is counted here rather
/// than asked of the file (no system call per member).
struct Skipping<R> {
    inner: BufReader<R>,
    pos: u64,
}

impl<R> Skipping<R> {
    fn new(inner: BufReader<R>) -> Self {
        Skipping { inner, pos: 0 }
    }
}

impl<R: Read> Read for Skipping<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for Skipping<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.pos = match to {
            SeekFrom::Current(n) => {
                self.inner.seek_relative(n)?;
                self.pos.checked_add_signed(n).ok_or_else(|| {
                    std::io::Error::new(ErrorKind::InvalidInput, "seek before the start")
                })?
            }
            other => self.inner.seek(other)?,
        };
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_records_round_trip_their_length_prefix() {
        for value in ["1", "12345678", &"x".repeat(95)] {
            let r = pax_record(PAX_KEY, value);
            let len: usize = r.split(' ').next().unwrap().parse().unwrap();
            assert_eq!(len, r.len(), "{r:?}");
            assert_eq!(pax_records(r.as_bytes()).unwrap()[PAX_KEY], value);
        }
        assert!(pax_records(b"99 SSLAUDIT.packed=1\n").is_none());
    }

    #[test]
    fn sums_lines_are_sha256sum_lines() {
        let hex = "ab".repeat(32);
        let line = format!("{hex}  production/db/host.toml");
        let (d, p) = sums_line(&line).unwrap();
        assert_eq!(d, [0xab; 32]);
        assert_eq!(p, "production/db/host.toml");
        assert!(sums_line(&format!("{hex} production/db/host.toml")).is_none());
        assert!(sums_line("abc  x").is_none());
        assert_eq!(
            split_host("production/db/fs/etc/my.cnf"),
            Some(("production/db", "fs/etc/my.cnf"))
        );
        assert_eq!(split_host("production/README"), None);
    }
}
