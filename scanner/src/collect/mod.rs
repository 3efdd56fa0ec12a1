//! Collectors: what a live scan gathers from a host, as evidence.

pub mod files;
pub mod mysql;
