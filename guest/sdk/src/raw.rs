//! Validators that write whole reports themselves, without a rule plan.
//!
//! A plugin implements [`Validator`](crate::Validator), and the SDK keeps the
//! contract's promise for it: every report holds one check for each rule of
//! `plugin-info.rules`, in that order, and no other. A [`RawValidator`] gets
//! no such help. What its `validate` returns is the report, as it is; its
//! `info` declares the rules ([`PluginInfo::rules`]), and keeping the two in
//! step is up to it. The SDK adds no settings rule: settings that do not parse
//! are answered with a report of the single failed check `<name>.settings`.
//!
//! It exists for test components that must control every check: the host's
//! sandbox tests read the reports of plugins that misbehave on purpose by
//! position.
//!
//! ```no_run
//! use preflight_sdk::raw::RawValidator;
//! use preflight_sdk::{
//!     export_raw_validator, Check, Config, ExportJob, PluginInfo, Report, Rule,
//! };
//!
//! struct Probe;
//!
//! impl RawValidator for Probe {
//!     type Settings = serde_json::Value;
//!
//!     fn info() -> PluginInfo {
//!         PluginInfo::new("probe", "0.1.0", "xero")
//!             .display_name("Xero")
//!             .settings_schema(preflight_sdk::settings::ANY_OBJECT_SCHEMA)
//!             .rules(&[Rule::new("probe.only", "The only check")])
//!     }
//!
//!     fn validate(_job: &ExportJob, _config: &Config<Self::Settings>) -> Report {
//!         let mut report = Report::new();
//!         report.push(Check::passed("probe.only", "ran"));
//!         report
//!     }
//! }
//!
//! export_raw_validator!(Probe);
//! ```

use crate::{Config, ExportJob, PluginInfo, Report};

/// A validator that returns its reports whole; see the [module](self).
pub trait RawValidator {
    /// The settings, parsed from the configuration's JSON object.
    type Settings: serde::de::DeserializeOwned;

    /// Who the component is, its rules included ([`PluginInfo::rules`]).
    fn info() -> PluginInfo;

    /// The report of `job`, returned to the host as it is.
    fn validate(job: &ExportJob, config: &Config<Self::Settings>) -> Report;
}

/// Exports a [`RawValidator`] as the component's implementation of the
/// contract. Call it once, at the root of the crate.
///
/// # Panics
///
/// The exported `info` panics, which the host reports as a plugin fault, when
/// [`RawValidator::info`] sets no display name or no settings schema.
#[macro_export]
macro_rules! export_raw_validator {
    ($validator:ty) => {
        // As in `export_validator!`: exports in the component only.
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct __PreflightExport;

            impl $crate::bindings::exports::preflight::plugin::validator::Guest for __PreflightExport {
                fn info() -> $crate::PluginInfo {
                    $crate::__private::raw_info::<$validator>()
                }

                fn validate_settings(settings: String) -> Result<(), Vec<$crate::SettingsError>> {
                    $crate::__private::raw_validate_settings::<$validator>(&settings)
                }

                fn validate(
                    job: $crate::ExportJob,
                    config: $crate::IntegrationConfig,
                ) -> $crate::bindings::preflight::plugin::types::Report {
                    $crate::__private::raw_validate::<$validator>(job, config)
                }
            }

            $crate::bindings::__export_plugin_world!(__PreflightExport with_types_in $crate::bindings);
        };
    };
}
