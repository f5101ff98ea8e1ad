//! A plugin that floods the log: the host must stop it at the log limit.

use preflight_sdk::{Config, ExportJob, PluginInfo, Report, Validator, export_validator, log};

/// Logs without end.
pub struct Floods;

impl Validator for Floods {
    type Settings = serde_json::Value;

    fn info() -> PluginInfo {
        PluginInfo::new("hostile-log-flood", env!("CARGO_PKG_VERSION"), "xero")
            .description("floods the log")
    }

    fn validate(job: &ExportJob, _config: &Config<Self::Settings>) -> Report {
        let line = format!("job {} {}", job.id, "flood ".repeat(170));
        loop {
            log::info(&line);
        }
    }
}

export_validator!(Floods);
