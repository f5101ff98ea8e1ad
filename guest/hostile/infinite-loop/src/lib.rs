//! A plugin that never returns from `validate`: the host must stop it at its
//! wall-time limit (epoch interruption) and keep serving.

use preflight_sdk::raw::RawValidator;
use preflight_sdk::{Config, ExportJob, PluginInfo, Report, export_raw_validator};

/// Spins forever.
pub struct Spins;

impl RawValidator for Spins {
    type Settings = serde_json::Value;

    fn info() -> PluginInfo {
        PluginInfo::new("hostile-infinite-loop", env!("CARGO_PKG_VERSION"), "xero")
            .display_name("Xero")
            .description("loops forever in validate")
            .settings_schema(preflight_sdk::settings::ANY_OBJECT_SCHEMA)
    }

    fn validate(job: &ExportJob, _config: &Config<Self::Settings>) -> Report {
        let mut counter: u64 = 0;
        // `black_box` keeps the optimiser from proving the loop useless.
        while std::hint::black_box(counter) != u64::MAX || job.number_of_items > 0 {
            counter = counter.wrapping_add(1);
        }
        Report::new()
    }
}

export_raw_validator!(Spins);
