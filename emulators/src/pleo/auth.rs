//! Who may call the API (docs/pleo-export-api.md §1.1): bearer tokens and API keys, the export
//! scopes each operation needs, and the company a credential is limited to.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::base64;
use super::oauth::AccessToken;
use super::responses::ApiError;
use super::state::Shared;

/// An OAuth scope of the Export API (docs/pleo-export-api.md §1.1, SCOPES).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `export-jobs:read`: list jobs, get a job, get a job's items.
    ExportJobsRead,
    /// `export-jobs:write`: create jobs and job events, update job items.
    ExportJobsWrite,
    /// `export-items:read`: get export items (the data layer).
    ExportItemsRead,
}

impl Scope {
    /// Every scope; what the demo credentials hold.
    pub const ALL: [Scope; 3] = [
        Scope::ExportJobsRead,
        Scope::ExportJobsWrite,
        Scope::ExportItemsRead,
    ];

    /// The scope's name, e.g. `export-jobs:read`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Scope::ExportJobsRead => "export-jobs:read",
            Scope::ExportJobsWrite => "export-jobs:write",
            Scope::ExportItemsRead => "export-items:read",
        }
    }
}

/// A secret a client presents.
#[derive(Clone, Debug)]
pub enum Credential {
    /// An OAuth access token, sent as `Authorization: Bearer <token>`.
    Bearer(String),
    /// An API key, sent as `Authorization: Basic base64("<key>:")`.
    ApiKey(String),
}

impl Credential {
    fn matches(&self, presented: &Presented) -> bool {
        match (self, presented) {
            (Credential::Bearer(token), Presented::Bearer(given)) => token == given,
            (Credential::ApiKey(key), Presented::ApiKey(given)) => key == given,
            _ => false,
        }
    }
}

/// A credential the emulator accepts, with what it may do.
#[derive(Clone, Debug)]
pub struct Grant {
    /// The secret.
    pub credential: Credential,
    /// The scopes it carries.
    pub scopes: Vec<Scope>,
    /// The one company it may act for; `None` for an organisation-level credential, which
    /// reaches every company but must name one where an operation needs it (§1.1).
    pub company_id: Option<Uuid>,
}

impl Grant {
    /// An organisation-level grant with every scope.
    pub fn organisation(credential: Credential) -> Self {
        Self {
            credential,
            scopes: Scope::ALL.to_vec(),
            company_id: None,
        }
    }

    /// A grant limited to `company_id`, with every scope.
    pub fn company(credential: Credential, company_id: Uuid) -> Self {
        Self {
            company_id: Some(company_id),
            ..Self::organisation(credential)
        }
    }
}

/// The companies of the credential a request came with; the gate puts it into the
/// request's extensions for the handlers.
#[derive(Clone, Debug)]
pub(super) struct Caller(Reach);

/// Which companies a caller may act for.
#[derive(Clone, Debug)]
enum Reach {
    /// An organisation-level [`Grant`]: every company, named where an operation needs one.
    Every,
    /// An access token issued to an organisation at the token endpoint: the organisation's
    /// companies, named where an operation needs one, as for [`Reach::Every`].
    Organisation(Arc<[Uuid]>),
    /// A company-level [`Grant`]: its one company, which it need not name.
    Company(Uuid),
}

impl Caller {
    /// The caller a configured grant makes.
    pub(super) fn of(grant: &Grant) -> Self {
        Self(grant.company_id.map_or(Reach::Every, Reach::Company))
    }

    /// The caller an organisation's access token makes.
    pub(super) fn organisation(companies: Arc<[Uuid]>) -> Self {
        Self(Reach::Organisation(companies))
    }

    /// Whether the caller may see jobs of `company_id`. Jobs it may not see are answered as
    /// if they did not exist (404), so as not to reveal other companies' job ids.
    pub(super) fn can_see(&self, company_id: Uuid) -> bool {
        match &self.0 {
            Reach::Every => true,
            Reach::Organisation(companies) => companies.contains(&company_id),
            Reach::Company(own) => *own == company_id,
        }
    }

    /// The company a list or create request acts on: the one `requested`, which an
    /// organisation-level caller must name (400) and any caller may only name if it reaches
    /// it (403); a company-level caller defaults to its own.
    pub(super) fn company(&self, requested: Option<Uuid>, name: &str) -> Result<Uuid, ApiError> {
        match (&self.0, requested) {
            (Reach::Company(own), None) => Ok(*own),
            (_, None) => Err(ApiError::required_parameter_missing(name)),
            (_, Some(requested)) if self.can_see(requested) => Ok(requested),
            (_, Some(requested)) => Err(ApiError::forbidden(format!(
                "The credential does not give access to company {requested}."
            ))),
        }
    }
}

/// What the `Authorization` header carried.
#[derive(Debug, PartialEq, Eq)]
enum Presented {
    Bearer(String),
    ApiKey(String),
}

/// Middleware on every API route: 401 without a known credential or with an expired
/// access token, 403 without the scope the operation needs; otherwise the request goes on
/// with its [`Caller`]. Configured grants are looked up first, then the access tokens the
/// token endpoint issued, which carry every scope.
pub(super) async fn gate(
    State(shared): State<Arc<Shared>>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(presented) = presented(request.headers()) else {
        return ApiError::unauthorized().into_response();
    };
    let grant = shared
        .config
        .grants
        .iter()
        .find(|grant| grant.credential.matches(&presented));
    let caller = match (grant, &presented) {
        (Some(grant), _) => {
            let scope = required_scope(request.method(), request.uri().path());
            if !grant.scopes.contains(&scope) {
                return ApiError::forbidden(format!(
                    "The credential lacks the scope {}.",
                    scope.as_str()
                ))
                .into_response();
            }
            Caller::of(grant)
        }
        (None, Presented::Bearer(token)) => match shared.access_token(token) {
            AccessToken::Valid(companies) => Caller::organisation(companies),
            AccessToken::Expired => return expired(),
            AccessToken::Unknown => return ApiError::unauthorized().into_response(),
        },
        (None, Presented::ApiKey(_)) => return ApiError::unauthorized().into_response(),
    };
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// The 401 of an access token whose lifetime has passed: the usual `ExceptionInfo` body,
/// and a `WWW-Authenticate` challenge naming the error as RFC 6750 §3 does.
fn expired() -> Response {
    let mut response = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
        "The access token expired.",
    )
    .into_response();
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static(
            r#"Bearer error="invalid_token", error_description="The access token expired""#,
        ),
    );
    response
}

/// The scope an operation needs (docs/pleo-export-api.md §1.1): reading jobs and job items needs
/// `export-jobs:read`, every write `export-jobs:write`, export items `export-items:read`.
fn required_scope(method: &Method, path: &str) -> Scope {
    if path.starts_with("/v3/export-items") {
        Scope::ExportItemsRead
    } else if method == Method::GET || method == Method::HEAD {
        Scope::ExportJobsRead
    } else {
        Scope::ExportJobsWrite
    }
}

/// The credential in an `Authorization` header. Scheme names are case-insensitive
/// (RFC 9110 §11.1); an API key must come as `<key>:` with an empty password (§1.1).
fn presented(headers: &HeaderMap) -> Option<Presented> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, secret) = value.trim().split_once(' ')?;
    let secret = secret.trim();
    if scheme.eq_ignore_ascii_case("Bearer") {
        return (!secret.is_empty()).then(|| Presented::Bearer(secret.to_owned()));
    }
    if !scheme.eq_ignore_ascii_case("Basic") {
        return None;
    }
    let decoded = String::from_utf8(base64::decode(secret)?).ok()?;
    let key = decoded.strip_suffix(':')?;
    (!key.is_empty() && !key.contains(':')).then(|| Presented::ApiKey(key.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn authorization(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn reads_bearer_tokens_and_api_keys() {
        assert_eq!(
            presented(&authorization("Bearer pleo-demo-org-token")),
            Some(Presented::Bearer("pleo-demo-org-token".into()))
        );
        assert_eq!(
            presented(&authorization("bearer  abc ")),
            Some(Presented::Bearer("abc".into()))
        );
        // base64("pleo-demo-api-key:")
        assert_eq!(
            presented(&authorization("Basic cGxlby1kZW1vLWFwaS1rZXk6")),
            Some(Presented::ApiKey("pleo-demo-api-key".into()))
        );
    }

    #[test]
    fn refuses_malformed_headers() {
        for value in [
            "Bearer",
            "Bearer ",
            "Token abc",
            "Basic !!!",
            // base64("pleo-demo-api-key"), no colon
            "Basic cGxlby1kZW1vLWFwaS1rZXk=",
            // base64("key:secret"), a password is not expected
            "Basic a2V5OnNlY3JldA==",
            // base64(":")
            "Basic Og==",
        ] {
            assert_eq!(presented(&authorization(value)), None, "{value}");
        }
        assert_eq!(presented(&HeaderMap::new()), None);
    }

    #[test]
    fn scopes_follow_the_operation_table() {
        assert_eq!(
            required_scope(&Method::GET, "/v3/export-jobs"),
            Scope::ExportJobsRead
        );
        assert_eq!(
            required_scope(&Method::GET, "/v3/export-jobs/x/items"),
            Scope::ExportJobsRead
        );
        assert_eq!(
            required_scope(&Method::PUT, "/v3/export-jobs/x/items"),
            Scope::ExportJobsWrite
        );
        assert_eq!(
            required_scope(&Method::POST, "/v3/export-job-events"),
            Scope::ExportJobsWrite
        );
        assert_eq!(
            required_scope(&Method::GET, "/v3/export-items"),
            Scope::ExportItemsRead
        );
    }

    #[test]
    fn company_level_callers_are_confined_to_their_company() {
        let own = Uuid::new_v4();
        let other = Uuid::new_v4();
        let company = Caller::of(&Grant::company(Credential::Bearer("t".into()), own));
        assert!(company.can_see(own) && !company.can_see(other));
        assert_eq!(company.company(None, "company_id"), Ok(own));
        assert_eq!(
            company
                .company(Some(other), "company_id")
                .map_err(|e| e.kind),
            Err("FORBIDDEN")
        );
        let organisation = Caller::of(&Grant::organisation(Credential::ApiKey("k".into())));
        assert!(organisation.can_see(other));
        assert_eq!(
            organisation.company(None, "company_id").map_err(|e| e.kind),
            Err("REQUIRED_PARAMETER_MISSING")
        );
    }

    #[test]
    fn organisation_tokens_reach_their_companies_only() {
        let (first, second, other) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let caller = Caller::organisation(vec![first, second].into());
        assert!(caller.can_see(first) && caller.can_see(second) && !caller.can_see(other));
        assert_eq!(caller.company(Some(second), "company_id"), Ok(second));
        assert_eq!(
            caller.company(None, "company_id").map_err(|e| e.kind),
            Err("REQUIRED_PARAMETER_MISSING")
        );
        // Refused exactly as a company-level credential naming another company is.
        let company = Caller::of(&Grant::company(Credential::Bearer("t".into()), first));
        assert_eq!(
            caller.company(Some(other), "company_id"),
            company.company(Some(other), "company_id")
        );
    }
}
