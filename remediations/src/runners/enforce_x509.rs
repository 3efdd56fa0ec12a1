//! enforce-x509 (SSL005): `REQUIRE X509` for the accounts SSL005 names,
//! set on the db_master (replicas receive it by replication), and only
//! after checking that nothing that logs in with the account would be
//! locked out: every application host using it presents a valid client
//! certificate issued by the server's CA through its database.yml, and
//! every replica whose channel uses it presents a client certificate.
//!
//! Names are quoted as SQL string literals, which mean the same under
//! every `sql_mode` as long as they hold no backslash (the
//! `NO_BACKSLASH_ESCAPES` difference) and no NUL or control character;
//! such names are refused, never passed through.

use std::collections::BTreeSet;

use sslaudit_rules::facts::{
    Account, Certificate, DbEnvironment, Flavor, HostFacts, LiveSession, Require, Role,
    SessionTransport, YmlValue,
};
use sslaudit_rules::parse::dbyml::parse_database_yml;
use sslaudit_rules::parse::x509::is_issued_by;
use sslaudit_rules::{Finding, SubjectKind};

use super::server::server_version;
use super::{Builder, Draft, Phase, Refusal, census};
use crate::plan::{Action, Applicability};

/// A value as a SQL string literal (`o'brien` -> `'o''brien'`); `Err` says
/// why it cannot be quoted the same under every `sql_mode`.
pub fn sql_string(value: &str) -> Result<String, String> {
    if value.contains('\\') {
        return Err(format!(
            "{value:?} holds a backslash, which means different things with and without NO_BACKSLASH_ESCAPES"
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{value:?} holds a NUL or control character"));
    }
    Ok(format!("'{}'", value.replace('\'', "''")))
}

/// `'user'@'host'`, each part a string literal.
pub fn sql_account(user: &str, host: &str) -> Result<String, String> {
    Ok(format!("{}@{}", sql_string(user)?, sql_string(host)?))
}

/// The `REQUIRE` clause restoring `require` (`NONE`, `SSL`, `X509`, or
/// `ISSUER '...' AND SUBJECT '...' AND CIPHER '...'`).
pub fn require_clause(require: &Require) -> Result<String, String> {
    Ok(match require {
        Require::None => "REQUIRE NONE".into(),
        Require::Ssl => "REQUIRE SSL".into(),
        Require::X509 => "REQUIRE X509".into(),
        Require::Specified {
            issuer,
            subject,
            cipher,
        } => {
            let mut parts = Vec::new();
            for (word, v) in [("ISSUER", issuer), ("SUBJECT", subject), ("CIPHER", cipher)] {
                if let Some(v) = v {
                    parts.push(format!("{word} {}", sql_string(v)?));
                }
            }
            if parts.is_empty() {
                "REQUIRE NONE".into()
            } else {
                format!("REQUIRE {}", parts.join(" AND "))
            }
        }
    })
}

/// Whether a server changes account properties with `ALTER USER` (MariaDB
/// 10.2+, MySQL 5.7.6+) rather than `GRANT USAGE` (older 5.x; MySQL 8.0
/// no longer accepts REQUIRE in GRANT).
fn has_alter_user(flavor: Flavor, triple: (u32, u32, u32)) -> bool {
    match flavor {
        Flavor::Mariadb => triple >= (10, 2, 0),
        Flavor::Mysql | Flavor::Percona => triple >= (5, 7, 6),
    }
}

/// SQL `LIKE` matching of an account host pattern (`%`, `_`), case
/// insensitive as host names are. Netmask forms match conservatively.
fn host_matches(pattern: &str, value: &str) -> bool {
    if pattern.contains('/') {
        return true;
    }
    fn go(p: &[char], v: &[char]) -> bool {
        match p.split_first() {
            None => v.is_empty(),
            Some(('%', rest)) => (0..=v.len()).any(|i| go(rest, &v[i..])),
            Some(('_', rest)) => !v.is_empty() && go(rest, &v[1..]),
            Some((c, rest)) => {
                v.first().is_some_and(|x| x.eq_ignore_ascii_case(c)) && go(rest, &v[1..])
            }
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    go(&p, &v)
}

/// Whether a host could log in as an account of this host pattern (when
/// the host's address is unknown, it could).
fn could_connect(account_host: &str, from: &HostFacts) -> bool {
    let names: Vec<&str> = from
        .address
        .iter()
        .map(String::as_str)
        .chain([from.name.as_str()])
        .collect();
    from.address.is_none() || names.iter().any(|n| host_matches(account_host, n))
}

fn literal(v: &Option<YmlValue>) -> Option<&str> {
    v.as_ref()
        .filter(|v| !v.erb && !v.value.trim().is_empty())
        .map(|v| v.value.trim())
}

/// An environment that connects over TCP (as SSL006/SSL007 judge it).
fn over_tcp(env: &DbEnvironment) -> bool {
    fn set(v: &Option<YmlValue>) -> Option<&YmlValue> {
        v.as_ref().filter(|v| v.erb || !v.value.trim().is_empty())
    }
    let trilogy = literal(&env.adapter).is_some_and(|a| a.eq_ignore_ascii_case("trilogy"));
    if trilogy {
        return set(&env.socket).is_none();
    }
    match set(&env.host) {
        Some(h) if h.erb => true,
        Some(h) => !h.value.trim().eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A database.yml path as the application opens it (relative to the
/// application root, the folder that holds `config/`).
fn resolve(yml: &str, path: &str) -> String {
    if path.starts_with('/') {
        return path.to_string();
    }
    let root = yml
        .strip_suffix("/config/database.yml")
        .or_else(|| yml.rsplit_once('/').map(|(d, _)| d))
        .unwrap_or("");
    format!("{root}/{path}")
}

/// Unix seconds of an RFC 3339 time.
fn unix(rfc3339: &str) -> Option<i64> {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// Why `leaf` is not a valid client certificate of the CA bundle `cas`,
/// or `None` when it is.
fn not_valid(leaf: &Certificate, cas: &[Certificate], as_of: Option<i64>) -> Option<String> {
    let issued = cas.iter().any(|ca| {
        if leaf.der.is_empty() || ca.der.is_empty() {
            leaf.issuer == ca.subject
        } else {
            is_issued_by(leaf, ca)
        }
    });
    if !issued {
        let subjects: Vec<&str> = cas.iter().map(|c| c.subject.as_str()).collect();
        return Some(format!(
            "{} is issued by {}, not by the server's CA ({})",
            leaf.path,
            leaf.issuer,
            subjects.join("; ")
        ));
    }
    if let Some(now) = as_of {
        if leaf.not_after < now {
            return Some(format!(
                "{} expired on {}",
                leaf.path,
                leaf.not_after_date()
            ));
        }
        if leaf.not_before > now {
            return Some(format!("{} is not valid yet", leaf.path));
        }
    }
    None
}

/// The app environments of `host` whose connections use the account.
fn using_envs(b: &Builder, host: &HostFacts, a: &Account) -> Vec<(String, DbEnvironment)> {
    let app_user = b.env.app_user_of(host);
    let mut out = Vec::new();
    for yml in &host.database_ymls {
        // With the plan restarting the application after editing this
        // file, the edited file is what the application will use.
        let planned = if b.is_edited(&host.name, &yml.path) && b.restarts_app(&host.name) {
            b.text(host, &yml.path)
                .ok()
                .and_then(|t| parse_database_yml(&yml.path, &t).ok())
        } else {
            None
        };
        let envs = planned.as_ref().unwrap_or(yml);
        for env in &envs.environments {
            if env.is_template() || !env.is_mysql() || !over_tcp(env) {
                continue;
            }
            let user = match &env.username {
                Some(u) if !u.erb => Some(u.value.trim().to_string()),
                _ => app_user.clone(),
            };
            if user.as_deref() == Some(a.user.as_str()) {
                out.push((yml.path.clone(), env.clone()));
            }
        }
    }
    out
}

/// Checks one application host; `Err` is why it is not ready.
fn check_app(
    b: &Builder,
    host: &HostFacts,
    a: &Account,
    cas: &[Certificate],
    as_of: Option<i64>,
) -> Result<Vec<String>, String> {
    if !could_connect(&a.host, host) {
        return Ok(Vec::new());
    }
    let envs = using_envs(b, host, a);
    if envs.is_empty() {
        if host.has_role(Role::App)
            && host.database_ymls.is_empty()
            && b.env.app_user_of(host).as_deref() == Some(a.user.as_str())
        {
            return Err(
                "is an application host of this user but no database.yml was collected".into(),
            );
        }
        return Ok(Vec::new());
    }
    let mut checked = Vec::new();
    for (path, env) in envs {
        let at = format!("database.yml environment {} ({path})", env.name);
        let (Some(cert), Some(key)) = (literal(&env.sslcert), literal(&env.sslkey)) else {
            let erb = env.sslcert.as_ref().is_some_and(|v| v.erb)
                || env.sslkey.as_ref().is_some_and(|v| v.erb);
            return Err(if erb {
                format!(
                    "{at} computes sslcert/sslkey with ERB, which cannot be checked before enforcing"
                )
            } else {
                format!("{at} names no client certificate and key (sslcert, sslkey)")
            });
        };
        let (cert, key) = (resolve(&path, cert), resolve(&path, key));
        let missing = super::not_present(host, &[&cert, &key]);
        if !missing.is_empty() {
            return Err(format!(
                "{at} names {}, which is not on the host",
                missing.join(", ")
            ));
        }
        let Some(leaf) = host.leaf_certificate(&cert) else {
            return Err(format!("the certificate {cert} named by {at} was not read"));
        };
        if let Some(why) = not_valid(leaf, cas, as_of) {
            return Err(format!("{at}: {why}"));
        }
        if host.private_keys.get(&key).and_then(|k| k.matches(leaf)) == Some(false) {
            return Err(format!("{at}: {key} is not the key of {cert}"));
        }
        checked.push(format!(
            "{} ({} presents {cert}, issued by {})",
            host.name, env.name, leaf.issuer
        ));
    }
    Ok(checked)
}

/// Checks the replicas: each one that replicates with the account and
/// what it presents; `Err` is (replica, why).
fn check_replicas<'h>(
    b: &Builder<'_, 'h>,
    a: &Account,
    cas: &[Certificate],
    as_of: Option<i64>,
) -> Result<Vec<(&'h HostFacts, String)>, (String, String)> {
    let mut checked = Vec::new();
    for r in b.env.members().filter(|h| h.has_role(Role::DbReplica)) {
        if !could_connect(&a.host, r) {
            continue;
        }
        let Some(channels) = r.mysql.as_ref().and_then(|m| m.replication.as_ref()) else {
            return Err((
                r.name.clone(),
                "replication status was not collected, so whether its channel uses the account is unknown".into(),
            ));
        };
        for ch in channels
            .iter()
            .filter(|c| c.source_user.as_deref() == Some(a.user.as_str()))
        {
            let shown = if ch.name.is_empty() {
                "the default channel".to_string()
            } else {
                format!("channel '{}'", ch.name)
            };
            let set = |v: &Option<String>| {
                v.as_deref()
                    .filter(|s| !s.trim().is_empty())
                    .map(str::to_string)
            };
            let (Some(cert), Some(_key)) = (set(&ch.ssl_cert), set(&ch.ssl_key)) else {
                return Err((
                    r.name.clone(),
                    format!(
                        "replicates through {shown} without a client certificate (MASTER_SSL_CERT/MASTER_SSL_KEY)"
                    ),
                ));
            };
            if let Some(leaf) = r.leaf_certificate(&cert)
                && let Some(why) = not_valid(leaf, cas, as_of)
            {
                return Err((r.name.clone(), format!("{shown}: {why}")));
            }
            checked.push((r, format!("{} ({shown} presents {cert})", r.name)));
        }
    }
    Ok(checked)
}

/// Plans `REQUIRE X509` for the accounts named by SSL005 findings.
pub(crate) fn plan(b: &mut Builder, host: &HostFacts, findings: &[&Finding]) {
    let Some(master) = b.env.master() else {
        for f in findings {
            b.refuse(
                f,
                Refusal::NoMaster {
                    environment: b.env.environment.to_string(),
                },
            );
        }
        return;
    };
    let as_of = unix(&b.meta.created_at);
    let mut done: BTreeSet<String> = BTreeSet::new();
    for f in findings {
        let wanted = match f.subject_kind() {
            Some(SubjectKind::Account { user, host }) => Some((user, host)),
            _ => None,
        };
        let accounts = host
            .mysql
            .as_ref()
            .and_then(|m| m.accounts.as_ref())
            .or_else(|| master.mysql.as_ref().and_then(|m| m.accounts.as_ref()));
        let found = wanted.zip(accounts).and_then(|((user, from), list)| {
            list.iter().find(|a| &a.user == user && &a.host == from)
        });
        let Some(a) = found else {
            b.refuse(
                f,
                Refusal::AccountNotFound {
                    host: host.name.clone(),
                    account: match wanted {
                        Some((user, from)) => format!("{user}@{from}"),
                        None => f.location.object.as_deref().unwrap_or("").to_string(),
                    },
                },
            );
            continue;
        };
        if !done.insert(a.name()) {
            continue;
        }
        match plan_account(b, master, a, as_of) {
            Ok(draft) => {
                b.push(draft);
                b.fixes("SSL005");
            }
            Err(r) => b.refuse(f, r),
        }
    }
}

/// The census preflight: on every database host of the environment (the
/// REQUIRE clause replicates), no live session of the account that REQUIRE
/// X509 would cut off: one over TCP without TLS, a local socket one, one
/// whose transport cannot be seen, or a TLS one without a client
/// certificate. The server does not show whether a TLS session presented
/// one, so a TLS session counts as presenting one only when it comes from
/// a host of `presenting` (checked above to present a valid certificate
/// for the account, by name or address).
fn live_sessions(b: &Builder, a: &Account, presenting: &[&HostFacts]) -> Result<String, Refusal> {
    let concerns = |s: &LiveSession| s.user == a.user && host_matches(&a.host, &s.host);
    let checked = |client: &str| {
        presenting.iter().any(|h| {
            h.name.eq_ignore_ascii_case(client)
                || h.address
                    .as_deref()
                    .is_some_and(|addr| addr.eq_ignore_ascii_case(client))
        })
    };
    let cuts = |s: &LiveSession| {
        match s.transport {
        SessionTransport::Tls if checked(&s.host) => None,
        SessionTransport::Tls => Some(
            "TLS, with no client certificate known: the server does not show whether one was presented, and no host of the inventory at that address is checked to present one"
                .to_string(),
        ),
        t => Some(census::how(t)),
    }
    };
    let change = census::Change {
        subject: a.name(),
        concerns: &concerns,
        cuts: &cuts,
        kept: "over TLS from hosts checked to present a client certificate",
    };
    census::preflight(b, b.env.members().filter(|h| h.is_db()), &change)
}

fn plan_account(
    b: &Builder,
    master: &HostFacts,
    a: &Account,
    as_of: Option<i64>,
) -> Result<Draft, Refusal> {
    let shown = a.name();
    let account = sql_account(&a.user, &a.host).map_err(|reason| Refusal::UnquotableName {
        account: shown.clone(),
        reason,
    })?;
    let previous = require_clause(&a.require).map_err(|reason| Refusal::UnquotableName {
        account: shown.clone(),
        reason: format!("its current REQUIRE cannot be restored: {reason}"),
    })?;
    let Some(version) = server_version(master) else {
        return Err(Refusal::NotCollected {
            host: master.name.clone(),
            what: "the server version (it decides between ALTER USER and GRANT)".into(),
        });
    };
    let not_ready = |host: &str, reason: String, instead: String| Refusal::NotReadyForX509 {
        account: shown.clone(),
        host: host.to_string(),
        reason,
        instead,
    };
    // The server itself must do TLS and know the CA that signs clients.
    if let Some(have) = master.mysql.as_ref().and_then(|m| m.variable("have_ssl"))
        && !have.eq_ignore_ascii_case("YES")
    {
        return Err(Refusal::ServerNotReady {
            host: master.name.clone(),
            reason: format!("have_ssl is {have}: no client could present a certificate"),
            instead: "fix SSL001/SSL002 first".into(),
        });
    }
    let cas: Vec<Certificate> = master
        .server_identity()
        .and_then(|i| i.ca.as_deref())
        .and_then(|ca| master.certificates.get(ca))
        .cloned()
        .unwrap_or_default();
    if cas.is_empty() {
        return Err(Refusal::ServerNotReady {
            host: master.name.clone(),
            reason: "the server's ssl-ca certificate was not collected, so client certificates cannot be checked against it".into(),
            instead: "configure ssl-ca (SSL002) and rescan".into(),
        });
    }
    let keygen = b.env.keygen_hint();
    let mut checked = Vec::new();
    let mut presenting = Vec::new();
    for h in b
        .env
        .members()
        .filter(|h| h.has_role(Role::App) || !h.database_ymls.is_empty())
    {
        if !h.is_reachable() {
            return Err(not_ready(
                &h.name,
                "was not reachable, so its client keys cannot be checked".into(),
                "rescan it".into(),
            ));
        }
        match check_app(b, h, a, &cas, as_of) {
            Ok(c) => {
                if !c.is_empty() {
                    presenting.push(h);
                }
                checked.extend(c);
            }
            Err(reason) => {
                let instead = format!(
                    "{keygen}, then add sslca/sslkey/sslcert to its database.yml (`sslaudit remediate plan --rule SSL006`) and restart the application"
                );
                return Err(not_ready(&h.name, reason, instead));
            }
        }
    }
    match check_replicas(b, a, &cas, as_of) {
        Ok(c) => {
            for (replica, what) in c {
                presenting.push(replica);
                checked.push(what);
            }
        }
        Err((host, reason)) => {
            return Err(not_ready(
                &host,
                reason,
                "give the channel a client certificate first: STOP SLAVE; CHANGE MASTER TO MASTER_SSL=1, MASTER_SSL_CA=..., MASTER_SSL_CERT=..., MASTER_SSL_KEY=...; START SLAVE".into(),
            ));
        }
    }
    let sessions_note = live_sessions(b, a, &presenting)?;
    let (sql, undo) = if has_alter_user(version.flavor, version.triple()) {
        (
            format!("ALTER USER {account} REQUIRE X509"),
            format!("ALTER USER {account} {previous}"),
        )
    } else {
        (
            format!("GRANT USAGE ON *.* TO {account} REQUIRE X509"),
            format!("GRANT USAGE ON *.* TO {account} {previous}"),
        )
    };
    let checked = if checked.is_empty() {
        "no application host or replica of the environment logs in with it".to_string()
    } else {
        format!("checked: {}", checked.join("; "))
    };
    let checked = format!("{checked}; {sessions_note}");
    Ok(Draft {
        phase: Phase::Sql,
        host: master.name.clone(),
        action: Action::RunSql { sql },
        why: format!(
            "{shown} must present a client certificate (SSL005; the seed's Enforce SSL Connections); {checked}; set on the db_master only: the replicas receive it by replication; rollback restores {previous}"
        ),
        precondition: None,
        undo: Some(Action::RunSql { sql: undo }),
        undo_last: false,
        applicability: Applicability::NeedsConfirmation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runners::PlanMeta;
    use crate::runners::testutil::*;
    use sslaudit_rules::Location;
    use sslaudit_rules::facts::{CensusSource, ReplicationChannel, SessionCensus};

    const YML_READY: &str = "default: &default\n  adapter: mysql2\n  username: deploy\n  host: 10.0.0.10\n\nproduction:\n  <<: *default\n  database: shop\n  sslca: '/home/deploy/.mysql/root.crt'\n  sslkey: '/home/deploy/.mysql/mysql.key'\n  sslcert: '/home/deploy/.mysql/mysql.crt'\n";
    const YML_BARE: &str = "default: &default\n  adapter: mysql2\n  username: deploy\n  host: 10.0.0.10\n\nproduction:\n  <<: *default\n  database: shop\n";

    fn master_with(accounts: Vec<Account>) -> HostFacts {
        let mut h = db_host("db-master");
        server_keys(&mut h, DATA);
        h.mysql.as_mut().expect("mysql").accounts = Some(accounts);
        h
    }

    fn ready_app(yml: &str) -> HostFacts {
        let mut app = app_host("app-1");
        client_keys(&mut app, PROD_DEPLOY);
        database_yml(&mut app, yml);
        app
    }

    fn ssl005(account: &str) -> Finding {
        finding(
            "SSL005",
            "db-master",
            Location::object(format!("account:{account}")),
        )
    }

    fn sql_of(plan: &crate::plan::Plan) -> Vec<(String, String)> {
        plan.steps
            .iter()
            .filter_map(|s| match (&s.action, &s.undo) {
                (Action::RunSql { sql }, Some(Action::RunSql { sql: undo })) => {
                    Some((sql.clone(), undo.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// The statement with every string literal replaced by `?`: what the
    /// server parses as SQL, outside the quoted names. Standard quoting
    /// only (`''` inside a literal); backslashes never reach here.
    fn skeleton(sql: &str) -> String {
        let mut out = String::new();
        let mut chars = sql.chars().peekable();
        let mut in_lit = false;
        while let Some(c) = chars.next() {
            match (in_lit, c) {
                (false, '\'') => {
                    in_lit = true;
                    out.push('?');
                }
                (true, '\'') if chars.peek() == Some(&'\'') => {
                    chars.next();
                }
                (true, '\'') => in_lit = false,
                (true, _) => {}
                (false, c) => out.push(c),
            }
        }
        assert!(!in_lit, "unterminated literal in {sql}");
        out
    }

    #[test]
    fn quoting_keeps_names_inside_literals() {
        assert_eq!(
            sql_account("o'brien", "%.example.com").as_deref(),
            Ok("'o''brien'@'%.example.com'")
        );
        assert_eq!(sql_account("", "%").as_deref(), Ok("''@'%'"));
        for hostile in [
            "x' REQUIRE NONE; DROP USER 'root'@'localhost'; -- ",
            "'; GRANT ALL ON *.* TO 'evil'@'%",
            "a'@'%' REQUIRE NONE #",
            "`deploy`",
            "\"deploy\"",
        ] {
            let q = sql_account(hostile, "%").expect("quotable");
            assert_eq!(
                skeleton(&format!("ALTER USER {q} REQUIRE X509")),
                "ALTER USER ?@? REQUIRE X509",
                "{q}"
            );
        }
        for bad in ["a\\'b", "a\0b", "a\nb", "a\u{1b}b"] {
            assert!(sql_string(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn previous_require_is_restored_exactly() {
        assert_eq!(require_clause(&Require::Ssl).as_deref(), Ok("REQUIRE SSL"));
        let spec = Require::Specified {
            issuer: Some("/CN=production-mysql-ca/O=Example's".into()),
            subject: None,
            cipher: Some("EDH-RSA-DES-CBC3-SHA".into()),
        };
        assert_eq!(
            require_clause(&spec).as_deref(),
            Ok(
                "REQUIRE ISSUER '/CN=production-mysql-ca/O=Example''s' AND CIPHER 'EDH-RSA-DES-CBC3-SHA'"
            )
        );
    }

    fn with_sessions(mut h: HostFacts, census: Option<SessionCensus>) -> HostFacts {
        h.mysql.as_mut().expect("mysql").sessions = census;
        h
    }

    fn census(sessions: Vec<LiveSession>) -> Option<SessionCensus> {
        Some(SessionCensus {
            source: CensusSource::PerformanceSchema,
            note: None,
            sessions,
            samples: 1,
            window_secs: 0,
        })
    }

    fn live(user: &str, host: &str, transport: SessionTransport) -> LiveSession {
        LiveSession {
            user: user.into(),
            host: host.into(),
            transport,
            cipher: None,
            program: Some("backup.sh".into()),
            count: 2,
            seen: None,
        }
    }

    #[test]
    fn live_sessions_it_would_cut_off_refuse_the_plan_until_overridden() {
        let accounts = vec![account("deploy", "10.0.0.%", Require::None)];
        let master = with_sessions(
            master_with(accounts),
            census(vec![
                live("deploy", "10.0.0.31", SessionTransport::Tcp),
                live("deploy", "10.0.0.20", SessionTransport::Tls),
                // Another account, or a host the account does not match.
                live("reporting", "10.0.0.31", SessionTransport::Tcp),
                live("deploy", "192.168.1.5", SessionTransport::Tcp),
            ]),
        );
        let w = World::new(vec![master, ready_app(YML_READY)]);
        let (plan, refusals) = w.plan(&[ssl005("deploy@10.0.0.%")]);
        assert!(sql_of(&plan).is_empty());
        let why = refusals[0].1.to_string();
        assert!(
            why.contains("deploy@10.0.0.31 on db-master (TCP without TLS, 2 sessions, backup.sh)"),
            "{why}"
        );
        assert!(
            !why.contains("192.168.1.5") && !why.contains("reporting"),
            "{why}"
        );
        assert!(why.contains("--allow-live-sessions"), "{why}");
        // The override is explicit and kept in the step.
        let meta = PlanMeta {
            allow_live_sessions: Some("OPS-77: the backup job moves tonight".into()),
            ..meta()
        };
        let (plan, refusals) = w.plan_with(&[ssl005("deploy@10.0.0.%")], &meta);
        assert!(refusals.is_empty(), "{refusals:?}");
        let s = &plan.steps[0];
        assert!(
            s.why.contains(
                "OVERRIDDEN with --allow-live-sessions (OPS-77: the backup job moves tonight)"
            ) && s.why.contains("deploy@10.0.0.31")
                && s.why.contains("2 live session(s) it does not cut off"),
            "{}",
            s.why
        );
    }

    #[test]
    fn tls_sessions_count_as_certified_only_from_hosts_checked_to_present_one() {
        let accounts = vec![account("deploy", "%", Require::None)];
        // app-1 (10.0.0.20) is checked to present its certificate; a BI
        // tool on 10.0.0.77 connects over TLS too, and nothing shows
        // whether it presents one.
        let sessions = vec![
            live("deploy", "10.0.0.20", SessionTransport::Tls),
            live("deploy", "10.0.0.77", SessionTransport::Tls),
        ];
        let w = World::new(vec![
            with_sessions(master_with(accounts.clone()), census(sessions)),
            ready_app(YML_READY),
        ]);
        let (plan, refusals) = w.plan(&[ssl005("deploy@%")]);
        assert!(
            sql_of(&plan).is_empty(),
            "{:?} {refusals:?}",
            plan.steps.iter().map(|s| &s.why).collect::<Vec<_>>()
        );
        let why = refusals[0].1.to_string();
        assert!(
            why.contains("deploy@10.0.0.77 on db-master (TLS, with no client certificate known")
                && !why.contains("10.0.0.20"),
            "{why}"
        );
        // Gone: the one from app-1 is kept, and the step says why.
        let w = World::new(vec![
            with_sessions(
                master_with(accounts),
                census(vec![live("deploy", "10.0.0.20", SessionTransport::Tls)]),
            ),
            ready_app(YML_READY),
        ]);
        let (plan, refusals) = w.plan(&[ssl005("deploy@%")]);
        assert!(refusals.is_empty(), "{refusals:?}");
        assert!(
            plan.steps[0].why.contains(
                "2 live session(s) it does not cut off (over TLS from hosts checked to present a client certificate)"
            ),
            "{}",
            plan.steps[0].why
        );
    }

    #[test]
    fn a_census_that_cannot_see_requires_the_override() {
        let accounts = vec![account("deploy", "%", Require::None)];
        for census in [
            None,
            Some(SessionCensus {
                source: CensusSource::Unavailable,
                note: Some("SELECT command denied".into()),
                sessions: vec![],
                samples: 1,
                window_secs: 0,
            }),
        ] {
            let w = World::new(vec![
                with_sessions(master_with(accounts.clone()), census),
                ready_app(YML_READY),
            ]);
            let (_, refusals) = w.plan(&[ssl005("deploy@%")]);
            let why = refusals[0].1.to_string();
            assert!(why.contains("cannot be seen"), "{why}");
        }
        // performance_schema off: the processlist shows who; a session of
        // the account whose transport is unknown is one that may be cut off.
        let w = World::new(vec![
            with_sessions(
                master_with(accounts.clone()),
                Some(SessionCensus {
                    source: CensusSource::Processlist,
                    note: Some("performance_schema is off".into()),
                    sessions: vec![live("deploy", "10.0.0.31", SessionTransport::Unknown)],
                    samples: 1,
                    window_secs: 0,
                }),
            ),
            ready_app(YML_READY),
        ]);
        let (_, refusals) = w.plan(&[ssl005("deploy@%")]);
        assert!(refusals[0].1.to_string().contains("how cannot be seen"));
        // ...and nobody of the account connected: nothing to cut off.
        let w = World::new(vec![
            with_sessions(
                master_with(accounts),
                Some(SessionCensus {
                    source: CensusSource::Processlist,
                    note: Some("performance_schema is off".into()),
                    sessions: vec![live("root", "localhost", SessionTransport::Unknown)],
                    samples: 1,
                    window_secs: 0,
                }),
            ),
            ready_app(YML_READY),
        ]);
        let (plan, refusals) = w.plan(&[ssl005("deploy@%")]);
        assert!(refusals.is_empty(), "{refusals:?}");
        assert!(
            plan.steps[0]
                .why
                .contains("no live session would be cut off")
        );
    }

    #[test]
    fn enforces_on_the_master_with_version_specific_sql_and_undo() {
        let accounts = vec![
            account("deploy", "%", Require::None),
            account("o'brien", "%.example.com", Require::Ssl),
        ];
        let w = World::new(vec![master_with(accounts.clone()), ready_app(YML_READY)]);
        let (plan, refusals) = w.plan(&[ssl005("deploy@%"), ssl005("o'brien@%.example.com")]);
        assert!(refusals.is_empty(), "{refusals:?}");
        assert_eq!(
            sql_of(&plan),
            [
                (
                    "GRANT USAGE ON *.* TO 'deploy'@'%' REQUIRE X509".to_string(),
                    "GRANT USAGE ON *.* TO 'deploy'@'%' REQUIRE NONE".to_string()
                ),
                (
                    "GRANT USAGE ON *.* TO 'o''brien'@'%.example.com' REQUIRE X509".to_string(),
                    "GRANT USAGE ON *.* TO 'o''brien'@'%.example.com' REQUIRE SSL".to_string()
                ),
            ]
        );
        let s = &plan.steps[0];
        assert_eq!(
            (s.host.as_str(), s.applicability),
            ("db-master", Applicability::NeedsConfirmation)
        );
        assert!(
            s.why.contains("replicas receive it by replication")
                && s.why
                    .contains("app-1 (production presents /home/deploy/.mysql/mysql.crt"),
            "{}",
            s.why
        );

        for (flavor, raw, alter) in [
            (Flavor::Mysql, "5.7.5", false),
            (Flavor::Mysql, "5.7.6", true),
            (Flavor::Mysql, "8.0.36", true),
            (Flavor::Mariadb, "10.1.48-MariaDB", false),
            (Flavor::Mariadb, "10.2.0-MariaDB", true),
        ] {
            let mut m = master_with(accounts.clone());
            m.mysql.as_mut().expect("mysql").version = Some(version(flavor, raw));
            let w = World::new(vec![m, ready_app(YML_READY)]);
            let (plan, _) = w.plan(&[ssl005("deploy@%")]);
            let sql = &sql_of(&plan)[0].0;
            assert_eq!(
                sql.starts_with("ALTER USER 'deploy'@'%' REQUIRE X509"),
                alter,
                "{raw}: {sql}"
            );
        }
    }

    #[test]
    fn refuses_while_an_app_host_lacks_or_misuses_its_client_keys() {
        let accounts = vec![account("deploy", "%", Require::None)];
        // database.yml names no keys.
        let w = World::new(vec![master_with(accounts.clone()), ready_app(YML_BARE)]);
        let (plan, refusals) = w.plan(&[ssl005("deploy@%")]);
        assert!(plan.steps.is_empty());
        let msg = refusals[0].1.to_string();
        assert!(
            msg.contains("deploy@%")
                && msg.contains("app-1")
                && msg.contains("names no client certificate")
                && msg.contains("sslaudit keygen"),
            "{msg}"
        );
        // Keys of another environment's CA.
        let mut app = app_host("app-1");
        client_keys(&mut app, STAGING_DEPLOY);
        database_yml(&mut app, YML_READY);
        let w = World::new(vec![master_with(accounts.clone()), app]);
        let (_, refusals) = w.plan(&[ssl005("deploy@%")]);
        assert!(
            refusals[0]
                .1
                .to_string()
                .contains("CN=staging-mysql-ca, not by the server's CA"),
            "{}",
            refusals[0].1
        );
        // The key file is not on the host.
        let mut app = ready_app(YML_READY);
        missing(&mut app, "/home/deploy/.mysql/mysql.key");
        let w = World::new(vec![master_with(accounts.clone()), app]);
        let (_, refusals) = w.plan(&[ssl005("deploy@%")]);
        assert!(
            refusals[0]
                .1
                .to_string()
                .contains("mysql.key, which is not on the host"),
            "{}",
            refusals[0].1
        );
        // An app host connecting from outside the account's host pattern
        // does not use it.
        let mut app = ready_app(YML_BARE);
        app.address = Some("192.168.1.5".into());
        let w = World::new(vec![
            master_with(vec![account("deploy", "10.0.0.%", Require::None)]),
            app,
        ]);
        let (plan, refusals) = w.plan(&[ssl005("deploy@10.0.0.%")]);
        assert!(refusals.is_empty() && plan.steps.len() == 1, "{refusals:?}");
    }

    #[test]
    fn replicas_must_present_a_client_certificate_for_their_account() {
        let accounts = vec![account("repl", "10.0.0.%", Require::None)];
        let mut replica = db_host("db-replica-1");
        replica.roles = [Role::DbReplica].into();
        replica.address = Some("10.0.0.11".into());
        let mut channel = ReplicationChannel {
            name: String::new(),
            source_host: "10.0.0.10".into(),
            source_user: Some("repl".into()),
            ssl_allowed: true,
            ssl_verify_server_cert: true,
            ssl_ca: Some(format!("{DATA}/root.crt")),
            ssl_cert: None,
            ssl_key: None,
        };
        replica.mysql.as_mut().expect("mysql").replication = Some(vec![channel.clone()]);
        let w = World::new(vec![master_with(accounts.clone()), replica.clone()]);
        let (plan, refusals) = w.plan(&[ssl005("repl@10.0.0.%")]);
        assert!(plan.steps.is_empty());
        assert!(
            refusals[0].1.to_string().contains(
                "db-replica-1 replicates through the default channel without a client certificate"
            ),
            "{}",
            refusals[0].1
        );

        channel.ssl_cert = Some("/db/mysql/keygen/mysql/mysql.crt".into());
        channel.ssl_key = Some("/db/mysql/keygen/mysql/mysql.key".into());
        replica.mysql.as_mut().expect("mysql").replication = Some(vec![channel]);
        let w = World::new(vec![master_with(accounts.clone()), replica.clone()]);
        let (plan, refusals) = w.plan(&[ssl005("repl@10.0.0.%")]);
        assert!(refusals.is_empty(), "{refusals:?}");
        assert!(
            plan.steps[0]
                .why
                .contains("db-replica-1 (the default channel presents")
        );

        replica.mysql.as_mut().expect("mysql").replication = None;
        let w = World::new(vec![master_with(accounts), replica]);
        let (_, refusals) = w.plan(&[ssl005("repl@10.0.0.%")]);
        assert!(
            refusals[0]
                .1
                .to_string()
                .contains("replication status was not collected")
        );
    }

    #[test]
    fn refuses_unquotable_unknown_accounts_and_a_server_without_tls() {
        let accounts = vec![account("we\\ird", "%", Require::None)];
        let w = World::new(vec![master_with(accounts)]);
        let (_, refusals) = w.plan(&[ssl005("we\\ird@%"), ssl005("ghost@%")]);
        assert!(
            matches!(refusals[0].1, Refusal::UnquotableName { .. }),
            "{refusals:?}"
        );
        assert!(matches!(refusals[1].1, Refusal::AccountNotFound { .. }));
        let mut m = master_with(vec![account("deploy", "%", Require::None)]);
        m.mysql
            .as_mut()
            .expect("mysql")
            .variables
            .insert("have_ssl".into(), "DISABLED".into());
        let w = World::new(vec![m]);
        let (_, refusals) = w.plan(&[ssl005("deploy@%")]);
        assert!(refusals[0].1.to_string().contains("have_ssl is DISABLED"));
    }

    #[test]
    fn applies_and_rolls_back_the_require_on_a_memory_master() {
        let w = World::new(vec![master_with(vec![account(
            "o'brien",
            "%.example.com",
            Require::Ssl,
        )])]);
        let (plan, refusals) = w.plan(&[ssl005("o'brien@%.example.com")]);
        assert!(refusals.is_empty(), "{refusals:?}");
        let hosts = w.targets();
        let state = tempfile::tempdir().expect("tempdir");
        apply_to(&plan, &hosts, state.path());
        rollback_on(&plan.run_id, &hosts, state.path());
        assert_eq!(
            hosts["db-master"].sql(),
            [
                "ALTER USER 'o''brien'@'%.example.com' REQUIRE X509".to_string(),
                "ALTER USER 'o''brien'@'%.example.com' REQUIRE SSL".to_string()
            ]
            .map(|s| s.replace("ALTER USER", "GRANT USAGE ON *.* TO"))
        );
    }
}
