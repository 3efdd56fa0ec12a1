//! Writing a packed snapshot (docs/snapshot-format.md, "The packed form"):
//! `collect --packed` host by host, `snapshot pack` from a folder, and
//! `snapshot unpack` back to one.
//!
//! A packed snapshot is written to a temporary file beside its destination
//! and renamed into place once complete: a failed run leaves no partial
//! archive, and an existing file is never replaced.

use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::Digest;

use super::packed::{Digest32, PACKED_FORMAT, PAX_KEY, member_name, pax_record, sums_line};
use super::{Manifest, SnapshotError, io_err};

/// A packed snapshot being written.
pub struct PackedWriter {
    out: PathBuf,
    builder: tar::Builder<BufWriter<tempfile::NamedTempFile>>,
    /// Every member's digest, for `SHA256SUMS`.
    sums: Vec<(String, Digest32)>,
    mtime: u64,
}

impl std::fmt::Debug for PackedWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackedWriter")
            .field("out", &self.out)
            .field("members", &self.sums.len())
            .finish()
    }
}

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> SnapshotError + '_ {
    io_err(path)
}

impl PackedWriter {
    /// Starts `out` (which must not exist) as a temporary file beside it.
    /// Members carry `mtime` (unix seconds: the collection time).
    pub fn create(out: &Path, mtime: u64) -> Result<PackedWriter, SnapshotError> {
        if out.exists() {
            return Err(SnapshotError::Exists(out.to_path_buf()));
        }
        let parent = parent_of(out);
        // Readable as the folder form's files are (the umask applies).
        let temp = tempfile::Builder::new()
            .prefix(".sslsnap-")
            .suffix(".partial")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .tempfile_in(&parent)
            .map_err(write_err(&parent))?;
        let mut builder = tar::Builder::new(BufWriter::with_capacity(1 << 20, temp));
        builder.mode(tar::HeaderMode::Deterministic);
        // The first header says what the archive is: a pax global header
        // that tar programs understand (and do not extract).
        let record = pax_record(PAX_KEY, &PACKED_FORMAT.to_string());
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::XGlobalHeader);
        header.set_size(record.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(mtime);
        builder
            .append_data(&mut header, "pax_global_header", record.as_bytes())
            .map_err(write_err(out))?;
        Ok(PackedWriter {
            out: out.to_path_buf(),
            builder,
            sums: Vec::new(),
            mtime,
        })
    }

    /// Appends one member (a regular file) at `name` (`<env>/<host>/...`).
    pub fn add(&mut self, name: &str, bytes: &[u8]) -> Result<(), SnapshotError> {
        if member_name(Path::new(name)).as_deref() != Some(name) {
            return Err(SnapshotError::Parse {
                path: PathBuf::from(name),
                line: 1,
                message: "not a relative path of plain names".into(),
            });
        }
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(self.mtime);
        self.builder
            .append_data(&mut header, name, bytes)
            .map_err(write_err(&self.out))?;
        self.sums
            .push((name.to_string(), sha2::Sha256::digest(bytes).into()));
        Ok(())
    }

    /// Appends a host's members together (`members` relative to `folder`).
    pub fn add_host(
        &mut self,
        folder: &str,
        members: &[(String, Vec<u8>)],
    ) -> Result<(), SnapshotError> {
        for (rel, bytes) in members {
            self.add(&format!("{folder}/{rel}"), bytes)?;
        }
        Ok(())
    }

    /// Appends `SHA256SUMS` (every member, sorted by path, in `sha256sum -c`
    /// format) and renames the archive into place.
    pub fn finish(mut self) -> Result<PathBuf, SnapshotError> {
        self.sums
            .sort_by(|a, b| Path::new(&a.0).cmp(Path::new(&b.0)));
        let mut text = String::new();
        for (name, digest) in &self.sums {
            text.push_str(&hex::encode(digest));
            text.push_str("  ");
            text.push_str(name);
            text.push('\n');
        }
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(self.mtime);
        let out = self.out.clone();
        self.builder
            .append_data(&mut header, "SHA256SUMS", text.as_bytes())
            .map_err(write_err(&out))?;
        let temp = self
            .builder
            .into_inner()
            .map_err(write_err(&out))?
            .into_inner()
            .map_err(|e| SnapshotError::Io {
                path: out.clone(),
                source: e.into_error(),
            })?;
        temp.as_file().sync_all().map_err(write_err(&out))?;
        temp.persist_noclobber(&out)
            .map_err(|e| SnapshotError::Io {
                path: out.clone(),
                source: e.error,
            })?;
        Ok(out)
    }
}

/// The folder's files (not folders), relative, sorted by path.
fn folder_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SnapshotError> {
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let p = entry.path();
        let ft = entry.file_type().map_err(io_err(&p))?;
        if ft.is_dir() {
            folder_files(root, &p, out)?;
        } else if ft.is_file() {
            if let Ok(rel) = p.strip_prefix(root) {
                out.push(rel.to_path_buf());
            }
        } else {
            // A snapshot holds files as found: a link or a device in one
            // is not evidence a packed snapshot can vouch for.
            return Err(SnapshotError::Parse {
                path: p,
                line: 1,
                message: "is not a regular file: a packed snapshot holds regular files only".into(),
            });
        }
    }
    Ok(())
}

/// The digests a folder's `SHA256SUMS` states, if it has one.
fn folder_sums(dir: &Path) -> Result<Option<Vec<(String, Digest32)>>, SnapshotError> {
    let path = dir.join("SHA256SUMS");
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SnapshotError::Io { path, source: e }),
    };
    let mut sums = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some((digest, name)) = sums_line(line) else {
            return Err(SnapshotError::Parse {
                path: path.clone(),
                line: i + 1,
                message: "not a `sha256sum` line (64 hex digits, two spaces, a path)".into(),
            });
        };
        sums.push((name.to_string(), digest));
    }
    Ok(Some(sums))
}

/// What [`pack`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packing {
    pub files: usize,
    /// Whether the folder's own `SHA256SUMS` was checked (a collected
    /// snapshot has one; a hand-made one may not).
    pub sums_checked: bool,
}

/// Packs the snapshot folder `dir` into `out` (which must not exist). A
/// folder with a `SHA256SUMS` is checked against it first, every file:
/// packing never vouches for evidence that changed since it was collected.
pub fn pack(dir: &Path, out: &Path) -> Result<Packing, SnapshotError> {
    let manifest = super::read_manifest(dir)?;
    let mut files = Vec::new();
    folder_files(dir, dir, &mut files)?;
    files.sort();
    let sums = folder_sums(dir)?;
    let mut expected: std::collections::HashMap<String, Digest32> = sums
        .iter()
        .flatten()
        .map(|(n, d)| (n.clone(), *d))
        .collect();
    let mut writer = PackedWriter::create(out, manifest_mtime(&manifest))?;
    let mut packed = 0;
    for rel in files {
        if rel == Path::new("SHA256SUMS") {
            continue;
        }
        let path = dir.join(&rel);
        let Some(name) = rel.to_str() else {
            return Err(SnapshotError::Parse {
                path,
                line: 1,
                message: "the file name is not UTF-8".into(),
            });
        };
        let mut bytes = Vec::new();
        File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(io_err(&path))?;
        if sums.is_some() {
            let digest: Digest32 = sha2::Sha256::digest(&bytes).into();
            match expected.remove(name) {
                Some(d) if d == digest => {}
                Some(_) => {
                    return Err(SnapshotError::Integrity {
                        path,
                        message: "does not match its SHA-256 in SHA256SUMS: the evidence \
                                  changed since it was collected"
                            .into(),
                    });
                }
                None => {
                    return Err(SnapshotError::Integrity {
                        path,
                        message: "is not listed in SHA256SUMS".into(),
                    });
                }
            }
        }
        writer.add(name, &bytes)?;
        packed += 1;
    }
    if let Some(name) = expected.keys().min() {
        return Err(SnapshotError::Integrity {
            path: dir.join(name),
            message: "is listed in SHA256SUMS but missing".into(),
        });
    }
    writer.finish()?;
    Ok(Packing {
        files: packed,
        sums_checked: sums.is_some(),
    })
}

/// The collection time as member times (0 when unknown).
pub(crate) fn manifest_mtime(manifest: &Manifest) -> u64 {
    manifest
        .collected_at_unix()
        .and_then(|t| u64::try_from(t).ok())
        .unwrap_or(0)
}

/// The folder `out` is written in (its temporary file goes beside it).
fn parent_of(out: &Path) -> PathBuf {
    match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Unpacks the packed snapshot `file` into the folder `out` (which must
/// not exist), every member checked against `SHA256SUMS`; the folder
/// appears only once all of it is written and checked.
pub fn unpack(file: &Path, out: &Path) -> Result<usize, SnapshotError> {
    if out.exists() {
        return Err(SnapshotError::Exists(out.to_path_buf()));
    }
    // Opening checks the format and the archive's structure.
    let packed = super::packed::Packed::open(file)?;
    let parent = parent_of(out);
    let temp = tempfile::Builder::new()
        .prefix(".sslsnap-")
        .suffix(".partial")
        .tempdir_in(&parent)
        .map_err(io_err(&parent))?;
    let reader =
        std::io::BufReader::with_capacity(1 << 20, File::open(file).map_err(io_err(file))?);
    let mut archive = tar::Archive::new(reader);
    let mut digests: std::collections::HashMap<String, Digest32> = Default::default();
    let mut sums_text = None;
    let entries = archive.entries().map_err(io_err(file))?;
    for entry in entries {
        let mut entry = entry.map_err(io_err(file))?;
        let kind = entry.header().entry_type();
        if kind == tar::EntryType::XGlobalHeader || kind.is_dir() {
            continue;
        }
        let raw = entry.path().map_err(io_err(file))?.into_owned();
        let name = member_name(&raw).ok_or_else(|| SnapshotError::Packed {
            path: file.to_path_buf(),
            message: format!("member `{}` is not a relative path", raw.display()),
        })?;
        let member = file.join(&name);
        if !kind.is_file() {
            return Err(SnapshotError::Integrity {
                path: member,
                message: "is not a regular file".into(),
            });
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(io_err(&member))?;
        if name == "SHA256SUMS" {
            sums_text = Some(String::from_utf8_lossy(&bytes).into_owned());
        } else {
            digests.insert(name.clone(), sha2::Sha256::digest(&bytes).into());
        }
        let dest = temp.path().join(&name);
        if let Some(p) = dest.parent() {
            fs::create_dir_all(p).map_err(io_err(p))?;
        }
        let mut f = File::create(&dest).map_err(io_err(&dest))?;
        f.write_all(&bytes).map_err(io_err(&dest))?;
    }
    let sums_text = sums_text.ok_or_else(|| SnapshotError::Packed {
        path: file.to_path_buf(),
        message: "no SHA256SUMS member".into(),
    })?;
    let mut listed = 0;
    for line in sums_text.lines() {
        let Some((digest, name)) = sums_line(line) else {
            continue;
        };
        listed += 1;
        match digests.remove(name) {
            Some(d) if d == digest => {}
            Some(_) => {
                return Err(SnapshotError::Integrity {
                    path: file.join(name),
                    message: "does not match its SHA-256 in SHA256SUMS: changed since it was \
                              packed"
                        .into(),
                });
            }
            None => {
                return Err(SnapshotError::Integrity {
                    path: file.join(name),
                    message: "is listed in SHA256SUMS but not in the archive".into(),
                });
            }
        }
    }
    if let Some(name) = digests.keys().min() {
        return Err(SnapshotError::Integrity {
            path: file.join(name),
            message: "is not listed in SHA256SUMS".into(),
        });
    }
    drop(packed);
    let temp = temp.keep();
    fs::rename(&temp, out).map_err(|e| {
        let _ = fs::remove_dir_all(&temp);
        SnapshotError::Io {
            path: out.to_path_buf(),
            source: e,
        }
    })?;
    Ok(listed)
}
