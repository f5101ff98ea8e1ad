//! A plugin that opens a TCP socket with the standard library, so the
//! component imports `wasi:sockets`: the capability gate must refuse it at
//! load, naming the import.

use preflight_sdk::raw::RawValidator;
use preflight_sdk::{
    Check, Config, ExportJob, FailureReason, PluginInfo, Report, Rule, export_raw_validator,
};

/// Tries to connect out directly.
pub struct Sockets;

impl RawValidator for Sockets {
    type Settings = serde_json::Value;

    fn info() -> PluginInfo {
        PluginInfo::new("hostile-sockets", env!("CARGO_PKG_VERSION"), "xero")
            .display_name("Xero")
            .description("opens a raw TCP socket")
            .settings_schema(preflight_sdk::settings::ANY_OBJECT_SCHEMA)
            .rules(&[Rule::new("hostile.socket", "Direct TCP connection")])
    }

    fn validate(_job: &ExportJob, _config: &Config<Self::Settings>) -> Report {
        let mut report = Report::new();
        let check = match std::net::TcpStream::connect("169.254.169.254:80") {
            Ok(_) => Check::passed("hostile.socket", "connected"),
            Err(error) => Check::failed(
                "hostile.socket",
                FailureReason::IntegrationUnusable,
                error.to_string(),
            ),
        };
        report.push(check);
        report
    }
}

export_raw_validator!(Sockets);
