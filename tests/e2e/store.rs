//! The store on both databases: claims are exclusive between replicas until
//! a lease runs out, the journal keeps every stage, the decision log round-
//! trips with masking and filters, retention prunes, webhook ids are
//! remembered. Each test runs on a SQLite file and, when a server is
//! available, on PostgreSQL (shared, so every test uses fresh job ids).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use preflight::{FailureReason, Verdict};
use preflight_runtime::report::{Check, CheckStatus};
use preflight_runtime::sandbox::outbound::Exchange;
use preflight_runtime::sandbox::record::Captured;
use preflight_store::decisions::PluginRef;
use preflight_store::{Acquired, Decision, DecisionFilter, Identity, Stage, Store, StoreError};

use crate::support;

/// The store URLs to run on: a fresh SQLite file, and PostgreSQL if any.
fn urls(name: &str) -> Vec<String> {
    let dir = support::temp_dir(name);
    let mut urls = vec![format!("sqlite://{}", dir.join("preflight.db").display())];
    urls.extend(support::postgres_url());
    urls
}

async fn open(url: &str, replica: &str, lease: Duration) -> Store {
    Store::open(
        url,
        Identity {
            replica: replica.to_owned(),
            lease,
        },
    )
    .await
    .unwrap_or_else(|error| panic!("{url}: {error}"))
}

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn claims_are_exclusive_until_the_lease_runs_out() {
    for url in urls("claims") {
        let (job, company) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let a = open(&url, "replica-a", MINUTE).await;
        let b = open(&url, "replica-b", MINUTE).await;
        assert_eq!(a.acquire(job, company).await.unwrap(), Acquired::New);
        assert!(matches!(
            b.acquire(job, company).await.unwrap(),
            Acquired::HeldBy { owner, .. } if owner == "replica-a"
        ));
        a.record(job, &Stage::Claimed).await.unwrap();
        assert!(matches!(
            b.record(job, &Stage::Claimed).await,
            Err(StoreError::NotOwner(id)) if id == job
        ));
        // A restart of replica-a takes its own job up where it stopped.
        let a_again = open(&url, "replica-a", MINUTE).await;
        assert_eq!(
            a_again.acquire(job, company).await.unwrap(),
            Acquired::Resumed(Stage::Claimed)
        );
        assert!(
            a_again
                .unfinished()
                .await
                .unwrap()
                .iter()
                .any(|r| r.job_id == job),
            "its own unfinished job is listed for resuming"
        );
        assert!(
            !b.unfinished()
                .await
                .unwrap()
                .iter()
                .any(|r| r.job_id == job),
            "another replica's job is not, while its lease holds"
        );

        // A replica whose lease runs out loses the job to the next one.
        let (job, company) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let short = open(&url, "replica-short", Duration::from_millis(1)).await;
        assert_eq!(short.acquire(job, company).await.unwrap(), Acquired::New);
        let intent = Stage::Failing {
            reason: FailureReason::InvalidConfiguration,
            message: "fix it".to_owned(),
        };
        short.record(job, &intent).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            b.unfinished()
                .await
                .unwrap()
                .iter()
                .any(|r| r.job_id == job),
            "an expired lease makes the job anyone's"
        );
        assert_eq!(
            b.acquire(job, company).await.unwrap(),
            Acquired::Resumed(intent.clone()),
            "the recorded verdict travels with the job"
        );
        assert!(matches!(
            short.record(job, &Stage::Released).await,
            Err(StoreError::NotOwner(_))
        ));
        b.record(
            job,
            &Stage::Done {
                outcome: preflight_store::JobResult::Failed,
            },
        )
        .await
        .unwrap();
        assert!(matches!(
            a.acquire(job, company).await.unwrap(),
            Acquired::Finished(Stage::Done { .. })
        ));
        let stages: Vec<(String, String)> = b
            .history(job)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.stage.name().to_owned(), e.replica))
            .collect();
        assert_eq!(
            stages,
            [
                ("claiming", "replica-short"),
                ("failing", "replica-short"),
                ("done", "replica-b"),
            ]
            .map(|(s, r)| (s.to_owned(), r.to_owned()))
        );
    }
}

#[tokio::test]
async fn of_many_replicas_acquiring_one_job_at_once_exactly_one_wins() {
    for url in urls("race") {
        let (job, company) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let mut stores = Vec::new();
        for n in 0..8 {
            stores.push(open(&url, &format!("racer-{n}"), MINUTE).await);
        }
        let results =
            futures_util::future::join_all(stores.iter().map(|store| store.acquire(job, company)))
                .await;
        let won = results
            .iter()
            .filter(|r| matches!(r, Ok(Acquired::New)))
            .count();
        let held = results
            .iter()
            .filter(|r| matches!(r, Ok(Acquired::HeldBy { .. })))
            .count();
        assert_eq!((won, held), (1, 7), "{url}: {results:?}");
    }
}

#[tokio::test]
async fn a_released_job_is_claimed_afresh() {
    for url in urls("released") {
        let (job, company) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let a = open(&url, "replica-a", MINUTE).await;
        let b = open(&url, "replica-b", MINUTE).await;
        assert_eq!(a.acquire(job, company).await.unwrap(), Acquired::New);
        a.record(job, &Stage::Released).await.unwrap();
        assert_eq!(b.acquire(job, company).await.unwrap(), Acquired::New);
        assert_eq!(
            b.job(job).await.unwrap().map(|r| (r.stage, r.owner)),
            Some((Stage::Claiming, "replica-b".to_owned()))
        );
    }
}

fn decision(job: uuid::Uuid, company: uuid::Uuid, at: i64) -> Decision {
    let body =
        r#"{"Organisations":[{"Name":"Acme Ltd","Code":"429","EmailAddress":"cfo@acme.test"}]}"#;
    Decision {
        id: 0,
        job_id: job,
        company_id: company,
        accounting_system: Some("xero".to_owned()),
        plugin: Some(PluginRef {
            name: "xero".to_owned(),
            version: "0.1.0".to_owned(),
            digest: "ab".repeat(32),
            wit: "preflight:plugin@0.1.0".to_owned(),
        }),
        replica: "replica-a".to_owned(),
        attempt: 1,
        at,
        elapsed_ms: 12.5,
        verdict: Verdict::Fail {
            reason: FailureReason::MissingConfiguration,
            message: "Account 429 is missing.".to_owned(),
            check: "xero.accounts.expenses".to_owned(),
        },
        fault: None,
        job: serde_json::json!({"id": job, "companyId": company, "createdBy": "someone"}),
        config: Some(
            serde_json::json!({"accountingSystem": "xero", "baseUrl": "https://api.xero.com"}),
        ),
        checks: vec![Check {
            id: "xero.accounts.expenses".to_owned(),
            status: CheckStatus::Failed,
            reason: Some(FailureReason::MissingConfiguration),
            message: "Account 429 is missing.".to_owned(),
            hint: None,
            retry_after: None,
        }],
        exchanges: vec![Exchange {
            method: "GET".to_owned(),
            url: "https://api.xero.com/api.xro/2.0/Contacts?email=cfo%40acme.test&page=1"
                .to_owned(),
            status: Some(200),
            elapsed: Duration::from_millis(7),
            request_headers: vec![("accept".to_owned(), "application/json".to_owned())],
            request_body: None,
            response_headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            response_body: Some(Captured::of(body.as_bytes(), 1 << 16)),
            failure: None,
            superseded: false,
        }],
    }
}

#[tokio::test]
async fn pages_of_the_decision_log_neither_skip_nor_repeat_decisions_of_one_millisecond() {
    for url in urls("decision-pages") {
        let store = open(&url, "replica-a", MINUTE).await;
        let company = uuid::Uuid::new_v4();
        let at = preflight_store::now_millis();
        let mut ids = Vec::new();
        // Five decisions in one millisecond, then two in the next.
        for n in 0..7 {
            let when = if n < 5 { at } else { at + 1 };
            let decision = decision(uuid::Uuid::new_v4(), company, when);
            ids.push(store.log_decision(&decision, &[]).await.unwrap());
        }
        let mut listed = Vec::new();
        let mut before = None;
        for _ in 0..ids.len() {
            let page = store
                .decisions(&DecisionFilter {
                    company: Some(company),
                    before,
                    limit: Some(3),
                    ..DecisionFilter::default()
                })
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            before = Some(last.id);
            listed.extend(page.iter().map(|row| row.id));
        }
        // Newest first: the later millisecond's two, then the five, each
        // millisecond's by id, descending.
        let mut expected: Vec<i64> = ids[5..].iter().rev().copied().collect();
        expected.extend(ids[..5].iter().rev());
        assert_eq!(listed, expected, "{url}");

        // Each company's newest decision, in one statement; a company
        // without any is left out.
        let (other, quiet) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let older = store
            .log_decision(&decision(uuid::Uuid::new_v4(), other, at + 5), &[])
            .await
            .unwrap();
        store
            .log_decision(&decision(uuid::Uuid::new_v4(), other, at - 5), &[])
            .await
            .unwrap();
        let latest = store
            .latest_decisions(&[company, other, quiet])
            .await
            .unwrap();
        assert_eq!(latest.len(), 2, "{url}");
        assert_eq!(latest[&company].id, ids[6], "{url}");
        assert_eq!(latest[&other].id, older, "newest by time, not by id: {url}");
    }
}

#[tokio::test]
async fn the_decision_log_round_trips_masked_and_filters() {
    for url in urls("decisions") {
        let store = open(&url, "replica-a", MINUTE).await;
        let (job, company) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let now = preflight_store::now_millis();
        let mask = [
            "name".to_owned(),
            "EMAIL".to_owned(),
            "createdBy".to_owned(),
        ];
        let id = store
            .log_decision(&decision(job, company, now), &mask)
            .await
            .unwrap();
        let read = store.decisions_of(job).await.unwrap();
        assert_eq!(read.len(), 1);
        let read = &read[0];
        assert_eq!(read.id, id);
        assert_eq!(read.verdict, decision(job, company, now).verdict);
        assert_eq!(read.checks, decision(job, company, now).checks);
        assert_eq!(read.plugin.as_ref().unwrap().version, "0.1.0");
        assert_eq!(read.job["createdBy"], "[masked]");
        let exchange = &read.exchanges[0];
        assert_eq!(
            exchange.url,
            "https://api.xero.com/api.xro/2.0/Contacts?email=%5Bmasked%5D&page=1"
        );
        let body = exchange
            .response_body
            .as_ref()
            .unwrap()
            .text
            .clone()
            .unwrap();
        assert_eq!(
            body,
            r#"{"Organisations":[{"Name":"[masked]","Code":"429","EmailAddress":"cfo@acme.test"}]}"#,
            "only the configured fields, matched whole and in any case"
        );

        let listed = |filter: DecisionFilter| {
            let store = store.clone();
            async move {
                store
                    .decisions(&filter)
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|row| row.job_id == job)
                    .count()
            }
        };
        let base = DecisionFilter {
            company: Some(company),
            ..DecisionFilter::default()
        };
        assert_eq!(listed(base.clone()).await, 1);
        for (filter, expected) in [
            (
                DecisionFilter {
                    plugin: Some("xero@0.1.0".to_owned()),
                    ..base.clone()
                },
                1,
            ),
            (
                DecisionFilter {
                    plugin: Some("xero@0.2.0".to_owned()),
                    ..base.clone()
                },
                0,
            ),
            (
                DecisionFilter {
                    reason: Some(FailureReason::MissingConfiguration),
                    ..base.clone()
                },
                1,
            ),
            (
                DecisionFilter {
                    reason: Some(FailureReason::InvalidConfiguration),
                    ..base.clone()
                },
                0,
            ),
            (
                DecisionFilter {
                    since: Some(now + 1),
                    ..base.clone()
                },
                0,
            ),
            (
                DecisionFilter {
                    until: Some(now + 1),
                    job: Some(job),
                    verdict: Some("fail".to_owned()),
                    ..base.clone()
                },
                1,
            ),
        ] {
            assert_eq!(listed(filter.clone()).await, expected, "{filter:?}");
        }
    }
}

#[tokio::test]
async fn retention_prunes_old_entries_and_finished_jobs_only() {
    for url in urls("prune") {
        let store = open(&url, "replica-a", MINUTE).await;
        let company = uuid::Uuid::new_v4();
        let (old, new) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        // Written "in 1970": older than any cutoff a test elsewhere uses.
        store
            .log_decision(&decision(old, company, 1_000), &[])
            .await
            .unwrap();
        store
            .log_decision(&decision(new, company, preflight_store::now_millis()), &[])
            .await
            .unwrap();
        let cutoff = UNIX_EPOCH + Duration::from_secs(2);
        let pruned = store.prune(cutoff).await.unwrap();
        assert!(pruned.decisions >= 1);
        assert!(store.decisions_of(old).await.unwrap().is_empty());
        assert_eq!(store.decisions_of(new).await.unwrap().len(), 1);

        // A finished job's journal goes once it is past the cutoff; an
        // unfinished one stays whatever its age. (A cutoff of now would prune
        // what the other tests write to the shared PostgreSQL database.)
        if !url.starts_with("sqlite") {
            continue;
        }
        let (done, open_job) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        for job in [done, open_job] {
            store.acquire(job, company).await.unwrap();
        }
        store
            .record(
                done,
                &Stage::Done {
                    outcome: preflight_store::JobResult::Failed,
                },
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        store.prune(SystemTime::now()).await.unwrap();
        assert_eq!(store.job(done).await.unwrap(), None);
        assert!(store.history(done).await.unwrap().is_empty());
        assert!(store.job(open_job).await.unwrap().is_some());
    }
}

#[tokio::test]
async fn webhook_ids_are_remembered_across_replicas() {
    for url in urls("webhook-ids") {
        let a = open(&url, "replica-a", MINUTE).await;
        let b = open(&url, "replica-b", MINUTE).await;
        let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
        assert!(a.first_delivery(&id).await.unwrap());
        assert!(!a.first_delivery(&id).await.unwrap());
        assert!(!b.first_delivery(&id).await.unwrap());
    }
}

#[tokio::test]
async fn the_schema_is_migrated_once_and_bad_urls_are_named() {
    for url in urls("schema") {
        let first = open(&url, "replica-a", MINUTE).await;
        let second = open(&url, "replica-b", MINUTE).await;
        assert_eq!(first.schema_version().await.unwrap(), 5);
        assert_eq!(second.schema_version().await.unwrap(), 5);
    }
    let error = Store::open("mysql://db/preflight", Identity::default())
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("mysql://db/preflight"),
        "{error}"
    );
}

/// PostgreSQL over TLS, as a managed database asks for: the connection
/// parameters ride in the store URL. `preflight_tls` is admitted only over
/// TLS, so every open that succeeds as it was encrypted.
#[tokio::test]
async fn postgres_over_tls_checks_the_server_certificate() {
    let Some((server, ca)) = support::postgres_tls() else {
        return;
    };
    // The server's certificate checked against the operator's CA, for the
    // host name in the URL.
    let verified = open(
        &format!("{server}?sslmode=verify-full&sslrootcert={ca}"),
        "replica-tls",
        MINUTE,
    )
    .await;
    let (job, company) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    assert_eq!(verified.acquire(job, company).await.unwrap(), Acquired::New);
    verified.record(job, &Stage::Claimed).await.unwrap();
    // Encrypted without checking the certificate.
    let encrypted = open(&format!("{server}?sslmode=require"), "replica-tls", MINUTE).await;
    assert_eq!(
        encrypted.job(job).await.unwrap().map(|record| record.stage),
        Some(Stage::Claimed)
    );

    let refused = |url: String| async move {
        match Store::open(&url, Identity::default()).await {
            Ok(_) => panic!("{url}: opened"),
            Err(error) => error.to_string(),
        }
    };
    // No TLS: the server refuses, and the error says where and why.
    let plain = refused(format!("{server}?sslmode=disable")).await;
    assert!(plain.contains("no encryption"), "{plain}");
    assert!(plain.contains("preflight_tls"), "{plain}");
    // A certificate no trusted root signed is refused by the client.
    let untrusted = refused(format!("{server}?sslmode=verify-full")).await;
    assert!(
        untrusted.to_ascii_lowercase().contains("certificate"),
        "{untrusted}"
    );
}

#[tokio::test]
async fn company_writes_are_compare_and_set_with_an_audit_trail() {
    use preflight_store::{CompanyFilter, CompanyWrite, Conflict, TokenWrite};
    for url in urls("companies") {
        let store = open(&url, "replica-a", MINUTE).await;
        let company = uuid::Uuid::new_v4();
        let document = serde_json::json!({"accountingSystem": "xero", "settings": {}});
        let fields = vec!["settings".to_owned()];
        let write = |expected: Option<i64>| CompanyWrite {
            company_id: company,
            organisation_id: None,
            accounting_system: "xero",
            document: &document,
            expected,
            via: "api",
            fields: &fields,
            file_digest: None,
            tokens: TokenWrite::Replace {
                access: "sealed-access".to_owned(),
                refresh: "sealed-refresh".to_owned(),
            },
        };
        assert_eq!(
            store.write_company(&write(Some(0))).await.unwrap(),
            Ok(1),
            "{url}"
        );
        assert_eq!(
            store.write_company(&write(Some(0))).await.unwrap(),
            Err(Conflict { current: Some(1) }),
            "{url}: a second create loses"
        );
        assert_eq!(store.write_company(&write(Some(1))).await.unwrap(), Ok(2));
        let stored = store.company(company).await.unwrap().unwrap();
        assert_eq!((stored.version, stored.updated_via.as_str()), (2, "api"));
        let listed = store
            .companies(&CompanyFilter {
                accounting_system: Some("xero".to_owned()),
                ..CompanyFilter::default()
            })
            .await
            .unwrap();
        assert!(listed.iter().any(|c| c.company_id == company), "{url}");
        let tokens = store.tokens(company).await.unwrap().unwrap();
        assert_eq!(tokens.generation, 2, "{url}: replaced with the credentials");
        assert_eq!(
            store.remove_company(company, Some(1), "cli").await.unwrap(),
            Err(Conflict { current: Some(2) })
        );
        assert_eq!(
            store.remove_company(company, Some(2), "cli").await.unwrap(),
            Ok(2)
        );
        assert!(store.company(company).await.unwrap().is_none());
        assert!(
            store.tokens(company).await.unwrap().is_none(),
            "{url}: tokens go with it"
        );
        let audit = store.company_audit(company).await.unwrap();
        let actions: Vec<(i64, &str, &str)> = audit
            .iter()
            .map(|e| (e.version, e.action.as_str(), e.via.as_str()))
            .collect();
        assert_eq!(
            actions,
            [
                (1, "created", "api"),
                (2, "updated", "api"),
                (2, "removed", "cli")
            ]
        );
        assert_eq!(audit[0].fields, fields);
    }
}

#[tokio::test]
async fn one_holder_at_a_time_refreshes_a_company_s_tokens() {
    use preflight_store::{CompanyWrite, StoredTokens, TokenWrite};
    for url in urls("token-lease") {
        let store = open(&url, "replica-a", MINUTE).await;
        let company = uuid::Uuid::new_v4();
        let document = serde_json::json!({});
        store
            .write_company(&CompanyWrite {
                company_id: company,
                organisation_id: None,
                accounting_system: "xero",
                document: &document,
                expected: None,
                via: "file",
                fields: &[],
                file_digest: None,
                tokens: TokenWrite::Replace {
                    access: "a1".to_owned(),
                    refresh: "r1".to_owned(),
                },
            })
            .await
            .unwrap()
            .unwrap();
        let lease = Duration::from_millis(300);
        assert!(
            store.lease_tokens(company, "a", lease).await.unwrap(),
            "{url}"
        );
        assert!(
            !store.lease_tokens(company, "b", lease).await.unwrap(),
            "{url}: held by a"
        );
        let next = StoredTokens {
            access: "a2".to_owned(),
            refresh: "r2".to_owned(),
            expires_at: Some(5),
            refreshed_at: Some(1),
            revoked: false,
            generation: 0,
        };
        assert!(
            !store.save_tokens(company, "b", &next).await.unwrap(),
            "{url}: b holds no lease"
        );
        assert!(store.save_tokens(company, "a", &next).await.unwrap());
        let kept = store.tokens(company).await.unwrap().unwrap();
        assert_eq!(
            (kept.refresh.as_str(), kept.generation, kept.expires_at),
            ("r2", 2, Some(5))
        );
        // Saving gave the lease up; a lease that runs out is taken over.
        assert!(
            store.lease_tokens(company, "b", lease).await.unwrap(),
            "{url}"
        );
        tokio::time::sleep(lease + Duration::from_millis(50)).await;
        assert!(
            store.lease_tokens(company, "a", lease).await.unwrap(),
            "{url}: b's ran out"
        );
        store.release_tokens(company, "a", true).await.unwrap();
        assert!(
            store.tokens(company).await.unwrap().unwrap().revoked,
            "{url}"
        );
        assert!(store.reseal_tokens(company, 2, "a2'", "r2'").await.unwrap());
        assert!(
            !store.reseal_tokens(company, 1, "x", "y").await.unwrap(),
            "{url}: stale generation"
        );
    }
}

#[tokio::test]
async fn shadow_comparisons_read_back_as_kept_and_are_pruned_with_the_log() {
    use preflight_store::shadow::{ChangedCheck, ShadowResult};
    for url in urls("shadow") {
        let store = open(&url, "replica-a", MINUTE).await;
        let candidate = format!("xero@0.3.0-{}", uuid::Uuid::new_v4().simple());
        let result = |at: i64, fault: Option<&str>| ShadowResult {
            job_id: uuid::Uuid::new_v4(),
            company_id: uuid::Uuid::new_v4(),
            accounting_system: "xero".to_owned(),
            live: "xero@0.1.0".to_owned(),
            candidate: candidate.clone(),
            live_verdict: "proceed".to_owned(),
            live_reason: None,
            candidate_verdict: "fail".to_owned(),
            candidate_reason: Some("missing_configuration".to_owned()),
            changed: vec![ChangedCheck {
                id: "xero.tax-type".to_owned(),
                live: Some("skipped".to_owned()),
                candidate: Some("failed".to_owned()),
            }],
            misses: vec!["GET https://api.xero.com/api.xro/2.0/TaxRates".to_owned()],
            fault: fault.map(str::to_owned),
            at,
        };
        // One from the first second after the epoch, one from now.
        let (old, new) = (
            result(1_000, None),
            result(preflight_store::now_millis(), Some("trap")),
        );
        store.record_shadow(&old).await.unwrap();
        store.record_shadow(&new).await.unwrap();
        let read = store.shadow_results("xero", &candidate).await.unwrap();
        assert_eq!(read, [old, new.clone()], "{url}");
        assert!(
            store
                .shadow_results("fortnox", &candidate)
                .await
                .unwrap()
                .is_empty()
        );
        store
            .prune(std::time::UNIX_EPOCH + Duration::from_secs(2))
            .await
            .unwrap();
        assert_eq!(
            store.shadow_results("xero", &candidate).await.unwrap(),
            [new],
            "{url}"
        );
    }
}

#[tokio::test]
async fn the_overview_counts_come_from_the_database_by_hour_verdict_and_company() {
    for url in urls("counts") {
        let store = open(&url, "replica-a", MINUTE).await;
        // Ten years ahead: no other test's decisions fall in this window.
        let since = preflight_store::now_millis() + 10 * 365 * 86_400_000;
        let system = format!("xero-{}", uuid::Uuid::new_v4().simple());
        let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let mut written = Vec::new();
        for (company, at, fails) in [
            (a, since + 1_000, true),
            (a, since + 2_000, true),
            (a, since + 3_600_000 + 5, true),
            (b, since + 10, true),
            (b, since + 20, false),
        ] {
            let mut logged = decision(uuid::Uuid::new_v4(), company, at);
            logged.accounting_system = Some(system.clone());
            if !fails {
                logged.verdict = Verdict::Proceed;
            }
            written.push(logged);
        }
        for logged in &written {
            store.log_decision(logged, &[]).await.unwrap();
        }
        let counts: Vec<_> = store
            .hourly_counts(since)
            .await
            .unwrap()
            .into_iter()
            .filter(|count| count.accounting_system == system)
            .map(|count| (count.hour, count.proceed, count.fail, count.retry))
            .collect();
        assert_eq!(counts, [(0, 1, 3, 0), (1, 0, 1, 0)], "{url}");
        let failing = store.failing_companies(since, 10).await.unwrap();
        // Only this run's companies: an earlier run against the same
        // database wrote its own within the hour after its window began.
        let failing: Vec<_> = failing
            .iter()
            .filter(|c| [a, b].contains(&c.company_id))
            .map(|c| (c.company_id, c.failed, c.latest_reason.as_deref()))
            .collect();
        assert_eq!(
            failing,
            [
                (a, 3, Some("missing_configuration")),
                (b, 1, Some("missing_configuration"))
            ],
            "{url}"
        );
    }
}
