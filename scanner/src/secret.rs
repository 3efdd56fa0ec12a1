//! The MySQL password, from the inventory's `password_env` or
//! `password_file`: held apart so that it never appears in `Debug` output,
//! messages or command lines, and shared by the collectors (`collect`) and
//! the remediation target (`remote`) without either depending on the other.

use std::fmt;
use std::path::Path;

/// A password. It never appears in `Debug` output, messages or command
/// lines.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable {name} is not set")]
    MissingEnv { name: String },
    #[error("environment variable {name} is not valid UTF-8")]
    NotUnicode { name: String },
    #[error("reading the secret file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
}

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// From `password_env`: the variable's value, as is.
    pub fn from_env(name: &str) -> Result<Self, SecretError> {
        match std::env::var(name) {
            Ok(v) => Ok(Secret(v)),
            Err(std::env::VarError::NotPresent) => Err(SecretError::MissingEnv {
                name: name.to_string(),
            }),
            Err(std::env::VarError::NotUnicode(_)) => Err(SecretError::NotUnicode {
                name: name.to_string(),
            }),
        }
    }

    /// From `password_file`: the file's first line, without its line end
    /// (editors add one; a password never ends in a newline).
    pub fn from_file(path: &Path) -> Result<Self, SecretError> {
        let text = std::fs::read_to_string(path).map_err(|source| SecretError::File {
            path: path.display().to_string(),
            source,
        })?;
        let first = text.lines().next().unwrap_or("");
        Ok(Secret(first.to_string()))
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}
