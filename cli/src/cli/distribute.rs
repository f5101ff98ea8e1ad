//! `preflight plugins package|push|pull`: a plugin version as one OCI
//! artifact (component, manifest, signature; `preflight::oci` describes the
//! layout), pushed to and pulled from an OCI registry.

use std::path::{Path, PathBuf};

use clap::Args;
use preflight::input::{self, Input};
use preflight::oci::{Access, Artifact, Package};
use preflight::signature::{PublicKey, SecretKey, SignaturePolicy, Signer};

use super::{EXIT_BAD_INPUT, EXIT_FAIL, EXIT_INTERNAL, EXIT_OK};

/// How to reach the registry: `--username`, `--password-env`, `--ca-file`.
#[derive(Debug, Args)]
pub struct RegistryFlags {
    /// The user for the registry's basic authentication.
    #[arg(long, value_name = "NAME")]
    username: Option<String>,
    /// The environment variable holding that user's password.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "PREFLIGHT_REGISTRY_PASSWORD",
        requires = "username"
    )]
    password_env: String,
    /// A PEM file of the CA that signs the registry's TLS certificate, when
    /// it is not one the system trusts.
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
}

/// Arguments of `preflight plugins package`.
#[derive(Debug, Args)]
pub struct PackageArgs {
    /// The component (`.wasm`).
    #[arg(value_name = "COMPONENT")]
    component: PathBuf,
    /// Its manifest [default: `<COMPONENT>.toml` beside it].
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// Sign with this secret key (`plugins keygen`); without it, a
    /// `<COMPONENT>.sig` beside the component goes in, if there is one.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// The directory to write the artifact to, as an OCI image layout (it
    /// must not exist, or be empty).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// Arguments of `preflight plugins push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The artifact `plugins package` wrote (an OCI image layout).
    #[arg(value_name = "DIR")]
    artifact: PathBuf,
    /// Where to: `oci://REGISTRY/REPOSITORY:TAG`.
    #[arg(value_name = "REFERENCE")]
    reference: String,
    #[command(flatten)]
    registry: RegistryFlags,
}

/// Arguments of `preflight plugins pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// What: `oci://REGISTRY/REPOSITORY:TAG` or `…@sha256:DIGEST`.
    #[arg(value_name = "REFERENCE")]
    reference: String,
    /// The plugin directory to install it in, as
    /// `<DIR>/<system>/<version>/plugin.wasm|.toml|.sig` (`plugins.dir`).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// A public key whose signatures are trusted (repeatable); the
    /// signature is checked before anything is written.
    #[arg(long = "trusted-key", value_name = "KEY")]
    trusted: Vec<String>,
    /// Install an artifact without a signature (one with a signature that
    /// does not verify: never).
    #[arg(long)]
    allow_unsigned: bool,
    #[command(flatten)]
    registry: RegistryFlags,
}

impl RegistryFlags {
    fn access(&self) -> Result<Access, String> {
        let basic = match &self.username {
            Some(user) => {
                let password = std::env::var(&self.password_env).map_err(|_| {
                    format!(
                        "--username {user}: the environment variable {} (--password-env) is not set",
                        self.password_env
                    )
                })?;
                Some((
                    user.clone(),
                    preflight_runtime::config::Secret::new(password),
                ))
            }
            None => None,
        };
        let ca_pem = self
            .ca_file
            .as_ref()
            .map(|path| {
                input::read(path, Input::Key)
                    .map_err(|error| format!("{}: {error}", path.display()))
            })
            .transpose()?;
        Ok(Access { basic, ca_pem })
    }
}

/// The reference and how to reach its registry; an error is printed.
fn target(
    reference: &str,
    flags: &RegistryFlags,
) -> Result<(preflight::oci::Reference, Access), u8> {
    let reference = preflight::oci::parse_reference(reference).map_err(|error| {
        eprintln!("error: {error}");
        EXIT_BAD_INPUT
    })?;
    let access = flags.access().map_err(|error| {
        eprintln!("error: {error}");
        EXIT_BAD_INPUT
    })?;
    Ok((reference, access))
}

/// Runs `preflight plugins package`.
pub fn package(args: &PackageArgs) -> u8 {
    let manifest_path = args
        .manifest
        .clone()
        .unwrap_or_else(|| args.component.with_extension("toml"));
    let read = |path: &Path, kind| {
        input::read(path, kind).map_err(|error| {
            eprintln!("error: {}: {error}", path.display());
            EXIT_BAD_INPUT
        })
    };
    let (component, manifest) = match (
        read(&args.component, Input::Component),
        read(&manifest_path, Input::Manifest),
    ) {
        (Ok(component), Ok(manifest)) => (component, manifest),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    let signature = match &args.key {
        Some(key_path) => {
            let key = input::read_text(key_path, Input::Key)
                .map_err(|error| error.to_string())
                .and_then(|text| SecretKey::parse(&text).map_err(|error| error.to_string()));
            match key {
                Ok(key) => {
                    Some(preflight::signature::sign(&key, &component, &manifest).to_string())
                }
                Err(error) => {
                    eprintln!("error: {}: {error}", key_path.display());
                    return EXIT_BAD_INPUT;
                }
            }
        }
        None => {
            let beside = args.component.with_extension("sig");
            match input::read_text(&beside, Input::Signature) {
                Ok(text) => Some(text.trim().to_owned()),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
                Err(error) => {
                    eprintln!("error: {}: {error}", beside.display());
                    return EXIT_BAD_INPUT;
                }
            }
        }
    };
    let package = Package {
        component,
        manifest,
        signature,
    };
    if let Some(text) = &package.signature
        && let Err(error) = text.parse::<preflight::signature::Signature>()
    {
        eprintln!(
            "error: {}: {error}",
            args.component.with_extension("sig").display()
        );
        return EXIT_BAD_INPUT;
    }
    if let Err(problem) = super::empty_or_absent(&args.out) {
        eprintln!("error: {}: {problem}", args.out.display());
        return EXIT_BAD_INPUT;
    }
    let manifest = match package.parsed_manifest(&manifest_path.display().to_string()) {
        Ok(manifest) => manifest,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_BAD_INPUT;
        }
    };
    let artifact = match package.artifact(&manifest_path.display().to_string()) {
        Ok(artifact) => artifact,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_BAD_INPUT;
        }
    };
    if let Err(error) = artifact.write_layout(&args.out) {
        eprintln!("error: {error}");
        return EXIT_INTERNAL;
    }
    println!(
        "{} {} ({}) packaged in {}: {}, {}",
        manifest.name,
        manifest.version,
        manifest.accounting_system,
        args.out.display(),
        artifact.digest(),
        if package.signature.is_some() {
            "signed"
        } else {
            "unsigned"
        }
    );
    EXIT_OK
}

/// Runs `preflight plugins push`.
pub async fn push(args: &PushArgs) -> u8 {
    let (reference, access) = match target(&args.reference, &args.registry) {
        Ok(target) => target,
        Err(code) => return code,
    };
    let artifact = match Artifact::read_layout(&args.artifact) {
        Ok(artifact) => artifact,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_BAD_INPUT;
        }
    };
    match artifact.push(&reference, &access).await {
        Ok(digest) => {
            println!("pushed {} ({digest})", args.reference);
            EXIT_OK
        }
        Err(error) => {
            eprintln!("error: {error}");
            EXIT_FAIL
        }
    }
}

/// Runs `preflight plugins pull`.
pub async fn pull(args: &PullArgs) -> u8 {
    let mut trusted = Vec::new();
    for text in &args.trusted {
        match text.parse::<PublicKey>() {
            Ok(key) => trusted.push(key),
            Err(error) => {
                eprintln!("error: --trusted-key {text}: {error}");
                return EXIT_BAD_INPUT;
            }
        }
    }
    let policy = SignaturePolicy {
        trusted,
        allow_unsigned: args.allow_unsigned,
    };
    let (reference, access) = match target(&args.reference, &args.registry) {
        Ok(target) => target,
        Err(code) => return code,
    };
    let (package, digest) = match Package::pull(&reference, &access).await {
        Ok(pulled) => pulled,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_FAIL;
        }
    };
    let signer = match package.verify(&policy, &args.reference) {
        Ok(signer) => signer,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_FAIL;
        }
    };
    match package.install(&args.out, &args.reference) {
        Ok(dir) => {
            let signed = match signer {
                Signer::Key(id) => format!("signed by key {id}"),
                Signer::Unsigned => "unsigned".to_owned(),
            };
            println!(
                "pulled {} ({digest}, {signed}) into {}",
                args.reference,
                dir.display()
            );
            EXIT_OK
        }
        Err(error) => {
            eprintln!("error: {error}");
            EXIT_INTERNAL
        }
    }
}
