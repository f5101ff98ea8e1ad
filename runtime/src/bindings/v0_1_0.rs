//! `preflight:plugin@0.1.0`, generated from its frozen copy
//! (`wit/since_v0.1.0/plugin.wit`): its imports answered by the latest
//! implementations, its values converted to and from the latest types.
//!
//! 0.2.0 only added fields to `plugin-info`; a 0.1.0 plugin's info comes
//! back with an empty display name, no settings schema and no rule list,
//! which the host reads as "not said".

use wasmtime::AsContextMut;
use wasmtime::component::{HasSelf, Linker};

use super::{wit_http, wit_log, wit_types};
use crate::sandbox::PluginCtx;

// Generated from wit/since_v0.1.0/plugin.wit, whose items are documented
// there; crate-private, so the host's API never shows these types.
mod generated {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.1.0",
        world: "preflight:plugin/plugin@0.1.0",
        imports: {
            "preflight:plugin/http.send": async,
            "preflight:plugin/log.log": trappable,
        },
        exports: { default: async },
    });
}

use generated::preflight::plugin::{http, log, types};
pub(crate) use generated::{Plugin, PluginPre};

/// Links this version's imports.
pub(super) fn add_to_linker(linker: &mut Linker<PluginCtx>) -> wasmtime::Result<()> {
    Plugin::add_to_linker::<_, HasSelf<PluginCtx>>(linker, |ctx| ctx)
}

/// `From` between two enums whose variants carry no data and have the same
/// names: one place per pair, checked by the compiler in both directions.
macro_rules! same_variants {
    ($from:ident => $to:ident { $($variant:ident),+ $(,)? }) => {
        impl From<$from> for $to {
            fn from(value: $from) -> $to {
                match value {
                    $($from::$variant => $to::$variant),+
                }
            }
        }
    };
}

use http::Method as OldMethod;
use log::Level as OldLevel;
use types::{
    Capability as OldCapability, CheckStatus as OldStatus, FailureReason as OldReason,
    JobStatus as OldJobStatus,
};
use wit_http::Method;
use wit_log::Level;
use wit_types::{Capability, CheckStatus, FailureReason, JobStatus};

same_variants!(OldMethod => Method { Get, Head, Post, Put, Patch, Delete });
same_variants!(OldLevel => Level { Trace, Debug, Info, Warn, Error });
same_variants!(OldCapability => Capability { JournalEntries, VendorBookkeeping, Attachments, MultiEntity });
same_variants!(OldStatus => CheckStatus { Passed, Failed, Skipped, Unverified });
same_variants!(OldReason => FailureReason {
    InvalidConfiguration,
    MissingConfiguration,
    AccountingSystemUnreachable,
    AccountingSystemAuthenticationFailure,
    AccountingSystemRateLimit,
    AccountingSystemTimeout,
    AuthorizationFailure,
    ValidationFailure,
    IntegrationUnusable,
});
same_variants!(JobStatus => OldJobStatus { Pending, InProgress, Failed, Completed, CompletedWithErrors });

impl http::Host for PluginCtx {
    async fn send(&mut self, request: http::Request) -> Result<http::Response, http::HttpError> {
        let request = wit_http::Request {
            method: request.method.into(),
            url: request.url,
            headers: request.headers,
            body: request.body,
        };
        match <PluginCtx as wit_http::Host>::send(self, request).await {
            Ok(response) => Ok(http::Response {
                status: response.status,
                headers: response.headers,
                body: response.body,
            }),
            Err(error) => Err(match error {
                wit_http::HttpError::Denied(detail) => http::HttpError::Denied(detail),
                wit_http::HttpError::Timeout => http::HttpError::Timeout,
                wit_http::HttpError::Unreachable(detail) => http::HttpError::Unreachable(detail),
                wit_http::HttpError::TooLarge(limit) => http::HttpError::TooLarge(limit),
                wit_http::HttpError::BudgetExhausted => http::HttpError::BudgetExhausted,
                wit_http::HttpError::InvalidRequest(detail) => {
                    http::HttpError::InvalidRequest(detail)
                }
            }),
        }
    }
}

impl log::Host for PluginCtx {
    fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        <PluginCtx as wit_log::Host>::log(self, level.into(), message)
    }
}

impl types::Host for PluginCtx {}

/// `info`, in the latest shape: the fields 0.1.0 lacks are empty.
pub(super) async fn info(
    plugin: &Plugin,
    store: impl AsContextMut<Data = PluginCtx>,
) -> wasmtime::Result<wit_types::PluginInfo> {
    let info = plugin.preflight_plugin_validator().call_info(store).await?;
    Ok(wit_types::PluginInfo {
        name: info.name,
        version: info.version,
        accounting_system: info.accounting_system,
        display_name: String::new(),
        capabilities: info.capabilities.into_iter().map(Into::into).collect(),
        description: info.description,
        settings_schema: String::new(),
        rules: Vec::new(),
    })
}

/// `validate-settings`.
pub(super) async fn validate_settings(
    plugin: &Plugin,
    store: impl AsContextMut<Data = PluginCtx>,
    settings: &str,
) -> wasmtime::Result<Result<(), Vec<wit_types::SettingsError>>> {
    let result = plugin
        .preflight_plugin_validator()
        .call_validate_settings(store, settings)
        .await?;
    Ok(result.map_err(|errors| {
        errors
            .into_iter()
            .map(|error| wit_types::SettingsError {
                field: error.field,
                message: error.message,
            })
            .collect()
    }))
}

/// `validate`, with the latest job and configuration converted down and the
/// report converted up.
pub(super) async fn validate(
    plugin: &Plugin,
    store: impl AsContextMut<Data = PluginCtx>,
    job: wit_types::ExportJob,
    config: wit_types::IntegrationConfig,
) -> wasmtime::Result<wit_types::Report> {
    let job = types::ExportJob {
        id: job.id,
        company_id: job.company_id,
        status: job.status.into(),
        created_at: job.created_at,
        number_of_items: job.number_of_items,
        vendor_based_bookkeeping: job.vendor_based_bookkeeping,
        is_interactive: job.is_interactive,
        expires_in: job.expires_in,
    };
    let config = types::IntegrationConfig {
        accounting_system: config.accounting_system,
        base_url: config.base_url,
        tenant_id: config.tenant_id,
        settings: config.settings,
    };
    let report = plugin
        .preflight_plugin_validator()
        .call_validate(store, &job, &config)
        .await?;
    Ok(wit_types::Report {
        checks: report
            .checks
            .into_iter()
            .map(|check| wit_types::Check {
                id: check.id,
                status: check.status.into(),
                reason: check.reason.map(Into::into),
                message: check.message,
                hint: check.hint,
                retry_after: check.retry_after,
            })
            .collect(),
    })
}
