//! The plugin author's path, as `docs/writing-a-plugin.md` walks it:
//! `preflight new` into a directory outside this repository, `cargo test`
//! of the rules natively, the component built, its cassettes run offline,
//! the component benchmarked, packaged, signed and pushed to an OCI registry
//! (the real one `scripts/oci-registry` runs, over TLS with basic auth), a
//! running `serve` following its tag and validating a job with it, a new
//! version pushed to the tag and swapped in, and a rule broken and caught.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use preflight_emulators::pleo::{PleoConfig, PleoEmulator, SeedJob};

use crate::serve::{OperatorToml, ready, spawn_serve};
use crate::support;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_plugin_is_built_tested_benched_shipped_through_a_registry_and_served() {
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

    if let Some(registry) = support::oci_registry() {
        ship_through_the_registry(&root, &project, &registry).await;
    }

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

/// The Ledgerly API the scaffolded plugin validates against: a real HTTP
/// server on loopback that knows the company and no journal at all.
async fn ledgerly_api() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use axum::routing::get;
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&calls);
    let app = axum::Router::new()
        .route(
            "/company",
            get(|| async { axum::Json(serde_json::json!({"name": "Demo Ltd"})) }),
        )
        .route(
            "/journals/{code}",
            get(|| async {
                (
                    axum::http::StatusCode::NOT_FOUND,
                    axum::Json(serde_json::json!({"error": "no such journal"})),
                )
            }),
        )
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let counted = std::sync::Arc::clone(&counted);
                async move {
                    counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    next.run(request).await
                }
            },
        ));
    let listener = tokio::net::TcpListener::bind(support::loopback())
        .await
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, calls)
}

/// Builds the project at `version` (its crate and its manifest).
fn build_version(project: &Path, version: &str) {
    for file in ["Cargo.toml", "preflight-plugin.toml"] {
        let path = project.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let current = text
            .lines()
            .find(|line| line.starts_with("version = "))
            .unwrap()
            .to_owned();
        std::fs::write(
            &path,
            text.replacen(&current, &format!("version = \"{version}\""), 1),
        )
        .unwrap();
    }
    let built = cargo(
        project,
        &["build", "--release", "--target", "wasm32-wasip2"],
    );
    assert!(built.status.success(), "{}", text(&built));
}

/// Packages the component as built now, signed with `key`, and pushes it
/// to `reference`.
fn package_and_push(
    project: &Path,
    key: &Path,
    out: &Path,
    reference: &str,
    registry: &support::OciRegistry,
) -> String {
    let packaged = run(
        PREFLIGHT,
        project,
        &[
            "plugins",
            "package",
            "target/wasm32-wasip2/release/ledgerly.wasm",
            "--manifest",
            "preflight-plugin.toml",
            "--key",
            key.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(packaged.status.code(), Some(0), "{}", text(&packaged));
    assert!(text(&packaged).contains("signed"), "{}", text(&packaged));
    let digest = text(&packaged)
        .split_whitespace()
        .find(|word| word.starts_with("sha256:"))
        .expect("package prints the digest")
        .trim_end_matches(',')
        .to_owned();
    let pushed = Command::new(PREFLIGHT)
        .args(["plugins", "push", out.to_str().unwrap(), reference])
        .args(["--username", &registry.user, "--ca-file", &registry.ca])
        .env("PREFLIGHT_REGISTRY_PASSWORD", &registry.password)
        .output()
        .unwrap();
    assert_eq!(pushed.status.code(), Some(0), "{}", text(&pushed));
    assert!(
        text(&pushed).contains(&digest),
        "the registry holds what was packaged"
    );
    digest
}

/// Signs, packages and pushes the component; a `serve` that follows the tag
/// pulls it, validates a job with it, and swaps in the next version pushed
/// to the same tag.
async fn ship_through_the_registry(root: &Path, project: &Path, registry: &support::OciRegistry) {
    let key = root.join("signing.key");
    let keygen = run(
        PREFLIGHT,
        root,
        &["plugins", "keygen", "--secret-key", key.to_str().unwrap()],
    );
    assert_eq!(keygen.status.code(), Some(0), "{}", text(&keygen));
    let public = String::from_utf8(keygen.stdout).unwrap().trim().to_owned();
    let repository = format!("e2e-{}/ledgerly", uuid::Uuid::new_v4().simple());
    let reference = format!("oci://{}/{repository}:stable", registry.address);
    let digest = package_and_push(
        project,
        &key,
        &root.join("artifact-0.1.0"),
        &reference,
        registry,
    );

    // A pull without the author's key is refused before anything is
    // written; with it, the version lands in the directory's layout.
    let pull = |out: &Path, trusted: &[&str]| {
        let mut command = Command::new(PREFLIGHT);
        command
            .args([
                "plugins",
                "pull",
                &reference,
                "--out",
                out.to_str().unwrap(),
            ])
            .args(["--username", &registry.user, "--ca-file", &registry.ca])
            .env("PREFLIGHT_REGISTRY_PASSWORD", &registry.password);
        for key in trusted {
            command.args(["--trusted-key", key]);
        }
        command.output().unwrap()
    };
    let untrusted = root.join("untrusted");
    let refused = pull(&untrusted, &[]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        text(&refused).contains("no trusted keys"),
        "{}",
        text(&refused)
    );
    assert!(!untrusted.join("ledgerly").exists(), "nothing written");
    let pulled_dir = root.join("pulled");
    let pulled = pull(&pulled_dir, &[&public]);
    assert_eq!(pulled.status.code(), Some(0), "{}", text(&pulled));
    assert!(text(&pulled).contains(&digest), "{}", text(&pulled));
    // Pinned by digest, the same artifact.
    let pinned = Command::new(PREFLIGHT)
        .args(["plugins", "pull"])
        .arg(format!("oci://{}/{repository}@{digest}", registry.address))
        .args([
            "--out",
            root.join("pinned").to_str().unwrap(),
            "--trusted-key",
            &public,
        ])
        .args(["--username", &registry.user, "--ca-file", &registry.ca])
        .env("PREFLIGHT_REGISTRY_PASSWORD", &registry.password)
        .output()
        .unwrap();
    assert_eq!(pinned.status.code(), Some(0), "{}", text(&pinned));
    assert!(root.join("pinned/ledgerly/0.1.0/plugin.sig").is_file());
    assert_eq!(
        std::fs::read(pulled_dir.join("ledgerly/0.1.0/plugin.wasm")).unwrap(),
        std::fs::read(project.join("target/wasm32-wasip2/release/ledgerly.wasm")).unwrap(),
        "the component comes back byte for byte"
    );

    // serve follows the tag, with the registry's CA, user and password.
    let (api_url, calls) = ledgerly_api().await;
    let pleo = PleoEmulator::start(PleoConfig::default(), support::loopback())
        .await
        .unwrap();
    let company = uuid::Uuid::new_v4();
    let plugins = root.join("plugins");
    let operator = OperatorToml {
        extra: format!(
            r#"
[plugins]
dir = "{plugins}"
trustedKeys = ["{public}"]
sources = ["{reference}"]
pullIntervalSecs = 5

[[plugins.registries]]
host = "{host}"
username = "{user}"
password = "{password}"
caFile = "{ca}"

[[companies]]
companyId = "{company}"
accountingSystem = "ledgerly"
baseUrl = "{api_url}"
credentials = {{ type = "bearer", token = "ledgerly-demo-token" }}
settings = {{ journal = "GEN" }}
"#,
            plugins = plugins.display(),
            host = registry.address,
            user = registry.user,
            password = registry.password,
            ca = registry.ca,
        ),
        ..OperatorToml::new(pleo.url(), Some(root.join("state")), Vec::new())
    };
    let config = root.join("preflight.toml");
    std::fs::write(&config, operator.to_string()).unwrap();
    let (mut serving, api) = spawn_serve(&config);
    let http = reqwest::Client::new();
    ready(&http, &api).await;
    let job = pleo.seed_job(SeedJob::pending(company));
    let failed = support::eventually("the job failed by the pulled plugin", async || {
        let job = pleo.job(job)?;
        (job["status"] == "failed").then_some(job)
    })
    .await;
    assert_eq!(
        failed["failureReasonType"], "missing_configuration",
        "{failed}"
    );
    assert!(
        failed["failureReason"]
            .as_str()
            .unwrap()
            .contains("Ledgerly has no journal GEN"),
        "{failed}"
    );
    assert_eq!(
        calls.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "company, journal"
    );
    let active = async || support::active_version(&http, &api, None, "ledgerly").await;
    assert_eq!(active().await.as_deref(), Some("0.1.0"));

    // The next version, pushed to the same tag, is pulled and swapped in
    // without a restart.
    build_version(project, "0.1.1");
    let next = package_and_push(
        project,
        &key,
        &root.join("artifact-0.1.1"),
        &reference,
        registry,
    );
    assert_ne!(next, digest, "the tag moved to another artifact");
    support::eventually_within(
        std::time::Duration::from_secs(60),
        "0.1.1 active after the tag moved",
        async || (active().await.as_deref() == Some("0.1.1")).then_some(()),
    )
    .await;
    let metrics = http
        .get(format!("{api}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "preflight_plugin_pulls_total{{result=\"pulled\",source=\"{reference}\"}} 2"
        )),
        "{metrics}"
    );
    assert!(
        !serving.logs().contains(&registry.password),
        "the registry password is never logged"
    );
    assert_eq!(serving.stop(), Some(0));
}
