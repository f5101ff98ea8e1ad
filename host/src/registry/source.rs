//! Reading a plugin from disk: the layout of the plugin directory, the files of
//! one version, and the order of versions.
//!
//! ```text
//! plugins/                      the directory named by `plugins.dir`
//!   xero/                       an accounting system, as the plugin's `info` names it
//!     0.1.0/                    a version, as the plugin's `info` and manifest name it
//!                               (`0.1.0+build.2`: a build of it, told apart by the metadata)
//!       plugin.wasm             the component (exactly one `*.wasm` file)
//!       plugin.toml             its manifest (`<stem>.toml`, required)
//!       plugin.sig              its ed25519 signature (`<stem>.sig`, optional)
//!     0.2.0/
//! ```
//!
//! Names starting with `.` and files ending in `.tmp`, `.part` or `~` are never
//! read: write a version under such a name and rename it into place.

use std::cmp::Ordering;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::error::{FilesError, FilesProblem};
use crate::input::Input;

/// The files of one plugin version, read whole.
pub struct Files {
    /// The component's path.
    pub path: PathBuf,
    /// The component.
    pub component: Vec<u8>,
    /// SHA-256 of the component.
    pub digest: [u8; 32],
    /// The manifest's bytes (TOML).
    pub manifest: Vec<u8>,
    /// The manifest's path, for errors.
    pub manifest_path: PathBuf,
    /// The signature file's text, if there is one.
    pub signature: Option<String>,
    /// SHA-256 over the component's digest, the manifest and the signature:
    /// a changed file is a new candidate.
    pub fingerprint: [u8; 32],
}

/// Every version directory under the plugin directory `dir`
/// (`<dir>/<system>/<version>`), systems and versions sorted by name; an
/// unreadable directory contributes nothing.
pub fn version_dirs(dir: &Path) -> Vec<PathBuf> {
    subdirectories(dir)
        .unwrap_or_default()
        .iter()
        .flat_map(|system| subdirectories(system).unwrap_or_default())
        .collect()
}

/// Whether a directory entry is skipped: hidden, or a file still being
/// written.
pub fn is_ignored(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with('.')
        || name.ends_with(".tmp")
        || name.ends_with(".part")
        || name.ends_with('~')
}

/// The subdirectories of `dir` that are not ignored, sorted by name.
pub fn subdirectories(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !is_ignored(&entry.file_name()) && entry.file_type()?.is_dir() {
            found.push(entry.path());
        }
    }
    found.sort();
    Ok(found)
}

/// Reads the version directory `dir`: its one component, the manifest beside
/// it, and the signature if present.
pub fn read_version_dir(dir: &Path) -> Result<Files, FilesError> {
    let failed = |problem| FilesError {
        path: dir.to_owned(),
        problem,
    };
    let mut components = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|error| failed(FilesProblem::Io(error)))?;
    for entry in entries {
        let entry = entry.map_err(|error| failed(FilesProblem::Io(error)))?;
        let path = entry.path();
        if !is_ignored(&entry.file_name())
            && path
                .extension()
                .is_some_and(|extension| extension == "wasm")
        {
            components.push(path);
        }
    }
    match components.len() {
        1 => read_component(&components.remove(0)),
        0 => Err(failed(FilesProblem::NoComponent)),
        n => Err(failed(FilesProblem::SeveralComponents(n))),
    }
}

/// Reads the component at `path` with `<stem>.toml` (required) and
/// `<stem>.sig` (optional) beside it.
pub fn read_component(path: &Path) -> Result<Files, FilesError> {
    let failed = |path: &Path, problem| FilesError {
        path: path.to_owned(),
        problem,
    };
    let component = crate::input::read(path, Input::Component)
        .map_err(|error| failed(path, FilesProblem::Io(error)))?;
    let manifest_path = path.with_extension("toml");
    let manifest = crate::input::read(&manifest_path, Input::Manifest).map_err(|error| {
        failed(
            path,
            FilesProblem::NoManifest {
                manifest: manifest_path.clone(),
                error,
            },
        )
    })?;
    let signature_path = path.with_extension("sig");
    let signature = match crate::input::read(&signature_path, Input::Signature) {
        Ok(bytes) => Some(
            String::from_utf8(bytes)
                .map_err(|_| failed(&signature_path, FilesProblem::SignatureNotText))?,
        ),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => return Err(failed(&signature_path, FilesProblem::Io(error))),
    };
    let digest: [u8; 32] = Sha256::digest(&component).into();
    let mut hasher = Sha256::new();
    for part in [
        &digest[..],
        &manifest[..],
        signature.as_deref().unwrap_or("").as_bytes(),
    ] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    Ok(Files {
        path: path.to_owned(),
        component,
        digest,
        manifest,
        manifest_path,
        signature,
        fingerprint: hasher.finalize().into(),
    })
}

/// Orders version strings: dot-separated parts compared as numbers where both
/// are numbers, as text otherwise; a pre-release (`1.0.0-rc.1`) comes before
/// its release.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let split = |v: &str| -> (String, Option<String>) {
        let v = v.split('+').next().unwrap_or(v);
        match v.split_once('-') {
            Some((core, pre)) => (core.to_owned(), Some(pre.to_owned())),
            None => (v.to_owned(), None),
        }
    };
    let ((core_a, pre_a), (core_b, pre_b)) = (split(a), split(b));
    compare_dotted(&core_a, &core_b).then_with(|| match (pre_a, pre_b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => compare_dotted(&x, &y),
    })
}

fn compare_dotted(a: &str, b: &str) -> Ordering {
    let mut left = a.split('.');
    let mut right = b.split('.');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_numerically_with_pre_releases_first() {
        let mut versions = vec![
            "0.10.0",
            "0.2.0",
            "1.0.0",
            "1.0.0-rc.2",
            "1.0.0-rc.10",
            "0.2",
        ];
        versions.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(
            versions,
            [
                "0.2",
                "0.2.0",
                "0.10.0",
                "1.0.0-rc.2",
                "1.0.0-rc.10",
                "1.0.0"
            ]
        );
        assert_eq!(compare_versions("1.2.3+build.5", "1.2.3"), Ordering::Equal);
    }

    #[test]
    fn partial_and_hidden_names_are_ignored() {
        for name in [".staging", "plugin.wasm.tmp", "x.part", "plugin.toml~"] {
            assert!(is_ignored(OsStr::new(name)), "{name}");
        }
        for name in ["0.2.0", "plugin.wasm", "plugin.toml", "plugin.sig"] {
            assert!(!is_ignored(OsStr::new(name)), "{name}");
        }
    }

    #[test]
    fn a_version_directory_needs_exactly_one_component_and_its_manifest() {
        let dir = std::env::temp_dir().join(format!("preflight-source-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let error = read_version_dir(&dir).err().unwrap().to_string();
        assert!(error.ends_with("no component (*.wasm) in it"), "{error}");

        std::fs::write(dir.join("plugin.wasm"), b"\0asm").unwrap();
        let error = read_version_dir(&dir).err().unwrap().to_string();
        assert!(error.contains("no manifest beside it"), "{error}");

        std::fs::write(dir.join("plugin.toml"), b"name = 'x'").unwrap();
        let unsigned = read_version_dir(&dir).unwrap();
        assert!(unsigned.signature.is_none());
        std::fs::write(dir.join("plugin.sig"), b"ed25519:AAAA").unwrap();
        let signed = read_version_dir(&dir).unwrap();
        assert_eq!(signed.signature.as_deref(), Some("ed25519:AAAA"));
        assert_ne!(signed.fingerprint, unsigned.fingerprint);

        std::fs::write(dir.join("other.wasm"), b"\0asm").unwrap();
        let error = read_version_dir(&dir).err().unwrap().to_string();
        assert!(error.contains("2 components"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
