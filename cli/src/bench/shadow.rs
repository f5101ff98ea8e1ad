//! What a version in shadow costs per live validation: the stricter Xero
//! fixture (0.3.0) replayed on the tape of a live Xero 0.1.0 validation
//! against the emulator (the runner does this in the background after each
//! live validation), and the bytes one comparison adds to the store.

use std::sync::Arc;
use std::time::Instant;

use preflight_emulators::xero::{XeroConfig, XeroEmulator};
use preflight_runtime::engine::Runtime;
use preflight_runtime::sandbox::record::Tape;

use super::fixtures::{Emulators, LOOPBACK, job, xero_config, xero_settings};
use super::{BenchError, Effort, Figure, micros};

/// The candidate's replay time per live validation, and its store bytes.
pub async fn run(runtime: &Runtime, effort: Effort) -> Result<Vec<Figure>, BenchError> {
    let fail = BenchError::of("shadow");
    let emulators = Emulators::new().map_err(|e| fail(e.to_string()))?;
    let emulator = emulators
        .start(XeroEmulator::start(XeroConfig::default(), LOOPBACK))
        .await
        .map_err(|e| fail(e.to_string()))?;
    let live = super::throughput::load_xero(runtime).await.map_err(&fail)?;
    let bytes = std::fs::read(preflight_artifacts::fixtures::XERO_STRICT)
        .map_err(|e| fail(format!("the xero-strict fixture: {e}")))?;
    let candidate = runtime
        .load("xero-strict", &bytes, None)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let config = xero_config(&emulator.url(), xero_settings("429"));
    let job = job(1, uuid::Uuid::from_u128(7));
    let outcome = live
        .validate(&job, &config)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let exchanges = outcome.exchanges.len();
    let mut samples = Vec::with_capacity(effort.iterations);
    let mut replayed = None;
    for round in 0..effort.warmup + effort.iterations {
        let tape = Arc::new(Tape::new(outcome.exchanges.clone()));
        let started = Instant::now();
        let result = candidate
            .replay(&job, &config, tape)
            .await
            .map_err(|e| fail(e.to_string()))?;
        if round >= effort.warmup {
            samples.push(micros(started.elapsed()));
        }
        replayed = Some(result);
    }
    let replayed = replayed.ok_or_else(|| fail("no replay ran".to_owned()))?;
    // What one comparison row holds: both verdicts, the changed checks, the
    // misses (the store keeps these fields and a few ids).
    let live_checks = outcome.report.checks.len();
    let row = serde_json::json!({
        "live": preflight_runtime::cassette::Expectation::of(&outcome),
        "candidate": preflight_runtime::cassette::Expectation::of(&replayed),
        "jobId": job.id, "companyId": job.company_id,
    });
    let row_bytes = serde_json::to_vec(&row).map_or(0, |bytes| bytes.len());
    Ok(vec![
        Figure::from_samples(
            format!(
                "shadow: candidate replayed on a live tape per validation (xero-strict beside xero 0.1.0, {exchanges} exchanges)"
            ),
            "µs",
            samples,
            None,
        ),
        Figure::from_samples(
            format!("shadow: store bytes per comparison, at most (xero's {live_checks} checks)"),
            "B",
            vec![row_bytes as f64],
            None,
        ),
    ])
}
