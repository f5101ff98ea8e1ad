//! Reading path ids and JSON bodies, with Pleo's error bodies instead of axum's plain-text
//! rejections (docs/pleo-export-api.md §1.2).

use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::responses::ApiError;

/// The `{jobId}` path segment; it must be a UUID (the spec's `format: uuid`), else 400.
pub(super) fn job_id(path: Result<Path<String>, PathRejection>) -> Result<Uuid, ApiError> {
    let Path(raw) = path.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    Uuid::parse_str(&raw)
        .map_err(|_| ApiError::bad_request(format!("Export job id must be a UUID: '{raw}'.")))
}

/// Deserialises a JSON body; errors name where in the body the problem is.
pub(super) fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|error| malformed(&error.path().to_string(), error.inner()))?;
    deserializer.end().map_err(|error| malformed(".", &error))?;
    Ok(value)
}

fn malformed(path: &str, error: &serde_json::Error) -> ApiError {
    if path == "." {
        ApiError::bad_request(format!("Malformed request body: {error}"))
    } else {
        ApiError::bad_request(format!("Malformed request body at {path}: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Body {
        #[expect(dead_code, reason = "only deserialised")]
        company_id: Uuid,
    }

    #[test]
    fn errors_name_the_offending_field() {
        let error = json::<Body>(br#"{"companyId": "nope"}"#).expect_err("not a UUID");
        assert_eq!(error.kind, "BAD_REQUEST");
        assert!(error.message.contains("companyId"), "{}", error.message);
        assert!(json::<Body>(b"{").is_err());
        assert!(
            json::<Body>(br#"{"companyId": "00000000-0000-0000-0000-000000000000"} x"#).is_err()
        );
    }

    #[test]
    fn job_ids_must_be_uuids() {
        let id = Uuid::new_v4();
        assert_eq!(job_id(Ok(Path(id.to_string()))), Ok(id));
        assert!(job_id(Ok(Path("42".into()))).is_err());
    }
}
