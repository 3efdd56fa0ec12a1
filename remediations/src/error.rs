//! [`ApplyError`], what the engine could not do, in a module of its own so
//! that the engine ([`crate::apply`]), the journal ([`crate::journal`]) and
//! the apply-time generator ([`crate::generate`]) all depend on it rather
//! than on each other.

use crate::plan::PlanError;
use crate::target::TargetError;
use std::path::PathBuf;

/// The environment variable of the test-only crash switch.
pub const CRASH_ENV: &str = "SSLAUDIT_TEST_CRASH_AFTER_STEP";

/// What the engine could not do. Every variant names the step or file.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("invalid plan: {0}")]
    Plan(#[from] PlanError),
    #[error("step {step}: no target for host {host:?}")]
    UnknownHost { step: usize, host: String },
    #[error("run is locked by {holder} ({path})", path = path.display())]
    Locked { path: PathBuf, holder: String },
    #[error("{path}: {source}", path = path.display())]
    State {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: bad journal entry: {message}", path = path.display())]
    Journal {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("run {run_id} was already started ({dir}): resume or roll it back", dir = dir.display())]
    AlreadyStarted { run_id: String, dir: PathBuf },
    #[error("run {run_id} has no journal ({dir})", dir = dir.display())]
    NotStarted { run_id: String, dir: PathBuf },
    #[error("run {run_id} was rolled back and cannot be resumed")]
    RolledBack { run_id: String },
    #[error("steps {steps:?} need confirmation")]
    NeedsConfirmation { steps: Vec<usize> },
    #[error("step {step} on {host}: precondition failed: {message}")]
    Precondition {
        step: usize,
        host: String,
        message: String,
    },
    #[error("step {step}: {source}")]
    Target {
        step: usize,
        #[source]
        source: TargetError,
    },
    #[error("step {step} on {host}: `{command}` exited with {got}, expected {expected}: {stderr}")]
    CommandStatus {
        step: usize,
        host: String,
        command: String,
        expected: i32,
        got: i32,
        stderr: String,
    },
    #[error("step {step}: no generated content for id {id:?}")]
    MissingGenerated { step: usize, id: String },
    #[error("step {step} on {host}: {path} {message}")]
    Conflict {
        step: usize,
        host: String,
        path: String,
        message: String,
    },
    #[error("rollback does not support --dry-run")]
    DryRunRollback,
    #[error("step {step} on {host}: verification failed: {message}")]
    Verify {
        step: usize,
        host: String,
        message: String,
    },
    #[error("making {id}: {message}")]
    Generate { id: String, message: String },
    #[error("crashed after step {step} (test switch {CRASH_ENV})")]
    Crashed { step: usize },
}

impl ApplyError {
    /// Puts what a target reported in the step it happened in, for
    /// `map_err`: `target.read_file(path).map_err(ApplyError::in_step(id))`.
    pub(crate) fn in_step(step: usize) -> impl Fn(TargetError) -> ApplyError + Copy {
        move |source| ApplyError::Target { step, source }
    }
}
