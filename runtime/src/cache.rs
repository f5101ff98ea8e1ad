//! The on-disk cache of precompiled components, so that a restart loads
//! plugins without compiling them again.
//!
//! Deserialising a precompiled component runs native code that wasmtime
//! trusts blindly, so an entry is used only if this host (or another host
//! sharing the directory *and its key*) wrote it: every entry is
//! authenticated with HMAC-SHA256 under a secret key kept in the directory.
//! A corrupt, truncated, edited or foreign entry is never trusted: it is
//! ignored, rebuilt and overwritten ([`CacheUse::Rebuilt`]).
//!
//! # Layout
//!
//! ```text
//! <dir>/cache.key                          32 random bytes (mode 0600 on unix)
//! <dir>/<sha256 of the component, hex>-<engine hash>.cwasm
//! <dir>/.<entry name>.<random>.tmp         an entry being written
//! ```
//!
//! The engine hash is the first 16 hex characters of a sha256 fed by
//! [`wasmtime::Engine::precompile_compatibility_hash`]: entries of an engine
//! with other settings or another wasmtime version get other names, and
//! wasmtime checks compatibility again when it deserialises.
//!
//! Replacing `cache.key` (or a key file of the wrong length, which is
//! replaced on open) invalidates every entry.
//!
//! # Entry format
//!
//! ```text
//! b"PFCWASM1"                              8 bytes, magic
//! HMAC-SHA256(key, sha256(component)       32 bytes; the component digest is
//!                  || engine hash text          the 32 raw bytes, the engine
//!                  || body)                     hash its 16 ASCII characters
//! body                                     the rest: wasmtime's serialised
//!                                          component (`Component::serialize`)
//! ```
//!
//! An entry is written to a temporary file and renamed into place, so a
//! reader never sees half an entry; it is read whole into memory and checked
//! before it is deserialised, so a change to the file after the check cannot
//! reach wasmtime.
//!
//! All of it is blocking I/O and CPU-heavy compilation: async callers run
//! [`CompiledCache::load_or_compile`] on a blocking thread.
//!
//! Over 500 lines, about half of them tests, one per threat to the on-disk
//! format.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::hash::{Hash as _, Hasher};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::plugin::hex;

/// The first bytes of every entry (see the [entry format](self)).
pub const MAGIC: &[u8; 8] = b"PFCWASM1";
/// The length of the MAC after the magic.
const MAC_LEN: usize = 32;
/// The name of the key file in the cache directory.
const KEY_FILE: &str = "cache.key";

type HmacSha256 = Hmac<Sha256>;

/// How a component was obtained by [`CompiledCache::load_or_compile`].
///
/// Serialised as `"hit"`, `"compiled"` or `{"rebuilt": {"reason": "…"}}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CacheUse {
    /// Loaded from a valid entry, without compiling.
    Hit,
    /// No entry: compiled, and the entry written (unless writing failed,
    /// which is logged).
    Compiled,
    /// An entry was there but could not be trusted or used: compiled again
    /// and the entry overwritten.
    Rebuilt {
        /// Why the entry was refused.
        reason: String,
    },
}

impl CacheUse {
    /// `"hit"`, `"compiled"` or `"rebuilt"`, for logs and metric labels.
    pub fn as_str(&self) -> &'static str {
        match self {
            CacheUse::Hit => "hit",
            CacheUse::Compiled => "compiled",
            CacheUse::Rebuilt { .. } => "rebuilt",
        }
    }
}

/// A directory of precompiled components, authenticated with the directory's
/// key (see the [module docs](self)).
pub struct CompiledCache {
    dir: PathBuf,
    key: [u8; 32],
}

impl fmt::Debug for CompiledCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledCache")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl CompiledCache {
    /// Opens the cache in `dir`, creating the directory and its key as
    /// needed. A key file of the wrong length is replaced (every existing
    /// entry is then rebuilt on its next load).
    pub fn open(dir: &Path) -> io::Result<CompiledCache> {
        fs::create_dir_all(dir)?;
        let key = read_or_create_key(dir)?;
        Ok(CompiledCache {
            dir: dir.to_path_buf(),
            key,
        })
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Returns the compiled `bytes` (a component binary, whose SHA-256 is
    /// `digest`: callers have it already), from a valid entry
    /// when there is one; otherwise compiles them once and writes the entry.
    ///
    /// A bad entry (wrong magic, failed authentication, truncated, refused
    /// by wasmtime) is logged and rebuilt ([`CacheUse::Rebuilt`]). A failure
    /// to write an entry is logged and does not fail the load. The error is
    /// the component's own compile error.
    ///
    /// Blocking: file I/O and, on a miss, compilation.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        digest: &[u8; 32],
    ) -> Result<(Component, CacheUse), wasmtime::Error> {
        let engine_hash = engine_hash(engine);
        let name = format!("{}-{engine_hash}.cwasm", hex(digest));
        let path = self.dir.join(&name);

        let refused = match fs::read(&path) {
            Ok(entry) => match self.open_entry(&entry, digest, &engine_hash) {
                Ok(body) => match deserialize_authenticated(engine, body) {
                    Ok(component) => return Ok((component, CacheUse::Hit)),
                    Err(error) => Some(format!("wasmtime refused the entry: {error:#}")),
                },
                Err(reason) => Some(reason),
            },
            Err(error) if error.kind() == io::ErrorKind::NotFound => None,
            Err(error) => Some(format!("could not read the entry: {error}")),
        };
        if let Some(reason) = &refused {
            tracing::warn!(path = %path.display(), reason = %reason, "ignoring a bad entry of the compiled-component cache; rebuilding it");
        }

        let component = Component::new(engine, bytes)?;
        match component.serialize() {
            Ok(body) => {
                let mac = self.mac(digest, &engine_hash, &body);
                if let Err(error) = write_atomically(&self.dir, &name, &[MAGIC, &mac, &body]) {
                    tracing::warn!(path = %path.display(), error = %error, "could not write an entry of the compiled-component cache");
                }
            }
            Err(error) => {
                tracing::warn!(path = %path.display(), error = %format!("{error:#}"), "could not serialise a compiled component for the cache");
            }
        }
        let cache_use = match refused {
            Some(reason) => CacheUse::Rebuilt { reason },
            None => CacheUse::Compiled,
        };
        Ok((component, cache_use))
    }

    fn mac(&self, digest: &[u8; 32], engine_hash: &str, body: &[u8]) -> [u8; MAC_LEN] {
        entry_mac(&self.key, digest, engine_hash, body)
    }

    fn open_entry<'a>(
        &self,
        entry: &'a [u8],
        digest: &[u8; 32],
        engine_hash: &str,
    ) -> Result<&'a [u8], String> {
        open_entry(&self.key, entry, digest, engine_hash)
    }
}

/// The MAC of an entry's body for the component `digest` and `engine_hash`.
fn mac_state(key: &[u8; 32], digest: &[u8; 32], engine_hash: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(digest);
    mac.update(engine_hash.as_bytes());
    mac.update(body);
    mac
}

/// The MAC field of an entry (see the [entry format](self)): HMAC-SHA256
/// under the cache `key` of the component `digest`, `engine_hash` and `body`.
///
/// Public, with [`open_entry`], so that the fuzz target of the entry framing
/// (`fuzz/fuzz_targets/cache_entry.rs`) seals and opens entries with the code
/// the cache itself runs.
pub fn entry_mac(
    key: &[u8; 32],
    digest: &[u8; 32],
    engine_hash: &str,
    body: &[u8],
) -> [u8; MAC_LEN] {
    mac_state(key, digest, engine_hash, body)
        .finalize()
        .into_bytes()
        .into()
}

/// Checks an entry's framing, its magic and its MAC under the cache `key`
/// for the component `digest` and `engine_hash`, and returns its body, or why
/// it is refused. Nothing is deserialised: this is the whole check
/// [`CompiledCache::load_or_compile`] makes before wasmtime sees a byte.
///
/// Public so that the fuzz target of the entry framing
/// (`fuzz/fuzz_targets/cache_entry.rs`) runs exactly this check on untrusted
/// bytes.
pub fn open_entry<'a>(
    key: &[u8; 32],
    entry: &'a [u8],
    digest: &[u8; 32],
    engine_hash: &str,
) -> Result<&'a [u8], String> {
    if entry.len() < MAGIC.len() + MAC_LEN {
        return Err(format!(
            "truncated: {} bytes, shorter than its header",
            entry.len()
        ));
    }
    let (magic, rest) = entry.split_at(MAGIC.len());
    if magic != MAGIC {
        return Err("not a preflight cache entry (wrong magic)".to_owned());
    }
    let (mac, body) = rest.split_at(MAC_LEN);
    mac_state(key, digest, engine_hash, body)
        .verify_slice(mac)
        .map_err(|_| {
            "failed authentication: edited, truncated, or written under another cache key"
                .to_owned()
        })?;
    Ok(body)
}

/// Deserialises an entry's body.
#[allow(
    unsafe_code,
    reason = "wasmtime can only load precompiled code through an unsafe call"
)]
fn deserialize_authenticated(engine: &Engine, body: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: `Component::deserialize` requires bytes produced by wasmtime's
    // own serialisation and not altered since. The caller passes only a body
    // whose HMAC, under the cache directory's secret key, verified; entries
    // with that key are written only by `load_or_compile`, from
    // `Component::serialize`. The body is in memory, so the file changing
    // after the check does not matter. wasmtime itself rejects a body from
    // another wasmtime version or an incompatible engine configuration.
    unsafe { Component::deserialize(engine, body) }
}

/// Feeds a [`std::hash::Hash`] into sha256, so that the result is stable
/// (unlike `DefaultHasher`) and wide.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_le_bytes(first)
    }
}

/// The first 16 hex characters of the sha256 of the engine's
/// [`precompile_compatibility_hash`](Engine::precompile_compatibility_hash).
fn engine_hash(engine: &Engine) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex(&hasher.0.finalize()[..8])
}

fn random_bytes<const N: usize>() -> io::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|error| {
        io::Error::other(format!("the random number generator failed: {error}"))
    })?;
    Ok(bytes)
}

/// Creates `path` exclusively, owner-only on unix.
fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Writes `parts` to `dir/name` through a temporary file and a rename.
fn write_atomically(dir: &Path, name: &str, parts: &[&[u8]]) -> io::Result<()> {
    let temporary = dir.join(format!(".{name}.{}.tmp", hex(&random_bytes::<8>()?)));
    let written = (|| {
        let mut file = create_private(&temporary)?;
        for part in parts {
            file.write_all(part)?;
        }
        file.sync_all()?;
        fs::rename(&temporary, dir.join(name))
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written
}

/// Reads `dir/cache.key`, or creates it with a new random key. A new key is
/// written to a temporary file and hard-linked into place, so a concurrent
/// opener never reads a half-written key and two openers agree on one key.
fn read_or_create_key(dir: &Path) -> io::Result<[u8; 32]> {
    let path = dir.join(KEY_FILE);
    for _ in 0..4 {
        match fs::read(&path) {
            Ok(bytes) => match <[u8; 32]>::try_from(bytes.as_slice()) {
                Ok(key) => return Ok(key),
                Err(_) => {
                    tracing::warn!(path = %path.display(), length = bytes.len(), "the key of the compiled-component cache is not 32 bytes; replacing it, which invalidates every entry");
                    match fs::remove_file(&path) {
                        Ok(()) => {}
                        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                        Err(error) => return Err(error),
                    }
                }
            },
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
        let key = random_bytes::<32>()?;
        match install_key(dir, &path, &key) {
            Ok(()) => return Ok(key),
            // Another process created it in the meantime: use theirs.
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(error),
        }
    }
    Err(io::Error::other(format!(
        "could not settle on a key in {}: it keeps changing",
        path.display()
    )))
}

/// Puts `key` at `path` only if nothing is there yet.
fn install_key(dir: &Path, path: &Path, key: &[u8; 32]) -> io::Result<()> {
    let temporary = dir.join(format!(".{KEY_FILE}.{}.tmp", hex(&random_bytes::<8>()?)));
    let result = (|| {
        let mut file = create_private(&temporary)?;
        file.write_all(key)?;
        file.sync_all()?;
        drop(file);
        match fs::hard_link(&temporary, path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Err(error),
            // A file system without hard links: fall back to a rename, which
            // may replace a key another process has just created (its
            // entries are then rebuilt, never trusted).
            Err(_) => fs::rename(&temporary, path),
        }
    })();
    let _ = fs::remove_file(&temporary);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unique directory under the system's temporary directory, removed
    /// on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            let dir =
                std::env::temp_dir().join(format!("preflight-cache-test-{}", uuid::Uuid::new_v4()));
            fs::create_dir_all(&dir).expect("create the test directory");
            TempDir(dir)
        }

        fn sub(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn engine() -> Engine {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        Engine::new(&config).expect("engine")
    }

    fn component_bytes() -> &'static [u8] {
        preflight_bundled::ALL[0].bytes
    }

    fn digest_of(bytes: &[u8]) -> [u8; 32] {
        Sha256::digest(bytes).into()
    }

    /// The one entry file in `dir`.
    fn entry_path(dir: &Path) -> PathBuf {
        let entries: Vec<PathBuf> = fs::read_dir(dir)
            .expect("read the cache directory")
            .map(|entry| entry.expect("directory entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "cwasm"))
            .collect();
        assert_eq!(entries.len(), 1, "{entries:?}");
        entries.into_iter().next().expect("one entry")
    }

    fn assert_usable(engine: &Engine, component: &Component) {
        assert!(component.component_type().exports(engine).count() > 0);
    }

    fn rebuilt_reason(cache_use: CacheUse) -> String {
        match cache_use {
            CacheUse::Rebuilt { reason } => reason,
            other => panic!("expected a rebuild, got {other:?}"),
        }
    }

    #[test]
    fn compiled_then_hit_then_rebuilt_after_tampering() {
        let temp = TempDir::new();
        let dir = temp.sub("cache");
        let engine = engine();

        let cache = CompiledCache::open(&dir).expect("open");
        let (component, cache_use) = cache
            .load_or_compile(&engine, component_bytes(), &digest_of(component_bytes()))
            .expect("compile");
        assert_eq!(cache_use, CacheUse::Compiled);
        assert_usable(&engine, &component);
        let path = entry_path(&dir);
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        let digest = hex(&Sha256::digest(component_bytes()));
        assert!(name.starts_with(&format!("{digest}-")), "{name}");
        assert_eq!(name.len(), 64 + 1 + 16 + ".cwasm".len(), "{name}");
        let entry = fs::read(&path).expect("entry");
        assert_eq!(&entry[..8], b"PFCWASM1");
        assert!(entry.len() > 8 + 32);

        // A restart: a new handle on the same directory.
        let cache = CompiledCache::open(&dir).expect("reopen");
        let (component, cache_use) = cache
            .load_or_compile(&engine, component_bytes(), &digest_of(component_bytes()))
            .expect("load");
        assert_eq!(cache_use, CacheUse::Hit);
        assert_usable(&engine, &component);

        // One flipped byte in the body.
        let mut tampered = entry.clone();
        let last = tampered.len() - 1;
        tampered[last / 2 + 20] ^= 0x40;
        fs::write(&path, &tampered).expect("tamper");
        let (component, cache_use) = cache
            .load_or_compile(&engine, component_bytes(), &digest_of(component_bytes()))
            .expect("rebuild");
        let reason = rebuilt_reason(cache_use);
        assert!(reason.contains("failed authentication"), "{reason}");
        assert_usable(&engine, &component);
        let (_, cache_use) = cache
            .load_or_compile(&engine, component_bytes(), &digest_of(component_bytes()))
            .expect("load after rebuild");
        assert_eq!(cache_use, CacheUse::Hit);

        // A wrong magic.
        let mut tampered = fs::read(&path).expect("entry");
        tampered[0] = b'X';
        fs::write(&path, &tampered).expect("tamper");
        let (_, cache_use) = cache
            .load_or_compile(&engine, component_bytes(), &digest_of(component_bytes()))
            .expect("rebuild");
        assert!(rebuilt_reason(cache_use).contains("wrong magic"));

        // No temporary files left behind.
        let leftovers: Vec<_> = fs::read_dir(&dir)
            .expect("read")
            .map(|entry| entry.expect("entry").file_name())
            .filter(|name| name.to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn entry_under_another_key_is_rebuilt() {
        let temp = TempDir::new();
        let engine = engine();
        let ours = CompiledCache::open(&temp.sub("ours")).expect("open ours");
        let theirs = CompiledCache::open(&temp.sub("theirs")).expect("open theirs");
        assert_ne!(ours.key, theirs.key);

        let (_, cache_use) = theirs
            .load_or_compile(&engine, component_bytes(), &digest_of(component_bytes()))
            .expect("compile theirs");
        assert_eq!(cache_use, CacheUse::Compiled);
        let foreign = entry_path(theirs.dir());
        let name = foreign.file_name().expect("name");
        fs::copy(&foreign, ours.dir().join(name)).expect("copy the foreign entry");

        let (component, cache_use) = ours
            .load_or_compile(&engine, component_bytes(), &digest_of(component_bytes()))
            .expect("rebuild");
        let reason = rebuilt_reason(cache_use);
        assert!(reason.contains("another cache key"), "{reason}");
        assert_usable(&engine, &component);
        assert_ne!(
            fs::read(entry_path(ours.dir())).expect("ours"),
            fs::read(&foreign).expect("theirs")
        );
        let (_, cache_use) = ours
            .load_or_compile(&engine, component_bytes(), &digest_of(component_bytes()))
            .expect("load");
        assert_eq!(cache_use, CacheUse::Hit);
    }

    #[test]
    fn truncated_entry_is_rebuilt() {
        let temp = TempDir::new();
        let engine = engine();
        let cache = CompiledCache::open(&temp.sub("cache")).expect("open");
        cache
            .load_or_compile(&engine, component_bytes(), &digest_of(component_bytes()))
            .expect("compile");
        let path = entry_path(cache.dir());
        let entry = fs::read(&path).expect("entry");

        fs::write(&path, &entry[..entry.len() / 2]).expect("truncate");
        let (_, cache_use) = cache
            .load_or_compile(&engine, component_bytes(), &digest_of(component_bytes()))
            .expect("rebuild");
        assert!(rebuilt_reason(cache_use).contains("failed authentication"));

        fs::write(&path, &entry[..12]).expect("truncate the header");
        let (component, cache_use) = cache
            .load_or_compile(&engine, component_bytes(), &digest_of(component_bytes()))
            .expect("rebuild");
        let reason = rebuilt_reason(cache_use);
        assert!(reason.contains("truncated"), "{reason}");
        assert_usable(&engine, &component);
        assert_eq!(fs::read(&path).expect("entry"), entry);
    }

    #[test]
    fn authenticated_entry_refused_by_wasmtime_is_rebuilt() {
        let temp = TempDir::new();
        let engine = engine();
        let cache = CompiledCache::open(&temp.sub("cache")).expect("open");
        // A genuine wasmtime artifact, but for an engine with other settings,
        // filed (and authenticated) under this engine's name.
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        let other = Engine::new(&config).expect("other engine");
        let body = other
            .precompile_component(component_bytes())
            .expect("precompile");
        let digest: [u8; 32] = Sha256::digest(component_bytes()).into();
        let engine_hash = engine_hash(&engine);
        let mac = cache.mac(&digest, &engine_hash, &body);
        let name = format!("{}-{engine_hash}.cwasm", hex(&digest));
        fs::write(cache.dir().join(name), [&MAGIC[..], &mac, &body].concat()).expect("write");

        let (component, cache_use) = cache
            .load_or_compile(&engine, component_bytes(), &digest_of(component_bytes()))
            .expect("rebuild");
        let reason = rebuilt_reason(cache_use);
        assert!(reason.starts_with("wasmtime refused the entry"), "{reason}");
        assert_usable(&engine, &component);
        let (_, cache_use) = cache
            .load_or_compile(&engine, component_bytes(), &digest_of(component_bytes()))
            .expect("load");
        assert_eq!(cache_use, CacheUse::Hit);
    }

    #[test]
    fn not_a_component_is_an_error() {
        let temp = TempDir::new();
        let engine = engine();
        let cache = CompiledCache::open(&temp.sub("cache")).expect("open");
        assert!(
            cache
                .load_or_compile(
                    &engine,
                    b"this is not WebAssembly",
                    &digest_of(b"this is not WebAssembly"),
                )
                .is_err()
        );
        let entries = fs::read_dir(cache.dir()).expect("read").count();
        assert_eq!(entries, 1, "only cache.key");
    }

    #[test]
    fn key_file_is_created_once_and_replaced_when_malformed() {
        let temp = TempDir::new();
        let dir = temp.sub("a/b/cache");
        let first = CompiledCache::open(&dir).expect("open");
        let key_path = dir.join("cache.key");
        assert_eq!(fs::read(&key_path).expect("key"), first.key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&key_path)
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(CompiledCache::open(&dir).expect("reopen").key, first.key);

        fs::write(&key_path, b"short").expect("corrupt the key");
        let replaced = CompiledCache::open(&dir).expect("open after corruption");
        assert_ne!(replaced.key, first.key);
        assert_eq!(fs::read(&key_path).expect("key"), replaced.key);
        assert!(!format!("{replaced:?}").contains(&format!("{:?}", replaced.key)));
    }

    #[test]
    fn engine_hash_is_stable_and_short() {
        let hash = engine_hash(&engine());
        assert_eq!(hash.len(), 16);
        assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(hash, engine_hash(&engine()));
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        config.cranelift_opt_level(wasmtime::OptLevel::None);
        let other = Engine::new(&config).expect("engine");
        assert_ne!(hash, engine_hash(&other));
    }

    #[test]
    fn entries_open_only_for_their_key_component_and_engine() {
        let key = [1; 32];
        let digest = [2; 32];
        let body = b"a serialised component";
        let entry = [&MAGIC[..], &entry_mac(&key, &digest, "e", body), body].concat();
        assert_eq!(open_entry(&key, &entry, &digest, "e"), Ok(&body[..]));
        assert!(open_entry(&[3; 32], &entry, &digest, "e").is_err());
        assert!(open_entry(&key, &entry, &[3; 32], "e").is_err());
        assert!(open_entry(&key, &entry, &digest, "f").is_err());
        assert!(open_entry(&key, &entry[..entry.len() - 1], &digest, "e").is_err());
        assert!(
            open_entry(&key, &entry[..MAGIC.len() + MAC_LEN - 1], &digest, "e")
                .unwrap_err()
                .starts_with("truncated")
        );
    }

    #[test]
    fn cache_use_labels() {
        assert_eq!(CacheUse::Hit.as_str(), "hit");
        assert_eq!(CacheUse::Compiled.as_str(), "compiled");
        let rebuilt = CacheUse::Rebuilt {
            reason: "x".to_owned(),
        };
        assert_eq!(rebuilt.as_str(), "rebuilt");
        assert_eq!(
            serde_json::to_value(&rebuilt).expect("json"),
            serde_json::json!({ "rebuilt": { "reason": "x" } })
        );
    }
}
