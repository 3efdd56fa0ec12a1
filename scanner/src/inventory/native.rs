//! sslaudit's own inventory format (docs/inventory.md).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::rc::Rc;

use sslaudit_rules::facts::Access;
use sslaudit_rules::layout::Layout;

use super::yaml::{MapEntry, Node};
use super::{
    Ctx, Identity, Inventory, InventoryError, InventoryFormat, InventoryHost, JumpLayer, Layer,
    Secret, Set, TlsFiles, check_name, check_remote_path, is_inline_secret, jump_from_target,
    parse_bool, parse_duration, parse_port, parse_role, parse_via, resolve,
};

const TOP_KEYS: &[&str] = &["defaults", "environments"];
const SETTING_KEYS: &[&str] = &[
    "ssh",
    "mysql",
    "layout",
    "layout_overrides",
    "ca_key",
    "app",
    "app_user",
    "named_users",
    "database_yml",
];
const ENV_KEYS: &[&str] = &["hosts"];
const HOST_KEYS: &[&str] = &["name", "address", "aliases", "roles"];
const SSH_KEYS: &[&str] = &[
    "user",
    "port",
    "identity_file",
    "known_hosts",
    "sudo",
    "timeout",
    "jump",
];
const JUMP_KEYS: &[&str] = &["address", "user", "port", "identity_file"];
const MYSQL_KEYS: &[&str] = &[
    "via",
    "port",
    "user",
    "password_env",
    "password_file",
    "tls",
    "restart_command",
    "admin_user",
    "admin_password_env",
    "admin_password_file",
];
const TLS_KEYS: &[&str] = &["ca", "cert", "key"];
const APP_KEYS: &[&str] = &["restart_command"];

type Result<T> = std::result::Result<T, InventoryError>;

pub(super) fn load(root: &Node, ctx: &Ctx) -> Result<Inventory> {
    refuse_inline_secrets(root, ctx)?;
    let top = map_of(root, "the inventory", ctx)?;
    check_keys(top, &[TOP_KEYS], "top-level", ctx)?;
    let defaults = match find(top, "defaults") {
        Some(e) => {
            let m = map_of(&e.value, "defaults", ctx)?;
            check_keys(m, &[SETTING_KEYS], "defaults", ctx)?;
            settings(m, ctx)?
        }
        None => Layer::default(),
    };
    let Some(envs) = find(top, "environments") else {
        return Err(ctx.err(
            root.line(),
            "no `environments:` (each environment lists its hosts)".to_string(),
        ));
    };
    let envs = map_of(&envs.value, "environments", ctx)?;
    if envs.is_empty() {
        return Err(ctx.err(envs_line(root), "`environments:` is empty".to_string()));
    }
    let mut hosts: Vec<InventoryHost> = Vec::new();
    let mut seen: BTreeMap<(String, String), u32> = BTreeMap::new();
    for env in envs {
        check_name("environment", &env.key).map_err(|m| ctx.err(env.key_line, m))?;
        let m = map_of(&env.value, &format!("environment {}", env.key), ctx)?;
        check_keys(
            m,
            &[SETTING_KEYS, ENV_KEYS],
            &format!("environment {}", env.key),
            ctx,
        )?;
        let env_layer = settings(m, ctx)?;
        let Some(list) = find(m, "hosts") else {
            return Err(ctx.err(
                env.key_line,
                format!("environment {} has no `hosts:`", env.key),
            ));
        };
        let Node::Seq { items, .. } = &*list.value else {
            return Err(ctx.err(
                list.value.line(),
                format!(
                    "`hosts:` of environment {} is a {}, expected a list",
                    env.key,
                    list.value.kind()
                ),
            ));
        };
        for item in items {
            let hm = map_of(item, "a host", ctx)?;
            check_keys(hm, &[SETTING_KEYS, HOST_KEYS], "host", ctx)?;
            let (name, name_line) = match find(hm, "name") {
                Some(e) => (scalar(&e.value, "name", ctx)?, e.value.line()),
                None => {
                    return Err(ctx.err(item.line(), "host without a `name:`".to_string()));
                }
            };
            check_name("host", &name).map_err(|m| ctx.err(name_line, m))?;
            if let Some(first) = seen.insert((env.key.clone(), name.clone()), name_line) {
                return Err(ctx.err(
                    name_line,
                    format!(
                        "host {name} appears twice in environment {} (first at line {first})",
                        env.key
                    ),
                ));
            }
            let address = match find(hm, "address") {
                Some(e) => {
                    let a = scalar(&e.value, "address", ctx)?;
                    if a.is_empty() || a.chars().any(|c| c.is_whitespace() || c.is_control()) {
                        return Err(ctx.err(e.value.line(), format!("invalid address {a:?}")));
                    }
                    a
                }
                None => name.clone(),
            };
            let aliases = match find(hm, "aliases") {
                Some(e) => string_list(&e.value, "aliases", ctx)?,
                None => Vec::new(),
            };
            let roles = match find(hm, "roles") {
                Some(e) => roles(&e.value, ctx)?,
                None => BTreeSet::new(),
            };
            if roles.is_empty() {
                return Err(ctx.err(
                    item.line(),
                    format!("host {name} has no roles (db_master, db_replica, app)"),
                ));
            }
            let host_layer = settings(hm, ctx)?;
            let id = Identity {
                name,
                environment: env.key.clone(),
                roles,
                address,
                aliases,
                origin: ctx.origin(item.line()),
                declared_at: ctx.declared_at(item.line()),
            };
            let host = resolve(id, &[&host_layer, &env_layer, &defaults])
                .map_err(|m| ctx.err(item.line(), m))?;
            hosts.push(host);
        }
    }
    Ok(Inventory {
        hosts,
        format: InventoryFormat::Native,
    })
}

/// The line of `environments:` (for messages about it being empty).
fn envs_line(root: &Node) -> u32 {
    root.entries()
        .and_then(|es| es.iter().find(|e| e.key == "environments"))
        .map_or(1, |e| e.key_line)
}

/// The settings of `defaults:`, `defaults:` of an Ansible-free `--host` run,
/// as the defaults of sslaudit's format.
pub(super) fn settings(m: &[MapEntry], ctx: &Ctx) -> Result<Layer> {
    let mut l = Layer::default();
    for e in m {
        let v = &e.value;
        match e.key.as_str() {
            "ssh" => ssh(&mut l, v, ctx)?,
            "mysql" => mysql(&mut l, v, ctx)?,
            "layout" => {
                l.layout = nullable(v, |v| {
                    let name = scalar(v, "layout", ctx)?;
                    Layout::named(&name).map_err(|e| ctx.err(v.line(), e.to_string()))?;
                    Ok(name)
                })?;
            }
            "layout_overrides" => {
                if v.is_null() {
                    continue;
                }
                for o in map_of(v, "layout_overrides", ctx)? {
                    let value = if o.value.is_null() {
                        None
                    } else if let Node::Seq { items, .. } = &*o.value {
                        let parts = items
                            .iter()
                            .map(|i| scalar(i, &o.key, ctx))
                            .collect::<Result<Vec<_>>>()?;
                        Some(parts.join(","))
                    } else {
                        Some(scalar(&o.value, &o.key, ctx)?)
                    };
                    let probe =
                        BTreeMap::from([(o.key.clone(), value.clone().unwrap_or_default())]);
                    Layout::with_overrides("engineyard", &probe)
                        .map_err(|e| ctx.err(o.key_line, e.to_string()))?;
                    l.layout_overrides.insert(o.key.clone(), value);
                }
            }
            "ca_key" => l.ca_key = nullable(v, |v| local_path(v, "ca_key", ctx))?,
            "app" => {
                if v.is_null() {
                    continue;
                }
                let am = map_of(v, "app", ctx)?;
                check_keys(am, &[APP_KEYS], "app", ctx)?;
                if let Some(r) = find(am, "restart_command") {
                    l.app_restart_command =
                        nullable(&r.value, |v| scalar(v, "app.restart_command", ctx))?;
                }
            }
            "app_user" => l.app_user = nullable(v, |v| scalar(v, "app_user", ctx))?,
            "named_users" => l.named_users = nullable(v, |v| string_list(v, "named_users", ctx))?,
            "database_yml" => {
                l.database_yml = nullable(v, |v| {
                    let paths = string_list(v, "database_yml", ctx)?;
                    for p in &paths {
                        check_remote_path("database_yml", p).map_err(|m| ctx.err(v.line(), m))?;
                    }
                    Ok(paths)
                })?;
            }
            // Host and environment keys are read by the caller.
            _ => {}
        }
    }
    Ok(l)
}

fn ssh(l: &mut Layer, v: &Node, ctx: &Ctx) -> Result<()> {
    if v.is_null() {
        return Ok(());
    }
    if let Some(s) = v.scalar() {
        if s == "none" {
            l.access = Some(Some(Access::Wire));
            return Ok(());
        }
        return Err(ctx.err(
            v.line(),
            format!("ssh: expected a mapping or `none`, found `{s}`"),
        ));
    }
    l.access = Some(Some(Access::Ssh));
    let m = map_of(v, "ssh", ctx)?;
    check_keys(m, &[SSH_KEYS], "ssh", ctx)?;
    for e in m {
        let v = &e.value;
        match e.key.as_str() {
            "user" => l.ssh_user = nullable(v, |v| scalar(v, "ssh.user", ctx))?,
            "port" => l.ssh_port = nullable(v, |v| port(v, ctx))?,
            "identity_file" => {
                l.identity_file = nullable(v, |v| local_path(v, "ssh.identity_file", ctx))?;
            }
            "known_hosts" => {
                l.known_hosts = nullable(v, |v| local_path(v, "ssh.known_hosts", ctx))?;
            }
            "sudo" => l.sudo = nullable(v, |v| boolean(v, ctx))?,
            "timeout" => {
                l.timeout = nullable(v, |v| {
                    parse_duration(&scalar(v, "ssh.timeout", ctx)?)
                        .map_err(|m| ctx.err(v.line(), m))
                })?;
            }
            "jump" => l.jump = nullable(v, |v| jump(v, ctx))?,
            _ => {}
        }
    }
    Ok(())
}

fn jump(v: &Node, ctx: &Ctx) -> Result<JumpLayer> {
    if let Some(s) = v.scalar() {
        return jump_from_target(s).map_err(|m| ctx.err(v.line(), m));
    }
    let m = map_of(v, "ssh.jump", ctx)?;
    check_keys(m, &[JUMP_KEYS], "ssh.jump", ctx)?;
    let Some(address) = find(m, "address") else {
        return Err(ctx.err(v.line(), "ssh.jump needs an `address:`".to_string()));
    };
    let mut j = JumpLayer {
        address: scalar(&address.value, "ssh.jump.address", ctx)?,
        user: None,
        port: None,
        identity_file: None,
    };
    for e in m {
        match e.key.as_str() {
            "user" => j.user = nullable(&e.value, |v| scalar(v, "ssh.jump.user", ctx))?.flatten(),
            "port" => j.port = nullable(&e.value, |v| port(v, ctx))?.flatten(),
            "identity_file" => {
                j.identity_file =
                    nullable(&e.value, |v| local_path(v, "ssh.jump.identity_file", ctx))?.flatten();
            }
            _ => {}
        }
    }
    Ok(j)
}

fn mysql(l: &mut Layer, v: &Node, ctx: &Ctx) -> Result<()> {
    if v.is_null() {
        return Ok(());
    }
    let m = map_of(v, "mysql", ctx)?;
    check_keys(m, &[MYSQL_KEYS], "mysql", ctx)?;
    l.password = secret(m, "password_env", "password_file", ctx)?;
    l.admin_password = secret(m, "admin_password_env", "admin_password_file", ctx)?;
    for e in m {
        let v = &e.value;
        match e.key.as_str() {
            "via" => {
                l.via = nullable(v, |v| {
                    parse_via(&scalar(v, "mysql.via", ctx)?).map_err(|m| ctx.err(v.line(), m))
                })?;
            }
            "port" => l.mysql_port = nullable(v, |v| port(v, ctx))?,
            "user" => l.mysql_user = nullable(v, |v| scalar(v, "mysql.user", ctx))?,
            "tls" => l.tls = nullable(v, |v| tls(v, ctx))?,
            "restart_command" => {
                l.mysql_restart_command = nullable(v, |v| scalar(v, "mysql.restart_command", ctx))?;
            }
            "admin_user" => l.admin_user = nullable(v, |v| scalar(v, "mysql.admin_user", ctx))?,
            _ => {}
        }
    }
    Ok(())
}

/// `password_env` and `password_file` name one secret: setting either at a
/// level replaces both of a wider level; setting both at once is an error.
fn secret(m: &[MapEntry], env_key: &str, file_key: &str, ctx: &Ctx) -> Result<Set<Secret>> {
    let env = find(m, env_key);
    let file = find(m, file_key);
    if let (Some(_), Some(f)) = (env, file) {
        if !env.is_some_and(|e| e.value.is_null()) && !f.value.is_null() {
            return Err(ctx.err(
                f.key_line,
                format!("set mysql.{env_key} or mysql.{file_key}, not both"),
            ));
        }
    }
    if let Some(e) = env.filter(|e| !e.value.is_null()) {
        let name = scalar(&e.value, env_key, ctx)?;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(ctx.err(
                e.value.line(),
                format!("mysql.{env_key} `{name}` is not an environment variable name"),
            ));
        }
        return Ok(Some(Some(Secret::Env(name))));
    }
    if let Some(f) = file.filter(|f| !f.value.is_null()) {
        return Ok(Some(Some(Secret::File(local_path(
            &f.value, file_key, ctx,
        )?))));
    }
    if env.is_some() || file.is_some() {
        return Ok(Some(None));
    }
    Ok(None)
}

fn tls(v: &Node, ctx: &Ctx) -> Result<TlsFiles> {
    let m = map_of(v, "mysql.tls", ctx)?;
    check_keys(m, &[TLS_KEYS], "mysql.tls", ctx)?;
    let get = |k: &str| -> Result<Option<PathBuf>> {
        match find(m, k) {
            Some(e) if !e.value.is_null() => {
                Ok(Some(local_path(&e.value, &format!("mysql.tls.{k}"), ctx)?))
            }
            _ => Ok(None),
        }
    };
    let t = TlsFiles {
        ca: get("ca")?,
        cert: get("cert")?,
        key: get("key")?,
    };
    if t.cert.is_some() != t.key.is_some() {
        return Err(ctx.err(
            v.line(),
            "mysql.tls needs both `cert:` and `key:` (or neither)".to_string(),
        ));
    }
    Ok(t)
}

fn roles(v: &Node, ctx: &Ctx) -> Result<BTreeSet<sslaudit_rules::facts::Role>> {
    let mut out = BTreeSet::new();
    let items: Vec<Rc<Node>> = match v {
        Node::Seq { items, .. } => items.clone(),
        Node::Scalar { .. } => vec![Rc::new(Node::Scalar {
            text: scalar(v, "roles", ctx)?,
            plain: false,
            line: v.line(),
        })],
        Node::Map { .. } => {
            return Err(ctx.err(
                v.line(),
                "`roles:` is a mapping, expected a list".to_string(),
            ));
        }
    };
    for i in items {
        let r = scalar(&i, "role", ctx)?;
        out.insert(parse_role(&r).map_err(|m| ctx.err(i.line(), m))?);
    }
    Ok(out)
}

// --- helpers ---------------------------------------------------------------

/// Secrets are never read from the inventory: any key that holds one is an
/// error, wherever it is (checked before anything else, so that the error is
/// about the secret, not about an unknown key).
fn refuse_inline_secrets(node: &Node, ctx: &Ctx) -> Result<()> {
    match node {
        Node::Scalar { .. } => Ok(()),
        Node::Seq { items, .. } => items.iter().try_for_each(|i| refuse_inline_secrets(i, ctx)),
        Node::Map { entries, .. } => {
            for e in entries {
                if is_inline_secret(&e.key) {
                    return Err(ctx.err(
                        e.key_line,
                        format!(
                            "inline secret `{}:` is not allowed: secrets come from the \
                             environment (password_env) or a file (password_file), never \
                             from the inventory",
                            e.key
                        ),
                    ));
                }
                refuse_inline_secrets(&e.value, ctx)?;
            }
            Ok(())
        }
    }
}

fn find<'a>(m: &'a [MapEntry], key: &str) -> Option<&'a MapEntry> {
    m.iter().find(|e| e.key == key)
}

fn map_of<'a>(v: &'a Node, what: &str, ctx: &Ctx) -> Result<&'a [MapEntry]> {
    v.entries().ok_or_else(|| {
        ctx.err(
            v.line(),
            format!("{what} is a {}, expected a mapping", v.kind()),
        )
    })
}

fn check_keys(m: &[MapEntry], allowed: &[&[&str]], what: &str, ctx: &Ctx) -> Result<()> {
    for e in m {
        if !allowed.iter().any(|set| set.contains(&e.key.as_str())) {
            let mut keys: Vec<&str> = allowed.iter().flat_map(|s| s.iter().copied()).collect();
            keys.sort_unstable();
            return Err(ctx.err(
                e.key_line,
                format!(
                    "unknown {what} key `{}` (expected one of: {})",
                    e.key,
                    keys.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn scalar(v: &Node, what: &str, ctx: &Ctx) -> Result<String> {
    match v {
        Node::Scalar { text, .. } if !v.is_null() => Ok(text.clone()),
        _ => Err(ctx.err(
            v.line(),
            format!("`{what}` is a {}, expected a value", v.kind()),
        )),
    }
}

fn string_list(v: &Node, what: &str, ctx: &Ctx) -> Result<Vec<String>> {
    match v {
        Node::Seq { items, .. } => items.iter().map(|i| scalar(i, what, ctx)).collect(),
        _ => Ok(vec![scalar(v, what, ctx)?]),
    }
}

fn port(v: &Node, ctx: &Ctx) -> Result<u16> {
    parse_port(&scalar(v, "port", ctx)?).map_err(|m| ctx.err(v.line(), m))
}

fn boolean(v: &Node, ctx: &Ctx) -> Result<bool> {
    parse_bool(&scalar(v, "sudo", ctx)?).map_err(|m| ctx.err(v.line(), m))
}

fn local_path(v: &Node, what: &str, ctx: &Ctx) -> Result<PathBuf> {
    let raw = scalar(v, what, ctx)?;
    if raw.is_empty() {
        return Err(ctx.err(v.line(), format!("`{what}` is empty")));
    }
    ctx.local_path(&raw, v.line())
}

/// A null value resets the key to its built-in default.
fn nullable<T>(v: &Node, f: impl FnOnce(&Node) -> Result<T>) -> Result<Set<T>> {
    if v.is_null() {
        Ok(Some(None))
    } else {
        Ok(Some(Some(f(v)?)))
    }
}
