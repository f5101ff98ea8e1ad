//! The journal: which replica holds which job, and how far it got. Every
//! stage is written before it is acted on (an outbox): `claiming` before
//! `started` is posted, the verdict (`failing` with its reason and message,
//! or `handing_over`) before the event or the handover, `done` after.
//!
//! A replica *holds* a job from [`Store::acquire`] until its lease runs out;
//! each write renews the lease, and so does [`Store::renew`] while a step is
//! in flight. Replicas never hold the same job at once: every change is a
//! compare-and-set on the row's `version`.
//!
//! Each job also carries its retry budget ([`Budget`]): the validations
//! counted so far ([`Store::log_attempt`]), when the first began, and the
//! last one's verdict, so restarts and takeovers never reset it.

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;

use super::migrations::is_unique_violation;
use super::{Store, StoreError, now_millis};
use preflight_runtime::report::{FailureReason, Verdict};

/// How far a job got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Stage {
    /// About to post `started`.
    Claiming,
    /// `started` accepted: the job is ours to validate.
    Claimed,
    /// The verdict is to fail: about to post `failed` with this reason and
    /// message (the event intent).
    Failing {
        /// The reason type.
        reason: FailureReason,
        /// The message.
        message: String,
    },
    /// The verdict is to proceed: about to hand the job over.
    HandingOver,
    /// Finished.
    Done {
        /// What became of the job.
        outcome: JobResult,
    },
    /// Given up without an outcome of ours (another worker claimed it, or
    /// the claim could not be made); a later poll may claim it again.
    Released,
}

/// What became of a finished job: the one spelling shared by the journal,
/// the runner and the decision log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobResult {
    /// Failed early: `failed` posted and confirmed.
    Failed,
    /// Valid: handed over to item processing.
    HandedOver,
    /// Pleo ended the job meanwhile (expired, cancelled, vanished).
    EndedByPleo,
}

impl JobResult {
    /// The name as stored and shown: `failed`, `handed_over`,
    /// `ended_by_pleo`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobResult::Failed => "failed",
            JobResult::HandedOver => "handed_over",
            JobResult::EndedByPleo => "ended_by_pleo",
        }
    }

    /// The result stored as `name`.
    pub fn from_name(name: &str) -> Option<JobResult> {
        [
            JobResult::Failed,
            JobResult::HandedOver,
            JobResult::EndedByPleo,
        ]
        .into_iter()
        .find(|result| result.as_str() == name)
    }
}

impl std::fmt::Display for JobResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Stage {
    /// The stage's name as stored.
    pub fn name(&self) -> &'static str {
        match self {
            Stage::Claiming => "claiming",
            Stage::Claimed => "claimed",
            Stage::Failing { .. } => "failing",
            Stage::HandingOver => "handing_over",
            Stage::Done { .. } => "done",
            Stage::Released => "released",
        }
    }

    /// Whether nothing is left to do for the job.
    pub fn is_final(&self) -> bool {
        matches!(self, Stage::Done { .. } | Stage::Released)
    }

    fn columns(&self) -> (Option<&'static str>, Option<&str>, Option<&str>) {
        match self {
            Stage::Failing { reason, message } => (Some(reason.as_str()), Some(message), None),
            Stage::Done { outcome } => (None, None, Some(outcome.as_str())),
            _ => (None, None, None),
        }
    }
}

/// The journal's view of one job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobRecord {
    /// The job.
    pub job_id: uuid::Uuid,
    /// Its company.
    pub company_id: uuid::Uuid,
    /// How far it got.
    #[serde(flatten)]
    pub stage: Stage,
    /// The replica holding it (or that held it last).
    pub owner: String,
    /// Until when, in milliseconds since the epoch.
    pub lease_until: i64,
    /// Last change, in milliseconds since the epoch.
    pub updated_at: i64,
    /// Validations counted against the retry budget.
    pub attempts: u32,
}

/// A job's retry budget as far as it is spent: what survives restarts and
/// replica takeovers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Budget {
    /// Validations counted so far.
    pub attempts: u32,
    /// When the first of them began, in milliseconds since the epoch.
    pub first_attempt_at: Option<i64>,
    /// When the last of them began.
    pub last_attempt_at: Option<i64>,
    /// The last one's verdict.
    pub last_verdict: Option<Verdict>,
}

/// One line of a job's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalEntry {
    /// Order of writing, across all jobs.
    pub seq: i64,
    /// The job.
    pub job_id: uuid::Uuid,
    /// The stage reached.
    #[serde(flatten)]
    pub stage: Stage,
    /// The replica that wrote it.
    pub replica: String,
    /// When, in milliseconds since the epoch.
    pub at: i64,
}

/// What [`Store::acquire`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    /// The job is new to the journal (or was released): it is now ours, at
    /// [`Stage::Claiming`].
    New,
    /// We held it before (a restart) or its holder's lease ran out: it is
    /// ours again, at this stage.
    Resumed(Stage),
    /// Nothing is left to do.
    Finished(Stage),
    /// Another replica holds it.
    HeldBy {
        /// That replica.
        owner: String,
        /// Until when, in milliseconds since the epoch.
        lease_until: i64,
    },
}

const COLUMNS: &str = "job_id, company_id, stage, reason, message, outcome, owner, lease_until, version, updated_at, attempts";

impl Store {
    /// Takes `job` for this replica, unless another replica holds it.
    pub async fn acquire(
        &self,
        job: uuid::Uuid,
        company: uuid::Uuid,
    ) -> Result<Acquired, StoreError> {
        for _ in 0..8 {
            let now = now_millis();
            let until = now + self.lease_millis();
            let Some((record, version)) = self.fetch(job).await? else {
                let mut tx = self.begin().await?;
                let inserted = sqlx::query(
                    "INSERT INTO jobs (job_id, company_id, stage, owner, lease_until, version, updated_at, created_at) VALUES ($1, $2, 'claiming', $3, $4, 1, $5, $5)",
                )
                .bind(job.to_string())
                .bind(company.to_string())
                .bind(&self.replica)
                .bind(until)
                .bind(now)
                .execute(&mut *tx)
                .await;
                match inserted {
                    Ok(_) => {}
                    Err(error) if is_unique_violation(&error) => continue,
                    Err(error) => return Err(self.error(error)),
                }
                self.append(&mut tx, job, &Stage::Claiming, now).await?;
                tx.commit().await.map_err(|e| self.error(e))?;
                return Ok(Acquired::New);
            };
            if matches!(record.stage, Stage::Done { .. }) {
                return Ok(Acquired::Finished(record.stage));
            }
            let released = record.stage == Stage::Released;
            if !released && record.owner != self.replica && record.lease_until >= now {
                return Ok(Acquired::HeldBy {
                    owner: record.owner,
                    lease_until: record.lease_until,
                });
            }
            let stage = if released {
                Stage::Claiming
            } else {
                record.stage.clone()
            };
            let (reason, message, outcome) = stage.columns();
            // A released job is claimed afresh, with a budget of its own.
            let reset = if released {
                ", attempts = 0, first_attempt_at = NULL, last_attempt_at = NULL, last_verdict = NULL"
            } else {
                ""
            };
            let mut tx = self.begin().await?;
            let won = sqlx::query(&format!(
                "UPDATE jobs SET owner = $1, lease_until = $2, stage = $3, reason = $4, message = $5, outcome = $6, version = version + 1, updated_at = $7{reset} WHERE job_id = $8 AND version = $9",
            ))
            .bind(&self.replica)
            .bind(until)
            .bind(stage.name())
            .bind(reason)
            .bind(message)
            .bind(outcome)
            .bind(now)
            .bind(job.to_string())
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.error(e))?
            .rows_affected();
            if won == 0 {
                continue;
            }
            if released {
                self.append(&mut tx, job, &Stage::Claiming, now).await?;
            }
            tx.commit().await.map_err(|e| self.error(e))?;
            if record.owner != self.replica && !released {
                tracing::warn!(%job, previous = %record.owner, "took over a job whose holder's lease ran out");
            }
            return Ok(if released {
                Acquired::New
            } else {
                Acquired::Resumed(stage)
            });
        }
        Err(self.corrupt(
            "jobs",
            format!("job {job}: the row kept changing while it was being acquired"),
        ))
    }

    /// Records that `job` reached `stage`, durably, before the caller acts
    /// on it; renews the lease. Fails with [`StoreError::NotOwner`] when
    /// another replica took the job over meanwhile.
    pub async fn record(&self, job: uuid::Uuid, stage: &Stage) -> Result<(), StoreError> {
        let now = now_millis();
        let (reason, message, outcome) = stage.columns();
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "UPDATE jobs SET stage = $1, reason = $2, message = $3, outcome = $4, lease_until = $5, version = version + 1, updated_at = $6 WHERE job_id = $7 AND owner = $8",
        )
        .bind(stage.name())
        .bind(reason)
        .bind(message)
        .bind(outcome)
        .bind(now + self.lease_millis())
        .bind(now)
        .bind(job.to_string())
        .bind(&self.replica)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.error(e))?
        .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotOwner(job));
        }
        self.append(&mut tx, job, stage, now).await?;
        tx.commit().await.map_err(|e| self.error(e))
    }

    /// Extends this replica's lease on `job` while a step is in flight (a
    /// slow Pleo call, a retry's delay), without a journal entry. Fails with
    /// [`StoreError::NotOwner`] when the job is no longer this replica's to
    /// work on: taken over, or finished.
    pub async fn renew(&self, job: uuid::Uuid) -> Result<(), StoreError> {
        let mut connection = self.pool().acquire().await.map_err(|e| self.error(e))?;
        let until = now_millis() + self.lease_millis();
        if self.set_lease(&mut connection, job, until).await? == 0 {
            return Err(StoreError::NotOwner(job));
        }
        Ok(())
    }

    /// Ends this replica's leases on `jobs` at once, keeping their stages, so
    /// another replica may take them up without waiting (at shutdown, for
    /// jobs that could not finish in time). Returns how many it let go.
    pub async fn let_go(&self, jobs: &[uuid::Uuid]) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let mut count = 0;
        for job in jobs {
            count += self.set_lease(&mut tx, *job, 0).await?;
        }
        tx.commit().await.map_err(|e| self.error(e))?;
        Ok(count)
    }

    /// Sets this replica's lease on `job`, unfinished, to end at `until`;
    /// returns how many rows changed (0: not this replica's, or finished).
    async fn set_lease(
        &self,
        connection: &mut sqlx::AnyConnection,
        job: uuid::Uuid,
        until: i64,
    ) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "UPDATE jobs SET lease_until = $1, version = version + 1 WHERE job_id = $2 AND owner = $3 AND stage NOT IN ('done', 'released')",
        )
        .bind(until)
        .bind(job.to_string())
        .bind(&self.replica)
        .execute(connection)
        .await
        .map_err(|e| self.error(e))?
        .rows_affected())
    }

    /// How much of `job`'s retry budget is spent (nothing for a job the
    /// journal does not know).
    pub async fn budget(&self, job: uuid::Uuid) -> Result<Budget, StoreError> {
        let row = sqlx::query(
            "SELECT attempts, first_attempt_at, last_attempt_at, last_verdict FROM jobs WHERE job_id = $1",
        )
        .bind(job.to_string())
        .fetch_optional(self.pool())
        .await
        .map_err(|e| self.error(e))?;
        let Some(row) = row else {
            return Ok(Budget::default());
        };
        let attempts: i64 = self.get(&row, "attempts")?;
        let last_verdict: Option<String> = self.get(&row, "last_verdict")?;
        Ok(Budget {
            attempts: u32::try_from(attempts).map_err(|e| self.corrupt("attempts", e))?,
            first_attempt_at: self.get(&row, "first_attempt_at")?,
            last_attempt_at: self.get(&row, "last_attempt_at")?,
            last_verdict: last_verdict
                .map(|text| serde_json::from_str(&text))
                .transpose()
                .map_err(|e| self.corrupt("last_verdict", e))?,
        })
    }

    /// Counts `decision` against its job's budget, inside the transaction
    /// that logs it.
    pub(crate) async fn count_attempt(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        decision: &super::Decision,
    ) -> Result<(), StoreError> {
        let verdict = serde_json::to_string(&decision.verdict).expect("verdicts serialise");
        let updated = sqlx::query(
            "UPDATE jobs SET attempts = attempts + 1, first_attempt_at = COALESCE(first_attempt_at, $1), last_attempt_at = $1, last_verdict = $2, lease_until = $3 WHERE job_id = $4 AND owner = $5",
        )
        .bind(decision.at)
        .bind(verdict)
        .bind(now_millis() + self.lease_millis())
        .bind(decision.job_id.to_string())
        .bind(&self.replica)
        .execute(&mut **tx)
        .await
        .map_err(|e| self.error(e))?
        .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotOwner(decision.job_id));
        }
        Ok(())
    }

    /// Where this replica's sweep over the watched companies stood: the
    /// company it was to list next.
    pub async fn detection_cursor(&self) -> Result<Option<uuid::Uuid>, StoreError> {
        let row = sqlx::query("SELECT company_id FROM detection_cursors WHERE replica = $1")
            .bind(&self.replica)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| self.error(e))?;
        row.map(|row| self.get_uuid(&row, "company_id")).transpose()
    }

    /// Remembers where this replica's sweep stands.
    pub async fn set_detection_cursor(&self, company: uuid::Uuid) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO detection_cursors (replica, company_id, at) VALUES ($1, $2, $3) \
             ON CONFLICT (replica) DO UPDATE SET company_id = excluded.company_id, at = excluded.at",
        )
        .bind(&self.replica)
        .bind(company.to_string())
        .bind(now_millis())
        .execute(self.pool())
        .await
        .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// The journal's record of `job`.
    pub async fn job(&self, job: uuid::Uuid) -> Result<Option<JobRecord>, StoreError> {
        Ok(self.fetch(job).await?.map(|(record, _)| record))
    }

    /// Jobs not finished that this replica may take up: its own (from
    /// before a restart) and those whose holder's lease ran out.
    pub async fn unfinished(&self) -> Result<Vec<JobRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM jobs WHERE stage NOT IN ('done', 'released') AND (owner = $1 OR lease_until < $2) ORDER BY created_at"
        ))
        .bind(&self.replica)
        .bind(now_millis())
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.error(e))?;
        rows.iter()
            .map(|row| self.job_record(row).map(|(record, _)| record))
            .collect()
    }

    /// Every stage `job` went through, oldest first.
    pub async fn history(&self, job: uuid::Uuid) -> Result<Vec<JournalEntry>, StoreError> {
        self.entries(Some(job)).await
    }

    /// Every job's history at once, oldest first (for audits and tests).
    pub async fn journal(&self) -> Result<Vec<JournalEntry>, StoreError> {
        self.entries(None).await
    }

    async fn entries(&self, job: Option<uuid::Uuid>) -> Result<Vec<JournalEntry>, StoreError> {
        let filter = if job.is_some() {
            "WHERE job_id = $1"
        } else {
            ""
        };
        let sql = format!(
            "SELECT seq, job_id, stage, reason, message, outcome, replica, at FROM journal {filter} ORDER BY seq"
        );
        let rows = sqlx::query(&sql);
        let rows = match job {
            Some(job) => rows.bind(job.to_string()),
            None => rows,
        }
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.error(e))?;
        rows.iter()
            .map(|row| {
                Ok(JournalEntry {
                    seq: self.get(row, "seq")?,
                    job_id: self.get_uuid(row, "job_id")?,
                    stage: self.stage(row)?,
                    replica: self.get(row, "replica")?,
                    at: self.get(row, "at")?,
                })
            })
            .collect()
    }

    fn lease_millis(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX / 2)
    }

    async fn fetch(&self, job: uuid::Uuid) -> Result<Option<(JobRecord, i64)>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM jobs WHERE job_id = $1"))
            .bind(job.to_string())
            .fetch_optional(self.pool())
            .await
            .map_err(|e| self.error(e))?;
        row.as_ref().map(|row| self.job_record(row)).transpose()
    }

    fn job_record(&self, row: &AnyRow) -> Result<(JobRecord, i64), StoreError> {
        Ok((
            JobRecord {
                job_id: self.get_uuid(row, "job_id")?,
                company_id: self.get_uuid(row, "company_id")?,
                stage: self.stage(row)?,
                owner: self.get(row, "owner")?,
                lease_until: self.get(row, "lease_until")?,
                updated_at: self.get(row, "updated_at")?,
                attempts: {
                    let attempts: i64 = self.get(row, "attempts")?;
                    u32::try_from(attempts).map_err(|e| self.corrupt("attempts", e))?
                },
            },
            self.get(row, "version")?,
        ))
    }

    fn stage(&self, row: &AnyRow) -> Result<Stage, StoreError> {
        let name: String = self.get(row, "stage")?;
        let text = |column: &str| -> Result<String, StoreError> {
            let value: Option<String> = self.get(row, column)?;
            value.ok_or_else(|| self.corrupt(column, format!("missing for stage {name}")))
        };
        Ok(match name.as_str() {
            "claiming" => Stage::Claiming,
            "claimed" => Stage::Claimed,
            "failing" => Stage::Failing {
                reason: serde_json::from_value(serde_json::Value::String(text("reason")?))
                    .map_err(|error| self.corrupt("reason", error))?,
                message: text("message")?,
            },
            "handing_over" => Stage::HandingOver,
            "done" => {
                let outcome = text("outcome")?;
                Stage::Done {
                    outcome: JobResult::from_name(&outcome).ok_or_else(|| {
                        self.corrupt("outcome", format!("unknown outcome '{outcome}'"))
                    })?,
                }
            }
            "released" => Stage::Released,
            other => return Err(self.corrupt("stage", format!("unknown stage '{other}'"))),
        })
    }

    async fn append(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        job: uuid::Uuid,
        stage: &Stage,
        at: i64,
    ) -> Result<(), StoreError> {
        let (reason, message, outcome) = stage.columns();
        sqlx::query(
            "INSERT INTO journal (job_id, stage, reason, message, outcome, replica, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(job.to_string())
        .bind(stage.name())
        .bind(reason)
        .bind(message)
        .bind(outcome)
        .bind(&self.replica)
        .bind(at)
        .execute(&mut **tx)
        .await
        .map_err(|e| self.error(e))?;
        Ok(())
    }
}
