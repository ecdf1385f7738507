//! The netrc parser and editor on arbitrary text: never a panic; an edit that succeeds
//! reads back as intended (the editor's own check) and keeps the other entries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wandb_cred::config::netrc::Netrc;
use wandb_cred::config::netrc_edit::{remove_machine, set_password};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(before) = Netrc::parse(text) else { return };
    if let Ok(out) = set_password(text, "api.example.com:8080", "wandb_v1_key") {
        let after = Netrc::parse(&out).expect("an accepted edit parses");
        assert_eq!(after.entry_for("api.example.com:8080").unwrap().password.as_str(), "wandb_v1_key");
        let others = |n: &Netrc| n.entries.iter().filter(|e| e.machine.as_deref() != Some("api.example.com:8080")).count();
        assert_eq!(others(&after), others(&before));
    }
    if let Ok(Some(out)) = remove_machine(text, "api.example.com:8080") {
        assert!(Netrc::parse(&out).unwrap().entry_for("api.example.com:8080").is_none());
    }
});
