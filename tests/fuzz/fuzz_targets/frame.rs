//! The daemon's frame decoder on arbitrary bytes: never a panic, never an allocation
//! beyond the frame limit, and whatever decodes re-encodes to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wandb_cred_proto::{Request, Response, decode, encode, read_frame};

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = decode::<Request>(data) {
        let again: Request = decode(&encode(&request).unwrap()).unwrap();
        assert_eq!(again, request);
    }
    if let Ok(response) = decode::<Response>(data) {
        let again: Response = decode(&encode(&response).unwrap()).unwrap();
        assert_eq!(again, response);
    }
    let _ = read_frame::<Request>(&mut &data[..]);
});
