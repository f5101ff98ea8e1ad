//! A plugin that floods the log: the host must stop it at the log limit.

use preflight_sdk::raw::RawValidator;
use preflight_sdk::{Config, ExportJob, PluginInfo, Report, export_raw_validator, log};

/// Logs without end.
pub struct Floods;

impl RawValidator for Floods {
    type Settings = serde_json::Value;

    fn info() -> PluginInfo {
        PluginInfo::new("hostile-log-flood", env!("CARGO_PKG_VERSION"), "xero")
            .display_name("Xero")
            .description("floods the log")
            .settings_schema(preflight_sdk::settings::ANY_OBJECT_SCHEMA)
    }

    fn validate(job: &ExportJob, _config: &Config<Self::Settings>) -> Report {
        let line = format!("job {} {}", job.id, "flood ".repeat(170));
        loop {
            log::info(&line);
        }
    }
}

export_raw_validator!(Floods);
