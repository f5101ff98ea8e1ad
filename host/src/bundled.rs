//! The plugins built into the binary from `guest/plugins/`, each with its
//! manifest, and how a plugin named on the command line is found: a path to a
//! `.wasm` file (its manifest beside it, `<name>.toml`), or the name of a
//! bundled plugin.

use std::path::Path;
use std::sync::OnceLock;

use preflight_runtime::engine::Runtime;
use preflight_runtime::manifest::{Manifest, ManifestError};
use preflight_runtime::plugin::{LoadError, Plugin};

pub use preflight_bundled::Bundled;

/// Every bundled plugin.
pub fn all() -> &'static [Bundled] {
    preflight_bundled::ALL
}

/// The bundled plugin called `name`.
pub fn find(name: &str) -> Option<&'static Bundled> {
    all().iter().find(|artifact| artifact.name == name)
}

/// Why a plugin named on the command line could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PluginSourceError {
    /// Neither a readable file nor a bundled plugin.
    #[error("{name}: no such file, and no bundled plugin of that name (bundled: {bundled})")]
    NotFound {
        /// What was asked for.
        name: String,
        /// The bundled names.
        bundled: String,
    },
    /// A file could not be read.
    #[error("{path}: {error}")]
    Read {
        /// The path.
        path: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The manifest is required but absent.
    #[error("{path}: no manifest beside it (expected {manifest})")]
    NoManifest {
        /// The component.
        path: String,
        /// Where the manifest was looked for.
        manifest: String,
    },
    /// The manifest could not be read.
    #[error("{path}: {error}")]
    Manifest {
        /// The manifest file.
        path: String,
        /// What is wrong.
        error: preflight_runtime::manifest::ManifestError,
    },
    /// The plugin did not load.
    #[error(transparent)]
    Load(#[from] LoadError),
}

impl PluginSourceError {
    /// Whether the plugin's own code faulted (a trap or a limit in `info`),
    /// as opposed to a file or component that cannot be used: the command
    /// line tells the two apart by exit code (3 and 2), as it does for a
    /// fault while checking settings or validating.
    pub fn is_plugin_fault(&self) -> bool {
        matches!(self, PluginSourceError::Load(LoadError::Info { .. }))
    }
}

/// Whether a component file may be loaded without a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestRule {
    /// A file needs `<name>.toml` beside it (serving third-party plugins).
    Required,
    /// A file without one reaches only the configured base URL and runs with
    /// the operator's limits (the author's harness, `preflight check`).
    Optional,
}

/// Loads `name`: a path if it names a file (or ends in `.wasm`), a bundled
/// plugin otherwise.
pub async fn load(
    runtime: &Runtime,
    name: &str,
    rule: ManifestRule,
) -> Result<Plugin, PluginSourceError> {
    let path = Path::new(name);
    if path.is_file() || name.ends_with(".wasm") {
        return load_file(runtime, path, &path.with_extension("toml"), rule).await;
    }
    let artifact = find(name).ok_or_else(|| PluginSourceError::NotFound {
        name: name.to_owned(),
        bundled: all().iter().map(|a| a.name).collect::<Vec<_>>().join(", "),
    })?;
    load_artifact(runtime, artifact).await
}

/// Loads the component file `component` with the manifest `manifest`
/// (named on the command line, so it must be there): a plugin project keeps
/// its manifest beside its sources, not beside the built component.
pub async fn load_with_manifest(
    runtime: &Runtime,
    component: &Path,
    manifest: &Path,
) -> Result<Plugin, PluginSourceError> {
    load_file(runtime, component, manifest, ManifestRule::Required).await
}

/// Loads the component file `path` with the manifest at `manifest_path`,
/// which `rule` says whether it may lack.
async fn load_file(
    runtime: &Runtime,
    path: &Path,
    manifest_path: &Path,
    rule: ManifestRule,
) -> Result<Plugin, PluginSourceError> {
    let name = path.display().to_string();
    let bytes = crate::input::read(path, crate::input::Input::Component).map_err(|error| {
        PluginSourceError::Read {
            path: name.clone(),
            error,
        }
    })?;
    let manifest = match crate::input::read_text(manifest_path, crate::input::Input::Manifest) {
        Ok(text) => {
            Some(
                Manifest::from_toml(&text).map_err(|error| PluginSourceError::Manifest {
                    path: manifest_path.display().to_string(),
                    error,
                })?,
            )
        }
        // Only a manifest that is not there is absent; one that is there
        // but cannot be read (not UTF-8, a directory) is refused, by every
        // command alike.
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            return Err(PluginSourceError::Read {
                path: manifest_path.display().to_string(),
                error,
            });
        }
        Err(_) if rule == ManifestRule::Optional => None,
        Err(_) => {
            return Err(PluginSourceError::NoManifest {
                path: name,
                manifest: manifest_path.display().to_string(),
            });
        }
    };
    Ok(runtime.load(&name, &bytes, manifest).await?)
}

/// How errors name a bundled plugin's manifest:
/// `bundled:xero/preflight-plugin.toml`.
pub fn manifest_path(artifact: &Bundled) -> String {
    format!("bundled:{}/preflight-plugin.toml", artifact.name)
}

/// The manifest of a bundled plugin, parsed once per process.
pub fn manifest(artifact: &Bundled) -> Result<Manifest, ManifestError> {
    static PARSED: OnceLock<Vec<Result<Manifest, ManifestError>>> = OnceLock::new();
    let parsed = PARSED.get_or_init(|| {
        all()
            .iter()
            .map(|bundled| Manifest::from_toml(bundled.manifest))
            .collect()
    });
    let index = all()
        .iter()
        .position(|bundled| bundled.name == artifact.name);
    match index {
        Some(index) => parsed[index].clone(),
        None => Manifest::from_toml(artifact.manifest),
    }
}

/// Loads a bundled plugin with its manifest.
pub async fn load_artifact(
    runtime: &Runtime,
    artifact: &Bundled,
) -> Result<Plugin, PluginSourceError> {
    let manifest = manifest(artifact).map_err(|error| PluginSourceError::Manifest {
        path: manifest_path(artifact),
        error,
    })?;
    Ok(runtime
        .load(
            &format!("bundled:{}", artifact.name),
            artifact.bytes,
            Some(manifest),
        )
        .await?)
}
