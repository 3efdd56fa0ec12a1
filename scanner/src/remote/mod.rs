//! Running commands on a host: over SSH for live scans, or locally (for
//! tests, and for scanning the machine the scanner runs on).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

pub mod joint;
pub mod ssh;
pub mod target;

/// What a command printed and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Exit status; `None` when the command was killed by a signal or the
    /// channel closed without one.
    pub status: Option<i32>,
}

impl ExecOutput {
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }

    /// Stderr as text, trimmed, for messages.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).trim().to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    #[error("{host}: connection failed: {message}")]
    Connect { host: String, message: String },
    #[error("{host}: authentication failed: {message}")]
    Auth { host: String, message: String },
    #[error("{host}: host key verification failed: {message}")]
    HostKey { host: String, message: String },
    #[error("{host}: timed out after {after:?} while {during}")]
    Timeout {
        host: String,
        after: Duration,
        during: String,
    },
    #[error("{host}: {message}")]
    Other { host: String, message: String },
}

/// Runs a shell command line on a host. Implementations must never hang
/// past their timeout, and must pass `stdin` to the command (closing it
/// afterwards) so that callers can send data without quoting it into the
/// command line.
pub trait Exec: Sync {
    /// The host's name, for messages.
    fn host(&self) -> &str;
    fn exec(&self, command: &str, stdin: &[u8]) -> Result<ExecOutput, RemoteError>;

    /// [`Exec::exec`], but a failure once the command runs comes with the
    /// stdout read by then: two commands sharing one exec
    /// ([`joint`]) keep the first one's output when the second stalls.
    fn exec_partial(
        &self,
        command: &str,
        stdin: &[u8],
    ) -> Result<ExecOutput, (RemoteError, Vec<u8>)> {
        self.exec(command, stdin).map_err(|e| (e, Vec::new()))
    }
}

/// 32 random hex digits, for the markers that frame what a host sends: a
/// host cannot guess them ahead of time, so nothing it prints can fake one.
pub(crate) fn token() -> String {
    let mut b = [0u8; 16];
    if openssl::rand::rand_bytes(&mut b).is_err() {
        // Only framing robustness depends on it, not secrecy: fall back to
        // the clock and the process id.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        b.copy_from_slice(&(t ^ u128::from(std::process::id())).to_be_bytes());
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Runs commands with `/bin/sh -c` on this machine.
pub struct LocalExec {
    pub name: String,
}

impl Exec for LocalExec {
    fn host(&self) -> &str {
        &self.name
    }

    fn exec(&self, command: &str, stdin: &[u8]) -> Result<ExecOutput, RemoteError> {
        let other = |e: std::io::Error| RemoteError::Other {
            host: self.name.clone(),
            message: e.to_string(),
        };
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(other)?;
        if let Some(mut input) = child.stdin.take() {
            // A command that does not read its stdin closes the pipe early.
            let _ = input.write_all(stdin);
        }
        let out = child.wait_with_output().map_err(other)?;
        Ok(ExecOutput {
            stdout: out.stdout,
            stderr: out.stderr,
            status: out.status.code(),
        })
    }
}

/// Quotes a string for a POSIX shell: `it's` -> `'it'\''s'`. Every value
/// that reaches a remote command line goes through this, the one quoter
/// of the workspace ([`sslaudit_remediations::shell`]).
pub use sslaudit_remediations::shell::quote as shell_quote;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_hostile_strings() {
        let e = LocalExec {
            name: "local".into(),
        };
        for s in [
            "plain",
            "it's",
            "$(touch /tmp/x)",
            "`id`",
            "a;b",
            "new\nline",
            "%s",
        ] {
            let out = e
                .exec(&format!("printf %s {}", shell_quote(s)), b"")
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), s);
        }
    }

    #[test]
    fn stdin_reaches_the_command() {
        let e = LocalExec {
            name: "local".into(),
        };
        let out = e.exec("cat", b"hello").unwrap();
        assert_eq!(out.stdout, b"hello");
        assert!(out.success());
    }
}
