//! SCAN001: a host the scanner could not reach or log in to.

use crate::facts::{HostFacts, Reachability};
use crate::rule::{Context, Rule, RuleMeta};
use crate::{Finding, Location, Severity};

pub struct HostUnreachable;

const HELP: &str = r#"## What it checks

Every host of the inventory (or snapshot) that the scanner could not reach or
log in to, with the reason the transport gave (`ssh: connection refused`,
an authentication failure, a timeout), and every host whose database refused
the scanner: a refused MySQL login, a server certificate the scanner could
not verify, a client that would not run.

## Why it matters

No other rule can say anything about such a host: its certificates may be
expired, its accounts may not require X509, and the report would still look
clean. An unreachable host is a gap in the audit, not a pass.

## How to fix

Make the host reachable for the scan: check that it is running and that its
address in the inventory is current, that SSH answers from where the scanner
runs (`ssh -v <user>@<address>`), and that the scanner's user and key are
accepted. Then scan again. If the host was retired, remove it from the
inventory.
"#;

static META: RuleMeta = RuleMeta::new(
    "SCAN001",
    "host-unreachable",
    Severity::High,
    "the scanner could not reach or log in to a host, so nothing on it was checked",
    HELP,
    &["sslaudit snapshot format: host.toml [reachability]"],
);

impl Rule for HostUnreachable {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, _cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        // A database that refuses the scanner leaves the host unaudited just
        // as surely as a dead SSH port: the audit must not pass by silence.
        for p in host.problems.iter().filter(|p| p.is_access_failure()) {
            let msg = format!(
                "the scanner could not log in to the database, its SQL facts were not checked: {}",
                p.message.trim()
            );
            out.push(
                self.finding(host, msg, Location::object(format!("host:{}", p.what)))
                    .evidence("what", p.what.clone())
                    .evidence("error", p.message.trim()),
            );
        }
        let Reachability::Unreachable { reason } = &host.reachability else {
            return;
        };
        let reason = reason.trim();
        let reason = if reason.is_empty() {
            "no reason given"
        } else {
            reason
        };
        let msg = format!("host could not be reached, nothing on it was checked: {reason}");
        let mut f = self
            .finding(host, msg, Location::object("host:reachability"))
            .evidence("reason", reason);
        if let Some(a) = &host.address {
            f = f.evidence("address", a.clone());
        }
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Fleet;
    use crate::layout::Layout;
    use crate::policy::Thresholds;

    fn run(h: &HostFacts) -> Vec<Finding> {
        let t = Thresholds::default();
        let fleet = Fleet::default();
        let cx = Context {
            as_of: 0,
            thresholds: &t,
            fleet: &fleet,
        };
        let mut out = Vec::new();
        HostUnreachable.check_host(&cx, h, &mut out);
        out
    }

    #[test]
    fn unreachable_host_is_reported_with_its_reason() {
        let mut h = HostFacts::new("db-replica-2", "production", Layout::engineyard());
        h.address = Some("10.0.0.13".into());
        h.reachability = Reachability::Unreachable {
            reason: "ssh: connection refused (10.0.0.13:22)".into(),
        };
        let f = run(&h);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "host could not be reached, nothing on it was checked: ssh: connection refused (10.0.0.13:22)"
        );
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].host, "db-replica-2");
        assert_eq!(f[0].evidence["address"], "10.0.0.13");
        assert_eq!(f[0].location.object.as_deref(), Some("host:reachability"));
    }

    #[test]
    fn blank_reason_still_reads_well() {
        let mut h = HostFacts::new("app-1", "production", Layout::engineyard());
        h.reachability = Reachability::Unreachable { reason: " ".into() };
        assert!(run(&h)[0].message.ends_with(": no reason given"));
    }

    #[test]
    fn a_refused_database_login_is_an_unaudited_host() {
        let mut h = HostFacts::new("db-master", "production", Layout::engineyard());
        h.problems.push(crate::facts::CollectionProblem {
            what: "mysql login".into(),
            path: None,
            line: None,
            message: "ERROR 1045 (28000): Access denied for user 'sslaudit'@'10.0.0.5'".into(),
        });
        h.problems.push(crate::facts::CollectionProblem {
            what: "mysql accounts".into(),
            path: None,
            line: None,
            message: "SELECT command denied".into(),
        });
        let f = run(&h);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].message.contains("Access denied"), "{}", f[0].message);
        assert_eq!(f[0].location.object.as_deref(), Some("host:mysql login"));
    }

    #[test]
    fn reachable_host_passes() {
        let h = HostFacts::new("app-1", "production", Layout::engineyard());
        assert!(run(&h).is_empty());
    }
}
