//! What can go wrong with a plugin version, typed for the registry's
//! decisions and worded for the operator who reads `plugins list`.

use std::path::PathBuf;

use preflight_runtime::PluginError;
use preflight_runtime::manifest::ManifestError;
use preflight_runtime::plugin::LoadError;

use crate::signature::SignatureError;

/// Why a candidate version was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Its files could not be read as a version.
    #[error(transparent)]
    Files(#[from] FilesError),
    /// The signature does not verify, or is missing where one is required.
    #[error("signature: {0}")]
    Signature(#[from] SignatureError),
    /// The manifest is not UTF-8.
    #[error("{}: the manifest is not UTF-8", path.display())]
    ManifestEncoding {
        /// The manifest.
        path: PathBuf,
    },
    /// The manifest does not parse.
    #[error("{path}: {error}")]
    Manifest {
        /// The manifest (`bundled:<name>/preflight-plugin.toml` for a
        /// bundled plugin).
        path: String,
        /// What is wrong, by field.
        error: ManifestError,
    },
    /// The bytes are not a component wasmtime can compile.
    #[error("not a loadable WebAssembly component: {0}")]
    Compile(String),
    /// Compiling on a blocking thread did not finish (the thread panicked or
    /// the runtime shut down).
    #[error("compiling: {0}")]
    CompileTask(String),
    /// The gate, the contract, `info` or the manifest check refused it.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// It sits in another accounting system's directory.
    #[error("it is in the directory of accounting system '{directory}' but serves '{serves}'")]
    WrongSystem {
        /// The directory's system.
        directory: String,
        /// What the plugin says.
        serves: String,
    },
    /// It sits in another version's directory.
    #[error("it is in the directory of version '{directory}' but says it is version '{says}'")]
    WrongVersion {
        /// The directory's version.
        directory: String,
        /// What the plugin says.
        says: String,
    },
    /// The smoke test: it refuses a configured company's settings.
    #[error(
        "smoke test: it refuses the settings of company {company}{}",
        first_error(field, message)
    )]
    RefusesSettings {
        /// The company.
        company: uuid::Uuid,
        /// The first field it refuses, if it named one.
        field: Option<String>,
        /// What it says about it.
        message: Option<String>,
    },
    /// The smoke test: it faulted checking a company's settings.
    #[error("smoke test: company {company}: {error}")]
    SmokeFault {
        /// The company.
        company: uuid::Uuid,
        /// The fault.
        error: PluginError,
    },
}

fn first_error(field: &Option<String>, message: &Option<String>) -> String {
    match (field, message) {
        (Some(field), Some(message)) => format!(": settings.{field}: {message}"),
        _ => String::new(),
    }
}

/// Why the files of a version could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{}: {problem}", path.display())]
pub struct FilesError {
    /// The directory or file concerned.
    pub path: PathBuf,
    /// What is wrong with it.
    pub problem: FilesProblem,
}

/// What is wrong with a version's files.
#[derive(Debug, thiserror::Error)]
pub enum FilesProblem {
    /// Reading failed.
    #[error("{0}")]
    Io(std::io::Error),
    /// The directory holds no `*.wasm` file.
    #[error("no component (*.wasm) in it")]
    NoComponent,
    /// The directory holds more than one.
    #[error("{0} components (*.wasm) in it; a version holds exactly one")]
    SeveralComponents(usize),
    /// The manifest beside the component is missing or unreadable.
    #[error("no manifest beside it ({}: {error})", manifest.display())]
    NoManifest {
        /// Where it was looked for.
        manifest: PathBuf,
        /// Why it could not be read.
        error: std::io::Error,
    },
    /// The signature file is not text.
    #[error("the signature file is not text")]
    SignatureNotText,
}
