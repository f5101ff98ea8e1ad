//! The operator console of a real `serve` against the emulators, over HTTP:
//! sign-in, the overview, the decision log with its filters, a job with its
//! checks, exchanges and an offline replay, the plugins page and its
//! changes, the companies page; changes from another site are refused.

use preflight_emulators::pleo::{PleoConfig, PleoEmulator, SeedJob};
use preflight_emulators::xero::Scenario;

use crate::serve::{OperatorToml, outcome_of, ready, spawn_serve};
use crate::support;

const TOKEN: &str = "console-op-token";

/// A client that keeps no cookies and follows no redirects, so each step
/// shows what the server answered.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn page(http: &reqwest::Client, url: &str, cookie: &str) -> (u16, String) {
    let response = http.get(url).header("cookie", cookie).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    let response = http
        .post(url)
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_what_failed_and_why_and_drives_the_registry() {
    let pleo = PleoEmulator::start(PleoConfig::default(), support::loopback())
        .await
        .unwrap();
    let failing_xero = support::xero_emulator(&[Scenario::AccountsMissing]).await;
    let good_xero = support::xero_emulator(&[]).await;
    let (failing, good) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let dir = support::temp_dir("console");
    let config = OperatorToml {
        extra: format!("\n[server]\ntoken = \"{TOKEN}\"\n"),
        ..OperatorToml::new(
            pleo.url(),
            Some(dir.join("state")),
            vec![(failing, failing_xero.url()), (good, good_xero.url())],
        )
    };
    let path = dir.join("preflight.toml");
    std::fs::write(&path, config.to_string()).unwrap();
    let (mut serving, api) = spawn_serve(&path);
    let http = client();
    ready(&http, &api).await;
    let failed_job = pleo.seed_job(SeedJob::pending(failing));
    let good_job = pleo.seed_job(SeedJob::pending(good));
    for job in [failed_job, good_job] {
        outcome_of(&http, &api, Some(TOKEN), job).await;
    }

    // Signed out: every page leads to the sign-in form.
    let response = http.get(format!("{api}/console")).send().await.unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/console/login");
    let (status, form) = page(&http, &format!("{api}/console/login"), "").await;
    assert_eq!(status, 200);
    assert!(form.contains("<label for=\"token\">"), "{form}");
    let (status, _) = post(
        &http,
        &format!("{api}/console/login"),
        "",
        &[("token", "wrong")],
    )
    .await;
    assert_eq!(status, 401);
    let response = http
        .post(format!("{api}/console/login"))
        .form(&[("token", TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
    assert!(
        !set_cookie.contains(TOKEN),
        "the cookie is not the token itself"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();

    // The overview: the failing company, the versions, the health.
    let (status, overview) = page(&http, &format!("{api}/console"), &cookie).await;
    assert_eq!(status, 200);
    assert!(overview.contains("<html lang=\"en\">") && overview.contains("name=\"viewport\""));
    assert!(
        overview.contains(&failing.to_string()),
        "the failing company is listed"
    );
    assert!(
        !overview.contains(&good.to_string()),
        "the good one is not failing"
    );
    assert!(overview.contains("1 proceeded, 1 failed"), "{overview}");
    assert!(
        overview.contains("xero: failures and retries by reason")
            && overview.contains(
                "<a href=\"/console/decisions?reason=missing_configuration&amp;verdict=fail&amp;since=24h\">missing_configuration</a></td><td>fail</td><td>1</td>"
            ),
        "the failures by reason, each linking to its decisions: {overview}"
    );
    assert!(overview.contains("0.1.0 active"), "{overview}");
    assert!(
        overview.contains("the last sweep listed jobs"),
        "{overview}"
    );

    // The decision log, filtered by reason.
    let (status, decisions) = page(
        &http,
        &format!("{api}/console/decisions?reason=missing_configuration"),
        &cookie,
    )
    .await;
    assert_eq!(status, 200);
    assert!(decisions.contains(&failed_job.to_string()));
    assert!(!decisions.contains(&good_job.to_string()));
    assert!(
        decisions.contains("Xero account 429"),
        "the finance user's message"
    );
    let (status, _) = page(
        &http,
        &format!("{api}/console/decisions?verdict=maybe"),
        &cookie,
    )
    .await;
    assert_eq!(status, 400, "a bad filter is named, not ignored");

    // One job: checks with message and hint, exchanges, and a replay.
    let (status, job) = page(&http, &format!("{api}/console/jobs/{failed_job}"), &cookie).await;
    assert_eq!(status, 200);
    for expected in [
        "The finance user reads:",
        "xero.accounts.expenses",
        "/api.xro/2.0/Accounts",
        "claiming",
        "Replay validation 1 offline",
    ] {
        assert!(job.contains(expected), "{expected}");
    }
    let decision = job
        .split("name=\"decision\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let requests = failing_xero.requests().len();
    let (status, replayed) = post(
        &http,
        &format!("{api}/console/jobs/{failed_job}/replay"),
        &cookie,
        &[("decision", &decision)],
    )
    .await;
    assert_eq!(status, 200);
    assert!(replayed.contains("the same verdict"), "{replayed}");
    assert_eq!(
        failing_xero.requests().len(),
        requests,
        "a replay sends nothing"
    );

    // Plugins: the versions, and a change the registry refuses, shown.
    let (status, plugins) = page(&http, &format!("{api}/console/plugins"), &cookie).await;
    assert_eq!(status, 200);
    assert!(plugins.contains("bundled:xero") && plugins.contains("Roll back xero"));
    let (status, refused) = post(
        &http,
        &format!("{api}/console/plugins/xero/rollback"),
        &cookie,
        &[],
    )
    .await;
    assert_eq!(status, 409);
    assert!(refused.contains("no previous version"), "{refused}");
    // From another site: refused before anything is done.
    let response = http
        .post(format!("{api}/console/plugins/xero/rollback"))
        .header("cookie", &cookie)
        .header("origin", "https://elsewhere.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);

    // Companies: both, with their settings' status and last verdict.
    let (status, companies) = page(&http, &format!("{api}/console/companies"), &cookie).await;
    assert_eq!(status, 200);
    assert!(companies.contains(&failing.to_string()) && companies.contains(&good.to_string()));
    assert!(companies.contains(">valid<"), "{companies}");
    assert!(companies.contains("missing_configuration"), "{companies}");
    assert!(
        !companies.contains(preflight_emulators::xero::DEMO_ACCESS_TOKEN),
        "no secret shown"
    );

    assert_eq!(serving.stop(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}
