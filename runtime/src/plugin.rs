//! A loaded plugin: compiled once, pre-instantiated once, instantiated fresh in
//! its own [`Store`] for every call.
//!
//! Two error layers meet here. Expected failures of the accounting system are
//! values in the report. Anything else, a trap, a limit, a report that breaks
//! the contract, is a [`Fault`] of the plugin, returned as a [`PluginError`]
//! that names the plugin and its version and never takes the host down.
//!
//! Over 500 lines: loading (gate, contract, info, manifest) and every call's
//! containment (pool slot, deadline, limits, fault explanation) share the
//! plugin's fields; splitting them would expose those fields to a second
//! module.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::Digest as _;
use wasmtime::component::Component;
use wasmtime::{Store, UpdateDeadline};

use crate::bindings::{self, ContractVersion, Instance, Pre, wit_types};
use crate::config::IntegrationConfig;
use crate::engine::Runtime;
use crate::job::ExportJob;
use crate::limits::{Limit, Limits};
use crate::manifest::Manifest;
use crate::report::{ContractBreach, Report, Verdict};
use crate::sandbox::{Exchange, Grants, Origin, OriginPattern, OriginPolicy, PluginCtx};

/// What a plugin says about itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginInfo {
    /// Plugin name.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// The accounting system it validates for.
    pub accounting_system: String,
    /// The accounting system's name for finance users, when the plugin's
    /// contract version has one (from 0.2.0).
    pub display_name: Option<String>,
    /// What the accounting system supports, e.g. `vendor-bookkeeping`.
    pub capabilities: Vec<String>,
    /// One line for operators.
    pub description: String,
    /// The contract version the component was built against, e.g. `0.2.0`.
    pub contract: String,
    /// A JSON Schema of the settings, when the plugin gives one.
    pub settings_schema: Option<serde_json::Value>,
    /// The plugin's rules in the order they run, when its contract version
    /// declares them (from 0.2.0): every report lists exactly these.
    pub rules: Option<Vec<RuleInfo>>,
}

impl PluginInfo {
    /// The name to show finance users: the display name, else the system id.
    pub fn system_name(&self) -> &str {
        self.display_name
            .as_deref()
            .unwrap_or(&self.accounting_system)
    }
}

/// One rule a plugin declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleInfo {
    /// The id its check carries, e.g. `xero.connection`.
    pub id: String,
    /// A few words for operators.
    pub title: String,
}

/// A compiled plugin, ready to instantiate.
pub struct Plugin {
    runtime: Runtime,
    pre: Pre,
    info: PluginInfo,
    label: Arc<str>,
    digest: String,
    size: usize,
    /// The manifest's allowed origins (beyond the configuration's base URL).
    allowed: Arc<[OriginPattern]>,
    /// The manifest the plugin was loaded with, if any.
    manifest: Option<Manifest>,
    /// The limits its validations run with: the manifest's within the
    /// operator's ceiling.
    limits: Limits,
    /// The operator's narrowing of the allowed origins, if any: an origin
    /// must match it as well as the manifest.
    narrowed: Option<Arc<[OriginPattern]>>,
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("info", &self.info)
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

/// Why a plugin could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Not a WebAssembly component, or one wasmtime cannot compile.
    #[error("{source_name}: not a loadable WebAssembly component: {error:#}")]
    Compile {
        /// Where the bytes came from.
        source_name: String,
        /// wasmtime's error.
        error: wasmtime::Error,
    },
    /// Refused by the capability gate: an import the host does not grant, an
    /// unsupported contract version, or the wrong world.
    #[error("{source_name}: refused: {error}")]
    Gate {
        /// Where the bytes came from.
        source_name: String,
        /// What the gate found.
        error: crate::gate::GateError,
    },
    /// Passed the gate but does not link against the contract (a function
    /// of the wrong type, a missing export).
    #[error("{source_name}: does not fit the preflight:plugin@{version} contract: {error:#}")]
    Contract {
        /// Where the bytes came from.
        source_name: String,
        /// The contract version it exports.
        version: ContractVersion,
        /// wasmtime's error, naming the import or export.
        error: wasmtime::Error,
    },
    /// The manifest does not describe this component.
    #[error("{source_name}: manifest mismatch: {message}")]
    Manifest {
        /// Where the bytes came from.
        source_name: String,
        /// What differs.
        message: String,
    },
    /// `info` faulted. Named once: before `info` answers, the plugin has
    /// no name but its source.
    #[error("{source_name}: faulted in info: {}", error.fault)]
    Info {
        /// Where the bytes came from.
        source_name: String,
        /// The fault.
        error: PluginError,
    },
}

/// A plugin fault, naming the plugin and version.
#[derive(Debug, Clone, thiserror::Error)]
#[error("plugin {plugin}: {fault}")]
pub struct PluginError {
    /// `name version` of the plugin.
    pub plugin: String,
    /// What went wrong.
    pub fault: Fault,
}

/// What went wrong inside a plugin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    /// The plugin trapped (a panic, an unreachable, a stack overflow, …).
    #[error("trapped: {0}")]
    Trap(String),
    /// The plugin ran into a limit.
    #[error("stopped at its {described}")]
    Limit {
        /// Which limit.
        limit: Limit,
        /// The limit with its value, e.g. `wall-time limit of 300 ms`.
        described: String,
    },
    /// The company's configuration asks it to reach an origin it was not
    /// granted.
    #[error("not granted: {0}")]
    NotGranted(String),
    /// The plugin's answer breaks the contract.
    #[error("broke the contract: {0}")]
    Contract(String),
}

impl Fault {
    /// The fault of running into `limit`, described with its value.
    pub fn limit(limit: Limit, limits: &Limits) -> Fault {
        Fault::Limit {
            limit,
            described: limit.describe(limits),
        }
    }
}

/// A compiled component with the digest and size of the bytes it came from.
pub struct Compiled {
    /// The compiled component.
    pub component: Component,
    /// SHA-256 of the component's bytes, hex.
    pub digest: String,
    /// Size of the component's bytes.
    pub size: usize,
}

/// The result of one validation.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// `name version` of the plugin that decided.
    pub plugin: String,
    /// The plugin's checks.
    pub report: Report,
    /// What the host decided from them.
    pub verdict: Verdict,
    /// The outbound exchanges the plugin made.
    pub exchanges: Vec<Exchange>,
    /// Wall time of the validation, instantiation included.
    #[serde(serialize_with = "as_millis")]
    pub elapsed: Duration,
    /// The largest linear memory of the instance, in bytes (its initial
    /// size and every growth the limiter allowed), for `bench --plugin`.
    #[serde(skip)]
    pub peak_memory: usize,
}

fn as_millis<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64() * 1000.0)
}

impl Runtime {
    /// Compiles a component, checks it against the contract, and asks it who it
    /// is. `source_name` names the bytes in errors (a path, `bundled:xero`).
    /// `manifest` says what it may reach and the limits it asks for; without
    /// one it reaches only the configured base URL and runs with the
    /// operator's limits.
    ///
    /// Compiling is CPU-heavy: it runs on a blocking thread, never on the
    /// async executor's.
    pub async fn load(
        &self,
        source_name: &str,
        bytes: &[u8],
        manifest: Option<Manifest>,
    ) -> Result<Plugin, LoadError> {
        let engine = self.engine().clone();
        let owned = bytes.to_vec();
        let compiled = tokio::task::spawn_blocking(move || Component::new(&engine, &owned))
            .await
            .unwrap_or_else(|error| Err(wasmtime::Error::msg(format!("compiling: {error}"))));
        let component = compiled.map_err(|error| LoadError::Compile {
            source_name: source_name.to_owned(),
            error,
        })?;
        let compiled = Compiled {
            component,
            digest: hex(&sha2::Sha256::digest(bytes)),
            size: bytes.len(),
        };
        self.load_compiled(source_name, compiled, manifest).await
    }

    /// [`Runtime::load`] of a component compiled beforehand (on a blocking
    /// thread, or deserialized from the compiled cache): the gate, the
    /// contract, `info` and the manifest check.
    pub async fn load_compiled(
        &self,
        source_name: &str,
        compiled: Compiled,
        manifest: Option<Manifest>,
    ) -> Result<Plugin, LoadError> {
        let Compiled {
            component,
            digest,
            size,
        } = compiled;
        let version =
            crate::gate::check(&component, self.engine()).map_err(|error| LoadError::Gate {
                source_name: source_name.to_owned(),
                error,
            })?;
        let contract = |error| LoadError::Contract {
            source_name: source_name.to_owned(),
            version,
            error,
        };
        let instance_pre = self
            .inner
            .linker
            .instantiate_pre(&component)
            .map_err(contract)?;
        let pre = Pre::new(instance_pre, version).map_err(contract)?;
        let mut plugin = Plugin {
            runtime: self.clone(),
            pre,
            info: PluginInfo {
                name: source_name.to_owned(),
                version: "?".to_owned(),
                accounting_system: String::new(),
                display_name: None,
                capabilities: Vec::new(),
                description: String::new(),
                contract: version.as_str().to_owned(),
                settings_schema: None,
                rules: None,
            },
            label: Arc::from(source_name),
            digest,
            size,
            allowed: manifest
                .as_ref()
                .map_or_else(|| Arc::from([]), |m| m.allowed_origins.clone().into()),
            limits: manifest.as_ref().map_or_else(
                || self.options().limits.clone(),
                |m| m.limits(&self.options().limits),
            ),
            manifest,
            narrowed: None,
        };
        let info = plugin
            .call_info(version)
            .await
            .map_err(|error| LoadError::Info {
                source_name: source_name.to_owned(),
                error,
            })?;
        if let Some(manifest) = &plugin.manifest {
            manifest
                .check(&info)
                .map_err(|message| LoadError::Manifest {
                    source_name: source_name.to_owned(),
                    message,
                })?;
        }
        plugin.label = Arc::from(format!("{} {}", info.name, info.version));
        plugin.info = info;
        Ok(plugin)
    }
}

impl Plugin {
    /// What the plugin said about itself when it was loaded.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// `name version`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// SHA-256 of the component, hex.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Size of the component in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Validates `job` for the company configured by `config`.
    pub async fn validate(
        &self,
        job: &ExportJob,
        config: &IntegrationConfig,
    ) -> Result<Outcome, PluginError> {
        self.validate_with(job, config, &self.limits).await
    }

    /// [`Plugin::validate`] with other limits.
    pub async fn validate_with(
        &self,
        job: &ExportJob,
        config: &IntegrationConfig,
        limits: &Limits,
    ) -> Result<Outcome, PluginError> {
        self.validate_inner(job, config, limits, None).await
    }

    /// Validates `job` against recorded exchanges instead of the network:
    /// every request the plugin makes is answered from `tape` (and nothing
    /// is sent), so a recorded validation runs again offline, with this
    /// plugin or another version.
    pub async fn replay(
        &self,
        job: &ExportJob,
        config: &IntegrationConfig,
        tape: Arc<crate::sandbox::record::Tape>,
    ) -> Result<Outcome, PluginError> {
        self.validate_inner(job, config, &self.limits, Some(tape))
            .await
    }

    async fn validate_inner(
        &self,
        job: &ExportJob,
        config: &IntegrationConfig,
        limits: &Limits,
        replay: Option<Arc<crate::sandbox::record::Tape>>,
    ) -> Result<Outcome, PluginError> {
        let started = Instant::now();
        let home = Origin::of(&config.base_url)
            .map_err(|message| self.error(Fault::NotGranted(message)))?;
        self.check_home(&home)?;
        let options = self.runtime.options();
        let grants = Grants {
            origins: OriginPolicy {
                home,
                allowed: Arc::clone(&self.allowed),
                narrowed: self.narrowed.clone(),
                // A replay sends nothing: the recorded origins were allowed
                // when they were reached.
                allow_http_loopback: options.allow_http_loopback || replay.is_some(),
            },
            credentials: config.credentials.clone(),
            record_bytes: options.record_body_bytes,
            replay,
        };
        let mut store = self.store(job.id.to_string(), limits, grants);
        let result = self
            .run(&mut store, limits, async |instance, store| {
                instance.validate(store, job, config).await
            })
            .await;
        let exchanges = store.data_mut().take_exchanges();
        let peak_memory = store.data().peak_memory;
        // Read after the run: an OAuth refresh may have added tokens.
        let secrets = store.data().outbound.secrets();
        let rules = self.info.rules.as_deref();
        let mut report = Report::from_wit(result?, limits.report_bytes, rules).map_err(
            |breach| match breach {
                ContractBreach::TooLarge { .. } => {
                    self.error(Fault::limit(Limit::ReportSize, limits))
                }
                ContractBreach::Invalid(message) => self.error(Fault::Contract(message)),
            },
        )?;
        report.redact(&secrets);
        let verdict = report.verdict();
        Ok(Outcome {
            plugin: self.label.to_string(),
            report,
            verdict,
            exchanges,
            elapsed: started.elapsed(),
            peak_memory,
        })
    }

    /// Checks a company's settings offline: `Ok(Err(errors))` lists what is
    /// wrong with them.
    pub async fn validate_settings(
        &self,
        settings: &serde_json::Value,
    ) -> Result<Result<(), Vec<wit_types::SettingsError>>, PluginError> {
        let limits = self.runtime.options().limits.clone();
        let mut store = self.store(String::new(), &limits, self.no_grants());
        let json = settings.to_string();
        self.run(&mut store, &limits, async |instance, store| {
            instance.validate_settings(store, &json).await
        })
        .await
    }

    async fn call_info(&self, version: ContractVersion) -> Result<PluginInfo, PluginError> {
        let limits = self.runtime.options().limits.clone();
        let mut store = self.store(String::new(), &limits, self.no_grants());
        let info = self
            .run(&mut store, &limits, async |instance, store| {
                instance.info(store).await
            })
            .await?;
        bindings::plugin_info(info, version).map_err(|message| self.error(Fault::Contract(message)))
    }

    /// Narrows the origins the plugin may reach (and be configured for) to
    /// those that also match `patterns`: the operator can tighten what the
    /// manifest asks, never widen it.
    pub fn narrow_origins(&mut self, patterns: Vec<OriginPattern>) {
        self.narrowed = Some(patterns.into());
    }

    /// The limits its validations run with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The manifest it was loaded with.
    pub fn manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref()
    }

    /// The configured base URL's origin must be one the plugin may reach
    /// ([`OriginPolicy::check_home`]).
    fn check_home(&self, home: &Origin) -> Result<(), PluginError> {
        OriginPolicy::check_home(
            home,
            self.manifest.as_ref().map(|m| m.allowed_origins.as_slice()),
            self.narrowed.as_deref(),
            self.runtime.options().allow_http_loopback,
        )
        .map_err(|message| self.error(Fault::NotGranted(message)))
    }

    fn no_grants(&self) -> Grants {
        Grants {
            // `info` and `validate-settings` make no requests.
            origins: OriginPolicy::deny_all(),
            credentials: crate::config::Credentials::None,
            record_bytes: 0,
            replay: None,
        }
    }

    fn store(&self, job_id: String, limits: &Limits, grants: Grants) -> Store<PluginCtx> {
        let ctx = PluginCtx::new(
            Arc::clone(&self.label),
            job_id,
            limits.clone(),
            grants,
            self.runtime.inner.client.clone(),
            Arc::clone(&self.runtime.inner.refusals),
        );
        let mut store = Store::new(self.runtime.engine(), ctx);
        store.limiter(|ctx| ctx);
        store
    }

    /// Instantiates the plugin in `store` and runs `call` within the limits,
    /// turning every way it can go wrong into a [`PluginError`].
    async fn run<R>(
        &self,
        store: &mut Store<PluginCtx>,
        limits: &Limits,
        call: impl AsyncFnOnce(Instance, &mut Store<PluginCtx>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        // Waiting for a pool slot is not the plugin's time: the wall-time
        // limit starts once it has one.
        let _slot = self
            .runtime
            .inner
            .slots
            .acquire()
            .await
            .expect("the slot semaphore is never closed");
        let deadline = Instant::now() + limits.wall_time;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |mut ctx| {
            if Instant::now() >= deadline {
                ctx.data_mut().hit = Some(Limit::WallTime);
                return Err(wasmtime::Error::msg("wall-time limit reached"));
            }
            // Yield at every tick so one busy plugin never holds an executor
            // thread that other validations need.
            Ok(UpdateDeadline::Yield(1))
        });
        let work = async {
            let instance = self.pre.instantiate(&mut *store).await?;
            call(instance, &mut *store).await
        };
        // The epoch callback stops a plugin that computes; this timeout stops
        // one that waits on the host (slow requests add up).
        match tokio::time::timeout(limits.wall_time, work).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(self.error(self.explain(store.data(), &error, limits))),
            Err(_) => Err(self.error(Fault::limit(Limit::WallTime, limits))),
        }
    }

    fn explain(&self, ctx: &PluginCtx, error: &wasmtime::Error, limits: &Limits) -> Fault {
        if let Some(limit) = ctx.hit {
            return Fault::limit(limit, limits);
        }
        let mut message = match error.downcast_ref::<wasmtime::Trap>() {
            Some(wasmtime::Trap::StackOverflow) => "stack overflow".to_owned(),
            Some(trap) => trap.to_string(),
            None => format!("{error:#}"),
        };
        if let Some(stderr) = ctx.stderr_tail() {
            message = format!("{message}; plugin stderr: {stderr}");
        }
        Fault::Trap(message)
    }

    fn error(&self, fault: Fault) -> PluginError {
        PluginError {
            plugin: self.label.to_string(),
            fault,
        }
    }
}

impl PluginError {
    /// The verdict for a job whose plugin faulted: the job is not blamed on the
    /// company's setup; it fails as `integration_unusable`, and the operator
    /// gets the fault.
    pub fn verdict(&self, system: &str) -> Verdict {
        Verdict::Fail {
            reason: crate::report::FailureReason::IntegrationUnusable,
            message: format!(
                "Pleo's {system} integration could not complete its pre-export checks because of \
                 a fault in its validation rules. This is not caused by your {system} setup; \
                 contact support."
            ),
            check: "preflight.plugin".to_owned(),
        }
    }
}

/// Lower-case hex of `bytes` (how digests are shown and stored).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
