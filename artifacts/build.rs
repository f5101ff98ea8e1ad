//! Builds the guest workspace and generates constants naming the test
//! components by path: the hostile plugins under `guest/hostile/` and the
//! fixtures under `guest/fixtures/`. Two are embedded as well, because
//! `preflight bench` carries them.

#[path = "../bundled/guests.rs"]
mod guests;

use std::fmt::Write as _;
use std::fs;

/// Components the benchmarks embed: (kind, name, constant).
const EMBEDDED: &[(&str, &str, &str)] = &[
    // How fast a spinning plugin is stopped.
    ("hostile", "infinite-loop", "INFINITE_LOOP_BYTES"),
    // A hot swap to a new version.
    ("fixture", "xero-next", "XERO_NEXT_BYTES"),
    // Many validations posting the largest body they may.
    ("hostile", "big-request", "BIG_REQUEST_BYTES"),
];

fn main() {
    let built = guests::build();
    let mut code = String::new();
    for (module, dir, prefix, doc) in [
        (
            "hostile",
            "hostile",
            "preflight-hostile-",
            "Plugins that misbehave on purpose (`guest/hostile/`), by path.",
        ),
        (
            "fixtures",
            "fixtures",
            "preflight-fixture-",
            "Test builds of production plugins at other versions, stand-ins for later versions \
             and plugins of earlier contract versions (`guest/fixtures/`), by path.",
        ),
    ] {
        writeln!(code, "/// {doc}\npub mod {module} {{").unwrap();
        for name in guests::members(&built.dir.join(dir)) {
            let wasm = guests::component(&built.out_dir, prefix, &name);
            let path = wasm.display().to_string();
            writeln!(
                code,
                "    /// The `{name}` component.\n    pub const {}: &str = {path:?};",
                guests::const_name(&name),
            )
            .unwrap();
            let kind = if module == "hostile" {
                "hostile"
            } else {
                "fixture"
            };
            for (_, _, constant) in EMBEDDED
                .iter()
                .filter(|(k, embedded, _)| *k == kind && *embedded == name)
            {
                writeln!(
                    code,
                    "    /// The `{name}` component, embedded for the benchmarks.\n    pub const {constant}: &[u8] = include_bytes!({path:?});",
                )
                .unwrap();
            }
        }
        code.push_str("}\n");
    }
    fs::write(guests::generated("artifacts.rs"), code).expect("write generated artifacts.rs");
}
