//! The handlers of `/3/…`: read-only, since a validator never creates records
//! (docs/accounting-systems.md, closing "cross-cutting cautions").

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::responses::{self, ACCOUNT_NOT_FOUND};
use super::seed::{self, FinancialYear};
use super::state::{Active, Shared};

/// The query parameters Fortnox's list calls take; others are ignored, as Fortnox does.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    limit: Option<usize>,
    page: Option<usize>,
    financialyear: Option<u32>,
    date: Option<String>,
    path: Option<String>,
}

/// `GET /3/companyinformation`: the company the token is bound to.
pub(super) async fn company_information(
    State(shared): State<Arc<Shared>>,
    Extension(active): Extension<Active>,
) -> Response {
    responses::single(
        "CompanyInformation",
        seed::company_information(&shared.config, &active),
    )
}

/// `GET /3/financialyears[?date=YYYY-MM-DD]`: every financial year, or the one covering
/// `date`.
pub(super) async fn financial_years(
    State(shared): State<Arc<Shared>>,
    Extension(active): Extension<Active>,
    Query(query): Query<ListQuery>,
) -> Response {
    let mut years = seed::financial_years(&active);
    if let Some(date) = query.date.as_deref() {
        if !is_date(date) {
            return responses::bad_parameter("Ogiltigt datum (date), ange YYYY-MM-DD.");
        }
        years.retain(|year| year.covers(date));
    }
    let api = shared.api_url();
    let items = years.iter().map(|year| year.to_json(&api)).collect();
    responses::list("FinancialYears", items, query.limit, query.page)
}

/// `GET /3/financialyears/{id}`.
pub(super) async fn financial_year(
    State(shared): State<Arc<Shared>>,
    Extension(active): Extension<Active>,
    Path(id): Path<u32>,
) -> Response {
    match seed::financial_years(&active)
        .into_iter()
        .find(|year| year.id == id)
    {
        Some(year) => responses::single("FinancialYear", year.to_json(&shared.api_url())),
        None => year_not_found(),
    }
}

/// `GET /3/accounts?financialyear=…`: the chart of accounts, paged.
pub(super) async fn accounts(
    State(shared): State<Arc<Shared>>,
    Extension(active): Extension<Active>,
    Query(query): Query<ListQuery>,
) -> Response {
    let Some(year) = year_of(&active, query.financialyear) else {
        return year_not_found();
    };
    let items = seed::accounts(&active, year.id, &shared.api_url());
    responses::list("Accounts", items, query.limit, query.page)
}

/// `GET /3/accounts/{number}`: one account, or 404 code 2001304.
pub(super) async fn account(
    State(shared): State<Arc<Shared>>,
    Extension(active): Extension<Active>,
    Path(number): Path<u32>,
    Query(query): Query<ListQuery>,
) -> Response {
    let Some(year) = year_of(&active, query.financialyear) else {
        return year_not_found();
    };
    seed::accounts(&active, year.id, &shared.api_url())
        .into_iter()
        .find(|account| account["Number"].as_u64() == Some(u64::from(number)))
        .map_or_else(
            || responses::not_found(Some(ACCOUNT_NOT_FOUND), "Kunde inte hitta konto."),
            |account| responses::single("Account", account),
        )
}

/// `GET /3/voucherseries?financialyear=…`.
pub(super) async fn voucher_series(
    State(shared): State<Arc<Shared>>,
    Extension(active): Extension<Active>,
    Query(query): Query<ListQuery>,
) -> Response {
    let Some(year) = year_of(&active, query.financialyear) else {
        return year_not_found();
    };
    let items = seed::voucher_series(&active, year.id, &shared.api_url());
    responses::list("VoucherSeriesCollection", items, query.limit, query.page)
}

/// `GET /3/voucherseries/{code}`.
pub(super) async fn voucher_series_one(
    State(shared): State<Arc<Shared>>,
    Extension(active): Extension<Active>,
    Path(code): Path<String>,
    Query(query): Query<ListQuery>,
) -> Response {
    let Some(year) = year_of(&active, query.financialyear) else {
        return year_not_found();
    };
    seed::voucher_series(&active, year.id, &shared.api_url())
        .into_iter()
        .find(|series| series["Code"].as_str() == Some(code.as_str()))
        .map_or_else(
            || responses::not_found(None, "Kan inte hitta verifikationsserien."),
            |series| responses::single("VoucherSeries", series),
        )
}

/// `GET /3/vouchers?financialyear=…`.
pub(super) async fn vouchers(
    State(shared): State<Arc<Shared>>,
    Extension(active): Extension<Active>,
    Query(query): Query<ListQuery>,
) -> Response {
    let Some(year) = year_of(&active, query.financialyear) else {
        return year_not_found();
    };
    let items = seed::vouchers(year.id, &year.from_date, &shared.api_url());
    responses::list("Vouchers", items, query.limit, query.page)
}

/// `GET /3/suppliers`.
pub(super) async fn suppliers(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<ListQuery>,
) -> Response {
    let items = seed::suppliers(&shared.api_url());
    responses::list("Suppliers", items, query.limit, query.page)
}

/// `GET /3/supplierinvoices`.
pub(super) async fn supplier_invoices(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<ListQuery>,
) -> Response {
    let items = seed::supplier_invoices(&shared.api_url());
    responses::list("SupplierInvoices", items, query.limit, query.page)
}

/// `GET /3/inbox[?path=inbox_v]`: the root folder or one folder of the inbox.
pub(super) async fn inbox(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<ListQuery>,
) -> Response {
    seed::inbox_folder(query.path.as_deref(), &shared.api_url()).map_or_else(
        || responses::not_found(None, "Kan inte hitta mappen."),
        |folder| responses::single("Folder", folder),
    )
}

/// `GET /3/voucherfileconnections`.
pub(super) async fn voucher_file_connections(
    State(shared): State<Arc<Shared>>,
    Extension(active): Extension<Active>,
    Query(query): Query<ListQuery>,
) -> Response {
    let Some(year) = year_of(&active, query.financialyear) else {
        return year_not_found();
    };
    let items = seed::voucher_file_connections(year.id, &shared.api_url());
    responses::list("VoucherFileConnections", items, query.limit, query.page)
}

/// Any other path: 404 in Fortnox's envelope.
pub(super) async fn not_found() -> Response {
    responses::not_found(None, "Kan inte hitta resursen.")
}

/// The financial year `financialyear` names, or the one covering today when it is absent,
/// as Fortnox defaults to; `None` (answered with 404) when there is none.
fn year_of(active: &Active, financialyear: Option<u32>) -> Option<FinancialYear> {
    let years = seed::financial_years(active);
    match financialyear {
        Some(id) => years.into_iter().find(|year| year.id == id),
        None => {
            let today = seed::today();
            years.into_iter().find(|year| year.covers(&today))
        }
    }
}

/// 404 for a financial year that does not exist.
fn year_not_found() -> Response {
    responses::not_found(None, "Kan inte hitta räkenskapsåret.")
}

/// Whether `text` is `YYYY-MM-DD`.
fn is_date(text: &str) -> bool {
    text.len() == 10
        && text.bytes().enumerate().all(|(index, byte)| match index {
            4 | 7 => byte == b'-',
            _ => byte.is_ascii_digit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_iso() {
        assert!(is_date("2026-11-25"));
        assert!(!is_date("2026-1-25"));
        assert!(!is_date("25/11/2026"));
    }

    #[test]
    fn unnamed_year_is_this_year() {
        let year = year_of(&Active::default(), None).expect("this year exists");
        assert!(year.covers(&seed::today()));
        assert!(year_of(&Active::default(), Some(999)).is_none());
    }
}
