//! MySQL-server rules: whether the server has SSL, is configured and
//! restarted for it, speaks only modern TLS, and makes accounts, its own
//! connections and replication use it.

mod support;

pub mod account_missing_require_x509;
pub mod connection_not_encrypted;
pub mod have_ssl_disabled;
pub mod legacy_ssl_version;
pub mod plaintext_sessions;
pub mod replication_ssl_unverified;
pub mod secure_transport_not_required;
pub mod ssl_config_missing;
pub mod ssl_restart_pending;
pub mod weak_tls_protocol;

pub use account_missing_require_x509::AccountMissingRequireX509;
pub use connection_not_encrypted::ConnectionNotEncrypted;
pub use have_ssl_disabled::HaveSslDisabled;
pub use legacy_ssl_version::LegacySslVersion;
pub use plaintext_sessions::PlaintextSessions;
pub use replication_ssl_unverified::ReplicationSslUnverified;
pub use secure_transport_not_required::SecureTransportNotRequired;
pub use ssl_config_missing::SslConfigMissing;
pub use ssl_restart_pending::SslRestartPending;
pub use weak_tls_protocol::WeakTlsProtocol;
