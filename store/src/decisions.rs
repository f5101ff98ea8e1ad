//! The decision log: per validation, the job as Pleo returned it, the
//! company's configuration without credentials, the plugin (name, version,
//! digest, contract version), every outbound exchange with its bodies up to
//! a cap, each check and the verdict. Configured PII fields are masked before
//! anything is written.
//!
//! Over 500 lines with its tests: the log's writes, its one query language
//! (shared by the CLI and the API) and the rows they read are one schema.

use serde::{Deserialize, Serialize};
use sqlx::Row as _;
use sqlx::any::AnyRow;

use std::collections::BTreeMap;
use std::time::SystemTime;

use super::{JobRecord, JobResult, JournalEntry, Store, StoreError};
use preflight_runtime::report::{Check, FailureReason, Verdict};
use preflight_runtime::sandbox::outbound::Exchange;
use preflight_runtime::sandbox::redact;
pub use preflight_runtime::sandbox::redact::MASKED;

/// The plugin that decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginRef {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// SHA-256 of its component, hex.
    pub digest: String,
    /// The WIT contract it was run under, e.g. `preflight:plugin@0.1.0`.
    pub wit: String,
}

/// One validation, as logged.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// Its id in the log (0 before it is written).
    pub id: i64,
    /// The job.
    pub job_id: uuid::Uuid,
    /// Its company.
    pub company_id: uuid::Uuid,
    /// The company's accounting system, when configured.
    pub accounting_system: Option<String>,
    /// The plugin that ran, when one did.
    pub plugin: Option<PluginRef>,
    /// The replica that ran it.
    pub replica: String,
    /// 1 for the first validation of the job by this claim, 2 for a retry…
    pub attempt: u32,
    /// When it started, in milliseconds since the epoch.
    pub at: i64,
    /// How long it took.
    pub elapsed_ms: f64,
    /// The verdict.
    pub verdict: Verdict,
    /// The plugin's fault, when it faulted (the verdict then says
    /// `integration_unusable`).
    pub fault: Option<String>,
    /// The job as Pleo returned it.
    pub job: serde_json::Value,
    /// The company's configuration, credentials left out.
    pub config: Option<serde_json::Value>,
    /// The plugin's checks, in the order they ran.
    pub checks: Vec<Check>,
    /// Every outbound exchange, in order.
    pub exchanges: Vec<Exchange>,
}

/// One line of `preflight outcomes`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionSummary {
    /// The decision's id.
    pub id: i64,
    /// The job.
    pub job_id: uuid::Uuid,
    /// Its company.
    pub company_id: uuid::Uuid,
    /// The accounting system.
    pub accounting_system: Option<String>,
    /// `name version` of the plugin, when one ran.
    pub plugin: Option<String>,
    /// `proceed`, `fail` or `retry`.
    pub verdict: String,
    /// The failure reason.
    pub reason: Option<FailureReason>,
    /// The user-facing message.
    pub message: Option<String>,
    /// When, in milliseconds since the epoch.
    pub at: i64,
    /// How long it took.
    pub elapsed_ms: f64,
    /// What became of the job, once it finished.
    pub outcome: Option<JobResult>,
}

/// Which decisions to list; every field narrows.
#[derive(Debug, Clone, Default)]
pub struct DecisionFilter {
    /// Of this company.
    pub company: Option<uuid::Uuid>,
    /// Of this job.
    pub job: Option<uuid::Uuid>,
    /// By this plugin: `name`, or `name@version`.
    pub plugin: Option<String>,
    /// Failing (or retrying) with this reason.
    pub reason: Option<FailureReason>,
    /// With this verdict: `proceed`, `fail`, `retry`.
    pub verdict: Option<String>,
    /// At or after, in milliseconds since the epoch.
    pub since: Option<i64>,
    /// Before, in milliseconds since the epoch.
    pub until: Option<i64>,
    /// Older than the decision with this id, in the list's order (time,
    /// then id): the cursor of the next page, which neither skips nor
    /// repeats decisions made in the same millisecond.
    pub before: Option<i64>,
    /// At most this many, newest first.
    pub limit: Option<u32>,
}

/// A filter as text, from the command line or a query string; every field
/// is optional and narrows. [`DecisionQuery::filter`] checks and converts it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionQuery {
    /// A company id.
    pub company: Option<String>,
    /// A job id.
    pub job: Option<String>,
    /// `name` or `name@version`.
    pub plugin: Option<String>,
    /// A failure reason type, e.g. `invalid_configuration`.
    pub reason: Option<String>,
    /// `proceed`, `fail` or `retry`.
    pub verdict: Option<String>,
    /// RFC 3339, or an age back from now (`2h`, `7d`).
    pub since: Option<String>,
    /// RFC 3339, or an age back from now.
    pub until: Option<String>,
    /// A decision's id: only those listed after it (the next page).
    pub before: Option<String>,
    /// At most this many, newest first.
    pub limit: Option<u32>,
}

/// A [`DecisionQuery`] field that does not parse: the field's name and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadField {
    /// The field, as named in [`DecisionQuery`].
    pub field: &'static str,
    /// What is wrong with its value.
    pub message: String,
}

impl DecisionQuery {
    /// The filter this query asks for, or the first field that is wrong.
    pub fn filter(&self) -> Result<DecisionFilter, BadField> {
        fn uuid(
            field: &'static str,
            text: &Option<String>,
        ) -> Result<Option<uuid::Uuid>, BadField> {
            text.as_deref()
                .map(|text| {
                    uuid::Uuid::parse_str(text).map_err(|_| BadField {
                        field,
                        message: format!("'{text}' is not a UUID"),
                    })
                })
                .transpose()
        }
        fn time(field: &'static str, text: &Option<String>) -> Result<Option<i64>, BadField> {
            text.as_deref()
                .map(|text| {
                    parse_time(text)
                        .map(super::millis)
                        .map_err(|message| BadField { field, message })
                })
                .transpose()
        }
        let reason = self
            .reason
            .as_deref()
            .map(|text| {
                FailureReason::from_name(text).ok_or_else(|| BadField {
                    field: "reason",
                    message: format!(
                        "'{text}' is not a failure reason type (e.g. invalid_configuration)"
                    ),
                })
            })
            .transpose()?;
        if let Some(verdict) = self.verdict.as_deref()
            && !VERDICTS.contains(&verdict)
        {
            return Err(BadField {
                field: "verdict",
                message: format!("'{verdict}' is not one of proceed, fail, retry"),
            });
        }
        Ok(DecisionFilter {
            company: uuid("company", &self.company)?,
            job: uuid("job", &self.job)?,
            plugin: self.plugin.clone(),
            reason,
            verdict: self.verdict.clone(),
            since: time("since", &self.since)?,
            until: time("until", &self.until)?,
            before: self
                .before
                .as_deref()
                .map(|text| {
                    text.parse::<i64>().map_err(|_| BadField {
                        field: "before",
                        message: format!("'{text}' is not a decision id"),
                    })
                })
                .transpose()?,
            limit: self.limit,
        })
    }
}

/// `text` as RFC 3339 (`2026-11-25T10:00:00Z`), or as an age back from now
/// (`2h`, `7d`).
pub fn parse_time(text: &str) -> Result<SystemTime, String> {
    if let Ok(at) = humantime::parse_rfc3339_weak(text) {
        return Ok(at);
    }
    humantime::parse_duration(text)
        .map(|age| SystemTime::now() - age)
        .map_err(|_| {
            format!("'{text}' is neither RFC 3339 (2026-11-25T10:00:00Z) nor an age (2h, 7d)")
        })
}

/// The verdict names, as [`verdict_label`] gives them.
pub const VERDICTS: [&str; 3] = ["proceed", "fail", "retry"];

/// Everything the store knows of one job: where it stands, its journal and
/// every validation in full.
#[derive(Debug, Clone, Serialize)]
pub struct JobReport {
    /// Its current stage and holder; `None` when only decisions remain
    /// (on-demand validations, or a journal already pruned).
    pub job: Option<JobRecord>,
    /// Its history, oldest first.
    pub journal: Vec<JournalEntry>,
    /// Its validations, oldest first.
    pub decisions: Vec<Decision>,
}

/// The verdict's name.
pub fn verdict_label(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Proceed => "proceed",
        Verdict::Fail { .. } => "fail",
        Verdict::Retry { .. } => "retry",
    }
}

const SUMMARY: &str = "SELECT d.id, d.job_id, d.company_id, d.accounting_system, d.plugin_name, d.plugin_version, d.verdict, d.reason, d.message, d.at, d.elapsed_ms, j.outcome FROM decisions d LEFT JOIN jobs j ON j.job_id = d.job_id";

const FULL: &str = "SELECT id, job_id, company_id, accounting_system, plugin_name, plugin_version, plugin_digest, wit_version, replica, attempt, at, elapsed_ms, fault, verdict_json, job, config, checks, exchanges FROM decisions";

/// Validations of one accounting system in one hour, by verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HourCount {
    /// The accounting system (`-` when none was configured).
    pub accounting_system: String,
    /// Hours since the start of the window.
    pub hour: i64,
    /// Validations that let the job proceed.
    pub proceed: u64,
    /// Validations that failed the job.
    pub fail: u64,
    /// Validations that asked for a retry.
    pub retry: u64,
}

/// Validations of one accounting system that failed or asked for a retry
/// with one reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonCount {
    /// The accounting system (`-` when none was configured).
    pub accounting_system: String,
    /// `fail` or `retry`.
    pub verdict: String,
    /// The failure reason type.
    pub reason: String,
    /// How many.
    pub count: u64,
}

/// A company and how often its validations failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailingCompany {
    /// The company.
    pub company_id: uuid::Uuid,
    /// Failed validations in the window.
    pub failed: u64,
    /// The reason of the latest of them.
    pub latest_reason: Option<String>,
}

impl Store {
    /// Validations at or after `since` (milliseconds since the epoch), per
    /// accounting system, hour and verdict: counted by the database, so the
    /// console's overview costs the same with a million decisions as with
    /// ten.
    pub async fn hourly_counts(&self, since: i64) -> Result<Vec<HourCount>, StoreError> {
        let rows = sqlx::query(
            "SELECT COALESCE(accounting_system, '-') AS system, (at - $1) / 3600000 AS hour,
                 verdict, COUNT(*) AS n
             FROM decisions WHERE at >= $1 GROUP BY 1, 2, 3 ORDER BY 1, 2",
        )
        .bind(since)
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.error(e))?;
        let mut counts: Vec<HourCount> = Vec::new();
        for row in rows {
            let system: String = row.try_get("system").map_err(|e| self.error(e))?;
            let hour: i64 = row.try_get("hour").map_err(|e| self.error(e))?;
            let verdict: String = row.try_get("verdict").map_err(|e| self.error(e))?;
            let n =
                u64::try_from(row.try_get::<i64, _>("n").map_err(|e| self.error(e))?).unwrap_or(0);
            let at = match counts.last_mut() {
                Some(last) if last.accounting_system == system && last.hour == hour => last,
                _ => {
                    counts.push(HourCount {
                        accounting_system: system,
                        hour,
                        ..HourCount::default()
                    });
                    counts.last_mut().expect("just pushed")
                }
            };
            match verdict.as_str() {
                "fail" => at.fail += n,
                "retry" => at.retry += n,
                _ => at.proceed += n,
            }
        }
        Ok(counts)
    }

    /// Failed and retried validations at or after `since` by accounting
    /// system, verdict and reason, most first within each system: counted
    /// by the database, like [`Store::hourly_counts`].
    pub async fn reason_counts(&self, since: i64) -> Result<Vec<ReasonCount>, StoreError> {
        let rows = sqlx::query(
            "SELECT COALESCE(accounting_system, '-') AS system, verdict, reason, COUNT(*) AS n
             FROM decisions WHERE at >= $1 AND verdict <> 'proceed' AND reason IS NOT NULL
             GROUP BY 1, 2, 3 ORDER BY 1, 4 DESC, 3",
        )
        .bind(since)
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.error(e))?;
        rows.iter()
            .map(|row| {
                let n: i64 = row.try_get("n").map_err(|e| self.error(e))?;
                Ok(ReasonCount {
                    accounting_system: row.try_get("system").map_err(|e| self.error(e))?,
                    verdict: row.try_get("verdict").map_err(|e| self.error(e))?,
                    reason: row.try_get("reason").map_err(|e| self.error(e))?,
                    count: u64::try_from(n).unwrap_or(0),
                })
            })
            .collect()
    }

    /// The `limit` companies with the most failed validations at or after
    /// `since`, most first, each with the reason of its latest failure.
    pub async fn failing_companies(
        &self,
        since: i64,
        limit: u32,
    ) -> Result<Vec<FailingCompany>, StoreError> {
        let rows = sqlx::query(
            "SELECT company_id, COUNT(*) AS n FROM decisions
             WHERE at >= $1 AND verdict = 'fail'
             GROUP BY company_id ORDER BY n DESC, company_id LIMIT $2",
        )
        .bind(since)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.error(e))?;
        let mut failing = Vec::with_capacity(rows.len());
        for row in rows {
            let company: String = row.try_get("company_id").map_err(|e| self.error(e))?;
            let n: i64 = row.try_get("n").map_err(|e| self.error(e))?;
            let latest: Option<String> = sqlx::query(
                "SELECT reason FROM decisions WHERE company_id = $1 AND verdict = 'fail'
                 ORDER BY at DESC, id DESC LIMIT 1",
            )
            .bind(&company)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| self.error(e))?
            .and_then(|row| row.try_get::<Option<String>, _>("reason").ok().flatten());
            failing.push(FailingCompany {
                company_id: company.parse().unwrap_or_default(),
                failed: u64::try_from(n).unwrap_or(0),
                latest_reason: latest,
            });
        }
        Ok(failing)
    }

    /// The newest decision of each of `companies` that has one, in one
    /// statement per 500 companies (the console's companies page shows
    /// every company's last verdict).
    pub async fn latest_decisions(
        &self,
        companies: &[uuid::Uuid],
    ) -> Result<BTreeMap<uuid::Uuid, DecisionSummary>, StoreError> {
        let mut latest = BTreeMap::new();
        // Within every engine's limit of bound parameters.
        for chunk in companies.chunks(500) {
            // One index seek per company (`decisions_company`), not a scan of
            // its decisions.
            let values = (1..=chunk.len())
                .map(|n| format!("(${n})"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "{SUMMARY} WHERE d.id IN (SELECT (SELECT x.id FROM decisions x \
                 WHERE x.company_id = wanted.column1 ORDER BY x.at DESC, x.id DESC LIMIT 1) \
                 FROM (VALUES {values}) AS wanted)"
            );
            let mut query = sqlx::query(&sql);
            for company in chunk {
                query = query.bind(company.to_string());
            }
            let rows = query
                .fetch_all(self.pool())
                .await
                .map_err(|e| self.error(e))?;
            for row in &rows {
                let summary = self.summary(row)?;
                latest.insert(summary.company_id, summary);
            }
        }
        Ok(latest)
    }

    /// Writes `decision` (masking `mask_fields` first) and returns its id.
    pub async fn log_decision(
        &self,
        decision: &Decision,
        mask_fields: &[String],
    ) -> Result<i64, StoreError> {
        self.write_decision(decision, mask_fields, false).await
    }

    /// Writes `decision` as one counted validation of a job this replica
    /// holds: the decision and the job's retry budget (one more attempt, its
    /// start, and its verdict) change in one transaction, so the budget
    /// never counts a validation the log lacks, nor the other way round.
    /// Fails with [`StoreError::NotOwner`] (writing nothing) when another
    /// replica took the job over.
    pub async fn log_attempt(
        &self,
        decision: &Decision,
        mask_fields: &[String],
    ) -> Result<i64, StoreError> {
        self.write_decision(decision, mask_fields, true).await
    }

    async fn write_decision(
        &self,
        decision: &Decision,
        mask_fields: &[String],
        counted: bool,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin().await?;
        let id = self.insert_decision(&mut tx, decision, mask_fields).await?;
        if counted {
            self.count_attempt(&mut tx, decision).await?;
        }
        tx.commit().await.map_err(|e| self.error(e))?;
        Ok(id)
    }

    async fn insert_decision(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        decision: &Decision,
        mask_fields: &[String],
    ) -> Result<i64, StoreError> {
        let masked;
        let decision = if mask_fields.is_empty() {
            decision
        } else {
            let mut copy = decision.clone();
            mask(&mut copy, mask_fields);
            masked = copy;
            &masked
        };
        let plugin = decision.plugin.as_ref();
        let check = match &decision.verdict {
            Verdict::Fail { check, .. } | Verdict::Retry { check, .. } => Some(check.as_str()),
            Verdict::Proceed => None,
        };
        sqlx::query_scalar(
            "INSERT INTO decisions (job_id, company_id, accounting_system, plugin_name, plugin_version, plugin_digest, wit_version, replica, attempt, at, elapsed_ms, verdict, reason, message, check_id, fault, verdict_json, job, config, checks, exchanges) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) RETURNING id",
        )
        .bind(decision.job_id.to_string())
        .bind(decision.company_id.to_string())
        .bind(decision.accounting_system.as_deref())
        .bind(plugin.map(|p| p.name.as_str()))
        .bind(plugin.map(|p| p.version.as_str()))
        .bind(plugin.map(|p| p.digest.as_str()))
        .bind(plugin.map(|p| p.wit.as_str()))
        .bind(&decision.replica)
        .bind(i64::from(decision.attempt))
        .bind(decision.at)
        .bind(decision.elapsed_ms)
        .bind(verdict_label(&decision.verdict))
        .bind(decision.verdict.reason().map(FailureReason::as_str))
        .bind(decision.verdict.message())
        .bind(check)
        .bind(decision.fault.as_deref())
        .bind(json(&decision.verdict))
        .bind(json(&decision.job))
        .bind(decision.config.as_ref().map(json))
        .bind(json(&decision.checks))
        .bind(json(&decision.exchanges))
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| self.error(e))
    }

    /// Decisions matching `filter`, newest first.
    pub async fn decisions(
        &self,
        filter: &DecisionFilter,
    ) -> Result<Vec<DecisionSummary>, StoreError> {
        let mut conditions = Vec::new();
        let mut binds: Vec<Bind> = Vec::new();
        let mut push = |condition: &str, value: Bind| {
            binds.push(value);
            conditions.push(condition.replace('?', &format!("${}", binds.len())));
        };
        if let Some(company) = filter.company {
            push("d.company_id = ?", Bind::Text(company.to_string()));
        }
        if let Some(job) = filter.job {
            push("d.job_id = ?", Bind::Text(job.to_string()));
        }
        if let Some(plugin) = &filter.plugin {
            match plugin.split_once('@') {
                Some((name, version)) => {
                    push("d.plugin_name = ?", Bind::Text(name.to_owned()));
                    push("d.plugin_version = ?", Bind::Text(version.to_owned()));
                }
                None => push("d.plugin_name = ?", Bind::Text(plugin.clone())),
            }
        }
        if let Some(reason) = filter.reason {
            push("d.reason = ?", Bind::Text(reason.as_str().to_owned()));
        }
        if let Some(verdict) = &filter.verdict {
            push("d.verdict = ?", Bind::Text(verdict.clone()));
        }
        if let Some(since) = filter.since {
            push("d.at >= ?", Bind::Int(since));
        }
        if let Some(until) = filter.until {
            push("d.at < ?", Bind::Int(until));
        }
        if let Some(before) = filter.before {
            push(
                "(d.at, d.id) < ((SELECT at FROM decisions WHERE id = ?), ?)",
                Bind::Int(before),
            );
        }
        let mut sql = SUMMARY.to_owned();
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        sql.push_str(" ORDER BY d.at DESC, d.id DESC");
        if let Some(limit) = filter.limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        let mut query = sqlx::query(&sql);
        for bind in binds {
            query = match bind {
                Bind::Text(text) => query.bind(text),
                Bind::Int(number) => query.bind(number),
            };
        }
        let rows = query
            .fetch_all(self.pool())
            .await
            .map_err(|e| self.error(e))?;
        rows.iter().map(|row| self.summary(row)).collect()
    }

    /// Every decision about `job`, oldest first.
    pub async fn decisions_of(&self, job: uuid::Uuid) -> Result<Vec<Decision>, StoreError> {
        let rows = sqlx::query(&format!("{FULL} WHERE job_id = $1 ORDER BY id"))
            .bind(job.to_string())
            .fetch_all(self.pool())
            .await
            .map_err(|e| self.error(e))?;
        rows.iter().map(|row| self.decision(row)).collect()
    }

    /// Everything about `job`, or `None` when the store has nothing of it.
    pub async fn report(&self, job: uuid::Uuid) -> Result<Option<JobReport>, StoreError> {
        let report = JobReport {
            job: self.job(job).await?,
            journal: self.history(job).await?,
            decisions: self.decisions_of(job).await?,
        };
        let known = report.job.is_some() || !report.decisions.is_empty();
        Ok(known.then_some(report))
    }

    /// The decision with id `id`.
    pub async fn decision_by_id(&self, id: i64) -> Result<Option<Decision>, StoreError> {
        let row = sqlx::query(&format!("{FULL} WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| self.error(e))?;
        row.as_ref().map(|row| self.decision(row)).transpose()
    }

    fn summary(&self, row: &AnyRow) -> Result<DecisionSummary, StoreError> {
        let name: Option<String> = self.get(row, "plugin_name")?;
        let version: Option<String> = self.get(row, "plugin_version")?;
        Ok(DecisionSummary {
            id: self.get(row, "id")?,
            job_id: self.get_uuid(row, "job_id")?,
            company_id: self.get_uuid(row, "company_id")?,
            accounting_system: self.get(row, "accounting_system")?,
            plugin: name.map(|name| format!("{name} {}", version.unwrap_or_default())),
            verdict: self.get(row, "verdict")?,
            reason: self.get_named(row, "reason", FailureReason::from_name)?,
            message: self.get(row, "message")?,
            at: self.get(row, "at")?,
            elapsed_ms: self.get(row, "elapsed_ms")?,
            outcome: self.get_named(row, "outcome", JobResult::from_name)?,
        })
    }

    fn decision(&self, row: &AnyRow) -> Result<Decision, StoreError> {
        fn parse<T: serde::de::DeserializeOwned>(
            store: &Store,
            row: &AnyRow,
            column: &str,
        ) -> Result<T, StoreError> {
            let text: String = store.get(row, column)?;
            serde_json::from_str(&text).map_err(|error| store.corrupt(column, error))
        }
        let text = |column: &str| -> Result<String, StoreError> {
            Ok(self.get::<Option<String>>(row, column)?.unwrap_or_default())
        };
        let name: Option<String> = self.get(row, "plugin_name")?;
        let plugin = match name {
            Some(name) => Some(PluginRef {
                name,
                version: text("plugin_version")?,
                digest: text("plugin_digest")?,
                wit: text("wit_version")?,
            }),
            None => None,
        };
        let config: Option<String> = self.get(row, "config")?;
        let attempt: i64 = self.get(row, "attempt")?;
        Ok(Decision {
            id: self.get(row, "id")?,
            job_id: self.get_uuid(row, "job_id")?,
            company_id: self.get_uuid(row, "company_id")?,
            accounting_system: self.get(row, "accounting_system")?,
            plugin,
            replica: self.get(row, "replica")?,
            attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
            at: self.get(row, "at")?,
            elapsed_ms: self.get(row, "elapsed_ms")?,
            verdict: parse(self, row, "verdict_json")?,
            fault: self.get(row, "fault")?,
            job: parse(self, row, "job")?,
            config: config
                .map(|text| serde_json::from_str(&text))
                .transpose()
                .map_err(|error| self.corrupt("config", error))?,
            checks: parse(self, row, "checks")?,
            exchanges: parse(self, row, "exchanges")?,
        })
    }
}

enum Bind {
    Text(String),
    Int(i64),
}

/// Masks the values of `fields` (JSON keys or query parameters, compared
/// without regard to case) in everything `decision` recorded: the job, the
/// configuration, exchange URLs, headers and bodies.
pub fn mask(decision: &mut Decision, fields: &[String]) {
    if fields.is_empty() {
        return;
    }
    let fields: Vec<String> = fields.iter().map(|f| f.to_ascii_lowercase()).collect();
    redact::mask_value(&mut decision.job, &fields);
    if let Some(config) = &mut decision.config {
        redact::mask_value(config, &fields);
    }
    for exchange in &mut decision.exchanges {
        redact::mask_exchange(exchange, &fields);
    }
}

/// A value the log stores as JSON text.
fn json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("log values serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_become_filters_and_name_the_wrong_field() {
        let query = DecisionQuery {
            company: Some("0d9f5b4e-7c1a-4d2b-9a3e-1f2e3d4c5b6a".into()),
            plugin: Some("xero@0.2.0".into()),
            reason: Some("validation_failure".into()),
            verdict: Some("fail".into()),
            since: Some("2026-11-25T10:00:00Z".into()),
            until: Some("1h".into()),
            limit: Some(7),
            ..DecisionQuery::default()
        };
        let filter = query.filter().expect("a valid query");
        assert_eq!(
            filter.company.map(|c| c.to_string()).as_deref(),
            query.company.as_deref()
        );
        assert_eq!(filter.reason, Some(FailureReason::ValidationFailure));
        assert_eq!(filter.since, Some(1_795_600_800_000));
        let hour_ago = super::super::now_millis() - 3_600_000;
        assert!((filter.until.unwrap() - hour_ago).abs() < 60_000);
        assert_eq!(filter.limit, Some(7));

        let wrong = |query: DecisionQuery| query.filter().expect_err("refused");
        let bad = wrong(DecisionQuery {
            job: Some("not-a-job".into()),
            ..DecisionQuery::default()
        });
        assert_eq!(bad.field, "job");
        assert!(bad.message.contains("'not-a-job' is not a UUID"), "{bad:?}");
        let bad = wrong(DecisionQuery {
            reason: Some("broken".into()),
            ..DecisionQuery::default()
        });
        assert_eq!(bad.field, "reason");
        let bad = wrong(DecisionQuery {
            verdict: Some("maybe".into()),
            ..DecisionQuery::default()
        });
        assert_eq!(bad.field, "verdict");
        let bad = wrong(DecisionQuery {
            before: Some("the-last-one".into()),
            ..DecisionQuery::default()
        });
        assert_eq!(bad.field, "before");
        assert!(bad.message.contains("is not a decision id"), "{bad:?}");
        let filter = DecisionQuery {
            before: Some("41".into()),
            ..DecisionQuery::default()
        }
        .filter()
        .expect("an id is a cursor");
        assert_eq!(filter.before, Some(41));
        let bad = wrong(DecisionQuery {
            since: Some("yesterday-ish".into()),
            ..DecisionQuery::default()
        });
        assert_eq!(bad.field, "since");
        assert!(bad.message.contains("RFC 3339"), "{bad:?}");
    }
}
