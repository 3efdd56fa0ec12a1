//! SCAN002: a fact the collector could not collect or parse.

use std::collections::BTreeMap;

use crate::facts::{CollectionProblem, HostFacts, what};
use crate::rule::Control;
use crate::rule::{Context, Rule, RuleMeta};
use crate::{Finding, Location, Severity};

pub struct CollectionIncomplete;

const HELP: &str = r#"## What it checks

Every problem the collector recorded for a host that answered: a file that
could not be read, an option file, database.yml or certificate that could
not be parsed (with its line), an SQL query the scanner's account was not
allowed to run (`SELECT command denied ...`), a TLS probe that got no MySQL
greeting. One finding per problem, medium.

High when the database could not be queried at all for a reason the
scanner's setup or the server must fix: the server refused the scanner's
login, the scanner could not verify the server's certificate, no connection
came about, or the host's `mysql` client could not be run. The host's
files, the TLS probe and every rule that reads them still judged it, but
its SQL facts (accounts, server variables, replication) were not checked.
Like SCAN001, an unwaived high SCAN002 fails the gate whatever `--fail-on`
says (except `never`) and whether or not it is new.

A server that offers no TLS at all is reported by SSL001 from its protocol
greeting; the scanner never sends credentials in clear text, so a medium
note here says that its SQL facts were not collected and what was
therefore not checked.

## Why it matters

Rules that need a fact that was not collected report nothing rather than
guess. Without this finding, a broken option file or a missing privilege
would look exactly like a clean host: an `ssl-ca` line after the parse error
is never seen, and unreadable accounts are never checked for `REQUIRE X509`.

## How to fix

Fix what the message names, then scan again:

- a file that could not be parsed: correct the line shown (an unterminated
  `[group` header, a stray character, a damaged PEM block). mysqld stops at
  the same errors, so check it with `mysqld --print-defaults` or
  `my_print_defaults mysqld`; check a certificate with
  `openssl x509 -enddate -noout -in <file>`;
- a file that could not be read: let the scanner's user read it (or run the
  collector with `sudo`);
- a query that was denied: grant the scanner's account the privilege it
  needs, e.g. `GRANT SELECT ON mysql.* TO 'sslaudit'@'%';`.
"#;

static META: RuleMeta = RuleMeta::new(
    "SCAN002",
    "collection-incomplete",
    Severity::Medium,
    "a fact could not be collected or parsed, so the rules that need it checked nothing",
    HELP,
    &["sslaudit snapshot format: host.toml [[problem]]"],
)
.controls(&[
    Control::nist("CA-7", "continuous monitoring: a fact that was not collected leaves the rules that need it unjudged"),
    Control::nist("CM-6", "configuration settings: an option file the server cannot parse is a configuration baseline nobody can verify"),
]);

/// The problem's message as a finding wants it: trimmed, no trailing period.
fn tidy(message: &str) -> &str {
    let m = message.trim();
    m.strip_suffix('.').unwrap_or(m).trim_end()
}

/// What the rules could not judge without a server's SQL facts.
const SQL_ONLY: &str = "accounts (SSL005), require_secure_transport (SSL017), replication (SSL019) \
     and the server variables the other rules prefer";

fn describe(p: &CollectionProblem) -> String {
    let what = p.what.trim();
    let msg = tidy(&p.message);
    let sql = |why: &str| format!("{why}, so its SQL facts were not checked: {msg}");
    match what {
        what::MYSQL_LOGIN => return sql("the database refused the scanner's login"),
        what::MYSQL_CONNECTION => return sql("the scanner could not connect to the database"),
        what::MYSQL_TLS => return sql("the scanner's TLS session with the database failed"),
        what::MYSQL_CLIENT => return sql("the host's mysql client could not be run"),
        what::MYSQL_NO_TLS => {
            return format!(
                "the server offers no TLS, so the scanner did not send its credentials and its \
                 SQL facts were not collected: {msg}"
            );
        }
        _ => {}
    }
    match (&p.path, p.line) {
        (Some(path), Some(line)) => format!("{what} {path}:{line} could not be parsed: {msg}"),
        (Some(path), None) => format!("{what} {path} could not be collected: {msg}"),
        (None, Some(line)) => format!("{what} (line {line}) could not be parsed: {msg}"),
        (None, None) => format!("{what} could not be collected: {msg}"),
    }
}

fn base_object(p: &CollectionProblem) -> String {
    match &p.path {
        Some(path) => format!("problem:{}:{path}", p.what.trim()),
        None => format!("problem:{}", p.what.trim()),
    }
}

fn with_line(p: &CollectionProblem) -> String {
    match p.line {
        Some(l) => format!("{}:{l}", base_object(p)),
        None => format!("{}:-", base_object(p)),
    }
}

fn message_tag(p: &CollectionProblem) -> String {
    // The first 4 bytes of the digest.
    crate::digest::sha256_hex(tidy(&p.message).as_bytes())[..8].to_string()
}

/// An object per problem that no other problem of the host shares (the
/// fingerprint hashes it). The plain `problem:<what>:<path>` is kept when it
/// is unique, so fingerprints stay put as line numbers move; only colliding
/// problems add the line, and then a tag of the message.
fn objects(problems: &[&CollectionProblem]) -> Vec<String> {
    let mut base_count: BTreeMap<String, usize> = BTreeMap::new();
    let mut line_count: BTreeMap<String, usize> = BTreeMap::new();
    for p in problems {
        *base_count.entry(base_object(p)).or_default() += 1;
        *line_count.entry(with_line(p)).or_default() += 1;
    }
    problems
        .iter()
        .map(|p| {
            let base = base_object(p);
            if base_count[&base] == 1 {
                return base;
            }
            let lined = with_line(p);
            if line_count[&lined] == 1 {
                return lined;
            }
            format!("{lined}#{}", message_tag(p))
        })
        .collect()
}

impl Rule for CollectionIncomplete {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, _cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        // An unreachable host is SCAN001's: nothing on it was checked.
        if !host.is_reachable() {
            return;
        }
        // Sorted and deduplicated so that the same problem recorded twice (a
        // file reached by two !include paths) is one finding, and order of
        // collection never changes the output.
        let mut problems: Vec<&CollectionProblem> = host.problems.iter().collect();
        problems.sort();
        problems.dedup();
        let objects = objects(&problems);
        for (p, object) in problems.iter().zip(objects) {
            let loc = match &p.path {
                Some(path) => Location::file(path.clone(), p.line).with_object(object),
                None => Location::object(object),
            };
            let mut f = self
                .finding(host, describe(p), loc)
                .evidence("what", p.what.trim())
                .evidence("error", tidy(&p.message));
            if p.is_access_failure() || p.is_tls_not_offered() {
                f = f.evidence("not_checked", SQL_ONLY);
            }
            if p.is_access_failure() {
                f.severity = Severity::High;
            }
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Layout;

    fn problem(
        what: &str,
        path: Option<&str>,
        line: Option<u32>,
        message: &str,
    ) -> CollectionProblem {
        CollectionProblem {
            what: what.into(),
            path: path.map(str::to_string),
            line,
            message: message.into(),
        }
    }

    fn run(problems: Vec<CollectionProblem>) -> Vec<Finding> {
        let mut h = HostFacts::new("db-master", "production", Layout::engineyard());
        h.problems = problems;
        run_host(&h)
    }

    fn run_host(h: &HostFacts) -> Vec<Finding> {
        crate::testkit::run(&CollectionIncomplete, h)
    }

    #[test]
    fn messages_name_file_and_line() {
        let f = run(vec![
            problem(
                "option file",
                Some("/etc/mysql/conf.d/broken.cnf"),
                Some(7),
                "unterminated group header",
            ),
            problem(
                "mysql accounts",
                None,
                None,
                "SELECT command denied to user 'sslaudit'@'%' for table 'global_priv'.",
            ),
            problem(
                "certificate",
                Some("/db/mysql/5.6/data/server.crt"),
                None,
                "no PEM or DER certificate found",
            ),
        ]);
        let msgs: Vec<&str> = f.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            msgs,
            [
                "certificate /db/mysql/5.6/data/server.crt could not be collected: no PEM or DER certificate found",
                "mysql accounts could not be collected: SELECT command denied to user 'sslaudit'@'%' for table 'global_priv'",
                "option file /etc/mysql/conf.d/broken.cnf:7 could not be parsed: unterminated group header",
            ]
        );
        assert!(f.iter().all(|f| f.severity == Severity::Medium));
        assert_eq!(
            f[2].location.file.as_deref(),
            Some("/etc/mysql/conf.d/broken.cnf")
        );
        assert_eq!(f[2].location.line, Some(7));
        assert_eq!(
            f[2].location.object.as_deref(),
            Some("problem:option file:/etc/mysql/conf.d/broken.cnf")
        );
        assert_eq!(
            f[1].location.object.as_deref(),
            Some("problem:mysql accounts")
        );
    }

    #[test]
    fn fingerprints_never_collide() {
        let f = run(vec![
            problem("option file", Some("/etc/my.cnf"), Some(3), "bad line"),
            problem("option file", Some("/etc/my.cnf"), Some(9), "bad line"),
            problem("mysql replication", None, None, "access denied"),
            problem("mysql replication", None, None, "timeout"),
            // An exact duplicate collapses into one finding.
            problem("mysql replication", None, None, "timeout"),
        ]);
        assert_eq!(f.len(), 4, "{f:#?}");
        let mut prints: Vec<&str> = f.iter().map(|f| f.fingerprint.as_str()).collect();
        prints.sort();
        prints.dedup();
        assert_eq!(prints.len(), 4);
        assert!(
            f[0].location
                .object
                .as_deref()
                .unwrap_or("")
                .starts_with("problem:mysql replication:-#")
        );
        assert_eq!(
            f[2].location.object.as_deref(),
            Some("problem:option file:/etc/my.cnf:3")
        );
    }

    #[test]
    fn output_does_not_depend_on_collection_order() {
        let a = problem("option file", Some("/etc/my.cnf"), Some(3), "x");
        let b = problem("mysql accounts", None, None, "y");
        let one = run(vec![a.clone(), b.clone()]);
        let two = run(vec![b, a]);
        assert_eq!(one, two);
    }

    #[test]
    fn a_database_that_cannot_be_queried_is_high_and_says_what_was_not_checked() {
        let f = run(vec![
            problem(
                what::MYSQL_LOGIN,
                None,
                None,
                "10.0.0.10:3306: ERROR 1045 (28000): Access denied for user 'sslaudit'",
            ),
            problem(
                what::MYSQL_NO_TLS,
                None,
                None,
                "10.0.0.11:3306 does not offer TLS (no CLIENT_SSL in its greeting)",
            ),
        ]);
        assert_eq!(f.len(), 2, "{f:#?}");
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(
            f[0].message,
            "the database refused the scanner's login, so its SQL facts were not checked: \
             10.0.0.10:3306: ERROR 1045 (28000): Access denied for user 'sslaudit'"
        );
        assert_eq!(f[0].location.object.as_deref(), Some("problem:mysql login"));
        assert!(f[0].evidence["not_checked"].contains("SSL005"));
        // No TLS on offer is the server's state (SSL001), not a scanner failure.
        assert_eq!(f[1].severity, Severity::Medium);
        assert!(
            f[1].message
                .starts_with("the server offers no TLS, so the scanner did not send"),
            "{}",
            f[1].message
        );
    }

    #[test]
    fn an_unreachable_host_is_left_to_scan001() {
        let mut h = HostFacts::new("db-master", "production", Layout::engineyard());
        h.reachability = crate::facts::Reachability::Unreachable {
            reason: "ssh: connection refused".into(),
        };
        h.problems
            .push(problem("option file", Some("/etc/my.cnf"), None, "x"));
        assert!(run_host(&h).is_empty());
    }

    #[test]
    fn no_problems_no_findings() {
        assert!(run(vec![]).is_empty());
    }
}
