//! SSL026 galera-sst-unencrypted: a Galera node's state snapshot
//! transfers (a whole copy of the data) go over the network in plaintext.

use crate::facts::{HostFacts, SstTls};
use crate::rule::Control;
use crate::{Context, Finding, Location, Rule, RuleMeta, Severity, Subject};

/// SSL026: a Galera node's SST method runs without TLS.
pub struct GaleraSstUnencrypted;

const HELP: &str = r#"## What it checks

Every Galera node's state snapshot transfer (SST, port 4444 by default): the method
(`wsrep_sst_method`, default `rsync`) and the options its script reads from the option files
(the server's groups and `[sst]`; mariabackup also `[xtrabackup]` and `[mariabackup]`), as
MariaDB 10.11's `wsrep_sst_rsync` and `wsrep_sst_mariabackup` decide:

- `rsync` / `rsync_wan`: encrypted through stunnel unless `ssl-mode=DISABLED`; with no
  `ssl-mode`, when a CA (`VERIFY_CA`) or a certificate and key (`REQUIRED`) is configured,
  either `[sst]` `tca`/`tcert`/`tkey` or the `ssl-ca`/`ssl-cert`/`ssl-key` of the server's
  groups or `[sst]`. Nothing configured: plaintext.
- `mariabackup` (and Percona's `xtrabackup-v2`): plaintext by default. Encrypted with
  `encrypt=2`, `3` or `4` (socat over TLS with `tca`/`tcert`/`tkey` or `ssl-*`), or with an
  `ssl-mode` other than `DISABLED` and a certificate and key; `encrypt=1` (key-based stream
  encryption) passes, as does PXC's `pxc_encrypt_cluster_traffic=ON` with server keys.
- `mysqldump`: the donor's `mariadb`/`mysql` client logs in to the joiner's MySQL port with
  `wsrep_sst_auth` and replays the whole dump there, reading the server's option files (its
  `[client]`, `[mysql]`, `[client-server]`, `[client-mariadb]`, `[mariadb-client]` groups).
  MariaDB's client (before 11.4) uses TLS only when an `ssl` or `ssl-*` option is set there;
  MySQL's (Percona XtraDB Cluster 5.7) prefers TLS unless `ssl-mode=DISABLED`. A `skip-ssl`,
  `ssl=0` or `ssl-mode=DISABLED` wins over the other options.
- Custom scripts are not judged.

The finding names the line that decides (an `ssl-mode=DISABLED`, an `encrypt=0`) or the SST
method's.

## Why it matters

An SST copies the donor's entire data directory to the joining node: every table, every
row, the `mysql` schema's account hashes. It happens whenever a node joins, after a crash, or
when its gcache cannot serve an IST, so an unencrypted one leaks the whole database at the
moment an operator is busy recovering a node.

## How to fix

On every node (SST settings are read by the joiner and the donor alike), in `[sst]`:

```
[sst]
ssl-mode = VERIFY_CA
ssl-ca   = /etc/mysql/ssl/ca.pem
ssl-cert = /etc/mysql/ssl/server-cert.pem
ssl-key  = /etc/mysql/ssl/server-key.pem
```

rsync needs `stunnel` installed (`apt-get install stunnel4`); mariabackup needs socat built
with OpenSSL (Debian's is). For mariabackup, `encrypt = 4` with `tca`/`tcert`/`tkey` works on
older releases too. No restart is needed: the next SST reads the files.
"#;

static META: RuleMeta = RuleMeta::new(
    "SSL026",
    "galera-sst-unencrypted",
    Severity::High,
    "a Galera node's state snapshot transfers (SST, port 4444) are not encrypted",
    HELP,
    &[
        "MariaDB Server Documentation: Securing Communications in Galera Cluster (Securing SST Traffic)",
        "MariaDB Server Documentation: mariabackup SST Method, rsync SST Method",
        "Percona XtraDB Cluster Documentation: Encrypting PXC Traffic",
    ],
)
// The SST script reads the option files, never the server: a host seen
// from the wire alone cannot be judged.
.from_host_files()
.controls(&[
    Control::nist("SC-8(1)", "cryptographic protection of a transfer that copies the whole database between nodes"),
    Control::nist("SC-28", "protection of information at rest leaves the host as a plaintext copy when a node joins"),
    Control::pci("4.2.1", "strong cryptography protects account data during transmission over open, public networks"),
]);

impl Rule for GaleraSstUnencrypted {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, _cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        let Some(g) = &host.galera else {
            return;
        };
        let SstTls::Plaintext { why, at } = g.sst_tls() else {
            return;
        };
        let method = g.sst_method();
        let object = Subject::galera("sst-tls");
        let location = match at.map(|v| v.from) {
            Some(l) if l.file.is_some() => l.with_object(object),
            _ => Location::object(object),
        };
        let f = self
            .finding(
                host,
                format!(
                    "state transfers (SST method {method}) of Galera cluster '{}' are not encrypted: {why}",
                    g.cluster_name()
                ),
                location,
            )
            .evidence("cluster", g.cluster_name().to_string())
            .evidence("sst_method", method);
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    #[test]
    fn rsync_without_keys_fires_at_the_method() {
        let h = galera_node("db-1", "wsrep_sst_method = rsync\n");
        let out = run(&GaleraSstUnencrypted, &h);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(
            out[0].message,
            "state transfers (SST method rsync) of Galera cluster 'my_wsrep_cluster' are not encrypted: rsync SST has no ssl-cert/ssl-key (nor [sst] tcert/tkey)"
        );
        assert_eq!(out[0].location.line, Some(4));
        assert_eq!(out[0].subject(), "galera:sst-tls");
    }

    #[test]
    fn ssl_mode_disabled_beats_the_server_keys() {
        let h = galera_node(
            "db-1",
            "ssl-cert = /c\nssl-key = /k\n[sst]\nssl-mode = DISABLED\n",
        );
        let out = run(&GaleraSstUnencrypted, &h);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert!(out[0].message.ends_with("ssl-mode=DISABLED"));
        assert_eq!(out[0].location.line, Some(7));
    }

    #[test]
    fn mariabackup_defaults_fire() {
        let h = galera_node(
            "db-1",
            "wsrep_sst_method = mariabackup\nssl-cert = /c\nssl-key = /k\n",
        );
        assert_eq!(run(&GaleraSstUnencrypted, &h).len(), 1);
    }

    #[test]
    fn encrypted_transfers_pass() {
        for cnf in [
            "ssl-ca = /ca\nssl-cert = /c\nssl-key = /k\n",
            "[sst]\ntca = /ca\ntcert = /c\ntkey = /k\n",
            "wsrep_sst_method = mariabackup\n[sst]\nencrypt = 4\ntca = /ca\ntcert = /c\ntkey = /k\n",
            "wsrep_sst_method = mariabackup\n[sst]\nssl-mode = VERIFY_CA\nssl-ca = /ca\nssl-cert = /c\nssl-key = /k\n",
            "wsrep_sst_method = mysqldump\n[client]\nssl-ca = /ca\n",
        ] {
            let out = run(&GaleraSstUnencrypted, &galera_node("db-1", cnf));
            assert!(out.is_empty(), "{cnf}: {out:#?}");
        }
        assert!(run(&GaleraSstUnencrypted, &db_host("db-master")).is_empty());
    }

    #[test]
    fn mysqldump_without_client_tls_fires() {
        for cnf in [
            "wsrep_sst_method = mysqldump\nssl-ca = /ca\nssl-cert = /c\nssl-key = /k\n",
            "wsrep_sst_method = mysqldump\n[client]\nssl-ca = /ca\nskip-ssl\n",
        ] {
            let out = run(&GaleraSstUnencrypted, &galera_node("db-1", cnf));
            assert_eq!(out.len(), 1, "{cnf}: {out:#?}");
            assert!(
                out[0].message.contains("mysqldump SST"),
                "{}",
                out[0].message
            );
        }
    }
}
