//! A small hand-built fleet report shared by the format tests: two
//! environments, a scanned, a partial and an unreachable host, findings on
//! files and on objects only, a waived finding, an expired
//! waiver, and a rule-pack rule.
#![allow(dead_code)] // each test binary uses a different part

use std::borrow::Cow;

use sslaudit_rules::finding::{Suppression, sort_findings};
use sslaudit_rules::policy::ExpiredWaiver;
use sslaudit_rules::report::{
    FileExtent, HostStatus, HostSummary, SCHEMA_VERSION, ScanReport, ToolInfo,
};
use sslaudit_rules::{Finding, Location, RuleMeta, Severity};

const HELP_SSL001: &str = "## What it checks\n\nThat the server reports `have_ssl` = `YES`: \
an `ssl-ca` in my.cnf is not enough until mysqld is restarted.\n\nA second paragraph.\n\n\
## Why it matters\n\nWithout SSL every query crosses the network in clear text.\n\n\
## How to fix\n\n```sh\n/etc/init.d/mysql restart\n```\n";

const HELP_GENERIC: &str = "## What it checks\n\nThe thing.\n\n## Why it matters\n\nIt matters.\n\n\
## How to fix\n\nFix it.\n";

pub static SCAN001: RuleMeta = RuleMeta::new(
    "SCAN001",
    "host-unreachable",
    Severity::High,
    "a host of the inventory could not be reached or authenticated",
    HELP_GENERIC,
    &[],
);
pub static SCAN002: RuleMeta = RuleMeta::new(
    "SCAN002",
    "collection-incomplete",
    Severity::Medium,
    "some facts of a reachable host could not be collected",
    HELP_GENERIC,
    &[],
);
pub static SSL001: RuleMeta = RuleMeta::new(
    "SSL001",
    "have-ssl-disabled",
    Severity::High,
    "the server runs without SSL",
    HELP_SSL001,
    &[
        "MySQL SSL Support: Verify SSL is Enabled",
        "CIS Oracle MySQL 8.0 Benchmark 8.1",
    ],
);
pub static SSL004: RuleMeta = RuleMeta::new(
    "SSL004",
    "certificate-expiry",
    Severity::High,
    "a certificate has expired or expires soon",
    HELP_GENERIC,
    &["https://dev.mysql.com/doc/refman/8.0/en/using-encrypted-connections.html"],
);
pub static SSL005: RuleMeta = RuleMeta::new(
    "SSL005",
    "account-without-x509",
    Severity::High,
    "an application account does not REQUIRE X509",
    HELP_GENERIC,
    &["MySQL SSL Support: Enforce SSL Connections"],
);
pub static SSL020: RuleMeta = RuleMeta::new(
    "SSL020",
    "client-skips-verification",
    Severity::Medium,
    "a client does not verify the server certificate",
    HELP_GENERIC,
    &[],
);

/// A user-defined rule from a rule pack: owned strings, a non-SSL id.
pub fn rule_pack_rule() -> RuleMeta {
    RuleMeta {
        id: Cow::Owned("ORG001".into()),
        name: Cow::Owned("legacy-tls-client".into()),
        severity: Severity::Low,
        summary: Cow::Owned("an application still pins TLS 1.0".into()),
        help: Cow::Owned(String::new()),
        references: Cow::Owned(vec![]),
        evidence: Default::default(),
        controls: &[],
    }
}

pub fn host(env: &str, name: &str, role: &str, status: HostStatus) -> HostSummary {
    HostSummary {
        name: name.into(),
        environment: env.into(),
        roles: vec![role.into()],
        status,
        declared_at: None,
        files: Default::default(),
        access: Default::default(),
        not_applicable: Vec::new(),
        wire: None,
        client_tls: Vec::new(),
        census: None,
    }
}

pub fn sample_report() -> ScanReport {
    let mut findings = vec![
        Finding::new(
            "SSL001",
            Severity::High,
            "db-master",
            "production",
            "have_ssl is DISABLED (ssl-ca configured in /etc/mysql/my.cnf:12 but not loaded)",
            Location::file("/etc/mysql/my.cnf", Some(12)).with_object("variable:have_ssl"),
        )
        .evidence("have_ssl", "DISABLED")
        .evidence("ssl_ca", "/db/mysql/5.7/data/root.crt"),
        Finding::new(
            "SSL004",
            Severity::Critical,
            "db-master",
            "production",
            "server certificate expired on 2026-05-01 (31 days before 2026-06-01)",
            Location::file("/db/mysql/5.7/data/server.crt", None)
                .with_object("cert:/db/mysql/5.7/data/server.crt#0"),
        ),
        {
            let mut f = Finding::new(
                "SSL005",
                Severity::High,
                "db-master",
                "production",
                "account deploy@% does not REQUIRE X509 (ssl_type is empty)",
                Location::object("account:deploy@%"),
            );
            f.suppressed = Some(Suppression {
                justification: "legacy reporting job, ticket OPS-12".into(),
                expires: Some("2027-01-31".into()),
            });
            f
        },
        Finding::new(
            "SCAN001",
            Severity::High,
            "db-replica",
            "production",
            "host could not be reached, nothing on it was checked: ssh: connection refused (10.0.0.13:22)",
            Location::object("host:reachability"),
        ),
        Finding::new(
            "SCAN002",
            Severity::Medium,
            "app-1",
            "production",
            "mysql accounts not collected: SELECT command denied to user 'sslaudit'@'%'",
            Location::object("collect:mysql accounts"),
        ),
        Finding::new(
            "ORG001",
            Severity::Low,
            "app-1",
            "production",
            "database.yml production pins tls_version TLSv1",
            Location::file("/data/shop/current/config/database.yml", Some(7))
                .with_object("database.yml:production"),
        ),
        Finding::new(
            "SSL020",
            Severity::Medium,
            "staging-db",
            "staging",
            "sslverify is false in database.yml staging",
            Location::file("/data/shop/current/config/my database.yml", Some(3)),
        ),
    ];
    sort_findings(&mut findings);
    ScanReport {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "sslaudit".into(),
            version: "0.1.0".into(),
        },
        as_of: "2026-06-01".into(),
        hosts: vec![
            HostSummary {
                declared_at: Some(Location::file("fleet/production.yaml", Some(4))),
                files: [(
                    "/db/mysql/5.7/data/server.crt".to_string(),
                    FileExtent::Lines(20),
                )]
                .into(),
                ..host("production", "db-master", "db_master", HostStatus::Scanned)
            },
            host(
                "production",
                "db-replica",
                "db_replica",
                HostStatus::Unreachable,
            ),
            host("production", "app-1", "app", HostStatus::Partial),
            HostSummary {
                declared_at: Some(Location::file("/srv/inventories/staging.yaml", Some(2))),
                ..host("staging", "staging-db", "db_master", HostStatus::Scanned)
            },
        ],
        findings,
        expired_waivers: vec![ExpiredWaiver {
            rule: "SSL005".into(),
            host: "db-master".into(),
            object: Some("account:reports@%".into()),
            expires: "2026-01-01".into(),
            origin: "policy.toml:14".into(),
        }],
        certificates: Default::default(),
        scope: None,
        pending: Vec::new(),
        next_ca: Vec::new(),
        readiness: Vec::new(),
    }
}

/// The rules that "ran", in catalogue order, the rule-pack rule last.
pub fn with_rules<T>(f: impl FnOnce(&[&RuleMeta]) -> T) -> T {
    let pack = rule_pack_rule();
    let rules: Vec<&RuleMeta> = vec![
        &SCAN001, &SCAN002, &SSL001, &SSL004, &SSL005, &SSL020, &pack,
    ];
    f(&rules)
}
pub mod large;
