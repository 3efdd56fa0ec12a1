//! A generated fleet large enough to show what the reports do at scale,
//! shaped like `sslaudit-bench gen`'s snapshots: environments of ten hosts
//! (a master, two replicas, seven application hosts), three certificates a
//! host, one host in seven with one to three findings, one in a hundred
//! unreachable, a trust store per application host. Built in code, so a
//! debug test of 2,000 hosts takes a second, not a scan.

use sslaudit_rules::finding::sort_findings;
use sslaudit_rules::readiness::TrustRow;
use sslaudit_rules::report::{
    CertificateSummary, ExpiryStatus, HostStatus, SCHEMA_VERSION, ScanReport, ToolInfo,
};
use sslaudit_rules::{Finding, Location, Severity};

use super::host;

/// `hosts` hosts (a multiple of ten) in `hosts / 10` environments.
pub fn fleet(hosts: usize) -> ScanReport {
    let mut report = ScanReport {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "sslaudit".into(),
            version: "0.1.0".into(),
        },
        as_of: "2026-06-01".into(),
        hosts: Vec::new(),
        findings: Vec::new(),
        expired_waivers: Vec::new(),
        certificates: Default::default(),
        scope: None,
        pending: Vec::new(),
        next_ca: Vec::new(),
        readiness: Vec::new(),
    };
    for i in 0..hosts {
        let env = format!("env-{:05}", i / 10);
        let (name, role) = match i % 10 {
            0 => ("db-master".to_string(), "db_master"),
            n @ 1..=2 => (format!("db-replica-{n}"), "db_replica"),
            n => (format!("app-{}", n - 2), "app"),
        };
        let status = if i % 100 == 42 {
            HostStatus::Unreachable
        } else {
            HostStatus::Scanned
        };
        report.hosts.push(host(&env, &name, role, status.clone()));
        if status == HostStatus::Unreachable {
            report.findings.push(Finding::new(
                "SCAN001",
                Severity::High,
                &name,
                &env,
                "host could not be reached, nothing on it was checked: ssh: connection refused",
                Location::object("host:reachability"),
            ));
            continue;
        }
        for k in 0..3 {
            // Most certificates are years from expiry; a few have expired
            // or expire within the month.
            let (days_left, status) = match (i * 3 + k) % 97 {
                0 => (-20, ExpiryStatus::Expired),
                1 => (12, ExpiryStatus::Soon),
                n => (200 + (n as i64) * 9, ExpiryStatus::Ok),
            };
            report.certificates.to_mut().push(CertificateSummary {
                host: name.clone(),
                environment: env.clone(),
                path: format!("/db/mysql/5.7/data/cert-{k}.crt"),
                index: 0,
                subject: format!("CN={name}.{env}"),
                issuer: format!("CN=ca.{env}"),
                not_before: "2025-01-01".into(),
                not_after: day_after_2026_06_01(days_left),
                days_left,
                status,
                sha256: format!("{:064x}", i * 3 + k),
                issuing_ca: None,
                serial: None,
                not_before_unix: None,
                not_after_unix: None,
            });
        }
        if role == "app" {
            report.readiness.push(TrustRow {
                environment: env.clone(),
                host: name.clone(),
                client: "database.yml production".into(),
                ca_file: "/home/deploy/.mysql/root.crt".into(),
                server: "db-master".into(),
                trusts_current: Some(i % 50 != 7),
                trusts_next: None,
                missing_next: Vec::new(),
            });
        }
        if i % 7 != 3 {
            continue;
        }
        let faults = [
            (
                "SSL001",
                Severity::High,
                "have_ssl is DISABLED",
                "/etc/mysql/my.cnf",
            ),
            (
                "SSL006",
                Severity::High,
                "database.yml has no sslca",
                "/data/shop/current/config/database.yml",
            ),
            (
                "SSL013",
                Severity::Medium,
                "client key of deploy is missing",
                "/home/deploy/.mysql/mysql.key",
            ),
            (
                "SSL011",
                Severity::Low,
                "RANDFILE is set in openssl.cnf",
                "/etc/ssl/openssl.cnf",
            ),
            (
                "SSL004",
                Severity::Critical,
                "server certificate expired",
                "/db/mysql/5.7/data/server.crt",
            ),
        ];
        for n in 0..=(i % 3) {
            let (rule, sev, message, path) = faults[(i / 7 + n) % faults.len()];
            report.findings.push(
                Finding::new(
                    rule,
                    sev,
                    &name,
                    &env,
                    message,
                    Location::file(path, Some(3)),
                )
                .evidence("path", path),
            );
        }
    }
    sort_findings(&mut report.findings);
    report
}

/// `2026-06-01` plus `days` days, as a report writes dates.
fn day_after_2026_06_01(days: i64) -> String {
    let date = time::Date::from_calendar_date(2026, time::Month::June, 1)
        .expect("a valid date")
        .saturating_add(time::Duration::days(days));
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// `1,000`: counts as the HTML report writes them in its notes.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}
