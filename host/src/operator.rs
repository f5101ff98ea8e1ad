//! The operator's configuration file for `preflight serve` (TOML, camelCase
//! keys like every other file of preflight):
//!
//! ```toml
//! [pleo]
//! baseUrl = "https://external.pleo.io"          # the default
//! auth = { type = "bearer", tokenEnv = "PLEO_TOKEN" }   # or { type = "apiKey", keyEnv = "PLEO_API_KEY" }
//! watchCompanies = []                             # polled even without a configuration below
//! pollIntervalSecs = 60
//! requestTimeoutMs = 15000     # of one request to Pleo, each retry included (100 to 120000)
//!
//! [[pleo.organisations]]       # further Pleo organisations, each with its own grant
//! id = "0f3c…"                 # companies name theirs with organisationId
//! auth = { type = "oauth2", tokenUrl = "https://auth.pleo.io/oauth/token", clientId = "…",
//!          clientSecretEnv = "PLEO_CLIENT_SECRET", refreshTokenEnv = "PLEO_REFRESH_ACME" }
//!
//! [runner]
//! retryAttempts = 3            # validations of a job whose checks hit transient trouble
//! retryWindowSecs = 120        # and the time they may take, never past the job's expiry
//! retryDelayMs = 2000          # before the second validation, doubled each time
//! maxConcurrentJobs = 64
//! stateDir = ".preflight"      # where the store (preflight.db) and compiled plugins live
//! handoverUrl = "http://127.0.0.1:9000/exports"      # optional: POST {"jobId": …} per valid job
//! handoverSecretEnv = "PREFLIGHT_HANDOVER_SECRET"   # or handoverSecret = "whsec_…": signs each POST
//! handoverCommand = ["/usr/local/bin/export", "{jobId}"]  # optional
//! detectionConcurrency = 16    # companies listed at once (1 to 1024)
//! shutdownGraceSecs = 20       # at SIGTERM, time the jobs in flight get to finish (1 to 3600)
//! monitorSystems = []          # monitor mode: these systems' jobs are validated and recorded,
//! monitorCompanies = []        # never failed (handed over, the would-be verdict logged and counted)
//!
//! [server]
//! listen = "127.0.0.1:8080"
//! tokenEnv = "PREFLIGHT_OPERATOR_TOKEN"  # or token = "…": bearer token of the /v1 API;
//!                                       # without one, reload and rollback are refused
//!
//! [plugins]
//! dir = "plugins"              # versions by accounting system: <dir>/<system>/<version>/plugin.wasm
//! bundled = true               # the plugins built into preflight, as each system's oldest version
//! watch = true                 # load versions as they land in the directory
//! settleMs = 50                # quiet time before a changed version is loaded
//! cacheDir = ".preflight/compiled"  # compiled components; default <stateDir>/compiled
//! trustedKeys = ["ed25519:…"]  # whose signatures are trusted (`preflight plugins keygen`)
//! allowUnsigned = false        # load plugins without a signature (a bad one is always refused)
//! sources = ["oci://registry.example.com/plugins/xero:stable"]   # OCI artifacts followed (a tag,
//!                              # or @sha256:… pinned); pulled versions land in dir; needs dir
//! pullIntervalSecs = 60        # how often each tag is looked at again (5 to 86400)
//!
//! [[plugins.registries]]       # how to reach a registry of plugins.sources
//! host = "registry.example.com"
//! username = "preflight"
//! passwordEnv = "PREFLIGHT_REGISTRY_PASSWORD"   # or password = "…"
//! caFile = "/etc/preflight/registry-ca.pem"     # when its TLS certificate is not publicly trusted
//!
//! [store]                      # the journal and the decision log
//! url = "sqlite://.preflight/preflight.db"  # default: <stateDir>/preflight.db, in memory without
//!                              # a stateDir; or postgres://user@host/db for several replicas
//! urlEnv = "PREFLIGHT_STORE_URL"   # instead of url, e.g. for a URL with a password
//! replicaId = "preflight-a"    # unique per running replica; default: the host name
//! leaseSecs = 300              # a claim held by a replica that stopped is taken over after this
//!
//! [secrets]                  # the key that seals companies' credentials in the store
//! keyFile = "/etc/preflight/secrets.key"   # mode 0600 (`preflight secrets keygen --out FILE`);
//!                              # or keyEnv = "PREFLIGHT_SECRETS_KEY". Default for a SQLite store:
//!                              # secrets.key beside the database, created on first start;
//!                              # a PostgreSQL store needs one named here (every replica shares it)
//! previousKeyFiles = []        # keys still opened while `preflight secrets rotate-key` runs
//!
//! [decisionLog]
//! maskFields = ["Name", "EmailAddress"]  # JSON keys and query parameters masked in the log
//! bodyBytes = 65536            # of each request and response body kept
//! retentionDays = 30           # older entries are pruned; 0 keeps them
//!
//! [webhooks]                   # POST /webhooks/pleo: Pleo's v1.export-job.created wakes the runner
//! secretEnv = "PLEO_WEBHOOK_SECRET"   # or secret = "whsec_…": the endpoint's signing secret
//! toleranceSecs = 300          # webhook-timestamp further from now than this is refused
//!
//! [sandbox]                    # ceilings of the plugins' limits, and the loopback policy
//! allowHttpLoopback = false    # true only to run against local emulators
//! memoryMib = 64
//! wallTimeMs = 10000
//! requests = 50
//! allowedAddresses = []        # non-public ranges granted names may resolve to, e.g. "10.20.0.0/16"
//!
//! [sandbox.origins]            # optional: narrow what a plugin's manifest allows
//! xero = ["https://api.xero.com"]
//!
//! [[companies]]               # imported into the store at start (see below)
//! companyId = "12abc3d4-e567-490e-9234-abc56e78fabc"
//! accountingSystem = "xero"
//! baseUrl = "https://api.xero.com"
//! tenantId = "b7c1d2e3-0f4a-4b5c-8d6e-7f8091a2b3c4"
//! credentials = { type = "bearer", tokenEnv = "XERO_TOKEN_ACME" }
//! settings = { accounts = { expenses = "429", contra = "800" } }
//! ```
//!
//! `[[companies]]` is an import: at start, an entry is written to the store
//! when the store does not hold the company, or when the entry changed since
//! it was last imported; an entry unchanged since then leaves the stored
//! version as it is, whatever the operator API or `preflight companies`
//! changed meanwhile. The latest change wins, wherever it was made.
//!
//! Errors name the company and the field: `companies[0] (company 12abc3d4-…):
//! credentials.tokenEnv: environment variable XERO_TOKEN_ACME is not set`.
//!
//! Over 500 lines with its tests: the whole operator file format, each section
//! resolved into its owner's settings type, with errors naming the dotted
//! field.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::pleo::PleoAuth;
use crate::pleo::PleoSettings;
use crate::registry::PluginSettings;
use crate::runner::RunnerSettings;
use crate::server::ServerSettings;
use crate::webhook::WebhookSettings;
use preflight_runtime::config::{ConfigError, IntegrationConfig, Secret, secret};
use preflight_runtime::sandbox::SandboxSettings;
use preflight_store::{DecisionLogSettings, StoreSettings};

/// The whole file, validated.
#[derive(Debug, Clone)]
pub struct OperatorConfig {
    /// Where Pleo is and how to authenticate.
    pub pleo: PleoSettings,
    /// How jobs are processed.
    pub runner: RunnerSettings,
    /// The operator HTTP API.
    pub server: ServerSettings,
    /// What plugins may use.
    pub sandbox: SandboxSettings,
    /// Where plugins come from and which are trusted.
    pub plugins: PluginSettings,
    /// Where the journal and decision log live.
    pub store: StoreSettings,
    /// What the decision log keeps, and for how long.
    pub decision_log: DecisionLogSettings,
    /// Pleo's webhook, when configured.
    pub webhooks: Option<WebhookSettings>,
    /// The key that seals credentials in the store.
    pub secrets: SecretsSettings,
    /// Integration configurations by Pleo company, as the file gives them.
    pub companies: BTreeMap<uuid::Uuid, IntegrationConfig>,
    /// The same entries as written (without `companyId`), for the import
    /// into the store.
    pub company_documents: Vec<(uuid::Uuid, serde_json::Value)>,
    /// Each company's index in the file's `[[companies]]`, for messages.
    company_entries: BTreeMap<uuid::Uuid, usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawFile {
    pleo: RawPleo,
    #[serde(default)]
    runner: RawRunner,
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    sandbox: RawSandbox,
    #[serde(default)]
    plugins: RawPlugins,
    #[serde(default)]
    store: RawStore,
    #[serde(default)]
    decision_log: RawDecisionLog,
    #[serde(default)]
    webhooks: Option<RawWebhooks>,
    #[serde(default)]
    secrets: RawSecrets,
    #[serde(default)]
    companies: Vec<serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSecrets {
    key_file: Option<PathBuf>,
    key_env: Option<String>,
    #[serde(default)]
    previous_key_files: Vec<PathBuf>,
}

/// Where the secrets key comes from (the operator file's `[secrets]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A key file, mode 0600.
    File(PathBuf),
    /// An environment variable holding the key.
    Env(String),
    /// A key file beside a SQLite store, created on first start.
    Beside(PathBuf),
    /// A random key for a store that lives in memory.
    Ephemeral,
}

/// The secrets key and the previous keys still opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretsSettings {
    /// The key new values are sealed under.
    pub key: KeySource,
    /// Keys values may still be sealed under (during a rotation).
    pub previous: Vec<PathBuf>,
}

impl SecretsSettings {
    /// The sealer these settings describe: the key read (or, beside a
    /// SQLite store, created), the previous keys read.
    pub fn sealer(
        &self,
    ) -> Result<preflight_store::secrets::Sealer, preflight_store::secrets::KeyError> {
        use preflight_store::secrets::Key;
        let key = match &self.key {
            KeySource::File(path) => Key::from_file(path)?,
            KeySource::Env(variable) => Key::from_env(variable)?,
            KeySource::Beside(path) => Key::open_or_create(path)?,
            KeySource::Ephemeral => Key::generate(),
        };
        let previous = self
            .previous
            .iter()
            .map(|path| Key::from_file(path))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(preflight_store::secrets::Sealer::new(key, previous))
    }
}

impl RawSecrets {
    fn settings(self, store: &StoreSettings) -> Result<SecretsSettings, ConfigError> {
        let key = match (self.key_file, self.key_env) {
            (Some(_), Some(_)) => {
                return Err(error_at(
                    "secrets.keyEnv",
                    "give either secrets.keyFile or secrets.keyEnv, not both".to_owned(),
                ));
            }
            (Some(path), None) => KeySource::File(path),
            (None, Some(variable)) => KeySource::Env(variable),
            (None, None) => match &store.url {
                None => KeySource::Ephemeral,
                Some(url) if url.starts_with("postgres") => {
                    return Err(error_at(
                        "secrets.keyFile",
                        "missing: a PostgreSQL store keeps companies' credentials sealed under a key \
                         every replica shares; give secrets.keyFile or secrets.keyEnv \
                         (`preflight secrets keygen --out FILE` writes one)"
                            .to_owned(),
                    ));
                }
                Some(url) => match preflight_store::sqlite_file(url) {
                    Some(path) => KeySource::Beside(
                        path.parent()
                            .unwrap_or(std::path::Path::new(""))
                            .join("secrets.key"),
                    ),
                    None => KeySource::Ephemeral,
                },
            },
        };
        Ok(SecretsSettings {
            key,
            previous: self.previous_key_files,
        })
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawStore {
    url: Option<String>,
    url_env: Option<String>,
    replica_id: Option<String>,
    lease_secs: Option<u64>,
}

impl RawStore {
    fn settings(self, state_dir: Option<&std::path::Path>) -> Result<StoreSettings, ConfigError> {
        let url = match (self.url, self.url_env) {
            (None, None) => state_dir.map(preflight_store::default_url),
            (url, url_env) => Some(
                secret(url, url_env, "store.url", "store.urlEnv")?
                    .expose()
                    .to_owned(),
            ),
        };
        let mut identity = preflight_store::Identity::default();
        if let Some(replica) = self.replica_id {
            if replica.trim().is_empty() {
                return Err(error_at("store.replicaId", "must not be empty".to_owned()));
            }
            identity.replica = replica;
        }
        identity.lease = bounded_secs(
            "store.leaseSecs",
            self.lease_secs,
            1..=86_400,
            identity.lease,
        )?;
        Ok(StoreSettings { url, identity })
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawDecisionLog {
    #[serde(default)]
    mask_fields: Vec<String>,
    body_bytes: Option<usize>,
    retention_days: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawWebhooks {
    secret: Option<String>,
    secret_env: Option<String>,
    tolerance_secs: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawPlugins {
    dir: Option<PathBuf>,
    bundled: Option<bool>,
    watch: Option<bool>,
    settle_ms: Option<u64>,
    cache_dir: Option<PathBuf>,
    #[serde(default)]
    trusted_keys: Vec<String>,
    #[serde(default)]
    allow_unsigned: bool,
    #[serde(default)]
    sources: Vec<String>,
    pull_interval_secs: Option<u64>,
    #[serde(default)]
    registries: Vec<RawRegistry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawRegistry {
    host: String,
    username: Option<String>,
    password: Option<String>,
    password_env: Option<String>,
    ca_file: Option<PathBuf>,
}

impl RawRegistry {
    /// The host and how to reach it; errors name `plugins.registries[index]`.
    fn access(self, index: usize) -> Result<(String, crate::oci::Access), ConfigError> {
        let field = |name: &str| format!("plugins.registries[{index}].{name}");
        if self.host.is_empty() || self.host.contains('/') {
            return Err(error_at(
                &field("host"),
                format!(
                    "'{}': give the registry's host[:port], as in oci://HOST/…",
                    self.host
                ),
            ));
        }
        let basic = match self.username {
            Some(user) => Some((
                user,
                secret(
                    self.password,
                    self.password_env,
                    &field("password"),
                    &field("passwordEnv"),
                )?,
            )),
            None if self.password.is_some() || self.password_env.is_some() => {
                return Err(error_at(
                    &field("username"),
                    "missing: a password needs a username".to_owned(),
                ));
            }
            None => None,
        };
        let ca_pem = self
            .ca_file
            .map(|path| {
                crate::input::read(&path, crate::input::Input::Key).map_err(|error| {
                    error_at(&field("caFile"), format!("{}: {error}", path.display()))
                })
            })
            .transpose()?;
        Ok((self.host, crate::oci::Access { basic, ca_pem }))
    }
}

impl RawPlugins {
    fn settings(self, state_dir: Option<&std::path::Path>) -> Result<PluginSettings, ConfigError> {
        let defaults = PluginSettings::default();
        let trusted_keys = self
            .trusted_keys
            .iter()
            .enumerate()
            .map(|(index, text)| {
                text.parse()
                    .map_err(|error: crate::signature::SignatureError| {
                        error_at(&format!("plugins.trustedKeys[{index}]"), error.to_string())
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let sources = self
            .sources
            .iter()
            .enumerate()
            .map(|(index, text)| {
                crate::oci::parse_reference(text)
                    .map(|reference| (text.clone(), reference))
                    .map_err(|error| {
                        error_at(&format!("plugins.sources[{index}]"), error.to_string())
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !sources.is_empty() && self.dir.is_none() {
            return Err(error_at(
                "plugins.sources",
                "needs plugins.dir: pulled versions are installed there".to_owned(),
            ));
        }
        let mut registries = BTreeMap::new();
        for (index, raw) in self.registries.into_iter().enumerate() {
            let (host, access) = raw.access(index)?;
            if registries.insert(host.clone(), access).is_some() {
                return Err(error_at(
                    &format!("plugins.registries[{index}].host"),
                    format!("'{host}' is listed twice"),
                ));
            }
        }
        Ok(PluginSettings {
            dir: self.dir,
            bundled: self.bundled.unwrap_or(defaults.bundled),
            watch: self.watch.unwrap_or(defaults.watch),
            settle: bounded_millis(
                "plugins.settleMs",
                self.settle_ms,
                0..=60_000,
                defaults.settle,
            )?,
            cache_dir: self
                .cache_dir
                .or_else(|| state_dir.map(|dir| dir.join("compiled"))),
            trusted_keys,
            allow_unsigned: self.allow_unsigned,
            sources,
            registries,
            pull_interval: bounded_secs(
                "plugins.pullIntervalSecs",
                self.pull_interval_secs,
                5..=86_400,
                defaults.pull_interval,
            )?,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawOrganisation {
    id: uuid::Uuid,
    auth: RawPleoAuth,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawPleo {
    #[serde(default)]
    base_url: Option<String>,
    auth: RawPleoAuth,
    #[serde(default)]
    organisations: Vec<RawOrganisation>,
    #[serde(default)]
    watch_companies: Vec<uuid::Uuid>,
    #[serde(default)]
    poll_interval_secs: Option<u64>,
    #[serde(default)]
    request_timeout_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(tag = "type", deny_unknown_fields, rename_all = "camelCase")]
enum RawPleoAuth {
    #[serde(rename_all = "camelCase")]
    Bearer {
        token: Option<String>,
        token_env: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    ApiKey {
        key: Option<String>,
        key_env: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    Oauth2 {
        token_url: String,
        client_id: String,
        client_secret: Option<String>,
        client_secret_env: Option<String>,
        access_token: Option<String>,
        access_token_env: Option<String>,
        refresh_token: Option<String>,
        refresh_token_env: Option<String>,
    },
}

impl RawPleoAuth {
    /// The credentials; errors name fields under `at` (`pleo.auth`,
    /// `pleo.organisations[0].auth`).
    fn resolve(self, at: &str) -> Result<PleoAuth, ConfigError> {
        let field = |name: &str| format!("{at}.{name}");
        Ok(match self {
            RawPleoAuth::Bearer { token, token_env } => PleoAuth::Bearer(secret(
                token,
                token_env,
                &field("token"),
                &field("tokenEnv"),
            )?),
            RawPleoAuth::ApiKey { key, key_env } => {
                PleoAuth::ApiKey(secret(key, key_env, &field("key"), &field("keyEnv"))?)
            }
            RawPleoAuth::Oauth2 {
                token_url,
                client_id,
                client_secret,
                client_secret_env,
                access_token,
                access_token_env,
                refresh_token,
                refresh_token_env,
            } => {
                let url = url::Url::parse(&token_url).map_err(|error| {
                    error_at(
                        &field("tokenUrl"),
                        format!("'{token_url}' is not a URL: {error}"),
                    )
                })?;
                transport(&field("tokenUrl"), &url)?;
                // Without an access token the first call refreshes first.
                let access = match (access_token, access_token_env) {
                    (None, None) => None,
                    (inline, env) => Some(secret(
                        inline,
                        env,
                        &field("accessToken"),
                        &field("accessTokenEnv"),
                    )?),
                };
                let oauth = preflight_runtime::config::OAuth::new(
                    url,
                    client_id,
                    secret(
                        client_secret,
                        client_secret_env,
                        &field("clientSecret"),
                        &field("clientSecretEnv"),
                    )?,
                    access.clone().unwrap_or_else(|| Secret::new(String::new())),
                    secret(
                        refresh_token,
                        refresh_token_env,
                        &field("refreshToken"),
                        &field("refreshTokenEnv"),
                    )?,
                );
                if access.is_none() {
                    let mut tokens = oauth.tokens();
                    tokens.expires_at = Some(std::time::UNIX_EPOCH);
                    oauth.adopt(tokens);
                }
                PleoAuth::OAuth2(std::sync::Arc::new(oauth))
            }
        })
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawRunner {
    retry_attempts: Option<u32>,
    retry_window_secs: Option<u64>,
    retry_delay_ms: Option<u64>,
    max_concurrent_jobs: Option<usize>,
    state_dir: Option<PathBuf>,
    handover_url: Option<String>,
    handover_secret: Option<String>,
    handover_secret_env: Option<String>,
    handover_command: Option<Vec<String>>,
    detection_concurrency: Option<usize>,
    shutdown_grace_secs: Option<u64>,
    #[serde(default)]
    monitor_systems: Vec<String>,
    #[serde(default)]
    monitor_companies: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSandbox {
    #[serde(default)]
    allow_http_loopback: bool,
    memory_mib: Option<usize>,
    wall_time_ms: Option<u64>,
    requests: Option<u32>,
    request_timeout_ms: Option<u64>,
    response_bytes: Option<usize>,
    request_bytes: Option<usize>,
    report_bytes: Option<usize>,
    log_bytes: Option<usize>,
    #[serde(default)]
    origins: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    allowed_addresses: Vec<String>,
}

impl RawSandbox {
    fn settings(self) -> Result<SandboxSettings, ConfigError> {
        use preflight_runtime::limits::ranges;
        let defaults = preflight_runtime::limits::Limits::default();
        let mut origins = BTreeMap::new();
        for (system, patterns) in self.origins {
            let parsed = patterns
                .iter()
                .enumerate()
                .map(|(index, text)| {
                    preflight_runtime::manifest::OriginPattern::parse(text).map_err(|message| {
                        error_at(&format!("sandbox.origins.{system}[{index}]"), message)
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            origins.insert(system, parsed);
        }
        let allowed_addresses = self
            .allowed_addresses
            .iter()
            .enumerate()
            .map(|(index, text)| {
                preflight_runtime::sandbox::resolver::AddressRange::parse(text).map_err(|message| {
                    error_at(&format!("sandbox.allowedAddresses[{index}]"), message)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SandboxSettings {
            origins,
            allowed_addresses,
            allow_http_loopback: self.allow_http_loopback,
            ceiling: preflight_runtime::limits::Limits {
                memory_bytes: bounded(
                    "sandbox.memoryMib",
                    self.memory_mib,
                    ranges::MEMORY_MIB,
                    defaults.memory_bytes >> 20,
                )? << 20,
                wall_time: bounded_millis(
                    "sandbox.wallTimeMs",
                    self.wall_time_ms,
                    ranges::WALL_TIME_MS,
                    defaults.wall_time,
                )?,
                requests: bounded(
                    "sandbox.requests",
                    self.requests,
                    ranges::REQUESTS,
                    defaults.requests,
                )?,
                request_timeout: bounded_millis(
                    "sandbox.requestTimeoutMs",
                    self.request_timeout_ms,
                    ranges::REQUEST_TIMEOUT_MS,
                    defaults.request_timeout,
                )?,
                response_bytes: bounded(
                    "sandbox.responseBytes",
                    self.response_bytes,
                    ranges::RESPONSE_BYTES,
                    defaults.response_bytes,
                )?,
                request_bytes: bounded(
                    "sandbox.requestBytes",
                    self.request_bytes,
                    ranges::REQUEST_BYTES,
                    defaults.request_bytes,
                )?,
                report_bytes: bounded(
                    "sandbox.reportBytes",
                    self.report_bytes,
                    ranges::REPORT_BYTES,
                    defaults.report_bytes,
                )?,
                log_bytes: bounded(
                    "sandbox.logBytes",
                    self.log_bytes,
                    ranges::LOG_BYTES,
                    defaults.log_bytes,
                )?,
            },
        })
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawServer {
    listen: Option<SocketAddr>,
    token: Option<String>,
    token_env: Option<String>,
}

/// The default address of the operator API.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

impl OperatorConfig {
    /// Parses and validates the TOML file's text.
    pub fn from_toml(text: &str) -> Result<OperatorConfig, ConfigError> {
        let deserializer =
            toml::Deserializer::parse(text).map_err(|error| error_at("", error.to_string()))?;
        let raw: RawFile = serde_path_to_error::deserialize(deserializer).map_err(|error| {
            let path = error.path().to_string();
            error_at(
                if path == "." { "" } else { &path },
                error.into_inner().message().to_owned(),
            )
        })?;
        let pleo = pleo_settings(raw.pleo)?;
        let runner = runner_settings(raw.runner)?;
        let token = match (raw.server.token, raw.server.token_env) {
            (None, None) => None,
            (token, token_env) => {
                Some(secret(token, token_env, "server.token", "server.tokenEnv")?)
            }
        };
        let server = ServerSettings {
            listen: raw
                .server
                .listen
                .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("static address parses")),
            token,
        };
        let sandbox = raw.sandbox.settings()?;
        let plugins = raw.plugins.settings(runner.state_dir.as_deref())?;
        let store = raw.store.settings(runner.state_dir.as_deref())?;
        let secrets = raw.secrets.settings(&store)?;
        let defaults = DecisionLogSettings::default();
        let decision_log = DecisionLogSettings {
            mask_fields: raw.decision_log.mask_fields,
            body_bytes: bounded(
                "decisionLog.bodyBytes",
                raw.decision_log.body_bytes,
                0..=16 << 20,
                defaults.body_bytes,
            )?,
            retention: match bounded(
                "decisionLog.retentionDays",
                raw.decision_log.retention_days,
                0..=36_500,
                defaults.retention.map_or(0, |d| d.as_secs() / 86_400),
            )? {
                0 => None,
                days => Some(Duration::from_secs(days * 86_400)),
            },
        };
        let webhooks = raw
            .webhooks
            .map(|raw| -> Result<WebhookSettings, ConfigError> {
                let secret = secret(
                    raw.secret,
                    raw.secret_env,
                    "webhooks.secret",
                    "webhooks.secretEnv",
                )?;
                let key = crate::webhook::SigningKey::from_secret(secret.expose())
                    .map_err(|message| error_at("webhooks.secret", message))?;
                Ok(WebhookSettings {
                    key,
                    tolerance: bounded_secs(
                        "webhooks.toleranceSecs",
                        raw.tolerance_secs,
                        1..=3_600,
                        Duration::from_secs(300),
                    )?,
                })
            })
            .transpose()?;
        let mut companies = BTreeMap::new();
        let mut company_entries = BTreeMap::new();
        let mut company_documents = Vec::new();
        for (index, mut entry) in raw.companies.into_iter().enumerate() {
            let company_id = entry
                .as_object_mut()
                .and_then(|object| object.remove("companyId"))
                .ok_or_else(|| {
                    error_at(
                        &format!("companies[{index}].companyId"),
                        "missing".to_owned(),
                    )
                })?;
            let company_id: uuid::Uuid =
                serde_json::from_value(company_id.clone()).map_err(|_| {
                    error_at(
                        &format!("companies[{index}].companyId"),
                        format!("{company_id} is not a UUID"),
                    )
                })?;
            let prefix = format!("companies[{index}] (company {company_id}): ");
            let mut parsed = entry.clone();
            let organisation = parsed
                .as_object_mut()
                .and_then(|object| object.remove("organisationId"));
            if let Some(organisation) = organisation {
                let known = organisation
                    .as_str()
                    .and_then(|text| text.parse::<uuid::Uuid>().ok())
                    .is_some_and(|id| pleo.organisations.iter().any(|(known, _)| *known == id));
                if !known {
                    return Err(error_at(
                        &format!("{prefix}organisationId"),
                        format!("{organisation} is not one of [[pleo.organisations]]"),
                    ));
                }
            }
            let config = IntegrationConfig::from_value(parsed, &prefix)?;
            company_documents.push((company_id, entry));
            company_entries.insert(company_id, index);
            if companies.insert(company_id, config).is_some() {
                return Err(error_at(
                    &format!("companies[{index}].companyId"),
                    format!("company {company_id} is configured twice"),
                ));
            }
        }
        Ok(OperatorConfig {
            pleo,
            runner,
            server,
            sandbox,
            plugins,
            store,
            decision_log,
            webhooks,
            secrets,
            companies,
            company_documents,
            company_entries,
        })
    }

    /// How messages name a configured company: its entry in the file and its
    /// id, `companies[0] (company 12abc3d4-…)`, as load errors do.
    pub fn company_entry(&self, company: uuid::Uuid) -> String {
        match self.company_entries.get(&company) {
            Some(index) => format!("companies[{index}] (company {company})"),
            None => format!("company {company}"),
        }
    }

    /// Per accounting system, the settings of each company configured for
    /// it: what a new plugin version is smoke-tested with.
    pub fn settings_by_system(&self) -> BTreeMap<String, Vec<(uuid::Uuid, serde_json::Value)>> {
        let mut by_system: BTreeMap<String, Vec<_>> = BTreeMap::new();
        for (company, config) in &self.companies {
            by_system
                .entry(config.accounting_system.clone())
                .or_default()
                .push((*company, config.settings.clone()));
        }
        by_system
    }

    /// Every company polled: the configured ones and the watched ones.
    pub fn polled_companies(&self) -> Vec<uuid::Uuid> {
        let mut all: Vec<uuid::Uuid> = self
            .companies
            .keys()
            .copied()
            .chain(self.pleo.watch_companies.iter().copied())
            .collect();
        all.sort();
        all.dedup();
        all
    }
}

/// The transport rule of every URL preflight itself calls (Pleo, the
/// handover): `https`, or plain `http` to a loopback address only (traffic
/// that never leaves the machine); any other scheme is refused.
pub fn transport(field: &str, url: &url::Url) -> Result<(), ConfigError> {
    preflight_runtime::sandbox::policy::transport_rule(url)
        .map_err(|message| error_at(field, message))
}

/// `value` of `field` (or `default` when absent), refused outside `range`:
/// every number of the operator file has a documented range, and a value
/// outside it is an error naming the field, never a clamp or an overflow.
fn bounded<T>(
    field: &str,
    value: Option<T>,
    range: std::ops::RangeInclusive<T>,
    default: T,
) -> Result<T, ConfigError>
where
    T: PartialOrd + std::fmt::Display + Copy,
{
    preflight_runtime::limits::ranges::check(value.unwrap_or(default), &range)
        .map_err(|message| error_at(field, message))
}

/// [`bounded`] for a duration written in milliseconds.
fn bounded_millis(
    field: &str,
    value: Option<u64>,
    range: std::ops::RangeInclusive<u64>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let default = u64::try_from(default.as_millis()).unwrap_or(u64::MAX);
    bounded(field, value, range, default).map(Duration::from_millis)
}

/// [`bounded`] for a duration written in seconds.
fn bounded_secs(
    field: &str,
    value: Option<u64>,
    range: std::ops::RangeInclusive<u64>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    bounded(field, value, range, default.as_secs()).map(Duration::from_secs)
}

fn error_at(field: &str, message: String) -> ConfigError {
    ConfigError {
        field: field.to_owned(),
        message,
    }
}

fn pleo_settings(raw: RawPleo) -> Result<PleoSettings, ConfigError> {
    let base = raw
        .base_url
        .unwrap_or_else(|| crate::pleo::PRODUCTION_URL.to_owned());
    let base_url = url::Url::parse(&base)
        .map_err(|error| error_at("pleo.baseUrl", format!("'{base}' is not a URL: {error}")))?;
    transport("pleo.baseUrl", &base_url)?;
    let auth = raw.auth.resolve("pleo.auth")?;
    let mut organisations: Vec<(uuid::Uuid, PleoAuth)> = Vec::new();
    for (index, organisation) in raw.organisations.into_iter().enumerate() {
        let at = format!("pleo.organisations[{index}]");
        if organisations.iter().any(|(id, _)| *id == organisation.id) {
            return Err(error_at(
                &format!("{at}.id"),
                format!("organisation {} is named twice", organisation.id),
            ));
        }
        let auth = organisation.auth.resolve(&format!("{at}.auth"))?;
        organisations.push((organisation.id, auth));
    }
    let poll_interval = bounded_secs(
        "pleo.pollIntervalSecs",
        raw.poll_interval_secs,
        1..=86_400,
        Duration::from_secs(60),
    )?;
    let default_timeout = crate::pleo::RetryPolicy::default().request_timeout;
    let request_timeout = bounded_millis(
        "pleo.requestTimeoutMs",
        raw.request_timeout_ms,
        100..=120_000,
        default_timeout,
    )?;
    Ok(PleoSettings {
        base_url,
        auth,
        watch_companies: raw.watch_companies,
        poll_interval,
        request_timeout,
        organisations,
    })
}

fn runner_settings(raw: RawRunner) -> Result<RunnerSettings, ConfigError> {
    let defaults = RunnerSettings::default();
    let handover_url = raw
        .handover_url
        .map(|url| {
            url::Url::parse(&url).map_err(|error| {
                error_at(
                    "runner.handoverUrl",
                    format!("'{url}' is not a URL: {error}"),
                )
            })
        })
        .transpose()?;
    if let Some(url) = &handover_url {
        transport("runner.handoverUrl", url)?;
    }
    if raw.handover_command.as_ref().is_some_and(Vec::is_empty) {
        return Err(error_at(
            "runner.handoverCommand",
            "must name a program".to_owned(),
        ));
    }
    let retry_attempts = bounded(
        "runner.retryAttempts",
        raw.retry_attempts,
        1..=20,
        defaults.retry_attempts,
    )?;
    let max_concurrent_jobs = bounded(
        "runner.maxConcurrentJobs",
        raw.max_concurrent_jobs,
        1..=10_000,
        defaults.max_concurrent_jobs,
    )?;
    let retry_window = bounded_secs(
        "runner.retryWindowSecs",
        raw.retry_window_secs,
        1..=86_400,
        defaults.retry_window,
    )?;
    let retry_delay = bounded_millis(
        "runner.retryDelayMs",
        raw.retry_delay_ms,
        0..=3_600_000,
        defaults.retry_delay,
    )?;
    let handover_key = if raw.handover_secret.is_some() || raw.handover_secret_env.is_some() {
        if handover_url.is_none() {
            return Err(error_at(
                "runner.handoverSecret",
                "signs the URL handover: set runner.handoverUrl too".to_owned(),
            ));
        }
        let secret = secret(
            raw.handover_secret,
            raw.handover_secret_env,
            "runner.handoverSecret",
            "runner.handoverSecretEnv",
        )?;
        Some(
            crate::webhook::SigningKey::from_secret(secret.expose())
                .map_err(|message| error_at("runner.handoverSecret", message))?,
        )
    } else {
        None
    };
    let detection_concurrency = bounded(
        "runner.detectionConcurrency",
        raw.detection_concurrency,
        1..=1_024,
        defaults.detection_concurrency,
    )?;
    let shutdown_grace = bounded_secs(
        "runner.shutdownGraceSecs",
        raw.shutdown_grace_secs,
        1..=3_600,
        defaults.shutdown_grace,
    )?;
    let companies = raw
        .monitor_companies
        .iter()
        .enumerate()
        .map(|(index, text)| {
            text.parse::<uuid::Uuid>().map_err(|_| {
                error_at(
                    &format!("runner.monitorCompanies[{index}]"),
                    format!("'{text}' is not a company id (a UUID)"),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let monitor = crate::runner::Monitor {
        systems: raw.monitor_systems.into_iter().collect(),
        companies,
    };
    Ok(RunnerSettings {
        retry_attempts,
        retry_window,
        retry_delay,
        max_concurrent_jobs,
        state_dir: raw.state_dir,
        handover_url,
        handover_command: raw.handover_command,
        handover_key,
        detection_concurrency,
        shutdown_grace,
        monitor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
        [pleo]
        baseUrl = "http://127.0.0.1:4010"
        auth = { type = "bearer", token = "t" }
        watchCompanies = ["00000000-0000-4000-8000-000000000009"]

        [[companies]]
        companyId = "00000000-0000-4000-8000-000000000001"
        accountingSystem = "xero"
        baseUrl = "http://127.0.0.1:4011"
        tenantId = "t-1"
        credentials = { type = "bearer", token = "x" }
        settings = { accounts = { expenses = "429", contra = "800" } }
    "#;

    #[test]
    fn reads_the_file() {
        let config = OperatorConfig::from_toml(FILE).unwrap();
        assert_eq!(config.pleo.poll_interval, Duration::from_secs(60));
        assert_eq!(config.runner.retry_attempts, 3);
        assert_eq!(config.companies.len(), 1);
        assert_eq!(config.polled_companies().len(), 2);
        let company =
            &config.companies[&uuid::Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0001)];
        assert_eq!(company.settings["accounts"]["contra"], "800");
    }

    #[test]
    fn errors_name_the_company_and_the_field() {
        let error = OperatorConfig::from_toml(&FILE.replace("tenantId", "tenant")).unwrap_err();
        assert!(
            error
                .field
                .starts_with("companies[0] (company 00000000-0000-4000-8000-000000000001)"),
            "{error}"
        );
        assert!(error.message.contains("unknown field `tenant`"), "{error}");

        let error =
            OperatorConfig::from_toml(&FILE.replace("watchCompanies", "watch")).unwrap_err();
        assert_eq!(error.field, "pleo.watch");
        assert!(error.message.contains("unknown field `watch`"), "{error}");

        let error = OperatorConfig::from_toml(
            &FILE.replace(r#"token = "x""#, r#"tokenEnv = "PREFLIGHT_TEST_UNSET""#),
        )
        .unwrap_err();
        assert!(
            error.to_string().contains(
                "credentials.tokenEnv: environment variable PREFLIGHT_TEST_UNSET is not set"
            ),
            "{error}"
        );
    }

    #[test]
    fn sandbox_origins_are_parsed_and_errors_name_the_entry() {
        let with = |origins: &str| {
            format!(
                "{FILE}\n[sandbox]\nallowHttpLoopback = true\n[sandbox.origins]\nxero = [{origins}]\n"
            )
        };
        let config = OperatorConfig::from_toml(&with(r#""https://api.xero.com""#)).unwrap();
        assert!(config.sandbox.allow_http_loopback);
        assert_eq!(config.sandbox.origins["xero"].len(), 1);
        let error =
            OperatorConfig::from_toml(&with(r#""https://api.xero.com", "http://api.xero.com""#))
                .unwrap_err();
        assert_eq!(error.field, "sandbox.origins.xero[1]");
    }

    #[test]
    fn plugin_settings_default_their_cache_into_the_state_dir() {
        let config = OperatorConfig::from_toml(FILE).unwrap();
        assert!(config.plugins.bundled && config.plugins.watch);
        assert!(config.plugins.dir.is_none() && config.plugins.cache_dir.is_none());
        assert!(config.server.token.is_none());

        let key = crate::signature::SecretKey::generate()
            .unwrap()
            .public_key();
        let config = OperatorConfig::from_toml(&format!(
            "{FILE}\n[runner]\nstateDir = \"/var/lib/preflight\"\n[server]\ntoken = \"s3cret\"\n\
             [plugins]\ndir = \"/srv/plugins\"\nsettleMs = 10\ntrustedKeys = [\"{key}\"]\n"
        ))
        .unwrap();
        assert_eq!(
            config.plugins.cache_dir.as_deref(),
            Some(std::path::Path::new("/var/lib/preflight/compiled"))
        );
        assert_eq!(config.plugins.settle, Duration::from_millis(10));
        assert_eq!(config.plugins.trusted_keys, vec![key]);
        assert_eq!(config.server.token.unwrap().expose(), "s3cret");

        let error = OperatorConfig::from_toml(&format!(
            "{FILE}\n[plugins]\ntrustedKeys = [\"ed25519:nope\"]\n"
        ))
        .unwrap_err();
        assert_eq!(error.field, "plugins.trustedKeys[0]");
    }

    #[test]
    fn oci_sources_need_a_directory_and_registries_name_each_bad_key() {
        let with =
            |plugins: &str| OperatorConfig::from_toml(&format!("{FILE}\n[plugins]\n{plugins}"));
        let config = with(
            "dir = \"/srv/plugins\"\nsources = [\"oci://127.0.0.1:5000/plugins/xero:stable\"]\n\
             pullIntervalSecs = 30\n[[plugins.registries]]\nhost = \"127.0.0.1:5000\"\n\
             username = \"u\"\npassword = \"p\"\n",
        )
        .unwrap();
        assert_eq!(config.plugins.sources.len(), 1);
        assert_eq!(config.plugins.pull_interval, Duration::from_secs(30));
        let access = &config.plugins.registries["127.0.0.1:5000"];
        assert_eq!(access.basic.as_ref().unwrap().1.expose(), "p");
        assert!(access.ca_pem.is_none());

        let field = |plugins: &str| with(plugins).unwrap_err().field;
        assert_eq!(
            field("sources = [\"oci://127.0.0.1:5000/plugins/xero:1\"]\n"),
            "plugins.sources"
        );
        assert_eq!(
            field("dir = \"/p\"\nsources = [\"https://127.0.0.1:5000/xero:1\"]\n"),
            "plugins.sources[0]"
        );
        assert_eq!(field("pullIntervalSecs = 1\n"), "plugins.pullIntervalSecs");
        assert_eq!(
            field(
                "[[plugins.registries]]\nhost = \"r\"\nusername = \"u\"\npasswordEnv = \"PREFLIGHT_TEST_UNSET_VARIABLE\"\n"
            ),
            "plugins.registries[0].passwordEnv"
        );
        assert_eq!(
            field("[[plugins.registries]]\nhost = \"r\"\ncaFile = \"/nonexistent/ca.pem\"\n"),
            "plugins.registries[0].caFile"
        );
        assert_eq!(
            field("[[plugins.registries]]\nhost = \"oci://r\"\n"),
            "plugins.registries[0].host"
        );
        assert_eq!(
            field("[[plugins.registries]]\nhost = \"r\"\n[[plugins.registries]]\nhost = \"r\"\n"),
            "plugins.registries[1].host"
        );
    }
}
