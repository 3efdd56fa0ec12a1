//! Dry-run: what each step of a plan would change on its host, with a
//! redacted diff for text files, changing nothing.

use super::execute::{backup_path, content_bytes};
use super::verify::check_precondition;
use super::{ApplyOptions, Preview, RunReport, StepOutcome, StepReport, target_for};
use crate::error::ApplyError;
use crate::plan::{Action, Applicability, Content, Plan, Precondition, Step};
use crate::target::{Target, Targets};
use crate::text::redacted_diff;
use std::fmt::Write as _;

pub(super) fn preview(
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

fn ownership_now(owner: Option<&str>, group: Option<&str>) -> String {
    match (owner, group) {
        (Some(o), Some(g)) => format!(" ({o}:{g})"),
        (Some(o), None) => format!(" ({o})"),
        _ => String::new(),
    }
}

fn preview_step(
    plan: &Plan,
    step: &Step,
    target: &dyn Target,
    opts: &ApplyOptions<'_>,
) -> Result<Preview, ApplyError> {
    let terr = ApplyError::in_step(step.id);
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
