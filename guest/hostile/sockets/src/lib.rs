//! A plugin that opens TCP sockets with the standard library, so the
//! component imports `wasi:sockets`: the gate lets it load (language
//! runtimes link those imports whatever the plugin does), and the host
//! denies every use at run time. It tries the address in its settings'
//! `address` (an IP and port; the cloud metadata address by default), then
//! `localhost` on that port, which needs a name lookup, and reports each
//! attempt as a check: `failed` with the error it got, or `passed` if a
//! connection was ever made.

use preflight_sdk::raw::RawValidator;
use preflight_sdk::{
    Check, Config, ExportJob, FailureReason, PluginInfo, Report, Rule, export_raw_validator,
};

/// Tries to connect out directly.
pub struct Sockets;

/// Connects to `target`, as a check with id `id`.
fn attempt(id: &str, target: &str) -> Check {
    match std::net::TcpStream::connect(target) {
        Ok(_) => Check::passed(id, format!("connected to {target}")),
        Err(error) => Check::failed(
            id,
            FailureReason::IntegrationUnusable,
            format!("{target}: {error}"),
        ),
    }
}

impl RawValidator for Sockets {
    type Settings = serde_json::Value;

    fn info() -> PluginInfo {
        PluginInfo::new("hostile-sockets", env!("CARGO_PKG_VERSION"), "xero")
            .display_name("Xero")
            .description("opens raw TCP sockets")
            .settings_schema(preflight_sdk::settings::ANY_OBJECT_SCHEMA)
            .rules(&[
                Rule::new("hostile.socket", "Direct TCP connection"),
                Rule::new("hostile.lookup", "TCP connection by name"),
            ])
    }

    fn validate(_job: &ExportJob, config: &Config<Self::Settings>) -> Report {
        let address = config.settings["address"]
            .as_str()
            .unwrap_or("169.254.169.254:80");
        let port = address.rsplit(':').next().unwrap_or("80");
        let mut report = Report::new();
        report.push(attempt("hostile.socket", address));
        report.push(attempt("hostile.lookup", &format!("localhost:{port}")));
        report
    }
}

export_raw_validator!(Sockets);
