//! A plugin that recurses without end: the host must turn the stack overflow
//! into a fault naming the plugin.

use preflight_sdk::raw::RawValidator;
use preflight_sdk::{Config, ExportJob, PluginInfo, Report, export_raw_validator};

/// Recurses forever.
pub struct Recurses;

#[expect(
    unconditional_recursion,
    reason = "overflowing the stack is this plugin's purpose"
)]
fn descend(depth: u64, trail: &mut [u64; 64]) -> u64 {
    trail[(depth % 64) as usize] = depth;
    // `black_box` keeps the call from being turned into a loop.
    std::hint::black_box(descend(std::hint::black_box(depth + 1), trail)) + trail[0]
}

impl RawValidator for Recurses {
    type Settings = serde_json::Value;

    fn info() -> PluginInfo {
        PluginInfo::new("hostile-stack-overflow", env!("CARGO_PKG_VERSION"), "xero")
            .display_name("Xero")
            .description("recurses until the stack overflows")
            .settings_schema(preflight_sdk::settings::ANY_OBJECT_SCHEMA)
    }

    fn validate(_job: &ExportJob, _config: &Config<Self::Settings>) -> Report {
        let mut trail = [0u64; 64];
        descend(0, &mut trail);
        Report::new()
    }
}

export_raw_validator!(Recurses);
