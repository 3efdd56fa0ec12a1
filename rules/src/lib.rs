//! The heart of sslaudit: the facts model collectors fill, the parsers that
//! turn raw host files into facts, the rule catalogue that reads them, and the
//! findings and policy that come out.
//!
//! Rules never do I/O: everything they need is in [`facts::HostFacts`], so
//! they are pure, testable from fixtures and trivially parallel.
#![forbid(unsafe_code)]

pub mod app;
pub mod certs;
pub mod digest;
pub mod facts;
pub mod finding;
pub mod galera;
pub mod host;
pub mod layout;
pub mod mysql;
pub mod pack;
pub mod parse;
pub mod pending;
pub mod policy;
pub mod readiness;
pub mod registry;
pub mod report;
pub mod rows;
pub mod rule;
pub mod scan;
pub mod secrets;
pub mod severity;
pub mod subject;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;

pub use facts::{Fleet, HostFacts};
pub use finding::{Finding, Location};
pub use rule::{Context, Control, Evidence, Rule, RuleMeta};
pub use severity::Severity;
pub use subject::{Subject, SubjectKind};
