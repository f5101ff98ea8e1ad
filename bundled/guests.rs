//! Builds the guest workspace (`guest/`) for `wasm32-wasip2`: shared by the
//! build scripts of `preflight-bundled` (the production plugins, embedded)
//! and `preflight-artifacts` (the test components, by path). Both run the
//! same nested cargo on the same target directory; the second finds it
//! up to date.
//!
//! The guests are built by a nested cargo with its own target directory
//! (`<target>/guests`): sharing the outer one would wait on the outer build's
//! lock forever.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const TARGET: &str = "wasm32-wasip2";

/// The guest workspace, built: its directory and where the components are.
pub struct Guests {
    /// `guest/`.
    pub dir: PathBuf,
    /// `<target>/guests/wasm32-wasip2/release`.
    pub out_dir: PathBuf,
}

/// Builds the guest workspace (once per outer build of this package) and
/// tells cargo what to watch.
pub fn build() -> Guests {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .expect("the crate lives in the workspace root")
        .to_path_buf();
    let guest = root.join("guest");
    for watched in [
        "sdk",
        "plugins",
        "hostile",
        "fixtures",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", guest.join(watched).display());
    }
    println!("cargo:rerun-if-changed={}", root.join("wit").display());

    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("guests");
    build_guests(&guest, &target_dir);
    Guests {
        dir: guest,
        out_dir: target_dir.join(TARGET).join("release"),
    }
}

/// Where the generated constants go.
pub fn generated(file: &str) -> PathBuf {
    PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join(file)
}

/// Runs `cargo build --release --target wasm32-wasip2` on the guest workspace.
fn build_guests(guest: &Path, target_dir: &Path) {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .arg("build")
        .arg("--release")
        .arg("--locked")
        .arg("--target")
        .arg(TARGET)
        .arg("--manifest-path")
        .arg(guest.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    // The outer build's settings are for the host: flags, wrappers (clippy's
    // driver) and coverage instrumentation must not leak into the guests.
    for variable in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_PROFILE_RELEASE_DEBUG",
        "LLVM_PROFILE_FILE",
    ] {
        command.env_remove(variable);
    }
    let status = command
        .status()
        .unwrap_or_else(|error| panic!("could not run cargo for the guests: {error}"));
    if !status.success() {
        panic!(
            "building the guest components failed ({status}); is the {TARGET} target installed? \
             (`rustup target add {TARGET}`)"
        );
    }
}

/// The package directories directly under `dir`, sorted.
pub fn members(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("read {}: {error}", dir.display()))
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("Cargo.toml").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The component file of package `<prefix><name>`.
pub fn component(out_dir: &Path, prefix: &str, name: &str) -> PathBuf {
    let path = out_dir.join(format!("{}{}.wasm", prefix, name).replace('-', "_"));
    assert!(
        path.is_file(),
        "the guest build did not produce {}",
        path.display()
    );
    path
}

pub fn const_name(name: &str) -> String {
    name.replace('-', "_").to_ascii_uppercase()
}
