//! Builds the guest workspace and generates one constant per production
//! plugin under `guest/plugins/`, its component and manifest embedded: the
//! `preflight` binary bundles them.

#[path = "guests.rs"]
mod guests;

use std::fmt::Write as _;
use std::fs;

fn main() {
    let built = guests::build();
    let mut code = String::new();
    let plugins = guests::members(&built.dir.join("plugins"));
    for name in &plugins {
        let wasm = guests::component(&built.out_dir, "preflight-plugin-", name);
        // Plugin size is a figure authors watch; cargo shows build-script
        // warnings of workspace packages, so the build prints it.
        let size = fs::metadata(&wasm).map(|meta| meta.len()).unwrap_or(0);
        println!(
            "cargo:warning=plugin {name}: {} KB ({})",
            size.div_ceil(1024),
            wasm.display()
        );
        let manifest = built
            .dir
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
            "/// The `{name}` plugin.\npub const {const_name}: Bundled = Bundled {{ name: {name:?}, path: {path:?}, bytes: include_bytes!({path:?}), manifest: include_str!({manifest:?}) }};",
            const_name = guests::const_name(name),
            path = wasm.display().to_string(),
            manifest = manifest.display().to_string(),
        )
        .unwrap();
    }
    let all: Vec<String> = plugins
        .iter()
        .map(|name| guests::const_name(name))
        .collect();
    writeln!(
        code,
        "/// Every bundled plugin, by name.\npub const ALL: &[Bundled] = &[{}];",
        all.join(", ")
    )
    .unwrap();
    fs::write(guests::generated("bundled.rs"), code).expect("write generated bundled.rs");
}
