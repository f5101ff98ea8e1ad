//! Pleo's OAuth for partner integrations (docs/pleo-export-api.md §1.1, "OAuth"): the
//! organisations a partner serves, each with its own refresh token, and the token endpoint
//! `POST /oauth/token` (at `auth.pleo.io` in reality) that exchanges a refresh token for an
//! access token (RFC 6749 §6).
//!
//! The rules live in [`Tokens`], which takes the time as an argument so they can be tested
//! without waiting; [`Shared`] passes its advanceable clock. [`token`] reads the request and
//! writes the answer.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use super::PleoConfig;
use super::auth::{Credential, Scope};
use super::base64;
use super::query::{self, Query};
use super::responses;
use super::state::Shared;

/// A Pleo organisation that installed the partner's integration: its companies and the
/// refresh token of its OAuth grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organisation {
    /// The organisation's id; [`super::PleoEmulator::token_calls_by_organisation`] counts by it.
    pub id: Uuid,
    /// The companies (entities) the organisation's access tokens reach.
    pub companies: Vec<Uuid>,
    /// The refresh token the grant starts with; it is replaced on first use.
    pub refresh_token: String,
}

/// Prefix of issued access tokens, followed by a number.
const ACCESS_PREFIX: &str = "pleo-org-access-";
/// Prefix of issued refresh tokens, followed by a number.
const REFRESH_PREFIX: &str = "pleo-org-refresh-";

/// Checks the organisations of a configuration: ids unique, refresh tokens non-empty and
/// unique (each must name one grant).
pub(super) fn validate(organisations: &[Organisation]) -> Result<(), String> {
    let mut ids = HashSet::new();
    let mut tokens = HashSet::new();
    for organisation in organisations {
        if !ids.insert(organisation.id) {
            return Err(format!(
                "organisation {} is configured more than once",
                organisation.id
            ));
        }
        if organisation.refresh_token.is_empty() {
            return Err(format!(
                "organisation {} has an empty refresh token",
                organisation.id
            ));
        }
        if !tokens.insert(organisation.refresh_token.as_str()) {
            return Err(format!(
                "organisation {} shares its refresh token with another organisation",
                organisation.id
            ));
        }
    }
    Ok(())
}

/// What an access token presented to the API turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum AccessToken {
    /// Issued for an organisation and still valid: the companies it reaches.
    Valid(Arc<[Uuid]>),
    /// Issued for an organisation, but its lifetime has passed.
    Expired,
    /// Never issued.
    Unknown,
}

/// One organisation's grant as it stands.
#[derive(Debug)]
struct Grant {
    id: Uuid,
    companies: Arc<[Uuid]>,
    /// The one refresh token accepted now.
    refresh_token: String,
}

/// An access token handed out.
#[derive(Debug)]
struct Issued {
    /// Index into [`Tokens::grants`].
    grant: usize,
    /// Emulator time at which it stops working.
    expires_at: Duration,
}

/// What a successful refresh hands out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Refreshed {
    pub(super) access_token: String,
    pub(super) refresh_token: String,
}

/// Why the token endpoint refused a call: the RFC 6749 §5.2 `error` code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TokenError {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnsupportedGrantType,
}

impl TokenError {
    fn code(self) -> &'static str {
        match self {
            TokenError::InvalidRequest => "invalid_request",
            TokenError::InvalidClient => "invalid_client",
            TokenError::InvalidGrant => "invalid_grant",
            TokenError::UnsupportedGrantType => "unsupported_grant_type",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            TokenError::InvalidClient => StatusCode::UNAUTHORIZED,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// The organisations' grants, the access tokens issued and the counts of token calls.
#[derive(Debug)]
pub(super) struct Tokens {
    grants: Vec<Grant>,
    issued: HashMap<String, Issued>,
    /// Numbers the tokens; one counter for all organisations, so no token is issued twice.
    counter: u64,
    /// Bearer tokens of [`PleoConfig::grants`], never issued so as not to be ambiguous.
    reserved: HashSet<String>,
    lifetime: Duration,
    calls: BTreeMap<Uuid, u64>,
    refused: u64,
}

impl Tokens {
    pub(super) fn new(config: &PleoConfig) -> Self {
        Self {
            grants: config
                .organisations
                .iter()
                .map(|organisation| Grant {
                    id: organisation.id,
                    companies: organisation.companies.clone().into(),
                    refresh_token: organisation.refresh_token.clone(),
                })
                .collect(),
            issued: HashMap::new(),
            counter: 0,
            reserved: config
                .grants
                .iter()
                .filter_map(|grant| match &grant.credential {
                    Credential::Bearer(token) => Some(token.clone()),
                    Credential::ApiKey(_) => None,
                })
                .collect(),
            lifetime: config.access_token_lifetime,
            calls: BTreeMap::new(),
            refused: 0,
        }
    }

    /// Exchanges the current refresh token of an organisation for a new access token and a
    /// new refresh token; the presented one stops working at once. Anything else is
    /// `invalid_grant`. Either way the call is counted.
    pub(super) fn refresh(
        &mut self,
        presented: &str,
        now: Duration,
    ) -> Result<Refreshed, TokenError> {
        let Some(index) = self
            .grants
            .iter()
            .position(|grant| grant.refresh_token == presented)
        else {
            self.refused += 1;
            return Err(TokenError::InvalidGrant);
        };
        self.counter += 1;
        let mut access_token = format!("{ACCESS_PREFIX}{}", self.counter);
        let mut refresh_token = format!("{REFRESH_PREFIX}{}", self.counter);
        // A configured token may look like an issued one; skip numbers that would clash.
        while self.reserved.contains(&access_token)
            || self.issued.contains_key(&access_token)
            || self
                .grants
                .iter()
                .any(|grant| grant.refresh_token == refresh_token)
        {
            self.counter += 1;
            access_token = format!("{ACCESS_PREFIX}{}", self.counter);
            refresh_token = format!("{REFRESH_PREFIX}{}", self.counter);
        }
        let grant = &mut self.grants[index];
        grant.refresh_token.clone_from(&refresh_token);
        *self.calls.entry(grant.id).or_default() += 1;
        self.issued.insert(
            access_token.clone(),
            Issued {
                grant: index,
                expires_at: now.saturating_add(self.lifetime),
            },
        );
        Ok(Refreshed {
            access_token,
            refresh_token,
        })
    }

    /// What `token` is at emulator time `now`. Earlier access tokens of an organisation keep
    /// working until their own lifetime ends; a refresh does not revoke them.
    pub(super) fn access(&self, token: &str, now: Duration) -> AccessToken {
        match self.issued.get(token) {
            None => AccessToken::Unknown,
            Some(issued) if now >= issued.expires_at => AccessToken::Expired,
            Some(issued) => AccessToken::Valid(Arc::clone(&self.grants[issued.grant].companies)),
        }
    }

    /// Counts a call refused before its refresh token was looked at.
    pub(super) fn refuse(&mut self) {
        self.refused += 1;
    }

    /// `expires_in` of issued tokens: the lifetime in whole seconds, at least 1.
    pub(super) fn expires_in(&self) -> u64 {
        self.lifetime.as_secs().max(1)
    }

    pub(super) fn calls(&self) -> u64 {
        self.calls.values().sum()
    }

    pub(super) fn calls_by_organisation(&self) -> BTreeMap<Uuid, u64> {
        self.calls.clone()
    }

    pub(super) fn refused(&self) -> u64 {
        self.refused
    }
}

/// `POST /oauth/token`: client authentication, then the refresh (RFC 6749 §6). Answers
/// carry `Cache-Control: no-store` (§5.1); errors are `{"error": <code>}` (§5.2), with
/// `WWW-Authenticate: Basic` on the 401 of a client that failed to authenticate.
pub(super) async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let outcome =
        read(&shared.config, &headers, &body).and_then(|presented| shared.refresh(&presented));
    match outcome {
        Ok(refreshed) => oauth_json(
            StatusCode::OK,
            &json!({
                "access_token": refreshed.access_token,
                "token_type": "Bearer",
                "expires_in": shared.expires_in(),
                "refresh_token": refreshed.refresh_token,
                "scope": scope(),
            }),
        ),
        Err(error) => {
            if error != TokenError::InvalidGrant {
                // `invalid_grant` was counted by the refresh itself.
                shared.refuse_token_call();
            }
            let mut response = oauth_json(error.status(), &json!({ "error": error.code() }));
            if error == TokenError::InvalidClient {
                response.headers_mut().insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Basic realm="pleo""#),
                );
            }
            response
        }
    }
}

/// The refresh token of a well-formed call by an authenticated client.
fn read(config: &PleoConfig, headers: &HeaderMap, body: &[u8]) -> Result<String, TokenError> {
    if let Some((id, secret)) = &config.client
        && !client_authenticated(headers, id, secret)
    {
        return Err(TokenError::InvalidClient);
    }
    let form_encoded = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_encoded {
        return Err(TokenError::InvalidRequest);
    }
    let body = std::str::from_utf8(body).map_err(|_| TokenError::InvalidRequest)?;
    let form = Query::parse(Some(body)).map_err(|_| TokenError::InvalidRequest)?;
    // RFC 6749 §3.2: a parameter must not be sent twice.
    let field = |name: &str| form.single(name).map_err(|_| TokenError::InvalidRequest);
    match field("grant_type")? {
        None => return Err(TokenError::InvalidRequest),
        Some("refresh_token") => {}
        Some(_) => return Err(TokenError::UnsupportedGrantType),
    }
    match field("refresh_token")? {
        None | Some("") => Err(TokenError::InvalidRequest),
        Some(token) => Ok(token.to_owned()),
    }
}

/// Whether `Authorization: Basic base64(<id>:<secret>)` names the client. RFC 6749 §2.3.1
/// form-encodes both parts first; clients that do not are accepted too.
fn client_authenticated(headers: &HeaderMap, id: &str, secret: &str) -> bool {
    let Some((given_id, given_secret)) = basic_credentials(headers) else {
        return false;
    };
    let matches = |given: &str, expected: &str| {
        given == expected || query::decode(given).is_ok_and(|decoded| decoded == expected)
    };
    matches(&given_id, id) && matches(&given_secret, secret)
}

/// The user and password of an `Authorization: Basic` header.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("Basic") {
        return None;
    }
    let decoded = String::from_utf8(base64::decode(encoded.trim())?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The scopes issued tokens carry, space-separated (RFC 6749 §3.3).
fn scope() -> String {
    Scope::ALL
        .iter()
        .map(Scope::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A token endpoint answer: JSON, never cached (RFC 6749 §5.1).
fn oauth_json(status: StatusCode, body: &Value) -> Response {
    let mut response = responses::json_body(status, body);
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response.into_response()
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use reqwest::StatusCode;
    use serde_json::Value;

    use super::*;
    use crate::pleo::{
        DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_ORG_TOKEN, PleoConfig, PleoEmulator, SeedJob,
    };

    const HOUR: Duration = Duration::from_secs(3_600);

    fn organisation(refresh_token: &str, companies: &[Uuid]) -> Organisation {
        Organisation {
            id: Uuid::new_v4(),
            companies: companies.to_vec(),
            refresh_token: refresh_token.to_owned(),
        }
    }

    fn tokens(organisations: Vec<Organisation>) -> Tokens {
        Tokens::new(&PleoConfig {
            organisations,
            ..PleoConfig::default()
        })
    }

    #[test]
    fn a_refresh_rotates_the_refresh_token_and_refuses_the_old_one() {
        let company = Uuid::new_v4();
        let mut tokens = tokens(vec![organisation("start", &[company])]);
        let first = tokens
            .refresh("start", Duration::ZERO)
            .expect("current token");
        assert_eq!(first.access_token, "pleo-org-access-1");
        assert_eq!(first.refresh_token, "pleo-org-refresh-1");
        assert_eq!(
            tokens.refresh("start", Duration::ZERO),
            Err(TokenError::InvalidGrant)
        );
        let second = tokens
            .refresh(&first.refresh_token, Duration::ZERO)
            .expect("rotated token");
        assert_ne!(second.access_token, first.access_token);
        assert_eq!(
            tokens.refresh(&first.refresh_token, Duration::ZERO),
            Err(TokenError::InvalidGrant)
        );
        // The first access token still works: a refresh does not revoke it.
        assert_eq!(
            tokens.access(&first.access_token, Duration::ZERO),
            AccessToken::Valid(vec![company].into())
        );
        assert_eq!((tokens.calls(), tokens.refused()), (2, 2));
    }

    #[test]
    fn issued_tokens_never_clash_with_configured_ones() {
        let mut tokens = tokens(vec![
            organisation("pleo-org-refresh-1", &[]),
            organisation("other", &[]),
        ]);
        let refreshed = tokens.refresh("other", Duration::ZERO).expect("current");
        assert_eq!(refreshed.refresh_token, "pleo-org-refresh-2");
        assert!(tokens.refresh("pleo-org-refresh-1", Duration::ZERO).is_ok());
    }

    #[test]
    fn access_tokens_expire_after_their_lifetime() {
        let mut tokens = tokens(vec![organisation("start", &[])]);
        let start = Duration::from_secs(10);
        let issued = tokens.refresh("start", start).expect("current");
        let at = |offset: Duration| tokens.access(&issued.access_token, start + offset);
        assert!(matches!(
            at(HOUR - Duration::from_millis(1)),
            AccessToken::Valid(_)
        ));
        assert_eq!(at(HOUR), AccessToken::Expired);
        assert_eq!(tokens.access("start", start), AccessToken::Unknown);
        assert_eq!(tokens.expires_in(), 3_600);
    }

    #[test]
    fn organisations_must_be_unambiguous() {
        let a = organisation("a", &[]);
        assert!(validate(&[a.clone(), organisation("b", &[])]).is_ok());
        assert!(validate(&[a.clone(), a.clone()]).is_err());
        assert!(validate(&[a, organisation("a", &[])]).is_err());
        assert!(validate(&[organisation("", &[])]).is_err());
    }

    // Over HTTP.

    struct Setup {
        emulator: PleoEmulator,
        a: Organisation,
        b: Organisation,
    }

    /// Two organisations, `a` with two companies and `b` with one.
    async fn two_organisations() -> Setup {
        let a = organisation("refresh-a", &[Uuid::new_v4(), Uuid::new_v4()]);
        let b = organisation("refresh-b", &[Uuid::new_v4()]);
        let emulator = PleoEmulator::start(
            PleoConfig {
                organisations: vec![a.clone(), b.clone()],
                ..PleoConfig::default()
            },
            SocketAddr::from(([127, 0, 0, 1], 0)),
        )
        .await
        .expect("emulator starts");
        Setup { emulator, a, b }
    }

    fn token_request(emulator: &PleoEmulator) -> reqwest::RequestBuilder {
        reqwest::Client::new().post(format!("{}/oauth/token", emulator.url()))
    }

    async fn answer(response: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = response.send().await.expect("call");
        let status = response.status();
        (status, response.json().await.expect("JSON body"))
    }

    /// A refresh by the demo client.
    async fn refresh(emulator: &PleoEmulator, refresh_token: &str) -> (StatusCode, Value) {
        answer(
            token_request(emulator)
                .basic_auth(DEMO_CLIENT_ID, Some(DEMO_CLIENT_SECRET))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token),
                ]),
        )
        .await
    }

    /// The access and refresh token of a refresh that must succeed.
    async fn refreshed(emulator: &PleoEmulator, refresh_token: &str) -> (String, String) {
        let (status, body) = refresh(emulator, refresh_token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let text = |key: &str| body[key].as_str().expect(key).to_owned();
        (text("access_token"), text("refresh_token"))
    }

    fn error(code: &str) -> Value {
        json!({ "error": code })
    }

    async fn get(emulator: &PleoEmulator, path: &str, token: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(format!("{}{path}", emulator.url()))
            .bearer_auth(token)
            .send()
            .await
            .expect("call")
    }

    #[tokio::test]
    async fn a_refresh_answers_rfc_6749_and_rotates() {
        let Setup { emulator, a, b } = two_organisations().await;
        let response = token_request(&emulator)
            .basic_auth(DEMO_CLIENT_ID, Some(DEMO_CLIENT_SECRET))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "refresh-a"),
            ])
            .send()
            .await
            .expect("call");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(
            body,
            json!({
                "access_token": "pleo-org-access-1",
                "token_type": "Bearer",
                "expires_in": 3_600,
                "refresh_token": "pleo-org-refresh-1",
                "scope": "export-jobs:read export-jobs:write export-items:read",
            })
        );
        assert_eq!(
            refresh(&emulator, "refresh-a").await,
            (StatusCode::BAD_REQUEST, error("invalid_grant"))
        );
        let (_, next) = refreshed(&emulator, "pleo-org-refresh-1").await;
        assert_eq!(
            refresh(&emulator, "pleo-org-refresh-1").await,
            (StatusCode::BAD_REQUEST, error("invalid_grant"))
        );
        refreshed(&emulator, &next).await;
        refreshed(&emulator, "refresh-b").await;
        assert_eq!(
            refresh(&emulator, "never-issued").await,
            (StatusCode::BAD_REQUEST, error("invalid_grant"))
        );

        assert_eq!(emulator.token_calls(), 4);
        assert_eq!(
            emulator.token_calls_by_organisation(),
            BTreeMap::from([(a.id, 3), (b.id, 1)])
        );
        assert_eq!(emulator.refused_token_calls(), 3);
    }

    #[tokio::test]
    async fn the_client_must_authenticate() {
        let Setup { emulator, .. } = two_organisations().await;
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", "refresh-a"),
        ];
        for request in [
            token_request(&emulator).form(&form),
            token_request(&emulator)
                .basic_auth(DEMO_CLIENT_ID, Some("wrong"))
                .form(&form),
            token_request(&emulator)
                .basic_auth("someone-else", Some(DEMO_CLIENT_SECRET))
                .form(&form),
            token_request(&emulator)
                .bearer_auth(DEMO_ORG_TOKEN)
                .form(&form),
        ] {
            let response = request.send().await.expect("call");
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(
                response.headers()["www-authenticate"],
                r#"Basic realm="pleo""#
            );
            let body: Value = response.json().await.expect("JSON");
            assert_eq!(body, error("invalid_client"));
        }
        // The refresh token was not used up by the refused calls.
        refreshed(&emulator, "refresh-a").await;
        assert_eq!(
            (emulator.token_calls(), emulator.refused_token_calls()),
            (1, 4)
        );
    }

    #[tokio::test]
    async fn malformed_calls_are_refused_and_counted() {
        let Setup { emulator, .. } = two_organisations().await;
        let client =
            || token_request(&emulator).basic_auth(DEMO_CLIENT_ID, Some(DEMO_CLIENT_SECRET));
        let cases = [
            (
                client().form(&[("grant_type", "authorization_code"), ("code", "x")]),
                "unsupported_grant_type",
            ),
            (
                client().form(&[("refresh_token", "refresh-a")]),
                "invalid_request",
            ),
            (
                client().form(&[("grant_type", "refresh_token")]),
                "invalid_request",
            ),
            (
                client()
                    .json(&json!({"grant_type": "refresh_token", "refresh_token": "refresh-a"})),
                "invalid_request",
            ),
            (
                client().form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", "refresh-a"),
                    ("refresh_token", "refresh-b"),
                ]),
                "invalid_request",
            ),
        ];
        for (request, code) in cases {
            assert_eq!(
                answer(request).await,
                (StatusCode::BAD_REQUEST, error(code))
            );
        }
        assert_eq!(
            (emulator.token_calls(), emulator.refused_token_calls()),
            (0, 5)
        );
        assert!(emulator.token_calls_by_organisation().is_empty());
    }

    #[tokio::test]
    async fn without_a_client_any_caller_may_refresh() {
        let emulator = PleoEmulator::start(
            PleoConfig {
                organisations: vec![organisation("start", &[])],
                client: None,
                ..PleoConfig::default()
            },
            SocketAddr::from(([127, 0, 0, 1], 0)),
        )
        .await
        .expect("emulator starts");
        let (status, _) = answer(
            token_request(&emulator)
                .form(&[("grant_type", "refresh_token"), ("refresh_token", "start")]),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn an_issued_token_reaches_its_organisations_companies_only() {
        let Setup { emulator, a, b } = two_organisations().await;
        let seed = |company: Uuid| emulator.seed_job(SeedJob::pending(company));
        let own_jobs: Vec<Uuid> = a.companies.iter().copied().map(seed).collect();
        let other_job = seed(b.companies[0]);
        // Before any refresh the organisation has no access token.
        assert_eq!(
            get(
                &emulator,
                &format!("/v3/export-jobs/{}", own_jobs[0]),
                "pleo-org-access-1"
            )
            .await
            .status(),
            StatusCode::UNAUTHORIZED
        );
        let (access, _) = refreshed(&emulator, &a.refresh_token).await;

        for (company, job) in a.companies.iter().zip(&own_jobs) {
            let listing = get(
                &emulator,
                &format!("/v3/export-jobs?company_id={company}"),
                &access,
            )
            .await;
            assert_eq!(listing.status(), StatusCode::OK);
            let body: Value = listing.json().await.expect("JSON");
            assert_eq!(body["data"][0]["id"], job.to_string());
            let lookup = get(&emulator, &format!("/v3/export-jobs/{job}"), &access).await;
            assert_eq!(lookup.status(), StatusCode::OK);
        }

        // Another organisation's company: refused as a company-level credential acting for
        // another company is.
        let other = b.companies[0];
        let listing = get(
            &emulator,
            &format!("/v3/export-jobs?company_id={other}"),
            &access,
        )
        .await;
        assert_eq!(listing.status(), StatusCode::FORBIDDEN);
        let body: Value = listing.json().await.expect("JSON");
        assert_eq!(
            body,
            json!({
                "type": "FORBIDDEN",
                "message": format!("The credential does not give access to company {other}."),
            })
        );
        for path in [
            format!("/v3/export-jobs/{other_job}"),
            format!("/v3/export-jobs/{other_job}/items"),
        ] {
            let lookup = get(&emulator, &path, &access).await;
            assert_eq!(lookup.status(), StatusCode::NOT_FOUND, "{path}");
            let body: Value = lookup.json().await.expect("JSON");
            assert_eq!(body["type"], "EXPORT_NOT_FOUND");
        }
        let event = reqwest::Client::new()
            .post(format!("{}/v3/export-job-events", emulator.url()))
            .bearer_auth(&access)
            .json(&json!({ "jobId": other_job, "event": "started" }))
            .send()
            .await
            .expect("call");
        assert_eq!(event.status(), StatusCode::NOT_FOUND);
        let create = reqwest::Client::new()
            .post(format!("{}/v3/export-jobs", emulator.url()))
            .bearer_auth(&access)
            .json(&json!({ "companyId": other, "accountingEntryIds": [Uuid::new_v4()] }))
            .send()
            .await
            .expect("call");
        assert_eq!(create.status(), StatusCode::FORBIDDEN);
        // Like every organisation-level credential, it must name the company.
        let unnamed = get(&emulator, "/v3/export-jobs", &access).await;
        assert_eq!(unnamed.status(), StatusCode::BAD_REQUEST);
        // The other organisation's own token reaches its company.
        let (access_b, _) = refreshed(&emulator, &b.refresh_token).await;
        let lookup = get(
            &emulator,
            &format!("/v3/export-jobs/{other_job}"),
            &access_b,
        )
        .await;
        assert_eq!(lookup.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn an_expired_token_is_refused_with_invalid_token() {
        let Setup { emulator, a, .. } = two_organisations().await;
        let job = emulator.seed_job(SeedJob::pending(a.companies[0]));
        let (access, next) = refreshed(&emulator, &a.refresh_token).await;
        let path = format!("/v3/export-jobs/{job}");
        emulator.advance_clock(HOUR - Duration::from_secs(1));
        assert_eq!(
            get(&emulator, &path, &access).await.status(),
            StatusCode::OK
        );
        emulator.advance_clock(Duration::from_secs(1));

        let refused = get(&emulator, &path, &access).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            refused.headers()["www-authenticate"],
            r#"Bearer error="invalid_token", error_description="The access token expired""#
        );
        let body: Value = refused.json().await.expect("JSON");
        assert_eq!(
            body,
            json!({ "type": "UNAUTHORIZED", "message": "The access token expired." })
        );
        // A refresh gives a working token again; the demo token never expires.
        let (fresh, _) = refreshed(&emulator, &next).await;
        assert_eq!(get(&emulator, &path, &fresh).await.status(), StatusCode::OK);
        assert_eq!(
            get(&emulator, &path, DEMO_ORG_TOKEN).await.status(),
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn a_short_lifetime_still_announces_at_least_a_second() {
        let emulator = PleoEmulator::start(
            PleoConfig {
                organisations: vec![organisation("start", &[])],
                access_token_lifetime: Duration::from_millis(10),
                ..PleoConfig::default()
            },
            SocketAddr::from(([127, 0, 0, 1], 0)),
        )
        .await
        .expect("emulator starts");
        let (status, body) = refresh(&emulator, "start").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["expires_in"], 1);
    }

    #[tokio::test]
    async fn ambiguous_organisations_are_refused_at_start() {
        let a = organisation("same", &[]);
        let error = PleoEmulator::start(
            PleoConfig {
                organisations: vec![a, organisation("same", &[])],
                ..PleoConfig::default()
            },
            SocketAddr::from(([127, 0, 0, 1], 0)),
        )
        .await
        .expect_err("refused");
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    }
}
