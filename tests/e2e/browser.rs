//! The operator console in a real browser: headless Chromium (Debian's
//! `chromium` and `chromium-driver`, which `scripts/setup` installs), driven
//! through WebDriver (`fantoccini`), against a real `serve` with the
//! emulators. The journey an operator takes: sign in, find the failed jobs,
//! filter by reason, open one and read the finance user's message, the hint
//! and the masked exchanges, replay it; shadow a stricter version, read the
//! diff, promote it, roll back. Every page gets a screenshot (written under
//! `target/console-screenshots/`) and an axe-core check (from the npm
//! registry, injected into the page) with no serious or critical violation.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use preflight_emulators::pleo::{PleoConfig, PleoEmulator, SeedJob};
use preflight_emulators::xero::Scenario;

use crate::serve::{OperatorToml, outcome_of, ready, spawn_serve};
use crate::support;

const TOKEN: &str = "browser-op-token";

/// Chromium, ChromeDriver and axe-core, when the machine has them
/// (`PREFLIGHT_REQUIRE_BROWSER=1`, as in CI, makes their absence a
/// failure).
fn browser_parts() -> Option<(PathBuf, PathBuf, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let axe = std::env::var_os("PREFLIGHT_TEST_AXE")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/npm/node_modules/axe-core/axe.min.js"));
    let parts = (
        PathBuf::from("/usr/bin/chromium"),
        PathBuf::from("/usr/bin/chromedriver"),
        axe,
    );
    if parts.0.is_file() && parts.1.is_file() && parts.2.is_file() {
        return Some(parts);
    }
    assert!(
        std::env::var("PREFLIGHT_REQUIRE_BROWSER").as_deref() != Ok("1"),
        "PREFLIGHT_REQUIRE_BROWSER=1 but chromium, chromedriver or axe-core is missing (scripts/setup installs them)"
    );
    eprintln!("skipped: no chromium, chromedriver or axe-core (scripts/setup installs them)");
    None
}

/// ChromeDriver on a free loopback port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn driver(binary: &Path) -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(binary)
        .args([
            format!("--port={port}"),
            "--allowed-ips=127.0.0.1".to_owned(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    support::eventually("chromedriver ready", async || {
        let status: serde_json::Value = http
            .get(format!("{url}/status"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (status["value"]["ready"] == true).then_some(())
    })
    .await;
    Driver { child, url }
}

/// A headless Chromium session with a profile of its own and no background
/// traffic (the machine's network is closed).
async fn session(driver: &Driver, chromium: &Path, profile: &Path) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

/// Writes a screenshot of the page as `name.png`, and runs axe-core on it:
/// no serious or critical violation.
async fn check_page(browser: &Client, axe: &str, name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = browser.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    browser.execute(axe, Vec::new()).await.unwrap();
    let result = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
               .then(r => done(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => v.id + ': ' + v.help + ' (' + v.nodes.length + ')')))
               .catch(e => done(['axe failed: ' + e]));",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        result,
        serde_json::json!([]),
        "{name}: accessibility violations"
    );
}

/// The text of the page's `main`; a page without one fails the test with
/// its source.
async fn text_of(browser: &Client) -> String {
    match browser.find(Locator::Css("main")).await {
        Ok(main) => main.text().await.unwrap(),
        Err(error) => panic!(
            "{error}: at {}:\n{}",
            browser.current_url().await.unwrap(),
            browser.source().await.unwrap_or_default()
        ),
    }
}

/// Clicks `target` and waits for the page it leads to: the old page's
/// root goes stale, and the new one is loaded.
async fn follow(browser: &Client, target: fantoccini::elements::Element) {
    let old = browser.find(Locator::Css("html")).await.unwrap();
    target.click().await.unwrap();
    for _ in 0..200 {
        if old.attr("lang").await.is_err() {
            let state = browser
                .execute("return document.readyState", Vec::new())
                .await
                .unwrap();
            if state == "complete" {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no new page after the click");
}

/// Submits the form of the button labelled `label`.
async fn press(browser: &Client, label: &str) {
    let button = browser
        .find(Locator::XPath(&format!(
            "//button[normalize-space()=\"{label}\"]"
        )))
        .await
        .unwrap_or_else(|error| panic!("no button '{label}': {error}"));
    follow(browser, button).await;
}

/// Follows the link whose text is `text`.
async fn open(browser: &Client, text: &str) {
    let link = browser
        .find(Locator::LinkText(text))
        .await
        .unwrap_or_else(|error| panic!("no link '{text}': {error}"));
    follow(browser, link).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_finds_a_failed_job_replays_it_and_rolls_out_a_stricter_version() {
    let Some((chromium, chromedriver, axe)) = browser_parts() else {
        return;
    };
    let axe = std::fs::read_to_string(axe).unwrap();
    let pleo = PleoEmulator::start(PleoConfig::default(), support::loopback())
        .await
        .unwrap();
    let failing_xero = support::xero_emulator(&[Scenario::AccountsMissing]).await;
    let good_xero = support::xero_emulator(&[]).await;
    let (failing, good) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let dir = support::temp_dir("browser");
    let plugins = dir.join("plugins");
    support::land_xero_strict(&plugins);
    let config = OperatorToml {
        extra: format!(
            "\n[server]\ntoken = \"{TOKEN}\"\n\n[plugins]\ndir = \"{}\"\nallowUnsigned = true\n",
            plugins.display()
        ),
        ..OperatorToml::new(
            pleo.url(),
            Some(dir.join("state")),
            vec![(failing, failing_xero.url()), (good, good_xero.url())],
        )
    };
    let path = dir.join("preflight.toml");
    std::fs::write(&path, config.to_string()).unwrap();
    let (mut serving, api) = spawn_serve(&path);
    let http = reqwest::Client::new();
    ready(&http, &api).await;
    // Start on 0.1.0: the stricter 0.3.0 landed and went active; roll it
    // back through the API first, so the journey begins on the old rules.
    let rolled = http
        .post(format!("{api}/v1/plugins/xero/rollback"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(rolled.status(), 200);
    let failed_job = pleo.seed_job(SeedJob::pending(failing));
    outcome_of(&http, &api, Some(TOKEN), failed_job).await;

    let driver = driver(&chromedriver).await;
    let browser = session(&driver, &chromium, &dir.join("chromium-profile")).await;

    // Sign in.
    browser.goto(&format!("{api}/console")).await.unwrap();
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/console/login")
    );
    check_page(&browser, &axe, "login").await;
    browser
        .find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys(TOKEN)
        .await
        .unwrap();
    press(&browser, "Sign in").await;
    let overview = text_of(&browser).await;
    assert!(overview.contains("Companies failing most"), "{overview}");
    assert!(overview.contains(&failing.to_string()), "{overview}");
    check_page(&browser, &axe, "overview").await;

    // The failed jobs, filtered by reason.
    open(&browser, "Decisions").await;
    browser
        .find(Locator::Id("reason"))
        .await
        .unwrap()
        .send_keys("missing_configuration")
        .await
        .unwrap();
    press(&browser, "Filter").await;
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .as_str()
            .contains("reason=missing_configuration")
    );
    check_page(&browser, &axe, "decisions").await;
    open(&browser, &failed_job.to_string()).await;

    // The job: what the finance user reads, the hint, the exchanges.
    let job = text_of(&browser).await;
    assert!(job.contains("The finance user reads:"), "{job}");
    assert!(job.contains("Xero account 429"), "{job}");
    assert!(
        job.contains("no account with Code 429"),
        "the operator's hint: {job}"
    );
    assert!(job.contains("/api.xro/2.0/Accounts"), "{job}");
    check_page(&browser, &axe, "job").await;
    press(&browser, "Replay validation 1 offline").await;
    assert!(text_of(&browser).await.contains("the same verdict"));

    // Shadow the stricter 0.3.0 beside 0.1.0, read the diff, promote it.
    browser
        .goto(&format!("{api}/console/plugins"))
        .await
        .unwrap();
    press(&browser, "Shadow xero 0.3.0").await;
    let shadowing = text_of(&browser).await;
    assert!(shadowing.contains("Shadow xero@0.3.0"), "{shadowing}");
    let job = pleo.seed_job(SeedJob::pending(good));
    outcome_of(&http, &api, Some(TOKEN), job).await;
    let mut diff = String::new();
    for _ in 0..100 {
        browser.refresh().await.unwrap();
        diff = text_of(&browser).await;
        if diff.contains("Jobs compared: 1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(diff.contains("Jobs compared: 1"), "{diff}");
    assert!(
        diff.contains("Would now fail: 1 missing_configuration"),
        "{diff}"
    );
    assert!(
        diff.contains(&job.to_string()),
        "the differing job is linked: {diff}"
    );
    check_page(&browser, &axe, "plugins-shadow").await;
    press(&browser, "Promote xero's shadow or canary").await;
    let promoted = text_of(&browser).await;
    assert!(!promoted.contains("Shadow xero@0.3.0"), "{promoted}");
    assert_eq!(
        support::active_version(&http, &api, Some(TOKEN), "xero")
            .await
            .as_deref(),
        Some("0.3.0"),
        "{promoted}"
    );

    // And roll back.
    press(&browser, "Roll back xero").await;
    assert_eq!(
        support::active_version(&http, &api, Some(TOKEN), "xero")
            .await
            .as_deref(),
        Some("0.1.0")
    );
    check_page(&browser, &axe, "plugins").await;

    browser
        .goto(&format!("{api}/console/companies"))
        .await
        .unwrap();
    assert!(text_of(&browser).await.contains(&good.to_string()));
    check_page(&browser, &axe, "companies").await;

    browser.close().await.unwrap();
    assert_eq!(serving.stop(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}
