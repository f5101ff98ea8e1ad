//! Wiring an operator configuration into a runner: the Pleo client, the
//! store, the handover, and each company's settings checked by its plugin.

use std::sync::Arc;

use crate::metrics::Metrics;
use crate::operator::OperatorConfig;
use crate::pleo::{PleoClient, RetryPolicy};
use crate::registry::Registry;
use crate::runner::{Handover, Runner, RunnerParts};
use preflight_store::Store;

/// Why a runner could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    /// A company's settings were refused by its plugin.
    #[error("{entry}: settings.{field}: {message}")]
    Settings {
        /// The company.
        company: uuid::Uuid,
        /// How the file names it: `companies[0] (company …)`.
        entry: String,
        /// The settings field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The plugin faulted while checking settings.
    #[error("{entry}: {error}")]
    Plugin {
        /// The company.
        company: uuid::Uuid,
        /// How the file names it: `companies[0] (company …)`.
        entry: String,
        /// The fault.
        error: preflight_runtime::plugin::PluginError,
    },
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] preflight_store::StoreError),
    /// An HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// Builds the runner for `config` with the plugins of `registry`. Every
/// company's settings are checked by its plugin's `validate-settings`; a
/// company whose accounting system has no plugin is only warned about (its
/// jobs fail with `invalid_configuration`).
pub async fn assemble(
    config: &OperatorConfig,
    registry: Arc<Registry>,
    metrics: Arc<Metrics>,
) -> Result<Runner, AssembleError> {
    for (company, integration) in &config.companies {
        let Some(plugin) = registry.get(&integration.accounting_system) else {
            tracing::warn!(%company, system = %integration.accounting_system, "no plugin for this company's accounting system; its jobs will fail as invalid_configuration");
            continue;
        };
        match plugin.validate_settings(&integration.settings).await {
            Ok(Ok(())) => {}
            Ok(Err(errors)) => {
                let first = errors
                    .into_iter()
                    .next()
                    .expect("an Err holds at least one error");
                return Err(AssembleError::Settings {
                    company: *company,
                    entry: config.company_entry(*company),
                    field: first.field,
                    message: first.message,
                });
            }
            Err(error) => {
                return Err(AssembleError::Plugin {
                    company: *company,
                    entry: config.company_entry(*company),
                    error,
                });
            }
        }
    }
    let pleo = PleoClient::new(
        config.pleo.base_url.clone(),
        config.pleo.auth.clone(),
        RetryPolicy {
            request_timeout: config.pleo.request_timeout,
            ..RetryPolicy::default()
        },
    )?;
    let identity = config.store.identity.clone();
    let store = match &config.store.url {
        Some(url) => Store::open(url, identity).await?,
        None => Store::in_memory(identity).await?,
    };
    let handover = match (&config.runner.handover_url, &config.runner.handover_command) {
        (Some(url), _) => Handover::url(url.clone(), config.runner.handover_key.clone())?,
        (None, Some(command)) => Handover::Command(command.clone()),
        (None, None) => Handover::Record,
    };
    Ok(Runner::new(RunnerParts {
        pleo,
        companies: config.companies.clone(),
        polled: config.polled_companies(),
        poll_interval: config.pleo.poll_interval,
        registry,
        settings: config.runner.clone(),
        store,
        mask_fields: config.decision_log.mask_fields.clone(),
        handover,
        metrics,
    }))
}
