//! The plugin registry: versions landing in a watched directory, hot swap
//! under load, refused candidates, rollback, signatures and the compiled
//! cache; real components (the Xero plugin at 0.1.0 and, built from the same
//! source, at 0.2.0) against the Xero emulator.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use preflight::metrics::Metrics;
use preflight::registry::{Registry, RegistryOptions, VersionState, VersionView};
use preflight::signature::{self, SecretKey, SignaturePolicy};
use preflight::{Limits, Runtime, RuntimeOptions, Verdict};
use preflight_emulators::xero::Scenario;
use preflight_runtime::cache::CompiledCache;

use crate::support;

/// The Xero plugin at 0.1.0: the bundled build.
fn xero_v1() -> (Vec<u8>, String) {
    let artifact = preflight::bundled::find("xero").expect("xero is bundled");
    (artifact.bytes.to_vec(), artifact.manifest.to_owned())
}

/// The Xero plugin's source built at 0.2.0.
fn xero_v2() -> (Vec<u8>, String) {
    let bytes = std::fs::read(preflight_artifacts::fixtures::XERO_NEXT).expect("fixture built");
    let manifest = xero_v1()
        .1
        .replace("version = \"0.1.0\"", "version = \"0.2.0\"");
    assert!(manifest.contains("version = \"0.2.0\""));
    (bytes, manifest)
}

/// Writes a version the way an operator should: into a hidden staging
/// directory, then renamed into place, so the watch sees it whole.
fn land(
    dir: &Path,
    system: &str,
    version: &str,
    bytes: &[u8],
    manifest: &str,
    key: Option<&SecretKey>,
) -> PathBuf {
    let staging = dir.join(system).join(format!(".{version}.staging"));
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::write(staging.join("plugin.wasm"), bytes).unwrap();
    std::fs::write(staging.join("plugin.toml"), manifest).unwrap();
    if let Some(key) = key {
        let signature = signature::sign(key, bytes, manifest.as_bytes());
        std::fs::write(staging.join("plugin.sig"), format!("{signature}\n")).unwrap();
    }
    let target = dir.join(system).join(version);
    std::fs::rename(&staging, &target).unwrap();
    target
}

fn runtime(max_instances: u32) -> Runtime {
    Runtime::new(RuntimeOptions {
        max_instances,
        allow_http_loopback: true,
        limits: Limits {
            request_timeout: Duration::from_secs(5),
            wall_time: Duration::from_secs(30),
            ..Limits::default()
        },
        ..RuntimeOptions::default()
    })
    .expect("runtime starts")
}

fn options(dir: &Path, key: &SecretKey) -> RegistryOptions {
    RegistryOptions {
        dir: Some(dir.to_owned()),
        bundled: false,
        signatures: SignaturePolicy {
            trusted: vec![key.public_key()],
            allow_unsigned: false,
        },
        settle: Duration::from_millis(20),
        ..RegistryOptions::default()
    }
}

fn version_of(registry: &Registry, system: &str) -> Option<String> {
    registry
        .get(system)
        .map(|plugin| plugin.info().version.clone())
}

fn view<'a>(list: &'a [VersionView], version: &str) -> &'a VersionView {
    list.iter()
        .find(|view| view.version == version)
        .unwrap_or_else(|| panic!("version {version} listed: {list:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swap_under_load_finishes_each_validation_on_the_version_it_started_on() {
    let dir = support::temp_dir("registry-swap");
    let key = SecretKey::generate().unwrap();
    let (bytes, manifest) = xero_v1();
    land(&dir, "xero", "0.1.0", &bytes, &manifest, Some(&key));
    let registry = Registry::start(
        runtime(256),
        options(&dir, &key),
        Arc::new(Metrics::default()),
    )
    .await
    .unwrap();
    let _watch = registry
        .watch()
        .expect("a directory")
        .expect("watch starts");
    assert_eq!(version_of(&registry, "xero").as_deref(), Some("0.1.0"));

    // Every Xero answer takes a while, so the first hundred validations are
    // still talking to Xero when the new version lands.
    let xero = support::xero_emulator(&[Scenario::Slow]).await;
    let config = Arc::new(support::xero_config(&xero.url()));
    let completed = Arc::new(AtomicUsize::new(0));
    let start = |count: usize| {
        (0..count)
            .map(|_| {
                let plugin = registry.get("xero").expect("xero is served");
                let (config, completed) = (Arc::clone(&config), Arc::clone(&completed));
                tokio::spawn(async move {
                    let outcome = plugin.validate(&support::job(false), &config).await;
                    completed.fetch_add(1, Ordering::SeqCst);
                    outcome
                })
            })
            .collect::<Vec<_>>()
    };
    let before = start(100);

    let (bytes, manifest) = xero_v2();
    land(&dir, "xero", "0.2.0", &bytes, &manifest, Some(&key));
    support::eventually("0.2.0 to become active", async || {
        (version_of(&registry, "xero").as_deref() == Some("0.2.0")).then_some(())
    })
    .await;
    let completed_at_swap = completed.load(Ordering::SeqCst);
    let after = start(100);

    for (batch, version) in [(before, "xero 0.1.0"), (after, "xero 0.2.0")] {
        for task in batch {
            let outcome = task.await.unwrap().expect("no validation faults");
            assert_eq!(outcome.plugin, version);
            assert_eq!(outcome.verdict, Verdict::Proceed, "{:?}", outcome.report);
        }
    }
    assert!(
        completed_at_swap < 100,
        "the swap happened while validations of 0.1.0 were in flight"
    );
    let list = registry.list();
    assert_eq!(view(&list, "0.2.0").state, VersionState::Active);
    assert_eq!(view(&list, "0.1.0").state, VersionState::Previous);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_versions_show_why_and_the_good_one_serves_on_until_a_rollback() {
    let dir = support::temp_dir("registry-refusals");
    let key = SecretKey::generate().unwrap();
    let (v1, v1_manifest) = xero_v1();
    let (v2, v2_manifest) = xero_v2();
    land(&dir, "xero", "0.1.0", &v1, &v1_manifest, Some(&key));
    land(&dir, "xero", "0.2.0", &v2, &v2_manifest, Some(&key));
    let registry = Registry::start(
        runtime(8),
        options(&dir, &key),
        Arc::new(Metrics::default()),
    )
    .await
    .unwrap();
    let _watch = registry.watch().unwrap().unwrap();
    assert_eq!(version_of(&registry, "xero").as_deref(), Some("0.2.0"));

    // A corrupt component, correctly signed.
    let mut corrupt = v2.clone();
    corrupt.truncate(corrupt.len() / 2);
    let corrupt_manifest = v2_manifest.replace("version = \"0.2.0\"", "version = \"0.3.0\"");
    land(
        &dir,
        "xero",
        "0.3.0",
        &corrupt,
        &corrupt_manifest,
        Some(&key),
    );
    // A good component, unsigned.
    land(
        &dir,
        "xero",
        "0.4.0",
        &v2,
        &v2_manifest.replace("version = \"0.2.0\"", "version = \"0.4.0\""),
        None,
    );
    // A component of the wrong world, correctly signed.
    let wrong = std::fs::read(preflight_artifacts::hostile::WRONG_WORLD).unwrap();
    let wrong_manifest = v2_manifest.replace("version = \"0.2.0\"", "version = \"0.5.0\"");
    land(&dir, "xero", "0.5.0", &wrong, &wrong_manifest, Some(&key));
    // Signed by another key.
    let stranger = SecretKey::generate().unwrap();
    land(
        &dir,
        "xero",
        "0.6.0",
        &v2,
        &v2_manifest.replace("version = \"0.2.0\"", "version = \"0.6.0\""),
        Some(&stranger),
    );

    let list = support::eventually("four refusals", async || {
        let list = registry.list();
        (list
            .iter()
            .filter(|v| v.state == VersionState::Failed)
            .count()
            == 4)
            .then_some(list)
    })
    .await;
    let error = |version: &str| view(&list, version).error.clone().unwrap_or_default();
    assert!(
        error("0.3.0").contains("not a loadable WebAssembly component"),
        "{}",
        error("0.3.0")
    );
    assert!(error("0.4.0").contains("unsigned"), "{}", error("0.4.0"));
    assert!(
        error("0.5.0").contains("exports the wrong world"),
        "{}",
        error("0.5.0")
    );
    assert!(
        error("0.6.0").contains("does not verify"),
        "{}",
        error("0.6.0")
    );
    assert_eq!(view(&list, "0.2.0").state, VersionState::Active);
    assert_eq!(version_of(&registry, "xero").as_deref(), Some("0.2.0"));

    let xero = support::xero_emulator(&[]).await;
    let config = support::xero_config(&xero.url());
    let validate = async || {
        let plugin = registry.get("xero").unwrap();
        plugin
            .validate(&support::job(false), &config)
            .await
            .unwrap()
    };
    let outcome = validate().await;
    assert_eq!(
        (outcome.plugin.as_str(), &outcome.verdict),
        ("xero 0.2.0", &Verdict::Proceed)
    );

    let back = registry.rollback("xero").await.unwrap();
    assert_eq!(back.version, "0.1.0");
    assert_eq!(validate().await.plugin, "xero 0.1.0");
    let list = registry.list();
    assert_eq!(view(&list, "0.2.0").state, VersionState::RolledBack);
    assert_eq!(view(&list, "0.1.0").state, VersionState::Active);
    // Nothing older to return to; rolled-back files are not activated again
    // by a reload until they change.
    assert!(registry.rollback("xero").await.is_err());
    registry.reload().await;
    assert_eq!(version_of(&registry, "xero").as_deref(), Some("0.1.0"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_a_warm_cache_loads_without_compiling() {
    let dir = support::temp_dir("registry-cache");
    let cache_dir = dir.join("compiled");
    let plugins = dir.join("plugins");
    let key = SecretKey::generate().unwrap();
    let (bytes, manifest) = xero_v2();
    land(&plugins, "xero", "0.2.0", &bytes, &manifest, Some(&key));
    let start = async || {
        let options = RegistryOptions {
            bundled: true,
            cache: Some(Arc::new(CompiledCache::open(&cache_dir).unwrap())),
            ..options(&plugins, &key)
        };
        let metrics = Arc::new(Metrics::default());
        let registry = Registry::start(runtime(8), options, Arc::clone(&metrics))
            .await
            .unwrap();
        (registry, metrics)
    };

    let (cold, cold_metrics) = start().await;
    let cold_list = cold.list();
    assert_eq!(cold_list.len(), 5, "four bundled plugins and xero 0.2.0");
    assert!(
        cold_list
            .iter()
            .all(|v| v.cache.as_deref() == Some("compiled")),
        "{cold_list:#?}"
    );
    assert_eq!(
        cold_metrics.counter(preflight::metrics::PLUGIN_CACHE, &[("result", "compiled")]),
        5
    );
    drop(cold);

    let (warm, warm_metrics) = start().await;
    let warm_list = warm.list();
    assert!(
        warm_list.iter().all(|v| v.cache.as_deref() == Some("hit")),
        "{warm_list:#?}"
    );
    assert_eq!(
        warm_metrics.counter(preflight::metrics::PLUGIN_CACHE, &[("result", "hit")]),
        5
    );
    assert_eq!(
        warm_metrics.counter(preflight::metrics::PLUGIN_CACHE, &[("result", "compiled")]),
        0
    );
    assert_eq!(version_of(&warm, "xero").as_deref(), Some("0.2.0"));
    // And what came from the cache validates.
    let xero = support::xero_emulator(&[]).await;
    let outcome = warm
        .get("xero")
        .unwrap()
        .validate(&support::job(false), &support::xero_config(&xero.url()))
        .await
        .unwrap();
    assert_eq!(outcome.verdict, Verdict::Proceed);

    // A damaged entry is rebuilt, not trusted.
    for entry in std::fs::read_dir(&cache_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "cwasm") {
            let mut bytes = std::fs::read(&path).unwrap();
            let last = bytes.len() - 1;
            bytes[last] ^= 0xff;
            std::fs::write(&path, bytes).unwrap();
        }
    }
    drop(warm);
    let (rebuilt, _) = start().await;
    assert!(
        rebuilt
            .list()
            .iter()
            .all(|v| v.cache.as_deref() == Some("rebuilt")),
        "{:#?}",
        rebuilt.list()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_version_is_smoke_tested_with_every_company_settings() {
    let dir = support::temp_dir("registry-smoke");
    let key = SecretKey::generate().unwrap();
    // Active: a permissive plugin for xero that accepts any settings.
    let permissive = std::fs::read(preflight_artifacts::hostile::PANIC).unwrap();
    let permissive_manifest = "name = \"hostile-panic\"\nversion = \"0.1.0\"\n\
                               accountingSystem = \"xero\"\nwit = \"preflight:plugin@0.2.0\"\n\
                               allowedOrigins = [\"https://api.xero.com\"]\n";
    land(
        &dir,
        "xero",
        "0.1.0",
        &permissive,
        permissive_manifest,
        Some(&key),
    );
    let company = uuid::Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0042);
    let settings =
        serde_json::json!({ "accounts": { "expenses": "not a code!", "contra": "800" } });
    let options = RegistryOptions {
        companies: [("xero".to_owned(), vec![(company, settings)])].into(),
        ..options(&dir, &key)
    };
    let registry = Registry::start(runtime(8), options, Arc::new(Metrics::default()))
        .await
        .unwrap();
    assert_eq!(version_of(&registry, "xero").as_deref(), Some("0.1.0"));

    // The Xero plugin checks account codes: this company's would break it.
    let (bytes, manifest) = xero_v2();
    land(&dir, "xero", "0.2.0", &bytes, &manifest, Some(&key));
    let changes = registry.reload().await;
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0].result, preflight::registry::ChangeResult::Failed);
    let list = registry.list();
    let refused = view(&list, "0.2.0");
    assert_eq!(refused.state, VersionState::Failed);
    let error = refused.error.as_deref().unwrap();
    assert!(error.contains("smoke test"), "{error}");
    assert!(error.contains(&company.to_string()), "{error}");
    assert!(error.contains("settings.accounts.expenses"), "{error}");
    let active = registry.get("xero").unwrap();
    assert_eq!(
        active.label(),
        "hostile-panic 0.1.0",
        "the old version serves on"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staging_names_are_never_read_and_a_misplaced_version_is_refused() {
    let dir = support::temp_dir("registry-staging");
    let key = SecretKey::generate().unwrap();
    let registry = Registry::start(
        runtime(8),
        options(&dir, &key),
        Arc::new(Metrics::default()),
    )
    .await
    .unwrap();
    let (bytes, manifest) = xero_v2();
    let staging = dir.join("xero").join(".0.2.0.staging");
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::write(staging.join("plugin.wasm"), &bytes[..bytes.len() / 3]).unwrap();
    assert!(
        registry.reload().await.is_empty(),
        "a staging directory is not a version"
    );
    assert!(registry.list().is_empty());

    // The component says 0.2.0; its directory says 0.9.0.
    land(&dir, "xero", "0.9.0", &bytes, &manifest, Some(&key));
    let changes = registry.reload().await;
    assert_eq!(changes.len(), 1, "{changes:#?}");
    let error = changes[0].error.as_deref().unwrap();
    assert!(error.contains("directory of version '0.9.0'"), "{error}");
    assert!(registry.get("xero").is_none());

    // Moved where it belongs, it loads; the empty directory is forgotten.
    std::fs::rename(
        dir.join("xero").join("0.9.0"),
        dir.join("xero").join("0.2.0"),
    )
    .unwrap();
    let changes = registry.reload().await;
    let results: Vec<(&str, &str)> = changes
        .iter()
        .map(|c| (c.version.as_str(), c.result.as_str()))
        .collect();
    assert!(results.contains(&("0.2.0", "activated")), "{results:?}");
    assert!(results.contains(&("0.9.0", "removed")), "{results:?}");
    assert_eq!(version_of(&registry, "xero").as_deref(), Some("0.2.0"));
    std::fs::remove_dir_all(&dir).unwrap();
}
