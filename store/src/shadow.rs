//! Shadow comparisons: a candidate plugin version run offline against a live
//! validation's recorded exchanges, its verdict and checks kept beside the
//! live decision and never acted on. One row per live validation compared.

use sqlx::Row as _;

use super::{Store, StoreError};

/// One check whose status differs between the live version and the
/// candidate; `None` where a version has no such rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangedCheck {
    /// The rule id.
    pub id: String,
    /// Its status in the live report.
    pub live: Option<String>,
    /// Its status in the candidate's report.
    pub candidate: Option<String>,
}

/// A live validation and the candidate's run on its tape.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShadowResult {
    /// The job.
    pub job_id: uuid::Uuid,
    /// Its company.
    pub company_id: uuid::Uuid,
    /// The accounting system.
    pub accounting_system: String,
    /// The live version, `name@version`.
    pub live: String,
    /// The candidate, `name@version`.
    pub candidate: String,
    /// The live verdict: `proceed`, `fail` or `retry`.
    pub live_verdict: String,
    /// Its failure reason type.
    pub live_reason: Option<String>,
    /// The candidate's verdict; `fault` when it faulted.
    pub candidate_verdict: String,
    /// Its failure reason type.
    pub candidate_reason: Option<String>,
    /// The checks whose status differs.
    pub changed: Vec<ChangedCheck>,
    /// Requests the candidate made that the live run did not (answered
    /// `unreachable`), as `METHOD URL`.
    pub misses: Vec<String>,
    /// The candidate's fault, if it faulted.
    pub fault: Option<String>,
    /// When, in milliseconds since the epoch.
    pub at: i64,
}

impl Store {
    /// Keeps one comparison.
    pub async fn record_shadow(&self, result: &ShadowResult) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO shadow_results (job_id, company_id, accounting_system, live, candidate,
                 live_verdict, live_reason, candidate_verdict, candidate_reason, changed, misses,
                 fault, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(result.job_id.to_string())
        .bind(result.company_id.to_string())
        .bind(&result.accounting_system)
        .bind(&result.live)
        .bind(&result.candidate)
        .bind(&result.live_verdict)
        .bind(result.live_reason.clone())
        .bind(&result.candidate_verdict)
        .bind(result.candidate_reason.clone())
        .bind(serde_json::to_string(&result.changed).expect("checks serialise"))
        .bind(serde_json::to_string(&result.misses).expect("strings serialise"))
        .bind(result.fault.clone())
        .bind(result.at)
        .execute(self.pool())
        .await
        .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// The comparisons of `candidate` (`name@version`) for `system`, oldest
    /// first.
    pub async fn shadow_results(
        &self,
        system: &str,
        candidate: &str,
    ) -> Result<Vec<ShadowResult>, StoreError> {
        let rows = sqlx::query(
            "SELECT job_id, company_id, accounting_system, live, candidate, live_verdict,
                 live_reason, candidate_verdict, candidate_reason, changed, misses, fault, at
             FROM shadow_results WHERE accounting_system = $1 AND candidate = $2 ORDER BY id",
        )
        .bind(system)
        .bind(candidate)
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.error(e))?;
        rows.iter()
            .map(|row| {
                let text = |column: &str| row.try_get::<String, _>(column);
                let optional = |column: &str| row.try_get::<Option<String>, _>(column);
                let id = |column: &str| -> Result<uuid::Uuid, sqlx::Error> {
                    text(column)?
                        .parse()
                        .map_err(|e: uuid::Error| sqlx::Error::Decode(Box::new(e)))
                };
                let list = |column: &str| -> Result<serde_json::Value, sqlx::Error> {
                    serde_json::from_str(&text(column)?)
                        .map_err(|e| sqlx::Error::Decode(Box::new(e)))
                };
                Ok(ShadowResult {
                    job_id: id("job_id")?,
                    company_id: id("company_id")?,
                    accounting_system: text("accounting_system")?,
                    live: text("live")?,
                    candidate: text("candidate")?,
                    live_verdict: text("live_verdict")?,
                    live_reason: optional("live_reason")?,
                    candidate_verdict: text("candidate_verdict")?,
                    candidate_reason: optional("candidate_reason")?,
                    changed: serde_json::from_value(list("changed")?)
                        .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                    misses: serde_json::from_value(list("misses")?)
                        .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                    fault: optional("fault")?,
                    at: row.try_get("at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|e| self.error(e))
    }
}
