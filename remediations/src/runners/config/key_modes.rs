//! SSL014: private keys others can read, set to 0600 and owned by whoever
//! must own them where they are.

use sslaudit_rules::facts::{HostFacts, IdentityKind};
use sslaudit_rules::{Finding, SubjectKind};

use crate::plan::{Action, Applicability, Precondition};
use crate::runners::{Builder, Draft, Phase, Refusal};

/// Who must own a private key, by where it is (as SSL014 judges).
fn key_owner(
    host: &HostFacts,
    path: &str,
    current: Option<&str>,
) -> (Option<String>, Option<String>) {
    let service = &host.layout.service_user;
    if host
        .server_identity()
        .is_some_and(|id| id.key.as_deref() == Some(path))
    {
        return (Some(service.clone()), Some(service.clone()));
    }
    if let Some(keygen) = host.layout.keygen_dir.as_deref()
        && path.starts_with(&format!("{}/", keygen.trim_end_matches('/')))
    {
        // root generates them; the service user may own them too.
        return match current {
            Some(o) if o == "root" || o == service => (None, None),
            _ => (Some("root".into()), None),
        };
    }
    for id in &host.identities {
        if let IdentityKind::UserHome { user } = &id.kind
            && id.key.as_deref() == Some(path)
        {
            return (Some(user.clone()), None);
        }
    }
    if let Some(users) = &host.os_users {
        for u in users.values() {
            let dir = host.layout.client_dir_for(&u.home);
            if path.starts_with(&format!("{dir}/")) {
                return (Some(u.name.clone()), None);
            }
        }
    }
    (None, None)
}

/// SSL014: sets keys that are too open to 0600, owned by the service user
/// (server keys, with its group), the user whose `~/.mysql` holds them, or
/// root (keygen directory).
pub(crate) fn plan(b: &mut Builder, host: &HostFacts, findings: &[&Finding]) {
    for f in findings {
        let path = match f.subject_kind() {
            Some(SubjectKind::Key(path)) => Some(path.as_str()),
            _ => None,
        }
        .or(f.location.file.as_deref())
        .unwrap_or("")
        .to_string();
        let Some(meta) = host.file(&path).filter(|_| host.file_exists(&path)) else {
            b.refuse(
                f,
                Refusal::NotCollected {
                    host: host.name.clone(),
                    what: format!("the mode and owner of {path}"),
                },
            );
            continue;
        };
        let (owner, group) = key_owner(host, &path, meta.owner.as_deref());
        let owner = owner.filter(|o| meta.owner.as_deref() != Some(o.as_str()) || group.is_some());
        let was = format!(
            "{}{}",
            meta.mode
                .map(|m| format!("mode {m:04o}"))
                .unwrap_or_else(|| "mode unknown".into()),
            match (&meta.owner, &meta.group) {
                (Some(o), Some(g)) => format!(", owned by {o}:{g}"),
                (Some(o), None) => format!(", owned by {o}"),
                _ => String::new(),
            }
        );
        let leaked = meta.mode.is_some_and(|m| m & 0o004 != 0);
        let mut why = format!("private key {path} was {was}: only its owner may read it (SSL014)");
        if leaked {
            why.push_str(&format!(
                "; it was readable by every user, so treat it as leaked and replace it (`{}`)",
                b.env.rotate_command()
            ));
        }
        b.push(Draft {
            phase: Phase::Files,
            host: host.name.clone(),
            action: Action::SetMode {
                path: path.clone(),
                mode: 0o600,
                owner,
                group,
            },
            why,
            precondition: Some(Precondition::FileExists { path }),
            undo: None,
            undo_last: false,
            applicability: Applicability::Safe,
        });
        b.fixes("SSL014");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runners::testutil::*;
    use crate::target::Target;
    use sslaudit_rules::Location;

    #[test]
    fn ssl014_tightens_keys_to_their_expected_owners_and_rolls_back() {
        let mut h = db_host("db-master");
        server_keys(&mut h, DATA);
        let server_key = format!("{DATA}/server.key");
        key(&mut h, &server_key, 0o644, "root", None);
        key(
            &mut h,
            "/db/mysql/keygen/deploy/mysql.key",
            0o640,
            "root",
            None,
        );
        let mut app = app_host("app-1");
        client_keys(&mut app, PROD_DEPLOY);
        key(
            &mut app,
            "/home/deploy/.mysql/mysql.key",
            0o644,
            "root",
            None,
        );
        let w = World::new(vec![h, app]);
        let f = |host: &str, p: &str| {
            finding(
                "SSL014",
                host,
                Location::file(p, None).with_object(format!("key:{p}")),
            )
        };
        let findings = [
            f("app-1", "/home/deploy/.mysql/mysql.key"),
            f("db-master", &server_key),
            f("db-master", "/db/mysql/keygen/deploy/mysql.key"),
        ];
        let (plan, refusals) = w.plan(&findings);
        assert!(refusals.is_empty(), "{refusals:?}");
        let modes: Vec<(&str, &Action)> = plan
            .steps
            .iter()
            .map(|s| (s.host.as_str(), &s.action))
            .collect();
        assert_eq!(
            modes,
            [
                (
                    "db-master",
                    &Action::SetMode {
                        path: server_key.clone(),
                        mode: 0o600,
                        owner: Some("mysql".into()),
                        group: Some("mysql".into())
                    }
                ),
                (
                    "db-master",
                    &Action::SetMode {
                        path: "/db/mysql/keygen/deploy/mysql.key".into(),
                        mode: 0o600,
                        owner: None,
                        group: None
                    }
                ),
                (
                    "app-1",
                    &Action::SetMode {
                        path: "/home/deploy/.mysql/mysql.key".into(),
                        mode: 0o600,
                        owner: Some("deploy".into()),
                        group: None
                    }
                ),
            ]
        );
        assert!(
            plan.steps[0].why.contains("treat it as leaked"),
            "{}",
            plan.steps[0].why
        );
        let hosts = w.targets();
        hosts["db-master"].add_file(&server_key, b"k", 0o644, Some("root"));
        hosts["db-master"].add_file(
            "/db/mysql/keygen/deploy/mysql.key",
            b"k",
            0o640,
            Some("root"),
        );
        hosts["app-1"].add_file("/home/deploy/.mysql/mysql.key", b"k", 0o644, Some("root"));
        let state = tempfile::tempdir().expect("tempdir");
        apply_to(&plan, &hosts, state.path());
        let m = hosts["db-master"]
            .read_file(&server_key)
            .expect("read")
            .expect("there");
        assert_eq!(
            (m.mode, m.owner.as_deref(), m.group.as_deref()),
            (0o600, Some("mysql"), Some("mysql"))
        );
        let m = hosts["app-1"]
            .read_file("/home/deploy/.mysql/mysql.key")
            .expect("read")
            .expect("there");
        assert_eq!((m.mode, m.owner.as_deref()), (0o600, Some("deploy")));
        rollback_on(&plan.run_id, &hosts, state.path());
        for (host, path, mode) in [
            ("db-master", server_key.as_str(), 0o644),
            ("db-master", "/db/mysql/keygen/deploy/mysql.key", 0o640),
            ("app-1", "/home/deploy/.mysql/mysql.key", 0o644),
        ] {
            let m = hosts[host].read_file(path).expect("read").expect("there");
            assert_eq!((m.mode, m.owner.as_deref()), (mode, Some("root")), "{path}");
        }
    }
}
