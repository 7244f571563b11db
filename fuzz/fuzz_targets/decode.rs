//! Arbitrary text fed to the table-encoding decoder: it must never panic, and whatever it
//! accepts must survive encode -> decode unchanged (strict equality: key order, number text).
#![no_main]

use cinch_core::json::{decode::decode, encode::encode_document, parse::Document, strict_eq};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(d) = decode(text) else {
        return;
    };
    let encoded = encode_document(&Document {
        value: d.value.clone(),
        ndjson: d.ndjson,
    });
    let again = match decode(&encoded) {
        Ok(a) => a,
        Err(e) => panic!(
            "re-encoding of a decoded value does not decode: {e}\ninput: {text:?}\nencoded: {encoded:?}"
        ),
    };
    assert!(
        strict_eq(&again.value, &d.value),
        "round trip changed the value\ninput: {text:?}\nencoded: {encoded:?}\nfirst: {:?}\nagain: {:?}",
        d.value,
        again.value
    );
    assert_eq!(
        again.ndjson, d.ndjson,
        "round trip changed the ndjson flag\ninput: {text:?}\nencoded: {encoded:?}"
    );
});
