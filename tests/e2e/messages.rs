//! Every message that can reach Pleo, kept in reviewed snapshot files: for
//! each bundled plugin, every scenario of its emulator (with and without
//! vendor bookkeeping) and the configurations that go wrong before any
//! request (no company selected, unusable settings, nothing listening), run
//! through the real component; and the host's own verdicts (no
//! configuration, no plugin for the system, a plugin fault) through the real
//! runner and the Pleo emulator.
//!
//! Each file under `tests/e2e/messages/` lists, case by case, the verdict,
//! the rule that decided, the `failureReasonType`, the finance user's
//! message (the job's `failureReason`) and the operator's hint. A change to
//! any of them fails the test with a diff until the file is rewritten with
//! `PREFLIGHT_UPDATE_SNAPSHOTS=1` and the change is reviewed with the code.
//!
//! Every text of every report (passed checks included) is also held to the
//! rules for numbers and plurals (`1 seconds`, `3 account`), and every
//! finance user's message to plain words: no JSON positions, no code quoting,
//! no HTTP requests.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use preflight::{IntegrationConfig, Limits, Outcome, Plugin, Verdict};
use preflight_emulators::business_central::{self, BusinessCentralConfig, BusinessCentralEmulator};
use preflight_emulators::fortnox::{self, FortnoxConfig, FortnoxEmulator};
use preflight_emulators::quickbooks::{self, QuickBooksConfig, QuickBooksEmulator};
use preflight_emulators::xero::{self, XeroEmulator};
use rstest::rstest;

use crate::support;

/// The variable that makes the test rewrite the snapshot files.
const UPDATE: &str = "PREFLIGHT_UPDATE_SNAPSHOTS";

/// The directory of the snapshot files, `tests/e2e/messages/`.
fn snapshots() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the CLI crate lives in the workspace root")
        .join("tests/e2e/messages")
}

/// The command that rewrites the snapshot files.
const UPDATE_COMMAND: &str = "PREFLIGHT_UPDATE_SNAPSHOTS=1 flock /tmp/preflight-cargo.lock \
                              cargo nextest run -p preflight-cli --test e2e messages";

/// A bundled plugin and its emulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    Xero,
    QuickBooks,
    Fortnox,
    BusinessCentral,
}

impl System {
    /// The plugin's name, which is also its accounting system and the
    /// directory of its example under `examples/`.
    pub fn plugin(self) -> &'static str {
        match self {
            System::Xero => "xero",
            System::QuickBooks => "quickbooks",
            System::Fortnox => "fortnox",
            System::BusinessCentral => "business-central",
        }
    }

    /// The names of every scenario of the emulator, as `--scenario` takes
    /// them.
    pub fn scenarios(self) -> Vec<&'static str> {
        match self {
            System::Xero => xero::Scenario::ALL.iter().map(|s| s.name()).collect(),
            System::QuickBooks => quickbooks::Scenario::ALL.iter().map(|s| s.name()).collect(),
            System::Fortnox => fortnox::Scenario::ALL.iter().map(|s| s.name()).collect(),
            System::BusinessCentral => business_central::Scenario::ALL
                .iter()
                .map(|s| s.name())
                .collect(),
        }
    }

    /// `examples/<plugin>/config.json`, the configuration a user starts
    /// from, pointed at `base_url`.
    pub fn example_config(self, base_url: &str) -> IntegrationConfig {
        let path = format!(
            "{}/../examples/{}/config.json",
            env!("CARGO_MANIFEST_DIR"),
            self.plugin()
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut json: serde_json::Value = serde_json::from_str(&text).expect("example is JSON");
        json["baseUrl"] = serde_json::json!(base_url);
        IntegrationConfig::from_json(&json.to_string())
            .unwrap_or_else(|error| panic!("{path}: {error}"))
    }
}

/// A running emulator of one of the systems.
pub enum Emulator {
    Xero(XeroEmulator),
    QuickBooks(QuickBooksEmulator),
    Fortnox(FortnoxEmulator),
    BusinessCentral(BusinessCentralEmulator),
}

impl Emulator {
    /// An emulator of `system` on a free loopback port, in the scenario
    /// named `scenario` (none: the happy path); `slow` outlasts the tests'
    /// request timeout.
    pub async fn start(system: System, scenario: Option<&str>) -> Emulator {
        let slow_delay = support::REQUEST_TIMEOUT * 4;
        fn parsed<S: std::str::FromStr<Err = String>>(scenario: Option<&str>) -> Vec<S> {
            scenario
                .map(|name| name.parse().expect("a scenario of the emulator"))
                .into_iter()
                .collect()
        }
        match system {
            System::Xero => Emulator::Xero(support::xero_emulator(&parsed(scenario)).await),
            System::QuickBooks => Emulator::QuickBooks(
                QuickBooksEmulator::start(
                    QuickBooksConfig {
                        scenarios: parsed(scenario),
                        slow_delay,
                        ..QuickBooksConfig::default()
                    },
                    support::loopback(),
                )
                .await
                .expect("emulator starts"),
            ),
            System::Fortnox => Emulator::Fortnox(
                FortnoxEmulator::start(
                    FortnoxConfig {
                        scenarios: parsed(scenario),
                        slow_delay,
                        ..FortnoxConfig::default()
                    },
                    support::loopback(),
                )
                .await
                .expect("emulator starts"),
            ),
            System::BusinessCentral => Emulator::BusinessCentral(
                BusinessCentralEmulator::start(
                    BusinessCentralConfig {
                        scenarios: parsed(scenario),
                        slow_delay,
                        ..BusinessCentralConfig::default()
                    },
                    support::loopback(),
                )
                .await
                .expect("emulator starts"),
            ),
        }
    }

    /// The base URL a company's configuration names (for Business Central
    /// the environment root).
    pub fn base_url(&self) -> String {
        match self {
            Emulator::Xero(emulator) => emulator.url(),
            Emulator::QuickBooks(emulator) => emulator.url(),
            Emulator::Fortnox(emulator) => emulator.url(),
            Emulator::BusinessCentral(emulator) => emulator.environment_url(),
        }
    }

    /// Stops the emulator.
    pub async fn shutdown(self) {
        match self {
            Emulator::Xero(emulator) => emulator.shutdown().await,
            Emulator::QuickBooks(emulator) => emulator.shutdown().await,
            Emulator::Fortnox(emulator) => emulator.shutdown().await,
            Emulator::BusinessCentral(emulator) => emulator.shutdown().await,
        }
    }
}

/// What a case changes in the example configuration, beyond the emulator's
/// scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    /// The example as it is.
    Example,
    /// No company (tenant, realm) selected.
    NoCompany,
    /// A setting the plugin does not know.
    UnknownSetting,
    /// The required `accounts` left out.
    MissingSetting,
    /// A blank expense account.
    BlankAccount,
    /// The emulator stopped before validating: nothing listens.
    NothingListening,
}

/// One case of a plugin's snapshot.
#[derive(Debug, Clone)]
struct Case {
    /// The heading: the scenario's name, or what the setup changes.
    name: String,
    scenario: Option<&'static str>,
    setup: Setup,
}

/// Every case of `system`: the happy path, each scenario, then the setups
/// that fail before any scenario matters.
fn cases(system: System) -> Vec<Case> {
    let mut cases = vec![Case {
        name: "happy-path".to_owned(),
        scenario: None,
        setup: Setup::Example,
    }];
    cases.extend(system.scenarios().into_iter().map(|scenario| Case {
        name: format!("scenario {scenario}"),
        scenario: Some(scenario),
        setup: Setup::Example,
    }));
    for (name, setup) in [
        ("no company selected", Setup::NoCompany),
        ("setting unknown to the plugin", Setup::UnknownSetting),
        ("setting accounts missing", Setup::MissingSetting),
        ("setting accounts.expenses blank", Setup::BlankAccount),
        ("nothing listening at the base URL", Setup::NothingListening),
    ] {
        cases.push(Case {
            name: name.to_owned(),
            scenario: None,
            setup,
        });
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

/// Runs `case` with and without vendor bookkeeping.
async fn run_case(system: System, plugin: &Plugin, case: &Case) -> [Outcome; 2] {
    let emulator = Emulator::start(system, case.scenario).await;
    let mut config = system.example_config(&emulator.base_url());
    match case.setup {
        Setup::Example => {}
        Setup::NoCompany => config.tenant_id = None,
        Setup::UnknownSetting => config.settings["unexpected"] = serde_json::json!(true),
        Setup::MissingSetting => {
            config
                .settings
                .as_object_mut()
                .expect("settings are an object")
                .remove("accounts");
        }
        Setup::BlankAccount => config.settings["accounts"]["expenses"] = serde_json::json!(" "),
        Setup::NothingListening => {}
    }
    if case.setup == Setup::NothingListening {
        emulator.shutdown().await;
        let outcomes = validate_both(plugin, &config).await;
        return outcomes;
    }
    let outcomes = validate_both(plugin, &config).await;
    emulator.shutdown().await;
    outcomes
}

async fn validate_both(plugin: &Plugin, config: &IntegrationConfig) -> [Outcome; 2] {
    let mut outcomes = Vec::with_capacity(2);
    for vendors in [false, true] {
        let outcome = plugin
            .validate(&support::job(vendors), config)
            .await
            .unwrap_or_else(|error| panic!("a bundled plugin never faults: {error}"));
        outcomes.push(outcome);
    }
    outcomes.try_into().expect("two outcomes")
}

/// The lines a verdict renders to: the verdict, the rule, the reason, the
/// message and the hint of the deciding check.
fn render_verdict(outcome: &Outcome) -> String {
    let deciding = |rule: &str| {
        outcome
            .report
            .checks
            .iter()
            .find(|check| check.id == rule)
            .and_then(|check| check.hint.clone())
    };
    let mut out = String::new();
    match &outcome.verdict {
        Verdict::Proceed => out.push_str("- verdict: proceed\n"),
        Verdict::Fail {
            reason,
            message,
            check,
        } => {
            writeln!(out, "- verdict: fail (rule `{check}`)").unwrap();
            writeln!(out, "- failureReasonType: `{reason}`").unwrap();
            writeln!(out, "- message: {}", normalise(message)).unwrap();
            if let Some(hint) = deciding(check) {
                writeln!(out, "- hint: {}", normalise(&hint)).unwrap();
            }
        }
        Verdict::Retry {
            reason,
            message,
            check,
            retry_after,
        } => {
            let after = retry_after.map_or_else(
                || "no Retry-After".to_owned(),
                |seconds| format!("Retry-After {seconds} s"),
            );
            writeln!(out, "- verdict: retry (rule `{check}`, {after}), then fail").unwrap();
            writeln!(out, "- failureReasonType: `{reason}`").unwrap();
            writeln!(out, "- message: {}", normalise(message)).unwrap();
            if let Some(hint) = deciding(check) {
                writeln!(out, "- hint: {}", normalise(&hint)).unwrap();
            }
        }
    }
    out
}

/// The snapshot of `system`'s plugin, and what the lints found in any text
/// of any report.
async fn render_plugin(system: System) -> (String, Vec<String>) {
    let runtime = support::runtime();
    let plugin = support::bundled_plugin(&runtime, system.plugin()).await;
    let cases = cases(system);
    let outcomes =
        futures_util::future::join_all(cases.iter().map(|case| run_case(system, &plugin, case)))
            .await;

    let mut problems = Vec::new();
    let mut out = String::new();
    writeln!(
        out,
        "# Messages of the `{}` plugin\n\n\
         What the finance user reads in Pleo (`message`, the job's `failureReason`) and what \
         the operator reads in the decision log (`hint`) for every scenario of the emulator \
         and every configuration that fails before a request, with and without vendor \
         bookkeeping. Loopback ports, moments in time and ids made per request are shown as \
         `<port>`, `<time>` and `<id>`.\n\n\
         Generated by `tests/e2e/messages.rs`; after a reviewed change, rewrite it with\n\n\
         ```sh\n{UPDATE_COMMAND}\n```",
        system.plugin()
    )
    .unwrap();
    for (case, [without, with]) in cases.iter().zip(&outcomes) {
        for (vendors, outcome) in [(false, without), (true, with)] {
            let place = format!(
                "{} `{}`, {}",
                system.plugin(),
                case.name,
                if vendors {
                    "with vendor bookkeeping"
                } else {
                    "without vendor bookkeeping"
                }
            );
            problems.extend(lint_outcome(&place, outcome));
        }
        let (first, second) = (render_verdict(without), render_verdict(with));
        if first == second {
            write!(out, "\n## {}\n\n{first}", case.name).unwrap();
        } else {
            write!(
                out,
                "\n## {} (without vendor bookkeeping)\n\n{first}\n## {} (with vendor bookkeeping)\n\n{second}",
                case.name, case.name
            )
            .unwrap();
        }
    }
    (out, problems)
}

/// What the lints find in every check of `outcome`.
fn lint_outcome(place: &str, outcome: &Outcome) -> Vec<String> {
    let mut problems = Vec::new();
    for check in &outcome.report.checks {
        let at = format!("{place}, rule {}", check.id);
        problems.extend(lint_numbers(&check.message).map(|p| format!("{at}, message: {p}")));
        problems.extend(lint_plain(&check.message).map(|p| format!("{at}, message: {p}")));
        if let Some(hint) = &check.hint {
            problems.extend(lint_numbers(hint).map(|p| format!("{at}, hint: {p}")));
        }
    }
    problems
}

/// Nouns the messages count, singular and plural.
const NOUNS: &[(&str, &str)] = &[
    ("second", "seconds"),
    ("minute", "minutes"),
    ("hour", "hours"),
    ("day", "days"),
    ("year", "years"),
    ("account", "accounts"),
    ("company", "companies"),
    ("organisation", "organisations"),
    ("tenant", "tenants"),
    ("connection", "connections"),
    ("request", "requests"),
    ("attempt", "attempts"),
    ("time", "times"),
    ("item", "items"),
    ("job", "jobs"),
    ("code", "codes"),
    ("character", "characters"),
    ("letter", "letters"),
    ("digit", "digits"),
    ("byte", "bytes"),
    ("check", "checks"),
    ("rule", "rules"),
    ("series", "series"),
];

/// "1 seconds", "one accounts", "3 account", "0 request": a count and a
/// noun of [`NOUNS`] that disagree in number.
fn lint_numbers(text: &str) -> impl Iterator<Item = String> + '_ {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ',' | ';' | ':' | '.'))
        .filter(|word| !word.is_empty())
        .collect();
    let mut found = Vec::new();
    for pair in words.windows(2) {
        let (count, noun) = (pair[0], pair[1].to_ascii_lowercase());
        let one = matches!(
            count.to_ascii_lowercase().as_str(),
            "1" | "one" | "a" | "an"
        );
        let many = !one && !count.is_empty() && count.bytes().all(|b| b.is_ascii_digit());
        for &(singular, plural) in NOUNS {
            if singular == plural {
                continue;
            }
            if one && noun == plural {
                found.push(format!("'{count} {noun}' should be '{count} {singular}'"));
            }
            if many && noun == singular {
                found.push(format!("'{count} {noun}' should be '{count} {plural}'"));
            }
        }
    }
    found.into_iter()
}

/// Words a finance user has no use for: JSON positions, code quoting, raw
/// requests.
fn lint_plain(message: &str) -> impl Iterator<Item = String> + '_ {
    let mut found = Vec::new();
    let lower = message.to_ascii_lowercase();
    if let Some(at) = lower.find(" at line ")
        && lower[at..].contains(" column ")
    {
        found.push(format!("a JSON position: '{}'", &message[at..]));
    }
    if message.contains('`') {
        found.push("code quoting with backticks".to_owned());
    }
    for request in ["GET /", "POST /", "HTTP/"] {
        if message.contains(request) {
            found.push(format!("a raw request ('{request}')"));
        }
    }
    found.into_iter()
}

/// The fixed ids of the emulators' demo companies, which the texts may name
/// and the snapshots keep; any other id is made per request.
const KEPT_IDS: &[&str] = &[
    xero::DEMO_TENANT_ID,
    business_central::DEMO_TENANT_ID,
    business_central::DEMO_COMPANY_ID,
];

/// Loopback ports, moments in time and ids made per request (correlation
/// ids, problem instances), which change from run to run.
fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut at = 0;
    while at < chars.len() {
        if let Some(len) = moment_at(&chars[at..]) {
            out.push_str("<time>");
            at += len;
            continue;
        }
        if shape_at(&chars, at, "hhhhhhhh-hhhh-hhhh-hhhh-hhhhhhhhhhhh")
            && !chars.get(at + 36).is_some_and(char::is_ascii_hexdigit)
            && (at == 0 || !chars[at - 1].is_ascii_hexdigit())
        {
            let id: String = chars[at..at + 36].iter().collect();
            if KEPT_IDS.iter().any(|kept| kept.eq_ignore_ascii_case(&id)) {
                out.push_str(&id);
            } else {
                out.push_str("<id>");
            }
            at += 36;
            continue;
        }
        let rest: String = chars[at..].iter().take(10).collect();
        if rest.starts_with("127.0.0.1:") {
            out.push_str("127.0.0.1:<port>");
            at += 10;
            while at < chars.len() && chars[at].is_ascii_digit() {
                at += 1;
            }
            continue;
        }
        out.push(chars[at]);
        at += 1;
    }
    out
}

/// The length of a moment at the start of `chars`: `MM/DD/YYYY hh:mm:ss`,
/// `YYYY-MM-DD at hh:mm:ss`, or `YYYY-MM-DDThh:mm:ss` with fractions and
/// offset.
fn moment_at(chars: &[char]) -> Option<usize> {
    let shape = |pattern: &str| shape_at(chars, 0, pattern);
    let mut len = if shape("dddd-dd-dd at dd:dd:dd") {
        22
    } else if shape("dd/dd/dddd dd:dd:dd") || shape("dddd-dd-ddTdd:dd:dd") {
        19
    } else {
        return None;
    };
    if chars.get(len) == Some(&'.') {
        len += 1;
        while chars.get(len).is_some_and(char::is_ascii_digit) {
            len += 1;
        }
    }
    match chars.get(len) {
        Some('Z') => len += 1,
        Some('+' | '-') if shape_at(chars, len + 1, "dd:dd") => len += 6,
        _ => {}
    }
    Some(len)
}

/// Whether `chars` from `from` on have the shape `pattern`: `d` a digit, `h`
/// a hexadecimal digit, anything else itself.
fn shape_at(chars: &[char], from: usize, pattern: &str) -> bool {
    chars.get(from..from + pattern.len()).is_some_and(|part| {
        pattern.chars().zip(part).all(|(p, c)| match p {
            'd' => c.is_ascii_digit(),
            'h' => c.is_ascii_hexdigit(),
            other => other == *c,
        })
    })
}

/// Compares `rendered` with the committed snapshot `name.md`, or rewrites it
/// under [`UPDATE`]; `Err` holds a readable diff.
fn compare(name: &str, rendered: &str) -> Result<(), String> {
    let path = snapshots().join(format!("{name}.md"));
    if std::env::var(UPDATE).as_deref() == Ok("1") {
        std::fs::create_dir_all(snapshots()).expect("create the snapshot directory");
        std::fs::write(&path, rendered).expect("write the snapshot");
        return Ok(());
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed == rendered {
        return Ok(());
    }
    Err(format!(
        "{} differs from what the code sends now (- committed, + now):\n\n{}\n\
         If the change is meant, rewrite the file and review it with the change:\n\n    {UPDATE_COMMAND}\n",
        path.display(),
        diff(&committed, rendered)
    ))
}

/// A line diff of `old` and `new` (longest common subsequence), with one
/// line of context around each change.
fn diff(old: &str, new: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    let mut common = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            common[i][j] = if a[i] == b[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let mut lines = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            lines.push((' ', i + 1, a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || common[i + 1][j] >= common[i][j + 1]) {
            lines.push(('-', i + 1, a[i]));
            i += 1;
        } else {
            lines.push(('+', j + 1, b[j]));
            j += 1;
        }
    }
    let changed: Vec<bool> = lines.iter().map(|(kind, ..)| *kind != ' ').collect();
    let mut out = String::new();
    let mut skipped = false;
    for (at, (kind, number, line)) in lines.iter().enumerate() {
        let near = changed[at.saturating_sub(1)..(at + 2).min(lines.len())]
            .iter()
            .any(|c| *c);
        if near {
            writeln!(out, "{kind} {number:>4} | {line}").unwrap();
            skipped = false;
        } else if !skipped {
            out.push_str("  ...\n");
            skipped = true;
        }
    }
    out
}

/// Fails with every snapshot difference and lint problem at once.
fn report(differences: Vec<String>, problems: Vec<String>) {
    let mut failure = String::new();
    for difference in &differences {
        failure.push_str(difference);
        failure.push('\n');
    }
    if !problems.is_empty() {
        writeln!(
            failure,
            "{} problem(s) in the texts of the reports:",
            problems.len()
        )
        .unwrap();
        for problem in &problems {
            writeln!(failure, "- {problem}").unwrap();
        }
    }
    assert!(failure.is_empty(), "{failure}");
}

#[rstest]
#[case::xero(System::Xero)]
#[case::quickbooks(System::QuickBooks)]
#[case::fortnox(System::Fortnox)]
#[case::business_central(System::BusinessCentral)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_messages_match_the_reviewed_snapshot(#[case] system: System) {
    let (rendered, problems) = render_plugin(system).await;
    let difference = compare(system.plugin(), &rendered).err();
    report(difference.into_iter().collect(), problems);
}

/// A company of the host snapshot: what it is set up with in the runner.
#[derive(Debug, Clone, Copy)]
enum HostCase {
    /// Watched, without an integration configuration.
    NoConfiguration,
    /// Configured for an accounting system no plugin serves.
    UnsupportedSystem,
    /// Configured for Xero, served by a plugin that panics.
    PluginPanics,
}

impl HostCase {
    fn name(self) -> &'static str {
        match self {
            HostCase::NoConfiguration => "company without an integration configuration",
            HostCase::UnsupportedSystem => "company configured for an unsupported system (sage)",
            HostCase::PluginPanics => "plugin fault: the plugin panics",
        }
    }
}

/// The host's verdicts as the Pleo emulator stores them (`failureReason`,
/// `failureReasonType`), through the real runner: one job per
/// [`HostCase`]; the bundled plugins serve the first two, and the hostile
/// `panic` plugin serves Xero for the third.
async fn host_verdicts_through_the_runner() -> Vec<(HostCase, String, String)> {
    use preflight::metrics::Metrics;
    use preflight::registry::{Registry, RegistryOptions};

    let xero = support::xero_emulator(&[]).await;
    let runtime = support::runtime();
    let bundled = Registry::bundled(&runtime)
        .await
        .expect("bundled plugins load");
    let metrics = std::sync::Arc::new(Metrics::default());
    let panicking = std::sync::Arc::new(Registry::new(
        runtime.clone(),
        RegistryOptions {
            bundled: false,
            signatures: preflight::signature::SignaturePolicy {
                trusted: Vec::new(),
                allow_unsigned: true,
            },
            ..RegistryOptions::default()
        },
        metrics,
    ));
    let dir = support::temp_dir("host-messages");
    let component = dir.join("hostile-panic.wasm");
    std::fs::copy(preflight_artifacts::hostile::PANIC, &component).expect("copy the component");
    let manifest = format!(
        "name = \"hostile-panic\"\nversion = \"0.1.0\"\naccountingSystem = \"xero\"\n\
         wit = \"preflight:plugin@0.2.0\"\nallowedOrigins = [\"{}\"]\n",
        xero.url()
    );
    std::fs::write(dir.join("hostile-panic.toml"), manifest).expect("write the manifest");
    let change = panicking.load_file(&component).await;
    assert!(change.error.is_none(), "{change:?}");

    let mut verdicts = through_runner(
        bundled,
        &[HostCase::NoConfiguration, HostCase::UnsupportedSystem],
        &xero.url(),
    )
    .await;
    verdicts.extend(through_runner(panicking, &[HostCase::PluginPanics], &xero.url()).await);
    xero.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    verdicts
}

/// One job per case of `cases` through a runner whose plugins `registry`
/// holds, against a fresh Pleo emulator; what Pleo stored for each.
async fn through_runner(
    registry: std::sync::Arc<preflight::registry::Registry>,
    cases: &[HostCase],
    xero_url: &str,
) -> Vec<(HostCase, String, String)> {
    use preflight::metrics::Metrics;
    use preflight::pleo::{PleoAuth, PleoClient, RetryPolicy};
    use preflight::runner::{Handover, Runner, RunnerParts, RunnerSettings};
    use preflight_emulators::pleo::{self, JobStatus, PleoConfig, PleoEmulator, SeedJob};

    let pleo = PleoEmulator::start(PleoConfig::default(), support::loopback())
        .await
        .expect("Pleo emulator starts");
    let mut companies = BTreeMap::new();
    let mut polled = Vec::new();
    let mut jobs = Vec::new();
    for (n, &case) in cases.iter().enumerate() {
        let company = uuid::Uuid::from_u128(0x4000_8000_0000_0000_0000_0000_0000_0100 + n as u128);
        match case {
            HostCase::NoConfiguration => {}
            HostCase::UnsupportedSystem => {
                let mut config = support::xero_config(xero_url);
                config.accounting_system = "sage".to_owned();
                companies.insert(company, config);
            }
            HostCase::PluginPanics => {
                companies.insert(company, support::xero_config(xero_url));
            }
        }
        polled.push(company);
        let job = pleo.seed_job(SeedJob {
            company_id: company,
            vendor_based_bookkeeping: false,
            number_of_items: 2,
            is_interactive: true,
            status: JobStatus::Pending,
            expires_in: None,
        });
        jobs.push((case, job));
    }
    polled.sort();
    let store = preflight_store::Store::in_memory(preflight_store::Identity::default())
        .await
        .expect("store");
    let metrics = std::sync::Arc::new(Metrics::default());
    let companies = preflight::companies::Companies::with(
        store.clone(),
        &companies,
        std::sync::Arc::clone(&metrics),
    )
    .await
    .expect("companies");
    let runner = Runner::new(RunnerParts {
        pleo: PleoClient::new(
            url::Url::parse(&pleo.url()).expect("url"),
            PleoAuth::Bearer(preflight_runtime::config::Secret::new(pleo::DEMO_ORG_TOKEN)),
            RetryPolicy {
                attempts: 4,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(100),
                request_timeout: Duration::from_secs(5),
            },
        )
        .expect("Pleo client"),
        organisations: Default::default(),
        companies,
        polled,
        poll_interval: Duration::from_secs(60),
        registry,
        settings: RunnerSettings::default(),
        store,
        mask_fields: Vec::new(),
        handover: Handover::Record,
        metrics,
    });
    for _ in 0..3 {
        let started = runner.poll().await.unwrap_or(0);
        runner.wait_idle().await;
        if started == 0 {
            break;
        }
    }
    let verdicts = jobs
        .into_iter()
        .map(|(case, job)| {
            let stored = pleo.job(job).expect("the job exists");
            assert_eq!(stored["status"], "failed", "{case:?}: {stored}");
            let text = |field: &str| {
                stored[field]
                    .as_str()
                    .unwrap_or_else(|| panic!("{case:?}: no {field} in {stored}"))
                    .to_owned()
            };
            (case, text("failureReasonType"), text("failureReason"))
        })
        .collect();
    pleo.shutdown().await;
    verdicts
}

/// The hostile plugins that fault, each with the limits it runs into.
const FAULTS: &[(&str, &str)] = &[
    ("panic", preflight_artifacts::hostile::PANIC),
    ("infinite-loop", preflight_artifacts::hostile::INFINITE_LOOP),
    ("memory-hog", preflight_artifacts::hostile::MEMORY_HOG),
    (
        "stack-overflow",
        preflight_artifacts::hostile::STACK_OVERFLOW,
    ),
    ("huge-report", preflight_artifacts::hostile::HUGE_REPORT),
    ("log-flood", preflight_artifacts::hostile::LOG_FLOOD),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_messages_match_the_reviewed_snapshot() {
    let mut out = String::new();
    writeln!(
        out,
        "# Messages of the host\n\n\
         What the host itself sends to Pleo when no plugin decides: a company without an \
         integration configuration, one configured for a system no plugin serves, and a plugin \
         that faults (every kind of fault gets the same message; the operator reads the fault \
         in the decision log). The first three as the Pleo emulator stored them through the \
         real runner; the faults as `Plugin::validate` reports them, turned into the verdict the \
         runner sends. Settings a plugin refuses fail its `settings` rule (each plugin's file \
         shows them), and a transient verdict whose retries run out fails with its own \
         message; `serve` refuses unusable settings at load, to the operator.\n\n\
         Generated by `tests/e2e/messages.rs`; after a reviewed change, rewrite it with\n\n\
         ```sh\n{UPDATE_COMMAND}\n```"
    )
    .unwrap();
    let mut problems = Vec::new();
    for (case, reason, message) in host_verdicts_through_the_runner().await {
        problems.extend(lint_numbers(&message).map(|p| format!("{}: {p}", case.name())));
        problems.extend(lint_plain(&message).map(|p| format!("{}: {p}", case.name())));
        write!(
            out,
            "\n## {}\n\n- verdict: fail\n- failureReasonType: `{reason}`\n- message: {}\n",
            case.name(),
            normalise(&message)
        )
        .unwrap();
    }

    let runtime = support::runtime();
    let emulator = support::xero_emulator(&[]).await;
    let config = support::xero_config(&emulator.url());
    let limits = Limits {
        wall_time: Duration::from_millis(500),
        ..Limits::default()
    };
    for (name, path) in FAULTS {
        let plugin = support::plugin_from(&runtime, path).await;
        let error = plugin
            .validate_with(&support::job(false), &config, &limits)
            .await
            .expect_err("the hostile plugin faults");
        let verdict = error.verdict(plugin.info().system_name());
        let Verdict::Fail {
            reason,
            message,
            check,
        } = &verdict
        else {
            panic!("a fault fails the job: {verdict:?}");
        };
        problems.extend(lint_numbers(message).map(|p| format!("{name}: {p}")));
        problems.extend(lint_plain(message).map(|p| format!("{name}: {p}")));
        let fault = error.fault.to_string();
        problems.extend(lint_numbers(&fault).map(|p| format!("{name}, fault: {p}")));
        let kind = fault.split(':').next().unwrap_or_default();
        write!(
            out,
            "\n## plugin fault: {name}\n\n- verdict: fail (rule `{check}`)\n- failureReasonType: `{reason}`\n- message: {}\n- fault (operator): {}\n",
            normalise(message),
            normalise(kind)
        )
        .unwrap();
    }
    emulator.shutdown().await;
    let difference = compare("host", &out).err();
    report(difference.into_iter().collect(), problems);
}

#[test]
fn the_lints_catch_what_they_are_for() {
    let numbers = |text| lint_numbers(text).collect::<Vec<_>>();
    assert_eq!(
        numbers("try again in 1 seconds"),
        ["'1 seconds' should be '1 second'"]
    );
    assert_eq!(
        numbers("among 3 account (used for 1 accounts)"),
        [
            "'3 account' should be '3 accounts'",
            "'1 accounts' should be '1 account'"
        ]
    );
    assert!(numbers("25 requests every 5 seconds, in a second, 1 to 10 letters").is_empty());
    assert!(numbers("account 6991 (used for expenses); 1 voucher series").is_empty());

    let plain = |text| lint_plain(text).collect::<Vec<_>>();
    assert_eq!(plain("unknown field at line 1 column 7").len(), 1);
    assert_eq!(plain("unknown field `x`").len(), 1);
    assert_eq!(plain("404 on GET /companies").len(), 1);
    assert!(plain("Reconnect Xero, then export again.").is_empty());

    assert_eq!(
        normalise("expired at 09/24/2021 08:23:47 on http://127.0.0.1:4011/x"),
        "expired at <time> on http://127.0.0.1:<port>/x"
    );
    assert_eq!(
        normalise(
            "at 2026-11-25T09:00:00.123+01:00, then 2026-11-25, on 2026-11-25 at 10:00:00 UTC"
        ),
        "at <time>, then 2026-11-25, on <time> UTC"
    );
    assert_eq!(
        normalise(&format!(
            "CorrelationId: 4683d113-0db2-4582-abdf-84fafd97fa51, company {}",
            business_central::DEMO_COMPANY_ID
        )),
        format!(
            "CorrelationId: <id>, company {}",
            business_central::DEMO_COMPANY_ID
        )
    );

    let shown = diff("a\nb\nc\n", "a\nB\nc\n");
    assert!(
        shown.contains("-    2 | b") && shown.contains("+    2 | B"),
        "{shown}"
    );
}
