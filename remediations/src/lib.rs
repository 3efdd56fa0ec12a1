//! Remediation runners: a remediation is data first. `plan()` is pure and
//! turns findings and facts into ordered steps; `apply()` executes a plan
//! through the narrow [`Target`](target::Target) trait that the scanner's
//! transports implement, journaling every step so an interrupted run can
//! be resumed or rolled back.
#![forbid(unsafe_code)]

pub mod apply;
pub mod commands;
pub mod error;
mod fsutil;
pub mod generate;
pub mod journal;
pub mod keygen;
pub mod plan;
pub mod runners;
pub mod shell;
pub mod target;
pub mod text;
