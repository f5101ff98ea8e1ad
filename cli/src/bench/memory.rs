//! What the process holds while many validations post the largest body they
//! may: 64 validations in flight, each sending one request of `requestBytes`
//! (the default, 1 MiB) to a sink on loopback, against the same 64 sending
//! 1 KiB. The guests' memory is included (each builds the body as a string,
//! then as JSON), and so is the sink's, which reads each body whole. The difference, per validation and per byte of body, is what a
//! request body costs beyond the plugin's own memory; the documented bound
//! is the plugin's memory limit plus `requestBytes`, `responseBytes` and two
//! recorded bodies per exchange.

use std::sync::Arc;

use preflight_emulators::probe::ProbeServer;
use preflight_runtime::config::{Credentials, IntegrationConfig};
use preflight_runtime::engine::Runtime;
use preflight_runtime::plugin::Plugin;

use super::concurrency::memory as peak;
use super::fixtures::LOOPBACK;
use super::{BenchError, Effort, Figure};

/// Validations in flight at once, as the issue of record asks.
const IN_FLIGHT: usize = 64;

/// The memory figures; none when `/proc/self` cannot say. Each round starts
/// a runtime of its own (engine, instance pool, client), so that what a
/// round measures (the peak over the resident size before its first
/// validation) holds the guests' memory as well as the host's, and nothing
/// from the round before.
pub async fn run(_runtime: &Runtime, effort: Effort) -> Result<Vec<Figure>, BenchError> {
    let fail = BenchError::of("memory");
    let probe = ProbeServer::start(LOOPBACK)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let largest = preflight_runtime::Limits::default().request_bytes;
    let config = |bytes: usize| {
        Arc::new(IntegrationConfig {
            accounting_system: "xero".to_owned(),
            base_url: url::Url::parse(&probe.url()).expect("the probe's URL parses"),
            tenant_id: None,
            credentials: Credentials::None,
            settings: serde_json::json!({ "bytes": bytes }),
        })
    };
    let (small, large) = (config(1 << 10), config(largest));
    let mut growth = (Vec::new(), Vec::new());
    let mut plugin = None;
    for _ in 0..effort.burst_rounds.max(1) {
        for (config, samples) in [(&large, &mut growth.1), (&small, &mut growth.0)] {
            let runtime =
                Runtime::new(super::runtime_options()).map_err(|e| fail(e.to_string()))?;
            let loaded = Arc::new(
                runtime
                    .load(
                        "hostile:big-request",
                        preflight_artifacts::hostile::BIG_REQUEST_BYTES,
                        None,
                    )
                    .await
                    .map_err(|e| fail(e.to_string()))?,
            );
            let (true, Some(before)) = (peak::reset_peak(), peak::resident_mib()) else {
                eprintln!(
                    "note: peak RSS cannot be reset or read on this system; memory not reported"
                );
                return Ok(Vec::new());
            };
            burst(&loaded, config).await.map_err(&fail)?;
            let after = peak::peak_mib().ok_or_else(|| fail("peak RSS unreadable".to_owned()))?;
            samples.push(after - before);
            plugin = Some(loaded);
        }
    }
    probe.shutdown().await;
    let (small_growth, large_growth) = growth;
    let plugin = plugin.expect("at least one round ran");
    let limits = plugin.limits();
    let mib = |bytes: usize| bytes as f64 / f64::from(1 << 20);
    let bound_per_validation = mib(limits.memory_bytes)
        + mib(limits.request_bytes)
        + mib(limits.response_bytes)
        + 2.0 * mib(preflight_runtime::engine::RECORD_BODY_BYTES);
    let body = mib(largest);
    let per_validation: Vec<f64> = large_growth
        .iter()
        .map(|peak| peak / IN_FLIGHT as f64)
        .collect();
    let per_body_byte: Vec<f64> = large_growth
        .iter()
        .zip(&small_growth)
        .map(|(large, small)| (large - small) / IN_FLIGHT as f64 / (body - 1.0 / 1024.0))
        .collect();
    Ok(vec![
        Figure::from_samples(
            format!(
                "memory: peak RSS growth, {IN_FLIGHT} validations each posting {} (probe included)",
                preflight::input::size(largest)
            ),
            "MiB",
            large_growth.clone(),
            Some(bound_per_validation * IN_FLIGHT as f64),
        ),
        Figure::from_samples(
            "memory: the same, each posting 1 KiB (probe included)",
            "MiB",
            small_growth,
            None,
        ),
        Figure::from_samples(
            format!(
                "memory: per validation posting {}, against the documented bound",
                preflight::input::size(largest)
            ),
            "MiB",
            per_validation,
            Some(bound_per_validation),
        ),
        Figure::from_samples(
            "memory: bytes held per byte of request body (guest string and JSON, host, probe)",
            "×",
            per_body_byte,
            None,
        ),
    ])
}

/// Validates [`IN_FLIGHT`] jobs at once; every request must be answered.
async fn burst(plugin: &Arc<Plugin>, config: &Arc<IntegrationConfig>) -> Result<(), String> {
    super::concurrency::at_once(plugin, config, IN_FLIGHT, |outcome| {
        match outcome.report.checks[0].message.as_str() {
            "answered 200" => Ok(()),
            message => Err(format!("a request was not answered: {message}")),
        }
    })
    .await
    .map(drop)
}
