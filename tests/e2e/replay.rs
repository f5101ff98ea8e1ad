//! Recorded validations replayed offline: `preflight serve` validates two
//! jobs against Xero emulators (one fails, one proceeds) and writes the
//! decision log to its SQLite store; then every emulator is stopped and
//! `preflight replay` runs the recorded validations again from the recorded
//! exchanges, with the recorded plugin version or another, while
//! `preflight outcomes` lists and shows what was recorded.

use std::path::PathBuf;
use std::process::Command;

use preflight_emulators::pleo::{self, JobStatus, PleoConfig, PleoEmulator, SeedJob};
use preflight_emulators::xero::{self, Scenario};

use crate::serve::{PREFLIGHT, spawn_serve};
use crate::support;

/// One `[[companies]]` entry: Xero at `xero_url`, settings without `taxType`
/// (the bundled Xero plugin does not need one; the stricter 0.3.0 does).
fn company_entry(company: uuid::Uuid, xero_url: &str) -> String {
    format!(
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
    )
}

/// What `serve` recorded, with every emulator stopped.
struct Recording {
    dir: PathBuf,
    /// The operator configuration `serve` ran with.
    config: PathBuf,
    /// `sqlite://<stateDir>/preflight.db`, where `serve` kept its store.
    store: String,
    /// Validated against a Xero whose expense account is missing: failed.
    failing: uuid::Uuid,
    /// Validated against a healthy Xero: handed over.
    proceeding: uuid::Uuid,
    /// The healthy Xero's base URL, now closed.
    xero_url: String,
}

impl Recording {
    fn remove(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `serve` until both jobs have their outcome, stops it, then stops the
/// emulators.
async fn record(name: &str) -> Recording {
    let pleo = PleoEmulator::start(PleoConfig::default(), support::loopback())
        .await
        .expect("Pleo emulator starts");
    let xero_missing = support::xero_emulator(&[Scenario::AccountsMissing]).await;
    let xero_healthy = support::xero_emulator(&[]).await;
    let (failing_company, proceeding_company) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let seed = |company_id| {
        pleo.seed_job(SeedJob {
            company_id,
            vendor_based_bookkeeping: false,
            number_of_items: 2,
            is_interactive: true,
            status: JobStatus::Pending,
            expires_in: None,
        })
    };
    let failing = seed(failing_company);
    let proceeding = seed(proceeding_company);

    let dir = support::temp_dir(name);
    let state = dir.join("state");
    let config = dir.join("preflight.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[pleo]
baseUrl = "{pleo_url}"
auth = {{ type = "apiKey", key = "{key}" }}
pollIntervalSecs = 1

[runner]
stateDir = "{state}"
retryDelayMs = 100

[sandbox]
allowHttpLoopback = true
{failing_entry}{proceeding_entry}"#,
            pleo_url = pleo.url(),
            key = pleo::DEMO_API_KEY,
            state = state.display(),
            failing_entry = company_entry(failing_company, &xero_missing.url()),
            proceeding_entry = company_entry(proceeding_company, &xero_healthy.url()),
        ),
    )
    .unwrap();

    let (mut serving, api) = spawn_serve(&config);
    let http = reqwest::Client::new();
    let actions = support::eventually("both jobs' outcomes", async || {
        let outcomes: serde_json::Value = http
            .get(format!("{api}/v1/outcomes"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let action = |job: uuid::Uuid| {
            outcomes
                .as_array()?
                .iter()
                .find(|o| o["job_id"] == job.to_string())
                .map(|o| o["action"].clone())
        };
        Some((action(failing)?, action(proceeding)?))
    })
    .await;
    assert_eq!(
        actions,
        (
            serde_json::json!("failed_early"),
            serde_json::json!("handed_over")
        )
    );
    assert_eq!(serving.stop(), Some(0), "a clean stop on SIGTERM");
    assert_eq!(pleo.job(failing).unwrap()["status"], "failed");
    assert_eq!(pleo.job(proceeding).unwrap()["status"], "in_progress");

    // Nothing answers any more: whatever a replay gets, it got from the log.
    let xero_url = xero_healthy.url();
    xero_missing.shutdown().await;
    xero_healthy.shutdown().await;
    pleo.shutdown().await;
    let probe = http.get(format!("{xero_url}/connections")).send().await;
    assert!(probe.is_err(), "the Xero emulator is down: {probe:?}");

    Recording {
        store: format!("sqlite://{}", state.join("preflight.db").display()),
        dir,
        config,
        failing,
        proceeding,
        xero_url,
    }
}

/// What a `preflight` command did.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Stdout as one JSON document.
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("{error}: {}\n{}", self.stdout, self.stderr))
    }

    /// Stdout as one JSON object per line.
    fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}"))
            })
            .collect()
    }
}

fn preflight(args: &[&str]) -> Run {
    let output = Command::new(PREFLIGHT)
        .args(args)
        .env_remove("PREFLIGHT_STORE_URL")
        .output()
        .expect("preflight runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// `preflight replay <job> --store <url> [extra…] --json`.
fn replay(recording: &Recording, job: uuid::Uuid, extra: &[&str]) -> Run {
    let job = job.to_string();
    let mut args = vec!["replay", &job, "--store", &recording.store, "--json"];
    args.extend_from_slice(extra);
    preflight(&args)
}

/// Asserts that every recorded exchange, and nothing else, was played back.
fn assert_played_back_in_full(document: &serde_json::Value) {
    let exchanges = &document["exchanges"];
    let recorded = exchanges["recorded"].as_u64().unwrap();
    assert!(recorded > 0, "{document}");
    assert_eq!(exchanges["played"].as_u64(), Some(recorded), "{document}");
    assert_eq!(exchanges["unmatched"], serde_json::json!([]), "{document}");
    assert_eq!(exchanges["truncated"], 0, "{document}");
}

#[tokio::test]
async fn a_recorded_validation_replays_offline_to_the_same_verdict() {
    let recording = record("replay-same").await;

    let failing = replay(&recording, recording.failing, &[]);
    assert_eq!(failing.code, Some(0), "{}", failing.stderr);
    let document = failing.json();
    assert_eq!(document["job"], recording.failing.to_string());
    assert_eq!(document["sameVerdict"], true, "{document}");
    assert_eq!(document["recorded"]["plugin"]["name"], "xero");
    assert_eq!(document["recorded"]["plugin"]["version"], "0.1.0");
    let verdict = &document["recorded"]["verdict"];
    assert_eq!(verdict["verdict"], "fail", "{document}");
    assert_eq!(verdict["reason"], "missing_configuration", "{document}");
    assert!(
        verdict["message"]
            .as_str()
            .unwrap()
            .contains("Xero account 429"),
        "{document}"
    );
    assert_eq!(document["replayed"]["verdict"], *verdict);
    // The recorded version, found among the bundled plugins by its digest.
    let replayed_plugin = &document["replayed"]["plugin"];
    assert_eq!(replayed_plugin["name"], "xero");
    assert_eq!(replayed_plugin["version"], "0.1.0");
    assert_eq!(
        replayed_plugin["digest"], document["recorded"]["plugin"]["digest"],
        "{document}"
    );
    assert_eq!(
        document["checkChanges"],
        serde_json::json!([]),
        "{document}"
    );
    assert_played_back_in_full(&document);

    let proceeding = replay(&recording, recording.proceeding, &[]);
    assert_eq!(proceeding.code, Some(0), "{}", proceeding.stderr);
    let document = proceeding.json();
    assert_eq!(document["sameVerdict"], true, "{document}");
    assert_eq!(document["recorded"]["verdict"]["verdict"], "proceed");
    assert_eq!(document["replayed"]["verdict"]["verdict"], "proceed");
    assert_eq!(
        document["checkChanges"],
        serde_json::json!([]),
        "{document}"
    );
    assert!(
        document["replayed"]["checks"].as_array().unwrap().len() > 5,
        "{document}"
    );
    assert_played_back_in_full(&document);

    // The same, as a person reads it.
    let text = preflight(&[
        "replay",
        &recording.proceeding.to_string(),
        "--store",
        &recording.store,
    ]);
    assert_eq!(text.code, Some(0), "{}", text.stderr);
    assert!(text.stdout.contains("same verdict"), "{}", text.stdout);
    assert!(
        text.stdout.contains("recorded  xero 0.1.0")
            && text.stdout.contains("replayed  xero 0.1.0"),
        "{}",
        text.stdout
    );
    recording.remove();
}

#[tokio::test]
async fn replaying_with_another_version_shows_where_the_verdict_changes() {
    let recording = record("replay-versions").await;

    // 0.3.0 requires a tax type, which this company never configured.
    let strict = replay(
        &recording,
        recording.proceeding,
        &["--plugin", preflight_artifacts::fixtures::XERO_STRICT],
    );
    assert_eq!(strict.code, Some(1), "{}", strict.stderr);
    let document = strict.json();
    assert_eq!(document["sameVerdict"], false, "{document}");
    assert_eq!(document["recorded"]["verdict"]["verdict"], "proceed");
    let verdict = &document["replayed"]["verdict"];
    assert_eq!(verdict["verdict"], "fail", "{document}");
    assert_eq!(verdict["reason"], "missing_configuration", "{document}");
    assert_eq!(verdict["check"], "xero.tax-type", "{document}");
    assert_eq!(document["replayed"]["plugin"]["name"], "xero");
    assert_eq!(document["replayed"]["plugin"]["version"], "0.3.0");
    assert_ne!(
        document["replayed"]["plugin"]["digest"],
        document["recorded"]["plugin"]["digest"]
    );
    let changes = document["checkChanges"].as_array().unwrap();
    assert!(
        changes.contains(&serde_json::json!({
            "check": "xero.tax-type", "recorded": "-", "replayed": "failed"
        })),
        "{document}"
    );
    // The checks 0.1.0 passed are gone from the replay.
    assert!(
        changes
            .iter()
            .any(|c| c["recorded"] == "passed" && c["replayed"] == "-"),
        "{document}"
    );
    // It decides offline, before any request.
    assert_eq!(document["exchanges"]["played"], 0, "{document}");
    assert!(document["exchanges"]["recorded"].as_u64().unwrap() > 0);

    let text = preflight(&[
        "replay",
        &recording.proceeding.to_string(),
        "--store",
        &recording.store,
        "--plugin",
        preflight_artifacts::fixtures::XERO_STRICT,
    ]);
    assert_eq!(text.code, Some(1), "{}", text.stderr);
    assert!(text.stdout.contains("VERDICT DIFFERS"), "{}", text.stdout);
    assert!(
        text.stdout.contains("check xero.tax-type: - → failed"),
        "{}",
        text.stdout
    );

    // 0.2.0 has the same rules as 0.1.0: the same verdicts, from the same
    // exchanges.
    for job in [recording.proceeding, recording.failing] {
        let next = replay(
            &recording,
            job,
            &["--plugin", preflight_artifacts::fixtures::XERO_NEXT],
        );
        assert_eq!(next.code, Some(0), "{}", next.stderr);
        let document = next.json();
        assert_eq!(document["sameVerdict"], true, "{document}");
        assert_eq!(document["replayed"]["plugin"]["version"], "0.2.0");
        assert_eq!(
            document["replayed"]["verdict"],
            document["recorded"]["verdict"]
        );
        assert_played_back_in_full(&document);
    }

    // A bundled plugin by name.
    let bundled = replay(&recording, recording.proceeding, &["--plugin", "xero"]);
    assert_eq!(bundled.code, Some(0), "{}", bundled.stderr);
    assert_eq!(bundled.json()["replayed"]["plugin"]["version"], "0.1.0");
    recording.remove();
}

#[tokio::test]
async fn outcomes_list_and_show_what_was_recorded() {
    let recording = record("replay-outcomes").await;
    let store = recording.store.as_str();

    let listed = preflight(&[
        "outcomes",
        "--store",
        store,
        "--json",
        "--job",
        &recording.proceeding.to_string(),
    ]);
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    let rows = listed.json_lines();
    assert_eq!(rows.len(), 1, "{}", listed.stdout);
    let row = &rows[0];
    assert_eq!(row["jobId"], recording.proceeding.to_string());
    assert_eq!(row["accountingSystem"], "xero");
    assert_eq!(row["plugin"], "xero 0.1.0");
    assert_eq!(row["verdict"], "proceed");
    assert_eq!(row["outcome"], "handed_over");
    let proceeding_decision = row["id"].as_i64().unwrap();

    // Through the operator's configuration: both jobs, newest first.
    let listed = preflight(&[
        "outcomes",
        "--config",
        recording.config.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    let rows = listed.json_lines();
    assert_eq!(rows.len(), 2, "{}", listed.stdout);
    let failed = rows
        .iter()
        .find(|r| r["jobId"] == recording.failing.to_string())
        .expect("the failed job is listed");
    assert_eq!(failed["plugin"], "xero 0.1.0");
    assert_eq!(failed["verdict"], "fail");
    assert_eq!(failed["reason"], "missing_configuration");
    assert_eq!(failed["outcome"], "failed");
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains("Xero account 429"),
        "{failed}"
    );

    let shown = preflight(&[
        "outcomes",
        "show",
        &recording.proceeding.to_string(),
        "--store",
        store,
        "--json",
    ]);
    assert_eq!(shown.code, Some(0), "{}", shown.stderr);
    assert!(
        !shown.stdout.contains(xero::DEMO_ACCESS_TOKEN),
        "credentials are never logged"
    );
    let document = shown.json();
    let decisions = document["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), 1, "{document}");
    assert_eq!(decisions[0]["id"], proceeding_decision);
    assert_eq!(decisions[0]["plugin"]["version"], "0.1.0");
    let exchanges = decisions[0]["exchanges"].as_array().unwrap();
    assert!(!exchanges.is_empty(), "{document}");
    for exchange in exchanges {
        assert_eq!(exchange["method"], "GET", "read-only probes: {exchange}");
        assert!(
            exchange["url"]
                .as_str()
                .unwrap()
                .starts_with(&recording.xero_url),
            "{exchange}"
        );
    }
    assert!(
        exchanges.iter().any(
            |e| e["url"] == format!("{}/connections", recording.xero_url) && e["status"] == 200
        ),
        "{document}"
    );
    let journal = document["journal"].as_array().unwrap();
    let last = journal.last().expect("a journal");
    assert_eq!(last["stage"], "done", "{document}");
    assert_eq!(last["outcome"], "handed_over", "{document}");
    assert_eq!(journal[0]["stage"], "claiming", "{document}");

    let shown = preflight(&[
        "outcomes",
        "show",
        &recording.failing.to_string(),
        "--store",
        store,
        "--json",
    ]);
    assert_eq!(shown.code, Some(0), "{}", shown.stderr);
    let document = shown.json();
    let stages: Vec<&str> = document["journal"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["stage"].as_str().unwrap())
        .collect();
    assert!(stages.contains(&"failing"), "{document}");
    assert_eq!(stages.last(), Some(&"done"), "{document}");
    assert_eq!(
        document["journal"].as_array().unwrap().last().unwrap()["outcome"],
        "failed"
    );

    // A recorded validation picked by its id.
    let picked = replay(
        &recording,
        recording.proceeding,
        &["--decision", &proceeding_decision.to_string()],
    );
    assert_eq!(picked.code, Some(0), "{}", picked.stderr);
    assert_eq!(picked.json()["decision"], proceeding_decision);

    // A job the store never saw.
    let unknown = uuid::Uuid::new_v4().to_string();
    let shown = preflight(&["outcomes", "show", &unknown, "--store", store, "--json"]);
    assert_eq!(shown.code, Some(2), "{}", shown.stderr);
    assert!(
        shown.stderr.contains("is not in the store"),
        "{}",
        shown.stderr
    );
    let replayed = preflight(&["replay", &unknown, "--store", store]);
    assert_eq!(replayed.code, Some(2), "{}", replayed.stderr);
    assert!(
        replayed
            .stderr
            .contains("no recorded plugin validation of job"),
        "{}",
        replayed.stderr
    );
    let listed = preflight(&["outcomes", "--store", store, "--json", "--job", &unknown]);
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    assert_eq!(listed.stdout, "", "nothing listed");
    recording.remove();
}
