//! The settings (INI) parser and editor on arbitrary text: never a panic; an edit is
//! either refused, or reads back with the new value and every other setting unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wandb_cred::config::settings::{Ini, SECTION, remove_value, set_value};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(before) = Ini::parse(text) else { return };
    let others = |ini: &Ini| {
        ["entity", "project", "api_key", "mode"].map(|k| ini.get(SECTION, k).map(str::to_owned))
    };
    if let Ok(set) = set_value(text, SECTION, "base_url", "http://h.example:1") {
        let after = Ini::parse(&set).expect("an accepted edit reads");
        assert_eq!(after.get(SECTION, "base_url"), Some("http://h.example:1"));
        assert_eq!(others(&after), others(&before));
    }
    if let Ok(Some(removed)) = remove_value(text, SECTION, "base_url") {
        let after = Ini::parse(&removed).expect("an accepted removal reads");
        assert_eq!(others(&after), others(&before));
    }
});
