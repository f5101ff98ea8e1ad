//! The integration configuration of one Pleo company: which accounting system
//! it exports to, where that system's API is, which tenant, the credentials the
//! host attaches, and the plugin's settings.
//!
//! File format (JSON, camelCase), as `preflight check --config` reads it:
//!
//! ```json
//! {
//!   "accountingSystem": "xero",
//!   "baseUrl": "https://api.xero.com",
//!   "tenantId": "b7c1d2e3-0f4a-4b5c-8d6e-7f8091a2b3c4",
//!   "credentials": { "type": "bearer", "tokenEnv": "XERO_ACCESS_TOKEN" },
//!   "settings": { "accounts": { "expenses": "429", "contra": "800" } }
//! }
//! ```
//!
//! Over 500 lines with its tests: the configuration and every credential kind
//! are parsed, resolved from the environment and kept secret in one place, so
//! no secret escapes through a second path.

use std::fmt;

use serde::Deserialize;

/// One company's integration configuration, validated.
#[derive(Clone, PartialEq, Eq)]
pub struct IntegrationConfig {
    /// The accounting system id, e.g. `xero`; selects the plugin.
    pub accounting_system: String,
    /// Base URL of the accounting system's API.
    pub base_url: url::Url,
    /// The company's id in the accounting system, when it has one.
    pub tenant_id: Option<String>,
    /// What the host attaches to requests bound for `base_url`'s origin.
    pub credentials: Credentials,
    /// Plugin settings, a JSON object.
    pub settings: serde_json::Value,
}

/// Credentials kept by the host. They never cross into a plugin.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// An OAuth 2.0 access token the host refreshes itself, once per
    /// validation, when the accounting system says it expired. Shared by
    /// every validation of the company, so a refreshed token is kept.
    OAuth2(std::sync::Arc<OAuth>),
    /// No credentials.
    None,
    /// `Authorization: Bearer <token>` (OAuth 2.0 access token).
    Bearer(Secret),
    /// Headers of the host's own on every request to the home origin, any
    /// names: one (an API key header) or several (e-conomic's
    /// `X-AppSecretToken` and `X-AgreementGrantToken`).
    Headers(Vec<(String, Secret)>),
}

/// A secret value; its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for attaching it to a request.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// OAuth 2.0 credentials (RFC 6749 §6: refreshing an access token).
pub struct OAuth {
    /// The token endpoint.
    pub token_url: url::Url,
    /// The client id, sent with the client secret as HTTP Basic auth.
    pub client_id: String,
    client_secret: Secret,
    tokens: std::sync::Mutex<Tokens>,
    /// Serialises refreshes: refresh tokens rotate, so two at once would
    /// spend the same one.
    pub(crate) refreshing: tokio::sync::Mutex<()>,
    /// Where the tokens outlive the process, if anywhere.
    keeper: std::sync::OnceLock<std::sync::Arc<dyn TokenKeeper>>,
}

/// An OAuth grant's tokens at one moment.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    /// The access token sent as `Authorization: Bearer`.
    pub access: Secret,
    /// The refresh token the next refresh spends.
    pub refresh: Secret,
    /// When the access token expires, when known (`expires_in`).
    pub expires_at: Option<std::time::SystemTime>,
    /// When the tokens were last refreshed.
    pub refreshed_at: Option<std::time::SystemTime>,
    /// The token endpoint refused the refresh token (`invalid_grant`): the
    /// grant is gone and the customer must reconnect. No refresh is tried
    /// again until new credentials are written.
    pub revoked: bool,
}

impl Tokens {
    /// Tokens as a configuration gives them: expiry unknown.
    pub fn new(access: Secret, refresh: Secret) -> Tokens {
        Tokens {
            access,
            refresh,
            expires_at: None,
            refreshed_at: None,
            revoked: false,
        }
    }

    /// Whether the access token should be refreshed before it is sent at
    /// `now`: within a quarter of its lifetime (at most a minute) of its
    /// expiry, so a token is never sent in its last seconds.
    pub fn due(&self, now: std::time::SystemTime) -> bool {
        let Some(expires_at) = self.expires_at else {
            return false;
        };
        let lifetime = self
            .refreshed_at
            .and_then(|at| expires_at.duration_since(at).ok())
            .unwrap_or(std::time::Duration::from_secs(240));
        let ahead = (lifetime / 4).min(std::time::Duration::from_secs(60));
        expires_at
            .checked_sub(ahead)
            .is_none_or(|refresh_at| now >= refresh_at)
    }
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_at", &self.expires_at)
            .field("refreshed_at", &self.refreshed_at)
            .field("revoked", &self.revoked)
            .finish_non_exhaustive()
    }
}

/// What a [`TokenKeeper`]'s calls return.
pub type KeeperFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, String>> + Send + 'a>>;

/// Where a company's OAuth tokens outlive the process, shared by every
/// replica: the host's store. A refresh goes: [`TokenKeeper::load`] (another
/// replica may have refreshed already), [`TokenKeeper::lease`] (one refresher
/// at a time), the token endpoint, then [`TokenKeeper::save`] before the new
/// token is used, or [`TokenKeeper::release`] when the endpoint refused.
pub trait TokenKeeper: Send + Sync {
    /// The tokens as kept now.
    fn load(&self) -> KeeperFuture<'_, Option<Tokens>>;
    /// Takes the right to refresh for `ttl`; false while another holder has
    /// it.
    fn lease(&self, ttl: std::time::Duration) -> KeeperFuture<'_, bool>;
    /// Keeps a refresh's result and gives the lease up.
    fn save<'a>(&'a self, tokens: &'a Tokens) -> KeeperFuture<'a, ()>;
    /// Gives the lease up after a refresh that did not succeed; `revoked`
    /// when the token endpoint refused the grant itself.
    fn release(&self, revoked: bool) -> KeeperFuture<'_, ()>;
}

impl OAuth {
    /// OAuth credentials with their current access and refresh tokens.
    pub fn new(
        token_url: url::Url,
        client_id: String,
        client_secret: Secret,
        access: Secret,
        refresh: Secret,
    ) -> OAuth {
        OAuth {
            token_url,
            client_id,
            client_secret,
            tokens: std::sync::Mutex::new(Tokens::new(access, refresh)),
            refreshing: tokio::sync::Mutex::new(()),
            keeper: std::sync::OnceLock::new(),
        }
    }

    /// Keeps the tokens with `keeper` from now on, starting from `tokens`
    /// (as it holds them). Once only: a second call is ignored.
    pub fn keep_with(&self, keeper: std::sync::Arc<dyn TokenKeeper>, tokens: Tokens) {
        if self.keeper.set(keeper).is_ok() {
            self.adopt(tokens);
        }
    }

    /// The keeper, if the tokens have one.
    pub(crate) fn keeper(&self) -> Option<&std::sync::Arc<dyn TokenKeeper>> {
        self.keeper.get()
    }

    /// The current access token.
    pub fn access_token(&self) -> Secret {
        self.tokens.lock().expect("token lock").access.clone()
    }

    /// The tokens as this process holds them.
    pub fn tokens(&self) -> Tokens {
        self.tokens.lock().expect("token lock").clone()
    }

    /// The client secret.
    pub(crate) fn client_secret(&self) -> &Secret {
        &self.client_secret
    }

    /// Holds `tokens` from now on (a refresh's result, or what the keeper
    /// holds).
    pub fn adopt(&self, tokens: Tokens) {
        *self.tokens.lock().expect("token lock") = tokens;
    }

    /// Every secret value, for redaction.
    pub(crate) fn secrets(&self) -> Vec<String> {
        let tokens = self.tokens.lock().expect("token lock");
        vec![
            tokens.access.expose().to_owned(),
            tokens.refresh.expose().to_owned(),
            self.client_secret.expose().to_owned(),
        ]
    }
}

impl PartialEq for OAuth {
    fn eq(&self, other: &Self) -> bool {
        self.token_url == other.token_url && self.client_id == other.client_id
    }
}

impl Eq for OAuth {}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::OAuth2(oauth) => write!(
                f,
                "OAuth2({}, client {}, ***)",
                oauth.token_url, oauth.client_id
            ),
            Credentials::None => f.write_str("None"),
            Credentials::Bearer(_) => f.write_str("Bearer(***)"),
            Credentials::Headers(headers) => {
                f.write_str("Headers(")?;
                for (index, (name, _)) in headers.iter().enumerate() {
                    let comma = if index == 0 { "" } else { ", " };
                    write!(f, "{comma}{name}: ***")?;
                }
                f.write_str(")")
            }
        }
    }
}

impl fmt::Debug for IntegrationConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntegrationConfig")
            .field("accounting_system", &self.accounting_system)
            .field("base_url", &self.base_url.as_str())
            .field("tenant_id", &self.tenant_id)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

/// Why a configuration was refused: the field and what is wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{field}: {message}")]
pub struct ConfigError {
    /// JSON path of the field, e.g. `credentials.tokenEnv`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The configuration as written in a file, before validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawConfig {
    accounting_system: String,
    base_url: String,
    #[serde(default)]
    tenant_id: Option<String>,
    #[serde(default)]
    credentials: Option<RawCredentials>,
    #[serde(default = "empty_object")]
    settings: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
enum RawCredentials {
    #[serde(rename_all = "camelCase")]
    Bearer {
        #[serde(default)]
        token: Option<String>,
        #[serde(default)]
        token_env: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    Oauth2 {
        #[serde(default)]
        access_token: Option<String>,
        #[serde(default)]
        access_token_env: Option<String>,
        #[serde(default)]
        refresh_token: Option<String>,
        #[serde(default)]
        refresh_token_env: Option<String>,
        token_url: String,
        client_id: String,
        #[serde(default)]
        client_secret: Option<String>,
        #[serde(default)]
        client_secret_env: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    Header {
        name: String,
        #[serde(default)]
        value: Option<String>,
        #[serde(default)]
        value_env: Option<String>,
    },
    Headers {
        headers: Vec<RawHeader>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawHeader {
    name: String,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    value_env: Option<String>,
}

impl IntegrationConfig {
    /// Parses and validates a configuration document; an error names the field.
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let raw: RawConfig =
            serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
                let path = error.path().to_string();
                ConfigError::new(
                    if path == "." { String::new() } else { path },
                    error.into_inner().to_string(),
                )
            })?;
        deserializer
            .end()
            .map_err(|error| ConfigError::new("", error.to_string()))?;
        Self::from_raw(raw, "")
    }

    /// Parses and validates a configuration held in a JSON value (an entry
    /// of the operator's configuration file); `prefix` is prepended to the
    /// field paths of errors (e.g. `companies[2].`).
    pub fn from_value(value: serde_json::Value, prefix: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig = serde_path_to_error::deserialize(value).map_err(|error| {
            let path = error.path().to_string();
            let path = if path == "." { String::new() } else { path };
            ConfigError::new(
                format!("{prefix}{path}").trim_end_matches('.').to_owned(),
                error.into_inner().to_string(),
            )
        })?;
        Self::from_raw(raw, prefix)
    }

    /// Validates a raw configuration; `prefix` is prepended to field paths.
    fn from_raw(raw: RawConfig, prefix: &str) -> Result<Self, ConfigError> {
        let field = |name: &str| format!("{prefix}{name}");
        let accounting_system = raw.accounting_system.trim().to_ascii_lowercase();
        if accounting_system.is_empty()
            || !accounting_system
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(ConfigError::new(
                field("accountingSystem"),
                format!(
                    "'{}' is not an accounting system id (letters, digits and '-')",
                    raw.accounting_system
                ),
            ));
        }
        let base_url = url::Url::parse(raw.base_url.trim()).map_err(|error| {
            ConfigError::new(
                field("baseUrl"),
                format!("'{}' is not a URL: {error}", raw.base_url),
            )
        })?;
        transport(&base_url, &field("baseUrl"))?;
        if !raw.settings.is_object() {
            return Err(ConfigError::new(field("settings"), "must be a JSON object"));
        }
        let credentials = match raw.credentials {
            None => Credentials::None,
            Some(RawCredentials::Bearer { token, token_env }) => Credentials::Bearer(secret(
                token,
                token_env,
                &field("credentials.token"),
                &field("credentials.tokenEnv"),
            )?),
            Some(RawCredentials::Oauth2 {
                access_token,
                access_token_env,
                refresh_token,
                refresh_token_env,
                token_url,
                client_id,
                client_secret,
                client_secret_env,
            }) => {
                let token_url = url::Url::parse(&token_url).map_err(|error| {
                    ConfigError::new(
                        field("credentials.tokenUrl"),
                        format!("'{token_url}' is not a URL: {error}"),
                    )
                })?;
                transport(&token_url, &field("credentials.tokenUrl"))?;
                Credentials::OAuth2(std::sync::Arc::new(OAuth::new(
                    token_url,
                    client_id,
                    secret(
                        client_secret,
                        client_secret_env,
                        &field("credentials.clientSecret"),
                        &field("credentials.clientSecretEnv"),
                    )?,
                    secret(
                        access_token,
                        access_token_env,
                        &field("credentials.accessToken"),
                        &field("credentials.accessTokenEnv"),
                    )?,
                    secret(
                        refresh_token,
                        refresh_token_env,
                        &field("credentials.refreshToken"),
                        &field("credentials.refreshTokenEnv"),
                    )?,
                )))
            }
            Some(RawCredentials::Header {
                name,
                value,
                value_env,
            }) => Credentials::Headers(vec![header(
                RawHeader {
                    name,
                    value,
                    value_env,
                },
                &field("credentials."),
            )?]),
            Some(RawCredentials::Headers { headers }) => {
                if headers.is_empty() {
                    return Err(ConfigError::new(
                        field("credentials.headers"),
                        "is empty: name at least one header",
                    ));
                }
                let mut parsed: Vec<(String, Secret)> = Vec::with_capacity(headers.len());
                for (index, raw) in headers.into_iter().enumerate() {
                    let prefix = field(&format!("credentials.headers[{index}]."));
                    let (name, value) = header(raw, &prefix)?;
                    if parsed.iter().any(|(seen, _)| *seen == name) {
                        return Err(ConfigError::new(
                            format!("{prefix}name"),
                            format!("header '{name}' is named twice"),
                        ));
                    }
                    parsed.push((name, value));
                }
                Credentials::Headers(parsed)
            }
        };
        Ok(IntegrationConfig {
            accounting_system,
            base_url,
            tenant_id: raw
                .tenant_id
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty()),
            credentials,
            settings: raw.settings,
        })
    }

    /// The whole configuration as a document [`IntegrationConfig::from_value`]
    /// reads, its secret values in clear: for sealing into a store only,
    /// never to be logged, printed or returned.
    pub fn to_document(&self) -> serde_json::Value {
        let mut document = self.snapshot();
        document["credentials"] = match &self.credentials {
            Credentials::None => return document,
            Credentials::Bearer(token) => {
                serde_json::json!({ "type": "bearer", "token": token.expose() })
            }
            Credentials::Headers(headers) => serde_json::json!({
                "type": "headers",
                "headers": headers
                    .iter()
                    .map(|(name, value)| serde_json::json!({ "name": name, "value": value.expose() }))
                    .collect::<Vec<_>>(),
            }),
            Credentials::OAuth2(oauth) => {
                let tokens = oauth.tokens();
                serde_json::json!({
                    "type": "oauth2",
                    "tokenUrl": oauth.token_url.as_str(),
                    "clientId": oauth.client_id,
                    "clientSecret": oauth.client_secret().expose(),
                    "accessToken": tokens.access.expose(),
                    "refreshToken": tokens.refresh.expose(),
                })
            }
        };
        document
    }

    /// The configuration as the decision log keeps it: everything but the
    /// credentials, in the shape [`IntegrationConfig::from_value`] reads (as a
    /// configuration without credentials).
    pub fn snapshot(&self) -> serde_json::Value {
        let mut snapshot = serde_json::json!({
            "accountingSystem": self.accounting_system,
            "baseUrl": self.base_url.as_str(),
            "settings": self.settings,
        });
        if let Some(tenant) = &self.tenant_id {
            snapshot["tenantId"] = serde_json::Value::String(tenant.clone());
        }
        snapshot
    }
}

/// The transport rule of every URL a configuration names (the base URL, the
/// token endpoint): `https`, or plain `http` to a loopback address only.
/// Checked at load, so a bad file is a bad input (exit 2 naming the field),
/// not a fault of the first validation; whether loopback `http` is allowed
/// at all is the runtime's to decide (`sandbox.allowHttpLoopback`).
fn transport(url: &url::Url, field: &str) -> Result<(), ConfigError> {
    crate::sandbox::policy::transport_rule(url)
        .map_err(|message| ConfigError::new(field.to_owned(), message))
}

/// One credential header: a valid name the host may set (not one it owns,
/// such as `host` or `content-length`), lower-cased, and its value. Errors
/// name `prefix` + the field.
fn header(raw: RawHeader, prefix: &str) -> Result<(String, Secret), ConfigError> {
    let name = reqwest::header::HeaderName::from_bytes(raw.name.trim().as_bytes())
        .map_err(|_| {
            ConfigError::new(
                format!("{prefix}name"),
                format!("'{}' is not a header name", raw.name),
            )
        })?
        .as_str()
        .to_owned();
    if crate::sandbox::outbound::TRANSPORT_HEADERS.contains(&name.as_str()) {
        return Err(ConfigError::new(
            format!("{prefix}name"),
            format!("'{name}' is set by the host's transport and cannot be a credential"),
        ));
    }
    let value = secret(
        raw.value,
        raw.value_env,
        &format!("{prefix}value"),
        &format!("{prefix}valueEnv"),
    )?;
    Ok((name, value))
}

/// Every inline secret of a configuration document (its JSON form, as
/// [`IntegrationConfig::from_value`] reads it), by field path, e.g.
/// `credentials.refreshToken` or `credentials.headers[1].value`: the one
/// list of what is secret, for sealing at rest and for the views that show
/// which secrets are set but never their values.
pub fn for_each_secret<E>(
    document: &mut serde_json::Value,
    mut visit: impl FnMut(&str, &mut serde_json::Value) -> Result<(), E>,
) -> Result<(), E> {
    let Some(credentials) = document
        .get_mut("credentials")
        .and_then(serde_json::Value::as_object_mut)
    else {
        return Ok(());
    };
    for name in SECRET_FIELDS {
        if let Some(value) = credentials.get_mut(*name) {
            visit(&format!("credentials.{name}"), value)?;
        }
    }
    if let Some(headers) = credentials
        .get_mut("headers")
        .and_then(serde_json::Value::as_array_mut)
    {
        for (index, header) in headers.iter_mut().enumerate() {
            if let Some(value) = header.get_mut("value") {
                visit(&format!("credentials.headers[{index}].value"), value)?;
            }
        }
    }
    Ok(())
}

/// The credential fields that hold a secret value inline (the `…Env` forms
/// name a variable, which is not secret).
pub const SECRET_FIELDS: &[&str] = &[
    "token",
    "accessToken",
    "refreshToken",
    "clientSecret",
    "value",
];

/// A secret given inline or by the name of an environment variable; errors
/// name `inline_field` or `env_field`.
pub fn secret(
    inline: Option<String>,
    env: Option<String>,
    inline_field: &str,
    env_field: &str,
) -> Result<Secret, ConfigError> {
    match (inline, env) {
        (Some(value), None) if !value.is_empty() => Ok(Secret::new(value)),
        (Some(_), None) => Err(ConfigError::new(inline_field, "is empty")),
        (None, Some(variable)) => match std::env::var(&variable) {
            Ok(value) if !value.is_empty() => Ok(Secret::new(value)),
            _ => Err(ConfigError::new(
                env_field,
                format!("environment variable {variable} is not set"),
            )),
        },
        (Some(_), Some(_)) => Err(ConfigError::new(
            env_field,
            format!("give either {inline_field} or {env_field}, not both"),
        )),
        (None, None) => Err(ConfigError::new(
            inline_field,
            format!("missing: give {inline_field} or {env_field}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_endpoint_is_held_to_the_transport_rule_at_load() {
        let config = |token_url: &str| {
            IntegrationConfig::from_json(&format!(
                r#"{{"accountingSystem": "xero", "baseUrl": "https://api.xero.com",
                    "credentials": {{"type": "oauth2", "accessToken": "a", "refreshToken": "r",
                    "tokenUrl": "{token_url}", "clientId": "c", "clientSecret": "s"}},
                    "settings": {{}}}}"#
            ))
        };
        for (url, says) in [
            (
                "http://identity.xero.com/connect/token",
                "plain http is only for loopback addresses",
            ),
            (
                "ftp://identity.xero.com/token",
                "scheme 'ftp' is not allowed",
            ),
            ("data:text/plain,token", "scheme 'data' is not allowed"),
        ] {
            let error = config(url).unwrap_err();
            assert_eq!(error.field, "credentials.tokenUrl", "{url}");
            assert!(error.message.contains(says), "{url}: {error}");
        }
        config("https://identity.xero.com/connect/token").expect("https");
        config("http://127.0.0.1:9/connect/token").expect("loopback http, for emulators");
    }

    #[test]
    fn reads_a_config_and_hides_the_token() {
        let config = IntegrationConfig::from_json(
            r#"{"accountingSystem": "Xero", "baseUrl": "https://api.xero.com/", "tenantId": "t-1",
                "credentials": {"type": "bearer", "token": "s3cret"}, "settings": {"a": 1}}"#,
        )
        .unwrap();
        assert_eq!(config.accounting_system, "xero");
        assert_eq!(config.to_wit().base_url, "https://api.xero.com");
        assert!(!format!("{config:?}").contains("s3cret"));
        assert!(!config.to_wit().settings.contains("s3cret"));
    }

    #[test]
    fn errors_name_the_field() {
        let error =
            IntegrationConfig::from_json(r#"{"accountingSystem": "xero", "baseUrl": "nope"}"#)
                .unwrap_err();
        assert_eq!(error.field, "baseUrl");

        let error = IntegrationConfig::from_json(
            r#"{"accountingSystem": "xero", "baseUrl": "https://x.io", "tenant": "t"}"#,
        )
        .unwrap_err();
        assert!(error.message.contains("unknown field `tenant`"), "{error}");

        let error = IntegrationConfig::from_json(
            r#"{"accountingSystem": "xero", "baseUrl": "https://x.io", "credentials": {"type": "bearer"}}"#,
        )
        .unwrap_err();
        assert_eq!(error.field, "credentials.token");

        let error = IntegrationConfig::from_json(
            r#"{"accountingSystem": "xero", "baseUrl": "ftp://x.io"}"#,
        )
        .unwrap_err();
        assert_eq!(error.field, "baseUrl");

        let error = IntegrationConfig::from_json(
            r#"{"accountingSystem": "xero", "baseUrl": "http://api.xero.com"}"#,
        )
        .unwrap_err();
        assert_eq!(error.field, "baseUrl");
        assert!(error.message.contains("use https"), "{error}");
        IntegrationConfig::from_json(
            r#"{"accountingSystem": "xero", "baseUrl": "http://127.0.0.1:4011"}"#,
        )
        .expect("loopback http is the runtime's to allow or refuse");
    }

    #[test]
    fn several_credential_headers_are_read_and_their_secrets_listed() {
        let text = r#"{"accountingSystem": "e-conomic", "baseUrl": "https://restapi.e-conomic.com",
            "credentials": {"type": "headers", "headers": [
                {"name": "X-AppSecretToken", "value": "app-secret"},
                {"name": "X-AgreementGrantToken", "value": "grant-secret"}]}}"#;
        let config = IntegrationConfig::from_json(text).unwrap();
        let Credentials::Headers(headers) = &config.credentials else {
            panic!("{:?}", config.credentials);
        };
        let names: Vec<&str> = headers.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["x-appsecrettoken", "x-agreementgranttoken"]);
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("app-secret") && !shown.contains("grant-secret"),
            "{shown}"
        );

        let mut document: serde_json::Value = serde_json::from_str(text).unwrap();
        let mut fields = Vec::new();
        for_each_secret(&mut document, |field, value| {
            fields.push((field.to_owned(), value.as_str().unwrap().to_owned()));
            *value = "sealed".into();
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(
            fields,
            [
                (
                    "credentials.headers[0].value".to_owned(),
                    "app-secret".to_owned()
                ),
                (
                    "credentials.headers[1].value".to_owned(),
                    "grant-secret".to_owned()
                ),
            ]
        );
        assert!(!document.to_string().contains("secret"));
        let round = IntegrationConfig::from_value(config.to_document(), "").unwrap();
        assert_eq!(round, config);

        for (headers, field, says) in [
            (r#"[]"#, "credentials.headers", "is empty"),
            (
                r#"[{"name": "Host", "value": "x"}]"#,
                "credentials.headers[0].name",
                "set by the host's transport",
            ),
            (
                r#"[{"name": "a b", "value": "x"}]"#,
                "credentials.headers[0].name",
                "not a header name",
            ),
            (
                r#"[{"name": "X-A", "value": "1"}, {"name": "x-a", "value": "2"}]"#,
                "credentials.headers[1].name",
                "named twice",
            ),
            (
                r#"[{"name": "X-A"}]"#,
                "credentials.headers[0].value",
                "missing",
            ),
        ] {
            let error = IntegrationConfig::from_json(&format!(
                r#"{{"accountingSystem": "x", "baseUrl": "https://x.io", "credentials": {{"type": "headers", "headers": {headers}}}}}"#
            ))
            .unwrap_err();
            assert_eq!(error.field, field, "{headers}");
            assert!(error.message.contains(says), "{headers}: {error}");
        }
    }

    #[test]
    fn a_token_is_due_for_refresh_within_a_quarter_of_its_lifetime_at_most_a_minute() {
        use std::time::{Duration, SystemTime};
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut tokens = Tokens::new(Secret::new("a"), Secret::new("r"));
        assert!(!tokens.due(at), "no known expiry: refreshed on a 401 only");
        tokens.refreshed_at = Some(at);
        tokens.expires_at = Some(at + Duration::from_secs(1800));
        assert!(!tokens.due(at + Duration::from_secs(1739)));
        assert!(tokens.due(at + Duration::from_secs(1740)), "a minute ahead");
        tokens.expires_at = Some(at + Duration::from_secs(8));
        assert!(!tokens.due(at + Duration::from_secs(5)));
        assert!(
            tokens.due(at + Duration::from_secs(6)),
            "a quarter of 8 s ahead"
        );
        assert!(tokens.due(at + Duration::from_secs(60)), "past expiry");
    }

    #[test]
    fn reads_oauth2_credentials_and_names_missing_fields() {
        let config = IntegrationConfig::from_json(
            r#"{"accountingSystem": "xero", "baseUrl": "https://api.xero.com",
                "credentials": {"type": "oauth2", "accessToken": "a", "refreshToken": "r",
                                "tokenUrl": "https://identity.xero.com/connect/token",
                                "clientId": "c", "clientSecret": "s"}}"#,
        )
        .unwrap();
        let Credentials::OAuth2(oauth) = &config.credentials else {
            panic!("expected OAuth2, got {:?}", config.credentials);
        };
        assert_eq!(oauth.access_token().expose(), "a");
        assert!(!format!("{config:?}").contains("\"r\"") && !format!("{config:?}").contains("s\""));

        let error = IntegrationConfig::from_json(
            r#"{"accountingSystem": "xero", "baseUrl": "https://api.xero.com",
                "credentials": {"type": "oauth2", "accessToken": "a",
                                "tokenUrl": "https://identity.xero.com/connect/token",
                                "clientId": "c", "clientSecret": "s"}}"#,
        )
        .unwrap_err();
        assert_eq!(error.field, "credentials.refreshToken");
    }
}
