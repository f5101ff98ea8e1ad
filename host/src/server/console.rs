//! The operator console: server-rendered pages under `/console`, served by
//! `serve` (and `demo` while it runs), with no script and nothing fetched
//! from elsewhere, usable with a keyboard and at phone width.
//!
//! - `/console`: validations of the last 24 hours by hour and verdict, per
//!   system, and their failures by reason; the companies failing most;
//!   plugin versions by state; the store's and Pleo's health;
//! - `/console/decisions`: the decision log with the filters of `preflight
//!   outcomes`, newest first, paged;
//! - `/console/jobs/{job}`: the journal as a timeline, every validation with
//!   plugin version and digest, checks with message and hint, every exchange
//!   (bodies as the log keeps them: masked), and a replay button;
//! - `/console/plugins`: versions and states per system with rollback,
//!   shadow, canary, promote and discard, and the shadow's comparisons;
//! - `/console/companies`: each configuration's status.
//!
//! With `server.token` set, the console asks for it once (`/console/login`)
//! and keeps a session cookie derived from it (HMAC, HttpOnly,
//! SameSite=Strict); changes are posted forms, refused when their `Origin`
//! is another site. Without a token the pages are open and every change is
//! refused, as in the API.

mod page;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Form, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hmac::Mac as _;

use self::page::{action, escape, frame, query_value, table, time, verdict};
use super::ApiState;
use preflight_store::DecisionQuery;

/// The session cookie's name.
const COOKIE: &str = "preflight_console";
/// Decisions per page.
const PAGE: u32 = 50;

/// The console's routes, to merge into the server's router.
pub fn router(state: ApiState) -> Router<ApiState> {
    Router::new()
        .route("/console", get(overview))
        .route("/console/decisions", get(decisions))
        .route("/console/jobs/{job}", get(job))
        .route("/console/jobs/{job}/replay", post(replay))
        .route("/console/plugins", get(plugins))
        .route("/console/plugins/{system}/{change}", post(change_plugin))
        .route("/console/companies", get(companies))
        .route_layer(axum::middleware::from_fn_with_state(state, signed_in))
        .route("/console/login", get(login_form).post(login))
}

/// The session value of `token`: an HMAC of it, so the cookie is never the
/// token itself.
fn session(token: &str) -> String {
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(token.as_bytes()).expect("HMAC takes any key");
    mac.update(b"preflight-console-session-v1");
    preflight_runtime::plugin::hex(&mac.finalize().into_bytes())
}

/// The session cookie's value in `headers`, if any.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then(|| value.to_owned())
        })
}

/// Lets a request in when no token is configured or the session cookie is
/// the token's; otherwise to the sign-in page. A posted change must come
/// from this site.
async fn signed_in(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    if let Some(token) = &state.token {
        let expected = session(token.expose());
        if !cookie(request.headers()).is_some_and(|value| super::auth::same(&value, &expected)) {
            return Redirect::to("/console/login").into_response();
        }
    }
    if request.method() == axum::http::Method::POST && !same_site(request.headers()) {
        return refusal(StatusCode::FORBIDDEN, "This change came from another site.");
    }
    next.run(request).await
}

/// Whether a posted form's `Origin` (when the browser sends one) is this
/// server.
fn same_site(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest == host)
}

/// A page saying `message`, with `status`.
fn refusal(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<p class=\"notice error\" role=\"alert\">{}</p>",
        escape(message)
    );
    (status, Html(frame("Not done", &body))).into_response()
}

async fn login_form(State(state): State<ApiState>) -> Html<String> {
    let body = if state.token.is_none() {
        "<p class=\"notice\">No operator token is configured: the console is open, and changes are refused. \
         <a href=\"/console\">Go to the overview</a>.</p>"
            .to_owned()
    } else {
        "<form method=\"post\" action=\"/console/login\"><label for=\"token\">Operator token (server.token)\
         <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required></label>\
         <p><button type=\"submit\">Sign in</button></p></form>"
            .to_owned()
    };
    Html(frame("Sign in", &body))
}

#[derive(serde::Deserialize)]
struct Login {
    token: String,
}

async fn login(State(state): State<ApiState>, Form(form): Form<Login>) -> Response {
    let Some(token) = &state.token else {
        return Redirect::to("/console").into_response();
    };
    if !super::auth::same(&form.token, token.expose()) {
        return refusal(StatusCode::UNAUTHORIZED, "That is not the operator token.");
    }
    let cookie = format!(
        "{COOKIE}={}; Path=/console; HttpOnly; SameSite=Strict",
        session(token.expose())
    );
    let mut response = Redirect::to("/console").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The last 24 hours, per system, the failing companies, the versions and
/// the health of the store and of Pleo.
async fn overview(State(state): State<ApiState>) -> Response {
    let runner = &state.runner;
    let since = preflight_store::now_millis() - 24 * 3_600_000;
    let store = runner.store();
    let counts = store.hourly_counts(since).await;
    let store_health = match &counts {
        Ok(_) => "<span class=\"proceed\">reachable</span>".to_owned(),
        Err(error) => format!("<span class=\"fail\">{}</span>", escape(&error.to_string())),
    };
    let mut body = String::from("<h2>Health</h2>");
    let pleo = match runner.last_poll_ok() {
        Some(true) => "<span class=\"proceed\">the last sweep listed jobs</span>",
        Some(false) => {
            "<span class=\"fail\">the last sweep could not list any company's jobs</span>"
        }
        None => "<span class=\"muted\">not polled yet</span>",
    };
    let _ = write!(
        body,
        "<ul><li>Store ({}): {store_health}</li><li>Pleo: {pleo}</li></ul>",
        escape(store.location())
    );
    // Validations by hour and verdict, per system, counted by the store.
    let mut systems: BTreeMap<String, BTreeMap<i64, (usize, usize, usize)>> = BTreeMap::new();
    for count in counts.unwrap_or_default() {
        let as_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        systems.entry(count.accounting_system).or_default().insert(
            count.hour,
            (
                as_usize(count.proceed),
                as_usize(count.fail),
                as_usize(count.retry),
            ),
        );
    }
    let mut reasons: BTreeMap<String, Vec<preflight_store::ReasonCount>> = BTreeMap::new();
    for count in store.reason_counts(since).await.unwrap_or_default() {
        reasons
            .entry(count.accounting_system.clone())
            .or_default()
            .push(count);
    }
    body.push_str("<h2>Validations, last 24 hours</h2>");
    if systems.is_empty() {
        body.push_str("<p class=\"muted\">No validation in the last 24 hours.</p>");
    }
    for (system, hours) in &systems {
        let series: Vec<(String, usize, usize, usize)> = (0..24)
            .map(|hour| {
                let (p, f, r) = hours.get(&hour).copied().unwrap_or_default();
                let label = time(since + hour * 3_600_000);
                (label.get(11..16).unwrap_or_default().to_owned(), p, f, r)
            })
            .collect();
        let totals = series
            .iter()
            .fold((0, 0, 0), |t, (_, p, f, r)| (t.0 + p, t.1 + f, t.2 + r));
        let title = format!(
            "{system}: {} proceeded, {} failed, {} retried (green, red, amber, by hour)",
            totals.0, totals.1, totals.2
        );
        let _ = write!(
            body,
            "<h3>{}</h3>{}",
            escape(&title),
            page::chart(&title, &series)
        );
        let rows: Vec<Vec<String>> = reasons
            .get(system)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|count| {
                vec![
                    format!(
                        "<a href=\"/console/decisions?reason={reason}&amp;verdict={verdict}&amp;since=24h\">{reason}</a>",
                        reason = escape(&count.reason),
                        verdict = escape(&count.verdict),
                    ),
                    escape(&count.verdict),
                    count.count.to_string(),
                ]
            })
            .collect();
        if !rows.is_empty() {
            body.push_str(&table(
                &format!("{system}: failures and retries by reason, last 24 hours"),
                &["Reason", "Verdict", "Validations"],
                &rows,
            ));
        }
    }
    // The companies failing most.
    let failing = store.failing_companies(since, 10).await.unwrap_or_default();
    let rows: Vec<Vec<String>> = failing
        .iter()
        .map(|company| {
            vec![
                format!(
                    "<a href=\"/console/decisions?company={id}\"><code>{id}</code></a>",
                    id = company.company_id
                ),
                company.failed.to_string(),
                escape(company.latest_reason.as_deref().unwrap_or_default()),
            ]
        })
        .collect();
    body.push_str("<h2>Companies failing most</h2>");
    body.push_str(&table(
        "Failed validations per company, last 24 hours",
        &["Company", "Failed", "Latest reason"],
        &rows,
    ));
    // Versions by state.
    let mut states: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for view in runner.registry().list() {
        states
            .entry(view.accounting_system.clone())
            .or_default()
            .push(format!(
                "{} {}",
                escape(&view.version),
                escape(view.state.as_str())
            ));
    }
    let rows: Vec<Vec<String>> = states
        .into_iter()
        .map(|(system, versions)| vec![escape(&system), versions.join(", ")])
        .collect();
    body.push_str("<h2>Plugin versions</h2>");
    body.push_str(&table("Versions by state", &["System", "Versions"], &rows));
    Html(frame("Overview", &body)).into_response()
}

/// The decision log, filtered and paged.
async fn decisions(State(state): State<ApiState>, Query(query): Query<DecisionQuery>) -> Response {
    let mut query = query;
    // The filter form sends every field; an empty one filters nothing.
    for field in [
        &mut query.company,
        &mut query.job,
        &mut query.plugin,
        &mut query.reason,
        &mut query.verdict,
        &mut query.since,
        &mut query.until,
        &mut query.before,
    ] {
        if field
            .as_deref()
            .is_some_and(|value| value.trim().is_empty())
        {
            *field = None;
        }
    }
    query.limit = Some(PAGE);
    let filter = match query.filter() {
        Ok(filter) => filter,
        Err(bad) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                &format!("{}: {}", bad.field, bad.message),
            );
        }
    };
    let rows = match state.runner.store().decisions(&filter).await {
        Ok(rows) => rows,
        Err(error) => return refusal(StatusCode::SERVICE_UNAVAILABLE, &error.to_string()),
    };
    let field = |name: &str, label: &str, value: &Option<String>, hint: &str| {
        format!(
            "<label for=\"{name}\">{label}<input id=\"{name}\" name=\"{name}\" value=\"{}\" placeholder=\"{hint}\"></label>",
            escape(value.as_deref().unwrap_or_default())
        )
    };
    let mut body =
        String::from("<form class=\"inline\" method=\"get\" action=\"/console/decisions\">");
    body.push_str(&field("company", "Company", &query.company, "company id"));
    body.push_str(&field("job", "Job", &query.job, "job id"));
    body.push_str(&field(
        "plugin",
        "Plugin",
        &query.plugin,
        "xero or xero@0.1.0",
    ));
    body.push_str(&field(
        "reason",
        "Reason",
        &query.reason,
        "missing_configuration",
    ));
    body.push_str(&field(
        "verdict",
        "Verdict",
        &query.verdict,
        "proceed, fail, retry",
    ));
    body.push_str(&field("since", "Since", &query.since, "2h or RFC 3339"));
    body.push_str("<button type=\"submit\">Filter</button></form>");
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            vec![
                escape(&time(row.at)),
                format!(
                    "<a href=\"/console/jobs/{job}\"><code>{job}</code></a>",
                    job = row.job_id
                ),
                format!("<code>{}</code>", row.company_id),
                escape(row.plugin.as_deref().unwrap_or("-")),
                verdict(&row.verdict, row.reason.map(|r| r.as_str())),
                escape(row.message.as_deref().unwrap_or_default()),
            ]
        })
        .collect();
    body.push_str(&table(
        "Validations, newest first",
        &["When", "Job", "Company", "Plugin", "Verdict", "Message"],
        &table_rows,
    ));
    if rows.len() == PAGE as usize
        && let Some(oldest) = rows.last()
    {
        let mut next = format!("/console/decisions?before={}", oldest.id);
        for (name, value) in [
            ("company", &query.company),
            ("job", &query.job),
            ("plugin", &query.plugin),
            ("reason", &query.reason),
            ("verdict", &query.verdict),
            ("since", &query.since),
            ("until", &query.until),
        ] {
            if let Some(value) = value {
                let _ = write!(next, "&{name}={}", query_value(value));
            }
        }
        let _ = write!(body, "<p><a href=\"{}\">Older</a></p>", escape(&next));
    }
    Html(frame("Decisions", &body)).into_response()
}

/// One job: its journal, every validation in full, and a replay button.
async fn job(State(state): State<ApiState>, Path(job): Path<uuid::Uuid>) -> Response {
    match job_page(&state, job, None).await {
        Ok(html) => Html(html).into_response(),
        Err(response) => response,
    }
}

async fn job_page(
    state: &ApiState,
    job: uuid::Uuid,
    replayed: Option<String>,
) -> Result<String, Response> {
    let report = match state.runner.store().report(job).await {
        Ok(Some(report)) => report,
        Ok(None) => {
            return Err(refusal(
                StatusCode::NOT_FOUND,
                &format!("Job {job} is not in the store."),
            ));
        }
        Err(error) => return Err(refusal(StatusCode::SERVICE_UNAVAILABLE, &error.to_string())),
    };
    let mut body = String::new();
    if let Some(replayed) = replayed {
        body.push_str(&replayed);
    }
    if let Some(record) = &report.job {
        let _ = write!(
            body,
            "<p>Company <code>{}</code>: stage <strong>{}</strong>, held by {} ({} validations counted).</p>",
            record.company_id,
            escape(record.stage.name()),
            escape(&record.owner),
            record.attempts
        );
    }
    body.push_str("<h2>Journal</h2><ol class=\"timeline\">");
    for entry in &report.journal {
        let detail = match &entry.stage {
            preflight_store::Stage::Failing { reason, message } => {
                format!(": {} — {}", escape(reason.as_str()), escape(message))
            }
            preflight_store::Stage::Done { outcome } => {
                format!(": {}", escape(&outcome.to_string()))
            }
            _ => String::new(),
        };
        let _ = write!(
            body,
            "<li><time>{}</time> {}{detail} <span class=\"muted\">({})</span></li>",
            escape(&time(entry.at)),
            escape(entry.stage.name()),
            escape(&entry.replica)
        );
    }
    body.push_str("</ol>");
    for decision in &report.decisions {
        let plugin = decision.plugin.as_ref().map_or_else(
            || "the host".to_owned(),
            |plugin| {
                format!(
                    "{} {} <span class=\"muted\">sha256 <code>{}</code>, {}</span>",
                    escape(&plugin.name),
                    escape(&plugin.version),
                    escape(plugin.digest.get(..16).unwrap_or(&plugin.digest)),
                    escape(&plugin.wit)
                )
            },
        );
        let label = preflight_store::decisions::verdict_label(&decision.verdict);
        let _ = write!(
            body,
            "<h2>Validation {} at {}</h2><p>{} decided {} in {:.1} ms.</p>",
            decision.attempt,
            escape(&time(decision.at)),
            plugin,
            verdict(label, decision.verdict.reason().map(|r| r.as_str())),
            decision.elapsed_ms
        );
        if let Some(message) = decision.verdict.message() {
            let _ = write!(
                body,
                "<p class=\"notice\">The finance user reads: {}</p>",
                escape(message)
            );
        }
        if let Some(fault) = &decision.fault {
            let _ = write!(
                body,
                "<p class=\"notice error\">Plugin fault: {}</p>",
                escape(fault)
            );
        }
        let checks: Vec<Vec<String>> = decision
            .checks
            .iter()
            .map(|check| {
                vec![
                    format!("<code>{}</code>", escape(&check.id)),
                    page::status(check.status.as_str()),
                    escape(&check.message),
                    escape(check.hint.as_deref().unwrap_or_default()),
                ]
            })
            .collect();
        body.push_str(&table(
            "Checks",
            &["Rule", "Status", "Message", "Hint"],
            &checks,
        ));
        let exchanges: Vec<Vec<String>> = decision
            .exchanges
            .iter()
            .map(|exchange| {
                let body_text =
                    |captured: &Option<preflight_runtime::sandbox::record::Captured>| {
                        captured.as_ref().map_or_else(String::new, |captured| {
                            format!(
                                "<pre>{}</pre>",
                                escape(&String::from_utf8_lossy(&captured.bytes()))
                            )
                        })
                    };
                vec![
                    escape(&exchange.method),
                    format!("<code>{}</code>", escape(&exchange.url)),
                    exchange.status.map_or_else(
                        || {
                            exchange
                                .failure
                                .as_ref()
                                .map_or_else(|| "-".to_owned(), |f| escape(&format!("{f:?}")))
                        },
                        |status| status.to_string(),
                    ),
                    format!("{:.1} ms", exchange.elapsed.as_secs_f64() * 1e3),
                    body_text(&exchange.response_body),
                ]
            })
            .collect();
        body.push_str(&table(
            "HTTP exchanges (as the decision log keeps them: masked)",
            &["Method", "URL", "Status", "Time", "Response body"],
            &exchanges,
        ));
        if decision.plugin.is_some() {
            body.push_str(&action(
                &format!("/console/jobs/{job}/replay"),
                &format!("Replay validation {} offline", decision.attempt),
                &format!(
                    "<input type=\"hidden\" name=\"decision\" value=\"{}\">",
                    decision.id
                ),
            ));
        }
    }
    Ok(frame(&format!("Job {job}"), &body))
}

#[derive(serde::Deserialize)]
struct ReplayForm {
    decision: i64,
}

/// Runs a recorded validation again offline with the version that made it
/// (found by digest), else the active one, and shows both verdicts.
async fn replay(
    State(state): State<ApiState>,
    Path(job): Path<uuid::Uuid>,
    Form(form): Form<ReplayForm>,
) -> Response {
    let decisions = match state.runner.store().decisions_of(job).await {
        Ok(decisions) => decisions,
        Err(error) => return refusal(StatusCode::SERVICE_UNAVAILABLE, &error.to_string()),
    };
    let Some(decision) = decisions.into_iter().find(|d| d.id == form.decision) else {
        return refusal(StatusCode::NOT_FOUND, "No such validation of this job.");
    };
    let result = replay_decision(&state, &decision).await;
    let notice = match result {
        Ok((plugin, replayed)) => {
            let recorded = preflight_store::decisions::verdict_label(&decision.verdict);
            let now = preflight_store::decisions::verdict_label(&replayed);
            format!(
                "<p class=\"notice\" role=\"status\">Replayed offline with {}: {} (recorded: {}){}</p>",
                escape(&plugin),
                verdict(now, replayed.reason().map(|r| r.as_str())),
                verdict(recorded, decision.verdict.reason().map(|r| r.as_str())),
                if now == recorded {
                    ", the same verdict."
                } else {
                    ": the verdict changed."
                }
            )
        }
        Err(problem) => format!(
            "<p class=\"notice error\" role=\"alert\">The replay did not run: {}</p>",
            escape(&problem)
        ),
    };
    match job_page(&state, job, Some(notice)).await {
        Ok(html) => Html(html).into_response(),
        Err(response) => response,
    }
}

async fn replay_decision(
    state: &ApiState,
    decision: &preflight_store::Decision,
) -> Result<(String, preflight_runtime::report::Verdict), String> {
    let registry = state.runner.registry();
    let system = decision.accounting_system.clone().unwrap_or_default();
    let digest = decision.plugin.as_ref().map(|p| p.digest.clone());
    let plugin = registry
        .plugins_of(&system)
        .into_iter()
        .find(|plugin| Some(plugin.digest()) == digest.as_deref())
        .or_else(|| registry.get(&system))
        .ok_or_else(|| format!("no plugin serves '{system}' any more"))?;
    let job = preflight_runtime::job::ExportJob::from_value(decision.job.clone())
        .map_err(|error| format!("the recorded job: {error}"))?;
    let config = decision
        .config
        .clone()
        .ok_or("the validation recorded no configuration")?;
    let config = preflight_runtime::config::IntegrationConfig::from_value(config, "config.")
        .map_err(|error| format!("the recorded configuration: {error}"))?;
    let tape = std::sync::Arc::new(preflight_runtime::sandbox::record::Tape::new(
        decision.exchanges.clone(),
    ));
    let outcome = plugin
        .replay(&job, &config, tape)
        .await
        .map_err(|error| error.to_string())?;
    Ok((plugin.label().to_owned(), outcome.verdict))
}

/// Versions and states per system, with the rollout controls and the
/// shadow's comparisons.
async fn plugins(State(state): State<ApiState>) -> Response {
    let registry = state.runner.registry();
    let mut by_system: BTreeMap<String, Vec<crate::registry::VersionView>> = BTreeMap::new();
    for view in registry.list() {
        by_system
            .entry(view.accounting_system.clone())
            .or_default()
            .push(view);
    }
    let changes = state.token.is_some();
    let mut body = String::new();
    if !changes {
        body.push_str("<p class=\"notice\">Changes are disabled: set server.token in the operator configuration.</p>");
    }
    for (system, views) in &by_system {
        let base = format!("/console/plugins/{}", query_value(system));
        let _ = write!(body, "<h2>{}</h2>", escape(system));
        let rows: Vec<Vec<String>> = views
            .iter()
            .map(|view| {
                let mut controls = String::new();
                let version = format!(
                    "<input type=\"hidden\" name=\"version\" value=\"{}\">",
                    escape(&view.version)
                );
                // The active version serves already; a refused one cannot.
                if changes
                    && !matches!(
                        view.state,
                        crate::registry::VersionState::Failed | crate::registry::VersionState::Active
                    )
                {
                    if view.state != crate::registry::VersionState::Shadow {
                        controls.push_str(&action(&format!("{base}/shadow"), &format!("Shadow {system} {}", view.version), &version));
                    }
                    let id = format!("percent-{}-{}", escape(system), escape(&view.version).replace('.', "-"));
                    controls.push_str(&action(
                        &format!("{base}/canary"),
                        &format!("Canary {system} {}", view.version),
                        &format!(
                            "{version}<label for=\"{id}\">Share (%)<input id=\"{id}\" name=\"percent\" type=\"number\" min=\"1\" max=\"100\" value=\"10\" required></label>"
                        ),
                    ));
                }
                vec![
                    escape(&view.version),
                    escape(view.state.as_str()),
                    escape(&view.source),
                    format!(
                        "<code>{}</code>",
                        escape(view.sha256.as_deref().map_or("-", |d| d.get(..16).unwrap_or(d)))
                    ),
                    escape(view.signed_by.as_deref().unwrap_or("-")),
                    escape(view.error.as_deref().unwrap_or_default()),
                    controls,
                ]
            })
            .collect();
        body.push_str(&table(
            &format!("Versions of {system}"),
            &[
                "Version",
                "State",
                "Source",
                "SHA-256",
                "Signed by",
                "Error",
                "Rollout",
            ],
            &rows,
        ));
        if changes {
            // Labels name the system: each system has its own buttons.
            let rollout = views.iter().any(|view| {
                matches!(
                    view.state,
                    crate::registry::VersionState::Shadow | crate::registry::VersionState::Canary
                )
            });
            body.push_str(&action(
                &format!("{base}/rollback"),
                &format!("Roll back {system}"),
                "",
            ));
            if rollout {
                body.push_str(&action(
                    &format!("{base}/promote"),
                    &format!("Promote {system}'s shadow or canary"),
                    "",
                ));
            }
            if registry.shadow_of(system).is_some() {
                body.push_str(&action(
                    &format!("{base}/discard"),
                    &format!("Discard {system}'s shadow"),
                    "",
                ));
            }
        }
        if let Some(shadow) = registry.shadow_of(system) {
            let candidate = format!("{}@{}", shadow.info().name, shadow.info().version);
            let results = state
                .runner
                .store()
                .shadow_results(system, &candidate)
                .await
                .unwrap_or_default();
            let summary = crate::runner::shadow::summarise(system, &candidate, &results);
            let failing: Vec<String> = summary
                .would_now_fail
                .iter()
                .map(|(reason, count)| format!("{count} {}", escape(reason)))
                .collect();
            let _ = write!(
                body,
                "<h3>Shadow {}</h3><ul><li>Jobs compared: {}</li><li>Same verdict: {}</li>\
                 <li>Would now fail: {}</li><li>Would now pass: {}</li><li>Faults: {}</li>\
                 <li>Rules added: {}</li><li>Rules removed: {}</li><li>Requests not on the tape: {}</li></ul>",
                escape(&candidate),
                summary.jobs_compared,
                summary.same_verdict,
                if failing.is_empty() {
                    "0".to_owned()
                } else {
                    failing.join(", ")
                },
                summary.would_now_pass,
                summary.faults,
                escape(&summary.rules_added.join(", ")),
                escape(&summary.rules_removed.join(", ")),
                summary.requests_not_on_tape
            );
            let rows: Vec<Vec<String>> = summary
                .differing
                .iter()
                .map(|result| {
                    vec![
                        format!(
                            "<a href=\"/console/jobs/{job}\"><code>{job}</code></a>",
                            job = result.job_id
                        ),
                        verdict(&result.live_verdict, result.live_reason.as_deref()),
                        verdict(
                            &result.candidate_verdict,
                            result.candidate_reason.as_deref(),
                        ),
                        escape(
                            &result
                                .changed
                                .iter()
                                .map(|c| c.id.clone())
                                .collect::<Vec<_>>()
                                .join(", "),
                        ),
                    ]
                })
                .collect();
            body.push_str(&table(
                "Jobs whose verdict differs",
                &["Job", "Live", "Shadow", "Checks changed"],
                &rows,
            ));
        }
    }
    Html(frame("Plugins", &body)).into_response()
}

#[derive(serde::Deserialize)]
struct ChangeForm {
    version: Option<String>,
    percent: Option<u8>,
}

/// A rollout change from the plugins page; back to it with what came of it.
async fn change_plugin(
    State(state): State<ApiState>,
    Path((system, change)): Path<(String, String)>,
    Form(form): Form<ChangeForm>,
) -> Response {
    if state.token.is_none() {
        return refusal(
            StatusCode::FORBIDDEN,
            "Changes are disabled: set server.token in the operator configuration.",
        );
    }
    let registry = state.runner.registry();
    let version = form.version.unwrap_or_default();
    let done = match change.as_str() {
        "rollback" => registry.rollback(&system).await.map_err(|e| e.to_string()),
        "shadow" => registry
            .shadow(&system, &version)
            .await
            .map_err(|e| e.to_string()),
        "canary" => registry
            .canary(&system, &version, form.percent.unwrap_or(0))
            .await
            .map_err(|e| e.to_string()),
        "promote" => registry.promote(&system).await.map_err(|e| e.to_string()),
        "discard" => registry.discard(&system).await.map_err(|e| e.to_string()),
        other => Err(format!("'{other}' is not a change of plugins")),
    };
    match done {
        Ok(_) => Redirect::to("/console/plugins").into_response(),
        Err(problem) => refusal(StatusCode::CONFLICT, &problem),
    }
}

/// Every configured company: its system, credentials, settings status and
/// last verdict.
async fn companies(State(state): State<ApiState>) -> Response {
    let views = match state
        .runner
        .companies()
        .list(&preflight_store::CompanyFilter {
            limit: Some(1_000),
            ..preflight_store::CompanyFilter::default()
        })
        .await
    {
        Ok(views) => views,
        Err(error) => return refusal(StatusCode::SERVICE_UNAVAILABLE, &error.to_string()),
    };
    let ids: Vec<uuid::Uuid> = views.iter().map(|view| view.company_id).collect();
    // A store that cannot answer leaves the column empty, not the page.
    let latest = state
        .runner
        .store()
        .latest_decisions(&ids)
        .await
        .unwrap_or_default();
    let mut rows = Vec::with_capacity(views.len());
    for view in &views {
        let settings = match state.runner.registry().get(&view.accounting_system) {
            Some(plugin) => match plugin.validate_settings(&view.settings).await {
                Ok(Ok(())) => "<span class=\"proceed\">valid</span>".to_owned(),
                Ok(Err(errors)) => format!(
                    "<span class=\"fail\">{}</span>",
                    escape(
                        &errors
                            .iter()
                            .map(|e| format!("{}: {}", e.field, e.message))
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                ),
                Err(error) => format!("<span class=\"fail\">{}</span>", escape(&error.to_string())),
            },
            None => "<span class=\"fail\">no plugin for this system</span>".to_owned(),
        };
        let credentials = &view.credentials;
        let mut credential = escape(credentials["type"].as_str().unwrap_or("none"));
        if let Some(expiry) = credentials["accessTokenExpiresAt"].as_str() {
            let _ = write!(credential, ", expires {}", escape(expiry));
        }
        if let Some(status) = credentials["status"].as_str() {
            let _ = write!(credential, ", {}", escape(status));
        }
        let last = latest.get(&view.company_id).map_or_else(
            || "<span class=\"muted\">none yet</span>".to_owned(),
            |row| {
                format!(
                    "{} <span class=\"muted\">{}</span>",
                    verdict(&row.verdict, row.reason.map(|r| r.as_str())),
                    escape(&time(row.at))
                )
            },
        );
        rows.push(vec![
            format!(
                "<a href=\"/console/decisions?company={id}\"><code>{id}</code></a>",
                id = view.company_id
            ),
            escape(&view.accounting_system),
            format!("<code>{}</code>", escape(&view.base_url)),
            settings,
            credential,
            last,
        ]);
    }
    let body = table(
        "Configured companies",
        &[
            "Company",
            "System",
            "Base URL",
            "Settings",
            "Credentials",
            "Last verdict",
        ],
        &rows,
    );
    Html(frame("Companies", &body)).into_response()
}
