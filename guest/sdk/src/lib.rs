//! Write pre-export validation plugins for preflight.
//!
//! A plugin holds the rules for one accounting system. The host gives it a
//! claimed Pleo export job and the integration configuration of the job's
//! company; the plugin checks the accounting system over HTTP and answers with a
//! report. The first failed check fails the job early, and its message is what
//! the finance user reads in Pleo's web app.
//!
//! The SDK owns what every plugin shares, so plugins hold only their rules and
//! messages:
//!
//! - the rule list: a plugin declares its rules once ([`Validator::RULES`]);
//!   every report lists each of them exactly once, in that order, whatever
//!   happens, as the contract (`preflight:plugin@0.2.0`) promises;
//! - the settings rule: the SDK parses the company's settings into
//!   [`Validator::Settings`] and reports the outcome as the first rule of every
//!   plugin, `<plugin name>.settings` ([`plan::settings_rule_id`]); when the
//!   settings cannot be used, every other rule is reported not checked;
//! - the wording of skipped rules ([`plan::NOT_CHECKED`],
//!   [`plan::NO_VENDOR_BOOKKEEPING`], [`plan::attachments_off`]) and of the
//!   messages about transport errors, unexpected statuses, unusable settings
//!   and plugin faults, all naming the accounting system by its display name
//!   ([`PluginInfo::display_name`]).
//!
//! # Layout
//!
//! - [`Validator`], [`Config`], the [`PluginInfo`] builder and
//!   [`export_validator!`]: what a plugin implements and how it is exported
//!   (this file);
//! - [`plan`]: [`Rule`] declarations and the [`Plan`] a validation records its
//!   checks in, which makes the report;
//! - [`report`]: [`Check`] builders and the [`Report`];
//! - [`http`]: outbound requests through the host ([`http::Request`]), a client
//!   of one API ([`http::Api`]), and the mapping of transport errors and status
//!   codes to checks ([`http::Fetch`]);
//! - [`settings`]: parsing the company's settings JSON with field-level errors,
//!   the settings types plugins share ([`settings::Accounts`],
//!   [`settings::Attachments`]), and [`settings::check_schema`], which holds a
//!   plugin's settings schema to its settings type in native tests;
//! - [`log`]: diagnostics tied to the job by the host;
//! - [`raw`]: [`raw::RawValidator`] and [`export_raw_validator!`], for test
//!   components that must write whole reports themselves;
//! - [`testing`]: a harness that runs a validator's whole `validate` under
//!   plain `cargo test` with canned HTTP answers.
//!
//! # A complete validator
//!
//! ```no_run
//! use preflight_sdk::http::{Api, Fetch};
//! use preflight_sdk::plan::{Plan, Rule};
//! use preflight_sdk::settings::{Accounts, Attachments};
//! use preflight_sdk::{
//!     export_validator, Capability, Check, Config, ExportJob, FailureReason, PluginInfo,
//!     Validator,
//! };
//!
//! const LEDGERLY: &str = "Ledgerly";
//!
//! #[derive(serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Settings {
//!     journal: String,
//!     accounts: Accounts,
//!     #[serde(default)]
//!     attachments: Attachments,
//! }
//!
//! struct Ledgerly;
//!
//! impl Validator for Ledgerly {
//!     type Settings = Settings;
//!
//!     const RULES: &'static [Rule] = &[
//!         Rule::new("ledgerly.journal", "Journal exists"),
//!         Rule::vendor_bookkeeping("ledgerly.suppliers", "Supplier register"),
//!         Rule::new("ledgerly.attachments", "Attachments"),
//!     ];
//!
//!     fn info() -> PluginInfo {
//!         PluginInfo::new("ledgerly", env!("CARGO_PKG_VERSION"), "ledgerly")
//!             .display_name(LEDGERLY)
//!             .description("Pre-export validation for Ledgerly")
//!             .capabilities(&[Capability::JournalEntries, Capability::Attachments])
//!             // In a plugin: include_str!("../settings.schema.json").
//!             .settings_schema(preflight_sdk::settings::ANY_OBJECT_SCHEMA)
//!     }
//!
//!     fn validate(_job: &ExportJob, config: &Config<Settings>, plan: &mut Plan) {
//!         let api = Api::new(&config.base_url);
//!         let journal = &config.settings.journal;
//!         match api.get(&format!("journals/{journal}")) {
//!             Ok(_) => plan.record(Check::passed(
//!                 "ledgerly.journal",
//!                 "The Ledgerly journal exists.",
//!             )),
//!             Err(Fetch::Status(response)) if response.status == 404 => plan.record(Check::failed(
//!                 "ledgerly.journal",
//!                 FailureReason::MissingConfiguration,
//!                 format!(
//!                     "Ledgerly has no journal '{journal}'. Create it in Ledgerly, or pick \
//!                      another journal in Pleo's Ledgerly settings."
//!                 ),
//!             )),
//!             Err(fetch) => plan.record(fetch.check("ledgerly.journal", LEDGERLY)),
//!         }
//!         if plan.is_blocked() {
//!             // The plan reports the remaining rules as not checked.
//!             return;
//!         }
//!         if plan.applies("ledgerly.suppliers") {
//!             match api.get("suppliers?limit=1") {
//!                 Ok(_) => plan.record(Check::passed(
//!                     "ledgerly.suppliers",
//!                     "Pleo may use Ledgerly's supplier register.",
//!                 )),
//!                 Err(fetch) => plan.record(fetch.check("ledgerly.suppliers", LEDGERLY)),
//!             }
//!         }
//!         if !config.settings.attachments.on() {
//!             plan.skip_attachments_off("ledgerly.attachments");
//!             return;
//!         }
//!         match api.get("attachments?limit=1") {
//!             Ok(_) => plan.record(Check::passed(
//!                 "ledgerly.attachments",
//!                 "Pleo may attach receipts in Ledgerly.",
//!             )),
//!             Err(fetch) => plan.record(fetch.check("ledgerly.attachments", LEDGERLY)),
//!         }
//!     }
//! }
//!
//! export_validator!(Ledgerly);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2`: the output is a
//! component the host loads as it is. Its reports list `ledgerly.settings`,
//! `ledgerly.journal`, `ledgerly.suppliers` and `ledgerly.attachments`, in that
//! order, every time.

#![warn(missing_docs)]

// Lets the generated bindings, which name this crate by path so that plugin
// crates need no direct wit-bindgen dependency, resolve inside the SDK too.
extern crate self as preflight_sdk;

pub mod http;
pub mod log;
pub mod plan;
pub mod raw;
pub mod report;
pub mod settings;
pub mod testing;

#[doc(hidden)]
pub mod bindings {
    //! The raw bindings of the `preflight:plugin/plugin` world. Plugin authors use
    //! the re-exports at the crate root instead.
    wit_bindgen::generate!({
        path: "../../wit",
        world: "preflight:plugin/plugin@0.2.0",
        pub_export_macro: true,
        export_macro_name: "__export_plugin_world",
        default_bindings_module: "preflight_sdk::bindings",
        runtime_path: "preflight_sdk::__private::wit_bindgen::rt",
        additional_derives: [PartialEq],
    });
}

pub use bindings::preflight::plugin::types::{
    Capability, Check, CheckStatus, ExportJob, FailureReason, IntegrationConfig, JobStatus,
    PluginInfo, RuleInfo, SettingsError,
};
pub use plan::{Plan, Rule};
pub use report::Report;

/// The integration configuration of the job's company, with the plugin's
/// settings parsed into the plugin's own type.
#[derive(Debug, Clone)]
pub struct Config<S> {
    /// The accounting system id, e.g. `xero`.
    pub accounting_system: String,
    /// Base URL of the accounting system's API, without a trailing slash.
    pub base_url: String,
    /// The company, tenant or organisation id in the accounting system; `None`
    /// when absent or blank.
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

    /// Every rule of the plugin, in the order they run. The SDK puts its
    /// settings rule before them; `plugin-info.rules` and every report list
    /// exactly these, in this order. Ids never change between versions:
    /// dashboards key on them. Two rules with one id, or a rule without id or
    /// title, fail compilation in [`export_validator!`].
    const RULES: &'static [Rule];

    /// Who the plugin is: name, version, accounting system, display name,
    /// capabilities, description and settings schema. The SDK fills in
    /// `rules` from [`Validator::RULES`].
    fn info() -> PluginInfo;

    /// Checks on settings that their type cannot express (formats, ranges,
    /// combinations). Runs offline, when the host loads a configuration and
    /// before every validation, where an error fails the settings rule.
    fn check_settings(settings: &Self::Settings) -> Vec<SettingsError> {
        let _ = settings;
        Vec::new()
    }

    /// Runs the pre-export validation of `job` against the accounting system,
    /// recording one check per rule in `plan`. The settings rule is recorded
    /// already; return as soon as the rest is pointless, and the plan reports
    /// every rule left as not checked.
    fn validate(job: &ExportJob, config: &Config<Self::Settings>, plan: &mut Plan);
}

impl PluginInfo {
    /// Info with a name, a version and the accounting system validated; set
    /// the display name and the settings schema too.
    pub fn new(name: &str, version: &str, accounting_system: &str) -> Self {
        PluginInfo {
            name: name.to_owned(),
            version: version.to_owned(),
            accounting_system: accounting_system.to_owned(),
            display_name: String::new(),
            capabilities: Vec::new(),
            description: String::new(),
            settings_schema: String::new(),
            rules: Vec::new(),
        }
    }

    /// Sets the accounting system's name as finance users know it, e.g.
    /// `Microsoft Dynamics 365 Business Central`: the SDK's messages and the
    /// host's use it.
    pub fn display_name(mut self, display_name: &str) -> Self {
        display_name.clone_into(&mut self.display_name);
        self
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

    /// Sets the JSON Schema (draft 2020-12, [`settings::DIALECT`]) of the
    /// settings object, usually `include_str!("../settings.schema.json")`;
    /// [`settings::check_schema`] holds it to the settings type.
    pub fn settings_schema(mut self, schema: &str) -> Self {
        schema.clone_into(&mut self.settings_schema);
        self
    }

    /// Sets the rules, exactly these in this order. A [`Validator`] leaves
    /// this to the SDK, which lists its settings rule and then
    /// [`Validator::RULES`]; a [`raw::RawValidator`] declares what its reports
    /// hold.
    pub fn rules(mut self, rules: &[Rule]) -> Self {
        self.rules = rules.iter().map(Rule::info).collect();
        self
    }
}

/// Exports a [`Validator`] as the plugin's implementation of the contract.
///
/// Call it once, at the root of the plugin crate. Compilation fails when two
/// of [`Validator::RULES`] share an id.
///
/// # Panics
///
/// The exported functions panic, which the host reports as a plugin fault,
/// when [`Validator::info`] sets no display name or no settings schema, and
/// when [`Validator::validate`] records a check [`Plan::record`] refuses.
#[macro_export]
macro_rules! export_validator {
    ($validator:ty) => {
        const _: () = {
            $crate::plan::assert_declarable(<$validator as $crate::Validator>::RULES);
        };

        // The component's exports exist only in the component: a native
        // build (`cargo test`, the cdylib beside it) links without them.
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct __PreflightExport;

            impl $crate::bindings::exports::preflight::plugin::validator::Guest for __PreflightExport {
                fn info() -> $crate::PluginInfo {
                    $crate::__private::info::<$validator>()
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
    //! What [`export_validator!`] and [`export_raw_validator!`] expand to; not
    //! a stable API.
    use super::*;
    use crate::bindings::preflight::plugin::types as wit;

    pub use wit_bindgen;

    /// `info` of a [`Validator`]: its own, with the rules of its plan.
    pub fn info<V: Validator>() -> PluginInfo {
        let mut info = identity(V::info());
        info.rules = Plan::rule_infos(&info.name, V::RULES);
        info
    }

    /// `info` of a [`raw::RawValidator`]: its own, as it is.
    pub fn raw_info<R: raw::RawValidator>() -> PluginInfo {
        identity(R::info())
    }

    /// `info`, refused without a display name or a settings schema.
    fn identity(info: PluginInfo) -> PluginInfo {
        assert!(
            !info.display_name.trim().is_empty(),
            "plugin {}: PluginInfo has no display name; set one with PluginInfo::display_name",
            info.name
        );
        assert!(
            !info.settings_schema.trim().is_empty(),
            "plugin {}: PluginInfo has no settings schema; set one with \
             PluginInfo::settings_schema",
            info.name
        );
        info
    }

    pub fn validate_settings<V: Validator>(settings: &str) -> Result<(), Vec<SettingsError>> {
        let parsed = settings::parse::<V::Settings>(settings).map_err(|error| vec![error])?;
        let errors = V::check_settings(&parsed);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    pub fn raw_validate_settings<R: raw::RawValidator>(
        settings: &str,
    ) -> Result<(), Vec<SettingsError>> {
        settings::parse::<R::Settings>(settings)
            .map(drop)
            .map_err(|error| vec![error])
    }

    pub fn validate<V: Validator>(job: ExportJob, config: IntegrationConfig) -> wit::Report {
        run::<V>(job, config).into()
    }

    /// A [`Validator`]'s report of `job`: settings parsed and checked, then
    /// its `validate`, then the plan's report.
    pub fn run<V: Validator>(job: ExportJob, config: IntegrationConfig) -> Report {
        let info = V::info();
        let mut plan = Plan::new(&info, V::RULES, &job);
        let rule = plan.settings_rule().to_owned();
        let parsed = settings::parse::<V::Settings>(&config.settings).and_then(|settings| {
            match V::check_settings(&settings).into_iter().next() {
                Some(error) => Err(error),
                None => Ok(settings),
            }
        });
        match parsed {
            Ok(settings) => {
                plan.record(settings::passed_check(&rule, &info.display_name));
                V::validate(&job, &configure(config, settings), &mut plan);
            }
            Err(error) => plan.record(settings::error_check(&rule, &info.display_name, &error)),
        }
        plan.finish()
    }

    pub fn raw_validate<R: raw::RawValidator>(
        job: ExportJob,
        config: IntegrationConfig,
    ) -> wit::Report {
        let info = R::info();
        match settings::parse::<R::Settings>(&config.settings) {
            Ok(settings) => R::validate(&job, &configure(config, settings)).into(),
            Err(error) => {
                let rule = plan::settings_rule_id(&info.name);
                let mut report = Report::new();
                report.push(settings::error_check(&rule, &info.display_name, &error));
                report.into()
            }
        }
    }

    /// The configuration as plugins see it.
    fn configure<S>(config: IntegrationConfig, settings: S) -> Config<S> {
        Config {
            accounting_system: config.accounting_system,
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            tenant_id: config.tenant_id.filter(|tenant| !tenant.trim().is_empty()),
            settings,
        }
    }
}
