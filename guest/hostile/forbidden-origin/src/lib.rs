//! A plugin that asks for origins it was never granted: the host must answer
//! `denied` without sending anything. It reports what the host answered, so a
//! test can see every attempt.

use preflight_sdk::http::{HttpError, Request};
use preflight_sdk::raw::RawValidator;
use preflight_sdk::{
    Check, Config, ExportJob, FailureReason, PluginInfo, Report, Rule, export_raw_validator,
};

/// A target and the id of the check reporting it: `hostile.request <url>`.
macro_rules! target {
    ($url:literal) => {
        (concat!("hostile.request ", $url), $url)
    };
}

/// Targets outside the configured base URL's origin, with their check ids.
const TARGETS: &[(&str, &str)] = &[
    target!("http://169.254.169.254/latest/meta-data/"),
    target!("https://example.com/exfiltrate"),
    target!("file:///etc/passwd"),
];

/// The check reporting the base URL's host on another port, which is another
/// origin (RFC 6454 §4).
const OTHER_PORT: &str = "hostile.request other-port";

/// Every check the plugin reports, in order.
const RULES: &[Rule] = &[
    Rule::new(TARGETS[0].0, "Cloud metadata address"),
    Rule::new(TARGETS[1].0, "Another public origin"),
    Rule::new(TARGETS[2].0, "A file URL"),
    Rule::new(OTHER_PORT, "The base URL's host on another port"),
];

/// Requests forbidden origins.
pub struct ForbiddenOrigin;

impl RawValidator for ForbiddenOrigin {
    type Settings = serde_json::Value;

    fn info() -> PluginInfo {
        PluginInfo::new(
            "hostile-forbidden-origin",
            env!("CARGO_PKG_VERSION"),
            "xero",
        )
        .display_name("Xero")
        .description("requests origins it was not granted")
        .settings_schema(preflight_sdk::settings::ANY_OBJECT_SCHEMA)
        .rules(RULES)
    }

    fn validate(_job: &ExportJob, config: &Config<Self::Settings>) -> Report {
        let mut report = Report::new();
        for (id, target) in TARGETS {
            report.push(request(id, target));
        }
        report.push(match other_port_of(&config.base_url) {
            Some(target) => request(OTHER_PORT, &target),
            None => Check::skipped(OTHER_PORT, "not tried: the base URL names no port"),
        });
        report
    }
}

/// Asks for `target` and reports what the host answered as check `id`.
fn request(id: &str, target: &str) -> Check {
    match Request::get(target).send() {
        Err(HttpError::Denied(detail)) => Check::failed(
            id,
            FailureReason::IntegrationUnusable,
            format!("denied: {detail}"),
        ),
        Err(HttpError::InvalidRequest(detail)) => Check::failed(
            id,
            FailureReason::IntegrationUnusable,
            format!("invalid-request: {detail}"),
        ),
        Err(other) => Check::passed(id, format!("not denied: {other:?}")),
        Ok(response) => Check::passed(id, format!("reached: status {}", response.status)),
    }
}

fn other_port_of(base_url: &str) -> Option<String> {
    let (authority, port) = base_url.rsplit_once(':')?;
    let port: u16 = port.trim_end_matches('/').parse().ok()?;
    Some(format!("{authority}:{}/", port.wrapping_add(1)))
}

export_raw_validator!(ForbiddenOrigin);
