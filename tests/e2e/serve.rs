//! `preflight serve` as an operator runs it: the binary against the Pleo and
//! Xero emulators, its operator API over TCP, and a clean stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use preflight_emulators::pleo::{self, PleoConfig, PleoEmulator, SeedJob};
use preflight_emulators::xero;

use crate::support;

pub(crate) const PREFLIGHT: &str = env!("CARGO_BIN_EXE_preflight");

/// An operator configuration of `preflight serve` against the emulators:
/// Pleo with the demo key, a retry after 100 ms, plain `http` to loopback,
/// and each company on Xero with the demo tenant and token and settings
/// without `taxType` (the bundled Xero plugin needs none; the stricter 0.3.0
/// does). Its `Display` is the TOML text.
pub(crate) struct OperatorToml {
    /// The Pleo emulator's URL.
    pub(crate) pleo: String,
    /// `pleo.pollIntervalSecs`.
    pub(crate) poll_interval_secs: u64,
    /// `pleo.watchCompanies`: polled without a configuration.
    pub(crate) watched: Vec<uuid::Uuid>,
    /// `runner.stateDir`; `None` keeps state in memory.
    pub(crate) state_dir: Option<PathBuf>,
    /// `runner.maxConcurrentJobs`; `None` leaves the default.
    pub(crate) max_concurrent_jobs: Option<usize>,
    /// Each company and its Xero emulator's URL.
    pub(crate) companies: Vec<(uuid::Uuid, String)>,
    /// More keys of `[pleo]`, as TOML lines.
    pub(crate) pleo_extra: String,
    /// More keys of `[runner]`, as TOML lines.
    pub(crate) runner_extra: String,
    /// More tables (`[server]`, `[store]`, …), as TOML text.
    pub(crate) extra: String,
}

impl OperatorToml {
    /// Polling Pleo at `pleo` every second, with nothing watched and
    /// nothing extra.
    pub(crate) fn new(
        pleo: String,
        state_dir: Option<PathBuf>,
        companies: Vec<(uuid::Uuid, String)>,
    ) -> Self {
        OperatorToml {
            pleo,
            poll_interval_secs: 1,
            watched: Vec::new(),
            state_dir,
            max_concurrent_jobs: None,
            companies,
            pleo_extra: String::new(),
            runner_extra: String::new(),
            extra: String::new(),
        }
    }
}

impl std::fmt::Display for OperatorToml {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            r#"
[pleo]
baseUrl = "{pleo}"
auth = {{ type = "apiKey", key = "{key}" }}
pollIntervalSecs = {poll}
"#,
            pleo = self.pleo,
            key = pleo::DEMO_API_KEY,
            poll = self.poll_interval_secs,
        )?;
        if !self.watched.is_empty() {
            let watched: Vec<String> = self.watched.iter().map(|c| format!("\"{c}\"")).collect();
            writeln!(f, "watchCompanies = [{}]", watched.join(", "))?;
        }
        f.write_str(&self.pleo_extra)?;
        writeln!(f, "\n[runner]\nretryDelayMs = 100")?;
        f.write_str(&self.runner_extra)?;
        if let Some(state) = &self.state_dir {
            writeln!(f, "stateDir = \"{}\"", state.display())?;
        }
        if let Some(jobs) = self.max_concurrent_jobs {
            writeln!(f, "maxConcurrentJobs = {jobs}")?;
        }
        writeln!(f, "\n[sandbox]\nallowHttpLoopback = true")?;
        for (company, xero_url) in &self.companies {
            write!(
                f,
                r#"
[[companies]]
companyId = "{company}"
accountingSystem = "xero"
baseUrl = "{xero_url}"
tenantId = "{tenant}"
credentials = {{ type = "bearer", token = "{token}" }}
settings = {{ organisationName = "Acme ApS", accounts = {{ expenses = "429", contra = "800" }} }}
"#,
                tenant = xero::DEMO_TENANT_ID,
                token = xero::DEMO_ACCESS_TOKEN,
            )?;
        }
        f.write_str(&self.extra)
    }
}

/// A running `preflight serve`, killed if the test ends without stopping it
/// (a panicking test must not leave it running).
pub(crate) struct Serving {
    pub(crate) child: std::process::Child,
    /// Everything it wrote to stderr so far.
    logs: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Serving {
    /// What it wrote to stderr so far.
    pub(crate) fn logs(&self) -> String {
        String::from_utf8_lossy(&self.logs.lock().unwrap()).into_owned()
    }

    /// Stops it with SIGTERM and returns its exit code.
    pub(crate) fn stop(&mut self) -> Option<i32> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap().code()
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `preflight serve` on a free port; returns it and the API's base
/// URL, read from its first line.
pub(crate) fn spawn_serve(config: &std::path::Path) -> (Serving, String) {
    spawn_serve_with(config, "info")
}

/// [`spawn_serve`] logging at `level`.
pub(crate) fn spawn_serve_with(config: &std::path::Path, level: &str) -> (Serving, String) {
    let mut child = Command::new(PREFLIGHT)
        .args([
            "serve",
            "--config",
            config.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--log-level",
            level,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let api = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line {first:?}"))
        .to_owned();
    // Keep reading both pipes, so neither closes under it nor fills up (a
    // full stderr pipe would block its logging, and with it the runner).
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let mut stderr = child.stderr.take().unwrap();
    let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&logs);
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(read @ 1..) = std::io::Read::read(&mut stderr, &mut chunk) {
            sink.lock().unwrap().extend_from_slice(&chunk[..read]);
        }
    });
    (Serving { child, logs }, api)
}

/// Waits until `serve` at `api` is ready (its first poll done).
pub(crate) async fn ready(http: &reqwest::Client, api: &str) {
    support::eventually("serve ready (its first poll done)", async || {
        let status = http
            .get(format!("{api}/readyz"))
            .send()
            .await
            .ok()?
            .status();
        (status == 200).then_some(())
    })
    .await;
}

/// Waits until `serve` at `api` has recorded an outcome for `job` and
/// returns it; `token` is the operator token, when `serve` has one.
pub(crate) async fn outcome_of(
    http: &reqwest::Client,
    api: &str,
    token: Option<&str>,
    job: uuid::Uuid,
) -> serde_json::Value {
    support::eventually("the job's outcome", async || {
        let mut request = http.get(format!("{api}/v1/outcomes"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let outcomes: serde_json::Value = request.send().await.ok()?.json().await.ok()?;
        outcomes
            .as_array()?
            .iter()
            .find(|o| o["job_id"] == job.to_string())
            .cloned()
    })
    .await
}

#[tokio::test]
async fn serve_processes_jobs_and_answers_the_operator_api() {
    let pleo = PleoEmulator::start(PleoConfig::default(), support::loopback())
        .await
        .unwrap();
    let xero = support::xero_emulator(&[]).await;
    let company = uuid::Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0777);
    let job = pleo.seed_job(SeedJob {
        number_of_items: 2,
        ..SeedJob::pending(company)
    });
    let state = support::temp_dir("serve");
    let config_path = state.join("preflight.toml");
    let config = OperatorToml::new(
        pleo.url(),
        Some(state.join("state")),
        vec![(company, xero.url())],
    );
    std::fs::write(&config_path, config.to_string()).unwrap();

    let (mut serving, api) = spawn_serve(&config_path);
    let http = reqwest::Client::new();

    let health = http.get(format!("{api}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    ready(&http, &api).await;
    let outcome = outcome_of(&http, &api, None, job).await;
    assert_eq!(outcome["action"], "handed_over");
    assert_eq!(pleo.job(job).unwrap()["status"], "in_progress");

    let metrics = support::text(&http, &format!("{api}/metrics")).await;
    assert!(
        metrics.contains("preflight_jobs_claimed_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("preflight_jobs_handed_over_total 1"),
        "{metrics}"
    );
    assert!(
        metrics
            .contains("preflight_validation_seconds_bucket{plugin=\"xero 0.1.0\",le=\"+Inf\"} 1"),
        "{metrics}"
    );

    let plugins: serde_json::Value = http
        .get(format!("{api}/v1/plugins"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let systems: Vec<&str> = plugins
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["accountingSystem"].as_str().unwrap())
        .collect();
    assert_eq!(
        systems,
        ["business-central", "fortnox", "quickbooks", "xero"]
    );

    // On demand: no claim, no event.
    let events_before = pleo.events().len();
    let answer = http
        .post(format!("{api}/v1/validate"))
        .json(&serde_json::json!({"jobId": job}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let answer: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(answer["verdict"]["verdict"], "proceed");
    assert!(
        answer["outcome"]["report"]["checks"]
            .as_array()
            .unwrap()
            .len()
            > 5
    );
    assert_eq!(
        pleo.events().len(),
        events_before,
        "on-demand validation posts nothing"
    );
    let missing = http
        .post(format!("{api}/v1/validate"))
        .json(&serde_json::json!({"jobId": uuid::Uuid::from_u128(9)}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let malformed = http
        .post(format!("{api}/v1/validate"))
        .header("content-type", "application/json")
        .body("{\"job\": 1}")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    // Without an operator token the registry cannot be changed over HTTP.
    let reload = http
        .post(format!("{api}/v1/plugins/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(reload.status(), 403);
    let body: serde_json::Value = reload.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("server.token"),
        "{body}"
    );

    assert_eq!(serving.stop(), Some(0), "a clean stop on SIGTERM");
    // The child has exited; give the reader a moment to take the last bytes.
    let logs = support::eventually("the job's log line", async || {
        let logs = serving.logs();
        logs.contains(&job.to_string()).then_some(logs)
    })
    .await;
    let job_line = logs
        .lines()
        .find(|line| line.contains(&job.to_string()))
        .unwrap_or_else(|| panic!("no log line names the job:\n{logs}"));
    let parsed: serde_json::Value = serde_json::from_str(job_line).expect("JSON log lines");
    assert!(
        parsed.to_string().contains(&company.to_string()),
        "log lines carry the company: {job_line}"
    );
    let _ = std::fs::remove_dir_all(&state);
}

#[test]
fn serve_refuses_a_config_naming_the_company_and_field() {
    let state = support::temp_dir("serve-bad");
    let company = uuid::Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0778);
    let config = OperatorToml::new(
        "http://127.0.0.1:9".to_owned(),
        Some(state.clone()),
        vec![(company, "http://127.0.0.1:9".to_owned())],
    )
    .to_string();
    let path = state.join("bad.toml");
    // `serve` on `config`: its exit code and stderr.
    let serve = |config: String| {
        std::fs::write(&path, config).unwrap();
        let output = Command::new(PREFLIGHT)
            .args(["serve", "--config", path.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.code(), stderr)
    };
    let (code, stderr) = serve(config.replace("tenantId", "tenant"));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("companies[0] (company {company})"))
            && stderr.contains("unknown field `tenant`"),
        "{stderr}"
    );

    let (code, stderr) = serve(config.replace("expenses = \"429\"", "expenses = \"4 29\""));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&company.to_string()) && stderr.contains("settings.accounts.expenses"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&state);
}

#[tokio::test]
async fn the_serve_example_files_load() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/serve");
    let config = preflight::operator::OperatorConfig::from_toml(
        &std::fs::read_to_string(dir.join("preflight.toml")).unwrap(),
    )
    .expect("the example configuration is valid");
    assert_eq!(config.pleo.base_url.as_str(), "http://127.0.0.1:4010/");
    assert_eq!(config.polled_companies().len(), 2);
    let pleo = PleoEmulator::start(PleoConfig::default(), support::loopback())
        .await
        .unwrap();
    let jobs = pleo
        .seed_from_json(&std::fs::read_to_string(dir.join("jobs.json")).unwrap())
        .expect("the seed file is valid");
    assert_eq!(jobs.len(), 2);
    let companies: Vec<uuid::Uuid> = jobs
        .iter()
        .map(|job| {
            pleo.job(*job).unwrap()["companyId"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    let polled = config.polled_companies();
    assert!(
        companies.iter().all(|company| polled.contains(company)),
        "every seeded job's company is polled"
    );
}

fn preflight(args: &[&str], token: Option<&str>) -> std::process::Output {
    let mut command = Command::new(PREFLIGHT);
    command.args(args).env_remove("PREFLIGHT_OPERATOR_TOKEN");
    if let Some(token) = token {
        command.env("PREFLIGHT_OPERATOR_TOKEN", token);
    }
    command.output().expect("preflight runs")
}

#[tokio::test]
async fn serve_swaps_plugins_from_its_directory_and_the_cli_drives_its_registry() {
    let pleo = PleoEmulator::start(PleoConfig::default(), support::loopback())
        .await
        .unwrap();
    let xero = support::xero_emulator(&[]).await;
    let company = uuid::Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0779);
    let dir = support::temp_dir("serve-registry");
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();

    // An author's key, a signed 0.2.0 staged beside the plugin directory.
    let key_file = dir.join("author.key");
    let keygen = preflight(
        &[
            "plugins",
            "keygen",
            "--secret-key",
            key_file.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(keygen.status.code(), Some(0));
    let public_key = String::from_utf8(keygen.stdout).unwrap().trim().to_owned();
    assert!(public_key.starts_with("ed25519:"), "{public_key}");
    let staged = dir.join("staged");
    std::fs::create_dir_all(&staged).unwrap();
    std::fs::copy(
        preflight_artifacts::fixtures::XERO_NEXT,
        staged.join("plugin.wasm"),
    )
    .unwrap();
    let manifest = preflight::bundled::find("xero")
        .unwrap()
        .manifest
        .replace("version = \"0.1.0\"", "version = \"0.2.0\"");
    std::fs::write(staged.join("plugin.toml"), &manifest).unwrap();
    let component = staged.join("plugin.wasm");
    let component = component.to_str().unwrap();
    let sign = preflight(
        &[
            "plugins",
            "sign",
            "--key",
            key_file.to_str().unwrap(),
            component,
        ],
        None,
    );
    assert_eq!(
        sign.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&sign.stderr)
    );
    let verify = preflight(
        &["plugins", "verify", "--trusted-key", &public_key, component],
        None,
    );
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let stranger = preflight::signature::SecretKey::generate()
        .unwrap()
        .public_key()
        .to_string();
    let verify = preflight(
        &["plugins", "verify", "--trusted-key", &stranger, component],
        None,
    );
    assert_eq!(
        verify.status.code(),
        Some(1),
        "another key does not verify it"
    );

    let config = OperatorToml {
        extra: format!(
            "\n[server]\ntoken = \"op-token\"\n\n[plugins]\ndir = \"{}\"\nsettleMs = 20\ntrustedKeys = [\"{public_key}\"]\n",
            plugins.display()
        ),
        ..OperatorToml::new(
            pleo.url(),
            Some(dir.join("state")),
            vec![(company, xero.url())],
        )
    };
    let config_path = dir.join("preflight.toml");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let (mut serving, api) = spawn_serve(&config_path);
    let http = reqwest::Client::new();
    let unauthorised = http.get(format!("{api}/v1/plugins")).send().await.unwrap();
    assert_eq!(unauthorised.status(), 401);
    assert_eq!(unauthorised.headers()["www-authenticate"], "Bearer");

    // Landing it in the directory is all it takes.
    std::fs::create_dir_all(plugins.join("xero")).unwrap();
    std::fs::rename(&staged, plugins.join("xero").join("0.2.0")).unwrap();
    let list = support::eventually("xero 0.2.0 active", async || {
        let output = preflight(
            &["plugins", "list", "--server", &api, "--json"],
            Some("op-token"),
        );
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let list: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
        list.iter()
            .any(|v| {
                v["accountingSystem"] == "xero" && v["version"] == "0.2.0" && v["state"] == "active"
            })
            .then_some(list)
    })
    .await;
    let bundled_xero = list.iter().find(|v| v["source"] == "bundled:xero").unwrap();
    assert_eq!(bundled_xero["state"], "previous");
    let swapped = list.iter().find(|v| v["version"] == "0.2.0").unwrap();
    assert!(
        swapped["signedBy"].as_str().unwrap().starts_with("key "),
        "{swapped}"
    );

    // The next job is validated by 0.2.0.
    let job = pleo.seed_job(SeedJob {
        number_of_items: 1,
        ..SeedJob::pending(company)
    });
    let outcome = outcome_of(&http, &api, Some("op-token"), job).await;
    assert_eq!(outcome["plugin"], "xero 0.2.0");

    // Rollback needs the token, then returns to the bundled 0.1.0.
    let refused = preflight(&["plugins", "rollback", "xero", "--server", &api], None);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("401"));
    let rollback = preflight(
        &["plugins", "rollback", "xero", "--server", &api],
        Some("op-token"),
    );
    assert_eq!(
        rollback.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&rollback.stderr)
    );
    assert!(String::from_utf8_lossy(&rollback.stdout).contains("xero: 0.1.0 is active again"));
    let table = preflight(&["plugins", "list", "--server", &api], Some("op-token"));
    let table = String::from_utf8(table.stdout).unwrap();
    // The second column is the plugin's version (the contract column says
    // 0.2.0 for every row).
    let row = table
        .lines()
        .find(|line| line.split_whitespace().nth(1) == Some("0.2.0"))
        .unwrap();
    assert!(row.contains("rolled-back"), "{table}");
    let reload = preflight(&["plugins", "reload", "--server", &api], Some("op-token"));
    assert_eq!(reload.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&reload.stdout).trim(),
        "nothing changed"
    );

    assert_eq!(serving.stop(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stricter_version_in_shadow_is_compared_from_the_cli_then_promoted() {
    let pleo = PleoEmulator::start(PleoConfig::default(), support::loopback())
        .await
        .unwrap();
    let xero = support::xero_emulator(&[]).await;
    let companies = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()];
    let dir = support::temp_dir("serve-shadow");
    let plugins = dir.join("plugins");
    support::land_xero_strict(&plugins);
    let config = OperatorToml {
        extra: format!(
            "\n[server]\ntoken = \"op-token\"\n\n[plugins]\ndir = \"{}\"\nallowUnsigned = true\n",
            plugins.display()
        ),
        ..OperatorToml::new(
            pleo.url(),
            Some(dir.join("state")),
            companies.iter().map(|c| (*c, xero.url())).collect(),
        )
    };
    let config_path = dir.join("preflight.toml");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let (mut serving, api) = spawn_serve(&config_path);
    let http = reqwest::Client::new();
    ready(&http, &api).await;
    let run = |args: &[&str]| {
        let mut all = vec!["plugins"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--server", &api]);
        let output = preflight(&all, Some("op-token"));
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };

    // 0.3.0 landed and went active; in shadow, 0.1.0 serves again.
    assert!(run(&["shadow", "xero", "0.3.0"]).contains("xero: 0.3.0 is in shadow"));
    let jobs: Vec<uuid::Uuid> = companies
        .iter()
        .map(|company| pleo.seed_job(SeedJob::pending(*company)))
        .collect();
    for job in &jobs {
        let outcome = outcome_of(&http, &api, Some("op-token"), *job).await;
        assert_eq!(outcome["plugin"], "xero 0.1.0", "{outcome}");
        assert_eq!(outcome["verdict"]["verdict"], "proceed", "{outcome}");
    }
    let requests = xero.requests().len();
    let summary = support::eventually("both jobs compared", async || {
        let text = run(&["shadow-diff", "xero", "--json"]);
        let summary: serde_json::Value = serde_json::from_str(&text).unwrap();
        (summary["jobsCompared"] == 2).then_some(summary)
    })
    .await;
    assert_eq!(summary["candidate"], "xero@0.3.0");
    assert_eq!(summary["sameVerdict"], 0);
    assert_eq!(
        summary["wouldNowFail"]["missing_configuration"], 2,
        "{summary}"
    );
    assert_eq!(summary["requestsNotOnTape"], 0, "{summary}");
    assert_eq!(xero.requests().len(), requests, "the shadow sent nothing");
    let table = run(&["shadow-diff", "xero"]);
    for job in &jobs {
        assert!(table.contains(&job.to_string()), "{table}");
    }
    assert!(
        table.contains("proceed → fail (missing_configuration)"),
        "{table}"
    );

    // Promoted, 0.3.0 decides the next job.
    assert!(run(&["promote", "xero"]).contains("xero: 0.3.0 is active"));
    let job = pleo.seed_job(SeedJob::pending(companies[0]));
    let outcome = outcome_of(&http, &api, Some("op-token"), job).await;
    assert_eq!(outcome["plugin"], "xero 0.3.0", "{outcome}");
    assert_eq!(
        pleo.job(job).unwrap()["failureReasonType"],
        "missing_configuration"
    );
    let refused = preflight(
        &["plugins", "discard", "xero", "--server", &api],
        Some("op-token"),
    );
    assert_eq!(refused.status.code(), Some(2), "nothing in shadow any more");
    assert_eq!(serving.stop(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}
