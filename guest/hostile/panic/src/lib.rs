//! A plugin that panics in `validate`: the host must contain the trap, name the
//! plugin in the error, and keep serving.

use preflight_sdk::raw::RawValidator;
use preflight_sdk::{Config, ExportJob, PluginInfo, Report, export_raw_validator};

/// Panics on every validation.
pub struct Panics;

impl RawValidator for Panics {
    type Settings = serde_json::Value;

    fn info() -> PluginInfo {
        PluginInfo::new("hostile-panic", env!("CARGO_PKG_VERSION"), "xero")
            .display_name("Xero")
            .description("panics in validate")
            .settings_schema(preflight_sdk::settings::ANY_OBJECT_SCHEMA)
    }

    fn validate(job: &ExportJob, _config: &Config<Self::Settings>) -> Report {
        panic!("hostile-panic refuses to validate job {}", job.id)
    }
}

export_raw_validator!(Panics);
