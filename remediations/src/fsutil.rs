//! Small filesystem helpers for the control machine and `LocalTarget`:
//! durable appends and writes, and user/group
//! name lookups from /etc/passwd and /etc/group (no libc, the crate forbids
//! unsafe code).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// fsyncs a directory so a rename or create inside it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Appends one line and fsyncs it before returning: a journal record that
/// was acknowledged is on disk.
pub(crate) fn append_line_synced(path: &Path, line: &str) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    let mut buf = line.as_bytes().to_vec();
    buf.push(b'\n');
    file.write_all(&buf)?;
    file.sync_all()
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temp file name in the same directory as `path` (so the rename is
/// atomic), unique per process and call.
pub(crate) fn temp_sibling(path: &Path) -> std::path::PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.sslaudit-tmp-{}-{n}", std::process::id()))
}

/// Writes a control-machine file atomically: temp file created with `mode`,
/// fsynced, renamed over `path`, directory fsynced.
pub(crate) fn write_local_atomic(path: &Path, content: &[u8], mode: u32) -> io::Result<()> {
    let tmp = temp_sibling(path);
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        file.write_all(content)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            sync_dir(dir)?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The numeric id of a name in a passwd/group style file (`name:x:id:...`),
/// or the name itself when it is all digits.
fn lookup_id(db: &str, name: &str) -> Option<u32> {
    if let Ok(id) = name.parse::<u32>() {
        return Some(id);
    }
    let text = std::fs::read_to_string(db).ok()?;
    text.lines().find_map(|line| {
        let mut fields = line.split(':');
        let n = fields.next()?;
        let id = fields.nth(1)?;
        (n == name).then(|| id.parse().ok()).flatten()
    })
}

fn lookup_name(db: &str, id: u32) -> Option<String> {
    let text = std::fs::read_to_string(db).ok()?;
    text.lines().find_map(|line| {
        let mut fields = line.split(':');
        let n = fields.next()?;
        let found: u32 = fields.nth(1)?.parse().ok()?;
        (found == id).then(|| n.to_string())
    })
}

pub(crate) fn user_id(name: &str) -> Option<u32> {
    lookup_id("/etc/passwd", name)
}

pub(crate) fn group_id(name: &str) -> Option<u32> {
    lookup_id("/etc/group", name)
}

/// The user name of a uid, or the uid in decimal when it has no name.
pub(crate) fn user_name(uid: u32) -> String {
    lookup_name("/etc/passwd", uid).unwrap_or_else(|| uid.to_string())
}

pub(crate) fn group_name(gid: u32) -> String {
    lookup_name("/etc/group", gid).unwrap_or_else(|| gid.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_resolves_both_ways() {
        assert_eq!(user_id("root"), Some(0));
        assert_eq!(user_id("0"), Some(0));
        assert_eq!(user_name(0), "root");
        assert_eq!(group_name(0), "root");
        assert_eq!(user_id("no-such-user-sslaudit"), None);
    }
}
