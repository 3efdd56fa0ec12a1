//! Rules about the scan itself: hosts that could not be reached and facts
//! that could not be collected, so that a gap in coverage is a finding rather
//! than a silent pass.

pub mod collection_incomplete;
pub mod host_unreachable;

pub use collection_incomplete::CollectionIncomplete;
pub use host_unreachable::HostUnreachable;
