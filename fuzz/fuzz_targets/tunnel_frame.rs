//! Fuzz target: decoding a tunnel frame never panics, whatever the bytes, and whatever decodes
//! re-encodes to a frame that decodes to the same thing (so the encoder accepts everything the
//! decoder lets through, and neither loses a header or a body byte).
#![no_main]

use deskbridge_relay::frame::Frame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(frame) = Frame::decode(data.to_vec()) else {
        return;
    };
    let encoded = frame.encode().expect("a decoded frame is within every limit");
    assert_eq!(
        Frame::decode(encoded.clone()).expect("an encoded frame decodes"),
        frame
    );
    // Frames are canonical except for header-name case: the same length either way.
    assert_eq!(encoded.len(), data.len());
});
