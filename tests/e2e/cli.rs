//! The `preflight` binary as a user runs it: exit codes, messages, and the
//! `examples/xero` walkthrough against `preflight emulate xero`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support;

const PREFLIGHT: &str = env!("CARGO_BIN_EXE_preflight");

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/xero")
}

fn preflight(args: &[&str]) -> Output {
    Command::new(PREFLIGHT)
        .args(args)
        .output()
        .expect("preflight runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A file in the temp directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &str) -> TempFile {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "preflight-e2e-{}-{unique}-{name}",
            std::process::id()
        ));
        std::fs::write(&path, contents).expect("write temp file");
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `preflight emulate xero` on a free port, killed on drop.
struct Emulator {
    child: Child,
    url: String,
}

impl Emulator {
    fn xero(extra: &[&str]) -> Emulator {
        Emulator::start("xero", extra)
    }

    /// `preflight emulate <system>` on a free port.
    fn start(system: &str, extra: &[&str]) -> Emulator {
        let mut child = Command::new(PREFLIGHT)
            .args(["emulate", system, "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .expect("emulator starts");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut first)
            .expect("first line");
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line was {first:?}"))
            .to_owned();
        Emulator { child, url }
    }

    /// `examples/xero/config.json` pointed at this emulator.
    fn config(&self) -> TempFile {
        self.example_config(&examples(), 4011)
    }

    /// An example's `config.json`, written for the default `port`, pointed at
    /// this emulator.
    fn example_config(&self, example: &Path, port: u16) -> TempFile {
        let text = std::fs::read_to_string(example.join("config.json")).unwrap();
        let default = format!("http://127.0.0.1:{port}");
        assert!(
            text.contains(&default),
            "{} targets the documented default port",
            example.display()
        );
        TempFile::new("config.json", &text.replace(&default, &self.url))
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn check(config: &str, extra: &[&str]) -> Output {
    let job = examples().join("job.json");
    let mut args = vec![
        "check",
        "--plugin",
        "xero",
        "--job",
        job.to_str().unwrap(),
        "--config",
        config,
    ];
    args.extend_from_slice(extra);
    preflight(&args)
}

#[test]
fn a_proxy_named_by_the_environment_receives_nothing() {
    // A listener standing for a proxy the operator's environment names: it
    // counts every connection made to it.
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = proxy.local_addr().unwrap();
    proxy.set_nonblocking(true).unwrap();
    let emulator = Emulator::xero(&[]);
    let config = emulator.config();
    let job = examples().join("job.json");
    let url = format!("http://{address}");
    let output = Command::new(PREFLIGHT)
        .args(["check", "--plugin", "xero", "--job"])
        .arg(&job)
        .args(["--config", config.path()])
        .env("HTTP_PROXY", &url)
        .env("HTTPS_PROXY", &url)
        .env("ALL_PROXY", &url)
        .env("http_proxy", &url)
        .env("all_proxy", &url)
        .output()
        .expect("preflight runs");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(
        matches!(proxy.accept(), Err(error) if error.kind() == std::io::ErrorKind::WouldBlock),
        "the proxy was connected to"
    );
}

#[test]
fn walkthrough_happy_path_exits_zero() {
    let emulator = Emulator::xero(&[]);
    let config = emulator.config();
    let output = check(config.path(), &[]);
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    assert!(stdout.contains("verdict: proceed"), "{stdout}");
    assert!(stdout.contains("xero.permissions.contacts"), "{stdout}");
}

#[test]
fn walkthrough_every_scenario_exits_one_with_reason_and_message() {
    let listed = preflight(&["emulate", "xero", "--list-scenarios"]);
    assert_eq!(listed.status.code(), Some(0));
    let names: Vec<String> = text(&listed.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect();
    let expected = [
        (
            "token-expired",
            "accounting_system_authentication_failure",
            "Reconnect Xero: the connection expired on",
        ),
        (
            "tenant-not-connected",
            "missing_configuration",
            "'Acme ApS' is not connected",
        ),
        (
            "practice-tenant",
            "invalid_configuration",
            "is a Xero practice",
        ),
        ("missing-scope", "missing_configuration", "manual journals"),
        (
            "missing-contacts-scope",
            "missing_configuration",
            "contacts (suppliers)",
        ),
        (
            "missing-attachments-scope",
            "missing_configuration",
            "attachments",
        ),
        (
            "rate-limited",
            "accounting_system_rate_limit",
            "Xero is limiting how many requests",
        ),
        (
            "unavailable",
            "accounting_system_unreachable",
            "Xero is unavailable",
        ),
        (
            "slow",
            "accounting_system_timeout",
            "Xero did not answer in time",
        ),
        (
            "organisation-inactive",
            "invalid_configuration",
            "is not active",
        ),
        (
            "accounts-missing",
            "missing_configuration",
            "Xero account 429 (used for expenses) does not exist",
        ),
    ];
    let documented: Vec<&str> = expected.iter().map(|(name, _, _)| *name).collect();
    assert_eq!(
        names, documented,
        "every listed scenario is covered by the walkthrough table"
    );

    std::thread::scope(|scope| {
        for (scenario, reason, message) in expected {
            scope.spawn(move || {
                let emulator = Emulator::xero(&["--scenario", scenario, "--slow-ms", "3000"]);
                let config = emulator.config();
                let output = check(config.path(), &["--request-timeout-ms", "500"]);
                let stdout = text(&output.stdout);
                assert_eq!(
                    output.status.code(),
                    Some(1),
                    "{scenario}: {stdout}\n{}",
                    text(&output.stderr)
                );
                assert!(
                    stdout.contains(&format!("failureReasonType: {reason}")),
                    "{scenario}: {stdout}"
                );
                assert!(stdout.contains(message), "{scenario}: {stdout}");
            });
        }
    });
}

#[test]
fn json_output_carries_checks_verdict_and_exchanges() {
    let emulator = Emulator::xero(&["--scenario", "accounts-missing"]);
    let config = emulator.config();
    let output = check(config.path(), &["--json"]);
    assert_eq!(output.status.code(), Some(1));
    let outcome: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(outcome["verdict"]["verdict"], "fail");
    assert_eq!(outcome["verdict"]["reason"], "missing_configuration");
    assert_eq!(outcome["verdict"]["check"], "xero.accounts.expenses");
    assert!(
        outcome["exchanges"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] == 200)
    );
    assert!(outcome["report"]["checks"].as_array().unwrap().len() >= 8);
}

#[test]
fn malformed_job_names_the_file_and_the_field() {
    let example = std::fs::read_to_string(examples().join("job.json")).unwrap();
    let config = TempFile::new(
        "config.json",
        &std::fs::read_to_string(examples().join("config.json")).unwrap(),
    );

    let missing = TempFile::new("job.json", &example.replace("\"numberOfItems\": 12,", ""));
    let output_missing = preflight(&[
        "check",
        "--plugin",
        "xero",
        "--job",
        missing.path(),
        "--config",
        config.path(),
    ]);
    let stderr = text(&output_missing.stderr);
    assert_eq!(output_missing.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(missing.path()) && stderr.contains("missing field `numberOfItems`"),
        "{stderr}"
    );

    let unknown = TempFile::new("job.json", &example.replace("\"in_progress\"", "\"done\""));
    let output = preflight(&[
        "check",
        "--plugin",
        "xero",
        "--job",
        unknown.path(),
        "--config",
        config.path(),
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(unknown.path())
            && stderr.contains("data.status")
            && stderr.contains("unknown variant `done`"),
        "{stderr}"
    );

    let output = preflight(&[
        "check",
        "--plugin",
        "xero",
        "--job",
        "no/such/job.json",
        "--config",
        config.path(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("no/such/job.json"));
}

#[test]
fn inputs_over_their_bound_are_refused_naming_the_file_and_the_bound() {
    let example = std::fs::read_to_string(examples().join("job.json")).unwrap();
    let config_text = std::fs::read_to_string(examples().join("config.json")).unwrap();
    let config = TempFile::new("config.json", &config_text);
    // A valid job whose one string field is 2 MiB: well-formed, too large.
    let padded = example.replacen(
        "\"numberOfItems\": 12,",
        &format!(
            "\"numberOfItems\": 12, \"padding\": \"{}\",",
            "x".repeat(2 << 20)
        ),
        1,
    );
    let job = TempFile::new("job.json", &padded);
    let output = preflight(&[
        "check",
        "--plugin",
        "xero",
        "--job",
        job.path(),
        "--config",
        config.path(),
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim(),
        format!(
            "error: {}: larger than the limit of 1 MiB for a job file",
            job.path()
        )
    );
    let padded = config_text.replacen(
        '{',
        &format!("{{\"padding\": \"{}\",", "x".repeat(2 << 20)),
        1,
    );
    let config = TempFile::new("config.json", &padded);
    let output = preflight(&[
        "check",
        "--plugin",
        "xero",
        "--job",
        examples().join("job.json").to_str().unwrap(),
        "--config",
        config.path(),
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(config.path())
            && stderr.contains("larger than the limit of 1 MiB for an integration configuration"),
        "{stderr}"
    );
}

#[test]
fn malformed_config_names_the_file_and_the_field() {
    let job = examples().join("job.json");
    let example = std::fs::read_to_string(examples().join("config.json")).unwrap();
    let cases = [
        (
            example.replace("\"tenantId\"", "\"tenant\""),
            "unknown field `tenant`",
        ),
        (
            example.replace("http://127.0.0.1:4011", "not a url"),
            "baseUrl",
        ),
        (
            example.replace("\"429\"", "\"4 29\""),
            "settings.accounts.expenses",
        ),
        (
            example.replace("\"contra\": \"800\"", "\"contra\": 800"),
            "settings.accounts.contra",
        ),
        (
            example.replace(
                "\"token\": \"xero-demo-access-token\"",
                "\"tokenEnv\": \"PREFLIGHT_E2E_UNSET_VARIABLE\"",
            ),
            "credentials.tokenEnv",
        ),
    ];
    for (contents, field) in cases {
        let config = TempFile::new("config.json", &contents);
        let output = preflight(&[
            "check",
            "--plugin",
            "xero",
            "--job",
            job.to_str().unwrap(),
            "--config",
            config.path(),
        ]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{field}: {stderr}");
        assert!(
            stderr.contains(config.path()) && stderr.contains(field),
            "{field}: {stderr}"
        );
    }
}

#[test]
fn unknown_plugin_and_broken_component_are_bad_input() {
    let job = examples().join("job.json");
    let config = examples().join("config.json");
    let output = preflight(&[
        "check",
        "--plugin",
        "sage",
        "--job",
        job.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains(
        "no bundled plugin of that name (bundled: business-central, fortnox, quickbooks, xero)"
    ));

    let broken = TempFile::new("broken.wasm", "not a component");
    let output = preflight(&[
        "check",
        "--plugin",
        broken.path(),
        "--job",
        job.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("not a loadable WebAssembly component"));
}

#[test]
fn a_manifest_that_cannot_be_read_is_refused_not_taken_as_absent() {
    let job = examples().join("job.json");
    let config = examples().join("config.json");
    for (name, make) in [
        (
            "not-utf8",
            (|path: &Path| std::fs::write(path, b"name = \"\xff\xfe\"\n").unwrap()) as fn(&Path),
        ),
        ("a-directory", |path: &Path| {
            std::fs::create_dir(path).unwrap()
        }),
    ] {
        let dir =
            std::env::temp_dir().join(format!("preflight-manifest-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let component = dir.join("plugin.wasm");
        std::fs::copy(preflight_artifacts::hostile::PANIC, &component).unwrap();
        let manifest = dir.join("plugin.toml");
        make(&manifest);
        let component = component.to_str().unwrap();
        for args in [
            vec!["plugins", "list", component],
            vec![
                "check",
                "--plugin",
                component,
                "--job",
                job.to_str().unwrap(),
                "--config",
                config.to_str().unwrap(),
            ],
        ] {
            let output = preflight(&args);
            let stderr = text(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{name}: {args:?}: {stderr}");
            assert!(
                stderr.contains(&manifest.display().to_string()),
                "{name}: {args:?}: {stderr}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_trapping_plugin_exits_three_naming_it() {
    let emulator = Emulator::xero(&[]);
    let config = emulator.config();
    let job = examples().join("job.json");
    let output = preflight(&[
        "check",
        "--plugin",
        preflight_artifacts::hostile::PANIC,
        "--job",
        job.to_str().unwrap(),
        "--config",
        config.path(),
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("plugin hostile-panic 0.1.0: trapped"),
        "{stderr}"
    );
}

#[test]
fn a_plugin_looping_in_info_or_in_validate_settings_exits_three_naming_it_once() {
    let job = examples().join("job.json");
    let example = std::fs::read_to_string(examples().join("config.json")).unwrap();
    let spinning = TempFile::new(
        "config.json",
        &example.replacen(
            "\"settings\": {",
            "\"settings\": {\"spinIn\": \"settings\", ",
            1,
        ),
    );
    let plain = examples().join("config.json");
    for (plugin, config, expected) in [
        (
            preflight_artifacts::hostile::LOOP_IN_INFO,
            plain.to_str().unwrap(),
            format!(
                "error: {}: faulted in info: stopped at its wall-time limit of 300 ms",
                preflight_artifacts::hostile::LOOP_IN_INFO
            ),
        ),
        (
            preflight_artifacts::hostile::INFINITE_LOOP,
            spinning.path(),
            "error: plugin hostile-infinite-loop 0.1.0: faulted in validate-settings: stopped at its wall-time limit of 300 ms".to_owned(),
        ),
    ] {
        let output = preflight(&[
            "check",
            "--plugin",
            plugin,
            "--job",
            job.to_str().unwrap(),
            "--config",
            config,
            "--wall-time-ms",
            "300",
        ]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{plugin}: {stderr}");
        assert_eq!(stderr.trim(), expected);
    }
}

#[test]
fn wit_prints_the_contract_the_binary_runs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for (args, file) in [
        (&["wit"][..], "wit/plugin.wit"),
        (&["wit", "--contract", "0.2.0"][..], "wit/plugin.wit"),
        (
            &["wit", "--contract", "0.1.0"][..],
            "wit/since_v0.1.0/plugin.wit",
        ),
    ] {
        let output = preflight(args);
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        assert_eq!(
            text(&output.stdout),
            std::fs::read_to_string(root.join(file)).unwrap(),
            "{args:?} prints {file}"
        );
    }
    let output = preflight(&["wit", "--contract", "0.3.0"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr).trim(),
        "error: --contract 0.3.0: this host runs preflight:plugin versions 0.1.0, 0.2.0"
    );
}

#[test]
fn plugins_list_describes_the_bundled_plugins() {
    let output = preflight(&["plugins", "list", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let rows: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let xero = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["name"] == "xero")
        .expect("xero listed");
    assert_eq!(xero["accounting_system"], "xero");
    assert_eq!(xero["sha256"].as_str().unwrap().len(), 64);
    assert!(
        xero["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "vendor-bookkeeping")
    );
}

/// Runs `preflight ARGS` on a pseudo-terminal (util-linux `script`), as a
/// user at a terminal would; returns everything the terminal showed.
fn on_a_terminal(args: &[&str]) -> String {
    let command = std::iter::once(PREFLIGHT)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let output = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("util-linux script runs");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));
    text(&output.stdout)
}

#[test]
fn the_demo_shows_progress_on_a_terminal_and_none_when_piped_or_json() {
    let shown = on_a_terminal(&["demo"]);
    assert!(
        shown.contains("demo: jobs with an outcome ["),
        "no progress bar on the terminal: {shown}"
    );
    assert!(
        shown.contains("58 export jobs: 5 passed validation"),
        "{shown}"
    );
    let json = on_a_terminal(&["demo", "--json"]);
    assert!(!json.contains("demo: jobs with an outcome"), "{json}");
    let piped = preflight(&["demo"]);
    assert_eq!(piped.status.code(), Some(0));
    assert_eq!(text(&piped.stderr), "", "nothing but the table when piped");
}

/// A child process killed if the test ends before it does.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_serves_the_console_while_it_runs_and_until_interrupted() {
    const TOKEN: &str = "demo-console-token";
    let mut child = KillOnDrop(
        Command::new(PREFLIGHT)
            .args(["demo", "--json", "--listen", "127.0.0.1:0"])
            .args(["--operator-token-env", "PREFLIGHT_E2E_DEMO_TOKEN"])
            .env("PREFLIGHT_E2E_DEMO_TOKEN", TOKEN)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let child = &mut child.0;
    let (lines, said) = std::sync::mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let next_line = || {
        said.recv_timeout(std::time::Duration::from_secs(120))
            .unwrap()
    };
    let first = next_line();
    let console = first
        .strip_prefix("The console is at ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("the console's address first: {first}"))
        .to_owned();
    assert!(first.contains("sign in with the operator token"), "{first}");
    let api = console.trim_end_matches("/console").to_owned();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // While the jobs run, the console asks for the token.
    let response = http.get(&console).send().await.unwrap();
    assert_eq!(response.status(), 303);
    let signed_in = http
        .post(format!("{console}/login"))
        .form(&[("token", TOKEN)])
        .send()
        .await
        .unwrap();
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();

    let done = next_line();
    assert!(done.starts_with("Every job has its outcome"), "{done}");
    let stdout = child.stdout.take().unwrap();
    let rows: Vec<serde_json::Value> = BufReader::new(stdout)
        .lines()
        .take(preflight_cli::demo::COMPANIES.len())
        .map(|line| serde_json::from_str(&line.unwrap()).unwrap())
        .collect();
    let failed: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|row| row["reason"] == "accounting_system_authentication_failure")
        .collect();
    assert!(!failed.is_empty());
    // After the jobs: the decision log lists the demo's failed jobs, on the
    // console and in the API, which wants the token too.
    let page = http
        .get(format!(
            "{console}/decisions?reason=accounting_system_authentication_failure"
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    for row in &failed {
        assert!(page.contains(row["job"].as_str().unwrap()), "{page}");
    }
    let refused = http
        .get(format!("{api}/v1/decisions"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let listed: Vec<serde_json::Value> = http
        .get(format!("{api}/v1/decisions?verdict=fail&limit=500"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(listed.iter().all(|decision| decision["verdict"] == "fail"));
    for row in &failed {
        assert!(
            listed
                .iter()
                .any(|decision| decision["jobId"] == row["job"]),
            "{row} is in the API's decision log"
        );
    }

    // Ctrl-C ends it, with the demo's own exit code.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn demo_reaches_every_expected_outcome() {
    let output = preflight(&["demo", "--json"]);
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    let rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect();
    assert_eq!(rows.len(), preflight_cli::demo::COMPANIES.len());
    assert!(
        rows.iter().all(|row| row["as_expected"] == true),
        "{stdout}"
    );
    assert!(rows.iter().any(|row| row["verdict"] == "proceed"));
    assert!(
        rows.iter()
            .any(|row| row["reason"] == "accounting_system_timeout")
    );
}

#[test]
fn bench_quick_prints_every_figure_as_json() {
    // Keeps the benchmarks from rotting; figures are printed, never asserted.
    let output = preflight(&["bench", "--quick", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let figures: Vec<serde_json::Value> =
        serde_json::from_slice(&output.stdout).expect("a JSON array");
    for figure in &figures {
        for key in [
            "name", "median", "p10", "p90", "p99", "unit", "target", "better",
        ] {
            assert!(figure.get(key).is_some(), "{figure} lacks {key}");
        }
        assert!(
            figure["p10"].as_f64() <= figure["median"].as_f64()
                && figure["median"].as_f64() <= figure["p90"].as_f64()
                && figure["p90"].as_f64() <= figure["p99"].as_f64(),
            "{figure}"
        );
        assert!(
            figure["target"].is_null() || figure["target"].is_number(),
            "{figure}"
        );
        assert!(
            ["lower", "higher"].contains(&figure["better"].as_str().unwrap_or_default()),
            "{figure}"
        );
    }
    let names: Vec<&str> = figures
        .iter()
        .map(|f| f["name"].as_str().expect("names are strings"))
        .collect();
    for expected in [
        "host overhead",
        "runaway plugin",
        "wasm vs native: the Xero rules natively",
        "wasm vs native: component / native",
        "compile + load: xero",
        "cache load: xero",
        "hot swap:",
        "start-up:",
        "throughput: Xero plugin",
        "throughput: native",
        "throughput: plugin / native",
        "concurrency:",
        "memory: per validation posting 1 MiB",
        "end to end:",
        "end to end: detect",
        "end to end: 20 jobs, journal and decision log in a SQLite file",
        "end to end: per job: Pleo calls",
        "end to end: per job: plugin",
        "end to end: per job: accounting system",
        "detection: one sweep over 300 companies",
        "detection: job creation to claim, polling every 2 s: p99",
        "detection: job creation to claim, Pleo's webhook: p99",
    ] {
        assert!(
            names.iter().any(|name| name.starts_with(expected)),
            "no figure named {expected}…: {names:?}"
        );
    }
    assert!(
        names
            .iter()
            .any(|name| name.starts_with("concurrency:") && name.ends_with("all verdicts in")),
        "{names:?}"
    );
    assert!(
        names.iter().any(|name| name.contains("peak RSS")) || !cfg!(target_os = "linux"),
        "{names:?}"
    );
    // Ratios are marked as such.
    let ratio = figures
        .iter()
        .find(|f| {
            f["name"]
                .as_str()
                .unwrap()
                .starts_with("throughput: plugin / native")
        })
        .unwrap();
    assert_eq!(ratio["unit"], "×");
    assert_eq!(ratio["better"], "higher");
}

#[rstest::rstest]
#[case::quickbooks("quickbooks", 4012, "accounts-missing", "missing_configuration")]
#[case::fortnox("fortnox", 4013, "accounts-missing", "missing_configuration")]
#[case::business_central("business-central", 4014, "journal-missing", "missing_configuration")]
fn each_example_walkthrough_runs_as_written(
    #[case] system: &str,
    #[case] port: u16,
    #[case] scenario: &str,
    #[case] reason: &str,
) {
    let example = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(system);
    let job = example.join("job.json");
    let run = |config: &TempFile| {
        preflight(&[
            "check",
            "--plugin",
            system,
            "--job",
            job.to_str().unwrap(),
            "--config",
            config.path(),
        ])
    };

    let happy = Emulator::start(system, &[]);
    let output = run(&happy.example_config(&example, port));
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{system}: {stdout}\n{}",
        text(&output.stderr)
    );
    assert!(stdout.contains("verdict: proceed"), "{stdout}");

    let failing = Emulator::start(system, &["--scenario", scenario]);
    let output = run(&failing.example_config(&example, port));
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{system} {scenario}: {stdout}"
    );
    assert!(
        stdout.contains(&format!("failureReasonType: {reason}")),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_cassette_runs_offline_and_tells_a_changed_verdict() {
    let emulator =
        support::xero_emulator(&[preflight_emulators::xero::Scenario::AccountsMissing]).await;
    let dir = support::temp_dir("cassettes");
    let job = dir.join("job.json");
    std::fs::write(&job, support::job_json(false)).unwrap();
    let config = dir.join("config.json");
    let document = serde_json::json!({
        "accountingSystem": "xero",
        "baseUrl": emulator.url(),
        "tenantId": preflight_emulators::xero::DEMO_TENANT_ID,
        "credentials": { "type": "bearer", "token": preflight_emulators::xero::DEMO_ACCESS_TOKEN },
        "settings": { "accounts": { "expenses": "429", "contra": "800" } },
    });
    std::fs::write(&config, document.to_string()).unwrap();
    let cassettes = dir.join("cassettes");
    std::fs::create_dir_all(&cassettes).unwrap();
    let cassette = cassettes.join("accounts-missing.json");
    let output = Command::new(PREFLIGHT)
        .args(["check", "--plugin", "xero", "--job", job.to_str().unwrap()])
        .args([
            "--config",
            config.to_str().unwrap(),
            "--record",
            cassette.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&cassette).unwrap();
    assert!(
        !text.contains(preflight_emulators::xero::DEMO_ACCESS_TOKEN),
        "no credentials in a cassette"
    );
    let recorded: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(recorded["cassette"], 1);
    assert_eq!(recorded["expect"]["reason"], "missing_configuration");
    let requests = emulator.requests().len();

    // Offline: nothing reaches the emulator, and the cassette passes.
    let test = |extra: &[&str]| {
        Command::new(PREFLIGHT)
            .args(["test", "--plugin", "xero"])
            .args(extra)
            .arg(&cassettes)
            .output()
            .unwrap()
    };
    let junit = dir.join("junit.xml");
    let output = test(&["--junit", junit.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("pass") && stdout.contains("1 cassette(s): 1 passed, 0 failed"),
        "{stdout}"
    );
    assert_eq!(
        emulator.requests().len(),
        requests,
        "a cassette sends nothing"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("tests=\"1\" failures=\"0\""), "{xml}");

    // An expectation the plugin no longer meets fails, naming the check.
    let mut edited = recorded.clone();
    edited["expect"]["verdict"] = "proceed".into();
    edited["expect"]["reason"] = serde_json::Value::Null;
    edited["expect"]["checks"][0]["status"] = "failed".into();
    std::fs::write(&cassette, edited.to_string()).unwrap();
    let output = test(&[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("verdict: expected proceed, got fail (missing_configuration)"),
        "{stdout}"
    );
    assert!(stdout.contains("check "), "{stdout}");
    // --update writes what the plugin came to; then it passes again.
    let output = test(&["--update"]);
    assert_eq!(output.status.code(), Some(0));
    let updated: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cassette).unwrap()).unwrap();
    assert_eq!(updated["expect"], recorded["expect"]);
    assert_eq!(test(&[]).status.code(), Some(0));

    // A cassette of another version is refused naming it.
    let mut future = recorded.clone();
    future["cassette"] = 2.into();
    std::fs::write(&cassette, future.to_string()).unwrap();
    let output = test(&[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("version 2"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
