//! `via: ssh`: the host's own `mariadb`/`mysql` client runs every query in
//! one exec and one session, reading the SQL from stdin in `--batch` mode
//! with `--force` (each statement runs even when one before it failed).
//!
//! The command line holds no secret: a password is the first line of stdin,
//! which the shell reads into a private temporary option file (mode 0600 in
//! a `mktemp -d` directory, removed on exit) before the client starts and
//! reads the rest of stdin as SQL. With a user configured, `HOME` points at
//! that directory too, so the SSH user's own `~/.my.cnf` cannot put its
//! password on the scanner's account.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::batch::{END_SECTION, parse_batch, parse_errors};
use super::queries::{CENSUS_INTERVAL, SECTIONS, Section, census_looks, census_window_secs};
use super::record::{Outcome, add_samples, assemble, connection, problem};
use super::{ClientSettings, Collected, ResultSet, Secret, endpoint};
use crate::remote::{Exec, ExecOutput, RemoteError, shell_quote};
use sslaudit_rules::facts::what;

/// The SQL sent on stdin, and which section each of its lines belongs to.
#[derive(Debug, Clone)]
pub(crate) struct Script {
    pub sql: String,
    /// `lines[n - 1]`: the section of script line `n` (the client's
    /// `ERROR ... at line n`). The census's further looks come after
    /// these lines: an error in one only means that look was not taken.
    pub lines: Vec<Section>,
    pub nonce: String,
    /// The census's further looks, sections `sessions.1`, `sessions.2`, ...
    pub census_looks: u32,
}

fn marker(nonce: &str, name: &str) -> String {
    format!("SELECT '{nonce}' AS sslaudit_section, '{name}' AS sslaudit_name;\n")
}

/// Every section, each opened by a marker row carrying `nonce`, then the
/// census's further looks (each after `DO SLEEP` of the interval, in the
/// same session), then a closing marker. One statement per line.
pub(crate) fn script(nonce: &str, census_looks: u32) -> Script {
    let mut sql = String::new();
    let mut lines = Vec::new();
    for section in SECTIONS {
        sql.push_str(&marker(nonce, section.name()));
        lines.push(section);
        for st in section.statements() {
            sql.push_str(st);
            sql.push_str(";\n");
            lines.push(section);
        }
    }
    for look in 1..=census_looks {
        let _ = writeln!(sql, "DO SLEEP({});", CENSUS_INTERVAL.as_secs_f64());
        sql.push_str(&marker(nonce, &look_name(look)));
        for st in Section::Sessions.statements() {
            sql.push_str(st);
            sql.push_str(";\n");
        }
    }
    sql.push_str(&marker(nonce, END_SECTION));
    Script {
        sql,
        lines,
        nonce: nonce.to_string(),
        census_looks,
    }
}

/// The batch section of the census's further look `n`.
fn look_name(n: u32) -> String {
    format!("{}.{n}", Section::Sessions.name())
}

/// A random token for this run's markers (so no value can fake one).
fn nonce() -> String {
    let mut bytes = [0u8; 8];
    if openssl::rand::rand_bytes(&mut bytes).is_err() {
        // Uniqueness, not secrecy, is what matters here.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes = ((t as u64) ^ u64::from(std::process::id()).rotate_left(32)).to_be_bytes();
    }
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// `password="..."` for an option file: quoted, with the escapes the
/// option file reader undoes, so any byte sequence survives (`#` inside
/// quotes is not a comment).
pub(crate) fn option_line(password: &Secret) -> String {
    let mut v = String::from("password=\"");
    for c in password.expose().chars() {
        match c {
            '\\' => v.push_str("\\\\"),
            '"' => v.push_str("\\\""),
            '\n' => v.push_str("\\n"),
            '\r' => v.push_str("\\r"),
            '\t' => v.push_str("\\t"),
            c => v.push(c),
        }
    }
    v.push('"');
    v
}

/// The shell command (POSIX sh) that finds the client and runs it on stdin.
pub(crate) fn command(settings: &ClientSettings) -> String {
    let mut sh = String::from(
        "PATH=\"$PATH:/usr/local/bin:/usr/local/mysql/bin\"; \
         c=$(command -v mariadb || command -v mysql) || \
         { echo 'sslaudit: no mariadb or mysql client in PATH' >&2; exit 127; }; ",
    );
    let isolate = settings.user.is_some() || settings.password.is_some();
    let mut defaults = String::new();
    if isolate {
        sh.push_str(
            "umask 077; d=$(mktemp -d \"${TMPDIR:-/tmp}/sslaudit.XXXXXX\") || exit 125; \
             trap 'rm -rf \"$d\"' EXIT; trap 'exit 129' HUP INT TERM; ",
        );
    }
    match (&settings.password, &settings.defaults_file) {
        (Some(_), Some(file)) => {
            // --defaults-file excludes --defaults-extra-file: include the
            // configured file first, then the password, which wins.
            let _ = write!(
                sh,
                "IFS= read -r p; printf '!include %s\\n[client]\\n%s\\n' {} \"$p\" > \"$d/client.cnf\"; ",
                shell_quote(file)
            );
            defaults.push_str(" --defaults-file=\"$d/client.cnf\"");
        }
        (Some(_), None) => {
            sh.push_str("IFS= read -r p; printf '[client]\\n%s\\n' \"$p\" > \"$d/client.cnf\"; ");
            defaults.push_str(" --defaults-extra-file=\"$d/client.cnf\"");
        }
        (None, Some(file)) => {
            let _ = write!(defaults, " --defaults-file={}", shell_quote(file));
        }
        (None, None) => {}
    }
    if settings.tcp.is_some() {
        // MySQL 5.7+ clients take --ssl-mode (8.0 dropped --ssl); MariaDB's
        // and older ones take --ssl. Both ask for TLS and still connect when
        // the server offers none: the session then records no cipher. Like
        // PREFERRED, the MariaDB form does not check the certificate (11.4+
        // clients would by default): a host's certificate rarely names
        // 127.0.0.1, and what matters here is whether TLS is negotiated.
        sh.push_str(
            "if \"$c\" --help 2>/dev/null | grep -q -e '--ssl-mode'; \
             then t=--ssl-mode=PREFERRED; else t='--ssl --skip-ssl-verify-server-cert'; fi; ",
        );
    }
    if isolate {
        sh.push_str("HOME=\"$d\" ");
    }
    sh.push_str("\"$c\"");
    sh.push_str(&defaults);
    let _ = write!(
        sh,
        " --batch --force --connect-timeout={}",
        settings.timeout.as_secs().max(1)
    );
    if let Some(user) = &settings.user {
        let _ = write!(sh, " --user={}", shell_quote(user));
    }
    match &settings.tcp {
        Some((host, port)) => {
            let _ = write!(
                sh,
                " --protocol=tcp --host={} --port={port} $t",
                shell_quote(host)
            );
        }
        None => {
            sh.push_str(" --protocol=socket");
            if let Some(socket) = &settings.socket {
                let _ = write!(sh, " --socket={}", shell_quote(socket));
            }
        }
    }
    sh
}

/// One run of the host's own client (`via: ssh`): the command, what it
/// reads on stdin, and how to read what it prints. Made apart from the
/// exec so that the client can share one with the first file round
/// ([`crate::remote::joint`]).
pub struct ClientRun {
    script: Script,
    command: String,
    stdin: Vec<u8>,
    endpoint: String,
    census_window: std::time::Duration,
}

impl ClientRun {
    pub fn new(settings: &ClientSettings) -> ClientRun {
        let script = script(&nonce(), census_looks(settings.census_window));
        let mut stdin = Vec::new();
        if let Some(pw) = &settings.password {
            stdin.extend_from_slice(option_line(pw).as_bytes());
            stdin.push(b'\n');
        }
        stdin.extend_from_slice(script.sql.as_bytes());
        let endpoint = match &settings.tcp {
            Some((host, port)) => endpoint(host, *port),
            None => "socket".to_string(),
        };
        ClientRun {
            script,
            command: command(settings),
            stdin,
            endpoint,
            census_window: settings.census_window,
        }
    }

    /// The shell command; it holds no secret.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The password line (when there is one), then the SQL.
    pub fn stdin(&self) -> &[u8] {
        &self.stdin
    }

    /// The record from the client's output; a failed exec is one `mysql
    /// client` problem. The session facts say `via: ssh`, endpoint `socket`
    /// (or `host:port` with `settings.tcp`), and the session's own cipher:
    /// MariaDB encrypts even socket sessions when both sides have TLS.
    pub fn finish(&self, out: Result<ExecOutput, RemoteError>) -> Collected {
        let out = match out {
            Ok(out) => out,
            Err(e) => return (None, None, vec![problem(what::MYSQL_CLIENT, e.to_string())]),
        };
        let script = &self.script;
        let (mut rec, conn, problems) = interpret(script, &out, &self.endpoint);
        if script.census_looks > 0
            && let Some(census) = rec.as_mut().and_then(|r| r.sessions.as_mut())
        {
            let looks = census_sets(script, &out);
            add_samples(census, &looks, census_window_secs(self.census_window));
        }
        (rec, conn, problems)
    }
}

/// Runs every query through the host's own client (`via: ssh`), in an exec
/// of its own ([`ClientRun::finish`] says what comes back).
pub fn collect_via_client(exec: &dyn Exec, settings: &ClientSettings) -> Collected {
    let run = ClientRun::new(settings);
    run.finish(exec.exec(run.command(), run.stdin()))
}

/// The census's further looks that came back.
fn census_sets(script: &Script, out: &ExecOutput) -> Vec<ResultSet> {
    let batch = parse_batch(&String::from_utf8_lossy(&out.stdout), &script.nonce);
    (1..=script.census_looks)
        .filter_map(|n| batch.sections.get(&look_name(n)).cloned())
        .filter(|set| !set.columns.is_empty())
        .collect()
}

/// The first lines of stderr, for messages.
fn stderr_summary(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-----"))
        .take(3)
        .collect();
    lines.join("; ")
}

/// Turns the client's output into the record (pure, for tests).
pub(crate) fn interpret(script: &Script, out: &ExecOutput, endpoint: &str) -> Collected {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let batch = parse_batch(&stdout, &script.nonce);
    let errors = parse_errors(&stderr);

    if batch.sections.is_empty() && batch.malformed.is_empty() {
        // Not one statement ran: no client, or no session.
        let status = out.status.map_or_else(
            || "no exit status".to_string(),
            |s| format!("exit status {s}"),
        );
        let p = if let Some(e) = errors.iter().find(|e| e.line.is_none()) {
            // ERROR 1045 access denied, ERROR 2002 no socket...
            let what = if e.message.starts_with("ERROR 1045") || e.message.starts_with("ERROR 1698")
            {
                what::MYSQL_LOGIN
            } else {
                what::MYSQL_CONNECTION
            };
            problem(what, e.message.clone())
        } else {
            let detail = stderr_summary(&stderr);
            let detail = if detail.is_empty() {
                "no output".to_string()
            } else {
                detail
            };
            problem(what::MYSQL_CLIENT, format!("{detail} ({status})"))
        };
        return (None, None, vec![p]);
    }

    let mut first_error: BTreeMap<Section, String> = BTreeMap::new();
    for e in &errors {
        let section = e
            .line
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| script.lines.get(i as usize));
        if let Some(section) = section {
            first_error
                .entry(*section)
                .or_insert_with(|| e.message.clone());
        }
    }
    let mut outcomes: BTreeMap<Section, Outcome> = BTreeMap::new();
    for section in SECTIONS {
        let name = section.name();
        let outcome = if let Some(e) = first_error.get(&section) {
            Err(e.clone())
        } else if let Some(m) = batch.malformed.get(name) {
            Err(m.clone())
        } else if let Some(set) = batch.sections.get(name) {
            Ok(set.clone())
        } else {
            let why = stderr_summary(&stderr);
            Err(if why.is_empty() {
                "the client stopped before this query ran".to_string()
            } else {
                format!("the client stopped before this query ran: {why}")
            })
        };
        outcomes.insert(section, outcome);
    }
    let (rec, problems) = assemble(&outcomes);
    let conn = connection(&outcomes, "ssh", endpoint);
    (Some(rec), conn, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::LocalExec;
    use std::time::Duration;

    #[test]
    fn script_lines_map_to_sections() {
        let s = script("abc", 0);
        let lines: Vec<&str> = s.sql.lines().collect();
        assert_eq!(lines.len(), s.lines.len() + 1, "plus the end marker");
        assert!(lines[0].contains("'abc' AS sslaudit_section, 'variables'"));
        assert_eq!(s.lines[0], Section::Variables);
        let accounts = lines
            .iter()
            .position(|l| l.starts_with("EXECUTE sslaudit_accounts"))
            .unwrap();
        assert_eq!(s.lines[accounts], Section::Accounts);
        assert!(lines.last().unwrap().contains(END_SECTION));
    }

    /// DBAs read docs/scanner-queries.md to know what the scanner runs:
    /// it must show the batch exactly.
    #[test]
    fn a_census_window_looks_again_in_the_same_session() {
        let s = script("n", 2);
        let tail = s
            .sql
            .split("sslaudit_name;\n")
            .skip(SECTIONS.len())
            .collect::<Vec<_>>();
        assert!(
            s.sql
                .contains("DO SLEEP(1);\nSELECT 'n' AS sslaudit_section, 'sessions.1'")
        );
        assert!(s.sql.contains("'sessions.2' AS sslaudit_name"));
        assert!(
            s.sql.ends_with("'--end--' AS sslaudit_name;\n"),
            "{}",
            s.sql
        );
        assert_eq!(tail.len(), 4, "{tail:?}");
        // The further looks are not mapped to a section: an error in one
        // leaves the first look's census as it is.
        assert_eq!(s.lines.len(), script("n", 0).lines.len());
        assert_eq!(census_looks(std::time::Duration::from_secs(30)), 30);
        assert_eq!(census_looks(std::time::Duration::ZERO), 0);
    }

    #[test]
    fn the_docs_show_the_exact_batch() {
        let doc = include_str!("../../../../docs/scanner-queries.md");
        assert!(
            doc.contains(&script("<nonce>", 0).sql),
            "update the batch in docs/scanner-queries.md"
        );
        let example = ClientSettings {
            user: Some("sslaudit".into()),
            password: Some(Secret::new("x")),
            ..ClientSettings::default()
        };
        assert!(
            doc.contains(&format!("```sh\n{}\n```", command(&example))),
            "update the command in docs/scanner-queries.md"
        );
    }

    #[test]
    fn option_line_escapes_what_the_reader_unescapes() {
        let pw = Secret::new("a\"b\\c#d'e $f\tg\nh");
        assert_eq!(option_line(&pw), r#"password="a\"b\\c#d'e $f\tg\nh""#);
    }

    #[test]
    fn the_command_line_never_holds_the_password() {
        let settings = ClientSettings {
            user: Some("sslaudit".into()),
            password: Some(Secret::new("s3cr3t-pw")),
            defaults_file: Some("/etc/mysql/debian.cnf".into()),
            tcp: Some(("127.0.0.1".into(), 3306)),
            ..ClientSettings::default()
        };
        let c = command(&settings);
        assert!(!c.contains("s3cr3t"));
        assert!(c.contains("--user='sslaudit'"));
        assert!(c.contains("--protocol=tcp --host='127.0.0.1' --port=3306"));
        assert!(c.contains("!include %s"));
        let plain = command(&ClientSettings::default());
        assert!(plain.contains("--protocol=socket"));
        assert!(
            !plain.contains("HOME="),
            "root's own config applies: {plain}"
        );
    }

    /// Runs the real shell part with a fake client that prints its
    /// arguments, the option file it was given, and its stdin.
    #[test]
    fn the_shell_part_hands_the_password_over_in_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("mariadb");
        std::fs::write(
            &fake,
            "#!/bin/sh\nfor a in \"$@\"; do echo \"arg:$a\"; case $a in \
             --defaults-extra-file=*) f=${a#*=}; ls -l \"$f\" | cut -c1-10; cat \"$f\";; esac; done\n\
             echo \"home:$HOME\"\ncat\n",
        )
        .unwrap();
        std::process::Command::new("chmod")
            .arg("755")
            .arg(&fake)
            .status()
            .unwrap();
        let settings = ClientSettings {
            user: Some("it's me".into()),
            password: Some(Secret::new("p\"w#1")),
            socket: Some("/run/my sock".into()),
            timeout: Duration::from_secs(3),
            ..ClientSettings::default()
        };
        let cmd = format!(
            "PATH={}:/usr/bin:/bin; {}",
            shell_quote(&dir.path().display().to_string()),
            command(&settings)
        );
        let exec = LocalExec {
            name: "local".into(),
        };
        let stdin = format!(
            "{}\nSELECT 1;\n",
            option_line(settings.password.as_ref().unwrap())
        );
        let out = exec.exec(&cmd, stdin.as_bytes()).unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.success(), "{text} {}", out.stderr_text());
        assert!(text.contains("-rw-------"), "{text}");
        assert!(text.contains("[client]\npassword=\"p\\\"w#1\""), "{text}");
        assert!(text.contains("arg:--user=it's me"), "{text}");
        assert!(text.contains("arg:--socket=/run/my sock"), "{text}");
        assert!(text.contains("arg:--connect-timeout=3"), "{text}");
        assert!(text.contains("home:/"), "{text}");
        assert!(
            text.ends_with("SELECT 1;\n"),
            "the client reads the SQL: {text}"
        );
        // The temporary directory is gone.
        let home = text.lines().find_map(|l| l.strip_prefix("home:")).unwrap();
        assert!(!std::path::Path::new(home).exists());
    }

    #[test]
    fn a_missing_client_is_one_problem() {
        let exec = LocalExec {
            name: "local".into(),
        };
        let cmd = command(&ClientSettings::default()).replace(
            "PATH=\"$PATH:/usr/local/bin:/usr/local/mysql/bin\"",
            "PATH=/nonexistent",
        );
        let (rec, conn, problems) = {
            let script = script("x", 0);
            let out = exec.exec(&cmd, script.sql.as_bytes()).unwrap();
            interpret(&script, &out, "socket")
        };
        assert!(rec.is_none() && conn.is_none());
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].what, what::MYSQL_CLIENT);
        assert!(
            problems[0].message.contains("no mariadb or mysql client"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn a_refused_login_is_a_login_problem() {
        let out = ExecOutput {
            stdout: Vec::new(),
            stderr: b"ERROR 1045 (28000): Access denied for user 'sslaudit'@'localhost' (using password: YES)\n".to_vec(),
            status: Some(1),
        };
        let (rec, _, problems) = interpret(&script("x", 0), &out, "socket");
        assert!(rec.is_none());
        assert_eq!(problems[0].what, what::MYSQL_LOGIN);
        assert!(problems[0].message.contains("Access denied"));
    }

    #[test]
    fn a_session_lost_midway_keeps_what_came_before() {
        let s = script("n", 0);
        let stdout = "sslaudit_section\tsslaudit_name\nn\tvariables\nVariable_name\tValue\n\
                      have_ssl\tYES\nsslaudit_section\tsslaudit_name\nn\tsession_status\n";
        let out = ExecOutput {
            stdout: stdout.as_bytes().to_vec(),
            stderr: b"ERROR 2013 (HY000) at line 4: Lost connection to server during query\n"
                .to_vec(),
            status: Some(1),
        };
        let (rec, conn, problems) = interpret(&s, &out, "socket");
        let rec = rec.unwrap();
        assert_eq!(rec.variables["have_ssl"], "YES");
        assert_eq!(rec.accounts, None);
        assert_eq!(conn, None, "no session status, no claim about encryption");
        let by = |what: &str| problems.iter().find(|p| p.what == what).unwrap();
        assert!(by("mysql session status").message.contains("ERROR 2013"));
        assert!(
            by("mysql accounts")
                .message
                .contains("the client stopped before this query ran: ERROR 2013")
        );
        // No version known: the first spelling tried names the failure.
        assert!(
            by("mysql replication")
                .message
                .starts_with("SHOW REPLICA STATUS: the client stopped")
        );
    }

    /// Real output of MariaDB 10.11.19 (`mariadb --batch --force` fed
    /// `script("0123456789abcdef").sql`) for the scanner account with only
    /// the documented grants, except the one on mysql.global_priv: the
    /// PREPARE is denied and the EXECUTE/DEALLOCATE after it fail too.
    #[test]
    fn captured_denied_accounts() {
        let nonce = "0123456789abcdef";
        let s = script(nonce, 0);
        let out = ExecOutput {
            stdout: include_bytes!("testdata/mariadb-10.11-denied.stdout.txt").to_vec(),
            stderr: include_bytes!("testdata/mariadb-10.11-denied.stderr.txt").to_vec(),
            status: Some(0),
        };
        let (rec, conn, problems) = interpret(&s, &out, "socket");
        let rec = rec.unwrap();
        assert_eq!(rec.accounts, None);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].what, "mysql accounts");
        assert!(
            problems[0]
                .message
                .contains("SELECT command denied to user 'sslaudit'@'localhost' for table `mysql`.`global_priv`"),
            "{}",
            problems[0].message
        );
        assert_eq!(rec.replication, Some(vec![]));
        assert_eq!(rec.variables["have_ssl"], "YES");
        assert!(rec.status.contains_key("Ssl_server_not_after"));
        let conn = conn.unwrap();
        assert_eq!(conn.endpoint, "socket");
        assert_eq!(conn.via, "ssh");
    }
}
