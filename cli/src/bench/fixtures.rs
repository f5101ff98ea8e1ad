//! The jobs and configurations the benchmarks share.

use std::net::SocketAddr;

use preflight_emulators::xero;

use preflight_runtime::config::{Credentials, IntegrationConfig, Secret};
use preflight_runtime::job::{ExportJob, JobStatus};

/// Port 0 on loopback: every emulator of a benchmark picks a free port.
pub(super) const LOOPBACK: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// HTTP calls the Xero plugin makes for [`xero_settings`] on the happy path:
/// `/connections`, `/Organisation`, `/ManualJournals`, `/Accounts`.
pub(super) const XERO_CALLS: usize = 4;

/// Job number `n` of a benchmark, of company `company`, claimed.
pub(super) fn job(n: u128, company: uuid::Uuid) -> ExportJob {
    ExportJob {
        id: uuid::Uuid::from_u128(0xb00c_0000_0000_0000_0000_0000_0000_0000 | n),
        company_id: company,
        status: JobStatus::InProgress,
        created_at: "2026-11-25T09:00:00Z".to_owned(),
        expires_in: 3600,
        is_interactive: true,
        number_of_items: 40,
        vendor_based_bookkeeping: false,
        created_by: None,
        started_at: None,
        last_updated_at: None,
        completed_at: None,
        expired_at: None,
        failure_reason: None,
        failure_reason_type: None,
    }
}

/// The job of the offline benchmarks (vendor bookkeeping, so the plugin's
/// settings and job handling are all exercised).
pub(super) fn offline_job() -> ExportJob {
    ExportJob {
        vendor_based_bookkeeping: true,
        ..job(1, uuid::Uuid::from_u128(2))
    }
}

/// A configuration without a tenant: the Xero rules decide offline.
pub(super) fn offline_config() -> IntegrationConfig {
    IntegrationConfig {
        accounting_system: "xero".to_owned(),
        base_url: url::Url::parse("https://api.xero.com").expect("static URL parses"),
        tenant_id: None,
        credentials: Credentials::None,
        settings: serde_json::json!({
            "organisationName": "Acme ApS",
            "accounts": { "expenses": "429", "contra": "800" },
            "taxType": "INPUT",
        }),
    }
}

/// The lightest happy path of the Xero plugin: no receipts, no tax type, no
/// vendor bookkeeping, so it makes [`XERO_CALLS`] calls. `expenses` is the
/// expense account's code (`429` exists in the emulator's chart).
pub(super) fn xero_settings(expenses: &str) -> serde_json::Value {
    serde_json::json!({
        "organisationName": xero::DEMO_ORGANISATION_NAME,
        "accounts": { "expenses": expenses, "contra": "800" },
        "attachments": false,
    })
}

/// A company exporting to the Xero emulator at `base_url`.
pub(super) fn xero_config(base_url: &str, settings: serde_json::Value) -> IntegrationConfig {
    IntegrationConfig {
        accounting_system: "xero".to_owned(),
        base_url: url::Url::parse(base_url).expect("emulator URLs parse"),
        tenant_id: Some(xero::DEMO_TENANT_ID.to_owned()),
        credentials: Credentials::Bearer(Secret::new(xero::DEMO_ACCESS_TOKEN)),
        settings,
    }
}

/// A Tokio runtime of their own for a benchmark's emulators (two threads):
/// the operating system schedules them beside the host's executor, as it
/// would separate processes, instead of the emulators' tasks sharing the
/// host's executor threads and queues, which made the host's rates swing
/// between runs. Shut down in the background when dropped.
pub(super) struct Emulators(Option<tokio::runtime::Runtime>);

impl Emulators {
    pub(super) fn new() -> std::io::Result<Emulators> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("bench-emulator")
            .enable_all()
            .build()?;
        Ok(Emulators(Some(runtime)))
    }

    /// Runs `start` (an emulator's `start`) on the emulators' runtime, so the
    /// server it spawns runs there; the handle it returns is used from here.
    pub(super) async fn start<T: Send + 'static>(
        &self,
        start: impl Future<Output = std::io::Result<T>> + Send + 'static,
    ) -> std::io::Result<T> {
        let runtime = self.0.as_ref().expect("present until dropped");
        runtime
            .spawn(start)
            .await
            .map_err(|error| std::io::Error::other(error.to_string()))?
    }
}

impl Drop for Emulators {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}
