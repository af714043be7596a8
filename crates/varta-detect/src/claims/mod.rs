//! Debunked-claim matching: reading fact-checkers' claim databases ([`import`]) and telling, for a
//! text, which reviewed claim it repeats ([`matcher`]): lexical candidates by BM25 over folded
//! words, fused with multilingual embedding similarity when a model is available. A document's
//! best claim becomes a stored finding through [`finding`].

pub mod finding;
pub mod import;
pub mod matcher;
