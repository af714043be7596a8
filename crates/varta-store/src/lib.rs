//! The Store trait and the embedded SQLite + tantivy implementation.
