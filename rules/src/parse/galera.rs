//! A node's Galera settings from its option files (the groups mysqld reads,
//! which Debian's `mariadb.conf.d/60-galera.cnf` fills under `[galera]`,
//! and the SST script's `[sst]`) and, where the scanner queried the server,
//! its variables and status, which win: they are what runs.

use std::collections::BTreeMap;

use super::mycnf::{self, OptionEntry};
use crate::Location;
use crate::facts::galera::{cluster_address_hosts, parse_provider_options};
use crate::facts::{GaleraFacts, GaleraValue, MysqlFacts, MysqlVersion, OptionSet, OptionValue};

/// Groups the SST scripts read besides the server's (`encgroups` of
/// `wsrep_sst_rsync` and `wsrep_sst_mariabackup`).
const SST_GROUPS: &[&str] = &["sst", "xtrabackup", "mariabackup"];

fn from_option(o: &OptionValue) -> GaleraValue {
    GaleraValue::new(o.as_str(), o.location())
}

fn from_variable(name: &str, value: &str) -> GaleraValue {
    GaleraValue::new(value, Location::object(crate::Subject::variable(name)))
}

/// The node's Galera facts, or `None` when it does not replicate with
/// Galera (no `wsrep_on`, or no provider library, or the running server
/// says `wsrep_on=OFF`).
pub fn galera_facts(
    entries: &[OptionEntry],
    version: Option<&MysqlVersion>,
    mysql: Option<&MysqlFacts>,
) -> Option<GaleraFacts> {
    let server = mycnf::effective(entries, &mycnf::server_groups(version));
    // The running server's variables, when they were collected and the
    // server knows wsrep at all (a build without it has no wsrep_on).
    let live = mysql.filter(|m| m.variable("wsrep_on").is_some());
    let get = |name: &str| -> Option<GaleraValue> {
        match live {
            Some(m) => m.variable(name).map(|v| from_variable(name, v)),
            None => server.get(name).map(from_option),
        }
    };
    let on = get("wsrep_on").is_some_and(|v| v.is_true() || flag(&server, "wsrep_on", live));
    let provider = get("wsrep_provider")
        .filter(|p| !p.value.trim().is_empty() && !p.value.trim().eq_ignore_ascii_case("none"));
    if !on || provider.is_none() {
        return None;
    }

    let provider_options = get("wsrep_provider_options")
        .map(|v| {
            parse_provider_options(&v.value)
                .into_iter()
                .map(|(k, value)| (k, GaleraValue::new(value, v.from.clone())))
                .collect()
        })
        .unwrap_or_default();
    let cluster_address = get("wsrep_cluster_address");
    let members = live
        .and_then(|m| m.status_value("wsrep_incoming_addresses"))
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty() && !a.eq_ignore_ascii_case("AUTO"))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|m| !m.is_empty())
        .or_else(|| {
            cluster_address
                .as_ref()
                .map(|a| cluster_address_hosts(&a.value))
        })
        .unwrap_or_default();

    let mut sst_groups = mycnf::server_groups(version);
    sst_groups.extend(SST_GROUPS.iter().map(|g| g.to_string()));
    let to_map = |set: OptionSet| -> BTreeMap<String, GaleraValue> {
        set.options
            .iter()
            .map(|(k, v)| (k.clone(), from_option(v)))
            .collect()
    };
    let server_tls = |name: &str| match mysql {
        Some(m) if m.variable(name).is_some() => m.variable(name).is_some_and(|v| !v.is_empty()),
        _ => server.get(name).is_some_and(|v| !v.as_str().is_empty()),
    };
    Some(GaleraFacts {
        provider,
        cluster_name: get("wsrep_cluster_name"),
        cluster_address,
        node_address: get("wsrep_node_address"),
        members,
        provider_options,
        sst_method: get("wsrep_sst_method"),
        sst_options: to_map(mycnf::effective(entries, &sst_groups)),
        sst_group: to_map(mycnf::effective(entries, &["sst".to_string()])),
        sst_client_options: to_map(mycnf::effective(entries, &mycnf::client_groups(version))),
        client_prefers_tls: version.is_some_and(|v| !v.is_mariadb()),
        wsrep_ssl_mode: get("wsrep_ssl_mode"),
        pxc_encrypt_cluster_traffic: get("pxc_encrypt_cluster_traffic"),
        server_has_tls: server_tls("ssl_cert") && server_tls("ssl_key"),
        // No option line at all: nothing was read (a host audited from the
        // wire), and no node runs without one anyway.
        option_files_read: !entries.is_empty(),
        ports: Vec::new(),
    })
}

/// A bare `wsrep_on` line (no value) switches it on, as for any boolean
/// option; only the option files can say so.
fn flag(server: &OptionSet, name: &str, live: Option<&MysqlFacts>) -> bool {
    live.is_none() && server.get(name).is_some_and(|o| o.value.is_none())
}

/// The certificate and key files a node's Galera settings name, from its
/// option files alone (the collector asks for them before it knows what
/// the server runs): `socket.ssl_ca/cert/key` of `wsrep_provider_options`
/// and the `[sst]` `tca`/`tcert`/`tkey`. Values as written (the caller
/// resolves relative ones).
pub fn named_files(entries: &[OptionEntry]) -> Vec<String> {
    let mut out = Vec::new();
    for e in entries {
        let Some(v) = e.value.as_deref() else {
            continue;
        };
        if e.name == "wsrep_provider_options" {
            for (k, v) in parse_provider_options(v) {
                if matches!(
                    k.as_str(),
                    "socket.ssl_ca" | "socket.ssl_cert" | "socket.ssl_key"
                ) && !v.is_empty()
                {
                    out.push(v);
                }
            }
        } else if e.group == "sst"
            && matches!(e.name.as_str(), "tca" | "tcert" | "tkey")
            && !v.trim().is_empty()
        {
            out.push(v.trim().to_string());
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::galera::{ReplicationTls, SstTls};
    use crate::testkit::MemFs;

    /// Debian's layout: my.cnf includes mariadb.conf.d, whose
    /// 60-galera.cnf holds the `[galera]` group.
    fn debian(galera: &'static str) -> Vec<OptionEntry> {
        let fs = MemFs::with(&[
            (
                "/etc/mysql/my.cnf",
                "[client-server]\n!includedir /etc/mysql/mariadb.conf.d/\n",
            ),
            (
                "/etc/mysql/mariadb.conf.d/50-server.cnf",
                "[mysqld]\nssl-ca=/etc/mysql/ca.pem\nssl-cert=/etc/mysql/server.crt\nssl-key=/etc/mysql/server.key\n",
            ),
            ("/etc/mysql/mariadb.conf.d/60-galera.cnf", galera),
        ]);
        mycnf::parse_option_files(&["/etc/mysql/my.cnf".to_string()], &fs).entries
    }

    #[test]
    fn debian_60_galera_cnf_is_read() {
        let entries = debian(
            "[galera]\nwsrep_on = ON\nwsrep_provider = /usr/lib/galera/libgalera_smm.so\n\
             wsrep_cluster_address = gcomm://10.0.0.1,10.0.0.2,10.0.0.3\n\
             wsrep_provider_options = \"socket.ssl_cert=/etc/mysql/g.crt;socket.ssl_key=/etc/mysql/g.key;socket.ssl_ca=/etc/mysql/ca.pem\"\n\
             [sst]\nssl-mode = VERIFY_CA\n",
        );
        let g = galera_facts(&entries, None, None).expect("a galera node");
        assert_eq!(g.members, ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
        assert!(matches!(
            g.replication_tls(),
            ReplicationTls::Encrypted { .. }
        ));
        assert_eq!(
            g.sst_tls(),
            SstTls::Encrypted {
                mode: "VERIFY_CA".into()
            }
        );
        let f = g.replication_files();
        assert_eq!(
            f.cert.expect("cert").from,
            Location::file("/etc/mysql/mariadb.conf.d/60-galera.cnf", Some(5))
        );
        assert!(g.server_has_tls);
        assert_eq!(
            named_files(&entries),
            ["/etc/mysql/ca.pem", "/etc/mysql/g.crt", "/etc/mysql/g.key"]
        );
    }

    #[test]
    fn debian_defaults_are_no_cluster() {
        // Debian ships 60-galera.cnf with every line commented out.
        let entries = debian(
            "[galera]\n#wsrep_on = ON\n#wsrep_provider = /usr/lib/galera/libgalera_smm.so\n",
        );
        assert_eq!(galera_facts(&entries, None, None), None);
    }

    #[test]
    fn the_running_server_wins() {
        let entries =
            debian("[galera]\nwsrep_on = ON\nwsrep_provider = /usr/lib/galera/libgalera_smm.so\n");
        let mut m = MysqlFacts::default();
        m.variables.insert("wsrep_on".into(), "OFF".into());
        assert_eq!(galera_facts(&entries, None, Some(&m)), None);
        // From the wire alone (no option file read): the running server
        // says it is a node, and nothing can be said of its SST.
        m.variables.insert("wsrep_on".into(), "ON".into());
        m.variables.insert(
            "wsrep_provider".into(),
            "/usr/lib/galera/libgalera_smm.so".into(),
        );
        let wire = galera_facts(&[], None, Some(&m)).expect("a galera node");
        assert!(matches!(wire.sst_tls(), SstTls::Unknown { .. }));
        m.variables.insert("wsrep_on".into(), "ON".into());
        m.variables.insert(
            "wsrep_provider".into(),
            "/usr/lib/galera/libgalera_smm.so".into(),
        );
        m.variables.insert(
            "wsrep_provider_options".into(),
            "base_port = 4567; socket.ssl = NO; socket.ssl_cert = ; ".into(),
        );
        m.status.insert(
            "wsrep_incoming_addresses".into(),
            "10.0.0.1:3306,10.0.0.2:3306".into(),
        );
        let g = galera_facts(&entries, None, Some(&m)).expect("a galera node");
        assert_eq!(g.members, ["10.0.0.1:3306", "10.0.0.2:3306"]);
        match g.replication_tls() {
            ReplicationTls::Plaintext { at: Some(at), .. } => assert_eq!(
                at.from,
                Location::object(crate::Subject::variable("wsrep_provider_options"))
            ),
            other => panic!("{other:?}"),
        }
    }
}
