//! The git credential request reader on arbitrary bytes: never a panic; an accepted
//! request holds no NUL, CR or LF in any value; an answer that is written reads back as
//! the same username and password.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wandb_cred::git_credential::{Request, answer};

fuzz_target!(|data: &[u8]| {
    let Ok(request) = Request::read(data) else { return };
    let values = [
        request.protocol.as_deref(),
        request.host.as_deref(),
        request.path.as_deref(),
        request.username.as_deref(),
        request.password.as_deref().map(|p| p.as_str()),
    ];
    for value in values.into_iter().flatten() {
        assert!(!value.contains(['\0', '\r', '\n']));
    }
    let (user, password) = (
        request.username.as_deref().unwrap_or("api"),
        request.password.as_deref().map_or("k", |p| p.as_str()),
    );
    if let Some(text) = answer(user, password) {
        let back = Request::read(text.as_bytes()).expect("an answer reads back");
        assert_eq!(back.username.as_deref(), Some(user));
        assert_eq!(back.password.as_deref().map(|p| p.as_str()), Some(password));
    }
});
