//! Handing a valid job over to item processing: the runner never touches
//! items itself; it tells a downstream URL or command which job may proceed.

use std::time::Duration;

use preflight_runtime::job::ExportJob;

/// Where valid jobs go.
#[derive(Debug, Clone)]
pub enum Handover {
    /// Recorded as ready only (the journal and the outcomes list).
    Record,
    /// `POST` `{"jobId": …, "companyId": …}` to this URL; any 2xx accepts.
    Url(url::Url, reqwest::Client),
    /// Run this program; `{jobId}` and `{companyId}` in its arguments are
    /// replaced; exit status 0 accepts.
    Command(Vec<String>),
}

impl Handover {
    /// A handover to `url`.
    pub fn url(url: url::Url) -> Result<Handover, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Handover::Url(url, client))
    }

    /// Hands `job` over; `Err` says why the downstream did not accept it.
    pub async fn hand_over(&self, job: &ExportJob) -> Result<(), String> {
        match self {
            Handover::Record => Ok(()),
            Handover::Url(url, client) => {
                let body = serde_json::json!({ "jobId": job.id, "companyId": job.company_id });
                let response = client
                    .post(url.clone())
                    .json(&body)
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
