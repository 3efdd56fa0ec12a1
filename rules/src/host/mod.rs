//! Rules about the database hosts' own system configuration.

pub mod openssl_randfile;

pub use openssl_randfile::OpensslRandfile;
