//! Companies as runtime state: configurations and OAuth tokens in the
//! store, managed through `/v1/companies` and `preflight companies` while
//! `serve` runs, secrets sealed and never shown.

use std::process::Command;

use preflight_emulators::pleo::{PleoConfig, PleoEmulator, SeedJob};
use preflight_emulators::xero::{self, Scenario};

use crate::serve::{OperatorToml, PREFLIGHT, ready, spawn_serve_with};
use crate::support;

const OPERATOR_TOKEN: &str = "operator-token-for-companies-tests";
const CLIENT_SECRET: &str = "xero-client-secret-never-shown";
const BEARER: &str = "bearer-token-value-never-shown";

/// Every secret value a test used: none may appear anywhere it can read.
fn assert_secret_free(what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !text.contains(secret),
            "{what} holds the secret {secret:?}:\n{text}"
        );
    }
}

/// A store file's bytes, with its write-ahead log, as text.
fn sqlite_bytes(database: &std::path::Path) -> String {
    let mut bytes = Vec::new();
    for suffix in ["", "-wal"] {
        let mut path = database.as_os_str().to_owned();
        path.push(suffix);
        if let Ok(read) = std::fs::read(&path) {
            bytes.extend(read);
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn oauth_config(xero_url: &str) -> serde_json::Value {
    serde_json::json!({
        "accountingSystem": "xero",
        "baseUrl": xero_url,
        "tenantId": xero::DEMO_TENANT_ID,
        "credentials": {
            "type": "oauth2",
            "accessToken": xero::DEMO_ACCESS_TOKEN,
            "refreshToken": xero::DEMO_REFRESH_TOKEN,
            "tokenUrl": format!("{xero_url}/connect/token"),
            "clientId": "preflight-tests",
            "clientSecret": CLIENT_SECRET,
        },
        "settings": { "accounts": { "expenses": "429", "contra": "800" } },
    })
}

/// A Xero emulator whose demo access token is expired and whose refreshes
/// issue tokens that live `lifetime`.
async fn expiring_xero(lifetime: std::time::Duration) -> xero::XeroEmulator {
    xero::XeroEmulator::start(
        xero::XeroConfig {
            scenarios: vec![Scenario::TokenExpired],
            access_token_lifetime: lifetime,
            ..xero::XeroConfig::default()
        },
        support::loopback(),
    )
    .await
    .unwrap()
}

/// An operator file's `[[companies]]` entry for `company` on the Xero
/// emulator at `url`, with OAuth credentials starting from `refresh`.
fn oauth_company_toml(company: uuid::Uuid, url: &str, refresh: &str) -> String {
    format!(
        r#"
[[companies]]
companyId = "{company}"
accountingSystem = "xero"
baseUrl = "{url}"
tenantId = "{tenant}"
credentials = {{ type = "oauth2", accessToken = "{access}", refreshToken = "{refresh}", tokenUrl = "{url}/connect/token", clientId = "preflight-tests", clientSecret = "{CLIENT_SECRET}" }}
settings = {{ accounts = {{ expenses = "429", contra = "800" }} }}
"#,
        tenant = xero::DEMO_TENANT_ID,
        access = xero::DEMO_ACCESS_TOKEN,
    )
}

fn token_calls(emulator: &xero::XeroEmulator) -> usize {
    emulator
        .requests()
        .iter()
        .filter(|request| request.path == "/connect/token")
        .count()
}

// Multi-threaded: the CLI runs as a child the test waits for, while the
// emulator answers it from the test's runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_with_a_store_keeps_the_rotated_refresh_token_for_the_next_run() {
    let emulator = support::xero_emulator(&[Scenario::TokenExpired]).await;
    let dir = support::temp_dir("check-store");
    let config = dir.join("config.json");
    std::fs::write(&config, oauth_config(&emulator.url()).to_string()).unwrap();
    let job = dir.join("job.json");
    std::fs::write(&job, support::job_json(false)).unwrap();
    let store = format!("sqlite://{}", dir.join("state/preflight.db").display());
    let check = |with_store: bool| {
        let mut command = Command::new(PREFLIGHT);
        command.args([
            "check",
            "--plugin",
            "xero",
            "--job",
            job.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--json",
            "--log-level",
            "trace",
        ]);
        if with_store {
            command.args(["--store", &store]);
        }
        command.output().unwrap()
    };

    // The first run refreshes the expired token; the second finds the
    // rotated one in the store and needs no refresh.
    for run in 0..2 {
        let output = check(true);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(0),
            "run {run}: {stdout}\n{stderr}"
        );
        assert_secret_free(
            "check's output",
            &stdout,
            &[CLIENT_SECRET, "xero-refreshed-access-token"],
        );
        assert_secret_free(
            "check's trace log",
            &stderr,
            &[
                CLIENT_SECRET,
                "xero-refreshed-access-token",
                "rotated-refresh",
            ],
        );
    }
    assert_eq!(
        token_calls(&emulator),
        1,
        "one refresh, kept for the second run"
    );

    // Without the store the rotated token is not known: the run refreshes
    // again with the spent demo refresh token, which only Xero's grace
    // period for the previous refresh token still accepts.
    let output = check(false);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(token_calls(&emulator), 2);
    assert_eq!(
        emulator.graced_token_calls(),
        1,
        "spent within its grace period"
    );

    // Nothing secret in the store file: not the client secret, not the
    // tokens the emulator issued.
    let bytes = sqlite_bytes(&dir.join("state/preflight.db"));
    assert!(
        bytes.contains("preflight-tests"),
        "the client id is stored in clear"
    );
    assert_secret_free(
        "the SQLite file",
        &bytes,
        &[
            CLIENT_SECRET,
            "xero-refreshed-access-token",
            "rotated-refresh",
            xero::DEMO_REFRESH_TOKEN,
        ],
    );
    // The key was made beside the database, readable by its owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join("state/secrets.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // `companies show` reads the state back without values.
    let company =
        serde_json::from_str::<serde_json::Value>(&support::job_json(false)).unwrap()["companyId"]
            .as_str()
            .map(str::to_owned)
            .expect("the job names its company");
    let output = Command::new(PREFLIGHT)
        .args(["companies", "--store", &store, "show", &company])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let shown: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let credentials = &shown["credentials"];
    assert_eq!(credentials["type"], "oauth2");
    assert_eq!(credentials["status"], "connected");
    assert_eq!(
        credentials["set"],
        serde_json::json!(["accessToken", "clientSecret", "refreshToken"])
    );
    assert!(credentials["accessTokenExpiresAt"].is_string(), "{shown}");
    assert!(credentials["lastRefreshAt"].is_string(), "{shown}");
    assert_eq!(credentials["fingerprint"].as_str().map(str::len), Some(16));
    assert_secret_free(
        "companies show",
        &shown.to_string(),
        &[CLIENT_SECRET, "xero-refreshed", "rotated-refresh"],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A running `serve` with the operator token and a SQLite store, logging
/// at trace level, with no company in its file.
struct Server {
    serving: crate::serve::Serving,
    api: String,
    http: reqwest::Client,
    dir: std::path::PathBuf,
}

impl Server {
    /// `company` is watched, so the first sweep (which makes `serve` ready)
    /// lists it, configured or not.
    async fn start(name: &str, pleo: &PleoEmulator, company: uuid::Uuid) -> Server {
        let dir = support::temp_dir(name);
        let path = dir.join("preflight.toml");
        let toml = OperatorToml {
            poll_interval_secs: 3600,
            watched: vec![company],
            extra: format!("[server]\ntoken = \"{OPERATOR_TOKEN}\"\n"),
            ..OperatorToml::new(pleo.url(), Some(dir.join("state")), Vec::new())
        };
        std::fs::write(&path, toml.to_string()).unwrap();
        let (serving, api) = spawn_serve_with(&path, "trace");
        let http = reqwest::Client::new();
        ready(&http, &api).await;
        Server {
            serving,
            api,
            http,
            dir,
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
        if_match: Option<i64>,
    ) -> (u16, serde_json::Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.api))
            .bearer_auth(OPERATOR_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(version) = if_match {
            request = request.header("if-match", format!("\"{version}\""));
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(PREFLIGHT)
            .args(["companies", "--server", &self.api])
            .args(args)
            .env("PREFLIGHT_OPERATOR_TOKEN", OPERATOR_TOKEN)
            .output()
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn companies_are_managed_through_the_api_and_the_cli_while_serve_runs() {
    let pleo = PleoEmulator::start(PleoConfig::default(), support::loopback())
        .await
        .unwrap();
    let emulator = support::xero_emulator(&[]).await;
    let company = uuid::Uuid::new_v4();
    let mut server = Server::start("companies-api", &pleo, company).await;
    let path = format!("/v1/companies/{company}");
    let document = serde_json::json!({
        "accountingSystem": "xero",
        "baseUrl": emulator.url(),
        "tenantId": xero::DEMO_TENANT_ID,
        "credentials": { "type": "headers", "headers": [
            { "name": "Authorization", "value": format!("Bearer {}", xero::DEMO_ACCESS_TOKEN) },
            { "name": "X-Second-Secret", "value": BEARER },
        ]},
        "settings": { "accounts": { "expenses": "429", "contra": "800" } },
    });

    // A job of the company before it is configured fails as such.
    let early = pleo.seed_job(SeedJob::pending(company));
    let (status, answer) = server
        .call(
            reqwest::Method::POST,
            "/v1/validate",
            Some(serde_json::json!({ "jobId": early })),
            None,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["verdict"]["reason"], "missing_configuration",
        "{answer}"
    );

    // Changes need the token.
    let refused = server
        .http
        .put(format!("{}{path}", server.api))
        .json(&document)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    let (status, created) = server
        .call(reqwest::Method::PUT, &path, Some(document.clone()), Some(0))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["version"], 1);
    assert_eq!(created["credentials"]["type"], "headers");
    assert_eq!(
        created["credentials"]["headers"],
        serde_json::json!([{ "name": "Authorization" }, { "name": "X-Second-Secret" }])
    );
    assert_eq!(
        created["credentials"]["set"],
        serde_json::json!(["headers[0].value", "headers[1].value"])
    );

    // The next validation uses it, no restart; both headers went out.
    let job = pleo.seed_job(SeedJob::pending(company));
    let (status, answer) = server
        .call(
            reqwest::Method::POST,
            "/v1/validate",
            Some(serde_json::json!({ "jobId": job })),
            None,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["verdict"]["verdict"], "proceed", "{answer}");
    let seen = emulator.requests();
    assert!(
        seen.iter().any(|r| r
            .headers
            .iter()
            .any(|(n, v)| n == "x-second-secret" && v == BEARER)),
        "the second credential header was attached"
    );

    // An invalid write is refused naming the field; the version stays.
    let (status, refused) = server
        .call(
            reqwest::Method::PATCH,
            &path,
            Some(serde_json::json!({ "settings": { "accounts": { "expenses": 429 } } })),
            None,
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(
        refused["fields"][0]["field"], "settings.accounts.expenses",
        "{refused}"
    );
    let (status, refused) = server
        .call(
            reqwest::Method::PATCH,
            &path,
            Some(serde_json::json!({ "baseUrl": "http://accounting.example.com" })),
            None,
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["fields"][0]["field"], "baseUrl", "{refused}");
    let (_, shown) = server.call(reqwest::Method::GET, &path, None, None).await;
    assert_eq!(shown["version"], 1, "{shown}");
    assert_eq!(shown["settings"]["accounts"]["expenses"], "429");

    // A stale If-Match is refused; a merge keeps the secrets it leaves out.
    let patch = serde_json::json!({ "settings": { "accounts": { "expenses": "400" } } });
    let (status, _) = server
        .call(reqwest::Method::PATCH, &path, Some(patch.clone()), Some(7))
        .await;
    assert_eq!(status, 412);
    let (status, patched) = server
        .call(reqwest::Method::PATCH, &path, Some(patch), Some(1))
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["version"], 2);
    assert_eq!(
        patched["credentials"]["fingerprint"], created["credentials"]["fingerprint"],
        "same secrets"
    );
    let (_, shown) = server.call(reqwest::Method::GET, &path, None, None).await;
    let audit = shown["audit"].as_array().unwrap();
    assert_eq!(audit.len(), 2, "{shown}");
    assert_eq!(
        audit[1]["fields"],
        serde_json::json!(["settings.accounts.expenses"])
    );
    assert_eq!(audit[1]["via"], "api");

    // The CLI against the server: list, export (no values), set from a file.
    let output = server.cli(&["list"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listed = String::from_utf8_lossy(&output.stdout);
    assert!(
        listed.contains(&company.to_string()) && listed.contains("headers"),
        "{listed}"
    );
    let output = server.cli(&["export"]);
    let exported: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(exported[0]["companyId"], company.to_string());
    assert_secret_free(
        "export",
        &exported.to_string(),
        &[BEARER, xero::DEMO_ACCESS_TOKEN],
    );
    let file = server.dir.join("patch.json");
    std::fs::write(&file, r#"{"settings": {"accounts": {"expenses": true}}}"#).unwrap();
    let output = server.cli(&[
        "set",
        &company.to_string(),
        file.to_str().unwrap(),
        "--merge",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("settings.accounts.expenses"), "{stderr}");

    // The exported list imports again unchanged: its secrets are kept.
    let exported_file = server.dir.join("exported.json");
    std::fs::write(&exported_file, exported.to_string()).unwrap();
    let output = server.cli(&["import", exported_file.to_str().unwrap()]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (_, shown) = server.call(reqwest::Method::GET, &path, None, None).await;
    assert_eq!(
        shown["version"], 2,
        "an unchanged import is no new version: {shown}"
    );

    // Removed: its jobs fail as unconfigured again.
    let output = server.cli(&["remove", &company.to_string()]);
    assert_eq!(output.status.code(), Some(0));
    let (status, _) = server.call(reqwest::Method::GET, &path, None, None).await;
    assert_eq!(status, 404);
    let (_, answer) = server
        .call(
            reqwest::Method::POST,
            "/v1/validate",
            Some(serde_json::json!({ "jobId": job })),
            None,
        )
        .await;
    assert_eq!(
        answer["verdict"]["reason"], "missing_configuration",
        "{answer}"
    );

    // No secret anywhere: metrics, decision log, logs at trace level, store.
    let metrics = server
        .http
        .get(format!("{}/metrics", server.api))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("preflight_company_writes_total{via=\"api\"} 2"),
        "{metrics}"
    );
    let secrets = [BEARER, xero::DEMO_ACCESS_TOKEN];
    assert_secret_free("/metrics", &metrics, &secrets);
    let (_, report) = server
        .call(reqwest::Method::GET, &format!("/v1/jobs/{job}"), None, None)
        .await;
    assert_secret_free("the decision log", &report.to_string(), &secrets);
    server.serving.stop();
    assert_secret_free("serve's trace log", &server.serving.logs(), &secrets);
    assert_secret_free(
        "the SQLite file",
        &sqlite_bytes(&server.dir.join("state/preflight.db")),
        &secrets,
    );
    let _ = std::fs::remove_dir_all(&server.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settings_change_under_load_fails_no_validation_and_later_ones_use_it() {
    let pleo = PleoEmulator::start(PleoConfig::default(), support::loopback())
        .await
        .unwrap();
    let emulator = support::xero_emulator(&[]).await;
    let company = uuid::Uuid::new_v4();
    let mut server = Server::start("companies-load", &pleo, company).await;
    let path = format!("/v1/companies/{company}");
    let mut document = oauth_config(&emulator.url());
    document["credentials"] =
        serde_json::json!({ "type": "bearer", "token": xero::DEMO_ACCESS_TOKEN });
    let (status, created) = server
        .call(reqwest::Method::PUT, &path, Some(document), None)
        .await;
    assert_eq!(status, 201, "{created}");

    let jobs: Vec<uuid::Uuid> = (0..100)
        .map(|_| pleo.seed_job(SeedJob::pending(company)))
        .collect();
    let validate = |job: uuid::Uuid| {
        let request = server
            .http
            .post(format!("{}/v1/validate", server.api))
            .bearer_auth(OPERATOR_TOKEN)
            .json(&serde_json::json!({ "jobId": job }));
        async move {
            let answer: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
            answer
        }
    };
    let (first, rest) = jobs.split_at(50);
    let before = futures_util::future::join_all(first.iter().map(|job| validate(*job)));
    let write = async {
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        let (status, patched) = server
            .call(
                reqwest::Method::PATCH,
                &path,
                Some(serde_json::json!({ "settings": { "accounts": { "expenses": "400" } } })),
                None,
            )
            .await;
        assert_eq!(status, 200, "{patched}");
        std::time::SystemTime::now()
    };
    let (answers, written) = tokio::join!(before, write);
    let after: Vec<serde_json::Value> =
        futures_util::future::join_all(rest.iter().map(|job| validate(*job))).await;
    for answer in answers.iter().chain(&after) {
        assert_eq!(
            answer["verdict"]["verdict"], "proceed",
            "no validation fails: {answer}"
        );
    }
    // Every validation that began after the write used the new settings.
    let written = preflight_store::millis(written);
    let mut newer = 0;
    for job in &jobs {
        let (_, report) = server
            .call(reqwest::Method::GET, &format!("/v1/jobs/{job}"), None, None)
            .await;
        let decision = &report["decisions"][0];
        let expenses = decision["config"]["settings"]["accounts"]["expenses"]
            .as_str()
            .unwrap()
            .to_owned();
        if decision["at"].as_i64().unwrap() > written {
            assert_eq!(expenses, "400", "began after the write: {decision}");
            newer += 1;
        } else {
            assert!(expenses == "429" || expenses == "400", "{decision}");
        }
    }
    assert!(newer >= 50, "the 50 started after the write, at least");
    server.serving.stop();
    let _ = std::fs::remove_dir_all(&server.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_refresh_each_company_s_token_once_per_expiry_and_a_sigkill_loses_none() {
    let Some(server) = support::postgres_url() else {
        eprintln!("skipped: no PostgreSQL (PREFLIGHT_TEST_POSTGRES_URL)");
        return;
    };
    let postgres = crate::durable::fresh_database(&server).await;
    let pleo = PleoEmulator::start(PleoConfig::default(), support::loopback())
        .await
        .unwrap();
    // Every company's initial access token is expired; those a refresh
    // issues live four seconds.
    let lifetime = std::time::Duration::from_secs(4);
    let emulator = expiring_xero(lifetime).await;
    let companies: Vec<uuid::Uuid> = (0..50).map(|_| uuid::Uuid::new_v4()).collect();
    let mut entries = String::new();
    for (index, company) in companies.iter().enumerate() {
        entries.push_str(&oauth_company_toml(
            *company,
            &emulator.url(),
            &xero::XeroConfig::default().grant_refresh_token(&format!("company-{index}")),
        ));
    }
    let secrets = support::secrets_table();
    let mut replicas = Vec::new();
    let mut apis = Vec::new();
    for name in ["oauth-a", "oauth-b"] {
        let dir = support::temp_dir(name);
        let path = dir.join("preflight.toml");
        let toml = OperatorToml {
            extra: format!(
                "[store]\nurl = \"{postgres}\"\nreplicaId = \"{name}\"\nleaseSecs = 5\n{secrets}{entries}"
            ),
            ..OperatorToml::new(pleo.url(), None, Vec::new())
        };
        std::fs::write(&path, toml.to_string()).unwrap();
        let (serving, api) = crate::serve::spawn_serve(&path);
        replicas.push(serving);
        apis.push(api);
    }
    let http = reqwest::Client::new();
    for api in &apis {
        ready(&http, api).await;
    }
    let store = preflight_store::Store::open(&postgres, preflight_store::Identity::default())
        .await
        .unwrap();
    let seed = |count: usize| {
        let mut jobs = std::collections::BTreeMap::new();
        for _ in 0..count {
            for company in &companies {
                jobs.insert(pleo.seed_job(SeedJob::pending(*company)), ());
            }
        }
        jobs
    };

    // A first wave: every company refreshes its expired token once.
    let began = std::time::Instant::now();
    let first = seed(5);
    crate::durable::all_done(&store, &first).await;
    let after_first = emulator.token_calls();
    // The tokens of the first wave expire; the second wave refreshes them
    // again, and one replica is killed right after a refresh.
    tokio::time::sleep(lifetime).await;
    let second = seed(5);
    support::eventually("a refresh in the second wave", async || {
        (emulator.token_calls() > after_first).then_some(())
    })
    .await;
    // Until the kill, no refresh spent a token another had spent: no
    // refresh went through on the grace period.
    let graced_before_kill = emulator.graced_token_calls();
    replicas[0].child.kill().unwrap();
    let _ = replicas[0].child.wait();
    crate::durable::all_done(&store, &second).await;
    assert_eq!(replicas[1].stop(), Some(0));

    // No job failed: every one proceeded, none for authentication.
    let events = crate::durable::accepted(&pleo);
    for job in first.keys().chain(second.keys()) {
        let id = job.to_string();
        assert_eq!(
            events.get(&(id.clone(), "failed".to_owned())),
            None,
            "job {job} failed: {:?}",
            pleo.job(*job)
        );
    }
    assert_eq!(first.len() + second.len(), 500);
    // One token-endpoint call per expiry per company: every refresh spent
    // the grant's current refresh token (a replica refreshing a token
    // another had refreshed already would go through on the grace period
    // only, and be counted), save those lost to the SIGKILL.
    assert_eq!(emulator.refused_token_calls(), 0, "no refresh was refused");
    assert_eq!(
        graced_before_kill, 0,
        "no duplicate refresh before the kill"
    );
    // A refresh the killed replica had in flight was answered but never
    // stored: the next refresher presents the previous refresh token, which
    // the grace period accepts. At most one such per company.
    assert!(
        emulator.graced_token_calls() <= companies.len() as u64,
        "graced: {}",
        emulator.graced_token_calls()
    );
    let by_grant = emulator.token_calls_by_grant();
    assert_eq!(by_grant.len(), 50, "every company refreshed: {by_grant:?}");
    // Refreshed a quarter of a lifetime ahead: at most one refresh per
    // three quarters of a lifetime, the first included; at least the first
    // and one after the pause.
    let elapsed = began.elapsed();
    // (One more for a refresh lost to the kill.)
    let most = (elapsed.as_secs_f64() / (lifetime.as_secs_f64() * 0.75)).ceil() as u64 + 2;
    for (grant, calls) in &by_grant {
        assert!(
            (2..=most).contains(calls),
            "{grant}: {calls} refreshes in {elapsed:?} (at most {most})"
        );
    }
    // The tokens are in the store, sealed: the client secret and the
    // issued tokens appear nowhere in a dump of the database.
    let dump = pg_dump(&postgres);
    assert!(
        dump.contains("preflight-tests"),
        "the dump holds the companies"
    );
    assert_secret_free(
        "a PostgreSQL dump",
        &dump,
        &[
            CLIENT_SECRET,
            "xero-refreshed-access-token",
            "xero-rotated-refresh-token",
        ],
    );
    assert_secret_free(
        "serve's log",
        &replicas[1].logs(),
        &[
            CLIENT_SECRET,
            "xero-refreshed-access-token",
            "xero-rotated-refresh-token",
        ],
    );
}

/// Every row of every table of the database at `url`, as `pg_dump` (of the
/// Debian server `scripts/postgres` runs) writes it.
fn pg_dump(url: &str) -> String {
    let output = Command::new("sh")
        .args(["-c", "ls /usr/lib/postgresql/*/bin/pg_dump | tail -1"])
        .output()
        .unwrap();
    let pg_dump = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let output = Command::new(&pg_dump)
        .args(["--data-only", "--no-owner", url])
        .env("PGSSLMODE", "disable")
        .output()
        .unwrap_or_else(|error| panic!("{pg_dump}: {error}"));
    assert!(
        output.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_file_s_companies_are_an_import_the_latest_change_wins() {
    let pleo = PleoEmulator::start(PleoConfig::default(), support::loopback())
        .await
        .unwrap();
    let emulator = support::xero_emulator(&[]).await;
    let company = uuid::Uuid::new_v4();
    let dir = support::temp_dir("companies-import");
    let path = dir.join("preflight.toml");
    let write_file = |expenses: &str| {
        let toml = OperatorToml {
            poll_interval_secs: 3600,
            extra: format!("[server]\ntoken = \"{OPERATOR_TOKEN}\"\n"),
            ..OperatorToml::new(
                pleo.url(),
                Some(dir.join("state")),
                vec![(company, emulator.url())],
            )
        }
        .to_string()
        .replace("expenses = \"429\"", &format!("expenses = \"{expenses}\""));
        std::fs::write(&path, toml).unwrap();
    };
    let http = reqwest::Client::new();
    let start = || async {
        let (serving, api) = crate::serve::spawn_serve(&path);
        ready(&http, &api).await;
        (serving, api)
    };
    let shown = |api: String| {
        let request = http
            .get(format!("{api}/v1/companies/{company}"))
            .bearer_auth(OPERATOR_TOKEN);
        async move {
            let body: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
            (
                body["version"].as_i64().unwrap(),
                body["settings"]["accounts"]["expenses"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                body["updatedVia"].as_str().unwrap().to_owned(),
            )
        }
    };

    write_file("429");
    let (mut serving, api) = start().await;
    assert_eq!(
        shown(api.clone()).await,
        (1, "429".to_owned(), "file".to_owned())
    );
    let patched = http
        .patch(format!("{api}/v1/companies/{company}"))
        .bearer_auth(OPERATOR_TOKEN)
        .json(&serde_json::json!({ "settings": { "accounts": { "expenses": "400" } } }))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    assert_eq!(serving.stop(), Some(0));

    // The same file again: the API's change stands.
    let (mut serving, api) = start().await;
    assert_eq!(
        shown(api.clone()).await,
        (2, "400".to_owned(), "api".to_owned())
    );
    assert_eq!(serving.stop(), Some(0));

    // A changed entry: the file's change is the latest, and wins.
    write_file("404");
    let (mut serving, api) = start().await;
    assert_eq!(shown(api).await, (3, "404".to_owned(), "file".to_owned()));
    assert_eq!(serving.stop(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_key_rotation_reseals_every_secret_and_the_old_key_can_go() {
    let dir = support::temp_dir("rotate-key");
    let store = format!("sqlite://{}", dir.join("preflight.db").display());
    let run = |args: &[&str]| {
        let output = Command::new(PREFLIGHT).args(args).output().unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (old, new) = (dir.join("old.key"), dir.join("new.key"));
    for key in [&old, &new] {
        let (code, stdout, stderr) = run(&["secrets", "keygen", "--out", key.to_str().unwrap()]);
        assert_eq!(code, Some(0), "{stderr}");
        assert!(stdout.contains("wrote secrets key"), "{stdout}");
    }
    let (code, _, stderr) = run(&["secrets", "keygen", "--out", old.to_str().unwrap()]);
    assert_eq!(code, Some(2), "an existing key is never overwritten");
    assert!(stderr.contains("exists"), "{stderr}");

    let company = uuid::Uuid::new_v4().to_string();
    let config = dir.join("company.json");
    let mut document = oauth_config("https://api.xero.com");
    document["credentials"]["tokenUrl"] = "https://identity.xero.com/connect/token".into();
    std::fs::write(&config, document.to_string()).unwrap();
    let with = |key: &std::path::Path| {
        [
            "--store",
            &store,
            "--secrets-key-file",
            key.to_str().unwrap(),
        ]
        .map(str::to_owned)
    };
    let (code, stdout, stderr) = run(&[
        &["companies"][..],
        &with(&old).iter().map(String::as_str).collect::<Vec<_>>(),
        &["set", &company, config.to_str().unwrap()],
    ]
    .concat());
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let show = |key: &std::path::Path| {
        run(&[
            &["companies"][..],
            &with(key).iter().map(String::as_str).collect::<Vec<_>>(),
            &["show", &company],
        ]
        .concat())
    };
    let (code, before, _) = show(&old);
    assert_eq!(code, Some(0));
    let (code, _, stderr) = show(&new);
    assert_eq!(code, Some(2), "the new key alone cannot open the old seals");
    assert!(
        stderr.contains("neither the current key nor a previous one"),
        "{stderr}"
    );

    let (code, stdout, stderr) = run(&[
        "secrets",
        "rotate-key",
        "--store",
        &store,
        "--secrets-key-file",
        new.to_str().unwrap(),
        "--previous-key-file",
        old.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("re-sealed 1 configuration(s) and 1 token set(s)"),
        "{stdout}"
    );
    // The new key alone now opens everything; the old one nothing.
    let (code, after, stderr) = show(&new);
    assert_eq!(code, Some(0), "{stderr}");
    let view = |text: &str| {
        let mut view: serde_json::Value = serde_json::from_str(text).unwrap();
        view["credentials"]["fingerprint"] = serde_json::Value::Null;
        view["audit"] = serde_json::Value::Null;
        view
    };
    assert_eq!(
        view(&before),
        view(&after),
        "the same configuration, sealed anew"
    );
    let (code, _, _) = show(&old);
    assert_eq!(code, Some(2));
    let bytes = sqlite_bytes(&dir.join("preflight.db"));
    assert_secret_free(
        "the SQLite file",
        &bytes,
        &[
            CLIENT_SECRET,
            xero::DEMO_REFRESH_TOKEN,
            xero::DEMO_ACCESS_TOKEN,
        ],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pleo_organisations_each_with_an_expiring_grant_have_every_job_finished() {
    use preflight_emulators::pleo::{self, Organisation};
    let lifetime = std::time::Duration::from_secs(3);
    let organisations: Vec<(uuid::Uuid, Vec<uuid::Uuid>)> = (0..2)
        .map(|_| {
            (
                uuid::Uuid::new_v4(),
                (0..5).map(|_| uuid::Uuid::new_v4()).collect(),
            )
        })
        .collect();
    let pleo = PleoEmulator::start(
        PleoConfig {
            organisations: organisations
                .iter()
                .enumerate()
                .map(|(index, (id, companies))| Organisation {
                    id: *id,
                    companies: companies.clone(),
                    refresh_token: format!("pleo-grant-of-organisation-{index}"),
                })
                .collect(),
            access_token_lifetime: lifetime,
            ..PleoConfig::default()
        },
        support::loopback(),
    )
    .await
    .unwrap();
    let emulator = support::xero_emulator(&[]).await;
    let mut extra = format!("[server]\ntoken = \"{OPERATOR_TOKEN}\"\n");
    for (index, (id, _)) in organisations.iter().enumerate() {
        extra.push_str(&format!(
            r#"
[[pleo.organisations]]
id = "{id}"
auth = {{ type = "oauth2", tokenUrl = "{url}/oauth/token", clientId = "{client}", clientSecret = "{secret}", refreshToken = "pleo-grant-of-organisation-{index}" }}
"#,
            url = pleo.url(),
            client = pleo::DEMO_CLIENT_ID,
            secret = pleo::DEMO_CLIENT_SECRET,
        ));
    }
    for (organisation, companies) in &organisations {
        for company in companies {
            extra.push_str(&format!(
                r#"
[[companies]]
companyId = "{company}"
organisationId = "{organisation}"
accountingSystem = "xero"
baseUrl = "{url}"
tenantId = "{tenant}"
credentials = {{ type = "bearer", token = "{token}" }}
settings = {{ accounts = {{ expenses = "429", contra = "800" }} }}
"#,
                url = emulator.url(),
                tenant = xero::DEMO_TENANT_ID,
                token = xero::DEMO_ACCESS_TOKEN,
            ));
        }
    }
    let dir = support::temp_dir("organisations");
    let path = dir.join("preflight.toml");
    let toml = OperatorToml {
        extra,
        ..OperatorToml::new(pleo.url(), Some(dir.join("state")), Vec::new())
    };
    std::fs::write(&path, toml.to_string()).unwrap();
    let began = std::time::Instant::now();
    let (mut serving, api) = crate::serve::spawn_serve(&path);
    let http = reqwest::Client::new();
    ready(&http, &api).await;

    let seed = || {
        let mut jobs = std::collections::BTreeMap::new();
        for (_, companies) in &organisations {
            for company in companies {
                for _ in 0..5 {
                    jobs.insert(pleo.seed_job(SeedJob::pending(*company)), ());
                }
            }
        }
        jobs
    };
    let store = preflight_store::Store::open(
        &format!("sqlite://{}", dir.join("state/preflight.db").display()),
        preflight_store::Identity::default(),
    )
    .await
    .unwrap();
    let first = seed();
    crate::durable::all_done(&store, &first).await;
    // Both organisations' access tokens expire before the second wave.
    tokio::time::sleep(lifetime).await;
    let second = seed();
    crate::durable::all_done(&store, &second).await;
    assert_eq!(serving.stop(), Some(0));

    let events = crate::durable::accepted(&pleo);
    for job in first.keys().chain(second.keys()) {
        let id = job.to_string();
        assert_eq!(
            events.get(&(id.clone(), "started".to_owned())),
            Some(&1),
            "job {job}"
        );
        assert_eq!(events.get(&(id, "failed".to_owned())), None, "job {job}");
    }
    // One refresh per expiry per organisation. Pleo refuses a refresh
    // token at once after its use, so a second refresh of one token set
    // (two at once, or one that ignored the other's result) would show as
    // refused. A token is refreshed a quarter of its lifetime ahead: at
    // most one refresh per three quarters of a lifetime, the first
    // included; at least the first and one after the pause.
    assert_eq!(pleo.refused_token_calls(), 0);
    let by_organisation = pleo.token_calls_by_organisation();
    assert_eq!(by_organisation.len(), 2, "{by_organisation:?}");
    let elapsed = began.elapsed();
    let most = (elapsed.as_secs_f64() / (lifetime.as_secs_f64() * 0.75)).ceil() as u64 + 1;
    for (organisation, calls) in &by_organisation {
        assert!(
            (2..=most).contains(calls),
            "organisation {organisation}: {calls} refreshes in {elapsed:?} (at most {most})"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serve_restart_between_two_refreshes_keeps_the_rotated_token() {
    let pleo = PleoEmulator::start(PleoConfig::default(), support::loopback())
        .await
        .unwrap();
    // The demo access token is expired; those a refresh issues live three
    // seconds, so the second job after the restart needs a second refresh.
    let lifetime = std::time::Duration::from_secs(3);
    let emulator = expiring_xero(lifetime).await;
    let company = uuid::Uuid::new_v4();
    let dir = support::temp_dir("restart-refresh");
    let path = dir.join("preflight.toml");
    let toml = OperatorToml {
        extra: oauth_company_toml(company, &emulator.url(), xero::DEMO_REFRESH_TOKEN),
        ..OperatorToml::new(pleo.url(), Some(dir.join("state")), Vec::new())
    };
    std::fs::write(&path, toml.to_string()).unwrap();
    let http = reqwest::Client::new();
    let run_one_job = async || {
        let (mut serving, api) = crate::serve::spawn_serve(&path);
        ready(&http, &api).await;
        let job = pleo.seed_job(SeedJob::pending(company));
        let outcome = crate::serve::outcome_of(&http, &api, None, job).await;
        assert_eq!(serving.stop(), Some(0));
        outcome
    };
    let first = run_one_job().await;
    assert_eq!(first["verdict"]["verdict"], "proceed", "{first}");
    assert_eq!(emulator.token_calls(), 1);
    tokio::time::sleep(lifetime).await;
    let second = run_one_job().await;
    assert_eq!(second["verdict"]["verdict"], "proceed", "{second}");
    // The second refresh spent the token the first one stored: no grace
    // period, no refusal.
    assert_eq!(emulator.token_calls(), 2);
    assert_eq!(
        (
            emulator.graced_token_calls(),
            emulator.refused_token_calls()
        ),
        (0, 0)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_grant_asks_the_customer_to_reconnect_once_and_is_not_retried() {
    let emulator = support::xero_emulator(&[Scenario::TokenExpired]).await;
    let dir = support::temp_dir("revoked-grant");
    let mut document = oauth_config(&emulator.url());
    document["credentials"]["refreshToken"] = "a-refresh-token-xero-never-issued".into();
    let config = dir.join("config.json");
    std::fs::write(&config, document.to_string()).unwrap();
    let job = dir.join("job.json");
    std::fs::write(&job, support::job_json(false)).unwrap();
    let store = format!("sqlite://{}", dir.join("preflight.db").display());
    let check = || {
        Command::new(PREFLIGHT)
            .args(["check", "--plugin", "xero", "--job", job.to_str().unwrap()])
            .args([
                "--config",
                config.to_str().unwrap(),
                "--store",
                &store,
                "--json",
            ])
            .output()
            .unwrap()
    };
    for run in 0..2 {
        let output = check();
        assert_eq!(output.status.code(), Some(1), "run {run}");
        let outcome: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(
            outcome["verdict"]["reason"], "accounting_system_authentication_failure",
            "run {run}: {outcome}"
        );
        let message = outcome["verdict"]["message"].as_str().unwrap();
        assert!(message.contains("Reconnect Xero"), "run {run}: {message}");
    }
    // One refused refresh: the second run knew the grant was gone.
    assert_eq!(emulator.refused_token_calls(), 1);
    assert_eq!(token_calls(&emulator), 1);
    let company =
        serde_json::from_str::<serde_json::Value>(&support::job_json(false)).unwrap()["companyId"]
            .as_str()
            .unwrap()
            .to_owned();
    let output = Command::new(PREFLIGHT)
        .args(["companies", "--store", &store, "show", &company])
        .output()
        .unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        shown["credentials"]["status"], "reconnect-required",
        "{shown}"
    );

    // New credentials (a reconnect) clear it.
    document["credentials"]["refreshToken"] = xero::DEMO_REFRESH_TOKEN.into();
    std::fs::write(&config, document.to_string()).unwrap();
    let output = check();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
