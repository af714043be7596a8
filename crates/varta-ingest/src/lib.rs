//! Readers for every input format.
pub mod fetch;
