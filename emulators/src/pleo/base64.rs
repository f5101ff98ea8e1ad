//! Decoding the standard Base64 alphabet (RFC 4648 §4), for `Authorization: Basic` headers
//! (RFC 7617) carrying a Pleo API key (docs/pleo-export-api.md §1.1).

/// Decodes `text`; padding is optional, anything outside the alphabet is refused.
pub(super) fn decode(text: &str) -> Option<Vec<u8>> {
    let unpadded = text.trim_end_matches('=');
    let padding = text.len() - unpadded.len();
    if padding > 2 || (padding > 0 && !text.len().is_multiple_of(4)) || unpadded.len() % 4 == 1 {
        return None;
    }
    let mut decoded = Vec::with_capacity(unpadded.len() / 4 * 3 + 2);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for symbol in unpadded.bytes() {
        buffer = (buffer << 6) | u32::from(sextet(symbol)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            decoded.extend_from_slice(&(buffer >> bits).to_be_bytes()[3..]);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(decoded)
}

/// The 6-bit value of one Base64 symbol.
fn sextet(symbol: u8) -> Option<u8> {
    match symbol {
        b'A'..=b'Z' => Some(symbol - b'A'),
        b'a'..=b'z' => Some(symbol - b'a' + 26),
        b'0'..=b'9' => Some(symbol - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn decodes_the_rfc_4648_test_vectors() {
        let vectors = [
            ("", ""),
            ("Zg==", "f"),
            ("Zm8=", "fo"),
            ("Zm9v", "foo"),
            ("Zm9vYg==", "foob"),
            ("Zm9vYmE=", "fooba"),
            ("Zm9vYmFy", "foobar"),
        ];
        for (encoded, plain) in vectors {
            assert_eq!(
                decode(encoded).as_deref(),
                Some(plain.as_bytes()),
                "{encoded}"
            );
        }
    }

    #[test]
    fn decodes_an_api_key_credential() {
        // base64("pleo-demo-api-key:")
        assert_eq!(
            decode("cGxlby1kZW1vLWFwaS1rZXk6").as_deref(),
            Some(&b"pleo-demo-api-key:"[..])
        );
        assert_eq!(decode("Zm9vYg").as_deref(), Some(&b"foob"[..]));
    }

    #[test]
    fn refuses_malformed_input() {
        for text in [
            "Z", "Zm9vY", "Zg=", "Zg===", "Zm9v!", "Zm 9v", "====", "Z===",
        ] {
            assert_eq!(decode(text), None, "{text}");
        }
    }
}
