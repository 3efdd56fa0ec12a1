//! SSL027 galera-tls-inconsistent: the members of one Galera cluster do not
//! agree on how its traffic is encrypted.

use std::collections::BTreeMap;

use crate::facts::HostDigest;
use crate::rule::Control;
use crate::{Context, Finding, Rule, RuleMeta, Severity, Subject};

/// SSL027: members of a Galera cluster disagree on replication or SST TLS,
/// the replication cipher, or the CA either trusts.
pub struct GaleraTlsInconsistent;

const HELP: &str = r#"## What it checks

The Galera nodes of the scan, grouped into clusters by environment and `wsrep_cluster_name`
(nodes of one name that do not name each other as members, through `wsrep_incoming_addresses`
or `wsrep_cluster_address`, are separate clusters), compared member by member on:

- `replication-tls`: whether replication is encrypted (and whether `socket.dynamic` lets
  plaintext peers in);
- `socket.ssl_cipher`: the provider's cipher list;
- `replication-ca`: the CA certificates of `socket.ssl_ca`, by content (subject and SHA-256
  fingerprint), never by path;
- `sst-tls`: whether state transfers are encrypted, and in which mode (`VERIFY_CA`,
  `REQUIRED`, `encrypt=4`...);
- `sst-ca`: the CA the SST uses, by content.

A member whose value differs from the one most members hold is reported, naming the others'
value and who holds it; when no value holds a majority, every member is reported. CAs whose
files the scan could not read are not compared.

## Why it matters

Galera applies every setting per node, so a cluster drifts one node at a time: a node
restarted with an old option file, a node re-imaged without its `[sst]` section. A node
whose TLS differs from its peers' cannot rejoin after a restart (TLS and plaintext peers do
not talk), a node with another CA refuses or is refused by its peers at the next SST, and a
cluster is only as encrypted as its weakest member: the SST a node receives is encrypted only
if both donor and joiner agree.

## How to fix

Make every member's Galera settings the same: one `60-galera.cnf` (Debian) or `[galera]`
section and one `[sst]` section, distributed by configuration management, with the same CA
on every node. Then restart the drifted node (a TLS switch needs the rolling procedure of
SSL025's help).
"#;

static META: RuleMeta = RuleMeta::new(
    "SSL027",
    "galera-tls-inconsistent",
    Severity::Medium,
    "members of a Galera cluster disagree on its TLS settings or CA",
    HELP,
    &[
        "Galera Cluster Documentation: SSL Configuration",
        "MariaDB Server Documentation: Securing Communications in Galera Cluster",
    ],
)
.controls(&[
    Control::nist(
        "CM-6",
        "configuration settings: every member of a cluster must hold the same TLS settings",
    ),
    Control::nist(
        "CM-3",
        "configuration change control: a member that drifted from its peers' baseline",
    ),
    Control::nist(
        "SC-8(1)",
        "a cluster's traffic is only as protected as its weakest member's",
    ),
]);

/// One member's value of a setting.
struct Held<'a> {
    host: &'a HostDigest,
    value: &'a str,
    at: &'a crate::Location,
}

impl Rule for GaleraTlsInconsistent {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_fleet(&self, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let digests = cx.fleet.digests();
        let mut clusters: BTreeMap<(&str, &str), Vec<&HostDigest>> = BTreeMap::new();
        for h in digests.iter() {
            if let Some(g) = &h.galera {
                clusters
                    .entry((h.environment.as_str(), g.cluster.as_str()))
                    .or_default()
                    .push(h);
            }
        }
        for ((_, cluster), nodes) in clusters {
            for mut members in same_cluster(nodes) {
                self.compare_members(cluster, &mut members, out);
            }
        }
    }
}

/// Splits the nodes of one environment that share a cluster name into
/// the clusters their member lists show: two nodes are of one cluster when
/// either names the other among its members (a chain of such links is one
/// cluster). A node that names no members cannot be told apart and stays
/// with all of them. Two clusters that keep the default name
/// `my_wsrep_cluster` in one environment are so compared each on its own.
fn same_cluster(nodes: Vec<&HostDigest>) -> Vec<Vec<&HostDigest>> {
    // (what the node is called, the members it names)
    let d: Vec<(&[String], &[String])> = nodes
        .iter()
        .map(|h| {
            h.galera
                .as_ref()
                .map_or((&[][..], &[][..]), |g| (&g.node[..], &g.members[..]))
        })
        .collect();
    let names = |a: usize, b: usize| d[a].1.iter().any(|m| d[b].0.contains(m));
    let linked =
        |i: usize, j: usize| d[i].1.is_empty() || d[j].1.is_empty() || names(i, j) || names(j, i);
    // Union-find over at most a few dozen nodes.
    let mut parent: Vec<usize> = (0..nodes.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..nodes.len() {
        for j in i + 1..nodes.len() {
            if linked(i, j) {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                parent[a] = b;
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<&HostDigest>> = BTreeMap::new();
    for (i, h) in nodes.into_iter().enumerate() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(h);
    }
    groups.into_values().collect()
}

impl GaleraTlsInconsistent {
    /// Compares every setting across the members of one cluster.
    fn compare_members(&self, cluster: &str, members: &mut [&HostDigest], out: &mut Vec<Finding>) {
        if members.len() < 2 {
            return;
        }
        members.sort_by(|a, b| a.name.cmp(&b.name));
        let mut by_setting: BTreeMap<&str, Vec<Held<'_>>> = BTreeMap::new();
        for h in members.iter() {
            let Some(g) = &h.galera else { continue };
            for (setting, (value, at)) in &g.settings {
                by_setting
                    .entry(setting)
                    .or_default()
                    .push(Held { host: h, value, at });
            }
        }
        for (setting, held) in by_setting {
            self.compare(cluster, setting, &held, out);
        }
    }

    fn compare(&self, cluster: &str, setting: &str, held: &[Held<'_>], out: &mut Vec<Finding>) {
        let mut counts: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for h in held {
            counts.entry(h.value).or_default().push(&h.host.name);
        }
        if counts.len() < 2 {
            return;
        }
        let most = counts.values().map(Vec::len).max().unwrap_or(0);
        let leaders: Vec<&str> = counts
            .iter()
            .filter(|(_, hosts)| hosts.len() == most)
            .map(|(v, _)| *v)
            .collect();
        let majority = (leaders.len() == 1).then(|| leaders[0]);
        for h in held {
            if Some(h.value) == majority {
                continue;
            }
            let others: Vec<String> = counts
                .iter()
                .filter(|(v, _)| **v != h.value)
                .map(|(v, hosts)| format!("{v} on {}", hosts.join(", ")))
                .collect();
            let mut at = h.at.clone();
            at.object = Some(Subject::galera(setting));
            out.push(
                self.finding_on(
                    h.host,
                    format!(
                        "members of Galera cluster '{cluster}' disagree: {setting} is {} here but {}",
                        h.value,
                        others.join("; ")
                    ),
                    at,
                )
                .evidence("cluster", cluster.to_string())
                .evidence("setting", setting.to_string())
                .evidence("value", h.value.to_string()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::HostFacts;
    use crate::testkit::*;

    const TLS: &str = "wsrep_cluster_name = shop\nwsrep_provider_options = \"socket.ssl_cert=/c;socket.ssl_key=/k\"\nssl-ca = /ca\nssl-cert = /c\nssl-key = /k\n";

    fn node(name: &str, cnf: &str) -> HostFacts {
        galera_node(name, cnf)
    }

    #[test]
    fn agreeing_members_pass() {
        let out = run_at(
            &GaleraTlsInconsistent,
            vec![node("db-1", TLS), node("db-2", TLS), node("db-3", TLS)],
            AS_OF,
        );
        assert!(out.is_empty(), "{out:#?}");
    }

    #[test]
    fn the_odd_member_out_is_named() {
        let odd = format!("{TLS}wsrep_sst_method = rsync\n[sst]\nssl-mode = DISABLED\n");
        let out = run_at(
            &GaleraTlsInconsistent,
            vec![node("db-1", TLS), node("db-2", TLS), node("db-3", &odd)],
            AS_OF,
        );
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].host, "db-3");
        assert_eq!(
            out[0].message,
            "members of Galera cluster 'shop' disagree: sst-tls is off here but VERIFY_CA on db-1, db-2"
        );
        assert_eq!(out[0].subject(), "galera:sst-tls");
        assert_eq!(out[0].location.line, Some(11));
    }

    /// Two clusters that both kept the default name in one environment:
    /// each is compared on its own, by the members they name.
    #[test]
    fn clusters_of_one_name_are_told_apart_by_their_members() {
        let tls = "wsrep_provider_options = \"socket.ssl_cert=/c;socket.ssl_key=/k\"\nssl-ca = /ca\nssl-cert = /c\nssl-key = /k\n";
        let plain = "wsrep_sst_method = mariabackup\n";
        let with = |name: &str, address: &str, members: &str, cnf: &str| {
            let mut h = node(
                name,
                &format!("wsrep_cluster_address = gcomm://{members}\n{cnf}"),
            );
            h.address = Some(address.into());
            h
        };
        let fleet = vec![
            with("a-1", "10.0.1.1", "10.0.1.1:4567,10.0.1.2", tls),
            with("a-2", "10.0.1.2", "10.0.1.1,10.0.1.2", tls),
            with("b-1", "10.0.2.1", "b-1,b-2", plain),
            with("b-2", "10.0.2.2", "b-1,b-2", plain),
        ];
        let out = run_at(&GaleraTlsInconsistent, fleet.clone(), AS_OF);
        assert!(out.is_empty(), "{out:#?}");
        // One of b's nodes also names a-1: a chain of names is one cluster.
        let mut joined = fleet;
        joined[3] = with("b-2", "10.0.2.2", "b-1,b-2,10.0.1.1", plain);
        assert!(!run_at(&GaleraTlsInconsistent, joined, AS_OF).is_empty());
    }

    /// CAs are compared by content: the same path holding another CA on
    /// one member is a disagreement, and the message names both.
    #[test]
    fn a_member_trusting_another_ca_is_named() {
        let cnf = "wsrep_cluster_name = shop\nwsrep_provider_options = \"socket.ssl_cert=/c;socket.ssl_key=/k;socket.ssl_ca=/etc/mysql/ca.pem\"\n\
                   wsrep_sst_method = mysqldump\n";
        let with_ca = |name: &str, subject: &str| {
            let mut h = node(name, cnf);
            let c = cert("/etc/mysql/ca.pem", 0, subject, subject, ts("2030-01-01"));
            h.certificates.insert(c.path.clone(), vec![c]);
            h
        };
        let out = run_at(
            &GaleraTlsInconsistent,
            vec![
                with_ca("db-1", "CN=cluster CA"),
                with_ca("db-2", "CN=cluster CA"),
                with_ca("db-3", "CN=old CA"),
            ],
            AS_OF,
        );
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].host, "db-3");
        assert_eq!(out[0].subject(), "galera:replication-ca");
        assert!(
            out[0].message.starts_with(
                "members of Galera cluster 'shop' disagree: replication-ca is CN=old CA (sha256 "
            ),
            "{}",
            out[0].message
        );
        assert!(
            out[0].message.contains("CN=cluster CA (sha256 "),
            "{}",
            out[0].message
        );
        assert!(
            out[0].message.ends_with(" on db-1, db-2"),
            "{}",
            out[0].message
        );
    }

    #[test]
    fn a_tie_reports_every_member() {
        let odd = TLS.replace(
            "socket.ssl_key=/k",
            "socket.ssl_key=/k;socket.ssl_cipher=AES256-SHA",
        );
        let out = run_at(
            &GaleraTlsInconsistent,
            vec![node("db-1", TLS), node("db-2", &odd)],
            AS_OF,
        );
        let hosts: Vec<&str> = out.iter().map(|f| f.host.as_str()).collect();
        assert_eq!(hosts, ["db-1", "db-2"], "{out:#?}");
        assert!(out[0].message.contains("socket.ssl_cipher"));
    }

    #[test]
    fn clusters_and_environments_are_compared_apart() {
        let other = TLS
            .replace("shop", "billing")
            .replace("socket.ssl_key=/k", "socket.ssl_key=/k;socket.ssl=NO");
        let mut staging = node("db-9", &TLS.replace("socket.ssl_key=/k", "socket.ssl=NO"));
        staging.environment = "staging".into();
        let out = run_at(
            &GaleraTlsInconsistent,
            vec![
                node("db-1", TLS),
                node("db-2", TLS),
                node("db-3", &other),
                node("db-4", &other),
                staging,
            ],
            AS_OF,
        );
        assert!(out.is_empty(), "{out:#?}");
    }
}
