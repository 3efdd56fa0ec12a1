//! Every bound the scanner puts on what a host (or a snapshot of one) hands
//! over, in one place; the parsers' own bounds are in
//! `sslaudit_rules::parse::limits`. docs/RELIABILITY.md ("Limits") lists each
//! with what happens when it is hit and the test that proves it.

/// A file under a snapshot's `fs/` larger than this is recorded as
/// unreadable (with its size) and not read.
pub const SNAPSHOT_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// A snapshot evidence file (`mysql.json`, `connection.json`, `probe.json`,
/// `files.json`) larger than this is a problem on the host, not read.
pub const SNAPSHOT_JSON_BYTES: u64 = 64 * 1024 * 1024;

/// Default cap on one file the live collector reads; larger files are
/// listed with their size, not read.
pub const COLLECT_FILE_BYTES: u64 = 1024 * 1024;
/// Most rounds (commands) one host's file collection takes.
pub const COLLECT_ROUNDS: u32 = 4;
/// Most records (files and directories) one collection round returns.
pub const COLLECT_RECORDS: u32 = 5000;
/// Most file bytes one collection round sends.
pub const COLLECT_ROUND_BYTES: u64 = 64 * 1024 * 1024;

/// The largest MySQL greeting the TLS probe accepts.
pub const GREETING_BYTES: usize = 64 * 1024;

/// Most hosts one Ansible host pattern (`db[001:999]`) may expand to.
pub const INVENTORY_PATTERN_HOSTS: usize = 10_000;
/// Most nodes aliases may add to an inventory YAML document.
pub const INVENTORY_YAML_EXPANDED_NODES: usize = 200_000;
/// Deepest nesting of an inventory YAML document, aliases expanded.
pub const INVENTORY_YAML_DEPTH: usize = 64;
