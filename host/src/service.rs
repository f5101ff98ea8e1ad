//! Wiring an operator configuration into a runner: the Pleo client, the
//! store, the handover, and each company's settings checked by its plugin.

use std::sync::Arc;

use crate::companies::{Companies, Via};
use crate::metrics::Metrics;
use crate::operator::OperatorConfig;
use crate::pleo::{PleoAuth, PleoClient, RetryPolicy};
use crate::registry::Registry;
use crate::runner::{Handover, Runner, RunnerParts};
use preflight_store::Store;

/// Why a runner could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    /// A company of the operator file was refused as it was imported into
    /// the store (its settings by its plugin, or its shape).
    #[error("{entry}: {error}")]
    Company {
        /// How the file names it: `companies[0] (company …)`.
        entry: String,
        /// Why.
        error: crate::companies::CompanyError,
    },
    /// The secrets key could not be had.
    #[error("secrets key: {0}")]
    Key(#[from] preflight_store::secrets::KeyError),
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] preflight_store::StoreError),
    /// An HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// Builds the runner for `config` with the plugins of `registry`. The
/// file's companies are imported into the store ([`Companies::import_file`]),
/// each checked by its plugin's `validate-settings`; a company whose
/// accounting system has no plugin is only warned about (its jobs fail with
/// `invalid_configuration`).
pub async fn assemble(
    config: &OperatorConfig,
    registry: Arc<Registry>,
    metrics: Arc<Metrics>,
) -> Result<Runner, AssembleError> {
    for (company, integration) in &config.companies {
        if registry.get(&integration.accounting_system).is_none() {
            tracing::warn!(%company, system = %integration.accounting_system, "no plugin for this company's accounting system; its jobs will fail as invalid_configuration");
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
    let sealer = Arc::new(config.secrets.sealer()?);
    let companies = Arc::new(Companies::new(store.clone(), sealer, Arc::clone(&metrics)));
    companies.set_known_organisations(
        config
            .pleo
            .organisations
            .iter()
            .map(|(id, _)| *id)
            .collect(),
    );
    let mut organisations = std::collections::BTreeMap::new();
    for (id, auth) in &config.pleo.organisations {
        if let PleoAuth::OAuth2(oauth) = auth {
            companies
                .keep_organisation(*id, oauth)
                .await
                .map_err(|error| AssembleError::Company {
                    entry: format!("pleo.organisations (organisation {id})"),
                    error,
                })?;
        }
        let client = PleoClient::new(
            config.pleo.base_url.clone(),
            auth.clone(),
            RetryPolicy {
                request_timeout: config.pleo.request_timeout,
                ..RetryPolicy::default()
            },
        )?;
        organisations.insert(*id, client);
    }
    companies
        .import_file(
            &config.company_documents,
            Via::File,
            Some(&*registry),
            |company| config.company_entry(company),
        )
        .await
        .map_err(|(entry, error)| AssembleError::Company { entry, error })?;
    let handover = match (&config.runner.handover_url, &config.runner.handover_command) {
        (Some(url), _) => Handover::url(url.clone(), config.runner.handover_key.clone())?,
        (None, Some(command)) => Handover::Command(command.clone()),
        (None, None) => Handover::Record,
    };
    Ok(Runner::new(RunnerParts {
        pleo,
        organisations,
        companies,
        polled: config.pleo.watch_companies.clone(),
        poll_interval: config.pleo.poll_interval,
        registry,
        settings: config.runner.clone(),
        store,
        mask_fields: config.decision_log.mask_fields.clone(),
        handover,
        metrics,
    }))
}
