//! The OAuth 2.0 token endpoint (`POST /connect/token`, at
//! `identity.xero.com` in reality): refreshing an access token with the
//! refresh token (RFC 6749 §6). Xero rotates refresh tokens on every use
//! (docs/accounting-systems.md §1), so the old one stops working.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::state::Shared;

/// Exchanges the current refresh token for a new access token and a new
/// refresh token; anything else is `400 invalid_grant`.
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
        return invalid("unsupported_grant_type");
    }
    let Some(presented) = field("refresh_token") else {
        return invalid("invalid_request");
    };
    match shared.rotate(presented) {
        Some((access_token, refresh_token)) => Json(serde_json::json!({
            "access_token": access_token,
            "expires_in": 1800,
            "token_type": "Bearer",
            "refresh_token": refresh_token,
            "scope": "offline_access accounting.transactions accounting.settings accounting.contacts accounting.attachments",
        }))
        .into_response(),
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
    use super::decode;

    #[test]
    fn form_values_are_percent_decoded() {
        assert_eq!(decode("a%2Bb+c"), "a+b c");
        assert_eq!(decode("refresh_token"), "refresh_token");
        assert_eq!(decode("50%"), "50%");
    }
}
