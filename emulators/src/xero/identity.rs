//! `GET /connections` (xero-identity.yaml, operation `getConnections`): the tenants the
//! access token can reach. It is the one call that needs no `Xero-tenant-id` header.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;

use super::seed;
use super::state::{Active, Shared};

/// The optional `authEventId` filter of `getConnections`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ConnectionsQuery {
    #[serde(rename = "authEventId")]
    auth_event_id: Option<String>,
}

/// A bare JSON array of connections, not wrapped in Xero's accounting envelope.
pub(super) async fn connections(
    State(shared): State<Arc<Shared>>,
    Extension(active): Extension<Active>,
    Query(query): Query<ConnectionsQuery>,
) -> Response {
    let wanted = query.auth_event_id.as_deref().map(str::trim);
    let connections: Vec<_> = seed::connections(&shared.config, &active)
        .into_iter()
        .filter(|connection| {
            wanted.is_none_or(|id| connection.auth_event_id().eq_ignore_ascii_case(id))
        })
        .collect();
    Json(connections).into_response()
}
