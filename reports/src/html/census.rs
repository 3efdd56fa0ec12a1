//! "Connected right now": the session census of every database host whose
//! SQL facts were collected: the sessions over TCP without TLS (SSL028)
//! and those whose transport could not be seen, and which hosts the census
//! could not see into at all.

use serde::Serialize;
use sslaudit_rules::facts::{CensusSource, SessionTransport};
use sslaudit_rules::report::ScanReport;

use super::c;

/// Most rows the page lists; the JSON report (`hosts[].census`) has them all.
const MAX_ROWS: usize = 200;

#[derive(Serialize)]
pub(super) struct CensusView {
    rows: Vec<CensusRow>,
    /// Rows before the cap.
    total: usize,
    /// Hosts whose census saw how sessions connect, and those that could not.
    seen: usize,
    blind: Vec<String>,
}

#[derive(Serialize)]
struct CensusRow {
    environment: String,
    host: String,
    client: String,
    transport: &'static str,
    program: String,
    count: u32,
    /// `seen in 3 of 31 looks over 30 s` (a sampled census), or empty.
    seen: String,
}

impl CensusView {
    pub(super) fn of(report: &ScanReport) -> Option<Self> {
        let mut rows = Vec::new();
        let mut seen = 0;
        let mut blind = Vec::new();
        for h in &report.hosts {
            let Some(census) = &h.census else {
                continue;
            };
            if census.source != CensusSource::PerformanceSchema {
                blind.push(c(&format!(
                    "{} ({})",
                    h.name,
                    census.note.as_deref().unwrap_or("not seen")
                )));
            } else {
                seen += 1;
            }
            for s in census.sessions.iter().filter(|s| {
                matches!(
                    s.transport,
                    SessionTransport::Tcp | SessionTransport::Unknown
                )
            }) {
                rows.push(CensusRow {
                    environment: c(&h.environment),
                    host: c(&h.name),
                    client: c(&format!("{}@{}", s.user, s.host)),
                    transport: s.transport.as_str(),
                    program: s.program.as_deref().map(c).unwrap_or_default(),
                    count: s.count,
                    seen: c(census.seen_note(s).trim_start_matches(", ")),
                });
            }
        }
        if seen == 0 && blind.is_empty() {
            return None;
        }
        // Plaintext first, then the most sessions.
        rows.sort_by_key(|r| {
            (
                r.transport != SessionTransport::Tcp.as_str(),
                std::cmp::Reverse(r.count),
            )
        });
        let total = rows.len();
        rows.truncate(MAX_ROWS);
        Some(CensusView {
            rows,
            total,
            seen,
            blind,
        })
    }
}
