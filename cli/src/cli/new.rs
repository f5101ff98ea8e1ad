//! `preflight new` (a plugin project, outside any checkout of preflight) and
//! `preflight sdk unpack` (the SDK and WIT this binary speaks, as files).
//!
//! Both write only what this binary carries: the project templates in
//! `cli/templates/`, the Rust SDK's sources and the contract's WIT. The
//! project's other dependencies come from crates.io, at the versions the
//! bundled plugins are built and tested with (the guest workspace's lock
//! file goes with the project).

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use preflight_runtime::bindings::LATEST;

use super::{EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK};

/// The languages `preflight new` writes a project in: those the host runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// Rust, with the preflight SDK (`preflight_sdk::Validator`).
    Rust,
}

/// Arguments of `preflight new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The plugin's name: lower-case letters, digits and dashes, starting
    /// with a letter (also the crate's name and the rule ids' prefix).
    #[arg(value_name = "NAME")]
    name: String,
    /// The language of the project.
    #[arg(long, value_enum, default_value = "rust")]
    lang: Lang,
    /// The accounting system id the plugin validates (as companies name it
    /// in their configuration); NAME when absent.
    #[arg(long, value_name = "ID")]
    system: Option<String>,
    /// The accounting system's name as finance users know it, for messages;
    /// the system id, capitalised, when absent.
    #[arg(long, value_name = "NAME")]
    display_name: Option<String>,
    /// The directory to create; ./NAME when absent. It must not exist, or be
    /// empty.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Arguments of `preflight sdk`.
#[derive(Debug, Args)]
pub struct SdkArgs {
    #[command(subcommand)]
    command: SdkCommand,
}

#[derive(Debug, Subcommand)]
enum SdkCommand {
    /// Write the Rust SDK (preflight-sdk, with the WIT it binds) into DIR,
    /// replacing what an earlier unpack wrote there: a path dependency for
    /// plugin crates outside this repository.
    Unpack {
        /// The directory, e.g. vendor/preflight-sdk.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

/// The SDK's sources, as this binary was built with them.
const SDK_SOURCES: &[(&str, &str)] = &[
    ("src/lib.rs", include_str!("../../../guest/sdk/src/lib.rs")),
    (
        "src/http.rs",
        include_str!("../../../guest/sdk/src/http.rs"),
    ),
    ("src/log.rs", include_str!("../../../guest/sdk/src/log.rs")),
    (
        "src/plan.rs",
        include_str!("../../../guest/sdk/src/plan.rs"),
    ),
    ("src/raw.rs", include_str!("../../../guest/sdk/src/raw.rs")),
    (
        "src/report.rs",
        include_str!("../../../guest/sdk/src/report.rs"),
    ),
    (
        "src/settings.rs",
        include_str!("../../../guest/sdk/src/settings.rs"),
    ),
    (
        "src/testing.rs",
        include_str!("../../../guest/sdk/src/testing.rs"),
    ),
];

/// The guest workspace's manifest: the SDK's dependency versions.
const GUEST_WORKSPACE: &str = include_str!("../../../guest/Cargo.toml");
/// The guest workspace's lock file: the versions the bundled plugins are
/// built and tested with, which a new project starts from.
const GUEST_LOCK: &str = include_str!("../../../guest/Cargo.lock");

/// Where the SDK finds the WIT, in this repository and once unpacked.
const WIT_IN_REPOSITORY: &str = "path: \"../../wit\"";
const WIT_UNPACKED: &str = "path: \"wit\"";

/// The Rust project's files, with `{{placeholders}}`.
const RUST_TEMPLATE: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../../templates/rust/Cargo.toml"),
    ),
    (".gitignore", include_str!("../../templates/rust/gitignore")),
    ("README.md", include_str!("../../templates/rust/README.md")),
    (
        "preflight-plugin.toml",
        include_str!("../../templates/rust/preflight-plugin.toml"),
    ),
    (
        "settings.schema.json",
        include_str!("../../templates/rust/settings.schema.json"),
    ),
    (
        "src/lib.rs",
        include_str!("../../templates/rust/src/lib.rs"),
    ),
    (
        "cassettes/passing.json",
        include_str!("../../templates/rust/cassettes/passing.json"),
    ),
    (
        "cassettes/journal-missing.json",
        include_str!("../../templates/rust/cassettes/journal-missing.json"),
    ),
];

/// Where a Rust project keeps the unpacked SDK.
const VENDORED_SDK: &str = "vendor/preflight-sdk";

/// Runs `preflight new`.
pub fn run_new(args: &NewArgs) -> u8 {
    if let Err(problem) = check_name(&args.name, "NAME") {
        eprintln!("error: {problem}");
        return EXIT_BAD_INPUT;
    }
    let system = args.system.clone().unwrap_or_else(|| args.name.clone());
    if let Err(problem) = check_name(&system, "--system") {
        eprintln!("error: {problem}");
        return EXIT_BAD_INPUT;
    }
    let display = args
        .display_name
        .clone()
        .unwrap_or_else(|| capitalised(&system));
    if display.trim().is_empty() || display.contains(['"', '\\', '{', '}', '\n']) {
        eprintln!(
            "error: --display-name '{display}': give a name without quotes, backslashes, braces or line breaks"
        );
        return EXIT_BAD_INPUT;
    }
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    if let Err(problem) = super::empty_or_absent(&dir) {
        eprintln!("error: {}: {problem}", dir.display());
        return EXIT_BAD_INPUT;
    }
    let Lang::Rust = args.lang;
    let values = [
        ("{{name}}", args.name.as_str()),
        ("{{crate}}", &args.name.replace('-', "_")),
        ("{{system}}", &system),
        ("{{display}}", &display),
        (
            "{{contract}}",
            &format!("preflight:plugin@{}", LATEST.as_str()),
        ),
    ];
    let written = (|| -> std::io::Result<()> {
        for (path, template) in RUST_TEMPLATE {
            write(&dir.join(path), &fill(template, &values))?;
        }
        write(&dir.join("Cargo.lock"), GUEST_LOCK)?;
        unpack_sdk(&dir.join(VENDORED_SDK))
    })();
    if let Err(error) = written {
        eprintln!("error: {}: {error}", dir.display());
        return EXIT_INTERNAL;
    }
    let crate_file = args.name.replace('-', "_");
    println!(
        "Created the {display} plugin '{}' in {}.",
        args.name,
        dir.display()
    );
    println!();
    println!("  cd {}", dir.display());
    println!("  cargo test");
    println!("  cargo build --release --target wasm32-wasip2");
    println!(
        "  preflight test --plugin target/wasm32-wasip2/release/{crate_file}.wasm --manifest preflight-plugin.toml cassettes/"
    );
    EXIT_OK
}

/// Runs `preflight sdk`.
pub fn run_sdk(args: &SdkArgs) -> u8 {
    let SdkCommand::Unpack { dir } = &args.command;
    match unpack_sdk(dir) {
        Ok(()) => {
            println!(
                "Unpacked preflight-sdk {} (contract preflight:plugin@{}) into {}.",
                env!("CARGO_PKG_VERSION"),
                LATEST.as_str(),
                dir.display()
            );
            EXIT_OK
        }
        Err(error) => {
            eprintln!("error: {}: {error}", dir.display());
            EXIT_INTERNAL
        }
    }
}

/// Writes the SDK crate into `dir`: its sources, a manifest of its own
/// (no workspace to inherit from) and the WIT it binds.
fn unpack_sdk(dir: &Path) -> std::io::Result<()> {
    for (path, source) in SDK_SOURCES {
        let source = if *path == "src/lib.rs" {
            source.replacen(WIT_IN_REPOSITORY, WIT_UNPACKED, 1)
        } else {
            (*source).to_owned()
        };
        write(&dir.join(path), &source)?;
    }
    write(&dir.join("wit/plugin.wit"), LATEST.wit())?;
    write(&dir.join("Cargo.toml"), &sdk_manifest())
}

/// The unpacked SDK's manifest, its dependencies as the guest workspace
/// pins them (their lines of `[workspace.dependencies]`, as they are).
fn sdk_manifest() -> String {
    let pinned = GUEST_WORKSPACE
        .split_once("[workspace.dependencies]")
        .expect("guest/Cargo.toml has [workspace.dependencies]")
        .1;
    let mut manifest = format!(
        "[package]\n\
         name = \"preflight-sdk\"\n\
         description = \"Write pre-export validation plugins for preflight (unpacked by preflight {version}).\"\n\
         version = \"{version}\"\n\
         edition = \"2024\"\n\
         rust-version = \"1.95\"\n\
         license = \"Apache-2.0\"\n\
         publish = false\n\n\
         [dependencies]\n",
        version = env!("CARGO_PKG_VERSION"),
    );
    for name in ["serde", "serde_json", "serde_path_to_error", "wit-bindgen"] {
        let line = pinned
            .lines()
            .find(|line| line.starts_with(&format!("{name} = ")))
            .unwrap_or_else(|| panic!("guest/Cargo.toml pins {name}"));
        manifest.push_str(line);
        manifest.push('\n');
    }
    manifest
}

/// `template` with every placeholder of `values` filled in.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |text, (key, value)| {
            text.replace(key, value)
        })
}

fn write(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text)
}

/// A plugin or system name: `[a-z][a-z0-9-]*`, at most 40 characters, no
/// dash at the end or twice in a row.
fn check_name(name: &str, what: &str) -> Result<(), String> {
    let shaped = name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--");
    if shaped {
        Ok(())
    } else {
        Err(format!(
            "{what} '{name}': use lower-case letters, digits and single dashes, starting with a letter (at most 40)"
        ))
    }
}

/// `acme-books` as `Acme books`.
fn capitalised(system: &str) -> String {
    let spaced = system.replace('-', " ");
    let mut chars = spaced.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_ascii_uppercase().to_string() + chars.as_str()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdk_finds_its_wit_once_unpacked() {
        let lib = SDK_SOURCES
            .iter()
            .find(|(path, _)| *path == "src/lib.rs")
            .unwrap()
            .1;
        assert_eq!(lib.matches(WIT_IN_REPOSITORY).count(), 1);
    }

    #[test]
    fn every_sdk_module_is_carried() {
        let lib = SDK_SOURCES[0].1;
        let declared = lib
            .lines()
            .filter(|line| line.starts_with("pub mod ") && line.ends_with(';'));
        for line in declared {
            let module = line.trim_start_matches("pub mod ").trim_end_matches(';');
            assert!(
                SDK_SOURCES
                    .iter()
                    .any(|(path, _)| *path == format!("src/{module}.rs")),
                "src/{module}.rs is not carried by `preflight sdk unpack`"
            );
        }
    }

    #[test]
    fn the_sdk_manifest_pins_the_guest_workspace_versions() {
        let manifest: toml::Table = sdk_manifest().parse().unwrap();
        let dependencies = manifest["dependencies"].as_table().unwrap();
        assert_eq!(dependencies.len(), 4);
        let workspace: toml::Table = GUEST_WORKSPACE.parse().unwrap();
        assert_eq!(
            dependencies["wit-bindgen"],
            workspace["workspace"]["dependencies"]["wit-bindgen"]
        );
    }

    #[test]
    fn names_are_refused_unless_crate_and_rule_id_safe() {
        for good in ["ledgerly", "acme-books", "e2"] {
            assert_eq!(check_name(good, "NAME"), Ok(()), "{good}");
        }
        for bad in [
            "",
            "Ledgerly",
            "2books",
            "acme_books",
            "acme-",
            "a--b",
            "a.b",
        ] {
            assert!(check_name(bad, "NAME").is_err(), "{bad}");
        }
        assert_eq!(capitalised("acme-books"), "Acme books");
    }

    #[test]
    fn every_placeholder_of_the_template_is_filled() {
        let values = [
            ("{{name}}", "n"),
            ("{{crate}}", "c"),
            ("{{system}}", "s"),
            ("{{display}}", "d"),
            ("{{contract}}", "k"),
        ];
        for (path, template) in RUST_TEMPLATE {
            let filled = fill(template, &values);
            assert!(!filled.contains("{{"), "{path} keeps a placeholder");
        }
    }
}
