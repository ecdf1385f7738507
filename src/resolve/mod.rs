//! The documented precedence rules: which server, and which key for it.

pub mod base_url;
pub mod credential;
pub mod sdk;
