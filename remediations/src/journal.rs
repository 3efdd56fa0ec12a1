//! The run journal on the control machine, one folder per run:
//!
//! ```text
//! <state_dir>/<run_id>.lock       held while a run, resume or rollback is active
//! <state_dir>/<run_id>/plan.json  the plan as applied
//! <state_dir>/<run_id>/journal.jsonl  one Record per line, fsynced per record
//! <state_dir>/<run_id>/audit.log  who, what, when, outcome, for people
//! ```
//!
//! A step's `started` record is written (and fsynced) before the step
//! touches the host and holds everything rollback needs; its `done` record
//! is written before the next step begins. A step is therefore never done
//! twice, and one found `started` without `done` is re-checked.

use crate::error::ApplyError;
use crate::fsutil;
use crate::plan::Plan;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A file as it was before a step replaced it. Only a hash of the content
/// is journaled: the content itself stays on the host, in the backup, so a
/// private key never lands on the control machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousFile {
    pub mode: u32,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub sha256: String,
}

/// What rollback needs to undo a step, recorded before the step runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UndoInfo {
    WriteFile {
        path: String,
        /// Where the previous file is copied on the host (`None`: there was
        /// no previous file).
        backup: Option<String>,
        previous: Option<PreviousFile>,
        new_sha256: String,
    },
    /// The directories this step creates, parents first.
    MakeDir {
        created: Vec<String>,
    },
    MoveFile {
        from: String,
        to: String,
    },
    /// The mode and ownership a `set_mode` step replaced.
    SetMode {
        path: String,
        mode: u32,
        owner: Option<String>,
        group: Option<String>,
    },
    /// Undone by the step's own `undo` action, if it has one.
    RunCommand,
    RunSql,
    /// A read-only check: nothing to undo.
    ReadOnly,
}

/// One line of `journal.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Record {
    Started {
        step: usize,
        at: String,
        undo: UndoInfo,
    },
    Done {
        step: usize,
        at: String,
    },
    Failed {
        step: usize,
        at: String,
        error: String,
    },
    RolledBack {
        step: usize,
        at: String,
    },
    RollbackFailed {
        step: usize,
        at: String,
        error: String,
    },
}

/// Where a step stands according to the journal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepState {
    /// The undo information of the (first) `started` record.
    pub started: Option<UndoInfo>,
    pub done: bool,
    pub failed: Option<String>,
    pub rolled_back: bool,
}

pub(crate) fn now() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| "unknown-time".to_string())
}

/// The person running the engine, for the audit log.
pub(crate) fn who() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_string());
    match std::env::var("SUDO_USER") {
        Ok(sudo) if sudo != user => format!("{user} (sudo by {sudo})"),
        _ => user,
    }
}

/// An open run folder.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
}

impl Journal {
    /// The folder of a run.
    pub fn run_dir(state_dir: &Path, run_id: &str) -> PathBuf {
        state_dir.join(run_id)
    }

    /// Creates the run folder (mode 0700) and writes plan.json; refuses a
    /// run id that already has a journal.
    pub fn create(state_dir: &Path, plan: &Plan) -> Result<Journal, ApplyError> {
        let dir = Self::run_dir(state_dir, &plan.run_id);
        let state = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ApplyError::State { path, source }
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(state_dir)
            .map_err(state(state_dir))?;
        if dir.join("journal.jsonl").exists() {
            return Err(ApplyError::AlreadyStarted {
                run_id: plan.run_id.clone(),
                dir,
            });
        }
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(state(&dir)(e)),
        }
        let json = serde_json::to_vec_pretty(plan).map_err(|e| ApplyError::Journal {
            path: dir.join("plan.json"),
            line: 0,
            message: e.to_string(),
        })?;
        let plan_path = dir.join("plan.json");
        fsutil::write_local_atomic(&plan_path, &json, 0o600).map_err(state(&plan_path))?;
        Ok(Journal { dir })
    }

    /// Opens the folder of a run that was started before.
    pub fn open(state_dir: &Path, run_id: &str) -> Result<Journal, ApplyError> {
        let dir = Self::run_dir(state_dir, run_id);
        if !dir.join("plan.json").is_file() {
            return Err(ApplyError::NotStarted {
                run_id: run_id.to_string(),
                dir,
            });
        }
        Ok(Journal { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn journal_path(&self) -> PathBuf {
        self.dir.join("journal.jsonl")
    }

    pub fn audit_path(&self) -> PathBuf {
        self.dir.join("audit.log")
    }

    pub fn load_plan(&self) -> Result<Plan, ApplyError> {
        let path = self.dir.join("plan.json");
        let text = fs::read_to_string(&path).map_err(|source| ApplyError::State {
            path: path.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| ApplyError::Journal {
            path,
            line: e.line(),
            message: e.to_string(),
        })
    }

    /// Appends one record and fsyncs it.
    pub fn append(&self, record: &Record) -> Result<(), ApplyError> {
        let path = self.journal_path();
        let line = serde_json::to_string(record).map_err(|e| ApplyError::Journal {
            path: path.clone(),
            line: 0,
            message: e.to_string(),
        })?;
        fsutil::append_line_synced(&path, &line)
            .map_err(|source| ApplyError::State { path, source })
    }

    /// Appends a line to audit.log: time, who, and the message.
    pub fn audit(&self, message: &str) -> Result<(), ApplyError> {
        let path = self.audit_path();
        let line = format!("{} user={} {message}", now(), who());
        fsutil::append_line_synced(&path, &line)
            .map_err(|source| ApplyError::State { path, source })
    }

    /// Every record so far. A last line cut short by a crash mid-append
    /// (no trailing newline) is ignored; any other bad line is an error
    /// naming its line number.
    pub fn records(&self) -> Result<Vec<Record>, ApplyError> {
        let path = self.journal_path();
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(ApplyError::State { path, source }),
        };
        let complete = text.ends_with('\n');
        let lines: Vec<&str> = text.lines().collect();
        let mut out = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Record>(line) {
                Ok(r) => out.push(r),
                Err(_) if !complete && i + 1 == lines.len() => {}
                Err(e) => {
                    return Err(ApplyError::Journal {
                        path,
                        line: i + 1,
                        message: e.to_string(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// The journal folded into one state per step id.
    pub fn states(&self) -> Result<BTreeMap<usize, StepState>, ApplyError> {
        Ok(fold(&self.records()?))
    }
}

pub(crate) fn fold(records: &[Record]) -> BTreeMap<usize, StepState> {
    let mut states: BTreeMap<usize, StepState> = BTreeMap::new();
    for r in records {
        match r {
            Record::Started { step, undo, .. } => {
                let s = states.entry(*step).or_default();
                if s.started.is_none() {
                    s.started = Some(undo.clone());
                }
            }
            Record::Done { step, .. } => {
                let s = states.entry(*step).or_default();
                s.done = true;
                s.failed = None;
            }
            Record::Failed { step, error, .. } => {
                states.entry(*step).or_default().failed = Some(error.clone());
            }
            Record::RolledBack { step, .. } => {
                states.entry(*step).or_default().rolled_back = true;
            }
            Record::RollbackFailed { .. } => {}
        }
    }
    states
}

/// A control-machine lock, released when dropped. The lock file holds the
/// holder's pid, user and start time; a lock whose pid no longer runs on
/// this machine (checked through /proc) is stale and taken over.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
}

impl RunLock {
    pub fn acquire(state_dir: &Path, name: &str) -> Result<RunLock, ApplyError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(state_dir)
            .map_err(|source| ApplyError::State {
                path: state_dir.to_path_buf(),
                source,
            })?;
        let path = state_dir.join(format!("{name}.lock"));
        let holder = format!("pid={} user={} since={}", std::process::id(), who(), now());
        for attempt in 0..2 {
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(mut f) => {
                    f.write_all(holder.as_bytes())
                        .and_then(|()| f.sync_all())
                        .map_err(|source| ApplyError::State {
                            path: path.clone(),
                            source,
                        })?;
                    return Ok(RunLock { path });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let current = fs::read_to_string(&path).unwrap_or_default();
                    if attempt == 0 && is_stale(&current) {
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                    return Err(ApplyError::Locked {
                        path,
                        holder: current.trim().to_string(),
                    });
                }
                Err(source) => return Err(ApplyError::State { path, source }),
            }
        }
        Err(ApplyError::Locked {
            path,
            holder: "unknown".to_string(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn is_stale(holder: &str) -> bool {
    let pid = holder
        .split_whitespace()
        .find_map(|w| w.strip_prefix("pid="))
        .and_then(|p| p.parse::<u32>().ok());
    match pid {
        Some(pid) => {
            Path::new("/proc/self").exists() && !Path::new(&format!("/proc/{pid}")).exists()
        }
        None => false,
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_only_when_pid_is_gone() {
        assert!(!is_stale(&format!("pid={} user=x", std::process::id())));
        assert!(!is_stale("garbage"));
        // pid_max on Linux is at most 4194304.
        assert!(is_stale("pid=4294967 user=x"));
    }

    #[test]
    fn fold_keeps_first_started_and_clears_failure_on_done() {
        let undo = UndoInfo::RunSql;
        let recs = vec![
            Record::Started {
                step: 1,
                at: "t".into(),
                undo: undo.clone(),
            },
            Record::Failed {
                step: 1,
                at: "t".into(),
                error: "x".into(),
            },
            Record::Done {
                step: 1,
                at: "t".into(),
            },
        ];
        let s = fold(&recs);
        assert_eq!(
            s.get(&1),
            Some(&StepState {
                started: Some(undo),
                done: true,
                failed: None,
                rolled_back: false
            })
        );
    }
}
