//! Reading line-structured input with a cap on each record.
//!
//! `BufRead::read_line` would happily grow a buffer to the size of a 100 MB one-line file; this
//! reader stops storing at the cap, skips to the end of the record, and reports it as too long, so
//! memory stays bounded and the next record is read normally.

use std::io::BufRead;

/// One record of a line-structured file.
pub enum Item {
    /// A record and the number of the line it starts on (1-based). The line terminator is removed.
    Record { line: u64, bytes: Vec<u8> },
    /// A record longer than the cap, skipped; `len` is its full length.
    TooLong { line: u64, len: u64 },
}

pub struct BoundedLines<R> {
    inner: R,
    max: usize,
    line: u64,
    /// CSV mode: a newline inside a quoted field does not end the record.
    csv_quotes: bool,
    done: bool,
}

impl<R: BufRead> BoundedLines<R> {
    pub fn new(inner: R, max: usize) -> Self {
        BoundedLines {
            inner,
            max,
            line: 0,
            csv_quotes: false,
            done: false,
        }
    }

    /// Lines in CSV mode: a newline inside a quoted field does not end the record.
    pub fn csv(inner: R, max: usize) -> Self {
        BoundedLines {
            csv_quotes: true,
            ..Self::new(inner, max)
        }
    }

    /// The next record, `Ok(None)` at the end.
    pub fn next_item(&mut self) -> std::io::Result<Option<Item>> {
        if self.done {
            return Ok(None);
        }
        let start_line = self.line + 1;
        let mut buf: Vec<u8> = Vec::new();
        let mut len: u64 = 0;
        let mut in_quotes = false;
        let mut newlines = 0u64;
        loop {
            let chunk = self.inner.fill_buf()?;
            if chunk.is_empty() {
                self.done = true;
                if len == 0 {
                    return Ok(None);
                }
                break;
            }
            // Find the end of the record in this chunk.
            let mut end = None;
            for (i, &b) in chunk.iter().enumerate() {
                if self.csv_quotes && b == b'"' {
                    in_quotes = !in_quotes;
                } else if b == b'\n' {
                    newlines += 1;
                    if !in_quotes {
                        end = Some(i);
                        break;
                    }
                }
            }
            let take = end.unwrap_or(chunk.len());
            len += take as u64;
            if buf.len() < self.max + 1 {
                let room = (self.max + 1 - buf.len()).min(take);
                buf.extend_from_slice(&chunk[..room]);
            }
            let consumed = end.map_or(take, |e| e + 1);
            self.inner.consume(consumed);
            if end.is_some() {
                break;
            }
        }
        self.line += newlines.max(1);
        if len > self.max as u64 {
            return Ok(Some(Item::TooLong {
                line: start_line,
                len,
            }));
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        Ok(Some(Item::Record {
            line: start_line,
            bytes: buf,
        }))
    }
}

/// One record's place in a [`Block`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockItem {
    /// `data[start..end]` is the record (terminator removed), starting on line `line`.
    Record { line: u64, start: usize, end: usize },
    /// A record longer than the cap, not stored.
    TooLong { line: u64, len: u64 },
}

/// Complete records, a large block of bytes at a time.
pub struct Block {
    pub data: Vec<u8>,
    pub items: Vec<BlockItem>,
}

/// CSV records in blocks of about `block` bytes: the same records, line numbers and length cap as
/// [`BoundedLines::csv`], but without a copy per record, so that a caller can parse a block's
/// records in parallel while the next block is read.
pub struct CsvBlocks<R> {
    inner: R,
    max: usize,
    block: usize,
    /// The first line of the record being read.
    line: u64,
    /// The start of the record being read (its bytes so far), unless it is over the cap.
    carry: Vec<u8>,
    /// Scanning state within the record being read.
    in_quotes: bool,
    newlines: u64,
    /// The record being read is over the cap: its length so far.
    skipping: Option<u64>,
    done: bool,
    /// A finished block's buffer, reused so that each block does not fault in fresh pages.
    spare: Vec<u8>,
}

impl<R: std::io::Read> CsvBlocks<R> {
    pub fn new(inner: R, max: usize, block: usize) -> Self {
        CsvBlocks {
            inner,
            max,
            block: block.max(1),
            line: 1,
            carry: Vec::new(),
            in_quotes: false,
            newlines: 0,
            skipping: None,
            done: false,
            spare: Vec::new(),
        }
    }

    /// Hands a block that is no longer needed back, to be filled again.
    pub fn recycle(&mut self, block: Block) {
        self.spare = block.data;
    }

    fn finish(&mut self, items: &mut Vec<BlockItem>, data: &[u8], start: usize, end: usize) {
        let line = self.line;
        self.line += self.newlines.max(1);
        self.newlines = 0;
        self.in_quotes = false;
        let len = (end - start) as u64 + self.skipping.take().unwrap_or(0);
        if len > self.max as u64 {
            items.push(BlockItem::TooLong { line, len });
            return;
        }
        let end = if end > start && data[end - 1] == b'\r' {
            end - 1
        } else {
            end
        };
        items.push(BlockItem::Record { line, start, end });
    }

    /// The next block of records, `Ok(None)` at the end. A block may hold no records (one record
    /// longer than a block is being read).
    pub fn next_block(&mut self) -> std::io::Result<Option<Block>> {
        if self.done {
            return Ok(None);
        }
        let mut data = std::mem::take(&mut self.spare);
        data.clear();
        data.extend_from_slice(&self.carry);
        self.carry.clear();
        let scan_from = data.len();
        data.resize(scan_from + self.block, 0);
        let mut filled = scan_from;
        while filled < data.len() {
            match self.inner.read(&mut data[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let eof = filled < data.len();
        data.truncate(filled);
        let mut items = Vec::new();
        let (mut start, mut i) = (0usize, scan_from);
        while let Some(off) = memchr::memchr2(b'"', b'\n', &data[i..]) {
            let j = i + off;
            if data[j] == b'"' {
                self.in_quotes = !self.in_quotes;
            } else {
                self.newlines += 1;
                if !self.in_quotes {
                    self.finish(&mut items, &data, start, j);
                    start = j + 1;
                }
            }
            i = j + 1;
        }
        let rest = data.len() - start;
        if eof {
            self.done = true;
            if rest > 0 || self.skipping.is_some() {
                let end = data.len();
                self.finish(&mut items, &data, start, end);
            }
        } else if let Some(len) = self.skipping.as_mut() {
            *len += rest as u64;
        } else if rest > self.max {
            self.skipping = Some(rest as u64);
        } else {
            self.carry.extend_from_slice(&data[start..]);
        }
        Ok(Some(Block { data, items }))
    }
}

/// The same records as [`CsvBlocks`], from bytes already in memory (a mapped file): items of
/// about `block` bytes at a time, with offsets into the whole input, and no copy.
pub struct CsvSlices<'a> {
    data: &'a [u8],
    pos: usize,
    line: u64,
    max: usize,
    block: usize,
}

impl<'a> CsvSlices<'a> {
    pub fn new(data: &'a [u8], max: usize, block: usize) -> Self {
        CsvSlices {
            data,
            pos: 0,
            line: 1,
            max,
            block: block.max(1),
        }
    }

    /// The next records, `None` at the end.
    pub fn next_items(&mut self) -> Option<Vec<BlockItem>> {
        let data = self.data;
        if self.pos >= data.len() {
            return None;
        }
        let stop = self.pos + self.block;
        let mut items = Vec::new();
        let (mut start, mut i, mut in_quotes, mut newlines) = (self.pos, self.pos, false, 0u64);
        let mut finish = |items: &mut Vec<BlockItem>, start: usize, end: usize, newlines: u64| {
            let line = self.line;
            self.line += newlines.max(1);
            if end - start > self.max {
                items.push(BlockItem::TooLong {
                    line,
                    len: (end - start) as u64,
                });
            } else {
                let end = if end > start && data[end - 1] == b'\r' {
                    end - 1
                } else {
                    end
                };
                items.push(BlockItem::Record { line, start, end });
            }
        };
        loop {
            match memchr::memchr2(b'"', b'\n', &data[i..]) {
                Some(off) => {
                    let j = i + off;
                    if data[j] == b'"' {
                        in_quotes = !in_quotes;
                    } else {
                        newlines += 1;
                        if !in_quotes {
                            finish(&mut items, start, j, newlines);
                            (start, newlines) = (j + 1, 0);
                            if start >= stop {
                                break;
                            }
                        }
                    }
                    i = j + 1;
                }
                None => {
                    if start < data.len() {
                        finish(&mut items, start, data.len(), newlines);
                    }
                    start = data.len();
                    break;
                }
            }
        }
        self.pos = start;
        Some(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8], max: usize, csv: bool) -> Vec<String> {
        let mut r = if csv {
            BoundedLines::csv(input, max)
        } else {
            BoundedLines::new(input, max)
        };
        let mut out = vec![];
        while let Some(i) = r.next_item().unwrap() {
            out.push(match i {
                Item::Record { line, bytes } => {
                    format!("{line}:{}", String::from_utf8_lossy(&bytes))
                }
                Item::TooLong { line, len } => format!("{line}:too long {len}"),
            });
        }
        out
    }

    fn blocks(input: &[u8], max: usize, block: usize) -> Vec<String> {
        let mut r = CsvBlocks::new(input, max, block);
        let mut out = vec![];
        while let Some(b) = r.next_block().unwrap() {
            for &item in &b.items {
                out.push(match item {
                    BlockItem::Record { line, start, end } => {
                        format!("{line}:{}", String::from_utf8_lossy(&b.data[start..end]))
                    }
                    BlockItem::TooLong { line, len } => format!("{line}:too long {len}"),
                });
            }
            r.recycle(b);
        }
        out
    }

    fn slices(input: &[u8], max: usize, block: usize) -> Vec<String> {
        let mut r = CsvSlices::new(input, max, block);
        let mut out = vec![];
        while let Some(items) = r.next_items() {
            for item in items {
                out.push(match item {
                    BlockItem::Record { line, start, end } => {
                        format!("{line}:{}", String::from_utf8_lossy(&input[start..end]))
                    }
                    BlockItem::TooLong { line, len } => format!("{line}:too long {len}"),
                });
            }
        }
        out
    }

    #[test]
    fn blocks_split_like_bounded_lines() {
        let input = b"a,\"x\ny\"\r\nlong long long\n\n\"q\nq\nq\nq\nq\nq\",1\nlast";
        for block in [1, 2, 3, 5, 8, 64] {
            assert_eq!(
                blocks(input, 10, block),
                all(input, 10, true),
                "block {block}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn blocks_agree_with_bounded_lines(
            input in proptest::collection::vec(proptest::sample::select(b"ab\"\n\r,".to_vec()), 0..200),
            max in 0usize..20,
            block in 1usize..40,
        ) {
            proptest::prop_assert_eq!(blocks(&input, max, block), all(&input, max, true));
            proptest::prop_assert_eq!(slices(&input, max, block), all(&input, max, true));
        }
    }

    #[test]
    fn splits_and_numbers_lines() {
        assert_eq!(
            all(b"a\nbb\r\n\nccc", 10, false),
            ["1:a", "2:bb", "3:", "4:ccc"]
        );
        assert_eq!(all(b"", 10, false), Vec::<String>::new());
    }

    #[test]
    fn overlong_line_is_skipped_not_stored() {
        let mut input = b"ok\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 100_000));
        input.extend(b"\nnext\n");
        assert_eq!(
            all(&input, 1000, false),
            ["1:ok", "2:too long 100000", "3:next"]
        );
    }

    #[test]
    fn csv_mode_keeps_quoted_newlines() {
        assert_eq!(
            all(b"a,\"x\ny\",b\nc\n", 100, true),
            ["1:a,\"x\ny\",b", "3:c"]
        );
    }
}
