//! Shared set-up of the end-to-end tests.

use std::net::SocketAddr;
use std::time::Duration;

use preflight::{ExportJob, IntegrationConfig, Limits, Plugin, Runtime, RuntimeOptions};
use preflight_emulators::xero::{self, Scenario, XeroConfig, XeroEmulator};
use preflight_runtime::config::{Credentials, Secret};

/// Per-request timeout of the tests: short, so the `slow` scenario is quick.
pub const REQUEST_TIMEOUT: Duration = Duration::from_millis(300);

/// A runtime sized for a test.
pub fn runtime() -> Runtime {
    let options = RuntimeOptions {
        max_instances: 32,
        allow_http_loopback: true,
        limits: Limits {
            request_timeout: REQUEST_TIMEOUT,
            ..Limits::default()
        },
        ..RuntimeOptions::default()
    };
    Runtime::new(options).expect("runtime starts")
}

/// The bundled Xero plugin, compiled.
pub async fn xero_plugin(runtime: &Runtime) -> Plugin {
    bundled_plugin(runtime, "xero").await
}

/// The bundled plugin `name`, compiled with its manifest.
pub async fn bundled_plugin(runtime: &Runtime, name: &str) -> Plugin {
    let artifact = preflight::bundled::find(name).unwrap_or_else(|| panic!("{name} is bundled"));
    preflight::bundled::load_artifact(runtime, artifact)
        .await
        .unwrap_or_else(|error| panic!("{name} loads: {error}"))
}

/// A plugin from a component file (the hostile ones).
pub async fn plugin_from(runtime: &Runtime, path: &str) -> Plugin {
    let bytes = std::fs::read(path).expect("component was built");
    runtime
        .load(path, &bytes, None)
        .await
        .expect("plugin loads")
}

/// A Xero emulator on a free loopback port, in `scenarios`.
pub async fn xero_emulator(scenarios: &[Scenario]) -> XeroEmulator {
    let config = XeroConfig {
        scenarios: scenarios.to_vec(),
        slow_delay: REQUEST_TIMEOUT * 4,
        ..XeroConfig::default()
    };
    XeroEmulator::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("emulator starts")
}

/// A claimed job.
pub fn job(vendor_based_bookkeeping: bool) -> ExportJob {
    ExportJob::from_json(&job_json(vendor_based_bookkeeping)).expect("job parses")
}

/// [`job`] as the JSON file `preflight check --job` reads.
pub fn job_json(vendor_based_bookkeeping: bool) -> String {
    serde_json::json!({
            "id": "8eb648ab-464b-42a0-ba17-eda703657e33",
            "companyId": "12abc3d4-e567-490e-9234-abc56e78fabc",
            "status": "in_progress",
            "createdAt": "2026-11-25T09:00:00Z",
            "expiresIn": 3600,
            "isInteractive": true,
            "numberOfItems": 3,
            "vendorBasedBookkeeping": vendor_based_bookkeeping
    })
    .to_string()
}

/// The demo company's Xero configuration pointing at `base_url`.
pub fn xero_config(base_url: &str) -> IntegrationConfig {
    IntegrationConfig {
        accounting_system: "xero".to_owned(),
        base_url: url::Url::parse(base_url).expect("url"),
        tenant_id: Some(xero::DEMO_TENANT_ID.to_owned()),
        credentials: Credentials::Bearer(Secret::new(xero::DEMO_ACCESS_TOKEN)),
        settings: serde_json::json!({
            "organisationName": xero::DEMO_ORGANISATION_NAME,
            "accounts": { "expenses": "429", "contra": "800" },
            "taxType": "INPUT",
        }),
    }
}

/// 127.0.0.1 with a free port.
pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A fresh, empty directory under the temp directory.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let unique = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "preflight-e2e-{}-{unique}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// A `[secrets]` table naming a new key file (mode 0600), for the replicas
/// a test starts on one PostgreSQL database: they share the key.
pub fn secrets_table() -> String {
    let path = temp_dir("secrets").join("secrets.key");
    preflight_store::secrets::Key::create_file(&path).expect("a new key file");
    format!("[secrets]\nkeyFile = \"{}\"\n", path.display())
}

/// Polls `probe` until it gives a value; gives up (failing the test) after
/// 20 s, a bound on hangs, never a measure of speed.
pub async fn eventually<T>(what: &str, probe: impl AsyncFnMut() -> Option<T>) -> T {
    eventually_within(Duration::from_secs(20), what, probe).await
}

/// [`eventually`] with another bound on hangs, for runs of hundreds of jobs
/// that share two cores with the rest of the suite.
pub async fn eventually_within<T>(
    bound: Duration,
    what: &str,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = std::time::Instant::now() + bound;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The PostgreSQL server for the TLS test, as `scripts/postgres` makes it:
/// the URL of the role and database `preflight_tls`, which the server admits
/// only over TLS (without query parameters), and the CA certificate that
/// signed the server's (`PREFLIGHT_TEST_POSTGRES_CA`, which `scripts/test`
/// sets). `None` skips, as [`postgres_url`] does.
pub fn postgres_tls() -> Option<(String, String)> {
    let server = postgres_url()?;
    let Some(ca) = std::env::var("PREFLIGHT_TEST_POSTGRES_CA")
        .ok()
        .filter(|ca| !ca.is_empty())
    else {
        assert!(
            std::env::var("PREFLIGHT_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "PREFLIGHT_REQUIRE_POSTGRES=1 but PREFLIGHT_TEST_POSTGRES_CA is not set"
        );
        eprintln!("skipped: no CA of the PostgreSQL server (set PREFLIGHT_TEST_POSTGRES_CA)");
        return None;
    };
    let mut url = url::Url::parse(&server).expect("PREFLIGHT_TEST_POSTGRES_URL is a URL");
    url.set_username("preflight_tls")
        .expect("a URL with a host");
    url.set_password(None).expect("a URL with a host");
    url.set_path("preflight_tls");
    url.set_query(None);
    Some((url.to_string(), ca))
}

/// The PostgreSQL server for tests (`PREFLIGHT_TEST_POSTGRES_URL`, which
/// `scripts/test` sets after starting one). `None` skips a test that needs
/// it, unless `PREFLIGHT_REQUIRE_POSTGRES=1` (CI), where a missing server is
/// a failure.
pub fn postgres_url() -> Option<String> {
    match std::env::var("PREFLIGHT_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("PREFLIGHT_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "PREFLIGHT_REQUIRE_POSTGRES=1 but PREFLIGHT_TEST_POSTGRES_URL is not set"
            );
            eprintln!("skipped: no PostgreSQL (set PREFLIGHT_TEST_POSTGRES_URL)");
            None
        }
    }
}

/// Asserts that `outcome`'s report lists exactly `rules`, in order: every
/// report of a 0.2.0 plugin holds one check per declared rule whatever
/// happened, and the ids are what dashboards key on, so they are spelled out
/// here rather than read from the plugin.
pub fn assert_rule_set(plugin: &Plugin, outcome: &preflight::Outcome, rules: &[&str]) {
    let listed: Vec<&str> = outcome
        .report
        .checks
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(listed, rules, "{:#?}", outcome.report);
    let declared: Vec<&str> = plugin
        .info()
        .rules
        .as_ref()
        .expect("a 0.2.0 plugin declares its rules")
        .iter()
        .map(|rule| rule.id.as_str())
        .collect();
    assert_eq!(declared, rules, "the plugin's declared rules");
}

/// The body of `GET url`, as text (the request must succeed).
pub async fn text(http: &reqwest::Client, url: &str) -> String {
    http.get(url)
        .send()
        .await
        .unwrap_or_else(|error| panic!("GET {url}: {error}"))
        .text()
        .await
        .unwrap_or_else(|error| panic!("GET {url}: {error}"))
}

/// The OCI registry the tests push to: `scripts/oci-registry` runs it, and
/// `scripts/test` sets `PREFLIGHT_TEST_OCI_REGISTRY` (host:port),
/// `PREFLIGHT_TEST_OCI_CA`, `PREFLIGHT_TEST_OCI_USER` and
/// `PREFLIGHT_TEST_OCI_PASSWORD`.
pub struct OciRegistry {
    /// `127.0.0.1:<port>`.
    pub address: String,
    /// The CA certificate that signed its TLS certificate.
    pub ca: String,
    /// The basic-authentication user.
    pub user: String,
    /// Its password.
    pub password: String,
}

/// The tests' OCI registry; `None` skips what needs it, unless
/// `PREFLIGHT_REQUIRE_OCI_REGISTRY=1` (CI), where a missing one is a
/// failure.
pub fn oci_registry() -> Option<OciRegistry> {
    let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    match (
        var("PREFLIGHT_TEST_OCI_REGISTRY"),
        var("PREFLIGHT_TEST_OCI_CA"),
        var("PREFLIGHT_TEST_OCI_USER"),
        var("PREFLIGHT_TEST_OCI_PASSWORD"),
    ) {
        (Some(address), Some(ca), Some(user), Some(password)) => Some(OciRegistry {
            address,
            ca,
            user,
            password,
        }),
        _ => {
            assert!(
                std::env::var("PREFLIGHT_REQUIRE_OCI_REGISTRY").as_deref() != Ok("1"),
                "PREFLIGHT_REQUIRE_OCI_REGISTRY=1 but PREFLIGHT_TEST_OCI_REGISTRY, _CA, _USER and _PASSWORD are not all set"
            );
            eprintln!(
                "skipped: no OCI registry (set PREFLIGHT_TEST_OCI_REGISTRY, _CA, _USER, _PASSWORD)"
            );
            None
        }
    }
}

/// Writes the stricter Xero fixture (0.3.0: a tax type must be configured)
/// into the plugin directory `dir` as `xero/0.3.0/plugin.wasm|.toml`,
/// unsigned; the version's directory.
pub fn land_xero_strict(dir: &std::path::Path) -> std::path::PathBuf {
    let version = dir.join("xero").join("0.3.0");
    std::fs::create_dir_all(&version).unwrap();
    std::fs::copy(
        preflight_artifacts::fixtures::XERO_STRICT,
        version.join("plugin.wasm"),
    )
    .unwrap();
    std::fs::write(
        version.join("plugin.toml"),
        "name = \"xero\"\nversion = \"0.3.0\"\naccountingSystem = \"xero\"\n\
         wit = \"preflight:plugin@0.2.0\"\nallowedOrigins = [\"https://api.xero.com\"]\n",
    )
    .unwrap();
    version
}

/// The version of `system` a running `serve` at `api` lists as active
/// (`GET /v1/plugins`, with `token` if the API needs one); `None` when none
/// is, or the API did not answer.
pub async fn active_version(
    http: &reqwest::Client,
    api: &str,
    token: Option<&str>,
    system: &str,
) -> Option<String> {
    let mut request = http.get(format!("{api}/v1/plugins"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let versions: serde_json::Value = request.send().await.ok()?.json().await.ok()?;
    versions
        .as_array()?
        .iter()
        .find(|v| v["accountingSystem"] == system && v["state"] == "active")
        .and_then(|v| v["version"].as_str().map(str::to_owned))
}
