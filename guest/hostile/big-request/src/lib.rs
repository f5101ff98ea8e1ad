//! A plugin that sends as much as its settings say: a body of `bytes` bytes
//! (a JSON string) with `headers` extra headers, to `<base URL>/<path>`
//! (`path` defaults to `sink`). The
//! sandbox tests use it to show oversized requests are refused before
//! anything is sent; the memory benchmark, to measure what the host holds
//! while many validations post the largest body they may.

use preflight_sdk::http::Request;
use preflight_sdk::raw::RawValidator;
use preflight_sdk::{
    Check, Config, ExportJob, FailureReason, PluginInfo, Report, Rule, export_raw_validator,
};

/// Sends one big request.
pub struct BigRequest;

impl RawValidator for BigRequest {
    type Settings = serde_json::Value;

    fn info() -> PluginInfo {
        PluginInfo::new("hostile-big-request", env!("CARGO_PKG_VERSION"), "xero")
            .display_name("Xero")
            .description("sends a request as large as its settings say")
            .settings_schema(preflight_sdk::settings::ANY_OBJECT_SCHEMA)
            .rules(&[Rule::new("hostile.big-request", "One big request")])
    }

    fn validate(_job: &ExportJob, config: &Config<Self::Settings>) -> Report {
        let number = |key: &str| {
            config
                .settings
                .get(key)
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0) as usize
        };
        // The JSON string's quotes count towards the size.
        let body = "x".repeat(number("bytes").saturating_sub(2));
        let path = config
            .settings
            .get("path")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("sink");
        let mut request = Request::post(format!("{}/{path}", config.base_url));
        for index in 0..number("headers") {
            request = request.header(&format!("x-pad-{index}"), "padding");
        }
        let request = request
            .json(&body)
            .expect("a string serialises")
            .header("content-type", "application/octet-stream");
        let mut report = Report::new();
        report.push(match request.send() {
            Ok(response) => Check::passed(
                "hostile.big-request",
                format!("answered {}", response.status),
            ),
            Err(error) => Check::failed(
                "hostile.big-request",
                FailureReason::IntegrationUnusable,
                format!("{error:?}"),
            ),
        });
        report
    }
}

export_raw_validator!(BigRequest);
