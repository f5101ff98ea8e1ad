//! A plugin that never returns from `validate` (nor from `validate-settings`
//! when its settings say `{"spinIn": "settings"}`): the host must stop it at
//! its wall-time limit (epoch interruption) and keep serving.

use preflight_sdk::raw::RawValidator;
use preflight_sdk::{Config, ExportJob, PluginInfo, Report, export_raw_validator};

/// Spins forever.
pub struct Spins;

/// Settings that never finish parsing when they ask for it.
pub struct SpinningSettings;

impl<'de> serde::Deserialize<'de> for SpinningSettings {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        if value.get("spinIn").and_then(serde_json::Value::as_str) == Some("settings") {
            spin(1);
        }
        Ok(SpinningSettings)
    }
}

/// Never returns while `items` is positive.
fn spin(items: u32) {
    let mut counter: u64 = 0;
    // `black_box` keeps the optimiser from proving the loop useless.
    while std::hint::black_box(counter) != u64::MAX || items > 0 {
        counter = counter.wrapping_add(1);
    }
}

impl RawValidator for Spins {
    type Settings = SpinningSettings;

    fn info() -> PluginInfo {
        PluginInfo::new("hostile-infinite-loop", env!("CARGO_PKG_VERSION"), "xero")
            .display_name("Xero")
            .description("loops forever in validate")
            .settings_schema(preflight_sdk::settings::ANY_OBJECT_SCHEMA)
    }

    fn validate(job: &ExportJob, _config: &Config<Self::Settings>) -> Report {
        spin(job.number_of_items);
        Report::new()
    }
}

export_raw_validator!(Spins);
