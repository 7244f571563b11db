//! Arbitrary text fed to the JSON/NDJSON parser: it must never panic, and every document it
//! accepts must survive encode -> decode unchanged (strict equality).
#![no_main]

use cinch_core::json::{decode::decode, encode::encode_document, parse::parse, strict_eq};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(doc) = parse(text) else {
        return;
    };
    let encoded = encode_document(&doc);
    let d = match decode(&encoded) {
        Ok(d) => d,
        Err(e) => panic!("encoding of a parsed document does not decode: {e}\ninput: {text:?}\nencoded: {encoded:?}"),
    };
    assert!(
        strict_eq(&d.value, &doc.value),
        "round trip changed the value\ninput: {text:?}\nencoded: {encoded:?}\nparsed: {:?}\ndecoded: {:?}",
        doc.value,
        d.value
    );
    assert_eq!(
        d.ndjson, doc.ndjson,
        "round trip changed the ndjson flag\ninput: {text:?}\nencoded: {encoded:?}"
    );
});
