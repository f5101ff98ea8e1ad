//! Builds the guest workspace (`guest/`) for `wasm32-wasip2` and generates
//! constants naming each component: the plugins under `guest/plugins/` with
//! their bytes embedded (the `preflight` binary bundles them), the hostile test
//! plugins under `guest/hostile/` by path.
//!
//! The guests are built by a nested cargo with its own target directory
//! (`<target>/guests`): sharing the outer one would wait on the outer build's
//! lock forever.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .expect("artifacts/ lives in the workspace root")
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

    let out_dir = target_dir.join(TARGET).join("release");
    let mut code = String::new();
    code.push_str("/// The production plugins under `guest/plugins/`, embedded.\npub mod plugins {\n    use crate::Artifact;\n");
    let plugins = members(&guest.join("plugins"));
    for name in &plugins {
        let wasm = component(&out_dir, "preflight-plugin-", name);
        // Plugin size is a figure authors watch; cargo shows build-script
        // warnings of workspace packages, so the build prints it.
        let size = fs::metadata(&wasm).map(|meta| meta.len()).unwrap_or(0);
        println!(
            "cargo:warning=plugin {name}: {} KB ({})",
            size.div_ceil(1024),
            wasm.display()
        );
        let manifest = guest
            .join("plugins")
            .join(name)
            .join("preflight-plugin.toml");
        assert!(
            manifest.is_file(),
            "plugin {name} has no manifest at {}",
            manifest.display()
        );
        writeln!(
            code,
            "    /// The `{name}` plugin.\n    pub const {const_name}: Artifact = Artifact {{ name: {name:?}, path: {path:?}, bytes: include_bytes!({path:?}), manifest: include_str!({manifest:?}) }};",
            const_name = const_name(name),
            path = wasm.display().to_string(),
            manifest = manifest.display().to_string(),
        )
        .unwrap();
    }
    let all: Vec<String> = plugins.iter().map(|name| const_name(name)).collect();
    writeln!(
        code,
        "    /// Every bundled plugin.\n    pub const ALL: &[Artifact] = &[{}];\n}}",
        all.join(", ")
    )
    .unwrap();

    code.push_str(
        "/// Plugins that misbehave on purpose (`guest/hostile/`), by path.\npub mod hostile {\n",
    );
    for name in members(&guest.join("hostile")) {
        let wasm = component(&out_dir, "preflight-hostile-", &name);
        writeln!(
            code,
            "    /// The `{name}` hostile plugin.\n    pub const {}: &str = {:?};",
            const_name(&name),
            wasm.display().to_string()
        )
        .unwrap();
        // `preflight bench` measures how fast a spinning plugin is stopped, so
        // the binary carries that one test component.
        if name == "infinite-loop" {
            writeln!(
                code,
                "    /// The `infinite-loop` hostile plugin, embedded for the benchmarks.\n    pub const INFINITE_LOOP_BYTES: &[u8] = include_bytes!({:?});",
                wasm.display().to_string()
            )
            .unwrap();
        }
    }
    code.push_str("}\n");

    code.push_str(
        "/// Test builds of production plugins at other versions, and stand-ins for later \
         versions (`guest/fixtures/`), by path.\npub mod fixtures {\n",
    );
    for name in members(&guest.join("fixtures")) {
        let wasm = component(&out_dir, "preflight-fixture-", &name);
        writeln!(
            code,
            "    /// The `{name}` fixture.\n    pub const {}: &str = {:?};",
            const_name(&name),
            wasm.display().to_string()
        )
        .unwrap();
        // `preflight bench` measures a hot swap to a new version, so the
        // binary carries the later Xero build.
        if name == "xero-next" {
            writeln!(
                code,
                "    /// The `xero-next` fixture, embedded for the benchmarks.\n    pub const XERO_NEXT_BYTES: &[u8] = include_bytes!({:?});",
                wasm.display().to_string()
            )
            .unwrap();
        }
    }
    code.push_str("}\n");

    let generated =
        PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("artifacts.rs");
    fs::write(&generated, code).expect("write generated artifacts.rs");
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
fn members(dir: &Path) -> Vec<String> {
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
fn component(out_dir: &Path, prefix: &str, name: &str) -> PathBuf {
    let path = out_dir.join(format!("{}{}.wasm", prefix, name).replace('-', "_"));
    assert!(
        path.is_file(),
        "the guest build did not produce {}",
        path.display()
    );
    path
}

fn const_name(name: &str) -> String {
    name.replace('-', "_").to_ascii_uppercase()
}
