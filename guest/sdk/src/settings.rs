//! The company's plugin settings: parsed with serde, errors named by field.

use crate::{Check, FailureReason, SettingsError};

/// Parses the settings JSON into `S`; an error names the offending field by its
/// JSON path (`accounts.expenses`).
pub fn parse<S: serde::de::DeserializeOwned>(json: &str) -> Result<S, SettingsError> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let parsed: S = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let field = error.path().to_string();
        SettingsError {
            field: if field == "." { String::new() } else { field },
            message: error.into_inner().to_string(),
        }
    })?;
    deserializer.end().map_err(|error| SettingsError {
        field: String::new(),
        message: error.to_string(),
    })?;
    Ok(parsed)
}

/// The failed check for settings that cannot be used: `missing_configuration`
/// when something required is absent, `invalid_configuration` otherwise.
pub fn error_check(id: &str, system: &str, error: &SettingsError) -> Check {
    let missing = error.message.starts_with("missing field");
    let reason = if missing {
        FailureReason::MissingConfiguration
    } else {
        FailureReason::InvalidConfiguration
    };
    let place = if error.field.is_empty() {
        String::new()
    } else {
        format!(" (setting '{}')", error.field)
    };
    let what = if missing { "incomplete" } else { "invalid" };
    Check::failed(
        id,
        reason,
        format!(
            "The {system} integration settings in Pleo are {what}{place}: {}. Complete them in \
             Pleo's {system} integration settings, then export again.",
            error.message
        ),
    )
    .with_hint(format!(
        "settings rejected at '{}': {}",
        error.field, error.message
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only the parse result is inspected")]
    struct Settings {
        accounts: Accounts,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only the parse result is inspected")]
    struct Accounts {
        expenses: String,
    }

    #[test]
    fn errors_name_the_field_path() {
        let error = parse::<Settings>(r#"{"accounts": {}}"#).unwrap_err();
        assert_eq!(error.field, "accounts");
        assert!(
            error.message.contains("missing field `expenses`"),
            "{}",
            error.message
        );

        let error = parse::<Settings>(r#"{"accounts": {"expenses": 4}}"#).unwrap_err();
        assert_eq!(error.field, "accounts.expenses");

        let check = error_check("x.settings", "Xero", &error);
        assert_eq!(check.reason, Some(FailureReason::InvalidConfiguration));
        assert!(check.message.contains("accounts.expenses"));
    }

    #[test]
    fn trailing_garbage_is_refused() {
        assert!(parse::<Settings>(r#"{"accounts": {"expenses": "4"}} x"#).is_err());
    }
}
