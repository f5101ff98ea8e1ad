//! E5 `GET` and E6 `PUT /v3/export-jobs/{jobId}/items`.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{Harness, ORG};

#[tokio::test]
async fn items_are_listed_and_updated() {
    let h = Harness::start().await;
    let id = h.seed(Uuid::new_v4());
    h.start_job(id).await;
    let all = h.list_items(id, "").await;
    assert_eq!(all.status, 200);
    let entries: Vec<Uuid> = all
        .data()
        .as_array()
        .expect("items")
        .iter()
        .map(|item| {
            item["accountingEntryId"]
                .as_str()
                .expect("id")
                .parse()
                .expect("uuid")
        })
        .collect();
    assert_eq!(entries.len(), 3);
    assert!(
        all.data()
            .as_array()
            .expect("items")
            .iter()
            .all(|item| item["status"] == "pending" && item["exportJobId"] == json!(id))
    );

    let first = h.list_items(id, "limit=2").await;
    assert_eq!(first.data().as_array().map(Vec::len), Some(2));
    let end = first.body["pagination"]["endCursor"]
        .as_str()
        .expect("endCursor");
    let rest = h.list_items(id, &format!("limit=2&after={end}")).await;
    assert_eq!(rest.data()[0]["accountingEntryId"], json!(entries[2]));
    assert_eq!(rest.body["pagination"]["hasNextPage"], false);

    let unknown_entry = Uuid::new_v4();
    let updated = h
        .update_items(
            id,
            &json!([
                {"accountingEntryId": entries[0], "status": "successful",
                 "exportedAt": "2024-05-06T07:08:09Z", "externalId": "MJ-1",
                 "externalUrl": "https://go.xero.com/Journal/View.aspx?id=1"},
                {"accountingEntryId": entries[1], "status": "failed",
                 "failureReason": "Account 6100 is archived.",
                 "failureReasonType": "account_unknown"},
                {"accountingEntryId": unknown_entry, "status": "successful"},
            ]),
        )
        .await;
    assert_eq!(updated.status, 200, "{updated:?}");
    let data = updated.data().as_array().expect("data");
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["exportedAt"], "2024-05-06T07:08:09Z");
    assert_eq!(data[1]["failureReasonType"], "account_unknown");
    let errors = updated.body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["accountingEntryId"], json!(unknown_entry));
    assert_eq!(errors[0]["type"], "ACCOUNTING_ENTRY_DOES_NOT_EXIST");

    let successful = h.list_items(id, "status=successful").await;
    assert_eq!(successful.data().as_array().map(Vec::len), Some(1));
    assert_eq!(
        successful.body["pagination"]["currentRequestPagination"]["parameters"]["status"],
        json!(["successful"])
    );
    let bad_status = h.list_items(id, "status=done").await;
    assert_eq!(bad_status.status, 400);

    let too_many: Vec<Value> = (0..101)
        .map(|_| json!({"accountingEntryId": entries[2], "status": "successful"}))
        .collect();
    let limit = h.update_items(id, &json!(too_many)).await;
    assert_eq!(
        (limit.status, limit.error_type()),
        (413, "EXPORT_JOB_ITEMS_UPDATE_LIMIT")
    );
    let malformed = h
        .update_items(
            id,
            &json!([{"accountingEntryId": entries[2], "status": "done"}]),
        )
        .await;
    assert_eq!(malformed.status, 400);

    let done = h
        .event(json!({"jobId": id, "event": "completed_with_errors"}), ORG)
        .await;
    assert_eq!(done.status, 202);
    let finished = h
        .update_items(
            id,
            &json!([{"accountingEntryId": entries[2], "status": "successful"}]),
        )
        .await;
    assert_eq!(
        (finished.status, finished.error_type()),
        (422, "EXPORT_JOB_STATUS_UNPROCESSABLE")
    );
    assert_eq!(finished.body["message"], "Export job is finished.");
    let remaining = h.emulator.items(id);
    assert_eq!(
        remaining[2]["status"], "pending",
        "completion leaves open items as they are"
    );

    let missing = h.list_items(Uuid::new_v4(), "").await;
    assert_eq!(
        (missing.status, missing.error_type()),
        (404, "EXPORT_NOT_FOUND")
    );
    let missing = h.update_items(Uuid::new_v4(), &json!([])).await;
    assert_eq!(
        (missing.status, missing.error_type()),
        (404, "EXPORT_NOT_FOUND")
    );
}
