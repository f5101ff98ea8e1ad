//! A plugin that answers with a report far over the host's report-size limit
//! (about 2 MB of checks): the host must refuse it and name the limit.

use preflight_sdk::{Check, Config, ExportJob, PluginInfo, Report, Validator, export_validator};

/// Returns an oversized report.
pub struct Oversized;

impl Validator for Oversized {
    type Settings = serde_json::Value;

    fn info() -> PluginInfo {
        PluginInfo::new("hostile-huge-report", env!("CARGO_PKG_VERSION"), "xero")
            .description("returns a 2 MB report")
    }

    fn validate(_job: &ExportJob, _config: &Config<Self::Settings>) -> Report {
        let mut report = Report::new();
        let filler = "x".repeat(2_048);
        for n in 0..1_000 {
            report.push(Check::passed(&format!("hostile.check.{n}"), filler.clone()));
        }
        report
    }
}

export_validator!(Oversized);
