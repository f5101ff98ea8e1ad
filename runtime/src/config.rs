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
    /// A custom header, e.g. e-conomic's `X-AgreementGrantToken`.
    Header {
        /// Header name, lower case.
        name: String,
        /// Header value.
        value: Secret,
    },
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
    tokens: std::sync::Mutex<(Secret, Secret)>,
    /// Serialises refreshes: refresh tokens rotate, so two at once would
    /// spend the same one.
    pub(crate) refreshing: tokio::sync::Mutex<()>,
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
            tokens: std::sync::Mutex::new((access, refresh)),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// The current access token.
    pub fn access_token(&self) -> Secret {
        self.tokens.lock().expect("token lock").0.clone()
    }

    /// The current refresh token.
    pub(crate) fn refresh_token(&self) -> Secret {
        self.tokens.lock().expect("token lock").1.clone()
    }

    /// The client secret.
    pub(crate) fn client_secret(&self) -> &Secret {
        &self.client_secret
    }

    /// Keeps the tokens a refresh returned; a missing refresh token keeps the
    /// current one.
    pub(crate) fn store(&self, access: Secret, refresh: Option<Secret>) {
        let mut tokens = self.tokens.lock().expect("token lock");
        tokens.0 = access;
        if let Some(refresh) = refresh {
            tokens.1 = refresh;
        }
    }

    /// Every secret value, for redaction.
    pub(crate) fn secrets(&self) -> Vec<String> {
        let tokens = self.tokens.lock().expect("token lock");
        vec![
            tokens.0.expose().to_owned(),
            tokens.1.expose().to_owned(),
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
            Credentials::Header { name, .. } => write!(f, "Header({name}: ***)"),
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
            }) => {
                let header = reqwest::header::HeaderName::from_bytes(name.trim().as_bytes())
                    .map_err(|_| {
                        ConfigError::new(
                            field("credentials.name"),
                            format!("'{name}' is not a header name"),
                        )
                    })?;
                Credentials::Header {
                    name: header.as_str().to_owned(),
                    value: secret(
                        value,
                        value_env,
                        &field("credentials.value"),
                        &field("credentials.valueEnv"),
                    )?,
                }
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
