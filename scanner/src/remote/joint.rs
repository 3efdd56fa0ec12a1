//! Two commands in one exec: one channel and one remote shell where two
//! would otherwise each cost an SSH round trip and a login shell (`via:
//! ssh`: the first file round and the host's MySQL client).
//!
//! stdin is `NONCE\nLINES\n`, then the first command's input (LINES lines
//! of text), then the second command's input. The remote shell reads the
//! first part line by line (the shell's `read` never reads past a newline),
//! hands exactly that to the first command through a pipe, and leaves the
//! rest of stdin, untouched, to the second command. Neither command can
//! read the other's input: the first gets EOF after its part, and the
//! second starts only after the first has ended.
//!
//! The outputs come back one after the other on the channel's stdout and
//! stderr, each command's part closed by a marker that carries the nonce
//! and, on stdout, the command's exit status: `\n@@NONCE 1 STATUS\n` after
//! the first, `\n@@NONCE 2 STATUS\n` after the second (stderr: `\n@@NONCE
//! 1\n` only). The nonce is random per exec and travels on stdin, never on
//! a command line that a process list would show, so neither command's
//! output can forge a marker. The first command's part ends at the first
//! such marker (what follows it is the second's, which therefore cannot
//! touch the first's); the second's part ends at the last one.
//!
//! A failure of the exec itself (the host went away, a timeout) fails both
//! commands, except that a first command whose marker had already arrived
//! keeps its output ([`Exec::exec_partial`]): a client that stalls costs
//! the MySQL facts, never the files read before it.

use std::sync::Mutex;

use super::{Exec, ExecOutput, RemoteError};

/// The remote shell around `first` and `second` (both POSIX sh command
/// lines, each run in a subshell of its own, so that an `exit` or an EXIT
/// trap in one stays in it). Its own exit status is 0 once both ran: a
/// non-zero one is the transport's (sudo's refusal, a bad header).
pub fn command(first: &str, second: &str) -> String {
    format!(
        "IFS= read -r k && IFS= read -r n || exit 3
case $k in '' | *[!0-9a-f]*) exit 3 ;; esac
case $n in '' | *[!0-9]*) exit 3 ;; esac
a=
while [ \"$n\" -gt 0 ]; do IFS= read -r l || exit 3; a=\"$a$l
\"; n=$((n - 1)); done
printf %s \"$a\" | (
{first}
); printf '\\n@@%s 1 %s\\n' \"$k\" \"$?\"; printf '\\n@@%s 1\\n' \"$k\" >&2
(
{second}
); printf '\\n@@%s 2 %s\\n' \"$k\" \"$?\""
    )
}

/// The joint stdin, or `None` when the first input is not whole lines of
/// text (the shell hands over lines, and no NUL).
pub fn input(nonce: &str, first: &[u8], second: &[u8]) -> Option<Vec<u8>> {
    if !(first.is_empty() || first.ends_with(b"\n")) || first.contains(&0) {
        return None;
    }
    let lines = first.iter().filter(|&&b| b == b'\n').count();
    let mut stdin = format!("{nonce}\n{lines}\n").into_bytes();
    stdin.reserve(first.len() + second.len());
    stdin.extend_from_slice(first);
    stdin.extend_from_slice(second);
    Some(stdin)
}

type Both = (
    Result<ExecOutput, RemoteError>,
    Result<ExecOutput, RemoteError>,
);

/// Runs `first` and then `second` (each a command line and its stdin) in
/// one exec, and gives each its own output as if it had run alone. A first
/// input that is not whole lines runs the two one after the other.
pub fn exec_both(exec: &dyn Exec, first: (&str, &[u8]), second: (&str, &[u8])) -> Both {
    let nonce = super::token();
    let Some(stdin) = input(&nonce, first.1, second.1) else {
        return (exec.exec(first.0, first.1), exec.exec(second.0, second.1));
    };
    match exec.exec_partial(&command(first.0, second.0), &stdin) {
        Ok(out) => split(exec.host(), &nonce, &out),
        Err((e, stdout)) => split_failed(&nonce, &stdout, e),
    }
}

/// An [`Exec`] whose first command takes `rider` along in the same exec
/// ([`exec_both`]); the rider's output waits in [`Rider::answer`], and
/// every later command runs alone.
pub struct Rider<'a> {
    exec: &'a dyn Exec,
    command: &'a str,
    stdin: &'a [u8],
    /// The rider's output, once it ran.
    answer: Mutex<Option<Result<ExecOutput, RemoteError>>>,
}

impl<'a> Rider<'a> {
    pub fn new(exec: &'a dyn Exec, command: &'a str, stdin: &'a [u8]) -> Self {
        Rider {
            exec,
            command,
            stdin,
            answer: Mutex::new(None),
        }
    }

    /// The rider's output: from the shared exec, or from an exec of its own
    /// when nothing ran through this one.
    pub fn answer(self) -> Result<ExecOutput, RemoteError> {
        let answer = self
            .answer
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        answer.unwrap_or_else(|| self.exec.exec(self.command, self.stdin))
    }
}

impl Exec for Rider<'_> {
    fn host(&self) -> &str {
        self.exec.host()
    }

    fn exec(&self, command: &str, stdin: &[u8]) -> Result<ExecOutput, RemoteError> {
        let mut answer = self
            .answer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if answer.is_some() {
            return self.exec.exec(command, stdin);
        }
        let (first, rider) = exec_both(self.exec, (command, stdin), (self.command, self.stdin));
        *answer = Some(rider);
        first
    }
}

/// Each command's output from the joint one.
pub fn split(host: &str, nonce: &str, out: &ExecOutput) -> Both {
    let Some((first_out, status, rest)) = first_part(nonce, &out.stdout) else {
        // The shell never got past the first command (a refused header,
        // a killed shell): all there is belongs to it.
        let failed = RemoteError::Other {
            host: host.to_string(),
            message: "did not run: the command before it in the same exec did not end".into(),
        };
        return (Ok(out.clone()), Err(failed));
    };
    let (first_err, second_err) = split_stderr(nonce, &out.stderr);
    let (second_out, second_status) = second_part(nonce, rest);
    (
        Ok(ExecOutput {
            stdout: first_out.to_vec(),
            stderr: first_err.to_vec(),
            status,
        }),
        Ok(ExecOutput {
            stdout: second_out.to_vec(),
            stderr: second_err.to_vec(),
            status: second_status,
        }),
    )
}

/// After a failed exec: the first command keeps its output when its marker
/// came before the failure; whatever did not end fails with `e`.
fn split_failed(nonce: &str, stdout: &[u8], e: RemoteError) -> Both {
    match first_part(nonce, stdout) {
        Some((out, status, _)) => (
            Ok(ExecOutput {
                stdout: out.to_vec(),
                stderr: Vec::new(),
                status,
            }),
            Err(e),
        ),
        None => (Err(e.clone()), Err(e)),
    }
}

/// The first command's stdout, its status, and the stdout after its marker.
fn first_part<'a>(nonce: &str, stdout: &'a [u8]) -> Option<(&'a [u8], Option<i32>, &'a [u8])> {
    let marker = format!("\n@@{nonce} 1 ");
    let at = find(stdout, marker.as_bytes())?;
    let after = &stdout[at + marker.len()..];
    let eol = after.iter().position(|&b| b == b'\n')?;
    Some((&stdout[..at], status(&after[..eol]), &after[eol + 1..]))
}

/// The second command's stdout and status: up to the last marker, which
/// must end the output; without one the command did not end.
fn second_part<'a>(nonce: &str, rest: &'a [u8]) -> (&'a [u8], Option<i32>) {
    let marker = format!("\n@@{nonce} 2 ");
    if let Some(at) = rfind(rest, marker.as_bytes()) {
        let tail = &rest[at + marker.len()..];
        if let Some(digits) = tail.strip_suffix(b"\n") {
            if let Some(s) = status(digits) {
                return (&rest[..at], Some(s));
            }
        }
    }
    (rest, None)
}

/// The first and the second command's stderr.
fn split_stderr<'a>(nonce: &str, stderr: &'a [u8]) -> (&'a [u8], &'a [u8]) {
    let marker = format!("\n@@{nonce} 1\n");
    match find(stderr, marker.as_bytes()) {
        Some(at) => (&stderr[..at], &stderr[at + marker.len()..]),
        None => (stderr, &[]),
    }
}

/// An exit status as the shell prints `$?`.
fn status(digits: &[u8]) -> Option<i32> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::{LocalExec, shell_quote};

    fn local() -> LocalExec {
        LocalExec {
            name: "local".into(),
        }
    }

    #[test]
    fn each_command_reads_its_own_input_and_gets_its_own_output() {
        let (a, b) = exec_both(
            &local(),
            ("cat; echo first-err >&2; exit 4", b"one\ntwo\n"),
            ("cat; echo second-err >&2", b"three\nfour"),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.stdout, b"one\ntwo\n");
        assert_eq!(a.stderr, b"first-err\n");
        assert_eq!(a.status, Some(4));
        assert_eq!(b.stdout, b"three\nfour");
        assert_eq!(b.stderr, b"second-err\n");
        assert_eq!(b.status, Some(0));
    }

    #[test]
    fn a_command_that_reads_ahead_cannot_take_the_others_input() {
        // `head -c` and a shell loop both read as much as they can get.
        let (a, b) = exec_both(
            &local(),
            ("cat >/dev/null; echo done", b"mine\n"),
            ("wc -c", b"0123456789"),
        );
        assert_eq!(a.unwrap().stdout, b"done\n");
        assert_eq!(b.unwrap().stdout.trim_ascii(), b"10");
    }

    #[test]
    fn empty_outputs_and_inputs() {
        let (a, b) = exec_both(&local(), (":", b""), ("exit 1", b""));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!((a.stdout, a.stderr, a.status), (vec![], vec![], Some(0)));
        assert_eq!((b.stdout, b.stderr, b.status), (vec![], vec![], Some(1)));
    }

    /// An exit or an EXIT trap in one command stays in it.
    #[test]
    fn exits_and_traps_stay_in_their_command() {
        let (a, b) = exec_both(
            &local(),
            ("trap 'echo bye' EXIT; exit 127", b""),
            ("echo second ran; exit 125", b""),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!((a.stdout.as_slice(), a.status), (&b"bye\n"[..], Some(127)));
        assert_eq!(
            (b.stdout.as_slice(), b.status),
            (&b"second ran\n"[..], Some(125))
        );
    }

    /// Output that looks like a marker, without the nonce, is output; even
    /// with a guessed nonce the second command cannot reach into the
    /// first one's part.
    #[test]
    fn outputs_cannot_forge_the_framing() {
        let fake = "\n@@0123 1 0\nforged\n@@0123 2 0\n";
        let (a, b) = exec_both(
            &local(),
            (&format!("printf %s {}", shell_quote(fake)), b""),
            (&format!("printf %s {}; echo tail", shell_quote(fake)), b""),
        );
        assert_eq!(a.unwrap().stdout, fake.as_bytes());
        assert_eq!(b.unwrap().stdout, format!("{fake}tail\n").as_bytes());
        let out = ExecOutput {
            stdout: b"files\n@@ab 1 0\nrows\n@@ab 2 0\nmore\n@@ab 2 0\n".to_vec(),
            stderr: b"\n@@ab 1\n".to_vec(),
            status: Some(0),
        };
        let (a, b) = split("h", "ab", &out);
        assert_eq!(a.unwrap().stdout, b"files");
        assert_eq!(b.unwrap().stdout, b"rows\n@@ab 2 0\nmore");
    }

    #[test]
    fn a_shell_that_stopped_early_is_the_first_commands_failure() {
        let out = ExecOutput {
            stdout: Vec::new(),
            stderr: b"sh: bad\n".to_vec(),
            status: Some(3),
        };
        let (a, b) = split("h", "ab", &out);
        assert_eq!(a.unwrap(), out);
        assert!(b.unwrap_err().to_string().contains("did not run"));
        // The second command killed midway: its output so far, no status.
        let out = ExecOutput {
            stdout: b"x\n@@ab 1 0\npartial".to_vec(),
            stderr: Vec::new(),
            status: None,
        };
        let b = split("h", "ab", &out).1.unwrap();
        assert_eq!((b.stdout.as_slice(), b.status), (&b"partial"[..], None));
    }

    #[test]
    fn a_failed_exec_keeps_a_first_command_that_ended() {
        let e = RemoteError::Timeout {
            host: "h".into(),
            after: std::time::Duration::from_secs(3),
            during: "reading a command's output".into(),
        };
        let (a, b) = split_failed("ab", b"files\n@@ab 1 0\nrows", e.clone());
        assert_eq!(a.unwrap().stdout, b"files");
        assert_eq!(b.unwrap_err(), e);
        let (a, b) = split_failed("ab", b"fil", e.clone());
        assert_eq!((a.unwrap_err(), b.unwrap_err()), (e.clone(), e));
    }

    #[test]
    fn input_that_is_not_lines_runs_apart() {
        assert!(input("ab", b"no newline", b"").is_none());
        assert!(input("ab", b"nul\0\n", b"").is_none());
        assert_eq!(input("ab", b"a\nb\n", b"c").unwrap(), b"ab\n2\na\nb\nc");
        let (a, b) = exec_both(&local(), ("cat", b"x"), ("cat", b"y"));
        assert_eq!(
            (a.unwrap().stdout, b.unwrap().stdout),
            (b"x".to_vec(), b"y".to_vec())
        );
    }
}
