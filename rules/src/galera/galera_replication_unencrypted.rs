//! SSL025 galera-replication-unencrypted: a Galera node replicates (and
//! serves IST) to its peers in plaintext.

use crate::facts::{HostFacts, ReplicationTls};
use crate::rule::Control;
use crate::{Context, Finding, Location, Rule, RuleMeta, Severity, Subject};

/// SSL025: a Galera node's replication traffic is not encrypted, or also
/// accepts unencrypted peers (`socket.dynamic=YES`).
pub struct GaleraReplicationUnencrypted;

const HELP: &str = r#"## What it checks

Every Galera node (MariaDB Cluster, Percona XtraDB Cluster): a host whose server runs with
`wsrep_on=ON` and a provider library, from the running server's variables where the scanner
queried it (`wsrep_provider_options` as the provider reports it), else from the option files
mysqld reads (`[mysqld]`, `[galera]`, `[mariadb]`...; Debian keeps them in
`/etc/mysql/mariadb.conf.d/60-galera.cnf`).

Galera's replication traffic (group communication on port 4567, incremental state transfers
on 4568) is encrypted when the provider has `socket.ssl=YES`, or when `socket.ssl_cert` and
`socket.ssl_key` are both set and `socket.ssl` is not `NO` (galera 26.4). MariaDB 11.4's
`wsrep_ssl_mode=SERVER`/`SERVER_X509` and Percona's `pxc_encrypt_cluster_traffic=ON` hand the
server's own `ssl-cert`/`ssl-key` to the provider instead. Where the scanner reached the node over SSH it also
makes a bare TLS handshake on the replication port (`gmcast.listen_addr`'s, default 4567)
from the host itself: a port that answers with galera's own protocol instead of TLS is
reported whatever the configuration says. A node is reported when none of these encrypts
its traffic (high), or when it does but `socket.dynamic=YES` still lets plaintext peers
connect (medium).

## Why it matters

Every write of the cluster crosses these links: each node sends each transaction's row
images to every other node, and IST replays whole ranges of them. A cluster whose client
port requires TLS but whose replication does not leaks every row that is written, and
anyone on the path can join the group communication or feed a node forged write sets.

## How to fix

On every node, with the environment's CA and the node's certificate and key (the server's
own are fine), in the option group that holds the other `wsrep_*` settings (Debian:
`/etc/mysql/mariadb.conf.d/60-galera.cnf`, `[galera]`):

```
wsrep_provider_options = "socket.ssl=YES;socket.ssl_ca=/etc/mysql/ssl/ca.pem;socket.ssl_cert=/etc/mysql/ssl/server-cert.pem;socket.ssl_key=/etc/mysql/ssl/server-key.pem"
```

Encrypted and plaintext nodes cannot talk to each other: either restart the whole cluster
(bootstrap the most advanced node with `galera_new_cluster`, then start the others), or roll
it node by node with `socket.dynamic=YES` on every node first, then a second rolling
restart without it. Keep any other provider options (`gcache.size`...) in the same string.
"#;

static META: RuleMeta = RuleMeta::new(
    "SSL025",
    "galera-replication-unencrypted",
    Severity::High,
    "a Galera node's cluster replication traffic (ports 4567, 4568) is not encrypted",
    HELP,
    &[
        "Galera Cluster Documentation: SSL Configuration (socket.ssl, socket.ssl_cert, socket.ssl_key)",
        "MariaDB Server Documentation: Securing Communications in Galera Cluster",
        "Percona XtraDB Cluster Documentation: Encrypting PXC Traffic",
    ],
)
.controls(&[
    Control::nist("SC-8", "transmission confidentiality and integrity: replication carries every row the cluster writes"),
    Control::nist("SC-8(1)", "cryptographic protection of the traffic between cluster nodes"),
    Control::nist("SC-23", "session authenticity: an unauthenticated peer can join the group communication"),
    Control::pci("4.2.1", "strong cryptography protects account data during transmission over open, public networks"),
]);

impl Rule for GaleraReplicationUnencrypted {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, _cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        let Some(g) = &host.galera else {
            return;
        };
        let object = Subject::galera("replication-tls");
        // The scanner's own TLS handshake on the replication port, where it
        // made one: a port that answers without TLS overrules a
        // configuration that says otherwise (it is not what runs).
        let plain_port = g.ports.iter().find(|p| p.tls == Some(false));
        let (message, at, severity) = match g.replication_tls() {
            ReplicationTls::Encrypted { why, .. } if plain_port.is_some() => (
                format!(
                    "replication of Galera cluster '{}' is not encrypted: {} although {why}",
                    g.cluster_name(),
                    plain_port.map(|p| p.describe()).unwrap_or_default()
                ),
                None,
                Severity::High,
            ),
            ReplicationTls::Encrypted { dynamic: false, .. } => return,
            ReplicationTls::Encrypted { dynamic: true, .. } => (
                format!(
                    "replication of Galera cluster '{}' is encrypted but accepts plaintext peers (socket.dynamic=YES)",
                    g.cluster_name()
                ),
                g.provider_option("socket.dynamic").map(|v| v.from.clone()),
                Severity::Medium,
            ),
            ReplicationTls::Plaintext { why, at } => (
                format!(
                    "replication of Galera cluster '{}' is not encrypted: {why}",
                    g.cluster_name()
                ),
                at.map(|v| v.from),
                Severity::High,
            ),
        };
        let location = match at {
            Some(l) if l.file.is_some() => l.with_object(object),
            _ => Location::object(object),
        };
        let mut f = self
            .finding(host, message, location)
            .evidence("cluster", g.cluster_name().to_string());
        if !g.members.is_empty() {
            f = f.evidence("members", g.members.join(","));
        }
        if let Some(a) = &g.node_address {
            f = f.evidence("node_address", a.value.clone());
        }
        for p in &g.ports {
            f = f.evidence(&format!("port {}", p.address), p.describe());
        }
        f.severity = severity;
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const TLS: &str = "wsrep_provider_options = \"socket.ssl_cert=/etc/mysql/server.crt;socket.ssl_key=/etc/mysql/server.key;socket.ssl_ca=/etc/mysql/ca.pem\"\n";

    #[test]
    fn plaintext_replication_fires() {
        let h = galera_node(
            "db-1",
            "wsrep_cluster_name = shop\nwsrep_cluster_address = gcomm://10.0.0.1,10.0.0.2\n",
        );
        let out = run(&GaleraReplicationUnencrypted, &h);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].severity, Severity::High);
        assert_eq!(
            out[0].message,
            "replication of Galera cluster 'shop' is not encrypted: wsrep_provider_options sets no socket.ssl_cert and socket.ssl_key"
        );
        assert_eq!(out[0].evidence["members"], "10.0.0.1,10.0.0.2");
        assert_eq!(out[0].subject(), "galera:replication-tls");
    }

    #[test]
    fn socket_ssl_no_is_named_with_its_line() {
        let h = galera_node(
            "db-1",
            "wsrep_provider_options = \"socket.ssl_cert=/c;socket.ssl_key=/k;socket.ssl=NO\"\n",
        );
        let out = run(&GaleraReplicationUnencrypted, &h);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert!(
            out[0].message.ends_with("socket.ssl=NO"),
            "{}",
            out[0].message
        );
        assert_eq!(out[0].location.file.as_deref(), Some(MY_CNF));
        assert_eq!(out[0].location.line, Some(4));
    }

    #[test]
    fn dynamic_sockets_are_medium() {
        let h = galera_node(
            "db-1",
            "wsrep_provider_options = \"socket.ssl=YES;socket.dynamic=YES\"\n",
        );
        let out = run(&GaleraReplicationUnencrypted, &h);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].severity, Severity::Medium);
    }

    /// What the port says overrules the files.
    #[test]
    fn a_port_that_answers_without_tls_fires() {
        let mut h = galera_node("db-1", TLS);
        let port = |tls| crate::facts::GaleraPort {
            address: "10.0.0.11:4567".into(),
            tls,
            protocol: None,
            cipher: None,
            error: None,
        };
        h.galera.as_mut().unwrap().ports = vec![port(Some(true))];
        assert!(run(&GaleraReplicationUnencrypted, &h).is_empty());
        h.galera.as_mut().unwrap().ports = vec![port(None)];
        assert!(run(&GaleraReplicationUnencrypted, &h).is_empty());
        h.galera.as_mut().unwrap().ports = vec![port(Some(false))];
        let out = run(&GaleraReplicationUnencrypted, &h);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(
            out[0].message,
            "replication of Galera cluster 'my_wsrep_cluster' is not encrypted: 10.0.0.11:4567 answered without TLS although socket.ssl_cert and socket.ssl_key are set"
        );
        assert_eq!(
            out[0].evidence["port 10.0.0.11:4567"],
            "10.0.0.11:4567 answered without TLS"
        );
    }

    #[test]
    fn encrypted_nodes_and_other_hosts_pass() {
        assert!(run(&GaleraReplicationUnencrypted, &galera_node("db-1", TLS)).is_empty());
        assert!(run(&GaleraReplicationUnencrypted, &db_host("db-master")).is_empty());
    }
}
