//! The plugin registry's figures: how soon a version landing in the watched
//! directory serves its first validation, and how long a start-up with 50
//! plugin versions takes with a warm compiled cache.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::Digest as _;

use super::{BenchError, Figure};
use preflight::metrics::Metrics;
use preflight::registry::{Registry, RegistryOptions, VersionState};
use preflight::signature::{self, SecretKey, SignaturePolicy};
use preflight_runtime::cache::CompiledCache;
use preflight_runtime::engine::Runtime;

/// Versions in the start-up benchmark.
const STARTUP_VERSIONS: usize = 50;

/// A plugin version to land: accounting system, version, component, manifest.
struct Version {
    system: String,
    version: String,
    bytes: &'static [u8],
    manifest: String,
}

/// The bundled plugins at 0.1.0, and the Xero plugin's source built at 0.2.0.
fn versions() -> Result<Vec<Version>, String> {
    let mut versions = Vec::new();
    for artifact in preflight::bundled::all() {
        let manifest = preflight_runtime::manifest::Manifest::from_toml(artifact.manifest)
            .map_err(|error| format!("bundled {}: {error}", artifact.name))?;
        versions.push(Version {
            system: manifest.accounting_system,
            version: manifest.version,
            bytes: artifact.bytes,
            manifest: artifact.manifest.to_owned(),
        });
    }
    let xero = versions
        .iter()
        .find(|v| v.system == "xero")
        .ok_or("the Xero plugin is not bundled")?;
    let manifest = xero
        .manifest
        .replace("version = \"0.1.0\"", "version = \"0.2.0\"");
    versions.push(Version {
        system: "xero".to_owned(),
        version: "0.2.0".to_owned(),
        bytes: preflight_artifacts::fixtures::XERO_NEXT_BYTES,
        manifest,
    });
    Ok(versions)
}

/// Writes `version` signed by `key` under `<dir>/<system>/<name>/`, staged
/// under a hidden name and renamed into place; returns the moment of the
/// rename.
fn land(dir: &Path, name: &str, version: &Version, key: &SecretKey) -> Result<Instant, String> {
    let system_dir = dir.join(&version.system);
    let staging = system_dir.join(format!(".{name}.staging"));
    let io = |error: std::io::Error| format!("{}: {error}", staging.display());
    std::fs::create_dir_all(&staging).map_err(io)?;
    std::fs::write(staging.join("plugin.wasm"), version.bytes).map_err(io)?;
    std::fs::write(staging.join("plugin.toml"), &version.manifest).map_err(io)?;
    let signature = signature::sign(key, version.bytes, version.manifest.as_bytes());
    std::fs::write(staging.join("plugin.sig"), format!("{signature}\n")).map_err(io)?;
    std::fs::rename(&staging, system_dir.join(name)).map_err(io)?;
    Ok(Instant::now())
}

fn temp_dir(name: &str) -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("preflight-bench-{name}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    Ok(dir)
}

fn options(dir: &Path, key: &SecretKey, cache: Option<Arc<CompiledCache>>) -> RegistryOptions {
    RegistryOptions {
        dir: Some(dir.to_owned()),
        bundled: false,
        signatures: SignaturePolicy {
            trusted: vec![key.public_key()],
            allow_unsigned: false,
        },
        cache,
        settle: SETTLE,
        ..RegistryOptions::default()
    }
}

/// The settle delay the swap is measured with: versions land by rename, so
/// the directory is quiet at once.
const SETTLE: Duration = Duration::from_millis(10);

/// Hot swap: Xero 0.1.0 serves; 0.2.0 is renamed into the watched directory;
/// the figure is the time from the rename to the end of the first validation
/// that runs on 0.2.0 (signature, compile, gate, `info`, swap, validation;
/// no cache: a new version has never been compiled).
pub async fn hot_swap(runtime: &Runtime, iterations: usize) -> Result<Figure, BenchError> {
    let error = BenchError::of("hot swap");
    let versions = versions().map_err(&error)?;
    let (v1, v2) = (
        versions
            .iter()
            .find(|v| v.system == "xero" && v.version == "0.1.0")
            .ok_or_else(|| error("no Xero 0.1.0".to_owned()))?,
        versions
            .iter()
            .find(|v| v.version == "0.2.0")
            .ok_or_else(|| error("no Xero 0.2.0".to_owned()))?,
    );
    let key = SecretKey::generate().map_err(|e| error(e.to_string()))?;
    let job = super::fixtures::offline_job();
    let config = super::fixtures::offline_config();
    let mut samples = Vec::new();
    let mut dirs = Vec::new();
    // One untimed round first: the first compile of a process warms caches.
    for round in 0..=iterations {
        let dir = temp_dir("swap").map_err(&error)?;
        land(&dir, "0.1.0", v1, &key).map_err(&error)?;
        let registry = Registry::start(
            runtime.clone(),
            options(&dir, &key, None),
            Arc::new(Metrics::default()),
        )
        .await
        .map_err(|e| error(e.to_string()))?;
        let _watch = registry
            .watch()
            .ok_or_else(|| error("no directory to watch".to_owned()))?
            .map_err(|e| error(e.to_string()))?;
        let landed = land(&dir, "0.2.0", v2, &key).map_err(&error)?;
        let deadline = landed + Duration::from_secs(30);
        loop {
            let plugin = registry.get("xero").filter(|p| p.info().version == "0.2.0");
            if let Some(plugin) = plugin {
                plugin
                    .validate(&job, &config)
                    .await
                    .map_err(|e| error(e.to_string()))?;
                break;
            }
            if Instant::now() > deadline {
                let failed: Vec<_> = registry
                    .list()
                    .into_iter()
                    .filter_map(|v| v.error)
                    .collect();
                return Err(error(format!("0.2.0 never became active: {failed:?}")));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if round > 0 {
            samples.push(landed.elapsed().as_secs_f64() * 1e3);
        }
        drop(_watch);
        dirs.push(dir);
    }
    // Removed once every watch has stopped, so no watch sees it go.
    for dir in dirs {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(Figure::from_samples(
        format!(
            "hot swap: version landing → first validation on it (Xero 0.2.0, {} KB, settle {} ms)",
            v2.bytes.len().div_ceil(1024),
            SETTLE.as_millis()
        ),
        "ms",
        samples,
        Some(100.0),
    ))
}

/// Start-up: a registry loading 50 signed versions (ten builds of each of
/// five plugin versions) from the directory with a warm compiled cache:
/// signature checks, cache loads, gate, `info`, no compiling.
pub async fn startup(runtime: &Runtime, rounds: usize) -> Result<Figure, BenchError> {
    let error = BenchError::of("start-up");
    let versions = versions().map_err(&error)?;
    let key = SecretKey::generate().map_err(|e| error(e.to_string()))?;
    let dir = temp_dir("startup").map_err(&error)?;
    let plugins = dir.join("plugins");
    for build in 0..STARTUP_VERSIONS.div_ceil(versions.len()) {
        for version in &versions {
            land(
                &plugins,
                &format!("{}+build.{build}", version.version),
                version,
                &key,
            )
            .map_err(&error)?;
        }
    }
    let cache =
        Arc::new(CompiledCache::open(&dir.join("compiled")).map_err(|e| error(e.to_string()))?);
    let mut samples = Vec::new();
    // The first start compiles and fills the cache; it is not timed.
    for round in 0..=rounds {
        let metrics = Arc::new(Metrics::default());
        let started = Instant::now();
        let registry = Registry::start(
            runtime.clone(),
            options(&plugins, &key, Some(Arc::clone(&cache))),
            Arc::clone(&metrics),
        )
        .await
        .map_err(|e| error(e.to_string()))?;
        let elapsed = started.elapsed();
        let list = registry.list();
        if let Some(failed) = list.iter().find(|v| v.state == VersionState::Failed) {
            return Err(error(format!(
                "{} failed: {:?}",
                failed.source, failed.error
            )));
        }
        if list.len() != STARTUP_VERSIONS {
            return Err(error(format!(
                "{} versions loaded, not {STARTUP_VERSIONS}",
                list.len()
            )));
        }
        if round > 0 {
            let hits = metrics.counter(preflight::metrics::PLUGIN_CACHE, &[("result", "hit")]);
            if hits != STARTUP_VERSIONS as u64 {
                return Err(error(format!(
                    "{hits} of {STARTUP_VERSIONS} loads came from the cache"
                )));
            }
            samples.push(elapsed.as_secs_f64() * 1e3);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Figure::from_samples(
        format!(
            "start-up: {STARTUP_VERSIONS} signed plugin versions from the directory, warm cache"
        ),
        "ms",
        samples,
        Some(300.0),
    ))
}

/// Load time of each bundled plugin from a warm compiled cache: the entry
/// read and authenticated, deserialized, then gate, `info` and manifest
/// check, as a restart does.
pub async fn cache_loads(runtime: &Runtime, loads: usize) -> Result<Vec<Figure>, BenchError> {
    let error = BenchError::of("cache load");
    let mut figures = Vec::new();
    for artifact in preflight::bundled::all() {
        let manifest = preflight_runtime::manifest::Manifest::from_toml(artifact.manifest)
            .map_err(|e| error(e.to_string()))?;
        let samples = cache_load(
            runtime,
            artifact.name,
            artifact.bytes,
            Some(manifest),
            loads,
        )
        .await
        .map_err(&error)?;
        figures.push(Figure::from_samples(
            format!(
                "cache load: {} ({} KB)",
                artifact.name,
                artifact.bytes.len().div_ceil(1024)
            ),
            "ms",
            samples,
            None,
        ));
    }
    Ok(figures)
}

/// `loads` timed loads (in ms) of the component `bytes` from a warm
/// compiled cache in a directory of its own; the first load, which
/// compiles and writes the entry, is not timed.
pub(super) async fn cache_load(
    runtime: &Runtime,
    name: &str,
    bytes: &[u8],
    manifest: Option<preflight_runtime::manifest::Manifest>,
    loads: usize,
) -> Result<Vec<f64>, String> {
    let dir = temp_dir("cache")?;
    let cache = CompiledCache::open(&dir).map_err(|e| e.to_string())?;
    let digest = sha2::Sha256::digest(bytes).into();
    let mut samples = Vec::new();
    for round in 0..=loads {
        let started = Instant::now();
        let (component, used) = cache
            .load_or_compile(runtime.engine(), bytes, &digest)
            .map_err(|e| format!("{e:#}"))?;
        let compiled = preflight_runtime::plugin::Compiled {
            component,
            digest: preflight_runtime::plugin::hex(&digest),
            size: bytes.len(),
        };
        runtime
            .load_compiled(name, compiled, manifest.clone())
            .await
            .map_err(|e| e.to_string())?;
        if round > 0 {
            if used != preflight_runtime::cache::CacheUse::Hit {
                return Err(format!("{name}: the cache was not used"));
            }
            samples.push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(samples)
}
