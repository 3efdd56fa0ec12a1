//! The plan data model: what a remediation will do, as data a person can
//! read (`Plan::to_text`) and a machine can store (`serde_json`) before
//! anything changes.
//!
//! File actions (`WriteFile`, `MakeDir`, `MoveFile`) are undone
//! automatically from the journal (backups restored byte-for-byte), so
//! their `undo` must be `None`; commands and SQL cannot be undone by the
//! engine and carry their own `undo` action when one exists.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// An ordered list of steps, identified by a run id that names its journal
/// folder on the control machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Names the journal folder (`<state_dir>/<run_id>/`); only ASCII
    /// letters, digits, `-`, `_` and `.` (checked by [`Plan::validate`]).
    pub run_id: String,
    /// RFC 3339 time the plan was made.
    pub created_at: String,
    pub title: String,
    /// Keys and certificates made at apply time, never stored in the plan:
    /// `Content::Generated` ids refer to them (see [`Recipe`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generate: Vec<Recipe>,
    pub steps: Vec<Step>,
}

/// One change on one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Unique within the plan and strictly increasing in plan order.
    pub id: usize,
    pub host: String,
    pub action: Action,
    /// Why the step exists (the finding it fixes, the seed step it follows).
    pub why: String,
    /// Checked on the target right before the step runs.
    pub precondition: Option<Precondition>,
    /// How to undo a `RunCommand`/`RunSql` step (itself a command or SQL);
    /// `None` for file actions, which the engine undoes from the journal.
    pub undo: Option<Action>,
    /// Rollback runs this step's `undo` after every other step was undone
    /// (reloading TLS once the old key files are back), in plan order.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub undo_last: bool,
    pub applicability: Applicability,
}

/// Whether a step may run without a person saying yes (ruff's fix
/// applicability).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Applicability {
    /// Runs whenever the plan is applied.
    Safe,
    /// Runs only when the user confirmed (`--yes` or an answer at the prompt).
    NeedsConfirmation,
    /// Shown to the user, never executed (e.g. a change to a chef template
    /// that the user must make themselves).
    DisplayOnly,
}

/// The bytes a `WriteFile` writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Content {
    /// Literal text, stored in the plan.
    Text(String),
    /// Bytes produced at apply time (a private key, a certificate signed
    /// with a key that must not appear in the plan), looked up by `id` in
    /// the [`GeneratedContent`](crate::apply::GeneratedContent) store.
    Generated { id: String },
    /// Line edits of the file as it was when the plan was made (its
    /// SHA-256 `base_sha256`): only the changed lines are in the plan, never
    /// the rest of the file, which may hold passwords. The step refuses
    /// when the file changed since.
    Edit {
        base_sha256: String,
        edits: Vec<crate::text::LineEdit>,
    },
    /// The parts one after the other, each ending in a newline (a CA
    /// bundle: the old CA and the new one, trusted side by side).
    Bundle { parts: Vec<Content> },
}

impl Content {
    /// One phrase for a person.
    pub fn describe(&self) -> String {
        match self {
            Content::Text(t) => format!("{} bytes of text", t.len()),
            Content::Generated { id } => format!("generated content {id:?}"),
            Content::Edit { edits, .. } => {
                let lines: usize = edits
                    .iter()
                    .map(|e| e.delete.max(e.insert.lines().count()))
                    .sum();
                format!("an edit of {lines} line(s) of the file as collected")
            }
            Content::Bundle { parts } => {
                let parts: Vec<String> = parts.iter().map(Content::describe).collect();
                format!("a bundle of {}", parts.join(" + "))
            }
        }
    }
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// Write a whole file atomically (temp file + rename) with this mode and
    /// ownership; an existing file is backed up first.
    WriteFile {
        path: String,
        content: Content,
        mode: u32,
        owner: Option<String>,
        group: Option<String>,
    },
    /// Create a directory and any missing parents (`mkdir -p`).
    MakeDir {
        path: String,
        mode: u32,
        owner: Option<String>,
    },
    /// Rename `from` to `to`; `to` must not exist (backup destinations
    /// carry the run id so an older backup is never overwritten).
    MoveFile { from: String, to: String },
    /// A shell command, already quoted, that must exit with `expect_status`.
    RunCommand { command: String, expect_status: i32 },
    /// SQL run over the host's administrative connection.
    RunSql { sql: String },
    /// Change an existing file's mode and ownership in place (the old ones
    /// are journaled and restored on rollback).
    SetMode {
        path: String,
        mode: u32,
        owner: Option<String>,
        group: Option<String>,
    },
    /// Read-only check: the MySQL server on this host presents `cert` (its
    /// leaf certificate, compared by SHA-256 of the DER) in the TLS
    /// handshake, i.e. it has loaded the new files.
    VerifyTls { cert: Content },
}

/// Something made at apply time: a key and a certificate, stored under the
/// ids `<id>.key` and `<id>.crt` in the run's generated-content store
/// (0600, beside the journal) so that a resumed run writes the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Recipe {
    /// A new self-signed CA.
    Ca {
        id: String,
        common_name: String,
        days: u32,
        algo: KeyType,
    },
    /// A server or client certificate and its new key, signed by `issuer`.
    Leaf {
        id: String,
        usage: Usage,
        common_name: String,
        /// DNS names and IP addresses.
        sans: Vec<String>,
        days: u32,
        algo: KeyType,
        issuer: Issuer,
    },
}

/// The key type of a recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyType {
    Rsa2048,
    Rsa4096,
    EcdsaP256,
}

/// What a leaf certificate is for (its extendedKeyUsage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Usage {
    Server,
    Client,
}

/// Who signs a leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Issuer {
    /// A CA recipe of the same plan.
    Generated { id: String },
    /// A CA whose key stays on `host`: the certificate request is signed
    /// there with `openssl x509 -req` (read-only: nothing is written).
    Remote {
        host: String,
        cert_path: String,
        key_path: String,
    },
    /// A CA in files on the control machine (`--ca-cert`/`--ca-key`).
    Local { cert_path: String, key_path: String },
}

impl Recipe {
    pub fn id(&self) -> &str {
        match self {
            Recipe::Ca { id, .. } | Recipe::Leaf { id, .. } => id,
        }
    }

    /// One line for a person.
    pub fn describe(&self) -> String {
        match self {
            Recipe::Ca {
                id,
                common_name,
                days,
                algo,
            } => format!("{id}: new CA \"{common_name}\" ({algo:?}, {days} days)"),
            Recipe::Leaf {
                id,
                usage,
                common_name,
                sans,
                days,
                algo,
                issuer,
            } => {
                let by = match issuer {
                    Issuer::Generated { id } => format!("the new CA {id}"),
                    Issuer::Remote {
                        host,
                        cert_path,
                        key_path,
                    } => format!("{cert_path} with {key_path} on {host} (the CA key stays there)"),
                    Issuer::Local {
                        cert_path,
                        key_path,
                    } => format!("local {cert_path} with {key_path}"),
                };
                let sans = if sans.is_empty() {
                    String::new()
                } else {
                    format!(", SANs {}", sans.join(", "))
                };
                format!(
                    "{id}: new {usage:?} key and certificate CN={common_name}{sans} ({algo:?}, {days} days), signed by {by}"
                )
            }
        }
    }
}

/// A condition on the target that must hold before a step runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Precondition {
    FileExists {
        path: String,
    },
    FileAbsent {
        path: String,
    },
    /// The file exists and its content contains `text`.
    FileContains {
        path: String,
        text: String,
    },
    /// The command exits with status 0.
    CommandSucceeds {
        command: String,
    },
}

/// A plan that cannot be executed as written.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("run id {0:?} is not a safe folder name (use letters, digits, '-', '_', '.')")]
    BadRunId(String),
    #[error("step {id} is out of order or duplicated (previous step id {previous})")]
    StepOrder { id: usize, previous: usize },
    #[error("step {id} has an undo action but {what} is undone from the journal")]
    UndoOnFileAction { id: usize, what: &'static str },
    #[error("step {id}: an undo action must be a command or SQL, not {what}")]
    FileActionAsUndo { id: usize, what: &'static str },
    #[error("step {id}: path {path:?} must be absolute and free of '..'")]
    BadPath { id: usize, path: String },
    #[error("step {id}: mode {mode:o} has bits outside 0o7777")]
    BadMode { id: usize, mode: u32 },
    #[error("step {id}: undo_last without an undo action")]
    UndoLastWithoutUndo { id: usize },
    #[error("recipe id {0:?} is duplicated or not a safe name")]
    BadRecipe(String),
    #[error("step {id}: {message}")]
    BadEdit { id: usize, message: String },
}

impl Action {
    /// One line for a person: what the action does, with paths and modes.
    pub fn describe(&self) -> String {
        match self {
            Action::WriteFile {
                path,
                content,
                mode,
                owner,
                group,
            } => {
                let what = content.describe();
                format!(
                    "write {path} ({what}, mode {mode:04o}{})",
                    ownership(owner.as_deref(), group.as_deref())
                )
            }
            Action::MakeDir { path, mode, owner } => format!(
                "create directory {path} (mode {mode:04o}{})",
                ownership(owner.as_deref(), None)
            ),
            Action::MoveFile { from, to } => format!("move {from} to {to}"),
            Action::RunCommand {
                command,
                expect_status,
            } => {
                if *expect_status == 0 {
                    format!("run `{command}`")
                } else {
                    format!("run `{command}` (expecting exit status {expect_status})")
                }
            }
            Action::RunSql { sql } => format!("run SQL `{sql}`"),
            Action::SetMode {
                path,
                mode,
                owner,
                group,
            } => format!(
                "set {path} to mode {mode:04o}{}",
                ownership(owner.as_deref(), group.as_deref())
            ),
            Action::VerifyTls { cert } => match cert {
                Content::Generated { id } => {
                    format!("check that the server presents the certificate {id:?}")
                }
                _ => "check that the server presents the given certificate".into(),
            },
        }
    }

    /// The kind name used in messages and JSON (`write_file`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Action::WriteFile { .. } => "write_file",
            Action::MakeDir { .. } => "make_dir",
            Action::MoveFile { .. } => "move_file",
            Action::RunCommand { .. } => "run_command",
            Action::RunSql { .. } => "run_sql",
            Action::SetMode { .. } => "set_mode",
            Action::VerifyTls { .. } => "verify_tls",
        }
    }

    /// Whether the engine undoes this action from the journal.
    pub fn is_file_action(&self) -> bool {
        matches!(
            self,
            Action::WriteFile { .. }
                | Action::MakeDir { .. }
                | Action::MoveFile { .. }
                | Action::SetMode { .. }
        )
    }

    fn paths(&self) -> Vec<&str> {
        match self {
            Action::WriteFile { path, .. }
            | Action::MakeDir { path, .. }
            | Action::SetMode { path, .. } => vec![path],
            Action::MoveFile { from, to } => vec![from, to],
            Action::RunCommand { .. } | Action::RunSql { .. } | Action::VerifyTls { .. } => {
                Vec::new()
            }
        }
    }
}

fn ownership(owner: Option<&str>, group: Option<&str>) -> String {
    match (owner, group) {
        (None, None) => String::new(),
        (Some(o), None) => format!(", owner {o}"),
        (None, Some(g)) => format!(", group {g}"),
        (Some(o), Some(g)) => format!(", owner {o}:{g}"),
    }
}

impl Precondition {
    pub fn describe(&self) -> String {
        match self {
            Precondition::FileExists { path } => format!("{path} exists"),
            Precondition::FileAbsent { path } => format!("{path} does not exist"),
            Precondition::FileContains { path, text } => format!("{path} contains {text:?}"),
            Precondition::CommandSucceeds { command } => format!("`{command}` succeeds"),
        }
    }
}

impl Step {
    /// A `Safe` step with no precondition and no undo action of its own,
    /// the shape most steps have; a caller that needs more sets the other
    /// fields with struct update syntax (`Step { undo, ..Step::safe(..) }`).
    pub fn safe(
        id: usize,
        host: impl Into<String>,
        action: Action,
        why: impl Into<String>,
    ) -> Step {
        Step {
            id,
            host: host.into(),
            action,
            why: why.into(),
            precondition: None,
            undo: None,
            undo_last: false,
            applicability: Applicability::Safe,
        }
    }

    /// How this step is undone, for a person.
    pub fn describe_undo(&self) -> String {
        match (&self.action, &self.undo) {
            (Action::WriteFile { path, .. }, _) => {
                format!("restore the previous {path} from its backup (or remove it if it was new)")
            }
            (Action::MakeDir { path, .. }, _) => {
                format!("remove {path} and the parents this step created, if empty")
            }
            (Action::MoveFile { from, to }, _) => format!("move {to} back to {from}"),
            (Action::SetMode { path, .. }, _) => {
                format!("restore the previous mode and owner of {path}")
            }
            (Action::VerifyTls { .. }, _) => "nothing to undo (read-only check)".to_string(),
            (_, Some(undo)) => undo.describe(),
            (_, None) => "cannot be undone automatically".to_string(),
        }
    }
}

impl Plan {
    /// Checks what the engine relies on: a safe run id, strictly increasing
    /// step ids, absolute paths without `..`, sane modes, and undo actions
    /// only where the journal cannot undo.
    pub fn validate(&self) -> Result<(), PlanError> {
        if !is_safe_name(&self.run_id) {
            return Err(PlanError::BadRunId(self.run_id.clone()));
        }
        let mut ids = BTreeSet::new();
        for r in &self.generate {
            if !is_safe_name(r.id()) || !ids.insert(r.id()) {
                return Err(PlanError::BadRecipe(r.id().to_string()));
            }
        }
        let mut previous: Option<usize> = None;
        for step in &self.steps {
            if step.undo_last && step.undo.is_none() {
                return Err(PlanError::UndoLastWithoutUndo { id: step.id });
            }
            if let Action::VerifyTls {
                cert: Content::Edit { .. } | Content::Bundle { .. },
            } = &step.action
            {
                return Err(PlanError::BadEdit {
                    id: step.id,
                    message: "a certificate to verify must be one certificate".into(),
                });
            }
            if let Action::WriteFile {
                content: Content::Bundle { parts },
                ..
            } = &step.action
                && parts
                    .iter()
                    .any(|p| matches!(p, Content::Edit { .. } | Content::Bundle { .. }))
            {
                return Err(PlanError::BadEdit {
                    id: step.id,
                    message: "a bundle holds texts and generated content only".into(),
                });
            }
            if let Action::WriteFile {
                content: Content::Edit { edits, .. },
                ..
            } = &step.action
                && edits.windows(2).any(|w| w[1].at < w[0].at + w[0].delete)
            {
                return Err(PlanError::BadEdit {
                    id: step.id,
                    message: "line edits overlap or are out of order".into(),
                });
            }
            if let Some(p) = previous
                && step.id <= p
            {
                return Err(PlanError::StepOrder {
                    id: step.id,
                    previous: p,
                });
            }
            previous = Some(step.id);
            for path in step.action.paths() {
                if !is_clean_absolute(path) {
                    return Err(PlanError::BadPath {
                        id: step.id,
                        path: path.to_string(),
                    });
                }
            }
            if let Action::WriteFile { mode, .. }
            | Action::MakeDir { mode, .. }
            | Action::SetMode { mode, .. } = &step.action
                && *mode & !0o7777 != 0
            {
                return Err(PlanError::BadMode {
                    id: step.id,
                    mode: *mode,
                });
            }
            if step.action.is_file_action() && step.undo.is_some() {
                return Err(PlanError::UndoOnFileAction {
                    id: step.id,
                    what: step.action.kind(),
                });
            }
            if let Some(undo) = &step.undo
                && undo.is_file_action()
            {
                return Err(PlanError::FileActionAsUndo {
                    id: step.id,
                    what: undo.kind(),
                });
            }
        }
        Ok(())
    }

    /// The plan for a person: title, then numbered steps with host, what,
    /// why, precondition, undo and whether it needs confirmation.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} (run {}, planned {})",
            self.title, self.run_id, self.created_at
        );
        let hosts: BTreeSet<&str> = self.steps.iter().map(|s| s.host.as_str()).collect();
        let _ = writeln!(
            out,
            "{} step(s) on {} host(s)",
            self.steps.len(),
            hosts.len()
        );
        if !self.generate.is_empty() {
            let _ = writeln!(out, "made when the plan is applied (never stored in it):");
            for r in &self.generate {
                let _ = writeln!(out, "  - {}", r.describe());
            }
        }
        for step in &self.steps {
            let tag = match step.applicability {
                Applicability::Safe => "",
                Applicability::NeedsConfirmation => " [needs confirmation]",
                Applicability::DisplayOnly => " [shown only, not executed]",
            };
            let _ = writeln!(
                out,
                "\n{:>3}. [{}] {}{tag}",
                step.id,
                step.host,
                step.action.describe()
            );
            let _ = writeln!(out, "     why:  {}", step.why);
            if let Some(pre) = &step.precondition {
                let _ = writeln!(out, "     only if: {}", pre.describe());
            }
            let _ = writeln!(out, "     undo: {}", step.describe_undo());
        }
        out
    }

    /// The step with this id.
    pub fn step(&self, id: usize) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }
}

pub(crate) fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

pub(crate) fn is_clean_absolute(path: &str) -> bool {
    path.starts_with('/') && !path.split('/').any(|c| c == "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(id: usize, action: Action) -> Step {
        Step {
            id,
            host: "db-master".into(),
            action,
            why: "because".into(),
            precondition: None,
            undo: None,
            undo_last: false,
            applicability: Applicability::Safe,
        }
    }

    #[test]
    fn json_round_trip_keeps_every_field() {
        let plan = Plan {
            run_id: "r1".into(),
            created_at: "2026-06-01T00:00:00Z".into(),
            title: "t".into(),
            generate: Vec::new(),
            steps: vec![
                step(
                    1,
                    Action::WriteFile {
                        path: "/a".into(),
                        content: Content::Generated { id: "k".into() },
                        mode: 0o600,
                        owner: Some("mysql".into()),
                        group: None,
                    },
                ),
                Step {
                    undo: Some(Action::RunSql {
                        sql: "ALTER USER 'o''brien'@'%' REQUIRE NONE".into(),
                    }),
                    precondition: Some(Precondition::FileContains {
                        path: "/b".into(),
                        text: "x".into(),
                    }),
                    applicability: Applicability::NeedsConfirmation,
                    ..step(
                        2,
                        Action::RunSql {
                            sql: "ALTER USER 'o''brien'@'%' REQUIRE X509".into(),
                        },
                    )
                },
            ],
        };
        let json = serde_json::to_string_pretty(&plan).expect("serializes");
        let back: Plan = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, plan);
        assert!(json.contains("\"kind\": \"write_file\""), "{json}");
        assert!(json.contains("\"needs_confirmation\""), "{json}");
    }

    #[test]
    fn validate_rejects_what_the_engine_cannot_do() {
        let mut plan = Plan {
            run_id: "../x".into(),
            created_at: String::new(),
            title: String::new(),
            generate: Vec::new(),
            steps: vec![],
        };
        assert!(matches!(plan.validate(), Err(PlanError::BadRunId(_))));
        plan.run_id = "ok-1".into();
        plan.steps = vec![
            step(2, Action::RunSql { sql: "x".into() }),
            step(1, Action::RunSql { sql: "y".into() }),
        ];
        assert_eq!(
            plan.validate(),
            Err(PlanError::StepOrder { id: 1, previous: 2 })
        );
        plan.steps = vec![step(
            1,
            Action::MoveFile {
                from: "/a/../etc".into(),
                to: "/b".into(),
            },
        )];
        assert!(matches!(plan.validate(), Err(PlanError::BadPath { .. })));
        plan.steps = vec![Step {
            undo: Some(Action::RunSql { sql: "x".into() }),
            ..step(
                1,
                Action::MakeDir {
                    path: "/a".into(),
                    mode: 0o755,
                    owner: None,
                },
            )
        }];
        assert!(matches!(
            plan.validate(),
            Err(PlanError::UndoOnFileAction { .. })
        ));
    }

    #[test]
    fn text_lists_numbered_steps_with_why_and_undo() {
        let plan = Plan {
            run_id: "r1".into(),
            created_at: "2026-06-01T00:00:00Z".into(),
            title: "rotate keys".into(),
            generate: Vec::new(),
            steps: vec![step(
                1,
                Action::MoveFile {
                    from: "/db/mysql/5.6/data/server.key".into(),
                    to: "/db/old_keys/server/r1/server.key".into(),
                },
            )],
        };
        let text = plan.to_text();
        assert!(text.contains("  1. [db-master] move /db/mysql/5.6/data/server.key to /db/old_keys/server/r1/server.key"), "{text}");
        assert!(text.contains("why:  because"), "{text}");
        assert!(
            text.contains(
                "undo: move /db/old_keys/server/r1/server.key back to /db/mysql/5.6/data/server.key"
            ),
            "{text}"
        );
    }
}
