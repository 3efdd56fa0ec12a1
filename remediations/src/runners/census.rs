//! The session-census preflight of enforcement: before a change that cuts
//! clients off (REQUIRE X509 on an account, require_secure_transport on a
//! server), the live sessions the scan saw on the servers it changes must
//! show that nobody would be cut off; a census that could not see is no
//! evidence. `remediate plan --allow-live-sessions REASON` overrides, and
//! the reason goes into the step (so into the plan and the run's journal).

use sslaudit_rules::facts::{CensusSource, HostFacts, LiveSession, SessionTransport};

use super::{Builder, Refusal};

/// What a change does to sessions.
pub(crate) struct Change<'a> {
    /// For the refusal: `deploy@'%'`, `require_secure_transport on db-master`.
    pub subject: String,
    /// The sessions the change concerns (an account's; all of them).
    pub concerns: &'a dyn Fn(&LiveSession) -> bool,
    /// How a session would be cut off (its transport, or why a TLS one
    /// may be), or `None` when it would not.
    pub cuts: &'a dyn Fn(&LiveSession) -> Option<String>,
    /// What the sessions it does not cut off have in common, for the note.
    pub kept: &'a str,
}

/// A transport as the refusal names it.
pub(crate) fn how(t: SessionTransport) -> String {
    match t {
        SessionTransport::Unknown => {
            "connected, how cannot be seen (performance_schema is off)".into()
        }
        t => t.as_str().into(),
    }
}

/// `Ok(note)` for the step's why, or the refusal.
pub(crate) fn preflight<'h>(
    b: &Builder,
    hosts: impl IntoIterator<Item = &'h HostFacts>,
    change: &Change,
) -> Result<String, Refusal> {
    let mut cut = Vec::new();
    let mut kept = 0u32;
    let mut blind = Vec::new();
    for h in hosts.into_iter().filter(|h| h.is_reachable()) {
        let census = h.mysql.as_ref().and_then(|m| m.sessions.as_ref());
        let Some(census) = census.filter(|c| c.source != CensusSource::Unavailable) else {
            let why = census
                .and_then(|c| c.note.clone())
                .unwrap_or_else(|| "no session census was collected".into());
            blind.push((h.name.clone(), why));
            continue;
        };
        for s in census.sessions.iter().filter(|s| (change.concerns)(s)) {
            let Some(how) = (change.cuts)(s) else {
                kept += s.count;
                continue;
            };
            cut.push(format!(
                "{}@{} on {} ({how}, {} session{}{}{})",
                s.user,
                s.host,
                h.name,
                s.count,
                if s.count == 1 { "" } else { "s" },
                s.program
                    .as_deref()
                    .map(|p| format!(", {p}"))
                    .unwrap_or_default(),
                census.seen_note(s),
            ));
        }
    }
    let kept_note = if kept > 0 {
        format!(
            "; {kept} live session(s) it does not cut off ({})",
            change.kept
        )
    } else {
        String::new()
    };
    let problem = match (cut.is_empty(), blind.first()) {
        (true, None) => {
            return Ok(format!(
                "session census: no live session would be cut off{kept_note}"
            ));
        }
        (false, _) => Refusal::LiveSessions {
            subject: change.subject.clone(),
            sessions: cut.join(", "),
        },
        (true, Some((host, why))) => Refusal::CensusBlind {
            subject: change.subject.clone(),
            host: host.clone(),
            why: why.clone(),
        },
    };
    match &b.meta.allow_live_sessions {
        Some(reason) => Ok(format!(
            "OVERRIDDEN with --allow-live-sessions ({reason}): {problem}{kept_note}"
        )),
        None => Err(problem),
    }
}
