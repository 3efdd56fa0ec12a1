//! SCAN001: a host the scanner could not reach or log in to.

use crate::facts::{HostFacts, Reachability};
use crate::rule::Control;
use crate::rule::{Context, Rule, RuleMeta};
use crate::{Finding, Location, Severity};

pub struct HostUnreachable;

const HELP: &str = r#"## What it checks

Every host of the inventory (or snapshot) on which nothing at all could be
checked, with the reason: SSH did not answer or refused the scanner (a
connection refused or timed out, an authentication failure, an unknown or
changed host key), the scanner logged in but could not read a single path
(a `sudo` that wants a password, a host going away mid-scan), or, for
`sslaudit probe`, the port gave no MySQL greeting (refused, stalled, or not
a MySQL server).

A host that answered is never reported here: a database that refuses the
scanner's login, or whose certificate the scanner cannot verify, leaves its
SQL facts unchecked while its files, the TLS probe and the other rules
still judge it; that is SCAN002 (high). A server that offers no TLS at all
is SSL001, with a SCAN002 note that its SQL facts were not collected.

An unwaived SCAN001 fails the gate whatever `--fail-on` says (except
`never`) and whether or not it is new: an audit never passes by silence.

## Why it matters

No other rule can say anything about such a host: its certificates may be
expired, its accounts may not require X509, and the report would still look
clean. An unreachable host is a gap in the audit, not a pass.

## How to fix

Make the host reachable for the scan: check that it is running and that its
address in the inventory is current, that SSH answers from where the scanner
runs (`ssh -v <user>@<address>`), and that the scanner's user and key are
accepted. For a probed port, check that MySQL listens there
(`mysql -h <address> -P <port> -e 'status'`). Then scan again. If the host
was retired, remove it from the inventory.
"#;

static META: RuleMeta = RuleMeta::new(
    "SCAN001",
    "host-unreachable",
    Severity::High,
    "the scanner could not reach a host, so nothing on it was checked",
    HELP,
    &["sslaudit snapshot format: host.toml [reachability]"],
)
.controls(&[
    Control::nist("CA-7", "continuous monitoring: a host the scan could not reach went unmonitored, so its state is unknown"),
]);

impl Rule for HostUnreachable {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, _cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
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
    use crate::layout::Layout;

    fn run(h: &HostFacts) -> Vec<Finding> {
        crate::testkit::run(&HostUnreachable, h)
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
    fn a_host_that_answered_is_never_unreachable() {
        // A refused database login leaves the SQL facts unchecked, which is
        // SCAN002's (high) business: the host's files were still read.
        let mut h = HostFacts::new("db-master", "production", Layout::engineyard());
        h.problems.push(crate::facts::CollectionProblem::new(
            crate::facts::what::MYSQL_LOGIN,
            "ERROR 1045 (28000): Access denied for user 'sslaudit'@'10.0.0.5'",
        ));
        assert!(run(&h).is_empty());
    }

    #[test]
    fn reachable_host_passes() {
        let h = HostFacts::new("app-1", "production", Layout::engineyard());
        assert!(run(&h).is_empty());
    }
}
