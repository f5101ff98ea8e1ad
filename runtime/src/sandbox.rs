//! What a plugin gets: the store data of one validation.
//!
//! Nothing ambient: WASI is linked to an empty context (no preopened
//! directories, no environment, no arguments; stdin empty, stdout discarded,
//! stderr captured for trap diagnostics; `wasi:sockets` linked for the
//! language runtimes that import it, with TCP, UDP and name lookup off and
//! every socket address refused). The only ways out are the
//! contract's `log`, tied to the plugin and job, and `http`, which goes through
//! [`outbound`]'s single checked path.
//!
//! # Layout
//!
//! - this file: [`PluginCtx`] (the store data), [`Grants`], the memory
//!   limiter and `log`;
//! - [`policy`]: origins, allowed-origin patterns and the one origin policy;
//! - [`outbound`]: `http.send`: request checks, transport, the exchange
//!   record;
//! - `credentials`: attaching the company's credentials, OAuth refresh;
//! - [`redact`]: credentials redacted from what the plugin receives, PII
//!   masked in what the decision log keeps;
//! - [`record`]: captured bodies and the replay tape.

mod credentials;
pub mod outbound;
pub mod policy;
pub mod record;
pub mod redact;
pub mod resolver;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::wit_log;
use crate::config::Credentials;
use crate::limits::{Limit, Limits};

pub use outbound::Exchange;
pub use policy::{Origin, OriginPattern, OriginPolicy};

/// How much of the plugin's stderr is kept, for the panic message of a trap.
const STDERR_CAPTURE: usize = 16 << 10;

/// The store data of one validation.
pub struct PluginCtx {
    wasi: WasiCtx,
    table: ResourceTable,
    stderr: MemoryOutputPipe,
    /// Who is running, for logs and errors.
    pub(crate) label: Arc<str>,
    /// The job being validated, for logs.
    pub(crate) job_id: String,
    pub(crate) limits: Limits,
    /// The limit the plugin ran into, if any; set by the limiter and the
    /// epoch callback so a trap can be explained.
    pub(crate) hit: Option<Limit>,
    /// The largest size a linear memory of the instance grew to, in bytes.
    pub(crate) peak_memory: usize,
    log_bytes: usize,
    pub(crate) outbound: outbound::Outbound,
}

/// The operator's sandbox policy (the operator file's `[sandbox]`): ceilings of the per-validation limits (a plugin's manifest may
/// ask for less, never more) and whether plain `http` to loopback is allowed.
#[derive(Debug, Clone)]
pub struct SandboxSettings {
    /// Plain `http` to loopback addresses (local emulators); off by default.
    pub allow_http_loopback: bool,
    /// The limit ceilings.
    pub ceiling: crate::limits::Limits,
    /// Per accounting system, the only origins its plugin may reach, within
    /// what its manifest declares (`[sandbox.origins] xero = ["https://api.xero.com"]`).
    pub origins: BTreeMap<String, Vec<OriginPattern>>,
    /// Non-public address ranges granted host names may resolve to
    /// (`sandbox.allowedAddresses`); none by default.
    pub allowed_addresses: Vec<resolver::AddressRange>,
}

/// The grants and context of one validation.
pub struct Grants {
    /// Where requests may go; credentials go to its home origin only.
    pub origins: OriginPolicy,
    /// The company's credentials for the home origin.
    pub credentials: Credentials,
    /// Bytes of each request and response body kept in the exchange record.
    pub record_bytes: usize,
    /// Recorded exchanges to answer from instead of the network (replay).
    pub replay: Option<Arc<record::Tape>>,
}

impl PluginCtx {
    /// Store data for validating `job_id` with the plugin called `label`.
    pub(crate) fn new(
        label: Arc<str>,
        job_id: String,
        limits: Limits,
        grants: Grants,
        client: reqwest::Client,
        refusals: Arc<outbound::Refusals>,
    ) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_CAPTURE);
        // wasmtime-wasi's defaults deny the network already; said here
        // explicitly so that no change of defaults ever grants it.
        let wasi = wasmtime_wasi::WasiCtxBuilder::new()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .build();
        let outbound = outbound::Outbound::new(grants, client, &limits, refusals);
        PluginCtx {
            wasi,
            table: ResourceTable::new(),
            stderr,
            label,
            job_id,
            limits,
            hit: None,
            peak_memory: 0,
            log_bytes: 0,
            outbound,
        }
    }

    /// The last lines the plugin wrote to stderr (a Rust panic message lands
    /// there), trimmed, for error messages.
    pub(crate) fn stderr_tail(&self) -> Option<String> {
        let bytes = self.stderr.contents();
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let tail: Vec<&str> = text.lines().rev().take(3).collect();
        Some(tail.into_iter().rev().collect::<Vec<_>>().join(" | "))
    }

    /// Outbound exchanges made so far.
    pub(crate) fn take_exchanges(&mut self) -> Vec<Exchange> {
        std::mem::take(&mut self.outbound.exchanges)
    }
}

impl fmt::Debug for PluginCtx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginCtx")
            .field("plugin", &self.label)
            .field("job", &self.job_id)
            .finish_non_exhaustive()
    }
}

impl WasiView for PluginCtx {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl ResourceLimiter for PluginCtx {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limits.memory_bytes {
            self.hit = Some(Limit::Memory);
            return Ok(false);
        }
        self.peak_memory = self.peak_memory.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables hold function references; a plugin needing more than this is
        // either broken or hostile.
        Ok(desired <= 100_000)
    }
}

impl wit_log::Host for PluginCtx {
    fn log(&mut self, level: wit_log::Level, message: String) -> wasmtime::Result<()> {
        self.log_bytes += message.len();
        if self.log_bytes > self.limits.log_bytes {
            // A plugin that floods the log is broken or hostile: stop it
            // rather than let it fill the operator's disk.
            self.hit = Some(Limit::LogVolume);
            return Err(wasmtime::Error::msg("log limit reached"));
        }
        let message = self.outbound.redact(&message);
        let (plugin, job) = (&*self.label, self.job_id.as_str());
        match level {
            wit_log::Level::Trace => tracing::trace!(plugin, job, "{message}"),
            wit_log::Level::Debug => tracing::debug!(plugin, job, "{message}"),
            wit_log::Level::Info => tracing::info!(plugin, job, "{message}"),
            wit_log::Level::Warn => tracing::warn!(plugin, job, "{message}"),
            wit_log::Level::Error => tracing::error!(plugin, job, "{message}"),
        }
        Ok(())
    }
}

impl crate::bindings::wit_types::Host for PluginCtx {}
