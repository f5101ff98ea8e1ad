//! The signature file (`<stem>.sig`), public keys (`plugins.trustedKeys`,
//! `plugins verify --trusted-key`) and secret key files, through their
//! `FromStr`/`parse`; and the policy check a registry load runs on a
//! signature file's text (`SignaturePolicy::check`).
//!
//! Beyond not panicking: each accepted text is the canonical form (what
//! `Display`/`to_text` prints, once surrounding whitespace is trimmed), so a
//! signature file has exactly one spelling; a present signature is never
//! taken as no signature, even when unsigned plugins are allowed; only the
//! signature of the trusted key verifies.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use preflight::signature::{
    self, PublicKey, SecretKey, Signature, SignatureError, SignaturePolicy, Signer,
};

const COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0 a component";
const MANIFEST: &[u8] = b"name = \"xero\"\n";

/// A fixed key, so the fuzzer's inputs are checked against one signer.
static KEY: LazyLock<SecretKey> = LazyLock::new(|| {
    SecretKey::parse("preflight-ed25519-secret-key:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        .expect("the fuzz key parses")
});
/// Its signature of the component and manifest.
static GENUINE: LazyLock<Signature> = LazyLock::new(|| signature::sign(&KEY, COMPONENT, MANIFEST));

fuzz_target!(|data: &[u8]| {
    // The registry refuses a signature file that is not UTF-8 before parsing.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let trimmed = text.trim();

    let parsed_signature = text.parse::<Signature>();
    if let Ok(signature) = &parsed_signature {
        assert_eq!(signature.to_string(), trimmed, "one spelling per signature");
    }
    if let Ok(key) = text.parse::<PublicKey>() {
        assert_eq!(key.to_string(), trimmed, "one spelling per public key");
        assert_eq!(key.id().len(), 16);
    }
    if let Ok(key) = SecretKey::parse(text) {
        assert_eq!(key.to_text(), trimmed, "one spelling per secret key");
    }

    let genuine = *GENUINE;
    for allow_unsigned in [false, true] {
        let policy = SignaturePolicy {
            trusted: vec![KEY.public_key()],
            allow_unsigned,
        };
        match policy.check(COMPONENT, MANIFEST, Some(text)) {
            Ok(Signer::Unsigned) => panic!("a signature file taken as none"),
            Ok(Signer::Key(id)) => {
                assert_eq!(id, KEY.public_key().id());
                assert_eq!(parsed_signature, Ok(genuine), "a forged signature verified");
            }
            Err(SignatureError::MalformedSignature(_)) => assert!(parsed_signature.is_err()),
            Err(SignatureError::NotVerified { trusted: 1 }) => {
                assert_ne!(
                    parsed_signature,
                    Ok(genuine),
                    "the genuine signature refused"
                )
            }
            Err(other) => panic!("unexpected refusal: {other:?}"),
        }
        let untrusted = SignaturePolicy {
            trusted: Vec::new(),
            allow_unsigned,
        };
        assert!(
            untrusted.check(COMPONENT, MANIFEST, Some(text)).is_err(),
            "a signature accepted with no trusted key"
        );
    }
});
