//! SSL018 connection-not-encrypted: a TCP connection to the server ends up
//! without TLS.

use crate::facts::{HostFacts, PlaintextOutcome};
use crate::rule::Control;
use crate::{Context, Finding, Location, Rule, RuleMeta, Severity};

/// SSL018: the scanner's own TCP session has no cipher, or the TLS probe
/// finds no SSL on offer or a failing handshake.
pub struct ConnectionNotEncrypted;

const HELP: &str = r#"## What it checks

What actually happens on the wire, for every host the scanner connected to:

- the scanner's own MySQL session over TCP (directly, through a tunnel, or the host's own
  `mysql` client to `127.0.0.1`): it must have negotiated a cipher, the `SSL: Cipher in use
  is ...` line of `\s`. Sessions over the Unix socket are not checked: TLS is never
  negotiated there, which is why the seed warns not to use `localhost` as the host name
  when verifying;
- the credential-less TLS probe of the server's port: the greeting must advertise SSL
  (the `CLIENT_SSL` capability) and the TLS handshake must succeed. A probe that never got
  a greeting (port closed, host down) says nothing about TLS and is not reported;
- the probe's plaintext login attempt (no TLS, the user `sslaudit-probe-nonexistent` that
  does not exist, no password): a server that lets it in (an anonymous account without a
  password) proves from the wire that plaintext sessions exist, even where nobody can log
  in to the host. Its answer is quoted as evidence (`plaintext_answer`) beside a greeting
  without SSL. An `Access denied` (1045) alone proves nothing: MySQL, and MariaDB before
  MDEV-30178, answer it to a plaintext login whether or not they require secure transport.

## Why it matters

Variables can say `have_ssl = YES` while real connections still go out in clear text: a
client that does not ask for TLS, a proxy in between, or a server whose certificate cannot
be loaded. This is the end-to-end check of the seed's "Verify SSL Connections" step.

## How to fix

1. Connect like the application does, with the user, host and database name from
   database.yml: `mysql -u <user> -h <hostname> <dbname>`, then enter `\s`. With SSL
   working you see `SSL: Cipher in use is DHE-RSA-AES128-GCM-SHA256`. Do not use
   `localhost` as the host name: that connects over the socket, without SSL.
2. No SSL advertised: enable SSL on the server (SSL001, SSL002) and restart MySQL
   (`/etc/init.d/mysql restart`).
3. Handshake failures: check the server certificate and key (SSL004 and the Key Maintenance
   steps) and the protocol versions (SSL015).
"#;

static META: RuleMeta = RuleMeta::new(
    "SSL018",
    "connection-not-encrypted",
    Severity::High,
    "a TCP connection to the MySQL server was not encrypted",
    HELP,
    &[
        "MySQL SSL Support: Verify SSL Connections",
        "MySQL 8.0 Reference Manual: Configuring MySQL to Use Encrypted Connections",
    ],
)
.controls(&[
    Control::nist(
        "SC-8",
        "transmission confidentiality and integrity: an observed TCP connection was not encrypted",
    ),
    Control::nist(
        "SC-8(1)",
        "no cryptographic protection on a live connection (seed: Verify SSL Connections)",
    ),
    Control::pci(
        "4.2.1",
        "strong cryptography protects account data during transmission over open, public networks",
    ),
    Control::pci(
        "8.3.2",
        "credentials sent over an unencrypted connection are readable in transmission",
    ),
]);

impl Rule for ConnectionNotEncrypted {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, _cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        if let Some(c) = &host.connection
            && c.is_tcp()
            && !c.is_encrypted()
        {
            out.push(
                self.finding(
                    host,
                    format!(
                        "the scanner's {} connection to {} is not encrypted (no SSL cipher in use)",
                        c.via, c.endpoint
                    ),
                    Location::object(format!("connection:{}", c.endpoint)),
                )
                .evidence("via", c.via.clone())
                .evidence("endpoint", c.endpoint.clone()),
            );
        }

        let Some(p) = &host.probe else { return };
        // No greeting at all: the probe never reached MySQL (SCAN002's business).
        if p.greeting_version.is_none() && p.error.is_some() {
            return;
        }
        let logged_in = p
            .plaintext
            .as_ref()
            .is_some_and(|a| a.outcome == PlaintextOutcome::LoggedIn);
        let message = if !p.advertises_ssl {
            format!(
                "server at {} does not advertise SSL in its greeting",
                p.address
            )
        } else if let Some(err) = &p.error {
            format!("TLS handshake with {} failed: {err}", p.address)
        } else if logged_in {
            format!(
                "proven from the wire: the server at {} let the probe's plaintext login in: \
                 it accepts sessions without TLS",
                p.address
            )
        } else {
            return;
        };
        let mut f = self
            .finding(
                host,
                message,
                Location::object(crate::Subject::probe(&p.address)),
            )
            .evidence("address", p.address.clone())
            .evidence("advertises_ssl", p.advertises_ssl.to_string());
        if let Some(v) = &p.greeting_version {
            f = f.evidence("greeting_version", v.clone());
        }
        if let Some(a) = &p.plaintext {
            f = f.evidence("plaintext_answer", a.describe());
        }
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::ConnectionFacts;
    use crate::testkit::*;

    fn conn(via: &str, endpoint: &str, cipher: Option<&str>) -> ConnectionFacts {
        ConnectionFacts {
            via: via.into(),
            endpoint: endpoint.into(),
            tls_version: cipher.map(|_| "TLSv1.2".to_string()),
            cipher: cipher.map(str::to_string),
        }
    }

    #[test]
    fn encrypted_tcp_passes_and_plain_tcp_fails() {
        let mut h = db_host("db-master");
        h.connection = Some(conn(
            "tcp",
            "10.0.0.10:3306",
            Some("DHE-RSA-AES128-GCM-SHA256"),
        ));
        assert!(run(&ConnectionNotEncrypted, &h).is_empty());
        h.connection = Some(conn("tcp", "10.0.0.10:3306", None));
        let f = run(&ConnectionNotEncrypted, &h);
        assert_eq!(
            f[0].message,
            "the scanner's tcp connection to 10.0.0.10:3306 is not encrypted (no SSL cipher in use)"
        );
        assert_eq!(f[0].location, Location::object("connection:10.0.0.10:3306"));
        // An empty Ssl_cipher is no cipher.
        h.connection = Some(conn("ssh", "127.0.0.1:3306", Some("")));
        assert_eq!(run(&ConnectionNotEncrypted, &h).len(), 1);
    }

    #[test]
    fn socket_sessions_are_not_checked() {
        let mut h = db_host("db-master");
        h.connection = Some(conn("ssh", "socket", None));
        assert!(run(&ConnectionNotEncrypted, &h).is_empty());
    }

    #[test]
    fn probe_without_ssl_or_with_failed_handshake() {
        let mut h = db_host("db-master");
        let mut p = probe("10.0.0.10:3306");
        p.greeting_version = Some("5.6.21-log".into());
        h.probe = Some(p.clone());
        assert!(run(&ConnectionNotEncrypted, &h).is_empty());

        p.advertises_ssl = false;
        p.error = Some("server does not support SSL".into());
        h.probe = Some(p.clone());
        let f = run(&ConnectionNotEncrypted, &h);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "server at 10.0.0.10:3306 does not advertise SSL in its greeting"
        );

        p.advertises_ssl = true;
        p.error = Some("sslv3 alert handshake failure".into());
        h.probe = Some(p.clone());
        let f = run(&ConnectionNotEncrypted, &h);
        assert_eq!(
            f[0].message,
            "TLS handshake with 10.0.0.10:3306 failed: sslv3 alert handshake failure"
        );
        assert_eq!(f[0].location, Location::object("probe:10.0.0.10:3306"));

        // Never got a greeting: unreachable port, not a TLS verdict.
        p.greeting_version = None;
        p.advertises_ssl = false;
        p.error = Some("connection refused".into());
        h.probe = Some(p);
        assert!(run(&ConnectionNotEncrypted, &h).is_empty());
    }

    #[test]
    fn both_observations_are_separate_findings() {
        let mut h = db_host("db-master");
        h.connection = Some(conn("tunnel", "127.0.0.1:13306", None));
        let mut p = probe("10.0.0.10:3306");
        p.greeting_version = Some("5.6.21-log".into());
        p.advertises_ssl = false;
        h.probe = Some(p);
        let f = run(&ConnectionNotEncrypted, &h);
        assert_eq!(f.len(), 2);
        assert_ne!(f[0].fingerprint, f[1].fingerprint);
    }

    #[test]
    fn the_plaintext_answer_on_the_wire() {
        use crate::facts::PlaintextAnswer;
        let denied = PlaintextAnswer::error(
            1045,
            Some("28000".into()),
            "Access denied for user 'sslaudit-probe-nonexistent'@'10.0.0.9' (using password: NO)"
                .into(),
        );
        let mut h = db_host("db-master");
        let mut p = probe("10.0.0.10:3306");
        p.greeting_version = Some("10.11.9-MariaDB".into());
        // TLS works and the plaintext login is refused: nothing proven.
        p.plaintext = Some(denied.clone());
        h.probe = Some(p.clone());
        assert!(run(&ConnectionNotEncrypted, &h).is_empty());
        // Let in without TLS: plaintext sessions exist.
        p.plaintext = Some(PlaintextAnswer {
            outcome: PlaintextOutcome::LoggedIn,
            code: None,
            sql_state: None,
            message: String::new(),
        });
        h.probe = Some(p.clone());
        let f = run(&ConnectionNotEncrypted, &h);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "proven from the wire: the server at 10.0.0.10:3306 let the probe's plaintext login \
             in: it accepts sessions without TLS"
        );
        assert_eq!(f[0].location, Location::object("probe:10.0.0.10:3306"));
        // No TLS at all: the same finding as before, with the answer quoted.
        p.advertises_ssl = false;
        p.plaintext = Some(denied);
        h.probe = Some(p.clone());
        let f = run(&ConnectionNotEncrypted, &h);
        let mut before = p;
        before.plaintext = None;
        h.probe = Some(before);
        let old = run(&ConnectionNotEncrypted, &h);
        assert_eq!(f[0].fingerprint, old[0].fingerprint);
        assert_eq!(f[0].message, old[0].message);
        assert_eq!(
            f[0].evidence["plaintext_answer"],
            "error 1045 (28000): Access denied for user 'sslaudit-probe-nonexistent'@'10.0.0.9' \
             (using password: NO)"
        );
    }
}
