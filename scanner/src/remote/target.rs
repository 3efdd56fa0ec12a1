//! The remediation engine's [`Target`] over the scanner's transports: file
//! operations and commands as short shell scripts through an [`Exec`] (SSH
//! in production, a local shell in tests), SQL through the host's own
//! client or the scanner's MySQL connection, and the served certificate
//! through the TLS probe.
//!
//! Every value that reaches a command line goes through [`shell_quote`];
//! file content and passwords travel on stdin, never in a command line.

use std::sync::Arc;

use mysql::prelude::Queryable;
use sslaudit_remediations::target::{
    CommandOutput, EntryKind, EntryMeta, FileState, Target, TargetError,
};

use crate::evidence::ProbeRecord;
use crate::remote::{Exec, ExecOutput, shell_quote};
use crate::secret::Secret;

/// How SQL reaches the server.
pub enum SqlRoute {
    /// The host's own `mysql` client over the socket, as the SSH user (root
    /// with socket auth, as the seed does) or as `user` with `password`.
    Client {
        user: Option<String>,
        password: Option<Secret>,
    },
    /// A session the scanner opens itself (`via: tcp`/`tunnel` with the
    /// inventory's admin account).
    Connect(Box<dyn Fn() -> Result<mysql::Conn, String> + Send + Sync>),
    /// No administrative access: why.
    Unavailable(String),
}

/// A host as the remediation engine sees it.
pub struct HostTarget {
    name: String,
    exec: Arc<dyn Exec + Send + Sync>,
    sql: SqlRoute,
    probe: Option<Box<dyn Fn() -> ProbeRecord + Send + Sync>>,
}

impl HostTarget {
    pub fn new(
        name: &str,
        exec: Arc<dyn Exec + Send + Sync>,
        sql: SqlRoute,
        probe: Option<Box<dyn Fn() -> ProbeRecord + Send + Sync>>,
    ) -> Self {
        HostTarget {
            name: name.to_string(),
            exec,
            sql,
            probe,
        }
    }

    fn run(&self, script: &str, stdin: &[u8]) -> Result<ExecOutput, TargetError> {
        self.exec
            .exec(script, stdin)
            .map_err(|e| TargetError::Command {
                host: self.name.clone(),
                command: first_line(script),
                message: e.to_string(),
            })
    }

    /// Runs a file operation; a non-zero exit is the refusal in its stderr.
    fn file_op(&self, path: &str, script: &str, stdin: &[u8]) -> Result<ExecOutput, TargetError> {
        let out = self.run(script, stdin)?;
        if !out.success() {
            return Err(TargetError::Refused {
                host: self.name.clone(),
                path: path.to_string(),
                reason: failure(&out),
            });
        }
        Ok(out)
    }
}

fn first_line(script: &str) -> String {
    script
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(120)
        .collect()
}

fn failure(out: &ExecOutput) -> String {
    let err = out.stderr_text();
    match (out.status, err.is_empty()) {
        (Some(s), true) => format!("exit status {s}"),
        (None, true) => "killed by a signal".to_string(),
        (_, false) => err,
    }
}

/// `chown OWNER:GROUP -- TARGET && ` (TARGET already quoted or a shell
/// variable), or nothing when neither is given.
fn chown_then(owner: Option<&str>, group: Option<&str>, target: &str) -> String {
    let who = match (owner, group) {
        (None, None) => return String::new(),
        (Some(o), None) => shell_quote(o),
        (None, Some(g)) => format!(":{}", shell_quote(g)),
        (Some(o), Some(g)) => format!("{}:{}", shell_quote(o), shell_quote(g)),
    };
    format!("chown {who} -- {target} && ")
}

/// `stat` output `<kind>|<octal mode>|<owner>|<group>`.
fn parse_stat(line: &str) -> Option<EntryMeta> {
    let mut parts = line.trim_end().splitn(4, '|');
    let kind = match parts.next()? {
        "regular file" | "regular empty file" => EntryKind::File,
        "directory" => EntryKind::Dir,
        _ => EntryKind::Other,
    };
    let mode = u32::from_str_radix(parts.next()?, 8).ok()?;
    Some(EntryMeta {
        kind,
        mode,
        owner: parts.next().map(str::to_string),
        group: parts.next().map(str::to_string),
    })
}

const STAT: &str = "stat -L -c '%F|%a|%U|%G' --";

impl Target for HostTarget {
    fn host(&self) -> &str {
        &self.name
    }

    fn metadata(&self, path: &str) -> Result<Option<EntryMeta>, TargetError> {
        let p = shell_quote(path);
        let out = self.file_op(
            path,
            &format!("if [ -e {p} ]; then {STAT} {p}; else echo absent; fi"),
            b"",
        )?;
        let text = String::from_utf8_lossy(&out.stdout);
        if text.trim() == "absent" {
            return Ok(None);
        }
        parse_stat(&text)
            .map(Some)
            .ok_or_else(|| TargetError::Refused {
                host: self.name.clone(),
                path: path.to_string(),
                reason: format!("unexpected stat output {:?}", text.trim()),
            })
    }

    fn read_file(&self, path: &str) -> Result<Option<FileState>, TargetError> {
        let p = shell_quote(path);
        // Exit 3: absent; 4: not a regular file. The first line is the
        // metadata, the rest the bytes as they are.
        let out = self.run(
            &format!(
                "if [ ! -e {p} ]; then exit 3; elif [ ! -f {p} ]; then exit 4; fi; \
                 {STAT} {p} && cat -- {p}"
            ),
            b"",
        )?;
        match out.status {
            Some(0) => {}
            Some(3) => return Ok(None),
            Some(4) => {
                return Err(TargetError::Refused {
                    host: self.name.clone(),
                    path: path.to_string(),
                    reason: "not a regular file".to_string(),
                });
            }
            _ => {
                return Err(TargetError::Refused {
                    host: self.name.clone(),
                    path: path.to_string(),
                    reason: failure(&out),
                });
            }
        }
        let split = out.stdout.iter().position(|b| *b == b'\n');
        let (head, content) = match split {
            Some(i) => (&out.stdout[..i], out.stdout[i + 1..].to_vec()),
            None => (&out.stdout[..], Vec::new()),
        };
        let meta =
            parse_stat(&String::from_utf8_lossy(head)).ok_or_else(|| TargetError::Refused {
                host: self.name.clone(),
                path: path.to_string(),
                reason: "unexpected stat output".to_string(),
            })?;
        Ok(Some(FileState {
            content,
            mode: meta.mode,
            owner: meta.owner,
            group: meta.group,
        }))
    }

    /// The temporary file is created empty under `umask 077` (so 0600 at
    /// open), given its owner and then its mode while still empty, filled
    /// from stdin, synced, and renamed over the path.
    fn write_file_atomic(
        &self,
        path: &str,
        content: &[u8],
        mode: u32,
        owner: Option<&str>,
        group: Option<&str>,
    ) -> Result<(), TargetError> {
        let p = shell_quote(path);
        let chown = chown_then(owner, group, "\"$t\"");
        let script = format!(
            "set -e; umask 077; p={p}; t=\"$(dirname -- \"$p\")/.sslaudit-tmp.$$.$(basename -- \"$p\")\"; \
             trap 'rm -f -- \"$t\"' EXIT; (set -C; : > \"$t\"); {chown}chmod {mode:o} -- \"$t\"; \
             cat > \"$t\"; sync \"$t\" 2>/dev/null || sync; mv -f -- \"$t\" \"$p\"; trap - EXIT; \
             sync \"$(dirname -- \"$p\")\" 2>/dev/null || true"
        );
        self.file_op(path, &script, content).map(drop)
    }

    fn make_dir(&self, path: &str, mode: u32, owner: Option<&str>) -> Result<(), TargetError> {
        let p = shell_quote(path);
        let chown = owner
            .map(|o| format!(" && chown {} -- {p}", shell_quote(o)))
            .unwrap_or_default();
        self.file_op(path, &format!("mkdir -m {mode:o} -- {p}{chown}"), b"")
            .map(drop)
    }

    fn rename(&self, from: &str, to: &str) -> Result<(), TargetError> {
        self.file_op(
            from,
            &format!("mv -- {} {}", shell_quote(from), shell_quote(to)),
            b"",
        )
        .map(drop)
    }

    fn remove_file(&self, path: &str) -> Result<(), TargetError> {
        let p = shell_quote(path);
        self.file_op(path, &format!("[ -f {p} ] && rm -- {p}"), b"")
            .map(drop)
    }

    fn remove_dir(&self, path: &str) -> Result<(), TargetError> {
        self.file_op(path, &format!("rmdir -- {}", shell_quote(path)), b"")
            .map(drop)
    }

    fn run_command(&self, command: &str) -> Result<CommandOutput, TargetError> {
        let out = self.run(command, b"")?;
        Ok(CommandOutput {
            status: out.status.unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    fn run_sql(&self, sql: &str) -> Result<(), TargetError> {
        let fail = |message: String| TargetError::Sql {
            host: self.name.clone(),
            message,
        };
        match &self.sql {
            SqlRoute::Unavailable(why) => Err(fail(why.clone())),
            SqlRoute::Connect(open) => {
                let mut conn = open().map_err(fail)?;
                conn.query_drop(sql).map_err(|e| fail(e.to_string()))
            }
            SqlRoute::Client { user, password } => {
                let (script, stdin) = client_script(user.as_deref(), password.as_ref(), sql);
                let out = self.run(&script, &stdin)?;
                if !out.success() {
                    return Err(fail(failure(&out)));
                }
                Ok(())
            }
        }
    }

    fn set_mode(
        &self,
        path: &str,
        mode: u32,
        owner: Option<&str>,
        group: Option<&str>,
    ) -> Result<(), TargetError> {
        let p = shell_quote(path);
        // Ownership first: chown may clear set-id bits that chmod then sets.
        let chown = chown_then(owner, group, &p);
        self.file_op(path, &format!("{chown}chmod {mode:o} -- {p}"), b"")
            .map(drop)
    }

    fn served_certificate(&self) -> Result<Option<Vec<u8>>, TargetError> {
        let Some(probe) = &self.probe else {
            return Err(TargetError::Unsupported {
                host: self.name.clone(),
                what: "TLS verification (no MySQL endpoint)",
            });
        };
        let rec = probe();
        if let Some(e) = rec.error.as_deref().filter(|_| rec.chain_pem.is_empty()) {
            if !rec.advertises_ssl && rec.greeting_version.is_some() {
                return Ok(None);
            }
            return Err(TargetError::Command {
                host: self.name.clone(),
                command: format!("TLS probe of {}", rec.address),
                message: e.to_string(),
            });
        }
        let Some(leaf) = rec.chain_pem.first() else {
            return Ok(None);
        };
        openssl::x509::X509::from_pem(leaf.as_bytes())
            .and_then(|c| c.to_der())
            .map(Some)
            .map_err(|e| TargetError::Command {
                host: self.name.clone(),
                command: format!("TLS probe of {}", rec.address),
                message: format!("the presented certificate does not parse: {e}"),
            })
    }
}

/// The host client reading the statement from stdin; a password, when
/// there is one, is the first line of stdin and goes into a private
/// temporary option file, never onto a command line.
fn client_script(user: Option<&str>, password: Option<&Secret>, sql: &str) -> (String, Vec<u8>) {
    let mut script = String::from(
        "c=$(command -v mariadb || command -v mysql) || { echo 'no mysql client on the host' >&2; exit 127; }; ",
    );
    let mut stdin = Vec::new();
    let mut args = String::new();
    if let Some(pw) = password {
        script.push_str(
            "umask 077; d=$(mktemp -d) || exit 125; trap 'rm -rf \"$d\"' EXIT; \
             IFS= read -r p; printf '[client]\\n%s\\n' \"$p\" > \"$d/admin.cnf\"; ",
        );
        args.push_str(" --defaults-extra-file=\"$d/admin.cnf\"");
        // An option-file value in double quotes takes backslash escapes.
        let quoted = pw.expose().replace('\\', "\\\\").replace('"', "\\\"");
        stdin.extend_from_slice(format!("password=\"{quoted}\"\n").as_bytes());
    }
    if let Some(u) = user {
        args.push_str(&format!(" --user={}", shell_quote(u)));
    }
    script.push_str(&format!(
        "\"$c\"{args} --protocol=socket --batch --skip-column-names"
    ));
    stdin.extend_from_slice(sql.as_bytes());
    stdin.push(b'\n');
    (script, stdin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::LocalExec;
    use std::os::unix::fs::PermissionsExt;

    fn local() -> HostTarget {
        HostTarget::new(
            "h",
            Arc::new(LocalExec { name: "h".into() }),
            SqlRoute::Unavailable("none here".into()),
            None,
        )
    }

    fn path(dir: &tempfile::TempDir, name: &str) -> String {
        dir.path().join(name).to_string_lossy().into_owned()
    }

    #[test]
    fn files_round_trip_with_modes_and_odd_names() {
        let dir = tempfile::tempdir().unwrap();
        let t = local();
        // Quotes, $(...), backticks, ; and a newline in the name are data.
        let odd = path(&dir, "o'brien $(touch x) `y`; z\nw.key");
        assert_eq!(t.metadata(&odd).unwrap(), None);
        assert_eq!(t.read_file(&odd).unwrap(), None);
        let bytes = b"\x00binary\nkey\xff".to_vec();
        t.write_file_atomic(&odd, &bytes, 0o600, None, None)
            .unwrap();
        let f = t.read_file(&odd).unwrap().unwrap();
        assert_eq!(f.content, bytes);
        assert_eq!(f.mode, 0o600);
        let m = t.metadata(&odd).unwrap().unwrap();
        assert_eq!(m.kind, EntryKind::File);
        // Nothing the name held was run, and no temporary file is left.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        t.set_mode(&odd, 0o640, None, None).unwrap();
        assert_eq!(t.metadata(&odd).unwrap().unwrap().mode, 0o640);
        let moved = path(&dir, "moved");
        t.rename(&odd, &moved).unwrap();
        t.remove_file(&moved).unwrap();
        assert!(t.remove_file(&moved).is_err());
    }

    #[test]
    fn a_key_is_never_looser_than_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let t = local();
        let key = path(&dir, "server.key");
        std::fs::write(&key, "old").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        t.write_file_atomic(
            &key,
            b"-----BEGIN RSA PRIVATE KEY-----\n",
            0o600,
            None,
            None,
        )
        .unwrap();
        let meta = std::fs::metadata(&key).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
        assert_eq!(
            std::fs::read_to_string(&key).unwrap(),
            "-----BEGIN RSA PRIVATE KEY-----\n"
        );
    }

    #[test]
    fn directories_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let t = local();
        let d = path(&dir, "keys");
        t.make_dir(&d, 0o750, None).unwrap();
        assert_eq!(t.metadata(&d).unwrap().unwrap().kind, EntryKind::Dir);
        assert_eq!(t.metadata(&d).unwrap().unwrap().mode, 0o750);
        assert!(t.make_dir(&d, 0o750, None).is_err());
        assert!(matches!(t.read_file(&d), Err(TargetError::Refused { .. })));
        let missing_parent = path(&dir, "nope/file");
        assert!(
            t.write_file_atomic(&missing_parent, b"x", 0o644, None, None)
                .is_err()
        );
        t.remove_dir(&d).unwrap();
        assert!(matches!(
            t.run_sql("SELECT 1"),
            Err(TargetError::Sql { .. })
        ));
        let out = t.run_command("echo hi; exit 3").unwrap();
        assert_eq!((out.status, out.stdout.as_str()), (3, "hi\n"));
    }

    #[test]
    fn the_client_script_keeps_the_password_off_the_command_line() {
        let (script, stdin) = client_script(
            Some("admin"),
            Some(&Secret::new("s3cr'et")),
            "ALTER USER 'o''brien'@'%' REQUIRE X509",
        );
        assert!(!script.contains("s3cr"), "{script}");
        assert!(script.contains("--user='admin'"), "{script}");
        let stdin = String::from_utf8(stdin).unwrap();
        assert!(
            stdin.starts_with("password=\"s3cr'et\"\nALTER USER"),
            "{stdin}"
        );
    }

    #[test]
    fn stat_lines_parse() {
        let m = parse_stat("regular file|600|mysql|mysql\n").unwrap();
        assert_eq!((m.kind, m.mode), (EntryKind::File, 0o600));
        assert_eq!(m.owner.as_deref(), Some("mysql"));
        assert_eq!(
            parse_stat("directory|755|root|root").unwrap().kind,
            EntryKind::Dir
        );
        assert!(parse_stat("garbage").is_none());
    }
}
