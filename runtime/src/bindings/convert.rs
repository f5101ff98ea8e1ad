//! The host's own types to and from the latest WIT types. Older contract
//! versions convert to these first (`v0_1_0`), so this is the one place where
//! a WIT value becomes a host value and back.
//!
//! What comes from a plugin is checked against the contract here before the
//! host trusts it: a report's checks must carry a reason and a message when
//! they block, fit the report-size limit and (from 0.2.0) list exactly the
//! rules the plugin declared; a plugin's info must be complete.

use super::{ContractVersion, wit_types};
use crate::config::IntegrationConfig;
use crate::job::{ExportJob, JobStatus};
use crate::plugin::{PluginInfo, RuleInfo};
use crate::report::{Check, CheckStatus, ContractBreach, FailureReason, Report};

impl ExportJob {
    /// The contract's view of the job.
    pub fn to_wit(&self) -> wit_types::ExportJob {
        wit_types::ExportJob {
            id: self.id.to_string(),
            company_id: self.company_id.to_string(),
            status: match self.status {
                JobStatus::Pending => wit_types::JobStatus::Pending,
                JobStatus::InProgress => wit_types::JobStatus::InProgress,
                JobStatus::Failed => wit_types::JobStatus::Failed,
                JobStatus::Completed => wit_types::JobStatus::Completed,
                JobStatus::CompletedWithErrors => wit_types::JobStatus::CompletedWithErrors,
            },
            created_at: self.created_at.clone(),
            number_of_items: self.number_of_items,
            vendor_based_bookkeeping: self.vendor_based_bookkeeping,
            is_interactive: self.is_interactive,
            expires_in: self.expires_in,
        }
    }
}

impl IntegrationConfig {
    /// The contract's view: everything but the credentials.
    pub fn to_wit(&self) -> wit_types::IntegrationConfig {
        wit_types::IntegrationConfig {
            accounting_system: self.accounting_system.clone(),
            base_url: self.base_url.as_str().trim_end_matches('/').to_owned(),
            tenant_id: self.tenant_id.clone(),
            settings: self.settings.to_string(),
        }
    }
}

impl From<wit_types::FailureReason> for FailureReason {
    fn from(reason: wit_types::FailureReason) -> Self {
        use wit_types::FailureReason as W;
        match reason {
            W::InvalidConfiguration => FailureReason::InvalidConfiguration,
            W::MissingConfiguration => FailureReason::MissingConfiguration,
            W::AccountingSystemUnreachable => FailureReason::AccountingSystemUnreachable,
            W::AccountingSystemAuthenticationFailure => {
                FailureReason::AccountingSystemAuthenticationFailure
            }
            W::AccountingSystemRateLimit => FailureReason::AccountingSystemRateLimit,
            W::AccountingSystemTimeout => FailureReason::AccountingSystemTimeout,
            W::AuthorizationFailure => FailureReason::AuthorizationFailure,
            W::ValidationFailure => FailureReason::ValidationFailure,
            W::IntegrationUnusable => FailureReason::IntegrationUnusable,
        }
    }
}

impl From<wit_types::CheckStatus> for CheckStatus {
    fn from(status: wit_types::CheckStatus) -> Self {
        match status {
            wit_types::CheckStatus::Passed => CheckStatus::Passed,
            wit_types::CheckStatus::Failed => CheckStatus::Failed,
            wit_types::CheckStatus::Skipped => CheckStatus::Skipped,
            wit_types::CheckStatus::Unverified => CheckStatus::Unverified,
        }
    }
}

/// The WIT name of a capability.
fn capability_name(capability: wit_types::Capability) -> &'static str {
    match capability {
        wit_types::Capability::JournalEntries => "journal-entries",
        wit_types::Capability::VendorBookkeeping => "vendor-bookkeeping",
        wit_types::Capability::Attachments => "attachments",
        wit_types::Capability::MultiEntity => "multi-entity",
    }
}

/// A plugin's info, checked: from 0.2.0 the display name must be set, the
/// settings schema must be a JSON object and the rule ids must be unique
/// and non-empty (a plugin may declare none; its reports must then be
/// empty). Fields a version lacks are left unset.
pub(crate) fn plugin_info(
    info: wit_types::PluginInfo,
    contract: ContractVersion,
) -> Result<PluginInfo, String> {
    let declares = contract >= ContractVersion::V0_2_0;
    let display_name = match info.display_name.trim() {
        "" if declares => return Err("plugin-info has an empty display-name".to_owned()),
        "" => None,
        name => Some(name.to_owned()),
    };
    let settings_schema = match info.settings_schema.trim() {
        "" => None,
        text => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(schema @ serde_json::Value::Object(_)) => Some(schema),
            Ok(_) => return Err("plugin-info's settings-schema is not a JSON object".to_owned()),
            Err(error) => {
                return Err(format!(
                    "plugin-info's settings-schema is not JSON: {error}"
                ));
            }
        },
    };
    let mut rules: Vec<RuleInfo> = Vec::with_capacity(info.rules.len());
    for rule in info.rules {
        if rule.id.trim().is_empty() {
            return Err("plugin-info lists a rule with an empty id".to_owned());
        }
        if rules.iter().any(|known| known.id == rule.id) {
            return Err(format!("plugin-info lists rule '{}' twice", rule.id));
        }
        rules.push(RuleInfo {
            id: rule.id,
            title: rule.title,
        });
    }
    Ok(PluginInfo {
        name: info.name,
        version: info.version,
        accounting_system: info.accounting_system,
        display_name,
        capabilities: info
            .capabilities
            .iter()
            .map(|c| capability_name(*c).to_owned())
            .collect(),
        description: info.description,
        contract: contract.as_str().to_owned(),
        settings_schema,
        rules: declares.then_some(rules),
    })
}

impl Report {
    /// Converts and checks a plugin's report; `Err` says how it breaks the
    /// contract. `rules`, when the plugin declared them, are the ids the
    /// report must list, in that order, and no other.
    pub(crate) fn from_wit(
        report: wit_types::Report,
        max_bytes: usize,
        rules: Option<&[RuleInfo]>,
    ) -> Result<Report, ContractBreach> {
        let size: usize = report
            .checks
            .iter()
            .map(|c| c.id.len() + c.message.len() + c.hint.as_ref().map_or(0, String::len) + 16)
            .sum();
        if size > max_bytes {
            return Err(ContractBreach::TooLarge { bytes: size });
        }
        if let Some(rules) = rules {
            let listed = report.checks.iter().map(|check| check.id.as_str());
            if !listed.eq(rules.iter().map(|rule| rule.id.as_str())) {
                let listed: Vec<&str> = report.checks.iter().map(|c| c.id.as_str()).collect();
                let declared: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
                return Err(ContractBreach::Invalid(format!(
                    "the report lists [{}], not the declared rules [{}] in order",
                    listed.join(", "),
                    declared.join(", ")
                )));
            }
        }
        let checks = report
            .checks
            .into_iter()
            .map(|check| {
                let status = CheckStatus::from(check.status);
                let blocks = matches!(status, CheckStatus::Failed | CheckStatus::Unverified);
                if check.id.trim().is_empty() {
                    return Err(ContractBreach::Invalid(
                        "a check has an empty id".to_owned(),
                    ));
                }
                if blocks && check.reason.is_none() {
                    return Err(ContractBreach::Invalid(format!(
                        "check '{}' is {status:?} without a reason",
                        check.id
                    )));
                }
                if blocks && check.message.trim().is_empty() {
                    return Err(ContractBreach::Invalid(format!(
                        "check '{}' is {status:?} without a message",
                        check.id
                    )));
                }
                Ok(Check {
                    id: check.id,
                    status,
                    reason: check.reason.map(FailureReason::from),
                    message: check.message,
                    hint: check.hint,
                    retry_after: check.retry_after,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Report { checks })
    }
}
