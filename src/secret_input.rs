//! Reading secrets from standard input without leaving copies in freed memory: a
//! buffered reader whose buffer is wiped when dropped, over standard input's own
//! descriptor rather than std's process-wide buffer (which is never wiped).

use std::io::{self, BufRead, Read};

use zeroize::{Zeroize, Zeroizing};

/// What [`WipingReader`] reads ahead at a time (as `std::io::BufReader`).
const CAPACITY: usize = 8 * 1024;

/// `std::io::BufReader`, except that what it read is zeroized on drop. Only the part
/// ever filled is wiped, so the pages of a short read's untouched rest are never
/// touched (this runs on `get`'s fast path).
pub struct WipingReader<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    filled: usize,
    ever_filled: usize,
}

impl<R: Read> WipingReader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            buf: vec![0; CAPACITY].into_boxed_slice(),
            pos: 0,
            filled: 0,
            ever_filled: 0,
        }
    }
}

impl<R> Drop for WipingReader<R> {
    fn drop(&mut self) {
        self.buf[..self.ever_filled].zeroize();
    }
}

impl<R: Read> Read for WipingReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for WipingReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.filled {
            self.filled = loop {
                match self.inner.read(&mut self.buf) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    read => break read?.min(CAPACITY),
                }
            };
            self.pos = 0;
            self.ever_filled = self.ever_filled.max(self.filled);
        }
        Ok(&self.buf[self.pos..self.filled])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.filled);
    }
}

/// Standard input for reading a secret, unbuffered (wrap it in a [`WipingReader`]):
/// its own descriptor or handle ([`crate::sys::raw_stdin`]), or std's `Stdin` when
/// that cannot be had.
pub fn stdin() -> Box<dyn Read> {
    match crate::sys::raw_stdin() {
        Some(file) => Box::new(file),
        None => Box::new(io::stdin()),
    }
}

/// Makes room for `additional` more bytes in `buf`, moving it by hand when it must
/// grow: a `Vec` that grows frees its old buffer without wiping it.
pub fn reserve(buf: &mut Zeroizing<Vec<u8>>, additional: usize) {
    let needed = buf.len() + additional;
    if needed > buf.capacity() {
        let mut bigger =
            Zeroizing::new(Vec::with_capacity(needed.max(buf.capacity() * 2).max(128)));
        bigger.extend_from_slice(buf);
        *buf = bigger;
    }
}

/// Appends to `line` up to and including the next newline, at most `max` bytes; how
/// many were read (0 at the end of input). As `BufRead::read_until`, but the line
/// grows through [`reserve`].
pub fn read_line(
    input: &mut impl BufRead,
    max: usize,
    line: &mut Zeroizing<Vec<u8>>,
) -> io::Result<usize> {
    let mut read = 0;
    while read < max {
        let available = input.fill_buf()?;
        if available.is_empty() {
            break;
        }
        let chunk = &available[..available.len().min(max - read)];
        let (taken, ends) = match chunk.iter().position(|&b| b == b'\n') {
            Some(newline) => (newline + 1, true),
            None => (chunk.len(), false),
        };
        reserve(line, taken);
        line.extend_from_slice(&chunk[..taken]);
        input.consume(taken);
        read += taken;
        if ends {
            break;
        }
    }
    Ok(read)
}

/// Hands out its input a few bytes at a time, as a pipe may (so that a line read
/// from it grows in steps, as a real one can).
#[cfg(test)]
pub struct Trickle<'a>(pub &'a [u8]);

#[cfg(test)]
impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.0.len().min(out.len()).min(5);
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_alloc;

    #[test]
    fn reads_lines_as_std_does_across_short_reads() {
        let text = b"first line\nsecond\n\nlast without newline";
        let mut ours = WipingReader::new(Trickle(text));
        let mut std_lines = io::BufReader::new(&text[..]).split(b'\n');
        for expected in &mut std_lines {
            let mut line = Vec::new();
            ours.read_until(b'\n', &mut line).unwrap();
            let got = line.strip_suffix(b"\n").unwrap_or(&line);
            assert_eq!(got, expected.unwrap().as_slice());
        }
        assert_eq!(ours.fill_buf().unwrap(), b"", "all read");
    }

    #[test]
    fn read_line_stops_at_the_bound() {
        let mut input = WipingReader::new(Trickle(b"abcdefgh\nnext\n"));
        let mut line = Zeroizing::new(Vec::new());
        assert_eq!(read_line(&mut input, 7, &mut line).unwrap(), 7);
        assert_eq!(line.as_slice(), b"abcdefg");
        line.clear();
        assert_eq!(read_line(&mut input, 100, &mut line).unwrap(), 2);
        assert_eq!(line.as_slice(), b"h\n");
        line.clear();
        assert_eq!(read_line(&mut input, 100, &mut line).unwrap(), 5);
        assert_eq!(line.as_slice(), b"next\n");
        line.clear();
        assert_eq!(read_line(&mut input, 100, &mut line).unwrap(), 0);
        assert!(line.is_empty());
    }

    #[test]
    fn nothing_read_is_left_in_freed_memory() {
        const MARKER: &[u8] = b"c0ffee-secret-9d1b2f-marker";
        let mut text = b"x=".to_vec();
        text.extend_from_slice(MARKER);
        // A long line: read in steps, it would outgrow buffers that held the marker.
        text.extend_from_slice(&[b'.'; 200]);
        text.extend_from_slice(b"\nrest\n");
        // In steps (the line grows), at once (the reader's buffer holds it all), and at
        // once followed by a shorter read (which overwrites only part of the buffer).
        type Reader = fn(&[u8]) -> Box<dyn Read + '_>;
        let readers: [Reader; 3] = [
            |t| Box::new(Trickle(t)),
            |t| Box::new(t),
            |t| Box::new(t.chain(&b"more\n"[..])),
        ];
        for (way, reader) in readers.into_iter().enumerate() {
            test_alloc::watch(MARKER);
            {
                let mut input = WipingReader::new(reader(&text));
                let mut line = Zeroizing::new(Vec::new());
                let mut lines = 0;
                for _ in 0..3 {
                    line.clear();
                    lines += usize::from(read_line(&mut input, 4096, &mut line).unwrap() > 0);
                }
                assert_eq!(lines, if way == 2 { 3 } else { 2 });
            }
            assert_eq!(
                test_alloc::stop(),
                0,
                "freed memory held the secret (way {way})"
            );
        }
    }
}
