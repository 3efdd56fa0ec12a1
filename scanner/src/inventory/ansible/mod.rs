//! Ansible inventories (INI and YAML): the groups `db_master`,
//! `db_replica` and `app` give the roles; hosts in none of them are not
//! scanned. Variables are resolved the way Ansible does: `all`, then groups
//! by depth (parents before children, then by name), then the host's own.

use std::collections::{BTreeMap, BTreeSet};

use sslaudit_rules::facts::Role;
use sslaudit_rules::layout::Layout;

use super::yaml::{MapEntry, Node};
use super::{
    Ctx, Identity, Inventory, InventoryError, InventoryFormat, JumpLayer, Layer, Secret, TlsFiles,
    check_name, check_remote_path, is_inline_secret, jump_from_target, parse_bool, parse_duration,
    parse_port, parse_via, resolve,
};

mod ini;
mod yaml;

pub(super) use ini::load_ini;
use ini::*;
pub(super) use yaml::load_yaml;

type Result<T> = std::result::Result<T, InventoryError>;

/// Most hosts one pattern (`db[001:999]`) may expand to.
const MAX_PATTERN_HOSTS: usize = crate::limits::INVENTORY_PATTERN_HOSTS;

#[derive(Debug, Clone)]
enum Value {
    Scalar(String),
    List(Vec<String>),
    /// A mapping or nested list: fine for Ansible, never one of ours.
    Other(&'static str),
}

#[derive(Debug, Clone)]
struct Var {
    value: Value,
    line: u32,
}

#[derive(Debug, Default)]
struct Group {
    vars: BTreeMap<String, Var>,
    children: Vec<String>,
    hosts: Vec<String>,
}

#[derive(Debug, Default)]
struct Parsed {
    groups: BTreeMap<String, Group>,
    /// Hosts in order of first appearance, with that line.
    order: Vec<(String, u32)>,
    host_vars: BTreeMap<String, BTreeMap<String, Var>>,
}

impl Parsed {
    fn group(&mut self, name: &str) -> &mut Group {
        self.groups.entry(name.to_string()).or_default()
    }

    fn add_host(&mut self, group: &str, host: &str, line: u32) {
        if !self.host_vars.contains_key(host) {
            self.order.push((host.to_string(), line));
            self.host_vars.insert(host.to_string(), BTreeMap::new());
        }
        let g = self.group(group);
        if !g.hosts.iter().any(|h| h == host) {
            g.hosts.push(host.to_string());
        }
    }

    /// Adds every host a pattern (`db[01:03]:2222`) of `group` expands to,
    /// with the pattern's port as `ansible_port` and `vars`.
    fn add_pattern(
        &mut self,
        group: &str,
        pattern: &str,
        vars: &BTreeMap<String, Var>,
        line: u32,
        ctx: &Ctx,
    ) -> Result<()> {
        for (host, port) in expand_host(pattern).map_err(|m| ctx.err(line, m))? {
            self.add_host(group, &host, line);
            let hv = self.host_vars.entry(host).or_default();
            if let Some(port) = port {
                let value = Value::Scalar(port.to_string());
                hv.insert("ansible_port".to_string(), Var { value, line });
            }
            hv.extend(vars.clone());
        }
        Ok(())
    }
}

/// An INI inventory starts (after comments) with a `[section]` line or a
/// host line with `key=value` variables; YAML never does.
pub(super) fn looks_like_ini(text: &str) -> bool {
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') || t == "---" {
            continue;
        }
        if let Some(inner) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            return !inner.contains(',') && !inner.trim().is_empty();
        }
        let mut words = t.split_whitespace();
        let first = words.next().unwrap_or("");
        return !first.ends_with(':') && words.any(|w| w.contains('=') && !w.starts_with('='));
    }
    false
}

// --- resolution --------------------------------------------------------------

fn finish(mut p: Parsed, ctx: &Ctx, format: InventoryFormat) -> Result<Inventory> {
    p.group("all");
    p.group("ungrouped");
    // Every group that is nobody's child hangs under `all`.
    let named_children: BTreeSet<String> = p
        .groups
        .values()
        .flat_map(|g| g.children.iter().cloned())
        .collect();
    let orphans: Vec<String> = p
        .groups
        .keys()
        .filter(|g| *g != "all" && !named_children.contains(*g))
        .cloned()
        .collect();
    for g in orphans {
        p.group("all").children.push(g);
    }
    let mut parents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, g) in &p.groups {
        for c in &g.children {
            parents.entry(c.as_str()).or_default().push(name.as_str());
        }
    }
    let mut depth: BTreeMap<String, usize> = BTreeMap::new();
    for name in p.groups.keys() {
        group_depth(name, &parents, &mut depth, &mut Vec::new()).map_err(|m| ctx.err(1, m))?;
    }

    let mut hosts = Vec::new();
    for (host, line) in &p.order {
        let direct: Vec<&str> = p
            .groups
            .iter()
            .filter(|(_, g)| g.hosts.iter().any(|h| h == host))
            .map(|(n, _)| n.as_str())
            .collect();
        let mut member: BTreeSet<&str> = BTreeSet::from(["all"]);
        let mut todo = direct.clone();
        while let Some(g) = todo.pop() {
            if member.insert(g) {
                todo.extend(parents.get(g).into_iter().flatten().copied());
            }
        }
        let mut roles = BTreeSet::new();
        for (g, r) in [
            ("db_master", Role::DbMaster),
            ("db_replica", Role::DbReplica),
            ("app", Role::App),
        ] {
            if member.contains(g) {
                roles.insert(r);
            }
        }
        if roles.is_empty() {
            continue;
        }
        // Ansible's precedence: shallower groups first, then by name, host last.
        let mut ordered: Vec<&str> = member.iter().copied().collect();
        ordered.sort_by_key(|g| (depth.get(*g).copied().unwrap_or(0), *g));
        let mut vars: BTreeMap<String, Var> = BTreeMap::new();
        for g in &ordered {
            if let Some(group) = p.groups.get(*g) {
                vars.extend(group.vars.clone());
            }
        }
        if let Some(hv) = p.host_vars.get(host) {
            vars.extend(hv.clone());
        }
        let env_groups: Vec<&str> = member
            .iter()
            .filter_map(|g| g.strip_prefix("env_"))
            .collect();
        let environment = match scalar_var(&vars, "sslaudit_environment", ctx)? {
            Some((e, l)) => {
                check_name("environment", &e).map_err(|m| ctx.err(l, m))?;
                e
            }
            None => match env_groups[..] {
                [] => "default".to_string(),
                [one] => one.to_string(),
                _ => {
                    return Err(ctx.err(
                        *line,
                        format!(
                            "host {host} is in several environment groups ({}); set \
                             sslaudit_environment for it",
                            env_groups
                                .iter()
                                .map(|e| format!("env_{e}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
            },
        };
        check_name("environment", &environment).map_err(|m| ctx.err(*line, m))?;
        let (layer, address) = host_layer(&vars, host, ctx)?;
        let aliases = list_var(&vars, "sslaudit_aliases", "a name", ctx)?
            .map(|(a, _)| a)
            .unwrap_or_default();
        let id = Identity {
            name: host.clone(),
            environment,
            roles,
            address,
            aliases,
            origin: ctx.origin(*line),
            declared_at: ctx.declared_at(*line),
        };
        hosts.push(resolve(id, &[&layer]).map_err(|m| ctx.err(*line, m))?);
    }
    if hosts.is_empty() {
        return Err(ctx.err(
            1,
            "no host is in the groups db_master, db_replica or app (directly or through \
             children)"
                .to_string(),
        ));
    }
    Ok(Inventory { hosts, format })
}

fn group_depth(
    name: &str,
    parents: &BTreeMap<&str, Vec<&str>>,
    memo: &mut BTreeMap<String, usize>,
    path: &mut Vec<String>,
) -> std::result::Result<usize, String> {
    if let Some(d) = memo.get(name) {
        return Ok(*d);
    }
    if path.iter().any(|p| p == name) {
        path.push(name.to_string());
        return Err(format!("group cycle: {}", path.join(" -> ")));
    }
    if name == "all" {
        memo.insert(name.to_string(), 0);
        return Ok(0);
    }
    path.push(name.to_string());
    let mut d = 0;
    for p in parents.get(name).into_iter().flatten() {
        d = d.max(group_depth(p, parents, memo, path)? + 1);
    }
    path.pop();
    let d = d.max(1);
    memo.insert(name.to_string(), d);
    Ok(d)
}

/// Ansible's password variables: sslaudit never uses them (keys or the
/// agent only), so they are ignored with a warning, not read.
const ANSIBLE_SECRETS: &[&str] = &[
    "ansible_password",
    "ansible_ssh_pass",
    "ansible_ssh_password",
    "ansible_become_pass",
    "ansible_become_password",
    "ansible_sudo_pass",
];

/// The `sslaudit_*` variables and the inventory key each one sets.
const OUR_VARS: &[&str] = &[
    "sslaudit_environment",
    "sslaudit_app_user",
    "sslaudit_named_users",
    "sslaudit_aliases",
    "sslaudit_database_yml",
    "sslaudit_layout",
    "sslaudit_ca_key",
    "sslaudit_known_hosts",
    "sslaudit_ssh",
    "sslaudit_ssh_timeout",
    "sslaudit_jump",
    "sslaudit_mysql_via",
    "sslaudit_mysql_port",
    "sslaudit_mysql_user",
    "sslaudit_mysql_password_env",
    "sslaudit_mysql_password_file",
    "sslaudit_mysql_tls_ca",
    "sslaudit_mysql_tls_cert",
    "sslaudit_mysql_tls_key",
    "sslaudit_mysql_restart_command",
    "sslaudit_mysql_admin_user",
    "sslaudit_mysql_admin_password_env",
    "sslaudit_mysql_admin_password_file",
    "sslaudit_app_restart_command",
];

/// A variable holding a list: a YAML list, or a comma-separated string
/// (INI inventories); with its line.
fn list_var(
    vars: &BTreeMap<String, Var>,
    name: &str,
    item: &str,
    ctx: &Ctx,
) -> Result<Option<(Vec<String>, u32)>> {
    let Some(v) = vars.get(name) else {
        return Ok(None);
    };
    let items: Vec<String> = match &v.value {
        Value::Scalar(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Value::List(items) => items.clone(),
        Value::Other(kind) => {
            return Err(ctx.err(
                v.line,
                format!("{name} is a {kind}, expected {item} or a list"),
            ));
        }
    };
    Ok(Some((items, v.line)))
}

fn host_layer(vars: &BTreeMap<String, Var>, host: &str, ctx: &Ctx) -> Result<(Layer, String)> {
    for (k, v) in vars {
        if ANSIBLE_SECRETS.contains(&k.as_str()) {
            tracing::warn!(
                "{}:{}: {k} ignored: sslaudit authenticates with keys or the agent and \
                 never reads passwords from an inventory",
                ctx.path,
                v.line
            );
        } else if k.starts_with("sslaudit_") {
            if is_inline_secret(k) {
                return Err(ctx.err(
                    v.line,
                    format!(
                        "inline secret `{k}` is not allowed: use sslaudit_mysql_password_env \
                         or sslaudit_mysql_password_file"
                    ),
                ));
            }
            if !OUR_VARS.contains(&k.as_str()) {
                return Err(ctx.err(
                    v.line,
                    format!(
                        "unknown variable `{k}` (expected one of: {})",
                        OUR_VARS.join(", ")
                    ),
                ));
            }
        }
    }
    let get = |names: &[&str]| -> Result<Option<(String, u32)>> {
        for n in names {
            if let Some(v) = scalar_var(vars, n, ctx)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    };
    let path = |names: &[&str]| -> Result<Option<std::path::PathBuf>> {
        match get(names)? {
            Some((p, l)) if !p.is_empty() => Ok(Some(ctx.local_path(&p, l)?)),
            _ => Ok(None),
        }
    };
    let mut l = Layer::default();
    let address = match get(&["ansible_host", "ansible_ssh_host"])? {
        Some((a, line)) => {
            if a.is_empty() || a.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(ctx.err(line, format!("invalid ansible_host {a:?}")));
            }
            a
        }
        None => host.to_string(),
    };
    if let Some((p, line)) = get(&["ansible_port", "ansible_ssh_port"])? {
        l.ssh_port = Some(Some(parse_port(&p).map_err(|m| ctx.err(line, m))?));
    }
    l.ssh_user = get(&["ansible_user", "ansible_ssh_user"])?.map(|(u, _)| Some(u));
    l.identity_file =
        path(&["ansible_ssh_private_key_file", "ansible_private_key_file"])?.map(Some);
    if let Some((b, line)) = get(&["ansible_become"])? {
        let become_ = parse_bool(&b).map_err(|m| ctx.err(line, m))?;
        if become_
            && let Some((method, mline)) = get(&["ansible_become_method"])?
            && method != "sudo"
        {
            return Err(ctx.err(
                mline,
                format!("ansible_become_method {method} is not supported (only sudo)"),
            ));
        }
        l.sudo = Some(Some(become_));
    }
    if let Some((j, line)) = get(&["sslaudit_jump"])? {
        l.jump = Some(Some(jump_from_target(&j).map_err(|m| ctx.err(line, m))?));
    } else {
        for n in ["ansible_ssh_common_args", "ansible_ssh_extra_args"] {
            if let Some((args, line)) = get(&[n])?
                && let Some(j) =
                    proxy_jump(&args).map_err(|m| ctx.err(line, format!("{n}: {m}")))?
            {
                l.jump = Some(Some(j));
            }
        }
    }
    if let Some((u, line)) = get(&["sslaudit_app_user"])? {
        if u.is_empty() {
            return Err(ctx.err(line, "sslaudit_app_user is empty".to_string()));
        }
        l.app_user = Some(Some(u));
    }
    if let Some((paths, line)) = list_var(vars, "sslaudit_database_yml", "a path", ctx)? {
        for p in &paths {
            check_remote_path("sslaudit_database_yml", p).map_err(|m| ctx.err(line, m))?;
        }
        l.database_yml = Some(Some(paths));
    }
    if let Some((users, _)) = list_var(vars, "sslaudit_named_users", "a user", ctx)? {
        l.named_users = Some(Some(users));
    }
    if let Some((name, line)) = get(&["sslaudit_layout"])? {
        Layout::named(&name).map_err(|e| ctx.err(line, e.to_string()))?;
        l.layout = Some(Some(name));
    }
    l.ca_key = path(&["sslaudit_ca_key"])?.map(Some);
    l.known_hosts = path(&["sslaudit_known_hosts"])?.map(Some);
    if let Some((t, line)) = get(&["sslaudit_ssh_timeout"])? {
        l.timeout = Some(Some(parse_duration(&t).map_err(|m| ctx.err(line, m))?));
    }
    if let Some((v, line)) = get(&["sslaudit_ssh"])? {
        if v != "none" {
            return Err(ctx.err(
                line,
                format!("sslaudit_ssh: the only value is `none` (no SSH at all), found `{v}`"),
            ));
        }
        l.access = Some(Some(sslaudit_rules::facts::Access::Wire));
    }
    if let Some((v, line)) = get(&["sslaudit_mysql_via"])? {
        l.via = Some(Some(parse_via(&v).map_err(|m| ctx.err(line, m))?));
    }
    if let Some((p, line)) = get(&["sslaudit_mysql_port"])? {
        l.mysql_port = Some(Some(parse_port(&p).map_err(|m| ctx.err(line, m))?));
    }
    l.mysql_user = get(&["sslaudit_mysql_user"])?.map(|(u, _)| Some(u));
    l.password = secret_var(
        get(&["sslaudit_mysql_password_env"])?,
        path(&["sslaudit_mysql_password_file"])?,
        "sslaudit_mysql_password",
        vars,
        ctx,
    )?;
    l.admin_password = secret_var(
        get(&["sslaudit_mysql_admin_password_env"])?,
        path(&["sslaudit_mysql_admin_password_file"])?,
        "sslaudit_mysql_admin_password",
        vars,
        ctx,
    )?;
    let tls = TlsFiles {
        ca: path(&["sslaudit_mysql_tls_ca"])?,
        cert: path(&["sslaudit_mysql_tls_cert"])?,
        key: path(&["sslaudit_mysql_tls_key"])?,
    };
    if tls.cert.is_some() != tls.key.is_some() {
        let line = vars
            .get("sslaudit_mysql_tls_cert")
            .or_else(|| vars.get("sslaudit_mysql_tls_key"))
            .map_or(1, |v| v.line);
        return Err(ctx.err(
            line,
            "sslaudit_mysql_tls_cert and sslaudit_mysql_tls_key go together".to_string(),
        ));
    }
    if tls.ca.is_some() || tls.cert.is_some() {
        l.tls = Some(Some(tls));
    }
    l.mysql_restart_command = get(&["sslaudit_mysql_restart_command"])?.map(|(c, _)| Some(c));
    l.admin_user = get(&["sslaudit_mysql_admin_user"])?.map(|(c, _)| Some(c));
    l.app_restart_command = get(&["sslaudit_app_restart_command"])?.map(|(c, _)| Some(c));
    Ok((l, address))
}

fn secret_var(
    env: Option<(String, u32)>,
    file: Option<std::path::PathBuf>,
    base: &str,
    vars: &BTreeMap<String, Var>,
    ctx: &Ctx,
) -> Result<super::Set<Secret>> {
    match (env, file) {
        (Some(_), Some(_)) => {
            let line = vars.get(&format!("{base}_file")).map_or(1, |v| v.line);
            Err(ctx.err(line, format!("set {base}_env or {base}_file, not both")))
        }
        (Some((e, line)), None) => {
            if e.is_empty() || !e.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(ctx.err(
                    line,
                    format!("{base}_env `{e}` is not an environment variable name"),
                ));
            }
            Ok(Some(Some(Secret::Env(e))))
        }
        (None, Some(f)) => Ok(Some(Some(Secret::File(f)))),
        (None, None) => Ok(None),
    }
}

/// A variable we read must be a plain value, not a Jinja template (it
/// would need Ansible to evaluate it).
fn scalar_var(
    vars: &BTreeMap<String, Var>,
    name: &str,
    ctx: &Ctx,
) -> Result<Option<(String, u32)>> {
    let Some(v) = vars.get(name) else {
        return Ok(None);
    };
    match &v.value {
        Value::Scalar(s) if s.contains("{{") || s.contains("{%") => Err(ctx.err(
            v.line,
            format!("{name} is a Jinja template; sslaudit needs a plain value"),
        )),
        Value::Scalar(s) => Ok(Some((s.clone(), v.line))),
        Value::List(_) => Err(ctx.err(v.line, format!("{name} is a list, expected a value"))),
        Value::Other(kind) => Err(ctx.err(v.line, format!("{name} is a {kind}, expected a value"))),
    }
}

/// `-o ProxyJump=ops@bastion:2222` or `-J ops@bastion` in ssh arguments.
fn proxy_jump(args: &str) -> std::result::Result<Option<JumpLayer>, String> {
    let words = split_words(args)?;
    let mut iter = words.iter().peekable();
    while let Some(w) = iter.next() {
        let option = if w == "-o" {
            iter.next().cloned()
        } else {
            w.strip_prefix("-o").map(str::to_string)
        };
        let value = if let Some(o) = option {
            let (k, v) = o
                .split_once('=')
                .or_else(|| o.split_once(' '))
                .unwrap_or((o.as_str(), ""));
            if k.eq_ignore_ascii_case("proxycommand") {
                return Err("ProxyCommand is not supported; use ProxyJump or sslaudit_jump".into());
            }
            if !k.eq_ignore_ascii_case("proxyjump") {
                continue;
            }
            v.trim().to_string()
        } else if w == "-J" {
            iter.next().cloned().unwrap_or_default()
        } else if let Some(v) = w.strip_prefix("-J") {
            v.to_string()
        } else {
            continue;
        };
        if value.contains(',') {
            return Err(format!(
                "ProxyJump {value}: only one jump host is supported"
            ));
        }
        let value = value.strip_prefix("ssh://").unwrap_or(&value).to_string();
        return jump_from_target(&value).map(Some);
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_expand_like_ansible() {
        let names = |p: &str| -> Vec<String> {
            expand_host(p)
                .unwrap()
                .into_iter()
                .map(|(h, _)| h)
                .collect()
        };
        assert_eq!(names("db[01:03].x"), ["db01.x", "db02.x", "db03.x"]);
        assert_eq!(names("db[1:5:2]"), ["db1", "db3", "db5"]);
        assert_eq!(
            names("[a:c]-[1:2]"),
            ["a-1", "b-1", "c-1", "a-2", "b-2", "c-2"]
        );
        assert_eq!(
            expand_host("db:2222").unwrap(),
            [("db".to_string(), Some(2222))]
        );
        assert_eq!(
            expand_host("fe80::1").unwrap(),
            [("fe80::1".to_string(), None)]
        );
        assert!(expand_host("db[3:1]").is_err());
        assert!(expand_host("db[1:100000]").is_err());
        assert!(expand_host("db[x]").is_err());
    }

    #[test]
    fn proxy_jump_arguments() {
        let j = proxy_jump("-o StrictHostKeyChecking=no -o ProxyJump=ops@bastion:2222")
            .unwrap()
            .unwrap();
        assert_eq!(
            (j.user.as_deref(), j.address.as_str(), j.port),
            (Some("ops"), "bastion", Some(2222))
        );
        assert_eq!(
            proxy_jump("-J bastion").unwrap().unwrap().address,
            "bastion"
        );
        assert!(proxy_jump("-o ProxyCommand='ssh -W %h:%p b'").is_err());
        assert!(proxy_jump("-o ProxyJump=a,b").is_err());
        assert!(proxy_jump("-C").unwrap().is_none());
    }

    #[test]
    fn ini_detection() {
        assert!(looks_like_ini("# x\n[db_master]\ndb1\n"));
        assert!(looks_like_ini("db1 ansible_host=10.0.0.1\n"));
        assert!(!looks_like_ini("environments:\n  p: {}\n"));
        assert!(!looks_like_ini("all:\n  hosts:\n    db1:\n"));
        assert!(!looks_like_ini("[1, 2]\n"));
    }
}
