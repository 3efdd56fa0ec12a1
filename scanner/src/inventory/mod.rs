//! The fleet to scan: sslaudit's own YAML inventory, or an Ansible inventory
//! (INI or YAML) the fleet already has, resolved into one [`InventoryHost`]
//! per host with every setting filled in (built-in defaults < `defaults:` <
//! environment < host). See docs/inventory.md for the format (a contract).
//!
//! Secrets never live in the inventory: a MySQL password comes from an
//! environment variable or a file named here, and an inline `password:` is
//! an error.

mod ansible;
mod native;
mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use globset::Glob;
use sslaudit_rules::Location;
use sslaudit_rules::facts::{Access, Reachability, Role};
use sslaudit_rules::layout::Layout;

use crate::evidence::HostMeta;
use crate::shard::Shard;

/// Built-in defaults, documented in docs/inventory.md.
pub const DEFAULT_SSH_USER: &str = "root";
pub const DEFAULT_SSH_PORT: u16 = 22;
pub const DEFAULT_KNOWN_HOSTS: &str = "~/.ssh/known_hosts";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_MYSQL_PORT: u16 = 3306;
/// The MySQL user of `via: tcp` and `via: tunnel` when none is set.
pub const DEFAULT_MYSQL_USER: &str = "sslaudit";
pub const DEFAULT_LAYOUT: &str = "engineyard";
/// Longest timeout accepted (libssh2 takes milliseconds as a u32).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    #[error("{path}: {message}")]
    Read { path: String, message: String },
    #[error("{path}:{line}: {message}")]
    Parse {
        path: String,
        line: u32,
        message: String,
    },
    /// A bad `--host`, `--limit` or `--shard` argument.
    #[error("{0}")]
    Argument(String),
}

/// Which syntax an inventory was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InventoryFormat {
    Native,
    AnsibleIni,
    AnsibleYaml,
    /// Built from `--host` arguments.
    Adhoc,
}

/// Every host to scan, in inventory order.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub hosts: Vec<InventoryHost>,
    pub format: InventoryFormat,
}

/// One host with every setting resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryHost {
    pub name: String,
    pub environment: String,
    /// Sorted, without duplicates.
    pub roles: Vec<Role>,
    /// What the scanner connects to: only ever this (and the jump host).
    pub address: String,
    /// `Wire` for `ssh: none`: no SSH is attempted, the host is audited
    /// from its MySQL port alone (`mysql.via: tcp`).
    pub access: Access,
    /// Unused with `access: Wire`, except `timeout` (connect and read
    /// timeouts of the MySQL connection and the probe).
    pub ssh: SshSettings,
    pub mysql: MysqlSettings,
    /// The layout with `layout_overrides` applied.
    pub layout: Layout,
    pub layout_overrides: BTreeMap<String, String>,
    pub app_user: Option<String>,
    /// OS users to treat as named users (SSL013) whatever their uid.
    pub named_users: Vec<String>,
    /// Other names database.yml files may use for the host (DNS names, a
    /// virtual IP).
    pub aliases: Vec<String>,
    /// Absolute paths on the host.
    pub database_yml: Vec<String>,
    /// The environment's CA key (for the remediation commands), on this machine.
    pub ca_key: Option<PathBuf>,
    pub app_restart_command: Option<String>,
    /// Where the host is declared (`fleet.yaml:12`), for messages.
    pub origin: String,
    /// The same as a file and line, when the host comes from a file (not
    /// `--host`).
    pub declared_at: Option<Location>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshSettings {
    pub user: String,
    pub port: u16,
    /// `None`: authenticate with the ssh-agent.
    pub identity_file: Option<PathBuf>,
    pub known_hosts: PathBuf,
    /// Run commands through `sudo -n`.
    pub sudo: bool,
    /// Connect timeout, and the limit on every single SSH operation.
    pub timeout: Duration,
    pub jump: Option<JumpSettings>,
    /// What to do with a host that has no entry in `known_hosts`. Never
    /// read from an inventory: [`HostKeyPolicy::Strict`] unless the caller
    /// (the CLI's `--accept-new-host-keys`) says otherwise for this scan.
    pub host_key_policy: HostKeyPolicy,
}

/// How an SSH connection treats the host key it is offered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// The key must be in known_hosts (not `@revoked`); anything else is
    /// refused.
    #[default]
    Strict,
    /// Like `ssh -o StrictHostKeyChecking=accept-new`: a host with no
    /// known_hosts entry at all has the key it offers recorded there and
    /// trusted (and a warning logged); a changed or revoked key is still
    /// refused.
    AcceptNew,
}

/// A bastion reached first; the host is then reached through it (ProxyJump).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JumpSettings {
    pub address: String,
    /// Default: the host's SSH user.
    pub user: String,
    pub port: u16,
    /// Default: the host's identity file (else the agent).
    pub identity_file: Option<PathBuf>,
}

/// How the scanner talks to MySQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The host's own mysql client, run over SSH with the host's credentials.
    Ssh,
    /// A direct TCP (TLS) connection from the scanner.
    Tcp,
    /// A TCP connection through the host's SSH connection (direct-tcpip).
    Tunnel,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Ssh => "ssh",
            Via::Tcp => "tcp",
            Via::Tunnel => "tunnel",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MysqlSettings {
    pub via: Via,
    pub port: u16,
    /// `None` with `via: ssh` (the host's client uses its own option files);
    /// `tcp`/`tunnel` default to [`DEFAULT_MYSQL_USER`].
    pub user: Option<String>,
    /// The name of the environment variable holding the password.
    pub password_env: Option<String>,
    /// A file (on this machine) holding the password; at most one of
    /// `password_env` and `password_file` is set.
    pub password_file: Option<PathBuf>,
    /// The scanner's own client identity for `tcp`/`tunnel`.
    pub tls: Option<TlsFiles>,
    pub restart_command: Option<String>,
    pub admin_user: Option<String>,
    pub admin_password_env: Option<String>,
    pub admin_password_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// Settings for `--host` targets (`Inventory::adhoc`); unset fields take
/// the built-in defaults.
#[derive(Debug, Clone, Default)]
pub struct HostDefaults {
    pub identity_file: Option<PathBuf>,
    pub known_hosts: Option<PathBuf>,
    pub sudo: Option<bool>,
    pub timeout: Option<Duration>,
    /// `[user@]address[:port]`.
    pub jump: Option<String>,
    pub layout: Option<String>,
    pub via: Option<Via>,
    pub mysql_port: Option<u16>,
    pub mysql_user: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
}

/// Reads an inventory, telling the format from the content: a first line
/// `[group]` is Ansible INI; YAML with `environments:` or `defaults:` at
/// the top is sslaudit's format; other YAML mappings are Ansible YAML.
pub fn load(path: &Path) -> Result<Inventory, InventoryError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| InventoryError::Read {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..offset]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        InventoryError::Parse {
            path: shown.clone(),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            message: "the file is not UTF-8 text".to_string(),
        }
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let base = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let ctx = Ctx { path: shown, base };
    if ansible::looks_like_ini(text) {
        return ansible::load_ini(text, &ctx);
    }
    let root = yaml::parse(text).map_err(|(line, message)| ctx.err(line, message))?;
    let Some(root) = root else {
        return Err(ctx.err(1, "the inventory is empty".to_string()));
    };
    let Some(entries) = root.entries() else {
        return Err(ctx.err(
            root.line(),
            format!(
                "the top level is a {}, expected a mapping (`environments:` for sslaudit's \
                 format, or Ansible groups)",
                root.kind()
            ),
        ));
    };
    if entries
        .iter()
        .any(|e| e.key == "environments" || e.key == "defaults")
    {
        native::load(&root, &ctx)
    } else {
        ansible::load_yaml(&root, &ctx)
    }
}

/// Where an inventory came from: its path for messages and the directory
/// relative paths in it are resolved against.
pub(crate) struct Ctx {
    pub path: String,
    pub base: PathBuf,
}

impl Ctx {
    pub fn err(&self, line: u32, message: String) -> InventoryError {
        InventoryError::Parse {
            path: self.path.clone(),
            line,
            message,
        }
    }

    pub fn origin(&self, line: u32) -> String {
        format!("{}:{line}", self.path)
    }

    /// A line of the inventory file, as a location.
    pub fn declared_at(&self, line: u32) -> Option<Location> {
        Some(Location::file(self.path.clone(), Some(line)))
    }

    /// A path on this machine: `~` and `~user` expanded, relative paths
    /// taken from the inventory's directory.
    pub fn local_path(&self, raw: &str, line: u32) -> Result<PathBuf, InventoryError> {
        let expanded = expand_tilde(raw).map_err(|m| self.err(line, m))?;
        if expanded.is_absolute() {
            Ok(expanded)
        } else {
            Ok(self.base.join(expanded))
        }
    }
}

/// `~/x` -> `$HOME/x`; `~user/x` -> that user's home from /etc/passwd.
pub(crate) fn expand_tilde(raw: &str) -> Result<PathBuf, String> {
    let Some(rest) = raw.strip_prefix('~') else {
        return Ok(PathBuf::from(raw));
    };
    let (user, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let home = if user.is_empty() {
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .ok_or_else(|| format!("cannot expand {raw}: HOME is not set"))?
    } else {
        let passwd = std::fs::read_to_string("/etc/passwd")
            .map_err(|e| format!("cannot expand {raw}: /etc/passwd: {e}"))?;
        let (users, _) = sslaudit_rules::parse::passwd::parse_passwd(&passwd);
        users
            .get(user)
            .map(|u| PathBuf::from(&u.home))
            .ok_or_else(|| format!("cannot expand {raw}: no user {user} in /etc/passwd"))?
    };
    Ok(if tail.is_empty() {
        home
    } else {
        home.join(tail)
    })
}

/// `10s`, `2m`, `1m30s`, `500ms`, `1h`; a bare number is seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let bad = || format!("invalid duration `{s}` (expected e.g. 10s, 2m, 1m30s, 500ms)");
    if t.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    if t.bytes().all(|b| b.is_ascii_digit()) {
        total = Duration::from_secs(t.parse().map_err(|_| bad())?);
    } else {
        let mut rest = t;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(bad());
            }
            let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
            rest = &rest[digits..];
            let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
            let part = match &rest[..unit_len] {
                "ms" => Duration::from_millis(n),
                "s" => Duration::from_secs(n),
                "m" => Duration::from_secs(n.saturating_mul(60)),
                "h" => Duration::from_secs(n.saturating_mul(3600)),
                _ => return Err(bad()),
            };
            rest = &rest[unit_len..];
            total = total.saturating_add(part);
        }
    }
    if total.is_zero() {
        return Err(format!("duration `{s}` must be more than zero"));
    }
    if total > MAX_TIMEOUT {
        return Err(format!("duration `{s}` is longer than one hour"));
    }
    Ok(total)
}

/// Host and environment names become snapshot folder names and appear in
/// reports: no path separators, no control characters.
pub(crate) fn check_name(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("{what} name is empty"));
    }
    if name == "." || name == ".." || name.contains('/') || name.contains('\\') {
        return Err(format!(
            "{what} name `{name}` cannot be used as a folder name"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("{what} name {name:?} contains control characters"));
    }
    Ok(())
}

pub(crate) fn parse_role(s: &str) -> Result<Role, String> {
    match s {
        "db_master" => Ok(Role::DbMaster),
        "db_replica" => Ok(Role::DbReplica),
        "app" => Ok(Role::App),
        other => Err(format!(
            "unknown role `{other}` (expected db_master, db_replica or app)"
        )),
    }
}

pub(crate) fn parse_via(s: &str) -> Result<Via, String> {
    match s {
        "ssh" => Ok(Via::Ssh),
        "tcp" => Ok(Via::Tcp),
        "tunnel" => Ok(Via::Tunnel),
        other => Err(format!(
            "unknown mysql.via `{other}` (expected ssh, tcp or tunnel)"
        )),
    }
}

pub(crate) fn parse_port(s: &str) -> Result<u16, String> {
    match s.trim().parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("invalid port `{s}` (expected 1 to 65535)")),
    }
}

pub(crate) fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(format!("invalid boolean `{s}` (expected true or false)")),
    }
}

/// A path on the scanned host: must be absolute (no `~`: whose home?).
pub(crate) fn check_remote_path(what: &str, p: &str) -> Result<(), String> {
    if !p.starts_with('/') {
        return Err(format!("{what} `{p}` must be an absolute path on the host"));
    }
    if p.contains('\0') {
        return Err(format!("{what} contains a NUL byte"));
    }
    Ok(())
}

/// Key names that hold a secret when written inline (the one list of
/// [`sslaudit_rules::secrets`]).
pub(crate) fn is_inline_secret(key: &str) -> bool {
    sslaudit_rules::secrets::is_secret_name(key)
}

/// `[user@]address[:port]`, with `[v6]:port` for IPv6 addresses.
pub(crate) fn parse_target(s: &str) -> Result<(Option<String>, String, Option<u16>), String> {
    let bad = |why: &str| format!("target `{s}`: {why} (expected [user@]address[:port])");
    let (user, rest) = match s.rsplit_once('@') {
        Some((u, r)) if !u.is_empty() => (Some(u.to_string()), r),
        Some(_) => return Err(bad("empty user")),
        None => (None, s),
    };
    let (addr, port) = if let Some(inner) = rest.strip_prefix('[') {
        let (addr, after) = inner.split_once(']').ok_or_else(|| bad("unclosed `[`"))?;
        let port = match after {
            "" => None,
            p => Some(
                parse_port(p.strip_prefix(':').ok_or_else(|| bad("junk after `]`"))?)
                    .map_err(|e| bad(&e))?,
            ),
        };
        (addr.to_string(), port)
    } else if rest.matches(':').count() == 1 {
        let (a, p) = rest.split_once(':').ok_or_else(|| bad("bad port"))?;
        (a.to_string(), Some(parse_port(p).map_err(|e| bad(&e))?))
    } else {
        // No colon, or a bare IPv6 address.
        (rest.to_string(), None)
    };
    if addr.is_empty() || addr.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("empty or malformed address"));
    }
    Ok((user, addr, port))
}

/// A value as set at one level: `None` = not set here; `Some(None)` = set
/// to null, back to the built-in default.
pub(crate) type Set<T> = Option<Option<T>>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Secret {
    Env(String),
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JumpLayer {
    pub address: String,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_file: Option<PathBuf>,
}

/// The settings written at one level (defaults, environment, host).
#[derive(Debug, Clone, Default)]
pub(crate) struct Layer {
    /// `ssh: none` (Wire) or an `ssh:` mapping (Ssh).
    pub access: Set<Access>,
    pub ssh_user: Set<String>,
    pub ssh_port: Set<u16>,
    pub identity_file: Set<PathBuf>,
    pub known_hosts: Set<PathBuf>,
    pub sudo: Set<bool>,
    pub timeout: Set<Duration>,
    pub jump: Set<JumpLayer>,
    pub via: Set<Via>,
    pub mysql_port: Set<u16>,
    pub mysql_user: Set<String>,
    pub password: Set<Secret>,
    pub tls: Set<TlsFiles>,
    pub mysql_restart_command: Set<String>,
    pub admin_user: Set<String>,
    pub admin_password: Set<Secret>,
    pub layout: Set<String>,
    /// A `None` value removes an override set at a wider level.
    pub layout_overrides: BTreeMap<String, Option<String>>,
    pub ca_key: Set<PathBuf>,
    pub app_restart_command: Set<String>,
    pub app_user: Set<String>,
    pub named_users: Set<Vec<String>>,
    pub database_yml: Set<Vec<String>>,
}

/// Who a host is, besides its settings.
pub(crate) struct Identity {
    pub name: String,
    pub environment: String,
    pub roles: BTreeSet<Role>,
    pub address: String,
    pub aliases: Vec<String>,
    pub origin: String,
    pub declared_at: Option<Location>,
}

/// The most specific level that sets a field wins.
fn pick<T: Clone>(layers: &[&Layer], f: impl Fn(&Layer) -> &Set<T>) -> Option<T> {
    layers.iter().find_map(|l| f(l).clone()).flatten()
}

/// Resolves a host from its layers, most specific first.
pub(crate) fn resolve(id: Identity, layers: &[&Layer]) -> Result<InventoryHost, String> {
    let user = pick(layers, |l| &l.ssh_user).unwrap_or_else(|| DEFAULT_SSH_USER.to_string());
    let identity_file = pick(layers, |l| &l.identity_file);
    let known_hosts = match pick(layers, |l| &l.known_hosts) {
        Some(p) => p,
        None => expand_tilde(DEFAULT_KNOWN_HOSTS)?,
    };
    let jump = pick(layers, |l| &l.jump).map(|j| JumpSettings {
        address: j.address,
        user: j.user.unwrap_or_else(|| user.clone()),
        port: j.port.unwrap_or(DEFAULT_SSH_PORT),
        identity_file: j.identity_file.or_else(|| identity_file.clone()),
    });
    let ssh = SshSettings {
        user,
        port: pick(layers, |l| &l.ssh_port).unwrap_or(DEFAULT_SSH_PORT),
        identity_file,
        known_hosts,
        sudo: pick(layers, |l| &l.sudo).unwrap_or(false),
        timeout: pick(layers, |l| &l.timeout).unwrap_or(DEFAULT_TIMEOUT),
        jump,
        host_key_policy: HostKeyPolicy::Strict,
    };
    let via = pick(layers, |l| &l.via).unwrap_or(Via::Ssh);
    let access = pick(layers, |l| &l.access).unwrap_or_default();
    if access == Access::Wire {
        if via != Via::Tcp {
            return Err(format!(
                "`ssh: none` needs `mysql: {{ via: tcp }}` (this host has via: {}): without SSH \
                 the scanner can only reach the MySQL port itself",
                via.as_str()
            ));
        }
        if !id
            .roles
            .iter()
            .any(|r| matches!(r, Role::DbMaster | Role::DbReplica))
        {
            return Err(
                "`ssh: none` is for database hosts: an application host shows nothing on the \
                 wire (its database.yml and keys are files)"
                    .to_string(),
            );
        }
    }
    let (password_env, password_file) = split_secret(pick(layers, |l| &l.password));
    let (admin_password_env, admin_password_file) =
        split_secret(pick(layers, |l| &l.admin_password));
    let mysql = MysqlSettings {
        via,
        port: pick(layers, |l| &l.mysql_port).unwrap_or(DEFAULT_MYSQL_PORT),
        user: pick(layers, |l| &l.mysql_user).or_else(|| match via {
            Via::Ssh => None,
            Via::Tcp | Via::Tunnel => Some(DEFAULT_MYSQL_USER.to_string()),
        }),
        password_env,
        password_file,
        tls: pick(layers, |l| &l.tls),
        restart_command: pick(layers, |l| &l.mysql_restart_command),
        admin_user: pick(layers, |l| &l.admin_user),
        admin_password_env,
        admin_password_file,
    };
    let layout_name = pick(layers, |l| &l.layout).unwrap_or_else(|| DEFAULT_LAYOUT.to_string());
    let mut layout_overrides = BTreeMap::new();
    // Widest level first, so narrower levels overwrite or remove.
    for layer in layers.iter().rev() {
        for (k, v) in &layer.layout_overrides {
            match v {
                Some(v) => layout_overrides.insert(k.clone(), v.clone()),
                None => layout_overrides.remove(k),
            };
        }
    }
    let layout =
        Layout::with_overrides(&layout_name, &layout_overrides).map_err(|e| e.to_string())?;
    Ok(InventoryHost {
        name: id.name,
        environment: id.environment,
        roles: id.roles.into_iter().collect(),
        address: id.address,
        access,
        ssh,
        mysql,
        layout,
        layout_overrides,
        app_user: pick(layers, |l| &l.app_user),
        named_users: pick(layers, |l| &l.named_users).unwrap_or_default(),
        aliases: id.aliases,
        database_yml: pick(layers, |l| &l.database_yml).unwrap_or_default(),
        ca_key: pick(layers, |l| &l.ca_key),
        app_restart_command: pick(layers, |l| &l.app_restart_command),
        origin: id.origin,
        declared_at: id.declared_at,
    })
}

fn split_secret(s: Option<Secret>) -> (Option<String>, Option<PathBuf>) {
    match s {
        Some(Secret::Env(v)) => (Some(v), None),
        Some(Secret::File(p)) => (None, Some(p)),
        None => (None, None),
    }
}

/// `[user@]address[:port]` for a jump host.
pub(crate) fn jump_from_target(s: &str) -> Result<JumpLayer, String> {
    let (user, address, port) = parse_target(s)?;
    Ok(JumpLayer {
        address,
        user,
        port,
        identity_file: None,
    })
}

impl Inventory {
    /// Hosts named on the command line (`--host user@addr[:port]`), in
    /// environment `adhoc`, each named after its target without the user
    /// (`10.0.0.5`, `10.0.0.5:2222`).
    pub fn adhoc(
        targets: &[String],
        role: Role,
        defaults: &HostDefaults,
    ) -> Result<Inventory, InventoryError> {
        let arg = InventoryError::Argument;
        let mut layer = Layer {
            identity_file: defaults.identity_file.clone().map(Some),
            known_hosts: defaults.known_hosts.clone().map(Some),
            sudo: defaults.sudo.map(Some),
            timeout: defaults.timeout.map(Some),
            layout: defaults.layout.clone().map(Some),
            via: defaults.via.map(Some),
            mysql_port: defaults.mysql_port.map(Some),
            mysql_user: defaults.mysql_user.clone().map(Some),
            ..Layer::default()
        };
        if let Some(j) = &defaults.jump {
            layer.jump = Some(Some(jump_from_target(j).map_err(arg)?));
        }
        layer.password = match (&defaults.password_env, &defaults.password_file) {
            (Some(_), Some(_)) => {
                return Err(arg(
                    "set a MySQL password environment variable or a password file, not both"
                        .to_string(),
                ));
            }
            (Some(e), None) => Some(Some(Secret::Env(e.clone()))),
            (None, Some(f)) => Some(Some(Secret::File(f.clone()))),
            (None, None) => None,
        };
        if let Some(l) = &defaults.layout {
            Layout::named(l).map_err(|e| arg(e.to_string()))?;
        }
        let mut hosts: Vec<InventoryHost> = Vec::new();
        for t in targets {
            let (user, address, port) = parse_target(t).map_err(arg)?;
            let name = match (port, address.contains(':')) {
                (None, _) => address.clone(),
                (Some(p), false) => format!("{address}:{p}"),
                (Some(p), true) => format!("[{address}]:{p}"),
            };
            if hosts.iter().any(|h| h.name == name) {
                return Err(arg(format!("--host {t} is given twice")));
            }
            let target_layer = Layer {
                ssh_user: user.map(Some),
                ssh_port: port.map(Some),
                ..Layer::default()
            };
            let id = Identity {
                name,
                environment: "adhoc".to_string(),
                roles: BTreeSet::from([role]),
                address,
                aliases: Vec::new(),
                origin: format!("--host {t}"),
                declared_at: None,
            };
            hosts.push(resolve(id, &[&target_layer, &layer]).map_err(arg)?);
        }
        Ok(Inventory {
            hosts,
            format: InventoryFormat::Adhoc,
        })
    }

    /// Only the hosts whose name, environment or `environment/name`
    /// matches one of the globs (all hosts when `globs` is empty).
    pub fn limit(self, globs: &[String]) -> Result<Inventory, InventoryError> {
        if globs.is_empty() {
            return Ok(self);
        }
        let matchers = globs
            .iter()
            .map(|g| {
                Glob::new(g)
                    .map(|g| g.compile_matcher())
                    .map_err(|e| InventoryError::Argument(format!("--limit `{g}`: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let hosts = self
            .hosts
            .into_iter()
            .filter(|h| {
                let full = format!("{}/{}", h.environment, h.name);
                matchers
                    .iter()
                    .any(|m| m.is_match(&h.name) || m.is_match(&h.environment) || m.is_match(&full))
            })
            .collect();
        Ok(Inventory {
            hosts,
            format: self.format,
        })
    }

    /// Only the hosts of the environments of one shard (see
    /// [`crate::shard`]), in inventory order, and the notes for stderr.
    pub fn shard(self, shard: Shard) -> (Inventory, Vec<String>) {
        let mut sizes: BTreeMap<String, usize> = BTreeMap::new();
        for h in &self.hosts {
            *sizes.entry(h.environment.clone()).or_default() += 1;
        }
        let pick = crate::shard::pick(shard, &sizes);
        let hosts = self
            .hosts
            .into_iter()
            .filter(|h| pick.environments.contains(&h.environment))
            .collect();
        (
            Inventory {
                hosts,
                format: self.format,
            },
            pick.notes,
        )
    }
}

impl InventoryHost {
    /// The `host.toml` of this host's evidence.
    pub fn host_meta(&self) -> HostMeta {
        HostMeta {
            name: self.name.clone(),
            environment: self.environment.clone(),
            roles: self.roles.clone(),
            address: Some(self.address.clone()),
            aliases: self.aliases.clone(),
            layout: self.layout.name.clone(),
            layout_overrides: self.layout_overrides.clone(),
            app_user: self.app_user.clone(),
            named_users: self.named_users.clone(),
            database_yml: self.database_yml.clone(),
            reachability: Reachability::Reachable,
            access: self.access,
            problems: Vec::new(),
        }
    }

    /// `environment/name`, for messages.
    pub fn label(&self) -> String {
        format!("{}/{}", self.environment, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        for bad in ["", "s", "10x", "0s", "-1s", "2h", "1.5s", "10 s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn targets() {
        assert_eq!(
            parse_target("ops@10.0.0.5:2222").unwrap(),
            (Some("ops".into()), "10.0.0.5".into(), Some(2222))
        );
        assert_eq!(
            parse_target("[::1]:22").unwrap(),
            (None, "::1".into(), Some(22))
        );
        assert_eq!(parse_target("::1").unwrap(), (None, "::1".into(), None));
        assert!(parse_target("a:0").is_err());
        assert!(parse_target("@a").is_err());
        assert!(parse_target("a:b").is_err());
    }
}
