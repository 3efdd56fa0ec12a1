//! Where run journals and audit logs go: shared by `keygen` (which applies
//! its own plan) and [`super::run`] (`rotate`, `keygen --inventory`,
//! `remediate`). A module of its own so that those depend on it, not on
//! each other.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

/// `--state-dir` if given, else [`default_state_dir`].
pub(super) fn state_dir(given: Option<&Path>) -> Result<PathBuf> {
    match given {
        Some(d) => Ok(d.to_path_buf()),
        None => default_state_dir(),
    }
}

/// `$XDG_STATE_HOME/sslaudit`, else `~/.local/state/sslaudit`.
pub(super) fn default_state_dir() -> Result<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_STATE_HOME").filter(|x| !x.is_empty()) {
        return Ok(PathBuf::from(x).join("sslaudit"));
    }
    let home = std::env::var_os("HOME")
        .context("neither XDG_STATE_HOME nor HOME is set: give --state-dir")?;
    Ok(PathBuf::from(home).join(".local/state/sslaudit"))
}
