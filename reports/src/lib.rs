//! Output formats (being written).
#![forbid(unsafe_code)]
