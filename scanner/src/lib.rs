//! The sslaudit scanner: snapshot loading, evidence-to-facts building, the
//! parallel rule engine, and the `sslaudit` command line.
// Only probe/certreq.rs allows `unsafe` (OpenSSL calls the openssl crate lacks).
#![deny(unsafe_code)]

pub mod build;
pub mod certcache;
pub mod collect;
pub mod engine;
pub mod evidence;
pub mod inventory;
pub mod limits;
pub mod live;
pub mod probe;
pub mod remediate;
pub mod remote;
pub mod secret;
pub mod shard;
pub mod snapshot;
pub mod textfile;
