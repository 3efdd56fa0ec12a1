//! The narrow interface through which a plan touches a host.
//!
//! The engine ([`crate::apply`]) is the only caller. It decides what to back
//! up, in which order, and what to record; a `Target` only performs single,
//! well-defined operations on one host and reports exactly what happened.
//! [`MemoryTarget`] serves unit tests, [`LocalTarget`] this machine's
//! filesystem under a root directory (tests and `keygen --out`); the
//! scanner's SSH and MySQL transports implement the trait for real hosts.

use crate::fsutil;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// A regular file's content and ownership as read from a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileState {
    pub content: Vec<u8>,
    /// Permission bits only (`& 0o7777`).
    pub mode: u32,
    /// User name (or uid in decimal when the host has no name for it);
    /// `None` when the target cannot tell.
    pub owner: Option<String>,
    pub group: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    File,
    Dir,
    Other,
}

/// What is at a path, without its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryMeta {
    pub kind: EntryKind,
    pub mode: u32,
    pub owner: Option<String>,
    pub group: Option<String>,
}

/// The result of a command that ran (whatever its exit status).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandOutput {
    /// Exit status; -1 when the command was killed by a signal.
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

/// An operation a target could not perform. Every variant names the host.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("{host}: {path}: {source}")]
    Io {
        host: String,
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{host}: {path}: {reason}")]
    Refused {
        host: String,
        path: String,
        reason: String,
    },
    #[error("{host}: unknown {what} {name:?}")]
    UnknownAccount {
        host: String,
        what: &'static str,
        name: String,
    },
    #[error("{host}: command `{command}` could not run: {message}")]
    Command {
        host: String,
        command: String,
        message: String,
    },
    #[error("{host}: SQL failed: {message}")]
    Sql { host: String, message: String },
    #[error("{host}: {what} is not supported by this target")]
    Unsupported { host: String, what: &'static str },
}

/// One host, as the remediation engine sees it.
///
/// Paths are absolute host paths (`/db/mysql/5.6/data/server.key`); the
/// engine never passes a path with a `..` component. Symbolic links are
/// followed the way the host's own tools follow them.
///
/// Contract, which the engine's crash safety depends on:
///
/// - Reads have no side effects. `metadata` and `read_file` return
///   `Ok(None)` when nothing is at the path, and an error (not `None`) when
///   the target cannot tell (permission denied, connection lost): the
///   engine must never mistake "could not read" for "absent".
/// - `write_file_atomic` either leaves the old file (or no file) in place
///   or the complete new one, never a partial file: write to a temporary
///   file in the same directory, flush it to stable storage, then rename it
///   over `path`. The temporary file is created with `mode` in the open
///   call itself (`O_CREAT` with the mode) and, when given, its owner and
///   group are set before any content is written, so a private key is never
///   readable by anyone else for even a moment, and nothing is `chmod`-ed
///   after the content landed. The parent directory must exist.
/// - `make_dir` creates exactly one directory whose parent exists (the
///   engine creates missing parents itself, one by one, so it can record
///   which ones to remove on rollback). An existing directory is an error.
/// - `rename` moves a file or directory within the host. The engine checks
///   that `to` is absent first; implementations need not re-check.
/// - `remove_file` removes a regular file; `remove_dir` removes an empty
///   directory. The engine only uses them to undo what it created.
/// - `run_command` runs a shell command line (already quoted) and returns
///   its output whatever the exit status; `Err` means it could not be run
///   at all. Commands must be safe to run again: after a crash the engine
///   may repeat a command whose completion was not recorded.
/// - `run_sql` runs one statement over the host's administrative
///   connection; like commands it may be repeated after a crash.
/// - `set_mode` changes an existing file's permission bits and, when
///   given, its owner and group (tightening a key that is too open).
/// - `served_certificate` connects to the host's MySQL server and returns
///   the DER of the leaf certificate it presents in the TLS handshake
///   (`Ok(None)`: the server offers no TLS). Read-only.
pub trait Target {
    /// The inventory name of the host (what `Step::host` refers to).
    fn host(&self) -> &str;

    fn metadata(&self, path: &str) -> Result<Option<EntryMeta>, TargetError>;

    /// A regular file's content and ownership; `Ok(None)` when absent; an
    /// error when `path` is a directory.
    fn read_file(&self, path: &str) -> Result<Option<FileState>, TargetError>;

    fn write_file_atomic(
        &self,
        path: &str,
        content: &[u8],
        mode: u32,
        owner: Option<&str>,
        group: Option<&str>,
    ) -> Result<(), TargetError>;

    fn make_dir(&self, path: &str, mode: u32, owner: Option<&str>) -> Result<(), TargetError>;

    fn rename(&self, from: &str, to: &str) -> Result<(), TargetError>;

    fn remove_file(&self, path: &str) -> Result<(), TargetError>;

    fn remove_dir(&self, path: &str) -> Result<(), TargetError>;

    fn run_command(&self, command: &str) -> Result<CommandOutput, TargetError>;

    fn run_sql(&self, sql: &str) -> Result<(), TargetError>;

    fn set_mode(
        &self,
        path: &str,
        mode: u32,
        owner: Option<&str>,
        group: Option<&str>,
    ) -> Result<(), TargetError>;

    fn served_certificate(&self) -> Result<Option<Vec<u8>>, TargetError> {
        Err(TargetError::Unsupported {
            host: self.host().to_string(),
            what: "TLS verification",
        })
    }
}

/// Resolves a plan's host name to its target.
pub type Targets<'t> = dyn Fn(&str) -> Option<&'t dyn Target> + 't;

/// An entry of a [`MemoryTarget`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemEntry {
    File(FileState),
    Dir { mode: u32, owner: Option<String> },
}

#[derive(Debug, Default)]
struct MemState {
    entries: BTreeMap<String, MemEntry>,
    commands: Vec<String>,
    sql: Vec<String>,
    outputs: BTreeMap<String, CommandOutput>,
    failing_sql: Vec<String>,
    served: Option<Vec<u8>>,
    tls_server: Option<TlsServer>,
}

/// An in-memory host for unit tests: a tree of files and directories, plus
/// a record of every command and SQL statement run. Commands succeed with
/// empty output unless [`MemoryTarget::set_command_output`] says otherwise;
/// they have no effect on the files.
#[derive(Debug)]
pub struct MemoryTarget {
    host: String,
    state: Mutex<MemState>,
}

impl MemoryTarget {
    pub fn new(host: &str) -> Self {
        MemoryTarget {
            host: host.to_string(),
            state: Mutex::new(MemState::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, MemState> {
        // A panic in another test thread leaves plain data behind, still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts a file in place (creating missing parent directories with mode
    /// 0755), for setting up a test.
    pub fn add_file(&self, path: &str, content: &[u8], mode: u32, owner: Option<&str>) {
        let mut st = self.state();
        let mut dir = parent(path);
        while let Some(d) = dir {
            if d != "/" {
                st.entries.entry(d.to_string()).or_insert(MemEntry::Dir {
                    mode: 0o755,
                    owner: None,
                });
            }
            dir = parent(d);
        }
        st.entries.insert(
            path.to_string(),
            MemEntry::File(FileState {
                content: content.to_vec(),
                mode,
                owner: owner.map(str::to_string),
                group: None,
            }),
        );
    }

    /// A copy of the whole tree, to compare before and after.
    pub fn snapshot(&self) -> BTreeMap<String, MemEntry> {
        self.state().entries.clone()
    }

    /// Every command run so far, in order.
    pub fn commands(&self) -> Vec<String> {
        self.state().commands.clone()
    }

    /// Every SQL statement run so far, in order.
    pub fn sql(&self) -> Vec<String> {
        self.state().sql.clone()
    }

    /// What `command` returns from now on.
    pub fn set_command_output(&self, command: &str, output: CommandOutput) {
        self.state().outputs.insert(command.to_string(), output);
    }

    /// Makes `sql` fail from now on.
    pub fn fail_sql(&self, sql: &str) {
        self.state().failing_sql.push(sql.to_string());
    }

    /// The certificate (DER) `served_certificate` returns from now on.
    pub fn set_served_certificate(&self, der: Option<Vec<u8>>) {
        self.state().served = der;
    }

    fn refused(&self, path: &str, reason: &str) -> TargetError {
        TargetError::Refused {
            host: self.host.clone(),
            path: path.to_string(),
            reason: reason.to_string(),
        }
    }

    fn check_parent(&self, st: &MemState, path: &str) -> Result<(), TargetError> {
        if !path.starts_with('/') || path.split('/').any(|c| c == "..") {
            return Err(self.refused(path, "not an absolute path free of '..'"));
        }
        match parent(path) {
            Some("/") => Ok(()),
            Some(p) => match st.entries.get(p) {
                Some(MemEntry::Dir { .. }) => Ok(()),
                _ => Err(self.refused(path, "parent directory does not exist")),
            },
            None => Err(self.refused(path, "no parent directory")),
        }
    }
}

fn parent(path: &str) -> Option<&str> {
    let trimmed = path.trim_end_matches('/');
    let idx = trimmed.rfind('/')?;
    if trimmed.is_empty() {
        return None;
    }
    Some(if idx == 0 { "/" } else { &trimmed[..idx] })
}

impl Target for MemoryTarget {
    fn host(&self) -> &str {
        &self.host
    }

    fn metadata(&self, path: &str) -> Result<Option<EntryMeta>, TargetError> {
        if path == "/" {
            return Ok(Some(EntryMeta {
                kind: EntryKind::Dir,
                mode: 0o755,
                owner: Some("root".into()),
                group: Some("root".into()),
            }));
        }
        Ok(self.state().entries.get(path).map(|e| match e {
            MemEntry::File(f) => EntryMeta {
                kind: EntryKind::File,
                mode: f.mode,
                owner: f.owner.clone(),
                group: f.group.clone(),
            },
            MemEntry::Dir { mode, owner } => EntryMeta {
                kind: EntryKind::Dir,
                mode: *mode,
                owner: owner.clone(),
                group: None,
            },
        }))
    }

    fn read_file(&self, path: &str) -> Result<Option<FileState>, TargetError> {
        match self.state().entries.get(path) {
            None => Ok(None),
            Some(MemEntry::File(f)) => Ok(Some(f.clone())),
            Some(MemEntry::Dir { .. }) => Err(self.refused(path, "is a directory")),
        }
    }

    fn write_file_atomic(
        &self,
        path: &str,
        content: &[u8],
        mode: u32,
        owner: Option<&str>,
        group: Option<&str>,
    ) -> Result<(), TargetError> {
        let mut st = self.state();
        self.check_parent(&st, path)?;
        if let Some(MemEntry::Dir { .. }) = st.entries.get(path) {
            return Err(self.refused(path, "is a directory"));
        }
        st.entries.insert(
            path.to_string(),
            MemEntry::File(FileState {
                content: content.to_vec(),
                mode,
                owner: owner.map(str::to_string),
                group: group.map(str::to_string),
            }),
        );
        Ok(())
    }

    fn make_dir(&self, path: &str, mode: u32, owner: Option<&str>) -> Result<(), TargetError> {
        let mut st = self.state();
        self.check_parent(&st, path)?;
        if st.entries.contains_key(path) {
            return Err(self.refused(path, "already exists"));
        }
        st.entries.insert(
            path.to_string(),
            MemEntry::Dir {
                mode,
                owner: owner.map(str::to_string),
            },
        );
        Ok(())
    }

    fn rename(&self, from: &str, to: &str) -> Result<(), TargetError> {
        let mut st = self.state();
        self.check_parent(&st, to)?;
        if !st.entries.contains_key(from) {
            return Err(self.refused(from, "does not exist"));
        }
        // Move the entry and, for a directory, everything below it.
        let prefix = format!("{from}/");
        let moved: Vec<String> = st
            .entries
            .keys()
            .filter(|k| *k == from || k.starts_with(&prefix))
            .cloned()
            .collect();
        for old in moved {
            if let Some(entry) = st.entries.remove(&old) {
                let new = format!("{to}{}", &old[from.len()..]);
                st.entries.insert(new, entry);
            }
        }
        Ok(())
    }

    fn remove_file(&self, path: &str) -> Result<(), TargetError> {
        let mut st = self.state();
        match st.entries.get(path) {
            Some(MemEntry::File(_)) => {
                st.entries.remove(path);
                Ok(())
            }
            Some(MemEntry::Dir { .. }) => Err(self.refused(path, "is a directory")),
            None => Err(self.refused(path, "does not exist")),
        }
    }

    fn remove_dir(&self, path: &str) -> Result<(), TargetError> {
        let mut st = self.state();
        let prefix = format!("{path}/");
        if st.entries.keys().any(|k| k.starts_with(&prefix)) {
            return Err(self.refused(path, "directory not empty"));
        }
        match st.entries.get(path) {
            Some(MemEntry::Dir { .. }) => {
                st.entries.remove(path);
                Ok(())
            }
            Some(MemEntry::File(_)) => Err(self.refused(path, "not a directory")),
            None => Err(self.refused(path, "does not exist")),
        }
    }

    fn run_command(&self, command: &str) -> Result<CommandOutput, TargetError> {
        let mut st = self.state();
        st.commands.push(command.to_string());
        Ok(st.outputs.get(command).cloned().unwrap_or_default())
    }

    fn set_mode(
        &self,
        path: &str,
        mode: u32,
        owner: Option<&str>,
        group: Option<&str>,
    ) -> Result<(), TargetError> {
        let mut st = self.state();
        match st.entries.get_mut(path) {
            Some(MemEntry::File(f)) => {
                f.mode = mode;
                if let Some(o) = owner {
                    f.owner = Some(o.to_string());
                }
                if let Some(g) = group {
                    f.group = Some(g.to_string());
                }
                Ok(())
            }
            Some(MemEntry::Dir { .. }) => Err(self.refused(path, "is a directory")),
            None => Err(self.refused(path, "does not exist")),
        }
    }

    fn served_certificate(&self) -> Result<Option<Vec<u8>>, TargetError> {
        Ok(self.state().served.clone())
    }

    fn run_sql(&self, sql: &str) -> Result<(), TargetError> {
        let mut st = self.state();
        st.sql.push(sql.to_string());
        if st.failing_sql.iter().any(|s| s == sql) {
            return Err(TargetError::Sql {
                host: self.host.clone(),
                message: format!("statement refused: {sql}"),
            });
        }
        if let Some(server) = st.tls_server.clone()
            && server.reload_sql == sql
        {
            let der = Self::load_tls(&st, &server).map_err(|message| TargetError::Sql {
                host: self.host.clone(),
                message,
            })?;
            st.served = Some(der);
        }
        Ok(())
    }
}

impl MemoryTarget {
    /// Makes the target behave like a MySQL server whose TLS files are
    /// `cert_path` and `key_path`: `reload_sql` (e.g. `FLUSH SSL`) loads
    /// them, and fails, keeping what it served, when the key does not
    /// belong to the certificate. They are loaded once now.
    pub fn emulate_tls_server(&self, cert_path: &str, key_path: &str, reload_sql: &str) {
        let server = TlsServer {
            cert_path: cert_path.to_string(),
            key_path: key_path.to_string(),
            reload_sql: reload_sql.to_string(),
        };
        let mut st = self.state();
        st.served = Self::load_tls(&st, &server).ok();
        st.tls_server = Some(server);
    }

    fn load_tls(st: &MemState, server: &TlsServer) -> Result<Vec<u8>, String> {
        let read = |p: &str| match st.entries.get(p) {
            Some(MemEntry::File(f)) => Ok(f.content.clone()),
            _ => Err(format!("{p} does not exist")),
        };
        let cert = openssl::x509::X509::from_pem(&read(&server.cert_path)?)
            .map_err(|e| format!("{}: {e}", server.cert_path))?;
        let key = openssl::pkey::PKey::private_key_from_pem(&read(&server.key_path)?)
            .map_err(|e| format!("{}: {e}", server.key_path))?;
        let public = cert.public_key().map_err(|e| e.to_string())?;
        if !public.public_eq(&key) {
            return Err(format!(
                "{} does not belong to {}",
                server.key_path, server.cert_path
            ));
        }
        cert.to_der().map_err(|e| e.to_string())
    }
}

#[derive(Debug, Clone)]
struct TlsServer {
    cert_path: String,
    key_path: String,
    reload_sql: String,
}

/// This machine's filesystem under `root`: host path `/etc/x` is
/// `<root>/etc/x`. Commands run with `sh -c` in `root` as the current
/// directory (host paths in them are not remapped); SQL is unsupported.
#[derive(Debug, Clone)]
pub struct LocalTarget {
    host: String,
    root: PathBuf,
}

impl LocalTarget {
    pub fn new(host: &str, root: impl Into<PathBuf>) -> Self {
        LocalTarget {
            host: host.to_string(),
            root: root.into(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The real path of a host path; refuses relative paths and `..`.
    pub fn local_path(&self, path: &str) -> Result<PathBuf, TargetError> {
        let p = Path::new(path);
        if !p.is_absolute() {
            return Err(self.refused(path, "not an absolute path"));
        }
        let mut out = self.root.clone();
        for c in p.components() {
            match c {
                Component::RootDir | Component::CurDir => {}
                Component::Normal(n) => out.push(n),
                Component::ParentDir | Component::Prefix(_) => {
                    return Err(self.refused(path, "'..' is not allowed"));
                }
            }
        }
        Ok(out)
    }

    fn refused(&self, path: &str, reason: &str) -> TargetError {
        TargetError::Refused {
            host: self.host.clone(),
            path: path.to_string(),
            reason: reason.to_string(),
        }
    }

    fn io(&self, path: &str) -> impl FnOnce(io::Error) -> TargetError + '_ {
        let path = path.to_string();
        move |source| TargetError::Io {
            host: self.host.clone(),
            path,
            source,
        }
    }

    fn ids(
        &self,
        owner: Option<&str>,
        group: Option<&str>,
    ) -> Result<(Option<u32>, Option<u32>), TargetError> {
        let unknown = |what, name: &str| TargetError::UnknownAccount {
            host: self.host.clone(),
            what,
            name: name.to_string(),
        };
        let uid = owner
            .map(|o| fsutil::user_id(o).ok_or_else(|| unknown("user", o)))
            .transpose()?;
        let gid = group
            .map(|g| fsutil::group_id(g).ok_or_else(|| unknown("group", g)))
            .transpose()?;
        Ok((uid, gid))
    }
}

fn meta_of(m: &fs::Metadata) -> EntryMeta {
    let kind = if m.is_file() {
        EntryKind::File
    } else if m.is_dir() {
        EntryKind::Dir
    } else {
        EntryKind::Other
    };
    EntryMeta {
        kind,
        mode: m.mode() & 0o7777,
        owner: Some(fsutil::user_name(m.uid())),
        group: Some(fsutil::group_name(m.gid())),
    }
}

impl Target for LocalTarget {
    fn host(&self) -> &str {
        &self.host
    }

    fn metadata(&self, path: &str) -> Result<Option<EntryMeta>, TargetError> {
        let local = self.local_path(path)?;
        match fs::metadata(&local) {
            Ok(m) => Ok(Some(meta_of(&m))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(path)(e)),
        }
    }

    fn read_file(&self, path: &str) -> Result<Option<FileState>, TargetError> {
        let local = self.local_path(path)?;
        let meta = match fs::metadata(&local) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(path)(e)),
        };
        if !meta.is_file() {
            return Err(self.refused(path, "not a regular file"));
        }
        let content = fs::read(&local).map_err(self.io(path))?;
        let m = meta_of(&meta);
        Ok(Some(FileState {
            content,
            mode: m.mode,
            owner: m.owner,
            group: m.group,
        }))
    }

    fn write_file_atomic(
        &self,
        path: &str,
        content: &[u8],
        mode: u32,
        owner: Option<&str>,
        group: Option<&str>,
    ) -> Result<(), TargetError> {
        let local = self.local_path(path)?;
        let (uid, gid) = self.ids(owner, group)?;
        let tmp = fsutil::temp_sibling(&local);
        let result = (|| -> io::Result<()> {
            // The mode is given to open(2) itself: the file never exists with
            // looser permissions. umask can only remove bits, so the exact
            // mode is then set on the still-empty file, before any content.
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode & 0o777)
                .open(&tmp)?;
            file.set_permissions(Permissions::from_mode(mode))?;
            if uid.is_some() || gid.is_some() {
                std::os::unix::fs::fchown(&file, uid, gid)?;
            }
            file.write_all(content)?;
            file.sync_all()?;
            fs::rename(&tmp, &local)?;
            if let Some(dir) = local.parent() {
                fsutil::sync_dir(dir)?;
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(self.io(path))
    }

    fn make_dir(&self, path: &str, mode: u32, owner: Option<&str>) -> Result<(), TargetError> {
        let local = self.local_path(path)?;
        let (uid, _) = self.ids(owner, None)?;
        let result = (|| -> io::Result<()> {
            use std::os::unix::fs::DirBuilderExt;
            fs::DirBuilder::new().mode(mode & 0o777).create(&local)?;
            fs::set_permissions(&local, Permissions::from_mode(mode))?;
            if uid.is_some() {
                std::os::unix::fs::chown(&local, uid, None)?;
            }
            if let Some(dir) = local.parent() {
                fsutil::sync_dir(dir)?;
            }
            Ok(())
        })();
        result.map_err(self.io(path))
    }

    fn rename(&self, from: &str, to: &str) -> Result<(), TargetError> {
        let f = self.local_path(from)?;
        let t = self.local_path(to)?;
        fs::rename(&f, &t).map_err(self.io(from))?;
        for dir in [f.parent(), t.parent()].into_iter().flatten() {
            fsutil::sync_dir(dir).map_err(self.io(to))?;
        }
        Ok(())
    }

    fn remove_file(&self, path: &str) -> Result<(), TargetError> {
        let local = self.local_path(path)?;
        fs::remove_file(&local).map_err(self.io(path))
    }

    fn remove_dir(&self, path: &str) -> Result<(), TargetError> {
        let local = self.local_path(path)?;
        fs::remove_dir(&local).map_err(self.io(path))
    }

    fn run_command(&self, command: &str) -> Result<CommandOutput, TargetError> {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .current_dir(&self.root)
            .output()
            .map_err(|e| TargetError::Command {
                host: self.host.clone(),
                command: command.to_string(),
                message: e.to_string(),
            })?;
        Ok(CommandOutput {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    fn run_sql(&self, _sql: &str) -> Result<(), TargetError> {
        Err(TargetError::Unsupported {
            host: self.host.clone(),
            what: "SQL",
        })
    }

    fn set_mode(
        &self,
        path: &str,
        mode: u32,
        owner: Option<&str>,
        group: Option<&str>,
    ) -> Result<(), TargetError> {
        let local = self.local_path(path)?;
        let (uid, gid) = self.ids(owner, group)?;
        let result = (|| -> io::Result<()> {
            // Ownership first, then the mode: chown may clear set-id bits.
            if uid.is_some() || gid.is_some() {
                std::os::unix::fs::chown(&local, uid, gid)?;
            }
            fs::set_permissions(&local, Permissions::from_mode(mode))
        })();
        result.map_err(self.io(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_of_paths() {
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("/a/b/"), Some("/a"));
        assert_eq!(parent("/"), None);
    }

    #[test]
    fn memory_target_needs_parent_and_moves_subtrees() {
        let t = MemoryTarget::new("h");
        assert!(
            t.write_file_atomic("/x/y", b"1", 0o644, None, None)
                .is_err()
        );
        t.make_dir("/x", 0o755, None).expect("mkdir");
        t.write_file_atomic("/x/y", b"1", 0o644, None, None)
            .expect("write");
        t.rename("/x", "/z").expect("rename");
        assert_eq!(
            t.read_file("/z/y").expect("read").map(|f| f.content),
            Some(b"1".to_vec())
        );
        assert!(t.read_file("/x/y").expect("read").is_none());
        assert!(t.remove_dir("/z").is_err(), "not empty");
    }

    #[test]
    fn local_target_refuses_escapes() {
        let t = LocalTarget::new("h", "/tmp/none");
        assert!(matches!(
            t.local_path("/a/../../etc/passwd"),
            Err(TargetError::Refused { .. })
        ));
        assert!(t.local_path("relative").is_err());
        assert_eq!(
            t.local_path("/etc/x").expect("ok"),
            PathBuf::from("/tmp/none/etc/x")
        );
    }
}
