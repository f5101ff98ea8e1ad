//! The schema, as versioned migrations. A migration is never edited once
//! released: a change is a new migration. The SQL differs between the
//! databases only where they spell things differently (auto-incrementing
//! keys, floating point).

use super::{Backend, Store, StoreError, now_millis};

struct Migration {
    version: i64,
    name: &'static str,
    /// Statements, with `{serial}` and `{real}` spelled per database.
    statements: &'static [&'static str],
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "journal, decision log, webhook deliveries",
        statements: &[
            // One row per job this store has seen: its current stage and which
            // replica holds it until when. `version` makes every change a
            // compare-and-set, so two replicas never both win a job.
            "CREATE TABLE jobs (
            job_id TEXT PRIMARY KEY,
            company_id TEXT NOT NULL,
            stage TEXT NOT NULL,
            reason TEXT,
            message TEXT,
            outcome TEXT,
            owner TEXT NOT NULL,
            lease_until BIGINT NOT NULL,
            version BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        )",
            "CREATE INDEX jobs_open ON jobs (stage, lease_until)",
            // Every stage a job went through, in order: the history behind `jobs`.
            "CREATE TABLE journal (
            seq {serial},
            job_id TEXT NOT NULL,
            stage TEXT NOT NULL,
            reason TEXT,
            message TEXT,
            outcome TEXT,
            replica TEXT NOT NULL,
            at BIGINT NOT NULL
        )",
            "CREATE INDEX journal_job ON journal (job_id, seq)",
            "CREATE TABLE decisions (
            id {serial},
            job_id TEXT NOT NULL,
            company_id TEXT NOT NULL,
            accounting_system TEXT,
            plugin_name TEXT,
            plugin_version TEXT,
            plugin_digest TEXT,
            wit_version TEXT,
            replica TEXT NOT NULL,
            attempt BIGINT NOT NULL,
            at BIGINT NOT NULL,
            elapsed_ms {real} NOT NULL,
            verdict TEXT NOT NULL,
            reason TEXT,
            message TEXT,
            check_id TEXT,
            fault TEXT,
            verdict_json TEXT NOT NULL,
            job TEXT NOT NULL,
            config TEXT,
            checks TEXT NOT NULL,
            exchanges TEXT NOT NULL
        )",
            "CREATE INDEX decisions_job ON decisions (job_id, id)",
            "CREATE INDEX decisions_at ON decisions (at)",
            "CREATE INDEX decisions_company ON decisions (company_id, at)",
            "CREATE TABLE webhook_deliveries (
            id TEXT PRIMARY KEY,
            received_at BIGINT NOT NULL
        )",
        ],
    },
    Migration {
        version: 2,
        name: "retry budgets in the journal, detection cursors",
        statements: &[
            // A job's retry budget survives restarts and takeovers: the
            // validations counted so far, when the first and the last began,
            // and the last one's transient verdict (JSON) to fail with once
            // the budget is spent.
            "ALTER TABLE jobs ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE jobs ADD COLUMN first_attempt_at BIGINT",
            "ALTER TABLE jobs ADD COLUMN last_attempt_at BIGINT",
            "ALTER TABLE jobs ADD COLUMN last_verdict TEXT",
            // Where each replica's sweep over the watched companies stands,
            // so a restart goes on from there instead of from the start.
            "CREATE TABLE detection_cursors (
                replica TEXT PRIMARY KEY,
                company_id TEXT NOT NULL,
                at BIGINT NOT NULL
            )",
        ],
    },
    Migration {
        version: 3,
        name: "companies, their audit trail, OAuth tokens",
        statements: &[
            // One row per company: its integration configuration as JSON,
            // every secret value in it sealed (store::secrets), and a
            // version that every write bumps (compare-and-set).
            // `file_digest` is the digest (sealed) of the operator file's entry
            // last imported, so an unchanged entry is not imported again.
            "CREATE TABLE companies (
                company_id TEXT PRIMARY KEY,
                organisation_id TEXT,
                accounting_system TEXT NOT NULL,
                document TEXT NOT NULL,
                version BIGINT NOT NULL,
                file_digest TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                updated_via TEXT NOT NULL
            )",
            "CREATE INDEX companies_system ON companies (accounting_system, company_id)",
            // Every change: when, through which interface, which fields
            // (names only, never a value).
            "CREATE TABLE company_audit (
                seq {serial},
                company_id TEXT NOT NULL,
                version BIGINT NOT NULL,
                action TEXT NOT NULL,
                via TEXT NOT NULL,
                fields TEXT NOT NULL,
                at BIGINT NOT NULL
            )",
            "CREATE INDEX company_audit_company ON company_audit (company_id, seq)",
            // A company's live OAuth tokens (sealed), apart from its
            // configuration: refreshes rotate them without a new version.
            // `generation` counts the token sets; the lease lets one replica
            // refresh at a time.
            "CREATE TABLE oauth_tokens (
                company_id TEXT PRIMARY KEY,
                access_token TEXT NOT NULL,
                refresh_token TEXT NOT NULL,
                expires_at BIGINT,
                refreshed_at BIGINT,
                revoked BIGINT NOT NULL DEFAULT 0,
                generation BIGINT NOT NULL,
                lease_owner TEXT,
                lease_until BIGINT NOT NULL DEFAULT 0
            )",
        ],
    },
    Migration {
        version: 4,
        name: "shadow comparisons",
        statements: &[
            // One row per live validation a shadow candidate was run on:
            // both verdicts, the checks that differ and the requests the
            // candidate needed that were not on the tape (JSON lists).
            "CREATE TABLE shadow_results (
                id {serial},
                job_id TEXT NOT NULL,
                company_id TEXT NOT NULL,
                accounting_system TEXT NOT NULL,
                live TEXT NOT NULL,
                candidate TEXT NOT NULL,
                live_verdict TEXT NOT NULL,
                live_reason TEXT,
                candidate_verdict TEXT NOT NULL,
                candidate_reason TEXT,
                changed TEXT NOT NULL,
                misses TEXT NOT NULL,
                fault TEXT,
                at BIGINT NOT NULL
            )",
            "CREATE INDEX shadow_results_candidate ON shadow_results (accounting_system, candidate, id)",
        ],
    },
    Migration {
        version: 5,
        name: "an index the console's counts read instead of the decisions",
        statements: &[
            // The overview counts the last day's validations by system, hour,
            // verdict, reason and company: with every column it reads in one
            // index, the counts never touch the rows (each holds the job,
            // the configuration, the checks and the exchanges).
            "CREATE INDEX decisions_counts ON decisions (at, accounting_system, verdict, reason, company_id)",
        ],
    },
];

/// The newest schema version this build knows.
pub(super) fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

fn spell(statement: &str, backend: Backend) -> String {
    let (serial, real) = match backend {
        Backend::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "REAL"),
        Backend::Postgres => ("BIGSERIAL PRIMARY KEY", "DOUBLE PRECISION"),
    };
    statement
        .replace("{serial}", serial)
        .replace("{real}", real)
}

/// The version the database is at (0 for a new one).
pub(super) async fn current(store: &Store) -> Result<i64, StoreError> {
    let version: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
        .fetch_one(store.pool())
        .await
        .map_err(|e| store.error(e))?;
    Ok(version.unwrap_or(0))
}

/// Applies the migrations the database lacks. Replicas starting together
/// race on `schema_migrations`' key: the loser's transaction rolls back and
/// it reads the version again.
pub(super) async fn apply(store: &Store) -> Result<(), StoreError> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at BIGINT NOT NULL
        )",
    )
    .execute(store.pool())
    .await
    .map_err(|e| store.error(e))?;
    for _ in 0..5 {
        let found = current(store).await?;
        if found > latest() {
            return Err(StoreError::SchemaTooNew {
                location: store.location().to_owned(),
                found,
                known: latest(),
            });
        }
        let mut raced = false;
        for migration in MIGRATIONS.iter().filter(|m| m.version > found) {
            match apply_one(store, migration).await {
                Ok(()) => {
                    tracing::info!(
                        store = store.location(),
                        version = migration.version,
                        name = migration.name,
                        "schema migrated"
                    );
                }
                Err(error) if is_unique_violation(&error) => {
                    raced = true;
                    break;
                }
                Err(error) => return Err(store.error(error)),
            }
        }
        if !raced {
            return Ok(());
        }
    }
    Err(store.corrupt(
        "schema_migrations",
        "other processes kept migrating at the same time",
    ))
}

async fn apply_one(store: &Store, migration: &Migration) -> Result<(), sqlx::Error> {
    let mut tx = store.pool().begin().await?;
    // The version first: a concurrent migrator blocks here (PostgreSQL) or
    // on the write lock (SQLite) and then fails on the key.
    sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
        .bind(migration.version)
        .bind(migration.name)
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
    for statement in migration.statements {
        sqlx::query(&spell(statement, store.backend()))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// Whether `error` is a unique-key violation.
pub(super) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}
