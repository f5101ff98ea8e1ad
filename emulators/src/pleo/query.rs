//! Query strings the way Pleo's API reads them: snake_case names and repeated names for
//! arrays (`?statuses=pending&statuses=in_progress`, form/explode; docs/pleo-export-api.md §1).
//!
//! Parsed by hand because axum's `Query` extractor cannot collect repeated names.

use uuid::Uuid;

use super::responses::ApiError;

/// The decoded `name=value` pairs of one query string, in order.
#[derive(Clone, Debug, Default)]
pub(super) struct Query(Vec<(String, String)>);

impl Query {
    /// Parses a raw query string (without `?`), percent-decoding names and values and
    /// reading `+` as a space (application/x-www-form-urlencoded).
    pub(super) fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let Some(raw) = raw else {
            return Ok(Self::default());
        };
        let pairs = raw
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                Ok((decode(name)?, decode(value)?))
            })
            .collect::<Result<_, ApiError>>()?;
        Ok(Self(pairs))
    }

    /// Every value of `name`; comma-separated values are split too, which some clients send
    /// for arrays instead of repeating the name.
    pub(super) fn list(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(key, _)| key == name)
            .flat_map(|(_, value)| value.split(','))
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .collect()
    }

    /// The value of a single-valued parameter; given twice is a 400.
    pub(super) fn single(&self, name: &str) -> Result<Option<&str>, ApiError> {
        let mut values = self
            .0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(ApiError::bad_request(format!(
                "Parameter '{name}' must be given at most once."
            )));
        }
        Ok(first)
    }

    /// A single-valued UUID parameter.
    pub(super) fn uuid(&self, name: &str) -> Result<Option<Uuid>, ApiError> {
        self.single(name)?
            .map(|value| {
                Uuid::parse_str(value).map_err(|_| {
                    ApiError::bad_request(format!("Parameter '{name}' must be a UUID: '{value}'."))
                })
            })
            .transpose()
    }
}

/// Percent-decodes one name or value; malformed `%` escapes are kept literally, as the
/// WHATWG URL standard's form decoding does.
pub(super) fn decode(text: &str) -> Result<String, ApiError> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => decoded.push(b' '),
            b'%' => {
                if let Some(byte) = hex_pair(bytes.get(index + 1..index + 3)) {
                    decoded.push(byte);
                    index += 2;
                } else {
                    decoded.push(b'%');
                }
            }
            other => decoded.push(other),
        }
        index += 1;
    }
    String::from_utf8(decoded)
        .map_err(|_| ApiError::bad_request("The query string is not valid UTF-8."))
}

fn hex_pair(pair: Option<&[u8]>) -> Option<u8> {
    let [high, low] = pair? else {
        return None;
    };
    let digit = |b: &u8| char::from(*b).to_digit(16);
    u8::try_from(digit(high)? * 16 + digit(low)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(raw: &str) -> Query {
        Query::parse(Some(raw)).expect("valid query")
    }

    #[test]
    fn repeated_and_comma_separated_values_both_make_lists() {
        let q = query("statuses=pending&statuses=in_progress&company_id=x");
        assert_eq!(q.list("statuses"), ["pending", "in_progress"]);
        let q = query("statuses=pending%2Cfailed,completed");
        assert_eq!(q.list("statuses"), ["pending", "failed", "completed"]);
        assert!(q.list("missing").is_empty());
    }

    #[test]
    fn decodes_percent_escapes_and_plus() {
        let q = query("a=x%3Dy+z&b=100%&c=%zz&d");
        assert_eq!(q.single("a").ok().flatten(), Some("x=y z"));
        assert_eq!(q.single("b").ok().flatten(), Some("100%"));
        assert_eq!(q.single("c").ok().flatten(), Some("%zz"));
        assert_eq!(q.single("d").ok().flatten(), Some(""));
        assert!(Query::parse(Some("a=%FF")).is_err());
    }

    #[test]
    fn single_values_must_be_single_and_uuids_valid() {
        let q = query("limit=1&limit=2&company_id=nope");
        assert!(q.single("limit").is_err());
        assert!(q.uuid("company_id").is_err());
        let id = Uuid::new_v4();
        assert_eq!(
            query(&format!("company_id={id}")).uuid("company_id"),
            Ok(Some(id))
        );
    }
}
