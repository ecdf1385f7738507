//! The documented precedence rules: which server, and which key for it.

pub mod base_url;
pub mod cloud;
pub mod credential;
pub mod precedence;
pub mod sdk;
pub mod url_error;
