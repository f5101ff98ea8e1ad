//! `POST /v3/company/{realmId}/upload`: attachments as `multipart/form-data` with exactly two
//! parts, `file_metadata_01` (an Attachable as JSON, whose `AttachableRef` links the file to
//! an entity) and `file_content_01` (the bytes) (docs/accounting-systems.md §2, "Endpoints" and
//! "Fake-server notes"). The emulator answers as QuickBooks does but keeps no file.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::Response;
use serde_json::{Value, json};
use uuid::Uuid;

use super::faults;

/// QuickBooks' upload limit, 100 MB (error 6030, docs/accounting-systems.md §2).
pub(super) const MAX_UPLOAD_BYTES: usize = 100 * 1_000 * 1_000;

/// One part of a multipart body: its form field name, content type and bytes.
#[derive(Debug)]
struct Part<'a> {
    name: String,
    content_type: Option<String>,
    body: &'a [u8],
}

/// Checks the two parts and answers with the new Attachable.
pub(super) async fn upload(Path(realm): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(boundary) = boundary(&headers) else {
        return faults::required_param_missing(
            "the upload must be multipart/form-data with a boundary",
        );
    };
    let parts = split(&body, &boundary);
    let metadata = parts
        .iter()
        .find(|part| part.name.starts_with("file_metadata_"));
    let content = parts
        .iter()
        .find(|part| part.name.starts_with("file_content_"));
    let (Some(metadata), Some(content), 2) = (metadata, content, parts.len()) else {
        let names: Vec<&str> = parts.iter().map(|part| part.name.as_str()).collect();
        return faults::required_param_missing(&format!(
            "expected exactly the parts file_metadata_01 and file_content_01, got {names:?}"
        ));
    };
    let Ok(attachable) = serde_json::from_slice::<Value>(metadata.body) else {
        return faults::required_param_missing("file_metadata_01 is not an Attachable in JSON");
    };
    let id = Uuid::new_v4().as_u128() % 10_u128.pow(19);
    let file_name = attachable
        .get("FileName")
        .and_then(Value::as_str)
        .unwrap_or("attachment");
    let content_type = attachable
        .get("ContentType")
        .and_then(Value::as_str)
        .or(content.content_type.as_deref())
        .unwrap_or("application/octet-stream");
    // Without AttachableRef the file is stored but linked to nothing.
    let references = attachable
        .get("AttachableRef")
        .cloned()
        .unwrap_or_else(|| json!([]));
    let answer = json!([{
        "Attachable": {
            "FileName": file_name,
            "FileAccessUri": format!("/v3/company/{realm}/download/{id}"),
            "Size": content.body.len(),
            "ContentType": content_type,
            "AttachableRef": references,
            "domain": "QBO",
            "sparse": false,
            "Id": id.to_string(),
            "SyncToken": "0",
        }
    }]);
    faults::entity("AttachableResponse", answer)
}

/// The boundary of a `multipart/form-data` content type.
fn boundary(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let (kind, parameters) = value.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    parameters.split(';').find_map(|parameter| {
        let (key, value) = parameter.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// The named parts of a multipart body (RFC 7578); malformed parts are left out.
fn split<'a>(body: &'a [u8], boundary: &str) -> Vec<Part<'a>> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut parts = Vec::new();
    let mut rest = body;
    while let Some(at) = find(rest, delimiter) {
        rest = &rest[at + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let Some(end) = find(rest, delimiter) else {
            break;
        };
        let raw = &rest[..end];
        let raw = raw.strip_prefix(b"\r\n").unwrap_or(raw);
        let raw = raw.strip_suffix(b"\r\n").unwrap_or(raw);
        if let Some(part) = part(raw) {
            parts.push(part);
        }
    }
    parts
}

/// One part: headers, a blank line, the body.
fn part(raw: &[u8]) -> Option<Part<'_>> {
    let split = find(raw, b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut name = None;
    let mut content_type = None;
    for line in head.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        if key.trim().eq_ignore_ascii_case("content-disposition") {
            name = value.split(';').find_map(|field| {
                let (key, value) = field.split_once('=')?;
                (key.trim() == "name").then(|| value.trim().trim_matches('"').to_owned())
            });
        } else if key.trim().eq_ignore_ascii_case("content-type") {
            content_type = Some(value.trim().to_owned());
        }
    }
    Some(Part {
        name: name?,
        content_type,
        body: &raw[split + 4..],
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn body(parts: &[(&str, &str)]) -> Vec<u8> {
        let mut body = String::new();
        for (name, content) in parts {
            body.push_str(&format!(
                "--XyZ\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\
                 Content-Type: application/json\r\n\r\n{content}\r\n"
            ));
        }
        body.push_str("--XyZ--\r\n");
        body.into_bytes()
    }

    #[test]
    fn two_parts_are_found_by_name() {
        let bytes = body(&[
            ("file_metadata_01", r#"{"FileName":"r.pdf"}"#),
            ("file_content_01", "%PDF-1.7"),
        ]);
        let parts = split(&bytes, "XyZ");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "file_metadata_01");
        assert_eq!(parts[1].body, b"%PDF-1.7");
    }

    #[test]
    fn boundary_comes_from_the_content_type() {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("multipart/form-data; boundary=\"XyZ\""),
        );
        assert_eq!(boundary(&headers).as_deref(), Some("XyZ"));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        assert_eq!(boundary(&headers), None);
    }

    #[tokio::test]
    async fn one_part_is_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("multipart/form-data; boundary=XyZ"),
        );
        let bytes = body(&[("file_content_01", "%PDF-1.7")]);
        let response = upload(Path("1".into()), headers, Bytes::from(bytes)).await;
        assert_eq!(response.status(), axum::http::StatusCode::BAD_REQUEST);
    }
}
