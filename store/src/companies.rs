//! Companies: each one's integration configuration, versioned, with an
//! audit trail of every change; and its live OAuth tokens with the lease
//! that lets one replica at a time refresh them.
//!
//! The store keeps what it is given: documents and tokens arrive with their
//! secret values already sealed ([`crate::secrets::Sealer`]), so nothing
//! here ever holds a secret in clear. Every write of a configuration is a
//! compare-and-set on its version, in one transaction with its audit entry.

use std::time::Duration;

use sqlx::any::AnyRow;

use super::{Store, StoreError, now_millis};

/// A company as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCompany {
    /// The Pleo company.
    pub company_id: uuid::Uuid,
    /// The Pleo organisation it belongs to, when known.
    pub organisation_id: Option<uuid::Uuid>,
    /// The accounting system id (also in the document), for filtering.
    pub accounting_system: String,
    /// The configuration document, secret values sealed.
    pub document: serde_json::Value,
    /// Bumped by every change; the first is 1.
    pub version: i64,
    /// The digest of the operator file's entry last imported, sealed.
    pub file_digest: Option<String>,
    /// When it was first written (ms since the epoch).
    pub created_at: i64,
    /// When it was last changed.
    pub updated_at: i64,
    /// Through which interface it was last changed (`api`, `cli`, `file`).
    pub updated_via: String,
}

/// A company's OAuth tokens as stored, sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTokens {
    /// The access token, sealed.
    pub access: String,
    /// The refresh token, sealed.
    pub refresh: String,
    /// When the access token expires (ms since the epoch), when known.
    pub expires_at: Option<i64>,
    /// When the tokens were last refreshed.
    pub refreshed_at: Option<i64>,
    /// The token endpoint refused the refresh token: reconnect needed.
    pub revoked: bool,
    /// Counts token sets: 1 when written with the configuration, +1 per
    /// refresh.
    pub generation: i64,
}

/// What a configuration write does to the company's OAuth tokens.
#[derive(Debug, Clone)]
pub enum TokenWrite {
    /// Leaves them as they are (the credentials did not change).
    Keep,
    /// Replaces them (new credentials: a new connection), sealed.
    Replace {
        /// The access token, sealed.
        access: String,
        /// The refresh token, sealed.
        refresh: String,
    },
    /// Removes them (the credentials are no longer OAuth).
    Remove,
}

/// One configuration write.
#[derive(Debug, Clone)]
pub struct CompanyWrite<'a> {
    /// The company.
    pub company_id: uuid::Uuid,
    /// Its Pleo organisation.
    pub organisation_id: Option<uuid::Uuid>,
    /// The accounting system id.
    pub accounting_system: &'a str,
    /// The document, secret values sealed.
    pub document: &'a serde_json::Value,
    /// The version the writer read: `Some(0)` for "must not exist yet",
    /// `None` for any.
    pub expected: Option<i64>,
    /// `api`, `cli` or `file`.
    pub via: &'a str,
    /// The fields changed, by name (for the audit trail).
    pub fields: &'a [String],
    /// The operator file entry's digest, for an import from the file.
    pub file_digest: Option<&'a str>,
    /// What happens to the OAuth tokens.
    pub tokens: TokenWrite,
}

/// A write that lost its compare-and-set: the version now stored (`None`:
/// no such company).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conflict {
    /// The version stored now.
    pub current: Option<i64>,
}

/// One change in a company's audit trail.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// The version the change made (for a removal, the version removed).
    pub version: i64,
    /// `created`, `updated`, `removed` or `resealed`.
    pub action: String,
    /// Through which interface.
    pub via: String,
    /// The fields changed, by name.
    pub fields: Vec<String>,
    /// When (ms since the epoch; RFC 3339 in JSON).
    #[serde(serialize_with = "rfc3339")]
    pub at: i64,
}

fn rfc3339<S: serde::Serializer>(millis: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    let at = std::time::UNIX_EPOCH + Duration::from_millis(u64::try_from(*millis).unwrap_or(0));
    serializer.collect_str(&humantime::format_rfc3339_millis(at))
}

/// Which companies a listing returns.
#[derive(Debug, Clone, Default)]
pub struct CompanyFilter {
    /// Only this accounting system.
    pub accounting_system: Option<String>,
    /// Only this Pleo organisation.
    pub organisation_id: Option<uuid::Uuid>,
    /// Only companies whose id sorts after this one (paging).
    pub after: Option<uuid::Uuid>,
    /// At most this many (the store caps it at 1,000).
    pub limit: Option<u32>,
}

/// The largest page a listing returns.
pub const MAX_PAGE: u32 = 1_000;

const COLUMNS: &str = "company_id, organisation_id, accounting_system, document, version, file_digest, created_at, updated_at, updated_via";

impl Store {
    /// The company `id`, if stored.
    pub async fn company(&self, id: uuid::Uuid) -> Result<Option<StoredCompany>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM companies WHERE company_id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await
        .map_err(|e| self.error(e))?;
        row.map(|row| self.company_row(&row)).transpose()
    }

    /// The companies `filter` selects, by id.
    pub async fn companies(
        &self,
        filter: &CompanyFilter,
    ) -> Result<Vec<StoredCompany>, StoreError> {
        let limit = i64::from(filter.limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE));
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM companies
             WHERE ($1 IS NULL OR accounting_system = $1)
               AND ($2 IS NULL OR organisation_id = $2)
               AND ($3 IS NULL OR company_id > $3)
             ORDER BY company_id LIMIT $4"
        ))
        .bind(filter.accounting_system.clone())
        .bind(filter.organisation_id.map(|id| id.to_string()))
        .bind(filter.after.map(|id| id.to_string()))
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.error(e))?;
        rows.iter().map(|row| self.company_row(row)).collect()
    }

    /// Every stored company's id, version and organisation, by id (for
    /// the runner's sweep, and for visiting each, such as re-sealing under a
    /// new key).
    pub async fn company_index(
        &self,
    ) -> Result<Vec<(uuid::Uuid, i64, Option<uuid::Uuid>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT company_id, version, organisation_id FROM companies ORDER BY company_id",
        )
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.error(e))?;
        rows.iter()
            .map(|row| {
                let organisation: Option<String> = self.get(row, "organisation_id")?;
                Ok((
                    self.get_uuid(row, "company_id")?,
                    self.get(row, "version")?,
                    organisation
                        .map(|text| text.parse())
                        .transpose()
                        .map_err(|error| self.corrupt("companies.organisation_id", error))?,
                ))
            })
            .collect()
    }

    /// Writes a configuration when the stored version is `write.expected`
    /// (or anything, for `None`); the new version, or the conflict.
    pub async fn write_company(
        &self,
        write: &CompanyWrite<'_>,
    ) -> Result<Result<i64, Conflict>, StoreError> {
        let now = now_millis();
        let id = write.company_id.to_string();
        let mut tx = self.begin().await?;
        let current: Option<i64> =
            sqlx::query_scalar("SELECT version FROM companies WHERE company_id = $1")
                .bind(&id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| self.error(e))?;
        if let Some(expected) = write.expected
            && current.unwrap_or(0) != expected
        {
            return Ok(Err(Conflict { current }));
        }
        let document = write.document.to_string();
        let organisation = write.organisation_id.map(|id| id.to_string());
        let version = current.unwrap_or(0) + 1;
        let changed = match current {
            None => sqlx::query(
                "INSERT INTO companies (company_id, organisation_id, accounting_system, document, version,
                     file_digest, created_at, updated_at, updated_via)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)
                 ON CONFLICT (company_id) DO NOTHING",
            )
            .bind(&id)
            .bind(&organisation)
            .bind(write.accounting_system)
            .bind(&document)
            .bind(version)
            .bind(write.file_digest)
            .bind(now)
            .bind(write.via)
            .execute(&mut *tx)
            .await,
            Some(current) => sqlx::query(
                "UPDATE companies SET organisation_id = $2, accounting_system = $3, document = $4,
                     version = $5, file_digest = COALESCE($6, file_digest), updated_at = $7, updated_via = $8
                 WHERE company_id = $1 AND version = $9",
            )
            .bind(&id)
            .bind(&organisation)
            .bind(write.accounting_system)
            .bind(&document)
            .bind(version)
            .bind(write.file_digest)
            .bind(now)
            .bind(write.via)
            .bind(current)
            .execute(&mut *tx)
            .await,
        }
        .map_err(|e| self.error(e))?
        .rows_affected();
        if changed != 1 {
            // Another writer came in between (PostgreSQL reads committed).
            let current: Option<i64> =
                sqlx::query_scalar("SELECT version FROM companies WHERE company_id = $1")
                    .bind(&id)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(|e| self.error(e))?;
            return Ok(Err(Conflict { current }));
        }
        match &write.tokens {
            TokenWrite::Keep => {}
            TokenWrite::Remove => {
                sqlx::query("DELETE FROM oauth_tokens WHERE company_id = $1")
                    .bind(&id)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| self.error(e))?;
            }
            TokenWrite::Replace { access, refresh } => {
                sqlx::query(
                    "INSERT INTO oauth_tokens (company_id, access_token, refresh_token, generation)
                     VALUES ($1, $2, $3, 1)
                     ON CONFLICT (company_id) DO UPDATE SET access_token = $2, refresh_token = $3,
                         expires_at = NULL, refreshed_at = NULL, revoked = 0,
                         generation = oauth_tokens.generation + 1, lease_owner = NULL, lease_until = 0",
                )
                .bind(&id)
                .bind(access)
                .bind(refresh)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.error(e))?;
            }
        }
        let action = if current.is_none() {
            "created"
        } else {
            "updated"
        };
        let entry = AuditEntry {
            version,
            action: action.to_owned(),
            via: write.via.to_owned(),
            fields: write.fields.to_vec(),
            at: now,
        };
        self.audit(&mut tx, &id, entry).await?;
        tx.commit().await.map_err(|e| self.error(e))?;
        Ok(Ok(version))
    }

    /// Removes company `id` (when at version `expected`, for `Some`) with
    /// its tokens; the version removed, or the conflict.
    pub async fn remove_company(
        &self,
        id: uuid::Uuid,
        expected: Option<i64>,
        via: &str,
    ) -> Result<Result<i64, Conflict>, StoreError> {
        let id = id.to_string();
        let mut tx = self.begin().await?;
        let current: Option<i64> =
            sqlx::query_scalar("SELECT version FROM companies WHERE company_id = $1")
                .bind(&id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| self.error(e))?;
        let Some(version) = current.filter(|v| expected.is_none_or(|e| e == *v)) else {
            return Ok(Err(Conflict { current }));
        };
        let removed = sqlx::query("DELETE FROM companies WHERE company_id = $1 AND version = $2")
            .bind(&id)
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.error(e))?
            .rows_affected();
        if removed != 1 {
            return Ok(Err(Conflict { current: None }));
        }
        sqlx::query("DELETE FROM oauth_tokens WHERE company_id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.error(e))?;
        let entry = AuditEntry {
            version,
            action: "removed".to_owned(),
            via: via.to_owned(),
            fields: Vec::new(),
            at: now_millis(),
        };
        self.audit(&mut tx, &id, entry).await?;
        tx.commit().await.map_err(|e| self.error(e))?;
        Ok(Ok(version))
    }

    /// Replaces a company's document with the same values sealed anew (a
    /// key rotation) when it is still at `version`; false when it changed
    /// meanwhile (the caller reads it again). The version stays: nothing
    /// changed but the sealing.
    pub async fn reseal_company(
        &self,
        id: uuid::Uuid,
        version: i64,
        document: &serde_json::Value,
        file_digest: Option<&str>,
        via: &str,
    ) -> Result<bool, StoreError> {
        let id = id.to_string();
        let mut tx = self.begin().await?;
        let changed = sqlx::query(
            "UPDATE companies SET document = $3, file_digest = $4 WHERE company_id = $1 AND version = $2",
        )
        .bind(&id)
        .bind(version)
        .bind(document.to_string())
        .bind(file_digest)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.error(e))?
                .rows_affected();
        if changed == 1 {
            let entry = AuditEntry {
                version,
                action: "resealed".to_owned(),
                via: via.to_owned(),
                fields: Vec::new(),
                at: now_millis(),
            };
            self.audit(&mut tx, &id, entry).await?;
        }
        tx.commit().await.map_err(|e| self.error(e))?;
        Ok(changed == 1)
    }

    /// The trail of company `id`'s changes, oldest first (also after it
    /// was removed).
    pub async fn company_audit(&self, id: uuid::Uuid) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, action, via, fields, at FROM company_audit WHERE company_id = $1 ORDER BY seq",
        )
        .bind(id.to_string())
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.error(e))?;
        rows.iter()
            .map(|row| {
                let fields: String = self.get(row, "fields")?;
                Ok(AuditEntry {
                    version: self.get(row, "version")?,
                    action: self.get(row, "action")?,
                    via: self.get(row, "via")?,
                    fields: serde_json::from_str(&fields)
                        .map_err(|error| self.corrupt("company_audit.fields", error))?,
                    at: self.get(row, "at")?,
                })
            })
            .collect()
    }

    /// Company `id`'s OAuth tokens, if it has any.
    pub async fn tokens(&self, id: uuid::Uuid) -> Result<Option<StoredTokens>, StoreError> {
        let row = sqlx::query(
            "SELECT access_token, refresh_token, expires_at, refreshed_at, revoked, generation
             FROM oauth_tokens WHERE company_id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await
        .map_err(|e| self.error(e))?;
        row.map(|row| {
            Ok(StoredTokens {
                access: self.get(&row, "access_token")?,
                refresh: self.get(&row, "refresh_token")?,
                expires_at: self.get(&row, "expires_at")?,
                refreshed_at: self.get(&row, "refreshed_at")?,
                revoked: self.get::<i64>(&row, "revoked")? != 0,
                generation: self.get(&row, "generation")?,
            })
        })
        .transpose()
    }

    /// Stores `tokens` (sealed) for `id` when none are stored, or replaces
    /// tokens whose grant was refused (a reconnect); a live grant is left
    /// as it is. For grants without a company configuration (a Pleo
    /// organisation's).
    pub async fn seed_tokens(
        &self,
        id: uuid::Uuid,
        tokens: &StoredTokens,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_tokens (company_id, access_token, refresh_token, expires_at, generation)
             VALUES ($1, $2, $3, $4, 1)
             ON CONFLICT (company_id) DO UPDATE SET access_token = $2, refresh_token = $3,
                 expires_at = $4, refreshed_at = NULL, revoked = 0,
                 generation = oauth_tokens.generation + 1, lease_owner = NULL, lease_until = 0
             WHERE oauth_tokens.revoked = 1",
        )
        .bind(id.to_string())
        .bind(&tokens.access)
        .bind(&tokens.refresh)
        .bind(tokens.expires_at)
        .execute(self.pool())
        .await
        .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// Takes company `id`'s refresh lease for `holder` for `ttl`: true
    /// when it was free, had run out, or was `holder`'s already.
    pub async fn lease_tokens(
        &self,
        id: uuid::Uuid,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let now = now_millis();
        let until = now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        let taken = sqlx::query(
            "UPDATE oauth_tokens SET lease_owner = $2, lease_until = $3
             WHERE company_id = $1 AND (lease_until < $4 OR lease_owner = $2 OR lease_owner IS NULL)",
        )
        .bind(id.to_string())
        .bind(holder)
        .bind(until)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(|e| self.error(e))?
        .rows_affected();
        Ok(taken == 1)
    }

    /// Keeps a refresh's tokens (sealed) and ends `holder`'s lease: false
    /// when `holder` no longer held it (it ran out and another replica took
    /// it), and nothing was written.
    pub async fn save_tokens(
        &self,
        id: uuid::Uuid,
        holder: &str,
        tokens: &StoredTokens,
    ) -> Result<bool, StoreError> {
        let saved = sqlx::query(
            "UPDATE oauth_tokens SET access_token = $3, refresh_token = $4, expires_at = $5,
                 refreshed_at = $6, revoked = 0, generation = generation + 1,
                 lease_owner = NULL, lease_until = 0
             WHERE company_id = $1 AND lease_owner = $2",
        )
        .bind(id.to_string())
        .bind(holder)
        .bind(&tokens.access)
        .bind(&tokens.refresh)
        .bind(tokens.expires_at)
        .bind(tokens.refreshed_at)
        .execute(self.pool())
        .await
        .map_err(|e| self.error(e))?
        .rows_affected();
        Ok(saved == 1)
    }

    /// Ends `holder`'s lease after a refresh that failed; `revoked` marks
    /// the grant as refused, so no replica tries it again until new
    /// credentials are written.
    pub async fn release_tokens(
        &self,
        id: uuid::Uuid,
        holder: &str,
        revoked: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE oauth_tokens SET lease_owner = NULL, lease_until = 0,
                 revoked = CASE WHEN $3 > revoked THEN $3 ELSE revoked END
             WHERE company_id = $1 AND lease_owner = $2",
        )
        .bind(id.to_string())
        .bind(holder)
        .bind(i64::from(revoked))
        .execute(self.pool())
        .await
        .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// Replaces company `id`'s tokens with the same values sealed anew
    /// when they are still at `generation`; false when a refresh came in
    /// between.
    pub async fn reseal_tokens(
        &self,
        id: uuid::Uuid,
        generation: i64,
        access: &str,
        refresh: &str,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query(
            "UPDATE oauth_tokens SET access_token = $3, refresh_token = $4
             WHERE company_id = $1 AND generation = $2",
        )
        .bind(id.to_string())
        .bind(generation)
        .bind(access)
        .bind(refresh)
        .execute(self.pool())
        .await
        .map_err(|e| self.error(e))?
        .rows_affected();
        Ok(changed == 1)
    }

    async fn audit(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        id: &str,
        entry: AuditEntry,
    ) -> Result<(), StoreError> {
        let AuditEntry {
            version,
            action,
            via,
            fields,
            at,
        } = entry;
        sqlx::query(
            "INSERT INTO company_audit (company_id, version, action, via, fields, at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(version)
        .bind(action)
        .bind(via)
        .bind(serde_json::to_string(&fields).expect("strings serialise"))
        .bind(at)
        .execute(&mut **tx)
        .await
        .map_err(|e| self.error(e))?;
        Ok(())
    }

    fn company_row(&self, row: &AnyRow) -> Result<StoredCompany, StoreError> {
        let document: String = self.get(row, "document")?;
        let organisation: Option<String> = self.get(row, "organisation_id")?;
        Ok(StoredCompany {
            company_id: self.get_uuid(row, "company_id")?,
            organisation_id: organisation
                .map(|text| text.parse())
                .transpose()
                .map_err(|error| self.corrupt("companies.organisation_id", error))?,
            accounting_system: self.get(row, "accounting_system")?,
            document: serde_json::from_str(&document)
                .map_err(|error| self.corrupt("companies.document", error))?,
            version: self.get(row, "version")?,
            file_digest: self.get(row, "file_digest")?,
            created_at: self.get(row, "created_at")?,
            updated_at: self.get(row, "updated_at")?,
            updated_via: self.get(row, "updated_via")?,
        })
    }
}
