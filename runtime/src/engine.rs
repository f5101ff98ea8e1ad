//! The one wasmtime [`Engine`] of the process, its [`Linker`], the epoch
//! ticker, and the HTTP client shared by every validation.
//!
//! Engine settings: async (host HTTP is awaited; a busy plugin yields at every
//! epoch tick instead of holding a worker thread), the pooling allocator
//! (instantiation without mmap per validation), epoch interruption (wall-clock
//! deadlines without fuel's per-instruction cost).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::component::Linker;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::limits::Limits;
use crate::sandbox::PluginCtx;
use crate::sandbox::resolver::GuardedResolver;

/// How the runtime is set up.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Default per-validation limits.
    pub limits: Limits,
    /// Plugin instances alive at once (validations in flight); sizes the pool.
    pub max_instances: u32,
    /// Epoch tick: how often a running plugin yields and its deadline is
    /// checked.
    pub epoch_tick: Duration,
    /// Whether plugins may use plain `http` to loopback addresses (local
    /// emulators). Never any other plain `http`.
    pub allow_http_loopback: bool,
    /// Bytes of each outbound request and response body kept in the
    /// exchange records (the decision log and replay read them).
    pub record_body_bytes: usize,
    /// Non-public address ranges a granted host name may resolve to; any
    /// other non-public address is refused after DNS
    /// ([`crate::sandbox::resolver`]).
    pub allowed_addresses: Vec<crate::sandbox::resolver::AddressRange>,
    /// Whether to write `/tmp/perf-<pid>.map` naming the plugins' compiled
    /// functions, so a `perf` profile shows them by name (`scripts/profile`).
    pub perf_map: bool,
}

/// The default of [`RuntimeOptions::record_body_bytes`].
pub const RECORD_BODY_BYTES: usize = 64 * 1024;

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            limits: Limits::default(),
            max_instances: 1_000,
            epoch_tick: Duration::from_millis(5),
            allow_http_loopback: false,
            record_body_bytes: RECORD_BODY_BYTES,
            allowed_addresses: Vec::new(),
            perf_map: false,
        }
    }
}

/// Why the runtime could not start.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// wasmtime refused the configuration.
    #[error("could not configure the WebAssembly engine: {0:#}")]
    Engine(wasmtime::Error),
    /// The host functions could not be linked.
    #[error("could not link the host functions: {0:#}")]
    Link(wasmtime::Error),
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// The engine, linker and shared HTTP client. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<PluginCtx>,
    pub(crate) client: reqwest::Client,
    pub(crate) resolver: Arc<GuardedResolver>,
    pub(crate) options: RuntimeOptions,
    /// One permit per pool slot: a validation waits for a free slot instead
    /// of failing to instantiate when every slot is taken.
    pub(crate) slots: Arc<tokio::sync::Semaphore>,
    /// Requests refused before sending, across every plugin.
    pub(crate) refusals: Arc<crate::sandbox::outbound::Refusals>,
    /// Held for its `Drop`, which stops the thread.
    _ticker: Ticker,
}

impl Runtime {
    /// Starts a runtime: builds the engine, links the host functions and
    /// starts the epoch ticker.
    pub fn new(options: RuntimeOptions) -> Result<Runtime, RuntimeError> {
        let engine = Engine::new(&engine_config(&options)).map_err(RuntimeError::Engine)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(RuntimeError::Link)?;
        crate::bindings::add_to_linker(&mut linker).map_err(RuntimeError::Link)?;
        let resolver = Arc::new(GuardedResolver::new(options.allowed_addresses.clone()));
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::clone(&resolver))
            // Redirects reach the plugin as they are: following one here would
            // let an allowed origin send the plugin's request elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            // Never through a proxy named by the environment (HTTP_PROXY,
            // ALL_PROXY…): it would see every request, credentials included.
            .no_proxy()
            .connect_timeout(options.limits.request_timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent(concat!("preflight/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let ticker = Ticker::start(engine.clone(), options.epoch_tick);
        let slots = Arc::new(tokio::sync::Semaphore::new(
            options.max_instances.max(1) as usize
        ));
        Ok(Runtime {
            inner: Arc::new(Inner {
                engine,
                linker,
                client,
                resolver,
                options,
                slots,
                refusals: Arc::default(),
                _ticker: ticker,
            }),
        })
    }

    /// Requests the sandbox refused before sending, per plugin and reason.
    pub fn refusals(&self) -> &crate::sandbox::outbound::Refusals {
        &self.inner.refusals
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The HTTP client every validation's requests go through (shared, so
    /// connections are reused); the benchmarks' native validator uses it
    /// too, so the comparison is like for like.
    pub fn http_client(&self) -> &reqwest::Client {
        &self.inner.client
    }

    /// The resolver of the plugins' HTTP client, with its guard after DNS;
    /// [`GuardedResolver::pin`] answers a name without DNS.
    pub fn resolver(&self) -> &GuardedResolver {
        &self.inner.resolver
    }

    /// The options the runtime was started with.
    pub fn options(&self) -> &RuntimeOptions {
        &self.inner.options
    }
}

/// Bytes of each pool slot's memory and tables kept resident between
/// instances.
const KEEP_RESIDENT: usize = 2 << 20;

fn engine_config(options: &RuntimeOptions) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    let instances = options.max_instances.max(1);
    let mut pool = PoolingAllocationConfig::default();
    // A Rust wasm32-wasip2 component has a handful of core instances and
    // tables and one memory; leave headroom for every plugin in flight.
    pool.total_component_instances(instances)
        .total_core_instances(instances.saturating_mul(8))
        .total_memories(instances.saturating_mul(2))
        .total_tables(instances.saturating_mul(8))
        .total_stacks(instances)
        .max_memory_size(options.limits.memory_bytes)
        // A slot's first pages stay mapped between validations instead of
        // being handed back and faulted in again by the next instance (the
        // largest cost per validation in a profile); the price is memory a
        // burst used staying with the process.
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(KEEP_RESIDENT)
        .pagemap_scan(wasmtime::Enabled::Auto);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    if options.perf_map {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    config
}

/// Advances the engine's epoch every tick, on its own thread, until dropped.
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(engine: Engine, tick: Duration) -> Ticker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("preflight-epoch".to_owned())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    engine.increment_epoch();
                }
            })
            .expect("spawn the epoch ticker thread");
        Ticker {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
