//! The framing of an entry of the compiled-component cache: magic, HMAC and
//! body, through `cache::open_entry`, the whole check a load makes before
//! wasmtime sees a byte. wasmtime's own (unsafe) deserialisation is never
//! run on fuzz input: it is reached only by bodies this check let through,
//! which need the cache key.
//!
//! Beyond not panicking: an entry opens only under the key, component
//! digest and engine hash it was sealed for, and only as the exact bytes
//! sealed (magic, MAC of the body, body); any sealed body opens to itself;
//! a sealed entry with any one bit flipped, or cut short by any number of
//! bytes, is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use preflight_runtime::cache::{MAGIC, entry_mac, open_entry};

/// The key the committed seed entries are sealed under
/// (fuzz/corpus/cache_entry/).
const KEY: [u8; 32] = *b"preflight-fuzz-cache-key-0123456";
const DIGEST: [u8; 32] = [7; 32];
const ENGINE: &str = "0123456789abcdef";

fn seal(key: &[u8; 32], digest: &[u8; 32], engine: &str, body: &[u8]) -> Vec<u8> {
    [&MAGIC[..], &entry_mac(key, digest, engine, body), body].concat()
}

fuzz_target!(|data: &[u8]| {
    // The input as an entry found on disk.
    if let Ok(body) = open_entry(&KEY, data, &DIGEST, ENGINE) {
        assert_eq!(
            seal(&KEY, &DIGEST, ENGINE, body),
            data,
            "one entry per body"
        );
        let other_key = {
            let mut key = KEY;
            key[0] ^= 1;
            key
        };
        assert!(open_entry(&other_key, data, &DIGEST, ENGINE).is_err());
        assert!(open_entry(&KEY, data, &[8; 32], ENGINE).is_err());
        assert!(open_entry(&KEY, data, &DIGEST, "0123456789abcdee").is_err());
    }

    // The input as a body: sealed, it opens to itself; damaged, never.
    let entry = seal(&KEY, &DIGEST, ENGINE, data);
    assert_eq!(open_entry(&KEY, &entry, &DIGEST, ENGINE), Ok(data));
    let seed = data.iter().fold(data.len(), |acc, &byte| {
        acc.wrapping_mul(31).wrapping_add(usize::from(byte))
    });
    let mut flipped = entry.clone();
    flipped[seed % entry.len()] ^= 1 << (seed % 8);
    assert!(
        open_entry(&KEY, &flipped, &DIGEST, ENGINE).is_err(),
        "a flipped bit at {} went unnoticed",
        seed % entry.len()
    );
    let cut = 1 + seed % entry.len();
    assert!(
        open_entry(&KEY, &entry[..entry.len() - cut], &DIGEST, ENGINE).is_err(),
        "an entry cut by {cut} bytes opened"
    );
});
