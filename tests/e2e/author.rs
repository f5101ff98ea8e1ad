//! The plugin author's path, as the README's "Writing a plugin" walks it:
//! `preflight new` into a directory outside this repository, `cargo test`
//! of the rules natively, the component built, its cassettes run offline,
//! a rule broken and caught, and the component benchmarked.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PREFLIGHT: &str = env!("CARGO_BIN_EXE_preflight");

/// A directory outside the repository (the system's temp directory).
fn outside(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("preflight-author-{}-{name}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    assert!(
        !dir.starts_with(env!("CARGO_MANIFEST_DIR").trim_end_matches("/cli")),
        "{} is inside the repository",
        dir.display()
    );
    dir
}

fn run(program: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        // The project's own target directory, whatever the tests run with.
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap_or_else(|error| panic!("{program} {args:?}: {error}"))
}

fn cargo(dir: &Path, args: &[&str]) -> Output {
    run(
        &std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()),
        dir,
        args,
    )
}

fn text(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn a_new_plugin_builds_tests_and_benches_outside_the_repository() {
    let root = outside("ledgerly");
    let output = run(
        PREFLIGHT,
        &root,
        &["new", "ledgerly", "--display-name", "Ledgerly"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let project = root.join("ledgerly");
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "preflight-plugin.toml",
        "settings.schema.json",
        "src/lib.rs",
        "cassettes/passing.json",
        "cassettes/journal-missing.json",
        "vendor/preflight-sdk/Cargo.toml",
        "vendor/preflight-sdk/wit/plugin.wit",
    ] {
        assert!(project.join(file).is_file(), "{file} was not written");
    }
    // A second `new` into the same place is refused, and writes nothing.
    let again = run(PREFLIGHT, &root, &["new", "ledgerly"]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(text(&again).contains("not empty"), "{}", text(&again));

    // The rules, natively: plain `cargo test`.
    let tested = cargo(&project, &["test"]);
    assert!(tested.status.success(), "{}", text(&tested));
    assert!(
        text(&tested).contains("test result: ok. 5 passed"),
        "{}",
        text(&tested)
    );

    // The component, and its cassettes offline.
    let build = |project: &Path| {
        let built = cargo(
            project,
            &["build", "--release", "--target", "wasm32-wasip2"],
        );
        assert!(built.status.success(), "{}", text(&built));
    };
    build(&project);
    let component = "target/wasm32-wasip2/release/ledgerly.wasm";
    let cassettes = [
        "test",
        "--plugin",
        component,
        "--manifest",
        "preflight-plugin.toml",
        "cassettes/",
    ];
    let passed = run(PREFLIGHT, &project, &cassettes);
    assert_eq!(passed.status.code(), Some(0), "{}", text(&passed));
    assert!(
        text(&passed).contains("2 cassette(s): 2 passed, 0 failed"),
        "{}",
        text(&passed)
    );

    // The benchmark of the author's own component, beside the bundled one.
    let benched = run(
        PREFLIGHT,
        &project,
        &[
            "bench",
            "--quick",
            "--json",
            "--plugin",
            component,
            "--manifest",
            "preflight-plugin.toml",
            "--cassette",
            "cassettes/passing.json",
        ],
    );
    assert_eq!(benched.status.code(), Some(0), "{}", text(&benched));
    let figures: Vec<serde_json::Value> =
        serde_json::from_slice(&benched.stdout).expect("bench --json prints figures");
    let figure = |name: &str| {
        figures
            .iter()
            .find(|figure| figure["name"].as_str().unwrap().starts_with(name))
            .unwrap_or_else(|| panic!("no figure {name}: {figures:?}"))
    };
    let size = figure("ledgerly.wasm: size")["median"].as_f64().unwrap();
    let on_disk = std::fs::metadata(project.join(component)).unwrap().len() as f64 / 1024.0;
    assert!(
        (size - on_disk).abs() < 0.01,
        "{size} KB, {on_disk} KB on disk"
    );
    let requests = figure("ledgerly.wasm: requests per validation");
    assert_eq!(requests["median"], 2.0, "the cassette's two exchanges");
    assert_eq!(requests["target"], 10.0, "the manifest's budget");
    let memory = figure("ledgerly.wasm: largest linear memory");
    assert_eq!(memory["target"], 16.0, "the manifest's memory limit");
    assert!(memory["median"].as_f64().unwrap() > 0.0);
    figure("ledgerly.wasm / bundled xero: instantiate + validate offline");

    // A rule broken: the journal is asked for at the wrong path. The native
    // tests and the cassettes both catch it, the cassettes with the diff and
    // the request that was not on the tape.
    let lib = project.join("src/lib.rs");
    let source = std::fs::read_to_string(&lib).unwrap();
    assert!(source.contains("\"journals/{journal}\""));
    std::fs::write(
        &lib,
        source.replace("\"journals/{journal}\"", "\"journal/{journal}\""),
    )
    .unwrap();
    let tested = cargo(&project, &["test"]);
    assert!(!tested.status.success(), "{}", text(&tested));
    assert!(
        text(&tested).contains("a_ready_company_passes_both_rules ... FAILED"),
        "{}",
        text(&tested)
    );
    build(&project);
    let failed = run(PREFLIGHT, &project, &cassettes);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    let report = text(&failed);
    for line in [
        "FAIL      cassettes/passing.json",
        "verdict: expected proceed, got retry (accounting_system_unreachable)",
        "check ledgerly.journal: expected passed, got unverified",
        "not on the tape (answered unreachable): GET https://api.ledgerly.example/journal/GEN",
        "2 cassette(s): 0 passed, 2 failed",
    ] {
        assert!(report.contains(line), "{line}\n{report}");
    }
    let _ = std::fs::remove_dir_all(&root);
}
