//! Galera (MariaDB Cluster, Percona XtraDB Cluster): what a node's option
//! files and its running server say about the cluster's own traffic, which
//! has TLS switches of its own beside the client port's: replication and
//! IST between nodes (the provider's `socket.ssl*` options, port 4567 and
//! 4568) and state snapshot transfers (the SST script's `[sst]` options,
//! port 4444).
//!
//! The facts keep every setting with where it came from (an option line,
//! or a server variable, which wins over the files: it is what runs); the
//! verdicts ([`GaleraFacts::replication_tls`], [`GaleraFacts::sst_tls`])
//! follow what galera 26.4 and MariaDB 10.11's SST scripts
//! (`wsrep_sst_common`, `wsrep_sst_rsync`, `wsrep_sst_mariabackup`) do with
//! them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Location;

/// What the scanner's bare TLS handshake on one of a node's Galera ports
/// found (its replication port: galera speaks TLS there from the first
/// byte when replication is encrypted, its own protocol otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GaleraPort {
    /// `10.0.0.11:4567`.
    pub address: String,
    /// `Some(true)`: a TLS handshake completed; `Some(false)`: the port
    /// answered with bytes that are not TLS; `None`: neither could be told
    /// (refused, timed out, closed without a word).
    #[serde(default)]
    pub tls: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl GaleraPort {
    /// `answered TLSv1.3 (TLS_AES_256_GCM_SHA384)`, `answered without TLS`...
    pub fn describe(&self) -> String {
        match self.tls {
            Some(true) => format!(
                "{} answered {}{}",
                self.address,
                self.protocol.as_deref().unwrap_or("TLS"),
                self.cipher
                    .as_deref()
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default()
            ),
            Some(false) => format!("{} answered without TLS", self.address),
            None => format!(
                "{}: {}",
                self.address,
                self.error.as_deref().unwrap_or("no answer")
            ),
        }
    }
}

/// One Galera setting and where it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GaleraValue {
    pub value: String,
    /// An option line (`file:line`, object `option:<name>`) or a server
    /// variable (object `variable:<name>`).
    pub from: Location,
}

impl GaleraValue {
    pub fn new(value: impl Into<String>, from: Location) -> Self {
        GaleraValue {
            value: value.into(),
            from,
        }
    }

    /// `ON`, `YES`, `TRUE`, `1` (any case).
    pub fn is_true(&self) -> bool {
        is_true(&self.value)
    }

    /// `OFF`, `NO`, `FALSE`, `0` (any case).
    pub fn is_false(&self) -> bool {
        matches!(
            self.value.trim().to_ascii_lowercase().as_str(),
            "off" | "no" | "false" | "0"
        )
    }

    fn is_set(&self) -> bool {
        !self.value.trim().is_empty()
    }
}

fn is_true(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "on" | "yes" | "true" | "1"
    )
}

/// A Galera node's settings. Present on a host only when the node
/// replicates with Galera: `wsrep_on` and a provider library.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GaleraFacts {
    /// `wsrep_provider`: the library, and where the node is made a Galera
    /// node (what a finding points at when no other setting explains it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<GaleraValue>,
    /// `wsrep_cluster_name` (default `my_wsrep_cluster`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<GaleraValue>,
    /// `wsrep_cluster_address` (`gcomm://10.0.0.1,10.0.0.2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_address: Option<GaleraValue>,
    /// `wsrep_node_address`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_address: Option<GaleraValue>,
    /// The members the running node sees (`wsrep_incoming_addresses`, their
    /// client addresses), else the hosts of the cluster address.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// `wsrep_provider_options`, by lowercase key (`socket.ssl_cert`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub provider_options: BTreeMap<String, GaleraValue>,
    /// `wsrep_sst_method` (default `rsync`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sst_method: Option<GaleraValue>,
    /// The options the SST script reads, by normalized name (`ssl_mode`,
    /// `encrypt`, `ssl_ca`...): the server's groups and the script's own
    /// (`[sst]`, and `[xtrabackup]`/`[mariabackup]` for mariabackup), read
    /// order, last wins.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sst_options: BTreeMap<String, GaleraValue>,
    /// The `[sst]` group alone: `tca`, `tcapath`, `tcert`, `tkey` are read
    /// only from there, and win over the `ssl-*` options.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sst_group: BTreeMap<String, GaleraValue>,
    /// The options the donor's client reads in a `mysqldump` SST
    /// (`wsrep_sst_mysqldump` runs the `mariadb`/`mysql` client with the
    /// server's option files: `[client]`, `[mysql]`, ...), by normalized
    /// name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sst_client_options: BTreeMap<String, GaleraValue>,
    /// The server is MySQL-flavoured (Percona XtraDB Cluster): its client
    /// defaults to `--ssl-mode=PREFERRED`, where MariaDB's (before 11.4)
    /// uses TLS only when told to.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub client_prefers_tls: bool,
    /// MariaDB 11.4+ `wsrep_ssl_mode` (`PROVIDER`, `SERVER`, `SERVER_X509`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wsrep_ssl_mode: Option<GaleraValue>,
    /// Percona XtraDB Cluster's `pxc_encrypt_cluster_traffic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pxc_encrypt_cluster_traffic: Option<GaleraValue>,
    /// The option files were read: without them (a host audited from the
    /// wire, an unreadable my.cnf) the SST settings are unknown, never
    /// "none".
    #[serde(default)]
    pub option_files_read: bool,
    /// The scanner's TLS handshakes on the node's Galera ports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<GaleraPort>,
    /// The server's own `ssl_cert` and `ssl_key` are set: what
    /// `wsrep_ssl_mode=SERVER` and PXC's cluster traffic encryption use.
    #[serde(default)]
    pub server_has_tls: bool,
}

/// Whether the nodes' replication (and IST) traffic is encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicationTls {
    /// TLS; `dynamic` when `socket.dynamic=YES` lets plaintext peers in too.
    Encrypted { dynamic: bool, why: String },
    /// Plaintext, with the setting that explains it (or `None`: nothing
    /// configures TLS at all).
    Plaintext {
        why: String,
        at: Option<GaleraValue>,
    },
}

/// Whether state snapshot transfers are encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SstTls {
    /// TLS (stunnel for rsync, socat for mariabackup), with the mode.
    Encrypted { mode: String },
    /// mariabackup's key-based stream encryption (`encrypt=1`): the data is
    /// encrypted, the peer not authenticated.
    KeyEncrypted,
    Plaintext {
        why: String,
        at: Option<GaleraValue>,
    },
    /// A method whose encryption the scanner does not judge (a custom
    /// script).
    Unknown { method: String },
}

/// The TLS files one of Galera's channels uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GaleraTlsFiles {
    pub ca: Option<GaleraValue>,
    pub cert: Option<GaleraValue>,
    pub key: Option<GaleraValue>,
}

impl GaleraFacts {
    pub fn provider_option(&self, key: &str) -> Option<&GaleraValue> {
        self.provider_options
            .get(&key.to_ascii_lowercase())
            .filter(|v| v.is_set())
    }

    fn sst_option(&self, name: &str) -> Option<&GaleraValue> {
        self.sst_options.get(name).filter(|v| v.is_set())
    }

    fn sst_group_option(&self, name: &str) -> Option<&GaleraValue> {
        self.sst_group.get(name).filter(|v| v.is_set())
    }

    /// The cluster's name, as the server defaults it.
    pub fn cluster_name(&self) -> &str {
        self.cluster_name
            .as_ref()
            .map_or("my_wsrep_cluster", |v| v.value.as_str())
    }

    /// The SST method, lowercase (default `rsync`).
    pub fn sst_method(&self) -> String {
        self.sst_method.as_ref().filter(|v| v.is_set()).map_or_else(
            || "rsync".to_string(),
            |v| v.value.trim().to_ascii_lowercase(),
        )
    }

    /// The files replication TLS uses (`socket.ssl_ca`, `socket.ssl_cert`,
    /// `socket.ssl_key`).
    pub fn replication_files(&self) -> GaleraTlsFiles {
        GaleraTlsFiles {
            ca: self.provider_option("socket.ssl_ca").cloned(),
            cert: self.provider_option("socket.ssl_cert").cloned(),
            key: self.provider_option("socket.ssl_key").cloned(),
        }
    }

    /// The files an SST uses, as `check_server_ssl_config` picks them: the
    /// `[sst]` group's `tca`/`tcert`/`tkey` when any is set, else the
    /// `ssl-ca`/`ssl-cert`/`ssl-key` the script's groups hold.
    pub fn sst_files(&self) -> GaleraTlsFiles {
        let old = ["tca", "tcapath", "tcert", "tkey"]
            .iter()
            .any(|n| self.sst_group_option(n).is_some());
        if old {
            GaleraTlsFiles {
                ca: self
                    .sst_group_option("tca")
                    .or_else(|| self.sst_group_option("tcapath"))
                    .cloned(),
                cert: self.sst_group_option("tcert").cloned(),
                key: self.sst_group_option("tkey").cloned(),
            }
        } else {
            GaleraTlsFiles {
                ca: self
                    .sst_option("ssl_ca")
                    .or_else(|| self.sst_option("ssl_capath"))
                    .cloned(),
                cert: self.sst_option("ssl_cert").cloned(),
                key: self.sst_option("ssl_key").cloned(),
            }
        }
    }

    /// What of Galera's uses the certificate file at `path` (absolute, as
    /// collected): `Galera replication`, `Galera SST`. Relative settings
    /// resolve against the data directory, so they match by file name.
    pub fn uses_of(&self, path: &str) -> Vec<&'static str> {
        let names = |f: &GaleraTlsFiles| {
            [&f.ca, &f.cert].into_iter().flatten().any(|v| {
                let v = v.value.trim();
                v == path || (!v.starts_with('/') && path.ends_with(&format!("/{v}")))
            })
        };
        let mut out = Vec::new();
        if matches!(self.replication_tls(), ReplicationTls::Encrypted { .. })
            && names(&self.replication_files())
        {
            out.push("Galera replication");
        }
        if matches!(self.sst_tls(), SstTls::Encrypted { .. }) && names(&self.sst_files()) {
            out.push("Galera SST");
        }
        out
    }

    /// Replication and IST: galera encrypts when `socket.ssl=YES`, or when
    /// `socket.ssl_key` and `socket.ssl_cert` are both set and `socket.ssl`
    /// is not `NO`; MariaDB 11.4's `wsrep_ssl_mode=SERVER[_X509]` and PXC's
    /// `pxc_encrypt_cluster_traffic=ON` hand the server's own keys to it.
    pub fn replication_tls(&self) -> ReplicationTls {
        let dynamic = self
            .provider_option("socket.dynamic")
            .is_some_and(GaleraValue::is_true);
        if let Some(mode) = &self.wsrep_ssl_mode {
            let m = mode.value.trim().to_ascii_uppercase();
            if m == "SERVER" || m == "SERVER_X509" {
                return if self.server_has_tls {
                    ReplicationTls::Encrypted {
                        dynamic,
                        why: format!("wsrep_ssl_mode={m} with the server's certificate"),
                    }
                } else {
                    ReplicationTls::Plaintext {
                        why: format!(
                            "wsrep_ssl_mode={m} but the server has no ssl-cert and ssl-key"
                        ),
                        at: Some(mode.clone()),
                    }
                };
            }
        }
        if let Some(pxc) = &self.pxc_encrypt_cluster_traffic {
            if pxc.is_true() && self.server_has_tls {
                return ReplicationTls::Encrypted {
                    dynamic,
                    why: "pxc_encrypt_cluster_traffic=ON".to_string(),
                };
            }
        }
        let files = self.replication_files();
        match self.provider_option("socket.ssl") {
            Some(ssl) if ssl.is_false() => {
                return ReplicationTls::Plaintext {
                    why: format!("socket.ssl={}", ssl.value.trim()),
                    at: Some(ssl.clone()),
                };
            }
            Some(ssl) if ssl.is_true() => {
                return ReplicationTls::Encrypted {
                    dynamic,
                    why: format!("socket.ssl={}", ssl.value.trim()),
                };
            }
            _ => {}
        }
        match (&files.cert, &files.key) {
            (Some(_), Some(_)) => ReplicationTls::Encrypted {
                dynamic,
                why: "socket.ssl_cert and socket.ssl_key are set".to_string(),
            },
            (Some(one), None) | (None, Some(one)) => ReplicationTls::Plaintext {
                why: "socket.ssl_cert and socket.ssl_key are not both set".to_string(),
                at: Some(one.clone()),
            },
            (None, None) => ReplicationTls::Plaintext {
                why: "wsrep_provider_options sets no socket.ssl_cert and socket.ssl_key"
                    .to_string(),
                at: self
                    .provider_options
                    .values()
                    .next()
                    .or(self.provider.as_ref())
                    .cloned(),
            },
        }
    }

    /// State snapshot transfers, as MariaDB 10.11's SST scripts decide.
    pub fn sst_tls(&self) -> SstTls {
        let method = self.sst_method();
        if !self.option_files_read {
            return SstTls::Unknown { method };
        }
        let files = self.sst_files();
        let has_pair = files.cert.is_some() && files.key.is_some();
        let mode_opt = self.sst_option("ssl_mode");
        let mode = mode_opt.map(|m| m.value.trim().to_ascii_uppercase());
        let pxc = self
            .pxc_encrypt_cluster_traffic
            .as_ref()
            .is_some_and(|v| v.is_true());
        match method.as_str() {
            "rsync" | "rsync_wan" => match mode.as_deref() {
                Some("DISABLED") => SstTls::Plaintext {
                    why: "ssl-mode=DISABLED".to_string(),
                    at: mode_opt.cloned(),
                },
                Some(m) => SstTls::Encrypted {
                    mode: m.to_string(),
                },
                None if files.ca.is_some() => SstTls::Encrypted {
                    mode: "VERIFY_CA".to_string(),
                },
                None if has_pair => SstTls::Encrypted {
                    mode: "REQUIRED".to_string(),
                },
                None => SstTls::Plaintext {
                    why: format!("{method} SST has no ssl-cert/ssl-key (nor [sst] tcert/tkey)"),
                    at: self.sst_method.clone().or_else(|| self.provider.clone()),
                },
            },
            "mariabackup" | "xtrabackup" | "xtrabackup-v2" => {
                let encrypt_opt = self.sst_option("encrypt");
                let encrypt: i64 = encrypt_opt
                    .and_then(|v| v.value.trim().parse().ok())
                    .unwrap_or(0);
                let mode = mode.unwrap_or_else(|| "DISABLED".to_string());
                if encrypt >= 2 {
                    SstTls::Encrypted {
                        mode: format!("encrypt={encrypt}"),
                    }
                } else if encrypt == 1 {
                    SstTls::KeyEncrypted
                } else if mode != "DISABLED" && has_pair {
                    SstTls::Encrypted { mode }
                } else if pxc && self.server_has_tls {
                    SstTls::Encrypted {
                        mode: "pxc_encrypt_cluster_traffic=ON".to_string(),
                    }
                } else if mode != "DISABLED" {
                    // The script refuses to run: no transfer happens in
                    // plaintext, but none happens at all.
                    SstTls::Encrypted { mode }
                } else {
                    SstTls::Plaintext {
                        why: match (encrypt_opt, mode_opt) {
                            (Some(e), Some(m)) => {
                                format!(
                                    "encrypt={} and ssl-mode={}",
                                    e.value.trim(),
                                    m.value.trim()
                                )
                            }
                            (Some(e), None) => {
                                format!("encrypt={} and no ssl-mode", e.value.trim())
                            }
                            (None, Some(m)) => format!("ssl-mode={}", m.value.trim()),
                            (None, None) => "no encrypt and no ssl-mode in [sst]".to_string(),
                        },
                        at: encrypt_opt
                            .or(mode_opt)
                            .cloned()
                            .or_else(|| self.sst_method.clone()),
                    }
                }
            }
            "mysqldump" => self.mysqldump_tls(),
            _ => SstTls::Unknown { method },
        }
    }

    /// `mysqldump` SST: the donor's client logs in to the joiner's MySQL
    /// port with `wsrep_sst_auth` and replays the whole dump there; it
    /// uses TLS as its option groups say (MariaDB's client before 11.4:
    /// only when an `ssl` or `ssl-*` option is set; MySQL's: `PREFERRED`
    /// unless `ssl-mode=DISABLED`). A switch that turns TLS off wins over
    /// options that would turn it on.
    fn mysqldump_tls(&self) -> SstTls {
        let opt = |name: &str| self.sst_client_options.get(name);
        let bare_or = |v: &GaleraValue, bare: bool| {
            if v.is_set() { v.is_true() } else { bare }
        };
        let off = [
            opt("skip_ssl").filter(|v| bare_or(v, true)),
            opt("disable_ssl").filter(|v| bare_or(v, true)),
            opt("ssl").filter(|v| v.is_false()),
            opt("ssl_mode").filter(|v| v.value.trim().eq_ignore_ascii_case("DISABLED")),
        ]
        .into_iter()
        .flatten()
        .next();
        if let Some(v) = off {
            return SstTls::Plaintext {
                why: format!(
                    "mysqldump SST: the donor's client is told not to use TLS ({}), so the dump and the wsrep_sst_auth password cross to the joiner in clear text",
                    v.from
                        .object
                        .as_deref()
                        .unwrap_or("a client option")
                        .trim_start_matches("option:")
                ),
                at: Some(v.clone()),
            };
        }
        let on = [
            "ssl",
            "ssl_mode",
            "ssl_ca",
            "ssl_capath",
            "ssl_cert",
            "ssl_key",
            "ssl_cipher",
        ]
        .into_iter()
        .find_map(|n| {
            opt(n)
                .filter(|v| n != "ssl" || bare_or(v, true))
                .map(|v| (n, v))
        });
        match on {
            Some(("ssl_mode", v)) => SstTls::Encrypted {
                mode: v.value.trim().to_ascii_uppercase(),
            },
            Some((name, _)) => SstTls::Encrypted {
                mode: format!("client {name}"),
            },
            None if self.client_prefers_tls && self.server_has_tls => SstTls::Encrypted {
                mode: "PREFERRED".to_string(),
            },
            None => SstTls::Plaintext {
                why: "mysqldump SST: the donor's client reads no ssl option ([client], [mysql]), so the dump and the wsrep_sst_auth password cross to the joiner's MySQL port in clear text".to_string(),
                at: self.sst_method.clone(),
            },
        }
    }
}

/// What the members of a cluster must agree on, of one node: each setting
/// as a comparable text (`on`, `VERIFY_CA`, a CA's subject and
/// fingerprint) with where the node sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GaleraDigest {
    pub cluster: String,
    /// What the node is called: its inventory name and address and its
    /// `wsrep_node_address`, ports dropped, lowercase.
    pub node: Vec<String>,
    /// The hosts it names as members (`wsrep_incoming_addresses`, else
    /// `wsrep_cluster_address`), ports dropped, lowercase.
    pub members: Vec<String>,
    /// Setting name (`replication-tls`, `socket.ssl_cipher`,
    /// `replication-ca`, `sst-tls`, `sst-ca`) -> (value, where).
    pub settings: BTreeMap<&'static str, (String, Location)>,
}

impl GaleraFacts {
    /// The node's [`GaleraDigest`]; CA files are compared by content (the
    /// certificates the host holds), never by path.
    pub fn digest(&self, host: &super::HostFacts) -> GaleraDigest {
        let mut settings = BTreeMap::new();
        let provider_at = || {
            self.provider_options
                .values()
                .next()
                .map(|v| v.from.clone())
                .unwrap_or_else(|| {
                    Location::object(crate::Subject::variable("wsrep_provider_options"))
                })
        };
        let encrypted = match self.replication_tls() {
            ReplicationTls::Encrypted { dynamic, .. } => {
                let v = if dynamic {
                    "on, plaintext peers accepted (socket.dynamic)"
                } else {
                    "on"
                };
                settings.insert("replication-tls", (v.to_string(), provider_at()));
                true
            }
            ReplicationTls::Plaintext { at, .. } => {
                let at = at.map_or_else(provider_at, |a| a.from);
                settings.insert("replication-tls", ("off".to_string(), at));
                false
            }
        };
        let ca_text = |v: &GaleraValue| -> Option<String> {
            let certs = host.certificates.get(v.value.trim())?;
            let mut prints: Vec<String> = certs
                .iter()
                .map(|c| {
                    format!(
                        "{} (sha256 {})",
                        c.subject,
                        &c.sha256[..c.sha256.len().min(16)]
                    )
                })
                .collect();
            prints.sort();
            Some(prints.join(", "))
        };
        if encrypted {
            let cipher = self.provider_option("socket.ssl_cipher");
            settings.insert(
                "socket.ssl_cipher",
                match cipher {
                    Some(c) => (c.value.trim().to_string(), c.from.clone()),
                    None => ("unset (galera's default)".to_string(), provider_at()),
                },
            );
            if let Some(ca) = self.replication_files().ca
                && let Some(text) = ca_text(&ca)
            {
                settings.insert("replication-ca", (text, ca.from));
            }
        }
        let sst_at = || {
            self.sst_method
                .as_ref()
                .or(self.provider.as_ref())
                .map(|v| v.from.clone())
                .unwrap_or_else(|| Location::object(crate::Subject::variable("wsrep_sst_method")))
        };
        let sst = match self.sst_tls() {
            SstTls::Encrypted { mode } => Some((mode, true, sst_at())),
            SstTls::KeyEncrypted => Some(("encrypt=1 (key-based)".to_string(), true, sst_at())),
            SstTls::Plaintext { at, .. } => {
                Some(("off".to_string(), false, at.map_or_else(sst_at, |a| a.from)))
            }
            SstTls::Unknown { .. } => None,
        };
        if let Some((mode, on, at)) = sst {
            settings.insert("sst-tls", (mode, at));
            if on
                && let Some(ca) = self.sst_files().ca
                && let Some(text) = ca_text(&ca)
            {
                settings.insert("sst-ca", (text, ca.from));
            }
        }
        let mut node: Vec<String> = [Some(host.name.as_str()), host.address.as_deref()]
            .into_iter()
            .flatten()
            .chain(self.node_address.iter().map(|v| v.value.as_str()))
            .map(host_part)
            .filter(|h| !h.is_empty())
            .collect();
        node.sort();
        node.dedup();
        let mut members: Vec<String> = self.members.iter().map(|m| host_part(m)).collect();
        members.sort();
        members.dedup();
        GaleraDigest {
            cluster: self.cluster_name().to_string(),
            node,
            members,
            settings,
        }
    }
}

/// `10.0.0.11:4567` -> `10.0.0.11`, `[fe80::1]:4567` -> `fe80::1`,
/// lowercase.
pub fn host_part(address: &str) -> String {
    let a = address.trim();
    let host = if let Some(rest) = a.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        match a.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') && p.chars().all(|c| c.is_ascii_digit()) => h,
            _ => a,
        }
    };
    host.to_ascii_lowercase()
}

/// `key = value; key = value` (the server's spelling has spaces around `=`)
/// into lowercase keys and trimmed values. Values never hold `;` in
/// galera's syntax.
pub fn parse_provider_options(text: &str) -> BTreeMap<String, String> {
    text.split(';')
        .filter_map(|part| {
            let (k, v) = part.split_once('=')?;
            let k = k.trim().to_ascii_lowercase();
            (!k.is_empty()).then(|| (k, v.trim().to_string()))
        })
        .collect()
}

/// The replication (group communication) port of parsed provider options
/// ([`parse_provider_options`]): `gmcast.listen_addr`'s, else `base_port`,
/// else galera's 4567.
pub fn replication_port(options: &BTreeMap<String, String>) -> u16 {
    let port_of = |v: &String| v.trim().rsplit_once(':').and_then(|(_, p)| p.parse().ok());
    options
        .get("gmcast.listen_addr")
        .and_then(port_of)
        .or_else(|| options.get("base_port").and_then(|v| v.trim().parse().ok()))
        .unwrap_or(4567)
}

/// The hosts of a `gcomm://a:4567,b,c?pc.wait_prim=no` address.
pub fn cluster_address_hosts(address: &str) -> Vec<String> {
    let rest = address
        .trim()
        .strip_prefix("gcomm://")
        .unwrap_or(address.trim());
    let rest = rest.split('?').next().unwrap_or("");
    rest.split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt(v: &str) -> GaleraValue {
        GaleraValue::new(v, Location::file("/etc/mysql/my.cnf", Some(3)))
    }

    fn node(provider: &str) -> GaleraFacts {
        GaleraFacts {
            provider_options: parse_provider_options(provider)
                .into_iter()
                .map(|(k, v)| (k, opt(&v)))
                .collect(),
            ..GaleraFacts::default()
        }
    }

    #[test]
    fn provider_options_parse_both_spellings() {
        let o = parse_provider_options(
            "gcache.size=1G; socket.ssl_cert = /x/server.crt;socket.ssl_key=/x/k;  ;junk",
        );
        assert_eq!(o["socket.ssl_cert"], "/x/server.crt");
        assert_eq!(o["gcache.size"], "1G");
        assert_eq!(o.len(), 3);
    }

    #[test]
    fn replication_ports() {
        let p = |o: &str| replication_port(&parse_provider_options(o));
        assert_eq!(
            p("gmcast.listen_addr=tcp://10.0.0.1:14567;base_port=4000"),
            14567
        );
        assert_eq!(p("base_port = 4000"), 4000);
        assert_eq!(p("gcache.size=1G"), 4567);
    }

    #[test]
    fn cluster_address_hosts_drop_scheme_and_parameters() {
        assert_eq!(
            cluster_address_hosts("gcomm://10.0.0.1:4567,10.0.0.2?pc.wait_prim=no"),
            ["10.0.0.1:4567", "10.0.0.2"]
        );
        assert!(cluster_address_hosts("gcomm://").is_empty());
    }

    #[test]
    fn replication_needs_key_and_cert_or_an_explicit_yes() {
        assert!(matches!(
            node("socket.ssl_cert=/c;socket.ssl_key=/k").replication_tls(),
            ReplicationTls::Encrypted { dynamic: false, .. }
        ));
        assert!(matches!(
            node("socket.ssl_cert=/c").replication_tls(),
            ReplicationTls::Plaintext { .. }
        ));
        assert!(matches!(
            node("socket.ssl_cert=/c;socket.ssl_key=/k;socket.ssl=NO").replication_tls(),
            ReplicationTls::Plaintext { .. }
        ));
        assert!(matches!(
            node("gcache.size=1G").replication_tls(),
            ReplicationTls::Plaintext { .. }
        ));
        assert!(matches!(
            node("socket.ssl=YES;socket.dynamic=YES").replication_tls(),
            ReplicationTls::Encrypted { dynamic: true, .. }
        ));
    }

    #[test]
    fn server_keys_count_only_where_the_server_hands_them_over() {
        let mut n = node("");
        n.wsrep_ssl_mode = Some(opt("SERVER_X509"));
        assert!(matches!(
            n.replication_tls(),
            ReplicationTls::Plaintext { .. }
        ));
        n.server_has_tls = true;
        assert!(matches!(
            n.replication_tls(),
            ReplicationTls::Encrypted { .. }
        ));
    }

    fn sst(method: &str, opts: &[(&str, &str)], sst_group: &[(&str, &str)]) -> GaleraFacts {
        GaleraFacts {
            sst_method: Some(opt(method)),
            sst_options: opts.iter().map(|(k, v)| (k.to_string(), opt(v))).collect(),
            sst_group: sst_group
                .iter()
                .map(|(k, v)| (k.to_string(), opt(v)))
                .collect(),
            option_files_read: true,
            ..GaleraFacts::default()
        }
    }

    #[test]
    fn rsync_follows_the_server_keys_unless_disabled() {
        assert_eq!(
            sst(
                "rsync",
                &[("ssl_ca", "/ca"), ("ssl_cert", "/c"), ("ssl_key", "/k")],
                &[]
            )
            .sst_tls(),
            SstTls::Encrypted {
                mode: "VERIFY_CA".into()
            }
        );
        assert!(matches!(
            sst(
                "rsync",
                &[
                    ("ssl_cert", "/c"),
                    ("ssl_key", "/k"),
                    ("ssl_mode", "disabled")
                ],
                &[]
            )
            .sst_tls(),
            SstTls::Plaintext { .. }
        ));
        assert!(matches!(
            sst("rsync", &[], &[]).sst_tls(),
            SstTls::Plaintext { .. }
        ));
        assert_eq!(
            sst("rsync", &[], &[("tcert", "/c"), ("tkey", "/k")]).sst_tls(),
            SstTls::Encrypted {
                mode: "REQUIRED".into()
            }
        );
    }

    #[test]
    fn mariabackup_is_plaintext_by_default() {
        let keys = [("ssl_cert", "/c"), ("ssl_key", "/k")];
        assert!(matches!(
            sst("mariabackup", &keys, &[]).sst_tls(),
            SstTls::Plaintext { .. }
        ));
        let mut with_mode = keys.to_vec();
        with_mode.push(("ssl_mode", "VERIFY_CA"));
        assert!(matches!(
            sst("mariabackup", &with_mode, &[]).sst_tls(),
            SstTls::Encrypted { .. }
        ));
        assert!(matches!(
            sst("mariabackup", &[("encrypt", "4")], &[("tca", "/ca")]).sst_tls(),
            SstTls::Encrypted { .. }
        ));
        assert_eq!(
            sst("mariabackup", &[("encrypt", "1")], &[]).sst_tls(),
            SstTls::KeyEncrypted
        );
        assert!(matches!(
            sst("xtrabackup-v3-custom", &[], &[]).sst_tls(),
            SstTls::Unknown { .. }
        ));
    }

    #[test]
    fn mysqldump_follows_the_donor_client_options() {
        let dump = |client: &[(&str, &str)], prefers: bool, server: bool| {
            GaleraFacts {
                sst_client_options: client
                    .iter()
                    .map(|(k, v)| (k.to_string(), opt(v)))
                    .collect(),
                client_prefers_tls: prefers,
                server_has_tls: server,
                ..sst("mysqldump", &[], &[])
            }
            .sst_tls()
        };
        // MariaDB's client: nothing set is plaintext, even with server keys.
        assert!(matches!(dump(&[], false, true), SstTls::Plaintext { .. }));
        assert_eq!(
            dump(&[("ssl_ca", "/etc/mysql/ca.pem")], false, true),
            SstTls::Encrypted {
                mode: "client ssl_ca".into()
            }
        );
        assert!(matches!(
            dump(&[("ssl", "")], false, false),
            SstTls::Encrypted { .. }
        ));
        // Off wins over on.
        let SstTls::Plaintext { why, .. } =
            dump(&[("ssl_ca", "/ca"), ("skip_ssl", "")], false, true)
        else {
            panic!("skip-ssl must win")
        };
        assert!(why.contains("told not to use TLS"), "{why}");
        assert!(matches!(
            dump(&[("ssl", "0")], false, true),
            SstTls::Plaintext { .. }
        ));
        // MySQL's client prefers TLS where the joiner has it.
        assert!(matches!(dump(&[], true, true), SstTls::Encrypted { .. }));
        assert!(matches!(dump(&[], true, false), SstTls::Plaintext { .. }));
        assert!(matches!(
            dump(&[("ssl_mode", "DISABLED")], true, true),
            SstTls::Plaintext { .. }
        ));
    }

    #[test]
    fn no_option_files_no_sst_verdict() {
        let mut g = sst("rsync", &[], &[]);
        g.option_files_read = false;
        assert!(matches!(g.sst_tls(), SstTls::Unknown { .. }));
    }

    #[test]
    fn sst_files_prefer_the_old_sst_options() {
        let f = sst(
            "rsync",
            &[("ssl_cert", "/server.crt")],
            &[("tcert", "/sst.crt")],
        )
        .sst_files();
        assert_eq!(f.cert.map(|v| v.value), Some("/sst.crt".to_string()));
        let f = sst("rsync", &[("ssl_cert", "/server.crt")], &[]).sst_files();
        assert_eq!(f.cert.map(|v| v.value), Some("/server.crt".to_string()));
    }
}
