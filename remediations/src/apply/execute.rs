//! Running one step on a host: [`prepare`] records what undoing it will
//! need (before anything changes), [`execute`] makes the change, and
//! [`content_bytes`] resolves the bytes a file write puts in place.

use super::ApplyOptions;
use super::verify::verify_served;
use crate::error::ApplyError;
use crate::journal::{PreviousFile, UndoInfo};
use crate::plan::{Action, Content, Plan, Step};
use crate::target::{EntryKind, Target};
use crate::text;
use sslaudit_rules::digest::sha256_hex;

pub(super) fn content_bytes(
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
                .map_err(ApplyError::in_step(step.id))?
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

pub(super) fn conflict(step: &Step, path: &str, message: &str) -> ApplyError {
    ApplyError::Conflict {
        step: step.id,
        host: step.host.clone(),
        path: path.to_string(),
        message: message.to_string(),
    }
}

/// Looks at the host and records what undoing the step will need.
pub(super) fn prepare(
    plan: &Plan,
    step: &Step,
    target: &dyn Target,
    opts: &ApplyOptions<'_>,
) -> Result<UndoInfo, ApplyError> {
    let terr = ApplyError::in_step(step.id);
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

pub(super) fn execute(
    step: &Step,
    info: &UndoInfo,
    target: &dyn Target,
    opts: &ApplyOptions<'_>,
) -> Result<(), ApplyError> {
    let terr = ApplyError::in_step(step.id);
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

pub(super) fn run_action(
    step: &Step,
    action: &Action,
    target: &dyn Target,
) -> Result<(), ApplyError> {
    let terr = ApplyError::in_step(step.id);
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
