//! The OData paths and query options the emulator understands, relative to
//! `…/api/v2.0/`: `companies`, `companies({id})`, `companies({id})/{set}` and
//! `companies({id})/{set}({id})/{set}` (docs/accounting-systems.md §5, "Base / auth").

/// What a path addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Target<'a> {
    /// `companies`.
    Companies,
    /// `companies({id})`.
    Company(&'a str),
    /// `companies({company})/{set}`.
    Set {
        /// The company id.
        company: &'a str,
        /// The entity set, e.g. `accounts`.
        set: &'a str,
    },
    /// `companies({company})/{parent}({parent_id})/{set}`.
    Nested {
        /// The company id.
        company: &'a str,
        /// The parent entity set, e.g. `journals`.
        parent: &'a str,
        /// The parent's id.
        parent_id: &'a str,
        /// The nested entity set, e.g. `journalLines`.
        set: &'a str,
    },
}

/// Splits `name(key)` into its name and key; keys may be bare (GUIDs) or quoted.
fn segment(text: &str) -> (&str, Option<&str>) {
    match text.split_once('(') {
        Some((name, rest)) if rest.ends_with(')') => {
            let key = rest[..rest.len() - 1].trim_matches('\'');
            (name, Some(key))
        }
        _ => (text, None),
    }
}

/// Parses the path after `…/api/v2.0/`; `None` when no API page serves it.
pub(super) fn parse(rest: &str) -> Option<Target<'_>> {
    let segments: Vec<(&str, Option<&str>)> =
        rest.trim_end_matches('/').split('/').map(segment).collect();
    match segments.as_slice() {
        [("companies", None)] => Some(Target::Companies),
        [("companies", Some(company))] => Some(Target::Company(company)),
        [("companies", Some(company)), (set, None)] => Some(Target::Set { company, set }),
        [
            ("companies", Some(company)),
            (parent, Some(parent_id)),
            (set, None),
        ] => Some(Target::Nested {
            company,
            parent,
            parent_id,
            set,
        }),
        _ => None,
    }
}

/// The `$top` query option: how many entities to return at most.
pub(super) fn top(value: Option<&str>) -> Option<usize> {
    value.and_then(|value| value.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_to_targets() {
        assert_eq!(parse("companies"), Some(Target::Companies));
        assert_eq!(parse("companies(abc)"), Some(Target::Company("abc")));
        assert_eq!(
            parse("companies(abc)/accounts"),
            Some(Target::Set {
                company: "abc",
                set: "accounts"
            })
        );
        assert_eq!(
            parse("companies('abc')/journals(j1)/journalLines"),
            Some(Target::Nested {
                company: "abc",
                parent: "journals",
                parent_id: "j1",
                set: "journalLines"
            })
        );
        assert_eq!(parse("accounts"), None);
        assert_eq!(parse("companies/accounts"), None);
    }

    #[test]
    fn top_ignores_garbage() {
        assert_eq!(top(Some("1")), Some(1));
        assert_eq!(top(Some("x")), None);
        assert_eq!(top(None), None);
    }
}
