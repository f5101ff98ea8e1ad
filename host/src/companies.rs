//! Companies as runtime state: each one's integration configuration in the
//! store, versioned and audited, its secrets sealed, managed through the
//! operator API and `preflight companies` while the runner runs.
//!
//! - **Reads** for validation ([`Companies::get`]) check the stored version
//!   on every call and rebuild a company's [`IntegrationConfig`] only when
//!   it changed, so a write takes effect at the next validation on every
//!   replica, and a validation in flight keeps the `Arc` it started with.
//! - **Writes** ([`Companies::write`]) assemble the whole new document in
//!   clear (a `PUT` replaces it, a `PATCH` merges into it, RFC 7396), check
//!   it (shape, URL rules, the plugin's `validate-settings`) before anything
//!   is stored, then seal its secrets and store it as a compare-and-set on
//!   the version, with an audit entry naming the fields changed.
//! - **Secrets are write-only.** A write may omit secret values to keep the
//!   stored ones (same credential type); views ([`CompanyView`]) show the
//!   type, which secrets are set, a fingerprint, and for OAuth the access
//!   token's expiry, last refresh and status, never a value.
//! - **OAuth tokens** live apart from the document (`oauth_tokens`): each
//!   company's [`StoreKeeper`] gives the runtime the stored tokens, the
//!   refresh lease and the write-before-use of a refresh's result.
//! - **The operator file's `[[companies]]`** is an import
//!   ([`Companies::import_file`]): an entry is written when the store does
//!   not hold the company, or when the entry changed since it was last
//!   imported; otherwise the stored version (perhaps changed through the
//!   API since) stands.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use preflight_runtime::config::{
    ConfigError, Credentials, IntegrationConfig, KeeperFuture, Secret, TokenKeeper, Tokens,
    for_each_secret,
};
use preflight_store::secrets::Sealer;
use preflight_store::{
    AuditEntry, CompanyFilter, CompanyWrite, Store, StoreError, StoredCompany, StoredTokens,
    TokenWrite,
};
use serde_json::Value;

use crate::metrics::{self, Metrics};

/// Where a write finds the plugin that checks a company's settings: the
/// registry in `serve`, the bundled plugins for `preflight companies`
/// against a store.
pub trait SettingsCheck: Sync {
    /// The plugin validating `accounting_system`, if any.
    fn plugin(&self, accounting_system: &str) -> Option<Arc<preflight_runtime::Plugin>>;
}

impl SettingsCheck for crate::registry::Registry {
    fn plugin(&self, accounting_system: &str) -> Option<Arc<preflight_runtime::Plugin>> {
        self.get(accounting_system)
    }
}

impl SettingsCheck for BTreeMap<String, Arc<preflight_runtime::Plugin>> {
    fn plugin(&self, accounting_system: &str) -> Option<Arc<preflight_runtime::Plugin>> {
        self.get(accounting_system).cloned()
    }
}

/// The companies of one store, as the runner and the operator API see them.
pub struct Companies {
    store: Store,
    sealer: Arc<Sealer>,
    metrics: Arc<Metrics>,
    cache: Mutex<HashMap<uuid::Uuid, Cached>>,
    /// Each company's Pleo organisation, as last read.
    organisations: Mutex<HashMap<uuid::Uuid, uuid::Uuid>>,
    /// The organisations a company may name (`[[pleo.organisations]]`).
    known_organisations: Mutex<Vec<uuid::Uuid>>,
}

struct Cached {
    version: i64,
    config: Arc<IntegrationConfig>,
}

impl std::fmt::Debug for Companies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Companies")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// Why a company could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CompanyError {
    /// The document or the patch was refused; nothing was stored.
    #[error("{}", describe(.0))]
    Invalid(Vec<ConfigError>),
    /// The stored version is not the one the write expected.
    #[error("company {company} is at version {}, not {expected}", current.map_or("none (not stored)".to_owned(), |v| v.to_string()))]
    Conflict {
        /// The company.
        company: uuid::Uuid,
        /// The version the write expected.
        expected: i64,
        /// The version stored now.
        current: Option<i64>,
    },
    /// No such company.
    #[error("company {0} is not configured")]
    NotFound(uuid::Uuid),
    /// The plugin faulted while checking the settings.
    #[error("plugin {plugin} faulted while checking the settings: {fault}")]
    Plugin {
        /// The plugin.
        plugin: String,
        /// The fault.
        fault: String,
    },
    /// A stored value does not open (another key, or tampered with).
    #[error("company {company}: {field} does not open: {error}")]
    Sealed {
        /// The company.
        company: uuid::Uuid,
        /// The field.
        field: String,
        /// Why.
        error: preflight_store::secrets::SealError,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn describe(errors: &[ConfigError]) -> String {
    errors
        .iter()
        .map(|error| {
            if error.field.is_empty() {
                error.message.clone()
            } else {
                format!("{}: {}", error.field, error.message)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A write: the whole document, or a merge patch onto the stored one.
#[derive(Debug, Clone)]
pub enum Change {
    /// Replaces the document (`PUT`); secret values left out keep the
    /// stored ones when the credential type stays.
    Replace(Value),
    /// Merges into the stored document (`PATCH`, RFC 7396: `null` removes a
    /// field).
    Merge(Value),
}

/// Through which interface a change came, for the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The operator API.
    Api,
    /// `preflight companies` against the store.
    Cli,
    /// The operator file's `[[companies]]`, at start.
    File,
    /// `preflight check --store --config FILE`.
    Check,
}

impl Via {
    /// As the audit trail writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Api => "api",
            Via::Cli => "cli",
            Via::File => "file",
            Via::Check => "check",
        }
    }
}

/// What a write came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// Stored as this version.
    Stored(i64),
    /// Nothing changed (an import of an entry already stored).
    Unchanged(i64),
}

/// A company as the operator sees it: everything but secret values.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompanyView {
    /// The Pleo company.
    pub company_id: uuid::Uuid,
    /// Its Pleo organisation, when set.
    pub organisation_id: Option<uuid::Uuid>,
    /// Bumped by every change.
    pub version: i64,
    /// When first written (RFC 3339).
    pub created_at: String,
    /// When last changed.
    pub updated_at: String,
    /// Through which interface it last changed.
    pub updated_via: String,
    /// The accounting system id.
    pub accounting_system: String,
    /// The accounting system's API.
    pub base_url: String,
    /// The company in the accounting system.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// The credentials, without values.
    pub credentials: Value,
    /// The plugin's settings.
    pub settings: Value,
}

impl Companies {
    /// The companies of `store`, sealed and opened with `sealer`.
    pub fn new(store: Store, sealer: Arc<Sealer>, metrics: Arc<Metrics>) -> Companies {
        Companies {
            store,
            sealer,
            metrics,
            cache: Mutex::new(HashMap::new()),
            organisations: Mutex::new(HashMap::new()),
            known_organisations: Mutex::new(Vec::new()),
        }
    }

    /// The Pleo organisations a company's `organisationId` may name; a
    /// write naming another is refused.
    pub fn set_known_organisations(&self, organisations: Vec<uuid::Uuid>) {
        *self.known_organisations.lock().expect("organisations lock") = organisations;
    }

    /// Company `id`'s Pleo organisation, as last read from the store (by a
    /// sweep's [`Companies::ids`] or a validation's [`Companies::get`]).
    pub fn organisation_of(&self, id: uuid::Uuid) -> Option<uuid::Uuid> {
        self.organisations
            .lock()
            .expect("organisations lock")
            .get(&id)
            .copied()
    }

    fn note_organisation(&self, id: uuid::Uuid, organisation: Option<uuid::Uuid>) {
        let mut organisations = self.organisations.lock().expect("organisations lock");
        match organisation {
            Some(organisation) => organisations.insert(id, organisation),
            None => organisations.remove(&id),
        };
    }

    /// The companies of `configs` in `store`, sealed under a key of the
    /// process's own (for one-shot runs, the demo and benchmarks: a store
    /// that outlives the process needs [`Companies::new`] with the
    /// operator's key). Settings are not checked.
    pub async fn with(
        store: Store,
        configs: &BTreeMap<uuid::Uuid, IntegrationConfig>,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<Companies>, CompanyError> {
        let key = preflight_store::secrets::Key::generate();
        let companies = Companies::new(store, Arc::new(Sealer::new(key, Vec::new())), metrics);
        for (id, config) in configs {
            companies
                .write(
                    *id,
                    Change::Replace(config.to_document()),
                    None,
                    Via::File,
                    None,
                )
                .await?;
        }
        Ok(Arc::new(companies))
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Company `id`'s configuration as stored now; `None` when it has none.
    /// Rebuilt only when its version changed since the last call.
    pub async fn get(
        &self,
        id: uuid::Uuid,
    ) -> Result<Option<Arc<IntegrationConfig>>, CompanyError> {
        let Some(stored) = self.store.company(id).await? else {
            self.cache.lock().expect("cache lock").remove(&id);
            self.note_organisation(id, None);
            return Ok(None);
        };
        self.note_organisation(id, stored.organisation_id);
        if let Some(cached) = self.cache.lock().expect("cache lock").get(&id)
            && cached.version == stored.version
        {
            return Ok(Some(Arc::clone(&cached.config)));
        }
        let tokens = self.store.tokens(id).await?;
        let plain = self.open(&stored, tokens.as_ref())?;
        let config = parse(plain).map_err(|error| CompanyError::Invalid(vec![error]))?;
        if let Credentials::OAuth2(oauth) = &config.credentials
            && let Some(tokens) = tokens
        {
            let keeper = self.keeper(Owner::Company, id, &config.accounting_system);
            let opened = keeper.open(&tokens)?;
            oauth.keep_with(Arc::new(keeper), opened);
        }
        let config = Arc::new(config);
        self.cache.lock().expect("cache lock").insert(
            id,
            Cached {
                version: stored.version,
                config: Arc::clone(&config),
            },
        );
        Ok(Some(config))
    }

    /// Every stored company's id (noting each one's organisation).
    pub async fn ids(&self) -> Result<Vec<uuid::Uuid>, CompanyError> {
        let index = self.store.company_index().await?;
        let mut organisations = self.organisations.lock().expect("organisations lock");
        organisations.clear();
        organisations.extend(
            index
                .iter()
                .filter_map(|(id, _, organisation)| organisation.map(|o| (*id, o))),
        );
        Ok(index.into_iter().map(|(id, _, _)| id).collect())
    }

    /// The companies `filter` selects, as views.
    pub async fn list(&self, filter: &CompanyFilter) -> Result<Vec<CompanyView>, CompanyError> {
        let mut views = Vec::new();
        for stored in self.store.companies(filter).await? {
            let tokens = self.store.tokens(stored.company_id).await?;
            views.push(self.view(&stored, tokens.as_ref())?);
        }
        Ok(views)
    }

    /// One company as a view, with its audit trail.
    pub async fn show(
        &self,
        id: uuid::Uuid,
    ) -> Result<Option<(CompanyView, Vec<AuditEntry>)>, CompanyError> {
        let Some(stored) = self.store.company(id).await? else {
            return Ok(None);
        };
        let tokens = self.store.tokens(id).await?;
        let view = self.view(&stored, tokens.as_ref())?;
        Ok(Some((view, self.store.company_audit(id).await?)))
    }

    /// The companies `filter` selects in the form [`Companies::write`]
    /// reads (`companyId` included), without secret values: written back,
    /// they keep the stored secrets.
    pub async fn export(&self, filter: &CompanyFilter) -> Result<Vec<Value>, CompanyError> {
        let mut documents = Vec::new();
        for stored in self.store.companies(filter).await? {
            let mut document = stored.document.clone();
            strip_secrets(&mut document);
            let object = document
                .as_object_mut()
                .expect("stored documents are objects");
            object.insert("companyId".to_owned(), stored.company_id.to_string().into());
            if let Some(organisation) = stored.organisation_id {
                object.insert("organisationId".to_owned(), organisation.to_string().into());
            }
            documents.push(document);
        }
        Ok(documents)
    }

    /// Checks and stores a change to company `id`: refused with every field
    /// named, and nothing stored, when the document is malformed, breaks a
    /// URL rule, or its settings are refused by the plugin of its system in
    /// `registry` (a system without a plugin is stored: its jobs fail as
    /// `invalid_configuration` until one is loaded). `expected` is the
    /// version the writer read (`Some(0)`: must not exist).
    pub async fn write(
        &self,
        id: uuid::Uuid,
        change: Change,
        expected: Option<i64>,
        via: Via,
        registry: Option<&dyn SettingsCheck>,
    ) -> Result<(CompanyView, Written), CompanyError> {
        let stored = self.store.company(id).await?;
        if let Some(expected) = expected
            && stored.as_ref().map_or(0, |s| s.version) != expected
        {
            return Err(CompanyError::Conflict {
                company: id,
                expected,
                current: stored.map(|s| s.version),
            });
        }
        let tokens = match &stored {
            Some(_) => self.store.tokens(id).await?,
            None => None,
        };
        let old = stored
            .as_ref()
            .map(|stored| self.open(stored, tokens.as_ref()))
            .transpose()?;
        let new = match change {
            Change::Replace(document) => {
                let mut document = object(document)?;
                document.remove("companyId");
                let mut document = Value::Object(document);
                if let Some(old) = &old {
                    keep_omitted_secrets(old, &mut document);
                }
                document
            }
            Change::Merge(patch) => {
                let Some(old) = &old else {
                    return Err(CompanyError::NotFound(id));
                };
                let patch = object(patch)?;
                let mut document = old.clone();
                merge(&mut document, &Value::Object(patch));
                if let Some(object) = document.as_object_mut() {
                    object.remove("companyId");
                }
                document
            }
        };
        let write = self.prepare(id, old.as_ref(), new, registry).await?;
        let Some(write) = write else {
            let version = stored.map_or(0, |s| s.version);
            return Ok((self.view_of(id).await?, Written::Unchanged(version)));
        };
        let version = self
            .store_write(
                id,
                &write,
                expected.or(stored.map(|s| s.version)),
                via,
                None,
            )
            .await?;
        Ok((self.view_of(id).await?, Written::Stored(version)))
    }

    /// Removes company `id` (at version `expected`, when given); its jobs
    /// fail as `missing_configuration` from the next validation on.
    pub async fn remove(
        &self,
        id: uuid::Uuid,
        expected: Option<i64>,
        via: Via,
    ) -> Result<i64, CompanyError> {
        match self
            .store
            .remove_company(id, expected, via.as_str())
            .await?
        {
            Ok(version) => {
                self.cache.lock().expect("cache lock").remove(&id);
                tracing::info!(company = %id, version, via = via.as_str(), "company removed");
                Ok(version)
            }
            Err(conflict) => match (conflict.current, expected) {
                (None, _) => Err(CompanyError::NotFound(id)),
                (current, expected) => Err(CompanyError::Conflict {
                    company: id,
                    expected: expected.unwrap_or(0),
                    current,
                }),
            },
        }
    }

    /// Imports the operator file's companies (or `check --config`'s, with
    /// `via`): each entry is written when
    /// the store does not hold the company, or when the entry changed since
    /// it was last imported; an unchanged entry leaves the stored version
    /// (changed through the API or CLI since, perhaps) as it is. Errors name
    /// the entry as `entry(company)` does.
    pub async fn import_file(
        &self,
        entries: &[(uuid::Uuid, Value)],
        via: Via,
        registry: Option<&dyn SettingsCheck>,
        entry: impl Fn(uuid::Uuid) -> String,
    ) -> Result<Vec<(uuid::Uuid, Written)>, (String, CompanyError)> {
        let mut results = Vec::new();
        for (id, document) in entries {
            let named = |error| (entry(*id), error);
            let digest = file_digest(document);
            let stored = self.store.company(*id).await.map_err(|e| named(e.into()))?;
            if let Some(stored) = &stored
                && let Some(sealed) = &stored.file_digest
                && self
                    .sealer
                    .open(sealed, &context(*id, "file"))
                    .is_ok_and(|opened| opened.as_slice() == digest.as_bytes())
            {
                results.push((*id, Written::Unchanged(stored.version)));
                continue;
            }
            let tokens = match &stored {
                Some(_) => self.store.tokens(*id).await.map_err(|e| named(e.into()))?,
                None => None,
            };
            let old = stored
                .as_ref()
                .map(|stored| self.open(stored, tokens.as_ref()))
                .transpose()
                .map_err(named)?;
            let mut new = document.clone();
            if let Some(object) = new.as_object_mut() {
                object.remove("companyId");
            }
            let sealed_digest = self.sealer.seal(digest.as_bytes(), &context(*id, "file"));
            let write = self
                .prepare(*id, old.as_ref(), new, registry)
                .await
                .map_err(named)?;
            let version = match write {
                Some(write) => self
                    .store_write(
                        *id,
                        &write,
                        Some(stored.as_ref().map_or(0, |s| s.version)),
                        via,
                        Some(&sealed_digest),
                    )
                    .await
                    .map_err(named)?,
                None => {
                    // Same values as stored: remember the entry's digest only.
                    let stored = stored.expect("an unchanged write has a stored company");
                    self.store
                        .reseal_company(
                            *id,
                            stored.version,
                            &stored.document,
                            Some(&sealed_digest),
                            via.as_str(),
                        )
                        .await
                        .map_err(|e| named(e.into()))?;
                    results.push((*id, Written::Unchanged(stored.version)));
                    continue;
                }
            };
            results.push((*id, Written::Stored(version)));
        }
        Ok(results)
    }

    /// Re-seals every stored secret under the current key, company by
    /// company, while the runner goes on: a value changed meanwhile is read
    /// again. Returns how many companies and token sets were re-sealed.
    pub async fn reseal(&self) -> Result<(usize, usize), CompanyError> {
        let (mut companies, mut token_sets) = (0, 0);
        for (id, _, _) in self.store.company_index().await? {
            for _ in 0..10 {
                let Some(stored) = self.store.company(id).await? else {
                    break;
                };
                let mut stale = false;
                let mut document = stored.document.clone();
                for_each_secret(&mut document, |field, value| {
                    if let Some(sealed) = value.as_str()
                        && self.sealer.needs_reseal(sealed)
                    {
                        stale = true;
                        *value = self.reseal_value(id, field, sealed)?.into();
                    }
                    Ok::<(), CompanyError>(())
                })?;
                let digest = match &stored.file_digest {
                    Some(sealed) if self.sealer.needs_reseal(sealed) => {
                        stale = true;
                        Some(self.reseal_value(id, "file", sealed)?)
                    }
                    other => other.clone(),
                };
                if !stale
                    || self
                        .store
                        .reseal_company(id, stored.version, &document, digest.as_deref(), "cli")
                        .await?
                {
                    companies += usize::from(stale);
                    break;
                }
            }
            for _ in 0..10 {
                let Some(tokens) = self.store.tokens(id).await? else {
                    break;
                };
                if !self.sealer.needs_reseal(&tokens.access)
                    && !self.sealer.needs_reseal(&tokens.refresh)
                {
                    break;
                }
                let access = self.reseal_value(id, ACCESS_FIELD, &tokens.access)?;
                let refresh = self.reseal_value(id, REFRESH_FIELD, &tokens.refresh)?;
                if self
                    .store
                    .reseal_tokens(id, tokens.generation, &access, &refresh)
                    .await?
                {
                    token_sets += 1;
                    break;
                }
            }
        }
        Ok((companies, token_sets))
    }

    /// Checks `new` against `old` (both in clear): what to store, or `None`
    /// when it holds the same values as `old`.
    async fn prepare(
        &self,
        id: uuid::Uuid,
        old: Option<&Value>,
        new: Value,
        registry: Option<&dyn SettingsCheck>,
    ) -> Result<Option<Prepared>, CompanyError> {
        let mut new = new;
        let organisation_id = take_organisation(&mut new)?;
        if let Some(organisation) = organisation_id
            && !self
                .known_organisations
                .lock()
                .expect("organisations lock")
                .contains(&organisation)
        {
            return Err(CompanyError::Invalid(vec![ConfigError {
                field: "organisationId".to_owned(),
                message: format!(
                    "{organisation} is not one of the Pleo organisations this deployment serves ([[pleo.organisations]])"
                ),
            }]));
        }
        let config = parse(new.clone()).map_err(|error| CompanyError::Invalid(vec![error]))?;
        if let Some(plugin) =
            registry.and_then(|registry| registry.plugin(&config.accounting_system))
        {
            match plugin.validate_settings(&config.settings).await {
                Ok(Ok(())) => {}
                Ok(Err(errors)) => {
                    return Err(CompanyError::Invalid(
                        errors
                            .into_iter()
                            .map(|error| ConfigError {
                                field: if error.field.is_empty() {
                                    "settings".to_owned()
                                } else {
                                    format!("settings.{}", error.field)
                                },
                                message: error.message,
                            })
                            .collect(),
                    ));
                }
                Err(error) => {
                    return Err(CompanyError::Plugin {
                        plugin: error.plugin.clone(),
                        fault: error.fault.to_string(),
                    });
                }
            }
        }
        let mut with_organisation = new.clone();
        if let Some(organisation) = organisation_id {
            with_organisation["organisationId"] = organisation.to_string().into();
        }
        let fields = changed_fields(old, &with_organisation);
        if old.is_some() && fields.is_empty() {
            return Ok(None);
        }
        let oauth = matches!(config.credentials, Credentials::OAuth2(_));
        let was_oauth = old.is_some_and(|old| credential_type(old) == Some("oauth2"));
        let tokens_changed = fields.iter().any(|field| {
            field == ACCESS_FIELD || field == REFRESH_FIELD || field == "credentials.type"
        });
        let tokens = match (oauth, was_oauth) {
            (true, true) if !tokens_changed => TokenWrite::Keep,
            (true, _) => {
                let Credentials::OAuth2(oauth) = &config.credentials else {
                    unreachable!("matched as OAuth above")
                };
                let tokens = oauth.tokens();
                TokenWrite::Replace {
                    access: self.sealer.seal(
                        tokens.access.expose().as_bytes(),
                        &context(id, ACCESS_FIELD),
                    ),
                    refresh: self.sealer.seal(
                        tokens.refresh.expose().as_bytes(),
                        &context(id, REFRESH_FIELD),
                    ),
                }
            }
            (false, true) => TokenWrite::Remove,
            (false, false) => TokenWrite::Keep,
        };
        // The live tokens are kept apart; the document keeps the rest, its
        // secrets sealed.
        let mut document = new;
        if oauth
            && let Some(credentials) = document
                .get_mut("credentials")
                .and_then(Value::as_object_mut)
        {
            for field in [
                "accessToken",
                "refreshToken",
                "accessTokenEnv",
                "refreshTokenEnv",
            ] {
                credentials.remove(field);
            }
        }
        let _ = for_each_secret(&mut document, |field, value| {
            if let Some(plain) = value.as_str() {
                *value = self
                    .sealer
                    .seal(plain.as_bytes(), &context(id, field))
                    .into();
            }
            Ok::<(), ()>(())
        });
        Ok(Some(Prepared {
            organisation_id,
            accounting_system: config.accounting_system.clone(),
            document,
            fields,
            tokens,
        }))
    }

    async fn store_write(
        &self,
        id: uuid::Uuid,
        write: &Prepared,
        expected: Option<i64>,
        via: Via,
        file_digest: Option<&str>,
    ) -> Result<i64, CompanyError> {
        let outcome = self
            .store
            .write_company(&CompanyWrite {
                company_id: id,
                organisation_id: write.organisation_id,
                accounting_system: &write.accounting_system,
                document: &write.document,
                expected: Some(expected.unwrap_or(0)),
                via: via.as_str(),
                fields: &write.fields,
                file_digest,
                tokens: write.tokens.clone(),
            })
            .await?;
        match outcome {
            Ok(version) => {
                self.metrics
                    .inc(metrics::COMPANY_WRITES, &[("via", via.as_str())]);
                tracing::info!(company = %id, version, via = via.as_str(), fields = ?write.fields, "company configuration stored");
                Ok(version)
            }
            Err(conflict) => Err(CompanyError::Conflict {
                company: id,
                expected: expected.unwrap_or(0),
                current: conflict.current,
            }),
        }
    }

    async fn view_of(&self, id: uuid::Uuid) -> Result<CompanyView, CompanyError> {
        let stored = self
            .store
            .company(id)
            .await?
            .ok_or(CompanyError::NotFound(id))?;
        let tokens = self.store.tokens(id).await?;
        self.view(&stored, tokens.as_ref())
    }

    /// Company `id`'s sealed `field` in clear.
    fn unseal(&self, id: uuid::Uuid, field: &str, sealed: &str) -> Result<String, CompanyError> {
        self.sealer
            .open(sealed, &context(id, field))
            .map(|opened| String::from_utf8_lossy(&opened).into_owned())
            .map_err(|error| CompanyError::Sealed {
                company: id,
                field: field.to_owned(),
                error,
            })
    }

    /// Company `id`'s sealed `field`, sealed anew under the current key.
    fn reseal_value(
        &self,
        id: uuid::Uuid,
        field: &str,
        sealed: &str,
    ) -> Result<String, CompanyError> {
        let opened = self.unseal(id, field, sealed)?;
        Ok(self.sealer.seal(opened.as_bytes(), &context(id, field)))
    }

    /// The stored document in clear, the live OAuth tokens put back in.
    fn open(
        &self,
        stored: &StoredCompany,
        tokens: Option<&StoredTokens>,
    ) -> Result<Value, CompanyError> {
        let id = stored.company_id;
        let mut document = stored.document.clone();
        for_each_secret(&mut document, |field, value| {
            let Some(sealed) = value.as_str() else {
                return Ok::<(), CompanyError>(());
            };
            *value = self.unseal(id, field, sealed)?.into();
            Ok(())
        })?;
        if let (Some(tokens), Some(credentials)) = (
            tokens,
            document
                .get_mut("credentials")
                .and_then(Value::as_object_mut),
        ) {
            for (field, sealed) in [
                (ACCESS_FIELD, &tokens.access),
                (REFRESH_FIELD, &tokens.refresh),
            ] {
                let name = field.trim_start_matches("credentials.");
                credentials.insert(name.to_owned(), self.unseal(id, field, sealed)?.into());
            }
        }
        if let (Some(organisation), Some(object)) =
            (stored.organisation_id, document.as_object_mut())
        {
            object.insert("organisationId".to_owned(), organisation.to_string().into());
        }
        Ok(document)
    }

    fn view(
        &self,
        stored: &StoredCompany,
        tokens: Option<&StoredTokens>,
    ) -> Result<CompanyView, CompanyError> {
        let id = stored.company_id;
        let document = &stored.document;
        let mut credentials = document
            .get("credentials")
            .cloned()
            .unwrap_or_else(|| serde_json::json!({"type": "none"}));
        let mut set = Vec::new();
        let mut fingerprinted = Vec::new();
        let mut wrapper = serde_json::json!({ "credentials": credentials.clone() });
        for_each_secret(&mut wrapper, |field, value| {
            if let Some(sealed) = value.as_str() {
                let opened = self.unseal(id, field, sealed)?;
                fingerprinted.extend_from_slice(field.as_bytes());
                fingerprinted.push(0);
                fingerprinted.extend_from_slice(opened.as_bytes());
                fingerprinted.push(0);
                set.push(field.trim_start_matches("credentials.").to_owned());
            }
            Ok::<(), CompanyError>(())
        })?;
        strip_secrets_of(&mut credentials);
        let object = credentials
            .as_object_mut()
            .expect("credentials are an object");
        if let Some(tokens) = tokens {
            set.push("accessToken".to_owned());
            set.push("refreshToken".to_owned());
            object.insert(
                "accessTokenExpiresAt".to_owned(),
                tokens.expires_at.map(rfc3339).into(),
            );
            object.insert(
                "lastRefreshAt".to_owned(),
                tokens.refreshed_at.map(rfc3339).into(),
            );
            object.insert(
                "status".to_owned(),
                if tokens.revoked {
                    "reconnect-required"
                } else {
                    "connected"
                }
                .into(),
            );
        }
        set.sort();
        if !set.is_empty() {
            object.insert("set".to_owned(), set.into());
        }
        if !fingerprinted.is_empty() {
            object.insert(
                "fingerprint".to_owned(),
                self.sealer.fingerprint(&fingerprinted).into(),
            );
        }
        Ok(CompanyView {
            company_id: id,
            organisation_id: stored.organisation_id,
            version: stored.version,
            created_at: rfc3339(stored.created_at),
            updated_at: rfc3339(stored.updated_at),
            updated_via: stored.updated_via.clone(),
            accounting_system: stored.accounting_system.clone(),
            base_url: document
                .get("baseUrl")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            tenant_id: document
                .get("tenantId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            credentials,
            settings: document
                .get("settings")
                .cloned()
                .unwrap_or_else(|| serde_json::json!({})),
        })
    }
}

/// What [`Companies::prepare`] decided to store.
struct Prepared {
    organisation_id: Option<uuid::Uuid>,
    accounting_system: String,
    document: Value,
    fields: Vec<String>,
    tokens: TokenWrite,
}

const ACCESS_FIELD: &str = "credentials.accessToken";
const REFRESH_FIELD: &str = "credentials.refreshToken";

/// The sealing context of company `id`'s `field`.
fn context(id: uuid::Uuid, field: &str) -> String {
    format!("company:{id}:{field}")
}

/// A document in clear parsed as a configuration (its `organisationId`
/// aside).
fn parse(mut document: Value) -> Result<IntegrationConfig, ConfigError> {
    if let Some(object) = document.as_object_mut() {
        object.remove("organisationId");
    }
    IntegrationConfig::from_value(document, "")
}

fn object(document: Value) -> Result<serde_json::Map<String, Value>, CompanyError> {
    match document {
        Value::Object(object) => Ok(object),
        _ => Err(CompanyError::Invalid(vec![ConfigError {
            field: String::new(),
            message: "a company configuration is a JSON object".to_owned(),
        }])),
    }
}

fn take_organisation(document: &mut Value) -> Result<Option<uuid::Uuid>, CompanyError> {
    let Some(value) = document
        .as_object_mut()
        .and_then(|o| o.remove("organisationId"))
    else {
        return Ok(None);
    };
    match &value {
        Value::Null => Ok(None),
        Value::String(text) => text.parse().map(Some).map_err(|_| {
            CompanyError::Invalid(vec![ConfigError {
                field: "organisationId".to_owned(),
                message: format!("'{text}' is not a UUID"),
            }])
        }),
        other => Err(CompanyError::Invalid(vec![ConfigError {
            field: "organisationId".to_owned(),
            message: format!("{other} is not a UUID"),
        }])),
    }
}

fn credential_type(document: &Value) -> Option<&str> {
    document.get("credentials")?.get("type")?.as_str()
}

/// Secret values `new` leaves out that `old` holds, kept from `old`, when
/// the credential type stays (for headers: per header name).
fn keep_omitted_secrets(old: &Value, new: &mut Value) {
    if credential_type(old) != credential_type(new) {
        return;
    }
    let (Some(old), Some(new)) = (
        old.get("credentials").and_then(Value::as_object),
        new.get_mut("credentials").and_then(Value::as_object_mut),
    ) else {
        return;
    };
    for name in preflight_runtime::config::SECRET_FIELDS {
        let env = format!("{name}Env");
        if !new.contains_key(*name)
            && !new.contains_key(&env)
            && let Some(value) = old.get(*name)
        {
            new.insert((*name).to_owned(), value.clone());
        }
    }
    if let (Some(old_headers), Some(new_headers)) = (
        old.get("headers").and_then(Value::as_array),
        new.get_mut("headers").and_then(Value::as_array_mut),
    ) {
        for header in new_headers.iter_mut().filter_map(Value::as_object_mut) {
            if header.contains_key("value") || header.contains_key("valueEnv") {
                continue;
            }
            let name = header
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase);
            if let Some(value) = old_headers.iter().find_map(|old| {
                (old.get("name")
                    .and_then(Value::as_str)
                    .map(str::to_ascii_lowercase)
                    == name)
                    .then(|| old.get("value").cloned())
                    .flatten()
            }) {
                header.insert("value".to_owned(), value);
            }
        }
    }
}

/// RFC 7396: a JSON merge patch.
fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    let object = target.as_object_mut().expect("made an object above");
    for (key, value) in patch {
        if value.is_null() {
            object.remove(key);
        } else {
            merge(object.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// The dotted paths whose values differ between `old` and `new` (every
/// path of `new` when there is no `old`).
fn changed_fields(old: Option<&Value>, new: &Value) -> Vec<String> {
    let mut before = BTreeMap::new();
    if let Some(old) = old {
        flatten("", old, &mut before);
    }
    let mut after = BTreeMap::new();
    flatten("", new, &mut after);
    let mut fields: Vec<String> = before
        .keys()
        .chain(after.keys())
        .filter(|key| before.get(*key) != after.get(*key))
        .cloned()
        .collect();
    fields.sort();
    fields.dedup();
    fields
}

fn flatten(prefix: &str, value: &Value, into: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(object) if !object.is_empty() => {
            for (key, value) in object {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, value, into);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (index, value) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{index}]"), value, into);
            }
        }
        other => {
            into.insert(prefix.to_owned(), other.clone());
        }
    }
}

/// Removes every secret value of a document, keeping the rest.
fn strip_secrets(document: &mut Value) {
    if let Some(credentials) = document.get_mut("credentials") {
        strip_secrets_of(credentials);
    }
}

fn strip_secrets_of(credentials: &mut Value) {
    let Some(object) = credentials.as_object_mut() else {
        return;
    };
    for name in preflight_runtime::config::SECRET_FIELDS {
        object.remove(*name);
    }
    if let Some(headers) = object.get_mut("headers").and_then(Value::as_array_mut) {
        for header in headers.iter_mut().filter_map(Value::as_object_mut) {
            header.remove("value");
        }
    }
}

/// A digest of an operator file entry, to tell a changed entry from an
/// unchanged one (kept sealed: the entry may hold secrets).
fn file_digest(entry: &Value) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(entry.to_string().as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn rfc3339(millis: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(0));
    humantime::format_rfc3339_millis(at).to_string()
}

fn to_millis(time: SystemTime) -> i64 {
    preflight_store::millis(time)
}

fn from_millis(millis: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(0))
}

/// Whose OAuth tokens a [`StoreKeeper`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// A company's accounting-system grant.
    Company,
    /// A Pleo organisation's grant.
    Organisation,
}

impl Companies {
    fn keeper(&self, owner: Owner, id: uuid::Uuid, system: &str) -> StoreKeeper {
        StoreKeeper {
            owner,
            company: id,
            system: system.to_owned(),
            store: self.store.clone(),
            sealer: Arc::clone(&self.sealer),
            metrics: Arc::clone(&self.metrics),
            holder: format!("{}/{}", self.store.replica(), uuid::Uuid::new_v4()),
        }
    }

    /// Keeps Pleo organisation `id`'s OAuth grant in the store: the file's
    /// tokens seed it when the store holds none for it (or holds a grant
    /// refused since, a reconnect), and from then on the stored, refreshed
    /// tokens are used by every replica.
    pub async fn keep_organisation(
        &self,
        id: uuid::Uuid,
        oauth: &preflight_runtime::config::OAuth,
    ) -> Result<(), CompanyError> {
        let keeper = self.keeper(Owner::Organisation, id, "pleo");
        let stored = match self.store.tokens(id).await? {
            Some(stored) if !stored.revoked => stored,
            _ => {
                let tokens = oauth.tokens();
                let seal = |value: &Secret, field| {
                    self.sealer
                        .seal(value.expose().as_bytes(), &keeper.context(field))
                };
                let seeded = StoredTokens {
                    access: seal(&tokens.access, ACCESS_FIELD),
                    refresh: seal(&tokens.refresh, REFRESH_FIELD),
                    expires_at: tokens.expires_at.map(to_millis),
                    refreshed_at: None,
                    revoked: false,
                    generation: 0,
                };
                self.store.seed_tokens(id, &seeded).await?;
                self.store.tokens(id).await?.expect("seeded above")
            }
        };
        let opened = keeper.open(&stored)?;
        oauth.keep_with(Arc::new(keeper), opened);
        Ok(())
    }
}

/// The store as a [`TokenKeeper`] of a company's or a Pleo organisation's
/// grant: the tokens sealed in `oauth_tokens`, the refresh lease held under a
/// name unique to this holder, and every outcome counted in
/// `preflight_token_refreshes_total{system,result}` (`system` is `pleo` for
/// an organisation).
pub struct StoreKeeper {
    owner: Owner,
    company: uuid::Uuid,
    system: String,
    store: Store,
    sealer: Arc<Sealer>,
    metrics: Arc<Metrics>,
    holder: String,
}

impl StoreKeeper {
    /// The sealing context of the owner's `field`.
    fn context(&self, field: &str) -> String {
        match self.owner {
            Owner::Company => context(self.company, field),
            Owner::Organisation => format!("organisation:{}:{field}", self.company),
        }
    }

    fn open(&self, stored: &StoredTokens) -> Result<Tokens, CompanyError> {
        let open = |sealed: &str, field: &str| {
            self.sealer
                .open(sealed, &self.context(field))
                .map(|opened| Secret::new(String::from_utf8_lossy(&opened).into_owned()))
                .map_err(|error| CompanyError::Sealed {
                    company: self.company,
                    field: field.to_owned(),
                    error,
                })
        };
        Ok(Tokens {
            access: open(&stored.access, ACCESS_FIELD)?,
            refresh: open(&stored.refresh, REFRESH_FIELD)?,
            expires_at: stored.expires_at.map(from_millis),
            refreshed_at: stored.refreshed_at.map(from_millis),
            revoked: stored.revoked,
        })
    }

    fn count(&self, result: &str) {
        self.metrics.inc(
            metrics::TOKEN_REFRESHES,
            &[("system", &self.system), ("result", result)],
        );
    }
}

impl TokenKeeper for StoreKeeper {
    fn load(&self) -> KeeperFuture<'_, Option<Tokens>> {
        Box::pin(async move {
            let stored = self
                .store
                .tokens(self.company)
                .await
                .map_err(|e| e.to_string())?;
            stored
                .map(|stored| self.open(&stored).map_err(|e| e.to_string()))
                .transpose()
        })
    }

    fn lease(&self, ttl: Duration) -> KeeperFuture<'_, bool> {
        Box::pin(async move {
            self.store
                .lease_tokens(self.company, &self.holder, ttl)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn save<'a>(&'a self, tokens: &'a Tokens) -> KeeperFuture<'a, ()> {
        Box::pin(async move {
            let sealed = StoredTokens {
                access: self.sealer.seal(
                    tokens.access.expose().as_bytes(),
                    &self.context(ACCESS_FIELD),
                ),
                refresh: self.sealer.seal(
                    tokens.refresh.expose().as_bytes(),
                    &self.context(REFRESH_FIELD),
                ),
                expires_at: tokens.expires_at.map(to_millis),
                refreshed_at: tokens.refreshed_at.map(to_millis),
                revoked: false,
                generation: 0,
            };
            let saved = self
                .store
                .save_tokens(self.company, &self.holder, &sealed)
                .await
                .map_err(|e| e.to_string())?;
            if !saved {
                self.count("lost-lease");
                return Err("the refresh lease ran out before the new tokens were kept".to_owned());
            }
            self.count("refreshed");
            tracing::info!(company = %self.company, system = %self.system, "OAuth tokens refreshed and kept");
            Ok(())
        })
    }

    fn release(&self, revoked: bool) -> KeeperFuture<'_, ()> {
        Box::pin(async move {
            if revoked && self.owner == Owner::Organisation {
                self.count("revoked");
                tracing::error!(
                    organisation = %self.company,
                    "Pleo's token endpoint refused the organisation's refresh token (invalid_grant): \
                     the organisation must authorise the integration again; its jobs cannot be listed or claimed"
                );
            } else if revoked {
                self.count("revoked");
                tracing::warn!(
                    company = %self.company,
                    system = %self.system,
                    "the token endpoint refused the refresh token (invalid_grant): the company must reconnect its accounting system; \
                     its jobs fail as accounting_system_authentication_failure until new credentials are written (preflight companies set)"
                );
            } else {
                self.count("failed");
            }
            self.store
                .release_tokens(self.company, &self.holder, revoked)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_merge_patch_replaces_adds_and_removes() {
        let mut document = serde_json::json!({"a": 1, "b": {"c": 2, "d": 3}});
        merge(
            &mut document,
            &serde_json::json!({"a": 5, "b": {"c": null, "e": 4}}),
        );
        assert_eq!(document, serde_json::json!({"a": 5, "b": {"d": 3, "e": 4}}));
    }

    #[test]
    fn changed_fields_name_paths_never_values() {
        let old = serde_json::json!({"settings": {"accounts": {"expenses": "429"}}, "credentials": {"type": "bearer", "token": "one"}});
        let new = serde_json::json!({"settings": {"accounts": {"expenses": "430"}}, "credentials": {"type": "bearer", "token": "two"}});
        assert_eq!(
            changed_fields(Some(&old), &new),
            vec!["credentials.token", "settings.accounts.expenses"]
        );
        assert!(changed_fields(Some(&old), &old).is_empty());
    }

    #[test]
    fn omitted_secrets_are_kept_for_the_same_credential_type_only() {
        let old = serde_json::json!({"credentials": {"type": "headers", "headers": [
            {"name": "X-AppSecretToken", "value": "app"}, {"name": "X-AgreementGrantToken", "value": "grant"}]}});
        let mut new = serde_json::json!({"credentials": {"type": "headers", "headers": [
            {"name": "x-appsecrettoken"}, {"name": "X-AgreementGrantToken", "value": "grant-2"}]}});
        keep_omitted_secrets(&old, &mut new);
        assert_eq!(new["credentials"]["headers"][0]["value"], "app");
        assert_eq!(new["credentials"]["headers"][1]["value"], "grant-2");
        let mut other = serde_json::json!({"credentials": {"type": "bearer"}});
        keep_omitted_secrets(&old, &mut other);
        assert!(other["credentials"].get("token").is_none());
    }
}
