//! The age file format (age-encryption.org/v1) with one passphrase (scrypt) recipient,
//! so the standard `age -d` opens what the encrypted store writes, and the store opens
//! what `age -p` wrote. Written from the published specification (C2SP age): an scrypt
//! stanza wrapping a 16-byte file key, the header MAC, and the payload as a STREAM of
//! ChaCha20-Poly1305 chunks of 64 KiB.
//!
//! [`Sealed`] keeps the file key and header of an opened file, so later versions of the
//! file are written without the passphrase (and without running scrypt again): each
//! write has a fresh random payload nonce, hence a fresh payload key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use ring::{hkdf, hmac};
use zeroize::Zeroizing;

const INTRO: &str = "age-encryption.org/v1\n";
const SCRYPT_LABEL: &[u8] = b"age-encryption.org/v1/scrypt";
const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
/// The work factor new files get: age's own default, 2^18 (about 256 MiB and one
/// second of one core to open).
pub const LOG_N: u8 = 18;
/// The largest work factor a file may ask for: bounds the memory and time a file can
/// make opening it cost.
const MAX_LOG_N: u8 = 22;

/// Why a file cannot be opened or made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AgeError {
    #[error("not an age file ({0})")]
    Format(&'static str),
    #[error("it is not protected by a passphrase alone (age -p): {0}")]
    NotPassphrase(&'static str),
    #[error("its scrypt work factor 2^{0} is above the 2^{MAX_LOG_N} this program accepts")]
    WorkFactor(u8),
    #[error("the passphrase is wrong (or the file was changed)")]
    WrongPassphrase,
    #[error(
        "it was encrypted again under another passphrase since it was unlocked: run `wandb-cred unlock` with the new one"
    )]
    OtherKey,
    #[error("the file was changed or damaged: {0}")]
    Damaged(&'static str),
    #[error("no randomness from the system")]
    Random,
}

/// What a later write needs of an opened file: its file key and header (salt, work
/// factor, wrapped key, MAC). Never written anywhere; wiped on drop.
pub struct Sealed {
    file_key: Zeroizing<[u8; 16]>,
    header: String,
}

impl Sealed {
    /// A new file key wrapped under `passphrase` with work factor 2^`log_n`.
    pub fn new(passphrase: &[u8], log_n: u8) -> Result<Self, AgeError> {
        let random = SystemRandom::new();
        let mut file_key = Zeroizing::new([0u8; 16]);
        let mut salt = [0u8; 16];
        random
            .fill(file_key.as_mut())
            .map_err(|_| AgeError::Random)?;
        random.fill(&mut salt).map_err(|_| AgeError::Random)?;
        let wrap_key = scrypt_key(passphrase, &salt, log_n)?;
        let mut wrapped = file_key.to_vec();
        seal_in_place(&wrap_key, [0; 12], &mut wrapped);
        let mut header = format!(
            "{INTRO}-> scrypt {} {log_n}\n{}\n---",
            B64.encode(salt),
            B64.encode(&wrapped)
        );
        let mac = header_mac(&file_key, &header);
        header.push(' ');
        header.push_str(&B64.encode(mac));
        header.push('\n');
        Ok(Self { file_key, header })
    }

    /// The file `plaintext` becomes, under this file key (a fresh payload nonce).
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>, AgeError> {
        let mut nonce = [0u8; 16];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| AgeError::Random)?;
        let key = payload_key(&self.file_key, &nonce);
        let mut out = self.header.as_bytes().to_vec();
        out.extend_from_slice(&nonce);
        let chunks: Vec<&[u8]> = if plaintext.is_empty() {
            vec![&[]]
        } else {
            plaintext.chunks(CHUNK).collect()
        };
        let last = chunks.len() - 1;
        for (i, chunk) in chunks.into_iter().enumerate() {
            let mut sealed = chunk.to_vec();
            seal_in_place(&key, chunk_nonce(i as u64, i == last), &mut sealed);
            out.extend_from_slice(&sealed);
        }
        Ok(out)
    }
}

/// Opens a passphrase-protected age file: its plaintext, and what writing the next
/// version takes.
pub fn decrypt(file: &[u8], passphrase: &[u8]) -> Result<(Zeroizing<Vec<u8>>, Sealed), AgeError> {
    let header = Header::parse(file)?;
    let wrap_key = scrypt_key(passphrase, &header.salt, header.log_n)?;
    let mut file_key = Zeroizing::new([0u8; 16]);
    let mut wrapped = header.wrapped;
    let opened =
        open_in_place(&wrap_key, [0; 12], &mut wrapped).ok_or(AgeError::WrongPassphrase)?;
    file_key.copy_from_slice(opened);
    wrapped.fill(0);
    let sealed = Sealed {
        file_key,
        header: header.text,
    };
    let plaintext = sealed.reopen(file)?;
    Ok((plaintext, sealed))
}

impl Sealed {
    /// Opens a later version of the file written under this file key (by this or
    /// another machine that opened it with the passphrase); [`AgeError::OtherKey`] for
    /// a file whose header is not this one's (another passphrase or file key).
    pub fn reopen(&self, file: &[u8]) -> Result<Zeroizing<Vec<u8>>, AgeError> {
        let header = Header::parse(file)?;
        if header.text != self.header {
            return Err(AgeError::OtherKey);
        }
        let key = header_mac_key(&self.file_key);
        if hmac::verify(&key, header.mac_input.as_bytes(), &header.mac).is_err() {
            return Err(AgeError::Damaged("the header's MAC does not match"));
        }
        let body = &file[header.text.len()..];
        if body.len() < 16 + TAG {
            return Err(AgeError::Damaged("the payload is cut short"));
        }
        let (nonce, mut rest) = body.split_at(16);
        let key = payload_key(&self.file_key, nonce);
        let mut plaintext = Zeroizing::new(Vec::with_capacity(rest.len()));
        let mut counter = 0u64;
        loop {
            let take = rest.len().min(CHUNK + TAG);
            let (chunk, after) = rest.split_at(take);
            let last = after.is_empty();
            let mut buf = Zeroizing::new(chunk.to_vec());
            let opened = open_in_place(&key, chunk_nonce(counter, last), &mut buf)
                .ok_or(AgeError::Damaged("a payload chunk does not authenticate"))?;
            if last && opened.is_empty() && counter > 0 {
                return Err(AgeError::Damaged("an empty last chunk"));
            }
            plaintext.extend_from_slice(opened);
            if last {
                return Ok(plaintext);
            }
            rest = after;
            counter += 1;
        }
    }
}

/// The parts of a file's header.
struct Header {
    /// The header as written, up to and including the MAC line's newline.
    text: String,
    /// What the MAC covers: the header up to and including `---`.
    mac_input: String,
    salt: [u8; 16],
    log_n: u8,
    wrapped: [u8; 32],
    mac: [u8; 32],
}

impl Header {
    fn parse(file: &[u8]) -> Result<Self, AgeError> {
        let end = find(file, b"\n--- ").ok_or(AgeError::Format("no header end"))?;
        let line_end = file[end + 1..]
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(AgeError::Format("no header end"))?
            + end
            + 2;
        let text = std::str::from_utf8(&file[..line_end])
            .map_err(|_| AgeError::Format("the header is not text"))?;
        let rest = text
            .strip_prefix(INTRO)
            .ok_or(AgeError::Format("no age-encryption.org/v1 line"))?;
        let lines: Vec<&str> = rest.trim_end_matches('\n').split('\n').collect();
        let [stanza, body, mac_line] = lines[..] else {
            return Err(AgeError::NotPassphrase("it has other recipients"));
        };
        let args: Vec<&str> = stanza
            .strip_prefix("-> ")
            .ok_or(AgeError::Format("no recipient stanza"))?
            .split(' ')
            .collect();
        let ["scrypt", salt, log_n] = args[..] else {
            return Err(AgeError::NotPassphrase("its recipient is not scrypt"));
        };
        let salt = decode_exact::<16>(salt)?;
        let log_n: u8 = (log_n.len() <= 2 && !log_n.starts_with('0'))
            .then(|| log_n.parse().ok())
            .flatten()
            .ok_or(AgeError::Format("a bad scrypt work factor"))?;
        if log_n == 0 {
            return Err(AgeError::Format("a bad scrypt work factor"));
        }
        if log_n > MAX_LOG_N {
            return Err(AgeError::WorkFactor(log_n));
        }
        let wrapped = decode_exact::<32>(body)?;
        let mac = decode_exact::<32>(
            mac_line
                .strip_prefix("--- ")
                .ok_or(AgeError::Format("no MAC line"))?,
        )?;
        let mac_input = text[..text.len() - mac_line.len() - 1 + 3].to_owned();
        Ok(Self {
            text: text.to_owned(),
            mac_input,
            salt,
            log_n,
            wrapped,
            mac,
        })
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn decode_exact<const N: usize>(text: &str) -> Result<[u8; N], AgeError> {
    let bytes = B64
        .decode(text)
        .map_err(|_| AgeError::Format("bad base64 in the header"))?;
    bytes
        .try_into()
        .map_err(|_| AgeError::Format("a header field has the wrong length"))
}

fn scrypt_key(
    passphrase: &[u8],
    salt: &[u8; 16],
    log_n: u8,
) -> Result<Zeroizing<[u8; 32]>, AgeError> {
    let params = scrypt::Params::new(log_n, 8, 1).map_err(|_| AgeError::WorkFactor(log_n))?;
    let mut labelled = SCRYPT_LABEL.to_vec();
    labelled.extend_from_slice(salt);
    let mut key = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(passphrase, &labelled, &params, key.as_mut())
        .map_err(|_| AgeError::WorkFactor(log_n))?;
    Ok(key)
}

/// HKDF-SHA-256 of the file key, 32 bytes.
fn derive(file_key: &[u8; 16], salt: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    struct Len32;
    impl hkdf::KeyType for Len32 {
        fn len(&self) -> usize {
            32
        }
    }
    let mut out = Zeroizing::new([0u8; 32]);
    hkdf::Salt::new(hkdf::HKDF_SHA256, salt)
        .extract(file_key)
        .expand(&[info], Len32)
        .and_then(|okm| okm.fill(out.as_mut()))
        .expect("32 bytes is a valid HKDF-SHA-256 length");
    out
}

fn header_mac_key(file_key: &[u8; 16]) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, derive(file_key, b"", b"header").as_ref())
}

fn header_mac(file_key: &[u8; 16], mac_input: &str) -> hmac::Tag {
    hmac::sign(&header_mac_key(file_key), mac_input.as_bytes())
}

fn payload_key(file_key: &[u8; 16], nonce: &[u8]) -> Zeroizing<[u8; 32]> {
    derive(file_key, nonce, b"payload")
}

fn chunk_nonce(counter: u64, last: bool) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[3..11].copy_from_slice(&counter.to_be_bytes());
    nonce[11] = u8::from(last);
    nonce
}

fn aead(key: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, key).expect("a 32-byte key"))
}

fn seal_in_place(key: &[u8; 32], nonce: [u8; 12], data: &mut Vec<u8>) {
    aead(key)
        .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), data)
        .expect("a chunk is far below ChaCha20-Poly1305's limit");
}

fn open_in_place<'a>(key: &[u8; 32], nonce: [u8; 12], data: &'a mut [u8]) -> Option<&'a mut [u8]> {
    aead(key)
        .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::empty(), data)
        .ok()
}

const BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----";
const END: &str = "-----END AGE ENCRYPTED FILE-----";

/// The file in age's ASCII armor (PEM-like, base64 lines of 64 columns), which `age -d`
/// reads as it is: a text file the store edits like its others.
pub fn armor(file: &[u8]) -> Zeroizing<String> {
    let encoded = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(file));
    let mut out = Zeroizing::new(String::with_capacity(
        encoded.len() + encoded.len() / 64 + 80,
    ));
    out.push_str(BEGIN);
    out.push('\n');
    for line in encoded.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(END);
    out.push('\n');
    out
}

/// The file inside age's ASCII armor.
pub fn unarmor(text: &str) -> Result<Vec<u8>, AgeError> {
    let body = text
        .trim()
        .strip_prefix(BEGIN)
        .and_then(|rest| rest.strip_suffix(END))
        .ok_or(AgeError::Format("no BEGIN/END AGE ENCRYPTED FILE lines"))?;
    let lines: Vec<&str> = body.trim_matches('\n').split('\n').collect();
    let (last, full) = lines
        .split_last()
        .ok_or(AgeError::Format("an empty armor"))?;
    if full.iter().any(|l| l.len() != 64) || last.len() > 64 {
        return Err(AgeError::Format("armor lines of the wrong length"));
    }
    base64::engine::general_purpose::STANDARD
        .decode(lines.concat())
        .map_err(|_| AgeError::Format("bad base64 in the armor"))
}

#[cfg(test)]
#[path = "age_tests.rs"]
mod tests;
