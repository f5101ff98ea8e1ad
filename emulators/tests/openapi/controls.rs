//! What tests control besides requests: faults and seeding.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use preflight_emulators::pleo::{FaultScope, Faults, JobStatus, PleoConfig};
use serde_json::json;
use uuid::Uuid;

use crate::harness::{Auth, Harness, ORG, Op, ids};
use crate::spec::spec;

fn only(faults: Faults) -> Faults {
    Faults {
        rate: 1.0,
        seed: 7,
        ..faults
    }
}

#[tokio::test]
async fn faults_fail_requests_before_they_are_processed() {
    let h = Harness::start().await;
    let company = Uuid::new_v4();
    let id = h.seed(company);
    let query = format!("company_id={company}");

    h.emulator.set_faults(only(Faults {
        server_errors: true,
        ..Faults::default()
    }));
    let mut seen = HashSet::new();
    for _ in 0..30 {
        let reply = h.list_jobs(&query, ORG).await;
        assert!([500, 502, 503].contains(&reply.status), "{reply:?}");
        seen.insert(reply.status);
    }
    assert_eq!(seen.len(), 3, "all three server errors occur");
    let faulted = h.event(json!({"jobId": id, "event": "started"}), ORG).await;
    assert!(faulted.status >= 500);
    assert!(
        h.emulator.events().is_empty(),
        "faulted events are not recorded"
    );
    assert_eq!(h.emulator.job(id).expect("job")["status"], "pending");

    h.emulator.set_faults(only(Faults {
        rate_limits: true,
        ..Faults::default()
    }));
    let limited = h.list_jobs(&query, Auth::None).await;
    assert_eq!(
        (limited.status, limited.error_type()),
        (429, "TOO_MANY_REQUESTS")
    );
    assert_eq!(limited.retry_after.as_deref(), Some("1"));

    h.emulator.set_faults(only(Faults {
        drops: true,
        ..Faults::default()
    }));
    let dropped = h
        .request(Op::ListJobs, &format!("/v3/export-jobs?{query}"), ORG)
        .send()
        .await;
    assert!(dropped.is_err(), "{dropped:?}");

    let delay = Duration::from_millis(300);
    h.emulator.set_faults(only(Faults {
        slow: Some(delay),
        ..Faults::default()
    }));
    // A client that gives up before the delay sees a timeout; one that
    // waits gets the normal answer.
    let impatient = h
        .request(Op::ListJobs, &format!("/v3/export-jobs?{query}"), ORG)
        .timeout(delay / 3)
        .send()
        .await;
    assert!(
        impatient.as_ref().is_err_and(reqwest::Error::is_timeout),
        "{impatient:?}"
    );
    let slow = h.list_jobs(&query, ORG).await;
    assert_eq!(slow.status, 200);

    h.emulator.set_faults(Faults::default());
    assert_eq!(h.list_jobs(&query, ORG).await.status, 200);
}

#[tokio::test]
async fn lost_answers_come_after_the_request_was_applied() {
    let h = Harness::start().await;
    let id = h.seed(Uuid::new_v4());
    h.emulator.set_faults(only(Faults {
        lost_answers: true,
        scope: FaultScope::Events,
        ..Faults::default()
    }));
    let lost = h
        .request(Op::CreateEvent, "/v3/export-job-events", ORG)
        .json(&json!({"jobId": id, "event": "started"}))
        .send()
        .await;
    assert!(lost.is_err(), "{lost:?}");
    let events = h.emulator.events();
    let recorded: Vec<_> = events
        .iter()
        .map(|event| (event.job_id.as_str(), event.event.as_str(), event.status))
        .collect();
    assert_eq!(recorded, [(id.to_string().as_str(), "started", 202)]);
    // Lookups are out of scope, so they are answered, and show the claim.
    let job = h.get_job(&id.to_string(), ORG).await;
    assert_eq!(job.status, 200, "{job:?}");
    assert_eq!(job.data()["status"], JobStatus::InProgress.as_str());

    // Sent again once the faults are gone, the claim is refused: it already happened.
    h.emulator.set_faults(Faults::default());
    let again = h.event(json!({"jobId": id, "event": "started"}), ORG).await;
    assert_eq!(
        (again.status, again.error_type()),
        (422, "INVALID_EXPORT_JOB_STATUS_CHANGE")
    );
}

#[tokio::test]
async fn held_answers_come_late_for_a_request_already_applied() {
    let h = Harness::start().await;
    let id = h.seed(Uuid::new_v4());
    let delay = Duration::from_millis(300);
    h.emulator.set_faults(only(Faults {
        held_answers: Some(delay),
        scope: FaultScope::Events,
        ..Faults::default()
    }));
    let sent = Instant::now();
    let held = async {
        let reply = h.event(json!({"jobId": id, "event": "started"}), ORG).await;
        (reply, sent.elapsed())
    };
    let meanwhile = async {
        tokio::time::sleep(delay / 3).await;
        let job = h.get_job(&id.to_string(), ORG).await;
        (job, sent.elapsed())
    };
    let ((reply, answered), (job, looked)) = tokio::join!(held, meanwhile);
    assert_eq!(reply.status, 202, "{reply:?}");
    assert!(answered >= delay, "answered after {answered:?}");
    assert!(
        looked < answered,
        "looked at {looked:?}, answered at {answered:?}"
    );
    assert_eq!(job.status, 200, "{job:?}");
    assert_eq!(job.data()["status"], JobStatus::InProgress.as_str());
    assert_eq!(h.emulator.events().len(), 1);
}

#[tokio::test]
async fn partial_fault_rates_are_reproducible() {
    let faults = Faults {
        rate: 0.5,
        server_errors: true,
        rate_limits: true,
        seed: 99,
        ..Faults::default()
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let h = Harness::with(PleoConfig {
            faults: faults.clone(),
            ..PleoConfig::default()
        })
        .await;
        let company = Uuid::new_v4();
        let mut statuses = Vec::new();
        for _ in 0..40 {
            statuses.push(
                h.list_jobs(&format!("company_id={company}"), ORG)
                    .await
                    .status,
            );
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&200) && runs[0].iter().any(|s| *s != 200),
        "{:?}",
        runs[0]
    );
}

#[tokio::test]
async fn seed_files_create_jobs_in_order() {
    let h = Harness::start().await;
    let company = Uuid::new_v4();
    let seeded = h
        .emulator
        .seed_from_json(&format!(
            r#"{{"jobs": [
                {{"companyId": "{company}"}},
                {{"companyId": "{company}", "status": "completed", "numberOfItems": 1}}
            ]}}"#
        ))
        .expect("valid seed file");
    let listed = h.list_jobs(&format!("company_id={company}"), ORG).await;
    assert_eq!(
        ids(&listed),
        seeded.iter().map(Uuid::to_string).collect::<Vec<_>>()
    );
    let completed = h.emulator.job(seeded[1]).expect("job");
    assert_eq!(completed["status"], JobStatus::Completed.as_str());
    spec().check_component("ExportJobV3", &completed);
    for item in h.emulator.items(seeded[1]) {
        spec().check_component("ExportJobItemV3", &item);
    }
    let error = h
        .emulator
        .seed_from_json(r#"{"jobs": [{"companyId": "x"}]}"#)
        .expect_err("invalid");
    assert!(error.contains("companyId"), "{error}");
}
