//! SSL019 replication-ssl-unverified: a replica pulls from its source
//! without SSL, or without checking who the source is.

use crate::facts::HostFacts;
use crate::rule::Control;
use crate::{Context, Finding, Location, Rule, RuleMeta, Severity};

/// SSL019: a replication channel has `Master_SSL_Allowed: No` or
/// `Master_SSL_Verify_Server_Cert: No`.
pub struct ReplicationSslUnverified;

const HELP: &str = r#"## What it checks

Every replication channel of every server whose replica status was collected
(`SHOW REPLICA STATUS`, `SHOW SLAVE STATUS`, MariaDB's `SHOW ALL SLAVES STATUS`), one
finding per channel:

- `Master_SSL_Allowed: No` (or `Ignored`): the channel does not use SSL;
- `Master_SSL_Verify_Server_Cert: No`: it uses SSL but does not check that the source's
  certificate carries the source's host name, so anyone in the path can pose as the source.

## Why it matters

Replication carries every row change of the source, and logs in with a replication account
whose password crosses the same link. The seed's keys are distributed to every database of
the environment precisely so replicas can use them.

## How to fix

On the replica, with the CA the environment distributed (here `/db/mysql/5.6/data/root.crt`):

```
STOP SLAVE;
CHANGE MASTER TO MASTER_SSL=1,
  MASTER_SSL_CA='/db/mysql/5.6/data/root.crt',
  MASTER_SSL_VERIFY_SERVER_CERT=1;
START SLAVE;
```

MySQL 8.0.23+: `STOP REPLICA; CHANGE REPLICATION SOURCE TO SOURCE_SSL=1,
SOURCE_SSL_CA='...', SOURCE_SSL_VERIFY_SERVER_CERT=1; START REPLICA;` (add
`FOR CHANNEL 'name'` for a named channel). Verification needs the source's certificate to
name the host the replica connects to. Then require SSL of the replication account:
`ALTER USER repl@'10.0.0.%' REQUIRE X509;` (SSL005).
"#;

static META: RuleMeta = RuleMeta::new(
    "SSL019",
    "replication-ssl-unverified",
    Severity::Medium,
    "a replication channel does not use SSL or does not verify the source's certificate",
    HELP,
    &[
        "MySQL SSL Support: Overview",
        "MySQL 8.0 Reference Manual: Setting Up Replication to Use Encrypted Connections",
        "MariaDB Server Documentation: Replication with Secure Connections",
    ],
)
.controls(&[
    Control::nist("SC-8(1)", "cryptographic protection of replication traffic between servers"),
    Control::nist("SC-23", "session authenticity: a replica that does not verify its source's certificate can be misled"),
    Control::pci("4.2.1", "strong cryptography protects account data during transmission over open, public networks"),
]);

impl Rule for ReplicationSslUnverified {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, _cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        let Some(channels) = host.mysql.as_ref().and_then(|m| m.replication.as_ref()) else {
            return;
        };
        for ch in channels {
            let problem = if !ch.ssl_allowed {
                "does not use SSL (Master_SSL_Allowed: No)"
            } else if !ch.ssl_verify_server_cert {
                "uses SSL but does not verify the source's certificate (Master_SSL_Verify_Server_Cert: No)"
            } else {
                continue;
            };
            let name = if ch.name.is_empty() {
                "default"
            } else {
                ch.name.as_str()
            };
            let mut f = self
                .finding(
                    host,
                    format!(
                        "replication channel '{}' from {} {problem}",
                        ch.name, ch.source_host
                    ),
                    Location::object(crate::Subject::channel(name)),
                )
                .evidence("source_host", ch.source_host.clone())
                .evidence("ssl_allowed", ch.ssl_allowed.to_string())
                .evidence(
                    "ssl_verify_server_cert",
                    ch.ssl_verify_server_cert.to_string(),
                );
            if let Some(u) = &ch.source_user {
                f = f.evidence("source_user", u.clone());
            }
            if let Some(ca) = &ch.ssl_ca {
                f = f.evidence("ssl_ca", ca.clone());
            }
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{ReplicationChannel, Role};
    use crate::testkit::*;

    fn ch(name: &str, allowed: bool, verify: bool) -> ReplicationChannel {
        ReplicationChannel {
            name: name.into(),
            source_host: "10.0.0.10".into(),
            source_user: Some("repl".into()),
            ssl_allowed: allowed,
            ssl_verify_server_cert: verify,
            ssl_ca: allowed.then(|| "/db/mysql/5.6/data/root.crt".to_string()),
            ssl_cert: None,
            ssl_key: None,
        }
    }

    fn replica(channels: Option<Vec<ReplicationChannel>>) -> HostFacts {
        let mut h = db_host("db-replica");
        h.roles = [Role::DbReplica].into_iter().collect();
        mysql_mut(&mut h).replication = channels;
        h
    }

    #[test]
    fn verified_ssl_channels_pass() {
        assert!(
            run(
                &ReplicationSslUnverified,
                &replica(Some(vec![ch("", true, true)]))
            )
            .is_empty()
        );
        assert!(run(&ReplicationSslUnverified, &replica(Some(Vec::new()))).is_empty());
        assert!(run(&ReplicationSslUnverified, &replica(None)).is_empty());
    }

    #[test]
    fn plain_channel_fails() {
        let f = run(
            &ReplicationSslUnverified,
            &replica(Some(vec![ch("", false, false)])),
        );
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "replication channel '' from 10.0.0.10 does not use SSL (Master_SSL_Allowed: No)"
        );
        assert_eq!(f[0].location, Location::object("channel:default"));
        assert_eq!(f[0].severity, Severity::Medium);
        assert_eq!(f[0].evidence["source_user"], "repl");
    }

    #[test]
    fn one_finding_per_channel() {
        let f = run(
            &ReplicationSslUnverified,
            &replica(Some(vec![
                ch("", true, false),
                ch("eu", false, false),
                ch("us", true, true),
            ])),
        );
        let objects: Vec<_> = f.iter().map(|f| f.subject().to_string()).collect();
        assert_eq!(objects, ["channel:default", "channel:eu"]);
        assert!(
            f[0].message
                .contains("does not verify the source's certificate")
        );
        assert!(
            f[1].message
                .starts_with("replication channel 'eu' from 10.0.0.10")
        );
    }
}
