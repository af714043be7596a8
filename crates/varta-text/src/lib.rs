//! Pure text functions that every stage of Varta shares.
//!
//! Nothing here does I/O: each function takes text or bytes and returns owned values, so that the
//! readers in `varta-ingest`, the search index in `varta-store` and the detectors fold, parse and
//! identify text the same way.

pub mod dates;
pub mod encoding;
pub mod fold;
pub mod html;
pub mod lang;
pub mod links;
pub mod plaintext;
mod tokenizer;
