//! `preflight companies`: companies' integration configurations, managed
//! at runtime against a running server (`--server URL`, through
//! `/v1/companies`) or a store directly (`--config FILE` or `--store URL`).
//! Either way a write is checked before it is stored (shape, URL rules, the
//! plugin's `validate-settings`), and no output holds a secret value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Subcommand};
use preflight::companies::{Change, Companies, CompanyError, SettingsCheck, Via, Written};
use preflight::metrics::Metrics;
use preflight::operator::{KeySource, SecretsSettings};
use preflight_store::{CompanyFilter, Store};
use serde_json::Value;

use super::{EXIT_BAD_INPUT, EXIT_FAIL, EXIT_INTERNAL, EXIT_OK};

/// Where the companies are: a server, or a store with its secrets key.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// A running `preflight serve`'s operator API, e.g. http://127.0.0.1:8080.
    #[arg(long, value_name = "URL", global = true, conflicts_with_all = ["config", "store"])]
    server: Option<url::Url>,
    /// The environment variable holding the operator token for --server.
    #[arg(
        long,
        value_name = "VAR",
        global = true,
        default_value = "PREFLIGHT_OPERATOR_TOKEN"
    )]
    token_env: String,
    /// The operator configuration whose store and secrets key to use.
    #[arg(long, value_name = "FILE", global = true, conflicts_with = "store")]
    config: Option<PathBuf>,
    /// The store's URL: `sqlite://PATH`, a file path, or `postgres://…`.
    #[arg(long, value_name = "URL", global = true)]
    store: Option<String>,
    #[command(flatten)]
    key: KeyArgs,
}

/// The secrets key of a store named with `--store`.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// The secrets key file (mode 0600) [default for SQLite: secrets.key
    /// beside the database, created when missing].
    #[arg(
        long,
        value_name = "FILE",
        global = true,
        conflicts_with = "secrets_key_env"
    )]
    pub secrets_key_file: Option<PathBuf>,
    /// The environment variable holding the secrets key.
    #[arg(long, value_name = "VAR", global = true)]
    pub secrets_key_env: Option<String>,
    /// A previous key still opened (repeatable), during a key rotation.
    #[arg(long = "previous-key-file", value_name = "FILE", global = true)]
    pub previous_key_files: Vec<PathBuf>,
}

impl KeyArgs {
    /// The secrets settings for the store at `url`: the key named, else the
    /// default an operator file would have.
    pub(super) fn settings(&self, url: &str) -> Result<SecretsSettings, String> {
        let key = match (&self.secrets_key_file, &self.secrets_key_env) {
            (Some(path), _) => KeySource::File(path.clone()),
            (None, Some(variable)) => KeySource::Env(variable.clone()),
            (None, None) => match preflight_store::sqlite_file(url) {
                Some(path) => {
                    KeySource::Beside(path.parent().unwrap_or(Path::new("")).join("secrets.key"))
                }
                None if url.contains(":memory:") => KeySource::Ephemeral,
                None => {
                    return Err(format!(
                        "store {url}: name its secrets key with --secrets-key-file or --secrets-key-env"
                    ));
                }
            },
        };
        Ok(SecretsSettings {
            key,
            previous: self.previous_key_files.clone(),
        })
    }
}

/// Arguments of `preflight companies`.
#[derive(Debug, Args)]
pub struct CompaniesArgs {
    #[command(subcommand)]
    command: CompaniesCommand,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Debug, Subcommand)]
enum CompaniesCommand {
    /// List companies: id, accounting system, version, credentials.
    List {
        /// Only this accounting system.
        #[arg(long, value_name = "ID")]
        accounting_system: Option<String>,
        /// Only this Pleo organisation.
        #[arg(long, value_name = "UUID")]
        organisation: Option<uuid::Uuid>,
        /// Print JSON (`{"companies": […], "next": …}`) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one company (JSON): its configuration without secret values,
    /// which secrets are set, the access token's expiry, the audit trail.
    Show {
        /// The Pleo company.
        company: uuid::Uuid,
    },
    /// Store a company's configuration from a JSON file (`-` for stdin):
    /// the whole configuration, or with --merge a JSON merge patch.
    Set {
        /// The Pleo company.
        company: uuid::Uuid,
        /// The configuration (as `check --config` reads it; secret values
        /// left out keep the stored ones), or the patch.
        file: PathBuf,
        /// Merge FILE into the stored configuration (RFC 7396) instead of
        /// replacing it.
        #[arg(long)]
        merge: bool,
        /// Only if the stored version is still VERSION (0: only if new).
        #[arg(long, value_name = "VERSION")]
        if_version: Option<i64>,
    },
    /// Remove a company's configuration: its jobs then fail as
    /// missing_configuration.
    Remove {
        /// The Pleo company.
        company: uuid::Uuid,
        /// Only if the stored version is still VERSION.
        #[arg(long, value_name = "VERSION")]
        if_version: Option<i64>,
    },
    /// Store every company of a JSON array (as `export` writes it, each
    /// with its `companyId`); secret values left out keep the stored ones.
    Import {
        /// The JSON file (`-` for stdin).
        file: PathBuf,
    },
    /// Print every company as a JSON array `import` reads, without secret
    /// values.
    Export {
        /// Only this accounting system.
        #[arg(long, value_name = "ID")]
        accounting_system: Option<String>,
    },
}

/// Runs `preflight companies`.
pub async fn run(args: CompaniesArgs) -> u8 {
    let target = match Target::open(&args.target).await {
        Ok(target) => target,
        Err(code) => return code,
    };
    match target.run(args.command).await {
        Ok(()) => EXIT_OK,
        Err(code) => code,
    }
}

enum Target {
    Server {
        url: url::Url,
        token: Option<String>,
        client: reqwest::Client,
    },
    Store {
        companies: Companies,
        runtime: preflight::Runtime,
    },
}

impl Target {
    async fn open(args: &TargetArgs) -> Result<Target, u8> {
        if let Some(url) = &args.server {
            let client = reqwest::Client::builder()
                .no_proxy()
                .build()
                .map_err(|error| {
                    eprintln!("error: HTTP client: {error}");
                    EXIT_INTERNAL
                })?;
            return Ok(Target::Server {
                url: url.clone(),
                token: std::env::var(&args.token_env)
                    .ok()
                    .filter(|t| !t.is_empty()),
                client,
            });
        }
        let (store, secrets) =
            open_store(args.config.as_deref(), args.store.as_deref(), &args.key).await?;
        let sealer = secrets.sealer().map_err(|error| {
            eprintln!("error: secrets key: {error}");
            EXIT_BAD_INPUT
        })?;
        let runtime = super::runtime(preflight::RuntimeOptions {
            max_instances: 2,
            ..preflight::RuntimeOptions::default()
        })?;
        Ok(Target::Store {
            companies: Companies::new(store, Arc::new(sealer), Arc::new(Metrics::default())),
            runtime,
        })
    }

    async fn run(&self, command: CompaniesCommand) -> Result<(), u8> {
        match command {
            CompaniesCommand::List {
                accounting_system,
                organisation,
                json,
            } => {
                let page = self.list(accounting_system, organisation).await?;
                if json {
                    println!("{}", pretty(&page));
                } else {
                    print_table(&page);
                }
            }
            CompaniesCommand::Show { company } => {
                println!("{}", pretty(&self.show(company).await?));
            }
            CompaniesCommand::Set {
                company,
                file,
                merge,
                if_version,
            } => {
                let document = read_json(&file)?;
                let change = if merge {
                    Change::Merge(document)
                } else {
                    Change::Replace(document)
                };
                let view = self.write(company, change, if_version).await?;
                println!(
                    "company {company}: version {}",
                    view.get("version").and_then(Value::as_i64).unwrap_or(0)
                );
            }
            CompaniesCommand::Remove {
                company,
                if_version,
            } => {
                self.remove(company, if_version).await?;
                println!("company {company}: removed");
            }
            CompaniesCommand::Import { file } => {
                let Value::Array(entries) = read_json(&file)? else {
                    eprintln!(
                        "error: {}: expected a JSON array of companies",
                        file.display()
                    );
                    return Err(EXIT_BAD_INPUT);
                };
                let mut parsed = Vec::new();
                for (index, entry) in entries.into_iter().enumerate() {
                    let Some(id) = entry
                        .get("companyId")
                        .and_then(Value::as_str)
                        .and_then(|text| text.parse::<uuid::Uuid>().ok())
                    else {
                        eprintln!(
                            "error: {}: [{index}].companyId: missing or not a UUID",
                            file.display()
                        );
                        return Err(EXIT_BAD_INPUT);
                    };
                    parsed.push((index, id, entry));
                }
                for (index, id, entry) in parsed {
                    let view = self
                        .write(id, Change::Replace(entry), None)
                        .await
                        .inspect_err(|_| eprintln!("error: {}: [{index}] (company {id}) was not imported; the ones before it were", file.display()))?;
                    println!(
                        "company {id}: version {}",
                        view.get("version").and_then(Value::as_i64).unwrap_or(0)
                    );
                }
            }
            CompaniesCommand::Export { accounting_system } => {
                println!("{}", pretty(&self.export(accounting_system).await?));
            }
        }
        Ok(())
    }

    async fn list(
        &self,
        system: Option<String>,
        organisation: Option<uuid::Uuid>,
    ) -> Result<Value, u8> {
        match self {
            Target::Server { .. } => {
                let mut companies = Vec::new();
                let mut after: Option<String> = None;
                loop {
                    let mut query = vec![("limit", "1000".to_owned())];
                    if let Some(system) = &system {
                        query.push(("accountingSystem", system.clone()));
                    }
                    if let Some(organisation) = organisation {
                        query.push(("organisationId", organisation.to_string()));
                    }
                    if let Some(after) = &after {
                        query.push(("after", after.clone()));
                    }
                    let page = self
                        .call(reqwest::Method::GET, "/v1/companies", &query, None, None)
                        .await?;
                    if let Some(items) = page.get("companies").and_then(Value::as_array) {
                        companies.extend(items.iter().cloned());
                    }
                    match page.get("next").and_then(Value::as_str) {
                        Some(next) => after = Some(next.to_owned()),
                        None => break,
                    }
                }
                Ok(serde_json::json!({ "companies": companies, "next": null }))
            }
            Target::Store { companies, .. } => {
                let mut all = Vec::new();
                let mut after = None;
                loop {
                    let filter = CompanyFilter {
                        accounting_system: system.clone(),
                        organisation_id: organisation,
                        after,
                        limit: None,
                    };
                    let page = companies.list(&filter).await.map_err(|e| report(&e))?;
                    let full = page.len() == preflight_store::companies::MAX_PAGE as usize;
                    after = page.last().map(|view| view.company_id);
                    all.extend(page);
                    if !full {
                        break;
                    }
                }
                Ok(serde_json::json!({ "companies": all, "next": null }))
            }
        }
    }

    async fn show(&self, company: uuid::Uuid) -> Result<Value, u8> {
        match self {
            Target::Server { .. } => {
                self.call(
                    reqwest::Method::GET,
                    &format!("/v1/companies/{company}"),
                    &[],
                    None,
                    None,
                )
                .await
            }
            Target::Store { companies, .. } => match companies.show(company).await {
                Ok(Some((view, audit))) => {
                    let mut body = serde_json::to_value(view).expect("views serialise");
                    body["audit"] = serde_json::to_value(audit).expect("audit entries serialise");
                    Ok(body)
                }
                Ok(None) => Err(report(&CompanyError::NotFound(company))),
                Err(error) => Err(report(&error)),
            },
        }
    }

    async fn write(
        &self,
        company: uuid::Uuid,
        change: Change,
        expected: Option<i64>,
    ) -> Result<Value, u8> {
        match self {
            Target::Server { .. } => {
                let (method, body) = match change {
                    Change::Replace(body) => (reqwest::Method::PUT, body),
                    Change::Merge(body) => (reqwest::Method::PATCH, body),
                };
                self.call(
                    method,
                    &format!("/v1/companies/{company}"),
                    &[],
                    Some(&body),
                    expected,
                )
                .await
            }
            Target::Store { companies, runtime } => {
                // The plugin of the system the configuration names, or
                // already has: the bundled one of that name.
                let system = match &change {
                    Change::Replace(document) | Change::Merge(document) => document
                        .get("accountingSystem")
                        .and_then(Value::as_str)
                        .map(str::to_ascii_lowercase),
                };
                let system = match system {
                    Some(system) => Some(system),
                    None => companies
                        .store()
                        .company(company)
                        .await
                        .map_err(|e| report(&e.into()))?
                        .map(|stored| stored.accounting_system),
                };
                let mut plugins: BTreeMap<String, Arc<preflight::Plugin>> = BTreeMap::new();
                if let Some(system) = system
                    && preflight::bundled::find(&system).is_some()
                {
                    match preflight::bundled::load(
                        runtime,
                        &system,
                        preflight::bundled::ManifestRule::Optional,
                    )
                    .await
                    {
                        Ok(plugin) => {
                            plugins.insert(system, Arc::new(plugin));
                        }
                        Err(error) => {
                            eprintln!("error: {error}");
                            return Err(super::load_exit(&error));
                        }
                    }
                } else {
                    eprintln!(
                        "warning: no bundled plugin checks this company's settings; stored unchecked"
                    );
                }
                let check: &dyn SettingsCheck = &plugins;
                match companies
                    .write(company, change, expected, Via::Cli, Some(check))
                    .await
                {
                    Ok((view, written)) => {
                        if let Written::Unchanged(_) = written {
                            eprintln!("company {company}: unchanged");
                        }
                        Ok(serde_json::to_value(view).expect("views serialise"))
                    }
                    Err(error) => Err(report(&error)),
                }
            }
        }
    }

    async fn remove(&self, company: uuid::Uuid, expected: Option<i64>) -> Result<(), u8> {
        match self {
            Target::Server { .. } => self
                .call(
                    reqwest::Method::DELETE,
                    &format!("/v1/companies/{company}"),
                    &[],
                    None,
                    expected,
                )
                .await
                .map(drop),
            Target::Store { companies, .. } => companies
                .remove(company, expected, Via::Cli)
                .await
                .map(drop)
                .map_err(|error| report(&error)),
        }
    }

    async fn export(&self, system: Option<String>) -> Result<Value, u8> {
        match self {
            Target::Server { .. } => {
                let page = self.list(system, None).await?;
                let documents = page
                    .get("companies")
                    .and_then(Value::as_array)
                    .map(|views| views.iter().map(document_of_view).collect::<Vec<_>>())
                    .unwrap_or_default();
                Ok(Value::Array(documents))
            }
            Target::Store { companies, .. } => {
                let filter = CompanyFilter {
                    accounting_system: system,
                    ..CompanyFilter::default()
                };
                companies
                    .export(&filter)
                    .await
                    .map(Value::Array)
                    .map_err(|error| report(&error))
            }
        }
    }

    /// One request to the server; an error answer is printed with its
    /// fields and mapped to an exit code.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        expected: Option<i64>,
    ) -> Result<Value, u8> {
        let Target::Server { url, token, client } = self else {
            unreachable!("only called against a server")
        };
        let mut request = client
            .request(method, url.join(path).expect("a path joins a base URL"))
            .query(query);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(version) = expected {
            request = request.header("if-match", format!("\"{version}\""));
        }
        let response = request.send().await.map_err(|error| {
            eprintln!("error: {url}: {error}");
            EXIT_INTERNAL
        })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let answer: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status.is_success() {
            return Ok(answer);
        }
        let message = answer
            .get("error")
            .and_then(Value::as_str)
            .map_or_else(|| answer.to_string(), str::to_owned);
        match answer.get("fields").and_then(Value::as_array) {
            Some(fields) if !fields.is_empty() => {
                for field in fields {
                    eprintln!(
                        "error: {}: {}",
                        field.get("field").and_then(Value::as_str).unwrap_or(""),
                        field.get("message").and_then(Value::as_str).unwrap_or("")
                    );
                }
            }
            _ => eprintln!("error: {message} ({status})"),
        }
        Err(match status.as_u16() {
            409 | 412 => EXIT_FAIL,
            400 | 401 | 403 | 404 | 413 | 422 => EXIT_BAD_INPUT,
            _ => EXIT_INTERNAL,
        })
    }
}

/// Opens the store named by `--config` or `--store`, with its secrets
/// settings.
pub(super) async fn open_store(
    config: Option<&Path>,
    store: Option<&str>,
    key: &KeyArgs,
) -> Result<(Store, SecretsSettings), u8> {
    let (url, identity, secrets) = match (config, store) {
        (Some(path), _) => {
            let (url, config) = super::outcomes::configured_store(path)?;
            (url, config.store.identity, config.secrets)
        }
        (None, Some(url)) => {
            let secrets = key.settings(url).map_err(|message| {
                eprintln!("error: {message}");
                EXIT_BAD_INPUT
            })?;
            (
                url.to_owned(),
                preflight_store::Identity::default(),
                secrets,
            )
        }
        (None, None) => {
            eprintln!(
                "error: name the companies' place with --server URL, --config FILE or --store URL"
            );
            return Err(EXIT_BAD_INPUT);
        }
    };
    let store = Store::open(&url, identity).await.map_err(|error| {
        eprintln!("error: {error}");
        EXIT_BAD_INPUT
    })?;
    Ok((store, secrets))
}

/// Prints a company error, each refused field on its own line; the exit
/// code.
fn report(error: &CompanyError) -> u8 {
    match error {
        CompanyError::Invalid(fields) => {
            for field in fields {
                let name = if field.field.is_empty() {
                    "the configuration"
                } else {
                    &field.field
                };
                eprintln!("error: {name}: {}", field.message);
            }
            EXIT_BAD_INPUT
        }
        CompanyError::NotFound(_) => {
            eprintln!("error: {error}");
            EXIT_BAD_INPUT
        }
        CompanyError::Conflict { .. } => {
            eprintln!("error: {error}");
            EXIT_FAIL
        }
        CompanyError::Plugin { .. } => {
            eprintln!("error: {error}");
            super::EXIT_PLUGIN_FAULT
        }
        CompanyError::Sealed { .. } => {
            eprintln!("error: {error}; is this the store's secrets key?");
            EXIT_BAD_INPUT
        }
        CompanyError::Store(_) => {
            eprintln!("error: {error}");
            EXIT_INTERNAL
        }
    }
}

/// A view turned back into a document `import` reads (no secret values).
fn document_of_view(view: &Value) -> Value {
    let mut document = serde_json::Map::new();
    for key in [
        "companyId",
        "organisationId",
        "accountingSystem",
        "baseUrl",
        "tenantId",
        "settings",
    ] {
        if let Some(value) = view.get(key).filter(|v| !v.is_null()) {
            document.insert(key.to_owned(), value.clone());
        }
    }
    if let Some(Value::Object(credentials)) = view.get("credentials") {
        let mut credentials = credentials.clone();
        for key in [
            "set",
            "fingerprint",
            "accessTokenExpiresAt",
            "lastRefreshAt",
            "status",
        ] {
            credentials.remove(key);
        }
        document.insert("credentials".to_owned(), Value::Object(credentials));
    }
    Value::Object(document)
}

fn read_json(path: &Path) -> Result<Value, u8> {
    let text = if path == Path::new("-") {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin().take_within(), &mut text).map_err(
            |error| {
                eprintln!("error: stdin: {error}");
                EXIT_BAD_INPUT
            },
        )?;
        text
    } else {
        preflight::input::read_text(path, preflight::input::Input::ConfigFile).map_err(|error| {
            eprintln!("error: {}: {error}", path.display());
            EXIT_BAD_INPUT
        })?
    };
    serde_json::from_str(&text).map_err(|error| {
        eprintln!("error: {}: not JSON: {error}", path.display());
        EXIT_BAD_INPUT
    })
}

/// Stdin read within the configuration file bound.
trait TakeWithin {
    fn take_within(self) -> std::io::Take<std::io::Stdin>;
}

impl TakeWithin for std::io::Stdin {
    fn take_within(self) -> std::io::Take<std::io::Stdin> {
        std::io::Read::take(self, preflight::input::Input::ConfigFile.limit() as u64)
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).expect("JSON values serialise")
}

fn print_table(page: &Value) {
    let views = page
        .get("companies")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    println!(
        "{:<36}  {:<16}  {:>7}  {:<26}  UPDATED",
        "COMPANY", "SYSTEM", "VERSION", "CREDENTIALS"
    );
    for view in &views {
        let text = |key: &str| {
            view.get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let credentials = view.get("credentials");
        let kind = credentials
            .and_then(|c| c.get("type"))
            .and_then(Value::as_str)
            .unwrap_or("none");
        let status = credentials
            .and_then(|c| c.get("status"))
            .and_then(Value::as_str);
        let shown = match status {
            Some(status) => format!("{kind} ({status})"),
            None => kind.to_owned(),
        };
        println!(
            "{:<36}  {:<16}  {:>7}  {:<26}  {} ({})",
            text("companyId"),
            text("accountingSystem"),
            view.get("version").and_then(Value::as_i64).unwrap_or(0),
            shown,
            text("updatedAt"),
            text("updatedVia"),
        );
    }
    println!(
        "{} compan{}",
        views.len(),
        if views.len() == 1 { "y" } else { "ies" }
    );
}
