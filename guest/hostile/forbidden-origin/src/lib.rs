//! A plugin that asks for origins it was never granted: the host must answer
//! `denied` without sending anything. It reports what the host answered, so a
//! test can see every attempt.

use preflight_sdk::http::{HttpError, Request};
use preflight_sdk::{
    Check, Config, ExportJob, FailureReason, PluginInfo, Report, Validator, export_validator,
};

/// Targets outside the configured base URL's origin.
const TARGETS: &[&str] = &[
    "http://169.254.169.254/latest/meta-data/",
    "https://example.com/exfiltrate",
    "file:///etc/passwd",
];

/// Requests forbidden origins.
pub struct ForbiddenOrigin;

impl Validator for ForbiddenOrigin {
    type Settings = serde_json::Value;

    fn info() -> PluginInfo {
        PluginInfo::new(
            "hostile-forbidden-origin",
            env!("CARGO_PKG_VERSION"),
            "xero",
        )
        .description("requests origins it was not granted")
    }

    fn validate(_job: &ExportJob, config: &Config<Self::Settings>) -> Report {
        let mut report = Report::new();
        // The same host on another port is another origin (RFC 6454 §4).
        let other_port = other_port_of(&config.base_url);
        for target in TARGETS.iter().copied().chain(other_port.as_deref()) {
            let id = format!("hostile.request {target}");
            let check = match Request::get(target).send() {
                Err(HttpError::Denied(detail)) => Check::failed(
                    &id,
                    FailureReason::IntegrationUnusable,
                    format!("denied: {detail}"),
                ),
                Err(HttpError::InvalidRequest(detail)) => Check::failed(
                    &id,
                    FailureReason::IntegrationUnusable,
                    format!("invalid-request: {detail}"),
                ),
                Err(other) => Check::passed(&id, format!("not denied: {other:?}")),
                Ok(response) => Check::passed(&id, format!("reached: status {}", response.status)),
            };
            report.push(check);
        }
        report
    }
}

fn other_port_of(base_url: &str) -> Option<String> {
    let (authority, port) = base_url.rsplit_once(':')?;
    let port: u16 = port.trim_end_matches('/').parse().ok()?;
    Some(format!("{authority}:{}/", port.wrapping_add(1)))
}

export_validator!(ForbiddenOrigin);
