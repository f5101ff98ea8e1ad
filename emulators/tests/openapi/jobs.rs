//! E1 `GET /v3/export-jobs`, E2 `POST /v3/export-jobs`, E3 `GET /v3/export-jobs/{jobId}`.

use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{Harness, ORG, Op, ids};
use crate::spec::MEDIA_TYPE;

#[tokio::test]
async fn list_walks_pages_oldest_first_and_filters_by_status() {
    let h = Harness::start().await;
    let company = Uuid::new_v4();
    let seeded: Vec<String> = (0..5).map(|_| h.seed(company).to_string()).collect();
    h.seed(Uuid::new_v4());

    // Forward with `after`, two at a time.
    let mut walked = Vec::new();
    let mut query = format!("company_id={company}&limit=2");
    loop {
        let page = h.list_jobs(&query, ORG).await;
        assert_eq!(page.status, 200, "{page:?}");
        let pagination = &page.body["pagination"];
        assert_eq!(pagination["total"], 5);
        assert_eq!(pagination["currentRequestPagination"]["limit"], 2);
        assert_eq!(
            pagination["currentRequestPagination"]["parameters"]["company_id"],
            json!([company])
        );
        assert_eq!(pagination["hasPreviousPage"], !walked.is_empty());
        walked.extend(ids(&page));
        if pagination["hasNextPage"] == false {
            break;
        }
        let end = pagination["endCursor"].as_str().expect("endCursor");
        query = format!("company_id={company}&limit=2&after={end}");
    }
    assert_eq!(walked, seeded, "oldest first, every job once");
    let created: Vec<String> = seeded
        .iter()
        .map(|id| {
            h.emulator.job(id.parse().expect("uuid")).expect("job")["createdAt"]
                .as_str()
                .expect("createdAt")
                .to_owned()
        })
        .collect();
    assert!(
        created.windows(2).all(|pair| pair[0] < pair[1]),
        "{created:?}"
    );

    // Backward with `before`.
    let last = h
        .list_jobs(&format!("company_id={company}&offset=3&limit=2"), ORG)
        .await;
    assert_eq!(ids(&last), seeded[3..]);
    let start = last.body["pagination"]["startCursor"]
        .as_str()
        .expect("startCursor");
    let back = h
        .list_jobs(&format!("company_id={company}&limit=2&before={start}"), ORG)
        .await;
    assert_eq!(ids(&back), seeded[1..3]);

    // Newest first on request.
    let newest = h
        .list_jobs(
            &format!("company_id={company}&limit=1&sorting_keys=createdAt&sorting_order=DESC"),
            ORG,
        )
        .await;
    assert_eq!(ids(&newest), seeded[4..]);

    // Status filters: repeated (form/explode) and comma-separated.
    h.start_job(seeded[1].parse().expect("uuid")).await;
    let running = h
        .list_jobs(&format!("company_id={company}&statuses=in_progress"), ORG)
        .await;
    assert_eq!(ids(&running), [seeded[1].clone()]);
    assert_eq!(
        running.body["pagination"]["currentRequestPagination"]["parameters"]["statuses"],
        json!(["in_progress"])
    );
    let active = h
        .list_jobs(
            &format!("company_id={company}&statuses=pending&statuses=in_progress"),
            ORG,
        )
        .await;
    assert_eq!(ids(&active).len(), 5);
    let comma = h
        .list_jobs(
            &format!("company_id={company}&statuses=pending,failed"),
            ORG,
        )
        .await;
    assert_eq!(ids(&comma).len(), 4);

    // An unknown company has no jobs: an empty list, not an error.
    let none = h
        .list_jobs(&format!("company_id={}", Uuid::new_v4()), ORG)
        .await;
    assert_eq!((none.status, none.data().clone()), (200, json!([])));
    assert_eq!(none.body["pagination"]["hasNextPage"], false);
}

#[tokio::test]
async fn list_refuses_bad_parameters() {
    let h = Harness::start().await;
    let company = Uuid::new_v4();
    let missing = h.list_jobs("", ORG).await;
    assert_eq!(
        (missing.status, missing.error_type()),
        (400, "REQUIRED_PARAMETER_MISSING")
    );
    for query in [
        format!("company_id={company}&limit=101"),
        format!("company_id={company}&limit=-1"),
        format!("company_id={company}&after=NOTACURSOR"),
        format!("company_id={company}&after=abc"),
        format!("company_id={company}&statuses=canceled"),
        format!("company_id={company}&sorting_keys=amount"),
        "company_id=42".to_owned(),
    ] {
        let reply = h.list_jobs(&query, ORG).await;
        assert_eq!(
            (reply.status, reply.error_type()),
            (400, "BAD_REQUEST"),
            "{query}"
        );
    }
    let max = h
        .list_jobs(&format!("company_id={company}&limit=100"), ORG)
        .await;
    assert_eq!(max.status, 200);
}

#[tokio::test]
async fn create_answers_201_then_409_while_a_job_is_active() {
    let h = Harness::start().await;
    let company = Uuid::new_v4();
    let employee = Uuid::new_v4();
    let entries = [Uuid::new_v4(), Uuid::new_v4()];
    let body = json!({
        "accountingEntryIds": entries,
        "companyId": company,
        "employeeId": employee,
        "isInteractive": false,
        "options": {"vendorBasedBookkeeping": true},
    });
    let created = h.create_job(&body, ORG).await;
    assert_eq!(created.status, 201, "{created:?}");
    let job = created.data();
    assert_eq!(job["status"], "pending");
    assert_eq!(job["companyId"], json!(company));
    assert_eq!(job["createdBy"], json!(employee));
    assert_eq!(
        (
            job["isInteractive"].clone(),
            job["vendorBasedBookkeeping"].clone()
        ),
        (json!(false), json!(true))
    );
    assert_eq!(
        (job["numberOfItems"].clone(), job["expiresIn"].clone()),
        (json!(2), json!(3600))
    );
    let id: Uuid = job["id"].as_str().expect("id").parse().expect("uuid");
    assert_eq!(id.get_version_num(), 4);
    let entry_ids: Vec<Value> = h
        .emulator
        .items(id)
        .iter()
        .map(|item| item["accountingEntryId"].clone())
        .collect();
    assert_eq!(entry_ids, [json!(entries[0]), json!(entries[1])]);

    let conflict = h.create_job(&body, ORG).await;
    assert_eq!(
        (conflict.status, conflict.error_type()),
        (409, "EXPORT_ALREADY_IN_PROGRESS")
    );
    assert_eq!(
        conflict.body["message"],
        "Export Job already in progress for this company."
    );

    // Once the job is finished, the company may export again.
    h.start_job(id).await;
    let done = h
        .event(json!({"jobId": id, "event": "completed"}), ORG)
        .await;
    assert_eq!(done.status, 202);
    let again = h
        .create_job(
            &json!({"accountingEntryIds": [Uuid::new_v4()], "companyId": company}),
            ORG,
        )
        .await;
    assert_eq!(again.status, 201);
    assert_eq!(
        (
            again.data()["isInteractive"].clone(),
            again.data()["createdBy"].clone()
        ),
        (json!(true), Value::Null)
    );
}

#[tokio::test]
async fn create_refuses_malformed_bodies() {
    let h = Harness::start().await;
    let company = Uuid::new_v4();
    let cases = [
        (
            json!({"accountingEntryIds": [Uuid::new_v4()]}),
            "REQUIRED_PARAMETER_MISSING",
        ),
        (json!({"companyId": company}), "REQUIRED_PARAMETER_MISSING"),
        (
            json!({"companyId": company, "accountingEntryIds": []}),
            "BAD_REQUEST",
        ),
        (
            json!({"companyId": "acme", "accountingEntryIds": [Uuid::new_v4()]}),
            "BAD_REQUEST",
        ),
        (
            json!({"companyId": company, "accountingEntryIds": ["x"]}),
            "BAD_REQUEST",
        ),
        (json!([]), "BAD_REQUEST"),
    ];
    for (body, kind) in cases {
        let reply = h.create_job(&body, ORG).await;
        assert_eq!((reply.status, reply.error_type()), (400, kind), "{body}");
    }
    let request = h
        .request(Op::CreateJob, "/v3/export-jobs", ORG)
        .header(CONTENT_TYPE, MEDIA_TYPE)
        .body("{");
    let reply = h.send(Op::CreateJob, request).await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn get_answers_200_404_and_400() {
    let h = Harness::start().await;
    let id = h.seed(Uuid::new_v4());
    let found = h.get_job(&id.to_string(), ORG).await;
    assert_eq!(found.status, 200);
    assert_eq!(Some(found.data().clone()), h.emulator.job(id));
    assert_eq!(found.data()["numberOfItems"], 3);
    assert_eq!(found.data()["lastUpdatedAt"], Value::Null);

    let missing = h.get_job(&Uuid::new_v4().to_string(), ORG).await;
    assert_eq!(
        (missing.status, missing.error_type()),
        (404, "EXPORT_NOT_FOUND")
    );
    assert_eq!(missing.body["message"], "Export job not found.");

    let malformed = h.get_job("not-a-uuid", ORG).await;
    assert_eq!(
        (malformed.status, malformed.error_type()),
        (400, "BAD_REQUEST")
    );
}
