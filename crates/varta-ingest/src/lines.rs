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
