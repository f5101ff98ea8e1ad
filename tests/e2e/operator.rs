//! The operator file under bad values: every number out of its documented
//! range, every URL against its transport rule, wrong types and signs, run
//! through `serve` and `plugins list --config`: exit 2, the file and the
//! dotted field named, nothing started.

use std::process::Command;

use crate::serve::PREFLIGHT;
use crate::support;

const MAX: &str = "9223372036854775807";

/// `(section, line, field named in the error)`.
const CASES: &[(&str, &str, &str)] = &[
    ("pleo", "pollIntervalSecs = 0", "pleo.pollIntervalSecs"),
    ("pleo", "pollIntervalSecs = 86401", "pleo.pollIntervalSecs"),
    ("pleo", "pollIntervalSecs = MAX", "pleo.pollIntervalSecs"),
    ("pleo", "pollIntervalSecs = -1", "pleo.pollIntervalSecs"),
    ("pleo", "requestTimeoutMs = 0", "pleo.requestTimeoutMs"),
    ("pleo", "requestTimeoutMs = 99", "pleo.requestTimeoutMs"),
    ("pleo", "requestTimeoutMs = 120001", "pleo.requestTimeoutMs"),
    ("pleo", "requestTimeoutMs = MAX", "pleo.requestTimeoutMs"),
    (
        "pleo",
        "requestTimeoutMs = \"15000\"",
        "pleo.requestTimeoutMs",
    ),
    ("runner", "retryAttempts = 0", "runner.retryAttempts"),
    ("runner", "retryAttempts = 21", "runner.retryAttempts"),
    ("runner", "retryAttempts = MAX", "runner.retryAttempts"),
    ("runner", "retryAttempts = -3", "runner.retryAttempts"),
    ("runner", "retryAttempts = \"3\"", "runner.retryAttempts"),
    ("runner", "retryWindowSecs = 0", "runner.retryWindowSecs"),
    (
        "runner",
        "retryWindowSecs = 86401",
        "runner.retryWindowSecs",
    ),
    ("runner", "retryWindowSecs = MAX", "runner.retryWindowSecs"),
    ("runner", "retryDelayMs = 3600001", "runner.retryDelayMs"),
    ("runner", "retryDelayMs = MAX", "runner.retryDelayMs"),
    (
        "runner",
        "maxConcurrentJobs = 0",
        "runner.maxConcurrentJobs",
    ),
    (
        "runner",
        "maxConcurrentJobs = 10001",
        "runner.maxConcurrentJobs",
    ),
    (
        "runner",
        "maxConcurrentJobs = MAX",
        "runner.maxConcurrentJobs",
    ),
    (
        "runner",
        "detectionConcurrency = 0",
        "runner.detectionConcurrency",
    ),
    (
        "runner",
        "detectionConcurrency = 1025",
        "runner.detectionConcurrency",
    ),
    (
        "runner",
        "detectionConcurrency = MAX",
        "runner.detectionConcurrency",
    ),
    (
        "runner",
        "shutdownGraceSecs = 0",
        "runner.shutdownGraceSecs",
    ),
    (
        "runner",
        "shutdownGraceSecs = 3601",
        "runner.shutdownGraceSecs",
    ),
    (
        "runner",
        "shutdownGraceSecs = MAX",
        "runner.shutdownGraceSecs",
    ),
    (
        "runner",
        "handoverUrl = \"ftp://127.0.0.1/x\"",
        "runner.handoverUrl",
    ),
    (
        "runner",
        "handoverUrl = \"http://10.0.0.1/x\"",
        "runner.handoverUrl",
    ),
    ("runner", "handoverUrl = \"data:,x\"", "runner.handoverUrl"),
    (
        "runner",
        "handoverUrl = \"not a url\"",
        "runner.handoverUrl",
    ),
    ("runner", "handoverCommand = []", "runner.handoverCommand"),
    (
        "runner",
        "handoverSecret = \"whsec_AAAA\"",
        "runner.handoverSecret",
    ),
    ("store", "leaseSecs = 0", "store.leaseSecs"),
    ("store", "leaseSecs = 86401", "store.leaseSecs"),
    ("store", "leaseSecs = MAX", "store.leaseSecs"),
    ("store", "leaseSecs = -5", "store.leaseSecs"),
    ("store", "replicaId = \" \"", "store.replicaId"),
    ("plugins", "settleMs = 60001", "plugins.settleMs"),
    ("plugins", "settleMs = MAX", "plugins.settleMs"),
    (
        "decisionLog",
        "bodyBytes = 16777217",
        "decisionLog.bodyBytes",
    ),
    ("decisionLog", "bodyBytes = MAX", "decisionLog.bodyBytes"),
    (
        "decisionLog",
        "retentionDays = 36501",
        "decisionLog.retentionDays",
    ),
    (
        "decisionLog",
        "retentionDays = MAX",
        "decisionLog.retentionDays",
    ),
    (
        "decisionLog",
        "retentionDays = -1",
        "decisionLog.retentionDays",
    ),
    ("webhooks", "toleranceSecs = 0", "webhooks.toleranceSecs"),
    ("webhooks", "toleranceSecs = 3601", "webhooks.toleranceSecs"),
    ("webhooks", "toleranceSecs = MAX", "webhooks.toleranceSecs"),
    ("sandbox", "memoryMib = 0", "sandbox.memoryMib"),
    ("sandbox", "memoryMib = 4097", "sandbox.memoryMib"),
    ("sandbox", "memoryMib = MAX", "sandbox.memoryMib"),
    ("sandbox", "wallTimeMs = 0", "sandbox.wallTimeMs"),
    ("sandbox", "wallTimeMs = 99", "sandbox.wallTimeMs"),
    ("sandbox", "wallTimeMs = 600001", "sandbox.wallTimeMs"),
    ("sandbox", "wallTimeMs = MAX", "sandbox.wallTimeMs"),
    ("sandbox", "requests = 0", "sandbox.requests"),
    ("sandbox", "requests = 10001", "sandbox.requests"),
    ("sandbox", "requests = MAX", "sandbox.requests"),
    (
        "sandbox",
        "requestTimeoutMs = 0",
        "sandbox.requestTimeoutMs",
    ),
    (
        "sandbox",
        "requestTimeoutMs = 120001",
        "sandbox.requestTimeoutMs",
    ),
    (
        "sandbox",
        "requestTimeoutMs = MAX",
        "sandbox.requestTimeoutMs",
    ),
    ("sandbox", "responseBytes = 0", "sandbox.responseBytes"),
    (
        "sandbox",
        "responseBytes = 268435457",
        "sandbox.responseBytes",
    ),
    ("sandbox", "responseBytes = MAX", "sandbox.responseBytes"),
    ("sandbox", "reportBytes = 0", "sandbox.reportBytes"),
    ("sandbox", "reportBytes = 16777217", "sandbox.reportBytes"),
    ("sandbox", "requestBytes = 67108865", "sandbox.requestBytes"),
    ("sandbox", "requestBytes = -1", "sandbox.requestBytes"),
    ("plugins", "dir = \"no/such/dir\"", "plugins.dir"),
    (
        "plugins",
        "cacheDir = \"/proc/no/such\"",
        "plugins.cacheDir",
    ),
    ("sandbox", "logBytes = 0", "sandbox.logBytes"),
    ("sandbox", "logBytes = 16777217", "sandbox.logBytes"),
    (
        "sandbox",
        "allowedAddresses = [\"10.0.0.0/33\"]",
        "sandbox.allowedAddresses[0]",
    ),
];

/// Pleo base URLs that break the transport rule.
const PLEO_URLS: &[&str] = &[
    "http://10.0.0.1",
    "http://example.com",
    "data:text/plain,x",
    "ftp://127.0.0.1",
    "file:///etc/passwd",
];

/// A valid operator file with `line` added to `section` (and a Pleo base
/// URL of `pleo_url`).
fn file(pleo_url: &str, section: &str, line: &str) -> String {
    let line = line.replace("MAX", MAX);
    let mut sections = vec![
        (
            "pleo",
            format!("baseUrl = \"{pleo_url}\"\nauth = {{ type = \"apiKey\", key = \"k\" }}\n"),
        ),
        ("runner", String::new()),
        ("store", String::new()),
        ("plugins", String::new()),
        ("decisionLog", String::new()),
        (
            "webhooks",
            "secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n".to_owned(),
        ),
        ("sandbox", String::new()),
    ];
    let mut text = String::new();
    for (name, body) in &mut sections {
        if *name == section {
            body.push_str(&line);
            body.push('\n');
        }
        text.push_str(&format!("[{name}]\n{body}\n"));
    }
    text
}

/// Runs `command` with `--config` the file at `path`; asserts it exits 2,
/// naming the file and `field`, without starting anything.
fn refused(command: &[&str], path: &std::path::Path, field: &str, case: &str) {
    let mut child = Command::new(PREFLIGHT)
        .args(command)
        .arg("--config")
        .arg(path)
        .args(if command[0] == "serve" {
            &["--listen", "127.0.0.1:0"][..]
        } else {
            &[]
        })
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("preflight runs");
    // A file that loads would start `serve` for good: a bound, not a measure.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{} with {case}: still running", command.join(" "));
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(
        status.code(),
        Some(2),
        "{} with {case}: {stderr}",
        command.join(" ")
    );
    assert!(
        stderr.contains(&path.display().to_string()) && stderr.contains(field),
        "{} with {case}: the message names neither the file nor {field}: {stderr}",
        command.join(" ")
    );
}

#[test]
fn every_bad_operator_value_is_refused_at_load_naming_the_file_and_field() {
    let dir = support::temp_dir("operator-values");
    let mut cases = 0;
    let mut check = |text: String, field: &str, case: &str| {
        let path = dir.join(format!("case-{cases}.toml"));
        std::fs::write(&path, text).unwrap();
        refused(&["serve"], &path, field, case);
        refused(&["plugins", "list"], &path, field, case);
        cases += 1;
    };
    for (section, line, field) in CASES {
        check(file("http://127.0.0.1:9", section, line), field, line);
    }
    for url in PLEO_URLS {
        check(file(url, "runner", ""), "pleo.baseUrl", url);
    }
    // A company's accounting system, the same rule, at load.
    let company = "[[companies]]\ncompanyId = \"12abc3d4-e567-490e-9234-abc56e78fabc\"\naccountingSystem = \"xero\"\nbaseUrl = \"http://api.xero.com\"\n";
    check(
        file("http://127.0.0.1:9", "sandbox", "") + company,
        "companies[0]",
        "a plain-http company baseUrl",
    );
    // A token endpoint over plain http to a non-loopback host.
    let oauth = "[[companies]]\ncompanyId = \"12abc3d4-e567-490e-9234-abc56e78fabc\"\naccountingSystem = \"xero\"\nbaseUrl = \"https://api.xero.com\"\ncredentials = { type = \"oauth2\", accessToken = \"a\", refreshToken = \"r\", tokenUrl = \"http://identity.xero.com/connect/token\", clientId = \"c\", clientSecret = \"s\" }\n";
    check(
        file("http://127.0.0.1:9", "sandbox", "") + oauth,
        "companies[0] (company 12abc3d4-e567-490e-9234-abc56e78fabc): credentials.tokenUrl",
        "a plain-http token endpoint",
    );
    // Settings the plugin's validate-settings refuses: the file, the entry
    // and the field, in the settings' own terms (no position in an internal
    // document).
    let settings = "[[companies]]\ncompanyId = \"12abc3d4-e567-490e-9234-abc56e78fabc\"\naccountingSystem = \"xero\"\nbaseUrl = \"https://api.xero.com\"\ntenantId = \"t\"\ncredentials = { type = \"bearer\", token = \"x\" }\nsettings = { accounts = { expenses = 429 } }\n";
    check(
        file("http://127.0.0.1:9", "sandbox", "") + settings,
        "companies[0] (company 12abc3d4-e567-490e-9234-abc56e78fabc): settings.accounts.expenses: invalid type: integer `429`, expected a string",
        "settings the plugin refuses",
    );
    assert!(cases >= 60, "{cases} cases");
    // The same file with every value in range loads.
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        file("http://127.0.0.1:9", "sandbox", "memoryMib = 64"),
    )
    .unwrap();
    let output = Command::new(PREFLIGHT)
        .args(["plugins", "list", "--config"])
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_plain_http_pleo_url_given_on_the_command_line_is_refused_too() {
    let dir = support::temp_dir("operator-pleo-url");
    let path = dir.join("preflight.toml");
    std::fs::write(&path, file("http://127.0.0.1:9", "runner", "")).unwrap();
    let output = Command::new(PREFLIGHT)
        .args(["serve", "--config"])
        .arg(&path)
        .args(["--pleo-url", "http://10.0.0.1", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--pleo-url") && stderr.contains("use https"),
        "{stderr}"
    );
}

#[test]
fn a_plain_http_pleo_url_that_is_not_loopback_never_receives_a_byte() {
    // A listener on loopback, reached through an address the transport rule
    // does not count as loopback (IPv4-mapped IPv6): were the rule not
    // applied at load, `serve` would connect to it and send its API key.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = format!("http://[::ffff:127.0.0.1]:{port}");
    let dir = support::temp_dir("operator-mapped-pleo-url");
    let path = dir.join("preflight.toml");
    std::fs::write(&path, file(&url, "runner", "")).unwrap();
    refused(&["serve"], &path, "pleo.baseUrl", &url);
    refused(&["plugins", "list"], &path, "pleo.baseUrl", &url);
    let path = dir.join("loopback.toml");
    std::fs::write(&path, file("http://127.0.0.1:9", "runner", "")).unwrap();
    let output = Command::new(PREFLIGHT)
        .args(["serve", "--config"])
        .arg(&path)
        .args(["--pleo-url", &url, "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    match listener.accept() {
        Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the listener was reached: {other:?}"),
    }
}
