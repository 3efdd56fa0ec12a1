use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Certificate;

/// The scanner's own MySQL session to the server (SSL018).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionFacts {
    /// `tcp`, `tunnel`, or `ssh` (the host's own client).
    pub via: String,
    /// `127.0.0.1:3306`, or `socket` when the host's client used the Unix socket.
    pub endpoint: String,
    /// `Ssl_version` of the session (`TLSv1.3`), empty when not encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_version: Option<String>,
    /// `Ssl_cipher` of the session, empty when not encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher: Option<String>,
}

impl ConnectionFacts {
    pub fn is_tcp(&self) -> bool {
        self.endpoint != "socket"
    }

    pub fn is_encrypted(&self) -> bool {
        self.cipher.as_deref().is_some_and(|c| !c.is_empty())
    }
}

/// What a credential-less TLS probe of the server's port saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeFacts {
    pub address: String,
    /// Server version from the protocol greeting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting_version: Option<String>,
    /// The greeting's CLIENT_SSL capability flag.
    pub advertises_ssl: bool,
    /// Negotiated with the probe's default offer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher: Option<String>,
    /// The chain the server presented, leaf first.
    pub chain: Vec<Certificate>,
    /// Protocol version (`TLSv1`, `TLSv1.1`, `TLSv1.2`, `TLSv1.3`) -> accepted.
    pub accepted: BTreeMap<String, bool>,
    /// Why the probe failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The answer to the plaintext login attempt, when the probe made one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plaintext: Option<PlaintextAnswer>,
    /// Whether the server sent a TLS CertificateRequest in the first
    /// handshake; `None` when no TLS was negotiated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_client_cert: Option<bool>,
    /// The CA names of that CertificateRequest (`CN=..., O=...`), if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_ca_names: Vec<String>,
}

/// The MySQL error code `ER_SECURE_TRANSPORT_REQUIRED`: MySQL 5.7.8+, and
/// MariaDB releases that carry MDEV-30178 (same number, SQLSTATE `08004`).
pub const ER_SECURE_TRANSPORT_REQUIRED: u16 = 3159;
/// `ER_ACCESS_DENIED_ERROR`.
pub const ER_ACCESS_DENIED_ERROR: u16 = 1045;

/// How the server answered the probe's plaintext login attempt: a
/// HandshakeResponse41 without SSLRequest, for a user that does not exist
/// (`sslaudit-probe-nonexistent`) with empty auth data
/// (docs/scanner-queries.md, "What the probe sends").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaintextAnswer {
    pub outcome: PlaintextOutcome,
    /// The ERR packet's code, when the server answered with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_state: Option<String>,
    /// The server's message, or why there was no answer.
    #[serde(default)]
    pub message: String,
}

/// What a [`PlaintextAnswer`] proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaintextOutcome {
    /// Error 3159: the server refused the plaintext session before looking
    /// at the user, so `require_secure_transport` is ON. Only servers that
    /// check the transport before authentication answer this to an
    /// account that does not exist.
    SecureTransportRequired,
    /// Error 1045: the server read the plaintext login and refused the
    /// account. It proves the server takes plaintext TCP connections up to
    /// authentication, not that `require_secure_transport` is OFF: MySQL
    /// checks the setting only after a successful authentication, and
    /// MariaDB before MDEV-30178 answers 1045 whatever the setting
    /// (measured on 10.11, docs/scanner-queries.md).
    AccessDenied,
    /// The server logged the probe in (an anonymous account without a
    /// password matched): a plaintext session exists. The probe quit at
    /// once.
    LoggedIn,
    /// Any other ERR packet (1043 `Bad handshake`, 1130 host not allowed...).
    Other,
    /// No readable answer (timeout, closed connection, not an ERR/OK packet).
    NoAnswer,
}

impl PlaintextOutcome {
    /// The outcome an ERR packet's code means.
    pub fn of_code(code: u16) -> Self {
        match code {
            ER_SECURE_TRANSPORT_REQUIRED => PlaintextOutcome::SecureTransportRequired,
            ER_ACCESS_DENIED_ERROR => PlaintextOutcome::AccessDenied,
            _ => PlaintextOutcome::Other,
        }
    }
}

impl PlaintextAnswer {
    /// An ERR packet's answer, classified by its code.
    pub fn error(code: u16, sql_state: Option<String>, message: String) -> Self {
        PlaintextAnswer {
            outcome: PlaintextOutcome::of_code(code),
            code: Some(code),
            sql_state,
            message,
        }
    }

    /// No answer, and why.
    pub fn none(reason: String) -> Self {
        PlaintextAnswer {
            outcome: PlaintextOutcome::NoAnswer,
            code: None,
            sql_state: None,
            message: reason,
        }
    }

    /// The outcome as the code says, whatever `outcome` says (a snapshot
    /// edited by hand cannot make a 1045 into a 3159).
    pub fn normalized(mut self) -> Self {
        if let Some(code) = self.code {
            self.outcome = PlaintextOutcome::of_code(code);
        } else if matches!(
            self.outcome,
            PlaintextOutcome::SecureTransportRequired
                | PlaintextOutcome::AccessDenied
                | PlaintextOutcome::Other
        ) {
            self.outcome = PlaintextOutcome::NoAnswer;
        }
        self
    }

    /// How findings and `sslaudit probe` quote it: `error 1045 (28000):
    /// Access denied for user ...`.
    pub fn describe(&self) -> String {
        match (self.outcome, self.code) {
            (PlaintextOutcome::LoggedIn, _) => "OK: logged in without a password".to_string(),
            (PlaintextOutcome::NoAnswer, _) | (_, None) => format!("no answer: {}", self.message),
            (_, Some(code)) => {
                let mut s = format!("error {code}");
                if let Some(st) = &self.sql_state {
                    s.push_str(&format!(" ({st})"));
                }
                if !self.message.is_empty() {
                    s.push_str(&format!(": {}", self.message));
                }
                s
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified_by_code() {
        let a = PlaintextAnswer::error(3159, Some("08004".into()), "Connections using insecure transport are prohibited while --require_secure_transport=ON.".into());
        assert_eq!(a.outcome, PlaintextOutcome::SecureTransportRequired);
        let a = PlaintextAnswer::error(1045, Some("28000".into()), "Access denied".into());
        assert_eq!(a.outcome, PlaintextOutcome::AccessDenied);
        assert_eq!(a.describe(), "error 1045 (28000): Access denied");
        assert_eq!(
            PlaintextAnswer::error(1043, None, String::new()).outcome,
            PlaintextOutcome::Other
        );
        // The code wins over a hand-edited outcome.
        let mut forged = PlaintextAnswer::error(1045, None, String::new());
        forged.outcome = PlaintextOutcome::SecureTransportRequired;
        assert_eq!(forged.normalized().outcome, PlaintextOutcome::AccessDenied);
        let mut forged = PlaintextAnswer::none("timed out".into());
        forged.outcome = PlaintextOutcome::SecureTransportRequired;
        assert_eq!(forged.normalized().outcome, PlaintextOutcome::NoAnswer);
    }

    #[test]
    fn json_shape() {
        let a = PlaintextAnswer::error(1045, Some("28000".into()), "Access denied".into());
        let j = serde_json::to_string(&a).unwrap();
        assert_eq!(
            j,
            r#"{"outcome":"access_denied","code":1045,"sql_state":"28000","message":"Access denied"}"#
        );
        assert_eq!(serde_json::from_str::<PlaintextAnswer>(&j).unwrap(), a);
        assert!(
            serde_json::from_str::<PlaintextAnswer>(r#"{"outcome":"access_denied","extra":1}"#)
                .is_err()
        );
    }
}
