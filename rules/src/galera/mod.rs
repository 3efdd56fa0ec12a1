//! Galera cluster rules: whether the cluster's own traffic (replication
//! and IST between nodes, state snapshot transfers) is encrypted, and
//! whether the members agree on how.

pub mod galera_replication_unencrypted;
pub mod galera_sst_unencrypted;
pub mod galera_tls_inconsistent;

pub use galera_replication_unencrypted::GaleraReplicationUnencrypted;
pub use galera_sst_unencrypted::GaleraSstUnencrypted;
pub use galera_tls_inconsistent::GaleraTlsInconsistent;
