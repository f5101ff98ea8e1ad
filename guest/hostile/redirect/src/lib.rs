//! A plugin that asks its allowed origin to redirect it elsewhere, then tries
//! to follow: the host must return the 3xx untouched and refuse the target.
//! The target comes from the settings (`{"target": "http://…"}`).

use preflight_sdk::http::Request;
use preflight_sdk::{
    Check, Config, ExportJob, FailureReason, PluginInfo, Report, Validator, export_validator,
};

/// Follows redirects by hand.
pub struct Redirect;

/// Where to be redirected.
#[derive(serde::Deserialize)]
pub struct Settings {
    target: String,
}

impl Validator for Redirect {
    type Settings = Settings;

    fn info() -> PluginInfo {
        PluginInfo::new("hostile-redirect", env!("CARGO_PKG_VERSION"), "xero")
            .description("follows a redirect to a forbidden origin")
    }

    fn validate(_job: &ExportJob, config: &Config<Settings>) -> Report {
        let mut report = Report::new();
        let url = format!("{}/redirect?to={}", config.base_url, config.settings.target);
        let location = match Request::get(url).send() {
            Ok(response) => {
                report.push(Check::passed(
                    "hostile.redirect.status",
                    response.status.to_string(),
                ));
                response.header("location").map(str::to_owned)
            }
            Err(error) => {
                report.push(Check::failed(
                    "hostile.redirect.status",
                    FailureReason::IntegrationUnusable,
                    format!("{error:?}"),
                ));
                None
            }
        };
        if let Some(location) = location {
            let check = match Request::get(location).send() {
                Ok(response) => Check::passed(
                    "hostile.redirect.follow",
                    format!("reached: {}", response.status),
                ),
                Err(error) => Check::failed(
                    "hostile.redirect.follow",
                    FailureReason::IntegrationUnusable,
                    format!("{error:?}"),
                ),
            };
            report.push(check);
        }
        report
    }
}

export_validator!(Redirect);
