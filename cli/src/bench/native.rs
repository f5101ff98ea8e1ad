//! Wasm vs native: the host-overhead path (the Xero rules deciding offline)
//! run in the component and, from the same source compiled natively
//! (`bench/xero-native`), as a plain function call with the same inputs
//! through the same conversions the host makes.

use std::time::Instant;

use preflight_plugin_xero_native::Xero;
use preflight_sdk as sdk;

use super::fixtures::{offline_config, offline_job};
use super::{BenchError, Effort, Figure};
use preflight_runtime::bindings::wit_types;
use preflight_runtime::config::IntegrationConfig;
use preflight_runtime::engine::Runtime;
use preflight_runtime::job::ExportJob;

/// Calls per timed batch: one native call is about a microsecond, too short to
/// time alone.
const BATCH: usize = 50;

/// The native side's time per call, and the component's time over it.
pub async fn wasm_vs_native(runtime: &Runtime, effort: Effort) -> Result<Vec<Figure>, BenchError> {
    let fail = BenchError::of("wasm vs native");
    let artifact =
        preflight::bundled::find("xero").ok_or_else(|| fail("xero is not bundled".into()))?;
    let plugin = preflight::bundled::load_artifact(runtime, artifact)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let (job, config) = (offline_job(), offline_config());
    // Both sides must decide the same way.
    let wasm_checks = plugin
        .validate(&job, &config)
        .await
        .map_err(|e| fail(e.to_string()))?
        .report
        .checks
        .len();
    let native_checks = native(&job, &config).checks.len();
    if wasm_checks != native_checks {
        return Err(fail(format!(
            "the component reported {wasm_checks} checks, the native build {native_checks}"
        )));
    }
    let rounds = (effort.warmup + effort.iterations) / BATCH;
    let warmup = effort.warmup / BATCH;
    let (mut native_us, mut ratios) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let started = Instant::now();
        for _ in 0..BATCH {
            std::hint::black_box(native(std::hint::black_box(&job), &config));
        }
        let native_call = started.elapsed().as_secs_f64() * 1e6 / BATCH as f64;
        let started = Instant::now();
        for _ in 0..BATCH {
            plugin
                .validate(&job, &config)
                .await
                .map_err(|e| fail(e.to_string()))?;
        }
        let wasm_call = started.elapsed().as_secs_f64() * 1e6 / BATCH as f64;
        if round >= warmup {
            native_us.push(native_call);
            ratios.push(wasm_call / native_call);
        }
    }
    Ok(vec![
        Figure::from_samples(
            "wasm vs native: the Xero rules natively, host conversions included",
            "µs",
            native_us,
            None,
        ),
        Figure::from_samples(
            "wasm vs native: component / native time ratio (offline rules)",
            "×",
            ratios,
            Some(3.0),
        ),
    ])
}

/// The native call: the host's conversions, the SDK's entry point, the
/// plugin's rules.
fn native(
    job: &ExportJob,
    config: &IntegrationConfig,
) -> sdk::bindings::preflight::plugin::types::Report {
    let (job, config) = (job.to_wit(), config.to_wit());
    let job = sdk::ExportJob {
        id: job.id,
        company_id: job.company_id,
        status: match job.status {
            wit_types::JobStatus::Pending => sdk::JobStatus::Pending,
            wit_types::JobStatus::InProgress => sdk::JobStatus::InProgress,
            wit_types::JobStatus::Failed => sdk::JobStatus::Failed,
            wit_types::JobStatus::Completed => sdk::JobStatus::Completed,
            wit_types::JobStatus::CompletedWithErrors => sdk::JobStatus::CompletedWithErrors,
        },
        created_at: job.created_at,
        expires_in: job.expires_in,
        number_of_items: job.number_of_items,
        vendor_based_bookkeeping: job.vendor_based_bookkeeping,
        is_interactive: job.is_interactive,
    };
    let config = sdk::IntegrationConfig {
        accounting_system: config.accounting_system,
        base_url: config.base_url,
        tenant_id: config.tenant_id,
        settings: config.settings,
    };
    sdk::__private::validate::<Xero>(job, config)
}
