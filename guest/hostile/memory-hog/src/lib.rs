//! A plugin that allocates until it dies: the host's memory limit must stop
//! it, and the error must name the limit.

use preflight_sdk::raw::RawValidator;
use preflight_sdk::{Config, ExportJob, PluginInfo, Report, export_raw_validator};

/// Allocates without end.
pub struct Hog;

impl RawValidator for Hog {
    type Settings = serde_json::Value;

    fn info() -> PluginInfo {
        PluginInfo::new("hostile-memory-hog", env!("CARGO_PKG_VERSION"), "xero")
            .display_name("Xero")
            .description("allocates until it dies")
            .settings_schema(preflight_sdk::settings::ANY_OBJECT_SCHEMA)
    }

    fn validate(_job: &ExportJob, _config: &Config<Self::Settings>) -> Report {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            // Touch every page so the allocation is real.
            hoard.push(vec![0xAB; 1 << 20]);
            std::hint::black_box(&hoard);
        }
    }
}

export_raw_validator!(Hog);
