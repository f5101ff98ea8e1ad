//! A plugin that asks its allowed origin to redirect it elsewhere, then tries
//! to follow: the host must return the 3xx untouched and refuse the target.
//! The target comes from the settings (`{"target": "http://…"}`).

use preflight_sdk::http::Request;
use preflight_sdk::raw::RawValidator;
use preflight_sdk::{
    Check, Config, ExportJob, FailureReason, PluginInfo, Report, Rule, export_raw_validator,
};

/// The JSON Schema of [`Settings`].
const SETTINGS_SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "description": "Where the plugin asks to be redirected.",
  "type": "object",
  "properties": {
    "target": { "type": "string", "description": "The URL the redirect points at." }
  },
  "required": ["target"]
}"#;

/// Follows redirects by hand.
pub struct Redirect;

/// Where to be redirected.
#[derive(serde::Deserialize)]
pub struct Settings {
    target: String,
}

impl RawValidator for Redirect {
    type Settings = Settings;

    fn info() -> PluginInfo {
        PluginInfo::new("hostile-redirect", env!("CARGO_PKG_VERSION"), "xero")
            .display_name("Xero")
            .description("follows a redirect to a forbidden origin")
            .settings_schema(SETTINGS_SCHEMA)
            .rules(&[
                Rule::new(
                    "hostile.redirect.status",
                    "Status of the redirecting answer",
                ),
                Rule::new("hostile.redirect.follow", "Following the redirect"),
            ])
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
        let check = match location {
            None => Check::skipped("hostile.redirect.follow", "no location to follow"),
            Some(location) => match Request::get(location).send() {
                Ok(response) => Check::passed(
                    "hostile.redirect.follow",
                    format!("reached: {}", response.status),
                ),
                Err(error) => Check::failed(
                    "hostile.redirect.follow",
                    FailureReason::IntegrationUnusable,
                    format!("{error:?}"),
                ),
            },
        };
        report.push(check);
        report
    }
}

export_raw_validator!(Redirect);
