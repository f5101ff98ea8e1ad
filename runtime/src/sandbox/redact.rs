//! What the sandbox hides, side by side: credentials *redacted* from
//! everything a plugin receives (response headers and bodies, transport
//! errors, its own log lines), and the operator's PII fields *masked* in
//! what the decision log keeps.
//!
//! Redaction replaces the company's secret values wherever they occur, so a
//! server that echoes a request cannot hand the plugin a token. Masking
//! replaces the values of configured JSON keys, query parameters and
//! headers, compared without regard to case.

use super::outbound::{Exchange, Outbound};
use crate::config::Credentials;

/// What a credential is replaced by in anything the plugin receives.
pub const REDACTED: &str = "[redacted]";

impl Outbound {
    /// The secret values of the company's credentials.
    pub(crate) fn secrets(&self) -> Vec<String> {
        match &self.grants.credentials {
            Credentials::None => Vec::new(),
            Credentials::Bearer(token) => vec![token.expose().to_owned()],
            Credentials::Headers(headers) => headers
                .iter()
                .map(|(_, value)| value.expose().to_owned())
                .collect(),
            Credentials::OAuth2(oauth) => oauth.secrets(),
        }
    }

    /// `text` with every credential value replaced: a server that echoes the
    /// request (or an error that quotes it) must not hand the plugin a secret.
    pub(crate) fn redact(&self, text: &str) -> String {
        redact_with(&self.secrets(), text.to_owned())
    }
}

/// `text` with every non-empty secret of `secrets` replaced; `text` itself,
/// without copying, when it holds none (the usual case).
pub(crate) fn redact_with(secrets: &[String], text: String) -> String {
    let secrets = secrets.iter().filter(|secret| !secret.is_empty());
    if !secrets.clone().any(|secret| text.contains(secret.as_str())) {
        return text;
    }
    secrets.fold(text, |text, secret| text.replace(secret.as_str(), REDACTED))
}

/// [`redact_with`] for a body that need not be text.
pub(crate) fn redact_bytes_with(secrets: &[String], body: Vec<u8>) -> Vec<u8> {
    let secrets: Vec<&[u8]> = secrets
        .iter()
        .map(|s| s.as_bytes())
        .filter(|s| !s.is_empty())
        .collect();
    if secrets.iter().all(|secret| !contains(&body, secret)) {
        return body;
    }
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body.as_slice();
    'scan: while let Some((&first, tail)) = rest.split_first() {
        for secret in &secrets {
            if let Some(after) = rest.strip_prefix(*secret) {
                out.extend_from_slice(REDACTED.as_bytes());
                rest = after;
                continue 'scan;
            }
        }
        out.push(first);
        rest = tail;
    }
    out
}

/// Whether `needle` occurs in `haystack`. Bodies are nearly always UTF-8,
/// where the standard library's substring search skips ahead quickly; a
/// comparison at every offset (one `memcmp` call per byte of the body) took
/// about 2 % of the CPU of `preflight bench`'s throughput run.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    if let (Ok(haystack), Ok(needle)) = (std::str::from_utf8(haystack), std::str::from_utf8(needle))
    {
        return haystack.contains(needle);
    }
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    let mut from = 0;
    while let Some(offset) = haystack[from..].iter().position(|&byte| byte == first) {
        let start = from + offset;
        if haystack[start + 1..].starts_with(rest) {
            return true;
        }
        from = start + 1;
    }
    false
}

/// Masks `fields` (lower case) in one recorded exchange: its URL's query,
/// headers and JSON bodies.
pub fn mask_exchange(exchange: &mut Exchange, fields: &[String]) {
    exchange.url = mask_query(&exchange.url, fields);
    for (name, value) in exchange
        .request_headers
        .iter_mut()
        .chain(exchange.response_headers.iter_mut())
    {
        if fields.contains(&name.to_ascii_lowercase()) {
            *value = MASKED.to_owned();
        }
    }
    for body in [&mut exchange.request_body, &mut exchange.response_body]
        .into_iter()
        .flatten()
    {
        if let Some(text) = &mut body.text {
            *text = mask_json_text(text, fields);
        }
    }
}

/// What replaces a masked value.
pub const MASKED: &str = "[masked]";

/// Masks, in place, the values of `fields` (lower case) in a JSON value,
/// at any depth.
pub fn mask_value(value: &mut serde_json::Value, fields: &[String]) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if fields.contains(&key.to_ascii_lowercase()) {
                    *value = serde_json::Value::String(MASKED.to_owned());
                } else {
                    mask_value(value, fields);
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                mask_value(item, fields);
            }
        }
        _ => {}
    }
}

/// `url` with the values of query parameters named in `fields` masked.
pub fn mask_query(url: &str, fields: &[String]) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_owned();
    };
    if parsed.query().is_none() {
        return url.to_owned();
    }
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(name, value)| {
            let value = if fields.contains(&name.to_ascii_lowercase()) {
                MASKED.to_owned()
            } else {
                value.into_owned()
            };
            (name.into_owned(), value)
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

/// Masks `"field": value` pairs in JSON text, also when the text was cut at
/// the recording cap and no longer parses. String values become
/// `"[masked]"`; numbers, booleans, objects and arrays too.
pub fn mask_json_text(text: &str, fields: &[String]) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'"' {
            i += 1;
            continue;
        }
        let key_end = string_end(bytes, i);
        let key = &text[i + 1..key_end.saturating_sub(1).max(i + 1)];
        let mut j = key_end;
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        if j >= bytes.len() || bytes[j] != b':' {
            i = key_end;
            continue;
        }
        j += 1;
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        if !fields.contains(&key.to_ascii_lowercase()) {
            i = j;
            continue;
        }
        let value_end = value_end(bytes, j);
        out.push_str(&text[copied..j]);
        out.push('"');
        out.push_str(MASKED);
        out.push('"');
        copied = value_end;
        i = value_end;
    }
    out.push_str(&text[copied..]);
    out
}

/// The index just past the string starting at `start` (a `"`), or the end.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The index just past the JSON value starting at `start`, or the end.
fn value_end(bytes: &[u8], start: usize) -> usize {
    match bytes.get(start) {
        Some(b'"') => string_end(bytes, start),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut i = start;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => {
                        i = string_end(bytes, i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            bytes.len()
        }
        _ => {
            let mut i = start;
            while i < bytes.len() && !matches!(bytes[i], b',' | b'}' | b']') {
                i += 1;
            }
            // Keep the whitespace before the delimiter.
            while i > start && bytes[i - 1].is_ascii_whitespace() {
                i -= 1;
            }
            i
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_ascii_lowercase()).collect()
    }

    #[test]
    fn secrets_are_found_and_redacted_in_text_and_bytes() {
        let secrets = ["s3cret".to_owned(), String::new()];
        assert!(contains(b"a s3cret b", b"s3cret"));
        assert!(!contains(b"a s3cre b", b"s3cret"));
        // Not UTF-8: the byte-wise search.
        assert!(contains(b"\xff\xfes3cret", b"s3cret"));
        assert!(!contains(b"\xff\xfes3s3cre", b"s3cret"));
        assert_eq!(
            redact_bytes_with(&secrets, b"\xfftoken s3cret!".to_vec()),
            b"\xfftoken [redacted]!"
        );
        assert_eq!(
            redact_with(&secrets, "Bearer s3cret, again s3cret".to_owned()),
            "Bearer [redacted], again [redacted]"
        );
        assert_eq!(redact_with(&secrets, "nothing".to_owned()), "nothing");
    }

    #[test]
    fn json_text_is_masked_by_key_even_when_cut() {
        let masked = mask_json_text(
            r#"{"Name": "Acme Ltd", "Code": "429", "TaxNumber":12345, "Nested": {"email":"a@b.c"}, "List": [1]}"#,
            &fields(&["name", "taxnumber", "email"]),
        );
        assert_eq!(
            masked,
            r#"{"Name": "[masked]", "Code": "429", "TaxNumber":"[masked]", "Nested": {"email":"[masked]"}, "List": [1]}"#
        );
        let cut = mask_json_text(r#"{"Code":"1","Name":"Acme L"#, &fields(&["name"]));
        assert_eq!(cut, r#"{"Code":"1","Name":"[masked]""#);
        let escaped = mask_json_text(r#"{"Name":"a \"quoted\" name","x":1}"#, &fields(&["name"]));
        assert_eq!(escaped, r#"{"Name":"[masked]","x":1}"#);
        let whole = mask_json_text(r#"{"Contact":{"Name":"x"},"y":2}"#, &fields(&["contact"]));
        assert_eq!(whole, r#"{"Contact":"[masked]","y":2}"#);
    }

    #[test]
    fn query_parameters_and_values_are_masked() {
        assert_eq!(
            mask_query("https://x.test/a?email=a%40b.c&page=2", &fields(&["email"])),
            "https://x.test/a?email=%5Bmasked%5D&page=2"
        );
        let mut value = serde_json::json!({"a": {"Email": "x"}, "b": [{"email": 1}], "c": 2});
        mask_value(&mut value, &fields(&["email"]));
        assert_eq!(
            value,
            serde_json::json!({"a": {"Email": "[masked]"}, "b": [{"email": "[masked]"}], "c": 2})
        );
    }
}
