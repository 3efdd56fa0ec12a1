//! SSL017 secure-transport-not-required: the server lets clients connect over
//! TCP without TLS.

use crate::facts::{HostFacts, PlaintextOutcome};
use crate::mysql::support::server_version;
use crate::rule::Control;
use crate::{Context, Finding, Location, Rule, RuleMeta, Severity};

/// SSL017: `require_secure_transport` is `OFF` on a server that has it.
pub struct SecureTransportNotRequired;

const HELP: &str = r#"## What it checks

The `require_secure_transport` variable of every database server whose SQL facts were
collected (`source: sql`). The variable exists from MySQL 5.7.8 and MariaDB 10.5.2; where
the server reports it, `OFF` fails. Servers without it are not reported (they cannot
enforce transport security server-wide: use `REQUIRE X509` per account, SSL005).

Where the variable was not collected but the server's version has it, the scanner's own
session is evidence (`source: session`): a server that accepted the scanner's login over an
unencrypted TCP connection does not require secure transport.

The probe's plaintext login attempt is wire evidence (`source: probe`): without TLS, it logs
in as `sslaudit-probe-nonexistent`, a user that does not exist, with no password, and reads
the server's answer.

- Error 3159 (`Connections using insecure transport are prohibited while
  --require_secure_transport=ON`) proves the setting ON. The live server's answer wins over
  SQL facts or a session that say otherwise (they were true at another moment): no finding.
- The server logging the probe in (an anonymous account without a password) proves it OFF
  even without SQL facts: a plaintext session exists.
- Error 1045 (`Access denied`) proves nothing here and is not reported: MySQL checks
  `require_secure_transport` only after a successful authentication, and MariaDB before
  MDEV-30178 (10.11 measured) answers 1045 to a plaintext login whether the setting is ON
  or OFF.

## Why it matters

With it `OFF`, any account without a `REQUIRE` clause may connect over TCP in clear text,
including accounts created later by someone who forgot the clause. With it `ON` the server
refuses TCP connections without TLS (Unix socket and shared-memory connections stay
allowed), which makes encryption a property of the server rather than of every grant.

## How to fix

1. Make sure every client can use TLS first (SSL018 and the application's database.yml).
2. Set it at runtime and persist it:
   - MySQL 8.0+: `SET PERSIST require_secure_transport = ON;`
   - MySQL 5.7 and MariaDB: `SET GLOBAL require_secure_transport = ON;` and add
     `require_secure_transport = ON` to the `[mysqld]` section of `/etc/mysql/my.cnf`.
3. The server refuses to turn it on while SSL is disabled: fix SSL001 first.

`sslaudit remediate plan --rule SSL017` plans steps 2 and 3 for you: it checks
the session census first (no client connected over TCP without TLS right now,
SSL028), sets the variable live, persists it in the option file mysqld reads,
and can roll both back.
"#;

static META: RuleMeta = RuleMeta::new(
    "SSL017",
    "secure-transport-not-required",
    Severity::Medium,
    "require_secure_transport is OFF: clients may connect without TLS",
    HELP,
    &[
        "MySQL SSL Support: Enforce SSL Connections",
        "MySQL 8.0 Reference Manual: Configuring Encrypted Connections as Mandatory",
        "CIS Oracle MySQL 8.0 Benchmark 8.1: Ensure 'require_secure_transport' is set to 'ON' and/or 'have_ssl' is set to 'YES'",
    ],
)
.controls(&[
    Control::nist("SC-8", "transmission confidentiality and integrity: the server accepts unencrypted connections"),
    Control::nist("SC-8(1)", "cryptographic protection is optional, not enforced (seed: Enforce SSL Connections)"),
    Control::nist("CM-6", "configuration settings: require_secure_transport must be ON"),
    Control::pci("4.2.1", "strong cryptography protects account data during transmission over open, public networks"),
    Control::cis(crate::rule::CIS_MYSQL_8, "8.1", "Ensure 'require_secure_transport' is set to 'ON' and/or 'have_ssl' is set to 'YES' (the rule's own reference)"),
]);

fn is_off(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_uppercase().as_str(),
        "OFF" | "0" | "FALSE" | "NO"
    )
}

impl Rule for SecureTransportNotRequired {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, _cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        if !host.is_db() {
            return;
        }
        let wire = host
            .probe
            .as_ref()
            .and_then(|p| Some((p, p.plaintext.as_ref()?)));
        match wire.map(|(_, a)| a.outcome) {
            // The live server refused a plaintext session: ON, whatever the
            // SQL facts or a session said at another moment.
            Some(PlaintextOutcome::SecureTransportRequired) => return,
            Some(PlaintextOutcome::LoggedIn) => {
                if let Some((p, a)) = wire {
                    self.plaintext_login_accepted(host, &p.address, &a.describe(), out);
                }
                return;
            }
            _ => {}
        }
        // Present means supported (MySQL 5.7.8+, MariaDB 10.5.2+).
        let Some(value) = host
            .mysql
            .as_ref()
            .and_then(|m| m.variable("require_secure_transport"))
        else {
            self.plaintext_session_accepted(host, out);
            return;
        };
        if !is_off(value) {
            return;
        }
        let configured = host
            .server_options
            .as_ref()
            .and_then(|o| o.get("require_secure_transport"));
        let (message, location) = match configured {
            Some(o) => (
                format!(
                    "require_secure_transport is {} (set to {} in {}:{}): clients may connect over TCP without TLS",
                    value.trim(),
                    o.as_str(),
                    o.file,
                    o.line
                ),
                o.location()
                    .with_object("variable:require_secure_transport"),
            ),
            None => (
                format!(
                    "require_secure_transport is {}: clients may connect over TCP without TLS",
                    value.trim()
                ),
                Location::object("variable:require_secure_transport"),
            ),
        };
        let mut f = self
            .finding(host, message, location)
            .evidence("require_secure_transport", value.trim())
            .evidence("source", "sql");
        if let Some(v) = server_version(host) {
            f = f.evidence("version", v.raw);
        }
        out.push(f);
    }
}

impl SecureTransportNotRequired {
    /// The probe's plaintext login attempt was let in: a plaintext session
    /// exists, so the setting is not in force (on a server that has it).
    fn plaintext_login_accepted(
        &self,
        host: &HostFacts,
        address: &str,
        answer: &str,
        out: &mut Vec<Finding>,
    ) {
        if let Some(v) = server_version(host)
            && !has_variable(&v)
        {
            return;
        }
        let mut f = self
            .finding(
                host,
                format!(
                    "proven from the wire: the server at {address} let the probe's plaintext \
                     login in ({answer}): require_secure_transport is not in force"
                ),
                Location::object("variable:require_secure_transport"),
            )
            .evidence("source", "probe")
            .evidence("address", address.to_string())
            .evidence("plaintext_answer", answer.to_string());
        if let Some(v) = server_version(host) {
            f = f.evidence("version", v.raw);
        }
        out.push(f);
    }

    /// Without the variable: a server whose version has it and which took
    /// the scanner's login over plain TCP does not require secure transport.
    fn plaintext_session_accepted(&self, host: &HostFacts, out: &mut Vec<Finding>) {
        let Some(c) = &host.connection else { return };
        if !c.is_tcp() || c.is_encrypted() {
            return;
        }
        let Some(v) = server_version(host) else {
            return;
        };
        if !has_variable(&v) {
            return;
        }
        out.push(
            self.finding(
                host,
                format!(
                    "the server accepted the scanner's unencrypted {} login at {}: \
                     require_secure_transport is not in force",
                    c.via, c.endpoint
                ),
                Location::object("variable:require_secure_transport"),
            )
            .evidence("source", "session")
            .evidence("endpoint", c.endpoint.clone())
            .evidence("version", v.raw),
        );
    }
}

/// MySQL 5.7.8+, MariaDB 10.5.2+.
fn has_variable(v: &crate::facts::MysqlVersion) -> bool {
    if v.is_mariadb() {
        v.at_least(10, 5, 2)
    } else {
        v.at_least(5, 7, 8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    #[test]
    fn on_passes_off_fails() {
        let mut h = db_host("db-master");
        set_mysql(&mut h, mysql(&[("require_secure_transport", "ON")]));
        assert!(run(&SecureTransportNotRequired, &h).is_empty());
        set_mysql(&mut h, mysql(&[("require_secure_transport", "OFF")]));
        let f = run(&SecureTransportNotRequired, &h);
        assert_eq!(
            f[0].message,
            "require_secure_transport is OFF: clients may connect over TCP without TLS"
        );
        assert_eq!(f[0].severity, Severity::Medium);
        assert_eq!(
            f[0].location,
            Location::object("variable:require_secure_transport")
        );
    }

    #[test]
    fn cites_the_option_that_sets_it() {
        let mut h = db_host("db-master");
        set_mysql(&mut h, mysql(&[("require_secure_transport", "OFF")]));
        my_cnf(&mut h, &[("require_secure_transport", "0")]);
        let f = run(&SecureTransportNotRequired, &h);
        assert_eq!(
            f[0].message,
            "require_secure_transport is OFF (set to 0 in /etc/mysql/my.cnf:2): clients may connect over TCP without TLS"
        );
        assert_eq!(f[0].location.line, Some(2));
    }

    #[test]
    fn a_plaintext_login_accepted_proves_it_off() {
        let mut h = db_host("db-master");
        let mut m = mysql(&[("have_ssl", "YES")]);
        m.version = Some(version(crate::facts::Flavor::Mariadb, "10.11.9-MariaDB"));
        set_mysql(&mut h, m);
        h.connection = Some(crate::facts::ConnectionFacts {
            via: "tcp".into(),
            endpoint: "10.0.0.10:3306".into(),
            tls_version: None,
            cipher: None,
        });
        let f = run(&SecureTransportNotRequired, &h);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            f[0].message,
            "the server accepted the scanner's unencrypted tcp login at 10.0.0.10:3306: \
             require_secure_transport is not in force"
        );
        assert_eq!(f[0].evidence["source"], "session");
        // Encrypted, or a version without the variable: nothing proven.
        let mut old = h.clone();
        old.mysql.as_mut().unwrap().version = Some(version(crate::facts::Flavor::Mysql, "5.6.51"));
        assert!(run(&SecureTransportNotRequired, &old).is_empty());
        h.connection.as_mut().unwrap().cipher = Some("TLS_AES_256_GCM_SHA384".into());
        assert!(run(&SecureTransportNotRequired, &h).is_empty());
    }

    #[test]
    fn absent_variable_means_unsupported_or_not_collected() {
        let mut h = db_host("db-master");
        set_mysql(
            &mut h,
            mysql(&[("version", "5.6.21-log"), ("have_ssl", "YES")]),
        );
        assert!(run(&SecureTransportNotRequired, &h).is_empty());
        h.mysql = None;
        assert!(run(&SecureTransportNotRequired, &h).is_empty());
    }

    fn plaintext(outcome_code: Option<u16>, logged_in: bool) -> crate::facts::PlaintextAnswer {
        use crate::facts::PlaintextAnswer;
        match (outcome_code, logged_in) {
            (_, true) => PlaintextAnswer {
                outcome: PlaintextOutcome::LoggedIn,
                code: None,
                sql_state: None,
                message: String::new(),
            },
            (Some(3159), _) => PlaintextAnswer::error(
                3159,
                Some("08004".into()),
                "Connections using insecure transport are prohibited while --require_secure_transport=ON.".into(),
            ),
            (Some(c), _) => PlaintextAnswer::error(
                c,
                Some("28000".into()),
                "Access denied for user 'sslaudit-probe-nonexistent'@'10.0.0.9' (using password: NO)".into(),
            ),
            (None, _) => PlaintextAnswer::none("timed out".into()),
        }
    }

    fn probed(h: &mut crate::facts::HostFacts, answer: crate::facts::PlaintextAnswer) {
        let mut p = probe("10.0.0.10:3306");
        p.greeting_version = Some("8.0.36".into());
        p.plaintext = Some(answer);
        h.probe = Some(p);
    }

    #[test]
    fn the_wire_refusal_wins_over_stale_sql_facts() {
        let mut h = db_host("db-master");
        set_mysql(&mut h, mysql(&[("require_secure_transport", "OFF")]));
        assert_eq!(run(&SecureTransportNotRequired, &h).len(), 1);
        probed(&mut h, plaintext(Some(3159), false));
        assert!(run(&SecureTransportNotRequired, &h).is_empty());
    }

    #[test]
    fn access_denied_proves_nothing_either_way() {
        // Only probe evidence: no finding.
        let mut h = db_host("db-master");
        probed(&mut h, plaintext(Some(1045), false));
        assert!(run(&SecureTransportNotRequired, &h).is_empty());
        // Beside SQL facts, they decide as before (ON passes, OFF fails).
        set_mysql(&mut h, mysql(&[("require_secure_transport", "ON")]));
        assert!(run(&SecureTransportNotRequired, &h).is_empty());
        set_mysql(&mut h, mysql(&[("require_secure_transport", "OFF")]));
        let f = run(&SecureTransportNotRequired, &h);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].evidence["source"], "sql");
        // Nor does an unanswered attempt or another error.
        let mut h = db_host("db-master");
        probed(&mut h, plaintext(None, false));
        assert!(run(&SecureTransportNotRequired, &h).is_empty());
        probed(&mut h, plaintext(Some(1130), false));
        assert!(run(&SecureTransportNotRequired, &h).is_empty());
    }

    #[test]
    fn a_plaintext_login_let_in_proves_it_off_from_the_wire() {
        let mut h = db_host("db-master");
        probed(&mut h, plaintext(None, true));
        let f = run(&SecureTransportNotRequired, &h);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            f[0].message,
            "proven from the wire: the server at 10.0.0.10:3306 let the probe's plaintext login \
             in (OK: logged in without a password): require_secure_transport is not in force"
        );
        assert_eq!(f[0].evidence["source"], "probe");
        assert_eq!(f[0].evidence["address"], "10.0.0.10:3306");
        // The same fingerprint as the SQL finding: one question, one finding.
        let mut sql = db_host("db-master");
        set_mysql(&mut sql, mysql(&[("require_secure_transport", "OFF")]));
        assert_eq!(
            f[0].fingerprint,
            run(&SecureTransportNotRequired, &sql)[0].fingerprint
        );
        // A version without the variable has nothing to enforce.
        h.probe.as_mut().unwrap().greeting_version = Some("5.6.51".into());
        assert!(run(&SecureTransportNotRequired, &h).is_empty());
    }
}
