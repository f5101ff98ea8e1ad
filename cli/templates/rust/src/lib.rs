//! Pre-export validation rules for {{display}}.
//!
//! Every report lists `{{name}}.settings` (the SDK's) and then [`RULES`], in
//! that order, whatever happens. The first check that fails fails the export
//! job early, and its message is what the finance user reads in Pleo.

use preflight_sdk::http::{Api, Fetch};
use preflight_sdk::{
    Capability, Check, Config, ExportJob, FailureReason, Plan, PluginInfo, Rule, SettingsError,
    Validator, export_validator,
};

/// The accounting system's name in messages.
const DISPLAY_NAME: &str = "{{display}}";

/// Rule ids: stable across versions, dashboards key on them.
pub mod id {
    /// The API answers and accepts the host-held credentials.
    pub const CONNECTION: &str = "{{name}}.connection";
    /// The configured journal exists.
    pub const JOURNAL: &str = "{{name}}.journal";
}

/// Every rule, in the order they run.
pub const RULES: &[Rule] = &[
    Rule::new(id::CONNECTION, "Connection and authentication"),
    Rule::new(id::JOURNAL, "Journal exists"),
];

/// The company's settings (`settings.schema.json`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The journal Pleo posts to.
    pub journal: String,
}

/// The {{display}} validator.
pub struct Plugin;

impl Validator for Plugin {
    type Settings = Settings;

    const RULES: &'static [Rule] = RULES;

    fn info() -> PluginInfo {
        PluginInfo::new("{{name}}", env!("CARGO_PKG_VERSION"), "{{system}}")
            .display_name(DISPLAY_NAME)
            .description("Pre-export validation for {{display}}")
            .capabilities(&[Capability::JournalEntries])
            .settings_schema(include_str!("../settings.schema.json"))
    }

    fn check_settings(settings: &Settings) -> Vec<SettingsError> {
        let journal = &settings.journal;
        let valid = (1..=10).contains(&journal.len())
            && journal
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if valid {
            return Vec::new();
        }
        vec![SettingsError {
            field: "journal".to_owned(),
            message: format!("'{journal}' is not a journal code (1 to 10 capitals or digits)"),
        }]
    }

    fn validate(_job: &ExportJob, config: &Config<Settings>, plan: &mut Plan) {
        let api = Api::new(&config.base_url);
        match api.get("company") {
            Ok(_) => plan.record(Check::passed(
                id::CONNECTION,
                "{{display}} is reachable and accepts Pleo's connection.",
            )),
            // Timeouts, outages, rate limits, 401 and 403: the SDK's checks.
            Err(fetch) => plan.record(fetch.check(id::CONNECTION, DISPLAY_NAME)),
        }
        if plan.is_blocked() {
            // The plan reports the remaining rules as not checked.
            return;
        }
        let journal = &config.settings.journal;
        match api.get(&format!("journals/{journal}")) {
            Ok(_) => plan.record(Check::passed(
                id::JOURNAL,
                format!("The {{display}} journal {journal} exists."),
            )),
            Err(Fetch::Status(response)) if response.status == 404 => plan.record(
                Check::failed(
                    id::JOURNAL,
                    FailureReason::MissingConfiguration,
                    format!(
                        "{{display}} has no journal {journal}. Create it in {{display}}, or pick \
                         another journal in Pleo's {{display}} settings, then export again."
                    ),
                )
                .with_hint(format!("404 from GET journals/{journal}")),
            ),
            Err(fetch) => plan.record(fetch.check(id::JOURNAL, DISPLAY_NAME)),
        }
    }
}

export_validator!(Plugin);

#[cfg(test)]
mod tests {
    use preflight_sdk::CheckStatus::{Failed, Passed, Skipped};
    use preflight_sdk::testing::Harness;

    use super::*;

    const SETTINGS: &str = r#"{"journal": "GEN"}"#;

    #[test]
    fn the_settings_schema_matches_the_settings() {
        assert_eq!(preflight_sdk::settings::check_schema::<Plugin>(), Ok(()));
    }

    #[test]
    fn a_ready_company_passes_both_rules() {
        let run = Harness::new(SETTINGS)
            .reply("GET", "company", 200, r#"{"name": "Demo"}"#)
            .reply("GET", "journals/GEN", 200, r#"{"code": "GEN"}"#)
            .run::<Plugin>();
        assert_eq!(
            run.statuses(),
            [
                ("{{name}}.settings", Passed),
                (id::CONNECTION, Passed),
                (id::JOURNAL, Passed),
            ]
        );
        assert!(run.unmatched.is_empty(), "{:?}", run.unmatched);
    }

    #[test]
    fn a_missing_journal_fails_the_job_with_missing_configuration() {
        let run = Harness::new(SETTINGS)
            .reply("GET", "company", 200, r#"{"name": "Demo"}"#)
            .reply("GET", "journals/GEN", 404, r#"{"error": "not found"}"#)
            .run::<Plugin>();
        let blocking = run.blocking().expect("the job fails");
        assert_eq!(blocking.id, id::JOURNAL);
        assert_eq!(blocking.status, Failed);
        assert_eq!(blocking.reason, Some(FailureReason::MissingConfiguration));
    }

    #[test]
    fn a_refused_connection_stops_before_the_journal() {
        let run = Harness::new(SETTINGS)
            .reply("GET", "company", 401, r#"{"error": "invalid_token"}"#)
            .run::<Plugin>();
        assert_eq!(run.check(id::CONNECTION).status, Failed);
        assert_eq!(run.check(id::JOURNAL).status, Skipped);
        assert_eq!(run.requests.len(), 1, "{:?}", run.requests);
    }

    #[test]
    fn a_malformed_journal_code_is_refused_naming_the_field() {
        let settings = preflight_sdk::settings::parse::<Settings>(r#"{"journal": "gen eral"}"#)
            .expect("parses");
        let errors = Plugin::check_settings(&settings);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "journal");
    }
}
