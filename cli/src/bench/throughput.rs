//! Validations per second over loopback: the bundled Xero plugin against the
//! Xero emulator answering at once, and a native Rust validator making the
//! same calls with the runtime's own HTTP client, measured in the same rounds
//! so their ratio compares like with like.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use preflight_emulators::xero::{XeroConfig, XeroEmulator};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use serde::Deserialize;

use super::fixtures::{Emulators, LOOPBACK, XERO_CALLS, job, xero_config, xero_settings};
use super::{BenchError, Effort, Figure};
use preflight_runtime::config::IntegrationConfig;
use preflight_runtime::engine::Runtime;
use preflight_runtime::job::ExportJob;
use preflight_runtime::plugin::Plugin;

/// Validations in flight at once: as many as the runner runs by default
/// (`maxConcurrentJobs`), so the rate is the one the service reaches. Both
/// sides run at the same count; the ratio depends on it (BENCHMARKS.md).
pub fn in_flight() -> usize {
    preflight::runner::RunnerSettings::default().max_concurrent_jobs
}

/// The throughput figures: the plugin's rate, the native validator's rate,
/// and their ratio per round.
pub async fn run(runtime: &Runtime, effort: Effort) -> Result<Vec<Figure>, BenchError> {
    let fail = BenchError::of("throughput");
    let emulators = Emulators::new().map_err(|e| fail(e.to_string()))?;
    let emulator = emulators
        .start(XeroEmulator::start(XeroConfig::default(), LOOPBACK))
        .await
        .map_err(|e| fail(e.to_string()))?;
    let config = xero_config(&emulator.url(), xero_settings("429"));
    let plugin = Arc::new(load_xero(runtime).await.map_err(&fail)?);
    let wasm = Subject::Plugin {
        plugin,
        config: Arc::new(config.clone()),
    };
    let native = Subject::Native(Arc::new(NativeXero::new(runtime, &config)));
    let n = effort.throughput_validations;
    // One untimed round each first: connections, allocator and caches warm.
    wasm.rate(n / 4 + 1).await.map_err(&fail)?;
    native.rate(n / 4 + 1).await.map_err(&fail)?;
    let (mut wasm_rates, mut native_rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..effort.throughput_rounds {
        // Alternate which goes first, so neither always runs on a machine
        // the other just warmed (or heated).
        let (w, v) = if round % 2 == 0 {
            let w = wasm.rate(n).await.map_err(&fail)?;
            (w, native.rate(n).await.map_err(&fail)?)
        } else {
            let v = native.rate(n).await.map_err(&fail)?;
            (wasm.rate(n).await.map_err(&fail)?, v)
        };
        wasm_rates.push(w);
        native_rates.push(v);
        ratios.push(w / v);
    }
    emulator.shutdown().await;
    let in_flight = in_flight();
    Ok(vec![
        Figure::higher_is_better(
            format!(
                "throughput: Xero plugin over loopback, {in_flight} in flight, {XERO_CALLS} calls each"
            ),
            "/s",
            wasm_rates,
            Some(3_000.0),
        ),
        Figure::higher_is_better(
            "throughput: native Rust validator, same calls, same HTTP client",
            "/s",
            native_rates,
            None,
        ),
        Figure::higher_is_better("throughput: plugin / native ratio", "×", ratios, Some(0.8)),
    ])
}

/// The bundled Xero plugin with its manifest.
pub(super) async fn load_xero(runtime: &Runtime) -> Result<Plugin, String> {
    let artifact = preflight::bundled::find("xero").ok_or("xero is not bundled")?;
    preflight::bundled::load_artifact(runtime, artifact)
        .await
        .map_err(|e| e.to_string())
}

/// What a throughput round validates with.
#[derive(Clone)]
enum Subject {
    Plugin {
        plugin: Arc<Plugin>,
        config: Arc<IntegrationConfig>,
    },
    Native(Arc<NativeXero>),
}

impl Subject {
    /// Runs `n` validations, [`in_flight`] at a time, and returns how many
    /// completed per second. Every one must proceed after the expected calls.
    async fn rate(&self, n: usize) -> Result<f64, String> {
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut workers = tokio::task::JoinSet::new();
        for worker in 0..in_flight() {
            let (subject, next) = (self.clone(), Arc::clone(&next));
            workers.spawn(async move {
                let job = job(worker as u128, uuid::Uuid::from_u128(7));
                while next.fetch_add(1, Ordering::Relaxed) < n {
                    subject.once(&job).await?;
                }
                Ok::<(), String>(())
            });
        }
        while let Some(done) = workers.join_next().await {
            done.map_err(|e| e.to_string())??;
        }
        Ok(n as f64 / started.elapsed().as_secs_f64())
    }

    async fn once(&self, job: &ExportJob) -> Result<(), String> {
        match self {
            Subject::Plugin { plugin, config } => {
                let outcome = plugin
                    .validate(job, config)
                    .await
                    .map_err(|e| e.to_string())?;
                if !outcome.verdict.proceeds() || outcome.exchanges.len() != XERO_CALLS {
                    return Err(format!(
                        "expected a proceed after {XERO_CALLS} calls, got {:?} after {}",
                        outcome.verdict,
                        outcome.exchanges.len()
                    ));
                }
                Ok(())
            }
            Subject::Native(native) => match native.validate().await? {
                true => Ok(()),
                false => Err("the native validator did not proceed".to_owned()),
            },
        }
    }
}

/// A native validator making the Xero plugin's calls of the happy path, in
/// its order, with its headers, through the runtime's HTTP client (the same
/// `reqwest::Client`, so the same pool, timeouts and settings), parsing the
/// same fields and applying the same decisions; it builds no messages.
pub(super) struct NativeXero {
    client: reqwest::Client,
    base: String,
    tenant: String,
    authorization: HeaderValue,
    settings: String,
    timeout: Duration,
}

impl NativeXero {
    pub(super) fn new(runtime: &Runtime, config: &IntegrationConfig) -> NativeXero {
        let token = match &config.credentials {
            preflight_runtime::config::Credentials::Bearer(token) => token.expose().to_owned(),
            _ => String::new(),
        };
        let mut authorization =
            HeaderValue::from_str(&format!("Bearer {token}")).expect("the demo token is ASCII");
        authorization.set_sensitive(true);
        NativeXero {
            client: runtime.http_client().clone(),
            base: config.base_url.as_str().trim_end_matches('/').to_owned(),
            tenant: config.tenant_id.clone().unwrap_or_default(),
            authorization,
            // Like the host, hand the settings over as JSON text and parse
            // them for every validation, as the plugin does.
            settings: config.settings.to_string(),
            timeout: runtime.options().limits.request_timeout,
        }
    }

    /// True when the job may proceed.
    pub(super) async fn validate(&self) -> Result<bool, String> {
        let settings: Settings = serde_json::from_str(&self.settings).map_err(|e| e.to_string())?;
        let connections: Vec<Connection> = self.get("/connections", false).await?;
        let Some(connection) = connections
            .iter()
            .find(|c| c.tenant_id.eq_ignore_ascii_case(&self.tenant))
        else {
            return Ok(false);
        };
        if connection.tenant_type.eq_ignore_ascii_case("PRACTICE") {
            return Ok(false);
        }
        let answer: Organisations = self.get("/api.xro/2.0/Organisation", true).await?;
        let Some(organisation) = answer.organisations.first() else {
            return Ok(false);
        };
        if !organisation
            .organisation_status
            .eq_ignore_ascii_case("ACTIVE")
        {
            return Ok(false);
        }
        let _journals: ManualJournals =
            self.get("/api.xro/2.0/ManualJournals?page=1", true).await?;
        let chart: Accounts = self.get("/api.xro/2.0/Accounts", true).await?;
        let active = |code: &str| {
            chart.accounts.iter().any(|account| {
                account
                    .code
                    .as_deref()
                    .is_some_and(|c| c.trim().eq_ignore_ascii_case(code.trim()))
                    && account.status.eq_ignore_ascii_case("ACTIVE")
            })
        };
        Ok(active(&settings.accounts.expenses) && active(&settings.accounts.contra))
    }

    /// `GET` as the plugin sends it (`accept: application/json`, the tenant
    /// header on accounting calls, the host's bearer token), the body
    /// buffered and parsed.
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        tenant: bool,
    ) -> Result<T, String> {
        let mut request = self
            .client
            .get(format!("{}{path}", self.base))
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, self.authorization.clone())
            .timeout(self.timeout);
        if tenant {
            request = request.header("xero-tenant-id", &self.tenant);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("GET {path}: {}", response.status()));
        }
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        serde_json::from_slice(&body).map_err(|e| format!("GET {path}: {e}"))
    }
}

// The fields the plugin reads from Xero's answers (its `model.rs`).

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Settings {
    accounts: AccountSettings,
}

#[derive(Deserialize)]
struct AccountSettings {
    expenses: String,
    contra: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Connection {
    tenant_id: String,
    #[serde(default)]
    tenant_type: String,
}

#[derive(Deserialize)]
struct Organisations {
    #[serde(rename = "Organisations")]
    organisations: Vec<Organisation>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Organisation {
    #[serde(default)]
    organisation_status: String,
}

#[derive(Deserialize)]
struct ManualJournals {
    #[serde(rename = "ManualJournals", default)]
    _manual_journals: Vec<ManualJournal>,
}

#[derive(Deserialize)]
struct ManualJournal {
    #[serde(rename = "ManualJournalID")]
    _id: String,
}

#[derive(Deserialize)]
struct Accounts {
    #[serde(rename = "Accounts")]
    accounts: Vec<Account>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Account {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    status: String,
}
