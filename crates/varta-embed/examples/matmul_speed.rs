//! Times the 4-bit × 8-bit matmul kernels alone (GMAC/s on one thread) at the encoder's shapes.
use varta_embed::kernels::{Isa, PackedMatrix, QuantActs, matmul};
fn main() {
    for (nout, nin) in [(1152usize, 384usize), (1536, 384), (384, 1536)] {
        let nb = nin / 32;
        let mut q4 = Vec::new();
        let mut s = 1u64;
        for _ in 0..nout * nb {
            q4.extend_from_slice(&0x2000u16.to_le_bytes());
            for _ in 0..16 {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
                q4.push((s >> 40) as u8);
            }
        }
        let isa = Isa::detect();
        let m = PackedMatrix::from_q4(isa, &[&q4], nin, vec![0.0; nout]);
        // The encoder reads each layer's matrix once per chunk, after eleven others: 12 copies
        // taken in turn measure the kernel with its weights coming from L3 or memory.
        let layers: Vec<PackedMatrix> = (0..12)
            .map(|_| PackedMatrix::from_q4(isa, &[&q4], nin, vec![0.0; nout]))
            .collect();
        let rows = varta_embed::encoder::CHUNK_TOKENS;
        let x: Vec<f32> = (0..rows * nin)
            .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        let mut a = QuantActs::default();
        a.quantize(isa, &x, rows, nin);
        let mut y = vec![0f32; rows * nout];
        matmul(isa, &m, &a, rows, &mut y);
        // Best of 7 runs of 10: on a shared machine the slowest runs measure the neighbours.
        let reps = 80;
        let mut best = f64::INFINITY;
        for _ in 0..7 {
            let t = std::time::Instant::now();
            for _ in 0..reps {
                matmul(isa, &m, &a, rows, &mut y);
            }
            best = best.min(t.elapsed().as_secs_f64());
        }
        let s = best;
        let macs = (reps * rows * nout * nin) as f64;
        println!("{nout}x{nin}: {:.1} GMAC/s ({:?})", macs / s / 1e9, isa);
        let mut best = f64::INFINITY;
        for _ in 0..7 {
            let t = std::time::Instant::now();
            for r in 0..reps {
                matmul(isa, &layers[r % 12], &a, rows, &mut y);
            }
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "{nout}x{nin}, 12 matrices in turn: {:.1} GMAC/s",
            macs / best / 1e9
        );
        // The feed-forward's up projection runs with GELU and quantization fused in.
        if (nout, nin) == (1536, 384) {
            let mut out = QuantActs::default();
            let mut best = f64::INFINITY;
            for _ in 0..7 {
                let t = std::time::Instant::now();
                for _ in 0..reps {
                    varta_embed::kernels::matmul_gelu_quantized(
                        isa, &m, &a, rows, &mut y, &mut out,
                    );
                }
                best = best.min(t.elapsed().as_secs_f64());
            }
            println!(
                "{nout}x{nin} + GELU + quantize: {:.1} GMAC/s",
                macs / best / 1e9
            );
        }
    }
}
