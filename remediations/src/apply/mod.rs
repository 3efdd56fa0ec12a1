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
//!
//! The work is split along its seams: `execute` prepares and runs one
//! step, `verify` looks at a host without changing it, `preview` is the
//! dry-run and `rollback` undoes a run; this module holds the options and
//! the reports and drives `apply` and `resume` step by step.

mod execute;
mod preview;
mod rollback;
mod verify;

pub use crate::error::{ApplyError, CRASH_ENV};
pub use crate::target::Targets;
pub use execute::backup_path;
pub use rollback::rollback;

use crate::generate;
use crate::journal::{Journal, Record, RunLock, StepState, now};
use crate::plan::{Applicability, Plan, Step};
use crate::target::Target;
use execute::{execute, prepare};
use preview::preview;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use verify::{check_precondition, effect_present};

/// Bytes produced at apply time for
/// [`Content::Generated`](crate::plan::Content::Generated). The store must
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
    let terr = ApplyError::in_step(step.id);
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
