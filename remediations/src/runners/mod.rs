//! Runners: turn findings and facts into a [`Plan`], purely (facts in, plan
//! out; the engine in [`crate::apply`] does the I/O later).
//!
//! [`plan_for_findings`] dispatches each finding to the runner that fixes
//! its rule: SSL005 to [`enforce_x509`], SSL006 to [`database_yml`], SSL002,
//! SSL009, SSL010 and SSL014 to [`config`]. Findings a runner cannot fix
//! safely come back as a [`Refusal`] that says what to do instead; nothing
//! is ever planned on a guess. [`key_files_plan`] lays out generated keys
//! for `keygen`, with the secret parts kept out of the plan in a
//! generated-content store.

mod census;
pub mod config;
pub mod database_yml;
pub mod distribute;
pub mod enforce_x509;
pub mod rotate;
pub mod server;
#[cfg(test)]
pub(crate) mod testutil;

use std::collections::{BTreeMap, BTreeSet};

use sslaudit_rules::Finding;
use sslaudit_rules::facts::{FileStatus, HostFacts, IdentityKind, Role};
use sslaudit_rules::layout::Layout;

use crate::commands;
use crate::keygen::KeyFile;
use crate::plan::{Action, Applicability, Content, Plan, Precondition, Step};
use crate::text;

/// Per-host settings from the inventory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostSettings {
    /// The OS user whose `~/.mysql` holds the application's client keys
    /// (falls back to the host facts' `app_user`).
    pub app_user: Option<String>,
    /// `app.restart_command`: restarts the application after its
    /// database.yml changed.
    pub app_restart_command: Option<String>,
    /// `mysql.restart_command`; default: see [`server::restart_command`].
    pub mysql_restart_command: Option<String>,
}

/// What the runners read: one environment's hosts (hosts of other
/// environments in `hosts` are ignored), their inventory settings by host
/// name, and the text of the files a runner edits.
pub struct EnvFacts<'a> {
    pub environment: &'a str,
    /// The inventory the facts came from, for the commands refusals name.
    pub inventory: &'a str,
    pub hosts: &'a [HostFacts],
    pub settings: &'a BTreeMap<String, HostSettings>,
    /// `(host, path)` -> the file's text as collected (the snapshot's `fs/`
    /// copy, or the file fetched live before planning); `None` when it was
    /// not collected or is not UTF-8. Facts carry no file contents, and an
    /// edit must start from the exact text: a runner that needs a text it
    /// cannot get refuses with [`Refusal::FileNotRead`].
    pub texts: &'a dyn Fn(&str, &str) -> Option<String>,
}

impl<'a> EnvFacts<'a> {
    /// The host of this environment with that name.
    pub fn host(&self, name: &str) -> Option<&'a HostFacts> {
        self.members().find(|h| h.name == name)
    }

    /// The environment's hosts, in inventory order.
    pub fn members(&self) -> impl Iterator<Item = &'a HostFacts> + '_ {
        self.hosts
            .iter()
            .filter(move |h| h.environment == self.environment)
    }

    /// The environment's db_master.
    pub fn master(&self) -> Option<&'a HostFacts> {
        self.members().find(|h| h.has_role(Role::DbMaster))
    }

    /// The inventory settings of a host (defaults when it has none).
    pub fn settings_of(&self, host: &str) -> HostSettings {
        self.settings.get(host).cloned().unwrap_or_default()
    }

    /// The application user of a host: the inventory's, else the facts'.
    pub fn app_user_of(&self, host: &HostFacts) -> Option<String> {
        self.settings
            .get(&host.name)
            .and_then(|s| s.app_user.clone())
            .or_else(|| host.app_user.clone())
    }

    /// `sslaudit rotate` for this environment, as a refusal names it.
    fn rotate_command(&self) -> commands::Command {
        commands::rotate(self.inventory, self.environment, false)
    }

    fn keygen_hint(&self) -> String {
        format!(
            "run `{}` first",
            commands::keygen(self.inventory, self.environment, false)
        )
    }
}

/// The run id and time a plan is made with (the caller's clock: runners
/// read no clock, so the same inputs always make the same plan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanMeta {
    /// Names the journal folder and backup folders (letters, digits, `-`,
    /// `_`, `.`).
    pub run_id: String,
    /// RFC 3339; also the time certificates are judged valid at.
    pub created_at: String,
    /// `remediate plan --allow-live-sessions REASON`: enforce even though
    /// the session census shows (or cannot rule out) live sessions the
    /// change would cut off. The reason is written into the step, so the
    /// plan and the run's journal keep it.
    pub allow_live_sessions: Option<String>,
}

/// Why a finding gets no step: each names the host, account or file and
/// says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{rule} on {host}: no remediation runner plans this fix; {instead}")]
    NoRunner {
        rule: String,
        host: String,
        instead: String,
    },
    #[error(
        "{host} is not a host of environment {environment} in the facts given; plan with the environment the finding came from"
    )]
    UnknownHost { host: String, environment: String },
    #[error(
        "{host}: {what} was not collected; rescan the host so the plan can be checked against it"
    )]
    NotCollected { host: String, what: String },
    #[error(
        "{host}: the text of {path} was not collected; rescan the host (or fetch the file) so the plan can edit it"
    )]
    FileNotRead { host: String, path: String },
    #[error("{host}: client keys of {user} are missing ({missing}); {instead}")]
    ClientKeysMissing {
        host: String,
        user: String,
        missing: String,
        instead: String,
    },
    #[error("{host}: server keys are missing ({missing}); {instead}")]
    ServerKeysMissing {
        host: String,
        missing: String,
        instead: String,
    },
    #[error("{host}: account {account} is not in the server's account list; rescan the host")]
    AccountNotFound { host: String, account: String },
    #[error("account {account}: {reason}; change this account by hand")]
    UnquotableName { account: String, reason: String },
    #[error(
        "environment {environment} has no db_master in the inventory; REQUIRE X509 is set on the master (replicas get it by replication), so name the master in the inventory"
    )]
    NoMaster { environment: String },
    #[error("not enforcing REQUIRE X509 for {account}: {host} {reason}; {instead}")]
    NotReadyForX509 {
        account: String,
        host: String,
        reason: String,
        instead: String,
    },
    #[error(
        "{subject}: live sessions would be cut off: {sessions}; move these clients to TLS with a client certificate and rescan (`sslaudit scan --json` lists every session under hosts[].census), or plan with --allow-live-sessions REASON"
    )]
    LiveSessions { subject: String, sessions: String },
    #[error(
        "{subject}: who is connected to {host} cannot be seen ({why}), so the plan cannot show that no live session would be cut off; turn performance_schema on (and grant the scanner SELECT on performance_schema and PROCESS) and rescan, or plan with --allow-live-sessions REASON"
    )]
    CensusBlind {
        subject: String,
        host: String,
        why: String,
    },
    #[error("{host}: {reason}; {instead}")]
    ServerNotReady {
        host: String,
        reason: String,
        instead: String,
    },
    #[error("{host}: cannot edit {path}: {reason}; {instead}")]
    CannotEdit {
        host: String,
        path: String,
        reason: String,
        instead: String,
    },
    #[error("{host}: {reason}; {instead}")]
    NotFixable {
        host: String,
        reason: String,
        instead: String,
    },
    #[error(
        "{host}: {what} is already fixed in the collected files; rescan to refresh the finding"
    )]
    AlreadyFixed { host: String, what: String },
}

/// How a rule's findings are fixed.
#[derive(Clone, Copy)]
pub(crate) enum Fix {
    /// Planned here (`sslaudit remediate plan --rule ID`) by the named
    /// runner's function, per host.
    Plan(&'static str, PlanFn),
    /// Its own command: `rotate` or `keygen`.
    Command(&'static str),
}

/// A runner's planning of one rule's findings on one host.
pub(crate) type PlanFn = fn(&mut Builder, &HostFacts, &[&Finding]);

/// Every fixable rule and how: the one place to add a fixable rule. Plans
/// run the `Plan` rows in this order (config and database.yml first:
/// enforce-x509 looks at what the plan already changed).
pub(crate) const RUNNERS: &[(&str, Fix)] = &[
    ("SSL002", Fix::Plan("config", config::ssl_options::plan)),
    (
        "SSL009",
        Fix::Plan("config", config::stale_autogenerated::plan),
    ),
    ("SSL010", Fix::Plan("config", config::randfile::plan)),
    ("SSL014", Fix::Plan("config", config::key_modes::plan)),
    (
        "SSL017",
        Fix::Plan("config", config::secure_transport::plan),
    ),
    ("SSL006", Fix::Plan("database-yml", database_yml::plan)),
    ("SSL005", Fix::Plan("enforce-x509", enforce_x509::plan)),
    // The server does not run SSL, or runs other keys than its files, or
    // its keys are broken, expired, weak or from another CA: new keys,
    // distributed and loaded, is the seed's Key Maintenance.
    ("SSL001", Fix::Command("rotate")),
    ("SSL003", Fix::Command("rotate")),
    ("SSL004", Fix::Command("rotate")),
    ("SSL011", Fix::Command("rotate")),
    ("SSL012", Fix::Command("rotate")),
    ("SSL016", Fix::Command("rotate")),
    ("SSL018", Fix::Command("rotate")),
    // A user's client keys are missing where distribution puts them.
    ("SSL013", Fix::Command("keygen")),
];

fn fix_of(rule_id: &str) -> Option<Fix> {
    RUNNERS
        .iter()
        .find(|(id, _)| *id == rule_id)
        .map(|(_, fix)| *fix)
}

/// The runner that plans the fix of a rule's findings, for the "fix
/// command" shown in reports: `enforce-x509`, `database-yml` and `config`
/// plan through `sslaudit remediate plan --rule ID`; `rotate` and `keygen`
/// are their own commands. `None`: fixed by hand (`sslaudit explain ID`).
pub fn runner_for(rule_id: &str) -> Option<&'static str> {
    fix_of(rule_id).map(|fix| match fix {
        Fix::Plan(runner, _) | Fix::Command(runner) => runner,
    })
}

/// What to do instead for a finding no runner of this module plans.
fn instead_for(rule: &str, inventory: &str, environment: &str) -> String {
    match runner_for(rule) {
        Some("rotate") => format!("run `{}`", commands::rotate(inventory, environment, false)),
        Some("keygen") => format!("run `{}`", commands::keygen(inventory, environment, false)),
        _ => format!("fix it by hand as `{}` describes", commands::explain(rule)),
    }
}

/// Plans the fixes of `findings` in one environment: each finding goes to
/// its runner, and their steps are combined into one plan: per host (the
/// master, then replicas, then application hosts) directories, moves, mode
/// changes and file edits (one write per file, all edits of it combined);
/// then application restarts, SQL on the master, MySQL restarts (master
/// first, one per host), and last the steps only shown to the user. Step
/// ids are 1, 2, 3... in that order.
pub fn plan_for_findings(
    env: &EnvFacts,
    findings: &[Finding],
    meta: &PlanMeta,
) -> (Plan, Vec<(Finding, Refusal)>) {
    let mut b = Builder::new(env, meta);
    // Findings grouped by (rule, host), in a stable order.
    let mut groups: BTreeMap<(String, String), Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        if let Some(Fix::Plan(..)) = fix_of(&f.rule_id) {
            groups
                .entry((f.rule_id.clone(), f.host.clone()))
                .or_default()
                .push(f);
        } else {
            b.refuse(
                f,
                Refusal::NoRunner {
                    rule: f.rule_id.clone(),
                    host: f.host.clone(),
                    instead: instead_for(&f.rule_id, env.inventory, env.environment),
                },
            );
        }
    }
    for (rule, fix) in RUNNERS {
        let Fix::Plan(_, plan) = fix else {
            continue;
        };
        for ((r, host_name), group) in &groups {
            if r != rule {
                continue;
            }
            match env.host(host_name) {
                Some(host) if group.iter().all(|f| f.environment == env.environment) => {
                    plan(&mut b, host, group);
                }
                _ => {
                    for f in group {
                        b.refuse(
                            f,
                            Refusal::UnknownHost {
                                host: host_name.clone(),
                                environment: env.environment.to_string(),
                            },
                        );
                    }
                }
            }
        }
    }
    b.finish()
}

/// Order of the combined plan's parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    Files,
    AppRestart,
    Sql,
    ServerRestart,
    Display,
}

/// A step before it gets its id.
pub(crate) struct Draft {
    pub phase: Phase,
    pub host: String,
    pub action: Action,
    pub why: String,
    pub precondition: Option<Precondition>,
    pub undo: Option<Action>,
    pub undo_last: bool,
    pub applicability: Applicability,
}

/// A file whose text one or more runners edit: written once, with every
/// edit, at the place of its first edit.
pub(crate) struct TextEdit {
    seq: usize,
    host: String,
    original: String,
    current: String,
    mode: u32,
    owner: Option<String>,
    group: Option<String>,
    whys: Vec<String>,
}

/// Collects the steps of every runner, then orders and numbers them.
pub(crate) struct Builder<'e, 'a> {
    pub env: &'e EnvFacts<'a>,
    pub meta: &'e PlanMeta,
    drafts: Vec<(usize, Draft)>,
    edits: BTreeMap<(String, String), TextEdit>,
    mysql_restarts: BTreeMap<String, (usize, Vec<String>)>,
    app_restarts: BTreeMap<String, (usize, String, Vec<String>)>,
    refusals: Vec<(Finding, Refusal)>,
    rules: BTreeSet<String>,
    seq: usize,
}

impl<'e, 'a> Builder<'e, 'a> {
    pub(crate) fn new(env: &'e EnvFacts<'a>, meta: &'e PlanMeta) -> Self {
        Builder {
            env,
            meta,
            drafts: Vec::new(),
            edits: BTreeMap::new(),
            mysql_restarts: BTreeMap::new(),
            app_restarts: BTreeMap::new(),
            refusals: Vec::new(),
            rules: BTreeSet::new(),
            seq: 0,
        }
    }

    fn next(&mut self) -> usize {
        self.seq += 1;
        self.seq
    }

    pub(crate) fn refuse(&mut self, finding: &Finding, refusal: Refusal) {
        self.refusals.push((finding.clone(), refusal));
    }

    /// Marks a rule as (partly) fixed by the plan, for its title.
    pub(crate) fn fixes(&mut self, rule: &str) {
        self.rules.insert(rule.to_string());
    }

    pub(crate) fn push(&mut self, draft: Draft) {
        let seq = self.next();
        self.drafts.push((seq, draft));
    }

    /// A step that only shows the user something (never executed).
    pub(crate) fn display(&mut self, host: &str, why: String, shown: String) {
        self.push(Draft {
            phase: Phase::Display,
            host: host.to_string(),
            // A harmless command that prints what the user must do, so the
            // plan shows it verbatim; display-only steps never run.
            action: Action::RunCommand {
                command: format!("cat <<'SSLAUDIT_EOF'\n{shown}SSLAUDIT_EOF"),
                expect_status: 0,
            },
            why,
            precondition: None,
            undo: None,
            undo_last: false,
            applicability: Applicability::DisplayOnly,
        });
    }

    /// The text of a file as this plan leaves it so far: the collected
    /// text, with the edits already planned.
    pub(crate) fn text(&self, host: &HostFacts, path: &str) -> Result<String, Refusal> {
        if let Some(e) = self.edits.get(&(host.name.clone(), path.to_string())) {
            return Ok(e.current.clone());
        }
        (self.env.texts)(&host.name, path).ok_or_else(|| Refusal::FileNotRead {
            host: host.name.clone(),
            path: path.to_string(),
        })
    }

    /// Whether this plan already edits the file.
    pub(crate) fn is_edited(&self, host: &str, path: &str) -> bool {
        self.edits
            .contains_key(&(host.to_string(), path.to_string()))
    }

    /// Records a new text for a file. The plan carries only the changed
    /// lines and the hash of the collected file; the write refuses when the
    /// file changed since it was collected.
    pub(crate) fn edit(&mut self, host: &HostFacts, path: &str, text: String, why: String) {
        let key = (host.name.clone(), path.to_string());
        if let Some(e) = self.edits.get_mut(&key) {
            e.current = text;
            e.whys.push(why);
            return;
        }
        let Some(original) = (self.env.texts)(&host.name, path) else {
            return;
        };
        let meta = host.file(path);
        let seq = self.next();
        self.edits.insert(
            key,
            TextEdit {
                seq,
                host: host.name.clone(),
                original,
                current: text,
                mode: meta.and_then(|m| m.mode).unwrap_or(0o644),
                owner: meta.and_then(|m| m.owner.clone()),
                group: meta.and_then(|m| m.group.clone()),
                whys: vec![why],
            },
        );
    }

    /// One MySQL restart for the host at the end of the plan.
    pub(crate) fn restart_mysql(&mut self, host: &str, why: String) {
        let seq = self.next();
        let entry = self
            .mysql_restarts
            .entry(host.to_string())
            .or_insert((seq, Vec::new()));
        if !entry.1.contains(&why) {
            entry.1.push(why);
        }
    }

    /// One application restart for the host, after its file edits.
    pub(crate) fn restart_app(&mut self, host: &str, command: &str, why: String) {
        let seq = self.next();
        let entry = self.app_restarts.entry(host.to_string()).or_insert((
            seq,
            command.to_string(),
            Vec::new(),
        ));
        if !entry.2.contains(&why) {
            entry.2.push(why);
        }
    }

    /// Whether the plan restarts the application on this host.
    pub(crate) fn restarts_app(&self, host: &str) -> bool {
        self.app_restarts.contains_key(host)
    }

    /// Master first, then replicas, application hosts, others; inventory
    /// order within each.
    fn rank(&self, host: &str) -> (u8, usize) {
        let members: Vec<&HostFacts> = self.env.members().collect();
        match members.iter().position(|h| h.name == host) {
            Some(i) => {
                let h = members[i];
                let class = if h.has_role(Role::DbMaster) {
                    0
                } else if h.has_role(Role::DbReplica) {
                    1
                } else if h.has_role(Role::App) {
                    2
                } else {
                    3
                };
                (class, i)
            }
            None => (4, usize::MAX),
        }
    }

    pub(crate) fn finish(self) -> (Plan, Vec<(Finding, Refusal)>) {
        let mut drafts: Vec<(usize, Draft)> = Vec::new();
        for ((_, path), e) in &self.edits {
            if e.current == e.original {
                continue;
            }
            drafts.push((
                e.seq,
                Draft {
                    phase: Phase::Files,
                    host: e.host.clone(),
                    action: Action::WriteFile {
                        path: path.clone(),
                        content: Content::Edit {
                            base_sha256: text::sha256_hex(e.original.as_bytes()),
                            edits: text::line_edits(&e.original, &e.current),
                        },
                        mode: e.mode,
                        owner: e.owner.clone(),
                        group: e.group.clone(),
                    },
                    why: e.whys.join("; "),
                    precondition: None,
                    undo: None,
                    undo_last: false,
                    applicability: Applicability::Safe,
                },
            ));
        }
        for (host, (seq, command, whys)) in &self.app_restarts {
            drafts.push((*seq, restart_draft(Phase::AppRestart, host, command, whys)));
        }
        for (host, (seq, whys)) in &self.mysql_restarts {
            let command = server::restart_command(&self.env.settings_of(host));
            drafts.push((
                *seq,
                restart_draft(Phase::ServerRestart, host, &command, whys),
            ));
        }
        let ranks: BTreeMap<String, (u8, usize)> = drafts
            .iter()
            .map(|(_, d)| &d.host)
            .chain(self.drafts.iter().map(|(_, d)| &d.host))
            .map(|h| (h.clone(), self.rank(h)))
            .collect();
        drafts.extend(self.drafts);
        drafts.sort_by_key(|(seq, d)| (d.phase, ranks.get(&d.host).copied(), *seq));
        let steps: Vec<Step> = drafts
            .into_iter()
            .enumerate()
            .map(|(i, (_, d))| Step {
                id: i + 1,
                host: d.host,
                action: d.action,
                why: d.why,
                precondition: d.precondition,
                undo: d.undo,
                undo_last: d.undo_last,
                applicability: d.applicability,
            })
            .collect();
        let rules: Vec<&str> = self.rules.iter().map(String::as_str).collect();
        let title = if rules.is_empty() {
            format!("remediate {}: nothing to do", self.env.environment)
        } else {
            format!(
                "remediate {}: fix {}",
                self.env.environment,
                rules.join(", ")
            )
        };
        let plan = Plan {
            run_id: self.meta.run_id.clone(),
            created_at: self.meta.created_at.clone(),
            title,
            generate: Vec::new(),
            steps,
        };
        (plan, self.refusals)
    }
}

/// A restart: needs confirmation (a brief downtime), and on rollback runs
/// again after every file is back, so the service reads its old files.
fn restart_draft(phase: Phase, host: &str, command: &str, whys: &[String]) -> Draft {
    Draft {
        phase,
        host: host.to_string(),
        action: Action::RunCommand {
            command: command.to_string(),
            expect_status: 0,
        },
        why: whys.join("; "),
        precondition: None,
        undo: Some(Action::RunCommand {
            command: command.to_string(),
            expect_status: 0,
        }),
        undo_last: true,
        applicability: Applicability::NeedsConfirmation,
    }
}

/// A user's client key files (`~user/.mysql/{ca,cert,key}` per layout) on
/// a host: from the `UserHome` identity the collector built, else from the
/// user's home in `/etc/passwd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientFiles {
    pub ca: String,
    pub cert: String,
    pub key: String,
}

impl ClientFiles {
    /// The layout's client CA, certificate and key file names in `dir`.
    pub(crate) fn in_dir(layout: &Layout, dir: &str) -> Self {
        ClientFiles {
            ca: format!("{dir}/{}", layout.client_ca),
            cert: format!("{dir}/{}", layout.client_cert),
            key: format!("{dir}/{}", layout.client_key),
        }
    }
}

pub(crate) fn client_files(host: &HostFacts, user: &str) -> Option<ClientFiles> {
    let dir = host
        .os_users
        .as_ref()
        .and_then(|u| u.get(user))
        .map(|u| host.layout.client_dir_for(&u.home))
        .or_else(|| {
            host.identities.iter().find_map(|i| match &i.kind {
                IdentityKind::UserHome { user: u } if u == user => [&i.ca, &i.cert, &i.key]
                    .into_iter()
                    .flatten()
                    .find_map(|p| p.rsplit_once('/').map(|(d, _)| d.to_string())),
                _ => None,
            })
        })?;
    Some(ClientFiles::in_dir(&host.layout, &dir))
}

/// The paths of `paths` that the collector did not see present.
pub(crate) fn not_present<'p>(host: &HostFacts, paths: &[&'p str]) -> Vec<&'p str> {
    paths
        .iter()
        .copied()
        .filter(|p| !matches!(host.file(p).map(|m| &m.status), Some(FileStatus::Present)))
        .collect()
}

/// A text split into lines that keep their line endings, so that joining
/// them gives the text back byte for byte.
pub(crate) fn split_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// The line ending the file uses (`\r\n` when its first line has one).
pub(crate) fn line_ending(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// A line without its ending.
pub(crate) fn bare(line: &str) -> &str {
    line.trim_end_matches(['\n', '\r'])
}

/// Leading whitespace of a line.
pub(crate) fn indent_of(line: &str) -> &str {
    let t = line.trim_start_matches([' ', '\t']);
    &line[..line.len() - t.len()]
}

/// A plan that lays key files out (directories first, then files), and the
/// store holding the private keys it refers to: a plan printed or saved as
/// JSON never contains key material.
///
/// `host_of` maps a key file's host to the plan host that receives it;
/// `with_owners` keeps the files' owners (false when writing to a local
/// folder, where the service users may not exist).
pub fn key_files_plan(
    files: &[KeyFile],
    run_id: &str,
    created_at: &str,
    title: &str,
    host_of: impl Fn(&KeyFile) -> (String, String),
    with_owners: bool,
) -> (Plan, BTreeMap<String, Vec<u8>>) {
    let mut steps = Vec::new();
    let mut store = BTreeMap::new();
    let placed: Vec<(String, String, &KeyFile)> = files
        .iter()
        .map(|f| {
            let (host, path) = host_of(f);
            (host, path, f)
        })
        .collect();
    let dirs: BTreeSet<(String, String)> = placed
        .iter()
        .filter_map(|(host, path, _)| {
            path.rsplit_once('/')
                .map(|(dir, _)| (host.clone(), dir.to_string()))
        })
        .filter(|(_, dir)| !dir.is_empty())
        .collect();
    for (host, dir) in dirs {
        steps.push(Step::safe(
            steps.len() + 1,
            host,
            Action::MakeDir {
                path: dir,
                mode: 0o755,
                owner: None,
            },
            "the layout's key directory",
        ));
    }
    for (host, path, f) in placed {
        let content = if f.private {
            let id = format!("{host}:{path}");
            store.insert(id.clone(), f.content.clone().into_bytes());
            Content::Generated { id }
        } else {
            Content::Text(f.content.clone())
        };
        steps.push(Step::safe(
            steps.len() + 1,
            host,
            Action::WriteFile {
                path,
                content,
                mode: f.mode,
                owner: with_owners.then(|| f.owner.clone()),
                group: with_owners.then(|| f.group.clone()),
            },
            if f.private {
                format!(
                    "private key for {} (mode {:04o} from creation)",
                    f.host, f.mode
                )
            } else {
                format!("certificate for {}", f.host)
            },
        ));
    }
    let plan = Plan {
        run_id: run_id.to_string(),
        created_at: created_at.to_string(),
        title: title.to_string(),
        generate: Vec::new(),
        steps,
    };
    (plan, store)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runners::testutil::*;
    use sslaudit_rules::Location;
    use sslaudit_rules::facts::OpensslCnf;

    #[test]
    fn the_runner_table_names_each_rule_of_the_catalogue_once() {
        let mut seen = BTreeSet::new();
        for (id, _) in RUNNERS {
            assert!(seen.insert(*id), "{id} twice in RUNNERS");
            assert!(
                sslaudit_rules::registry::find(id).is_some(),
                "{id} is no rule"
            );
        }
    }

    #[test]
    fn runner_names_for_reports() {
        assert_eq!(runner_for("SSL005"), Some("enforce-x509"));
        assert_eq!(runner_for("SSL006"), Some("database-yml"));
        for id in ["SSL002", "SSL009", "SSL010", "SSL014", "SSL017"] {
            assert_eq!(runner_for(id), Some("config"), "{id}");
        }
        for id in [
            "SSL001", "SSL003", "SSL004", "SSL011", "SSL012", "SSL016", "SSL018",
        ] {
            assert_eq!(runner_for(id), Some("rotate"), "{id}");
        }
        assert_eq!(runner_for("SSL013"), Some("keygen"));
        for id in ["SSL007", "SSL008", "SSL015", "SSL019", "SSL020", "SCAN001"] {
            assert_eq!(runner_for(id), None, "{id}");
        }
    }

    /// Two db hosts with an active RANDFILE and an SSL002 restart each:
    /// edits first, then one restart per host, master before replica.
    #[test]
    fn combined_plan_orders_edits_before_restarts_and_refuses_the_rest() {
        let cnf = "HOME = .\nRANDFILE = $ENV::HOME/.rnd\n";
        let mut hosts = Vec::new();
        for (name, role) in [
            ("db-replica-1", Role::DbReplica),
            ("db-master", Role::DbMaster),
        ] {
            let mut h = db_host(name);
            h.roles = [role].into();
            h.openssl_cnf = Some(OpensslCnf {
                path: "/etc/ssl/openssl.cnf".into(),
                randfile: vec![(2, "RANDFILE = $ENV::HOME/.rnd".into())],
            });
            options(&mut h, MY_CNF, &[("datadir", Some(DATA), 2)]);
            server_keys(&mut h, DATA);
            h.identities.clear();
            hosts.push(h);
        }
        let mut w = World::new(hosts);
        for name in ["db-master", "db-replica-1"] {
            w.text(name, "/etc/ssl/openssl.cnf", cnf);
            w.text(name, MY_CNF, "[mysqld]\ndatadir = /db/mysql/5.6/data\n");
        }
        let mut findings = Vec::new();
        for name in ["db-replica-1", "db-master"] {
            findings.push(finding(
                "SSL010",
                name,
                Location::file("/etc/ssl/openssl.cnf", Some(2)).with_object("openssl-cnf:RANDFILE"),
            ));
            for o in ["ssl_ca", "ssl_cert", "ssl_key"] {
                findings.push(finding(
                    "SSL002",
                    name,
                    Location::file(MY_CNF, None).with_object(format!("option:{o}")),
                ));
            }
        }
        findings.push(finding(
            "SSL004",
            "db-master",
            Location::object("cert:/x#0"),
        ));
        findings.push(finding(
            "SSL015",
            "db-master",
            Location::object("variable:tls_version"),
        ));
        findings.push(finding(
            "SSL010",
            "db-9",
            Location::object("openssl-cnf:RANDFILE"),
        ));
        let (plan, refusals) = w.plan(&findings);
        let order: Vec<(usize, &str, &str)> = plan
            .steps
            .iter()
            .map(|s| {
                (
                    s.id,
                    s.host.as_str(),
                    match &s.action {
                        Action::WriteFile { path, .. } => path.as_str(),
                        Action::RunCommand { .. } => "restart",
                        _ => "other",
                    },
                )
            })
            .collect();
        assert_eq!(
            order,
            [
                (1, "db-master", MY_CNF),
                (2, "db-master", "/etc/ssl/openssl.cnf"),
                (3, "db-replica-1", MY_CNF),
                (4, "db-replica-1", "/etc/ssl/openssl.cnf"),
                (5, "db-master", "restart"),
                (6, "db-replica-1", "restart"),
            ]
        );
        assert_eq!(plan.title, "remediate production: fix SSL002, SSL010");
        let msgs: Vec<String> = refusals
            .iter()
            .map(|(f, r)| format!("{}: {r}", f.rule_id))
            .collect();
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert!(msgs[0].contains("SSL004 on db-master: no remediation runner plans this fix; run `sslaudit rotate --inventory fleet.yaml --environment production`"), "{msgs:?}");
        assert!(msgs[1].contains("sslaudit explain SSL015"), "{msgs:?}");
        assert!(
            msgs[2].contains("db-9 is not a host of environment production"),
            "{msgs:?}"
        );
        // The same inputs make the same plan.
        assert_eq!(w.plan(&findings).0, plan);
    }

    fn file(path: &str, private: bool) -> KeyFile {
        KeyFile {
            host: "db-master".into(),
            path: path.into(),
            content: if private {
                "-----BEGIN RSA PRIVATE KEY-----".into()
            } else {
                "cert".into()
            },
            mode: if private { 0o600 } else { 0o644 },
            owner: "mysql".into(),
            group: "mysql".into(),
            private,
        }
    }

    #[test]
    fn keys_stay_out_of_the_plan() {
        let files = [
            file("/db/k/server.key", true),
            file("/db/k/server.crt", false),
        ];
        let (plan, store) = key_files_plan(
            &files,
            "run-1",
            "2026-11-30T00:00:00Z",
            "keygen",
            |f| (f.host.clone(), f.path.clone()),
            false,
        );
        plan.validate().unwrap();
        let json = serde_json::to_string(&plan).unwrap();
        assert!(!json.contains("PRIVATE KEY"));
        assert_eq!(store.len(), 1);
        assert!(matches!(plan.steps[0].action, Action::MakeDir { .. }));
        assert_eq!(plan.steps.len(), 3);
    }
}
