//! The company's plugin settings: parsed with serde, errors named by field;
//! the settings types plugins share; the checks of the SDK's settings rule;
//! and [`check_schema`], which holds a plugin's hand-written settings schema
//! to what its settings type accepts.

use serde_json::Value;

use crate::{Check, FailureReason, SettingsError, Validator};

/// The JSON Schema dialect of `plugin-info.settings-schema`: draft 2020-12.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// A settings schema that accepts any JSON object, for components whose
/// settings are free-form (`type Settings = serde_json::Value`).
pub const ANY_OBJECT_SCHEMA: &str = r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","description":"Any JSON object.","type":"object"}"#;

/// Parses the settings JSON into `S`; an error names the offending field by its
/// JSON path (`accounts.expenses`). The settings reach a plugin re-serialised
/// by the host, so serde's position in that text (`at line 1 column 68`) is
/// left out.
pub fn parse<S: serde::de::DeserializeOwned>(json: &str) -> Result<S, SettingsError> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let parsed: S = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let field = error.path().to_string();
        SettingsError {
            field: if field == "." { String::new() } else { field },
            message: without_position(&error.into_inner().to_string()).to_owned(),
        }
    })?;
    deserializer.end().map_err(|error| SettingsError {
        field: String::new(),
        message: without_position(&error.to_string()).to_owned(),
    })?;
    Ok(parsed)
}

/// `message` without serde_json's trailing ` at line N column M`.
fn without_position(message: &str) -> &str {
    let Some((before, position)) = message.rsplit_once(" at line ") else {
        return message;
    };
    let numbers = position
        .split_once(" column ")
        .is_some_and(|(line, column)| {
            [line, column]
                .iter()
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        });
    if numbers { before } else { message }
}

/// The accounts Pleo posts to, by what it uses them for:
/// `{"expenses": "…", "contra": "…"}`, both required, nothing else accepted.
/// What names an account (a code, a number, a name) is each plugin's to say,
/// in its settings schema and [`Validator::check_settings`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accounts {
    /// Where expenses without a category account are booked.
    pub expenses: String,
    /// The balancing account of card and wallet transactions.
    pub contra: String,
}

impl Accounts {
    /// Each account with what Pleo uses it for, `expenses` then `contra`. The
    /// purpose completes the setting's path (`accounts.<purpose>`) and the ids
    /// of per-account rules (`<plugin>.accounts.<purpose>`).
    pub fn by_purpose(&self) -> [(&'static str, &str); 2] {
        [("expenses", &self.expenses), ("contra", &self.contra)]
    }
}

/// The `attachments` switch: whether receipts are attached to what is posted.
/// On unless the settings say `"attachments": false`; declare it as
/// `#[serde(default)] pub attachments: Attachments`, and skip the attachment
/// rule with [`Plan::skip_attachments_off`](crate::plan::Plan::skip_attachments_off)
/// when it is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Attachments(pub bool);

impl Default for Attachments {
    fn default() -> Self {
        Attachments(true)
    }
}

impl Attachments {
    /// True when receipts are attached.
    pub fn on(self) -> bool {
        self.0
    }
}

/// The passed check of the settings rule `id`: the settings of the plugin for
/// `system` (the display name) can be used.
pub fn passed_check(id: &str, system: &str) -> Check {
    Check::passed(
        id,
        format!("The {system} integration settings in Pleo are complete."),
    )
}

/// The failed check of the settings rule `id` for settings that cannot be
/// used: `missing_configuration` when something required is absent,
/// `invalid_configuration` otherwise. `system` is the display name. The
/// message puts serde's words in the finance user's: quotes instead of
/// backticks, "is not set" for a missing field, and the settings there are
/// for an unknown one.
pub fn error_check(id: &str, system: &str, error: &SettingsError) -> Check {
    let missing = error.message.starts_with("missing field");
    let reason = if missing {
        FailureReason::MissingConfiguration
    } else {
        FailureReason::InvalidConfiguration
    };
    let quoted = error.message.replace('`', "'");
    let (place, problem) = if let Some(name) = quoted.strip_prefix("missing field ") {
        // serde names the missing field; the path is that of its object.
        let name = name.trim_matches('\'');
        let path = if error.field.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", error.field)
        };
        (String::new(), format!("'{path}' is not set"))
    } else if let Some(rest) = quoted.strip_prefix("unknown field ") {
        let (name, expected) = rest.split_once(", ").unwrap_or((rest, ""));
        let name = if error.field.is_empty() {
            name.to_owned()
        } else {
            format!("'{}'", error.field)
        };
        (
            String::new(),
            format!(
                "{name} is not a {system} setting{}",
                known_settings(expected)
            ),
        )
    } else if error.field.is_empty() {
        (String::new(), quoted)
    } else {
        (format!(" (setting '{}')", error.field), quoted)
    };
    let (what, act) = if missing {
        ("incomplete", "Complete")
    } else {
        ("invalid", "Correct")
    };
    Check::failed(
        id,
        reason,
        format!(
            "The {system} integration settings in Pleo are {what}{place}: {problem}. {act} them \
             in Pleo's {system} integration settings, then export again."
        ),
    )
    .with_hint(format!(
        "settings rejected at '{}': {}",
        error.field, error.message
    ))
}

/// The settings serde expected instead of an unknown one, from the rest of its
/// message (`expected 'a' or 'b'`, `expected one of 'a', 'b', 'c'`, `there
/// are no fields`), as words: ` (the settings there are 'a' and 'b')`.
fn known_settings(expected: &str) -> String {
    let Some(list) = expected.strip_prefix("expected ") else {
        return String::new();
    };
    let list = list.strip_prefix("one of ").unwrap_or(list);
    let names: Vec<&str> = list
        .split(", ")
        .flat_map(|part| part.split(" or "))
        .filter(|name| !name.is_empty())
        .collect();
    match names.as_slice() {
        [] => String::new(),
        [only] => format!(" (the only setting there is {only})"),
        [rest @ .., last] => format!(" (the settings there are {} and {last})", rest.join(", ")),
    }
}

/// Holds the settings schema of `V` (`plugin-info.settings-schema`) to what
/// `V::Settings` accepts, without a JSON Schema validator: meant for a
/// plugin's native tests. The schema must
///
/// - be JSON in [`DIALECT`], of `"type": "object"`, with a `description`;
/// - hold `examples`, each accepted by the settings type and by
///   [`Validator::check_settings`], the first one complete: every property of
///   every object schema present;
/// - describe every property (`description`), with a `type` that the first
///   example's value has;
/// - list as `required` exactly the properties without which the settings
///   type refuses the first example;
/// - say `"additionalProperties": false` exactly where the settings type
///   refuses an unknown field (`#[serde(deny_unknown_fields)]`).
///
/// Object properties with `properties` of their own are checked the same way.
/// Returns every problem found.
pub fn check_schema<V: Validator>() -> Result<(), Vec<String>> {
    let schema_text = V::info().settings_schema;
    let schema: Value = serde_json::from_str(&schema_text)
        .map_err(|error| vec![format!("the settings schema is not JSON: {error}")])?;
    let mut problems = Vec::new();
    if schema.get("$schema").and_then(Value::as_str) != Some(DIALECT) {
        problems.push(format!("the schema's `$schema` is not {DIALECT}"));
    }
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        problems.push("the schema's `type` is not `object`".to_owned());
    }
    if !described(&schema) {
        problems.push("the schema has no `description`".to_owned());
    }
    let examples = schema
        .get("examples")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (index, example) in examples.iter().enumerate() {
        match parse::<V::Settings>(&example.to_string()) {
            Ok(settings) => {
                for error in V::check_settings(&settings) {
                    problems.push(format!(
                        "examples[{index}] is refused by check_settings at '{}': {}",
                        error.field, error.message
                    ));
                }
            }
            Err(error) => problems.push(format!(
                "examples[{index}] does not parse at '{}': {}",
                error.field, error.message
            )),
        }
    }
    match examples.first() {
        // Probing what the settings type refuses starts from settings it accepts.
        Some(example) if parse::<V::Settings>(&example.to_string()).is_err() => {}
        Some(example) if example.is_object() => {
            let mut walk = Walk::<V::Settings> {
                example,
                problems: &mut problems,
                settings: std::marker::PhantomData,
            };
            walk.object(&schema, &mut Vec::new());
        }
        _ => problems.push("the schema has no `examples` holding a settings object".to_owned()),
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// A field name no settings type has, for probing unknown-field handling.
const UNKNOWN_FIELD: &str = "fieldNoSettingsSchemaDescribes";

/// Walks a settings schema next to its first (complete) example.
struct Walk<'a, S> {
    example: &'a Value,
    problems: &'a mut Vec<String>,
    settings: std::marker::PhantomData<fn() -> S>,
}

impl<S: serde::de::DeserializeOwned> Walk<'_, S> {
    /// Checks the object schema `schema`, found at `path` of the example.
    fn object(&mut self, schema: &Value, path: &mut Vec<String>) {
        let here = if path.is_empty() {
            "the settings object".to_owned()
        } else {
            format!("'{}'", path.join("."))
        };
        let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
            self.problems
                .push(format!("{here}: the object schema has no `properties`"));
            return;
        };
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for name in &required {
            if !properties.contains_key(*name) {
                self.problems.push(format!(
                    "{here}: `required` names '{name}', which is not a property"
                ));
            }
        }
        let Some(value) = at(self.example, path).and_then(Value::as_object) else {
            self.problems
                .push(format!("{here}: the first example holds no object here"));
            return;
        };
        for key in value.keys() {
            if !properties.contains_key(key) {
                self.problems.push(format!(
                    "{here}: the first example holds '{key}', which is not a property"
                ));
            }
        }
        for (name, property) in properties {
            path.push(name.clone());
            self.property(
                property,
                value.get(name),
                required.contains(&name.as_str()),
                path,
            );
            path.pop();
        }
        let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
        let mut with_unknown = self.example.clone();
        if let Some(object) = at_mut(&mut with_unknown, path).and_then(Value::as_object_mut) {
            object.insert(UNKNOWN_FIELD.to_owned(), Value::Null);
        }
        match (closed, self.refused(&with_unknown)) {
            (true, false) => self.problems.push(format!(
                "{here}: the schema closes it (`additionalProperties: false`), but the settings \
                 type accepts an unknown field there"
            )),
            (false, true) => self.problems.push(format!(
                "{here}: the settings type refuses unknown fields there, so the schema needs \
                 `additionalProperties: false`"
            )),
            _ => {}
        }
    }

    /// Checks property schema `property` at `path`, whose value in the first
    /// example is `value`.
    fn property(
        &mut self,
        property: &Value,
        value: Option<&Value>,
        required: bool,
        path: &mut Vec<String>,
    ) {
        let here = format!("'{}'", path.join("."));
        if !described(property) {
            self.problems
                .push(format!("{here}: the property has no `description`"));
        }
        let Some(value) = value else {
            self.problems.push(format!(
                "{here}: the first example lacks it, but it must hold every property"
            ));
            return;
        };
        match property.get("type") {
            Some(kind) if !has_type(value, kind) => self.problems.push(format!(
                "{here}: the first example's value {value} is not of type {kind}"
            )),
            None => self
                .problems
                .push(format!("{here}: the property has no `type`")),
            _ => {}
        }
        let mut without = self.example.clone();
        if let Some((name, parent)) = path.split_last()
            && let Some(object) = at_mut(&mut without, parent).and_then(Value::as_object_mut)
        {
            object.remove(name);
        }
        match (required, self.refused(&without)) {
            (true, false) => self.problems.push(format!(
                "{here}: the schema requires it, but the settings type accepts settings without it"
            )),
            (false, true) => self.problems.push(format!(
                "{here}: the settings type refuses settings without it, so the schema must list \
                 it in `required`"
            )),
            _ => {}
        }
        if property.get("properties").is_some() {
            self.object(property, path);
        }
    }

    /// True when the settings type refuses `settings`.
    fn refused(&self, settings: &Value) -> bool {
        parse::<S>(&settings.to_string()).is_err()
    }
}

/// True when `schema` has a non-blank `description`.
fn described(schema: &Value) -> bool {
    schema
        .get("description")
        .and_then(Value::as_str)
        .is_some_and(|text| !text.trim().is_empty())
}

/// Whether `value` is of JSON Schema type `kind`: a type name or a list of
/// them.
fn has_type(value: &Value, kind: &Value) -> bool {
    match kind {
        Value::String(name) => match name.as_str() {
            "string" => value.is_string(),
            "boolean" => value.is_boolean(),
            "object" => value.is_object(),
            "array" => value.is_array(),
            "null" => value.is_null(),
            "number" => value.is_number(),
            "integer" => value.is_i64() || value.is_u64(),
            _ => false,
        },
        Value::Array(kinds) => kinds.iter().any(|kind| has_type(value, kind)),
        _ => false,
    }
}

/// The value at the object path `path` of `value`.
fn at<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(value, |value, key| value.get(key))
}

/// The value at the object path `path` of `value`, mutably.
fn at_mut<'a>(value: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter()
        .try_fold(value, |value, key| value.get_mut(key.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Plan, Rule};
    use crate::{Config, ExportJob, PluginInfo};

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Settings {
        #[serde(default)]
        company_name: Option<String>,
        accounts: Accounts,
        #[serde(default)]
        attachments: Attachments,
    }

    /// A validator whose schema is `SCHEMA`; only `info` and `check_settings`
    /// run natively.
    struct Demo<const SCHEMA: usize>;

    const SCHEMAS: [&str; 4] = [
        // 0: right.
        r#"{
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "description": "Demo settings.",
            "type": "object",
            "properties": {
                "companyName": { "type": "string", "description": "The company." },
                "accounts": {
                    "type": "object",
                    "description": "Accounts.",
                    "properties": {
                        "expenses": { "type": "string", "description": "Expenses." },
                        "contra": { "type": "string", "description": "Contra." }
                    },
                    "required": ["expenses", "contra"],
                    "additionalProperties": false
                },
                "attachments": { "type": "boolean", "default": true, "description": "Receipts." }
            },
            "required": ["accounts"],
            "additionalProperties": false,
            "examples": [{
                "companyName": "Acme",
                "accounts": { "expenses": "6130", "contra": "2320" },
                "attachments": true
            }]
        }"#,
        // 1: wrong in many ways.
        r#"{
            "$schema": "https://json-schema.org/draft/2019-09/schema",
            "type": "object",
            "properties": {
                "companyName": { "type": "string", "description": "The company." },
                "accounts": {
                    "type": "object",
                    "description": "Accounts.",
                    "properties": {
                        "expenses": { "type": "integer", "description": "Expenses." },
                        "contra": { "type": "string" }
                    },
                    "required": ["expenses"]
                },
                "attachments": { "type": "boolean", "description": "Receipts." }
            },
            "required": ["accounts", "attachments"],
            "examples": [{
                "accounts": { "expenses": "6130", "contra": "2320" },
                "attachments": true
            }]
        }"#,
        // 2: not JSON.
        "{ not json",
        // 3: examples the settings type refuses.
        r#"{
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "description": "Demo settings.",
            "type": "object",
            "properties": {
                "accounts": {
                    "type": "object",
                    "description": "Accounts.",
                    "properties": {
                        "expenses": { "type": "string", "description": "Expenses." },
                        "contra": { "type": "string", "description": "Contra." }
                    },
                    "required": ["expenses", "contra"],
                    "additionalProperties": false
                }
            },
            "required": ["accounts"],
            "additionalProperties": false,
            "examples": [
                { "accounts": { "expenses": "6130", "contra": "2320" }, "journal": "PLEO" },
                { "accounts": { "expenses": "61300", "contra": "2320" } }
            ]
        }"#,
    ];

    impl<const SCHEMA: usize> Validator for Demo<SCHEMA> {
        type Settings = Settings;
        const RULES: &'static [Rule] = &[];

        fn info() -> PluginInfo {
            PluginInfo::new("demo", "1.0.0", "demo")
                .display_name("Demo Books")
                .settings_schema(SCHEMAS[SCHEMA])
        }

        fn check_settings(settings: &Settings) -> Vec<SettingsError> {
            settings
                .accounts
                .by_purpose()
                .into_iter()
                .filter(|(_, code)| code.len() != 4)
                .map(|(purpose, code)| SettingsError {
                    field: format!("accounts.{purpose}"),
                    message: format!("'{code}' is not four characters"),
                })
                .collect()
        }

        fn validate(_job: &ExportJob, _config: &Config<Settings>, _plan: &mut Plan) {}
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
        let error =
            parse::<Settings>(r#"{"accounts": {"expenses": "4", "contra": "5"}} x"#).unwrap_err();
        assert_eq!(error.message, "trailing characters");
    }

    #[test]
    fn settings_errors_read_as_words_without_json_positions() {
        let unknown = parse::<Settings>(
            r#"{"accounts": {"expenses": "6130", "contra": "2320"}, "taxcode": "x"}"#,
        )
        .unwrap_err();
        assert_eq!(unknown.field, "taxcode");
        assert!(!unknown.message.contains(" at line "), "{unknown:?}");
        assert_eq!(
            error_check("xero.settings", "Xero", &unknown).message,
            "The Xero integration settings in Pleo are invalid: 'taxcode' is not a Xero setting \
             (the settings there are 'companyName', 'accounts' and 'attachments'). Correct them \
             in Pleo's Xero integration settings, then export again."
        );

        let nested = parse::<Settings>(
            r#"{"accounts": {"expenses": "6130", "contra": "2320", "vat": "3"}}"#,
        )
        .unwrap_err();
        assert!(
            error_check("xero.settings", "Xero", &nested)
                .message
                .contains("'accounts.vat' is not a Xero setting (the settings there are 'expenses' and 'contra')"),
        );

        let missing = parse::<Settings>(r#"{"companyName": "Acme"}"#).unwrap_err();
        let check = error_check("xero.settings", "Xero", &missing);
        assert_eq!(
            check.message,
            "The Xero integration settings in Pleo are incomplete: 'accounts' is not set. \
             Complete them in Pleo's Xero integration settings, then export again."
        );
        assert!(!check.hint.unwrap().contains(" at line "));

        let nested_missing =
            parse::<Settings>(r#"{"accounts": {"expenses": "6130"}}"#).unwrap_err();
        assert!(
            error_check("xero.settings", "Xero", &nested_missing)
                .message
                .contains("incomplete: 'accounts.contra' is not set."),
        );

        let wrong_type =
            parse::<Settings>(r#"{"accounts": {"expenses": 6130, "contra": "2320"}}"#).unwrap_err();
        let check = error_check("xero.settings", "Xero", &wrong_type);
        assert!(
            check.message.starts_with(
                "The Xero integration settings in Pleo are invalid (setting 'accounts.expenses'): \
                 invalid type: integer '6130', expected a string. Correct them"
            ),
            "{}",
            check.message
        );
    }

    #[test]
    fn settings_checks_name_the_system_by_its_display_name() {
        let error = parse::<Settings>(r#"{}"#).unwrap_err();
        let check = error_check(
            "business-central.settings",
            "Microsoft Dynamics 365 Business Central",
            &error,
        );
        assert_eq!(check.reason, Some(FailureReason::MissingConfiguration));
        assert!(
            check.message.starts_with(
                "The Microsoft Dynamics 365 Business Central integration settings in Pleo are \
                 incomplete: 'accounts' is not set. Complete them"
            ),
            "{}",
            check.message
        );
        let passed = passed_check("xero.settings", "Xero");
        assert_eq!(passed.status, crate::CheckStatus::Passed);
        assert_eq!(
            passed.message,
            "The Xero integration settings in Pleo are complete."
        );
    }

    #[test]
    fn shared_settings_types_parse_with_their_defaults() {
        let settings =
            parse::<Settings>(r#"{"accounts": {"expenses": "6130", "contra": "2320"}}"#).unwrap();
        assert!(settings.attachments.on(), "attachments default to on");
        assert_eq!(settings.company_name, None);
        assert_eq!(
            settings.accounts.by_purpose(),
            [("expenses", "6130"), ("contra", "2320")]
        );
        let off = parse::<Settings>(
            r#"{"accounts": {"expenses": "6130", "contra": "2320"}, "attachments": false}"#,
        )
        .unwrap();
        assert!(!off.attachments.on());
        let unknown =
            parse::<Settings>(r#"{"accounts": {"expenses": "1", "contra": "2", "vat": "3"}}"#)
                .unwrap_err();
        assert_eq!(unknown.field, "accounts.vat");
    }

    #[test]
    fn a_schema_that_matches_its_settings_type_passes() {
        assert_eq!(check_schema::<Demo<0>>(), Ok(()));
    }

    #[test]
    fn a_schema_that_does_not_match_names_every_difference() {
        let problems = check_schema::<Demo<1>>().unwrap_err();
        let expected = [
            "`$schema` is not https://json-schema.org/draft/2020-12/schema",
            "the schema has no `description`",
            "'companyName': the first example lacks it",
            "'accounts.expenses': the first example's value \"6130\" is not of type \"integer\"",
            "'accounts.contra': the property has no `description`",
            "'accounts.contra': the settings type refuses settings without it",
            "'accounts': the settings type refuses unknown fields there",
            "'attachments': the schema requires it, but the settings type accepts settings \
             without it",
            "the settings object: the settings type refuses unknown fields there",
        ];
        for text in expected {
            assert!(
                problems.iter().any(|problem| problem.contains(text)),
                "no problem says {text:?}: {problems:#?}"
            );
        }
    }

    #[test]
    fn examples_must_be_settings_the_plugin_accepts() {
        let problems = check_schema::<Demo<3>>().unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(
            problems[0].starts_with("examples[0] does not parse at 'journal': unknown field"),
            "{problems:#?}"
        );
        assert_eq!(
            problems[1],
            "examples[1] is refused by check_settings at 'accounts.expenses': '61300' is not \
             four characters"
        );
    }

    #[test]
    fn a_schema_must_be_json() {
        let problems = check_schema::<Demo<2>>().unwrap_err();
        assert!(problems[0].starts_with("the settings schema is not JSON"));
    }

    #[test]
    fn the_any_object_schema_is_json_of_the_dialect() {
        let schema: Value = serde_json::from_str(ANY_OBJECT_SCHEMA).unwrap();
        assert_eq!(schema["$schema"], DIALECT);
        assert_eq!(schema["type"], "object");
    }
}
