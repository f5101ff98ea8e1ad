//! Recorded validations replayed offline: `preflight serve` validates two
//! jobs against Xero emulators (one fails, one proceeds) and writes the
//! decision log to its SQLite store; then every emulator is stopped and
//! `preflight replay` runs the recorded validations again from the recorded
//! exchanges, with the recorded plugin version or another, while
//! `preflight outcomes` lists and shows what was recorded.

use std::path::PathBuf;
use std::process::Command;

use preflight_emulators::pleo::{PleoConfig, PleoEmulator, SeedJob};
use preflight_emulators::xero::{self, Scenario};

use crate::serve::{OperatorToml, PREFLIGHT, outcome_of, spawn_serve};
use crate::support;

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
    /// What `serve` answered to `GET /v1/jobs/{failing}`.
    served_report: serde_json::Value,
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
            number_of_items: 2,
            ..SeedJob::pending(company_id)
        })
    };
    let failing = seed(failing_company);
    let proceeding = seed(proceeding_company);

    let dir = support::temp_dir(name);
    let state = dir.join("state");
    let config = dir.join("preflight.toml");
    let operator = OperatorToml::new(
        pleo.url(),
        Some(state.clone()),
        vec![
            (failing_company, xero_missing.url()),
            (proceeding_company, xero_healthy.url()),
        ],
    );
    std::fs::write(&config, operator.to_string()).unwrap();

    let (mut serving, api) = spawn_serve(&config);
    let http = reqwest::Client::new();
    let actions = (
        outcome_of(&http, &api, None, failing).await["action"].clone(),
        outcome_of(&http, &api, None, proceeding).await["action"].clone(),
    );
    assert_eq!(
        actions,
        (
            serde_json::json!("failed_early"),
            serde_json::json!("handed_over")
        )
    );
    let served_report = read_the_log_over_http(&http, &api, failing, proceeding).await;
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
        served_report,
    }
}

/// `GET /v1/decisions` with its filters and `GET /v1/jobs/{job}` of the
/// running `serve`; returns the failing job's report.
async fn read_the_log_over_http(
    http: &reqwest::Client,
    api: &str,
    failing: uuid::Uuid,
    proceeding: uuid::Uuid,
) -> serde_json::Value {
    let get = async |path: &str| {
        let response = http.get(format!("{api}{path}")).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json::<serde_json::Value>().await.unwrap())
    };
    let (status, all) = get("/v1/decisions").await;
    assert_eq!(status, 200, "{all}");
    let jobs: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["jobId"].as_str().unwrap())
        .collect();
    assert_eq!(jobs.len(), 2, "one validation per job: {all}");
    for job in [failing, proceeding] {
        assert!(jobs.contains(&job.to_string().as_str()), "{all}");
    }
    let (status, failed) = get("/v1/decisions?verdict=fail&reason=missing_configuration").await;
    assert_eq!(status, 200, "{failed}");
    assert_eq!(failed.as_array().unwrap().len(), 1, "{failed}");
    assert_eq!(failed[0]["jobId"], failing.to_string());
    assert_eq!(failed[0]["outcome"], "failed");
    let (status, none) = get(&format!("/v1/decisions?job={proceeding}&verdict=fail")).await;
    assert_eq!((status, none), (200, serde_json::json!([])));
    let (status, limited) = get("/v1/decisions?limit=1").await;
    assert_eq!(status, 200, "{limited}");
    assert_eq!(limited.as_array().unwrap().len(), 1, "{limited}");

    let (status, wrong) = get("/v1/decisions?since=last-tuesday").await;
    assert_eq!(status, 400, "{wrong}");
    assert!(
        wrong["error"].as_str().unwrap().starts_with("since: "),
        "the wrong parameter is named: {wrong}"
    );
    let (status, wrong) = get("/v1/decisions?color=blue").await;
    assert_eq!(status, 400, "unknown parameters are refused: {wrong}");
    assert!(
        wrong["error"].as_str().unwrap().contains("color"),
        "{wrong}"
    );

    let (status, report) = get(&format!("/v1/jobs/{failing}")).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["job"]["stage"], "done", "{report}");
    assert_eq!(report["decisions"].as_array().unwrap().len(), 1, "{report}");
    let (status, unknown) = get(&format!("/v1/jobs/{}", uuid::Uuid::new_v4())).await;
    assert_eq!(status, 404, "{unknown}");
    let (status, _) = get("/v1/jobs/not-a-uuid").await;
    assert_eq!(status, 400);
    report
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

/// `preflight outcomes show <job> --store <url> --json`.
fn show(store: &str, job: &str) -> Run {
    preflight(&["outcomes", "show", job, "--store", store, "--json"])
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
            // Every report lists every rule now: the tax rule 0.1.0 had no
            // tax type to check is recorded as skipped, not absent.
            "check": "xero.tax-type", "recorded": "skipped", "replayed": "failed"
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
        text.stdout
            .contains("check xero.tax-type: skipped → failed"),
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

    // The operator API read the same store while `serve` ran.
    let shown = show(store, &recording.failing.to_string());
    assert_eq!(shown.code, Some(0), "{}", shown.stderr);
    assert_eq!(shown.json(), recording.served_report);

    let shown = show(store, &recording.proceeding.to_string());
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

    let shown = show(store, &recording.failing.to_string());
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
    let shown = show(store, &unknown);
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
