//! Every bound the parsers put on what a host hands over, in one place.
//! docs/RELIABILITY.md ("Limits") lists each with what happens when it is
//! hit and the test that proves it. A host is not trusted: whatever it
//! returns costs bounded time and memory, and going over a bound is a
//! [`crate::facts::CollectionProblem`] naming the file, never a crash.

/// Largest option file parsed. No real option file comes near it; a huge
/// one is more likely a mistake (a log) than configuration.
pub const OPTION_FILE_BYTES: usize = 1024 * 1024;
/// Bytes of option files parsed in one parse, includes counted each time
/// they are read: a file included many times (which is no cycle) must not
/// multiply its size.
pub const OPTION_FILES_TOTAL_BYTES: usize = 8 * 1024 * 1024;
/// mysys's `max_recursion_level`: directives in a file this deep are skipped.
pub const OPTION_INCLUDE_DEPTH: u32 = 10;
/// Option files read in one parse (include fan-out that stays under the
/// depth limit but explodes: a directory of files including it again).
pub const OPTION_FILES_READ: usize = 256;
/// Problems recorded for one option file; the rest are counted in one
/// last problem (a binary file mistaken for text would give one per line).
pub const OPTION_PROBLEMS_PER_FILE: usize = 50;

/// Largest database.yml parsed (real ones are a few KiB).
pub const DATABASE_YML_BYTES: usize = 1024 * 1024;
/// A Gemfile.lock: large applications lock a few hundred gems (tens of KB).
pub const GEMFILE_LOCK_BYTES: usize = 1024 * 1024;
/// Most YAML nodes aliases may add to one document (each alias adds the
/// expanded size of what it names): the "billion laughs" bound.
pub const YAML_EXPANDED_NODES: usize = 100_000;
/// Deepest YAML nesting, aliases expanded (the tree is walked recursively).
pub const YAML_DEPTH: usize = 64;

/// Largest certificate or private key file read (a CA bundle of every
/// public root is about 200 KiB).
pub const CERT_FILE_BYTES: usize = 16 * 1024 * 1024;
/// Most certificates read from one file; a bundle with more is refused
/// before any is decoded (the system CA bundle holds about 150).
pub const CERTS_PER_FILE: usize = 1000;
