//! Inventory loading: sslaudit's YAML format and Ansible inventories (INI
//! and YAML), resolved per host, with errors that name file and line.
#![allow(clippy::unwrap_used)] // helpers of integration tests panic like the tests do

use std::path::{Path, PathBuf};
use std::time::Duration;

use sslaudit_rules::facts::{Access, Role};
use sslaudit_scanner::inventory::{
    self, HostDefaults, Inventory, InventoryError, InventoryFormat, InventoryHost, Via,
};
use sslaudit_scanner::shard::Shard;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn load(text: &str) -> Result<Inventory, InventoryError> {
    let dir = tempfile::tempdir().unwrap();
    inventory::load(&write(dir.path(), "fleet.yaml", text))
}

fn host<'a>(inv: &'a Inventory, name: &str) -> &'a InventoryHost {
    inv.hosts.iter().find(|h| h.name == name).unwrap()
}

fn home() -> PathBuf {
    PathBuf::from(std::env::var("HOME").unwrap())
}

/// The issue's example, plus overrides at every level.
const NATIVE: &str = r#"
defaults:                 # every key here can be overridden per host
  ssh:
    user: root
    port: 22
    identity_file: ~/.ssh/id_ed25519
    known_hosts: ~/.ssh/known_hosts
    sudo: false
    timeout: 10s
    jump: { address: bastion.example.com, user: ops, port: 22 }
  mysql:
    via: ssh
    port: 3306
    user: sslaudit
    password_env: SSLAUDIT_MYSQL_PASSWORD
    tls: { ca: tls/ca.pem, cert: tls/client.pem, key: tls/client.key }
  layout: engineyard
environments:
  production:
    ca_key: /srv/ca/production.key
    mysql: { restart_command: "/etc/init.d/mysql restart" }
    hosts:
      - { name: db-master, address: 10.0.0.10, roles: [db_master], aliases: [db.internal, 10.0.0.100], named_users: [svc] }
      - { name: db-replica-1, address: 10.0.0.11, roles: [db_replica], ssh: { port: 2222, timeout: 1m30s, jump: ~ } }
      - { name: app-1, address: 10.0.0.20, roles: [app], app_user: deploy, database_yml: /data/shop/current/config/database.yml }
  staging:
    layout: debian
    layout_overrides: { keygen_dir: /srv/keygen }
    ssh: { user: ops, sudo: true }
    mysql: { via: tcp, password_file: ~/.sslaudit/staging.pw }
    app: { restart_command: "systemctl restart puma" }
    hosts:
      - name: db
        address: 127.0.0.2
        roles: [db_master, app]
        mysql: { via: tunnel, port: 3307 }
        layout_overrides: { data_dirs: [/data/a, /data/b] }
"#;

#[test]
fn native_inventory_resolves_every_level() {
    let inv = load(NATIVE).unwrap();
    assert_eq!(inv.format, InventoryFormat::Native);
    let names: Vec<&str> = inv.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["db-master", "db-replica-1", "app-1", "db"]);

    let m = host(&inv, "db-master");
    assert_eq!(m.environment, "production");
    assert_eq!(m.roles, [Role::DbMaster]);
    assert_eq!(m.address, "10.0.0.10");
    assert_eq!(m.aliases, ["db.internal", "10.0.0.100"]);
    assert_eq!(m.named_users, ["svc"]);
    assert_eq!(
        m.host_meta().aliases,
        m.aliases,
        "aliases reach the evidence"
    );
    assert!(host(&inv, "app-1").aliases.is_empty());
    assert_eq!(m.ssh.user, "root");
    assert_eq!(m.ssh.identity_file, Some(home().join(".ssh/id_ed25519")));
    assert_eq!(m.ssh.known_hosts, home().join(".ssh/known_hosts"));
    assert_eq!(m.ssh.timeout, Duration::from_secs(10));
    let jump = m.ssh.jump.as_ref().unwrap();
    assert_eq!(
        (jump.address.as_str(), jump.user.as_str(), jump.port),
        ("bastion.example.com", "ops", 22)
    );
    // The jump host falls back to the host's key.
    assert_eq!(jump.identity_file, m.ssh.identity_file);
    assert_eq!(m.mysql.via, Via::Ssh);
    assert_eq!(
        m.mysql.password_env.as_deref(),
        Some("SSLAUDIT_MYSQL_PASSWORD")
    );
    assert_eq!(m.mysql.password_file, None);
    let tls = m.mysql.tls.as_ref().unwrap();
    // Relative paths are relative to the inventory file.
    assert!(tls.ca.as_ref().unwrap().is_absolute());
    assert!(tls.ca.as_ref().unwrap().ends_with("tls/ca.pem"));
    assert_eq!(
        m.mysql.restart_command.as_deref(),
        Some("/etc/init.d/mysql restart")
    );
    assert_eq!(m.ca_key, Some(PathBuf::from("/srv/ca/production.key")));
    assert_eq!(m.layout.name, "engineyard");
    assert!(m.origin.ends_with("fleet.yaml:23"), "{}", m.origin);

    let r = host(&inv, "db-replica-1");
    assert_eq!(r.ssh.port, 2222);
    assert_eq!(r.ssh.timeout, Duration::from_secs(90));
    assert_eq!(r.ssh.jump, None, "jump: ~ turns the default jump off");

    let a = host(&inv, "app-1");
    assert_eq!(a.app_user.as_deref(), Some("deploy"));
    assert_eq!(a.database_yml, ["/data/shop/current/config/database.yml"]);

    let s = host(&inv, "db");
    assert_eq!(s.environment, "staging");
    assert_eq!(s.roles, [Role::DbMaster, Role::App]);
    assert_eq!((s.ssh.user.as_str(), s.ssh.sudo), ("ops", true));
    assert_eq!((s.mysql.via, s.mysql.port), (Via::Tunnel, 3307));
    // password_file at the environment replaces the default password_env.
    assert_eq!(s.mysql.password_env, None);
    assert_eq!(
        s.mysql.password_file,
        Some(home().join(".sslaudit/staging.pw"))
    );
    assert_eq!(s.mysql.user.as_deref(), Some("sslaudit"));
    assert_eq!(s.layout.name, "debian");
    assert_eq!(s.layout.keygen_dir.as_deref(), Some("/srv/keygen"));
    assert_eq!(s.layout.data_dirs, ["/data/a", "/data/b"]);
    assert_eq!(
        s.app_restart_command.as_deref(),
        Some("systemctl restart puma")
    );
    assert_eq!(s.ca_key, None);

    let meta = s.host_meta();
    assert_eq!(meta.name, "db");
    assert_eq!(meta.environment, "staging");
    assert_eq!(meta.layout, "debian");
    assert_eq!(
        meta.layout_overrides.get("keygen_dir").unwrap(),
        "/srv/keygen"
    );
    assert_eq!(meta.address.as_deref(), Some("127.0.0.2"));
}

#[test]
fn builtin_defaults_apply_when_nothing_is_set() {
    let inv = load("environments:\n  p:\n    hosts:\n      - { name: h, roles: [app] }\n").unwrap();
    let h = &inv.hosts[0];
    assert_eq!(h.address, "h");
    assert_eq!(
        (h.ssh.user.as_str(), h.ssh.port, h.ssh.sudo),
        ("root", 22, false)
    );
    assert_eq!(h.ssh.identity_file, None);
    assert_eq!(h.ssh.timeout, Duration::from_secs(10));
    assert_eq!(
        (h.mysql.via, h.mysql.port, h.mysql.user.as_deref()),
        (Via::Ssh, 3306, None)
    );
    assert_eq!(h.layout.name, "engineyard");
}

fn parse_error(text: &str) -> (u32, String) {
    match load(text).unwrap_err() {
        InventoryError::Parse {
            path,
            line,
            message,
        } => {
            assert!(path.ends_with("fleet.yaml"), "{path}");
            (line, message)
        }
        other => panic!("expected a parse error, got {other}"),
    }
}

/// `ssh: none`: a database host audited from its MySQL port alone, at any
/// level, and undone by an `ssh:` mapping at a narrower one.
#[test]
fn ssh_none_audits_a_database_from_the_wire() {
    let inv = load(
        r#"
defaults:
  ssh: { user: ops }
  mysql: { via: tcp }
environments:
  managed:
    ssh: none
    hosts:
      - { name: orders-db, address: orders.cluster-abc.eu-west-1.rds.amazonaws.com, roles: [db_master] }
      - { name: self-run, address: 10.0.0.12, roles: [db_replica], ssh: { user: root } }
  production:
    hosts:
      - { name: db, address: 10.0.0.10, roles: [db_master], ssh: none, mysql: { port: 3307 } }
      - { name: app, address: 10.0.0.20, roles: [app] }
"#,
    )
    .unwrap();
    let wire = |n: &str| host(&inv, n).access;
    assert_eq!(wire("orders-db"), Access::Wire);
    assert_eq!(wire("self-run"), Access::Ssh);
    assert_eq!(host(&inv, "self-run").ssh.user, "root");
    assert_eq!(wire("db"), Access::Wire);
    assert_eq!(host(&inv, "db").mysql.port, 3307);
    assert_eq!(wire("app"), Access::Ssh);
    assert_eq!(host(&inv, "orders-db").host_meta().access, Access::Wire);
}

#[test]
fn ssh_none_needs_tcp_and_a_database() {
    let (line, msg) = parse_error(
        "environments:\n  p:\n    hosts:\n      - { name: db, roles: [db_master], ssh: none }\n",
    );
    assert_eq!(line, 4);
    assert!(
        msg.contains("via: tcp") && msg.contains("via: ssh"),
        "{msg}"
    );
    let (line, msg) = parse_error(
        "defaults:\n  mysql: { via: tcp }\nenvironments:\n  p:\n    hosts:\n      - { name: app, roles: [app], ssh: none }\n",
    );
    assert_eq!(line, 6);
    assert!(msg.contains("database hosts"), "{msg}");
    let (line, msg) = parse_error(
        "environments:\n  p:\n    hosts:\n      - { name: db, roles: [db_master], ssh: off }\n",
    );
    assert_eq!(line, 4);
    assert!(msg.contains("`none`") && msg.contains("`off`"), "{msg}");
}

#[test]
fn inline_secrets_are_refused_with_their_line() {
    let (line, msg) = parse_error(
        "defaults:\n  mysql:\n    user: x\n    password: hunter2\nenvironments:\n  p:\n    hosts: []\n",
    );
    assert_eq!(line, 4);
    assert!(msg.contains("password"), "{msg}");
    assert!(
        !msg.contains("hunter2"),
        "the secret must not be echoed: {msg}"
    );
    let (line, _) = parse_error(
        "environments:\n  p:\n    hosts:\n      - name: h\n        roles: [app]\n        mysql: { admin_password: x }\n",
    );
    assert_eq!(line, 6);
}

#[test]
fn mistakes_name_their_line() {
    let cases: &[(&str, u32, &str)] = &[
        (
            "environments:\n  p:\n    hosts:\n      - { name: h, roles: [dba] }\n",
            4,
            "unknown role",
        ),
        (
            "defaults:\n  ssh:\n    timeout: 10 seconds\nenvironments: {p: {hosts: []}}\n",
            3,
            "duration",
        ),
        (
            "defaults:\n  ssh:\n    identity_fle: x\nenvironments: {p: {hosts: []}}\n",
            3,
            "identity_fle",
        ),
        (
            "defaults:\n  layout: gentoo\nenvironments: {p: {hosts: []}}\n",
            2,
            "unknown layout",
        ),
        (
            "defaults:\n  layout_overrides:\n    keygen: /x\nenvironments: {p: {hosts: []}}\n",
            3,
            "keygen",
        ),
        (
            "defaults:\n  mysql:\n    via: udp\nenvironments: {p: {hosts: []}}\n",
            3,
            "udp",
        ),
        (
            "defaults:\n  ssh:\n    port: 70000\nenvironments: {p: {hosts: []}}\n",
            3,
            "port",
        ),
        (
            "environments:\n  p:\n    hosts:\n      - { name: h, roles: [app] }\n      - { name: h, roles: [app] }\n",
            5,
            "twice",
        ),
        (
            "environments:\n  p:\n    hosts:\n      - { name: h, roles: [app], database_yml: config/database.yml }\n",
            4,
            "absolute",
        ),
        (
            "environments:\n  p:\n    hosts:\n      - { name: h }\n",
            4,
            "no roles",
        ),
        (
            "environments:\n  p:\n    hosts:\n      - { name: a/b, roles: [app] }\n",
            4,
            "folder",
        ),
        (
            "environments:\n  p:\n    hosts:\n      - { name: h, roles: [app]\n",
            5,
            "",
        ),
        (
            "defaults:\n  mysql: { password_env: A, password_file: /f }\nenvironments: {p: {hosts: []}}\n",
            2,
            "not both",
        ),
        (
            "defaults:\n  mysql: { tls: { cert: /c } }\nenvironments: {p: {hosts: []}}\n",
            2,
            "key",
        ),
    ];
    for (text, want_line, want) in cases {
        let (line, msg) = parse_error(text);
        assert_eq!(line, *want_line, "{text}: {msg}");
        assert!(msg.contains(want), "{text}: {msg}");
    }
}

const ANSIBLE_INI: &str = r#"
# the fleet's existing Ansible inventory
[db_master]
db1 ansible_host=10.0.1.10 ansible_user=ops sslaudit_aliases=db1.internal,10.0.1.100 sslaudit_named_users=svc

[db_replica]
db[2:3] ansible_host=10.0.1.99
dbx.example.com:2200 sslaudit_ssh=none

[app]
app1 sslaudit_app_user=deploy sslaudit_database_yml=/data/shop/current/config/database.yml ansible_ssh_private_key_file=~/.ssh/app_key

[web]
web1

[env_production:children]
db_master
db_replica
app

[db_replica:vars]
sslaudit_environment=replicas
ansible_become=true

[all:vars]
ansible_ssh_common_args='-o ProxyJump=jump@bastion:2022'
sslaudit_ssh_timeout=5s
sslaudit_mysql_via=tcp
sslaudit_mysql_password_env=DB_PW
ansible_ssh_pass=never-read
"#;

#[test]
fn ansible_ini_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory::load(&write(dir.path(), "hosts", ANSIBLE_INI)).unwrap();
    assert_eq!(inv.format, InventoryFormat::AnsibleIni);
    let names: Vec<&str> = inv.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        names,
        ["db1", "db2", "db3", "dbx.example.com", "app1"],
        "web1 has no role"
    );
    let db1 = host(&inv, "db1");
    assert_eq!(
        (db1.environment.as_str(), db1.address.as_str()),
        ("production", "10.0.1.10")
    );
    assert_eq!(db1.ssh.user, "ops");
    assert_eq!(db1.aliases, ["db1.internal", "10.0.1.100"]);
    assert_eq!(db1.named_users, ["svc"]);
    assert_eq!(db1.ssh.timeout, Duration::from_secs(5));
    assert_eq!(db1.mysql.via, Via::Tcp);
    assert_eq!(db1.mysql.password_env.as_deref(), Some("DB_PW"));
    let j = db1.ssh.jump.as_ref().unwrap();
    assert_eq!(
        (j.address.as_str(), j.user.as_str(), j.port),
        ("bastion", "jump", 2022)
    );
    let db2 = host(&inv, "db2");
    // A group variable beats the env_ group.
    assert_eq!(db2.environment, "replicas");
    assert_eq!(db2.roles, [Role::DbReplica]);
    assert!(db2.ssh.sudo);
    assert_eq!(db2.address, "10.0.1.99");
    let x = host(&inv, "dbx.example.com");
    assert_eq!((x.address.as_str(), x.ssh.port), ("dbx.example.com", 2200));
    assert_eq!((x.access, db1.access), (Access::Wire, Access::Ssh));
    let app = host(&inv, "app1");
    assert_eq!(app.environment, "production");
    assert_eq!(app.app_user.as_deref(), Some("deploy"));
    assert_eq!(app.database_yml, ["/data/shop/current/config/database.yml"]);
    assert_eq!(app.ssh.identity_file, Some(home().join(".ssh/app_key")));
    assert!(!app.ssh.sudo);
}

const ANSIBLE_YAML: &str = r#"
all:
  vars:
    ansible_user: deploy
  children:
    env_staging:
      children:
        db_master:
          hosts:
            stg-db:
              ansible_host: 127.0.0.5
              ansible_port: 2201
        app:
          hosts:
            stg-app[1:2]:
          vars:
            sslaudit_database_yml:
              - /srv/a/config/database.yml
              - /srv/b/config/database.yml
    db_replica:
      hosts:
        lonely:
        orders.cluster-c1.eu-west-1.rds.amazonaws.com:
          sslaudit_ssh: none
          sslaudit_mysql_via: tcp
"#;

#[test]
fn ansible_yaml_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory::load(&write(dir.path(), "inventory.yml", ANSIBLE_YAML)).unwrap();
    assert_eq!(inv.format, InventoryFormat::AnsibleYaml);
    let names: Vec<&str> = inv.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "stg-db",
            "stg-app1",
            "stg-app2",
            "lonely",
            "orders.cluster-c1.eu-west-1.rds.amazonaws.com"
        ]
    );
    let db = host(&inv, "stg-db");
    assert_eq!(
        (
            db.environment.as_str(),
            db.address.as_str(),
            db.ssh.port,
            db.ssh.user.as_str()
        ),
        ("staging", "127.0.0.5", 2201, "deploy")
    );
    let app = host(&inv, "stg-app2");
    assert_eq!(app.roles, [Role::App]);
    assert_eq!(app.database_yml.len(), 2);
    assert_eq!(host(&inv, "lonely").environment, "default");
    let managed = host(&inv, "orders.cluster-c1.eu-west-1.rds.amazonaws.com");
    assert_eq!(
        (managed.access, managed.mysql.via),
        (Access::Wire, Via::Tcp)
    );
    assert_eq!(host(&inv, "lonely").access, Access::Ssh);
}

#[test]
fn ansible_mistakes_name_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, u32, &str)] = &[
        (
            "[db_master]\ndb1 sslaudit_mysql_password=x\n",
            2,
            "inline secret",
        ),
        (
            "[db_master]\ndb1 sslaudit_layuot=debian\n",
            2,
            "sslaudit_layuot",
        ),
        ("[db_master]\ndb1 ansible_port=abc\n", 2, "port"),
        (
            "[db_master]\ndb1 ansible_host=\"{{ lookup('x') }}\"\n",
            2,
            "Jinja",
        ),
        ("[db_master]\ndb1\n[db_master:weird]\n", 3, "section"),
        ("[db_master]\ndb1 novalue\n", 2, "key=value"),
        (
            "[env_a:children]\ndb_master\n[env_b:children]\ndb_master\n[db_master]\ndb1\n",
            6,
            "several environment",
        ),
        ("[web]\nw1\n", 1, "no host"),
    ];
    for (text, want_line, want) in cases {
        let p = write(dir.path(), "hosts.ini", text);
        match inventory::load(&p).unwrap_err() {
            InventoryError::Parse { line, message, .. } => {
                assert_eq!(line, *want_line, "{text}: {message}");
                assert!(message.contains(want), "{text}: {message}");
            }
            other => panic!("{text}: {other}"),
        }
    }
}

#[test]
fn adhoc_limit_and_shard() {
    let defaults = HostDefaults {
        timeout: Some(Duration::from_secs(3)),
        jump: Some("ops@127.0.0.9:2022".to_string()),
        ..HostDefaults::default()
    };
    let targets = [
        "root@127.0.0.2".to_string(),
        "deploy@127.0.0.3:2222".to_string(),
        "[::1]:22".to_string(),
    ];
    let inv = Inventory::adhoc(&targets, Role::DbReplica, &defaults).unwrap();
    let names: Vec<&str> = inv.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["127.0.0.2", "127.0.0.3:2222", "[::1]:22"]);
    let h = &inv.hosts[1];
    assert_eq!(
        (h.ssh.user.as_str(), h.ssh.port, h.address.as_str()),
        ("deploy", 2222, "127.0.0.3")
    );
    assert_eq!(h.environment, "adhoc");
    assert_eq!(h.roles, [Role::DbReplica]);
    assert_eq!(h.ssh.timeout, Duration::from_secs(3));
    assert_eq!(h.ssh.jump.as_ref().unwrap().port, 2022);
    assert!(Inventory::adhoc(&["a@".to_string()], Role::App, &defaults).is_err());
    assert!(Inventory::adhoc(&["x".to_string(), "x".to_string()], Role::App, &defaults).is_err());

    let inv = load(NATIVE).unwrap();
    let limited = inv.clone().limit(&["db*".to_string()]).unwrap();
    assert_eq!(limited.hosts.len(), 3);
    let limited = inv.clone().limit(&["staging".to_string()]).unwrap();
    assert_eq!(limited.hosts.len(), 1);
    let limited = inv
        .clone()
        .limit(&["production/app-*".to_string()])
        .unwrap();
    assert_eq!(limited.hosts[0].name, "app-1");
    assert!(inv.clone().limit(&["[".to_string()]).is_err());

    // Shards partition the hosts by whole environments, deterministically.
    let mut all: Vec<String> = Vec::new();
    for k in 1..=3 {
        let (part, _) = inv.clone().shard(Shard::parse(&format!("{k}/3")).unwrap());
        let (again, _) = inv.clone().shard(Shard { index: k, count: 3 });
        assert_eq!(part.hosts, again.hosts);
        for h in &part.hosts {
            let whole = inv
                .hosts
                .iter()
                .filter(|x| x.environment == h.environment)
                .count();
            let here = part
                .hosts
                .iter()
                .filter(|x| x.environment == h.environment)
                .count();
            assert_eq!(here, whole, "{} split", h.environment);
        }
        all.extend(part.hosts.iter().map(|h| h.label()));
    }
    all.sort();
    let mut want: Vec<String> = inv.hosts.iter().map(|h| h.label()).collect();
    want.sort();
    assert_eq!(all, want);
}

#[test]
fn unreadable_and_empty_files() {
    let err = inventory::load(Path::new("/nonexistent/fleet.yaml")).unwrap_err();
    assert!(
        err.to_string().starts_with("/nonexistent/fleet.yaml: "),
        "{err}"
    );
    let (line, msg) = parse_error("");
    assert_eq!(line, 1);
    assert!(msg.contains("empty"));
    let (_, msg) = parse_error("foo: bar\n");
    assert!(msg.contains("not an inventory"), "{msg}");
}
