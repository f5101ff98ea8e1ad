//! E4 `POST /v3/export-job-events`: the state machine of docs/pleo-export-api.md §3.1, and expiry.

use preflight_emulators::pleo::SeedJob;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{Harness, ORG};

#[tokio::test]
async fn events_follow_the_state_machine() {
    let h = Harness::start().await;
    let id = h.seed(Uuid::new_v4());
    let event = |name: &str| json!({"jobId": id, "event": name});

    // Nothing but `started` moves a pending job.
    for name in ["completed", "completed_with_errors"] {
        let refused = h.event(event(name), ORG).await;
        assert_eq!(
            (refused.status, refused.error_type()),
            (422, "INVALID_EXPORT_JOB_STATUS_CHANGE"),
            "{name}"
        );
        assert_eq!(refused.body["message"], "Export Job status change failed");
    }
    let premature = h
        .event(
            json!({"jobId": id, "event": "failed", "failureReasonType": "invalid_configuration"}),
            ORG,
        )
        .await;
    assert_eq!(premature.status, 422);

    // Claim: 202 with no body; the job is in progress.
    let claimed = h.event(event("started"), ORG).await;
    assert_eq!((claimed.status, claimed.body.clone()), (202, Value::Null));
    let job = h.emulator.job(id).expect("job");
    assert_eq!(job["status"], "in_progress");
    assert!(
        job["startedAt"].is_string() && job["lastUpdatedAt"].is_string(),
        "{job}"
    );

    // A second claim is refused: that is what makes claiming safe without a lock.
    let second = h.event(event("started"), ORG).await;
    assert_eq!(second.status, 422);

    // Fail early with a reason (docs/pleo-export-api.md §5).
    let failed = h
        .event(
            json!({
                "jobId": id,
                "event": "failed",
                "failureReason": "Failed to reach the Accounting System.",
                "failureReasonType": "accounting_system_unreachable",
            }),
            ORG,
        )
        .await;
    assert_eq!(failed.status, 202);
    let job = h.get_job(&id.to_string(), ORG).await;
    let job = job.data();
    assert_eq!(job["status"], "failed");
    assert_eq!(
        job["failureReason"],
        "Failed to reach the Accounting System."
    );
    assert_eq!(job["failureReasonType"], "accounting_system_unreachable");
    assert_eq!(job["completedAt"], Value::Null);
    let items = h.list_items(id, "").await;
    assert!(
        items
            .data()
            .as_array()
            .expect("items")
            .iter()
            .all(|item| item["status"] == "abandoned"),
        "{items:?}"
    );

    // Terminal: every event is refused.
    for name in ["started", "completed", "completed_with_errors"] {
        assert_eq!(h.event(event(name), ORG).await.status, 422, "{name}");
    }

    let recorded: Vec<(String, u16)> = h
        .emulator
        .events()
        .into_iter()
        .map(|e| (e.event, e.status))
        .collect();
    let expected = [
        ("completed", 422),
        ("completed_with_errors", 422),
        ("failed", 422),
        ("started", 202),
        ("started", 422),
        ("failed", 202),
        ("started", 422),
        ("completed", 422),
        ("completed_with_errors", 422),
    ];
    let expected: Vec<(String, u16)> = expected
        .iter()
        .map(|(e, s)| ((*e).to_owned(), *s))
        .collect();
    assert_eq!(recorded, expected);
    let sent = &h.emulator.events()[5];
    assert_eq!(sent.job_id, id.to_string());
    assert_eq!(
        sent.failure_reason_type.as_deref(),
        Some("accounting_system_unreachable")
    );
    assert_eq!(
        sent.body["failureReason"],
        "Failed to reach the Accounting System."
    );
}

#[tokio::test]
async fn completion_sets_completed_at() {
    let h = Harness::start().await;
    let id = h.seed(Uuid::new_v4());
    h.start_job(id).await;
    let done = h
        .event(json!({"jobId": id, "event": "completed_with_errors"}), ORG)
        .await;
    assert_eq!(done.status, 202);
    let job = h.get_job(&id.to_string(), ORG).await;
    assert_eq!(job.data()["status"], "completed_with_errors");
    assert!(job.data()["completedAt"].is_string());
    assert!(job.data().get("failureReasonType").is_none());
}

#[tokio::test]
async fn events_refuse_malformed_bodies_and_unknown_jobs() {
    let h = Harness::start().await;
    let id = h.seed(Uuid::new_v4());
    h.start_job(id).await;
    let bad = [
        json!({"event": "started"}),
        json!({"jobId": "42", "event": "started"}),
        json!({"jobId": id}),
        json!({"jobId": id, "event": "canceled"}),
        json!({"jobId": id, "event": "failed"}),
        json!({"jobId": id, "event": "failed", "failureReasonType": "vendor_unknown"}),
        json!({"jobId": id, "event": "completed", "failureReasonType": "invalid_configuration"}),
    ];
    for body in bad {
        let reply = h.event(body.clone(), ORG).await;
        assert_eq!(reply.status, 400, "{body}");
    }
    let malformed = h.raw_event("{\"jobId\":").await;
    assert_eq!(
        (malformed.status, malformed.error_type()),
        (400, "BAD_REQUEST")
    );

    let unknown = h
        .event(json!({"jobId": Uuid::new_v4(), "event": "started"}), ORG)
        .await;
    assert_eq!(
        (unknown.status, unknown.error_type()),
        (404, "EXPORT_NOT_FOUND")
    );

    assert_eq!(
        h.emulator.job(id).expect("job")["status"],
        "in_progress",
        "nothing changed"
    );
    let statuses: Vec<u16> = h.emulator.events().iter().map(|e| e.status).collect();
    assert_eq!(statuses, [202, 400, 400, 400, 400, 400, 400, 400, 400, 404]);
    assert_eq!(h.emulator.events()[8].body, json!("{\"jobId\":"));
}

#[tokio::test]
async fn jobs_expire_when_not_updated_in_time() {
    let h = Harness::start().await;
    let id = h.emulator.seed_job(SeedJob {
        expires_in: Some(0),
        ..SeedJob::pending(Uuid::new_v4())
    });
    let job = h.get_job(&id.to_string(), ORG).await;
    let job = job.data();
    assert_eq!(job["status"], "failed");
    assert_eq!(job["failureReasonType"], "job_expired");
    assert!(job["expiredAt"].is_string(), "{job}");
    assert_eq!(
        h.event(json!({"jobId": id, "event": "started"}), ORG)
            .await
            .status,
        422
    );
    assert!(
        h.emulator
            .items(id)
            .iter()
            .all(|item| item["status"] == "abandoned")
    );
}
