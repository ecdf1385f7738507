//! Reading secrets from standard input without leaving copies in freed memory: a
//! buffered reader whose buffer is wiped when dropped, over standard input's own
//! descriptor rather than std's process-wide buffer (which is never wiped).

use std::io::{self, BufRead, Read};

use zeroize::Zeroizing;

/// What [`WipingReader`] reads ahead at a time (as `std::io::BufReader`).
const CAPACITY: usize = 8 * 1024;

/// `std::io::BufReader`, except that its buffer is zeroized on drop.
pub struct WipingReader<R> {
    inner: R,
    buf: Zeroizing<Box<[u8]>>,
    pos: usize,
    filled: usize,
}

impl<R: Read> WipingReader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            buf: Zeroizing::new(vec![0; CAPACITY].into_boxed_slice()),
            pos: 0,
            filled: 0,
        }
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
                    read => break read?,
                }
            };
            self.pos = 0;
        }
        Ok(&self.buf[self.pos..self.filled])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.filled);
    }
}

/// Standard input for reading a secret, unbuffered (wrap it in a [`WipingReader`]):
/// its own descriptor where the platform allows ([`crate::sys::raw_stdin`]), std's
/// `Stdin` otherwise (Windows).
pub fn stdin() -> Box<dyn Read> {
    match crate::sys::raw_stdin() {
        Some(file) => Box::new(file),
        None => Box::new(io::stdin()),
    }
}

/// Reads up to and including the next newline, at most `max` bytes, into a buffer
/// allocated once (a growing `Vec` frees its old buffers without wiping them).
pub fn read_line(input: &mut impl BufRead, max: usize) -> io::Result<Zeroizing<Vec<u8>>> {
    let mut line = Zeroizing::new(Vec::with_capacity(max));
    input.take(max as u64).read_until(b'\n', &mut line)?;
    Ok(line)
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
        let mut input = WipingReader::new(&b"abcdef\nnext\n"[..]);
        assert_eq!(read_line(&mut input, 3).unwrap().as_slice(), b"abc");
        assert_eq!(read_line(&mut input, 100).unwrap().as_slice(), b"def\n");
        assert_eq!(read_line(&mut input, 100).unwrap().as_slice(), b"next\n");
    }

    #[test]
    fn nothing_read_is_left_in_freed_memory() {
        const MARKER: &[u8] = b"c0ffee-secret-9d1b2f-marker";
        let mut text = b"x=".to_vec();
        text.extend_from_slice(MARKER);
        // A long line: read in steps, it would outgrow buffers that held the marker.
        text.extend_from_slice(&[b'.'; 200]);
        text.extend_from_slice(b"\nrest\n");
        test_alloc::watch(MARKER);
        {
            let mut input = WipingReader::new(Trickle(&text));
            let line = read_line(&mut input, 4096).unwrap();
            assert!(line.ends_with(b"\n"));
        }
        assert_eq!(test_alloc::stop(), 0, "freed memory still held the secret");
    }
}
