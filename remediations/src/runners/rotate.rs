//! `rotate`: the seed's Key Maintenance as a safe run, without downtime.
//!
//! A leaf rotation keeps the CA (clients and replicas keep trusting the
//! servers) and replaces every server key and every user key of one
//! environment:
//!
//! 1. per database host, master first: copy the current keys into the
//!    layout's old-keys folder (the seed's `/db/old_keys`), as
//!    `{server,user}/<run id>/` (one folder per run, so
//!    older backups survive), write the new server key and certificate over
//!    the files the server's `ssl-cert`/`ssl-key` name, make the server load
//!    them (`FLUSH SSL`, `ALTER INSTANCE RELOAD TLS` or a restart) and check
//!    that it presents the new certificate before the next host is touched;
//! 2. the per-user keys the database hosts keep (`/db/mysql/keygen/<user>`)
//!    and the application users' `~/.mysql` copies.
//!
//! Rollback restores every file from the engine's backups, then reloads TLS
//! on each server, master first (`undo_last`).

use std::collections::{BTreeMap, BTreeSet};

use sslaudit_rules::facts::{HostFacts, IdentityKind, Role};

use crate::plan::{Action, Content, Issuer, KeyType, Plan, Recipe, Step, Usage};
use crate::shell::quote;

/// Where the CA that signs the new certificates is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaSource {
    /// On a host (the db_master): signed there, the key never leaves it.
    Remote {
        host: String,
        cert_path: String,
        key_path: String,
    },
    /// Local files given with `--ca-cert`/`--ca-key`.
    Local { cert_path: String, key_path: String },
}

impl CaSource {
    /// Who signs in a plan's recipes.
    pub fn issuer(&self) -> Issuer {
        match self.clone() {
            CaSource::Remote {
                host,
                cert_path,
                key_path,
            } => Issuer::Remote {
                host,
                cert_path,
                key_path,
            },
            CaSource::Local {
                cert_path,
                key_path,
            } => Issuer::Local {
                cert_path,
                key_path,
            },
        }
    }
}

/// The recipe of a database host's new server certificate (its name and
/// address as SANs) and its id.
pub(crate) fn server_recipe(
    h: &HostFacts,
    days: u32,
    algo: KeyType,
    issuer: Issuer,
) -> (String, Recipe) {
    let id = id_of(&["server", &h.name]);
    let mut sans = vec![h.name.clone()];
    sans.extend(h.address.iter().filter(|a| **a != h.name).cloned());
    let recipe = Recipe::Leaf {
        id: id.clone(),
        usage: Usage::Server,
        common_name: h.name.clone(),
        sans,
        days,
        algo,
        issuer,
    };
    (id, recipe)
}

/// The recipe of an application user's new client certificate (the user
/// name as its common name) and its id.
fn client_recipe(user: &str, days: u32, algo: KeyType, issuer: Issuer) -> (String, Recipe) {
    let id = id_of(&["user", user]);
    let recipe = Recipe::Leaf {
        id: id.clone(),
        usage: Usage::Client,
        common_name: user.to_string(),
        sans: Vec::new(),
        days,
        algo,
        issuer,
    };
    (id, recipe)
}

/// What a rotation needs besides the facts.
pub struct RotateInput<'a> {
    pub environment: &'a str,
    /// Fresh facts of every host of the environment.
    pub hosts: &'a [HostFacts],
    /// Per database host: the action that makes its server load new key
    /// files (undone the same way after the old files are back).
    pub reload: &'a BTreeMap<String, Action>,
    pub ca: CaSource,
    pub days: u32,
    pub algo: KeyType,
}

/// Why a rotation cannot be planned.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RotateError {
    #[error("environment {0}: no db_master in the inventory")]
    NoMaster(String),
    #[error(
        "{host}: the server has no ssl-cert/ssl-key configured: run `sslaudit keygen --inventory` and fix SSL002 first"
    )]
    NoServerIdentity { host: String },
    #[error("{host}: {path} was not collected ({why}): rescan the host and plan again")]
    NotCollected {
        host: String,
        path: String,
        why: String,
    },
    #[error("{host}: no reload method known for the server")]
    NoReload { host: String },
}

/// One file the rotation replaces.
struct Replace {
    host: String,
    path: String,
    id: String,
    ext: &'static str,
    mode: u32,
    owner: Option<String>,
    group: Option<String>,
}

type Ownership = (u32, Option<String>, Option<String>);

/// The mode, owner and group a replaced file keeps.
fn meta(h: &HostFacts, path: &str) -> Result<Ownership, RotateError> {
    let missing = |why: &str| RotateError::NotCollected {
        host: h.name.clone(),
        path: path.to_string(),
        why: why.to_string(),
    };
    let m = h
        .files
        .get(path)
        .ok_or_else(|| missing("not in the host's facts"))?;
    let mode = m.mode.ok_or_else(|| missing("its mode is unknown"))?;
    Ok((mode, m.owner.clone(), m.group.clone()))
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A recipe id from free text: letters, digits, `-`, `_`, `.` only.
fn id_of(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| {
            p.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                        c
                    } else {
                        '_'
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The database hosts among `hosts`, the master first and then the
/// replicas by name (the seed's restart order); `None` without a master.
pub(crate) fn master_first<'a>(
    hosts: impl IntoIterator<Item = &'a HostFacts>,
) -> Option<Vec<&'a HostFacts>> {
    let mut dbs: Vec<&HostFacts> = hosts.into_iter().filter(|h| h.is_db()).collect();
    dbs.sort_by_key(|h| (!h.has_role(Role::DbMaster), h.name.clone()));
    dbs.first()
        .is_some_and(|h| h.has_role(Role::DbMaster))
        .then_some(dbs)
}

/// The leaf rotation plan of one environment.
pub fn leaf_rotation(
    input: &RotateInput<'_>,
    run_id: &str,
    created_at: &str,
) -> Result<Plan, RotateError> {
    let env = input.environment;
    let dbs = master_first(input.hosts).ok_or_else(|| RotateError::NoMaster(env.to_string()))?;
    let issuer = input.ca.issuer();
    let mut generate = Vec::new();
    let mut b = Steps::default();
    // Users whose keys the environment keeps, with the files per host.
    let mut user_files: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
    for h in input.hosts {
        for id in &h.identities {
            let user = match &id.kind {
                IdentityKind::Keygen { user } | IdentityKind::UserHome { user } => user,
                _ => continue,
            };
            if let (Some(cert), Some(key)) = (&id.cert, &id.key) {
                user_files.entry(user.clone()).or_default().push((
                    h.name.clone(),
                    cert.clone(),
                    key.clone(),
                ));
            }
        }
    }

    for h in &dbs {
        let server = h
            .identities
            .iter()
            .find(|i| i.kind == IdentityKind::Server)
            .and_then(|i| Some((i.cert.clone()?, i.key.clone()?)))
            .ok_or_else(|| RotateError::NoServerIdentity {
                host: h.name.clone(),
            })?;
        let (cert_path, key_path) = server;
        let reload = input
            .reload
            .get(&h.name)
            .cloned()
            .ok_or_else(|| RotateError::NoReload {
                host: h.name.clone(),
            })?;
        let (id, recipe) = server_recipe(h, input.days, input.algo, issuer.clone());
        generate.push(recipe);
        let (cmode, cowner, cgroup) = meta(h, &cert_path)?;
        let (kmode, kowner, kgroup) = meta(h, &key_path)?;
        b.backup(
            &h.name,
            &format!("{}/server/{run_id}", h.layout.old_keys_dir),
            &[&cert_path, &key_path],
        );
        let cert = Replace {
            host: h.name.clone(),
            path: cert_path.clone(),
            id: id.clone(),
            ext: "crt",
            mode: cmode,
            owner: cowner,
            group: cgroup,
        };
        let key = Replace {
            host: h.name.clone(),
            path: key_path.clone(),
            id: id.clone(),
            ext: "key",
            // Never looser than 0600, whatever the old key had.
            mode: kmode & 0o600,
            owner: kowner,
            group: kgroup,
        };
        b.write(&key, format!("new server key for {}", h.name));
        b.write(&cert, format!("new server certificate for {}", h.name));
        let order = if h.roles.contains(&Role::DbMaster) {
            " (the master before its replicas)"
        } else {
            ""
        };
        b.reload(&h.name, reload, format!("load the new key files{order}"));
        b.push(
            &h.name,
            Action::VerifyTls {
                cert: Content::Generated {
                    id: format!("{id}.crt"),
                },
            },
            "the server must present the new certificate before the next host".to_string(),
            None,
        );
    }

    let mut backed_up: BTreeSet<(String, String)> = BTreeSet::new();
    for (user, files) in &user_files {
        let (id, recipe) = client_recipe(user, input.days, input.algo, issuer.clone());
        generate.push(recipe);
        for (host, cert_path, key_path) in files {
            let Some(h) = input.hosts.iter().find(|h| h.name == *host) else {
                continue;
            };
            let (cmode, cowner, cgroup) = meta(h, cert_path)?;
            let (kmode, kowner, kgroup) = meta(h, key_path)?;
            // Database hosts keep the layout's old-keys copies (the seed's
            // /db/old_keys); elsewhere
            // the engine's backups beside the files are the old keys.
            if h.is_db() {
                let dir = format!("{}/user/{run_id}/{user}", h.layout.old_keys_dir);
                if backed_up.insert((host.clone(), dir.clone())) {
                    b.backup(host, &dir, &[cert_path, key_path]);
                }
            }
            b.write(
                &Replace {
                    host: host.clone(),
                    path: key_path.clone(),
                    id: id.clone(),
                    ext: "key",
                    mode: kmode & 0o600,
                    owner: kowner,
                    group: kgroup,
                },
                format!("new client key for {user}"),
            );
            b.write(
                &Replace {
                    host: host.clone(),
                    path: cert_path.clone(),
                    id: id.clone(),
                    ext: "crt",
                    mode: cmode,
                    owner: cowner,
                    group: cgroup,
                },
                format!("new client certificate for {user} (same CA: old ones stay valid until they expire)"),
            );
        }
    }
    Ok(Plan {
        run_id: run_id.to_string(),
        created_at: created_at.to_string(),
        title: format!("leaf key rotation of environment {env} (the CA is kept)"),
        generate,
        steps: b.steps,
    })
}

/// What a CA rotation needs besides the facts.
pub struct CaRotateInput<'a> {
    pub environment: &'a str,
    /// Fresh facts of every host of the environment.
    pub hosts: &'a [HostFacts],
    /// Per database host: the action that makes its server load its files.
    pub reload: &'a BTreeMap<String, Action>,
    /// The collected text of a file: the old CA certificates (kept in the
    /// bundles) and the certificates the servers present now.
    pub texts: &'a dyn Fn(&str, &str) -> Option<String>,
    /// Where the new CA's key goes on the db_master (default: `root.key`
    /// beside the server's `ssl-ca`).
    pub ca_key_path: Option<String>,
    pub common_name: String,
    pub ca_days: u32,
    pub days: u32,
    pub algo: KeyType,
}

/// A CA file of the environment: (host, path).
fn ca_files(hosts: &[&HostFacts]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for h in hosts {
        for id in &h.identities {
            if !matches!(
                id.kind,
                IdentityKind::Server | IdentityKind::Keygen { .. } | IdentityKind::UserHome { .. }
            ) {
                continue;
            }
            if let Some(ca) = &id.ca
                && h.file_exists(ca)
                && !out.iter().any(|(oh, op)| *oh == h.name && op == ca)
            {
                out.push((h.name.clone(), ca.clone()));
            }
        }
    }
    out
}

/// The staged CA rotation of one environment, without downtime:
///
/// 1. every CA file becomes a bundle of the old CA and the new one, and
///    the servers reload (still presenting their old certificates, now
///    trusting clients of either CA);
/// 2. per database host, master first: a new server key and certificate
///    from the new CA, reloaded and checked before the next host;
/// 3. every user's client keys from the new CA;
/// 4. the old CA leaves the bundles, the new CA's key takes the old one's
///    place on the db_master, and the servers reload once more.
///
/// Every stage is journaled like any run: resumable, and rolled back as
/// a whole (files restored newest first, then each server reloads).
pub fn ca_rotation(
    input: &CaRotateInput<'_>,
    run_id: &str,
    created_at: &str,
) -> Result<Plan, RotateError> {
    let env = input.environment;
    let dbs = master_first(input.hosts).ok_or_else(|| RotateError::NoMaster(env.to_string()))?;
    let master = dbs[0];
    let members: Vec<&HostFacts> = input.hosts.iter().collect();
    let text = |host: &str, path: &str| {
        (input.texts)(host, path).ok_or_else(|| RotateError::NotCollected {
            host: host.to_string(),
            path: path.to_string(),
            why: "its text was not collected".into(),
        })
    };
    let host_of = |name: &str| input.hosts.iter().find(|h| h.name == name);
    let new_ca = Issuer::Generated { id: "ca".into() };
    let mut generate = vec![Recipe::Ca {
        id: "ca".into(),
        common_name: input.common_name.clone(),
        days: input.ca_days,
        algo: input.algo,
    }];
    let mut b = Steps::default();
    let servers: Vec<(&HostFacts, String, String, String)> = dbs
        .iter()
        .map(|h| {
            h.identities
                .iter()
                .find(|i| i.kind == IdentityKind::Server)
                .and_then(|i| Some((*h, i.ca.clone()?, i.cert.clone()?, i.key.clone()?)))
                .ok_or_else(|| RotateError::NoServerIdentity {
                    host: h.name.clone(),
                })
        })
        .collect::<Result<_, _>>()?;
    let reload_of = |h: &HostFacts| {
        input
            .reload
            .get(&h.name)
            .cloned()
            .ok_or_else(|| RotateError::NoReload {
                host: h.name.clone(),
            })
    };
    let old_dir = |h: &HostFacts, kind: &str| format!("{}/{kind}/{run_id}", h.layout.old_keys_dir);

    // Stage 1: trust both CAs everywhere.
    let cas = ca_files(&members);
    let mut backed: BTreeSet<(String, String)> = BTreeSet::new();
    for (host, path) in &cas {
        let h = host_of(host).ok_or_else(|| RotateError::NoMaster(env.to_string()))?;
        let old = text(host, path)?;
        let (mode, owner, group) = meta(h, path)?;
        if h.is_db() {
            let dir = old_dir(h, "ca");
            if backed.insert((host.clone(), dir.clone())) {
                b.push(
                    host,
                    Action::MakeDir {
                        path: dir.clone(),
                        mode: 0o700,
                        owner: None,
                    },
                    "the old-keys folder of this run".into(),
                    None,
                );
            }
            let to = format!("{dir}/{}", path.trim_start_matches('/').replace('/', "_"));
            b.copy(host, path, &to);
        }
        b.push(
            host,
            Action::WriteFile {
                path: path.clone(),
                content: Content::Bundle {
                    parts: vec![
                        Content::Text(old),
                        Content::Generated {
                            id: "ca.crt".into(),
                        },
                    ],
                },
                mode,
                owner,
                group,
            },
            "stage 1: trust the old and the new CA side by side".into(),
            None,
        );
    }
    for (h, _, cert, _) in &servers {
        b.reload(&h.name, reload_of(h)?, "stage 1: load the CA bundle".into());
        b.push(
            &h.name,
            Action::VerifyTls {
                cert: Content::Text(text(&h.name, cert)?),
            },
            "stage 1: the server still presents its old certificate".into(),
            None,
        );
    }

    // Stage 2: new server certificates, one server at a time.
    for (h, _, cert, key) in &servers {
        let (id, recipe) = server_recipe(h, input.days, input.algo, new_ca.clone());
        generate.push(recipe);
        let dir = old_dir(h, "server");
        b.backup(&h.name, &dir, &[cert, key]);
        let (kmode, kowner, kgroup) = meta(h, key)?;
        let (cmode, cowner, cgroup) = meta(h, cert)?;
        b.write(
            &Replace {
                host: h.name.clone(),
                path: key.clone(),
                id: id.clone(),
                ext: "key",
                mode: kmode & 0o600,
                owner: kowner,
                group: kgroup,
            },
            format!("stage 2: new server key for {}", h.name),
        );
        b.write(
            &Replace {
                host: h.name.clone(),
                path: cert.clone(),
                id: id.clone(),
                ext: "crt",
                mode: cmode,
                owner: cowner,
                group: cgroup,
            },
            format!("stage 2: server certificate for {} from the new CA", h.name),
        );
        b.reload(
            &h.name,
            reload_of(h)?,
            "stage 2: load the new server keys".into(),
        );
        b.push(
            &h.name,
            Action::VerifyTls {
                cert: Content::Generated {
                    id: format!("{id}.crt"),
                },
            },
            "stage 2: the server presents its new certificate before the next host".into(),
            None,
        );
    }

    // Stage 3: new client keys.
    let mut users: BTreeMap<String, Vec<(&HostFacts, String, String)>> = BTreeMap::new();
    for h in &members {
        for id in &h.identities {
            let user = match &id.kind {
                IdentityKind::Keygen { user } | IdentityKind::UserHome { user } => user,
                _ => continue,
            };
            if let (Some(c), Some(k)) = (&id.cert, &id.key)
                && h.file_exists(c)
                && h.file_exists(k)
            {
                users
                    .entry(user.clone())
                    .or_default()
                    .push((h, c.clone(), k.clone()));
            }
        }
    }
    for (user, files) in &users {
        let (id, recipe) = client_recipe(user, input.days, input.algo, new_ca.clone());
        generate.push(recipe);
        for (h, cert, key) in files {
            if h.is_db() {
                b.backup(
                    &h.name,
                    &format!("{}/{user}", old_dir(h, "user")),
                    &[cert, key],
                );
            }
            let (kmode, kowner, kgroup) = meta(h, key)?;
            let (cmode, cowner, cgroup) = meta(h, cert)?;
            for (path, ext, mode, owner, group) in [
                (key, "key", kmode & 0o600, kowner, kgroup),
                (cert, "crt", cmode, cowner, cgroup),
            ] {
                b.write(
                    &Replace {
                        host: h.name.clone(),
                        path: path.clone(),
                        id: id.clone(),
                        ext,
                        mode,
                        owner,
                        group,
                    },
                    format!("stage 3: {user}'s client {ext} from the new CA"),
                );
            }
        }
    }

    // Stage 4: only the new CA; its key where the old one was.
    for (host, path) in &cas {
        let h = host_of(host).ok_or_else(|| RotateError::NoMaster(env.to_string()))?;
        let (mode, owner, group) = meta(h, path)?;
        b.push(
            host,
            Action::WriteFile {
                path: path.clone(),
                content: Content::Generated {
                    id: "ca.crt".into(),
                },
                mode,
                owner,
                group,
            },
            "stage 4: drop the old CA".into(),
            None,
        );
    }
    let master_ca = servers
        .first()
        .map(|(_, ca, _, _)| ca.clone())
        .unwrap_or_default();
    let key_path = input.ca_key_path.clone().unwrap_or_else(|| {
        let dir = master_ca.rsplit_once('/').map_or("", |(d, _)| d);
        format!("{dir}/root.key")
    });
    if master.file_exists(&key_path) {
        b.copy(
            &master.name,
            &key_path,
            &format!("{}/root.key", old_dir(master, "ca")),
        );
    }
    b.push(
        &master.name,
        Action::WriteFile {
            path: key_path,
            content: Content::Generated {
                id: "ca.key".into(),
            },
            mode: 0o600,
            owner: Some("root".into()),
            group: Some("root".into()),
        },
        "stage 4: the new CA's key stays on the db_master, root's alone".into(),
        None,
    );
    for (h, ..) in &servers {
        b.reload(
            &h.name,
            reload_of(h)?,
            "stage 4: trust only the new CA".into(),
        );
        b.push(
            &h.name,
            Action::VerifyTls {
                cert: Content::Generated {
                    id: format!("{}.crt", id_of(&["server", &h.name])),
                },
            },
            "stage 4: the server still presents its new certificate".into(),
            None,
        );
    }
    Ok(Plan {
        run_id: run_id.to_string(),
        created_at: created_at.to_string(),
        title: format!("staged CA rotation of environment {env} (no downtime)"),
        generate,
        steps: b.steps,
    })
}

#[derive(Default)]
struct Steps {
    steps: Vec<Step>,
}

impl Steps {
    fn add(
        &mut self,
        host: &str,
        action: Action,
        why: String,
        undo: Option<Action>,
        undo_last: bool,
    ) {
        self.steps.push(Step {
            undo,
            undo_last,
            ..Step::safe(self.steps.len() + 1, host, action, why)
        });
    }

    fn push(&mut self, host: &str, action: Action, why: String, undo: Option<Action>) {
        self.add(host, action, why, undo, false);
    }

    /// Makes the server load its key files; rollback does it again once
    /// the old files are back.
    fn reload(&mut self, host: &str, action: Action, why: String) {
        self.add(host, action.clone(), why, Some(action), true);
    }

    /// Copies `from` to `to` (a new file of this run's old-keys folder).
    fn copy(&mut self, host: &str, from: &str, to: &str) {
        self.push(
            host,
            Action::RunCommand {
                command: format!("cp -p -- {} {}", quote(from), quote(to)),
                expect_status: 0,
            },
            format!(
                "keep the current {} (Key Maintenance: old keys kept aside)",
                file_name(from)
            ),
            Some(Action::RunCommand {
                command: format!("rm -f -- {}", quote(to)),
                expect_status: 0,
            }),
        );
    }

    /// Copies `files` into `dir` (a new folder of this run).
    fn backup(&mut self, host: &str, dir: &str, files: &[&str]) {
        self.push(
            host,
            Action::MakeDir {
                path: dir.to_string(),
                mode: 0o700,
                owner: None,
            },
            "the old-keys backup folder (the seed's /db/old_keys), one per run".to_string(),
            None,
        );
        for f in files {
            self.copy(host, f, &format!("{dir}/{}", file_name(f)));
        }
    }

    fn write(&mut self, r: &Replace, why: String) {
        self.push(
            &r.host,
            Action::WriteFile {
                path: r.path.clone(),
                content: Content::Generated {
                    id: format!("{}.{}", r.id, r.ext),
                },
                mode: r.mode,
                owner: r.owner.clone(),
                group: r.group.clone(),
            },
            why,
            None,
        );
    }
}
