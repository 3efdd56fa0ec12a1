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
}
