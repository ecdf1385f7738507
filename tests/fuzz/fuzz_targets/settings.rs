//! The settings (INI) parser and editor on arbitrary text: never a panic; a file we
//! could read stays readable after setting or removing `base_url`, with the new value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wandb_cred::config::settings::{Ini, SECTION, remove_value, set_value};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if Ini::parse(text).is_err() {
        return;
    }
    let set = set_value(text, SECTION, "base_url", "http://h.example:1").expect("a readable file can be edited");
    assert_eq!(Ini::parse(&set).expect("still readable").get(SECTION, "base_url"), Some("http://h.example:1"));
    if let Some(removed) = remove_value(text, SECTION, "base_url").unwrap() {
        Ini::parse(&removed).expect("still readable after removal");
    }
});
