use crate::certs::{InScope, cert_name, certificates_in_scope};
use crate::facts::{HostFacts, KeyAlgorithm};
use crate::policy::Thresholds;
use crate::rule::Control;
use crate::{Context, Finding, Location, Rule, RuleMeta, Severity};

/// SSL016: short keys, SHA-1/MD5 certificate signatures, or a configured
/// cipher list that allows non-approved ciphers.
pub struct WeakCrypto;

static META: RuleMeta = RuleMeta::new(
    "SSL016",
    "weak-crypto",
    Severity::Medium,
    "a key is too short, a certificate is signed with SHA-1 or MD5, or ssl_cipher allows weak ciphers",
    HELP,
    &[
        "Verify SSL Connections",
        "MySQL Reference Manual: Encrypted Connection TLS Protocols and Ciphers",
        "NIST SP 800-131A Rev. 2: Transitioning the Use of Cryptographic Algorithms and Key Lengths",
    ],
)
.controls(&[
    Control::nist("SC-13", "cryptographic protection: short keys, SHA-1/MD5 signatures or weak ciphers (NIST SP 800-131A)"),
    Control::nist("SC-12", "key management: keys must be of approved strength"),
    Control::pci("4.2.1", "requires strong cryptography, not weak keys or ciphers"),
]);

const HELP: &str = r#"## What it checks

- RSA and DSA keys shorter than `min_rsa_bits` (2048 by default) and EC keys
  on curves under 224 bits, in certificates (files on the host, except keys
  parked in `/db/old_keys/`, and the chain the server presents) and in
  private keys;
- certificates signed with SHA-1 or MD5 (or MD2/MD4). Self-signed CA
  certificates are left out: a trust anchor is trusted because it is in the
  CA file, its own signature is never checked;
- a configured `ssl_cipher` (the `ssl-cipher` option, or the server's
  `ssl_cipher` variable when no option file sets it) whose list adds a cipher
  matching `weak_cipher_patterns` (NULL, EXPORT, RC4, DES, 3DES, MD5,
  anonymous, PSK, SRP, ...) that a `!` or `-` entry does not take out again.

## Why it matters

Short keys and SHA-1/MD5 signatures can be forged or factored with public
means, so a certificate signed that way can be counterfeited, and weak
ciphers let traffic be decrypted: the encryption the seed's SSL feature adds
is then only apparent.

## How to fix

Regenerate short keys and weakly signed certificates with the Key
Maintenance steps (`/engineyard/bin/db_server_ssl_keys.sh` generates
2048-bit keys signed with SHA-256), or by hand:

```sh
openssl req -newkey rsa:2048 -sha256 -nodes -keyout server.key -out server.csr
openssl x509 -noout -text -in server.crt | grep -E 'Public-Key|Signature Algorithm'
```

Set an approved cipher list in `/etc/mysql/my.cnf`, for example
`ssl-cipher = ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256`,
restart MySQL (`/etc/init.d/mysql restart`) and check the cipher in use with
`\s` in the mysql client ("Cipher in use is ...").
"#;

/// EC curves below this many bits are below 112-bit security.
const MIN_EC_BITS: u32 = 224;

impl Rule for WeakCrypto {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        let t = cx.thresholds;
        for c in certificates_in_scope(host) {
            self.check_certificate(host, t, &c, out);
        }
        for (path, key) in &host.private_keys {
            if let Some(why) = weak_key(&key.algorithm, key.bits, t) {
                let message = format!("private key {path} is {why}");
                out.push(
                    self.finding(
                        host,
                        message,
                        Location::file(path.clone(), None).with_object(crate::Subject::key(path)),
                    )
                    .evidence("algorithm", algorithm_name(&key.algorithm))
                    .evidence("bits", key.bits.to_string()),
                );
            }
        }
        self.check_cipher(host, t, out);
    }
}

impl WeakCrypto {
    fn check_certificate(
        &self,
        host: &HostFacts,
        t: &Thresholds,
        c: &InScope<'_>,
        out: &mut Vec<Finding>,
    ) {
        let cert = c.cert;
        let pk = &cert.public_key;
        if let Some(why) = weak_key(&pk.algorithm, pk.bits, t) {
            let message = format!(
                "certificate {} ({}) has {why}",
                cert_name(cert),
                c.whereabouts()
            );
            out.push(
                self.finding(host, message, c.location(":key"))
                    .evidence("subject", cert.subject.clone())
                    .evidence("algorithm", algorithm_name(&pk.algorithm))
                    .evidence("bits", pk.bits.to_string()),
            );
        }
        // A self-signed CA is a trust anchor: clients trust it because it is
        // in their CA file and never verify its own signature, so a SHA-1
        // self-signature weakens nothing (and flagging it would push people
        // to rotate a CA for no gain).
        let trust_anchor = cert.is_ca && cert.is_self_signed();
        if !trust_anchor && let Some(hash) = weak_signature_hash(&cert.signature_algorithm) {
            let message = format!(
                "certificate {} ({}) is signed with {} ({hash})",
                cert_name(cert),
                c.whereabouts(),
                cert.signature_algorithm
            );
            out.push(
                self.finding(host, message, c.location(":signature"))
                    .evidence("subject", cert.subject.clone())
                    .evidence("issuer", cert.issuer.clone())
                    .evidence("signature_algorithm", cert.signature_algorithm.clone()),
            );
        }
    }

    fn check_cipher(&self, host: &HostFacts, t: &Thresholds, out: &mut Vec<Finding>) {
        // The option file is where the value is fixed; the variable only
        // speaks when no option file sets it (set on the command line, or
        // the option files were not read).
        let option = host
            .server_options
            .as_ref()
            .and_then(|o| o.get("ssl_cipher"));
        let (value, location, source) = if let Some(opt) = option {
            (
                opt.as_str(),
                opt.location(),
                format!("set in {}:{}", opt.file, opt.line),
            )
        } else if let Some(v) = host.mysql.as_ref().and_then(|m| m.variable("ssl_cipher")) {
            (
                v,
                Location::default(),
                "server variable ssl_cipher".to_string(),
            )
        } else {
            return;
        };
        let weak = weak_cipher_entries(value, &t.weak_cipher_patterns);
        if weak.is_empty() {
            return;
        }
        let message = format!(
            "ssl_cipher allows non-approved ciphers {} ({source})",
            weak.join(", ")
        );
        out.push(
            self.finding(
                host,
                message,
                location.with_object(crate::Subject::option("ssl_cipher")),
            )
            .evidence("ssl_cipher", value),
        );
    }
}

/// `a 1024-bit RSA key (policy minimum 2048)`, when the key is too short.
fn weak_key(algorithm: &KeyAlgorithm, bits: u32, t: &Thresholds) -> Option<String> {
    let min = match algorithm {
        // DSA is a finite-field scheme like RSA: NIST puts the same 2048-bit floor on both.
        KeyAlgorithm::Rsa | KeyAlgorithm::Dsa => t.min_rsa_bits,
        KeyAlgorithm::Ec => MIN_EC_BITS,
        KeyAlgorithm::Ed25519 | KeyAlgorithm::Other(_) => return None,
    };
    // 0 bits means the collector could not tell the size.
    (bits > 0 && bits < min).then(|| {
        format!(
            "a {bits}-bit {} key (policy minimum {min})",
            algorithm_name(algorithm)
        )
    })
}

fn algorithm_name(a: &KeyAlgorithm) -> String {
    match a {
        KeyAlgorithm::Rsa => "RSA".into(),
        KeyAlgorithm::Ec => "EC".into(),
        KeyAlgorithm::Ed25519 => "Ed25519".into(),
        KeyAlgorithm::Dsa => "DSA".into(),
        KeyAlgorithm::Other(o) => o.clone(),
    }
}

/// The broken hash of a signature algorithm name, if it uses one
/// (`sha1WithRSAEncryption`, `ecdsa-with-SHA1`, `md5WithRSAEncryption`).
fn weak_signature_hash(name: &str) -> Option<&'static str> {
    let n = name.to_ascii_lowercase();
    // Whole tokens (`ecdsa-with-sha1`) or the glued OID short names
    // (`sha1withrsaencryption`, `dsawithsha1`): a plain substring test would
    // also have to rule out names that merely start with `sha1`.
    let has = |h: &str| {
        n.split(|c: char| !c.is_ascii_alphanumeric()).any(|t| {
            t == h || t.starts_with(&format!("{h}with")) || t.ends_with(&format!("with{h}"))
        })
    };
    [
        ("md2", "MD2"),
        ("md4", "MD4"),
        ("md5", "MD5"),
        ("sha1", "SHA-1"),
    ]
    .into_iter()
    .find(|(h, _)| has(h))
    .map(|(_, label)| label)
}

/// Entries of an OpenSSL cipher list that add a cipher matching one of
/// `patterns`, unless a `!` entry (anywhere: it removes for good) or a later
/// `-` entry takes the same pattern or the same entry out again.
fn weak_cipher_entries(list: &str, patterns: &[String]) -> Vec<String> {
    // OpenSSL accepts `:`, `,` and spaces as separators.
    let entries: Vec<&str> = list
        .split([':', ',', ' '])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let mut weak = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        if entry.starts_with('!') || entry.starts_with('-') {
            continue;
        }
        let name = entry.trim_start_matches('+');
        let removed = |what: &str| {
            entries.iter().enumerate().any(|(j, e)| {
                let (neg, rest) = match (e.strip_prefix('!'), e.strip_prefix('-')) {
                    (Some(r), _) => (true, r),
                    (_, Some(r)) => (j > i, r),
                    _ => (false, ""),
                };
                neg && rest.eq_ignore_ascii_case(what)
            })
        };
        if removed(name) {
            continue;
        }
        let upper = name.to_ascii_uppercase();
        let hit = patterns
            .iter()
            .any(|p| upper.contains(&p.to_ascii_uppercase()) && !removed(p));
        if hit && !weak.iter().any(|w| w == name) {
            weak.push(name.to_string());
        }
    }
    weak
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{MysqlFacts, OptionSet, OptionValue};
    use crate::testkit::*;

    const DIR: &str = "/db/mysql/5.6/data";

    fn patterns() -> Vec<String> {
        Thresholds::default().weak_cipher_patterns
    }

    #[test]
    fn cipher_lists() {
        let p = patterns();
        assert!(weak_cipher_entries("DHE-RSA-AES128-GCM-SHA256:AES256-SHA", &p).is_empty());
        assert!(weak_cipher_entries("HIGH:!aNULL:!eNULL:!MD5:!RC4", &p).is_empty());
        assert_eq!(
            weak_cipher_entries("DHE-RSA-AES256-SHA:RC4-SHA:DES-CBC3-SHA", &p),
            ["RC4-SHA", "DES-CBC3-SHA"]
        );
        // `!RC4` removes RC4 for good, even before the entry that adds it.
        assert!(weak_cipher_entries("!RC4:RC4-SHA", &p).is_empty());
        // `-RC4` removes only what was added before it.
        assert!(weak_cipher_entries("RC4-SHA:-RC4", &p).is_empty());
        assert_eq!(weak_cipher_entries("-RC4:RC4-SHA", &p), ["RC4-SHA"]);
        assert_eq!(
            weak_cipher_entries("ALL, EXP-RC4-MD5 +RC4", &p),
            ["EXP-RC4-MD5", "RC4"]
        );
        assert_eq!(weak_cipher_entries("ALL:aNULL", &p), ["aNULL"]);
        assert!(weak_cipher_entries("ALL:aNULL:!aNULL", &p).is_empty());
        assert!(weak_cipher_entries("", &p).is_empty());
    }

    #[test]
    fn signature_hashes() {
        assert_eq!(weak_signature_hash("sha1WithRSAEncryption"), Some("SHA-1"));
        assert_eq!(weak_signature_hash("ecdsa-with-SHA1"), Some("SHA-1"));
        assert_eq!(weak_signature_hash("dsaWithSHA1"), Some("SHA-1"));
        assert_eq!(weak_signature_hash("md5WithRSAEncryption"), Some("MD5"));
        assert_eq!(weak_signature_hash("sha256WithRSAEncryption"), None);
        assert_eq!(weak_signature_hash("ecdsa-with-SHA384"), None);
        assert_eq!(weak_signature_hash("ED25519"), None);
        assert_eq!(weak_signature_hash("rsassaPss"), None);
    }

    fn server_with_cert(bits: u32, sig: &str) -> HostFacts {
        let mut h = host("db-master", "production", &[]);
        let path = format!("{DIR}/server.crt");
        let mut c = cert(&path, 0, "CN=db-master", "CN=ca", ts("2030-01-01"));
        c.public_key.bits = bits;
        c.signature_algorithm = sig.into();
        h.certificates.insert(path, vec![c]);
        h
    }

    #[test]
    fn short_keys_and_weak_signatures() {
        let out = run_at(
            &WeakCrypto,
            vec![server_with_cert(2048, "sha256WithRSAEncryption")],
            AS_OF,
        );
        assert!(out.is_empty());

        let out = run_at(
            &WeakCrypto,
            vec![server_with_cert(1024, "sha1WithRSAEncryption")],
            AS_OF,
        );
        assert_eq!(out.len(), 2, "{out:#?}");
        assert_eq!(
            out[0].message,
            "certificate CN=db-master (/db/mysql/5.6/data/server.crt) has a 1024-bit RSA key \
             (policy minimum 2048)"
        );
        assert_eq!(
            out[0].location.object.as_deref(),
            Some("cert:/db/mysql/5.6/data/server.crt#0:key")
        );
        assert_eq!(
            out[1].message,
            "certificate CN=db-master (/db/mysql/5.6/data/server.crt) is signed with \
             sha1WithRSAEncryption (SHA-1)"
        );
        assert_eq!(
            out[1].location.object.as_deref(),
            Some("cert:/db/mysql/5.6/data/server.crt#0:signature")
        );
        assert_eq!(out[0].severity, Severity::Medium);
        assert_distinct(&out);

        let t = Thresholds {
            min_rsa_bits: 1024,
            ..Thresholds::default()
        };
        let out = run_with(
            &WeakCrypto,
            vec![server_with_cert(1024, "sha256WithRSAEncryption")],
            0,
            &t,
        );
        assert!(out.is_empty());
    }

    #[test]
    fn self_signed_ca_signature_is_not_judged() {
        let mut h = host("db-master", "production", &[]);
        let path = format!("{DIR}/root.crt");
        let mut ca = cert(&path, 0, "CN=ca", "CN=ca", ts("2030-01-01"));
        ca.is_ca = true;
        ca.signature_algorithm = "sha1WithRSAEncryption".into();
        h.certificates.insert(path.clone(), vec![ca.clone()]);
        assert!(run_at(&WeakCrypto, vec![h.clone()], AS_OF).is_empty());

        // An intermediate CA's signature is verified, so it counts.
        ca.issuer = "CN=root".into();
        h.certificates.insert(path, vec![ca]);
        assert_eq!(run_at(&WeakCrypto, vec![h], AS_OF).len(), 1);
    }

    #[test]
    fn private_keys_and_ec_curves() {
        let mut h = host("db-master", "production", &[]);
        h.private_keys
            .insert(format!("{DIR}/server.key"), rsa_key("aa", 1024));
        let mut ec = rsa_key("bb", 192);
        ec.algorithm = KeyAlgorithm::Ec;
        h.private_keys.insert(format!("{DIR}/ec.key"), ec);
        let mut ok = rsa_key("cc", 256);
        ok.algorithm = KeyAlgorithm::Ec;
        h.private_keys.insert(format!("{DIR}/ok.key"), ok);
        let out = run_at(&WeakCrypto, vec![h], AS_OF);
        let msgs: Vec<_> = out.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            msgs,
            [
                "private key /db/mysql/5.6/data/ec.key is a 192-bit EC key (policy minimum 224)",
                "private key /db/mysql/5.6/data/server.key is a 1024-bit RSA key (policy minimum 2048)",
            ]
        );
        assert_eq!(
            out[1].location.object.as_deref(),
            Some("key:/db/mysql/5.6/data/server.key")
        );
    }

    #[test]
    fn configured_cipher_list() {
        let mut h = host("db-master", "production", &[]);
        h.mysql = Some(MysqlFacts::default());
        h.mysql
            .as_mut()
            .unwrap()
            .variables
            .insert("ssl_cipher".into(), "DHE-RSA-AES256-SHA:RC4-SHA".into());
        let out = run_at(&WeakCrypto, vec![h.clone()], AS_OF);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].message,
            "ssl_cipher allows non-approved ciphers RC4-SHA (server variable ssl_cipher)"
        );
        assert_eq!(out[0].location.object.as_deref(), Some("option:ssl_cipher"));

        // The option file wins: it is where the value is fixed.
        let mut opts = OptionSet::default();
        opts.options.insert(
            "ssl_cipher".into(),
            OptionValue {
                value: Some("DES-CBC3-SHA:AES128-SHA".into()),
                spelled: "ssl-cipher".into(),
                group: "mysqld".into(),
                file: "/etc/mysql/my.cnf".into(),
                line: 14,
            },
        );
        h.server_options = Some(opts);
        let out = run_at(&WeakCrypto, vec![h.clone()], AS_OF);
        assert_eq!(
            out[0].message,
            "ssl_cipher allows non-approved ciphers DES-CBC3-SHA (set in /etc/mysql/my.cnf:14)"
        );
        assert_eq!(out[0].location.file.as_deref(), Some("/etc/mysql/my.cnf"));
        assert_eq!(out[0].location.line, Some(14));

        h.server_options
            .as_mut()
            .unwrap()
            .options
            .get_mut("ssl_cipher")
            .unwrap()
            .value = Some("ECDHE-RSA-AES128-GCM-SHA256".into());
        assert!(run_at(&WeakCrypto, vec![h], AS_OF).is_empty());
    }
}
