//! `GET /v3/company/{realmId}/companyinfo/{realmId}`: the cheap check of
//! docs/accounting-systems.md §2.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Response;

use super::state::{Active, Shared};
use super::{faults, seed};

/// The company; an id other than the realm's is an unknown object (fault 610).
pub(super) async fn company_info(
    State(shared): State<Arc<Shared>>,
    Extension(active): Extension<Active>,
    Path((realm, id)): Path<(String, String)>,
) -> Response {
    if id != realm {
        return faults::object_not_found(&format!(
            "Object Not Found : Something you're trying to use has been made inactive or \
             doesn't exist: CompanyInfo {id}"
        ));
    }
    faults::entity("CompanyInfo", seed::company_info(&shared.config, &active))
}
