//! The list-call query parameters Xero shares across collections: `where`, `page`,
//! `pageSize`, `summaryOnly` and `includeArchived` (xero_accounting.yaml, `getContacts`,
//! `getManualJournals`, `getAccounts`).

use serde::Deserialize;
use serde_json::{Value, json};

/// Xero returns up to 100 items per page unless `pageSize` says otherwise (max 1000).
const DEFAULT_PAGE_SIZE: usize = 100;
const MAX_PAGE_SIZE: usize = 1_000;

/// Query parameters of list calls. Kept as text so that odd values are ignored rather than
/// rejected, the way a lenient fake should treat forms it does not model.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    #[serde(rename = "where")]
    pub(super) filter: Option<String>,
    pub(super) page: Option<String>,
    #[serde(rename = "pageSize")]
    pub(super) page_size: Option<String>,
    #[serde(rename = "summaryOnly")]
    pub(super) summary_only: Option<String>,
    #[serde(rename = "includeArchived")]
    pub(super) include_archived: Option<String>,
}

impl ListQuery {
    pub(super) fn summary_only(&self) -> bool {
        is_true(self.summary_only.as_deref())
    }

    pub(super) fn include_archived(&self) -> bool {
        is_true(self.include_archived.as_deref())
    }

    /// Keeps the items matching `where`; a `where` this fake cannot read filters nothing.
    pub(super) fn apply_where(&self, items: Vec<Value>) -> Vec<Value> {
        match self.filter.as_deref().and_then(Where::parse) {
            Some(filter) => items
                .into_iter()
                .filter(|item| filter.matches(item))
                .collect(),
            None => items,
        }
    }

    /// Cuts out the requested page. Without a valid `page` everything is returned and no
    /// `pagination` object, as in Xero's unpaged calls.
    pub(super) fn paginate(&self, items: Vec<Value>) -> (Vec<Value>, Option<Value>) {
        let Some(page) = self
            .page
            .as_deref()
            .and_then(|page| page.trim().parse::<usize>().ok())
        else {
            return (items, None);
        };
        let page = page.max(1);
        let page_size = self
            .page_size
            .as_deref()
            .and_then(|size| size.trim().parse::<usize>().ok())
            .map_or(DEFAULT_PAGE_SIZE, |size| size.clamp(1, MAX_PAGE_SIZE));
        let item_count = items.len();
        let pagination = json!({
            "page": page,
            "pageSize": page_size,
            "pageCount": item_count.div_ceil(page_size),
            "itemCount": item_count,
        });
        let start = (page - 1).saturating_mul(page_size);
        let items = items.into_iter().skip(start).take(page_size).collect();
        (items, Some(pagination))
    }
}

fn is_true(value: Option<&str>) -> bool {
    value.is_some_and(|value| value.trim().eq_ignore_ascii_case("true"))
}

/// A conjunction of equality tests, e.g. `IsSupplier==true AND Status=="ACTIVE"`: the
/// subset of Xero's `where` language validators use. Anything else (OR, `!=`, method calls
/// like `Name.StartsWith("A")`, `Guid("…")`) is not understood and the filter is ignored.
#[derive(Debug, PartialEq)]
struct Where(Vec<(String, Literal)>);

#[derive(Debug, PartialEq)]
enum Literal {
    Text(String),
    Bool(bool),
    /// Kept as written so that `Code==429` also matches the text code `"429"`.
    Number(String),
}

impl Where {
    fn parse(text: &str) -> Option<Self> {
        text.replace("&&", " AND ")
            .split(" AND ")
            .map(parse_equality)
            .collect::<Option<Vec<_>>>()
            .filter(|tests| !tests.is_empty())
            .map(Where)
    }

    fn matches(&self, item: &Value) -> bool {
        self.0.iter().all(|(field, literal)| {
            field_of(item, field).is_some_and(|value| literal.matches(value))
        })
    }
}

/// Parses `Field==literal`; `None` for anything else.
fn parse_equality(clause: &str) -> Option<(String, Literal)> {
    let (field, literal) = clause.trim().split_once("==")?;
    let field = field.trim();
    let is_name = !field.is_empty() && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    is_name.then_some(())?;
    Some((field.to_owned(), parse_literal(literal.trim())?))
}

fn parse_literal(text: &str) -> Option<Literal> {
    if let Some(inner) = text
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    {
        return (!inner.contains('"')).then(|| Literal::Text(inner.to_owned()));
    }
    if text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false") {
        return Some(Literal::Bool(text.eq_ignore_ascii_case("true")));
    }
    text.parse::<f64>()
        .ok()
        .map(|_| Literal::Number(text.to_owned()))
}

impl Literal {
    fn matches(&self, value: &Value) -> bool {
        match (self, value) {
            (Literal::Text(expected), Value::String(actual)) => expected == actual,
            (Literal::Bool(expected), Value::Bool(actual)) => expected == actual,
            (Literal::Number(expected), Value::String(actual)) => expected == actual,
            (Literal::Number(expected), Value::Number(actual)) => {
                expected.parse::<f64>().ok() == actual.as_f64()
            }
            _ => false,
        }
    }
}

/// The item's field named `name`; Xero field names in `where` are not case-sensitive.
fn field_of<'a>(item: &'a Value, name: &str) -> Option<&'a Value> {
    item.as_object()?
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts() -> Vec<Value> {
        vec![
            json!({"Code": "429", "Status": "ACTIVE", "IsSupplier": true}),
            json!({"Code": "800", "Status": "ACTIVE", "IsSupplier": false}),
            json!({"Code": "499", "Status": "ARCHIVED", "IsSupplier": true}),
        ]
    }

    fn codes(items: &[Value]) -> Vec<&str> {
        items
            .iter()
            .filter_map(|item| item["Code"].as_str())
            .collect()
    }

    fn with_where(filter: &str) -> ListQuery {
        ListQuery {
            filter: Some(filter.into()),
            ..ListQuery::default()
        }
    }

    #[test]
    fn filters_on_quoted_text() {
        assert_eq!(
            codes(&with_where(r#"Code=="429""#).apply_where(accounts())),
            ["429"]
        );
        assert_eq!(
            codes(&with_where(r#" code == "429" "#).apply_where(accounts())),
            ["429"]
        );
    }

    #[test]
    fn filters_on_booleans_and_bare_numbers() {
        assert_eq!(
            codes(&with_where("IsSupplier==true").apply_where(accounts())),
            ["429", "499"]
        );
        assert_eq!(
            codes(&with_where("Code==800").apply_where(accounts())),
            ["800"]
        );
    }

    #[test]
    fn filters_on_conjunctions() {
        let query = with_where(r#"IsSupplier==true AND Status=="ACTIVE""#);
        assert_eq!(codes(&query.apply_where(accounts())), ["429"]);
        let query = with_where(r#"IsSupplier==true && Status=="ARCHIVED""#);
        assert_eq!(codes(&query.apply_where(accounts())), ["499"]);
    }

    #[test]
    fn ignores_forms_it_does_not_understand() {
        for filter in [
            r#"Code=="429" OR Code=="800""#,
            r#"Status!="ACTIVE""#,
            r#"Name.StartsWith("A")"#,
            r#"ContactID==Guid("8106abc2-cf60-4ac9-84d2-bb1b2a54cc80")"#,
            "",
        ] {
            assert_eq!(
                with_where(filter).apply_where(accounts()).len(),
                3,
                "{filter}"
            );
        }
    }

    #[test]
    fn paginates_only_when_asked() {
        let items: Vec<Value> = (0..5).map(|n| json!({ "n": n })).collect();
        let (all, pagination) = ListQuery::default().paginate(items.clone());
        assert_eq!((all.len(), pagination), (5, None));

        let query = ListQuery {
            page: Some("2".into()),
            page_size: Some("2".into()),
            ..ListQuery::default()
        };
        let (page, pagination) = query.paginate(items);
        assert_eq!(page, [json!({"n": 2}), json!({"n": 3})]);
        assert_eq!(
            pagination,
            Some(json!({"page": 2, "pageSize": 2, "pageCount": 3, "itemCount": 5}))
        );
    }
}
