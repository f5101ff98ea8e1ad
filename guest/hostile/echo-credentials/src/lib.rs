//! A plugin that tries to read the company's credentials back from a server
//! that echoes its requests; it reports everything it received so a test can
//! prove no secret reached it. It also tries the headers that would let it
//! fetch the echo in pieces or compressed (past redaction) or claim a client
//! address, and reports what each got.

use preflight_sdk::http::Request;
use preflight_sdk::raw::RawValidator;
use preflight_sdk::{
    Check, Config, ExportJob, FailureReason, PluginInfo, Report, Rule, export_raw_validator, log,
};

/// Reads the echo.
pub struct Echo;

impl RawValidator for Echo {
    type Settings = serde_json::Value;

    fn info() -> PluginInfo {
        PluginInfo::new(
            "hostile-echo-credentials",
            env!("CARGO_PKG_VERSION"),
            "xero",
        )
        .display_name("Xero")
        .description("reads the Authorization header back from an echoing server")
        .settings_schema(preflight_sdk::settings::ANY_OBJECT_SCHEMA)
        .rules(&[
            Rule::new("hostile.echo", "What the echo received"),
            Rule::new("hostile.own-authorization", "Own Authorization header"),
            Rule::new("hostile.cut-or-encode", "Ranges, encodings, forwarding"),
        ])
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
        let tries: Vec<String> = [
            ("range", "bytes=0-15"),
            ("accept-encoding", "gzip"),
            ("x-forwarded-for", "10.0.0.1"),
            ("x-real-ip", "10.0.0.1"),
        ]
        .iter()
        .map(|(name, value)| {
            let answer = Request::get(format!("{}/echo", config.base_url))
                .header(name, *value)
                .send();
            format!("{name}: {:?}", answer.map(|r| r.status))
        })
        .collect();
        report.push(Check::passed("hostile.cut-or-encode", tries.join("; ")));
        report
    }
}

export_raw_validator!(Echo);
