//! The organisation and its settings: `/Organisation`, `/Accounts`, `/TaxRates` and
//! `/Currencies` (xero_accounting.yaml, scope `accounting.settings`).

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use serde_json::json;

use super::filter::ListQuery;
use super::state::{Active, Shared};
use super::{chart, responses, seed, to_json};

/// `GET /Organisation`: the organisation the tenant header names;
/// `organisation-inactive` suspends the configured one.
pub(super) async fn organisation(
    State(shared): State<Arc<Shared>>,
    Extension(active): Extension<Active>,
    Extension(tenant): Extension<seed::Tenant>,
) -> Response {
    responses::envelope(
        "Organisations",
        vec![seed::organisation(&shared.config, &active, tenant)],
    )
}

/// `GET /Accounts`: the chart of accounts, filtered by `where` (e.g. `Code=="429"`);
/// `accounts-missing` removes 429 and 800.
pub(super) async fn accounts(
    Extension(active): Extension<Active>,
    Query(query): Query<ListQuery>,
) -> Response {
    let accounts = chart::accounts(&active).into_iter().map(to_json).collect();
    responses::envelope("Accounts", query.apply_where(accounts))
}

/// `GET /TaxRates`: every tax rate, deleted ones included, as Xero lists them.
pub(super) async fn tax_rates(Query(query): Query<ListQuery>) -> Response {
    let rates = chart::TAX_RATES.iter().map(|rate| rate.to_json()).collect();
    responses::envelope("TaxRates", query.apply_where(rates))
}

/// `GET /Currencies`: the currencies enabled for the organisation.
pub(super) async fn currencies(Query(query): Query<ListQuery>) -> Response {
    let currencies = chart::CURRENCIES
        .iter()
        .map(|(code, description)| json!({ "Code": code, "Description": description }))
        .collect();
    responses::envelope("Currencies", query.apply_where(currencies))
}
