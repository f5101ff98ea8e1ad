//! Handing a valid job over to item processing: the runner never touches
//! items itself; it tells a downstream URL or command which job may proceed.
//!
//! Delivery is at least once: a handover whose acceptance could not be
//! recorded (a crash, a store outage) is made again by the next resume, so
//! downstreams key on the job id, which every handover carries as its
//! idempotency key (`Idempotency-Key` and `webhook-id` headers for the URL
//! form, `PREFLIGHT_IDEMPOTENCY_KEY` in the command's environment). With a
//! signing secret, the URL form is signed the Standard Webhooks way
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 of
//! HMAC-SHA256("{id}.{timestamp}.{body}")>`), the same scheme as Pleo's own
//! webhooks, so the downstream can check that this runner sent it.

use std::time::Duration;

use preflight_runtime::job::ExportJob;

use crate::webhook::SigningKey;

/// Where valid jobs go.
#[derive(Debug, Clone)]
pub enum Handover {
    /// Recorded as ready only (the journal and the outcomes list).
    Record,
    /// `POST` `{"jobId": …, "companyId": …}` to `url`; any 2xx accepts.
    Url {
        /// The downstream.
        url: url::Url,
        /// The client posting to it.
        client: reqwest::Client,
        /// The signing key, when a secret is configured.
        key: Option<SigningKey>,
    },
    /// Run this program; `{jobId}` and `{companyId}` in its arguments are
    /// replaced; exit status 0 accepts.
    Command(Vec<String>),
}

impl Handover {
    /// A handover to `url`, signed with `key` when given.
    pub fn url(url: url::Url, key: Option<SigningKey>) -> Result<Handover, reqwest::Error> {
        let client = reqwest::Client::builder()
            // Not through a proxy the environment names.
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Handover::Url { url, client, key })
    }

    /// Hands `job` over; `Err` says why the downstream did not accept it.
    pub async fn hand_over(&self, job: &ExportJob) -> Result<(), String> {
        match self {
            Handover::Record => Ok(()),
            Handover::Url { url, client, key } => {
                let body =
                    serde_json::json!({ "jobId": job.id, "companyId": job.company_id }).to_string();
                let id = job.id.to_string();
                let mut request = client
                    .post(url.clone())
                    .header("content-type", "application/json")
                    .header("idempotency-key", &id)
                    .header("webhook-id", &id);
                if let Some(key) = key {
                    let timestamp = preflight_store::now_millis() / 1000;
                    request = request
                        .header("webhook-timestamp", timestamp.to_string())
                        .header(
                            "webhook-signature",
                            crate::webhook::sign(key, &id, timestamp, body.as_bytes()),
                        );
                }
                let response = request
                    .body(body)
                    .send()
                    .await
                    .map_err(|error| format!("POST {url}: {error}"))?;
                if response.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("POST {url}: answered {}", response.status()))
                }
            }
            Handover::Command(command) => {
                let substitute = |arg: &String| {
                    arg.replace("{jobId}", &job.id.to_string())
                        .replace("{companyId}", &job.company_id.to_string())
                };
                let (program, args) = command.split_first().ok_or("empty handover command")?;
                let status = tokio::process::Command::new(substitute(program))
                    .args(args.iter().map(substitute))
                    .env("PREFLIGHT_IDEMPOTENCY_KEY", job.id.to_string())
                    .stdin(std::process::Stdio::null())
                    .status()
                    .await
                    .map_err(|error| format!("{program}: {error}"))?;
                if status.success() {
                    Ok(())
                } else {
                    Err(format!("{program}: exited with {status}"))
                }
            }
        }
    }
}
