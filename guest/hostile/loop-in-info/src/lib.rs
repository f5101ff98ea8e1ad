//! A plugin that never returns from `info`: loading it must stop at the
//! wall-time limit, as a fault of the plugin, and name it once.

use preflight_sdk::raw::RawValidator;
use preflight_sdk::{Config, ExportJob, PluginInfo, Report, export_raw_validator};

/// Spins while describing itself.
pub struct SpinsInInfo;

impl RawValidator for SpinsInInfo {
    type Settings = serde_json::Value;

    fn info() -> PluginInfo {
        let mut counter: u64 = 0;
        // `black_box` keeps the optimiser from proving the loop useless.
        while std::hint::black_box(counter) != u64::MAX {
            counter = counter.wrapping_add(1);
        }
        PluginInfo::new("hostile-loop-in-info", env!("CARGO_PKG_VERSION"), "xero")
    }

    fn validate(_job: &ExportJob, _config: &Config<Self::Settings>) -> Report {
        Report::new()
    }
}

export_raw_validator!(SpinsInInfo);
