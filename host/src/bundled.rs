//! The plugins built into the binary from `guest/plugins/`, and how a plugin
//! named on the command line is found: a path to a `.wasm` file, or the name of
//! a bundled plugin.

use std::path::Path;

use crate::engine::Runtime;
use crate::plugin::{LoadError, Plugin};

pub use preflight_artifacts::Artifact;

/// Every bundled plugin.
pub fn all() -> &'static [Artifact] {
    preflight_artifacts::plugins::ALL
}

/// The bundled plugin called `name`.
pub fn find(name: &str) -> Option<&'static Artifact> {
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
    /// The file could not be read.
    #[error("{path}: {error}")]
    Read {
        /// The path.
        path: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The plugin did not load.
    #[error(transparent)]
    Load(#[from] LoadError),
}

/// Loads `name`: a path if it names a file (or ends in `.wasm`), a bundled
/// plugin otherwise.
pub async fn load(runtime: &Runtime, name: &str) -> Result<Plugin, PluginSourceError> {
    let path = Path::new(name);
    if path.is_file() || name.ends_with(".wasm") {
        let bytes = std::fs::read(path).map_err(|error| PluginSourceError::Read {
            path: name.to_owned(),
            error,
        })?;
        return Ok(runtime.load(name, &bytes, Vec::new()).await?);
    }
    let artifact = find(name).ok_or_else(|| PluginSourceError::NotFound {
        name: name.to_owned(),
        bundled: all().iter().map(|a| a.name).collect::<Vec<_>>().join(", "),
    })?;
    Ok(runtime
        .load(
            &format!("bundled:{}", artifact.name),
            artifact.bytes,
            Vec::new(),
        )
        .await?)
}
