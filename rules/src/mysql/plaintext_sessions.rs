//! SSL028 plaintext-sessions: accounts connected over TCP without TLS right
//! now, as the server's own session list shows them.

use crate::facts::{CensusSource, HostFacts, LiveSession, SessionTransport};
use crate::rule::Control;
use crate::{Context, Finding, Location, Rule, RuleMeta, Severity};

/// SSL028: the session census found live plaintext TCP sessions.
pub struct PlaintextSessions;

const HELP: &str = r#"## What it checks

The server's live client sessions at scan time (the session census: every
foreground session's account, client host and connection type from
`performance_schema.threads`, its `Ssl_cipher` from `status_by_thread` and
the client's `program_name` attribute; the scanner's own session excluded).
Every account with sessions whose connection type is `TCP/IP` (not `SSL/TLS`,
not a local socket) is reported once per client host, with the number of
sessions and the programs.

The census needs `performance_schema = ON` (MariaDB 10.5 and later, MySQL
5.7 and later) and, for a scan over TCP, `SELECT` on `performance_schema`
for the scanner's account. Otherwise the report's `census` says what it
could see instead (`information_schema.PROCESSLIST`: who, not how) or why it
saw nothing, and this rule judges nothing: its silence is no evidence.

## Why it matters

These clients send their credentials and every query and result in clear
text, now. They are also the clients that `REQUIRE X509` on their account or
`require_secure_transport = ON` on the server would cut off: a database has
clients no inventory lists (cron jobs, BI tools, another team's service),
and the server is the one place that sees them all.

## How to fix

Find each client (the host and program are in the finding) and give it the
keys and TLS settings ("MySQL SSL Support: Enforce SSL Connections";
database.yml `sslca`/`sslkey`/`sslcert`, or `--ssl-ca`/`--ssl-cert`/`--ssl-key`
for the `mysql` client). Scan again until the account has no plaintext
session, then enforce it: `sslaudit remediate plan --rule SSL005` (REQUIRE
X509) and `--rule SSL017` (require_secure_transport), whose preflight refuses
while such sessions remain.
"#;

static META: RuleMeta = RuleMeta::new(
    "SSL028",
    "plaintext-sessions",
    Severity::High,
    "accounts are connected to the server over TCP without TLS right now",
    HELP,
    &[
        "MySQL SSL Support: Enforce SSL Connections",
        "MySQL Reference Manual: The threads Table (CONNECTION_TYPE)",
        "MariaDB Knowledge Base: Performance Schema threads Table",
    ],
)
.controls(&[
    Control::nist(
        "SC-8",
        "transmission confidentiality: live sessions carry credentials and data in clear text",
    ),
    Control::nist(
        "AC-17(2)",
        "remote access: protection of confidentiality and integrity using encryption",
    ),
    Control::pci(
        "4.2.1",
        "strong cryptography protects account data during transmission over open, public networks",
    ),
]);

impl Rule for PlaintextSessions {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, _cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        let Some(census) = host.mysql.as_ref().and_then(|m| m.sessions.as_ref()) else {
            return;
        };
        if census.source != CensusSource::PerformanceSchema {
            return;
        }
        // One finding per account and client host, whatever the programs.
        let mut by_client: std::collections::BTreeMap<(&str, &str), Vec<&LiveSession>> =
            std::collections::BTreeMap::new();
        for s in census
            .sessions
            .iter()
            .filter(|s| s.transport == SessionTransport::Tcp)
        {
            by_client.entry((&s.user, &s.host)).or_default().push(s);
        }
        for ((user, client), sessions) in by_client {
            let count: u32 = sessions.iter().map(|s| s.count).sum();
            let programs: Vec<&str> = sessions
                .iter()
                .filter_map(|s| s.program.as_deref())
                .collect();
            let from = if programs.is_empty() {
                String::new()
            } else {
                format!(" ({})", programs.join(", "))
            };
            let plural = if count == 1 { "" } else { "s" };
            let seen = sessions.iter().filter_map(|s| s.seen).max();
            let msg = match seen {
                Some(seen) if census.samples > 1 => format!(
                    "{user}@{client} had up to {count} session{plural} connected over TCP without TLS while the census watched ({} s, seen in {seen} of {} looks){from}",
                    census.window_secs, census.samples
                ),
                _ => format!(
                    "{user}@{client} has {count} session{plural} connected over TCP without TLS right now{from}"
                ),
            };
            let loc = Location::object(format!("session:{user}@{client}"));
            let mut f = self
                .finding(host, msg, loc)
                .evidence("user", user)
                .evidence("client_host", client)
                .evidence("sessions", count.to_string());
            if !programs.is_empty() {
                f = f.evidence("programs", programs.join(", "));
            }
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::SessionCensus;
    use crate::testkit::{db_host, mysql_mut, run};

    fn session(
        user: &str,
        host: &str,
        t: SessionTransport,
        program: Option<&str>,
        count: u32,
    ) -> LiveSession {
        LiveSession {
            user: user.into(),
            host: host.into(),
            transport: t,
            cipher: (t == SessionTransport::Tls).then(|| "TLS_AES_256_GCM_SHA384".into()),
            program: program.map(str::to_string),
            count,
            seen: None,
        }
    }

    #[test]
    fn plaintext_tcp_sessions_are_named_once_per_client() {
        let mut h = db_host("db-master");
        mysql_mut(&mut h).sessions = Some(SessionCensus {
            source: CensusSource::PerformanceSchema,
            note: None,
            sessions: vec![
                session(
                    "cron_report",
                    "10.0.0.31",
                    SessionTransport::Tcp,
                    Some("mysql"),
                    2,
                ),
                session(
                    "cron_report",
                    "10.0.0.31",
                    SessionTransport::Tcp,
                    Some("backup.rb"),
                    1,
                ),
                session(
                    "deploy",
                    "10.0.0.20",
                    SessionTransport::Tls,
                    Some("puma"),
                    5,
                ),
                session("root", "localhost", SessionTransport::Local, None, 1),
            ],
            samples: 1,
            window_secs: 0,
        });
        let f = run(&PlaintextSessions, &h);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "cron_report@10.0.0.31 has 3 sessions connected over TCP without TLS right now (mysql, backup.rb)"
        );
        assert_eq!(
            f[0].location.object.as_deref(),
            Some("session:cron_report@10.0.0.31")
        );
        assert_eq!(f[0].severity, Severity::High);
        // A census that watched for a while says so.
        let c = mysql_mut(&mut h).sessions.as_mut().unwrap();
        (c.samples, c.window_secs) = (9, 8);
        for s in &mut c.sessions {
            s.seen = Some(if s.program.as_deref() == Some("mysql") {
                2
            } else {
                1
            });
        }
        let f = run(&PlaintextSessions, &h);
        assert_eq!(
            f[0].message,
            "cron_report@10.0.0.31 had up to 3 sessions connected over TCP without TLS while the census watched (8 s, seen in 2 of 9 looks) (mysql, backup.rb)"
        );
    }

    #[test]
    fn no_census_or_a_blind_one_judges_nothing() {
        let mut h = db_host("db-master");
        assert!(run(&PlaintextSessions, &h).is_empty());
        mysql_mut(&mut h).sessions = Some(SessionCensus {
            source: CensusSource::Processlist,
            note: Some("performance_schema is off".into()),
            sessions: vec![session(
                "cron",
                "10.0.0.31",
                SessionTransport::Unknown,
                None,
                1,
            )],
            samples: 1,
            window_secs: 0,
        });
        assert!(run(&PlaintextSessions, &h).is_empty());
    }
}
