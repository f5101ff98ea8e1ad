//! A plugin that answers with a report far over the host's report-size limit
//! (about 2 MB of checks): the host must refuse it and name the limit. It
//! declares every check it reports, so the size is all that is wrong.

use preflight_sdk::raw::RawValidator;
use preflight_sdk::{Check, Config, ExportJob, PluginInfo, Report, RuleInfo, export_raw_validator};

/// How many checks the report holds.
const CHECKS: usize = 1_000;

/// The id of check `n`.
fn check_id(n: usize) -> String {
    format!("hostile.check.{n}")
}

/// Returns an oversized report.
pub struct Oversized;

impl RawValidator for Oversized {
    type Settings = serde_json::Value;

    fn info() -> PluginInfo {
        let mut info = PluginInfo::new("hostile-huge-report", env!("CARGO_PKG_VERSION"), "xero")
            .display_name("Xero")
            .description("returns a 2 MB report")
            .settings_schema(preflight_sdk::settings::ANY_OBJECT_SCHEMA);
        info.rules = (0..CHECKS)
            .map(|n| RuleInfo {
                id: check_id(n),
                title: format!("Filler {n}"),
            })
            .collect();
        info
    }

    fn validate(_job: &ExportJob, _config: &Config<Self::Settings>) -> Report {
        let mut report = Report::new();
        let filler = "x".repeat(2_048);
        for n in 0..CHECKS {
            report.push(Check::passed(&check_id(n), filler.clone()));
        }
        report
    }
}

export_raw_validator!(Oversized);
