//! Native tests of a validator: its whole `validate` runs under plain
//! `cargo test`, with canned HTTP answers in place of the host, so the order
//! of the rules, what each sends, and what it makes of every answer can be
//! unit-tested without building a component.
//!
//! A [`Harness`] holds the job, the configuration and the canned answers;
//! [`Harness::run`] runs a [`Validator`] through the same steps the exported
//! component takes (settings parsed and checked, then `validate`, then the
//! plan's report) and returns a [`Run`]: the report, every request in the
//! order sent, the requests no answer was canned for, and what was logged.
//!
//! Each request gets the first unused answer canned for its method and URL
//! (a URL that does not start with `http` is taken relative to the base
//! URL). A request with none left is answered
//! [`HttpError::Unreachable`] and listed
//! in [`Run::unmatched`]: the rule that cannot get its answer reports what it
//! reports when the accounting system is down, as the host's offline replay
//! does with a cassette.
//!
//! The host's own checks (origin grants, credentials, budgets) are not run:
//! `preflight test` runs cassettes through the real host for that. Inside a
//! component (`wasm32`), requests always go to the host: the harness answers
//! native builds only.
//!
//! ```
//! # use preflight_sdk::plan::{Plan, Rule};
//! # use preflight_sdk::{Check, Config, ExportJob, FailureReason, PluginInfo, Validator};
//! use preflight_sdk::http::Api;
//! use preflight_sdk::testing::Harness;
//! use preflight_sdk::CheckStatus;
//!
//! struct Ledgerly;
//!
//! impl Validator for Ledgerly {
//!     type Settings = serde_json::Value;
//!     const RULES: &'static [Rule] = &[Rule::new("ledgerly.journal", "Journal exists")];
//!
//!     fn info() -> PluginInfo {
//!         PluginInfo::new("ledgerly", "0.1.0", "ledgerly")
//!             .display_name("Ledgerly")
//!             .settings_schema(preflight_sdk::settings::ANY_OBJECT_SCHEMA)
//!     }
//!
//!     fn validate(_job: &ExportJob, config: &Config<Self::Settings>, plan: &mut Plan) {
//!         let check = match Api::new(&config.base_url).get("journals/GEN") {
//!             Ok(_) => Check::passed("ledgerly.journal", "The journal exists."),
//!             Err(fetch) => fetch.check("ledgerly.journal", "Ledgerly"),
//!         };
//!         plan.record(check);
//!     }
//! }
//!
//! let run = Harness::new("{}")
//!     .reply("GET", "journals/GEN", 200, r#"{"id": "GEN"}"#)
//!     .run::<Ledgerly>();
//! assert_eq!(
//!     run.statuses(),
//!     [("ledgerly.settings", CheckStatus::Passed), ("ledgerly.journal", CheckStatus::Passed)]
//! );
//! assert_eq!(run.requests, ["GET https://api.example.test/journals/GEN"]);
//!
//! // Nothing canned: the request is answered unreachable, and listed.
//! let run = Harness::new("{}").run::<Ledgerly>();
//! assert_eq!(run.check("ledgerly.journal").status, CheckStatus::Unverified);
//! assert_eq!(run.unmatched, ["GET https://api.example.test/journals/GEN"]);
//! ```

#![cfg_attr(
    target_arch = "wasm32",
    allow(
        dead_code,
        reason = "inside a component the host answers: the transport is for native builds"
    )
)]

use std::cell::RefCell;

use crate::bindings::preflight::plugin::http as wit;
use crate::bindings::preflight::plugin::log::Level;
use crate::http::HttpError;
use crate::{Check, CheckStatus, ExportJob, IntegrationConfig, JobStatus, Validator};

/// The base URL a [`Harness`] configures unless told otherwise.
pub const BASE_URL: &str = "https://api.example.test";

/// One canned answer.
#[derive(Debug, Clone)]
struct Canned {
    method: String,
    url: String,
    answer: Result<wit::Response, HttpError>,
    used: bool,
}

/// What the transport saw during one [`Harness::run`].
#[derive(Debug, Default)]
struct Transport {
    canned: Vec<Canned>,
    requests: Vec<String>,
    bodies: Vec<Option<Vec<u8>>>,
    unmatched: Vec<String>,
    logs: Vec<(Level, String)>,
}

thread_local! {
    /// The transport of the run in progress on this thread: tests run on
    /// threads of their own, so runs in parallel never share one.
    static TRANSPORT: RefCell<Option<Transport>> = const { RefCell::new(None) };
}

/// A job, a configuration and canned answers for native runs of a
/// validator; see the [module](self).
#[derive(Debug, Clone)]
pub struct Harness {
    job: ExportJob,
    config: IntegrationConfig,
    canned: Vec<Canned>,
}

impl Harness {
    /// A harness for a pending job of two items, without vendor
    /// bookkeeping, and a configuration of `settings` (the JSON object the
    /// plugin parses) against [`BASE_URL`].
    pub fn new(settings: &str) -> Harness {
        Harness {
            job: ExportJob {
                id: "00000000-0000-4000-8000-000000000001".to_owned(),
                company_id: "00000000-0000-4000-8000-000000000002".to_owned(),
                status: JobStatus::Pending,
                created_at: "2026-01-05T09:30:00Z".to_owned(),
                number_of_items: 2,
                vendor_based_bookkeeping: false,
                is_interactive: true,
                expires_in: 3600,
            },
            config: IntegrationConfig {
                accounting_system: String::new(),
                base_url: BASE_URL.to_owned(),
                tenant_id: None,
                settings: settings.to_owned(),
            },
            canned: Vec::new(),
        }
    }

    /// Sets the accounting system's base URL.
    pub fn base_url(mut self, url: &str) -> Harness {
        url.clone_into(&mut self.config.base_url);
        self
    }

    /// Sets the tenant (company, organisation) id.
    pub fn tenant(mut self, tenant: &str) -> Harness {
        self.config.tenant_id = Some(tenant.to_owned());
        self
    }

    /// Makes the job book against vendors (or not).
    pub fn vendor_bookkeeping(mut self, on: bool) -> Harness {
        self.job.vendor_based_bookkeeping = on;
        self
    }

    /// Replaces the job altogether.
    pub fn job(mut self, job: ExportJob) -> Harness {
        self.job = job;
        self
    }

    /// Cans a `status` answer with a JSON `body` to `method url`.
    pub fn reply(self, method: &str, url: &str, status: u16, body: &str) -> Harness {
        let headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        self.reply_with(method, url, status, headers, body.as_bytes())
    }

    /// Cans an answer with its own headers (names in lower case) and body.
    pub fn reply_with(
        self,
        method: &str,
        url: &str,
        status: u16,
        headers: Vec<(String, String)>,
        body: &[u8],
    ) -> Harness {
        let response = wit::Response {
            status,
            headers,
            body: body.to_vec(),
        };
        self.can(method, url, Ok(response))
    }

    /// Cans a transport failure (a timeout, the budget spent…) for
    /// `method url`.
    pub fn fail(self, method: &str, url: &str, error: HttpError) -> Harness {
        self.can(method, url, Err(error))
    }

    fn can(mut self, method: &str, url: &str, answer: Result<wit::Response, HttpError>) -> Harness {
        let url = if url.starts_with("http://") || url.starts_with("https://") {
            url.to_owned()
        } else {
            format!(
                "{}/{}",
                self.config.base_url.trim_end_matches('/'),
                url.trim_start_matches('/')
            )
        };
        self.canned.push(Canned {
            method: method.to_ascii_uppercase(),
            url,
            answer,
            used: false,
        });
        self
    }

    /// Runs `V`'s validation of the job as the exported component would,
    /// answering its requests from the canned answers.
    ///
    /// # Panics
    ///
    /// When called inside another run on the same thread, and as the
    /// validator itself panics (a plugin fault in the host).
    pub fn run<V: Validator>(&self) -> Run {
        let mut config = self.config.clone();
        if config.accounting_system.is_empty() {
            config.accounting_system = V::info().accounting_system;
        }
        TRANSPORT.with(|transport| {
            let mut transport = transport.borrow_mut();
            assert!(transport.is_none(), "a Harness run is already in progress");
            *transport = Some(Transport {
                canned: self.canned.clone(),
                ..Transport::default()
            });
        });
        // Taken back even when the validator panics, so the thread's next
        // run starts clean.
        struct Reset;
        impl Drop for Reset {
            fn drop(&mut self) {
                TRANSPORT.with(|transport| transport.borrow_mut().take());
            }
        }
        let reset = Reset;
        let report = crate::__private::run::<V>(self.job.clone(), config);
        let transport = TRANSPORT
            .with(|transport| transport.borrow_mut().take())
            .expect("the run's transport");
        drop(reset);
        Run {
            checks: report.checks().to_vec(),
            requests: transport.requests,
            bodies: transport.bodies,
            unmatched: transport.unmatched,
            logs: transport
                .logs
                .into_iter()
                .map(|(level, line)| (level_name(level), line))
                .collect(),
        }
    }
}

/// What one [`Harness::run`] produced.
#[derive(Debug, Clone)]
pub struct Run {
    /// The report's checks, in report order.
    pub checks: Vec<Check>,
    /// Every request sent, as `METHOD URL`, in order.
    pub requests: Vec<String>,
    /// The body of each request of [`Run::requests`], if any.
    pub bodies: Vec<Option<Vec<u8>>>,
    /// The requests no canned answer was left for (answered unreachable).
    pub unmatched: Vec<String>,
    /// What was logged, as `(level, line)`: `trace`, `debug`, `info`, `warn`,
    /// `error`.
    pub logs: Vec<(&'static str, String)>,
}

impl Run {
    /// Each check's rule id and status, in report order.
    pub fn statuses(&self) -> Vec<(&str, CheckStatus)> {
        self.checks
            .iter()
            .map(|check| (check.id.as_str(), check.status))
            .collect()
    }

    /// The check of rule `id`.
    ///
    /// # Panics
    ///
    /// When the report holds no check of that id.
    pub fn check(&self, id: &str) -> &Check {
        self.checks
            .iter()
            .find(|check| check.id == id)
            .unwrap_or_else(|| panic!("no check {id} in the report: {:?}", self.statuses()))
    }

    /// The first check that fails the job or leaves it unverified: the one
    /// whose message the finance user reads.
    pub fn blocking(&self) -> Option<&Check> {
        self.checks.iter().find(|check| check.blocks())
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Trace => "trace",
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Warn => "warn",
        Level::Error => "error",
    }
}

fn method_name(method: wit::Method) -> &'static str {
    match method {
        wit::Method::Get => "GET",
        wit::Method::Head => "HEAD",
        wit::Method::Post => "POST",
        wit::Method::Put => "PUT",
        wit::Method::Patch => "PATCH",
        wit::Method::Delete => "DELETE",
    }
}

/// Answers `request` from the run in progress.
pub(crate) fn send(request: &wit::Request) -> Result<wit::Response, HttpError> {
    TRANSPORT.with(|transport| {
        let mut transport = transport.borrow_mut();
        let transport = transport.as_mut().expect(
            "an HTTP request outside a component runs only inside preflight_sdk::testing::Harness::run",
        );
        let method = method_name(request.method);
        let line = format!("{method} {}", request.url);
        transport.requests.push(line.clone());
        transport.bodies.push(request.body.clone());
        let canned = transport
            .canned
            .iter_mut()
            .find(|canned| !canned.used && canned.method == method && canned.url == request.url);
        match canned {
            Some(canned) => {
                canned.used = true;
                canned.answer.clone()
            }
            None => {
                transport.unmatched.push(line.clone());
                Err(HttpError::Unreachable(format!(
                    "test: no answer canned for {line}"
                )))
            }
        }
    })
}

/// Keeps a log line of the run in progress; outside one, writes it to
/// standard error.
pub(crate) fn log(level: Level, message: &str) {
    TRANSPORT.with(|transport| match transport.borrow_mut().as_mut() {
        Some(transport) => transport.logs.push((level, message.to_owned())),
        None => eprintln!("{}: {message}", level_name(level)),
    });
}
