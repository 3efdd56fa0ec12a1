//! `keygen --inventory`: the seed's key generation and distribution for
//! one environment, for the keys that are missing (existing keys are never
//! replaced here: that is `rotate`).
//!
//! The seed's distribution pattern: server keys (`root.crt`, `server.crt`,
//! `server.key`) in each database host's data directory; every user's
//! client keys in `/db/mysql/keygen/<user>/` on every database host; the
//! application user's keys in `~/.mysql` on every application host. Keys
//! for named users: a MySQL account whose name is also an OS user of an
//! application host gets its own keys there.
//!
//! Certificates are signed by the environment's CA where its key lives
//! (the db_master) or from local files; with no CA at all a new one is made
//! and its key kept beside `root.crt` on the db_master, as the seed's
//! scripts leave it.

use std::collections::{BTreeMap, BTreeSet};

use sslaudit_rules::facts::{HostFacts, IdentityKind, Role};

use crate::plan::{Action, Content, Issuer, KeyType, Plan, Recipe, Step, Usage};
use crate::runners::ClientFiles;
use crate::runners::rotate::{CaSource, master_first, server_recipe};

/// Which CA signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaChoice {
    /// The environment's CA; `cert_pem` is its certificate, written where a
    /// CA file is missing.
    Existing { source: CaSource, cert_pem: String },
    /// A new CA (the environment has none).
    New { common_name: String, days: u32 },
}

pub struct DistributeInput<'a> {
    pub environment: &'a str,
    /// Fresh facts of every host of the environment.
    pub hosts: &'a [HostFacts],
    /// Users to give client keys besides the application users, the users
    /// with keygen folders and the named users.
    pub users: &'a [String],
    pub ca: CaChoice,
    pub days: u32,
    pub algo: KeyType,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DistributeError {
    #[error("environment {0}: no db_master in the inventory")]
    NoMaster(String),
    #[error(
        "{host}: {path} already exists: a new CA would not match it; keep the existing CA (give --ca-cert/--ca-key or put its key on the db_master) or rotate it"
    )]
    CaExists { host: String, path: String },
    #[error("{0:?} is not a usable user name (letters, digits, '.', '_', '-')")]
    BadUser(String),
    #[error(
        "{host}: the data directory is unknown (no datadir option, nothing found under {pattern}): set datadir in my.cnf or the layout's data_dirs"
    )]
    NoDataDir { host: String, pattern: String },
}

const NEW_CA: &str = "ca";

fn present(h: &HostFacts, path: &str) -> bool {
    h.file_exists(path)
}

fn safe_user(u: &str) -> bool {
    !u.is_empty()
        && u.len() <= 32
        && !u.starts_with('-')
        && u.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && u != "."
        && u != ".."
}

/// MySQL accounts of the master that name an OS user of `app` with a home
/// under /home (the seed's "Keys for Named Users").
fn named_users(master: &HostFacts, app: &HostFacts) -> Vec<String> {
    let Some(accounts) = master.mysql.as_ref().and_then(|m| m.accounts.as_ref()) else {
        return Vec::new();
    };
    let Some(os) = &app.os_users else {
        return Vec::new();
    };
    accounts
        .iter()
        .filter(|a| !a.is_role && !a.locked)
        .filter(|a| {
            os.get(&a.user)
                .is_some_and(|u| u.home.starts_with("/home/"))
        })
        .map(|a| a.user.clone())
        .collect()
}

fn home_of(h: &HostFacts, user: &str) -> String {
    h.os_users
        .as_ref()
        .and_then(|u| u.get(user))
        .map(|u| u.home.clone())
        .unwrap_or_else(|| format!("/home/{user}"))
}

struct Builder<'a> {
    steps: Vec<Step>,
    generate: Vec<Recipe>,
    issued: BTreeSet<String>,
    issuer: Issuer,
    input: &'a DistributeInput<'a>,
}

impl Builder<'_> {
    fn push(&mut self, host: &str, action: Action, why: String) {
        self.steps
            .push(Step::safe(self.steps.len() + 1, host, action, why));
    }

    fn leaf(&mut self, id: &str, usage: Usage, cn: &str, sans: Vec<String>) {
        if self.issued.insert(id.to_string()) {
            self.generate.push(Recipe::Leaf {
                id: id.to_string(),
                usage,
                common_name: cn.to_string(),
                sans,
                days: self.input.days,
                algo: self.input.algo,
                issuer: self.issuer.clone(),
            });
        }
    }

    fn ca_content(&self) -> Content {
        match &self.input.ca {
            CaChoice::Existing { cert_pem, .. } => Content::Text(cert_pem.clone()),
            CaChoice::New { .. } => Content::Generated {
                id: format!("{NEW_CA}.crt"),
            },
        }
    }

    /// The three files of an identity in `dir`, the ones missing.
    fn triple(
        &mut self,
        h: &HostFacts,
        paths: [&str; 3],
        id: &str,
        owner: &str,
        group: &str,
        what: &str,
    ) {
        let [ca, cert, key] = paths;
        let file = |path: &str, content: Content, mode: u32| Action::WriteFile {
            path: path.to_string(),
            content,
            mode,
            owner: Some(owner.to_string()),
            group: Some(group.to_string()),
        };
        if !present(h, ca) {
            let content = self.ca_content();
            self.push(
                &h.name,
                file(ca, content, 0o644),
                format!("the CA certificate for {what}"),
            );
        }
        self.push(
            &h.name,
            file(
                key,
                Content::Generated {
                    id: format!("{id}.key"),
                },
                0o600,
            ),
            format!("private key for {what} (0600 from creation)"),
        );
        self.push(
            &h.name,
            file(
                cert,
                Content::Generated {
                    id: format!("{id}.crt"),
                },
                0o644,
            ),
            format!("certificate for {what}"),
        );
    }

    fn dir(&mut self, h: &HostFacts, path: &str, mode: u32, owner: &str, why: &str) {
        let known = h.files.keys().any(|p| {
            p.strip_prefix(path)
                .is_some_and(|rest| rest.starts_with('/'))
        });
        if !known {
            self.push(
                &h.name,
                Action::MakeDir {
                    path: path.to_string(),
                    mode,
                    owner: Some(owner.to_string()),
                },
                why.to_string(),
            );
        }
    }
}

/// The plan that generates and distributes the environment's missing keys.
pub fn distribute(
    input: &DistributeInput<'_>,
    run_id: &str,
    created_at: &str,
) -> Result<Plan, DistributeError> {
    let env = input.environment;
    let members: Vec<&HostFacts> = input
        .hosts
        .iter()
        .filter(|h| h.environment == env)
        .collect();
    let dbs = master_first(members.iter().copied())
        .ok_or_else(|| DistributeError::NoMaster(env.to_string()))?;
    let master = dbs[0];
    let apps: Vec<&HostFacts> = members
        .iter()
        .copied()
        .filter(|h| h.has_role(Role::App))
        .collect();

    // Who gets client keys, and where.
    let mut users: BTreeSet<String> = input.users.iter().cloned().collect();
    for h in &members {
        users.extend(h.app_user.iter().cloned());
        for id in &h.identities {
            if let IdentityKind::Keygen { user } = &id.kind {
                users.insert(user.clone());
            }
        }
    }
    let mut app_users: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for app in &apps {
        let mut set: BTreeSet<String> = app.app_user.iter().cloned().collect();
        set.extend(named_users(master, app));
        users.extend(set.iter().cloned());
        app_users.insert(app.name.clone(), set);
    }
    if let Some(bad) = users.iter().find(|u| !safe_user(u)) {
        return Err(DistributeError::BadUser(bad.clone()));
    }

    let issuer = match &input.ca {
        CaChoice::Existing { source, .. } => source.issuer(),
        CaChoice::New { .. } => Issuer::Generated { id: NEW_CA.into() },
    };
    let mut b = Builder {
        steps: Vec::new(),
        generate: Vec::new(),
        issued: BTreeSet::new(),
        issuer,
        input,
    };
    if let CaChoice::New { common_name, days } = &input.ca {
        b.generate.push(Recipe::Ca {
            id: NEW_CA.into(),
            common_name: common_name.clone(),
            days: *days,
            algo: input.algo,
        });
    }

    for h in &dbs {
        let layout = &h.layout;
        let option = h
            .server_options
            .as_ref()
            .and_then(|o| o.get("datadir"))
            .map(|d| d.as_str());
        let datadir = layout.data_dir(option, h.files.keys().map(String::as_str));
        if datadir.contains('*') {
            return Err(DistributeError::NoDataDir {
                host: h.name.clone(),
                pattern: datadir,
            });
        }
        let configured = h.identities.iter().find(|i| i.kind == IdentityKind::Server);
        let at = |name: &str| format!("{}/{name}", datadir.trim_end_matches('/'));
        let ca = configured
            .and_then(|i| i.ca.clone())
            .unwrap_or_else(|| at(&layout.server_ca));
        let cert = configured
            .and_then(|i| i.cert.clone())
            .unwrap_or_else(|| at(&layout.server_cert));
        let key = configured
            .and_then(|i| i.key.clone())
            .unwrap_or_else(|| at(&layout.server_key));
        let service = layout.service_user.clone();
        if !(present(h, &cert) && present(h, &key)) {
            let (id, recipe) = server_recipe(h, input.days, input.algo, b.issuer.clone());
            if b.issued.insert(id.clone()) {
                b.generate.push(recipe);
            }
            b.dir(h, &datadir, 0o750, &service, "the server's data directory");
            b.triple(
                h,
                [&ca, &cert, &key],
                &id,
                &service,
                &service,
                &format!("the server {}", h.name),
            );
        }
        if h.name == master.name
            && let CaChoice::New { .. } = input.ca
        {
            let ca_key = match ca.rsplit_once('/') {
                Some((dir, _)) => format!("{dir}/root.key"),
                None => at("root.key"),
            };
            if present(h, &ca) || present(h, &ca_key) {
                return Err(DistributeError::CaExists {
                    host: h.name.clone(),
                    path: if present(h, &ca) { ca } else { ca_key },
                });
            }
            b.push(
                &h.name,
                Action::WriteFile {
                    path: ca_key,
                    content: Content::Generated {
                        id: format!("{NEW_CA}.key"),
                    },
                    mode: 0o600,
                    owner: Some("root".into()),
                    group: Some("root".into()),
                },
                "the new CA's key stays on the db_master, root's alone (the seed's layout)".into(),
            );
        }
        if let Some(kg) = layout.keygen_dir.as_deref() {
            let kg = kg.trim_end_matches('/');
            for user in &users {
                let dir = format!("{kg}/{user}");
                let ClientFiles { ca, cert, key } = ClientFiles::in_dir(layout, &dir);
                if present(h, &cert) && present(h, &key) {
                    continue;
                }
                let id = format!("user-{user}");
                b.leaf(&id, Usage::Client, user, Vec::new());
                b.dir(h, kg, 0o755, "root", "the keygen folder");
                b.dir(h, &dir, 0o750, "root", "the user's keygen folder");
                b.triple(
                    h,
                    [&ca, &cert, &key],
                    &id,
                    "root",
                    "root",
                    &format!("MySQL user {user}"),
                );
            }
        }
    }
    for app in &apps {
        for user in app_users.get(&app.name).into_iter().flatten() {
            let layout = &app.layout;
            let dir = layout.client_dir_for(&home_of(app, user));
            let ClientFiles { ca, cert, key } = ClientFiles::in_dir(layout, &dir);
            if present(app, &cert) && present(app, &key) {
                continue;
            }
            let id = format!("user-{user}");
            b.leaf(&id, Usage::Client, user, Vec::new());
            b.dir(app, &dir, 0o700, user, &format!("{user}'s ~/.mysql"));
            b.triple(
                app,
                [&ca, &cert, &key],
                &id,
                user,
                user,
                &format!("{user} on {}", app.name),
            );
        }
    }
    Ok(Plan {
        run_id: run_id.to_string(),
        created_at: created_at.to_string(),
        title: format!("generate and distribute the missing keys of environment {env}"),
        generate: b.generate,
        steps: b.steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runners::testutil::{account, app_host, client_keys, db_host, options, server_keys};
    use sslaudit_rules::facts::{OsUser, Require};

    const DATA: &str = "/db/mysql/5.6/data";

    fn input<'a>(hosts: &'a [HostFacts], ca: CaChoice) -> DistributeInput<'a> {
        DistributeInput {
            environment: "production",
            hosts,
            users: &[],
            ca,
            days: 30,
            algo: KeyType::EcdsaP256,
        }
    }

    fn existing() -> CaChoice {
        CaChoice::Existing {
            source: CaSource::Remote {
                host: "db-master".into(),
                cert_path: format!("{DATA}/root.crt"),
                key_path: format!("{DATA}/root.key"),
            },
            cert_pem: "-----BEGIN CERTIFICATE-----\nold CA\n-----END CERTIFICATE-----\n".into(),
        }
    }

    fn writes(plan: &Plan) -> Vec<(String, String)> {
        plan.steps
            .iter()
            .filter_map(|s| match &s.action {
                Action::WriteFile { path, .. } => Some((s.host.clone(), path.clone())),
                _ => None,
            })
            .collect()
    }

    /// The master has its keys; the app host has none, and its OS user
    /// `alice` is also a MySQL account: deploy and alice get keys there
    /// and in the master's keygen folders, signed on the master.
    #[test]
    fn missing_keys_only_named_users_included_signed_where_the_ca_is() {
        let mut master = db_host("db-master");
        server_keys(&mut master, DATA);
        if let Some(m) = master.mysql.as_mut() {
            m.accounts = Some(vec![
                account("deploy", "%", Require::None),
                account("alice", "%", Require::None),
                account("nobody-here", "%", Require::None),
            ]);
        }
        let mut app = app_host("app-1");
        if let Some(users) = app.os_users.as_mut() {
            users.insert(
                "alice".into(),
                OsUser {
                    name: "alice".into(),
                    uid: 1001,
                    gid: 1001,
                    home: "/home/alice".into(),
                    shell: "/bin/bash".into(),
                },
            );
        }
        let hosts = [master, app];
        let plan = distribute(&input(&hosts, existing()), "r1", "t").unwrap();
        plan.validate().unwrap();
        let w = writes(&plan);
        for (host, path) in [
            ("db-master", "/db/mysql/keygen/alice/mysql.key"),
            ("db-master", "/db/mysql/keygen/deploy/mysql.crt"),
            ("app-1", "/home/deploy/.mysql/mysql.key"),
            ("app-1", "/home/alice/.mysql/root.crt"),
        ] {
            assert!(
                w.contains(&(host.into(), path.into())),
                "{path} on {host}: {w:?}"
            );
        }
        assert!(!w.iter().any(|(_, p)| p.contains("nobody-here")), "{w:?}");
        // The server keys exist: not replaced (that is rotate).
        assert!(!w.iter().any(|(_, p)| p.ends_with("server.key")), "{w:?}");
        assert!(plan.generate.iter().all(|r| matches!(
            r,
            Recipe::Leaf {
                issuer: Issuer::Remote { .. },
                ..
            }
        )));
        // ~/.mysql keys belong to their user, 0600 from creation.
        let key = plan
            .steps
            .iter()
            .find_map(|s| match &s.action {
                Action::WriteFile {
                    path, mode, owner, ..
                } if path == "/home/alice/.mysql/mysql.key" => Some((*mode, owner.clone())),
                _ => None,
            })
            .unwrap();
        assert_eq!(key, (0o600, Some("alice".into())));
    }

    #[test]
    fn an_environment_without_keys_gets_a_new_ca_whose_key_stays_on_the_master() {
        let mut master = db_host("db-master");
        let mut app = app_host("app-1");
        client_keys(&mut app, crate::runners::testutil::PROD_DEPLOY);
        let new = || CaChoice::New {
            common_name: "test".into(),
            days: 365,
        };
        // Nothing says where the data directory is: refused, not guessed.
        let hosts = [master.clone()];
        assert!(matches!(
            distribute(&input(&hosts, new()), "r2", "t"),
            Err(DistributeError::NoDataDir { .. })
        ));
        options(
            &mut master,
            "/etc/mysql/my.cnf",
            &[("datadir", Some(DATA), 12)],
        );
        let hosts = [master, app];
        let plan = distribute(&input(&hosts, new()), "r2", "t").unwrap();
        let w = writes(&plan);
        assert!(
            w.contains(&("db-master".into(), format!("{DATA}/root.key"))),
            "{w:?}"
        );
        assert!(
            w.contains(&("db-master".into(), format!("{DATA}/server.key"))),
            "{w:?}"
        );
        // The app host already has its keys: left alone.
        assert!(!w.iter().any(|(h, _)| h == "app-1"), "{w:?}");
        assert!(matches!(plan.generate[0], Recipe::Ca { .. }));

        // A new CA next to an existing root.crt would not match it: refused.
        let mut master = db_host("db-master");
        server_keys(&mut master, DATA);
        let hosts = [master];
        let new = CaChoice::New {
            common_name: "test".into(),
            days: 365,
        };
        assert!(matches!(
            distribute(&input(&hosts, new), "r3", "t"),
            Err(DistributeError::CaExists { .. })
        ));
    }
}
