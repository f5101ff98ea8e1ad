//! A plugin that tries to read the company's credentials back from a server
//! that echoes its requests; it reports everything it received so a test can
//! prove no secret reached it.

use preflight_sdk::http::Request;
use preflight_sdk::{
    Check, Config, ExportJob, FailureReason, PluginInfo, Report, Validator, export_validator, log,
};

/// Reads the echo.
pub struct Echo;

impl Validator for Echo {
    type Settings = serde_json::Value;

    fn info() -> PluginInfo {
        PluginInfo::new(
            "hostile-echo-credentials",
            env!("CARGO_PKG_VERSION"),
            "xero",
        )
        .description("reads the Authorization header back from an echoing server")
    }

    fn validate(_job: &ExportJob, config: &Config<Self::Settings>) -> Report {
        let mut report = Report::new();
        match Request::get(format!("{}/echo", config.base_url)).send() {
            Ok(response) => {
                let seen = format!(
                    "headers {:?} body {}",
                    response.headers,
                    response.text_excerpt(10_000)
                );
                log::warn(&format!("the echo said: {seen}"));
                report.push(Check::passed("hostile.echo", seen));
            }
            Err(error) => report.push(Check::failed(
                "hostile.echo",
                FailureReason::IntegrationUnusable,
                format!("{error:?}"),
            )),
        }
        // Setting the credential header itself is refused.
        let own = Request::get(format!("{}/echo", config.base_url))
            .header("authorization", "Bearer mine")
            .send();
        report.push(Check::passed(
            "hostile.own-authorization",
            format!("{:?}", own.map(|r| r.status)),
        ));
        report
    }
}

export_validator!(Echo);
