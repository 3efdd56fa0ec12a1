//! Parsers from raw host files to facts. Pure: they read bytes they are
//! given (and, for option-file includes, a [`FileSource`]), never the disk.

pub mod dbyml;
pub mod galera;
pub mod gemfile_lock;
pub mod limits;
pub mod mycnf;
pub mod openssl_cnf;
pub mod passwd;
pub mod redact;
pub mod version;
pub mod x509;
pub mod yaml;

/// Why a file could not be had from a [`FileSource`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("no such file or directory")]
    Missing,
    #[error("{0}")]
    Unreadable(String),
}

/// The files of one host as the collector saw them: the snapshot's `fs/`
/// tree offline, or what the SSH collector fetched live.
pub trait FileSource {
    /// The bytes of a file (absolute path).
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError>;
    /// The entries (file names, not paths) of a directory, sorted.
    fn list_dir(&self, path: &str) -> Result<Vec<String>, SourceError>;
}
