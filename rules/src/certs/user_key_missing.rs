use std::collections::BTreeMap;

use crate::facts::{FileStatus, HostFacts, Role};
use crate::rule::Control;
use crate::{Context, Finding, Location, Rule, RuleMeta, Severity};

/// SSL013: a user's client keys are missing where the seed's key
/// distribution puts them.
pub struct UserKeyMissing;

static META: RuleMeta = RuleMeta::new(
    "SSL013",
    "user-key-missing",
    Severity::Medium,
    "a user's client certificate or key is missing where the key distribution puts it",
    HELP,
    &[
        "Keys for Named Users",
        "Overview",
        "Enforce SSL Connections",
    ],
)
.controls(&[
    Control::nist("IA-5(2)", "public key-based authentication: a named user lacks the client certificate or key it authenticates with (seed: Keys for Named Users)"),
    Control::nist("SC-12", "key management: the key distribution is incomplete"),
])
.from_host_files();

const HELP: &str = r#"## What it checks

Where the seed's stack distributes client keys:

- on the db_master, `/db/mysql/keygen/<user>/` must hold `mysql.crt` and
  `mysql.key` for the application user (the inventory's `app_user` of the
  environment's hosts) and for every named user: a MySQL account on the
  master whose user is also an OS user there (`/etc/passwd`) with a uid of
  1000 or more, or listed in the inventory's `named_users` ("Keys for Named
  Users"); system users (`root`, `mysql`, `daemon`, the layout's service
  user) never are. The usernames of database.yml files are not named
  users: a MySQL-only account has no OS user to hold keys, and an
  environment pointing at `localhost` is not the master's business
  (docs/verdicts.md, "Attribution");
- on an application host, the application user's `~/.mysql/` must hold
  `root.crt`, `mysql.crt` and `mysql.key`.

A file is missing when the collector recorded it as missing, or when it is
absent although the directory it belongs to (the keygen directory, the
user's home) was collected. A host whose files were not collected is not
judged.

## Why it matters

Without its key the user cannot connect once its account is set to
`REQUIRE X509`, and the database.yml settings `sslca`, `sslkey` and
`sslcert` point at nothing: the application fails to connect, or falls back
to an unverified connection.

## How to fix

On the db_master, as root, generate the keys and copy them to the user's
hosts:

```sh
sudo -i /engineyard/bin/db_user_ssl_keys.sh [expire_in_days]
/engineyard/bin/remote_key_copy.sh <username>
```

Add a MySQL user with a matching username first if it does not exist. For
the application user, click "Apply" on the environment dashboard to
redistribute the keys to `/home/deploy/.mysql/`.
"#;

/// OS users that never get client keys of their own.
const SYSTEM_USERS: &[&str] = &["root", "mysql", "daemon"];

/// Ordinary users start at this uid on Debian, Ubuntu and Amazon Linux.
const FIRST_REGULAR_UID: u32 = 1000;

impl Rule for UserKeyMissing {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        // A host whose files were not collected at all says nothing about
        // which ones are missing.
        if host.files.is_empty() {
            return;
        }
        let layout = &host.layout;
        if host.has_role(Role::DbMaster)
            && let Some(keygen) = layout.keygen_dir.as_deref()
        {
            let keygen = keygen.trim_end_matches('/');
            for (user, why) in master_users(cx, host) {
                for (what, name) in [
                    ("client certificate", &layout.client_cert),
                    ("client key", &layout.client_key),
                ] {
                    let path = format!("{keygen}/{user}/{name}");
                    if is_missing(host, &path, keygen) {
                        out.push(self.missing(host, &user, why, what, path, "on the db_master"));
                    }
                }
            }
        }
        if host.has_role(Role::App)
            && let Some(user) = host.app_user.as_deref()
        {
            let home = host
                .os_users
                .as_ref()
                .and_then(|u| u.get(user))
                .map(|u| u.home.clone())
                .unwrap_or_else(|| format!("/home/{user}"));
            let dir = layout.client_dir_for(&home);
            for (what, name) in [
                ("CA certificate", &layout.client_ca),
                ("client certificate", &layout.client_cert),
                ("client key", &layout.client_key),
            ] {
                let path = format!("{dir}/{name}");
                if is_missing(host, &path, home.trim_end_matches('/')) {
                    out.push(self.missing(
                        host,
                        user,
                        "application user",
                        what,
                        path,
                        "on the application host",
                    ));
                }
            }
        }
    }
}

impl UserKeyMissing {
    fn missing(
        &self,
        host: &HostFacts,
        user: &str,
        why: &str,
        what: &str,
        path: String,
        where_: &str,
    ) -> Finding {
        let message = format!("{what} {path} of {why} {user} is missing {where_}");
        self.finding(
            host,
            message,
            Location::file(path.clone(), None).with_object(format!("user-key:{user}:{path}")),
        )
        .evidence("user", user)
        .evidence("path", path)
    }
}

/// Users whose keys the master keeps, with why: the inventory's application
/// users of the environment, then MySQL accounts of the master with a
/// matching OS user that is a person (uid 1000 or more) or listed in the
/// inventory's `named_users`.
fn master_users(cx: &Context<'_>, host: &HostFacts) -> BTreeMap<String, &'static str> {
    let mut users: BTreeMap<String, &'static str> = cx
        .fleet
        .app_accounts(&host.environment)
        .into_iter()
        .filter(|(_, a)| !a.from_database_yml)
        .map(|(u, _)| (u, "application user"))
        .collect();
    let (Some(mysql), Some(os_users)) = (&host.mysql, &host.os_users) else {
        return users;
    };
    for account in mysql.accounts.iter().flatten() {
        if account.is_system() || account.is_role || users.contains_key(&account.user) {
            continue;
        }
        let Some(os) = os_users.get(&account.user) else {
            continue;
        };
        let system = SYSTEM_USERS.contains(&os.name.as_str())
            || os.name == host.layout.service_user
            || (os.uid < FIRST_REGULAR_UID && !host.named_users.contains(&os.name));
        if !system {
            users.insert(account.user.clone(), "named user");
        }
    }
    users
}

/// Known missing (the path, or a directory above it, was recorded missing),
/// or absent from the collected files although something under `anchor`
/// (the directory the collector walks for it) was collected.
fn is_missing(host: &HostFacts, path: &str, anchor: &str) -> bool {
    if let Some(meta) = host.file(path) {
        return meta.status == FileStatus::Missing;
    }
    let mut dir = path;
    while let Some((parent, _)) = dir.rsplit_once('/') {
        if parent.is_empty() {
            break;
        }
        if host
            .file(parent)
            .is_some_and(|m| m.status == FileStatus::Missing)
        {
            return true;
        }
        dir = parent;
    }
    let prefix = format!("{anchor}/");
    host.files
        .range(prefix.clone()..)
        .next()
        .is_some_and(|(p, _)| p.starts_with(&prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Account, MysqlFacts, Require};
    use crate::testkit::*;

    const KEYGEN: &str = "/db/mysql/keygen";

    fn account(user: &str) -> Account {
        Account {
            user: user.into(),
            host: "%".into(),
            require: Require::X509,
            is_role: false,
            locked: false,
        }
    }

    fn master() -> HostFacts {
        let mut h = host("db-master", "production", &[Role::DbMaster]);
        for u in ["mysql", "deploy"] {
            touch(&mut h, &format!("{KEYGEN}/{u}/mysql.crt"));
            touch(&mut h, &format!("{KEYGEN}/{u}/mysql.key"));
        }
        h
    }

    fn app() -> HostFacts {
        let mut h = host("app-1", "production", &[Role::App]);
        h.app_user = Some("deploy".into());
        for f in ["root.crt", "mysql.crt", "mysql.key"] {
            touch(&mut h, &format!("/home/deploy/.mysql/{f}"));
        }
        h
    }

    #[test]
    fn distributed_keys_are_fine() {
        assert!(run_at(&UserKeyMissing, vec![master(), app()], AS_OF).is_empty());
    }

    #[test]
    fn application_user_keys_missing_on_the_master() {
        let mut m = master();
        m.files.retain(|p, _| !p.contains("/deploy/"));
        let out = run_at(&UserKeyMissing, vec![m, app()], AS_OF);
        assert_eq!(out.len(), 2, "{out:#?}");
        assert_eq!(
            out[0].message,
            "client certificate /db/mysql/keygen/deploy/mysql.crt of application user deploy is \
             missing on the db_master"
        );
        assert_eq!(
            out[1].location.object.as_deref(),
            Some("user-key:deploy:/db/mysql/keygen/deploy/mysql.key")
        );
        assert_eq!(out[1].severity, Severity::Medium);
    }

    #[test]
    fn nothing_collected_is_not_judged() {
        let mut m = master();
        m.files.clear();
        assert!(run_at(&UserKeyMissing, vec![m, app()], AS_OF).is_empty());

        // Nothing under the keygen directory was collected either.
        let mut m = master();
        m.files.retain(|p, _| !p.starts_with(KEYGEN));
        touch(&mut m, "/etc/mysql/my.cnf");
        assert!(run_at(&UserKeyMissing, vec![m.clone(), app()], AS_OF).is_empty());

        // ... unless the collector says the user's directory is missing.
        missing(&mut m, &format!("{KEYGEN}/deploy"));
        assert_eq!(run_at(&UserKeyMissing, vec![m, app()], AS_OF).len(), 2);
    }

    #[test]
    fn named_users_with_matching_os_users() {
        let mut m = master();
        m.os_users = users(&[
            os_user("root", 0, "/root"),
            os_user("mysql", 112, "/var/lib/mysql"),
            os_user("backup", 998, "/var/backups"),
            os_user("alice", 1001, "/home/alice"),
            os_user("deploy", 1000, "/home/deploy"),
        ]);
        m.mysql = Some(MysqlFacts {
            accounts: Some(
                [
                    "root",
                    "mysql",
                    "backup",
                    "alice",
                    "bob",
                    "deploy",
                    "mysql.sys",
                ]
                .into_iter()
                .map(account)
                .collect(),
            ),
            ..MysqlFacts::default()
        });
        let out = run_at(&UserKeyMissing, vec![m, app()], AS_OF);
        assert_eq!(out.len(), 2, "{out:#?}");
        assert!(
            out.iter()
                .all(|f| f.message.contains("of named user alice"))
        );
    }

    /// Duties only on evidence: a database.yml username is not a named user
    /// (a MySQL-only account reusing deploy's keys, an environment on
    /// localhost), and an OS user below uid 1000 is one only when the
    /// inventory lists it.
    #[test]
    fn database_yml_users_are_not_named_users() {
        let mut m = master();
        m.os_users = users(&[
            os_user("deploy", 1000, "/home/deploy"),
            os_user("svc", 500, "/home/svc"),
        ]);
        m.mysql = Some(MysqlFacts {
            accounts: Some(["deploy", "reporting", "dev", "svc"].map(account).to_vec()),
            ..MysqlFacts::default()
        });
        let mut a = app();
        a.database_ymls.push(
            crate::parse::dbyml::parse_database_yml(
                "/data/shop/current/config/database.yml",
                "production:\n  adapter: mysql2\n  host: db-master\n  username: deploy\n\
                 reporting:\n  adapter: mysql2\n  host: db-master\n  username: reporting\n\
                 \x20 sslkey: /home/deploy/.mysql/mysql.key\n\
                 development:\n  adapter: mysql2\n  host: localhost\n  username: dev\n",
            )
            .unwrap(),
        );
        assert!(run_at(&UserKeyMissing, vec![m.clone(), a.clone()], AS_OF).is_empty());
        m.named_users = vec!["svc".into()];
        let out = run_at(&UserKeyMissing, vec![m, a], AS_OF);
        assert_eq!(out.len(), 2, "{out:#?}");
        assert!(out.iter().all(|f| f.message.contains("of named user svc")));
    }

    #[test]
    fn app_host_keys() {
        let mut a = app();
        a.files.remove("/home/deploy/.mysql/mysql.key");
        let out = run_at(&UserKeyMissing, vec![master(), a.clone()], AS_OF);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(
            out[0].message,
            "client key /home/deploy/.mysql/mysql.key of application user deploy is missing on the \
             application host"
        );

        // The home directory comes from /etc/passwd when collected.
        a.os_users = users(&[os_user("deploy", 1000, "/data/deploy")]);
        touch(&mut a, "/data/deploy/.mysql/root.crt");
        let out = run_at(&UserKeyMissing, vec![master(), a], AS_OF);
        let paths: Vec<_> = out
            .iter()
            .filter_map(|f| f.location.file.as_deref())
            .collect();
        assert_eq!(
            paths,
            [
                "/data/deploy/.mysql/mysql.crt",
                "/data/deploy/.mysql/mysql.key"
            ]
        );
    }

    #[test]
    fn without_a_keygen_dir_the_master_is_not_judged() {
        let mut m = master();
        m.files.clear();
        touch(&mut m, "/var/lib/mysql/ca.pem");
        m.layout = crate::layout::Layout::debian();
        assert!(run_at(&UserKeyMissing, vec![m, app()], AS_OF).is_empty());
    }
}
