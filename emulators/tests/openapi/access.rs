//! Credentials, scopes and companies (docs/pleo-export-api.md §1.1), and unknown routes.

use preflight_emulators::pleo::{
    Credential, DEMO_API_KEY, DEMO_ORG_TOKEN, Grant, PleoConfig, Scope,
};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{Auth, Harness, ids};
use crate::spec::{assert_valid, ref_to, rooted, spec};

#[tokio::test]
async fn credentials_are_required_and_api_keys_work() {
    let h = Harness::start().await;
    let company = Uuid::new_v4();
    let id = h.seed(company);
    let query = format!("company_id={company}");
    for auth in [
        Auth::None,
        Auth::Token("wrong"),
        Auth::ApiKey("wrong"),
        Auth::ApiKey(DEMO_ORG_TOKEN),
    ] {
        let reply = h.list_jobs(&query, auth).await;
        assert_eq!(
            (reply.status, reply.error_type()),
            (401, "UNAUTHORIZED"),
            "{auth:?}"
        );
    }
    let unauthenticated = h
        .event(json!({"jobId": id, "event": "started"}), Auth::None)
        .await;
    assert_eq!(unauthenticated.status, 401);
    assert!(h.emulator.events().is_empty(), "refused before the handler");
    assert_eq!(h.get_job(&id.to_string(), Auth::None).await.status, 401);

    let by_key = h.list_jobs(&query, Auth::ApiKey(DEMO_API_KEY)).await;
    assert_eq!(ids(&by_key), [id.to_string()]);
    let recorded = h.emulator.requests();
    let last = recorded.last().expect("recorded request");
    assert!(
        last.header("authorization")
            .is_some_and(|v| v.starts_with("Basic "))
    );
}

#[tokio::test]
async fn scopes_and_companies_limit_what_a_credential_can_do() {
    let own = Uuid::new_v4();
    let other = Uuid::new_v4();
    let config = PleoConfig {
        grants: vec![
            Grant {
                credential: Credential::Bearer("read-only".into()),
                scopes: vec![Scope::ExportJobsRead],
                company_id: None,
            },
            Grant::company(Credential::Bearer("company".into()), own),
        ],
        ..PleoConfig::default()
    };
    let h = Harness::with(config).await;
    let own_job = h.seed(own);
    let other_job = h.seed(other);
    let read_only = Auth::Token("read-only");
    let company = Auth::Token("company");

    assert_eq!(
        h.list_jobs(&format!("company_id={own}"), read_only)
            .await
            .status,
        200
    );
    let forbidden = h
        .event(json!({"jobId": own_job, "event": "started"}), read_only)
        .await;
    assert_eq!(
        (forbidden.status, forbidden.error_type()),
        (403, "FORBIDDEN")
    );
    let create = json!({"accountingEntryIds": [Uuid::new_v4()], "companyId": other});
    assert_eq!(h.create_job(&create, read_only).await.status, 403);

    // A company-level credential sees its own company without naming it …
    let listed = h.list_jobs("", company).await;
    assert_eq!(ids(&listed), [own_job.to_string()]);
    assert_eq!(h.get_job(&own_job.to_string(), company).await.status, 200);
    // … and nothing of another company.
    assert_eq!(
        h.list_jobs(&format!("company_id={other}"), company)
            .await
            .status,
        403
    );
    let hidden = h.get_job(&other_job.to_string(), company).await;
    assert_eq!(
        (hidden.status, hidden.error_type()),
        (404, "EXPORT_NOT_FOUND")
    );
    let event = h
        .event(json!({"jobId": other_job, "event": "started"}), company)
        .await;
    assert_eq!(event.status, 404);
    assert_eq!(h.create_job(&create, company).await.status, 403);
    assert_eq!(h.emulator.job(other_job).expect("job")["status"], "pending");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_with_exception_info() {
    let h = Harness::start().await;
    let cases = [
        (Method::GET, "/v3/export-items", 404, "NOT_FOUND"),
        (Method::GET, "/v3/nothing", 404, "NOT_FOUND"),
        (Method::GET, "/", 404, "NOT_FOUND"),
        (Method::DELETE, "/v3/export-jobs", 405, "METHOD_NOT_ALLOWED"),
    ];
    let exception = rooted(
        &spec().documents[0],
        &json!({"$ref": ref_to("ExceptionInfo")}),
    );
    for (method, path, status, kind) in cases {
        let response = h
            .client
            .request(method.clone(), format!("{}{path}", h.emulator.url()))
            .bearer_auth(DEMO_ORG_TOKEN)
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        let body: Value = response.json().await.expect("JSON body");
        assert_valid(&exception, &body, path);
        assert_eq!(body["type"], kind, "{method} {path}");
    }
}
