//! The shipped OpenAPI files as JSON Schema, tightened as the crate docs describe.

use std::collections::HashSet;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};
use uuid::Uuid;

pub(crate) const MEDIA_TYPE: &str = "application/json;charset=UTF-8";
/// What the spec's `pattern: YYYY-MM-DDTHH:mi:ssZ` placeholder means (docs/pleo-export-api.md §1).
const TIMESTAMP_PATTERN: &str = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$";
const SPEC_FILES: [&str; 2] = [
    "pleo-export-api-v3-api-openapi.yml",
    "pleo-export-items-v3-api-openapi.yml",
];

/// The OpenAPI documents, parsed once for all tests.
pub(crate) struct Spec {
    pub(crate) documents: Vec<Value>,
}

pub(crate) fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/pleo");
        let documents = SPEC_FILES
            .iter()
            .map(|file| {
                let path = format!("{dir}/{file}");
                let text = std::fs::read_to_string(&path).expect("shipped OpenAPI file");
                serde_norway::from_str(&text).expect("OpenAPI file is valid YAML")
            })
            .collect();
        Spec { documents }
    })
}

/// What the spec says an operation answers with one status.
pub(crate) enum Expected {
    /// A JSON body matching this (already rooted) schema.
    Body(Value),
    /// No body (e.g. 202 of E4).
    Empty,
}

impl Spec {
    pub(crate) fn operation(&self, method: &str, template: &str) -> (&Value, &Value) {
        self.documents
            .iter()
            .find_map(|doc| {
                let operation = doc.pointer(&format!("/paths/{}/{method}", escape(template)))?;
                Some((doc, operation))
            })
            .unwrap_or_else(|| panic!("{method} {template} is not in the shipped spec"))
    }

    pub(crate) fn expected(&self, method: &str, template: &str, status: u16) -> Expected {
        let (document, operation) = self.operation(method, template);
        let Some(response) = operation.pointer(&format!("/responses/{status}")) else {
            assert!(
                status >= 400,
                "{method} {template}: undocumented success status {status}"
            );
            return Expected::Body(rooted(document, &json!({"$ref": ref_to("ExceptionInfo")})));
        };
        match response.get("content") {
            None => Expected::Empty,
            Some(content) => {
                let schema = content
                    .pointer(&format!("/{}/schema", escape(MEDIA_TYPE)))
                    .unwrap_or_else(|| panic!("{method} {template} {status}: no {MEDIA_TYPE}"));
                Expected::Body(rooted(document, schema))
            }
        }
    }

    /// How `value` deviates from component schema `name` of the first document.
    pub(crate) fn component_violations(&self, name: &str, value: &Value) -> Vec<String> {
        violations(
            &rooted(&self.documents[0], &json!({"$ref": ref_to(name)})),
            value,
        )
    }

    pub(crate) fn check_component(&self, name: &str, value: &Value) {
        let found = self.component_violations(name, value);
        assert!(found.is_empty(), "{name}: {found:?}\nvalue: {value:#}");
    }
}

pub(crate) fn ref_to(name: &str) -> String {
    format!("#/components/schemas/{name}")
}

/// JSON Pointer escaping (RFC 6901 §3).
pub(crate) fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// `schema` as the root of a JSON Schema document that also holds the tightened
/// components, so that `#/components/schemas/…` references resolve.
pub(crate) fn rooted(document: &Value, schema: &Value) -> Value {
    let mut components = document
        .pointer("/components/schemas")
        .cloned()
        .expect("components.schemas");
    let names: HashSet<String> = components
        .as_object()
        .expect("schemas object")
        .keys()
        .cloned()
        .collect();
    if let Value::Object(schemas) = &mut components {
        for component in schemas.values_mut() {
            tighten(component, &names);
        }
    }
    let mut schema = schema.clone();
    tighten(&mut schema, &names);
    let mut root = Map::new();
    root.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    root.insert("components".into(), json!({ "schemas": components }));
    if let Value::Object(keywords) = schema {
        root.extend(keywords);
    }
    Value::Object(root)
}

/// Applies the conversions and tightenings listed in the module docs to one schema and
/// every schema nested in it.
pub(crate) fn tighten(schema: &mut Value, components: &HashSet<String>) {
    let Value::Object(keywords) = schema else {
        return;
    };
    if keywords.remove("nullable") == Some(Value::Bool(true)) {
        allow_null(keywords);
    }
    if keywords.get("pattern") == Some(&json!("YYYY-MM-DDTHH:mi:ssZ")) {
        keywords.insert("pattern".into(), json!(TIMESTAMP_PATTERN));
    }
    if keywords.contains_key("properties") && !keywords.contains_key("additionalProperties") {
        keywords.insert("additionalProperties".into(), Value::Bool(false));
    }
    let named_enum = keywords
        .get("description")
        .and_then(Value::as_str)
        .and_then(|text| text.strip_prefix("This can be one of "))
        .and_then(|text| text.strip_suffix(" values"))
        .filter(|name| components.contains(*name))
        .map(ref_to);
    if let Some(reference) = named_enum
        && !keywords.contains_key("$ref")
    {
        keywords.insert("$ref".into(), json!(reference));
    }
    if let Some(Value::Object(properties)) = keywords.get_mut("properties") {
        for property in properties.values_mut() {
            tighten(property, components);
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(nested) = keywords.get_mut(key) {
            tighten(nested, components);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(nested)) = keywords.get_mut(key) {
            for schema in nested {
                tighten(schema, components);
            }
        }
    }
}

/// OpenAPI 3.0's `nullable: true` as JSON Schema: `null` joins the type (and the enum).
pub(crate) fn allow_null(keywords: &mut Map<String, Value>) {
    match keywords.get_mut("type") {
        Some(Value::String(single)) => {
            let single = single.clone();
            keywords.insert("type".into(), json!([single, "null"]));
        }
        Some(Value::Array(types)) if !types.contains(&json!("null")) => types.push(json!("null")),
        _ => {}
    }
    if let Some(Value::Array(values)) = keywords.get_mut("enum") {
        values.push(Value::Null);
    }
}

/// Every way `instance` deviates from `schema`.
pub(crate) fn violations(schema: &Value, instance: &Value) -> Vec<String> {
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|error| panic!("the schema does not compile: {error}\n{schema:#}"));
    validator
        .iter_errors(instance)
        .map(|error| format!("at {}: {error}", error.instance_path()))
        .collect()
}

pub(crate) fn assert_valid(schema: &Value, instance: &Value, what: &str) {
    let errors = violations(schema, instance);
    assert!(
        errors.is_empty(),
        "{what}: body deviates from the spec:\n{}\nbody: {instance:#}",
        errors.join("\n")
    );
}

#[test]
pub(crate) fn tightening_catches_what_the_raw_spec_would_let_through() {
    let spec = spec();
    let job = json!({
        "id": Uuid::new_v4(), "companyId": Uuid::new_v4(), "status": "pending",
        "createdAt": "2023-11-07T05:31:56Z", "expiresIn": 3600, "isInteractive": true,
        "numberOfItems": 1, "vendorBasedBookkeeping": false,
    });
    spec.check_component("ExportJobV3", &job);
    let deviations = [
        ("status", json!("cancelled")),
        ("createdAt", json!("2023-11-07T05:31:56.000Z")),
        ("companyId", json!("not-a-uuid")),
        ("failureReasonType", json!("vendor_unknown")),
        ("failureReasonType", Value::Null),
        ("owner", json!("someone")),
    ];
    for (field, value) in deviations {
        let mut deviating = job.clone();
        deviating[field] = value;
        let found = spec.component_violations("ExportJobV3", &deviating);
        assert!(
            !found.is_empty(),
            "{field} = {} slipped through",
            deviating[field]
        );
    }
}
