//! Self-attention of one window in AVX-512 registers (or AVX2 ones, [`window_avx2`]), for the
//! model's head size of 32.
//!
//! The portable path in [`crate::encoder`] is written for any head size and lets the compiler
//! pick the vectors; profiled on 2,000 posts it spent a quarter of the encoder's time in
//! attention, four times its share of the arithmetic, because its chains of multiply-adds were
//! too few to hide their latency and the keys were transposed one float at a time. Here, per
//! head: the keys are transposed 16 × 16 in registers, scores come from tiles of 4 queries × 32
//! keys (8 independent accumulators), the softmax runs on whole 16-lane blocks with the padding
//! masked off, and the context accumulates 4 queries × 32 dimensions at once, normalized at
//! the end. The arithmetic is the reference's (scaled dot products, max-subtracted exponentials,
//! f32 throughout); only the order of additions differs. The AVX2 twin does the same in 8-lane
//! vectors (on Zen 3 it took attention from 14% of the encoder's time to about half that).
//! Where the processor has AVX-512 BF16, [`window_bf16`] does both products in bfloat16 pairs
//! (on Zen 4, 2.8 → 2.05 thread-seconds per 2,000 posts; vectors within cosine 0.99988 of
//! the f32 path's).

#![cfg(target_arch = "x86_64")]
// Register tiles index fixed-size arrays by lane and query on purpose.
#![allow(clippy::needless_range_loop)]

use std::arch::x86_64::*;

/// The head size this path serves.
pub const HEAD: usize = 32;
/// Queries per tile.
const QN: usize = 4;

/// Scratch buffers of one thread, kept across windows so that nothing is allocated per window.
#[derive(Default)]
pub struct AttnScratch {
    /// Per block of 16 keys, per feature of K (all heads), the 16 keys' values.
    keys_t: Vec<f32>,
    /// `QN` rows of exponentials, each `padded` long.
    probs: Vec<f32>,
    /// [`window_bf16`]: the window's queries (scaled) and keys in bfloat16, token by token, a
    /// word per pair of features.
    q16: Vec<u32>,
    k16: Vec<u32>,
    /// Per block of 16 keys, per pair of features, the 16 keys' pairs.
    kt16: Vec<u32>,
    /// Per pair of tokens, per 16 features, the two tokens' values interleaved (see
    /// [`window_bf16`]).
    v16: Vec<u32>,
    /// `QN` rows of exponentials in bfloat16, a word per pair of keys.
    p16: Vec<u32>,
}

/// Whether this processor has AVX-512 BF16 (`vdpbf16ps`), for [`window_bf16`].
pub fn has_bf16() -> bool {
    is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bf16")
        && is_x86_feature_detected!("fma")
}

/// Attention of one window: `rows` are its `len` tokens' fused Q, K and V (`3 · h` each, head
/// by head), `ctx` receives `len × h` contexts. `h` must be `heads · HEAD`.
///
/// # Safety
/// The processor must have AVX-512 F; `rows` must hold `len · 3h` values and `ctx` `len · h`.
#[target_feature(enable = "avx2,fma,avx512f")]
pub unsafe fn window(
    rows: &[f32],
    len: usize,
    h: usize,
    scale: f32,
    s: &mut AttnScratch,
    ctx: &mut [f32],
) {
    debug_assert!(rows.len() >= len * 3 * h && ctx.len() >= len * h);
    debug_assert!(h.is_multiple_of(HEAD));
    let blocks = len.div_ceil(16);
    let padded = blocks * 16;
    let stride = 3 * h;
    s.keys_t.resize(blocks * h * 16, 0.0);
    s.probs.resize(QN * padded, 0.0);
    // SAFETY (whole body): the pointers below stay inside rows (len rows of 3h), keys_t
    // (blocks · h · 16), probs (QN · padded) and ctx (len rows of h), as the bounds show.
    unsafe {
        for blk in 0..blocks {
            let n = (len - blk * 16).min(16);
            for f in (0..h).step_by(16) {
                transpose16(
                    rows.as_ptr().add(blk * 16 * stride + h + f),
                    stride,
                    n,
                    s.keys_t.as_mut_ptr().add((blk * h + f) * 16),
                );
            }
        }
        // The last block's lanes past the window hold zeros, which would score 0: masked off
        // before the maximum and the exponentials.
        let tail_mask = tail_mask(len);
        let scale = _mm512_set1_ps(scale);
        for head in 0..h / HEAD {
            let q_at = head * HEAD;
            let v_at = 2 * h + head * HEAD;
            let mut i = 0;
            while i < len {
                let n = (len - i).min(QN);
                // Scores, two blocks of 16 keys at a time.
                let mut blk = 0;
                while blk < blocks {
                    let kb = s.keys_t.as_ptr().add((blk * h + q_at) * 16);
                    let two = blk + 1 < blocks;
                    let mut acc = [[_mm512_setzero_ps(); 2]; QN];
                    for e in 0..HEAD {
                        let k0 = _mm512_loadu_ps(kb.add(e * 16));
                        let k1 = if two {
                            _mm512_loadu_ps(kb.add(h * 16 + e * 16))
                        } else {
                            _mm512_setzero_ps()
                        };
                        for r in 0..QN {
                            // Rows past the window's end repeat its last query: computed and
                            // never stored, so that the tile keeps one shape.
                            let qr = (i + r).min(len - 1);
                            let q = _mm512_set1_ps(*rows.get_unchecked(qr * stride + q_at + e));
                            acc[r][0] = _mm512_fmadd_ps(q, k0, acc[r][0]);
                            acc[r][1] = _mm512_fmadd_ps(q, k1, acc[r][1]);
                        }
                    }
                    for r in 0..QN {
                        let o = s.probs.as_mut_ptr().add(r * padded + blk * 16);
                        _mm512_storeu_ps(o, _mm512_mul_ps(acc[r][0], scale));
                        if two {
                            _mm512_storeu_ps(o.add(16), _mm512_mul_ps(acc[r][1], scale));
                        }
                    }
                    blk += 2;
                }
                let inv = softmax_rows(&mut s.probs, padded, n, tail_mask);
                // Context: 4 queries × 32 dimensions, over the window's values.
                let mut acc = [[_mm512_setzero_ps(); 2]; QN];
                for j in 0..len {
                    let v = rows.as_ptr().add(j * stride + v_at);
                    let v0 = _mm512_loadu_ps(v);
                    let v1 = _mm512_loadu_ps(v.add(16));
                    for r in 0..QN {
                        let p = _mm512_set1_ps(*s.probs.get_unchecked(r * padded + j));
                        acc[r][0] = _mm512_fmadd_ps(p, v0, acc[r][0]);
                        acc[r][1] = _mm512_fmadd_ps(p, v1, acc[r][1]);
                    }
                }
                for r in 0..n {
                    let o = ctx.as_mut_ptr().add((i + r) * h + q_at);
                    let k = _mm512_set1_ps(inv[r]);
                    _mm512_storeu_ps(o, _mm512_mul_ps(acc[r][0], k));
                    _mm512_storeu_ps(o.add(16), _mm512_mul_ps(acc[r][1], k));
                }
                i += n;
            }
        }
    }
}

/// The lanes of a window's last block of 16 keys that hold keys (`len` ≥ 1).
fn tail_mask(len: usize) -> __mmask16 {
    let tail = len - (len.div_ceil(16) - 1) * 16;
    if tail == 16 {
        0xffff
    } else {
        (1u16 << tail) - 1
    }
}

/// Softmax numerators of the first `n` rows of `probs` (each `padded` long, scores past the
/// window's end masked off by `tail_mask` in the last block of 16), in place, and the inverses
/// of their sums.
#[target_feature(enable = "avx2,fma,avx512f")]
fn softmax_rows(probs: &mut [f32], padded: usize, n: usize, tail_mask: __mmask16) -> [f32; QN] {
    let blocks = padded / 16;
    let mut inv = [0f32; QN];
    for (r, inv) in inv.iter_mut().enumerate().take(n) {
        let row = &mut probs[r * padded..(r + 1) * padded];
        let p = row.as_mut_ptr();
        // SAFETY: the row holds `blocks` whole blocks of 16.
        unsafe {
            let last = p.add((blocks - 1) * 16);
            let mut m = _mm512_set1_ps(f32::NEG_INFINITY);
            for b in 0..blocks - 1 {
                m = _mm512_max_ps(m, _mm512_loadu_ps(p.add(b * 16)));
            }
            m = _mm512_mask_max_ps(m, tail_mask, m, _mm512_loadu_ps(last));
            let m = _mm512_set1_ps(_mm512_reduce_max_ps(m));
            let mut sum = _mm512_setzero_ps();
            for b in 0..blocks {
                let x = _mm512_sub_ps(_mm512_loadu_ps(p.add(b * 16)), m);
                let mut e = exp_neg(x);
                if b == blocks - 1 {
                    e = _mm512_maskz_mov_ps(tail_mask, e);
                }
                _mm512_storeu_ps(p.add(b * 16), e);
                sum = _mm512_add_ps(sum, e);
            }
            *inv = 1.0 / _mm512_reduce_add_ps(sum);
        }
    }
    inv
}

/// 32 floats at `src` as 32 bfloat16 (16 words, in order), each times `k`.
#[target_feature(enable = "avx2,fma,avx512f,avx512bf16")]
unsafe fn bf16x32(src: *const f32, k: __m512) -> __m512i {
    // SAFETY: the caller guarantees 32 floats at src.
    unsafe {
        let lo = _mm512_mul_ps(_mm512_loadu_ps(src), k);
        let hi = _mm512_mul_ps(_mm512_loadu_ps(src.add(16)), k);
        // The second operand fills the low half.
        std::mem::transmute::<__m512bh, __m512i>(_mm512_cvtne2ps_pbh(hi, lo))
    }
}

/// `acc + Σ a·b` over each lane's pair of bfloat16.
#[target_feature(enable = "avx2,fma,avx512f,avx512bf16")]
#[inline]
fn dot2(acc: __m512, a: __m512i, b: __m512i) -> __m512 {
    // SAFETY: same-sized vector types, every bit pattern valid in both.
    let (a, b) = unsafe {
        (
            std::mem::transmute::<__m512i, __m512bh>(a),
            std::mem::transmute::<__m512i, __m512bh>(b),
        )
    };
    _mm512_dpbf16_ps(acc, a, b)
}

/// [`window`] with the two products in bfloat16 (`vdpbf16ps`: two products and their sum a
/// lane, half the instructions of f32 multiply-adds), sums in f32. Queries (scaled), keys,
/// values and the softmax's numerators are rounded to bfloat16 (8 significant bits, about the
/// 8-bit step the next product quantizes the contexts to); the softmax itself runs in f32.
/// Keys: each token's pairs of features as 32-bit words, 16 keys × 16 words transposed as
/// [`window`] transposes floats. Values: per pair of tokens, per 16 features, the two tokens'
/// values interleaved (`unpacklo/hi` then conversion), so that a lane's pair is one feature of
/// both tokens and the context comes out with its features in the order [`V_ORDER`] undoes.
///
/// # Safety
/// The processor must have AVX-512 F and BF16 ([`has_bf16`]); `rows` must hold `len · 3h`
/// values and `ctx` `len · h`.
#[target_feature(enable = "avx2,fma,avx512f,avx512bf16")]
pub unsafe fn window_bf16(
    rows: &[f32],
    len: usize,
    h: usize,
    scale: f32,
    s: &mut AttnScratch,
    ctx: &mut [f32],
) {
    debug_assert!(rows.len() >= len * 3 * h && ctx.len() >= len * h);
    debug_assert!(h.is_multiple_of(HEAD));
    let blocks = len.div_ceil(16);
    let padded = blocks * 16;
    let stride = 3 * h;
    let words = h / 2;
    let pairs = len.div_ceil(2);
    s.q16.resize(len * words, 0);
    s.k16.resize(len * words, 0);
    s.kt16.resize(blocks * words * 16, 0);
    s.v16.resize(pairs * h, 0);
    s.p16.resize(QN * padded / 2, 0);
    s.probs.resize(QN * padded, 0.0);
    // SAFETY (whole body): the pointers below stay inside rows (len rows of 3h), q16 and k16
    // (len rows of h/2 words), kt16 (blocks · h/2 · 16), v16 (pairs · h), probs (QN · padded),
    // p16 (QN · padded/2) and ctx (len rows of h), as the bounds show.
    unsafe {
        let one = _mm512_set1_ps(1.0);
        let sc = _mm512_set1_ps(scale);
        for t in 0..len {
            for c in 0..h / 32 {
                let q = bf16x32(rows.as_ptr().add(t * stride + 32 * c), sc);
                _mm512_storeu_si512(s.q16.as_mut_ptr().add(t * words + 16 * c).cast(), q);
                let k = bf16x32(rows.as_ptr().add(t * stride + h + 32 * c), one);
                _mm512_storeu_si512(s.k16.as_mut_ptr().add(t * words + 16 * c).cast(), k);
            }
        }
        for blk in 0..blocks {
            let n = (len - blk * 16).min(16);
            for f in (0..words).step_by(16) {
                transpose16(
                    s.k16.as_ptr().add(blk * 16 * words + f).cast(),
                    words,
                    n,
                    s.kt16.as_mut_ptr().add((blk * words + f) * 16).cast(),
                );
            }
        }
        for jp in 0..pairs {
            let a = rows.as_ptr().add(2 * jp * stride + 2 * h);
            let second = 2 * jp + 1 < len;
            for c in 0..h / 16 {
                let x = _mm512_loadu_ps(a.add(16 * c));
                let y = if second {
                    _mm512_loadu_ps(a.add(stride + 16 * c))
                } else {
                    _mm512_setzero_ps()
                };
                let v = _mm512_cvtne2ps_pbh(_mm512_unpackhi_ps(x, y), _mm512_unpacklo_ps(x, y));
                _mm512_storeu_si512(
                    s.v16.as_mut_ptr().add((jp * h / 16 + c) * 16).cast(),
                    std::mem::transmute::<__m512bh, __m512i>(v),
                );
            }
        }
        let tail_mask = tail_mask(len);
        let order = _mm512_loadu_si512(V_ORDER.as_ptr().cast());
        for head in 0..h / HEAD {
            let mut i = 0;
            while i < len {
                let n = (len - i).min(QN);
                // Scores, two blocks of 16 keys at a time, 16 pairs of features each.
                let mut blk = 0;
                while blk < blocks {
                    let kb = s.kt16.as_ptr().add((blk * words + head * 16) * 16);
                    let two = blk + 1 < blocks;
                    let mut acc = [[_mm512_setzero_ps(); 2]; QN];
                    for p in 0..16 {
                        let k0 = _mm512_loadu_si512(kb.add(p * 16).cast());
                        let k1 = if two {
                            _mm512_loadu_si512(kb.add(words * 16 + p * 16).cast())
                        } else {
                            _mm512_setzero_si512()
                        };
                        for r in 0..QN {
                            // Rows past the window's end repeat its last query, as in [`window`].
                            let qr = (i + r).min(len - 1);
                            let q = _mm512_set1_epi32(
                                *s.q16.get_unchecked(qr * words + head * 16 + p) as i32,
                            );
                            acc[r][0] = dot2(acc[r][0], q, k0);
                            acc[r][1] = dot2(acc[r][1], q, k1);
                        }
                    }
                    for r in 0..QN {
                        let o = s.probs.as_mut_ptr().add(r * padded + blk * 16);
                        _mm512_storeu_ps(o, acc[r][0]);
                        if two {
                            _mm512_storeu_ps(o.add(16), acc[r][1]);
                        }
                    }
                    blk += 2;
                }
                let inv = softmax_rows(&mut s.probs, padded, n, tail_mask);
                for r in 0..n {
                    for b in 0..blocks {
                        let e = _mm512_cvtneps_pbh(_mm512_loadu_ps(
                            s.probs.as_ptr().add(r * padded + b * 16),
                        ));
                        _mm256_storeu_si256(
                            s.p16.as_mut_ptr().add(r * padded / 2 + b * 8).cast(),
                            std::mem::transmute::<__m256bh, __m256i>(e),
                        );
                    }
                }
                // Context: 4 queries × 32 features, over the window's pairs of values.
                let mut acc = [[_mm512_setzero_ps(); 2]; QN];
                for jp in 0..pairs {
                    let v = s.v16.as_ptr().add((jp * h / 16 + head * 2) * 16);
                    let v0 = _mm512_loadu_si512(v.cast());
                    let v1 = _mm512_loadu_si512(v.add(16).cast());
                    for r in 0..QN {
                        let p = _mm512_set1_epi32(*s.p16.get_unchecked(r * padded / 2 + jp) as i32);
                        acc[r][0] = dot2(acc[r][0], p, v0);
                        acc[r][1] = dot2(acc[r][1], p, v1);
                    }
                }
                for r in 0..n {
                    let o = ctx.as_mut_ptr().add((i + r) * h + head * HEAD);
                    let k = _mm512_set1_ps(inv[r]);
                    let c0 = _mm512_permutexvar_ps(order, _mm512_mul_ps(acc[r][0], k));
                    let c1 = _mm512_permutexvar_ps(order, _mm512_mul_ps(acc[r][1], k));
                    _mm512_storeu_ps(o, c0);
                    _mm512_storeu_ps(o.add(16), c1);
                }
                i += n;
            }
        }
    }
}

/// Lane `w` of [`window_bf16`]'s context sums holds feature `[0, 1, 4, 5, 8, 9, 12, 13, 2, 3,
/// 6, 7, 10, 11, 14, 15][w]` of its 16 (`unpacklo` takes features 0, 1 of each 128-bit lane,
/// `unpackhi` 2, 3, and the conversion puts the first's 16 before the second's); feature `d` is
/// lane `V_ORDER[d]`.
const V_ORDER: [u32; 16] = [0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15];

/// Transposes 16 values of `n` rows (`stride` apart; missing rows read as zeros) into 16
/// vectors of 16 at `dst`: `dst[e · 16 + r] = src[r · stride + e]`.
#[target_feature(enable = "avx2,fma,avx512f")]
unsafe fn transpose16(src: *const f32, stride: usize, n: usize, dst: *mut f32) {
    // SAFETY: the caller guarantees rows 0..n of 16 values at src and 256 values at dst.
    unsafe {
        let mut r = [_mm512_setzero_ps(); 16];
        for (k, v) in r.iter_mut().enumerate().take(n) {
            *v = _mm512_loadu_ps(src.add(k * stride));
        }
        // Pairs of rows interleaved by 32 bits, then by 64, then 128-bit lanes gathered twice.
        let mut t = [_mm512_setzero_ps(); 16];
        for k in 0..8 {
            t[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
            t[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
        }
        for k in 0..4 {
            let (a, b, c, d) = (t[4 * k], t[4 * k + 1], t[4 * k + 2], t[4 * k + 3]);
            r[4 * k] =
                _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(c)));
            r[4 * k + 1] =
                _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(c)));
            r[4 * k + 2] =
                _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(b), _mm512_castps_pd(d)));
            r[4 * k + 3] =
                _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(b), _mm512_castps_pd(d)));
        }
        for k in 0..4 {
            t[k] = _mm512_shuffle_f32x4::<0x88>(r[k], r[k + 4]);
            t[k + 4] = _mm512_shuffle_f32x4::<0xdd>(r[k], r[k + 4]);
            t[k + 8] = _mm512_shuffle_f32x4::<0x88>(r[k + 8], r[k + 12]);
            t[k + 12] = _mm512_shuffle_f32x4::<0xdd>(r[k + 8], r[k + 12]);
        }
        for k in 0..8 {
            r[k] = _mm512_shuffle_f32x4::<0x88>(t[k], t[k + 8]);
            r[k + 8] = _mm512_shuffle_f32x4::<0xdd>(t[k], t[k + 8]);
        }
        for (e, v) in r.iter().enumerate() {
            _mm512_storeu_ps(dst.add(e * 16), *v);
        }
    }
}

/// [`crate::kernels::exp_neg`] on 16 lanes.
#[target_feature(enable = "avx2,fma,avx512f")]
fn exp_neg(x: __m512) -> __m512 {
    let x = _mm512_max_ps(x, _mm512_set1_ps(-87.0));
    let magic = _mm512_set1_ps(12_582_912.0);
    let t = _mm512_fmadd_ps(x, _mm512_set1_ps(std::f32::consts::LOG2_E), magic);
    let n = _mm512_sub_ps(t, magic);
    let ni = _mm512_sub_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(0x4b40_0000));
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693_145_75), x);
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428_606_8e-6), r);
    let mut p = _mm512_set1_ps(1.987_569_1e-4);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.398_199_9e-3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.333_452e-3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.166_579_6e-2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.166_666_65));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5));
    let e = _mm512_fmadd_ps(
        _mm512_mul_ps(p, r),
        r,
        _mm512_add_ps(r, _mm512_set1_ps(1.0)),
    );
    _mm512_castsi512_ps(_mm512_add_epi32(
        _mm512_castps_si512(e),
        _mm512_slli_epi32::<23>(ni),
    ))
}

/// [`window`] for processors with AVX2 and FMA but not AVX-512: the same plan in 8-lane
/// vectors. Scores come from tiles of 4 queries × 16 keys (8 accumulators), the context from
/// 2 queries × 32 dimensions (8 accumulators, each value loaded once for both).
///
/// # Safety
/// The processor must have AVX2 and FMA; `rows` must hold `len · 3h` values and `ctx` `len · h`.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn window_avx2(
    rows: &[f32],
    len: usize,
    h: usize,
    scale: f32,
    s: &mut AttnScratch,
    ctx: &mut [f32],
) {
    debug_assert!(rows.len() >= len * 3 * h && ctx.len() >= len * h);
    debug_assert!(h.is_multiple_of(HEAD));
    let blocks = len.div_ceil(8);
    let padded = blocks * 8;
    let stride = 3 * h;
    s.keys_t.resize(blocks * h * 8, 0.0);
    s.probs.resize(QN * padded, 0.0);
    // SAFETY (whole body): the pointers below stay inside rows (len rows of 3h), keys_t
    // (blocks · h · 8), probs (QN · padded) and ctx (len rows of h), as the bounds show.
    unsafe {
        for blk in 0..blocks {
            let n = (len - blk * 8).min(8);
            for f in (0..h).step_by(8) {
                transpose8(
                    rows.as_ptr().add(blk * 8 * stride + h + f),
                    stride,
                    n,
                    s.keys_t.as_mut_ptr().add((blk * h + f) * 8),
                );
            }
        }
        // Lanes of the last block past the window: -inf before the maximum, 0 after exp.
        let tail = len - (blocks - 1) * 8;
        let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        let keep = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(tail as i32), lanes));
        let minus_inf = _mm256_set1_ps(f32::NEG_INFINITY);
        let scale = _mm256_set1_ps(scale);
        for head in 0..h / HEAD {
            let q_at = head * HEAD;
            let v_at = 2 * h + head * HEAD;
            let mut i = 0;
            while i < len {
                let n = (len - i).min(QN);
                let mut blk = 0;
                while blk < blocks {
                    let kb = s.keys_t.as_ptr().add((blk * h + q_at) * 8);
                    let two = blk + 1 < blocks;
                    let mut acc = [[_mm256_setzero_ps(); 2]; QN];
                    for e in 0..HEAD {
                        let k0 = _mm256_loadu_ps(kb.add(e * 8));
                        let k1 = if two {
                            _mm256_loadu_ps(kb.add(h * 8 + e * 8))
                        } else {
                            _mm256_setzero_ps()
                        };
                        for r in 0..QN {
                            // Rows past the window's end repeat its last query: computed and
                            // never stored, so that the tile keeps one shape.
                            let qr = (i + r).min(len - 1);
                            let q = _mm256_set1_ps(*rows.get_unchecked(qr * stride + q_at + e));
                            acc[r][0] = _mm256_fmadd_ps(q, k0, acc[r][0]);
                            acc[r][1] = _mm256_fmadd_ps(q, k1, acc[r][1]);
                        }
                    }
                    for r in 0..QN {
                        let o = s.probs.as_mut_ptr().add(r * padded + blk * 8);
                        _mm256_storeu_ps(o, _mm256_mul_ps(acc[r][0], scale));
                        if two {
                            _mm256_storeu_ps(o.add(8), _mm256_mul_ps(acc[r][1], scale));
                        }
                    }
                    blk += 2;
                }
                let mut inv = [0f32; QN];
                for (r, inv) in inv.iter_mut().enumerate().take(n) {
                    let p = s.probs.as_mut_ptr().add(r * padded);
                    let last = p.add((blocks - 1) * 8);
                    _mm256_storeu_ps(
                        last,
                        _mm256_blendv_ps(minus_inf, _mm256_loadu_ps(last), keep),
                    );
                    let mut m = minus_inf;
                    for b in 0..blocks {
                        m = _mm256_max_ps(m, _mm256_loadu_ps(p.add(b * 8)));
                    }
                    let m = _mm256_set1_ps(hmax8(m));
                    let mut sum = _mm256_setzero_ps();
                    for b in 0..blocks {
                        let x = _mm256_sub_ps(_mm256_loadu_ps(p.add(b * 8)), m);
                        let mut e = exp_neg8(x);
                        if b == blocks - 1 {
                            e = _mm256_and_ps(e, keep);
                        }
                        _mm256_storeu_ps(p.add(b * 8), e);
                        sum = _mm256_add_ps(sum, e);
                    }
                    *inv = 1.0 / hsum8(sum);
                }
                // Context: pairs of queries × 32 dimensions, over the window's values.
                for pair in (0..n).step_by(2) {
                    let mut acc = [[_mm256_setzero_ps(); 4]; 2];
                    let p0 = s.probs.as_ptr().add(pair * padded);
                    let p1 = s.probs.as_ptr().add((pair + 1).min(QN - 1) * padded);
                    for j in 0..len {
                        let v = rows.as_ptr().add(j * stride + v_at);
                        let pr = [_mm256_set1_ps(*p0.add(j)), _mm256_set1_ps(*p1.add(j))];
                        for d in 0..4 {
                            let vd = _mm256_loadu_ps(v.add(d * 8));
                            for r in 0..2 {
                                acc[r][d] = _mm256_fmadd_ps(pr[r], vd, acc[r][d]);
                            }
                        }
                    }
                    for r in 0..(n - pair).min(2) {
                        let o = ctx.as_mut_ptr().add((i + pair + r) * h + q_at);
                        let k = _mm256_set1_ps(inv[pair + r]);
                        for d in 0..4 {
                            _mm256_storeu_ps(o.add(d * 8), _mm256_mul_ps(acc[r][d], k));
                        }
                    }
                }
                i += n;
            }
        }
    }
}

/// The largest of 8 lanes.
#[target_feature(enable = "avx2,fma")]
fn hmax8(v: __m256) -> f32 {
    let m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)))
}

/// The sum of 8 lanes.
#[target_feature(enable = "avx2,fma")]
fn hsum8(v: __m256) -> f32 {
    let m = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let m = _mm_add_ps(m, _mm_movehl_ps(m, m));
    _mm_cvtss_f32(_mm_add_ss(m, _mm_movehdup_ps(m)))
}

/// Transposes 8 values of `n` rows (`stride` apart; missing rows read as zeros) into 8
/// vectors of 8 at `dst`: `dst[e · 8 + r] = src[r · stride + e]`.
#[target_feature(enable = "avx2,fma")]
unsafe fn transpose8(src: *const f32, stride: usize, n: usize, dst: *mut f32) {
    // SAFETY: the caller guarantees rows 0..n of 8 values at src and 64 values at dst.
    unsafe {
        let mut r = [_mm256_setzero_ps(); 8];
        for (k, v) in r.iter_mut().enumerate().take(n) {
            *v = _mm256_loadu_ps(src.add(k * stride));
        }
        let mut t = [_mm256_setzero_ps(); 8];
        for k in 0..4 {
            t[2 * k] = _mm256_unpacklo_ps(r[2 * k], r[2 * k + 1]);
            t[2 * k + 1] = _mm256_unpackhi_ps(r[2 * k], r[2 * k + 1]);
        }
        for k in 0..2 {
            let (a, b, c, d) = (t[4 * k], t[4 * k + 1], t[4 * k + 2], t[4 * k + 3]);
            r[4 * k] =
                _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(a), _mm256_castps_pd(c)));
            r[4 * k + 1] =
                _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(a), _mm256_castps_pd(c)));
            r[4 * k + 2] =
                _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(b), _mm256_castps_pd(d)));
            r[4 * k + 3] =
                _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(b), _mm256_castps_pd(d)));
        }
        // r[0..4] hold columns 0..4 of rows 0..4 (low lanes) and columns 4..8 (high lanes);
        // r[4..8] the same of rows 4..8.
        for k in 0..4 {
            let lo = _mm256_permute2f128_ps::<0x20>(r[k], r[k + 4]);
            let hi = _mm256_permute2f128_ps::<0x31>(r[k], r[k + 4]);
            _mm256_storeu_ps(dst.add(k * 8), lo);
            _mm256_storeu_ps(dst.add((k + 4) * 8), hi);
        }
    }
}

/// [`crate::kernels::exp_neg`] on 8 lanes.
#[target_feature(enable = "avx2,fma")]
fn exp_neg8(x: __m256) -> __m256 {
    let x = _mm256_max_ps(x, _mm256_set1_ps(-87.0));
    let magic = _mm256_set1_ps(12_582_912.0);
    let t = _mm256_fmadd_ps(x, _mm256_set1_ps(std::f32::consts::LOG2_E), magic);
    let n = _mm256_sub_ps(t, magic);
    let ni = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(0x4b40_0000));
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693_145_75), x);
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428_606_8e-6), r);
    let mut p = _mm256_set1_ps(1.987_569_1e-4);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.398_199_9e-3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.333_452e-3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.166_579_6e-2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.166_666_65));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5));
    let e = _mm256_fmadd_ps(
        _mm256_mul_ps(p, r),
        r,
        _mm256_add_ps(r, _mm256_set1_ps(1.0)),
    );
    _mm256_castsi256_ps(_mm256_add_epi32(
        _mm256_castps_si256(e),
        _mm256_slli_epi32::<23>(ni),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has_avx512() -> bool {
        is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("fma")
    }

    fn has_avx2() -> bool {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }

    #[test]
    fn transpose8_is_a_transpose() {
        if !has_avx2() {
            return;
        }
        for n in [1, 5, 8] {
            let stride = 40;
            let src: Vec<f32> = (0..8 * stride).map(|i| i as f32).collect();
            let mut dst = vec![-1f32; 64];
            // SAFETY: the processor has AVX2; 8 rows of 40 and 64 values.
            unsafe { transpose8(src.as_ptr(), stride, n, dst.as_mut_ptr()) };
            for e in 0..8 {
                for r in 0..8 {
                    let want = if r < n { src[r * stride + e] } else { 0.0 };
                    assert_eq!(dst[e * 8 + r], want, "n {n}, e {e}, r {r}");
                }
            }
        }
    }

    #[test]
    fn transpose_is_a_transpose() {
        if !has_avx512() {
            return;
        }
        for n in [1, 7, 16] {
            let stride = 40;
            let src: Vec<f32> = (0..16 * stride).map(|i| i as f32).collect();
            let mut dst = vec![-1f32; 256];
            // SAFETY: the processor has AVX-512 F; 16 rows of 40 and 256 values.
            unsafe { transpose16(src.as_ptr(), stride, n, dst.as_mut_ptr()) };
            for e in 0..16 {
                for r in 0..16 {
                    let want = if r < n { src[r * stride + e] } else { 0.0 };
                    assert_eq!(dst[e * 16 + r], want, "n {n}, e {e}, r {r}");
                }
            }
        }
    }

    /// Straightforward attention in f64, for comparison.
    fn naive(rows: &[f32], len: usize, h: usize, scale: f32) -> Vec<f32> {
        let mut ctx = vec![0f32; len * h];
        for head in 0..h / HEAD {
            for i in 0..len {
                let q = &rows[i * 3 * h + head * HEAD..][..HEAD];
                let sc: Vec<f64> = (0..len)
                    .map(|j| {
                        let k = &rows[j * 3 * h + h + head * HEAD..][..HEAD];
                        q.iter().zip(k).map(|(a, b)| f64::from(a * b)).sum::<f64>()
                            * f64::from(scale)
                    })
                    .collect();
                let m = sc.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = sc.iter().map(|x| (x - m).exp()).collect();
                let z: f64 = e.iter().sum();
                for d in 0..HEAD {
                    let v: f64 = (0..len)
                        .map(|j| e[j] * f64::from(rows[j * 3 * h + 2 * h + head * HEAD + d]))
                        .sum();
                    ctx[i * h + head * HEAD + d] = (v / z) as f32;
                }
            }
        }
        ctx
    }

    #[test]
    fn window_matches_naive_attention() {
        let h = 64;
        let mut seed = 7u64;
        let mut rnd = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 40) as f32 / (1u64 << 24) as f32) * 4.0 - 2.0
        };
        for len in [1, 2, 5, 16, 17, 33, 68, 100] {
            let rows: Vec<f32> = (0..len * 3 * h).map(|_| rnd()).collect();
            let want = naive(&rows, len, h, 0.176_776_7);
            let mut paths: Vec<(&str, Vec<f32>)> = Vec::new();
            let mut s = AttnScratch::default();
            if has_avx512() {
                let mut got = vec![f32::NAN; len * h];
                // SAFETY: the processor has AVX-512 F; rows and ctx have the sizes.
                unsafe { window(&rows, len, h, 0.176_776_7, &mut s, &mut got) };
                paths.push(("avx512", got));
            }
            if has_avx2() {
                let mut got = vec![f32::NAN; len * h];
                // SAFETY: the processor has AVX2 and FMA; rows and ctx have the sizes.
                unsafe { window_avx2(&rows, len, h, 0.176_776_7, &mut s, &mut got) };
                paths.push(("avx2", got));
            }
            for (path, got) in &paths {
                for (k, (a, b)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        (a - b).abs() < 1e-5,
                        "{path}, len {len}, at {k}: {a} vs {b}"
                    );
                }
            }
            if has_bf16() {
                let mut got = vec![f32::NAN; len * h];
                // SAFETY: the processor has AVX-512 F and BF16; rows and ctx have the sizes.
                unsafe { window_bf16(&rows, len, h, 0.176_776_7, &mut s, &mut got) };
                // Inputs rounded to 8 significant bits: each context within a few hundredths
                // of the exact one (values here are within ±2).
                let mut worst = 0f32;
                for (k, (a, b)) in got.iter().zip(&want).enumerate() {
                    worst = worst.max((a - b).abs());
                    assert!((a - b).abs() < 2e-2, "bf16, len {len}, at {k}: {a} vs {b}");
                }
                eprintln!("bf16, len {len}: largest difference {worst}");
            }
        }
    }
}
