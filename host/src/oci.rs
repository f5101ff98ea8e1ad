//! Plugins as OCI artifacts: a component, its manifest and its signature in
//! one artifact that any OCI registry stores, pushed and pulled with an OCI
//! distribution client (`oci-client`).
//!
//! # The artifact
//!
//! The layout is the CNCF TAG Runtime's Wasm OCI artifact, which Kubewarden,
//! Spin and wasmCloud read too, with preflight's two files as extra layers:
//!
//! | part | media type | content |
//! |---|---|---|
//! | config | `application/vnd.wasm.config.v0+json` | `{created, architecture: "wasm", os: "wasip2", layerDigests, component: {target}}` |
//! | layer 1 | `application/wasm` | the component |
//! | layer 2 | `application/vnd.preflight.plugin.manifest.v1+toml` | the manifest (`preflight-plugin.toml`) |
//! | layer 3 (optional) | `application/vnd.preflight.plugin.signature.v1` | the ed25519 signature (`plugin.sig`) |
//!
//! The image manifest carries the annotations
//! `org.opencontainers.image.title` (the plugin's name),
//! `org.opencontainers.image.version` and
//! `dev.preflight.accounting-system`.
//!
//! On disk, `preflight plugins package` writes the artifact as an OCI image
//! layout (`oci-layout`, `index.json`, `blobs/sha256/…`), one directory that
//! OCI tools read as they are. A pull checks every blob's digest (the
//! client does), the media types and the layer count, then the signature
//! against the trusted keys before the component is written anywhere or
//! compiled; [`Package::install`] puts it in the plugin directory's layout
//! (`<dir>/<system>/<version>/plugin.wasm|.toml|.sig`) under a staging name
//! and renames it into place, where `serve`'s pipeline takes it from there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_client::Client;
/// An OCI reference: registry, repository, tag or digest.
pub use oci_client::Reference;
use oci_client::client::{
    Certificate, CertificateEncoding, ClientConfig, ClientProtocol, Config, ImageLayer,
};
use oci_client::manifest::OciImageManifest;
use oci_client::secrets::RegistryAuth;
use sha2::Digest as _;

use crate::signature::{SignaturePolicy, Signer};
use preflight_runtime::manifest::Manifest;

/// The config's media type (Wasm OCI artifact).
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// The component layer's media type.
pub const WASM_MEDIA_TYPE: &str = "application/wasm";
/// The manifest layer's media type.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.preflight.plugin.manifest.v1+toml";
/// The signature layer's media type.
pub const SIGNATURE_MEDIA_TYPE: &str = "application/vnd.preflight.plugin.signature.v1";
/// The annotation naming the accounting system.
pub const SYSTEM_ANNOTATION: &str = "dev.preflight.accounting-system";

/// Why an artifact could not be packaged, pushed, pulled or installed.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// A reference that is not `oci://REGISTRY/REPOSITORY[:TAG|@DIGEST]`.
    #[error("'{reference}': {message}")]
    Reference {
        /// The reference as given.
        reference: String,
        /// What is wrong with it.
        message: String,
    },
    /// The registry refused or failed a request.
    #[error("{reference}: {message}")]
    Registry {
        /// The artifact.
        reference: String,
        /// The client's error.
        message: String,
    },
    /// The artifact is not a preflight plugin as this host packs them.
    #[error("{source_name}: not a preflight plugin artifact: {message}")]
    Artifact {
        /// Where it came from.
        source_name: String,
        /// What is wrong with it.
        message: String,
    },
    /// The manifest layer does not parse.
    #[error("{source_name}: its manifest: {error}")]
    Manifest {
        /// Where it came from.
        source_name: String,
        /// The manifest's error.
        error: preflight_runtime::manifest::ManifestError,
    },
    /// The signature is missing (and unsigned plugins are not allowed) or
    /// does not verify.
    #[error("{source_name}: {error}")]
    Signature {
        /// Where it came from.
        source_name: String,
        /// Why it was refused.
        error: crate::signature::SignatureError,
    },
    /// A file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
}

/// One plugin version: the files the artifact carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// The component.
    pub component: Vec<u8>,
    /// The manifest's bytes (TOML), as signed.
    pub manifest: Vec<u8>,
    /// The signature file's text, if signed.
    pub signature: Option<String>,
}

/// How to reach a registry: credentials and the CA that signs its TLS
/// certificate when it is not a public one. Always HTTPS.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Basic authentication, when the registry asks for it.
    pub basic: Option<(String, preflight_runtime::config::Secret)>,
    /// A PEM certificate to trust besides the system's roots.
    pub ca_pem: Option<Vec<u8>>,
}

/// Parses `oci://REGISTRY/REPOSITORY[:TAG|@sha256:…]`.
pub fn parse_reference(text: &str) -> Result<Reference, OciError> {
    let failed = |message: &str| OciError::Reference {
        reference: text.to_owned(),
        message: message.to_owned(),
    };
    let rest = text
        .strip_prefix("oci://")
        .ok_or_else(|| failed("an OCI reference starts with oci://"))?;
    if !rest.contains('/') {
        return Err(failed(
            "name a registry and a repository: oci://REGISTRY/REPOSITORY:TAG",
        ));
    }
    let reference: Reference = rest
        .parse()
        .map_err(|error: oci_client::ParseError| failed(&error.to_string()))?;
    // A reference without a registry host would silently mean Docker Hub.
    if !rest.starts_with(reference.registry()) {
        return Err(failed(
            "name the registry host first: oci://REGISTRY/REPOSITORY:TAG",
        ));
    }
    Ok(reference)
}

impl Package {
    /// The manifest, parsed.
    pub fn parsed_manifest(&self, source_name: &str) -> Result<Manifest, OciError> {
        let text = std::str::from_utf8(&self.manifest).map_err(|_| OciError::Artifact {
            source_name: source_name.to_owned(),
            message: "the manifest layer is not UTF-8 text".to_owned(),
        })?;
        Manifest::from_toml(text).map_err(|error| OciError::Manifest {
            source_name: source_name.to_owned(),
            error,
        })
    }

    /// Checks the signature against `policy` (a present signature always
    /// must verify).
    pub fn verify(&self, policy: &SignaturePolicy, source_name: &str) -> Result<Signer, OciError> {
        policy
            .check(&self.component, &self.manifest, self.signature.as_deref())
            .map_err(|error| OciError::Signature {
                source_name: source_name.to_owned(),
                error,
            })
    }

    /// The artifact of this version: config, layers and image manifest,
    /// made once, so the layout on disk and the registry hold the same
    /// bytes under the same digest.
    pub fn artifact(&self, source_name: &str) -> Result<Artifact, OciError> {
        let manifest = self.parsed_manifest(source_name)?;
        let mut layers = vec![
            ImageLayer::new(self.component.clone(), WASM_MEDIA_TYPE.to_owned(), None),
            ImageLayer::new(self.manifest.clone(), MANIFEST_MEDIA_TYPE.to_owned(), None),
        ];
        if let Some(signature) = &self.signature {
            layers.push(ImageLayer::new(
                signature.trim().as_bytes().to_vec(),
                SIGNATURE_MEDIA_TYPE.to_owned(),
                None,
            ));
        }
        let config = serde_json::json!({
            "created": humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            "architecture": "wasm",
            "os": "wasip2",
            "layerDigests": [layers[0].sha256_digest()],
            "component": { "target": format!("preflight:plugin/plugin@{}", manifest.contract.as_str()) },
        });
        let config = Config::new(
            serde_json::to_vec(&config).expect("the config serialises"),
            CONFIG_MEDIA_TYPE.to_owned(),
            None,
        );
        let annotations = BTreeMap::from([
            (
                "org.opencontainers.image.title".to_owned(),
                manifest.name.clone(),
            ),
            (
                "org.opencontainers.image.version".to_owned(),
                manifest.version.clone(),
            ),
            (
                SYSTEM_ANNOTATION.to_owned(),
                manifest.accounting_system.clone(),
            ),
        ]);
        let image = OciImageManifest::build(&layers, &config, Some(annotations));
        Ok(Artifact {
            package: self.clone(),
            version: manifest.version,
            config: config.data,
            layers: layers.into_iter().map(|l| (l.media_type, l.data)).collect(),
            image: serde_json::to_vec(&image).expect("the manifest serialises"),
        })
    }

    /// Reads a package from its layers as a registry or an image layout
    /// gave them; refuses anything but one component, one manifest and at
    /// most one signature.
    fn from_layers(
        source_name: &str,
        config_media_type: &str,
        layers: Vec<(String, Vec<u8>)>,
    ) -> Result<Package, OciError> {
        let refuse = |message: String| OciError::Artifact {
            source_name: source_name.to_owned(),
            message,
        };
        if config_media_type != CONFIG_MEDIA_TYPE {
            return Err(refuse(format!(
                "its config is {config_media_type}, not {CONFIG_MEDIA_TYPE}"
            )));
        }
        let (mut component, mut manifest, mut signature) = (None, None, None);
        for (media_type, data) in layers {
            let slot = match media_type.as_str() {
                WASM_MEDIA_TYPE => &mut component,
                MANIFEST_MEDIA_TYPE => &mut manifest,
                SIGNATURE_MEDIA_TYPE => &mut signature,
                other => return Err(refuse(format!("a layer of media type {other}"))),
            };
            if slot.replace(data).is_some() {
                return Err(refuse(format!("two layers of media type {media_type}")));
            }
        }
        let component = component.ok_or_else(|| refuse(format!("no {WASM_MEDIA_TYPE} layer")))?;
        let manifest = manifest.ok_or_else(|| refuse(format!("no {MANIFEST_MEDIA_TYPE} layer")))?;
        let signature = signature
            .map(|bytes| {
                String::from_utf8(bytes)
                    .map_err(|_| refuse("the signature layer is not text".to_owned()))
            })
            .transpose()?;
        Ok(Package {
            component,
            manifest,
            signature,
        })
    }

    /// Pulls the artifact at `reference`, with its manifest's digest. The
    /// client checks every blob's digest; the layers are checked here. The
    /// signature is not: see [`Package::verify`].
    pub async fn pull(
        reference: &Reference,
        access: &Access,
    ) -> Result<(Package, String), OciError> {
        let name = format!("oci://{}", reference.whole());
        let registry = |error: oci_client::errors::OciDistributionError| OciError::Registry {
            reference: name.clone(),
            message: error.to_string(),
        };
        let image = access
            .client()
            .pull(
                reference,
                &access.auth(),
                vec![WASM_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, SIGNATURE_MEDIA_TYPE],
            )
            .await
            .map_err(registry)?;
        let digest = image.digest.clone().unwrap_or_default();
        let layers = image
            .layers
            .into_iter()
            .map(|layer| (layer.media_type, layer.data))
            .collect();
        let package = Package::from_layers(&name, &image.config.media_type, layers)?;
        Ok((package, digest))
    }

    /// Writes the version into the plugin directory `dir` as
    /// `<system>/<version>/plugin.wasm|.toml|.sig`, under a staging name
    /// first and renamed into place, replacing what was there; the
    /// version's directory.
    pub fn install(&self, dir: &Path, source_name: &str) -> Result<PathBuf, OciError> {
        let manifest = self.parsed_manifest(source_name)?;
        for (field, value) in [
            ("accountingSystem", &manifest.accounting_system),
            ("version", &manifest.version),
        ] {
            let plain = !value.is_empty()
                && value != "."
                && value != ".."
                && !value.starts_with('.')
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.+".contains(c));
            if !plain {
                return Err(OciError::Artifact {
                    source_name: source_name.to_owned(),
                    message: format!("its manifest's {field} '{value}' is not a directory name"),
                });
            }
        }
        let system_dir = dir.join(&manifest.accounting_system);
        let target = system_dir.join(&manifest.version);
        let staging = system_dir.join(format!(".pull-{}", uuid::Uuid::new_v4()));
        let io = |path: &Path| {
            let path = path.to_owned();
            move |error| OciError::Io { path, error }
        };
        std::fs::create_dir_all(&staging).map_err(io(&staging))?;
        let mut files = vec![
            ("plugin.wasm", self.component.clone()),
            ("plugin.toml", self.manifest.clone()),
        ];
        if let Some(signature) = &self.signature {
            files.push(("plugin.sig", signature.clone().into_bytes()));
        }
        for (name, data) in files {
            let path = staging.join(name);
            std::fs::write(&path, data).map_err(io(&path))?;
        }
        // The old version moves aside under an ignored name, the new one
        // takes its place: the directory is never seen half written.
        if target.exists() {
            let aside = system_dir.join(format!(".replaced-{}", uuid::Uuid::new_v4()));
            std::fs::rename(&target, &aside).map_err(io(&target))?;
            std::fs::rename(&staging, &target).map_err(io(&target))?;
            let _ = std::fs::remove_dir_all(&aside);
        } else {
            std::fs::rename(&staging, &target).map_err(io(&target))?;
        }
        Ok(target)
    }
}

/// A plugin version as an OCI artifact: its files and the exact bytes of
/// its config and image manifest (see the [module](self)).
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The files.
    pub package: Package,
    version: String,
    config: Vec<u8>,
    layers: Vec<(String, Vec<u8>)>,
    image: Vec<u8>,
}

impl Artifact {
    /// The image manifest's digest, `sha256:…`: what a registry names it by.
    pub fn digest(&self) -> String {
        sha256(&self.image)
    }

    /// Writes the artifact as an OCI image layout in `dir`.
    pub fn write_layout(&self, dir: &Path) -> Result<(), OciError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |error| OciError::Io { path, error }
        };
        let blobs = dir.join("blobs").join("sha256");
        std::fs::create_dir_all(&blobs).map_err(io(&blobs))?;
        let write_blob = |data: &[u8]| {
            let digest = sha256(data);
            let path = blobs.join(digest.trim_start_matches("sha256:"));
            std::fs::write(&path, data).map_err(io(&path))
        };
        write_blob(&self.config)?;
        for (_, data) in &self.layers {
            write_blob(data)?;
        }
        write_blob(&self.image)?;
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": oci_client::manifest::OCI_IMAGE_MEDIA_TYPE,
                "digest": self.digest(),
                "size": self.image.len(),
                "annotations": { "org.opencontainers.image.ref.name": self.version },
            }],
        });
        for (name, text) in [
            (
                "oci-layout",
                serde_json::json!({ "imageLayoutVersion": "1.0.0" }),
            ),
            ("index.json", index),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, text.to_string()).map_err(io(&path))?;
        }
        Ok(())
    }

    /// Reads the artifact of the OCI image layout in `dir` (its one image),
    /// checking every blob against its digest.
    pub fn read_layout(dir: &Path) -> Result<Artifact, OciError> {
        let source_name = dir.display().to_string();
        let refuse = |message: String| OciError::Artifact {
            source_name: source_name.clone(),
            message,
        };
        let blob = |digest: &str| -> Result<Vec<u8>, OciError> {
            let hex = digest
                .strip_prefix("sha256:")
                .filter(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
                .ok_or_else(|| refuse(format!("digest {digest} is not sha256")))?;
            let path = dir.join("blobs").join("sha256").join(hex);
            let data = crate::input::read(&path, crate::input::Input::Component)
                .map_err(|error| OciError::Io { path, error })?;
            if sha256(&data) != digest {
                return Err(refuse(format!("blob {digest} does not match its digest")));
            }
            Ok(data)
        };
        let index_path = dir.join("index.json");
        let index =
            crate::input::read(&index_path, crate::input::Input::Manifest).map_err(|error| {
                OciError::Io {
                    path: index_path,
                    error,
                }
            })?;
        let index: serde_json::Value =
            serde_json::from_slice(&index).map_err(|e| refuse(format!("index.json: {e}")))?;
        let manifests = index["manifests"].as_array().cloned().unwrap_or_default();
        let [entry] = manifests.as_slice() else {
            return Err(refuse(format!(
                "index.json lists {} images, not one",
                manifests.len()
            )));
        };
        let digest = entry["digest"]
            .as_str()
            .ok_or_else(|| refuse("index.json: an image without a digest".to_owned()))?;
        let image_bytes = blob(digest)?;
        let image: OciImageManifest = serde_json::from_slice(&image_bytes)
            .map_err(|e| refuse(format!("image manifest: {e}")))?;
        let config = blob(&image.config.digest)?;
        let layers = image
            .layers
            .iter()
            .map(|layer| Ok((layer.media_type.clone(), blob(&layer.digest)?)))
            .collect::<Result<Vec<_>, OciError>>()?;
        let package = Package::from_layers(&source_name, &image.config.media_type, layers.clone())?;
        let version = package.parsed_manifest(&source_name)?.version;
        Ok(Artifact {
            package,
            version,
            config,
            layers,
            image: image_bytes,
        })
    }

    /// Pushes the artifact to `reference`, byte for byte as it is (so the
    /// registry names it by [`Artifact::digest`]); that digest.
    pub async fn push(&self, reference: &Reference, access: &Access) -> Result<String, OciError> {
        let name = format!("oci://{}", reference.whole());
        let registry = |error: oci_client::errors::OciDistributionError| OciError::Registry {
            reference: name.clone(),
            message: error.to_string(),
        };
        let client = access.client();
        client
            .auth(
                reference,
                &access.auth(),
                oci_client::RegistryOperation::Push,
            )
            .await
            .map_err(registry)?;
        for data in std::iter::once(&self.config).chain(self.layers.iter().map(|(_, data)| data)) {
            client
                .push_blob(reference, data, &sha256(data))
                .await
                .map_err(registry)?;
        }
        client
            .push_manifest_raw(
                reference,
                self.image.clone(),
                oci_client::manifest::OCI_IMAGE_MEDIA_TYPE
                    .parse()
                    .expect("a valid header value"),
            )
            .await
            .map_err(registry)?;
        Ok(self.digest())
    }
}

impl Access {
    fn client(&self) -> Client {
        Client::new(ClientConfig {
            protocol: ClientProtocol::Https,
            extra_root_certificates: self
                .ca_pem
                .iter()
                .map(|pem| Certificate {
                    encoding: CertificateEncoding::Pem,
                    data: pem.clone(),
                })
                .collect(),
            ..ClientConfig::default()
        })
    }

    fn auth(&self) -> RegistryAuth {
        match &self.basic {
            Some((user, password)) => {
                RegistryAuth::Basic(user.clone(), password.expose().to_owned())
            }
            None => RegistryAuth::Anonymous,
        }
    }

    /// The digest the registry gives `reference` now (a tag moves; a digest
    /// reference is its own).
    pub async fn resolve(&self, reference: &Reference) -> Result<String, OciError> {
        if let Some(digest) = reference.digest() {
            return Ok(digest.to_owned());
        }
        self.client()
            .fetch_manifest_digest(reference, &self.auth())
            .await
            .map_err(|error| OciError::Registry {
                reference: format!("oci://{}", reference.whole()),
                message: error.to_string(),
            })
    }
}

fn sha256(data: &[u8]) -> String {
    format!(
        "sha256:{}",
        preflight_runtime::plugin::hex(&sha2::Sha256::digest(data))
    )
}

/// One source's turn of [`Follower::sync`].
#[derive(Debug)]
pub enum Synced {
    /// The tag moved (or the source was never pulled): this version was
    /// pulled, its signature checked, and installed.
    Installed {
        /// The source, as configured.
        source: String,
        /// The accounting system.
        system: String,
        /// The version.
        version: String,
        /// The artifact's digest.
        digest: String,
    },
    /// The registry names the digest pulled last time.
    Unchanged,
    /// The source could not be followed this time; what was installed
    /// before stays.
    Failed {
        /// The source.
        source: String,
        /// Why.
        error: String,
    },
}

/// `serve` following `plugins.sources`: each tag is resolved to a digest,
/// and a digest not installed yet is pulled, its signature checked against
/// the trusted keys before anything is written, and installed in the plugin
/// directory, where the registry's pipeline (signature, manifest, compile,
/// gate, smoke test, swap) takes it as it takes any version that lands
/// there.
pub struct Follower {
    sources: Vec<(String, Reference)>,
    registries: BTreeMap<String, Access>,
    dir: PathBuf,
    policy: SignaturePolicy,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    installed: tokio::sync::Mutex<BTreeMap<String, String>>,
}

impl Follower {
    /// A follower of `settings`' sources, or `None` when there are none.
    pub fn new(
        settings: &crate::registry::PluginSettings,
        metrics: std::sync::Arc<crate::metrics::Metrics>,
    ) -> Option<Follower> {
        let dir = settings.dir.clone()?;
        if settings.sources.is_empty() {
            return None;
        }
        Some(Follower {
            sources: settings.sources.clone(),
            registries: settings.registries.clone(),
            dir,
            policy: SignaturePolicy {
                trusted: settings.trusted_keys.clone(),
                allow_unsigned: settings.allow_unsigned,
            },
            metrics,
            installed: tokio::sync::Mutex::new(BTreeMap::new()),
        })
    }

    /// Looks at every source once, in order.
    pub async fn sync(&self) -> Vec<Synced> {
        let mut installed = self.installed.lock().await;
        let mut results = Vec::with_capacity(self.sources.len());
        for (source, reference) in &self.sources {
            let result = self.follow(source, reference, &mut installed).await;
            let label = match &result {
                Synced::Installed { .. } => "pulled",
                Synced::Unchanged => "unchanged",
                Synced::Failed { source, error } => {
                    tracing::warn!(source = %source, "following a plugin source: {error}");
                    "failed"
                }
            };
            self.metrics.inc(
                crate::metrics::PLUGIN_PULLS,
                &[("source", source), ("result", label)],
            );
            results.push(result);
        }
        results
    }

    async fn follow(
        &self,
        source: &str,
        reference: &Reference,
        installed: &mut BTreeMap<String, String>,
    ) -> Synced {
        let failed = |error: &dyn std::fmt::Display| Synced::Failed {
            source: source.to_owned(),
            error: error.to_string(),
        };
        let access = self
            .registries
            .get(reference.registry())
            .cloned()
            .unwrap_or_default();
        let digest = match access.resolve(reference).await {
            Ok(digest) => digest,
            Err(error) => return failed(&error),
        };
        if installed.get(source) == Some(&digest) {
            return Synced::Unchanged;
        }
        let (package, pulled) = match Package::pull(reference, &access).await {
            Ok(pulled) => pulled,
            Err(error) => return failed(&error),
        };
        if let Err(error) = package.verify(&self.policy, source) {
            return failed(&error);
        }
        let manifest = match package.parsed_manifest(source) {
            Ok(manifest) => manifest,
            Err(error) => return failed(&error),
        };
        let dir = self.dir.clone();
        let name = source.to_owned();
        let written = tokio::task::spawn_blocking(move || package.install(&dir, &name)).await;
        match written {
            Ok(Ok(path)) => {
                tracing::info!(source = %source, digest = %pulled, path = %path.display(), "plugin version pulled");
                installed.insert(source.to_owned(), digest.clone());
                Synced::Installed {
                    source: source.to_owned(),
                    system: manifest.accounting_system,
                    version: manifest.version,
                    digest: pulled,
                }
            }
            Ok(Err(error)) => failed(&error),
            Err(error) => failed(&error),
        }
    }

    /// Follows the sources every `interval` until `stop` resolves, having
    /// `registry` load each installed version at once (whether or not the
    /// directory is watched).
    pub async fn run(
        &self,
        registry: std::sync::Arc<crate::registry::Registry>,
        interval: std::time::Duration,
        stop: impl std::future::Future<Output = ()>,
    ) {
        let mut stop = std::pin::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(interval) => {}
            }
            for synced in self.sync().await {
                if let Synced::Installed {
                    system, version, ..
                } = synced
                {
                    for change in registry.reload_path(&system, Some(&version)).await {
                        if let Some(error) = change.error {
                            tracing::warn!(system = %system, version = %version, "a pulled version was refused: {error}");
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "name = \"ledgerly\"\nversion = \"0.1.0\"\naccountingSystem = \"ledgerly\"\nwit = \"preflight:plugin@0.2.0\"\nallowedOrigins = [\"https://api.ledgerly.example\"]\n";

    fn package(signature: Option<&str>) -> Package {
        Package {
            component: b"\0asm\x0d\0\x01\0 pretend component".to_vec(),
            manifest: MANIFEST.as_bytes().to_vec(),
            signature: signature.map(str::to_owned),
        }
    }

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("preflight-oci-{name}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn references_name_a_registry_and_a_repository() {
        let tagged = parse_reference("oci://127.0.0.1:5000/plugins/xero:stable").unwrap();
        assert_eq!(tagged.registry(), "127.0.0.1:5000");
        assert_eq!(tagged.repository(), "plugins/xero");
        assert_eq!(tagged.tag(), Some("stable"));
        let digest = format!("sha256:{}", "a".repeat(64));
        let pinned = parse_reference(&format!("oci://registry.example.com/xero@{digest}")).unwrap();
        assert_eq!(pinned.digest(), Some(digest.as_str()));
        for bad in [
            "https://registry.example.com/xero:1",
            "oci://xero",
            "oci://plugins/xero:1",
            "oci://registry.example.com/Xero:1",
        ] {
            assert!(parse_reference(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_image_layout_reads_back_as_written_with_one_digest() {
        let dir = temp("layout");
        let written = package(Some("ed25519:c2lnbmF0dXJl"))
            .artifact("test")
            .unwrap();
        written.write_layout(&dir).unwrap();
        let read = Artifact::read_layout(&dir).unwrap();
        assert_eq!(read.package, written.package);
        assert_eq!(
            read.digest(),
            written.digest(),
            "the same image manifest bytes"
        );
        let image: serde_json::Value = serde_json::from_slice(&read.image).unwrap();
        assert_eq!(image["config"]["mediaType"], CONFIG_MEDIA_TYPE);
        let media: Vec<&str> = image["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|layer| layer["mediaType"].as_str().unwrap())
            .collect();
        assert_eq!(
            media,
            [WASM_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, SIGNATURE_MEDIA_TYPE]
        );
        assert_eq!(image["annotations"][SYSTEM_ANNOTATION], "ledgerly");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_layout_with_an_edited_blob_is_refused() {
        let dir = temp("edited");
        let artifact = package(None).artifact("test").unwrap();
        artifact.write_layout(&dir).unwrap();
        let component = sha256(&artifact.package.component);
        let path = dir
            .join("blobs/sha256")
            .join(component.trim_start_matches("sha256:"));
        std::fs::write(&path, b"\0asm something else").unwrap();
        let error = Artifact::read_layout(&dir).unwrap_err().to_string();
        assert!(error.contains("does not match its digest"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn only_one_component_one_manifest_and_one_signature_make_an_artifact() {
        let layers = |media: &[&str]| -> Vec<(String, Vec<u8>)> {
            media
                .iter()
                .map(|m| ((*m).to_owned(), b"x".to_vec()))
                .collect()
        };
        let refused = |config: &str, media: &[&str]| {
            Package::from_layers("test", config, layers(media))
                .unwrap_err()
                .to_string()
        };
        assert!(
            refused(
                "application/vnd.oci.image.config.v1+json",
                &[WASM_MEDIA_TYPE, MANIFEST_MEDIA_TYPE]
            )
            .contains("its config is")
        );
        assert!(
            refused(CONFIG_MEDIA_TYPE, &[WASM_MEDIA_TYPE])
                .contains("no application/vnd.preflight.plugin.manifest")
        );
        assert!(
            refused(
                CONFIG_MEDIA_TYPE,
                &[WASM_MEDIA_TYPE, WASM_MEDIA_TYPE, MANIFEST_MEDIA_TYPE]
            )
            .contains("two layers")
        );
        assert!(
            refused(
                CONFIG_MEDIA_TYPE,
                &[
                    WASM_MEDIA_TYPE,
                    MANIFEST_MEDIA_TYPE,
                    "application/octet-stream"
                ]
            )
            .contains("a layer of media type")
        );
        assert!(
            Package::from_layers(
                "test",
                CONFIG_MEDIA_TYPE,
                layers(&[MANIFEST_MEDIA_TYPE, WASM_MEDIA_TYPE])
            )
            .is_ok()
        );
    }

    #[test]
    fn an_install_replaces_the_version_whole_and_leaves_no_staging_names() {
        let dir = temp("install");
        let first = package(None).install(&dir, "test").unwrap();
        assert_eq!(first, dir.join("ledgerly").join("0.1.0"));
        assert!(!first.join("plugin.sig").exists());
        let again = package(Some("ed25519:c2ln")).install(&dir, "test").unwrap();
        assert_eq!(
            std::fs::read_to_string(again.join("plugin.sig")).unwrap(),
            "ed25519:c2ln"
        );
        let names: Vec<String> = std::fs::read_dir(dir.join("ledgerly"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["0.1.0"], "no staging or replaced directory is left");
        let hostile = Package {
            manifest: MANIFEST.replace("0.1.0", "../../etc").into_bytes(),
            ..package(None)
        };
        assert!(hostile.install(&dir, "test").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
