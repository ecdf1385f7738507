//! Requests, responses and the data they carry. Keys travel as [`Secret`], which is
//! wiped from memory when dropped and never shows itself in `Debug` output.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// An API key on the wire.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub Zeroizing<String>);

impl Secret {
    pub fn new(text: impl Into<String>) -> Self {
        Self(Zeroizing::new(text.into()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

/// What a client asks. The first request on every connection must be `Hello` (or
/// `HelloGet`, which carries one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Opens a conversation: the client's protocol number and program version.
    Hello { protocol: u32, client: String },
    /// The key for a server URL: from the keychain, else (when `netrc` names a file)
    /// from that netrc file, as the W&B SDK would find it there.
    Get { url: String, netrc: Option<String> },
    /// Stores a key for a server URL in the daemon's backend. `netrc` is the file used
    /// when the backend is netrc, and from which a plaintext copy is removed when the
    /// backend is the keychain.
    Store {
        url: String,
        key: Secret,
        netrc: String,
    },
    /// Removes a server's key from the keychain and from the netrc file.
    Erase { url: String, netrc: String },
    /// The servers that have keys, in the keychain and in the netrc file.
    List { netrc: String },
    /// Moves keys for these servers from the netrc file into the keychain.
    Migrate {
        urls: Vec<String>,
        netrc: String,
        keep_netrc: bool,
    },
    /// The daemon's state.
    Status,
    /// Forgets every cached key and looks at the keychain again.
    Reload,
    /// Asks the daemon to exit.
    Shutdown,
    /// `Hello` and a first `Get` in one frame, so that a lookup takes one round trip.
    /// Allowed only as the first request. The daemon answers the `Get` when `protocol`
    /// and `backend_choice` are its own; otherwise it answers with its `Response::Hello`
    /// (and closes the connection when the protocol differs).
    HelloGet {
        protocol: u32,
        client: String,
        backend_choice: String,
        url: String,
        netrc: Option<String>,
        /// The client's bound on keychain calls for this connection, in milliseconds
        /// (its `WANDB_CRED_KEYCHAIN_TIMEOUT`), as for [`Request::Limit`].
        keychain_timeout_ms: Option<u32>,
    },
    /// The client's bound on every keychain call made for it on this connection, in
    /// milliseconds: the shorter of it and the daemon's own applies. Answered `Done`.
    Limit { keychain_timeout_ms: u32 },
    /// Opens the encrypted file store with its passphrase (`create`: makes a new, empty
    /// one where there is none) and keeps its keys in the daemon's memory until `Lock`
    /// or `lock_after_secs`. Answered `Done`, or `Error { kind: Denied }` for a wrong
    /// passphrase.
    Unlock {
        passphrase: Secret,
        create: bool,
        lock_after_secs: Option<u64>,
    },
    /// Forgets the encrypted file store's keys. Answered `Done`.
    Lock,
    /// After `passwd`: opens the encrypted file store again with its new passphrase,
    /// only if it is open now, keeping its lock time (protocol 6). Answered `Done`, or
    /// `Error { kind: Locked }` when it was locked (it stays so).
    Rekey { passphrase: Secret },
}

/// Where a key was found or put.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layer {
    Keychain,
    Netrc,
    /// The Linux kernel keyring (protocol 3).
    KernelKeyring,
    /// The encrypted file store, an age file under the data folder (protocol 5).
    EncryptedFile,
    /// A Vault or OpenBao KV version 2 secrets engine (protocol 5).
    Vault,
}

impl Layer {
    /// A store that keeps keys off disk, or on disk only encrypted (the keychain, the
    /// kernel keyring, the encrypted file).
    pub fn off_disk(self) -> bool {
        !matches!(self, Self::Netrc)
    }

    /// The name `--backend` and `list` give it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Keychain => "keychain",
            Self::Netrc => "netrc",
            Self::KernelKeyring => "kernel-keyring",
            Self::EncryptedFile => "encrypted-file",
            Self::Vault => "vault",
        }
    }
}

/// What went wrong, as a kind a program can act on; the message is for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    /// No key for that server.
    NotFound,
    /// The keychain is locked or refused access.
    Locked,
    /// No backend can be used (for example `keychain` was required and there is none).
    NoBackend,
    /// A stored key breaks the key rules.
    InvalidKey,
    /// The keychain did not answer in time.
    Timeout,
    /// The peer is not allowed to talk to this daemon.
    Denied,
    /// The request was malformed, too large, or not allowed at this point.
    BadRequest,
    /// A file could not be read or written, or anything else failed.
    Internal,
    /// Not answered on a forwarded socket, which serves only `Get` (protocol 3).
    Forwarded,
}

/// One server with a key, for `List`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    /// The server URL (keychain) or netrc machine name (`host[:port]`).
    pub server: String,
    pub layer: Layer,
    /// The key masked (`wandb_v1_****`), never the key.
    pub masked: String,
    pub location: String,
}

/// The outcome for one server of a `Migrate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Migrated {
    pub url: String,
    /// `true` when the key is in the keychain (moved now or already there).
    pub ok: bool,
    /// What happened, for people.
    pub message: String,
}

/// The daemon's state, for `Status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonStatus {
    pub pid: u32,
    pub version: String,
    pub uptime_secs: u64,
    /// `keychain` or `netrc`, or `None` when the keychain cannot be used right now.
    pub backend: Option<String>,
    /// Why this backend, or why none.
    pub backend_detail: String,
    pub cached_hosts: u32,
    pub socket: String,
    pub log_file: Option<String>,
}

/// What the daemon answers; exactly one response per request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// The daemon's protocol number, program version, pid and backend choice
    /// (`auto`, `keychain` or `netrc`).
    Hello {
        protocol: u32,
        server: String,
        pid: u32,
        backend_choice: String,
    },
    Key {
        key: Secret,
        layer: Layer,
        location: String,
    },
    /// Where the key went; for netrc, why (no keychain, or chosen); whether a
    /// plaintext copy was removed from netrc.
    Stored {
        layer: Layer,
        location: String,
        why: Option<String>,
        removed_plaintext: bool,
    },
    /// Each place a key was removed from, and each place that was looked in.
    Erased {
        removed: Vec<String>,
        looked_in: Vec<String>,
    },
    Listed {
        servers: Vec<Listed>,
    },
    Migrated {
        results: Vec<Migrated>,
    },
    Status(DaemonStatus),
    Done,
    Error {
        kind: ErrorKind,
        message: String,
    },
}
