//! Tests of [`super`]: round trips, and every way a file is refused. The real `age`
//! program's files are read (and ours given to it) by the integration tests.

use super::*;

/// A small work factor: these tests are about the format, not scrypt's cost.
const FAST: u8 = 4;

#[test]
fn what_is_written_is_read_back_with_the_passphrase_only() {
    for size in [
        0,
        1,
        100,
        CHUNK - 1,
        CHUNK,
        CHUNK + 1,
        2 * CHUNK,
        2 * CHUNK + 7,
    ] {
        let plaintext: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let sealed = Sealed::new(b"correct horse", FAST).unwrap();
        let file = sealed.encrypt(&plaintext).unwrap();
        assert!(file.starts_with(b"age-encryption.org/v1\n-> scrypt "));
        let (back, again) = decrypt(&file, b"correct horse").unwrap();
        assert_eq!(*back, plaintext, "size {size}");
        // The next version, written without the passphrase, opens with it too.
        let next = again.encrypt(b"next").unwrap();
        assert_eq!(*decrypt(&next, b"correct horse").unwrap().0, b"next");
        assert_eq!(*again.reopen(&next).unwrap(), b"next");
    }
}

#[test]
fn each_write_has_a_fresh_payload_nonce() {
    let sealed = Sealed::new(b"pw", FAST).unwrap();
    let (a, b) = (
        sealed.encrypt(b"same").unwrap(),
        sealed.encrypt(b"same").unwrap(),
    );
    assert_ne!(a, b);
}

#[test]
fn a_wrong_passphrase_is_refused() {
    let file = Sealed::new(b"right", FAST).unwrap().encrypt(b"x").unwrap();
    assert_eq!(
        decrypt(&file, b"wrong").err(),
        Some(AgeError::WrongPassphrase)
    );
}

#[test]
fn any_changed_byte_is_refused() {
    let file = Sealed::new(b"pw", FAST)
        .unwrap()
        .encrypt(b"some keys")
        .unwrap();
    for at in 0..file.len() {
        let mut bad = file.clone();
        bad[at] ^= 0x01;
        assert!(decrypt(&bad, b"pw").is_err(), "byte {at} changed");
    }
    for cut in [1, 10, file.len() / 2] {
        assert!(
            decrypt(&file[..file.len() - cut], b"pw").is_err(),
            "cut {cut}"
        );
    }
    let mut longer = file.clone();
    longer.push(0);
    assert!(decrypt(&longer, b"pw").is_err());
}

#[test]
fn a_file_under_another_key_is_told_apart() {
    let one = Sealed::new(b"pw", FAST).unwrap();
    let other = Sealed::new(b"pw", FAST).unwrap().encrypt(b"x").unwrap();
    assert_eq!(one.reopen(&other).err(), Some(AgeError::OtherKey));
}

#[test]
fn work_factors_and_recipients_it_does_not_take_are_named() {
    let file = Sealed::new(b"pw", FAST).unwrap().encrypt(b"x").unwrap();
    let text = String::from_utf8_lossy(&file).into_owned();
    let heavy = text.replacen(" 4\n", " 30\n", 1);
    assert_eq!(
        decrypt(heavy.as_bytes(), b"pw").err(),
        Some(AgeError::WorkFactor(30))
    );
    let x25519 = text.replacen("-> scrypt", "-> X25519", 1);
    assert!(matches!(
        decrypt(x25519.as_bytes(), b"pw"),
        Err(AgeError::NotPassphrase(_))
    ));
    assert!(matches!(decrypt(b"hello", b"pw"), Err(AgeError::Format(_))));
}

#[test]
fn the_armor_round_trips_and_is_strict() {
    let sealed = Sealed::new(b"pw", FAST).unwrap();
    for size in [0, 10, 47, 48, 49, 200] {
        let file = sealed.encrypt(&vec![7u8; size]).unwrap();
        let text = armor(&file);
        assert!(text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"));
        assert!(text.ends_with("-----END AGE ENCRYPTED FILE-----\n"));
        assert_eq!(unarmor(&text).unwrap(), file);
    }
    let text = armor(&sealed.encrypt(b"x").unwrap());
    assert!(unarmor(&text.replacen('\n', "\n\n", 2)).is_err());
    assert!(unarmor("hello").is_err());
}
