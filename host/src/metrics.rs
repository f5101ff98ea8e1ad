//! Counters, gauges and latency histograms, exposed in the Prometheus text format
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
    counters: Mutex<BTreeMap<(Metric, Labels), u64>>,
    gauges: Mutex<BTreeMap<(Metric, Labels), f64>>,
    histograms: Mutex<BTreeMap<(Metric, Labels), Histogram>>,
}

/// One metric: its name and help text, defined once here and used by name
/// everywhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Metric {
    /// The Prometheus name.
    pub name: &'static str,
    /// The `# HELP` text.
    pub help: &'static str,
}

/// `preflight_jobs_seen_total`: Export jobs detected, per company.
pub const JOBS_SEEN: Metric = Metric {
    name: "preflight_jobs_seen_total",
    help: "Export jobs detected, per company.",
};
/// `preflight_jobs_claimed_total`: Export jobs claimed with a started event.
pub const JOBS_CLAIMED: Metric = Metric {
    name: "preflight_jobs_claimed_total",
    help: "Export jobs claimed with a started event.",
};
/// `preflight_jobs_lost_total`: Claims another worker won (422 on started).
pub const JOBS_LOST: Metric = Metric {
    name: "preflight_jobs_lost_total",
    help: "Claims another worker won (422 on started).",
};
/// `preflight_jobs_validated_total`: Validations run, per plugin and verdict (on-demand validations included).
pub const JOBS_VALIDATED: Metric = Metric {
    name: "preflight_jobs_validated_total",
    help: "Validations run, per plugin and verdict (on-demand validations included).",
};
/// `preflight_jobs_failed_total`: Jobs failed early, per failure reason.
pub const JOBS_FAILED: Metric = Metric {
    name: "preflight_jobs_failed_total",
    help: "Jobs failed early, per failure reason.",
};
/// `preflight_jobs_handed_over_total`: Jobs that passed validation and were handed over.
pub const JOBS_HANDED_OVER: Metric = Metric {
    name: "preflight_jobs_handed_over_total",
    help: "Jobs that passed validation and were handed over.",
};
/// `preflight_jobs_malformed_total`: Jobs from Pleo that could not be read.
pub const JOBS_MALFORMED: Metric = Metric {
    name: "preflight_jobs_malformed_total",
    help: "Jobs from Pleo that could not be read.",
};
/// `preflight_plugin_faults_total`: Validations ended by a plugin fault, per plugin.
pub const PLUGIN_FAULTS: Metric = Metric {
    name: "preflight_plugin_faults_total",
    help: "Validations ended by a plugin fault, per plugin.",
};
/// `preflight_pleo_errors_total`: Failed calls to Pleo's API, per operation.
pub const PLEO_ERRORS: Metric = Metric {
    name: "preflight_pleo_errors_total",
    help: "Failed calls to Pleo's API, per operation.",
};
/// `preflight_accounting_errors_total`: Outbound calls to accounting systems without a response or with a 5xx/429, per system.
pub const ACCOUNTING_ERRORS: Metric = Metric {
    name: "preflight_accounting_errors_total",
    help: "Outbound calls to accounting systems without a response or with a 5xx/429, per system.",
};
/// `preflight_validation_seconds`: Validation latency, per plugin.
pub const VALIDATION_SECONDS: Metric = Metric {
    name: "preflight_validation_seconds",
    help: "Validation latency, per plugin.",
};
/// `preflight_plugin_loads_total`: Plugin versions considered, per accounting system and result (loaded, refused).
pub const PLUGIN_LOADS: Metric = Metric {
    name: "preflight_plugin_loads_total",
    help: "Plugin versions considered, per accounting system and result (loaded, refused).",
};
/// `preflight_plugin_swaps_total`: Active plugin changes, per accounting system and kind (activate, rollback).
pub const PLUGIN_SWAPS: Metric = Metric {
    name: "preflight_plugin_swaps_total",
    help: "Active plugin changes, per accounting system and kind (activate, rollback).",
};
/// `preflight_plugin_cache_total`: Compiled-cache lookups, per result (hit, compiled, rebuilt).
pub const PLUGIN_CACHE: Metric = Metric {
    name: "preflight_plugin_cache_total",
    help: "Compiled-cache lookups, per result (hit, compiled, rebuilt).",
};
/// `preflight_webhooks_total`: Pleo webhook deliveries, per result (wake, ignored, duplicate, refused).
pub const WEBHOOKS: Metric = Metric {
    name: "preflight_webhooks_total",
    help: "Pleo webhook deliveries, per result (wake, ignored, duplicate, refused).",
};
/// `preflight_leases_lost_total`: Jobs another replica took over while this one worked on them (its lease had run out).
pub const LEASES_LOST: Metric = Metric {
    name: "preflight_leases_lost_total",
    help: "Jobs another replica took over while this one worked on them (its lease had run out).",
};
/// `preflight_listings_total`: Listings of a company's pending jobs, per result (ok, error).
pub const LISTINGS: Metric = Metric {
    name: "preflight_listings_total",
    help: "Listings of a company's pending jobs, per result (ok, error).",
};
/// `preflight_listing_errors_total`: Failed listings, per company and kind of error.
pub const LISTING_ERRORS: Metric = Metric {
    name: "preflight_listing_errors_total",
    help: "Failed listings, per company and kind of error.",
};
/// `preflight_listing_failing_companies`: Watched companies whose last listing failed (backed off).
pub const LISTING_FAILING: Metric = Metric {
    name: "preflight_listing_failing_companies",
    help: "Watched companies whose last listing failed (backed off).",
};
/// `preflight_detection_sweep_seconds`: Duration of the last complete sweep over the watched companies.
pub const SWEEP_SECONDS: Metric = Metric {
    name: "preflight_detection_sweep_seconds",
    help: "Duration of the last complete sweep over the watched companies.",
};
/// `preflight_shutdown_unfinished_total`: Jobs still in flight when the shutdown grace period ended (left in the journal for the next start).
pub const SHUTDOWN_UNFINISHED: Metric = Metric {
    name: "preflight_shutdown_unfinished_total",
    help: "Jobs still in flight when the shutdown grace period ended (left in the journal for the next start).",
};
/// `preflight_handovers_total`: Handovers of valid jobs to the downstream, per result (accepted, refused).
pub const HANDOVERS: Metric = Metric {
    name: "preflight_handovers_total",
    help: "Handovers of valid jobs to the downstream, per result (accepted, refused).",
};
/// `preflight_plugin_requests_refused_total`: Plugin requests the sandbox refused before sending, per plugin and reason (denied, invalid-request, budget-exhausted).
pub const PLUGIN_REQUESTS_REFUSED: Metric = Metric {
    name: "preflight_plugin_requests_refused_total",
    help: "Plugin requests the sandbox refused before sending, per plugin and reason (denied, invalid-request, budget-exhausted).",
};
/// `preflight_inputs_refused_total`: Request bodies the operator API refused for their size, per input (webhook, api).
pub const INPUTS_REFUSED: Metric = Metric {
    name: "preflight_inputs_refused_total",
    help: "Request bodies the operator API refused for their size, per input (webhook, api).",
};
/// `preflight_company_writes_total`: Company configurations stored, per interface (api, cli, file, check).
pub const COMPANY_WRITES: Metric = Metric {
    name: "preflight_company_writes_total",
    help: "Company configurations stored, per interface (api, cli, file, check).",
};
/// `preflight_token_refreshes_total`: OAuth token refreshes, per accounting system and result (refreshed, revoked, failed, lost-lease).
pub const TOKEN_REFRESHES: Metric = Metric {
    name: "preflight_token_refreshes_total",
    help: "OAuth token refreshes, per accounting system and result (refreshed, revoked, failed, lost-lease).",
};
/// `preflight_jobs_monitored_total`: Jobs in monitor mode handed over although their verdict would have failed them, per accounting system and reason.
pub const JOBS_MONITORED: Metric = Metric {
    name: "preflight_jobs_monitored_total",
    help: "Jobs in monitor mode handed over although their verdict would have failed them, per accounting system and reason.",
};
/// `preflight_shadow_validations_total`: Live validations a version in shadow was run beside, per system, candidate and result (same, differs, fault).
pub const SHADOW_VALIDATIONS: Metric = Metric {
    name: "preflight_shadow_validations_total",
    help: "Live validations a version in shadow was run beside, per system, candidate and result (same, differs, fault).",
};
/// `preflight_shadow_misses_total`: Requests a version in shadow made that were not on the live tape (answered unreachable), per system and candidate.
pub const SHADOW_MISSES: Metric = Metric {
    name: "preflight_shadow_misses_total",
    help: "Requests a version in shadow made that were not on the live tape (answered unreachable), per system and candidate.",
};
/// `preflight_plugin_pulls_total`: Plugin versions followed in OCI registries, per source and result (pulled, unchanged, failed).
pub const PLUGIN_PULLS: Metric = Metric {
    name: "preflight_plugin_pulls_total",
    help: "Plugin versions followed in OCI registries, per source and result (pulled, unchanged, failed).",
};

/// Every metric, for documentation and tests.
pub const ALL: &[Metric] = &[
    JOBS_SEEN,
    JOBS_CLAIMED,
    JOBS_LOST,
    JOBS_VALIDATED,
    JOBS_FAILED,
    JOBS_HANDED_OVER,
    JOBS_MALFORMED,
    PLUGIN_FAULTS,
    PLEO_ERRORS,
    ACCOUNTING_ERRORS,
    VALIDATION_SECONDS,
    PLUGIN_LOADS,
    PLUGIN_SWAPS,
    PLUGIN_CACHE,
    WEBHOOKS,
    LEASES_LOST,
    LISTINGS,
    LISTING_ERRORS,
    LISTING_FAILING,
    SWEEP_SECONDS,
    SHUTDOWN_UNFINISHED,
    HANDOVERS,
    PLUGIN_REQUESTS_REFUSED,
    INPUTS_REFUSED,
    COMPANY_WRITES,
    TOKEN_REFRESHES,
    PLUGIN_PULLS,
    JOBS_MONITORED,
    SHADOW_VALIDATIONS,
    SHADOW_MISSES,
];

impl Metrics {
    /// Adds one to counter `name` with `labels`.
    pub fn inc(&self, metric: Metric, labels: &[(&'static str, &str)]) {
        let key = (metric, own(labels));
        *self
            .counters
            .lock()
            .expect("metrics lock")
            .entry(key)
            .or_default() += 1;
    }

    /// The value of counter `name` with exactly `labels`.
    pub fn counter(&self, metric: Metric, labels: &[(&'static str, &str)]) -> u64 {
        let key = (metric, own(labels));
        self.counters
            .lock()
            .expect("metrics lock")
            .get(&key)
            .copied()
            .unwrap_or(0)
    }

    /// Sets counter `name` with `labels` to `value`, for a count kept
    /// elsewhere (the sandbox's refusals) and copied in before rendering.
    pub fn set_counter(&self, metric: Metric, labels: &[(&'static str, &str)], value: u64) {
        self.counters
            .lock()
            .expect("metrics lock")
            .insert((metric, own(labels)), value);
    }

    /// Sets gauge `name` with `labels` to `value`.
    pub fn set(&self, metric: Metric, labels: &[(&'static str, &str)], value: f64) {
        self.gauges
            .lock()
            .expect("metrics lock")
            .insert((metric, own(labels)), value);
    }

    /// Records a duration in histogram `name` with `labels`.
    pub fn observe(&self, metric: Metric, labels: &[(&'static str, &str)], value: Duration) {
        let seconds = value.as_secs_f64();
        let mut histograms = self.histograms.lock().expect("metrics lock");
        let histogram = histograms
            .entry((metric, own(labels)))
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
        let mut describe = |out: &mut String, metric: &Metric, kind: &str| {
            if described.insert(metric.name) {
                let (name, help) = (metric.name, metric.help);
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            }
        };
        for ((metric, labels), value) in self.counters.lock().expect("metrics lock").iter() {
            describe(&mut out, metric, "counter");
            let name = metric.name;
            let _ = writeln!(out, "{name}{} {value}", render_labels(labels, None));
        }
        for ((metric, labels), value) in self.gauges.lock().expect("metrics lock").iter() {
            describe(&mut out, metric, "gauge");
            let name = metric.name;
            let _ = writeln!(out, "{name}{} {value}", render_labels(labels, None));
        }
        for ((metric, labels), histogram) in self.histograms.lock().expect("metrics lock").iter() {
            describe(&mut out, metric, "histogram");
            let name = metric.name;
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
        metrics.inc(JOBS_FAILED, &[("reason", "missing_configuration")]);
        metrics.inc(JOBS_FAILED, &[("reason", "missing_configuration")]);
        metrics.set(LISTING_FAILING, &[], 3.0);
        metrics.observe(
            VALIDATION_SECONDS,
            &[("plugin", "xero \"1\"")],
            Duration::from_millis(30),
        );
        let text = metrics.render();
        assert!(text.contains("# TYPE preflight_jobs_failed_total counter"));
        assert!(text.contains("preflight_jobs_failed_total{reason=\"missing_configuration\"} 2"));
        assert!(text.contains("# TYPE preflight_listing_failing_companies gauge"));
        assert!(text.contains("\npreflight_listing_failing_companies 3\n"));
        assert!(text.contains(
            "preflight_validation_seconds_bucket{plugin=\"xero \\\"1\\\"\",le=\"0.025\"} 0"
        ));
        assert!(text.contains(
            "preflight_validation_seconds_bucket{plugin=\"xero \\\"1\\\"\",le=\"0.05\"} 1"
        ));
        assert!(text.contains("preflight_validation_seconds_count{plugin=\"xero \\\"1\\\"\"} 1"));
        assert_eq!(
            metrics.counter(JOBS_FAILED, &[("reason", "missing_configuration")]),
            2
        );
    }

    #[test]
    fn every_metric_has_a_unique_name_and_help() {
        let mut names = std::collections::HashSet::new();
        for metric in ALL {
            assert!(names.insert(metric.name), "{} defined twice", metric.name);
            assert!(!metric.help.is_empty(), "{} has no help", metric.name);
            assert!(metric.name.starts_with("preflight_"));
        }
        let metrics = Metrics::default();
        metrics.inc(WEBHOOKS, &[("result", "wake")]);
        assert!(
            metrics
                .render()
                .contains("# HELP preflight_webhooks_total Pleo webhook")
        );
    }
}
