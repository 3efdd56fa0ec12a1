//! Looking at a host without changing it: whether a precondition holds,
//! whether a started step already had its effect, and whether the server
//! presents the certificate a run installed.

use crate::error::ApplyError;
use crate::journal::UndoInfo;
use crate::plan::{Action, Precondition, Step};
use crate::target::{EntryKind, Target, TargetError};
use sslaudit_rules::digest::sha256_hex;

/// `None` when the precondition holds, else why not.
pub(super) fn check_precondition(
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

/// Whether a started step already had its full effect (so it is not done
/// twice). Commands and SQL cannot be observed and always run again.
pub(super) fn effect_present(
    step: &Step,
    info: &UndoInfo,
    target: &dyn Target,
) -> Result<bool, TargetError> {
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

/// Compares the leaf certificate the server presents with `expected` (PEM
/// or DER) by the SHA-256 of the DER.
pub(super) fn verify_served(
    step: &Step,
    expected: &[u8],
    target: &dyn Target,
) -> Result<(), ApplyError> {
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
        .map_err(ApplyError::in_step(step.id))?
        .ok_or_else(|| fail("the server offers no TLS".to_string()))?;
    let (want, got) = (sha256_hex(&expected_der), sha256_hex(&served));
    if want != got {
        return Err(fail(format!(
            "the server presents the certificate with SHA-256 {got}, not the new one ({want})"
        )));
    }
    Ok(())
}
