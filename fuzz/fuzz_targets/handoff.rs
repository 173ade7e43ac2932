//! The PAM hand-off of the command's arguments: decoding any value never
//! panics, what decodes encodes back to a value that decodes the same, and
//! encoding then decoding any arguments gives them back unchanged.

#![no_main]

use libfuzzer_sys::fuzz_target;
use newgate_policy::handoff::{decode_args, encode_args};

fuzz_target!(|data: &[u8]| {
    let value = String::from_utf8_lossy(data);
    if let Some(args) = decode_args(&value) {
        assert_eq!(decode_args(&encode_args(&args)), Some(args));
    }
    // The same bytes as a list of arguments: 0xFF (never in UTF-8) separates them.
    let args: Vec<String> = if data.is_empty() {
        Vec::new()
    } else {
        data.split(|&b| b == 0xff)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect()
    };
    let encoded = encode_args(&args);
    assert!(!encoded.chars().any(char::is_control), "{encoded:?}");
    assert_eq!(decode_args(&encoded), Some(args));
});
