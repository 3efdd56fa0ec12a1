//! A snapshot in either form, a folder or a packed file: what
//! `--snapshot PATH` opens, read the same way whichever it is.

use std::path::{Path, PathBuf};

use sslaudit_rules::facts::HostFacts;

use super::packed::Packed;
use super::{
    FORMAT, HostEvidence, HostMeta, Manifest, SnapshotError, host_folders, parse_toml,
    read_host_with,
};

/// An open snapshot: its manifest read and its hosts listed (with their
/// `host.toml`), sorted by folder.
#[derive(Debug)]
pub enum Snapshot {
    Folder {
        root: PathBuf,
        manifest: Vec<u8>,
        hosts: Vec<(PathBuf, HostMeta)>,
    },
    Packed(Packed),
}

impl Snapshot {
    /// Opens a snapshot folder or packed file: the manifest is checked,
    /// every `host.toml` read once.
    pub fn open(path: &Path) -> Result<Snapshot, SnapshotError> {
        let snapshot = if path.is_dir() {
            let file = path.join("snapshot.toml");
            let manifest = std::fs::read(&file).map_err(|source| SnapshotError::Io {
                path: file.clone(),
                source,
            })?;
            Snapshot::Folder {
                root: path.to_path_buf(),
                manifest,
                hosts: Vec::new(),
            }
        } else if path.is_file() {
            Snapshot::Packed(Packed::open(path)?)
        } else {
            return Err(SnapshotError::NotFound(path.to_path_buf()));
        };
        // The manifest first: a snapshot of another format is named as
        // such before its hosts are read.
        snapshot.manifest()?;
        Ok(match snapshot {
            Snapshot::Folder { root, manifest, .. } => Snapshot::Folder {
                hosts: host_folders(&root)?,
                root,
                manifest,
            },
            packed => packed,
        })
    }

    /// The path it was opened from.
    pub fn path(&self) -> &Path {
        match self {
            Snapshot::Folder { root, .. } => root,
            Snapshot::Packed(p) => p.path(),
        }
    }

    /// `snapshot.toml` as written (what a scan's scope digests).
    pub fn manifest_bytes(&self) -> &[u8] {
        match self {
            Snapshot::Folder { manifest, .. } => manifest,
            Snapshot::Packed(p) => p.manifest_bytes(),
        }
    }

    /// `snapshot.toml`, parsed and its format checked.
    pub fn manifest(&self) -> Result<Manifest, SnapshotError> {
        let path = self.path().join("snapshot.toml");
        let text = String::from_utf8_lossy(self.manifest_bytes());
        let manifest: Manifest = parse_toml(&path, &text)?;
        if manifest.format != FORMAT {
            return Err(SnapshotError::Format {
                path,
                found: manifest.format,
            });
        }
        Ok(manifest)
    }

    /// How many hosts it has.
    pub fn len(&self) -> usize {
        match self {
            Snapshot::Folder { hosts, .. } => hosts.len(),
            Snapshot::Packed(p) => p.hosts().len(),
        }
    }

    /// Whether it has no host (an open snapshot always has one).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Host `i`'s folder, relative: `<env>/<host>`.
    pub fn folder(&self, i: usize) -> String {
        match self {
            Snapshot::Folder { root, hosts, .. } => {
                let d = &hosts[i].0;
                d.strip_prefix(root).unwrap_or(d).display().to_string()
            }
            Snapshot::Packed(p) => p.hosts()[i].folder.clone(),
        }
    }

    /// Host `i`'s `host.toml`.
    pub fn meta(&self, i: usize) -> &HostMeta {
        match self {
            Snapshot::Folder { hosts, .. } => &hosts[i].1,
            Snapshot::Packed(p) => &p.hosts()[i].meta,
        }
    }

    /// Host `i`'s evidence.
    pub fn read_host(&self, i: usize) -> Result<HostEvidence, SnapshotError> {
        match self {
            Snapshot::Folder { hosts, .. } => {
                let (dir, meta) = &hosts[i];
                Ok(read_host_with(dir, meta.clone()))
            }
            Snapshot::Packed(p) => p.read_host(&p.hosts()[i]),
        }
    }

    /// Host `i`'s facts (the evidence is dropped).
    pub fn load_host(&self, i: usize) -> Result<HostFacts, SnapshotError> {
        self.read_host(i).map(|ev| crate::build::build_host(&ev))
    }

    /// The hosts `select` keeps, grouped by environment (environments by
    /// name, the order of the report; folder order within), as indexes for
    /// [`Self::load_host`].
    pub fn host_groups(&self, select: impl Fn(&HostMeta) -> bool) -> Vec<Vec<usize>> {
        let mut groups: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
        for i in 0..self.len() {
            let meta = self.meta(i);
            if select(meta) {
                groups.entry(meta.environment.as_str()).or_default().push(i);
            }
        }
        groups.into_values().collect()
    }
}
