use crate::facts::{HostFacts, IdentityKind};
use crate::rule::Control;
use crate::{Context, Finding, Location, Rule, RuleMeta, Severity};

/// SSL014: a private key is readable beyond its owner, or owned by the wrong user.
pub struct PrivateKeyPermissions;

static META: RuleMeta = RuleMeta::new(
    "SSL014",
    "private-key-permissions",
    Severity::High,
    "a private key is readable by group or others, or not owned by its user",
    HELP,
    &[
        "Keys for Named Users",
        "Key Maintenance",
        "MySQL Reference Manual: Creating SSL and RSA Certificates and Keys using openssl",
    ],
)
.controls(&[
    Control::nist(
        "IA-5(2)",
        "requires authorized access to the corresponding private key to be enforced",
    ),
    Control::nist(
        "SC-12",
        "key management: private keys must be protected from other users",
    ),
])
.from_host_files();

const HELP: &str = r#"## What it checks

Every private key the scan found (the server's `ssl-key`, the per-user keys
under `/db/mysql/keygen/<user>/`, the copies in `~<user>/.mysql/`, keys named
in database.yml, old keys under `/db/old_keys/`):

- its mode must give nothing to group or others (`0600` or `0400`);
- the server's key must be owned by the service user (`mysql`), or by `root`
  with group `mysql` and mode `0640` at most: that is the one case where the
  group may read, because mysqld reads the key through its group;
- keys under the keygen directory must be owned by `root` or the service
  user, and keys in `~<user>/.mysql/` by that user.

## Why it matters

Anyone who can read a private key can impersonate its owner: a readable
server key lets a local user decrypt or intercept database traffic, and a
readable client key lets them log in as the application user even when the
account requires X509. A server key mysqld cannot read leaves SSL disabled.

## How to fix

```sh
chown mysql:mysql /db/mysql/5.6/data/server.key
chmod 600 /db/mysql/5.6/data/server.key
chown -R deploy:deploy /home/deploy/.mysql && chmod 600 /home/deploy/.mysql/mysql.key
chmod 600 /db/mysql/keygen/*/mysql.key
```

Restart MySQL (`/etc/init.d/mysql restart`) after changing the server key's
owner. A key that was readable by others should be treated as leaked:
regenerate it with the Key Maintenance steps.
"#;

/// Who must own a key, by where it is.
enum Owner<'a> {
    /// The server's own key: the service user, or root with the service
    /// user's group.
    Server,
    /// `<keygen_dir>/<user>/`: root (which generates them) or the service user.
    Keygen,
    /// `~user/.mysql/`: that user.
    User(&'a str),
    /// Anywhere else: only the mode is judged.
    Unknown,
}

impl Rule for PrivateKeyPermissions {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, _cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        let service = host.layout.service_user.as_str();
        for path in host.private_keys.keys() {
            let Some(meta) = host.file(path) else {
                continue;
            };
            let owner = meta.owner.as_deref();
            let group = meta.group.as_deref();
            let expect = expected_owner(host, path);
            let root_with_service_group =
                matches!(expect, Owner::Server) && owner == Some("root") && group == Some(service);
            let mut problems = Vec::new();
            if let Some(mode) = meta.mode {
                // Group read is the one allowance, for root:<service> server keys.
                let allowed = if root_with_service_group { 0o040 } else { 0 };
                if mode & 0o077 & !allowed != 0 {
                    problems.push(format!("is mode {mode:04o} ({})", access(mode & !allowed)));
                }
            }
            if let Some(owner) = owner {
                let expected = match expect {
                    Owner::Server if owner == service || root_with_service_group => None,
                    Owner::Server => Some(format!("{service}, or root with group {service}")),
                    Owner::Keygen if owner == "root" || owner == service => None,
                    Owner::Keygen => Some(format!("root or {service}")),
                    Owner::User(u) if owner == u => None,
                    Owner::User(u) => Some(u.to_string()),
                    Owner::Unknown => None,
                };
                if let Some(expected) = expected {
                    problems.push(format!(
                        "is owned by {owner}:{} (expected {expected})",
                        group.unwrap_or("?")
                    ));
                }
            }
            if problems.is_empty() {
                continue;
            }
            let message = format!("private key {path} {}", problems.join(" and "));
            let mut f = self.finding(
                host,
                message,
                Location::file(path.clone(), None).with_object(crate::Subject::key(path)),
            );
            if let Some(mode) = meta.mode {
                f = f.evidence("mode", format!("{mode:04o}"));
            }
            if let Some(o) = owner {
                f = f.evidence("owner", o);
            }
            if let Some(g) = group {
                f = f.evidence("group", g);
            }
            out.push(f);
        }
    }
}

fn expected_owner<'a>(host: &'a HostFacts, path: &str) -> Owner<'a> {
    if host
        .server_identity()
        .is_some_and(|id| id.key.as_deref() == Some(path))
    {
        return Owner::Server;
    }
    if let Some(keygen) = host.layout.keygen_dir.as_deref()
        && path.starts_with(&format!("{}/", keygen.trim_end_matches('/')))
    {
        return Owner::Keygen;
    }
    for id in &host.identities {
        if let IdentityKind::UserHome { user } = &id.kind
            && id.key.as_deref() == Some(path)
        {
            return Owner::User(user);
        }
    }
    if let Some(users) = &host.os_users {
        for u in users.values() {
            let dir = host.layout.client_dir_for(&u.home);
            if path.starts_with(&format!("{dir}/")) {
                return Owner::User(&u.name);
            }
        }
    }
    Owner::Unknown
}

/// `readable by group and others`, `writable by group`, ... for the group
/// and other bits of `mode`.
fn access(mode: u32) -> String {
    let classes = |bit_group: u32, bit_other: u32| {
        let mut who = Vec::new();
        if mode & bit_group != 0 {
            who.push("group");
        }
        if mode & bit_other != 0 {
            who.push("others");
        }
        who.join(" and ")
    };
    let mut parts = Vec::new();
    for (verb, g, o) in [
        ("readable", 0o040, 0o004),
        ("writable", 0o020, 0o002),
        ("executable", 0o010, 0o001),
    ] {
        let who = classes(g, o);
        if !who.is_empty() {
            parts.push(format!("{verb} by {who}"));
        }
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const DIR: &str = "/db/mysql/5.6/data";

    fn with_key(path: &str, mode: u32, owner: &str, group: &str) -> HostFacts {
        let mut h = host("db-master", "production", &[]);
        h.identities.push(server_identity(DIR));
        h.private_keys.insert(path.into(), rsa_key("aa", 2048));
        h.files
            .insert(path.into(), file_meta(path, mode, owner, group));
        h
    }

    fn check(path: &str, mode: u32, owner: &str, group: &str) -> Vec<String> {
        run_at(
            &PrivateKeyPermissions,
            vec![with_key(path, mode, owner, group)],
            AS_OF,
        )
        .into_iter()
        .map(|f| f.message)
        .collect()
    }

    #[test]
    fn server_key_modes_and_owners() {
        let key = "/db/mysql/5.6/data/server.key";
        assert!(check(key, 0o600, "mysql", "mysql").is_empty());
        assert!(check(key, 0o400, "mysql", "root").is_empty());
        assert!(check(key, 0o640, "root", "mysql").is_empty());
        assert!(check(key, 0o600, "root", "mysql").is_empty());
        assert_eq!(
            check(key, 0o644, "mysql", "mysql"),
            [
                "private key /db/mysql/5.6/data/server.key is mode 0644 (readable by group and others)"
            ]
        );
        assert_eq!(
            check(key, 0o644, "root", "mysql"),
            ["private key /db/mysql/5.6/data/server.key is mode 0644 (readable by others)"]
        );
        assert_eq!(
            check(key, 0o660, "root", "mysql"),
            ["private key /db/mysql/5.6/data/server.key is mode 0660 (writable by group)"]
        );
        assert_eq!(
            check(key, 0o640, "root", "root"),
            [
                "private key /db/mysql/5.6/data/server.key is mode 0640 (readable by group) and is \
                 owned by root:root (expected mysql, or root with group mysql)"
            ]
        );
        assert_eq!(
            check(key, 0o600, "deploy", "deploy"),
            [
                "private key /db/mysql/5.6/data/server.key is owned by deploy:deploy (expected \
                 mysql, or root with group mysql)"
            ]
        );
    }

    #[test]
    fn keygen_and_home_keys() {
        let kg = "/db/mysql/keygen/deploy/mysql.key";
        assert!(check(kg, 0o600, "root", "root").is_empty());
        assert!(check(kg, 0o600, "mysql", "mysql").is_empty());
        assert_eq!(
            check(kg, 0o600, "deploy", "deploy"),
            [
                "private key /db/mysql/keygen/deploy/mysql.key is owned by deploy:deploy (expected root or mysql)"
            ]
        );
        // root:mysql 0640 is only allowed for the server's key.
        assert_eq!(
            check(kg, 0o640, "root", "mysql"),
            ["private key /db/mysql/keygen/deploy/mysql.key is mode 0640 (readable by group)"]
        );

        let home = "/home/deploy/.mysql/mysql.key";
        let mut h = with_key(home, 0o600, "root", "root");
        h.os_users = users(&[os_user("deploy", 1000, "/home/deploy")]);
        let out = run_at(&PrivateKeyPermissions, vec![h.clone()], AS_OF);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].message,
            "private key /home/deploy/.mysql/mysql.key is owned by root:root (expected deploy)"
        );
        assert_eq!(
            out[0].location.object.as_deref(),
            Some("key:/home/deploy/.mysql/mysql.key")
        );
        assert_eq!(out[0].evidence["mode"], "0600");
        h.files.get_mut(home).unwrap().owner = Some("deploy".into());
        assert!(run_at(&PrivateKeyPermissions, vec![h], AS_OF).is_empty());
    }

    #[test]
    fn other_keys_are_judged_by_mode_only() {
        let old = "/db/old_keys/server/server.key";
        assert!(check(old, 0o600, "deploy", "deploy").is_empty());
        assert_eq!(
            check(old, 0o607, "root", "root"),
            [
                "private key /db/old_keys/server/server.key is mode 0607 (readable by others, writable by others, executable by others)"
            ]
        );
    }

    #[test]
    fn unknown_metadata_is_not_judged() {
        let mut h = with_key("/etc/mysql/x.key", 0o644, "root", "root");
        h.files.clear();
        assert!(run_at(&PrivateKeyPermissions, vec![h.clone()], AS_OF).is_empty());
        let mut meta = file_meta("/db/mysql/5.6/data/server.key", 0, "x", "x");
        meta.mode = None;
        meta.owner = None;
        h.files.insert(meta.path.clone(), meta);
        h.private_keys
            .insert("/db/mysql/5.6/data/server.key".into(), rsa_key("aa", 2048));
        assert!(run_at(&PrivateKeyPermissions, vec![h], AS_OF).is_empty());
    }
}
