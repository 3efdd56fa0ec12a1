//! Undoing a run: [`rollback`] walks the journal backwards and undoes every
//! step that started, one [`undo_step`] per step.

use super::execute::{conflict, run_action};
use super::{ApplyOptions, RollbackReport, target_for};
use crate::error::ApplyError;
use crate::journal::{Journal, Record, RunLock, UndoInfo, now};
use crate::plan::Step;
use crate::target::{Target, Targets};
use sslaudit_rules::digest::sha256_hex;

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

/// Undoes one step; `Ok(false)` when it ran but cannot be undone.
fn undo_step(step: &Step, info: &UndoInfo, target: &dyn Target) -> Result<bool, ApplyError> {
    let terr = ApplyError::in_step(step.id);
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
