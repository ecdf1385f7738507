//! Framing: a big-endian `u32` byte count, then a bincode-2 (standard configuration)
//! encoding of one message. The count is checked against [`MAX_FRAME`] before anything
//! is allocated, and a frame must decode to exactly one message with no bytes left over.

use std::io::{self, Read, Write};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The largest frame body either side accepts: 64 KiB.
pub const MAX_FRAME: u32 = 64 * 1024;

const CONFIG: bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<{ MAX_FRAME as usize }>,
> = bincode::config::standard().with_limit::<{ MAX_FRAME as usize }>();

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("the connection was closed")]
    Closed,
    #[error("a frame of {0} bytes is larger than the limit of {MAX_FRAME} bytes")]
    TooLarge(u64),
    #[error("the frame is not a valid message: {0}")]
    Malformed(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// One message as a frame body.
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, FrameError> {
    let body = bincode::serde::encode_to_vec(message, CONFIG)
        .map_err(|e| FrameError::Malformed(e.to_string()))?;
    if body.len() > MAX_FRAME as usize {
        return Err(FrameError::TooLarge(body.len() as u64));
    }
    Ok(body)
}

/// A frame body as one message, with nothing left over.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, FrameError> {
    let (message, used) = bincode::serde::decode_from_slice(body, CONFIG)
        .map_err(|e| FrameError::Malformed(e.to_string()))?;
    if used != body.len() {
        return Err(FrameError::Malformed(format!(
            "{} bytes after the message",
            body.len() - used
        )));
    }
    Ok(message)
}

fn header(len: usize) -> [u8; 4] {
    (len as u32).to_be_bytes()
}

fn check_len(header: [u8; 4]) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes(header);
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(u64::from(len)));
    }
    Ok(len as usize)
}

/// Writes one message as a frame (header and body in one write).
pub fn write_frame<T: Serialize>(w: &mut impl Write, message: &T) -> Result<(), FrameError> {
    let body = encode(message)?;
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&header(body.len()));
    frame.extend_from_slice(&body);
    w.write_all(&frame)?;
    w.flush()?;
    Ok(())
}

/// Reads one frame and decodes it. End of input before a header is [`FrameError::Closed`].
pub fn read_frame<T: DeserializeOwned>(r: &mut impl Read) -> Result<T, FrameError> {
    let mut head = [0u8; 4];
    match r.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(e.into()),
    }
    let mut body = zeroize::Zeroizing::new(vec![0u8; check_len(head)?]);
    r.read_exact(&mut body)?;
    decode(&body)
}

/// [`write_frame`] for tokio streams.
#[cfg(feature = "tokio")]
pub async fn write_frame_async<T: Serialize>(
    w: &mut (impl tokio::io::AsyncWrite + Unpin),
    message: &T,
) -> Result<(), FrameError> {
    use tokio::io::AsyncWriteExt;
    let body = encode(message)?;
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&header(body.len()));
    frame.extend_from_slice(&body);
    w.write_all(&frame).await?;
    w.flush().await?;
    Ok(())
}

/// [`read_frame`] for tokio streams.
#[cfg(feature = "tokio")]
pub async fn read_frame_async<T: DeserializeOwned>(
    r: &mut (impl tokio::io::AsyncRead + Unpin),
) -> Result<T, FrameError> {
    use tokio::io::AsyncReadExt;
    let mut head = [0u8; 4];
    match r.read_exact(&mut head).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(e.into()),
    }
    let mut body = zeroize::Zeroizing::new(vec![0u8; check_len(head)?]);
    r.read_exact(&mut body).await?;
    decode(&body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ErrorKind, PROTOCOL, Request, Response, Secret};

    #[test]
    fn round_trips_every_request() {
        let requests = [
            Request::Hello {
                protocol: PROTOCOL,
                client: "t".into(),
            },
            Request::Get {
                url: "https://api.wandb.ai".into(),
                netrc: Some("/h/.netrc".into()),
            },
            Request::Store {
                url: "u".into(),
                key: Secret::new("k"),
                netrc: "n".into(),
            },
            Request::Erase {
                url: "u".into(),
                netrc: "n".into(),
            },
            Request::List { netrc: "n".into() },
            Request::Migrate {
                urls: vec!["u".into()],
                netrc: "n".into(),
                keep_netrc: true,
            },
            Request::Status,
            Request::Reload,
            Request::Shutdown,
            Request::HelloGet {
                protocol: PROTOCOL,
                client: "t".into(),
                backend_choice: "auto".into(),
                url: "https://api.wandb.ai".into(),
                netrc: None,
                keychain_timeout_ms: Some(3000),
            },
            Request::Limit {
                keychain_timeout_ms: 500,
            },
        ];
        for request in requests {
            let mut wire = Vec::new();
            write_frame(&mut wire, &request).unwrap();
            assert_eq!(
                u32::from_be_bytes(wire[..4].try_into().unwrap()) as usize,
                wire.len() - 4
            );
            let back: Request = read_frame(&mut wire.as_slice()).unwrap();
            assert_eq!(back, request);
        }
    }

    #[test]
    fn the_encoding_is_the_documented_one() {
        // Variant index 1 (Get) as a varint, then the URL as varint length + UTF-8, then
        // Option::None as 0. See README.md.
        let body = encode(&Request::Get {
            url: "ab".into(),
            netrc: None,
        })
        .unwrap();
        assert_eq!(body, [1, 2, b'a', b'b', 0]);
        let body = encode(&Response::Error {
            kind: ErrorKind::NotFound,
            message: "x".into(),
        })
        .unwrap();
        assert_eq!(body, [8, 0, 1, b'x']);
        let body = encode(&Request::Hello {
            protocol: 300,
            client: String::new(),
        })
        .unwrap();
        assert_eq!(body, [0, 251, 0x2c, 0x01, 0]);
    }

    #[test]
    fn oversized_frames_are_refused_before_allocating() {
        let mut wire = (MAX_FRAME + 1).to_be_bytes().to_vec();
        assert!(matches!(
            read_frame::<Request>(&mut wire.as_slice()),
            Err(FrameError::TooLarge(_))
        ));
        wire = u32::MAX.to_be_bytes().to_vec();
        assert!(matches!(
            read_frame::<Request>(&mut wire.as_slice()),
            Err(FrameError::TooLarge(_))
        ));
    }

    #[test]
    fn malformed_and_trailing_bytes_are_errors() {
        for body in [vec![99u8], vec![1, 200], vec![8, 0, 1, b'x', 0]] {
            let mut wire = (body.len() as u32).to_be_bytes().to_vec();
            wire.extend(&body);
            let r = read_frame::<Response>(&mut wire.as_slice());
            assert!(
                matches!(r, Err(FrameError::Malformed(_))),
                "{body:?}: {r:?}"
            );
        }
        assert!(matches!(
            read_frame::<Request>(&mut [].as_slice()),
            Err(FrameError::Closed)
        ));
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let r = Request::Store {
            url: "u".into(),
            key: Secret::new("wandb_v1_secret"),
            netrc: "n".into(),
        };
        assert!(!format!("{r:?}").contains("secret"));
    }

    #[cfg(feature = "tokio")]
    #[tokio::test]
    async fn async_helpers_speak_the_same_frames() {
        let mut wire = Vec::new();
        write_frame_async(&mut wire, &Request::Status)
            .await
            .unwrap();
        let mut sync_wire = Vec::new();
        write_frame(&mut sync_wire, &Request::Status).unwrap();
        assert_eq!(wire, sync_wire);
        let back: Request = read_frame_async(&mut wire.as_slice()).await.unwrap();
        assert_eq!(back, Request::Status);
    }

    /// Random strings (any Unicode, empty, long), from a seeded generator.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn text(&mut self) -> String {
            let len = match self.next() % 4 {
                0 => 0,
                1 => self.next() % 8,
                2 => self.next() % 200,
                _ => self.next() % 5000,
            };
            (0..len)
                .map(|_| char::from_u32((self.next() % 0x11_0000) as u32).unwrap_or('\u{fffd}'))
                .collect()
        }
    }

    #[test]
    fn random_messages_round_trip_through_frames() {
        for seed in 1..2000u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let request = match rng.next() % 6 {
                0 => Request::Hello {
                    protocol: rng.next() as u32,
                    client: rng.text(),
                },
                1 => Request::Get {
                    url: rng.text(),
                    netrc: rng.next().is_multiple_of(2).then(|| rng.text()),
                },
                2 => Request::Store {
                    url: rng.text(),
                    key: Secret::new(rng.text()),
                    netrc: rng.text(),
                },
                3 => Request::Erase {
                    url: rng.text(),
                    netrc: rng.text(),
                },
                4 => Request::Migrate {
                    urls: (0..rng.next() % 5).map(|_| rng.text()).collect(),
                    netrc: rng.text(),
                    keep_netrc: rng.next().is_multiple_of(2),
                },
                _ => Request::List { netrc: rng.text() },
            };
            let response = match rng.next() % 3 {
                0 => Response::Key {
                    key: Secret::new(rng.text()),
                    layer: crate::Layer::Keychain,
                    location: rng.text(),
                },
                1 => Response::Error {
                    kind: ErrorKind::Locked,
                    message: rng.text(),
                },
                _ => Response::Erased {
                    removed: vec![rng.text()],
                    looked_in: vec![rng.text(), rng.text()],
                },
            };
            let mut wire = Vec::new();
            match write_frame(&mut wire, &request) {
                Ok(()) => assert_eq!(
                    read_frame::<Request>(&mut wire.as_slice()).unwrap(),
                    request,
                    "seed {seed}"
                ),
                // Only a message over the bound may be refused, and it is refused whole.
                Err(FrameError::TooLarge(_)) => {
                    assert!(encode(&request).unwrap().len() > MAX_FRAME as usize)
                }
                Err(e) => panic!("seed {seed}: {e}"),
            }
            let body = encode(&response).unwrap();
            assert_eq!(decode::<Response>(&body).unwrap(), response, "seed {seed}");
        }
    }
}
