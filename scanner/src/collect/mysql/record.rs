//! Result sets to `MysqlRecord`, the same for both collectors: each section
//! that failed leaves its part unset and a problem naming the query and the
//! server's error.

use std::collections::BTreeMap;

use sslaudit_rules::facts::{
    Account, CensusSource, CollectionProblem, ConnectionFacts, LiveSession, ReplicationChannel,
    Require, SessionCensus, SessionTransport,
};
use sslaudit_rules::parse::version::parse_version;

use super::ResultSet;
use super::queries::{Section, replication_sections};
use crate::evidence::MysqlRecord;

/// What one section gave: its result set, or the error that stopped it.
pub(crate) type Outcome = Result<ResultSet, String>;

pub(crate) fn problem(what: &str, message: String) -> CollectionProblem {
    CollectionProblem {
        what: what.to_string(),
        path: None,
        line: None,
        message,
    }
}

fn section_problem(section: Section, error: &str) -> CollectionProblem {
    problem(section.what(), format!("{}: {error}", section.query()))
}

impl ResultSet {
    fn index(&self, names: &[&str]) -> Option<usize> {
        names
            .iter()
            .find_map(|n| self.columns.iter().position(|c| c.eq_ignore_ascii_case(n)))
    }

    /// Rows as `column -> value` for the named columns (first name found wins).
    fn pairs(&self, key: &[&str], value: &[&str]) -> Result<Vec<(String, String)>, String> {
        if self.columns.is_empty() {
            return Ok(Vec::new());
        }
        let (Some(k), Some(v)) = (self.index(key), self.index(value)) else {
            return Err(format!(
                "expected columns {} and {}, got {}",
                key[0],
                value[0],
                self.columns.join(", ")
            ));
        };
        Ok(self
            .rows
            .iter()
            .filter_map(|r| {
                let name = r.get(k)?.clone()?;
                // A NULL value reads as empty, as SHOW VARIABLES prints it.
                Some((name, r.get(v).cloned().flatten().unwrap_or_default()))
            })
            .collect())
    }
}

/// Builds the record from every section's outcome. Sections missing from
/// `outcomes` were not run (the replica spellings that do not apply).
pub(crate) fn assemble(
    outcomes: &BTreeMap<Section, Outcome>,
) -> (MysqlRecord, Vec<CollectionProblem>) {
    let mut rec = MysqlRecord::default();
    let mut problems = Vec::new();
    let mut fail = |section: Section, e: &str| problems.push(section_problem(section, e));

    match outcomes.get(&Section::Variables) {
        Some(Ok(set)) => match set.pairs(&["Variable_name"], &["Value"]) {
            Ok(p) => rec.variables.extend(p),
            Err(e) => fail(Section::Variables, &e),
        },
        Some(Err(e)) => fail(Section::Variables, e),
        None => {}
    }
    // The session's values win: SSL018 reads the scanner's own Ssl_cipher.
    for section in [Section::GlobalStatus, Section::SessionStatus] {
        match outcomes.get(&section) {
            Some(Ok(set)) => match set.pairs(&["Variable_name"], &["Value"]) {
                Ok(p) => rec.status.extend(p),
                Err(e) => fail(section, &e),
            },
            Some(Err(e)) => fail(section, e),
            None => {}
        }
    }
    match outcomes.get(&Section::Accounts) {
        Some(Ok(set)) => match accounts(set) {
            Ok(a) => rec.accounts = Some(a),
            Err(e) => fail(Section::Accounts, &e),
        },
        Some(Err(e)) => fail(Section::Accounts, e),
        None => {}
    }

    let version = rec
        .variables
        .get("version")
        .and_then(|v| parse_version(v, rec.variables.get("version_comment").map(String::as_str)));
    let candidates = replication_sections(version.as_ref());
    let ran: Vec<(Section, &Outcome)> = candidates
        .iter()
        .filter_map(|s| outcomes.get(s).map(|o| (*s, o)))
        .collect();
    if let Some((section, set)) = ran
        .iter()
        .find_map(|(s, o)| o.as_ref().ok().map(|r| (*s, r)))
    {
        match replication(set) {
            Ok(c) => rec.replication = Some(c),
            Err(e) => fail(section, &e),
        }
    } else if let Some((section, Err(e))) = ran.first() {
        fail(*section, e);
    }

    match outcomes.get(&Section::TlsChannels) {
        Some(Ok(set)) => match tls_channels(set) {
            Ok(c) => rec.tls_channels = c,
            Err(e) => fail(Section::TlsChannels, &e),
        },
        Some(Err(e)) => fail(Section::TlsChannels, e),
        None => {}
    }
    // The census is a fact either way: what it saw, or why it saw nothing
    // (an account without the privilege is common and not an error).
    rec.sessions = match outcomes.get(&Section::Sessions) {
        Some(Ok(set)) => Some(sessions(set)),
        Some(Err(e)) => Some(SessionCensus::single(
            CensusSource::Unavailable,
            Some(format!("{}: {e}", Section::Sessions.query())),
            Vec::new(),
        )),
        None => None,
    };
    (rec, problems)
}

/// Account, client host, transport, cipher, program.
type SessionKey = (
    String,
    String,
    SessionTransport,
    Option<String>,
    Option<String>,
);

/// The census rows grouped by account, client host (port dropped),
/// transport, cipher and program.
fn sessions(set: &ResultSet) -> SessionCensus {
    let col = |names: &[&str]| set.index(names);
    let (source, user, host, kind, cipher, program) = (
        col(&["source"]),
        col(&["user"]),
        col(&["host"]),
        col(&["connection_type"]),
        col(&["ssl_cipher"]),
        col(&["program"]),
    );
    let get = |row: &Vec<Option<String>>, i: Option<usize>| -> Option<String> {
        i.and_then(|i| row.get(i).cloned().flatten())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let from_ps = set
        .rows
        .first()
        .and_then(|r| get(r, source))
        .is_none_or(|s| s == "performance_schema");
    let mut grouped: BTreeMap<SessionKey, u32> = BTreeMap::new();
    let mut ps = from_ps && !set.columns.is_empty();
    for row in &set.rows {
        if get(row, source).as_deref() == Some("processlist") {
            ps = false;
        }
        let Some(u) = get(row, user) else {
            continue;
        };
        let h = get(row, host).unwrap_or_default();
        // PROCESSLIST says `10.0.0.20:51234`; an IPv6 address keeps its colons.
        let h = match h.rsplit_once(':') {
            Some((a, p)) if !a.contains(':') && p.chars().all(|c| c.is_ascii_digit()) => {
                a.to_string()
            }
            _ => h,
        };
        let transport = SessionTransport::of(get(row, kind).as_deref());
        *grouped
            .entry((u, h, transport, get(row, cipher), get(row, program)))
            .or_default() += 1;
    }
    SessionCensus::single(
        if ps {
            CensusSource::PerformanceSchema
        } else {
            CensusSource::Processlist
        },
        (!ps).then(|| {
            "performance_schema is off (or predates threads.CONNECTION_TYPE): who is connected, not how; without the PROCESS privilege only the scanner's own sessions"
                .to_string()
        }),
        grouped
            .into_iter()
            .map(|((user, host, transport, cipher, program), count)| LiveSession {
                user,
                host,
                transport,
                cipher,
                program,
                count,
                seen: None,
            })
            .collect(),
    )
}

type Channels = BTreeMap<String, BTreeMap<String, String>>;

fn tls_channels(set: &ResultSet) -> Result<Channels, String> {
    let mut out = Channels::new();
    if set.columns.is_empty() {
        return Ok(out);
    }
    let (Some(c), Some(p), Some(v)) = (
        set.index(&["channel"]),
        set.index(&["property"]),
        set.index(&["value"]),
    ) else {
        return Err(format!("unexpected columns {}", set.columns.join(", ")));
    };
    for r in &set.rows {
        if let (Some(Some(channel)), Some(Some(property))) = (r.get(c), r.get(p)) {
            out.entry(channel.clone()).or_default().insert(
                property.clone(),
                r.get(v).cloned().flatten().unwrap_or_default(),
            );
        }
    }
    Ok(out)
}

/// Merges the further looks of a sampled census (`--census 30s`) into
/// the first: every group any look saw, at the most sessions it had at
/// once, with the number of looks that saw it. A look that failed (the
/// session went away, a timeout) only counts as not taken; a census that
/// could not see at its first look stays as it is.
pub(crate) fn add_samples(census: &mut SessionCensus, looks: &[ResultSet], window_secs: u32) {
    if census.source == CensusSource::Unavailable {
        return;
    }
    let key = |s: &LiveSession| {
        (
            s.user.clone(),
            s.host.clone(),
            s.transport,
            s.cipher.clone(),
            s.program.clone(),
        )
    };
    let mut merged: BTreeMap<SessionKey, LiveSession> = BTreeMap::new();
    let first = std::mem::take(&mut census.sessions);
    for look in std::iter::once(first).chain(looks.iter().map(|set| sessions(set).sessions)) {
        for s in look {
            let entry = merged.entry(key(&s)).or_insert_with(|| LiveSession {
                count: 0,
                seen: Some(0),
                ..s.clone()
            });
            entry.count = entry.count.max(s.count);
            entry.seen = entry.seen.map(|n| n + 1);
        }
    }
    census.sessions = merged.into_values().collect();
    census.samples = 1 + u32::try_from(looks.len()).unwrap_or(u32::MAX - 1);
    census.window_secs = window_secs;
}

/// `Y`, `1`, `true`, `yes` (any case) -> true.
fn truthy(v: Option<&str>) -> bool {
    matches!(
        v.map(|s| s.trim().to_ascii_lowercase()).as_deref(),
        Some("y" | "1" | "true" | "yes")
    )
}

fn non_empty(v: Option<&String>) -> Option<String> {
    v.filter(|s| !s.is_empty()).cloned()
}

fn accounts(set: &ResultSet) -> Result<Vec<Account>, String> {
    if set.columns.is_empty() {
        return Ok(Vec::new());
    }
    let col = |n: &str| {
        set.index(&[n])
            .ok_or_else(|| format!("no column {n} in {}", set.columns.join(", ")))
    };
    let (user, host, ssl_type) = (col("user")?, col("host")?, col("ssl_type")?);
    let (cipher, issuer, subject) = (
        col("ssl_cipher")?,
        col("x509_issuer")?,
        col("x509_subject")?,
    );
    let (locked, role) = (col("account_locked")?, col("is_role")?);
    let mut out = Vec::new();
    for r in &set.rows {
        let get = |i: usize| r.get(i).and_then(Option::as_ref);
        let require = match get(ssl_type)
            .map(|s| s.trim().to_ascii_uppercase())
            .as_deref()
        {
            None | Some("") => Require::None,
            Some("ANY") => Require::Ssl,
            Some("X509") => Require::X509,
            Some("SPECIFIED") => Require::Specified {
                issuer: non_empty(get(issuer)),
                subject: non_empty(get(subject)),
                cipher: non_empty(get(cipher)),
            },
            Some(other) => return Err(format!("unknown ssl_type {other:?}")),
        };
        out.push(Account {
            user: get(user).cloned().unwrap_or_default(),
            host: get(host).cloned().unwrap_or_default(),
            require,
            is_role: truthy(get(role).map(String::as_str)),
            locked: truthy(get(locked).map(String::as_str)),
        });
    }
    out.sort_by(|a, b| (&a.user, &a.host).cmp(&(&b.user, &b.host)));
    Ok(out)
}

fn replication(set: &ResultSet) -> Result<Vec<ReplicationChannel>, String> {
    if set.columns.is_empty() {
        return Ok(Vec::new());
    }
    // MySQL 8.0.22+ says Source_ where older servers and MariaDB say Master_.
    let col = |suffix: &str| set.index(&[&format!("Master_{suffix}"), &format!("Source_{suffix}")]);
    let host = col("Host").ok_or_else(|| {
        format!(
            "no Master_Host or Source_Host column in {}",
            set.columns.join(", ")
        )
    })?;
    let name = set.index(&["Connection_name", "Channel_Name"]);
    let (user, allowed, verify) = (
        col("User"),
        col("SSL_Allowed"),
        col("SSL_Verify_Server_Cert"),
    );
    let (ca, cert, key) = (col("SSL_CA_File"), col("SSL_Cert"), col("SSL_Key"));
    let mut out = Vec::new();
    for r in &set.rows {
        let get = |i: Option<usize>| i.and_then(|i| r.get(i)).and_then(Option::as_ref);
        out.push(ReplicationChannel {
            name: get(name).cloned().unwrap_or_default(),
            source_host: get(Some(host)).cloned().unwrap_or_default(),
            source_user: non_empty(get(user)),
            // "Ignored": SSL configured but the client library cannot use it.
            ssl_allowed: truthy(get(allowed).map(String::as_str)),
            ssl_verify_server_cert: truthy(get(verify).map(String::as_str)),
            ssl_ca: non_empty(get(ca)),
            ssl_cert: non_empty(get(cert)),
            ssl_key: non_empty(get(key)),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The scanner's session, from its `Ssl_version`/`Ssl_cipher`; `None` when
/// the session status could not be read (not knowing is not "unencrypted").
pub(crate) fn connection(
    outcomes: &BTreeMap<Section, Outcome>,
    via: &str,
    endpoint: &str,
) -> Option<ConnectionFacts> {
    let set = outcomes.get(&Section::SessionStatus)?.as_ref().ok()?;
    let status: BTreeMap<String, String> = set
        .pairs(&["Variable_name"], &["Value"])
        .ok()?
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    let nonblank = |k: &str| status.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    Some(ConnectionFacts {
        via: via.to_string(),
        endpoint: endpoint.to_string(),
        tls_version: nonblank("ssl_version").map(str::to_string),
        cipher: nonblank("ssl_cipher").map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(columns: &[&str], rows: &[&[Option<&str>]]) -> ResultSet {
        ResultSet {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: rows
                .iter()
                .map(|r| r.iter().map(|v| v.map(str::to_string)).collect())
                .collect(),
        }
    }

    fn vars(version: &str, comment: &str) -> Outcome {
        Ok(set(
            &["Variable_name", "Value"],
            &[
                &[Some("version"), Some(version)],
                &[Some("version_comment"), Some(comment)],
                &[Some("have_ssl"), Some("YES")],
                &[Some("ssl_ca"), None],
            ],
        ))
    }

    const ACCOUNT_COLUMNS: [&str; 8] = [
        "User",
        "host",
        "ssl_type",
        "ssl_cipher",
        "x509_issuer",
        "x509_subject",
        "account_locked",
        "is_role",
    ];

    #[test]
    fn maps_every_require_type_and_flag() {
        let s = set(
            &ACCOUNT_COLUMNS,
            &[
                &[
                    Some("deploy"),
                    Some("%"),
                    Some(""),
                    None,
                    None,
                    None,
                    None,
                    None,
                ],
                &[
                    Some("repl"),
                    Some("10.0.0.%"),
                    Some("ANY"),
                    Some(""),
                    Some(""),
                    Some(""),
                    Some("N"),
                    Some("N"),
                ],
                &[
                    Some("app"),
                    Some("%"),
                    Some("X509"),
                    Some(""),
                    Some(""),
                    Some(""),
                    Some("1"),
                    None,
                ],
                &[
                    Some("audit"),
                    Some("%"),
                    Some("SPECIFIED"),
                    Some("AES256-SHA"),
                    Some(""),
                    Some("/CN=a\tb"),
                    None,
                    None,
                ],
                &[
                    Some("r1"),
                    Some(""),
                    Some(""),
                    None,
                    None,
                    None,
                    None,
                    Some("1"),
                ],
            ],
        );
        let a = accounts(&s).unwrap();
        let by = |u: &str| a.iter().find(|x| x.user == u).unwrap();
        assert_eq!(by("deploy").require, Require::None);
        assert_eq!(by("repl").require, Require::Ssl);
        assert!(!by("repl").locked);
        assert_eq!(by("app").require, Require::X509);
        assert!(by("app").locked);
        assert_eq!(
            by("audit").require,
            Require::Specified {
                issuer: None,
                subject: Some("/CN=a\tb".into()),
                cipher: Some("AES256-SHA".into())
            }
        );
        assert!(by("r1").is_role);
        assert_eq!(a[0].user, "app", "sorted by user then host");
        let bad = set(
            &ACCOUNT_COLUMNS,
            &[&[
                Some("x"),
                Some("%"),
                Some("WEIRD"),
                None,
                None,
                None,
                None,
                None,
            ]],
        );
        assert!(accounts(&bad).unwrap_err().contains("WEIRD"));
    }

    #[test]
    fn a_denied_section_leaves_its_part_unset_with_the_server_message() {
        let mut o = BTreeMap::new();
        o.insert(
            Section::Variables,
            vars("10.11.19-MariaDB-0+deb12u1", "Debian 12"),
        );
        o.insert(
            Section::Accounts,
            Err("ERROR 1142 (42000): SELECT command denied to user 'sslaudit'@'localhost' for table `mysql`.`global_priv`".into()),
        );
        o.insert(Section::AllSlavesStatus, Ok(ResultSet::default()));
        // Not applicable to MariaDB: its syntax error is not a problem.
        o.insert(
            Section::SlaveStatus,
            Err("ERROR 1064 (42000): syntax".into()),
        );
        let (rec, problems) = assemble(&o);
        assert_eq!(rec.accounts, None);
        assert_eq!(rec.replication, Some(vec![]));
        assert_eq!(rec.variables["have_ssl"], "YES");
        assert_eq!(rec.variables["ssl_ca"], "");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].what, "mysql accounts");
        assert!(problems[0].message.contains("SELECT command denied"));
        assert!(
            problems[0]
                .message
                .starts_with("SELECT ... FROM mysql.global_priv")
        );
    }

    #[test]
    fn a_sampled_census_lists_every_session_any_look_saw() {
        let cols = [
            "source",
            "user",
            "host",
            "connection_type",
            "ssl_cipher",
            "program",
        ];
        let row = |user: &'static str, kind: &'static str| -> [Option<&'static str>; 6] {
            [
                Some("performance_schema"),
                Some(user),
                Some("10.0.0.31"),
                Some(kind),
                None,
                None,
            ]
        };
        let (app, cron) = (row("app", "SSL/TLS"), row("cron", "TCP/IP"));
        let first = set(&cols, &[&app, &app]);
        let looks = [
            set(&cols, &[&app]),
            set(&cols, &[&app, &cron, &cron, &cron]),
            set(&cols, &[&app, &app]),
        ];
        let mut c = sessions(&first);
        add_samples(&mut c, &looks, 3);
        assert_eq!((c.samples, c.window_secs), (4, 3));
        let of = |u: &str| c.sessions.iter().find(|s| s.user == u).unwrap();
        // The most at once, and in how many looks.
        assert_eq!((of("app").count, of("app").seen), (2, Some(4)));
        assert_eq!((of("cron").count, of("cron").seen), (3, Some(1)));
        assert_eq!(of("cron").transport, SessionTransport::Tcp);
        assert_eq!(c.seen_note(of("cron")), ", seen in 1 of 4 looks over 3 s");
        // A census that could not see stays as it is.
        let mut blind = SessionCensus::single(CensusSource::Unavailable, None, Vec::new());
        add_samples(&mut blind, &looks, 3);
        assert_eq!((blind.samples, blind.sessions.len()), (1, 0));
    }

    #[test]
    fn the_census_groups_sessions_and_says_what_it_could_not_see() {
        let cols = [
            "source",
            "user",
            "host",
            "connection_type",
            "ssl_cipher",
            "program",
        ];
        let ps = set(
            &cols,
            &[
                &[
                    Some("performance_schema"),
                    Some("cron"),
                    Some("10.0.0.31"),
                    Some("TCP/IP"),
                    Some(""),
                    Some("mysql"),
                ],
                &[
                    Some("performance_schema"),
                    Some("cron"),
                    Some("10.0.0.31"),
                    Some("TCP/IP"),
                    Some(""),
                    Some("mysql"),
                ],
                &[
                    Some("performance_schema"),
                    Some("deploy"),
                    Some("10.0.0.20"),
                    Some("SSL/TLS"),
                    Some("TLS_AES_256_GCM_SHA384"),
                    None,
                ],
                &[
                    Some("performance_schema"),
                    Some("root"),
                    Some("localhost"),
                    Some("Socket"),
                    None,
                    None,
                ],
            ],
        );
        let c = sessions(&ps);
        assert_eq!(c.source, CensusSource::PerformanceSchema);
        assert_eq!(c.note, None);
        assert_eq!(c.sessions.len(), 3);
        let cron = c.sessions.iter().find(|s| s.user == "cron").unwrap();
        assert_eq!(
            (cron.count, cron.transport, cron.cipher.as_deref()),
            (2, SessionTransport::Tcp, None)
        );
        let deploy = c.sessions.iter().find(|s| s.user == "deploy").unwrap();
        assert_eq!(deploy.cipher.as_deref(), Some("TLS_AES_256_GCM_SHA384"));
        assert_eq!(
            c.sessions
                .iter()
                .find(|s| s.user == "root")
                .unwrap()
                .transport,
            SessionTransport::Local
        );
        // performance_schema off: who, not how; ports dropped.
        let pl = set(
            &cols,
            &[&[
                Some("processlist"),
                Some("cron"),
                Some("10.0.0.31:51234"),
                None,
                None,
                None,
            ]],
        );
        let c = sessions(&pl);
        assert_eq!(c.source, CensusSource::Processlist);
        assert!(c.note.is_some());
        assert_eq!(c.sessions[0].host, "10.0.0.31");
        assert_eq!(c.sessions[0].transport, SessionTransport::Unknown);
        // Denied: a fact, not a problem.
        let mut o = BTreeMap::new();
        o.insert(
            Section::Sessions,
            Err("ERROR 1142 (42000): SELECT command denied to user 'sslaudit'@'%' for table `performance_schema`.`threads`".into()),
        );
        let (rec, problems) = assemble(&o);
        assert!(problems.is_empty());
        let c = rec.sessions.unwrap();
        assert_eq!(c.source, CensusSource::Unavailable);
        assert!(c.note.unwrap().contains("SELECT command denied"));
    }

    #[test]
    fn replication_reads_both_spellings() {
        let mariadb = set(
            &[
                "Connection_name",
                "Master_Host",
                "Master_User",
                "Master_SSL_Allowed",
                "Master_SSL_CA_File",
                "Master_SSL_Cert",
                "Master_SSL_Key",
                "Master_SSL_Verify_Server_Cert",
            ],
            &[&[
                Some("east"),
                Some("10.0.0.10"),
                Some("repl"),
                Some("Ignored"),
                Some("/ca.pem"),
                Some(""),
                Some(""),
                Some("No"),
            ]],
        );
        let c = replication(&mariadb).unwrap();
        assert_eq!(c[0].name, "east");
        assert!(!c[0].ssl_allowed);
        assert_eq!(c[0].ssl_ca.as_deref(), Some("/ca.pem"));
        assert_eq!(c[0].ssl_cert, None);
        let mysql8 = set(
            &[
                "Source_Host",
                "Source_User",
                "Source_SSL_Allowed",
                "Source_SSL_Verify_Server_Cert",
                "Channel_Name",
            ],
            &[&[
                Some("db1"),
                Some("repl"),
                Some("Yes"),
                Some("Yes"),
                Some(""),
            ]],
        );
        let c = replication(&mysql8).unwrap();
        assert_eq!(c[0].name, "");
        assert!(c[0].ssl_allowed && c[0].ssl_verify_server_cert);
        assert!(replication(&set(&["Foo"], &[])).is_err());
    }

    #[test]
    fn mysql_8_uses_replica_status_and_tls_channels() {
        let mut o = BTreeMap::new();
        o.insert(
            Section::Variables,
            vars("8.0.36", "MySQL Community Server - GPL"),
        );
        o.insert(
            Section::AllSlavesStatus,
            Err("ERROR 1064 (42000): syntax".into()),
        );
        o.insert(
            Section::ReplicaStatus,
            Err("ERROR 1227 (42000): Access denied; you need (at least one of) the SUPER, REPLICATION CLIENT privilege(s) for this operation".into()),
        );
        o.insert(Section::SlaveStatus, Ok(ResultSet::default()));
        o.insert(
            Section::TlsChannels,
            Ok(set(
                &["channel", "property", "value"],
                &[
                    &[Some("mysql_main"), Some("Enabled"), Some("Yes")],
                    &[Some("mysql_main"), Some("Ssl_version"), None],
                ],
            )),
        );
        let (rec, problems) = assemble(&o);
        assert_eq!(rec.replication, None);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].what, "mysql replication");
        assert!(
            problems[0]
                .message
                .starts_with("SHOW REPLICA STATUS: ERROR 1227")
        );
        assert_eq!(rec.tls_channels["mysql_main"]["Enabled"], "Yes");
        assert_eq!(rec.tls_channels["mysql_main"]["Ssl_version"], "");
    }

    #[test]
    fn unknown_version_takes_the_first_spelling_that_worked() {
        let mut o = BTreeMap::new();
        o.insert(
            Section::Variables,
            Err("ERROR 2013 (HY000): Lost connection".into()),
        );
        o.insert(
            Section::ReplicaStatus,
            Err("ERROR 1064 (42000): syntax".into()),
        );
        o.insert(Section::AllSlavesStatus, Ok(ResultSet::default()));
        let (rec, problems) = assemble(&o);
        assert_eq!(rec.replication, Some(vec![]));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].what, "mysql variables");
    }

    #[test]
    fn session_status_gives_the_connection_and_overrides_global() {
        let mut o = BTreeMap::new();
        o.insert(
            Section::GlobalStatus,
            Ok(set(
                &["Variable_name", "Value"],
                &[&[
                    Some("Ssl_server_not_after"),
                    Some("Dec  1 00:00:00 2030 GMT"),
                ]],
            )),
        );
        o.insert(
            Section::SessionStatus,
            Ok(set(
                &["Variable_name", "Value"],
                &[
                    &[Some("Ssl_cipher"), Some("TLS_AES_256_GCM_SHA384")],
                    &[Some("Ssl_version"), Some("TLSv1.3")],
                ],
            )),
        );
        let (rec, problems) = assemble(&o);
        assert!(problems.is_empty());
        assert_eq!(
            rec.status["Ssl_server_not_after"],
            "Dec  1 00:00:00 2030 GMT"
        );
        let c = connection(&o, "tcp", "127.0.0.1:3306").unwrap();
        assert_eq!(c.cipher.as_deref(), Some("TLS_AES_256_GCM_SHA384"));
        assert_eq!(c.tls_version.as_deref(), Some("TLSv1.3"));
        o.insert(
            Section::SessionStatus,
            Ok(set(
                &["Variable_name", "Value"],
                &[&[Some("Ssl_cipher"), Some("")]],
            )),
        );
        let c = connection(&o, "ssh", "socket").unwrap();
        assert_eq!(c.cipher, None);
        o.insert(Section::SessionStatus, Err("ERROR".into()));
        assert_eq!(connection(&o, "ssh", "socket"), None);
    }
}
