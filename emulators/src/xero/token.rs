//! The OAuth 2.0 token endpoint (`POST /connect/token`, at `identity.xero.com` in reality):
//! refreshing an access token with a refresh token (RFC 6749 §6). The rules live in
//! [`super::oauth`]; this module reads the form and writes the answer.
//!
//! - **Grants.** The configured refresh token belongs to the grant named `default`. A
//!   refresh token `<configured refresh token>:<name>` that no grant has seen yet starts a
//!   grant named `<name>`, so many companies can each keep their own chain against one
//!   emulator. Each use of a grant's refresh token rotates it: the answer carries a new
//!   access token and a new refresh token (docs/accounting-systems.md §1). Tokens are
//!   numbered by one counter for all grants, so none is handed out twice.
//! - **Lifetime.** `expires_in` is `XeroConfig::access_token_lifetime` in whole seconds (at
//!   least 1); once it has passed, the gate refuses the token with the same 401 the
//!   `token-expired` scenario gives.
//! - **Grace.** Xero keeps the previous refresh token usable for a grace period after
//!   rotating it (`XeroConfig::refresh_grace`, 30 minutes; Xero's staff on
//!   community.xero.com/developer/discussion/105714701 and /127920775), so a host that lost
//!   the answer can retry, as often as needed: each retry rotates again, and the token from
//!   the lost answer stops working. The grace period runs from the token's first use and
//!   is not extended by a retry. Any older token, or the previous one after its grace
//!   period, is `400 {"error":"invalid_grant"}`.
//! - **Counting.** Successful calls are counted in total and per grant, refused calls
//!   (any 400 answer) in total.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::state::Shared;

/// Exchanges a refresh token some grant accepts for a new access token and a new refresh
/// token; a wrong grant type is `400 unsupported_grant_type`, a missing token
/// `400 invalid_request` and any other token `400 invalid_grant`.
pub(super) async fn refresh(State(shared): State<Arc<Shared>>, body: String) -> Response {
    let form: Vec<(String, String)> = body
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (decode(key), decode(value)))
        .collect();
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    if field("grant_type") != Some("refresh_token") {
        shared.refuse_token_call();
        return invalid("unsupported_grant_type");
    }
    let Some(presented) = field("refresh_token") else {
        shared.refuse_token_call();
        return invalid("invalid_request");
    };
    match shared.rotate(presented) {
        Some(issued) => Json(serde_json::json!({
            "access_token": issued.access_token,
            "expires_in": shared.expires_in(),
            "token_type": "Bearer",
            "refresh_token": issued.refresh_token,
            "scope": "offline_access accounting.transactions accounting.settings accounting.contacts accounting.attachments",
        }))
        .into_response(),
        // Counted as refused by the rotation itself.
        None => invalid("invalid_grant"),
    }
}

fn invalid(error: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({ "error": error })),
    )
        .into_response()
}

/// Percent-decoding of `application/x-www-form-urlencoded` (`+` is a space).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                match u8::from_str_radix(&text[index + 1..index + 3], 16) {
                    Ok(byte) => {
                        out.push(byte);
                        index += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::net::SocketAddr;
    use std::time::Duration;

    use reqwest::StatusCode;
    use serde_json::Value;

    use super::decode;
    use crate::xero::{
        DEFAULT_GRANT, DEMO_ACCESS_TOKEN, DEMO_REFRESH_TOKEN, DEMO_TENANT_ID, Scenario, XeroConfig,
        XeroEmulator,
    };

    const HALF_AN_HOUR: Duration = Duration::from_secs(30 * 60);

    async fn emulator(config: XeroConfig) -> XeroEmulator {
        XeroEmulator::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("emulator starts")
    }

    /// `POST /connect/token` with `refresh_token`: the status and the JSON body.
    async fn refresh(emulator: &XeroEmulator, refresh_token: &str) -> (StatusCode, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/connect/token", emulator.url()))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ])
            .send()
            .await
            .expect("token call");
        let status = response.status();
        (status, response.json().await.expect("JSON body"))
    }

    /// The access and refresh tokens of a refresh that must succeed.
    async fn tokens(emulator: &XeroEmulator, refresh_token: &str) -> (String, String) {
        let (status, body) = refresh(emulator, refresh_token).await;
        assert_eq!(status, StatusCode::OK, "{refresh_token}: {body}");
        let text = |key: &str| body[key].as_str().expect(key).to_owned();
        (text("access_token"), text("refresh_token"))
    }

    /// `GET path` with a bearer token and the demo tenant.
    async fn get(emulator: &XeroEmulator, path: &str, token: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(format!("{}{path}", emulator.url()))
            .bearer_auth(token)
            .header("Xero-tenant-id", DEMO_TENANT_ID)
            .send()
            .await
            .expect("call")
    }

    fn invalid_grant() -> Value {
        serde_json::json!({ "error": "invalid_grant" })
    }

    #[tokio::test]
    async fn a_named_grant_rotates_independently_of_the_default_one() {
        let config = XeroConfig::default();
        let company = config.grant_refresh_token("company-7");
        assert_eq!(company, format!("{DEMO_REFRESH_TOKEN}:company-7"));
        let emulator = emulator(config).await;

        let (access, default_next) = tokens(&emulator, DEMO_REFRESH_TOKEN).await;
        assert_eq!(access, "xero-refreshed-access-token-1");
        let (company_access, company_next) = tokens(&emulator, &company).await;
        assert_eq!(company_access, "xero-refreshed-access-token-2");
        assert_ne!(company_next, default_next);
        // Rotating one chain twice leaves the other's current token working.
        let (_, company_next) = tokens(&emulator, &company_next).await;
        let (_, company_next) = tokens(&emulator, &company_next).await;
        tokens(&emulator, &default_next).await;
        tokens(&emulator, &company_next).await;
        // Both grants' starting tokens are now too old (and the named one starts nothing
        // new: it has been seen).
        assert_eq!(
            refresh(&emulator, DEMO_REFRESH_TOKEN).await,
            (StatusCode::BAD_REQUEST, invalid_grant())
        );
        assert_eq!(
            refresh(&emulator, &company).await,
            (StatusCode::BAD_REQUEST, invalid_grant())
        );
        // Each grant's access tokens work.
        assert_eq!(
            get(&emulator, "/connections", &company_access)
                .await
                .status(),
            StatusCode::OK
        );

        assert_eq!(emulator.token_calls(), 6);
        assert_eq!(
            emulator.token_calls_by_grant(),
            BTreeMap::from([("company-7".to_owned(), 4), (DEFAULT_GRANT.to_owned(), 2)])
        );
        assert_eq!(emulator.refused_token_calls(), 2);
    }

    #[tokio::test]
    async fn an_issued_access_token_is_refused_like_an_expired_one_after_its_lifetime() {
        let lifetime = Duration::from_secs(90);
        let emulator = emulator(XeroConfig {
            access_token_lifetime: lifetime,
            ..XeroConfig::default()
        })
        .await;
        let (status, body) = refresh(&emulator, DEMO_REFRESH_TOKEN).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["expires_in"], 90);
        let access = body["access_token"].as_str().expect("access token");
        let next = body["refresh_token"].as_str().expect("refresh token");
        let organisation = "/api.xro/2.0/Organisation";
        assert_eq!(
            get(&emulator, organisation, access).await.status(),
            StatusCode::OK
        );

        emulator.advance_clock(lifetime - Duration::from_secs(1));
        assert_eq!(
            get(&emulator, "/connections", access).await.status(),
            StatusCode::OK
        );
        emulator.advance_clock(Duration::from_secs(1));

        // What the configured token gets under `token-expired`, for comparison.
        let other = self::emulator(XeroConfig {
            scenarios: vec![Scenario::TokenExpired],
            ..XeroConfig::default()
        })
        .await;
        for path in [organisation, "/connections"] {
            let expected = get(&other, path, DEMO_ACCESS_TOKEN).await;
            let refused = get(&emulator, path, access).await;
            assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(refused.status(), expected.status());
            let header = |response: &reqwest::Response| {
                response.headers()["www-authenticate"]
                    .to_str()
                    .expect("ASCII")
                    .to_owned()
            };
            assert_eq!(
                header(&refused),
                r#"Bearer error="invalid_token", error_description="The access token expired""#
            );
            assert_eq!(header(&refused), header(&expected));
            let mut body: Value = refused.json().await.expect("JSON");
            let mut expected: Value = expected.json().await.expect("JSON");
            assert!(
                body["Detail"]
                    .as_str()
                    .is_some_and(|detail| detail.starts_with("TokenExpired: token expired at ")),
                "{body}"
            );
            // The instance id is random and the time in `Detail` may differ by a second.
            for body in [&mut body, &mut expected] {
                body["Instance"] = Value::Null;
                body["Detail"] = Value::Null;
            }
            assert_eq!(body, expected);
        }

        // A new refresh gives a token that works again; the configured token still works
        // without the scenario.
        let (fresh, _) = tokens(&emulator, next).await;
        assert_eq!(
            get(&emulator, organisation, &fresh).await.status(),
            StatusCode::OK
        );
        assert_eq!(
            get(&emulator, organisation, DEMO_ACCESS_TOKEN)
                .await
                .status(),
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn the_previous_refresh_token_works_within_the_grace_period_only() {
        let emulator = emulator(XeroConfig::default()).await;
        let (_, lost) = tokens(&emulator, DEMO_REFRESH_TOKEN).await;
        emulator.advance_clock(HALF_AN_HOUR - Duration::from_secs(1));
        // The host never stored `lost` and retries with the token it has.
        let (access, kept) = tokens(&emulator, DEMO_REFRESH_TOKEN).await;
        assert_eq!(access, "xero-refreshed-access-token-2");
        assert_ne!(kept, lost);
        assert_eq!(
            refresh(&emulator, &lost).await,
            (StatusCode::BAD_REQUEST, invalid_grant())
        );
        emulator.advance_clock(Duration::from_secs(1));
        assert_eq!(
            refresh(&emulator, DEMO_REFRESH_TOKEN).await,
            (StatusCode::BAD_REQUEST, invalid_grant())
        );
        tokens(&emulator, &kept).await;
        assert_eq!(emulator.token_calls(), 3);
        assert_eq!(emulator.refused_token_calls(), 2);
    }

    #[tokio::test]
    async fn malformed_token_calls_are_counted_as_refused() {
        let emulator = emulator(XeroConfig::default()).await;
        let client = reqwest::Client::new();
        let url = format!("{}/connect/token", emulator.url());
        let post =
            |form: &'static [(&'static str, &'static str)]| client.post(&url).form(form).send();
        let answer = post(&[("grant_type", "client_credentials")])
            .await
            .expect("token call");
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
        let answer = post(&[("grant_type", "refresh_token")])
            .await
            .expect("token call");
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
        assert_eq!(emulator.refused_token_calls(), 2);
        assert_eq!(emulator.token_calls(), 0);
        assert!(emulator.token_calls_by_grant().is_empty());
    }

    #[test]
    fn form_values_are_percent_decoded() {
        assert_eq!(decode("a%2Bb+c"), "a+b c");
        assert_eq!(decode("refresh_token"), "refresh_token");
        assert_eq!(decode("50%"), "50%");
    }
}
