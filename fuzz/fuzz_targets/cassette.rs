//! Cassettes (`preflight test`, `check --record`), through
//! `Cassette::parse`, as `preflight test` reads them.
//!
//! Beyond not panicking: an accepted cassette written out and read again is
//! the same cassette, and its expectation differs from itself in nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use preflight_runtime::cassette::Cassette;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let cassette = match Cassette::parse(text) {
        Ok(cassette) => cassette,
        Err(message) => {
            assert!(!message.is_empty(), "an error without a message");
            return;
        }
    };
    let written = serde_json::to_string(&cassette).expect("a cassette read serialises");
    let again = Cassette::parse(&written).expect("a written cassette reads back");
    assert_eq!(again.expect, cassette.expect);
    assert_eq!(again.job, cassette.job);
    assert_eq!(again.config, cassette.config);
    assert_eq!(again.exchanges.len(), cassette.exchanges.len());
    assert!(cassette.expect.differences(&cassette.expect).is_empty());
});
