//! Durable state: the journal of claims, outcomes and retry budgets, the
//! decision log, where detection stands, and the webhook ids already seen.
//!
//! One storage layer over two databases, chosen by URL:
//!
//! - **SQLite** (the default): one file, created on first start, e.g.
//!   `sqlite://.preflight/preflight.db` or a plain path. For one replica.
//! - **PostgreSQL**: `postgres://user@host:5432/db`, for operators who run
//!   several replicas against one database.
//!
//! The schema is versioned (`schema_migrations`); each start applies the
//! migrations it lacks, each in its own transaction, and refuses a database
//! whose schema is newer than this build knows.
//!
//! # Layout
//!
//! - this file: [`Store`] (opening by URL, the pool, retention) and
//!   [`StoreError`];
//! - [`journal`]: which replica holds which job and how far it got, written
//!   before each step is acted on (the outbox);
//! - [`decisions`]: one entry per validation: the job, the plugin, every
//!   outbound exchange, the checks and the verdict;
//! - [`companies`]: each company's integration configuration (versioned,
//!   audited, secrets sealed) and its OAuth tokens with the refresh lease;
//! - [`secrets`]: the AEAD that seals credential values at rest, and its
//!   keys;
//! - [`shadow`]: a candidate plugin version's runs on live validations'
//!   tapes, beside the live decisions;
//! - `migrations`: the schema, per database.

pub mod companies;
pub mod decisions;
pub mod journal;
mod migrations;
pub mod secrets;
pub mod shadow;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row as _};

pub use companies::{
    AuditEntry, CompanyFilter, CompanyWrite, Conflict, StoredCompany, StoredTokens, TokenWrite,
};
pub use decisions::{
    Decision, DecisionFilter, DecisionQuery, DecisionSummary, FailingCompany, HourCount, JobReport,
    ReasonCount,
};
pub use journal::{Acquired, Budget, JobRecord, JobResult, JournalEntry, Stage};

/// Where the store lives (the operator file's `[store]`).
#[derive(Debug, Clone)]
pub struct StoreSettings {
    /// The database URL; `None` keeps state in memory.
    pub url: Option<String>,
    /// This replica's id and lease.
    pub identity: Identity,
}

/// What the decision log keeps (the operator file's `[decisionLog]`).
#[derive(Debug, Clone)]
pub struct DecisionLogSettings {
    /// Fields masked: JSON keys and query parameters, any case.
    pub mask_fields: Vec<String>,
    /// Bytes of each body kept.
    pub body_bytes: usize,
    /// How long entries are kept; `None` keeps them.
    pub retention: Option<Duration>,
}

impl Default for DecisionLogSettings {
    fn default() -> Self {
        DecisionLogSettings {
            mask_fields: Vec::new(),
            body_bytes: preflight_runtime::engine::RECORD_BODY_BYTES,
            retention: Some(Duration::from_secs(30 * 86_400)),
        }
    }
}

/// Why the store could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no database preflight supports.
    #[error("store URL '{0}': expected sqlite://PATH, a file path, or postgres://…")]
    Url(String),
    /// The database refused or failed.
    #[error("store {location}: {error}")]
    Database {
        /// Where the store is (the URL without credentials).
        location: String,
        /// What went wrong.
        error: sqlx::Error,
    },
    /// The schema is newer than this build knows.
    #[error(
        "store {location}: schema version {found} is newer than this preflight knows ({known}); upgrade preflight"
    )]
    SchemaTooNew {
        /// Where the store is.
        location: String,
        /// The database's version.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
    /// Another replica took over the job (its lease had run out).
    #[error("job {0} is held by another replica now")]
    NotOwner(uuid::Uuid),
    /// A stored value could not be read back.
    #[error("store {location}: unreadable {what}: {error}")]
    Corrupt {
        /// Where the store is.
        location: String,
        /// Which value.
        what: String,
        /// Why.
        error: String,
    },
}

/// Which database a store is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The store. Cheap to clone (a connection pool).
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    location: String,
    replica: String,
    lease: Duration,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("location", &self.location)
            .field("replica", &self.replica)
            .finish()
    }
}

/// Who this process is in the store, and how long its claims hold.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The replica's id: unique among the replicas running at once.
    pub replica: String,
    /// How long a claim holds after the replica last wrote to it; after that
    /// another replica may take the job over.
    pub lease: Duration,
}

impl Default for Identity {
    fn default() -> Self {
        Identity {
            replica: default_replica_id(),
            lease: Duration::from_secs(300),
        }
    }
}

/// The host name, else `preflight`.
pub fn default_replica_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "preflight".to_owned())
}

impl Store {
    /// Opens the store at `url` (`sqlite://PATH`, `sqlite::memory:`, a file
    /// path, or `postgres://…`), creating a SQLite file and its directory if
    /// missing, and brings the schema up to date.
    pub async fn open(url: &str, identity: Identity) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (connect, backend, location, connections) = parse_url(url)?;
        if backend == Backend::Sqlite
            && let Some(dir) = sqlite_path(&connect).and_then(|p| p.parent().map(Path::to_owned))
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(&dir).map_err(|error| StoreError::Database {
                location: location.clone(),
                error: sqlx::Error::Io(error),
            })?;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(connections)
            // An in-memory SQLite database lives as long as its connection.
            .idle_timeout(None)
            .max_lifetime(None)
            .min_connections(u32::from(connect.contains(":memory:")))
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL: readers never wait for the writer; FULL: a
                        // commit survives a crash of the process and of the
                        // machine.
                        for pragma in [
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA synchronous = FULL",
                            "PRAGMA busy_timeout = 10000",
                            "PRAGMA foreign_keys = ON",
                        ] {
                            sqlx::query(pragma).execute(&mut *connection).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect(&connect)
            .await
            .map_err(|error| StoreError::Database {
                location: location.clone(),
                error,
            })?;
        let store = Store {
            pool,
            backend,
            location,
            replica: identity.replica,
            lease: identity.lease,
        };
        migrations::apply(&store).await?;
        Ok(store)
    }

    /// A store that lives as long as the process (one-shot runs and tests).
    pub async fn in_memory(identity: Identity) -> Result<Store, StoreError> {
        Store::open("sqlite::memory:", identity).await
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Where the store is, without credentials.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// This replica's id.
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// How long this replica's claims hold after it last wrote or renewed.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        migrations::current(self).await
    }

    /// Deletes what is older than `cutoff`: decision-log entries, the
    /// journals of finished jobs, and remembered webhook ids.
    pub async fn prune(&self, cutoff: SystemTime) -> Result<Pruned, StoreError> {
        let cutoff = millis(cutoff);
        let mut tx = self.begin().await?;
        let decisions = sqlx::query("DELETE FROM decisions WHERE at < $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.error(e))?
            .rows_affected();
        let finished =
            "SELECT job_id FROM jobs WHERE stage IN ('done', 'released') AND updated_at < $1";
        sqlx::query(&format!("DELETE FROM journal WHERE job_id IN ({finished})"))
            .bind(cutoff)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.error(e))?;
        let jobs =
            sqlx::query("DELETE FROM jobs WHERE stage IN ('done', 'released') AND updated_at < $1")
                .bind(cutoff)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.error(e))?
                .rows_affected();
        let webhooks = sqlx::query("DELETE FROM webhook_deliveries WHERE received_at < $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.error(e))?
            .rows_affected();
        // Shadow comparisons go with the decisions they sat beside.
        sqlx::query("DELETE FROM shadow_results WHERE at < $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.error(e))?;
        tx.commit().await.map_err(|e| self.error(e))?;
        Ok(Pruned {
            decisions,
            jobs,
            webhooks,
        })
    }

    /// Remembers webhook message `id`; false when it was seen before (a
    /// replay, or a retry of a delivery already handled).
    pub async fn first_delivery(&self, id: &str) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO webhook_deliveries (id, received_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(now_millis())
        .execute(&self.pool)
        .await
        .map_err(|e| self.error(e))?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// Closes every connection (for SQLite, checkpointing the WAL into the
    /// file); waits for those in use to be returned. Clones share the pool,
    /// so this closes theirs too.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        self.pool.begin().await.map_err(|e| self.error(e))
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The optional text column `name` read with `parse` (a wire name such
    /// as `missing_configuration`); a name `parse` does not know is a
    /// corrupt row.
    pub(crate) fn get_named<T>(
        &self,
        row: &AnyRow,
        name: &str,
        parse: fn(&str) -> Option<T>,
    ) -> Result<Option<T>, StoreError> {
        self.get::<Option<String>>(row, name)?
            .map(|text| {
                parse(&text).ok_or_else(|| self.corrupt(name, format!("unknown value '{text}'")))
            })
            .transpose()
    }

    pub(crate) fn error(&self, error: sqlx::Error) -> StoreError {
        StoreError::Database {
            location: self.location.clone(),
            error,
        }
    }

    pub(crate) fn corrupt(&self, what: &str, error: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt {
            location: self.location.clone(),
            what: what.to_owned(),
            error: error.to_string(),
        }
    }

    /// Reads column `name` of `row`.
    pub(crate) fn get<'r, T>(&self, row: &'r AnyRow, name: &str) -> Result<T, StoreError>
    where
        T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        row.try_get(name).map_err(|e| self.error(e))
    }

    /// Reads a UUID column.
    pub(crate) fn get_uuid(&self, row: &AnyRow, name: &str) -> Result<uuid::Uuid, StoreError> {
        let text: String = self.get(row, name)?;
        text.parse().map_err(|error| self.corrupt(name, error))
    }
}

/// What [`Store::prune`] deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Pruned {
    /// Decision-log entries.
    pub decisions: u64,
    /// Finished jobs (with their journals).
    pub jobs: u64,
    /// Remembered webhook ids.
    pub webhooks: u64,
}

/// Milliseconds since the Unix epoch.
pub fn millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Now, in milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    millis(SystemTime::now())
}

/// `(connect URL, backend, location for messages, pool size)`.
fn parse_url(url: &str) -> Result<(String, Backend, String, u32), StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let parsed = url::Url::parse(url).map_err(|_| StoreError::Url(url.to_owned()))?;
        let location = format!(
            "postgres://{}{}{}",
            parsed.host_str().unwrap_or(""),
            parsed.port().map(|p| format!(":{p}")).unwrap_or_default(),
            parsed.path()
        );
        return Ok((url.to_owned(), Backend::Postgres, location, 8));
    }
    if url == "sqlite::memory:" || url == ":memory:" {
        return Ok((
            "sqlite::memory:".to_owned(),
            Backend::Sqlite,
            "sqlite::memory:".to_owned(),
            1,
        ));
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    if path.is_empty() || path.contains("://") {
        return Err(StoreError::Url(url.to_owned()));
    }
    // `mode=rwc`: create the file when missing. One connection: SQLite
    // takes one writer at a time, and writers of one process queueing for a
    // connection wait less than several connections polling for the file's
    // lock (its busy handler sleeps up to 100 ms between tries; with four,
    // a claim under a burst of jobs waited over a second). Other processes
    // (`preflight outcomes`) still read alongside, thanks to the WAL.
    Ok((
        format!("sqlite://{path}?mode=rwc"),
        Backend::Sqlite,
        path.to_owned(),
        1,
    ))
}

fn sqlite_path(connect: &str) -> Option<PathBuf> {
    let rest = connect.strip_prefix("sqlite://")?;
    let path = rest.split('?').next()?;
    (!path.contains(":memory:")).then(|| PathBuf::from(path))
}

/// The database file of a SQLite store URL (`None` for PostgreSQL or an
/// in-memory database).
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let (connect, backend, _, _) = parse_url(url).ok()?;
    (backend == Backend::Sqlite)
        .then(|| sqlite_path(&connect))
        .flatten()
}

/// The default store of a state directory.
pub fn default_url(state_dir: &Path) -> String {
    format!("sqlite://{}", state_dir.join("preflight.db").display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_database_and_hide_credentials() {
        let (connect, backend, location, _) =
            parse_url("postgres://preflight:s3cret@127.0.0.1:5432/preflight").unwrap();
        assert_eq!(backend, Backend::Postgres);
        assert!(connect.contains("s3cret"));
        assert_eq!(location, "postgres://127.0.0.1:5432/preflight");
        let (connect, backend, location, _) = parse_url("sqlite://state/p.db").unwrap();
        assert_eq!(backend, Backend::Sqlite);
        assert_eq!(connect, "sqlite://state/p.db?mode=rwc");
        assert_eq!(location, "state/p.db");
        assert_eq!(parse_url("/var/lib/p.db").unwrap().2, "/var/lib/p.db");
        assert!(matches!(
            parse_url("mysql://x/y"),
            Err(StoreError::Url(url)) if url == "mysql://x/y"
        ));
        assert_eq!(
            sqlite_path("sqlite://state/p.db?mode=rwc"),
            Some(PathBuf::from("state/p.db"))
        );
    }
}
