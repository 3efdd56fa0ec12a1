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
                let what = match content {
                    Content::Text(t) => format!("{} bytes of text", t.len()),
                    Content::Generated { id } => format!("generated content {id:?}"),
                };
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
        }
    }

    /// Whether the engine undoes this action from the journal.
    pub fn is_file_action(&self) -> bool {
        matches!(
            self,
            Action::WriteFile { .. } | Action::MakeDir { .. } | Action::MoveFile { .. }
        )
    }

    fn paths(&self) -> Vec<&str> {
        match self {
            Action::WriteFile { path, .. } | Action::MakeDir { path, .. } => vec![path],
            Action::MoveFile { from, to } => vec![from, to],
            Action::RunCommand { .. } | Action::RunSql { .. } => Vec::new(),
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
        let mut previous: Option<usize> = None;
        for step in &self.steps {
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
            if let Action::WriteFile { mode, .. } | Action::MakeDir { mode, .. } = &step.action
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
            applicability: Applicability::Safe,
        }
    }

    #[test]
    fn json_round_trip_keeps_every_field() {
        let plan = Plan {
            run_id: "r1".into(),
            created_at: "2026-06-01T00:00:00Z".into(),
            title: "t".into(),
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
