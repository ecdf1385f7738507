//! The encrypted file store (`--backend encrypted-file`): keys in one file under the
//! data folder, in the age format with a passphrase, so the standard `age` tool opens
//! it. [`age`] is the format.

pub mod age;
