//! Write pre-export validation plugins for preflight.
//!
//! A plugin holds the rules for one accounting system. The host gives it a
//! claimed Pleo export job and the integration configuration of the job's
//! company; the plugin checks the accounting system over HTTP and answers with a
//! [`Report`]. The first failed check fails the job early, and its message is
//! what the finance user reads in Pleo's web app.
//!
//! # Layout
//!
//! - [`Validator`] and [`export_validator!`]: what a plugin implements and how it
//!   is exported (this file);
//! - [`report`]: [`Check`] and [`Report`] builders;
//! - [`http`]: outbound requests through the host, and the mapping of transport
//!   errors and status codes to failure reasons;
//! - [`settings`]: parsing the company's settings JSON with field-level errors;
//! - [`log`]: diagnostics tied to the job by the host.
//!
//! # A complete validator
//!
//! ```no_run
//! use preflight_sdk::{
//!     export_validator, http, Capability, Check, Config, ExportJob, FailureReason,
//!     PluginInfo, Report, Validator,
//! };
//!
//! #[derive(serde::Deserialize)]
//! struct Settings {
//!     journal: String,
//! }
//!
//! struct Ledgerly;
//!
//! impl Validator for Ledgerly {
//!     type Settings = Settings;
//!
//!     fn info() -> PluginInfo {
//!         PluginInfo::new("ledgerly", env!("CARGO_PKG_VERSION"), "ledgerly")
//!             .description("Pre-export validation for Ledgerly")
//!             .capabilities(&[Capability::JournalEntries])
//!     }
//!
//!     fn validate(_job: &ExportJob, config: &Config<Settings>) -> Report {
//!         let mut report = Report::new();
//!         let url = format!("{}/journals/{}", config.base_url, config.settings.journal);
//!         match http::Request::get(url).send() {
//!             Ok(response) if response.is_success() => report.push(Check::passed(
//!                 "ledgerly.journal",
//!                 "The Ledgerly journal exists.",
//!             )),
//!             Ok(response) if response.status == 404 => report.push(Check::failed(
//!                 "ledgerly.journal",
//!                 FailureReason::MissingConfiguration,
//!                 format!(
//!                     "Ledgerly has no journal '{}'. Create it in Ledgerly, or pick another \
//!                      journal in Pleo's Ledgerly settings.",
//!                     config.settings.journal
//!                 ),
//!             )),
//!             Ok(response) => report.push(http::status_check("ledgerly.journal", "Ledgerly", &response)),
//!             Err(error) => report.push(http::error_check("ledgerly.journal", "Ledgerly", &error)),
//!         }
//!         report
//!     }
//! }
//!
//! export_validator!(Ledgerly);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2`: the output is a
//! component the host loads as it is.

#![warn(missing_docs)]

// Lets the generated bindings, which name this crate by path so that plugin
// crates need no direct wit-bindgen dependency, resolve inside the SDK too.
extern crate self as preflight_sdk;

pub mod http;
pub mod log;
pub mod report;
pub mod settings;

#[doc(hidden)]
pub mod bindings {
    //! The raw bindings of the `preflight:plugin/plugin` world. Plugin authors use
    //! the re-exports at the crate root instead.
    wit_bindgen::generate!({
        path: "../../wit",
        world: "preflight:plugin/plugin@0.1.0",
        pub_export_macro: true,
        export_macro_name: "__export_plugin_world",
        default_bindings_module: "preflight_sdk::bindings",
        runtime_path: "preflight_sdk::__private::wit_bindgen::rt",
        additional_derives: [PartialEq],
    });
}

pub use bindings::preflight::plugin::types::{
    Capability, Check, CheckStatus, ExportJob, FailureReason, IntegrationConfig, JobStatus,
    PluginInfo, SettingsError,
};
pub use report::Report;

/// The integration configuration of the job's company, with the plugin's
/// settings parsed into the plugin's own type.
#[derive(Debug, Clone)]
pub struct Config<S> {
    /// The accounting system id, e.g. `xero`.
    pub accounting_system: String,
    /// Base URL of the accounting system's API, without a trailing slash.
    pub base_url: String,
    /// The company, tenant or organisation id in the accounting system.
    pub tenant_id: Option<String>,
    /// The plugin's settings.
    pub settings: S,
}

/// The rules of one accounting system.
pub trait Validator {
    /// The plugin's settings, parsed from the configuration's JSON object.
    /// Unknown fields should be refused (`#[serde(deny_unknown_fields)]`) so a
    /// typo in a configuration is reported instead of silently ignored.
    type Settings: serde::de::DeserializeOwned;

    /// Who the plugin is and what its accounting system supports.
    fn info() -> PluginInfo;

    /// Checks on settings that their type cannot express (formats, ranges,
    /// combinations). Runs offline, when the host loads a configuration and
    /// before every validation.
    fn check_settings(settings: &Self::Settings) -> Vec<SettingsError> {
        let _ = settings;
        Vec::new()
    }

    /// Runs the pre-export validation of `job` against the accounting system.
    fn validate(job: &ExportJob, config: &Config<Self::Settings>) -> Report;
}

impl PluginInfo {
    /// Info with a name, a version and the accounting system validated.
    pub fn new(name: &str, version: &str, accounting_system: &str) -> Self {
        PluginInfo {
            name: name.to_owned(),
            version: version.to_owned(),
            accounting_system: accounting_system.to_owned(),
            capabilities: Vec::new(),
            description: String::new(),
        }
    }

    /// Sets the one-line description for operators.
    pub fn description(mut self, description: &str) -> Self {
        description.clone_into(&mut self.description);
        self
    }

    /// Sets what the accounting system supports.
    pub fn capabilities(mut self, capabilities: &[Capability]) -> Self {
        self.capabilities = capabilities.to_vec();
        self
    }
}

/// Exports a [`Validator`] as the plugin's implementation of the contract.
///
/// Call it once, at the root of the plugin crate.
#[macro_export]
macro_rules! export_validator {
    ($validator:ty) => {
        const _: () = {
            struct __PreflightExport;

            impl $crate::bindings::exports::preflight::plugin::validator::Guest for __PreflightExport {
                fn info() -> $crate::PluginInfo {
                    <$validator as $crate::Validator>::info()
                }

                fn validate_settings(settings: String) -> Result<(), Vec<$crate::SettingsError>> {
                    $crate::__private::validate_settings::<$validator>(&settings)
                }

                fn validate(
                    job: $crate::ExportJob,
                    config: $crate::IntegrationConfig,
                ) -> $crate::bindings::preflight::plugin::types::Report {
                    $crate::__private::validate::<$validator>(job, config)
                }
            }

            $crate::bindings::__export_plugin_world!(__PreflightExport with_types_in $crate::bindings);
        };
    };
}

#[doc(hidden)]
pub mod __private {
    //! What [`export_validator!`] expands to; not a stable API.
    use super::*;

    pub use wit_bindgen;

    pub fn validate_settings<V: Validator>(settings: &str) -> Result<(), Vec<SettingsError>> {
        let parsed = settings::parse::<V::Settings>(settings).map_err(|error| vec![error])?;
        let errors = V::check_settings(&parsed);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    pub fn validate<V: Validator>(
        job: ExportJob,
        config: IntegrationConfig,
    ) -> bindings::preflight::plugin::types::Report {
        let info = V::info();
        let parsed = settings::parse::<V::Settings>(&config.settings).and_then(|settings| {
            match V::check_settings(&settings).into_iter().next() {
                Some(error) => Err(error),
                None => Ok(settings),
            }
        });
        let settings = match parsed {
            Ok(settings) => settings,
            Err(error) => {
                let rule = format!("{}.settings", info.name);
                let mut report = Report::new();
                report.push(settings::error_check(
                    &rule,
                    &info.accounting_system,
                    &error,
                ));
                return report.into();
            }
        };
        let config = Config {
            accounting_system: config.accounting_system,
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            tenant_id: config.tenant_id.filter(|tenant| !tenant.trim().is_empty()),
            settings,
        };
        V::validate(&job, &config).into()
    }
}
