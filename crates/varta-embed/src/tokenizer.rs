//! The XLM-RoBERTa SentencePiece unigram tokenizer, as the reference engine runs it.
//!
//! Each code point goes through the file's normalization map (NFKC-like replacements, control
//! characters dropped), runs of spaces collapse to one, a leading space marker (U+2581) is
//! added unless the text starts with a space, spaces become the marker, and Viterbi picks the
//! segmentation with the highest total piece score, an unknown character costing the lowest
//! piece score minus 10. Ties and the unknown fallback are decided exactly as in `e5.c`
//! (first best path found, no merging of unknowns), so that token ids, and therefore vectors,
//! agree with the reference.

use crate::model::TokenizerData;

const META: u32 = 0x2581;

pub struct Tokenizer {
    pub bos: u32,
    pub eos: u32,
    unk: u32,
    offsets: Vec<u32>,
    scores: Vec<f32>,
    blob: Vec<u8>,
    unk_score: f32,
    max_piece_bytes: usize,
    /// Open addressing over FNV-1a of the piece bytes: piece index + 1, 0 = empty.
    table: Vec<u32>,
    mask: usize,
    /// Open addressing over the same hash of every prefix of every piece that ends where a
    /// character starts (low 32 bits, never 0; 0 = empty): Viterbi stops lengthening a
    /// candidate once no piece begins with it, instead of hashing every length up to the
    /// longest piece.
    prefixes: Vec<u32>,
    prefix_mask: usize,
    norm_cp: Vec<u32>,
    norm_off: Vec<u32>,
    norm_out: Vec<u32>,
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a continued over `s` from `h`: a piece's hash extends byte by byte.
fn fnv1a_from(mut h: u64, s: &[u8]) -> u64 {
    for &b in s {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn fnv1a(s: &[u8]) -> u64 {
    fnv1a_from(FNV_START, s)
}

/// The prefix table's key for a hash.
fn prefix_key(h: u64) -> u32 {
    (h as u32).max(1)
}

/// UTF-8 bytes of any 21-bit value, as the reference writes them (no check for surrogates).
fn encode(cp: u32, out: &mut Vec<u8>) {
    if cp < 0x80 {
        out.push(cp as u8);
    } else if cp < 0x800 {
        out.extend_from_slice(&[0xc0 | (cp >> 6) as u8, 0x80 | (cp & 0x3f) as u8]);
    } else if cp < 0x10000 {
        out.extend_from_slice(&[
            0xe0 | (cp >> 12) as u8,
            0x80 | ((cp >> 6) & 0x3f) as u8,
            0x80 | (cp & 0x3f) as u8,
        ]);
    } else {
        out.extend_from_slice(&[
            0xf0 | ((cp >> 18) & 0x07) as u8,
            0x80 | ((cp >> 12) & 0x3f) as u8,
            0x80 | ((cp >> 6) & 0x3f) as u8,
            0x80 | (cp & 0x3f) as u8,
        ]);
    }
}

impl Tokenizer {
    pub fn new(d: TokenizerData) -> Tokenizer {
        let n = d.scores.len();
        let mut min = f32::INFINITY;
        let mut max_piece_bytes = 1;
        for i in 0..n {
            min = min.min(d.scores[i]);
            max_piece_bytes = max_piece_bytes.max((d.offsets[i + 1] - d.offsets[i]) as usize);
        }
        let size = (n * 2).next_power_of_two().max(2);
        let mask = size - 1;
        let mut table = vec![0u32; size];
        for i in 0..n {
            let piece = &d.blob[d.offsets[i] as usize..d.offsets[i + 1] as usize];
            if piece.is_empty() {
                continue;
            }
            let mut h = fnv1a(piece) as usize & mask;
            while table[h] != 0 {
                h = (h + 1) & mask;
            }
            table[h] = i as u32 + 1;
        }
        let mut keys: Vec<u32> = Vec::new();
        for i in 0..n {
            let piece = &d.blob[d.offsets[i] as usize..d.offsets[i + 1] as usize];
            let mut h = FNV_START;
            for (p, &b) in piece.iter().enumerate() {
                h = fnv1a_from(h, &[b]);
                if piece.get(p + 1).is_none_or(|&next| next & 0xc0 != 0x80) {
                    keys.push(prefix_key(h));
                }
            }
        }
        keys.sort_unstable();
        keys.dedup();
        let psize = (keys.len() * 2).next_power_of_two().max(2);
        let prefix_mask = psize - 1;
        let mut prefixes = vec![0u32; psize];
        for k in keys {
            let mut h = k as usize & prefix_mask;
            while prefixes[h] != 0 {
                h = (h + 1) & prefix_mask;
            }
            prefixes[h] = k;
        }
        let mut norm_cp = Vec::with_capacity(d.norm.len());
        let mut norm_off = Vec::with_capacity(d.norm.len() + 1);
        let mut norm_out = Vec::new();
        for (cp, outs) in d.norm {
            norm_cp.push(cp);
            norm_off.push(norm_out.len() as u32);
            norm_out.extend(outs);
        }
        norm_off.push(norm_out.len() as u32);
        Tokenizer {
            bos: d.bos,
            eos: d.eos,
            unk: d.unk,
            offsets: d.offsets,
            scores: d.scores,
            blob: d.blob,
            unk_score: if n == 0 { -10.0 } else { min - 10.0 },
            max_piece_bytes,
            table,
            mask,
            prefixes,
            prefix_mask,
            norm_cp,
            norm_off,
            norm_out,
        }
    }

    /// Whether some piece starts with the bytes whose hash is `h` (false positives possible).
    fn is_prefix(&self, h: u64) -> bool {
        let key = prefix_key(h);
        let mut at = key as usize & self.prefix_mask;
        loop {
            match self.prefixes[at] {
                0 => return false,
                k if k == key => return true,
                _ => at = (at + 1) & self.prefix_mask,
            }
        }
    }

    /// The piece `s`, whose hash is `h`.
    fn lookup(&self, s: &[u8], h: u64) -> Option<usize> {
        let mut h = h as usize & self.mask;
        loop {
            let v = self.table[h];
            if v == 0 {
                return None;
            }
            let i = v as usize - 1;
            if &self.blob[self.offsets[i] as usize..self.offsets[i + 1] as usize] == s {
                return Some(i);
            }
            h = (h + 1) & self.mask;
        }
    }

    /// The text's token ids, without `<s>` and `</s>`. The reference reads C strings, so a NUL
    /// ends the text.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let text = text.split('\0').next().unwrap_or("");
        let mut cps: Vec<u32> = Vec::with_capacity(text.len() + 1);
        for c in text.chars() {
            let cp = c as u32;
            match self.norm_cp.binary_search(&cp) {
                Ok(i) => cps.extend_from_slice(
                    &self.norm_out[self.norm_off[i] as usize..self.norm_off[i + 1] as usize],
                ),
                Err(_) => cps.push(cp),
            }
        }
        cps.dedup_by(|b, a| *a == 0x20 && *b == 0x20);
        let mut buf = Vec::with_capacity(cps.len() * 3 + 3);
        let mut starts = Vec::with_capacity(cps.len() + 2);
        if cps.first() != Some(&0x20) {
            starts.push(0);
            encode(META, &mut buf);
        }
        for &cp in &cps {
            starts.push(buf.len());
            encode(if cp == 0x20 { META } else { cp }, &mut buf);
        }
        let n = starts.len();
        starts.push(buf.len());

        // Viterbi over character positions; `from[e]` is where the best piece ending at e
        // starts, `piece[e]` that piece (None: an unknown character).
        let mut best = vec![f32::NEG_INFINITY; n + 1];
        let mut piece: Vec<Option<u32>> = vec![None; n + 1];
        let mut from = vec![0usize; n + 1];
        best[0] = 0.0;
        for i in 0..n {
            if best[i] == f32::NEG_INFINITY {
                continue;
            }
            let b0 = starts[i];
            let mut h = FNV_START;
            for e in i + 1..=n {
                let len = starts[e] - b0;
                if len > self.max_piece_bytes {
                    break;
                }
                // A candidate no piece begins with ends the search from i: a longer one would
                // begin with it too (it ends where a character starts, as every prefix in the
                // table does, or no valid piece could continue it).
                h = fnv1a_from(h, &buf[starts[e - 1]..starts[e]]);
                if !self.is_prefix(h) {
                    break;
                }
                if let Some(idx) = self.lookup(&buf[b0..starts[e]], h)
                    && idx as u32 != self.unk
                {
                    let s = best[i] + self.scores[idx];
                    if s > best[e] {
                        best[e] = s;
                        piece[e] = Some(idx as u32);
                        from[e] = i;
                    }
                }
            }
            let s = best[i] + self.unk_score;
            if s > best[i + 1] {
                best[i + 1] = s;
                piece[i + 1] = None;
                from[i + 1] = i;
            }
        }
        let mut ids = Vec::new();
        let mut i = n;
        while i > 0 {
            ids.push(piece[i].unwrap_or(self.unk));
            i = from[i];
        }
        ids.reverse();
        ids
    }
}
