//! What a misbehaving plugin can and cannot do: requests outside its origin
//! are denied before anything is sent; a trap is contained, names the plugin,
//! and the host keeps serving.

use preflight_artifacts::hostile;
use preflight_runtime::plugin::Fault;
use preflight_runtime::report::CheckStatus;
use preflight_runtime::sandbox::record::Failure;

use crate::support;

#[tokio::test]
async fn requests_outside_the_granted_origin_are_denied_and_never_sent() {
    let runtime = support::runtime();
    let plugin = support::plugin_from(&runtime, hostile::FORBIDDEN_ORIGIN).await;
    let emulator = support::xero_emulator(&[]).await;
    // A second server on loopback: same host, other port, so another origin.
    let bystander = support::xero_emulator(&[]).await;
    let mut config = support::xero_config(&emulator.url());
    config.base_url = url::Url::parse(&emulator.url()).unwrap();

    let outcome = plugin
        .validate(&support::job(false), &config)
        .await
        .expect("denials are values, not faults");
    assert!(outcome.report.checks.len() >= 3, "{:#?}", outcome.report);
    for check in &outcome.report.checks {
        assert_eq!(
            check.status,
            CheckStatus::Failed,
            "{} was not refused: {}",
            check.id,
            check.message
        );
        assert!(
            check.message.starts_with("denied:") || check.message.starts_with("invalid-request:"),
            "{}: {}",
            check.id,
            check.message
        );
    }
    assert!(
        outcome
            .report
            .checks
            .iter()
            .any(|c| c.message.contains("169.254.169.254"))
    );
    assert!(
        outcome.exchanges.is_empty(),
        "nothing may be sent: {:?}",
        outcome.exchanges
    );
    assert!(emulator.requests().is_empty());
    assert!(bystander.requests().is_empty());
}

#[tokio::test]
async fn a_trap_names_the_plugin_and_the_host_keeps_serving() {
    let runtime = support::runtime();
    let panicking = support::plugin_from(&runtime, hostile::PANIC).await;
    let xero = support::xero_plugin(&runtime).await;
    let emulator = support::xero_emulator(&[]).await;
    let config = support::xero_config(&emulator.url());
    let job = support::job(false);

    let error = panicking
        .validate(&job, &config)
        .await
        .expect_err("a panic is a fault");
    assert_eq!(error.plugin, "hostile-panic 0.1.0");
    match &error.fault {
        Fault::Trap(message) => assert!(
            message.contains("hostile-panic refuses to validate job"),
            "{message}"
        ),
        other => panic!("expected a trap, got {other:?}"),
    }
    assert!(
        error
            .to_string()
            .starts_with("plugin hostile-panic 0.1.0: trapped"),
        "{error}"
    );
    let verdict = error.verdict("Xero");
    assert_eq!(
        verdict.reason(),
        Some(preflight::FailureReason::IntegrationUnusable)
    );

    // The same runtime validates the next job, and the faulty plugin can be
    // called again: no state leaks between validations.
    let outcome = xero
        .validate(&job, &config)
        .await
        .expect("the host still serves");
    assert!(outcome.verdict.proceeds(), "{:?}", outcome.verdict);
    assert!(panicking.validate(&job, &config).await.is_err());
}

#[tokio::test]
async fn credentials_are_attached_by_the_host_only() {
    let runtime = support::runtime();
    let plugin = support::xero_plugin(&runtime).await;
    let emulator = support::xero_emulator(&[]).await;
    let outcome = plugin
        .validate(&support::job(false), &support::xero_config(&emulator.url()))
        .await
        .unwrap();
    let token = preflight_emulators::xero::DEMO_ACCESS_TOKEN;
    for request in emulator.requests() {
        let authorization = request
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
            .map(|(_, v)| v.clone());
        assert_eq!(
            authorization,
            Some(format!("Bearer {token}")),
            "{}",
            request.path
        );
    }
    let printed = serde_json::to_string(&outcome).unwrap();
    assert!(
        !printed.contains(token),
        "the outcome must not carry the token"
    );
}

#[tokio::test]
async fn a_broken_component_is_refused_with_its_name() {
    let runtime = support::runtime();
    let error = runtime
        .load("garbage.wasm", b"\0asm not really", None)
        .await
        .expect_err("garbage is refused");
    assert!(
        error
            .to_string()
            .starts_with("garbage.wasm: not a loadable WebAssembly component"),
        "{error}"
    );
    let error = runtime
        .load("empty.wasm", b"", None)
        .await
        .expect_err("empty is refused");
    assert!(error.to_string().starts_with("empty.wasm:"), "{error}");
}

#[tokio::test]
async fn an_infinite_loop_is_stopped_at_the_wall_time_limit() {
    let runtime = support::runtime();
    let spinning = support::plugin_from(&runtime, hostile::INFINITE_LOOP).await;
    let emulator = support::xero_emulator(&[]).await;
    let config = support::xero_config(&emulator.url());
    let limits = preflight::Limits {
        wall_time: std::time::Duration::from_millis(300),
        ..preflight::Limits::default()
    };
    let error = spinning
        .validate_with(&support::job(false), &config, &limits)
        .await
        .expect_err("a loop never finishes");
    assert_eq!(error.plugin, "hostile-infinite-loop 0.1.0");
    assert_eq!(
        error.fault,
        Fault::Limit {
            limit: preflight_runtime::limits::Limit::WallTime,
            described: "wall-time limit of 300 ms".to_owned()
        }
    );

    let xero = support::xero_plugin(&runtime).await;
    assert!(
        xero.validate(&support::job(false), &config)
            .await
            .unwrap()
            .verdict
            .proceeds(),
        "the host keeps serving"
    );
}

#[tokio::test]
async fn a_memory_hog_is_stopped_at_the_memory_limit() {
    let runtime = support::runtime();
    let hog = support::plugin_from(&runtime, hostile::MEMORY_HOG).await;
    let emulator = support::xero_emulator(&[]).await;
    let config = support::xero_config(&emulator.url());
    let error = hog
        .validate(&support::job(false), &config)
        .await
        .expect_err("the hog dies");
    assert_eq!(error.plugin, "hostile-memory-hog 0.1.0");
    assert_eq!(
        error.fault,
        Fault::Limit {
            limit: preflight_runtime::limits::Limit::Memory,
            described: "memory limit of 64 MiB".to_owned()
        }
    );

    let xero = support::xero_plugin(&runtime).await;
    assert!(
        xero.validate(&support::job(false), &config)
            .await
            .unwrap()
            .verdict
            .proceeds(),
        "the host keeps serving"
    );
}

async fn fault_of(path: &str) -> preflight::PluginError {
    let runtime = support::runtime();
    let plugin = support::plugin_from(&runtime, path).await;
    let emulator = support::xero_emulator(&[]).await;
    let error = plugin
        .validate(&support::job(false), &support::xero_config(&emulator.url()))
        .await
        .expect_err("a hostile plugin faults");
    // The same runtime still validates the next job with a good plugin.
    let xero = support::xero_plugin(&runtime).await;
    let next = xero
        .validate(&support::job(false), &support::xero_config(&emulator.url()))
        .await
        .expect("the host keeps serving");
    assert!(next.verdict.proceeds(), "{:?}", next.verdict);
    error
}

#[tokio::test]
async fn a_stack_overflow_is_a_fault_naming_the_plugin() {
    let error = fault_of(hostile::STACK_OVERFLOW).await;
    assert_eq!(error.plugin, "hostile-stack-overflow 0.1.0");
    assert_eq!(error.fault, Fault::Trap("stack overflow".to_owned()));
}

#[tokio::test]
async fn an_oversized_report_is_refused_naming_the_limit() {
    let error = fault_of(hostile::HUGE_REPORT).await;
    assert_eq!(
        error.fault,
        Fault::Limit {
            limit: preflight_runtime::limits::Limit::ReportSize,
            described: "report-size limit of 256 KiB".to_owned()
        }
    );
}

#[tokio::test]
async fn a_log_flood_is_stopped_at_the_log_limit() {
    let error = fault_of(hostile::LOG_FLOOD).await;
    assert_eq!(
        error.fault,
        Fault::Limit {
            limit: preflight_runtime::limits::Limit::LogVolume,
            described: "log limit of 64 KiB".to_owned()
        }
    );
}

#[tokio::test]
async fn a_component_of_the_wrong_world_is_refused_at_load() {
    let runtime = support::runtime();
    let path = hostile::WRONG_WORLD;
    let bytes = std::fs::read(path).unwrap();
    let error = runtime.load(path, &bytes, None).await.expect_err("refused");
    let text = error.to_string();
    // The host runs two contract versions side by side, and says so.
    let expected = "refused: exports the wrong world: expected preflight:plugin/validator of version 0.1.0, 0.2.0, found [greet]";
    assert!(text.starts_with(path) && text.contains(expected), "{text}");
}

#[tokio::test]
async fn a_plugin_that_opens_sockets_loads_and_every_connect_is_refused() {
    let runtime = support::runtime();
    // It imports wasi:sockets, as interpreters' libcs do: it loads.
    let plugin = support::plugin_from(&runtime, hostile::SOCKETS).await;
    let listener = std::net::TcpListener::bind(support::loopback()).unwrap();
    listener.set_nonblocking(true).unwrap();
    let target = listener.local_addr().unwrap();
    let mut config = support::xero_config("https://api.xero.com");
    config.settings = serde_json::json!({ "address": target.to_string() });

    let outcome = plugin
        .validate(&support::job(false), &config)
        .await
        .expect("a refused socket is no fault");
    let ids: Vec<&str> = outcome
        .report
        .checks
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(ids, ["hostile.socket", "hostile.lookup"]);
    for check in &outcome.report.checks {
        assert_eq!(
            check.status,
            CheckStatus::Failed,
            "{}: {}",
            check.id,
            check.message
        );
    }
    assert!(
        outcome.report.checks[0]
            .message
            .starts_with(&target.to_string()),
        "{}",
        outcome.report.checks[0].message
    );
    assert!(
        matches!(
            listener.accept(),
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock
        ),
        "nothing connected to {target}"
    );
    assert!(outcome.exchanges.is_empty(), "and nothing went out by http");
}

#[tokio::test]
async fn the_plugin_never_sees_the_credentials_the_host_attaches() {
    let runtime = support::runtime();
    let plugin = support::plugin_from(&runtime, hostile::ECHO_CREDENTIALS).await;
    let probe = preflight_emulators::probe::ProbeServer::start(support::loopback())
        .await
        .unwrap();
    let token = "s3cr3t-token-of-acme";
    let mut config = support::xero_config(&probe.url());
    config.credentials = preflight_runtime::config::Credentials::Bearer(
        preflight_runtime::config::Secret::new(token),
    );
    let outcome = plugin
        .validate(&support::job(false), &config)
        .await
        .expect("echoing is not a fault");

    // The server received the token: the host attached it.
    let requests = probe.requests();
    assert_eq!(
        requests.len(),
        1,
        "the request with the plugin's own Authorization was refused before sending"
    );
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    // The plugin saw none of it, in the body or the headers of the echo.
    let seen = &outcome.report.checks[0].message;
    assert!(
        seen.contains("[redacted]") && !seen.contains(token),
        "{seen}"
    );
    assert!(!serde_json::to_string(&outcome).unwrap().contains(token));
    let own = &outcome.report.checks[1].message;
    assert!(
        own.contains("InvalidRequest") && own.contains("authorization"),
        "{own}"
    );
    // Nor can it have the echo cut into ranges or compressed, or claim a
    // client address: each refused before anything is sent.
    let tries = &outcome.report.checks[2].message;
    for (name, why) in [
        ("range", "the host reads whole bodies"),
        ("accept-encoding", "the host reads bodies unencoded"),
        (
            "x-forwarded-for",
            "forwarding headers are not a plugin's to set",
        ),
        (
            "x-real-ip",
            "client-address headers are not a plugin's to set",
        ),
    ] {
        assert!(
            tries.contains(&format!(
                "{name}: Err(HttpError::InvalidRequest(\"header '{name}' is refused: {why}\"))"
            )),
            "{tries}"
        );
    }
}

#[tokio::test]
async fn a_redirect_to_a_forbidden_origin_is_not_followed() {
    let runtime = support::runtime();
    let plugin = support::plugin_from(&runtime, hostile::REDIRECT).await;
    let allowed = preflight_emulators::probe::ProbeServer::start(support::loopback())
        .await
        .unwrap();
    let forbidden = preflight_emulators::probe::ProbeServer::start(support::loopback())
        .await
        .unwrap();
    let mut config = support::xero_config(&allowed.url());
    config.settings = serde_json::json!({ "target": format!("{}/echo", forbidden.url()) });
    let outcome = plugin
        .validate(&support::job(false), &config)
        .await
        .unwrap();

    assert_eq!(
        outcome.report.checks[0].message, "302",
        "the redirect reaches the plugin as it is"
    );
    let follow = &outcome.report.checks[1];
    assert!(
        follow.message.contains("Denied(") && follow.message.contains("is not granted"),
        "{}",
        follow.message
    );
    assert!(
        forbidden.requests().is_empty(),
        "no request ever reached the forbidden origin"
    );
    assert_eq!(allowed.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_plugins_running_alongside_leave_normal_verdicts_unchanged() {
    let runtime = support::runtime();
    let xero = std::sync::Arc::new(support::xero_plugin(&runtime).await);
    let good = support::xero_emulator(&[]).await;
    let bad = support::xero_emulator(&[preflight_emulators::xero::Scenario::AccountsMissing]).await;
    let (good_config, bad_config) = (
        support::xero_config(&good.url()),
        support::xero_config(&bad.url()),
    );
    let limits = preflight::Limits {
        wall_time: std::time::Duration::from_millis(500),
        ..preflight::Limits::default()
    };
    let mut hostile_runs = tokio::task::JoinSet::new();
    for path in [
        hostile::INFINITE_LOOP,
        hostile::MEMORY_HOG,
        hostile::STACK_OVERFLOW,
        hostile::HUGE_REPORT,
        hostile::LOG_FLOOD,
        hostile::PANIC,
        hostile::FORBIDDEN_ORIGIN,
    ] {
        let plugin = support::plugin_from(&runtime, path).await;
        let (config, limits) = (good_config.clone(), limits.clone());
        hostile_runs.spawn(async move {
            for _ in 0..3 {
                let _ = plugin
                    .validate_with(&support::job(false), &config, &limits)
                    .await;
            }
        });
    }
    let mut normal_runs = tokio::task::JoinSet::new();
    for n in 0..24 {
        let (xero, config) = (
            std::sync::Arc::clone(&xero),
            if n % 2 == 0 {
                good_config.clone()
            } else {
                bad_config.clone()
            },
        );
        normal_runs.spawn(async move {
            (
                n,
                xero.validate(&support::job(false), &config)
                    .await
                    .map(|o| o.verdict),
            )
        });
    }
    for (n, verdict) in normal_runs.join_all().await {
        let verdict = verdict.expect("a normal validation never faults");
        let expected = if n % 2 == 0 {
            None
        } else {
            Some(preflight::FailureReason::MissingConfiguration)
        };
        assert_eq!(verdict.reason(), expected, "validation {n}: {verdict:?}");
    }
    hostile_runs.join_all().await;
}

#[tokio::test]
async fn credentials_only_go_to_origins_the_manifest_declares() {
    let runtime = support::runtime();
    let xero = support::xero_plugin(&runtime).await;
    assert_eq!(
        xero.limits().requests,
        25,
        "the manifest asks for fewer requests than the ceiling"
    );
    assert_eq!(xero.limits().memory_bytes, 32 << 20);
    let mut config = support::xero_config("https://attacker.example.com");
    config.credentials =
        preflight_runtime::config::Credentials::Bearer(preflight_runtime::config::Secret::new("t"));
    let error = xero
        .validate(&support::job(false), &config)
        .await
        .expect_err("refused before running");
    match error.fault {
        Fault::NotGranted(message) => assert!(
            message.contains("https://attacker.example.com:443")
                && message.contains("https://api.xero.com:443"),
            "{message}"
        ),
        other => panic!("expected NotGranted, got {other:?}"),
    }

    // Without the operator's consent, not even a loopback emulator.
    let strict = preflight::Runtime::new(preflight::RuntimeOptions {
        max_instances: 4,
        ..preflight::RuntimeOptions::default()
    })
    .unwrap();
    let xero =
        preflight::bundled::load_artifact(&strict, preflight::bundled::find("xero").unwrap())
            .await
            .unwrap();
    let emulator = support::xero_emulator(&[]).await;
    let error = xero
        .validate(&support::job(false), &support::xero_config(&emulator.url()))
        .await
        .expect_err("loopback http needs consent");
    assert!(matches!(error.fault, Fault::NotGranted(_)), "{error}");
    assert!(emulator.requests().is_empty());
}

#[tokio::test]
async fn a_manifest_that_does_not_describe_the_component_is_refused() {
    let runtime = support::runtime();
    let dir = support::temp_dir("manifest");
    let wasm = dir.join("impostor.wasm");
    std::fs::copy(hostile::PANIC, &wasm).unwrap();
    std::fs::write(
        dir.join("impostor.toml"),
        "name = \"xero\"\nversion = \"0.1.0\"\naccountingSystem = \"xero\"\nwit = \"preflight:plugin@0.2.0\"\nallowedOrigins = [\"https://api.xero.com\"]\n",
    )
    .unwrap();
    let error = preflight::bundled::load(
        &runtime,
        wasm.to_str().unwrap(),
        preflight::bundled::ManifestRule::Required,
    )
    .await
    .expect_err("an impostor is refused");
    assert!(error.to_string().contains("manifest mismatch: the manifest's name is 'xero' but the component says 'hostile-panic'"), "{error}");

    std::fs::remove_file(dir.join("impostor.toml")).unwrap();
    let error = preflight::bundled::load(
        &runtime,
        wasm.to_str().unwrap(),
        preflight::bundled::ManifestRule::Required,
    )
    .await
    .expect_err("serving requires a manifest");
    assert!(
        error.to_string().contains("no manifest beside it"),
        "{error}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn oauth(
    emulator_url: &str,
    refresh_token: &str,
) -> std::sync::Arc<preflight_runtime::config::OAuth> {
    use preflight_runtime::config::Secret;
    std::sync::Arc::new(preflight_runtime::config::OAuth::new(
        url::Url::parse(&format!("{emulator_url}/connect/token")).unwrap(),
        "preflight-client".to_owned(),
        Secret::new("client-secret-value"),
        Secret::new(preflight_emulators::xero::DEMO_ACCESS_TOKEN),
        Secret::new(refresh_token),
    ))
}

#[tokio::test]
async fn an_expired_oauth_token_is_refreshed_once_transparently() {
    let runtime = support::runtime();
    let xero = support::xero_plugin(&runtime).await;
    let emulator =
        support::xero_emulator(&[preflight_emulators::xero::Scenario::TokenExpired]).await;
    let credentials = oauth(
        &emulator.url(),
        preflight_emulators::xero::DEMO_REFRESH_TOKEN,
    );
    let mut config = support::xero_config(&emulator.url());
    config.credentials =
        preflight_runtime::config::Credentials::OAuth2(std::sync::Arc::clone(&credentials));

    let outcome = xero.validate(&support::job(false), &config).await.unwrap();
    assert!(outcome.verdict.proceeds(), "{:?}", outcome.verdict);
    let refreshes = |emulator: &preflight_emulators::xero::XeroEmulator| {
        emulator
            .requests()
            .iter()
            .filter(|r| r.path == "/connect/token")
            .count()
    };
    assert_eq!(refreshes(&emulator), 1);
    assert_eq!(
        credentials.access_token().expose(),
        "xero-refreshed-access-token-1",
        "the new token is kept for the company"
    );
    let printed = serde_json::to_string(&outcome).unwrap();
    assert!(
        !printed.contains("xero-refreshed-access-token-1") && !printed.contains("rotated-refresh"),
        "{printed}"
    );

    // The next validation uses the refreshed token: no second refresh.
    let outcome = xero.validate(&support::job(false), &config).await.unwrap();
    assert!(outcome.verdict.proceeds());
    assert_eq!(refreshes(&emulator), 1);
}

#[tokio::test]
async fn a_refresh_that_fails_leaves_the_expiry_to_report() {
    let runtime = support::runtime();
    let xero = support::xero_plugin(&runtime).await;
    let emulator =
        support::xero_emulator(&[preflight_emulators::xero::Scenario::TokenExpired]).await;
    let mut config = support::xero_config(&emulator.url());
    config.credentials = preflight_runtime::config::Credentials::OAuth2(oauth(
        &emulator.url(),
        "a-revoked-refresh-token",
    ));
    let outcome = xero.validate(&support::job(false), &config).await.unwrap();
    assert_eq!(
        outcome.verdict.reason(),
        Some(preflight::FailureReason::AccountingSystemAuthenticationFailure)
    );
    assert!(
        outcome
            .verdict
            .message()
            .unwrap()
            .starts_with("Reconnect Xero: the connection expired on")
    );
    assert_eq!(
        emulator
            .requests()
            .iter()
            .filter(|r| r.path == "/connect/token")
            .count(),
        1,
        "one attempt only"
    );
}

#[tokio::test]
async fn the_operator_can_narrow_a_plugins_origins_but_not_widen_them() {
    use preflight_runtime::manifest::OriginPattern;
    let runtime = support::runtime();
    let emulator = support::xero_emulator(&[]).await;
    let config = support::xero_config(&emulator.url());
    let artifact = preflight::bundled::find("xero").unwrap();

    let mut narrowed = preflight::bundled::load_artifact(&runtime, artifact)
        .await
        .unwrap();
    narrowed.narrow_origins(vec![OriginPattern::parse("https://api.xero.com").unwrap()]);
    let error = narrowed
        .validate(&support::job(false), &config)
        .await
        .expect_err("outside the operator's list");
    assert!(
        error
            .to_string()
            .contains("outside the operator's allow-list"),
        "{error}"
    );
    assert!(emulator.requests().is_empty());

    let mut listed = preflight::bundled::load_artifact(&runtime, artifact)
        .await
        .unwrap();
    listed.narrow_origins(vec![OriginPattern::parse(&emulator.url()).unwrap()]);
    assert!(
        listed
            .validate(&support::job(false), &config)
            .await
            .unwrap()
            .verdict
            .proceeds()
    );

    // Listing an origin the manifest does not declare grants nothing.
    let mut widened = preflight::bundled::load_artifact(&runtime, artifact)
        .await
        .unwrap();
    widened.narrow_origins(vec![
        OriginPattern::parse("https://evil.example.com").unwrap(),
    ]);
    let mut elsewhere = support::xero_config("https://evil.example.com");
    elsewhere.credentials = preflight_runtime::config::Credentials::None;
    let error = widened
        .validate(&support::job(false), &elsewhere)
        .await
        .expect_err("the manifest still rules");
    assert!(
        error
            .to_string()
            .contains("not among the origins its manifest allows"),
        "{error}"
    );
}

#[tokio::test]
async fn a_granted_name_resolving_to_an_internal_address_is_denied_per_connection() {
    let runtime = support::runtime();
    let plugin = support::xero_plugin(&runtime).await;
    // The Xero plugin is granted https://api.xero.com; the test answers that
    // name itself.
    let config = support::xero_config("https://api.xero.com");
    let first_exchange = async |address: &str| {
        runtime
            .resolver()
            .pin("api.xero.com", vec![address.parse().unwrap()]);
        let outcome = plugin
            .validate(&support::job(false), &config)
            .await
            .expect("a denied request is not a fault");
        outcome.exchanges[0].failure.clone()
    };
    for (address, kind) in [
        ("127.0.0.1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("10.0.0.1", "private"),
        ("::1", "loopback"),
    ] {
        let failure = first_exchange(address).await;
        assert_eq!(
            failure,
            Some(Failure::Denied(format!(
                "api.xero.com resolves to {address}, a {kind} address no plugin may reach unless the operator grants it (sandbox.allowedAddresses)"
            ))),
            "{address}"
        );
    }
    // Rebinding: a public address first (nothing listens there, so the
    // connection fails, but it is not denied), an internal one at the next
    // request: the guard runs per connection, not once per name.
    let public = first_exchange("192.88.99.1").await;
    assert!(
        !matches!(public, Some(Failure::Denied(_))),
        "a public address is not denied: {public:?}"
    );
    let rebound = first_exchange("10.0.0.1").await;
    assert!(
        matches!(&rebound, Some(Failure::Denied(text)) if text.contains("10.0.0.1")),
        "{rebound:?}"
    );
}

#[tokio::test]
async fn oversized_requests_are_refused_before_anything_is_sent_and_counted() {
    let runtime = support::runtime();
    let plugin = support::plugin_from(&runtime, hostile::BIG_REQUEST).await;
    let probe = preflight_emulators::probe::ProbeServer::start(support::loopback())
        .await
        .unwrap();
    let limit = preflight_runtime::Limits::default().request_bytes;
    let send = async |settings: serde_json::Value| {
        let mut config = support::xero_config(&probe.url());
        config.settings = settings;
        let outcome = plugin
            .validate(&support::job(false), &config)
            .await
            .expect("a refused request is not a fault");
        outcome.report.checks[0].message.clone()
    };
    let refused = send(serde_json::json!({ "bytes": limit + 1 })).await;
    assert!(
        refused.contains(&format!(
            "InvalidRequest(\"the body is {} bytes, over the request-body limit of {limit} bytes\")",
            limit + 1
        )),
        "{refused}"
    );
    // 63 of its own with the SDK's `accept` and the content type: one over.
    let refused = send(serde_json::json!({ "bytes": 10, "headers": 63 })).await;
    assert!(
        refused.contains("65 headers, over the limit of 64"),
        "{refused}"
    );
    assert!(probe.requests().is_empty(), "nothing was sent");
    let counted = runtime.refusals().snapshot();
    assert_eq!(
        counted,
        vec![((plugin.label().to_owned(), "invalid-request"), 2)],
        "both refusals are counted for the plugin"
    );
    // Exactly the limit, with 64 headers, goes through.
    let answered = send(serde_json::json!({ "bytes": limit, "headers": 62 })).await;
    assert_eq!(answered, "answered 200");
    assert_eq!(probe.requests().len(), 1);
    // A response encoded without being asked never reaches the plugin: the
    // host reads bodies unencoded, so redaction sees what the plugin would.
    let encoded = send(serde_json::json!({ "bytes": 10, "path": "encoded" })).await;
    assert!(
        encoded.contains("the response came encoded as 'gzip', which was not asked for"),
        "{encoded}"
    );
}
