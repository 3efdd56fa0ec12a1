//! "What the application's driver really does": per MySQL environment of
//! the application hosts' database.yml files, encrypted / verified /
//! identity checked as the driver table (docs/drivers.md) judges it, with
//! the driver it rests on (adapter, Gemfile.lock version, client library).

use serde::Serialize;
use sslaudit_rules::app::driver::{EnvTls, Tri};
use sslaudit_rules::report::ScanReport;

use super::c;

/// Most rows the page lists; the JSON report (`hosts[].client_tls`) has
/// them all.
pub(super) const MAX_ROWS: usize = 200;

#[derive(Serialize)]
pub(super) struct ClientTlsView {
    rows: Vec<ClientTlsRow>,
    total: usize,
    /// Environments that are encrypted but not verified, or not encrypted.
    unverified: usize,
    plaintext: usize,
}

#[derive(Serialize)]
struct ClientTlsRow {
    environment: String,
    host: String,
    yml: String,
    app_environment: String,
    connects_to: String,
    driver: String,
    encrypted: &'static str,
    verified: &'static str,
    identity: &'static str,
}

impl ClientTlsView {
    pub(super) fn of(report: &ScanReport) -> Option<Self> {
        let all: Vec<(&str, &str, &EnvTls)> = report
            .hosts
            .iter()
            .flat_map(|h| {
                h.client_tls
                    .iter()
                    .map(move |e| (h.environment.as_str(), h.name.as_str(), e))
            })
            .collect();
        if all.is_empty() {
            return None;
        }
        // The worst first: plaintext, then unverified, then the rest.
        let rank = |e: &EnvTls| match (e.encrypted, e.verified) {
            (Tri::No, _) => 0,
            (_, Tri::No) => 1,
            (Tri::Unknown, _) | (_, Tri::Unknown) => 2,
            _ => 3,
        };
        let mut sorted = all.clone();
        sorted.sort_by_key(|(env, host, e)| {
            (
                rank(e),
                *env,
                *host,
                e.path.as_str(),
                e.environment.as_str(),
            )
        });
        let rows = sorted
            .iter()
            .take(MAX_ROWS)
            .map(|(env, host, e)| ClientTlsRow {
                environment: c(env),
                host: c(host),
                yml: c(&e.path),
                app_environment: c(&e.environment),
                connects_to: e.host.as_deref().map_or_else(|| "-".to_string(), c),
                driver: c(&e.driver.describe()),
                encrypted: e.encrypted.as_str(),
                verified: e.verified.as_str(),
                identity: e.identity.as_str(),
            })
            .collect();
        Some(ClientTlsView {
            rows,
            total: all.len(),
            unverified: all
                .iter()
                .filter(|(_, _, e)| e.encrypted == Tri::Yes && e.verified == Tri::No)
                .count(),
            plaintext: all
                .iter()
                .filter(|(_, _, e)| e.encrypted == Tri::No)
                .count(),
        })
    }
}
