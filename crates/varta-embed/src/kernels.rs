//! The arithmetic of the encoder: 4-bit weights times 8-bit activations, and the float
//! functions around it (layer norm, GELU, softmax's exponential).
//!
//! Weights keep the reference's quantization (Q4_0: 32 weights share an f16 scale) and
//! activations are quantized as the reference quantizes them (Q8_0: 32 values share a scale
//! `max|x| / 127`, rounded to nearest even), so the integer products are the reference's and
//! only the order of float additions differs. What differs is the layout: at load every weight
//! matrix is unpacked once into groups of 8 output rows, interleaved 4 bytes per row, so that one
//! broadcast of 4 activation bytes times one 32-byte load of weights gives 4 products for each
//! of 8 rows (`maddubs`), eight of those add up in 16 bits without overflow (|q| ≤ 15,
//! |a| ≤ 128: 8 · 2 · 15 · 128 < 2¹⁵), and a block's 8 row sums leave in one vector. The
//! reference instead reduces each row horizontally per block; this does a third of its vector
//! work per product. Where the processor has AVX-512 VNNI, `vpdpbusd` does the 4 products and
//! their 32-bit sum in one instruction, and with 512-bit vectors the groups are of 16 rows
//! (one 64-byte load, one broadcast: 4 products for each of 16 rows): about 3× the AVX2
//! kernel's products per second. There each block's integer sums would need two float
//! operations (the product of the two scales, then the multiply-add) on the same ports as the
//! `vpdpbusd`s, a fifth of the port time; so the 512-bit kernel's weights are requantized at
//! load to 8 bits with one scale per row (exact for the row's largest-scaled block, within an
//! eighth of a step for one scaled a quarter as much) and a block takes one multiply-add:
//! 11% more products per second on Zen 4, vectors within cosine 0.9998 of the exact ones.
//! The kernels are chosen at run time (VNNI, else AVX2, else portable); the AVX2 and 256-bit
//! VNNI ones compute the reference's integers, and the tests hold each to the portable one.

// Lane loops index fixed-size arrays on purpose: that is the shape LLVM turns into vector code.
#![allow(clippy::needless_range_loop)]

use crate::model::{Q4_BLOCK, QK, f16_to_f32};

/// The scale of a Q4_0 block (its first two bytes, an f16).
#[inline]
fn q4_scale(blk: &[u8]) -> f32 {
    f16_to_f32(u16::from_le_bytes([blk[0], blk[1]]))
}

/// The stored nibble (weight + 8) of input `j` of a Q4_0 block: inputs 0..16 in the low nibbles
/// of its 16 data bytes, 16..32 in the high ones.
#[inline]
fn q4_nibble(blk: &[u8], j: usize) -> u8 {
    let byte = blk[2 + (j % 16)];
    if j < 16 { byte & 0x0f } else { byte >> 4 }
}

/// A weight matrix `[nout, nin]` unpacked for the kernels, with its bias.
pub struct PackedMatrix {
    pub nout: usize,
    pub nin: usize,
    /// Rows interleaved together: 8, or 16 for the 512-bit kernel.
    pub group: usize,
    /// Per group of rows, per block of 32 inputs, per step of 4 inputs: `group` rows × 4 bytes,
    /// each the stored nibble (weight + 8, 0..=15). Empty with [`PackedMatrix::tiles`].
    packed: Vec<u8>,
    /// Laid out for the AMX kernel ([`PackedMatrix::bf16`] instead of `packed`).
    pub tiles: bool,
    /// The weights dequantized (`scale · (nibble - 8)`) to bfloat16 for the AMX kernel: per
    /// group of 16 rows, per block of 32 inputs, per pair of inputs, the 16 rows' two values:
    /// each group's block is one 16 × 64-byte tile of `tdpbf16ps`'s second operand.
    bf16: Vec<u16>,
    /// Per group, per block: the group's rows' scales. Empty with [`PackedMatrix::row_scales`].
    scales: Vec<f32>,
    /// For the 512-bit VNNI kernel: one scale per row, `packed` holding each weight as the
    /// integer `round(16 · (nibble - 8) · d / d_max) + 128` (d the block's scale, d_max the
    /// row's largest), so that the sums of all blocks share the row's scale and a block's
    /// integer sums take one multiply-add to accumulate, not two (see [`vnni512`]).
    row_scales: Vec<f32>,
    pub bias: Vec<f32>,
}

impl PackedMatrix {
    /// From Q4_0 rows, stacked in order (several matrices that read the same input become one),
    /// laid out for `isa`'s kernels. `q4` holds `nout · nin / 32` blocks; `nout` is a multiple
    /// of 8 and `nin` of 32.
    pub fn from_q4(isa: Isa, q4: &[&[u8]], nin: usize, mut bias: Vec<f32>) -> PackedMatrix {
        let nb = nin / QK;
        let rows: Vec<&[u8]> = q4
            .iter()
            .flat_map(|m| m.chunks_exact(nb * Q4_BLOCK))
            .collect();
        let nout = rows.len();
        debug_assert!(nout.is_multiple_of(8) && nin.is_multiple_of(QK));
        let tiles = isa == Isa::Amx;
        let group = if tiles || (isa.has_avx512() && nout.is_multiple_of(16)) {
            16
        } else {
            8
        };
        // The tile kernel computes 32 rows at a time: zero rows (and biases) up to a multiple.
        let padded = if tiles {
            nout.next_multiple_of(32)
        } else {
            nout
        };
        bias.resize(padded, 0.0);
        if group == 16 && !tiles {
            return PackedMatrix::rows_int8(&rows, nin, bias);
        }
        let mut packed = vec![0u8; if tiles { 0 } else { nout * nin }];
        let mut bf16 = vec![0u16; if tiles { padded * nin } else { 0 }];
        let mut scales = vec![0f32; padded * nb];
        for (r, row) in rows.iter().enumerate() {
            let (g, rr) = (r / group, r % group);
            for b in 0..nb {
                let blk = &row[b * Q4_BLOCK..(b + 1) * Q4_BLOCK];
                scales[(g * nb + b) * group + rr] = q4_scale(blk);
                for j in 0..QK {
                    let q = q4_nibble(blk, j);
                    if tiles {
                        let v = (f32::from(q) - 8.0) * scales[(g * nb + b) * group + rr];
                        bf16[(((g * nb + b) * 16 + j / 2) * 16 + rr) * 2 + j % 2] = to_bf16(v);
                        continue;
                    }
                    let (k, jj) = (j / 4, j % 4);
                    packed[(((g * nb + b) * 8 + k) * group + rr) * 4 + jj] = q;
                }
            }
        }
        PackedMatrix {
            nout,
            nin,
            group,
            packed,
            tiles,
            bf16,
            scales,
            row_scales: Vec::new(),
            bias,
        }
    }

    /// The 512-bit VNNI layout: [`PackedMatrix::row_scales`] and, per group of 16 rows, per
    /// block, per step of 4 inputs, the 16 rows' 4 bytes. The block with the row's largest
    /// scale keeps its values exactly (16 times the nibble's); a block with a quarter of it
    /// keeps them to within 1/8 of its own step.
    fn rows_int8(rows: &[&[u8]], nin: usize, bias: Vec<f32>) -> PackedMatrix {
        let nb = nin / QK;
        let nout = rows.len();
        let mut packed = vec![0u8; nout * nin];
        let mut row_scales = vec![0f32; nout];
        for (r, row) in rows.iter().enumerate() {
            let (g, rr) = (r / 16, r % 16);
            let d: Vec<f32> = row
                .chunks_exact(Q4_BLOCK)
                .map(|b| q4_scale(b).abs())
                .collect();
            let dmax = d.iter().fold(0f32, |a, &b| a.max(b));
            let (unit, inv) = if dmax > 0.0 {
                (dmax / 16.0, 16.0 / dmax)
            } else {
                (0.0, 0.0)
            };
            row_scales[r] = unit;
            for (b, blk) in row.chunks_exact(Q4_BLOCK).enumerate() {
                let db = q4_scale(blk);
                for j in 0..QK {
                    let q = q4_nibble(blk, j);
                    let v = ((f32::from(q) - 8.0) * db * inv)
                        .round_ties_even()
                        .clamp(-128.0, 127.0) as i32;
                    let (k, jj) = (j / 4, j % 4);
                    packed[(((g * nb + b) * 8 + k) * 16 + rr) * 4 + jj] = (v + 128) as u8;
                }
            }
        }
        PackedMatrix {
            nout,
            nin,
            group: 16,
            packed,
            tiles: false,
            bf16: Vec::new(),
            scales: Vec::new(),
            row_scales,
            bias,
        }
    }
}

/// Activations quantized per token and block of 32: values, scales and sums.
#[derive(Default)]
pub struct QuantActs {
    /// The activations in bfloat16 for the AMX kernel (which takes them unquantized), in whole
    /// tiles of 32 tokens; `q`, `d` and `s` are then unused.
    pub bf16: Vec<u16>,
    pub q: Vec<i8>,
    pub d: Vec<f32>,
    pub s: Vec<i32>,
    pub nin: usize,
}

impl QuantActs {
    /// Quantizes `x`, `rows` rows of `nin` values, as the reference does.
    #[inline(always)]
    pub fn quantize(&mut self, isa: Isa, x: &[f32], rows: usize, nin: usize) {
        let nb = nin / QK;
        self.nin = nin;
        if isa == Isa::Amx {
            // Whole tiles of 32 tokens: the kernel reads them all and stores the real ones.
            self.bf16.resize(rows.next_multiple_of(32) * nin, 0);
            let x = &x[..rows * nin];
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            // SAFETY: Isa::Amx implies AVX-512 F; bf16 holds at least x.len() values.
            unsafe {
                amx::to_bf16(x, &mut self.bf16)
            };
            #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
            for (o, &v) in self.bf16.iter_mut().zip(x) {
                *o = to_bf16(v);
            }
            return;
        }
        self.q.resize(rows * nin, 0);
        self.d.resize(rows * nb, 0.0);
        self.s.resize(rows * nb, 0);
        let x = &x[..rows * nin];
        match isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: both are only chosen when the processor has AVX2 and FMA; the slices
            // hold rows · nb blocks each.
            Isa::Avx2 | Isa::Avx512Vnni => unsafe {
                avx2::quantize(x, &mut self.q, &mut self.d, &mut self.s)
            },
            _ => quantize_portable(x, &mut self.q, &mut self.d, &mut self.s),
        }
    }
}

/// Q8_0 of whole blocks: `q` as long as `x`, one scale and one sum per 32 values.
fn quantize_portable(x: &[f32], q: &mut [i8], d: &mut [f32], s: &mut [i32]) {
    for (blk, ((q, d), s)) in x
        .chunks_exact(QK)
        .zip(q.chunks_exact_mut(QK).zip(d.iter_mut()).zip(s.iter_mut()))
    {
        let mut m = [0f32; 8];
        for c in blk.chunks_exact(8) {
            for l in 0..8 {
                m[l] = m[l].max(c[l].abs());
            }
        }
        let amax = m.iter().fold(0f32, |a, &b| a.max(b));
        let dd = amax / 127.0;
        let id = if dd > 0.0 { 1.0 / dd } else { 0.0 };
        let mut sum = 0i32;
        for (o, &v) in q.iter_mut().zip(blk) {
            let v = (v * id).round_ties_even().clamp(-128.0, 127.0) as i32;
            *o = v as i8;
            sum += v;
        }
        *d = dd;
        *s = sum;
    }
}

/// Which kernels this processor runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    Portable,
    Avx2,
    /// AVX2 and FMA, and AVX-512 F, VL and VNNI: `vpdpbusd` does a 4-byte dot product and its
    /// 32-bit accumulation in one instruction (three with AVX2), on 512-bit vectors where the
    /// matrix's rows come in groups of 16, else on 256-bit ones.
    Avx512Vnni,
    /// All of the above, and AMX-BF16 with the operating system's leave to use its tiles: the
    /// matrix products run on the tile unit (`tdpbf16ps`, a 16 × 16 × 32 product per
    /// instruction) with the weights dequantized to bfloat16 and the activations rounded to
    /// it, the rest as [`Isa::Avx512Vnni`]. Unlike the other kernels this is not the
    /// reference's integer arithmetic (its activations are not quantized to 8 bits); the
    /// reference test holds it to the same cosine.
    Amx,
}

impl Isa {
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx2") && has!("fma") {
                if has!("avx512f") && has!("avx512vl") && has!("avx512vnni") {
                    #[cfg(target_os = "linux")]
                    if amx::permitted() {
                        return Isa::Amx;
                    }
                    return Isa::Avx512Vnni;
                }
                return Isa::Avx2;
            }
        }
        Isa::Portable
    }

    /// Every variant this processor runs, portable first (for tests).
    pub fn available() -> Vec<Isa> {
        let best = Isa::detect();
        [Isa::Portable, Isa::Avx2, Isa::Avx512Vnni, Isa::Amx]
            .into_iter()
            .filter(|i| match i {
                Isa::Portable => true,
                Isa::Avx2 => best.has_avx2(),
                Isa::Avx512Vnni => best.has_avx512(),
                Isa::Amx => best == Isa::Amx,
            })
            .collect()
    }

    /// Whether the AVX2 and FMA instructions are there (every x86 variant above portable).
    pub fn has_avx2(self) -> bool {
        matches!(self, Isa::Avx2 | Isa::Avx512Vnni | Isa::Amx)
    }

    /// Whether AVX-512 F, VL and VNNI are there.
    pub fn has_avx512(self) -> bool {
        matches!(self, Isa::Avx512Vnni | Isa::Amx)
    }
}

/// `y[t][o] = bias[o] + Σ_i w[o][i] · a[t][i]` for `rows` tokens, `y` being `rows × nout`.
#[inline(always)]
pub fn matmul(isa: Isa, w: &PackedMatrix, a: &QuantActs, rows: usize, y: &mut [f32]) {
    debug_assert_eq!(a.nin, w.nin);
    debug_assert!(y.len() >= rows * w.nout);
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: Isa::Avx2 is only chosen when the processor has AVX2 and FMA.
        Isa::Avx2 if w.group == 8 => unsafe { avx2::matmul(w, a, rows, y) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: Isa::Avx512Vnni is only chosen when the processor has these instructions.
        Isa::Avx512Vnni if w.group == 8 => unsafe { vnni::matmul(w, a, rows, y) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::Avx512Vnni if w.group == 16 => unsafe { vnni512::matmul(w, a, rows, y) },
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        // SAFETY: Isa::Amx is only chosen when the processor has AMX-BF16 and AVX-512 and the
        // kernel has granted the tiles; matrices packed for it are tiles, and its activations
        // whole tiles of tokens (quantize pads them).
        Isa::Amx => unsafe { amx::matmul(w, a, rows, y) },
        _ => matmul_portable(w, a, rows, y),
    }
}

/// `a · w` through GELU, quantized into `out` as [`QuantActs::quantize`] would quantize it:
/// fused in the 512-bit VNNI kernel, else [`matmul`], [`gelu`] and `quantize` through `y`.
#[inline(always)]
pub fn matmul_gelu_quantized(
    isa: Isa,
    w: &PackedMatrix,
    a: &QuantActs,
    rows: usize,
    y: &mut [f32],
    out: &mut QuantActs,
) {
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512Vnni && w.group == 16 && w.nout.is_multiple_of(32) {
        // SAFETY: Isa::Avx512Vnni is only chosen when the processor has these instructions;
        // the matrix is laid out for the 512-bit kernel and its rows come in pairs of groups.
        unsafe { vnni512::matmul_gelu_quantized(w, a, rows, out) };
        return;
    }
    matmul(isa, w, a, rows, y);
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: these are only chosen when the processor has AVX2 and FMA.
        Isa::Avx2 | Isa::Avx512Vnni => unsafe { avx2::gelu(&mut y[..rows * w.nout]) },
        _ => gelu(&mut y[..rows * w.nout]),
    }
    out.quantize(isa, y, rows, w.nout);
}

pub fn matmul_portable(w: &PackedMatrix, a: &QuantActs, rows: usize, y: &mut [f32]) {
    debug_assert!(!w.tiles, "tiles are for the AMX kernel");
    let nb = w.nin / QK;
    let n = w.group;
    let groups = w.nout / n;
    for t in 0..rows {
        let at = &a.q[t * w.nin..(t + 1) * w.nin];
        for g in 0..groups {
            let mut acc = [0f32; 16];
            for b in 0..nb {
                let mut isum = [0i32; 16];
                let wb = &w.packed[(g * nb + b) * 32 * n..(g * nb + b + 1) * 32 * n];
                for k in 0..8 {
                    for r in 0..n {
                        for j in 0..4 {
                            isum[r] += i32::from(wb[(k * n + r) * 4 + j])
                                * i32::from(at[b * QK + k * 4 + j]);
                        }
                    }
                }
                let (da, sa) = (a.d[t * nb + b], a.s[t * nb + b]);
                for r in 0..n {
                    acc[r] += (isum[r] - 8 * sa) as f32 * (w.scales[(g * nb + b) * n + r] * da);
                }
            }
            for r in 0..n {
                y[t * w.nout + g * n + r] = w.bias[g * n + r] + acc[r];
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{ERF_DEN, ERF_NUM, PackedMatrix, QK, QuantActs};
    use std::arch::x86_64::*;

    /// Tokens whose activations stay in cache while every row group passes over them.
    const TILE: usize = 32;

    /// `$s += $p` in 16-bit lanes, as an instruction the compiler must keep where it is. The
    /// sums never overflow (see the module doc). With the intrinsic, LLVM reassociates the
    /// eight steps of a block into per-output trees, which keeps all 16 broadcasts live and
    /// spills them; the saturating add it leaves alone runs on half the ports on Zen 3 and
    /// halved the kernel's speed there.
    macro_rules! add16 {
        ($s:expr, $p:expr) => {
            let p = $p;
            std::arch::asm!(
                "vpaddw {s}, {s}, {p}",
                s = inout(ymm_reg) $s,
                p = in(ymm_reg) p,
                options(nomem, nostack, preserves_flags)
            );
        };
    }

    /// [`super::gelu`] in vectors, four at a time, its polynomials in fused multiply-adds:
    /// within a few units in the last place of it, far below the 8-bit step its result is
    /// quantized to next. The compiler's own vectorization of the scalar loop did one vector
    /// per iteration, its two dependent chains of 12 operations and a division exposed: 0.84
    /// ns a value on Zen 3 against 0.52 here (a reciprocal estimate instead of the division
    /// made no difference: the 1.5 MB of a chunk's outputs come from L3).
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn gelu(x: &mut [f32]) {
        let c = _mm256_set1_ps;
        let mut chunks = x.chunks_exact_mut(32);
        for ch in &mut chunks {
            let p = ch.as_mut_ptr();
            // SAFETY: the chunk holds 32 floats.
            unsafe {
                let mut v = [_mm256_setzero_ps(); 4];
                for k in 0..4 {
                    v[k] = _mm256_loadu_ps(p.add(8 * k));
                }
                let mut out = [_mm256_setzero_ps(); 4];
                for k in 0..4 {
                    let x = _mm256_mul_ps(v[k], c(std::f32::consts::FRAC_1_SQRT_2));
                    let x = _mm256_max_ps(_mm256_min_ps(x, c(4.0)), c(-4.0));
                    let x2 = _mm256_mul_ps(x, x);
                    let mut n = c(ERF_NUM[0]);
                    for &e in &ERF_NUM[1..] {
                        n = _mm256_fmadd_ps(n, x2, c(e));
                    }
                    let mut d = c(ERF_DEN[0]);
                    for &e in &ERF_DEN[1..] {
                        d = _mm256_fmadd_ps(d, x2, c(e));
                    }
                    let erf = _mm256_div_ps(_mm256_mul_ps(x, n), d);
                    let half = _mm256_mul_ps(c(0.5), v[k]);
                    out[k] = _mm256_fmadd_ps(half, erf, half);
                }
                for k in 0..4 {
                    _mm256_storeu_ps(p.add(8 * k), out[k]);
                }
            }
        }
        super::gelu(chunks.into_remainder());
    }

    /// [`super::quantize_portable`] in vectors: the same values (conversion rounds to nearest
    /// even, as `round_ties_even` does; packing saturates, as the clamp does).
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn quantize(x: &[f32], q: &mut [i8], d: &mut [f32], s: &mut [i32]) {
        let blocks = x.len() / QK;
        debug_assert!(q.len() >= blocks * QK && d.len() >= blocks && s.len() >= blocks);
        let sign = _mm256_set1_ps(-0.0);
        let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        for b in 0..blocks {
            // SAFETY: block b of x and q is 32 values inside, d and s have an entry b.
            unsafe {
                let p = x.as_ptr().add(b * QK);
                let v = [
                    _mm256_loadu_ps(p),
                    _mm256_loadu_ps(p.add(8)),
                    _mm256_loadu_ps(p.add(16)),
                    _mm256_loadu_ps(p.add(24)),
                ];
                let m = _mm256_max_ps(
                    _mm256_max_ps(_mm256_andnot_ps(sign, v[0]), _mm256_andnot_ps(sign, v[1])),
                    _mm256_max_ps(_mm256_andnot_ps(sign, v[2]), _mm256_andnot_ps(sign, v[3])),
                );
                let m = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
                let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
                let m = _mm_max_ss(m, _mm_movehdup_ps(m));
                let amax = _mm_cvtss_f32(m);
                let dd = amax / 127.0;
                let id = _mm256_set1_ps(if dd > 0.0 { 1.0 / dd } else { 0.0 });
                let i = [
                    _mm256_cvtps_epi32(_mm256_mul_ps(v[0], id)),
                    _mm256_cvtps_epi32(_mm256_mul_ps(v[1], id)),
                    _mm256_cvtps_epi32(_mm256_mul_ps(v[2], id)),
                    _mm256_cvtps_epi32(_mm256_mul_ps(v[3], id)),
                ];
                let sum =
                    _mm256_add_epi32(_mm256_add_epi32(i[0], i[1]), _mm256_add_epi32(i[2], i[3]));
                let sum = _mm_add_epi32(
                    _mm256_castsi256_si128(sum),
                    _mm256_extracti128_si256(sum, 1),
                );
                let sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, 0b01_00_11_10));
                let sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, 0b10_11_00_01));
                let packed = _mm256_packs_epi16(
                    _mm256_packs_epi32(i[0], i[1]),
                    _mm256_packs_epi32(i[2], i[3]),
                );
                let packed = _mm256_permutevar8x32_epi32(packed, order);
                _mm256_storeu_si256(q.as_mut_ptr().add(b * QK) as *mut __m256i, packed);
                *d.get_unchecked_mut(b) = dd;
                // The sum is of the unclamped values: |x · id| ≤ 127 by the choice of id, so
                // none is clamped (the portable twin clamps, to the same effect).
                *s.get_unchecked_mut(b) = _mm_cvtsi128_si32(sum);
            }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn matmul(w: &PackedMatrix, a: &QuantActs, rows: usize, y: &mut [f32]) {
        let groups = w.nout / 8;
        let mut t0 = 0;
        while t0 < rows {
            let t1 = (t0 + TILE).min(rows);
            let mut g = 0;
            while g < groups {
                let gn = if g + 3 < groups {
                    4
                } else if g + 1 < groups {
                    2
                } else {
                    1
                };
                let mut t = t0;
                while t < t1 {
                    let tn = if t + 1 < t1 { 2 } else { 1 };
                    // SAFETY: g + gn ≤ groups and t + tn ≤ rows, so every pointer the tile
                    // reads or writes is inside w, a and y.
                    unsafe {
                        match (gn, tn) {
                            (4, 2) => tile::<4, 2>(w, a, g, t, y),
                            (4, 1) => tile::<4, 1>(w, a, g, t, y),
                            (2, 2) => tile::<2, 2>(w, a, g, t, y),
                            (2, 1) => tile::<2, 1>(w, a, g, t, y),
                            (1, 2) => tile::<1, 2>(w, a, g, t, y),
                            _ => tile::<1, 1>(w, a, g, t, y),
                        }
                    }
                    t += tn;
                }
                g += gn;
            }
            t0 = t1;
        }
    }

    /// G row groups (8 rows each) times T tokens. The hot tile is 4 × 2 (32 rows, two
    /// tokens): eight 16-bit sums in flight, six loads per eight products; its float sums
    /// live in memory between blocks (the registers hold the integer ones).
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn tile<const G: usize, const T: usize>(
        w: &PackedMatrix,
        a: &QuantActs,
        g0: usize,
        t0: usize,
        y: &mut [f32],
    ) {
        let nin = w.nin;
        let nb = nin / QK;
        let ones = _mm256_set1_epi16(1);
        let mut f = [[_mm256_setzero_ps(); T]; G];
        let wp = w.packed.as_ptr();
        let ap = a.q.as_ptr();
        for b in 0..nb {
            let mut s = [[_mm256_setzero_si256(); T]; G];
            for k in 0..8 {
                let mut x = [_mm256_setzero_si256(); T];
                for (t, xt) in x.iter_mut().enumerate() {
                    // SAFETY: token t0 + t < rows, byte b·32 + 4k + 3 < nin.
                    let v = unsafe {
                        std::ptr::read_unaligned(
                            ap.add((t0 + t) * nin + b * QK + k * 4) as *const i32
                        )
                    };
                    *xt = _mm256_set1_epi32(v);
                }
                for (g, sg) in s.iter_mut().enumerate() {
                    // SAFETY: group g0 + g < nout / 8: its block b, step k is 32 bytes inside.
                    let wv = unsafe {
                        _mm256_loadu_si256(
                            wp.add(((g0 + g) * nb + b) * 256 + k * 32) as *const __m256i
                        )
                    };
                    for t in 0..T {
                        let p = _mm256_maddubs_epi16(wv, x[t]);
                        if k == 0 {
                            sg[t] = p;
                        } else {
                            // SAFETY: AVX2 is enabled in this function.
                            unsafe {
                                add16!(sg[t], p);
                            }
                        }
                    }
                }
            }
            let mut da = [_mm256_setzero_ps(); T];
            let mut sa = [_mm256_setzero_si256(); T];
            for t in 0..T {
                // SAFETY: token t0 + t < rows has a scale and a sum for block b.
                unsafe {
                    da[t] = _mm256_set1_ps(*a.d.get_unchecked((t0 + t) * nb + b));
                    sa[t] = _mm256_set1_epi32(8 * *a.s.get_unchecked((t0 + t) * nb + b));
                }
            }
            for g in 0..G {
                // SAFETY: the scales of group g0 + g, block b: 8 floats inside.
                let sc = unsafe { _mm256_loadu_ps(w.scales.as_ptr().add(((g0 + g) * nb + b) * 8)) };
                for t in 0..T {
                    let i = _mm256_sub_epi32(_mm256_madd_epi16(s[g][t], ones), sa[t]);
                    f[g][t] =
                        _mm256_fmadd_ps(_mm256_cvtepi32_ps(i), _mm256_mul_ps(sc, da[t]), f[g][t]);
                }
            }
        }
        for g in 0..G {
            // SAFETY: 8 biases of group g0 + g.
            let bias = unsafe { _mm256_loadu_ps(w.bias.as_ptr().add((g0 + g) * 8)) };
            for t in 0..T {
                let o = (t0 + t) * w.nout + (g0 + g) * 8;
                debug_assert!(o + 8 <= y.len());
                // SAFETY: token t0 + t < rows and y holds rows · nout floats.
                unsafe { _mm256_storeu_ps(y.as_mut_ptr().add(o), _mm256_add_ps(f[g][t], bias)) };
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use super::{PackedMatrix, QK, QuantActs};
    use std::arch::x86_64::*;

    /// Tokens whose activations stay in cache while every row group passes over them.
    const TILE: usize = 32;

    #[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512vnni")]
    pub unsafe fn matmul(w: &PackedMatrix, a: &QuantActs, rows: usize, y: &mut [f32]) {
        let groups = w.nout / 8;
        let mut t0 = 0;
        while t0 < rows {
            let t1 = (t0 + TILE).min(rows);
            let mut g = 0;
            while g < groups {
                let gn = (groups - g).min(2);
                let mut t = t0;
                while t < t1 {
                    let tn = (t1 - t).min(4);
                    // SAFETY: g + gn ≤ groups and t + tn ≤ rows, so every pointer the tile
                    // reads or writes is inside w, a and y.
                    unsafe {
                        match (gn, tn) {
                            (2, 4) => tile::<2, 4>(w, a, g, t, y),
                            (2, 3) => tile::<2, 3>(w, a, g, t, y),
                            (2, 2) => tile::<2, 2>(w, a, g, t, y),
                            (2, _) => tile::<2, 1>(w, a, g, t, y),
                            (_, 4) => tile::<1, 4>(w, a, g, t, y),
                            (_, 3) => tile::<1, 3>(w, a, g, t, y),
                            (_, 2) => tile::<1, 2>(w, a, g, t, y),
                            _ => tile::<1, 1>(w, a, g, t, y),
                        }
                    }
                    t += tn;
                }
                g += gn;
            }
            t0 = t1;
        }
    }

    /// G row groups (8 rows each) times T tokens. Each block's integer sums start at
    /// `-8 · Σa` (the nibbles' offset) so that `vpdpbusd` leaves the signed dot product.
    #[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512vnni")]
    #[inline]
    unsafe fn tile<const G: usize, const T: usize>(
        w: &PackedMatrix,
        a: &QuantActs,
        g0: usize,
        t0: usize,
        y: &mut [f32],
    ) {
        let nin = w.nin;
        let nb = nin / QK;
        let mut f = [[_mm256_setzero_ps(); T]; G];
        // SAFETY (whole body): the caller guarantees groups g0..g0 + G and tokens t0..t0 + T
        // exist, so every offset below stays inside packed, scales, q, d, s and y.
        unsafe {
            let wp = w.packed.as_ptr().add(g0 * nb * 256);
            let ap = a.q.as_ptr().add(t0 * nin);
            for b in 0..nb {
                let mut s = [[_mm256_setzero_si256(); T]; G];
                let mut da = [_mm256_setzero_ps(); T];
                for t in 0..T {
                    let off = _mm256_set1_epi32(-8 * *a.s.get_unchecked((t0 + t) * nb + b));
                    for g in 0..G {
                        s[g][t] = off;
                    }
                    da[t] = _mm256_set1_ps(*a.d.get_unchecked((t0 + t) * nb + b));
                }
                for k in 0..8 {
                    let mut x = [_mm256_setzero_si256(); T];
                    for t in 0..T {
                        x[t] = _mm256_set1_epi32(std::ptr::read_unaligned(
                            ap.add(t * nin + b * QK + k * 4) as *const i32,
                        ));
                    }
                    for g in 0..G {
                        let wv = _mm256_loadu_si256(
                            wp.add((g * nb + b) * 256 + k * 32) as *const __m256i
                        );
                        for t in 0..T {
                            s[g][t] = _mm256_dpbusd_epi32(s[g][t], wv, x[t]);
                        }
                    }
                }
                for g in 0..G {
                    let sc = _mm256_loadu_ps(w.scales.as_ptr().add(((g0 + g) * nb + b) * 8));
                    for t in 0..T {
                        f[g][t] = _mm256_fmadd_ps(
                            _mm256_cvtepi32_ps(s[g][t]),
                            _mm256_mul_ps(sc, da[t]),
                            f[g][t],
                        );
                    }
                }
            }
            for g in 0..G {
                let bias = _mm256_loadu_ps(w.bias.as_ptr().add((g0 + g) * 8));
                for t in 0..T {
                    let o = y.as_mut_ptr().add((t0 + t) * w.nout + (g0 + g) * 8);
                    _mm256_storeu_ps(o, _mm256_add_ps(f[g][t], bias));
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod vnni512 {
    use super::{PackedMatrix, QK, QuantActs};
    use std::arch::x86_64::*;

    /// Tokens whose activations stay in cache while every row group passes over them.
    const TILE: usize = 48;
    /// Row groups of one tile.
    const GT: usize = 2;
    /// Tokens of one tile. GT · TT accumulators in flight hide the latency of `vpdpbusd` (about
    /// 6 cycles, two issued a cycle on recent Intel cores) with the float accumulators still in
    /// registers: 2 · 12 of the 32, plus the weights and a broadcast.
    const TT: usize = 6;

    /// Where a tile's results go: float outputs, or (`GELU`) GELU of them quantized as
    /// [`super::quantize_portable`] quantizes, one block of 32 outputs per token and pair of
    /// row groups.
    struct Sink {
        y: *mut f32,
        q: *mut i8,
        d: *mut f32,
        s: *mut i32,
    }

    #[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512vnni")]
    pub unsafe fn matmul(w: &PackedMatrix, a: &QuantActs, rows: usize, y: &mut [f32]) {
        let out = Sink {
            y: y.as_mut_ptr(),
            q: std::ptr::null_mut(),
            d: std::ptr::null_mut(),
            s: std::ptr::null_mut(),
        };
        // SAFETY: the caller's guarantees, and y holds rows · nout values.
        unsafe { run::<false>(w, a, rows, &out) }
    }

    /// GELU of `a` times `w`, quantized into `out` (the next product's input) without the
    /// float outputs ever reaching memory: they would be four times the bytes, written once and
    /// read twice, evicting the weights from L2. `w.nout` must be a multiple of 32.
    #[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512vnni")]
    pub unsafe fn matmul_gelu_quantized(
        w: &PackedMatrix,
        a: &QuantActs,
        rows: usize,
        out: &mut QuantActs,
    ) {
        debug_assert!(w.nout.is_multiple_of(32));
        out.nin = w.nout;
        out.q.resize(rows * w.nout, 0);
        out.d.resize(rows * w.nout / QK, 0.0);
        out.s.resize(rows * w.nout / QK, 0);
        let sink = Sink {
            y: std::ptr::null_mut(),
            q: out.q.as_mut_ptr(),
            d: out.d.as_mut_ptr(),
            s: out.s.as_mut_ptr(),
        };
        // SAFETY: the caller's guarantees; out holds rows · nout values and rows · nout / 32
        // blocks; with nout a multiple of 32 every tile has two row groups.
        unsafe { run::<true>(w, a, rows, &sink) }
    }

    #[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512vnni")]
    unsafe fn run<const GELU: bool>(w: &PackedMatrix, a: &QuantActs, rows: usize, y: &Sink) {
        let groups = w.nout / 16;
        let mut t0 = 0;
        while t0 < rows {
            let t1 = (t0 + TILE).min(rows);
            let mut g = 0;
            while g < groups {
                let gn = if groups - g >= GT { GT } else { 1 };
                let mut t = t0;
                while t < t1 {
                    let tn = (t1 - t).min(TT);
                    // SAFETY: g + gn ≤ groups and t + tn ≤ rows, so every pointer the tile
                    // reads or writes is inside w, a and y.
                    unsafe {
                        match (gn == GT, tn) {
                            (true, TT) => tile::<GT, TT, GELU>(w, a, g, t, y),
                            (true, 5) => tile::<GT, 5, GELU>(w, a, g, t, y),
                            (true, 4) => tile::<GT, 4, GELU>(w, a, g, t, y),
                            (true, 3) => tile::<GT, 3, GELU>(w, a, g, t, y),
                            (true, 2) => tile::<GT, 2, GELU>(w, a, g, t, y),
                            (true, _) => tile::<GT, 1, GELU>(w, a, g, t, y),
                            (false, TT) => tile::<1, TT, false>(w, a, g, t, y),
                            (false, 5) => tile::<1, 5, false>(w, a, g, t, y),
                            (false, 4) => tile::<1, 4, false>(w, a, g, t, y),
                            (false, 3) => tile::<1, 3, false>(w, a, g, t, y),
                            (false, 2) => tile::<1, 2, false>(w, a, g, t, y),
                            (false, _) => tile::<1, 1, false>(w, a, g, t, y),
                        }
                    }
                    t += tn;
                }
                g += gn;
            }
            t0 = t1;
        }
    }

    /// The fused epilogue of [`matmul_gelu_quantized`]: for each token, the 32 outputs of row
    /// groups g0 and g0 + 1 (sums `f0`, `f1`) scaled, biased, through GELU and quantized as one
    /// block. Kept out of line: inlined, its constants stay in registers across the tile's
    /// loop and push its accumulators out of them.
    #[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512vnni")]
    #[inline(never)]
    unsafe fn gelu_quantize_tokens<const T: usize>(
        w: &PackedMatrix,
        f0: &[__m512; T],
        f1: &[__m512; T],
        g0: usize,
        t0: usize,
        y: &Sink,
    ) {
        // SAFETY: the tile's caller guarantees rows g0, g0 + 1 and tokens t0.. of the sink.
        unsafe {
            let bias = [0, 1].map(|g| _mm512_loadu_ps(w.bias.as_ptr().add((g0 + g) * 16)));
            let sc = [0, 1].map(|g| _mm512_loadu_ps(w.row_scales.as_ptr().add((g0 + g) * 16)));
            let blocks = w.nout / QK;
            let c = phi_tables();
            // Stage by stage over the tile's tokens, so that their chains overlap.
            let mut v = [[_mm512_setzero_ps(); 2]; T];
            for t in 0..T {
                v[t][0] = gelu16(_mm512_fmadd_ps(f0[t], sc[0], bias[0]), &c);
                v[t][1] = gelu16(_mm512_fmadd_ps(f1[t], sc[1], bias[1]), &c);
            }
            let mut m = [_mm512_setzero_ps(); T];
            for t in 0..T {
                m[t] = _mm512_max_ps(_mm512_abs_ps(v[t][0]), _mm512_abs_ps(v[t][1]));
            }
            // Maxima in every lane: halves, quarters, pairs, neighbours.
            for t in 0..T {
                m[t] = _mm512_max_ps(m[t], _mm512_shuffle_f32x4::<0b01_00_11_10>(m[t], m[t]));
            }
            for t in 0..T {
                m[t] = _mm512_max_ps(m[t], _mm512_shuffle_f32x4::<0b10_11_00_01>(m[t], m[t]));
            }
            for t in 0..T {
                m[t] = _mm512_max_ps(m[t], _mm512_permute_ps::<0b01_00_11_10>(m[t]));
            }
            for t in 0..T {
                m[t] = _mm512_max_ps(m[t], _mm512_permute_ps::<0b10_11_00_01>(m[t]));
            }
            for t in 0..T {
                let amax = _mm512_cvtss_f32(m[t]);
                let dd = amax / 127.0;
                let id = _mm512_set1_ps(if dd > 0.0 { 1.0 / dd } else { 0.0 });
                let i = v[t].map(|v| _mm512_cvtps_epi32(_mm512_mul_ps(v, id)));
                let at = (t0 + t) * blocks + g0 / 2;
                let q = y.q.add(at * QK);
                _mm_storeu_si128(q as *mut __m128i, _mm512_cvtsepi32_epi8(i[0]));
                _mm_storeu_si128(q.add(16) as *mut __m128i, _mm512_cvtsepi32_epi8(i[1]));
                *y.d.add(at) = dd;
                // Unclamped sums, as in the other quantizers: |v · id| ≤ 127.
                *y.s.add(at) = _mm512_reduce_add_epi32(_mm512_add_epi32(i[0], i[1]));
            }
        }
    }

    /// [`super::gelu`] on 16 lanes as `x · Φ(x)`, Φ (the normal distribution function) from
    /// [`PHI`]'s cubic pieces: two-table permutes and three multiply-adds instead of the
    /// rational erf's ten multiply-adds and a division, which made the up projection's epilogue
    /// a fifth of its time. Within 1.2e-5 of the exact GELU everywhere, far below the 8-bit
    /// step its result is quantized to next (1/127 of its block's largest value); at and
    /// below -5 the result is 0, above 5 it is x · Φ(5).
    #[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512vnni")]
    #[inline]
    fn gelu16(v: __m512, c: &[[__m512; 2]; 4]) -> __m512 {
        let t = _mm512_fmadd_ps(v, _mm512_set1_ps(PHI_STEPS), _mm512_set1_ps(PHI_ZERO));
        // At and below -5 the result is 0 (Φ(-5) · x would grow without bound); a NaN stays.
        let above = _mm512_cmp_ps_mask::<_CMP_NLE_UQ>(t, _mm512_setzero_ps());
        // max/min also send a NaN to the first piece, so every index is in range.
        let t = _mm512_min_ps(
            _mm512_max_ps(t, _mm512_setzero_ps()),
            _mm512_set1_ps(PHI_TOP),
        );
        let i = _mm512_cvttps_epi32(t);
        let u = _mm512_sub_ps(t, _mm512_cvtepi32_ps(i));
        let k = |d: usize| _mm512_permutex2var_ps(c[d][0], i, c[d][1]);
        let mut p = k(0);
        for d in 1..4 {
            p = _mm512_fmadd_ps(p, u, k(d));
        }
        _mm512_maskz_mul_ps(above, v, p)
    }

    /// [`gelu16`] over a slice whose length is a multiple of 16, for the tests.
    #[cfg(test)]
    #[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512vnni")]
    pub(super) unsafe fn gelu_table(x: &mut [f32]) {
        let c = phi_tables();
        // SAFETY: the caller guarantees AVX-512; each chunk holds 16 floats.
        unsafe {
            for ch in x.chunks_exact_mut(16) {
                let v = gelu16(_mm512_loadu_ps(ch.as_ptr()), &c);
                _mm512_storeu_ps(ch.as_mut_ptr(), v);
            }
        }
    }

    /// [`PHI`] in registers, as [`gelu16`] takes it: per coefficient, pieces 0..16 and 16..32.
    #[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512vnni")]
    fn phi_tables() -> [[__m512; 2]; 4] {
        let phi = &*PHI;
        // SAFETY: each table holds 32 floats.
        phi.map(|t| unsafe {
            [
                _mm512_loadu_ps(t.as_ptr()),
                _mm512_loadu_ps(t.as_ptr().add(16)),
            ]
        })
    }

    /// Φ's 32 pieces on [-5, 5) in units of [`PHI_STEPS`] per 1: for piece k, with u in [0, 1)
    /// across it, Φ ≈ ((c₀u + c₁)u + c₂)u + c₃, the cubic that matches Φ and its slope at both
    /// ends (Hermite), `PHI[d][k]` holding c_d.
    static PHI: std::sync::LazyLock<[[f32; 32]; 4]> = std::sync::LazyLock::new(|| {
        let h = 1.0 / f64::from(PHI_STEPS);
        let cdf =
            |x: f64| 0.5 * (1.0 + f64::from(super::erf((x / std::f64::consts::SQRT_2) as f32)));
        let pdf = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let mut c = [[0f32; 32]; 4];
        for k in 0..32 {
            let x0 = (k as f64 - f64::from(PHI_ZERO)) * h;
            let x1 = x0 + h;
            let (p0, p1, d0, d1) = (cdf(x0), cdf(x1), h * pdf(x0), h * pdf(x1));
            c[0][k] = (2.0 * (p0 - p1) + d0 + d1) as f32;
            c[1][k] = (3.0 * (p1 - p0) - 2.0 * d0 - d1) as f32;
            c[2][k] = d0 as f32;
            c[3][k] = p0 as f32;
        }
        c
    });
    /// Pieces per unit of x, and the piece of x = 0: x = ±5 maps to 0 and 32.
    const PHI_STEPS: f32 = 3.2;
    const PHI_ZERO: f32 = 16.0;
    /// Just below 32, so that the last piece's index stays 31.
    const PHI_TOP: f32 = 31.999_998;

    /// G groups of 16 rows times T tokens, as [`super::vnni`]'s tile with twice the rows per
    /// instruction: half the loads and broadcasts per product.
    #[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512vnni")]
    #[inline]
    unsafe fn tile<const G: usize, const T: usize, const GELU: bool>(
        w: &PackedMatrix,
        a: &QuantActs,
        g0: usize,
        t0: usize,
        y: &Sink,
    ) {
        let nin = w.nin;
        let nb = nin / QK;
        let mut f = [[_mm512_setzero_ps(); T]; G];
        // SAFETY (whole body): the caller guarantees groups g0..g0 + G and tokens t0..t0 + T
        // exist, so every offset below stays inside packed, scales, q, d, s and y.
        unsafe {
            let wp = w.packed.as_ptr().add(g0 * nb * 512);
            let ap = a.q.as_ptr().add(t0 * nin);
            for b in 0..nb {
                let mut s = [[_mm512_setzero_si512(); T]; G];
                let mut da = [_mm512_setzero_ps(); T];
                for t in 0..T {
                    let off = _mm512_set1_epi32(-128 * *a.s.get_unchecked((t0 + t) * nb + b));
                    for g in 0..G {
                        s[g][t] = off;
                    }
                    da[t] = _mm512_set1_ps(*a.d.get_unchecked((t0 + t) * nb + b));
                }
                for k in 0..8 {
                    let mut x = [_mm512_setzero_si512(); T];
                    for t in 0..T {
                        x[t] = _mm512_set1_epi32(std::ptr::read_unaligned(
                            ap.add(t * nin + b * QK + k * 4) as *const i32,
                        ));
                    }
                    for g in 0..G {
                        let wv = _mm512_loadu_si512(
                            wp.add((g * nb + b) * 512 + k * 64) as *const __m512i
                        );
                        for t in 0..T {
                            s[g][t] = _mm512_dpbusd_epi32(s[g][t], wv, x[t]);
                        }
                    }
                }
                for g in 0..G {
                    for t in 0..T {
                        f[g][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[g][t]), da[t], f[g][t]);
                    }
                }
            }
            if GELU && G == 2 {
                let f: &[[__m512; T]] = &f;
                gelu_quantize_tokens::<T>(w, &f[0], &f[1], g0, t0, y);
                return;
            }
            for g in 0..G {
                let bias = _mm512_loadu_ps(w.bias.as_ptr().add((g0 + g) * 16));
                let sc = _mm512_loadu_ps(w.row_scales.as_ptr().add((g0 + g) * 16));
                for t in 0..T {
                    let o = y.y.add((t0 + t) * w.nout + (g0 + g) * 16);
                    _mm512_storeu_ps(o, _mm512_fmadd_ps(f[g][t], sc, bias));
                }
            }
        }
    }
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod amx {
    //! Matrix products on the AMX tile unit in bfloat16. Per output tile of 32 tokens × 32
    //! rows: for each block of 32 inputs, two 16 × 32 tiles of activations and two 16 × 32
    //! tiles of weights (pairs of inputs interleaved, as `tdpbf16ps` reads them), four
    //! `tdpbf16ps` adding into four 16 × 16 tiles of f32 sums, which stay in the tile unit
    //! until the last block. Eight tile registers: tmm0..3 sums, tmm4, tmm5 activations,
    //! tmm6, tmm7 weights.
    use super::{PackedMatrix, QK, QuantActs};
    use std::arch::asm;
    use std::arch::x86_64::*;
    use std::sync::OnceLock;

    /// `ARCH_REQ_XCOMP_PERM` and `XFEATURE_XTILEDATA` of Linux's `asm/prctl.h`.
    const ARCH_REQ_XCOMP_PERM: libc::c_ulong = 0x1023;
    const XFEATURE_XTILEDATA: libc::c_ulong = 18;

    /// Whether the processor has AMX-TILE and AMX-BF16 and Linux lets this process use the
    /// tiles (asked once: the leave is per process and needed before the first tile
    /// instruction, which would otherwise be an illegal instruction).
    pub fn permitted() -> bool {
        static OK: OnceLock<bool> = OnceLock::new();
        *OK.get_or_init(|| {
            // CPUID leaf 7, EDX: bit 22 AMX-BF16, bit 24 AMX-TILE.
            let edx = __cpuid_count(7, 0).edx;
            let want = (1 << 22) | (1 << 24);
            if edx & want != want {
                return false;
            }
            // SAFETY: arch_prctl with this request only reads its two integer arguments.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_arch_prctl,
                    ARCH_REQ_XCOMP_PERM,
                    XFEATURE_XTILEDATA,
                )
            };
            r == 0
        })
    }

    /// The 64-byte tile configuration of palette 1: eight tiles of 16 rows × 64 bytes.
    #[repr(C, align(64))]
    struct TileConfig {
        palette: u8,
        start_row: u8,
        reserved: [u8; 14],
        colsb: [u16; 8],
        reserved2: [u16; 8],
        rows: [u8; 8],
        reserved3: [u8; 8],
    }

    const CONFIG: TileConfig = TileConfig {
        palette: 1,
        start_row: 0,
        reserved: [0; 14],
        colsb: [64; 8],
        reserved2: [0; 8],
        rows: [16; 8],
        reserved3: [0; 8],
    };

    /// One output tile's sums as they leave the tile unit.
    #[repr(C, align(64))]
    struct Sums([[f32; 256]; 4]);

    /// [`super::to_bf16`] on 16 lanes at a time (the tail one by one).
    ///
    /// # Safety
    /// The processor must have AVX-512 F; `out` must be at least as long as `x`.
    #[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
    pub unsafe fn to_bf16(x: &[f32], out: &mut [u16]) {
        debug_assert!(out.len() >= x.len());
        let n = x.len() / 16 * 16;
        let one = _mm512_set1_epi32(1);
        let half = _mm512_set1_epi32(0x7fff);
        // SAFETY: i + 16 ≤ n ≤ x.len() ≤ out.len().
        unsafe {
            for i in (0..n).step_by(16) {
                let u = _mm512_castps_si512(_mm512_loadu_ps(x.as_ptr().add(i)));
                let odd = _mm512_and_si512(_mm512_srli_epi32::<16>(u), one);
                let r = _mm512_srli_epi32::<16>(_mm512_add_epi32(_mm512_add_epi32(u, half), odd));
                _mm256_storeu_si256(
                    out.as_mut_ptr().add(i) as *mut __m256i,
                    _mm512_cvtepi32_epi16(r),
                );
            }
        }
        for (o, &v) in out[n..].iter_mut().zip(&x[n..]) {
            *o = super::to_bf16(v);
        }
    }

    /// `w` must be laid out as tiles (rows padded to a multiple of 32) and `a` hold bfloat16
    /// activations padded to whole tiles of 32 tokens, as [`QuantActs::quantize`] leaves them.
    ///
    /// # Safety
    /// [`permitted`] must have returned true, and the processor must have AVX-512 F.
    #[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
    pub unsafe fn matmul(w: &PackedMatrix, a: &QuantActs, rows: usize, y: &mut [f32]) {
        let (nin, nout) = (w.nin, w.nout);
        let nb = nin / QK;
        assert!(w.tiles && nin.is_multiple_of(QK) && w.bias.len() >= nout.next_multiple_of(32));
        assert!(a.bf16.len() >= rows.next_multiple_of(32) * nin && y.len() >= rows * nout);
        let mut sums = Sums([[0.0; 256]; 4]);
        // Bytes between one token's activations and the next's.
        let stride = nin * 2;
        // SAFETY (whole body): tiles read 32 tokens from t0 (inside the padded activations, by
        // the assertion) and groups g, g + 1 (inside the padded rows); stores stay below rows
        // and nout.
        unsafe {
            asm!("ldtilecfg [{0}]", in(reg) &CONFIG as *const TileConfig, options(nostack));
            let mut t0 = 0;
            while t0 < rows {
                let live = (rows - t0).min(32);
                for g in (0..nout.div_ceil(32) * 2).step_by(2) {
                    asm!(
                        "tilezero tmm0",
                        "tilezero tmm1",
                        "tilezero tmm2",
                        "tilezero tmm3",
                        options(nostack, nomem)
                    );
                    let a0 = a.bf16.as_ptr().add(t0 * nin);
                    let w0 = w.bf16.as_ptr().add(g * nb * 512);
                    let w1 = w.bf16.as_ptr().add((g + 1) * nb * 512);
                    for b in 0..nb {
                        asm!(
                            "tileloadd tmm4, [{a0} + {sa} * 1]",
                            "tileloadd tmm5, [{a1} + {sa} * 1]",
                            "tileloadd tmm6, [{w0} + {sw} * 1]",
                            "tileloadd tmm7, [{w1} + {sw} * 1]",
                            "tdpbf16ps tmm0, tmm4, tmm6",
                            "tdpbf16ps tmm1, tmm4, tmm7",
                            "tdpbf16ps tmm2, tmm5, tmm6",
                            "tdpbf16ps tmm3, tmm5, tmm7",
                            a0 = in(reg) a0.add(b * QK),
                            a1 = in(reg) a0.add(16 * nin + b * QK),
                            sa = in(reg) stride,
                            w0 = in(reg) w0.add(b * 512),
                            w1 = in(reg) w1.add(b * 512),
                            sw = in(reg) 64usize,
                            options(nostack, readonly),
                        );
                    }
                    let c = sums.0.as_mut_ptr() as *mut u8;
                    asm!(
                        "tilestored [{c0} + {sw} * 1], tmm0",
                        "tilestored [{c1} + {sw} * 1], tmm1",
                        "tilestored [{c2} + {sw} * 1], tmm2",
                        "tilestored [{c3} + {sw} * 1], tmm3",
                        c0 = in(reg) c,
                        c1 = in(reg) c.add(1024),
                        c2 = in(reg) c.add(2048),
                        c3 = in(reg) c.add(3072),
                        sw = in(reg) 64usize,
                        options(nostack),
                    );
                    // Tile k: tokens 16 · (k / 2).., rows of group g + k % 2.
                    for k in 0..4 {
                        let gk = g + k % 2;
                        // Rows past nout (the padding) are not stored.
                        let Some(n) = nout.checked_sub(gk * 16).filter(|&n| n > 0) else {
                            continue;
                        };
                        let mask: __mmask16 = if n >= 16 { 0xffff } else { (1 << n) - 1 };
                        let bias = _mm512_loadu_ps(w.bias.as_ptr().add(gk * 16));
                        let first = 16 * (k / 2);
                        for r in 0..live.saturating_sub(first).min(16) {
                            let t = t0 + first + r;
                            let v = _mm512_load_ps(sums.0[k].as_ptr().add(r * 16));
                            _mm512_mask_storeu_ps(
                                y.as_mut_ptr().add(t * nout + gk * 16),
                                mask,
                                _mm512_add_ps(v, bias),
                            );
                        }
                    }
                }
                t0 += 32;
            }
            asm!("tilerelease", options(nostack, nomem));
        }
    }
}

/// f32 to bfloat16, rounding to nearest even (no NaN here: model weights and activations).
#[inline(always)]
pub fn to_bf16(v: f32) -> u16 {
    let u = v.to_bits();
    (u.wrapping_add(0x7fff + ((u >> 16) & 1)) >> 16) as u16
}

/// `x = LayerNorm(x + y)` over one row (`y` absent: `LayerNorm(x)`).
#[inline(always)]
pub fn add_layernorm(x: &mut [f32], y: Option<&[f32]>, w: &[f32], b: &[f32], eps: f32) {
    if let Some(y) = y {
        for (a, &c) in x.iter_mut().zip(y) {
            *a += c;
        }
    }
    let n = x.len() as f32;
    let mean = sum(x) / n;
    let mut acc = [0f32; 8];
    for c in x.chunks_exact(8) {
        for l in 0..8 {
            let d = c[l] - mean;
            acc[l] += d * d;
        }
    }
    let var = acc.iter().sum::<f32>() / n;
    let inv = 1.0 / (var + eps).sqrt();
    for ((v, &w), &b) in x.iter_mut().zip(w).zip(b) {
        *v = (*v - mean) * inv * w + b;
    }
}

/// Sum with eight running lanes (vectorizes; the length is a multiple of 8 here).
#[inline(always)]
pub fn sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let mut it = x.chunks_exact(8);
    for c in &mut it {
        for l in 0..8 {
            acc[l] += c[l];
        }
    }
    acc.iter().sum::<f32>() + it.remainder().iter().sum::<f32>()
}

/// Maximum with eight running lanes.
#[inline(always)]
pub fn max(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 8];
    let mut it = x.chunks_exact(8);
    for c in &mut it {
        for l in 0..8 {
            acc[l] = if c[l] > acc[l] { c[l] } else { acc[l] };
        }
    }
    let m = acc
        .iter()
        .fold(f32::NEG_INFINITY, |a, &b| if b > a { b } else { a });
    it.remainder()
        .iter()
        .fold(m, |a, &b| if b > a { b } else { a })
}

/// erf(x) by a rational approximation on [-4, 4] (within 1e-6 in f32 arithmetic; beyond, ±1).
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = ERF_NUM[0];
    for &c in &ERF_NUM[1..] {
        p = p * x2 + c;
    }
    let mut q = ERF_DEN[0];
    for &c in &ERF_DEN[1..] {
        q = q * x2 + c;
    }
    x * p / q
}

/// [`erf`]'s numerator (times x) and denominator, polynomials in x², highest power first; the
/// vector GELUs use the same.
const ERF_NUM: [f32; 7] = [
    -2.726_142_3e-10,
    2.770_681_4e-8,
    -2.101_024e-6,
    -5.692_506_4e-5,
    -7.349_906_3e-4,
    -2.954_6e-3,
    -1.609_603_3e-2,
];
const ERF_DEN: [f32; 5] = [
    -1.456_607_2e-5,
    -2.133_740_6e-4,
    -1.682_827e-3,
    -7.373_329e-3,
    -1.426_474e-2,
];

/// GELU (erf form, as BERT defines it) in place.
#[inline(always)]
pub fn gelu(x: &mut [f32]) {
    for v in x {
        *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// e^x for x ≤ 0 down to underflow (softmax after subtracting the maximum), relative error
/// about 2e-7: 2^n times a degree-5 polynomial on [-ln2/2, ln2/2].
#[inline(always)]
pub fn exp_neg(x: f32) -> f32 {
    let x = x.max(-87.0);
    // 1.5 · 2^23 added rounds to an integer held in the low mantissa bits: n as a float, and
    // as an integer by the bits, with no conversion (which would not vectorize as well).
    let t = x * std::f32::consts::LOG2_E + 12_582_912.0;
    let n = t - 12_582_912.0;
    let ni = (t.to_bits() as i32).wrapping_sub(0x4b40_0000);
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 0.166_666_65;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    f32::from_bits(e.to_bits().wrapping_add((ni << 23) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn erf_is_close() {
        let mut worst = 0f64;
        for i in -6000..=6000 {
            let x = i as f32 / 1000.0;
            let want = libm_erf(f64::from(x));
            worst = worst.max((f64::from(erf(x)) - want).abs());
        }
        assert!(worst < 1e-6, "{worst}");
    }

    /// erf by its series / continued fraction in f64, for the test.
    fn libm_erf(x: f64) -> f64 {
        if x.abs() < 2.5 {
            let mut sum = 0.0;
            let mut term = x;
            let mut n = 0.0;
            while term.abs() > 1e-17 {
                sum += term / (2.0 * n + 1.0);
                n += 1.0;
                term *= -x * x / n;
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            // erfc continued fraction.
            let z = x.abs();
            let mut f = 0.0;
            for k in (1..60).rev() {
                f = (k as f64 / 2.0) / (z + f);
            }
            let erfc = (-z * z).exp() / std::f64::consts::PI.sqrt() / (z + f);
            x.signum() * (1.0 - erfc)
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn table_gelu_is_close() {
        if !Isa::available().contains(&Isa::Avx512Vnni) {
            return;
        }
        let mut xs: Vec<f32> = (0..48_000)
            .map(|i| (i as f32 - 24_000.0) / 2_000.0)
            .collect();
        xs.extend([
            f32::MAX,
            f32::MIN,
            f32::INFINITY,
            1e-30,
            -1e-30,
            0.0,
            -0.0,
            5.0,
            -5.0,
            4.999,
        ]);
        xs.resize(xs.len().next_multiple_of(16), 0.0);
        let mut got = xs.clone();
        // SAFETY: the processor has AVX-512 (checked above); got's length is a multiple of 16.
        unsafe { vnni512::gelu_table(&mut got) };
        for (&x, &g) in xs.iter().zip(&got) {
            let x64 = f64::from(x);
            let want = 0.5 * x64 * (1.0 + libm_erf(x64 / std::f64::consts::SQRT_2));
            if want.is_infinite() {
                assert_eq!(f64::from(g), want);
                continue;
            }
            assert!(
                (f64::from(g) - want).abs() <= 1.5e-5 + 1e-6 * want.abs(),
                "gelu({x}) = {g}, want {want}"
            );
        }
        let mut nan = [f32::NAN; 16];
        // SAFETY: as above.
        unsafe { vnni512::gelu_table(&mut nan) };
        assert!(nan.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn exp_is_close() {
        for i in 0..=8700 {
            let x = -(i as f32) / 100.0;
            let (got, want) = (f64::from(exp_neg(x)), f64::from(x).exp());
            assert!(
                ((got - want) / want).abs() < 5e-7,
                "exp({x}) = {got}, not {want}"
            );
        }
        assert_eq!(exp_neg(0.0), 1.0);
    }

    fn q4_rows(nout: usize, nin: usize, seed: u64) -> Vec<u8> {
        let mut s = seed;
        let mut next = move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) as u32
        };
        let mut out = Vec::new();
        for _ in 0..nout * nin / QK {
            // A scale between 2^-9 and 2^-5 as f16 bits, then 16 random bytes.
            let h: u16 = 0x1800 + (next() % 0x1000) as u16;
            out.extend_from_slice(&h.to_le_bytes());
            for _ in 0..16 {
                out.push(next() as u8);
            }
        }
        out
    }

    /// Weight `j` of block `b` of row `o` of Q4_0 rows `w` (`blocks` a row), dequantized.
    fn dequantized(w: &[u8], blocks: usize, o: usize, b: usize, j: usize) -> f64 {
        let blk = &w[(o * blocks + b) * Q4_BLOCK..];
        let d = f64::from(q4_scale(blk));
        let q = q4_nibble(blk, j);
        (f64::from(q) - 8.0) * d
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// The fused up projection (GELU and quantization in the kernel's epilogue) against the
        /// same steps one after the other: the same blocks but for a rounding of GELU (fused
        /// multiply-adds there) that can move a value across a quantization boundary.
        #[test]
        fn fused_gelu_quantization_equals_the_steps(
            pairs in 1usize..4, blocks in 1usize..5, rows in 1usize..20, seed in any::<u64>(),
            xs in proptest::collection::vec(-4.0f32..4.0, 128 * 20),
        ) {
            let (nout, nin) = (pairs * 32, blocks * QK);
            let w = q4_rows(nout, nin, seed);
            let bias: Vec<f32> = (0..nout).map(|i| (i as f32 * 0.37).sin()).collect();
            for isa in Isa::available() {
                let m = PackedMatrix::from_q4(isa, &[&w], nin, bias.clone());
                let mut a = QuantActs::default();
                a.quantize(isa, &xs, rows, nin);
                let mut y = vec![0f32; rows * nout];
                matmul(isa, &m, &a, rows, &mut y);
                gelu(&mut y);
                let mut want = QuantActs::default();
                want.quantize(isa, &y, rows, nout);
                let mut got = QuantActs::default();
                let mut scratch = vec![0f32; rows * nout];
                matmul_gelu_quantized(isa, &m, &a, rows, &mut scratch, &mut got);
                if isa == Isa::Amx {
                    prop_assert_eq!(&got.bf16[..rows * nout], &want.bf16[..rows * nout]);
                    continue;
                }
                prop_assert_eq!(got.nin, nout);
                for (b, (gd, wd)) in got.d.iter().zip(&want.d).enumerate() {
                    // The 512-bit epilogue's GELU is within 1.2e-5 of the exact one, so a block's
                    // largest value, and its scale (1/127 of it), may differ by that much.
                    prop_assert!((gd - wd).abs() <= 1e-5 * wd.abs() + 2e-7, "{isa:?} block {b}: scale {gd} vs {wd}");
                    for j in 0..QK {
                        let (g, w) = (got.q[b * QK + j], want.q[b * QK + j]);
                        prop_assert!((i32::from(g) - i32::from(w)).abs() <= 1, "{isa:?} block {b}: {g} vs {w}");
                    }
                    let sum: i32 = got.q[b * QK..(b + 1) * QK].iter().map(|&v| i32::from(v)).sum();
                    prop_assert_eq!(sum, got.s[b]);
                }
            }
        }

        #[test]
        fn vector_kernels_equal_portable(
            groups in 1usize..9, blocks in 1usize..5, rows in 1usize..40, seed in any::<u64>(),
            xs in proptest::collection::vec(-4.0f32..4.0, 160 * 40),
        ) {
            let (nout, nin) = (groups * 8, blocks * QK);
            let w = q4_rows(nout, nin, seed);
            let bias: Vec<f32> = (0..nout).map(|i| i as f32 * 0.01).collect();
            let m = PackedMatrix::from_q4(Isa::Portable, &[&w], nin, bias.clone());
            let mut a = QuantActs::default();
            a.quantize(Isa::Portable, &xs, rows, nin);
            // The integer kernels quantize as the reference and, but for the order of float
            // additions and the 512-bit kernel's weights in 8 bits, compute its products.
            let exact: Vec<Isa> = Isa::available().into_iter().filter(|&i| i != Isa::Amx).collect();
            for &isa in &exact {
                let mut fast = QuantActs::default();
                fast.quantize(isa, &xs, rows, nin);
                prop_assert_eq!(&a.q, &fast.q);
                prop_assert_eq!(&a.d, &fast.d);
                prop_assert_eq!(&a.s, &fast.s);
            }
            let mut want = vec![0f32; rows * nout];
            matmul_portable(&m, &a, rows, &mut want);
            // The portable kernel against plain dequantized arithmetic.
            for t in 0..rows {
                for o in 0..nout {
                    let mut acc = 0f64;
                    for b in 0..blocks {
                        for j in 0..QK {
                            let wq = dequantized(&w, blocks, o, b, j);
                            let aq = f64::from(a.q[t * nin + b * QK + j]) * f64::from(a.d[t * blocks + b]);
                            acc += wq * aq;
                        }
                    }
                    let got = f64::from(want[t * nout + o]) - f64::from(o as f32 * 0.01);
                    prop_assert!((got - acc).abs() < 1e-3 * (1.0 + acc.abs()), "{got} vs {acc}");
                }
            }
            for &isa in &exact {
                let m = PackedMatrix::from_q4(isa, &[&w], nin, bias.clone());
                let mut got = vec![0f32; rows * nout];
                matmul(isa, &m, &a, rows, &mut got);
                if m.row_scales.is_empty() {
                    for (g, w) in got.iter().zip(&want) {
                        prop_assert!((g - w).abs() <= 1e-4 * (1.0 + w.abs()), "{isa:?}: {g} vs {w}");
                    }
                    continue;
                }
                // Weights rounded to the row's unit (its largest block scale / 16): each
                // product off by at most half a unit times the activation.
                for t in 0..rows {
                    for o in 0..nout {
                        let mag: f64 = (0..nin)
                            .map(|j| f64::from(a.q[t * nin + j]).abs() * f64::from(a.d[t * blocks + j / QK]))
                            .sum();
                        let bound = 0.5 * f64::from(m.row_scales[o]) * mag + 1e-4 * (1.0 + f64::from(want[t * nout + o]).abs());
                        let (g, w) = (f64::from(got[t * nout + o]), f64::from(want[t * nout + o]));
                        prop_assert!((g - w).abs() <= bound, "{isa:?} rows in 8 bits: {g} vs {w} (bound {bound})");
                    }
                }
            }
            // The tile kernel takes unquantized activations in bfloat16 (8 significant bits)
            // and weights dequantized to it: held to the plain f64 product of the dequantized
            // weights and the activations, within bfloat16's rounding of both factors
            // (2 · 2⁻⁹ of the sum of the products' magnitudes), and a margin.
            if Isa::available().contains(&Isa::Amx) {
                let m = PackedMatrix::from_q4(Isa::Amx, &[&w], nin, bias.clone());
                let mut acts = QuantActs::default();
                acts.quantize(Isa::Amx, &xs, rows, nin);
                let mut got = vec![f32::NAN; rows * nout];
                matmul(Isa::Amx, &m, &acts, rows, &mut got);
                for t in 0..rows {
                    for o in 0..nout {
                        let (mut acc, mut mag) = (0f64, 0f64);
                        for b in 0..blocks {
                            for j in 0..QK {
                                let p = dequantized(&w, blocks, o, b, j) * f64::from(xs[t * nin + b * QK + j]);
                                acc += p;
                                mag += p.abs();
                            }
                        }
                        let g = f64::from(got[t * nout + o]) - f64::from(o as f32 * 0.01);
                        prop_assert!((g - acc).abs() <= 8e-3 * mag + 1e-5, "Amx: {g} vs {acc} (|p| {mag})");
                    }
                }
            }
        }
    }
}
