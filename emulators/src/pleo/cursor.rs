//! Opaque page cursors. The spec constrains `before`/`after` to `^[A-Z2-7=~]+$`
//! (docs/pleo-export-api.md §1.3), i.e. the RFC 4648 §6 Base32 alphabet with `=` padding; the
//! emulator encodes the position key of a row (its creation sequence number, or its index)
//! that way.

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Prefix inside the encoding, so that random Base32 text is not taken for a cursor.
const TAG: &str = "pos:";

/// The cursor pointing at the row with position `key`.
pub(super) fn encode(key: u64) -> String {
    base32_encode(format!("{TAG}{key}").as_bytes())
}

/// The position key of a cursor made by [`encode`], or `None` for anything else.
pub(super) fn decode(cursor: &str) -> Option<u64> {
    let bytes = base32_decode(cursor)?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let digits = text.strip_prefix(TAG)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Base32 with `=` padding to a multiple of 8 symbols.
fn base32_encode(bytes: &[u8]) -> String {
    let mut encoded = String::with_capacity(bytes.len().div_ceil(5) * 8);
    for chunk in bytes.chunks(5) {
        let mut block = [0u8; 8];
        block[..chunk.len()].copy_from_slice(chunk);
        let value = u64::from_be_bytes(block) >> 24;
        let symbols = (chunk.len() * 8).div_ceil(5);
        for index in 0..8 {
            if index < symbols {
                let sextet = (value >> (35 - 5 * index)) & 0x1f;
                encoded.push(char::from(ALPHABET[sextet as usize]));
            } else {
                encoded.push('=');
            }
        }
    }
    encoded
}

/// Decodes padded Base32; refuses symbols outside the alphabet and misplaced padding.
fn base32_decode(text: &str) -> Option<Vec<u8>> {
    if text.is_empty() || !text.len().is_multiple_of(8) {
        return None;
    }
    let mut decoded = Vec::with_capacity(text.len() / 8 * 5);
    for block in text.as_bytes().chunks(8) {
        let symbols = block.iter().take_while(|&&b| b != b'=').count();
        if block[symbols..].iter().any(|&b| b != b'=') {
            return None;
        }
        let byte_count = match symbols {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            2 => 1,
            _ => return None,
        };
        let mut value: u64 = 0;
        for &symbol in &block[..symbols] {
            let index = ALPHABET.iter().position(|&a| a == symbol)?;
            value = (value << 5) | index as u64;
        }
        value <<= 5 * (8 - symbols);
        decoded.extend_from_slice(&value.to_be_bytes()[3..3 + byte_count]);
    }
    Some(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_the_rfc_4648_test_vectors() {
        let vectors = [
            ("f", "MY======"),
            ("fo", "MZXQ===="),
            ("foo", "MZXW6==="),
            ("foob", "MZXW6YQ="),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI======"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base32_encode(plain.as_bytes()), encoded);
            assert_eq!(base32_decode(encoded).as_deref(), Some(plain.as_bytes()));
        }
    }

    #[test]
    fn cursors_round_trip_and_match_the_spec_pattern() {
        for key in [0, 1, 19, 20, 12_345, u64::MAX] {
            let cursor = encode(key);
            assert!(
                cursor
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b) || b == b'='),
                "{cursor}"
            );
            assert_eq!(decode(&cursor), Some(key));
        }
    }

    #[test]
    fn foreign_text_is_not_a_cursor() {
        for text in [
            "", "MZXW6YTB", "abc", "MY=====", "M=Y=====", "1AAAAAAA", "ONXW2ZI=",
        ] {
            assert_eq!(decode(text), None, "{text}");
        }
        assert_eq!(decode(&base32_encode(b"pos:-1")), None);
        assert_eq!(decode(&base32_encode(b"pos:")), None);
    }
}
