//! Counters and latency histograms, exposed in the Prometheus text format
//! (version 0.0.4) on `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Labels: sorted `(name, value)` pairs.
type Labels = Vec<(&'static str, String)>;

#[derive(Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

/// The process's metrics.
#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, Labels), u64>>,
    histograms: Mutex<BTreeMap<(&'static str, Labels), Histogram>>,
}

/// Help texts of the known metrics.
const HELP: &[(&str, &str)] = &[
    (
        "preflight_jobs_seen_total",
        "Export jobs detected, per company.",
    ),
    (
        "preflight_jobs_claimed_total",
        "Export jobs claimed with a started event.",
    ),
    (
        "preflight_jobs_lost_total",
        "Claims another worker won (422 on started).",
    ),
    (
        "preflight_jobs_validated_total",
        "Validations run, per plugin and verdict.",
    ),
    (
        "preflight_jobs_failed_total",
        "Jobs failed early, per failure reason.",
    ),
    (
        "preflight_jobs_handed_over_total",
        "Jobs that passed validation and were handed over.",
    ),
    (
        "preflight_jobs_malformed_total",
        "Jobs from Pleo that could not be read.",
    ),
    (
        "preflight_plugin_faults_total",
        "Validations ended by a plugin fault, per plugin.",
    ),
    (
        "preflight_pleo_errors_total",
        "Failed calls to Pleo's API, per operation.",
    ),
    (
        "preflight_accounting_errors_total",
        "Outbound calls to accounting systems without a response or with a 5xx/429, per system.",
    ),
    (
        "preflight_validation_seconds",
        "Validation latency, per plugin.",
    ),
    (
        "preflight_plugin_loads_total",
        "Plugin versions considered, per accounting system and result (loaded, refused).",
    ),
    (
        "preflight_plugin_swaps_total",
        "Active plugin changes, per accounting system and kind (activate, rollback).",
    ),
    (
        "preflight_plugin_cache_total",
        "Compiled-cache lookups, per result (hit, compiled, rebuilt).",
    ),
];

impl Metrics {
    /// Adds one to counter `name` with `labels`.
    pub fn inc(&self, name: &'static str, labels: &[(&'static str, &str)]) {
        let key = (name, own(labels));
        *self
            .counters
            .lock()
            .expect("metrics lock")
            .entry(key)
            .or_default() += 1;
    }

    /// The value of counter `name` with exactly `labels`.
    pub fn counter(&self, name: &'static str, labels: &[(&'static str, &str)]) -> u64 {
        let key = (name, own(labels));
        self.counters
            .lock()
            .expect("metrics lock")
            .get(&key)
            .copied()
            .unwrap_or(0)
    }

    /// Records a duration in histogram `name` with `labels`.
    pub fn observe(&self, name: &'static str, labels: &[(&'static str, &str)], value: Duration) {
        let seconds = value.as_secs_f64();
        let mut histograms = self.histograms.lock().expect("metrics lock");
        let histogram = histograms
            .entry((name, own(labels)))
            .or_insert_with(|| Histogram {
                counts: vec![0; BUCKETS.len()],
                ..Histogram::default()
            });
        for (count, bound) in histogram.counts.iter_mut().zip(BUCKETS) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        histogram.sum += seconds;
        histogram.count += 1;
    }

    /// Everything in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut described = std::collections::HashSet::new();
        let mut describe = |out: &mut String, name: &str, kind: &str| {
            if described.insert(name.to_owned()) {
                let help = HELP.iter().find(|(n, _)| *n == name).map_or("", |(_, h)| h);
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            }
        };
        for ((name, labels), value) in self.counters.lock().expect("metrics lock").iter() {
            describe(&mut out, name, "counter");
            let _ = writeln!(out, "{name}{} {value}", render_labels(labels, None));
        }
        for ((name, labels), histogram) in self.histograms.lock().expect("metrics lock").iter() {
            describe(&mut out, name, "histogram");
            for (count, bound) in histogram.counts.iter().zip(BUCKETS) {
                let _ = writeln!(
                    out,
                    "{name}_bucket{} {count}",
                    render_labels(labels, Some(&bound.to_string()))
                );
            }
            let _ = writeln!(
                out,
                "{name}_bucket{} {}",
                render_labels(labels, Some("+Inf")),
                histogram.count
            );
            let _ = writeln!(
                out,
                "{name}_sum{} {}",
                render_labels(labels, None),
                histogram.sum
            );
            let _ = writeln!(
                out,
                "{name}_count{} {}",
                render_labels(labels, None),
                histogram.count
            );
        }
        out
    }
}

fn own(labels: &[(&'static str, &str)]) -> Labels {
    let mut owned: Labels = labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    owned.sort();
    owned
}

fn render_labels(labels: &Labels, le: Option<&str>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

/// Escapes a label value (backslash, quote, newline) as the format requires.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let metrics = Metrics::default();
        metrics.inc(
            "preflight_jobs_failed_total",
            &[("reason", "missing_configuration")],
        );
        metrics.inc(
            "preflight_jobs_failed_total",
            &[("reason", "missing_configuration")],
        );
        metrics.observe(
            "preflight_validation_seconds",
            &[("plugin", "xero \"1\"")],
            Duration::from_millis(30),
        );
        let text = metrics.render();
        assert!(text.contains("# TYPE preflight_jobs_failed_total counter"));
        assert!(text.contains("preflight_jobs_failed_total{reason=\"missing_configuration\"} 2"));
        assert!(text.contains(
            "preflight_validation_seconds_bucket{plugin=\"xero \\\"1\\\"\",le=\"0.025\"} 0"
        ));
        assert!(text.contains(
            "preflight_validation_seconds_bucket{plugin=\"xero \\\"1\\\"\",le=\"0.05\"} 1"
        ));
        assert!(text.contains("preflight_validation_seconds_count{plugin=\"xero \\\"1\\\"\"} 1"));
        assert_eq!(
            metrics.counter(
                "preflight_jobs_failed_total",
                &[("reason", "missing_configuration")]
            ),
            2
        );
    }
}
