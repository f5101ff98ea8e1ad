//! The plugins the runner uses, by accounting system, and how they change at
//! runtime.
//!
//! Per accounting system the registry keeps every version it has seen: the
//! **active** one (what the next validation gets), the **previous** ones that
//! were active before it (what a rollback returns to), versions loaded but never
//! activated because a newer one is active (**standby**), versions rolled back
//! from (**rolled-back**), and versions refused (**failed**, with the error).
//!
//! A candidate version, from the plugin directory ([`source`] describes the
//! layout) or the command line, goes through one pipeline: signature
//! ([`crate::signature`]) → manifest → compile on a blocking thread (or load
//! from the [`preflight_runtime::cache`]) → capability gate and contract → `info` → names
//! checked against its directory → smoke test (`validate-settings` of every
//! company configured for its accounting system) → swap. The swap replaces one
//! `Arc` under a lock: a validation holds the `Arc` of the version it started
//! on and finishes on it; the next one starts on the new version. A candidate
//! that fails any step is recorded as failed (log, metric, `plugins list`) and
//! changes nothing else.
//!
//! The newest version wins: a candidate is activated when its version is not
//! older than the active one's, so start-up (which loads each system's versions
//! oldest first) ends on the newest. A rollback is remembered for the files it
//! rolled back from: they stay rolled back until they change.
//!
//! # Layout
//!
//! - this file: [`Registry`] and the pipeline every candidate goes through;
//! - `book`: one accounting system's versions, their states, activation and
//!   rollback;
//! - [`error`]: [`RegistryError`], why a candidate was refused;
//! - `rollout`: a version in shadow beside the active one, promoted or
//!   discarded;
//! - [`source`]: the plugin directory's layout, reading one version's files,
//!   the order of versions (the one owner of the layout: `replay` finds
//!   versions through it too);
//! - [`watch`]: the directory watch.
//!
//! This file is over 500 lines because the pipeline's steps (signature,
//! manifest, compile, load, names, smoke test, install, refuse, forget) and
//! the scans that feed them read best in one place, in the order they run.

mod book;
pub mod error;
mod rollout;
pub mod source;
pub mod watch;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::metrics::Metrics;
use crate::signature::{SignaturePolicy, Signer};
use preflight_runtime::cache::{CacheUse, CompiledCache};
use preflight_runtime::engine::Runtime;
use preflight_runtime::manifest::{Manifest, OriginPattern};
use preflight_runtime::plugin::{Compiled, Plugin};

use self::book::{Book, Entry};
pub use self::error::{FilesError, RegistryError};
pub use self::rollout::{ShadowError, bucket};
pub use self::watch::Watch;

/// How the registry finds, checks and keeps plugins.
pub struct RegistryOptions {
    /// The plugin directory (`<system>/<version>/…`), if any.
    pub dir: Option<PathBuf>,
    /// Whether the plugins built into the binary are loaded first, as the
    /// oldest version of their accounting system.
    pub bundled: bool,
    /// Which signatures are trusted, and whether unsigned plugins are allowed.
    /// Bundled plugins are part of the binary and need none.
    pub signatures: SignaturePolicy,
    /// Where compiled components are kept between runs, if anywhere.
    pub cache: Option<Arc<CompiledCache>>,
    /// Per accounting system, the operator's narrower allow-list of origins.
    pub origins: BTreeMap<String, Vec<OriginPattern>>,
    /// Per accounting system, the settings of every company configured for
    /// it: a candidate must accept each of them.
    pub companies: BTreeMap<String, Vec<(uuid::Uuid, serde_json::Value)>>,
    /// How long the directory must be quiet before a changed version is
    /// loaded.
    pub settle: Duration,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            dir: None,
            bundled: true,
            signatures: SignaturePolicy {
                trusted: Vec::new(),
                allow_unsigned: false,
            },
            cache: None,
            origins: BTreeMap::new(),
            companies: BTreeMap::new(),
            settle: Duration::from_millis(50),
        }
    }
}

/// The plugin directory and what is trusted in it (the operator file's
/// `[plugins]`).
#[derive(Debug, Clone)]
pub struct PluginSettings {
    /// The versioned plugin directory, if any.
    pub dir: Option<PathBuf>,
    /// Whether the bundled plugins are loaded.
    pub bundled: bool,
    /// Whether the directory is watched.
    pub watch: bool,
    /// Quiet time before a changed version is loaded.
    pub settle: Duration,
    /// Where compiled components are cached; `None` compiles every start.
    pub cache_dir: Option<PathBuf>,
    /// Trusted signing keys.
    pub trusted_keys: Vec<crate::signature::PublicKey>,
    /// Whether plugins without a signature are loaded.
    pub allow_unsigned: bool,
    /// OCI artifacts to follow (`plugins.sources`): a tag is pulled again
    /// when it moves, a digest once; pulled versions land in `dir`.
    pub sources: Vec<(String, oci_client::Reference)>,
    /// How to reach each registry host (`plugins.registries`).
    pub registries: BTreeMap<String, crate::oci::Access>,
    /// How often the sources are looked at again.
    pub pull_interval: Duration,
}

impl Default for PluginSettings {
    fn default() -> Self {
        PluginSettings {
            dir: None,
            bundled: true,
            watch: true,
            settle: Duration::from_millis(50),
            cache_dir: None,
            trusted_keys: Vec::new(),
            allow_unsigned: false,
            sources: Vec::new(),
            registries: BTreeMap::new(),
            pull_interval: Duration::from_secs(60),
        }
    }
}

/// Where a version stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VersionState {
    /// Serving new validations.
    Active,
    /// Was active before the active one; a rollback returns to it.
    Previous,
    /// Loaded, never activated: a newer version is active.
    Standby,
    /// Rolled back from; activated again only if its files change.
    RolledBack,
    /// Refused; `error` says why.
    Failed,
    /// Run offline beside the active version on each live validation's
    /// recorded exchanges, never acted on, until promoted or discarded.
    Shadow,
    /// Serving a share of the companies (a stable hash of the company id),
    /// the active version the rest, until promoted or rolled back.
    Canary,
}

impl VersionState {
    /// The state's name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionState::Active => "active",
            VersionState::Previous => "previous",
            VersionState::Standby => "standby",
            VersionState::RolledBack => "rolled-back",
            VersionState::Failed => "failed",
            VersionState::Shadow => "shadow",
            VersionState::Canary => "canary",
        }
    }
}

/// One version of one accounting system's plugin, as operators see it
/// (`GET /v1/plugins`, `preflight plugins list`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionView {
    /// The accounting system.
    pub accounting_system: String,
    /// The version.
    pub version: String,
    /// Where it stands.
    pub state: VersionState,
    /// Where it came from: `bundled:<name>` or a path.
    pub source: String,
    /// The plugin's name, once loaded.
    pub name: Option<String>,
    /// SHA-256 of the component, hex.
    pub sha256: Option<String>,
    /// Size of the component in bytes.
    pub size: Option<usize>,
    /// What the accounting system supports, as the plugin says.
    pub capabilities: Vec<String>,
    /// The accounting system's name for finance users, when the plugin's
    /// contract version gives one.
    pub display_name: Option<String>,
    /// The contract version the component was built against, e.g. `0.2.0`.
    pub contract: Option<String>,
    /// `key <id>`, `unsigned` or `bundled`.
    pub signed_by: Option<String>,
    /// When it was loaded (or refused), RFC 3339.
    pub loaded_at: String,
    /// How long loading took, in milliseconds.
    pub load_ms: f64,
    /// How the compiled code was obtained: `hit`, `compiled`, `rebuilt`, or
    /// none without a cache.
    pub cache: Option<String>,
    /// Why it was refused, or why a later change of its files was.
    pub error: Option<String>,
}

/// What one candidate came to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// Where it came from.
    pub source: String,
    /// The accounting system (from the directory, or the plugin).
    pub accounting_system: String,
    /// The version (from the directory, or the plugin).
    pub version: String,
    /// What it came to.
    pub result: ChangeResult,
    /// Why it failed.
    pub error: Option<String>,
}

/// What a candidate version came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeResult {
    /// Loaded and now serving.
    Activated,
    /// Loaded, but a newer version serves.
    Standby,
    /// The same files as before: nothing to do.
    Unchanged,
    /// Refused; the change's error says why.
    Failed,
    /// Its directory is gone.
    Removed,
}

impl ChangeResult {
    /// The name on the wire: `activated`, `standby`, …
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeResult::Activated => "activated",
            ChangeResult::Standby => "standby",
            ChangeResult::Unchanged => "unchanged",
            ChangeResult::Failed => "failed",
            ChangeResult::Removed => "removed",
        }
    }
}

impl std::fmt::Display for ChangeResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a rollback could not be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RollbackError {
    /// No plugin serves that accounting system.
    #[error("no plugin serves accounting system '{0}'")]
    UnknownSystem(String),
    /// Only one version was ever active.
    #[error("accounting system '{0}' has no previous version to roll back to")]
    NoPrevious(String),
}

/// Why the registry could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A plugin built into the binary did not load.
    #[error("bundled plugin {name}: {error}")]
    Bundled {
        /// Its name.
        name: String,
        /// Why.
        error: Box<RegistryError>,
    },
    /// The plugin directory could not be read.
    #[error("plugin directory {path}: {error}")]
    Directory {
        /// The directory.
        path: String,
        /// The I/O error.
        error: std::io::Error,
    },
}

/// Accounting system id → its plugin versions.
pub struct Registry {
    runtime: Runtime,
    options: RegistryOptions,
    metrics: Arc<Metrics>,
    /// The active plugin of each system: the hot path, read per validation.
    active: RwLock<BTreeMap<String, Arc<Plugin>>>,
    /// The plugin in shadow of each system that has one, also read per
    /// validation.
    shadows: RwLock<BTreeMap<String, Arc<Plugin>>>,
    /// The canary of each system that has one, with its share in percent.
    canaries: RwLock<BTreeMap<String, (Arc<Plugin>, u8)>>,
    /// Everything else, per system.
    books: Mutex<BTreeMap<String, Book>>,
    /// One reload, rollback or load at a time.
    changing: tokio::sync::Mutex<()>,
}

/// A candidate's bytes and where they came from.
struct Candidate {
    source: String,
    /// The system and version its directory names, if it came from one.
    expected: Option<(String, String)>,
    bytes: CandidateBytes,
}

enum CandidateBytes {
    Bundled(&'static crate::bundled::Bundled),
    Files(source::Files),
}

impl Registry {
    /// An empty registry.
    pub fn new(runtime: Runtime, options: RegistryOptions, metrics: Arc<Metrics>) -> Registry {
        Registry {
            runtime,
            options,
            metrics,
            active: RwLock::default(),
            shadows: RwLock::default(),
            canaries: RwLock::default(),
            books: Mutex::default(),
            changing: tokio::sync::Mutex::new(()),
        }
    }

    /// The runtime its plugins run in.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// A registry holding every bundled plugin, and nothing else.
    pub async fn bundled(runtime: &Runtime) -> Result<Arc<Registry>, StartError> {
        Registry::start(
            runtime.clone(),
            RegistryOptions::default(),
            Arc::new(Metrics::default()),
        )
        .await
    }

    /// Starts a registry: the bundled plugins (if enabled), then every
    /// version in the plugin directory, each system's oldest first, systems
    /// side by side. A refused version is recorded, not fatal; a bundled
    /// plugin that does not load is.
    pub async fn start(
        runtime: Runtime,
        options: RegistryOptions,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<Registry>, StartError> {
        let registry = Arc::new(Registry::new(runtime, options, metrics));
        let _changing = registry.changing.lock().await;
        if registry.options.bundled {
            let mut loads = tokio::task::JoinSet::new();
            for artifact in crate::bundled::all() {
                let registry = Arc::clone(&registry);
                loads.spawn(async move {
                    let candidate = Candidate {
                        source: format!("bundled:{}", artifact.name),
                        expected: None,
                        bytes: CandidateBytes::Bundled(artifact),
                    };
                    (artifact.name, registry.consider_typed(candidate).await.1)
                });
            }
            while let Some(joined) = loads.join_next().await {
                let (name, refused) = joined.expect("a bundled load never panics");
                if let Some(error) = refused {
                    return Err(StartError::Bundled {
                        name: name.to_owned(),
                        error: Box::new(error),
                    });
                }
            }
        }
        if let Some(dir) = &registry.options.dir {
            if !dir.is_dir() {
                return Err(StartError::Directory {
                    path: dir.display().to_string(),
                    error: std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
                });
            }
            registry.scan_locked(None).await;
        }
        drop(_changing);
        Ok(registry)
    }

    /// The active plugin for `accounting_system`.
    pub fn get(&self, accounting_system: &str) -> Option<Arc<Plugin>> {
        self.active
            .read()
            .expect("registry lock")
            .get(accounting_system)
            .cloned()
    }

    /// The accounting systems served.
    pub fn systems(&self) -> Vec<String> {
        self.active
            .read()
            .expect("registry lock")
            .keys()
            .cloned()
            .collect()
    }

    /// The plugin directory, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.options.dir.as_deref()
    }

    /// Every version of every system, systems in order, each system's
    /// versions in the order they were first seen.
    pub fn list(&self) -> Vec<VersionView> {
        let books = self.books.lock().expect("registry lock");
        books
            .iter()
            .flat_map(|(system, book)| book.entries.iter().map(move |entry| entry.view(system)))
            .collect()
    }

    /// Loads the component at `path` (its manifest `<stem>.toml` beside it,
    /// its signature `<stem>.sig` if any) as a version of whatever system it
    /// says it serves.
    pub async fn load_file(&self, path: &Path) -> Change {
        let _changing = self.changing.lock().await;
        let source = path.display().to_string();
        match source::read_component(path) {
            Ok(files) => {
                self.consider(Candidate {
                    source,
                    expected: None,
                    bytes: CandidateBytes::Files(files),
                })
                .await
            }
            Err(error) => self.refuse(&source, "?", "?", None, &RegistryError::from(error)),
        }
    }

    /// Reads the plugin directory again and loads every version whose files
    /// changed; versions whose directory is gone are forgotten (an active one
    /// keeps serving until it is replaced or rolled back).
    pub async fn reload(&self) -> Vec<Change> {
        let _changing = self.changing.lock().await;
        self.scan_locked(None).await
    }

    /// [`Registry::reload`] of one system's directory, or one version's.
    pub async fn reload_path(&self, system: &str, version: Option<&str>) -> Vec<Change> {
        let _changing = self.changing.lock().await;
        self.scan_locked(Some((system, version))).await
    }

    /// Returns `accounting_system` to the version active before the current
    /// one, for the next validation; with a canary, ends it instead: every
    /// company gets the active version again.
    pub async fn rollback(&self, accounting_system: &str) -> Result<VersionView, RollbackError> {
        let _changing = self.changing.lock().await;
        let mut books = self.books.lock().expect("registry lock");
        let book = books
            .get_mut(accounting_system)
            .ok_or_else(|| RollbackError::UnknownSystem(accounting_system.to_owned()))?;
        if let Some(from) = book.end_canary() {
            self.publish(accounting_system, book);
            let active = book.history.last().cloned().unwrap_or_default();
            self.metrics.inc(
                crate::metrics::PLUGIN_SWAPS,
                &[
                    ("accounting_system", accounting_system),
                    ("kind", "rollback"),
                ],
            );
            tracing::warn!(system = accounting_system, from = %from, to = %active, "canary rolled back");
            return book
                .entry_mut(&active)
                .map(|entry| entry.view(accounting_system))
                .ok_or_else(|| RollbackError::NoPrevious(accounting_system.to_owned()));
        }
        let (from, to) = book
            .roll_back()
            .ok_or_else(|| RollbackError::NoPrevious(accounting_system.to_owned()))?;
        let view = book
            .entry_mut(&to)
            .expect("history names known entries")
            .view(accounting_system);
        self.publish(accounting_system, book);
        self.metrics.inc(
            crate::metrics::PLUGIN_SWAPS,
            &[
                ("accounting_system", accounting_system),
                ("kind", "rollback"),
            ],
        );
        tracing::warn!(system = accounting_system, from = %from, to = %to, "plugin rolled back");
        Ok(view)
    }

    /// Makes the plugins validations read (the active one, the shadow, the
    /// canary with its share) what `book` says `system`'s are: the one place
    /// the hot-path maps follow the book, after every change to it.
    fn publish(&self, system: &str, book: &Book) {
        let loaded = |source: &str| {
            book.entries
                .iter()
                .find(|entry| entry.source == source)
                .and_then(|entry| entry.plugin.clone())
        };
        let active = book.history.last().and_then(|source| loaded(source));
        let shadow = book.shadow.as_deref().and_then(loaded);
        let canary = book
            .canary
            .as_ref()
            .and_then(|(source, percent)| loaded(source).map(|plugin| (plugin, *percent)));
        fn set<T>(map: &RwLock<BTreeMap<String, T>>, system: &str, value: Option<T>) {
            let mut map = map.write().expect("registry lock");
            match value {
                Some(value) => map.insert(system.to_owned(), value),
                None => map.remove(system),
            };
        }
        set(&self.active, system, active);
        set(&self.shadows, system, shadow);
        set(&self.canaries, system, canary);
    }

    /// Scans the directory (or a part of it) with `changing` held.
    async fn scan_locked(&self, only: Option<(&str, Option<&str>)>) -> Vec<Change> {
        let Some(dir) = self.options.dir.clone() else {
            return Vec::new();
        };
        let mut changes = Vec::new();
        let systems = match only {
            Some((system, _)) => vec![dir.join(system)],
            None => match source::subdirectories(&dir) {
                Ok(systems) => systems,
                Err(error) => {
                    tracing::error!(dir = %dir.display(), %error, "cannot read the plugin directory");
                    return changes;
                }
            },
        };
        // Systems load side by side; each system's versions oldest first.
        let mut per_system = Vec::new();
        for system_dir in systems {
            let system = file_name(&system_dir);
            let mut versions = match only {
                Some((_, Some(version))) => vec![system_dir.join(version)],
                _ => source::subdirectories(&system_dir).unwrap_or_default(),
            };
            versions.sort_by(|a, b| source::compare_versions(&file_name(a), &file_name(b)));
            // Unless one version was named, the whole system's directory was
            // read: entries missing from it are gone.
            let whole = !matches!(only, Some((_, Some(_))));
            per_system.push(self.scan_system(system, system_dir, versions, whole));
        }
        for system_changes in futures_util::future::join_all(per_system).await {
            changes.extend(system_changes);
        }
        changes
    }

    async fn scan_system(
        &self,
        system: String,
        system_dir: PathBuf,
        versions: Vec<PathBuf>,
        whole: bool,
    ) -> Vec<Change> {
        let mut changes = Vec::new();
        for version_dir in &versions {
            let source = version_dir.display().to_string();
            let version = file_name(version_dir);
            if !version_dir.is_dir() {
                changes.extend(self.forget(&system, &source));
                continue;
            }
            let change = match source::read_version_dir(version_dir) {
                Ok(files) => {
                    self.consider(Candidate {
                        source,
                        expected: Some((system.clone(), version)),
                        bytes: CandidateBytes::Files(files),
                    })
                    .await
                }
                Err(error) => {
                    let error = RegistryError::from(error);
                    let unchanged = self.book_has_error(&system, &source, &error.to_string());
                    if unchanged {
                        continue;
                    }
                    self.refuse(&source, &system, &version, None, &error)
                }
            };
            if change.result != ChangeResult::Unchanged {
                changes.push(change);
            }
        }
        // Versions whose directory is gone.
        let gone: Vec<String> = {
            let books = self.books.lock().expect("registry lock");
            books.get(&system).map_or_else(Vec::new, |book| {
                book.entries
                    .iter()
                    .filter(|entry| {
                        Path::new(&entry.source).starts_with(&system_dir)
                            && !Path::new(&entry.source).is_dir()
                            && (whole || versions.iter().any(|v| Path::new(&entry.source) == v))
                    })
                    .map(|entry| entry.source.clone())
                    .collect()
            })
        };
        for source in gone {
            changes.extend(self.forget(&system, &source));
        }
        changes
    }

    /// Runs a candidate through the pipeline and records what it came to.
    async fn consider(&self, candidate: Candidate) -> Change {
        self.consider_typed(candidate).await.0
    }

    /// [`Registry::consider`], with the typed reason of a refusal.
    async fn consider_typed(&self, candidate: Candidate) -> (Change, Option<RegistryError>) {
        // What logs and the books call it before `info` answers: its
        // directory's names, or a bundled plugin's manifest.
        let (system_hint, version_hint) = match (&candidate.expected, &candidate.bytes) {
            (Some(expected), _) => expected.clone(),
            (None, CandidateBytes::Bundled(artifact)) => crate::bundled::manifest(artifact)
                .map_or_else(
                    |_| (artifact.name.to_owned(), "?".to_owned()),
                    |manifest| (manifest.accounting_system, manifest.version),
                ),
            (None, CandidateBytes::Files(_)) => ("?".to_owned(), "?".to_owned()),
        };
        let fingerprint = match &candidate.bytes {
            CandidateBytes::Files(files) => Some(files.fingerprint),
            CandidateBytes::Bundled(_) => None,
        };
        if let Some(fingerprint) = fingerprint
            && self.is_known(&system_hint, &candidate.source, fingerprint)
        {
            let unchanged = Change {
                source: candidate.source,
                accounting_system: system_hint,
                version: version_hint,
                result: ChangeResult::Unchanged,
                error: None,
            };
            return (unchanged, None);
        }
        let started = Instant::now();
        match self.prepare(&candidate).await {
            Ok((plugin, signer, cache)) => {
                let entry = Entry {
                    source: candidate.source.clone(),
                    version: plugin.info().version.clone(),
                    state: VersionState::Standby,
                    plugin: Some(Arc::new(plugin)),
                    error: None,
                    fingerprint,
                    refused: None,
                    signed_by: Some(signer),
                    cache,
                    loaded_at: SystemTime::now(),
                    load_time: started.elapsed(),
                };
                (self.install(entry), None)
            }
            Err(error) => {
                let change = self.refuse(
                    &candidate.source,
                    &system_hint,
                    &version_hint,
                    fingerprint,
                    &error,
                );
                (change, Some(error))
            }
        }
    }

    /// Every step before the swap: signature, manifest, compile, gate,
    /// contract, `info`, names, smoke test.
    async fn prepare(
        &self,
        candidate: &Candidate,
    ) -> Result<(Plugin, String, Option<CacheUse>), RegistryError> {
        let (bytes, digest, manifest, signer): (Arc<[u8]>, [u8; 32], Manifest, String) =
            match &candidate.bytes {
                CandidateBytes::Bundled(artifact) => {
                    let manifest = crate::bundled::manifest(artifact).map_err(|error| {
                        RegistryError::Manifest {
                            path: crate::bundled::manifest_path(artifact),
                            error,
                        }
                    })?;
                    let digest = sha2::Sha256::digest(artifact.bytes).into();
                    (
                        Arc::from(artifact.bytes),
                        digest,
                        manifest,
                        "bundled".to_owned(),
                    )
                }
                CandidateBytes::Files(files) => {
                    let signer = self.options.signatures.check(
                        &files.component,
                        &files.manifest,
                        files.signature.as_deref(),
                    )?;
                    let signer = match signer {
                        Signer::Key(id) => format!("key {id}"),
                        Signer::Unsigned => "unsigned".to_owned(),
                    };
                    let text = std::str::from_utf8(&files.manifest).map_err(|_| {
                        RegistryError::ManifestEncoding {
                            path: files.manifest_path.clone(),
                        }
                    })?;
                    let manifest =
                        Manifest::from_toml(text).map_err(|error| RegistryError::Manifest {
                            path: files.manifest_path.display().to_string(),
                            error,
                        })?;
                    (
                        Arc::from(&files.component[..]),
                        files.digest,
                        manifest,
                        signer,
                    )
                }
            };
        let runtime = self.runtime.clone();
        let cache = self.options.cache.clone();
        let (compiled, cache_use) = tokio::task::spawn_blocking(move || {
            compile(&runtime, cache.as_deref(), &bytes, &digest)
        })
        .await
        .map_err(|error| RegistryError::CompileTask(error.to_string()))??;
        let mut plugin = self
            .runtime
            .load_compiled(&candidate.source, compiled, Some(manifest))
            .await?;
        let info = plugin.info().clone();
        if let Some((system, version)) = &candidate.expected {
            if &info.accounting_system != system {
                return Err(RegistryError::WrongSystem {
                    directory: system.clone(),
                    serves: info.accounting_system,
                });
            }
            // `0.2.0+build.7` holds a build of 0.2.0: build metadata tells
            // builds of one version apart and does not order them.
            if info.version != version.split('+').next().unwrap_or(version) {
                return Err(RegistryError::WrongVersion {
                    directory: version.clone(),
                    says: info.version,
                });
            }
        }
        if let Some(allowed) = self.options.origins.get(&info.accounting_system) {
            plugin.narrow_origins(allowed.clone());
        }
        self.smoke_test(&plugin).await?;
        Ok((plugin, signer, cache_use))
    }

    /// `validate-settings` of every company configured for the plugin's
    /// accounting system.
    async fn smoke_test(&self, plugin: &Plugin) -> Result<(), RegistryError> {
        let Some(companies) = self.options.companies.get(&plugin.info().accounting_system) else {
            return Ok(());
        };
        for (company, settings) in companies {
            match plugin.validate_settings(settings).await {
                Ok(Ok(())) => {}
                Ok(Err(errors)) => {
                    let first = errors.into_iter().next();
                    return Err(RegistryError::RefusesSettings {
                        company: *company,
                        field: first.as_ref().map(|error| error.field.clone()),
                        message: first.map(|error| error.message),
                    });
                }
                Err(error) => {
                    return Err(RegistryError::SmokeFault {
                        company: *company,
                        error,
                    });
                }
            }
        }
        Ok(())
    }

    /// Records a loaded version and activates it unless a newer one is
    /// active.
    fn install(&self, entry: Entry) -> Change {
        let plugin = Arc::clone(entry.plugin.as_ref().expect("installed entries are loaded"));
        let system = plugin.info().accounting_system.clone();
        let mut books = self.books.lock().expect("registry lock");
        let book = books.entry(system.clone()).or_default();
        let (source, version, cache, load_time) = (
            entry.source.clone(),
            entry.version.clone(),
            entry.cache.clone(),
            entry.load_time,
        );
        let activated = book.place(entry);
        self.publish(&system, book);
        let result = if activated {
            self.metrics.inc(
                crate::metrics::PLUGIN_SWAPS,
                &[("accounting_system", &system), ("kind", "activate")],
            );
            tracing::info!(system = %system, plugin = plugin.label(), source = %source, cache = cache.as_ref().map_or("none", CacheUse::as_str), load_ms = load_time.as_secs_f64() * 1e3, "plugin version active");
            ChangeResult::Activated
        } else if book.shadow.as_deref() == Some(source.as_str())
            || book
                .canary
                .as_ref()
                .is_some_and(|(canary, _)| canary == &source)
        {
            tracing::info!(system = %system, plugin = plugin.label(), source = %source, "plugin version in a rollout reloaded");
            ChangeResult::Standby
        } else {
            tracing::info!(system = %system, plugin = plugin.label(), source = %source, "plugin version loaded on standby: a newer version is active");
            ChangeResult::Standby
        };
        self.metrics.inc(
            crate::metrics::PLUGIN_LOADS,
            &[("accounting_system", &system), ("result", "loaded")],
        );
        if let Some(cache) = &cache {
            self.metrics
                .inc(crate::metrics::PLUGIN_CACHE, &[("result", cache.as_str())]);
        }
        Change {
            source,
            accounting_system: system,
            version,
            result,
            error: None,
        }
    }

    /// Records a refused candidate. A version that is loaded keeps its
    /// state and serves on; the refusal shows as its error.
    fn refuse(
        &self,
        source: &str,
        system: &str,
        version: &str,
        fingerprint: Option<[u8; 32]>,
        error: &RegistryError,
    ) -> Change {
        let error = error.to_string();
        tracing::error!(source, system, version, %error, "plugin version refused");
        self.metrics.inc(
            crate::metrics::PLUGIN_LOADS,
            &[("accounting_system", system), ("result", "refused")],
        );
        let mut books = self.books.lock().expect("registry lock");
        let book = books.entry(system.to_owned()).or_default();
        match book.entry_mut(source) {
            Some(entry) if entry.plugin.is_some() => {
                entry.refused = fingerprint;
                entry.error = Some(format!("a change of its files was refused: {error}"));
            }
            _ => {
                book.remove(source);
                book.entries.push(Entry {
                    source: source.to_owned(),
                    version: version.to_owned(),
                    state: VersionState::Failed,
                    plugin: None,
                    error: Some(error.clone()),
                    fingerprint,
                    refused: None,
                    signed_by: None,
                    cache: None,
                    loaded_at: SystemTime::now(),
                    load_time: Duration::ZERO,
                });
            }
        }
        Change {
            source: source.to_owned(),
            accounting_system: system.to_owned(),
            version: version.to_owned(),
            result: ChangeResult::Failed,
            error: Some(error),
        }
    }

    /// Drops the entry of a version whose directory is gone; the active one
    /// keeps serving, marked.
    fn forget(&self, system: &str, source: &str) -> Option<Change> {
        let mut books = self.books.lock().expect("registry lock");
        let book = books.get_mut(system)?;
        let entry = book.entry_mut(source)?;
        if entry.state == VersionState::Active {
            let note = "its directory was removed; it serves until another version is activated";
            if entry.error.as_deref() == Some(note) {
                return None;
            }
            entry.error = Some(note.to_owned());
            tracing::warn!(
                system,
                source,
                "the active plugin version's directory was removed"
            );
            return None;
        }
        let version = entry.version.clone();
        book.remove(source);
        book.history.retain(|s| s != source);
        self.publish(system, book);
        Some(Change {
            source: source.to_owned(),
            accounting_system: system.to_owned(),
            version,
            result: ChangeResult::Removed,
            error: None,
        })
    }

    /// Whether these exact files were seen before at `source`.
    fn is_known(&self, system: &str, source: &str, fingerprint: [u8; 32]) -> bool {
        let books = self.books.lock().expect("registry lock");
        books.get(system).is_some_and(|book| {
            book.entries.iter().any(|entry| {
                entry.source == source
                    && (entry.fingerprint == Some(fingerprint)
                        || entry.refused == Some(fingerprint))
            })
        })
    }

    /// Whether `source` already failed with `error` (files unreadable the
    /// same way as last time).
    fn book_has_error(&self, system: &str, source: &str, error: &str) -> bool {
        let books = self.books.lock().expect("registry lock");
        books.get(system).is_some_and(|book| {
            book.entries.iter().any(|entry| {
                entry.source == source
                    && entry.state == VersionState::Failed
                    && entry.error.as_deref() == Some(error)
            })
        })
    }
}

/// Compiles `bytes` (whose SHA-256 is `digest`), through the cache when
/// there is one. Blocking.
fn compile(
    runtime: &Runtime,
    cache: Option<&CompiledCache>,
    bytes: &[u8],
    digest: &[u8; 32],
) -> Result<(Compiled, Option<CacheUse>), RegistryError> {
    let (component, cache_use) = match cache {
        Some(cache) => cache
            .load_or_compile(runtime.engine(), bytes, digest)
            .map(|(component, cache_use)| (component, Some(cache_use))),
        None => wasmtime::component::Component::new(runtime.engine(), bytes)
            .map(|component| (component, None)),
    }
    .map_err(|error| RegistryError::Compile(format!("{error:#}")))?;
    Ok((
        Compiled {
            component,
            digest: preflight_runtime::plugin::hex(digest),
            size: bytes.len(),
        },
        cache_use,
    ))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}
