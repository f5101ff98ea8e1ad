//! Ed25519 detached signatures of plugins.
//!
//! An operator trusts a set of public keys. A plugin's author signs the
//! component together with its manifest; the host refuses a plugin whose
//! signature is missing (unless the operator allows unsigned plugins), does
//! not parse, or does not verify with one of the trusted keys. A present but
//! wrong signature is refused even when unsigned plugins are allowed.
//!
//! # What is signed
//!
//! The manifest is signed too, because it grants the plugin its origins: a
//! signed component with an edited manifest must not verify. The signed
//! message ([`signed_message`]) is, byte for byte:
//!
//! ```text
//! b"preflight-plugin-signature-v1\n"   domain separation, 30 bytes
//! sha256(component)                   32 raw bytes
//! sha256(manifest file bytes)         32 raw bytes
//! ```
//!
//! Verification uses [`ed25519_dalek::VerifyingKey::verify_strict`], which
//! rejects weak keys and non-canonical signatures.
//!
//! # Text formats
//!
//! Each is one line of base64 (standard alphabet, with padding) after a
//! prefix. On parsing, surrounding whitespace (a trailing newline included)
//! is ignored; the `to_text`/`Display` forms have no newline.
//!
//! | what | format |
//! |---|---|
//! | public key | `ed25519:<base64 of the 32 key bytes>` |
//! | signature (the `.sig` file) | `ed25519:<base64 of the 64 signature bytes>` |
//! | secret key file | `preflight-ed25519-secret-key:<base64 of the 32-byte seed>` |
//!
//! A key is shown to operators by its [id](PublicKey::id): the first 16 hex
//! characters of the sha256 of its 32 bytes ("signed by key 3f2a…").
//!
//! Over 500 lines, about half of them tests of the key, signature and policy
//! formats.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::Signer as _;
use sha2::{Digest as _, Sha256};

use preflight_runtime::plugin::hex;

/// The domain separation prefix of the signed message.
const DOMAIN: &[u8] = b"preflight-plugin-signature-v1\n";
/// The prefix of public keys and signatures.
const ED25519_PREFIX: &str = "ed25519:";
/// The prefix of secret key files.
const SECRET_PREFIX: &str = "preflight-ed25519-secret-key:";

/// The message an author signs for a component and its manifest: the domain
/// prefix `preflight-plugin-signature-v1\n`, then the raw sha256 of
/// `component`, then the raw sha256 of `manifest` (the manifest file's bytes,
/// exactly as shipped).
pub fn signed_message(component: &[u8], manifest: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(DOMAIN.len() + 64);
    message.extend_from_slice(DOMAIN);
    message.extend_from_slice(&Sha256::digest(component));
    message.extend_from_slice(&Sha256::digest(manifest));
    message
}

/// Why a signature, a key, or the policy refused something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No signature, and the operator does not allow unsigned plugins.
    #[error(
        "unsigned: no signature file, and the operator does not allow unsigned plugins \
         (add a signature with `preflight plugins sign`, or set plugins.allowUnsigned = true)"
    )]
    Unsigned,
    /// A signature is present but the operator trusts no key to check it with.
    #[error(
        "the plugin is signed, but no trusted keys are configured, so the signature cannot be \
         checked (add the author's public key to plugins.trustedKeys)"
    )]
    NoTrustedKeys,
    /// The signature verifies with none of the trusted keys.
    #[error(
        "the signature does not verify with {} (the component or its manifest changed after \
         signing, or it was signed by another key)",
        trusted_keys_phrase(*.trusted)
    )]
    NotVerified {
        /// How many trusted keys were tried.
        trusted: usize,
    },
    /// The signature text does not parse.
    #[error("malformed signature: {0}")]
    MalformedSignature(String),
    /// A public key text does not parse or is not a valid key.
    #[error("malformed public key: {0}")]
    MalformedPublicKey(String),
    /// A secret key text does not parse.
    #[error("malformed secret key: {0}")]
    MalformedSecretKey(String),
    /// The operating system's random number generator failed.
    #[error("could not generate a key: {0}")]
    Generate(String),
}

fn trusted_keys_phrase(trusted: usize) -> String {
    match trusted {
        1 => "the trusted key".to_owned(),
        n => format!("any of the {n} trusted keys"),
    }
}

/// Strips `prefix` from the trimmed `text` and decodes the base64 after it
/// into exactly `N` bytes. Errors describe the problem, without the input.
fn decode_prefixed<const N: usize>(text: &str, prefix: &str) -> Result<[u8; N], String> {
    let text = text.trim();
    let Some(encoded) = text.strip_prefix(prefix) else {
        return Err(format!("missing the `{prefix}` prefix"));
    };
    let mut decoded = BASE64
        .decode(encoded)
        .map_err(|error| format!("bad base64 after `{prefix}`: {error}"))?;
    let result = <[u8; N]>::try_from(decoded.as_slice())
        .map_err(|_| format!("{} bytes after `{prefix}`, expected {N}", decoded.len()));
    // Best effort for secret seeds: do not leave a copy in the freed heap.
    decoded.fill(0);
    std::hint::black_box(&decoded);
    result
}

/// A public key an operator trusts. Text form: `ed25519:<base64 of 32 bytes>`
/// (see the [module docs](self)); serialised as that text.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl PublicKey {
    /// The key's id shown to operators: the first 16 hex characters of the
    /// sha256 of the 32 key bytes.
    pub fn id(&self) -> String {
        hex(&Sha256::digest(self.0.as_bytes())[..8])
    }
}

impl FromStr for PublicKey {
    type Err = SignatureError;

    fn from_str(text: &str) -> Result<PublicKey, SignatureError> {
        let bytes = decode_prefixed::<32>(text, ED25519_PREFIX).map_err(|mut message| {
            if text.trim().len() == ED25519_PREFIX.len() + 88 {
                message.push_str(" (this looks like a signature, not a public key)");
            }
            SignatureError::MalformedPublicKey(message)
        })?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| {
                SignatureError::MalformedPublicKey(
                    "the 32 bytes are not a valid ed25519 point".to_owned(),
                )
            })
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{ED25519_PREFIX}{}", BASE64.encode(self.0.as_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl serde::Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<PublicKey, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An author's secret key. Text form (the secret key file):
/// `preflight-ed25519-secret-key:<base64 of the 32-byte seed>`. The seed is
/// zeroed when the key is dropped; `Debug` shows only the public key's id.
#[derive(Clone)]
pub struct SecretKey(ed25519_dalek::SigningKey);

impl SecretKey {
    /// A new key from the operating system's random number generator.
    pub fn generate() -> Result<SecretKey, SignatureError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|error| SignatureError::Generate(error.to_string()))?;
        let key = SecretKey(ed25519_dalek::SigningKey::from_bytes(&seed));
        seed.fill(0);
        std::hint::black_box(&seed);
        Ok(key)
    }

    /// Parses the text of a secret key file (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<SecretKey, SignatureError> {
        let mut seed = decode_prefixed::<32>(text, SECRET_PREFIX)
            .map_err(SignatureError::MalformedSecretKey)?;
        let key = SecretKey(ed25519_dalek::SigningKey::from_bytes(&seed));
        seed.fill(0);
        std::hint::black_box(&seed);
        Ok(key)
    }

    /// The text of the secret key file, without a trailing newline. It
    /// contains the seed: write it only to a file readable by its owner.
    pub fn to_text(&self) -> String {
        format!("{SECRET_PREFIX}{}", BASE64.encode(self.0.as_bytes()))
    }

    /// The matching public key, to hand to operators.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }
}

impl FromStr for SecretKey {
    type Err = SignatureError;

    fn from_str(text: &str) -> Result<SecretKey, SignatureError> {
        SecretKey::parse(text)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("public_key_id", &self.public_key().id())
            .finish_non_exhaustive()
    }
}

/// A detached signature of a component and its manifest. Text form (the
/// signature file): `ed25519:<base64 of 64 bytes>`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(ed25519_dalek::Signature);

impl FromStr for Signature {
    type Err = SignatureError;

    fn from_str(text: &str) -> Result<Signature, SignatureError> {
        let bytes = decode_prefixed::<64>(text, ED25519_PREFIX).map_err(|mut message| {
            if text.trim().len() == ED25519_PREFIX.len() + 44 {
                message.push_str(" (this looks like a public key, not a signature)");
            }
            SignatureError::MalformedSignature(message)
        })?;
        Ok(Signature(ed25519_dalek::Signature::from_bytes(&bytes)))
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{ED25519_PREFIX}{}", BASE64.encode(self.0.to_bytes()))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({self})")
    }
}

/// Signs `component` and its `manifest` (the manifest file's bytes) with
/// `key`; see [`signed_message`].
pub fn sign(key: &SecretKey, component: &[u8], manifest: &[u8]) -> Signature {
    Signature(key.0.sign(&signed_message(component, manifest)))
}

/// Checks `signature` over `component` and `manifest` against each trusted
/// key (strict verification) and returns the key that verified it.
pub fn verify(
    trusted: &[PublicKey],
    component: &[u8],
    manifest: &[u8],
    signature: &Signature,
) -> Result<PublicKey, SignatureError> {
    if trusted.is_empty() {
        return Err(SignatureError::NoTrustedKeys);
    }
    let message = signed_message(component, manifest);
    trusted
        .iter()
        .find(|key| key.0.verify_strict(&message, &signature.0).is_ok())
        .copied()
        .ok_or(SignatureError::NotVerified {
            trusted: trusted.len(),
        })
}

/// Who vouched for a plugin that passed the [`SignaturePolicy`].
///
/// Serialised as `{"key": "<id>"}` or `"unsigned"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Signer {
    /// Signed by the trusted key with this [id](PublicKey::id).
    Key(String),
    /// No signature, allowed by the operator.
    Unsigned,
}

impl fmt::Display for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Signer::Key(id) => write!(f, "signed by key {id}"),
            Signer::Unsigned => f.write_str("unsigned"),
        }
    }
}

/// The operator's signature policy: the keys they trust, and whether plugins
/// without a signature may load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignaturePolicy {
    /// Keys whose signatures are accepted.
    pub trusted: Vec<PublicKey>,
    /// Whether a plugin without a signature may load. A present but wrong
    /// signature is refused regardless.
    pub allow_unsigned: bool,
}

impl SignaturePolicy {
    /// Decides whether a plugin may load. `signature_text` is the content of
    /// its signature file, `None` when there is none.
    ///
    /// - no signature: [`Signer::Unsigned`] if unsigned plugins are allowed,
    ///   else [`SignatureError::Unsigned`];
    /// - a signature: it must parse and verify with one of the trusted keys,
    ///   even when unsigned plugins are allowed (a wrong signature is never
    ///   ignored); with no trusted keys, [`SignatureError::NoTrustedKeys`].
    pub fn check(
        &self,
        component: &[u8],
        manifest: &[u8],
        signature_text: Option<&str>,
    ) -> Result<Signer, SignatureError> {
        let Some(text) = signature_text else {
            return if self.allow_unsigned {
                Ok(Signer::Unsigned)
            } else {
                Err(SignatureError::Unsigned)
            };
        };
        let signature: Signature = text.parse()?;
        let key = verify(&self.trusted, component, manifest, &signature)?;
        Ok(Signer::Key(key.id()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0 pretend component bytes";
    const MANIFEST: &[u8] = b"name = \"xero\"\norigins = [\"https://api.xero.com\"]\n";

    fn key() -> SecretKey {
        SecretKey::generate().expect("random key")
    }

    #[test]
    fn signed_message_layout() {
        let message = signed_message(COMPONENT, MANIFEST);
        assert_eq!(message.len(), DOMAIN.len() + 64);
        assert!(message.starts_with(b"preflight-plugin-signature-v1\n"));
        assert_eq!(
            &message[DOMAIN.len()..DOMAIN.len() + 32],
            Sha256::digest(COMPONENT).as_slice()
        );
        assert_eq!(
            &message[DOMAIN.len() + 32..],
            Sha256::digest(MANIFEST).as_slice()
        );
    }

    #[test]
    fn sign_then_verify() {
        let secret = key();
        let signature = sign(&secret, COMPONENT, MANIFEST);
        let other = key().public_key();
        let verified = verify(
            &[other, secret.public_key()],
            COMPONENT,
            MANIFEST,
            &signature,
        )
        .expect("verifies");
        assert_eq!(verified, secret.public_key());
    }

    #[test]
    fn flipped_component_byte_fails() {
        let secret = key();
        let signature = sign(&secret, COMPONENT, MANIFEST);
        let mut component = COMPONENT.to_vec();
        component[10] ^= 0x01;
        assert_eq!(
            verify(&[secret.public_key()], &component, MANIFEST, &signature),
            Err(SignatureError::NotVerified { trusted: 1 })
        );
    }

    #[test]
    fn changed_manifest_fails() {
        let secret = key();
        let signature = sign(&secret, COMPONENT, MANIFEST);
        let manifest = b"name = \"xero\"\norigins = [\"https://evil.example\"]\n";
        assert_eq!(
            verify(&[secret.public_key()], COMPONENT, manifest, &signature),
            Err(SignatureError::NotVerified { trusted: 1 })
        );
    }

    #[test]
    fn untrusted_key_fails() {
        let signature = sign(&key(), COMPONENT, MANIFEST);
        let error = verify(
            &[key().public_key(), key().public_key()],
            COMPONENT,
            MANIFEST,
            &signature,
        )
        .unwrap_err();
        assert_eq!(error, SignatureError::NotVerified { trusted: 2 });
        assert!(
            error
                .to_string()
                .starts_with("the signature does not verify with any of the 2 trusted keys"),
            "{error}"
        );
    }

    #[test]
    fn policy_unsigned() {
        let allowing = SignaturePolicy {
            trusted: vec![],
            allow_unsigned: true,
        };
        assert_eq!(
            allowing.check(COMPONENT, MANIFEST, None),
            Ok(Signer::Unsigned)
        );
        let refusing = SignaturePolicy {
            trusted: vec![key().public_key()],
            allow_unsigned: false,
        };
        let error = refusing.check(COMPONENT, MANIFEST, None).unwrap_err();
        assert_eq!(error, SignatureError::Unsigned);
        assert!(error.to_string().contains("plugins.allowUnsigned"));
    }

    #[test]
    fn policy_signed_by_trusted_key() {
        let secret = key();
        let text = format!("{}\n", sign(&secret, COMPONENT, MANIFEST));
        let policy = SignaturePolicy {
            trusted: vec![key().public_key(), secret.public_key()],
            allow_unsigned: false,
        };
        assert_eq!(
            policy.check(COMPONENT, MANIFEST, Some(&text)),
            Ok(Signer::Key(secret.public_key().id()))
        );
    }

    #[test]
    fn policy_bad_signature_refused_even_when_unsigned_allowed() {
        let secret = key();
        let policy = SignaturePolicy {
            trusted: vec![secret.public_key()],
            allow_unsigned: true,
        };
        let by_stranger = sign(&key(), COMPONENT, MANIFEST).to_string();
        assert_eq!(
            policy.check(COMPONENT, MANIFEST, Some(&by_stranger)),
            Err(SignatureError::NotVerified { trusted: 1 })
        );
        let tampered = sign(&secret, COMPONENT, MANIFEST).to_string();
        assert_eq!(
            policy.check(b"other component", MANIFEST, Some(&tampered)),
            Err(SignatureError::NotVerified { trusted: 1 })
        );
        assert!(matches!(
            policy.check(COMPONENT, MANIFEST, Some("garbage")),
            Err(SignatureError::MalformedSignature(_))
        ));
    }

    #[test]
    fn policy_signature_without_trusted_keys() {
        let text = sign(&key(), COMPONENT, MANIFEST).to_string();
        for allow_unsigned in [false, true] {
            let policy = SignaturePolicy {
                trusted: vec![],
                allow_unsigned,
            };
            let error = policy.check(COMPONENT, MANIFEST, Some(&text)).unwrap_err();
            assert_eq!(error, SignatureError::NoTrustedKeys);
            assert!(error.to_string().contains("no trusted keys are configured"));
        }
    }

    #[test]
    fn text_round_trips() {
        let secret = key();
        let parsed = SecretKey::parse(&format!("  {}\n", secret.to_text())).expect("secret");
        assert_eq!(parsed.to_text(), secret.to_text());
        assert_eq!(parsed.public_key(), secret.public_key());
        assert!(
            secret
                .to_text()
                .starts_with("preflight-ed25519-secret-key:")
        );

        let public = secret.public_key();
        let text = public.to_string();
        assert!(text.starts_with("ed25519:"));
        assert_eq!(text.len(), "ed25519:".len() + 44);
        assert_eq!(format!("{text}\n").parse::<PublicKey>(), Ok(public));

        let signature = sign(&secret, COMPONENT, MANIFEST);
        let text = signature.to_string();
        assert_eq!(text.len(), "ed25519:".len() + 88);
        assert_eq!(format!("\t{text}\r\n").parse::<Signature>(), Ok(signature));
    }

    #[test]
    fn public_key_serde_is_its_text() {
        let public = key().public_key();
        let json = serde_json::to_string(&public).expect("serialise");
        assert_eq!(json, format!("\"{public}\""));
        assert_eq!(
            serde_json::from_str::<PublicKey>(&json).expect("deserialise"),
            public
        );
        let error = serde_json::from_str::<PublicKey>("\"ed25519:AAAA\"").unwrap_err();
        assert!(
            error.to_string().contains("malformed public key"),
            "{error}"
        );
    }

    #[test]
    fn signer_serialises_camel_case() {
        assert_eq!(
            serde_json::to_value(Signer::Key("0123456789abcdef".into())).expect("json"),
            serde_json::json!({ "key": "0123456789abcdef" })
        );
        assert_eq!(
            serde_json::to_value(Signer::Unsigned).expect("json"),
            serde_json::json!("unsigned")
        );
    }

    fn public_key_error(text: &str) -> String {
        match text.parse::<PublicKey>() {
            Err(SignatureError::MalformedPublicKey(message)) => message,
            other => panic!("expected a malformed public key, got {other:?}"),
        }
    }

    #[test]
    fn malformed_public_keys() {
        let valid = key().public_key().to_string();
        let encoded = valid.strip_prefix("ed25519:").expect("prefix");
        assert!(public_key_error(encoded).contains("missing the `ed25519:` prefix"));
        assert!(public_key_error("ed25519:not base64!").contains("bad base64"));
        let short = format!("ed25519:{}", BASE64.encode([7u8; 31]));
        assert!(public_key_error(&short).contains("31 bytes after `ed25519:`, expected 32"));
        let signature = sign(&key(), COMPONENT, MANIFEST).to_string();
        assert!(public_key_error(&signature).contains("looks like a signature"));
        // y = 2 is not the y coordinate of any point on the curve.
        let mut not_a_point = [0u8; 32];
        not_a_point[0] = 2;
        let text = format!("ed25519:{}", BASE64.encode(not_a_point));
        assert!(public_key_error(&text).contains("not a valid ed25519 point"));
        let error = text.parse::<PublicKey>().unwrap_err().to_string();
        assert!(error.starts_with("malformed public key: "), "{error}");
    }

    #[test]
    fn malformed_signatures() {
        let error = |text: &str| match text.parse::<Signature>() {
            Err(SignatureError::MalformedSignature(message)) => message,
            other => panic!("expected a malformed signature, got {other:?}"),
        };
        assert!(error("").contains("missing the `ed25519:` prefix"));
        assert!(error(&format!("ed25519={}", BASE64.encode([0u8; 64]))).contains("prefix"));
        assert!(error("ed25519:@@@@").contains("bad base64"));
        let short = format!("ed25519:{}", BASE64.encode([1u8; 63]));
        assert!(error(&short).contains("63 bytes after `ed25519:`, expected 64"));
        let public = key().public_key().to_string();
        assert!(error(&public).contains("looks like a public key"));
        assert!(
            SignatureError::MalformedSignature("x".into())
                .to_string()
                .starts_with("malformed signature: ")
        );
    }

    #[test]
    fn malformed_secret_keys() {
        let error = |text: &str| match SecretKey::parse(text) {
            Err(SignatureError::MalformedSecretKey(message)) => message,
            other => panic!("expected a malformed secret key, got {other:?}"),
        };
        let public = key().public_key().to_string();
        assert!(error(&public).contains("missing the `preflight-ed25519-secret-key:` prefix"));
        assert!(error("preflight-ed25519-secret-key:AAA").contains("bad base64"));
        let long = format!("preflight-ed25519-secret-key:{}", BASE64.encode([0u8; 64]));
        assert!(error(&long).contains("64 bytes"));
        let message = SecretKey::parse("nope").unwrap_err().to_string();
        assert!(message.starts_with("malformed secret key: "), "{message}");
    }

    #[test]
    fn secret_key_debug_hides_the_seed() {
        let secret = key();
        let debug = format!("{secret:?}");
        let seed = secret.to_text();
        let seed = seed.strip_prefix(SECRET_PREFIX).expect("prefix");
        assert!(!debug.contains(seed), "{debug}");
        assert!(debug.contains(&secret.public_key().id()), "{debug}");
    }

    #[test]
    fn id_is_stable_16_hex_chars() {
        let public: PublicKey = "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
            .parse()
            .expect("RFC 8032 test 1 public key");
        let id = public.id();
        assert_eq!(id.len(), 16);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(id, public.id());
        // The first 16 hex characters of sha256 of the key bytes
        // d75a9801…f707511a.
        assert_eq!(id, "21fe31dfa154a261");
        assert_ne!(id, key().public_key().id());
    }

    #[test]
    fn generate_error_message() {
        assert_eq!(
            SignatureError::Generate("no entropy".into()).to_string(),
            "could not generate a key: no entropy"
        );
    }
}
