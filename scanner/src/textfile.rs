//! Writing a file so that a reader sees the old content or the new, never
//! a part: what node_exporter's textfile collector, which may read the
//! directory at any moment, needs of `scan --prometheus FILE`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes `contents` to `path` atomically: into a new file beside it
/// (`.NAME.PID.N.tmp`: not `*.prom`, so the textfile collector skips it),
/// flushed to disk, renamed over `path`, and the directory flushed. The
/// file is readable by all (`0644` less the umask): the collector often
/// runs as another user. On any error the temporary file is removed and
/// `path` is left as it was.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: not a file name", path.display()),
        )
    })?;
    let (tmp, mut file) = create_temp(dir, &name.to_string_lossy())?;
    let written = (|| {
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename itself reaches the disk with the directory's entry.
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A new file in `dir` that no other writer has (created exclusively).
fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o644);
    let pid = std::process::id();
    for n in 0u32.. {
        let tmp = dir.join(format!(".{name}.{pid}.{n}.tmp"));
        match options.open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 1000 => continue,
            Err(e) => return Err(e),
        }
    }
    unreachable!("the loop returns")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn replaces_the_file_whole_and_leaves_nothing_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sslaudit.prom");
        write_atomic(&path, b"a 1\n").unwrap();
        write_atomic(&path, b"b 2\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"b 2\n");
        assert_eq!(names(dir.path()), ["sslaudit.prom"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o044, 0o044 & !umask(), "readable by the collector");
        }
    }

    #[cfg(unix)]
    fn umask() -> u32 {
        // Read back what a fresh 0777 directory gets.
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let probe = dir.path().join("d");
        fs::create_dir(&probe).unwrap();
        0o777 & !fs::metadata(&probe).unwrap().permissions().mode()
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_no_partial_one() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a non-empty directory: the rename fails after the
        // temporary file was written in full.
        let path = dir.path().join("metrics.prom");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("keep"), b"x").unwrap();
        assert!(write_atomic(&path, b"a 1\n").is_err());
        assert_eq!(names(dir.path()), ["metrics.prom"]);
        assert_eq!(names(&path), ["keep"]);
    }

    #[test]
    fn a_missing_directory_is_an_error_without_a_trace() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/out.prom");
        assert!(write_atomic(&path, b"a 1\n").is_err());
        assert!(names(dir.path()).is_empty());
    }
}
