//! SSL017: `require_secure_transport = ON`, live and where mysqld reads it.
//!
//! The server must have the variable (MariaDB 10.5.2+, MySQL 5.7.8+) and
//! TLS working (`have_ssl = YES`): otherwise every TCP client would be shut
//! out. The session census must show no live session over TCP without TLS
//! (local socket sessions count as secure transport and are kept), or the
//! plan is refused naming them. The plan sets it live with `SET GLOBAL`
//! (no restart) and persists it in the option file mysqld really reads: in
//! place where a line sets it, else beside the TLS options. Undo sets it
//! back live and restores the file.

use std::collections::BTreeMap;

use sslaudit_rules::Finding;
use sslaudit_rules::facts::{HostFacts, LiveSession, SessionTransport};

use super::option_file::{insert_options, set_in_place};
use crate::plan::{Action, Applicability};
use crate::runners::{Builder, Draft, Phase, Refusal, census};

/// SSL017 on `host`: one plan for all its findings (there is one setting).
pub(crate) fn plan(b: &mut Builder, host: &HostFacts, findings: &[&Finding]) {
    match plan_host(b, host) {
        Ok(()) => b.fixes("SSL017"),
        Err(r) => {
            for f in findings {
                b.refuse(f, r.clone());
            }
        }
    }
}

fn plan_host(b: &mut Builder, host: &HostFacts) -> Result<(), Refusal> {
    let Some(opts) = &host.server_options else {
        return Err(Refusal::NotCollected {
            host: host.name.clone(),
            what: "the server option files (the setting must persist where mysqld reads it)".into(),
        });
    };
    let Some(mysql) = &host.mysql else {
        return Err(Refusal::NotCollected {
            host: host.name.clone(),
            what: "the server's variables".into(),
        });
    };
    let Some(current) = mysql.variable("require_secure_transport") else {
        return Err(Refusal::NotFixable {
            host: host.name.clone(),
            reason: "the server has no require_secure_transport (MariaDB before 10.5.2, MySQL before 5.7.8)".into(),
            instead: "require TLS per account instead: `sslaudit remediate plan --rule SSL005`"
                .into(),
        });
    };
    if !mysql
        .variable("have_ssl")
        .is_some_and(|v| v.eq_ignore_ascii_case("YES"))
    {
        return Err(Refusal::ServerNotReady {
            host: host.name.clone(),
            reason:
                "have_ssl is not YES: with secure transport required no TCP client could connect"
                    .into(),
            instead: "fix SSL001/SSL002 first".into(),
        });
    }
    let everyone = |_: &LiveSession| true;
    let cuts = |s: &LiveSession| {
        matches!(
            s.transport,
            SessionTransport::Tcp | SessionTransport::Unknown
        )
        .then(|| census::how(s.transport))
    };
    let change = census::Change {
        subject: format!("require_secure_transport on {}", host.name),
        concerns: &everyone,
        cuts: &cuts,
        kept: "over TLS or a local socket",
    };
    let sessions_note = census::preflight(b, [host], &change)?;
    let why = "require_secure_transport was OFF (SSL017): persisted so a restart keeps it";
    match opts.get("require_secure_transport") {
        Some(o) => set_in_place(b, host, o, "ON", why)?,
        None => {
            let values: BTreeMap<&str, String> =
                [("require_secure_transport", "ON".to_string())].into();
            insert_options(
                b,
                host,
                opts,
                &["require_secure_transport"],
                &values,
                "Clients must use TLS or the local socket",
            )?;
        }
    }
    let previous = if matches!(current.trim().to_ascii_uppercase().as_str(), "ON" | "1") {
        "ON"
    } else {
        "OFF"
    };
    b.push(Draft {
        phase: Phase::Sql,
        host: host.name.clone(),
        action: Action::RunSql {
            sql: "SET GLOBAL require_secure_transport = ON".into(),
        },
        why: format!(
            "TCP clients must use TLS from now on, without a restart (SSL017; the seed's Enforce SSL Connections); {sessions_note}; rollback sets it back to {previous}"
        ),
        precondition: None,
        undo: Some(Action::RunSql {
            sql: format!("SET GLOBAL require_secure_transport = {previous}"),
        }),
        undo_last: false,
        applicability: Applicability::NeedsConfirmation,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runners::PlanMeta;
    use crate::runners::testutil::*;
    use sslaudit_rules::Location;
    use sslaudit_rules::facts::{CensusSource, Flavor, SessionCensus};

    const CNF: &str = "/etc/mysql/my.cnf";
    const TEXT: &str = "[mysqld]\nport = 3306\nrequire_secure_transport = OFF # until the BI job moves (OPS-9)\nssl-ca = /db/mysql/10.11/data/root.crt\n";

    fn master(sessions: Vec<LiveSession>) -> HostFacts {
        let mut h = db_host("db-master");
        let m = h.mysql.as_mut().unwrap();
        m.version = Some(version(Flavor::Mariadb, "10.11.19-MariaDB"));
        m.variables
            .insert("require_secure_transport".into(), "OFF".into());
        m.sessions = Some(SessionCensus {
            source: CensusSource::PerformanceSchema,
            note: None,
            sessions,
            samples: 1,
            window_secs: 0,
        });
        options(
            &mut h,
            CNF,
            &[
                ("port", Some("3306"), 2),
                ("require_secure_transport", Some("OFF"), 3),
                ("ssl-ca", Some("/db/mysql/10.11/data/root.crt"), 4),
            ],
        );
        h
    }

    fn ssl017() -> Finding {
        finding(
            "SSL017",
            "db-master",
            Location::file(CNF, Some(3)).with_object("variable:require_secure_transport"),
        )
    }

    fn session(transport: SessionTransport) -> LiveSession {
        LiveSession {
            user: "cron".into(),
            host: "10.0.0.31".into(),
            transport,
            cipher: None,
            program: Some("report.sh".into()),
            count: 1,
            seen: None,
        }
    }

    #[test]
    fn turns_it_on_live_and_in_place_keeping_the_comment() {
        let mut w = World::new(vec![master(vec![
            session(SessionTransport::Tls),
            session(SessionTransport::Local),
        ])]);
        w.text("db-master", CNF, TEXT);
        let (plan, refusals) = w.plan(&[ssl017()]);
        assert!(refusals.is_empty(), "{refusals:?}");
        let new = w.written(&plan, CNF);
        assert_eq!(
            new,
            TEXT.replace(
                "require_secure_transport = OFF # until",
                "require_secure_transport = ON # until"
            )
        );
        let sql: Vec<_> = plan
            .steps
            .iter()
            .filter_map(|s| match (&s.action, &s.undo) {
                (Action::RunSql { sql }, Some(Action::RunSql { sql: undo })) => {
                    Some((sql.as_str(), undo.as_str(), s.why.clone()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(sql.len(), 1);
        assert_eq!(sql[0].0, "SET GLOBAL require_secure_transport = ON");
        assert_eq!(sql[0].1, "SET GLOBAL require_secure_transport = OFF");
        assert!(
            sql[0].2.contains("no live session would be cut off"),
            "{}",
            sql[0].2
        );
    }

    #[test]
    fn plaintext_or_unseen_sessions_refuse_until_overridden() {
        for t in [SessionTransport::Tcp, SessionTransport::Unknown] {
            let mut w = World::new(vec![master(vec![session(t)])]);
            w.text("db-master", CNF, TEXT);
            let (plan, refusals) = w.plan(&[ssl017()]);
            assert!(plan.steps.is_empty());
            let why = refusals[0].1.to_string();
            assert!(why.contains("cron@10.0.0.31 on db-master"), "{why}");
            let meta = PlanMeta {
                allow_live_sessions: Some("the job is retired tonight".into()),
                ..meta()
            };
            let (plan, refusals) = w.plan_with(&[ssl017()], &meta);
            assert!(refusals.is_empty());
            assert!(
                plan.steps.iter().any(|s| s.why.contains(
                    "OVERRIDDEN with --allow-live-sessions (the job is retired tonight)"
                ))
            );
        }
    }

    #[test]
    fn inserted_beside_the_tls_options_when_no_line_sets_it() {
        let mut h = master(vec![]);
        options(
            &mut h,
            CNF,
            &[
                ("port", Some("3306"), 2),
                ("ssl-ca", Some("/db/mysql/10.11/data/root.crt"), 3),
            ],
        );
        let mut w = World::new(vec![h]);
        let text = "[mysqld]\nport = 3306\nssl-ca = /db/mysql/10.11/data/root.crt\n";
        w.text("db-master", CNF, text);
        let (plan, refusals) = w.plan(&[ssl017()]);
        assert!(refusals.is_empty(), "{refusals:?}");
        let new = w.written(&plan, CNF);
        assert!(new.ends_with("ssl-ca = /db/mysql/10.11/data/root.crt\n# Clients must use TLS or the local socket (added by sslaudit run run-20260601)\nrequire-secure-transport = ON\n"), "{new}");
    }

    #[test]
    fn servers_without_the_variable_or_tls_are_refused() {
        let mut h = master(vec![]);
        h.mysql
            .as_mut()
            .unwrap()
            .variables
            .remove("require_secure_transport");
        let w = World::new(vec![h]);
        let (_, refusals) = w.plan(&[ssl017()]);
        assert!(refusals[0].1.to_string().contains("SSL005"));
        let mut h = master(vec![]);
        h.mysql
            .as_mut()
            .unwrap()
            .variables
            .insert("have_ssl".into(), "DISABLED".into());
        let w = World::new(vec![h]);
        let (_, refusals) = w.plan(&[ssl017()]);
        assert!(refusals[0].1.to_string().contains("have_ssl"));
    }
}
