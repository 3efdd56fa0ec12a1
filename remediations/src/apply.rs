//! Executing a plan: [`apply`], [`resume`] and [`rollback`], all journaled
//! (see [`crate::journal`]) and serialized by a control-machine lock.
//!
//! Test-only crash switch: when the environment variable
//! `SSLAUDIT_TEST_CRASH_AFTER_STEP=N` is set (it is read only then), or
//! [`ApplyOptions::crash_after_step`] is `Some(N)`, `apply`/`resume` stop
//! dead right after step id `N` was journaled done and return
//! [`ApplyError::Crashed`] without touching anything else, exactly as a
//! killed process would leave things (the binary turns that error into
//! `std::process::abort`; in-process tests call resume or rollback next).

pub use crate::error::{ApplyError, CRASH_ENV};
use crate::generate;
use crate::journal::{Journal, PreviousFile, Record, RunLock, StepState, UndoInfo, now};
use crate::plan::{Action, Applicability, Content, Plan, Precondition, Step};
pub use crate::target::Targets;
use crate::target::{EntryKind, Target, TargetError};
use crate::text::{self, redacted_diff};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Bytes produced at apply time for [`Content::Generated`]. The store must
/// return the same bytes for an id across `apply` and `resume` (persist it,
/// 0600, beside the journal), or a resumed step refuses to write them.
pub trait GeneratedContent {
    fn get(&self, id: &str) -> Option<Vec<u8>>;
}

impl GeneratedContent for BTreeMap<String, Vec<u8>> {
    fn get(&self, id: &str) -> Option<Vec<u8>> {
        BTreeMap::get(self, id).cloned()
    }
}

/// How to run.
pub struct ApplyOptions<'a> {
    /// Compute and show what each step would change; change nothing, not
    /// even the state directory.
    pub dry_run: bool,
    /// Where run folders and locks live on the control machine.
    pub state_dir: PathBuf,
    /// The user confirmed: `NeedsConfirmation` steps may run.
    pub yes: bool,
    /// Resolves `Content::Generated`.
    pub generated: Option<&'a dyn GeneratedContent>,
    /// Test-only crash switch (see the module docs); the environment
    /// variable is consulted when this is `None`.
    pub crash_after_step: Option<usize>,
}

impl<'a> ApplyOptions<'a> {
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        ApplyOptions {
            dry_run: false,
            state_dir: state_dir.into(),
            yes: false,
            generated: None,
            crash_after_step: None,
        }
    }
}

/// What dry-run found for a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    pub summary: String,
    /// A unified-style line diff of a text file that would be edited.
    pub diff: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum StepOutcome {
    Done,
    /// Done in an earlier, interrupted invocation of the run.
    AlreadyDone,
    /// Found started but not recorded done; its effect was already in place.
    Verified,
    Skipped {
        reason: String,
    },
    WouldChange {
        preview: Preview,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepReport {
    pub step: usize,
    pub host: String,
    pub outcome: StepOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunReport {
    pub run_id: String,
    pub dry_run: bool,
    pub steps: Vec<StepReport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackReport {
    pub run_id: String,
    /// Step ids undone, in the order undone (reverse plan order).
    pub undone: Vec<usize>,
    /// Commands/SQL that ran and have no undo action.
    pub irreversible: Vec<usize>,
}

/// Applies a new plan (or, with `dry_run`, previews it).
///
/// Refuses before touching anything when the plan is invalid, a host has
/// no target, or a `NeedsConfirmation` step is present without `yes`.
/// `DisplayOnly` steps are reported as skipped.
pub fn apply(
    plan: &Plan,
    targets: &Targets<'_>,
    opts: &ApplyOptions<'_>,
) -> Result<RunReport, ApplyError> {
    plan.validate()?;
    check_targets(plan, targets)?;
    if opts.dry_run {
        return preview(plan, targets, opts);
    }
    check_confirmation(plan, opts)?;
    let _lock = RunLock::acquire(&opts.state_dir, &plan.run_id)?;
    let journal = Journal::create(&opts.state_dir, plan)?;
    journal.audit(&format!(
        "run={} action=apply title={:?} steps={} outcome=started",
        plan.run_id,
        plan.title,
        plan.steps.len()
    ))?;
    with_generated(plan, targets, opts, &journal, |opts| {
        run_steps(plan, targets, opts, &journal, &BTreeMap::new())
    })
}

/// Runs `f` with the plan's recipes made (or loaded from an earlier
/// attempt of the run) when the caller did not bring its own store.
fn with_generated<T>(
    plan: &Plan,
    targets: &Targets<'_>,
    opts: &ApplyOptions<'_>,
    journal: &Journal,
    f: impl FnOnce(&ApplyOptions<'_>) -> Result<T, ApplyError>,
) -> Result<T, ApplyError> {
    if plan.generate.is_empty() || opts.generated.is_some() {
        return f(opts);
    }
    let made = match generate::load_or_make(journal.dir(), plan, targets) {
        Ok(made) => made,
        Err(e) => {
            journal.audit(&format!("run={} outcome=failed: {e}", plan.run_id))?;
            return Err(e);
        }
    };
    f(&ApplyOptions {
        dry_run: opts.dry_run,
        state_dir: opts.state_dir.clone(),
        yes: opts.yes,
        generated: Some(&made),
        crash_after_step: opts.crash_after_step,
    })
}

/// Continues an interrupted run after its last done step. A step recorded
/// started but not done is re-checked: when its effect is already in place
/// it is recorded done, otherwise it runs again with the undo information
/// recorded the first time.
pub fn resume(
    run_id: &str,
    targets: &Targets<'_>,
    opts: &ApplyOptions<'_>,
) -> Result<RunReport, ApplyError> {
    let _lock = if opts.dry_run {
        None
    } else {
        Some(RunLock::acquire(&opts.state_dir, run_id)?)
    };
    let journal = Journal::open(&opts.state_dir, run_id)?;
    let plan = journal.load_plan()?;
    plan.validate()?;
    check_targets(&plan, targets)?;
    let states = journal.states()?;
    if states.values().any(|s| s.rolled_back) {
        return Err(ApplyError::RolledBack {
            run_id: run_id.to_string(),
        });
    }
    if opts.dry_run {
        let mut rest = plan.clone();
        rest.steps
            .retain(|s| !states.get(&s.id).is_some_and(|st| st.done));
        return preview(&rest, targets, opts);
    }
    check_confirmation(&plan, opts)?;
    journal.audit(&format!("run={run_id} action=resume outcome=started"))?;
    with_generated(&plan, targets, opts, &journal, |opts| {
        run_steps(&plan, targets, opts, &journal, &states)
    })
}

/// Undoes every step the journal shows started (done or not), in reverse
/// order: files restored byte-for-byte from their backups with their old
/// mode and owner (backups removed once restored), files that did not
/// exist removed, created directories removed, moves reversed, and the
/// `undo` action of commands and SQL run. Steps already rolled back are
/// skipped, so an interrupted rollback can simply be run again.
pub fn rollback(
    run_id: &str,
    targets: &Targets<'_>,
    opts: &ApplyOptions<'_>,
) -> Result<RollbackReport, ApplyError> {
    if opts.dry_run {
        return Err(ApplyError::DryRunRollback);
    }
    let _lock = RunLock::acquire(&opts.state_dir, run_id)?;
    let journal = Journal::open(&opts.state_dir, run_id)?;
    let plan = journal.load_plan()?;
    let states = journal.states()?;
    journal.audit(&format!("run={run_id} action=rollback outcome=started"))?;
    let mut report = RollbackReport {
        run_id: run_id.to_string(),
        undone: Vec::new(),
        irreversible: Vec::new(),
    };
    // Steps marked undo_last (reloading TLS) are undone after all the
    // others, in plan order: the master before its replicas.
    let reversed = plan.steps.iter().rev().filter(|s| !s.undo_last);
    let last = plan.steps.iter().filter(|s| s.undo_last);
    for step in reversed.chain(last) {
        let Some(state) = states.get(&step.id) else {
            continue;
        };
        let Some(info) = &state.started else { continue };
        if state.rolled_back {
            continue;
        }
        let target = target_for(step, targets)?;
        match undo_step(step, info, target) {
            Ok(reversible) => {
                journal.append(&Record::RolledBack {
                    step: step.id,
                    at: now(),
                })?;
                let outcome = if reversible {
                    "rolled_back"
                } else {
                    "irreversible"
                };
                journal.audit(&format!(
                    "run={run_id} action=rollback step={} host={} what={:?} outcome={outcome}",
                    step.id,
                    step.host,
                    step.action.describe()
                ))?;
                if reversible {
                    report.undone.push(step.id);
                } else {
                    report.irreversible.push(step.id);
                }
            }
            Err(e) => {
                journal.append(&Record::RollbackFailed {
                    step: step.id,
                    at: now(),
                    error: e.to_string(),
                })?;
                journal.audit(&format!(
                    "run={run_id} action=rollback step={} host={} outcome=failed: {e}",
                    step.id, step.host
                ))?;
                return Err(e);
            }
        }
    }
    journal.audit(&format!("run={run_id} action=rollback outcome=finished"))?;
    Ok(report)
}

fn crash_after(opts: &ApplyOptions<'_>) -> Option<usize> {
    opts.crash_after_step
        .or_else(|| parse_crash_env(std::env::var(CRASH_ENV).ok().as_deref()))
}

/// Parses the crash switch's value; unset or not a number means off.
pub fn parse_crash_env(value: Option<&str>) -> Option<usize> {
    value.and_then(|v| v.trim().parse().ok())
}

fn check_targets(plan: &Plan, targets: &Targets<'_>) -> Result<(), ApplyError> {
    for step in &plan.steps {
        if step.applicability != Applicability::DisplayOnly {
            target_for(step, targets)?;
        }
    }
    Ok(())
}

fn check_confirmation(plan: &Plan, opts: &ApplyOptions<'_>) -> Result<(), ApplyError> {
    let steps: Vec<usize> = plan
        .steps
        .iter()
        .filter(|s| s.applicability == Applicability::NeedsConfirmation)
        .map(|s| s.id)
        .collect();
    if !opts.yes && !steps.is_empty() {
        return Err(ApplyError::NeedsConfirmation { steps });
    }
    Ok(())
}

fn target_for<'t>(step: &Step, targets: &Targets<'t>) -> Result<&'t dyn Target, ApplyError> {
    targets(&step.host).ok_or_else(|| ApplyError::UnknownHost {
        step: step.id,
        host: step.host.clone(),
    })
}

fn run_steps(
    plan: &Plan,
    targets: &Targets<'_>,
    opts: &ApplyOptions<'_>,
    journal: &Journal,
    states: &BTreeMap<usize, StepState>,
) -> Result<RunReport, ApplyError> {
    let crash = crash_after(opts);
    let mut report = RunReport {
        run_id: plan.run_id.clone(),
        dry_run: false,
        steps: Vec::new(),
    };
    let default = StepState::default();
    for step in &plan.steps {
        let state = states.get(&step.id).unwrap_or(&default);
        let outcome = if step.applicability == Applicability::DisplayOnly {
            StepOutcome::Skipped {
                reason: "display only".to_string(),
            }
        } else if state.done {
            StepOutcome::AlreadyDone
        } else {
            let target = target_for(step, targets)?;
            match run_one(plan, step, state, target, opts, journal) {
                Ok(outcome) => {
                    journal.append(&Record::Done {
                        step: step.id,
                        at: now(),
                    })?;
                    journal.audit(&format!(
                        "run={} step={} host={} what={:?} outcome=done",
                        plan.run_id,
                        step.id,
                        step.host,
                        step.action.describe()
                    ))?;
                    outcome
                }
                Err(e) => {
                    journal.append(&Record::Failed {
                        step: step.id,
                        at: now(),
                        error: e.to_string(),
                    })?;
                    journal.audit(&format!(
                        "run={} step={} host={} what={:?} outcome=failed: {e}",
                        plan.run_id,
                        step.id,
                        step.host,
                        step.action.describe()
                    ))?;
                    return Err(e);
                }
            }
        };
        report.steps.push(StepReport {
            step: step.id,
            host: step.host.clone(),
            outcome,
        });
        if crash == Some(step.id) {
            return Err(ApplyError::Crashed { step: step.id });
        }
    }
    journal.audit(&format!("run={} outcome=finished", plan.run_id))?;
    Ok(report)
}

fn run_one(
    plan: &Plan,
    step: &Step,
    state: &StepState,
    target: &dyn Target,
    opts: &ApplyOptions<'_>,
    journal: &Journal,
) -> Result<StepOutcome, ApplyError> {
    let terr = |source| ApplyError::Target {
        step: step.id,
        source,
    };
    if let Some(info) = &state.started {
        if effect_present(step, info, target).map_err(terr)? {
            return Ok(StepOutcome::Verified);
        }
        execute(step, info, target, opts)?;
        return Ok(StepOutcome::Done);
    }
    if let Some(pre) = &step.precondition
        && let Some(message) = check_precondition(pre, target).map_err(terr)?
    {
        return Err(ApplyError::Precondition {
            step: step.id,
            host: step.host.clone(),
            message,
        });
    }
    let info = prepare(plan, step, target, opts)?;
    journal.append(&Record::Started {
        step: step.id,
        at: now(),
        undo: info.clone(),
    })?;
    execute(step, &info, target, opts)?;
    Ok(StepOutcome::Done)
}

/// `None` when the precondition holds, else why not.
fn check_precondition(
    pre: &Precondition,
    target: &dyn Target,
) -> Result<Option<String>, TargetError> {
    Ok(match pre {
        Precondition::FileExists { path } => target
            .metadata(path)?
            .is_none()
            .then(|| format!("{path} does not exist")),
        Precondition::FileAbsent { path } => target
            .metadata(path)?
            .is_some()
            .then(|| format!("{path} exists")),
        Precondition::FileContains { path, text } => match target.read_file(path)? {
            None => Some(format!("{path} does not exist")),
            Some(f) if !String::from_utf8_lossy(&f.content).contains(text.as_str()) => {
                Some(format!("{path} does not contain {text:?}"))
            }
            Some(_) => None,
        },
        Precondition::CommandSucceeds { command } => {
            let out = target.run_command(command)?;
            (out.status != 0).then(|| format!("`{command}` exited with {}", out.status))
        }
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn content_bytes(
    step: &Step,
    content: &Content,
    opts: &ApplyOptions<'_>,
    target: &dyn Target,
) -> Result<Vec<u8>, ApplyError> {
    match content {
        Content::Text(t) => Ok(t.as_bytes().to_vec()),
        Content::Bundle { parts } => {
            let mut out = Vec::new();
            for part in parts {
                let mut bytes = content_bytes(step, part, opts, target)?;
                if !bytes.ends_with(b"\n") {
                    bytes.push(b'\n');
                }
                out.extend(bytes);
            }
            Ok(out)
        }
        Content::Generated { id } => {
            opts.generated
                .and_then(|g| g.get(id))
                .ok_or_else(|| ApplyError::MissingGenerated {
                    step: step.id,
                    id: id.clone(),
                })
        }
        Content::Edit { base_sha256, edits } => {
            let Action::WriteFile { path, .. } = &step.action else {
                return Err(conflict(
                    step,
                    step.action.kind(),
                    "only a file write can be an edit",
                ));
            };
            let current = target
                .read_file(path)
                .map_err(|source| ApplyError::Target {
                    step: step.id,
                    source,
                })?
                .ok_or_else(|| conflict(step, path, "does not exist: nothing to edit"))?;
            if sha256_hex(&current.content) != *base_sha256 {
                return Err(conflict(
                    step,
                    path,
                    "changed since the plan was made: plan again",
                ));
            }
            let text = String::from_utf8(current.content)
                .map_err(|_| conflict(step, path, "is not UTF-8 text"))?;
            text::apply_edits(&text, edits)
                .map(String::into_bytes)
                .map_err(|m| conflict(step, path, &m))
        }
    }
}

/// The backup name of a file replaced by a step: unique per run and step,
/// so an older backup is never overwritten.
pub fn backup_path(path: &str, run_id: &str, step: usize) -> String {
    format!("{path}.sslaudit-{run_id}-{step}.bak")
}

fn conflict(step: &Step, path: &str, message: &str) -> ApplyError {
    ApplyError::Conflict {
        step: step.id,
        host: step.host.clone(),
        path: path.to_string(),
        message: message.to_string(),
    }
}

/// Looks at the host and records what undoing the step will need.
fn prepare(
    plan: &Plan,
    step: &Step,
    target: &dyn Target,
    opts: &ApplyOptions<'_>,
) -> Result<UndoInfo, ApplyError> {
    let terr = |source| ApplyError::Target {
        step: step.id,
        source,
    };
    Ok(match &step.action {
        Action::WriteFile { path, content, .. } => {
            let new = content_bytes(step, content, opts, target)?;
            let previous = target.read_file(path).map_err(terr)?.map(|f| PreviousFile {
                mode: f.mode,
                owner: f.owner,
                group: f.group,
                sha256: sha256_hex(&f.content),
            });
            let backup = previous
                .as_ref()
                .map(|_| backup_path(path, &plan.run_id, step.id));
            if let Some(b) = &backup
                && target.metadata(b).map_err(terr)?.is_some()
            {
                return Err(conflict(
                    step,
                    b,
                    "already exists: refusing to overwrite an older backup",
                ));
            }
            UndoInfo::WriteFile {
                path: path.clone(),
                backup,
                previous,
                new_sha256: sha256_hex(&new),
            }
        }
        Action::MakeDir { path, .. } => {
            let mut created = Vec::new();
            let mut prefix = String::new();
            for part in path.split('/').filter(|p| !p.is_empty()) {
                prefix.push('/');
                prefix.push_str(part);
                match target.metadata(&prefix).map_err(terr)? {
                    None => created.push(prefix.clone()),
                    Some(m) if m.kind == EntryKind::Dir => {}
                    Some(_) => {
                        return Err(conflict(step, &prefix, "exists and is not a directory"));
                    }
                }
            }
            UndoInfo::MakeDir { created }
        }
        Action::MoveFile { from, to } => {
            if target.metadata(from).map_err(terr)?.is_none() {
                return Err(conflict(step, from, "does not exist"));
            }
            if target.metadata(to).map_err(terr)?.is_some() {
                return Err(conflict(
                    step,
                    to,
                    "already exists: refusing to overwrite it",
                ));
            }
            UndoInfo::MoveFile {
                from: from.clone(),
                to: to.clone(),
            }
        }
        Action::SetMode { path, .. } => match target.metadata(path).map_err(terr)? {
            Some(m) if m.kind == EntryKind::File => UndoInfo::SetMode {
                path: path.clone(),
                mode: m.mode,
                owner: m.owner,
                group: m.group,
            },
            Some(_) => return Err(conflict(step, path, "is not a regular file")),
            None => return Err(conflict(step, path, "does not exist")),
        },
        Action::RunCommand { .. } => UndoInfo::RunCommand,
        Action::RunSql { .. } => UndoInfo::RunSql,
        Action::VerifyTls { .. } => UndoInfo::ReadOnly,
    })
}

/// Whether a started step already had its full effect (so it is not done
/// twice). Commands and SQL cannot be observed and always run again.
fn effect_present(step: &Step, info: &UndoInfo, target: &dyn Target) -> Result<bool, TargetError> {
    Ok(match (&step.action, info) {
        (
            Action::WriteFile { path, mode, .. },
            UndoInfo::WriteFile {
                backup, new_sha256, ..
            },
        ) => {
            let written = target
                .read_file(path)?
                .is_some_and(|f| sha256_hex(&f.content) == *new_sha256 && f.mode == *mode);
            let backed_up = match backup {
                Some(b) => target.metadata(b)?.is_some(),
                None => true,
            };
            written && backed_up
        }
        (Action::MakeDir { path, .. }, _) => target
            .metadata(path)?
            .is_some_and(|m| m.kind == EntryKind::Dir),
        (Action::MoveFile { from, to }, _) => {
            target.metadata(from)?.is_none() && target.metadata(to)?.is_some()
        }
        (
            Action::SetMode {
                path,
                mode,
                owner,
                group,
            },
            _,
        ) => target.metadata(path)?.is_some_and(|m| {
            m.mode == *mode
                && owner.as_ref().is_none_or(|o| m.owner.as_ref() == Some(o))
                && group.as_ref().is_none_or(|g| m.group.as_ref() == Some(g))
        }),
        _ => false,
    })
}

fn execute(
    step: &Step,
    info: &UndoInfo,
    target: &dyn Target,
    opts: &ApplyOptions<'_>,
) -> Result<(), ApplyError> {
    let terr = |source| ApplyError::Target {
        step: step.id,
        source,
    };
    match (&step.action, info) {
        (
            Action::WriteFile {
                path,
                content,
                mode,
                owner,
                group,
            },
            UndoInfo::WriteFile {
                backup,
                previous,
                new_sha256,
                ..
            },
        ) => {
            let new = content_bytes(step, content, opts, target)?;
            if sha256_hex(&new) != *new_sha256 {
                return Err(conflict(
                    step,
                    path,
                    "content differs from what this run recorded (generated content must persist across resume)",
                ));
            }
            if let (Some(b), Some(prev)) = (backup, previous) {
                match target.read_file(b).map_err(terr)? {
                    Some(existing) if sha256_hex(&existing.content) == prev.sha256 => {}
                    Some(_) => {
                        return Err(conflict(
                            step,
                            b,
                            "exists with other content: refusing to overwrite an older backup",
                        ));
                    }
                    None => {
                        let current = target.read_file(path).map_err(terr)?;
                        let Some(current) =
                            current.filter(|c| sha256_hex(&c.content) == prev.sha256)
                        else {
                            return Err(conflict(step, path, "changed since the run recorded it"));
                        };
                        target
                            .write_file_atomic(
                                b,
                                &current.content,
                                current.mode,
                                current.owner.as_deref(),
                                current.group.as_deref(),
                            )
                            .map_err(terr)?;
                    }
                }
            }
            target
                .write_file_atomic(path, &new, *mode, owner.as_deref(), group.as_deref())
                .map_err(terr)
        }
        (Action::MakeDir { mode, owner, .. }, UndoInfo::MakeDir { created }) => {
            for dir in created {
                if target.metadata(dir).map_err(terr)?.is_none() {
                    target
                        .make_dir(dir, *mode, owner.as_deref())
                        .map_err(terr)?;
                }
            }
            Ok(())
        }
        (Action::MoveFile { from, to }, _) => {
            if target.metadata(to).map_err(terr)?.is_some() {
                return Err(conflict(
                    step,
                    to,
                    "already exists: refusing to overwrite it",
                ));
            }
            target.rename(from, to).map_err(terr)
        }
        (
            Action::SetMode {
                path,
                mode,
                owner,
                group,
            },
            _,
        ) => target
            .set_mode(path, *mode, owner.as_deref(), group.as_deref())
            .map_err(terr),
        (Action::VerifyTls { cert }, _) => {
            let expected = content_bytes(step, cert, opts, target)?;
            verify_served(step, &expected, target)
        }
        (Action::RunCommand { .. } | Action::RunSql { .. }, _) => {
            run_action(step, &step.action, target)
        }
        (action, _) => Err(conflict(
            step,
            action.kind(),
            "journal entry does not match the plan's action",
        )),
    }
}

fn ownership_now(owner: Option<&str>, group: Option<&str>) -> String {
    match (owner, group) {
        (Some(o), Some(g)) => format!(" ({o}:{g})"),
        (Some(o), None) => format!(" ({o})"),
        _ => String::new(),
    }
}

/// Compares the leaf certificate the server presents with `expected` (PEM
/// or DER) by the SHA-256 of the DER.
fn verify_served(step: &Step, expected: &[u8], target: &dyn Target) -> Result<(), ApplyError> {
    let fail = |message: String| ApplyError::Verify {
        step: step.id,
        host: step.host.clone(),
        message,
    };
    let expected_der = match openssl::x509::X509::from_pem(expected) {
        Ok(c) => c
            .to_der()
            .map_err(|e| fail(format!("re-encoding the expected certificate: {e}")))?,
        Err(_) => expected.to_vec(),
    };
    let served = target
        .served_certificate()
        .map_err(|source| ApplyError::Target {
            step: step.id,
            source,
        })?
        .ok_or_else(|| fail("the server offers no TLS".to_string()))?;
    let (want, got) = (sha256_hex(&expected_der), sha256_hex(&served));
    if want != got {
        return Err(fail(format!(
            "the server presents the certificate with SHA-256 {got}, not the new one ({want})"
        )));
    }
    Ok(())
}

fn run_action(step: &Step, action: &Action, target: &dyn Target) -> Result<(), ApplyError> {
    let terr = |source| ApplyError::Target {
        step: step.id,
        source,
    };
    match action {
        Action::RunCommand {
            command,
            expect_status,
        } => {
            let out = target.run_command(command).map_err(terr)?;
            if out.status != *expect_status {
                return Err(ApplyError::CommandStatus {
                    step: step.id,
                    host: step.host.clone(),
                    command: command.clone(),
                    expected: *expect_status,
                    got: out.status,
                    stderr: out.stderr.trim().to_string(),
                });
            }
            Ok(())
        }
        Action::RunSql { sql } => target.run_sql(sql).map_err(terr),
        other => Err(conflict(step, other.kind(), "is not a command or SQL")),
    }
}

/// Undoes one step; `Ok(false)` when it ran but cannot be undone.
fn undo_step(step: &Step, info: &UndoInfo, target: &dyn Target) -> Result<bool, ApplyError> {
    let terr = |source| ApplyError::Target {
        step: step.id,
        source,
    };
    match info {
        UndoInfo::WriteFile {
            path,
            backup,
            previous,
            new_sha256,
        } => {
            let current = target.read_file(path).map_err(terr)?;
            match (previous, backup) {
                (Some(prev), Some(b)) => {
                    let original_in_place = current.as_ref().is_some_and(|c| {
                        sha256_hex(&c.content) == prev.sha256 && c.mode == prev.mode
                    });
                    let saved = target.read_file(b).map_err(terr)?;
                    match saved {
                        Some(saved) if sha256_hex(&saved.content) == prev.sha256 => {
                            if !original_in_place {
                                target
                                    .write_file_atomic(
                                        path,
                                        &saved.content,
                                        prev.mode,
                                        prev.owner.as_deref(),
                                        prev.group.as_deref(),
                                    )
                                    .map_err(terr)?;
                            }
                            target.remove_file(b).map_err(terr)?;
                        }
                        Some(_) => {
                            return Err(conflict(
                                step,
                                b,
                                "does not hold the recorded previous content",
                            ));
                        }
                        None if original_in_place => {}
                        None => return Err(conflict(step, b, "backup is missing")),
                    }
                }
                _ => match current {
                    Some(c) if sha256_hex(&c.content) == *new_sha256 => {
                        target.remove_file(path).map_err(terr)?;
                    }
                    Some(_) => {
                        return Err(conflict(
                            step,
                            path,
                            "was changed after this run wrote it: not removing it",
                        ));
                    }
                    None => {}
                },
            }
            Ok(true)
        }
        UndoInfo::MakeDir { created } => {
            for dir in created.iter().rev() {
                if target.metadata(dir).map_err(terr)?.is_some() {
                    target.remove_dir(dir).map_err(terr)?;
                }
            }
            Ok(true)
        }
        UndoInfo::MoveFile { from, to } => {
            let from_there = target.metadata(from).map_err(terr)?.is_some();
            let to_there = target.metadata(to).map_err(terr)?.is_some();
            match (from_there, to_there) {
                (false, true) => target.rename(to, from).map_err(terr)?,
                (true, false) => {}
                (true, true) => {
                    return Err(conflict(
                        step,
                        from,
                        "exists again: not moving the backup over it",
                    ));
                }
                (false, false) => {
                    return Err(conflict(step, to, "is missing: cannot move it back"));
                }
            }
            Ok(true)
        }
        UndoInfo::SetMode {
            path,
            mode,
            owner,
            group,
        } => {
            if target.metadata(path).map_err(terr)?.is_none() {
                return Err(conflict(step, path, "is missing: cannot restore its mode"));
            }
            target
                .set_mode(path, *mode, owner.as_deref(), group.as_deref())
                .map_err(terr)?;
            Ok(true)
        }
        UndoInfo::ReadOnly => Ok(true),
        UndoInfo::RunCommand | UndoInfo::RunSql => match &step.undo {
            Some(undo) => run_action(step, undo, target).map(|()| true),
            None => Ok(false),
        },
    }
}

fn preview(
    plan: &Plan,
    targets: &Targets<'_>,
    opts: &ApplyOptions<'_>,
) -> Result<RunReport, ApplyError> {
    let mut report = RunReport {
        run_id: plan.run_id.clone(),
        dry_run: true,
        steps: Vec::new(),
    };
    for step in &plan.steps {
        let outcome = if step.applicability == Applicability::DisplayOnly {
            StepOutcome::Skipped {
                reason: "display only".to_string(),
            }
        } else {
            let target = target_for(step, targets)?;
            StepOutcome::WouldChange {
                preview: preview_step(plan, step, target, opts)?,
            }
        };
        report.steps.push(StepReport {
            step: step.id,
            host: step.host.clone(),
            outcome,
        });
    }
    Ok(report)
}

fn preview_step(
    plan: &Plan,
    step: &Step,
    target: &dyn Target,
    opts: &ApplyOptions<'_>,
) -> Result<Preview, ApplyError> {
    let terr = |source| ApplyError::Target {
        step: step.id,
        source,
    };
    let mut summary = String::new();
    let mut diff = None;
    match &step.action {
        Action::WriteFile {
            path,
            content,
            mode,
            ..
        } => {
            let (new, refused) = match content {
                Content::Text(t) => (Some(t.as_bytes().to_vec()), None),
                Content::Generated { id } => (opts.generated.and_then(|g| g.get(id)), None),
                // Generated parts exist only once the run made them.
                Content::Bundle { .. } => (content_bytes(step, content, opts, target).ok(), None),
                Content::Edit { .. } => match content_bytes(step, content, opts, target) {
                    Ok(bytes) => (Some(bytes), None),
                    Err(e) => (None, Some(e.to_string())),
                },
            };
            match target.read_file(path).map_err(terr)? {
                None => {
                    let _ = write!(summary, "would create {path} (mode {mode:04o})");
                }
                Some(_) if refused.is_some() => {
                    let _ = write!(
                        summary,
                        "the step would refuse: {}",
                        refused.unwrap_or_default()
                    );
                }
                Some(old) => {
                    let same = new.as_deref() == Some(old.content.as_slice());
                    if same && old.mode == *mode {
                        let _ = write!(summary, "{path} already has this content and mode");
                    } else {
                        let _ = write!(
                            summary,
                            "would replace {path} (backup to {})",
                            backup_path(path, &plan.run_id, step.id)
                        );
                        if old.mode != *mode {
                            let _ = write!(summary, ", mode {:04o} -> {mode:04o}", old.mode);
                        }
                        let shown = matches!(content, Content::Text(_) | Content::Edit { .. });
                        if let (true, Ok(o), Some(Ok(n))) = (
                            shown && !same,
                            std::str::from_utf8(&old.content),
                            new.as_deref().map(std::str::from_utf8),
                        ) && !o.contains("PRIVATE KEY")
                            && !n.contains("PRIVATE KEY")
                        {
                            diff = Some(redacted_diff(path, o, n));
                        }
                    }
                }
            }
        }
        Action::MakeDir { path, .. } => match target.metadata(path).map_err(terr)? {
            Some(_) => {
                let _ = write!(summary, "{path} already exists");
            }
            None => {
                let _ = write!(summary, "would {}", step.action.describe());
            }
        },
        Action::MoveFile { from, to } => {
            let _ = write!(summary, "would move {from} to {to}");
            if target.metadata(from).map_err(terr)?.is_none() {
                let _ = write!(summary, " ({from} does not exist now)");
            }
            if target.metadata(to).map_err(terr)?.is_some() {
                let _ = write!(summary, " ({to} exists now: the step would refuse)");
            }
        }
        Action::SetMode { path, .. } => match target.metadata(path).map_err(terr)? {
            None => {
                let _ = write!(summary, "{path} does not exist now: the step would refuse");
            }
            Some(m) => {
                let _ = write!(
                    summary,
                    "would change {path} from mode {:04o}{} to {}",
                    m.mode,
                    ownership_now(m.owner.as_deref(), m.group.as_deref()),
                    step.action.describe().trim_start_matches("set ")
                );
            }
        },
        Action::RunCommand { .. } | Action::RunSql { .. } | Action::VerifyTls { .. } => {
            let _ = write!(summary, "would {}", step.action.describe());
        }
    }
    if let Some(pre) = &step.precondition {
        // Evaluated against the host as it is now; earlier steps of the
        // plan may change the answer. A command precondition is not run.
        match pre {
            Precondition::CommandSucceeds { .. } => {
                let _ = write!(summary, "; only if {}", pre.describe());
            }
            _ => match check_precondition(pre, target).map_err(terr)? {
                None => {
                    let _ = write!(summary, "; precondition holds now ({})", pre.describe());
                }
                Some(why) => {
                    let _ = write!(summary, "; precondition fails now: {why}");
                }
            },
        }
    }
    Ok(Preview { summary, diff })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_env_parses_numbers_only() {
        assert_eq!(parse_crash_env(None), None);
        assert_eq!(parse_crash_env(Some("3")), Some(3));
        assert_eq!(parse_crash_env(Some("x")), None);
    }
}
