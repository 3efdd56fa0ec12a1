//! Rules about how applications connect: their database.yml environments and
//! the MySQL client options of the host they run on.

pub mod client_tls_disabled;
pub mod database_yml_localhost;
pub mod database_yml_ssl_missing;
pub(crate) mod transport;

pub use client_tls_disabled::ClientTlsDisabled;
pub use database_yml_localhost::DatabaseYmlLocalhost;
pub use database_yml_ssl_missing::DatabaseYmlSslMissing;
