//! `GET /v3/company/{realmId}/query?query=…` and `POST …/query` (statement as the body):
//! QuickBooks' SQL-like query language (docs/accounting-systems.md §2, "Endpoints"), reduced to
//! what integrations send: `select * | count(*) from <Entity> [where <field> = <value> |
//! <field> in (<values>) | <field> like '<pattern>' [and …]] [orderby <field> [asc|desc]]
//! [startposition <n>] [maxresults <n>]`. Keywords and string comparisons ignore case.

use std::cmp::Ordering;

use axum::Extension;
use axum::extract::Query;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::state::Active;
use super::{Scenario, faults, seed};

/// `maxresults` when the statement has none, and its ceiling (QuickBooks' documented
/// default and maximum page sizes).
const DEFAULT_MAX_RESULTS: usize = 100;
const MAX_RESULTS_CEILING: usize = 1_000;

/// The `query` parameter; `minorversion` and others are ignored.
#[derive(Debug, Default, Deserialize)]
pub(super) struct QueryParams {
    query: Option<String>,
}

/// `GET …/query?query=<statement>`.
pub(super) async fn get(
    Extension(active): Extension<Active>,
    Query(params): Query<QueryParams>,
) -> Response {
    answer(&active, params.query.as_deref().unwrap_or_default())
}

/// `POST …/query` with the statement as the body (`Content-Type: application/text`).
pub(super) async fn post(Extension(active): Extension<Active>, body: String) -> Response {
    answer(&active, &body)
}

/// Parses and runs `statement`, applying the entity-level scenarios.
fn answer(active: &Active, statement: &str) -> Response {
    let statement = match parse(statement) {
        Ok(statement) => statement,
        Err(detail) => return faults::query_parser_error(&detail),
    };
    if statement.entity == "JournalEntry" && active.has(Scenario::JournalEntriesForbidden) {
        return faults::authorization_failed(
            "Authorization failed: the connected user has no access to journal entries",
        );
    }
    if statement.entity == "Bill" && active.has(Scenario::PlanWithoutBills) {
        return faults::feature_not_in_plan("Bill");
    }
    let rows = statement.run(seed::entities(statement.entity, active));
    faults::entity("QueryResponse", rows)
}

/// A parsed statement.
#[derive(Debug, PartialEq)]
struct Statement {
    count: bool,
    entity: &'static str,
    conditions: Vec<Condition>,
    order_by: Option<(String, bool)>,
    start_position: usize,
    max_results: usize,
}

/// One `where` condition on a field (dotted for nested fields, e.g. `VendorRef.value`).
#[derive(Debug, PartialEq)]
enum Condition {
    Equals(String, Literal),
    In(String, Vec<Literal>),
    Like(String, String),
}

impl Condition {
    fn field(&self) -> &str {
        match self {
            Condition::Equals(field, _) | Condition::In(field, _) | Condition::Like(field, _) => {
                field
            }
        }
    }

    fn holds(&self, row: &Value) -> bool {
        let value = lookup(row, self.field());
        match self {
            Condition::Equals(_, literal) => value.is_some_and(|v| literal.matches(v)),
            Condition::In(_, literals) => {
                value.is_some_and(|v| literals.iter().any(|literal| literal.matches(v)))
            }
            Condition::Like(_, pattern) => value
                .and_then(Value::as_str)
                .is_some_and(|text| like(&text.to_lowercase(), &pattern.to_lowercase())),
        }
    }
}

/// A value in a statement.
#[derive(Debug, PartialEq)]
enum Literal {
    Text(String),
    Bool(bool),
    Number(f64),
}

impl Literal {
    fn matches(&self, value: &Value) -> bool {
        match (self, value) {
            (Literal::Bool(wanted), Value::Bool(actual)) => wanted == actual,
            (Literal::Text(wanted), Value::String(actual)) => wanted.eq_ignore_ascii_case(actual),
            (Literal::Text(wanted), Value::Number(actual)) => *wanted == actual.to_string(),
            (Literal::Number(wanted), Value::Number(actual)) => actual.as_f64() == Some(*wanted),
            (Literal::Number(wanted), Value::String(actual)) => {
                actual.parse::<f64>().ok() == Some(*wanted)
            }
            _ => false,
        }
    }
}

/// A nested field of an entity by dotted path.
fn lookup<'a>(row: &'a Value, field: &str) -> Option<&'a Value> {
    field.split('.').try_fold(row, |value, key| value.get(key))
}

/// SQL `LIKE` with `%` wildcards.
fn like(text: &str, pattern: &str) -> bool {
    let parts: Vec<&str> = pattern.split('%').collect();
    let (first, rest) = parts.split_first().unwrap_or((&"", &[]));
    let Some(mut remaining) = text.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return remaining.is_empty();
    };
    for part in middle {
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.ends_with(last)
}

impl Statement {
    /// Filters, orders and pages `rows`, into the `QueryResponse` object. Entities with an
    /// `Active` flag answer active rows only unless a condition names `Active`, as
    /// QuickBooks does for name-list entities.
    fn run(&self, rows: Vec<Value>) -> Value {
        let filters_active = self
            .conditions
            .iter()
            .any(|condition| condition.field().eq_ignore_ascii_case("Active"));
        let mut rows: Vec<Value> = rows
            .into_iter()
            .filter(|row| filters_active || row.get("Active") != Some(&Value::Bool(false)))
            .filter(|row| self.conditions.iter().all(|condition| condition.holds(row)))
            .collect();
        if self.count {
            return json!({ "totalCount": rows.len() });
        }
        if let Some((field, descending)) = &self.order_by {
            rows.sort_by(|a, b| {
                let order = compare(lookup(a, field), lookup(b, field));
                if *descending { order.reverse() } else { order }
            });
        }
        let page: Vec<Value> = rows
            .into_iter()
            .skip(self.start_position.saturating_sub(1))
            .take(self.max_results)
            .collect();
        let mut response = Map::new();
        if !page.is_empty() {
            response.insert("startPosition".into(), json!(self.start_position));
            response.insert("maxResults".into(), json!(page.len()));
            response.insert(self.entity.into(), Value::Array(page));
        }
        Value::Object(response)
    }
}

fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (Some(Value::Number(a)), Some(Value::Number(b))) => a
            .as_f64()
            .partial_cmp(&b.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(a), Some(b)) => a.to_string().cmp(&b.to_string()),
        (a, b) => a.is_some().cmp(&b.is_some()),
    }
}

/// A token of a statement.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Symbol(char),
}

fn tokenize(statement: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = statement.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '\'' {
            chars.next();
            let mut text = String::new();
            loop {
                match chars.next() {
                    // `\'` escapes a quote inside a string.
                    Some('\\') => text.extend(chars.next()),
                    Some('\'') => break,
                    Some(other) => text.push(other),
                    None => return Err("unterminated string literal".into()),
                }
            }
            tokens.push(Token::Text(text));
        } else if matches!(c, '(' | ')' | ',' | '=') {
            chars.next();
            tokens.push(Token::Symbol(c));
        } else if c.is_alphanumeric() || matches!(c, '_' | '.' | '*' | '-' | '%') {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_alphanumeric() || matches!(c, '_' | '.' | '*' | '-' | '%') {
                    word.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            tokens.push(Token::Word(word));
        } else {
            return Err(format!(
                "Encountered \"{c}\": the emulator supports =, IN and LIKE"
            ));
        }
    }
    Ok(tokens)
}

/// A cursor over the tokens of one statement.
struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(word)) if word.eq_ignore_ascii_case(keyword))
    }

    fn keyword(&mut self, keyword: &str) -> Result<(), String> {
        if self.peek_keyword(keyword) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!("Expected \"{keyword}\" at {}", self.describe()))
        }
    }

    fn symbol(&mut self, symbol: char) -> Result<(), String> {
        if self.tokens.get(self.at) == Some(&Token::Symbol(symbol)) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!("Expected \"{symbol}\" at {}", self.describe()))
        }
    }

    fn word(&mut self) -> Result<String, String> {
        match self.tokens.get(self.at) {
            Some(Token::Word(word)) => {
                self.at += 1;
                Ok(word.clone())
            }
            _ => Err(format!("Expected a name at {}", self.describe())),
        }
    }

    fn number(&mut self) -> Result<usize, String> {
        let word = self.word()?;
        word.parse()
            .map_err(|_| format!("Expected a number, found \"{word}\""))
    }

    fn literal(&mut self) -> Result<Literal, String> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        match token {
            Some(Token::Text(text)) => Ok(Literal::Text(text)),
            Some(Token::Word(word)) if word.eq_ignore_ascii_case("true") => Ok(Literal::Bool(true)),
            Some(Token::Word(word)) if word.eq_ignore_ascii_case("false") => {
                Ok(Literal::Bool(false))
            }
            Some(Token::Word(word)) => word
                .parse()
                .map(Literal::Number)
                .map_err(|_| format!("Expected a value, found \"{word}\"")),
            _ => {
                self.at -= 1;
                Err(format!("Expected a value at {}", self.describe()))
            }
        }
    }

    fn condition(&mut self) -> Result<Condition, String> {
        let field = self.word()?;
        if self.peek_keyword("in") {
            self.at += 1;
            self.symbol('(')?;
            let mut values = vec![self.literal()?];
            while self.symbol(',').is_ok() {
                values.push(self.literal()?);
            }
            self.symbol(')')?;
            return Ok(Condition::In(field, values));
        }
        if self.peek_keyword("like") {
            self.at += 1;
            return match self.literal()? {
                Literal::Text(pattern) => Ok(Condition::Like(field, pattern)),
                _ => Err("LIKE wants a quoted pattern".into()),
            };
        }
        self.symbol('=')?;
        Ok(Condition::Equals(field, self.literal()?))
    }

    fn describe(&self) -> String {
        match self.tokens.get(self.at) {
            Some(Token::Word(word)) => format!("\"{word}\""),
            Some(Token::Text(text)) => format!("'{text}'"),
            Some(Token::Symbol(symbol)) => format!("\"{symbol}\""),
            None => "the end of the statement".into(),
        }
    }
}

/// Parses a statement; the error is the `Detail` of the 4000 fault.
fn parse(statement: &str) -> Result<Statement, String> {
    let mut parser = Parser {
        tokens: tokenize(statement)?,
        at: 0,
    };
    parser.keyword("select")?;
    let count = if parser.peek_keyword("count") {
        parser.at += 1;
        parser.symbol('(')?;
        parser.keyword("*")?;
        parser.symbol(')')?;
        true
    } else {
        parser
            .keyword("*")
            .map_err(|_| "the emulator supports select * and select count(*) only".to_owned())?;
        false
    };
    parser.keyword("from")?;
    let name = parser.word()?;
    let entity = seed::ENTITIES
        .iter()
        .copied()
        .find(|entity| entity.eq_ignore_ascii_case(&name))
        .ok_or_else(|| format!("Invalid entity name: {name}"))?;
    let mut statement = Statement {
        count,
        entity,
        conditions: Vec::new(),
        order_by: None,
        start_position: 1,
        max_results: DEFAULT_MAX_RESULTS,
    };
    if parser.peek_keyword("where") {
        parser.at += 1;
        statement.conditions.push(parser.condition()?);
        while parser.peek_keyword("and") {
            parser.at += 1;
            statement.conditions.push(parser.condition()?);
        }
    }
    if parser.peek_keyword("orderby") {
        parser.at += 1;
        let field = parser.word()?;
        let descending = parser.peek_keyword("desc");
        if descending || parser.peek_keyword("asc") {
            parser.at += 1;
        }
        statement.order_by = Some((field, descending));
    }
    loop {
        if parser.peek_keyword("startposition") {
            parser.at += 1;
            statement.start_position = parser.number()?.max(1);
        } else if parser.peek_keyword("maxresults") {
            parser.at += 1;
            statement.max_results = parser.number()?.min(MAX_RESULTS_CEILING);
        } else {
            break;
        }
    }
    if parser.at < parser.tokens.len() {
        return Err(format!(
            "Encountered {} after the statement",
            parser.describe()
        ));
    }
    Ok(statement)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(statement: &str, active: &Active) -> Value {
        let statement = parse(statement).expect("statement parses");
        statement.run(seed::entities(statement.entity, active))
    }

    #[test]
    fn statements_parse_with_conditions_and_paging() {
        let statement = parse(
            "SELECT * FROM account WHERE Active IN (true, false) AND Name LIKE 'Voy%' \
             STARTPOSITION 1 MAXRESULTS 1000",
        )
        .expect("parses");
        assert_eq!(statement.entity, "Account");
        assert_eq!(statement.max_results, 1_000);
        assert_eq!(
            statement.conditions,
            [
                Condition::In(
                    "Active".into(),
                    vec![Literal::Bool(true), Literal::Bool(false)]
                ),
                Condition::Like("Name".into(), "Voy%".into()),
            ]
        );
    }

    #[test]
    fn bad_statements_are_refused() {
        assert!(parse("select Name from Account").is_err());
        assert!(
            parse("select * from Invoice")
                .unwrap_err()
                .contains("Invoice")
        );
        assert!(parse("select * from Account where Name < 'x'").is_err());
        assert!(parse("select * from Account where Name = 'x").is_err());
        assert!(parse("select * from Account maxresults ten").is_err());
    }

    #[test]
    fn inactive_rows_show_only_when_asked_for() {
        let active = Active::default();
        let default = run("select count(*) from Account", &active);
        let all = run(
            "select count(*) from Account where Active in (true, false)",
            &active,
        );
        assert_eq!(
            default["totalCount"].as_u64().unwrap() + 1,
            all["totalCount"].as_u64().unwrap()
        );
    }

    #[test]
    fn empty_results_have_no_entity_key() {
        let active = Active::default();
        let none = run("select * from Vendor where DisplayName = 'Nobody'", &active);
        assert_eq!(none, json!({}));
        let one = run(
            "select * from Account where AcctNum = '625100' maxresults 5",
            &active,
        );
        assert_eq!(one["Account"][0]["Name"], "Voyages et déplacements");
        assert_eq!(one["maxResults"], 1);
    }

    #[test]
    fn like_handles_wildcards() {
        assert!(like("voyages et déplacements", "voy%"));
        assert!(like("voyages et déplacements", "%et%"));
        assert!(like("voyages", "voyages"));
        assert!(!like("voyages", "%x%"));
        assert!(!like("voyages", "oyages"));
    }
}
