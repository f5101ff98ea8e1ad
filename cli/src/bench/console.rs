//! Page loads of the operator console over a large decision log: the demo
//! runs once against a store in memory, its decisions are copied (new job
//! ids, spread over the last 24 hours, the demo's companies) until the log
//! holds `effort.console_decisions`, and each page is fetched over loopback
//! HTTP from the real server, whole body read, as a browser would.

use std::time::{Duration, Instant};

use preflight_runtime::engine::Runtime;
use preflight_store::{Identity, Store};

use super::{BenchError, Effort, Figure, millis};
use crate::demo::Demo;

/// One figure per console page.
pub async fn run(effort: Effort) -> Result<Vec<Figure>, BenchError> {
    let fail = BenchError::of("console");
    // The demo's own runtime: its short request timeout is what makes its
    // slow accounting systems time out quickly.
    let runtime = Runtime::new(crate::demo::runtime_options()).map_err(|e| fail(e.to_string()))?;
    let runtime = &runtime;
    let store = Store::in_memory(Identity::default())
        .await
        .map_err(|e| fail(e.to_string()))?;
    let demo = Demo::start(runtime, store.clone(), None)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let rows = demo
        .process(&crate::progress::Progress::default())
        .await
        .map_err(|e| fail(e.to_string()))?;
    let mut templates = Vec::new();
    for row in &rows {
        templates.extend(
            store
                .decisions_of(row.job)
                .await
                .map_err(|e| fail(e.to_string()))?,
        );
    }
    if templates.is_empty() {
        return Err(fail("the demo logged no decision".to_owned()));
    }
    let now = preflight_store::now_millis();
    let total = effort.console_decisions.max(templates.len());
    let day = 24 * 3_600_000;
    let mut middle = 0;
    for n in templates.len()..total {
        let mut decision = templates[n % templates.len()].clone();
        decision.job_id =
            uuid::Uuid::from_u128(0x0bec_0000_0000_4000_8000_0000_0000_0000 | n as u128);
        // Oldest first, so ids grow with time as in a live log.
        decision.at = now - day + (day * n as i64) / total as i64;
        let id = store
            .log_decision(&decision, &[])
            .await
            .map_err(|e| fail(e.to_string()))?;
        if n == total / 2 {
            middle = id;
        }
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| fail(e.to_string()))?;
    let address = listener.local_addr().map_err(|e| fail(e.to_string()))?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(preflight::server::serve(
        demo.runner().clone(),
        None,
        None,
        listener,
        async move {
            let mut stopped = stopped;
            let _ = stopped.wait_for(|s| *s).await;
        },
    ));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let job = rows
        .iter()
        .find(|row| row.reason.is_some())
        .map_or(templates[0].job_id, |row| row.job);
    let pages = [
        ("overview", "/console".to_owned()),
        ("decisions, newest page", "/console/decisions".to_owned()),
        (
            "decisions by reason",
            "/console/decisions?reason=missing_configuration".to_owned(),
        ),
        (
            "decisions, a page in the middle",
            format!("/console/decisions?before={middle}"),
        ),
        ("a job", format!("/console/jobs/{job}")),
        ("plugins", "/console/plugins".to_owned()),
        ("companies", "/console/companies".to_owned()),
    ];
    let mut figures = Vec::new();
    for (name, path) in pages {
        let url = format!("http://{address}{path}");
        let mut samples = Vec::with_capacity(effort.console_loads);
        let mut bytes = 0;
        // One untimed load first: the store's pages warm up.
        for round in 0..=effort.console_loads {
            let started = Instant::now();
            let response = http
                .get(&url)
                .send()
                .await
                .map_err(|e| fail(e.to_string()))?;
            let status = response.status();
            let body = response.bytes().await.map_err(|e| fail(e.to_string()))?;
            if !status.is_success() {
                return Err(fail(format!("GET {path}: {status}")));
            }
            if round > 0 {
                samples.push(millis(started.elapsed()));
            }
            bytes = body.len();
        }
        figures.push(Figure::from_samples(
            format!(
                "console: {name} ({total} decisions in the store, {} KB page)",
                bytes.div_ceil(1024)
            ),
            "ms",
            samples,
            None,
        ));
    }
    let _ = stop.send(true);
    let _ = server.await;
    demo.shutdown().await;
    Ok(figures)
}
