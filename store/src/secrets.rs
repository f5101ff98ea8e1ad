//! Secrets at rest: every credential value the store keeps is sealed with an
//! AEAD (ChaCha20-Poly1305, from `ring`) under the operator's key, and bound
//! to where it belongs, so a sealed value copied to another company or field
//! does not open.
//!
//! - A [`Key`] is 32 random bytes, written `pfk1:<base64>` (`preflight
//!   secrets keygen` writes one); it comes from a key file, which must not be
//!   readable by group or others, or from an environment variable. Its id is
//!   a fingerprint that names it in sealed values and messages, never the
//!   bytes.
//! - A sealed value is `v1.<key id>.<base64(nonce ‖ ciphertext ‖ tag)>`, with
//!   a random 96-bit nonce per seal. Its context (the AEAD's additional data)
//!   names the owner and the field, e.g. `company:<id>:credentials.refreshToken`.
//! - A [`Sealer`] seals under its current key and opens under the current key
//!   or any previous one, so that a key rotation re-seals values one by one
//!   while every replica keeps reading them ([`Sealer::needs_reseal`]).

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom as _, SystemRandom};
use sha2::{Digest as _, Sha256};

/// How a key is written.
const KEY_PREFIX: &str = "pfk1:";
/// The version tag of sealed values.
const SEALED_PREFIX: &str = "v1";
/// The largest key file read.
const KEY_FILE_BYTES: u64 = 4 << 10;

/// A secrets key.
pub struct Key {
    id: String,
    sealing: LessSafeKey,
    bytes: zeroize::Zeroizing<[u8; 32]>,
}

/// Why a key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Not `pfk1:` and 32 bytes in base64.
    #[error("not a secrets key: expected 'pfk1:' and 32 bytes in base64")]
    Malformed,
    /// The key file could not be read.
    #[error("{path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The key file may be read by others than its owner.
    #[error("{path}: mode {mode:o} lets others read the key; make it 0600 (chmod 600)")]
    Exposed {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// The environment variable is not set.
    #[error("environment variable {0} is not set")]
    Unset(String),
}

impl Key {
    /// A new random key.
    pub fn generate() -> Key {
        let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(bytes.as_mut())
            .expect("the system's random source works");
        Key::from_bytes(bytes)
    }

    fn from_bytes(bytes: zeroize::Zeroizing<[u8; 32]>) -> Key {
        let digest = Sha256::new()
            .chain_update(b"preflight secrets key\0")
            .chain_update(bytes.as_ref())
            .finalize();
        let id = digest[..8]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        let sealing = LessSafeKey::new(
            UnboundKey::new(&CHACHA20_POLY1305, bytes.as_ref())
                .expect("32 bytes is the key length"),
        );
        Key { id, sealing, bytes }
    }

    /// Reads `pfk1:<base64>`; surrounding white space is ignored.
    pub fn parse(text: &str) -> Result<Key, KeyError> {
        let encoded = text
            .trim()
            .strip_prefix(KEY_PREFIX)
            .ok_or(KeyError::Malformed)?;
        let decoded =
            zeroize::Zeroizing::new(BASE64.decode(encoded).map_err(|_| KeyError::Malformed)?);
        let bytes: [u8; 32] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::Malformed)?;
        Ok(Key::from_bytes(zeroize::Zeroizing::new(bytes)))
    }

    /// Reads the key file at `path`, refused when group or others may read
    /// or write it.
    pub fn from_file(path: &Path) -> Result<Key, KeyError> {
        let read = |error| KeyError::Read {
            path: path.display().to_string(),
            error,
        };
        let metadata = std::fs::metadata(path).map_err(read)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyError::Exposed {
                    path: path.display().to_string(),
                    mode,
                });
            }
        }
        if metadata.len() > KEY_FILE_BYTES {
            return Err(KeyError::Malformed);
        }
        let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(read)?);
        Key::parse(&text)
    }

    /// Writes a new key to `path`, which must not exist yet, readable by its
    /// owner only (mode 0600, set as the file is created).
    pub fn create_file(path: &Path) -> Result<Key, KeyError> {
        use std::io::Write as _;
        let key = Key::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let read = |error| KeyError::Read {
            path: path.display().to_string(),
            error,
        };
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(read)?;
        }
        let mut file = options.open(path).map_err(read)?;
        file.write_all(key.to_text().as_bytes()).map_err(read)?;
        file.write_all(b"\n").map_err(read)?;
        file.sync_all().map_err(read)?;
        Ok(key)
    }

    /// The key file at `path`, created with a new key when there is none
    /// (the default beside a SQLite store).
    pub fn open_or_create(path: &Path) -> Result<Key, KeyError> {
        match Key::create_file(path) {
            Ok(key) => {
                tracing::warn!(path = %path.display(), "created a new secrets key: back it up with the store, or companies' credentials cannot be read again");
                Ok(key)
            }
            Err(KeyError::Read { error, .. })
                if error.kind() == std::io::ErrorKind::AlreadyExists =>
            {
                Key::from_file(path)
            }
            Err(error) => Err(error),
        }
    }

    /// Reads the key from environment variable `variable`.
    pub fn from_env(variable: &str) -> Result<Key, KeyError> {
        let text = zeroize::Zeroizing::new(
            std::env::var(variable).map_err(|_| KeyError::Unset(variable.to_owned()))?,
        );
        Key::parse(&text)
    }

    /// The key's fingerprint: 16 hex digits that name it without revealing
    /// it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key as written in a key file (`pfk1:<base64>`): for `keygen`
    /// only.
    pub fn to_text(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(format!(
            "{KEY_PREFIX}{}",
            BASE64.encode(self.bytes.as_ref())
        ))
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Why a sealed value did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Not `v1.<key id>.<base64>`.
    #[error("not a sealed value")]
    Malformed,
    /// Sealed under a key this process does not hold.
    #[error("sealed under key {0}, which is neither the current key nor a previous one")]
    UnknownKey(String),
    /// The key is right, but the value was changed, or belongs to another
    /// context.
    #[error("does not open under key {0}: changed, or sealed for another owner or field")]
    Forged(String),
}

/// Seals under the current key; opens under it or a previous one.
#[derive(Debug)]
pub struct Sealer {
    current: Key,
    previous: Vec<Key>,
    random: SystemRandom,
}

impl Sealer {
    /// A sealer that seals under `current` and still opens what `previous`
    /// keys sealed.
    pub fn new(current: Key, previous: Vec<Key>) -> Sealer {
        Sealer {
            current,
            previous,
            random: SystemRandom::new(),
        }
    }

    /// The id of the key new values are sealed under.
    pub fn current_key(&self) -> &str {
        self.current.id()
    }

    /// `plaintext` sealed for `context` under the current key.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .expect("the system's random source works");
        let mut sealed = plaintext.to_vec();
        self.current
            .sealing
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut sealed,
            )
            .expect("a value far below the AEAD's limit seals");
        let mut framed = nonce.to_vec();
        framed.extend_from_slice(&sealed);
        format!(
            "{SEALED_PREFIX}.{}.{}",
            self.current.id(),
            BASE64.encode(framed)
        )
    }

    /// Opens `sealed`, which must have been sealed for `context`.
    pub fn open(
        &self,
        sealed: &str,
        context: &str,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, SealError> {
        let (id, framed) = parts(sealed)?;
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|key| key.id() == id)
            .ok_or_else(|| SealError::UnknownKey(id.to_owned()))?;
        if framed.len() < NONCE_LEN + CHACHA20_POLY1305.tag_len() {
            return Err(SealError::Malformed);
        }
        let (nonce, ciphertext) = framed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().expect("split at the nonce length");
        let mut opened = zeroize::Zeroizing::new(ciphertext.to_vec());
        let length = key
            .sealing
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                opened.as_mut_slice(),
            )
            .map_err(|_| SealError::Forged(id.to_owned()))?
            .len();
        opened.truncate(length);
        Ok(opened)
    }

    /// A fingerprint of `value`: 16 hex digits of an HMAC-SHA256 under a key
    /// derived from the current one, so equal values can be told apart from
    /// changed ones without revealing them, and a short or guessable secret
    /// cannot be found from its fingerprint without the key. It changes
    /// with a key rotation.
    pub fn fingerprint(&self, value: &[u8]) -> String {
        let derived = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, self.current.bytes.as_ref()),
            b"preflight secrets fingerprint",
        );
        let tag = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, derived.as_ref()),
            value,
        );
        tag.as_ref()[..8]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// Whether `sealed` is under a key other than the current one (a key
    /// rotation re-seals it); a malformed value needs no re-sealing, it
    /// needs replacing.
    pub fn needs_reseal(&self, sealed: &str) -> bool {
        parts(sealed).is_ok_and(|(id, _)| id != self.current.id())
    }
}

/// The key id and the decoded nonce, ciphertext and tag of `sealed`.
fn parts(sealed: &str) -> Result<(&str, Vec<u8>), SealError> {
    let mut fields = sealed.splitn(3, '.');
    let (Some(SEALED_PREFIX), Some(id), Some(encoded)) =
        (fields.next(), fields.next(), fields.next())
    else {
        return Err(SealError::Malformed);
    };
    let framed = BASE64.decode(encoded).map_err(|_| SealError::Malformed)?;
    Ok((id, framed))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTEXT: &str = "company:12abc3d4-e567-490e-9234-abc56e78fabc:credentials.refreshToken";

    #[test]
    fn a_sealed_value_opens_for_its_context_only_and_never_shows_the_plaintext() {
        let sealer = Sealer::new(Key::generate(), Vec::new());
        let secret = b"xero-demo-refresh-token";
        let sealed = sealer.seal(secret, CONTEXT);
        assert!(sealed.starts_with(&format!("v1.{}.", sealer.current_key())));
        assert!(!sealed.contains("xero-demo"), "{sealed}");
        assert_ne!(
            sealed,
            sealer.seal(secret, CONTEXT),
            "a fresh nonce per seal"
        );
        assert_eq!(sealer.open(&sealed, CONTEXT).unwrap().as_slice(), secret);
        let elsewhere = CONTEXT.replace("refreshToken", "accessToken");
        assert_eq!(
            sealer.open(&sealed, &elsewhere),
            Err(SealError::Forged(sealer.current_key().to_owned()))
        );
    }

    #[test]
    fn fingerprints_tell_values_apart_under_a_key_without_showing_them() {
        let sealer = Sealer::new(Key::generate(), Vec::new());
        let print = sealer.fingerprint(b"s3cret");
        assert_eq!(print.len(), 16);
        assert_eq!(print, sealer.fingerprint(b"s3cret"));
        assert_ne!(print, sealer.fingerprint(b"s3cret2"));
        let other = Sealer::new(Key::generate(), Vec::new());
        assert_ne!(
            print,
            other.fingerprint(b"s3cret"),
            "keyed, not a bare hash"
        );
    }

    #[test]
    fn a_changed_value_or_an_unknown_key_is_refused() {
        let sealer = Sealer::new(Key::generate(), Vec::new());
        let sealed = sealer.seal(b"s3cret", CONTEXT);
        let (id, mut framed) = parts(&sealed).unwrap();
        for at in [0, NONCE_LEN, framed.len() - 1] {
            framed[at] ^= 1;
            let tampered = format!("v1.{id}.{}", BASE64.encode(&framed));
            assert_eq!(
                sealer.open(&tampered, CONTEXT),
                Err(SealError::Forged(id.to_owned())),
                "a flipped bit at {at}"
            );
            framed[at] ^= 1;
        }
        let other = Sealer::new(Key::generate(), Vec::new());
        assert!(matches!(
            other.open(&sealed, CONTEXT),
            Err(SealError::UnknownKey(unknown)) if unknown == id
        ));
        for malformed in [
            "",
            "v1",
            "v1.abc",
            "v2.abc.AAAA",
            "v1.abc.not base64",
            "v1.abc.AAAA",
        ] {
            assert!(sealer.open(malformed, CONTEXT).is_err(), "{malformed:?}");
        }
    }

    #[test]
    fn after_a_rotation_old_values_open_and_are_marked_for_resealing() {
        let old = Key::generate();
        let old_text = old.to_text();
        let before = Sealer::new(old, Vec::new());
        let sealed = before.seal(b"s3cret", CONTEXT);
        let after = Sealer::new(Key::generate(), vec![Key::parse(&old_text).unwrap()]);
        assert!(after.needs_reseal(&sealed));
        assert_eq!(after.open(&sealed, CONTEXT).unwrap().as_slice(), b"s3cret");
        let resealed = after.seal(&after.open(&sealed, CONTEXT).unwrap(), CONTEXT);
        assert!(!after.needs_reseal(&resealed));
    }

    #[test]
    fn keys_are_read_from_text_files_and_the_environment_never_shown() {
        let key = Key::generate();
        let text = key.to_text();
        assert_eq!(
            Key::parse(&format!("  {}\n", text.as_str())).unwrap().id(),
            key.id()
        );
        assert!(!format!("{key:?}").contains(&text[KEY_PREFIX.len()..]));
        for bad in [
            "",
            "pfk1:",
            "pfk1:AAAA",
            "pfk2:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        ] {
            assert!(
                matches!(Key::parse(bad), Err(KeyError::Malformed)),
                "{bad:?}"
            );
        }
        let dir = std::env::temp_dir().join(format!("preflight-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("secrets.key");
        std::fs::write(&path, text.as_bytes()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let error = Key::from_file(&path).unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains("mode 644 lets others read the key"),
                "{error}"
            );
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert_eq!(Key::from_file(&path).unwrap().id(), key.id());
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(
            Key::from_env("PREFLIGHT_TEST_SECRETS_KEY_THAT_IS_NOT_SET"),
            Err(KeyError::Unset(_))
        ));
    }
}
