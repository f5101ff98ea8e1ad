//! Cursor pagination of list endpoints (docs/pleo-export-api.md §1.3): the `before`/`after`/
//! `offset`/`limit`/`sorting_keys`/`sorting_order` parameters and the `CursorPageInfo` object.
//!
//! Rows are identified by a position key that grows with creation order (a job's sequence
//! number, an item's index). A cursor encodes the key of a row, so pages stay stable while
//! rows change status between requests.

use serde_json::{Map, Value, json};

use super::cursor;
use super::query::Query;
use super::responses::ApiError;

/// Page size without `limit`; Pleo's is undocumented, 20 is what a client of a sibling Pleo
/// API reports (docs/pleo-export-api.md §1.3).
pub(super) const DEFAULT_LIMIT: usize = 20;
/// Largest `limit` accepted; larger values are refused with 400 (same source).
pub(super) const MAX_LIMIT: usize = 100;

/// `PageOrder` values that sort ascending or descending. There are no null keys here, so
/// the `NULLS_*` variants only give the direction.
const ASCENDING: [&str; 3] = ["ASC", "ASC_NULLS_FIRST", "ASC_NULLS_LAST"];
const DESCENDING: [&str; 3] = ["DESC", "DESC_NULLS_FIRST", "DESC_NULLS_LAST"];

/// Where a page starts or ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Anchor {
    Start,
    After(u64),
    Before(u64),
    Offset(usize),
}

/// The pagination parameters of one list request, validated.
#[derive(Clone, Debug)]
pub(super) struct PageRequest {
    anchor: Anchor,
    limit: usize,
    descending: bool,
    /// The parameters as given, echoed in `currentRequestPagination`.
    echo: Map<String, Value>,
}

impl PageRequest {
    /// Reads the pagination parameters of `query`. `sortable` lists the `sorting_keys` the
    /// endpoint supports; all of them follow creation order. Any violation is a 400.
    pub(super) fn from_query(query: &Query, sortable: &[&str]) -> Result<Self, ApiError> {
        let after = query.single("after")?;
        let before = query.single("before")?;
        let offset = query.single("offset")?.map(parse_offset).transpose()?;
        let limit = query
            .single("limit")?
            .map(parse_limit)
            .transpose()?
            .unwrap_or(DEFAULT_LIMIT);
        let anchor = match (after, before, offset) {
            (None, None, None) => Anchor::Start,
            (Some(after), None, None) => Anchor::After(parse_cursor("after", after)?),
            (None, Some(before), None) => Anchor::Before(parse_cursor("before", before)?),
            (None, None, Some(offset)) => {
                Anchor::Offset(usize::try_from(offset).unwrap_or(usize::MAX))
            }
            _ => {
                return Err(ApiError::bad_request(
                    "Only one of 'before', 'after' and 'offset' may be given.",
                ));
            }
        };
        let keys = query.list("sorting_keys");
        let orders = query.list("sorting_order");
        let descending = sort_direction(&keys, &orders, sortable)?;

        let mut echo = Map::new();
        echo.insert("limit".into(), json!(limit));
        if let Some(after) = after {
            echo.insert("after".into(), json!(after));
        }
        if let Some(before) = before {
            echo.insert("before".into(), json!(before));
        }
        if let Some(offset) = offset {
            echo.insert("offset".into(), json!(offset));
        }
        if !keys.is_empty() {
            echo.insert("sortingKeys".into(), json!(keys));
            echo.insert("sortingOrder".into(), json!(orders));
        }
        Ok(Self {
            anchor,
            limit,
            descending,
            echo,
        })
    }

    /// Picks this request's page out of `rows` (all matching rows, as `(position key, row)`
    /// in ascending key order). Returns the page and its `CursorPageInfo`, whose
    /// `currentRequestPagination.parameters` is `parameters` (the endpoint's filters).
    pub(super) fn paginate<T>(
        &self,
        mut rows: Vec<(u64, T)>,
        parameters: Map<String, Value>,
    ) -> (Vec<T>, Value) {
        if self.descending {
            rows.reverse();
        }
        let total = rows.len();
        let (start, end) = self.bounds(&rows);
        let page: Vec<(u64, T)> = rows.into_iter().skip(start).take(end - start).collect();

        let mut current = self.echo.clone();
        current.insert("parameters".into(), Value::Object(parameters));
        let mut info = Map::new();
        info.insert("currentRequestPagination".into(), Value::Object(current));
        info.insert("hasNextPage".into(), json!(end < total));
        info.insert("hasPreviousPage".into(), json!(start > 0));
        // The spec types the cursors as plain strings, so an empty page has none.
        if let (Some((first, _)), Some((last, _))) = (page.first(), page.last()) {
            info.insert("startCursor".into(), json!(cursor::encode(*first)));
            info.insert("endCursor".into(), json!(cursor::encode(*last)));
        }
        info.insert("total".into(), json!(total));
        (
            page.into_iter().map(|(_, row)| row).collect(),
            Value::Object(info),
        )
    }

    /// The half-open index range of the page within `rows` (already in the requested order).
    fn bounds<T>(&self, rows: &[(u64, T)]) -> (usize, usize) {
        let len = rows.len();
        // Whether the row with key `a` comes after the row with key `b` in this order.
        let comes_after = |a: u64, b: u64| if self.descending { a < b } else { a > b };
        match self.anchor {
            Anchor::Start => (0, self.limit.min(len)),
            Anchor::Offset(offset) => {
                let start = offset.min(len);
                (start, start.saturating_add(self.limit).min(len))
            }
            Anchor::After(key) => {
                let start = rows.partition_point(|(k, _)| !comes_after(*k, key));
                (start, start.saturating_add(self.limit).min(len))
            }
            Anchor::Before(key) => {
                let end = rows.partition_point(|(k, _)| comes_after(key, *k));
                (end.saturating_sub(self.limit), end)
            }
        }
    }
}

fn parse_offset(text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "Parameter 'offset' must be a non-negative integer: '{text}'."
        ))
    })
}

fn parse_limit(text: &str) -> Result<usize, ApiError> {
    let limit: usize = text.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "Parameter 'limit' must be a non-negative integer: '{text}'."
        ))
    })?;
    if limit > MAX_LIMIT {
        return Err(ApiError::bad_request(format!(
            "Parameter 'limit' must be at most {MAX_LIMIT}."
        )));
    }
    Ok(limit)
}

fn parse_cursor(name: &str, text: &str) -> Result<u64, ApiError> {
    cursor::decode(text)
        .ok_or_else(|| ApiError::bad_request(format!("Parameter '{name}' is not a valid cursor.")))
}

/// Whether the rows are wanted newest first. Every supported key follows creation order,
/// so only the first order matters; orders may be left out (ascending).
fn sort_direction(keys: &[&str], orders: &[&str], sortable: &[&str]) -> Result<bool, ApiError> {
    if let Some(key) = keys.iter().find(|key| !sortable.contains(key)) {
        let supported = if sortable.is_empty() {
            "none".to_owned()
        } else {
            sortable.join(", ")
        };
        return Err(ApiError::bad_request(format!(
            "Unsupported sorting key '{key}'; supported keys: {supported}."
        )));
    }
    if !orders.is_empty() && orders.len() != keys.len() {
        return Err(ApiError::bad_request(
            "Parameter 'sorting_order' must have one order per sorting key.",
        ));
    }
    if let Some(order) = orders
        .iter()
        .find(|order| !ASCENDING.contains(order) && !DESCENDING.contains(order))
    {
        return Err(ApiError::bad_request(format!(
            "Unsupported sorting order '{order}'."
        )));
    }
    Ok(orders
        .first()
        .is_some_and(|order| DESCENDING.contains(order)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(raw: &str, sortable: &[&str]) -> Result<PageRequest, ApiError> {
        PageRequest::from_query(&Query::parse(Some(raw))?, sortable)
    }

    fn rows(count: u64) -> Vec<(u64, u64)> {
        (0..count).map(|key| (key * 10, key * 10)).collect()
    }

    fn page(raw: &str, count: u64) -> (Vec<u64>, Value) {
        let request = request(raw, &["createdAt"]).expect("valid request");
        request.paginate(rows(count), Map::new())
    }

    #[test]
    fn first_page_uses_the_default_limit() {
        let (rows, info) = page("", 25);
        assert_eq!(rows.len(), DEFAULT_LIMIT);
        assert_eq!(info["hasNextPage"], true);
        assert_eq!(info["hasPreviousPage"], false);
        assert_eq!(info["total"], 25);
        assert_eq!(info["currentRequestPagination"]["limit"], 20);
        assert_eq!(info["startCursor"], cursor::encode(0));
        assert_eq!(info["endCursor"], cursor::encode(190));
    }

    #[test]
    fn after_and_before_walk_the_pages() {
        let (_, first) = page("limit=2", 5);
        let end = first["endCursor"].as_str().expect("cursor");
        let (second, info) = page(&format!("limit=2&after={end}"), 5);
        assert_eq!(second, [20, 30]);
        assert_eq!(info["hasPreviousPage"], true);
        assert_eq!(info["hasNextPage"], true);
        let start = info["startCursor"].as_str().expect("cursor");
        let (back, info) = page(&format!("limit=2&before={start}"), 5);
        assert_eq!(back, [0, 10]);
        assert_eq!(info["hasPreviousPage"], false);
        let (last, info) = page(&format!("limit=2&after={}", cursor::encode(30)), 5);
        assert_eq!(last, [40]);
        assert_eq!(info["hasNextPage"], false);
    }

    #[test]
    fn a_cursor_of_a_vanished_row_still_positions_the_page() {
        let (rows, _) = page(&format!("after={}", cursor::encode(15)), 5);
        assert_eq!(rows, [20, 30, 40]);
    }

    #[test]
    fn descending_order_reverses_the_walk() {
        let (rows, _) = page("limit=2&sorting_keys=createdAt&sorting_order=DESC", 5);
        assert_eq!(rows, [40, 30]);
        let (rows, _) = page(
            &format!(
                "limit=2&sorting_keys=createdAt&sorting_order=DESC&after={}",
                cursor::encode(30)
            ),
            5,
        );
        assert_eq!(rows, [20, 10]);
    }

    #[test]
    fn offset_and_empty_pages() {
        let (rows, info) = page("offset=4&limit=3", 5);
        assert_eq!(rows, [40]);
        assert_eq!(info["currentRequestPagination"]["offset"], 4);
        let (rows, info) = page("limit=0", 5);
        assert!(rows.is_empty());
        assert!(info.get("startCursor").is_none());
        assert_eq!(info["hasNextPage"], true);
    }

    #[test]
    fn invalid_parameters_are_refused() {
        let after = cursor::encode(1);
        for raw in [
            "limit=101",
            "limit=-1",
            "limit=x",
            "offset=-2",
            "after=abc",
            "before=MZXW6YTB",
            &format!("after={after}&offset=1"),
            &format!("after={after}&before={after}"),
            "sorting_keys=amount",
            "sorting_keys=createdAt&sorting_order=UP",
            "sorting_keys=createdAt&sorting_order=ASC&sorting_order=DESC",
        ] {
            assert!(request(raw, &["createdAt"]).is_err(), "{raw}");
        }
        assert!(request("sorting_keys=createdAt", &[]).is_err());
        assert!(request("limit=100", &[]).is_ok());
    }
}
