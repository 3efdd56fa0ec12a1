//! Rules about how applications connect: their database.yml environments and
//! the MySQL client options of the host they run on.

pub mod client_tls_disabled;
pub mod database_yml_localhost;
pub mod database_yml_ssl_missing;
pub mod driver;
pub mod server_name_mismatch;
pub mod tls_unverified;
pub(crate) mod transport;
pub mod unread_key;

pub use client_tls_disabled::ClientTlsDisabled;
pub use database_yml_localhost::DatabaseYmlLocalhost;
pub use database_yml_ssl_missing::DatabaseYmlSslMissing;
pub use server_name_mismatch::AppServerNameMismatch;
pub use tls_unverified::AppTlsUnverified;
pub use unread_key::DatabaseYmlUnreadKey;
