use crate::certs::{cert_name, chains_to, identity_description, identity_label};
use crate::facts::HostFacts;
use crate::rule::Control;
use crate::{Context, Finding, Rule, RuleMeta, Severity};

/// SSL011: an identity's private key does not match its certificate, or its
/// certificate was not issued by the CA configured beside it.
pub struct KeyCertificateMismatch;

static META: RuleMeta = RuleMeta::new(
    "SSL011",
    "key-certificate-mismatch",
    Severity::High,
    "a private key or CA does not belong with the certificate configured beside it",
    HELP,
    &[
        "Key Maintenance",
        "MySQL Reference Manual: Configuring MySQL to Use Encrypted Connections",
    ],
)
.controls(&[
    Control::nist(
        "SC-12",
        "key management: the private key does not belong to its certificate",
    ),
    Control::nist(
        "SC-17",
        "PKI certificates: the configured CA did not issue the certificate beside it",
    ),
])
.from_host_files();

const HELP: &str = r#"## What it checks

Every set of TLS files that belong together: the server's `ssl-ca`,
`ssl-cert` and `ssl-key`, the per-user keys under `/db/mysql/keygen/<user>/`,
the copies in `~<user>/.mysql/`, `[client]` options and each database.yml
environment's `sslca`/`sslcert`/`sslkey`. It reports:

- a private key whose public key is not the certificate's (compared by the
  SHA-256 of the SubjectPublicKeyInfo; encrypted keys cannot be compared and
  are skipped);
- a certificate that was not issued by the CA file configured beside it,
  neither directly nor through intermediates sent in the certificate file. A
  CA file may be a bundle: being issued by any of its certificates is enough.

## Why it matters

mysqld refuses to enable SSL when its key and certificate do not match (the
server starts with `have_ssl` DISABLED), and a client whose CA did not issue
the server's certificate, or whose certificate the server's CA did not
issue, fails the handshake. This is the "mismatch between old and new keys"
the seed document's Key Maintenance section describes after booting from
snapshots or copying keys by hand.

## How to fix

Compare the pair on the host:

```sh
openssl x509 -noout -pubkey -in server.crt | openssl sha256
openssl pkey -pubout -in server.key | openssl sha256
openssl verify -CAfile root.crt server.crt
```

Put back the key and CA that belong with the certificate (the previous set
may be in `/db/old_keys/`), or regenerate every key with the Key Maintenance
steps: move the old keys to `/db/old_keys/server/` and `/db/old_keys/user/`,
run `/engineyard/bin/db_server_ssl_keys.sh`, restart MySQL with
`/etc/init.d/mysql restart` and click "Apply" on the cloud dashboard.
"#;

impl Rule for KeyCertificateMismatch {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, _cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        for id in &host.identities {
            let Some(cert_path) = id.cert.as_deref() else {
                continue;
            };
            let Some(chain) = host.certificates.get(cert_path) else {
                continue;
            };
            let Some(leaf) = chain.first() else {
                continue;
            };
            let object = format!("identity:{}:{cert_path}", identity_label(&id.kind));

            if let Some(key_path) = id.key.as_deref()
                && let Some(key) = host.private_keys.get(key_path)
                && key.matches(leaf) == Some(false)
            {
                let message = format!(
                    "private key {key_path} does not match certificate {cert_path} ({}) of {}",
                    cert_name(leaf),
                    identity_description(id)
                );
                out.push(
                    self.finding(
                        host,
                        message,
                        id.origin.clone().with_object(format!("{object}:key")),
                    )
                    .evidence("certificate", cert_path)
                    .evidence("key", key_path)
                    .evidence("certificate_spki_sha256", leaf.spki_sha256.clone())
                    .evidence(
                        "key_spki_sha256",
                        key.spki_sha256.clone().unwrap_or_default(),
                    ),
                );
            }

            if let Some(ca_path) = id.ca.as_deref()
                && let Some(cas) = host.certificates.get(ca_path).filter(|c| !c.is_empty())
                && !chains_to(chain, cas)
            {
                let ca_names: Vec<String> = cas.iter().map(cert_name).collect();
                let message = format!(
                    "certificate {cert_path} ({}, issued by {}) of {} is not issued by the CA \
                     configured beside it, {ca_path} ({})",
                    cert_name(leaf),
                    leaf.issuer,
                    identity_description(id),
                    ca_names.join(", ")
                );
                out.push(
                    self.finding(
                        host,
                        message,
                        id.origin.clone().with_object(format!("{object}:ca")),
                    )
                    .evidence("certificate", cert_path)
                    .evidence("issuer", leaf.issuer.clone())
                    .evidence("ca", ca_path)
                    .evidence(
                        "ca_subjects",
                        cas.iter()
                            .map(|c| c.subject.as_str())
                            .collect::<Vec<_>>()
                            .join("; "),
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Location;
    use crate::facts::IdentityKind;
    use crate::testkit::*;

    const DIR: &str = "/db/mysql/5.6/data";
    const HOME: &str = "/home/deploy/.mysql";

    /// An app host whose ~deploy/.mysql holds the production CA and deploy's
    /// certificate, with a key that matches it.
    fn app_host() -> HostFacts {
        let mut h = host("app-1", "production", &[]);
        let ca = format!("{HOME}/root.crt");
        let crt = format!("{HOME}/mysql.crt");
        let key = format!("{HOME}/mysql.key");
        h.certificates.insert(ca.clone(), pem_certs(&ca, PROD_CA));
        let leaf = pem_certs(&crt, PROD_DEPLOY);
        h.private_keys
            .insert(key.clone(), rsa_key(&leaf[0].spki_sha256, 2048));
        h.certificates.insert(crt.clone(), leaf);
        h.identities.push(identity(
            IdentityKind::UserHome {
                user: "deploy".into(),
            },
            Location::file(HOME, None),
            Some(&ca),
            Some(&crt),
            Some(&key),
        ));
        h
    }

    #[test]
    fn matching_identity_is_fine() {
        assert!(run_at(&KeyCertificateMismatch, vec![app_host()], AS_OF).is_empty());
    }

    #[test]
    fn key_of_another_certificate() {
        let mut h = app_host();
        h.private_keys
            .insert(format!("{HOME}/mysql.key"), rsa_key(&"00".repeat(32), 2048));
        let out = run_at(&KeyCertificateMismatch, vec![h], AS_OF);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert!(
            out[0].message.starts_with(
                "private key /home/deploy/.mysql/mysql.key does not match certificate \
                 /home/deploy/.mysql/mysql.crt (CN=deploy) of deploy's client keys"
            ),
            "{}",
            out[0].message
        );
        assert_eq!(
            out[0].location.object.as_deref(),
            Some("identity:home/deploy:/home/deploy/.mysql/mysql.crt:key")
        );
        assert_eq!(out[0].severity, Severity::High);
    }

    #[test]
    fn encrypted_or_unknown_keys_are_not_judged() {
        let mut h = app_host();
        let k = h
            .private_keys
            .get_mut(&format!("{HOME}/mysql.key"))
            .unwrap();
        k.encrypted = true;
        k.spki_sha256 = None;
        assert!(run_at(&KeyCertificateMismatch, vec![h.clone()], AS_OF).is_empty());
        h.private_keys.clear();
        assert!(run_at(&KeyCertificateMismatch, vec![h], AS_OF).is_empty());
    }

    #[test]
    fn certificate_of_another_ca() {
        let mut h = app_host();
        let crt = format!("{HOME}/mysql.crt");
        let leaf = pem_certs(&crt, STAGING_DEPLOY);
        h.private_keys.insert(
            format!("{HOME}/mysql.key"),
            rsa_key(&leaf[0].spki_sha256, 2048),
        );
        h.certificates.insert(crt, leaf);
        let out = run_at(&KeyCertificateMismatch, vec![h.clone()], AS_OF);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert!(
            out[0]
                .message
                .ends_with("of deploy's client keys (/home/deploy/.mysql) is not issued by the CA configured beside it, /home/deploy/.mysql/root.crt (CN=production-mysql-ca)"),
            "{}",
            out[0].message
        );
        assert_eq!(
            out[0].location.object.as_deref(),
            Some("identity:home/deploy:/home/deploy/.mysql/mysql.crt:ca")
        );

        // A bundle holding both CAs during a rotation is fine.
        let ca = format!("{HOME}/root.crt");
        let mut bundle = pem_certs(&ca, PROD_CA);
        let mut staging = pem_certs(&ca, STAGING_CA);
        staging[0].index = 1;
        bundle.extend(staging);
        h.certificates.insert(ca, bundle);
        assert!(run_at(&KeyCertificateMismatch, vec![h], AS_OF).is_empty());
    }

    #[test]
    fn server_chain_with_intermediate() {
        let mut h = host("db-replica", "production", &[]);
        h.identities.push(server_identity(DIR));
        h.certificates
            .insert(format!("{DIR}/root.crt"), pem_certs("root.crt", PROD_CA));
        let crt = format!("{DIR}/server.crt");
        h.certificates
            .insert(crt.clone(), pem_certs(&crt, INTER_LEAF));
        let out = run_at(&KeyCertificateMismatch, vec![h.clone()], AS_OF);
        assert_eq!(out.len(), 1, "the intermediate is missing: {out:#?}");
        assert_eq!(out[0].location.file.as_deref(), Some("/etc/mysql/my.cnf"));
        assert!(
            out[0]
                .message
                .contains("of the server's ssl options (/etc/mysql/my.cnf:10) is not issued by"),
            "{}",
            out[0].message
        );

        let chain = format!("{INTER_LEAF}{INTER}");
        h.certificates.insert(crt.clone(), pem_certs(&crt, &chain));
        assert!(run_at(&KeyCertificateMismatch, vec![h], AS_OF).is_empty());
    }

    #[test]
    fn both_problems_are_told_apart() {
        let mut h = app_host();
        let crt = format!("{HOME}/mysql.crt");
        h.certificates
            .insert(crt.clone(), pem_certs(&crt, STAGING_DEPLOY));
        let out = run_at(&KeyCertificateMismatch, vec![h], AS_OF);
        assert_eq!(out.len(), 2);
        assert_distinct(&out);
    }
}
