//! The rule plan: every rule of a plugin, in order, and the check each one got.
//!
//! A plugin declares its rules once, in [`Validator::RULES`](crate::Validator::RULES).
//! The SDK puts its own settings rule (`<plugin name>.settings`, titled
//! [`SETTINGS_TITLE`]) before them, announces the whole list in
//! `plugin-info.rules`, and hands the plugin's `validate` a [`Plan`] with the
//! settings check already recorded. The plugin records one check per rule it
//! runs, by rule id, and simply returns when an earlier failure makes the rest
//! pointless. [`Plan::finish`] then turns the plan into the report the contract
//! promises: one check for each declared rule, in declared order, and no other.
//! A rule the plugin never reached is reported skipped with [`NOT_CHECKED`]; a
//! rule that applies only to vendor bookkeeping ([`Rule::vendor_bookkeeping`])
//! is reported skipped with [`NO_VENDOR_BOOKKEEPING`] when the job does not use
//! it.
//!
//! Recording a check for a rule that was not declared, recording a second
//! check for one rule, or recording a check for a vendor rule of a job without
//! vendor bookkeeping is a bug in the plugin: [`Plan::record`] panics, which
//! the host reports as a plugin fault instead of trusting a report that breaks
//! the contract.

use crate::bindings::preflight::plugin::types::RuleInfo;
use crate::{Check, ExportJob, PluginInfo, Report};

/// Why a rule the plugin never reached is reported skipped.
pub const NOT_CHECKED: &str = "Not checked: an earlier check did not pass.";

/// Why a rule that applies only to vendor bookkeeping is reported skipped when
/// the job does not use it.
pub const NO_VENDOR_BOOKKEEPING: &str = "This export does not use vendor bookkeeping.";

/// The title of the settings rule the SDK puts first in every plugin.
pub const SETTINGS_TITLE: &str = "Integration settings";

/// The id of the settings rule the SDK puts first in the plugin named
/// `plugin`: `<plugin>.settings`, e.g. `xero.settings`.
pub fn settings_rule_id(plugin: &str) -> String {
    format!("{plugin}.settings")
}

/// Why a rule about attaching receipts is skipped when the company turned
/// attaching off; `system` is the accounting system's display name.
pub fn attachments_off(system: &str) -> String {
    format!("Receipts are not attached: turned off in Pleo's {system} settings.")
}

/// Which jobs a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    /// Every job.
    Always,
    /// Only jobs that use vendor bookkeeping
    /// (`export-job.vendor-based-bookkeeping`).
    WithVendorBookkeeping,
}

/// One rule of a plugin, as the plugin declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The id its check carries in every report, e.g. `xero.connection`.
    /// Dashboards key on it, so it never changes between versions.
    pub id: &'static str,
    /// A few words for operators and dashboards, e.g. `Connection and
    /// authentication`.
    pub title: &'static str,
    /// Which jobs it applies to.
    pub applies: Applies,
}

impl Rule {
    /// A rule that applies to every job.
    pub const fn new(id: &'static str, title: &'static str) -> Self {
        Rule {
            id,
            title,
            applies: Applies::Always,
        }
    }

    /// A rule that applies only to jobs with vendor bookkeeping; for other
    /// jobs the plan reports it skipped with [`NO_VENDOR_BOOKKEEPING`].
    pub const fn vendor_bookkeeping(id: &'static str, title: &'static str) -> Self {
        Rule {
            id,
            title,
            applies: Applies::WithVendorBookkeeping,
        }
    }

    /// The rule as `plugin-info.rules` lists it.
    pub fn info(&self) -> RuleInfo {
        RuleInfo {
            id: self.id.to_owned(),
            title: self.title.to_owned(),
        }
    }
}

/// One rule of a plan and what it found so far.
#[derive(Debug, Clone)]
struct Entry {
    id: String,
    applies: Applies,
    check: Option<Check>,
}

/// The rules of one validation, in declared order, and the check each got.
#[derive(Debug, Clone)]
pub struct Plan {
    system: String,
    vendor_based_bookkeeping: bool,
    entries: Vec<Entry>,
}

impl Plan {
    /// The plan of a validation of `job` by the plugin `info` describes, with
    /// `rules` after the SDK's settings rule. The SDK makes it before calling
    /// [`Validator::validate`](crate::Validator::validate); plugins make one
    /// in native tests.
    ///
    /// # Panics
    ///
    /// When `info` has no display name, or two rules share an id (the settings
    /// rule's included): both are bugs in the plugin.
    pub fn new(info: &PluginInfo, rules: &[Rule], job: &ExportJob) -> Self {
        assert!(
            !info.display_name.trim().is_empty(),
            "plugin {}: PluginInfo has no display name; set one with PluginInfo::display_name",
            info.name
        );
        let settings = Rule::new("", SETTINGS_TITLE);
        let mut entries: Vec<Entry> = Vec::with_capacity(rules.len() + 1);
        for (index, rule) in std::iter::once(&settings).chain(rules).enumerate() {
            let id = if index == 0 {
                settings_rule_id(&info.name)
            } else {
                rule.id.to_owned()
            };
            assert!(
                entries.iter().all(|entry| entry.id != id),
                "plugin {}: rule {id} is declared twice",
                info.name
            );
            entries.push(Entry {
                id,
                applies: rule.applies,
                check: None,
            });
        }
        Plan {
            system: info.display_name.clone(),
            vendor_based_bookkeeping: job.vendor_based_bookkeeping,
            entries,
        }
    }

    /// The accounting system's display name, e.g. `Xero`, for messages.
    pub fn display_name(&self) -> &str {
        &self.system
    }

    /// The id of the SDK's settings rule, the first of the plan.
    pub fn settings_rule(&self) -> &str {
        &self.entries[0].id
    }

    /// Records `check` as the outcome of the rule with its id.
    ///
    /// # Panics
    ///
    /// When the id is not a declared rule, the rule has a check already, or
    /// the rule applies only to vendor bookkeeping and the job does not use it
    /// (see [`Plan::applies`]): each is a bug in the plugin.
    pub fn record(&mut self, check: Check) {
        let vendor_based_bookkeeping = self.vendor_based_bookkeeping;
        let entry = self.entry_mut(&check.id);
        assert!(
            entry.check.is_none(),
            "rule {} has a check already; a rule is checked once per validation",
            entry.id
        );
        assert!(
            entry.applies == Applies::Always || vendor_based_bookkeeping,
            "rule {} applies only to vendor bookkeeping, which this job does not use; ask \
             Plan::applies before checking it",
            entry.id
        );
        entry.check = Some(check);
    }

    /// Records rule `id` as skipped because of `message`.
    ///
    /// # Panics
    ///
    /// As [`Plan::record`].
    pub fn skip(&mut self, id: &str, message: impl Into<String>) {
        self.record(Check::skipped(id, message));
    }

    /// Records rule `id`, about attaching receipts, as skipped because the
    /// company turned attaching off ([`attachments_off`]).
    ///
    /// # Panics
    ///
    /// As [`Plan::record`].
    pub fn skip_attachments_off(&mut self, id: &str) {
        let message = attachments_off(&self.system);
        self.skip(id, message);
    }

    /// Reports every rule declared after rule `id` that has no check yet as
    /// not checked ([`NOT_CHECKED`], or [`NO_VENDOR_BOOKKEEPING`] for a vendor
    /// rule the job does not need), and so closes them: recording one later
    /// panics. [`Plan::finish`] does the same for every rule without a check,
    /// so a plugin that returns right after a failure needs no call; this one
    /// says so where the plugin goes on with other work.
    ///
    /// # Panics
    ///
    /// When `id` is not a declared rule.
    pub fn skip_rest_after(&mut self, id: &str) {
        let position = self.position(id);
        let vendor_based_bookkeeping = self.vendor_based_bookkeeping;
        for entry in &mut self.entries[position + 1..] {
            if entry.check.is_none() {
                entry.check = Some(unreached(entry, vendor_based_bookkeeping));
            }
        }
    }

    /// Whether rule `id` applies to this job: false for a rule that applies
    /// only to vendor bookkeeping when the job does not use it. The plan
    /// reports such a rule skipped with [`NO_VENDOR_BOOKKEEPING`]; the plugin
    /// records nothing for it.
    ///
    /// # Panics
    ///
    /// When `id` is not a declared rule.
    pub fn applies(&self, id: &str) -> bool {
        let entry = &self.entries[self.position(id)];
        entry.applies == Applies::Always || self.vendor_based_bookkeeping
    }

    /// The check recorded for rule `id` so far, if any.
    ///
    /// # Panics
    ///
    /// When `id` is not a declared rule.
    pub fn check(&self, id: &str) -> Option<&Check> {
        self.entries[self.position(id)].check.as_ref()
    }

    /// True when a check recorded so far fails or could not be verified: the
    /// usual sign that later rules are pointless and `validate` may return.
    pub fn is_blocked(&self) -> bool {
        self.entries
            .iter()
            .filter_map(|entry| entry.check.as_ref())
            .any(Check::blocks)
    }

    /// The report: one check per declared rule, in declared order. Rules
    /// without a check are reported skipped, with [`NO_VENDOR_BOOKKEEPING`]
    /// for a vendor rule the job does not need and [`NOT_CHECKED`] otherwise.
    pub fn finish(self) -> Report {
        let vendor_based_bookkeeping = self.vendor_based_bookkeeping;
        let mut report = Report::new();
        for entry in self.entries {
            let check = match entry.check {
                Some(check) => check,
                None => unreached(&entry, vendor_based_bookkeeping),
            };
            report.push(check);
        }
        report
    }

    /// The rules as `plugin-info.rules` lists them.
    pub(crate) fn rule_infos(plugin: &str, rules: &[Rule]) -> Vec<RuleInfo> {
        std::iter::once(RuleInfo {
            id: settings_rule_id(plugin),
            title: SETTINGS_TITLE.to_owned(),
        })
        .chain(rules.iter().map(Rule::info))
        .collect()
    }

    fn position(&self, id: &str) -> usize {
        self.entries
            .iter()
            .position(|entry| entry.id == id)
            .unwrap_or_else(|| {
                panic!("rule {id} is not declared; add it to the plugin's Validator::RULES")
            })
    }

    fn entry_mut(&mut self, id: &str) -> &mut Entry {
        let position = self.position(id);
        &mut self.entries[position]
    }
}

/// The skipped check of a rule no check was recorded for.
fn unreached(entry: &Entry, vendor_based_bookkeeping: bool) -> Check {
    let message = match entry.applies {
        Applies::WithVendorBookkeeping if !vendor_based_bookkeeping => NO_VENDOR_BOOKKEEPING,
        _ => NOT_CHECKED,
    };
    Check::skipped(&entry.id, message)
}

/// Fails compilation when two of `rules` share an id, or one has an empty id
/// or title; [`export_validator!`](crate::export_validator) runs it on
/// [`Validator::RULES`](crate::Validator::RULES).
#[doc(hidden)]
pub const fn assert_declarable(rules: &[Rule]) {
    let mut i = 0;
    while i < rules.len() {
        assert!(
            !rules[i].id.is_empty() && !rules[i].title.is_empty(),
            "every rule of Validator::RULES needs an id and a title"
        );
        let mut j = i + 1;
        while j < rules.len() {
            assert!(
                !same(rules[i].id, rules[j].id),
                "two rules of Validator::RULES share an id"
            );
            j += 1;
        }
        i += 1;
    }
}

/// `a == b`, in a constant context.
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CheckStatus, FailureReason, JobStatus};

    const RULES: &[Rule] = &[
        Rule::new("demo.connection", "Connection"),
        Rule::new("demo.company", "Company"),
        Rule::vendor_bookkeeping("demo.vendors", "Vendors"),
        Rule::new("demo.accounts", "Accounts"),
    ];

    fn info() -> PluginInfo {
        PluginInfo::new("demo", "1.0.0", "demo").display_name("Demo Books")
    }

    fn job(vendor_based_bookkeeping: bool) -> ExportJob {
        ExportJob {
            id: "job".to_owned(),
            company_id: "company".to_owned(),
            status: JobStatus::InProgress,
            created_at: "2026-11-25T09:00:00Z".to_owned(),
            number_of_items: 1,
            vendor_based_bookkeeping,
            is_interactive: true,
            expires_in: 600,
        }
    }

    fn plan(vendor_based_bookkeeping: bool) -> Plan {
        Plan::new(&info(), RULES, &job(vendor_based_bookkeeping))
    }

    fn ids(report: &Report) -> Vec<&str> {
        report.checks().iter().map(|c| c.id.as_str()).collect()
    }

    const ALL: [&str; 5] = [
        "demo.settings",
        "demo.connection",
        "demo.company",
        "demo.vendors",
        "demo.accounts",
    ];

    #[test]
    fn the_report_lists_every_rule_in_declared_order_whatever_was_recorded() {
        let mut plan = plan(true);
        plan.record(Check::passed("demo.settings", "ok"));
        plan.record(Check::passed("demo.accounts", "accounts"));
        plan.record(Check::passed("demo.connection", "connected"));
        let report = plan.finish();
        assert_eq!(ids(&report), ALL);
        let statuses: Vec<CheckStatus> = report.checks().iter().map(|c| c.status).collect();
        assert_eq!(
            statuses,
            [
                CheckStatus::Passed,
                CheckStatus::Passed,
                CheckStatus::Skipped,
                CheckStatus::Skipped,
                CheckStatus::Passed,
            ]
        );
        assert_eq!(report.checks()[2].message, NOT_CHECKED);
    }

    #[test]
    fn an_early_failure_leaves_the_rest_not_checked() {
        let mut plan = plan(true);
        plan.record(Check::passed("demo.settings", "ok"));
        plan.record(Check::failed(
            "demo.connection",
            FailureReason::AccountingSystemAuthenticationFailure,
            "reconnect",
        ));
        assert!(plan.is_blocked());
        let report = plan.finish();
        assert_eq!(ids(&report), ALL);
        for check in &report.checks()[2..] {
            assert_eq!(check.status, CheckStatus::Skipped, "{}", check.id);
            assert_eq!(check.message, NOT_CHECKED, "{}", check.id);
        }
    }

    #[test]
    fn vendor_rules_say_why_for_jobs_without_vendor_bookkeeping() {
        let mut plan = plan(false);
        assert!(!plan.applies("demo.vendors"));
        assert!(plan.applies("demo.company"));
        plan.record(Check::failed(
            "demo.connection",
            FailureReason::AccountingSystemUnreachable,
            "down",
        ));
        let report = plan.finish();
        assert_eq!(report.checks()[3].id, "demo.vendors");
        assert_eq!(report.checks()[3].message, NO_VENDOR_BOOKKEEPING);
        assert_eq!(report.checks()[2].message, NOT_CHECKED);
    }

    #[test]
    fn vendor_rules_a_job_needs_are_not_checked_when_unreached() {
        let mut plan = plan(true);
        assert!(plan.applies("demo.vendors"));
        plan.record(Check::passed("demo.connection", "connected"));
        let report = plan.finish();
        assert_eq!(report.checks()[3].id, "demo.vendors");
        assert_eq!(report.checks()[3].message, NOT_CHECKED);
    }

    #[test]
    fn skip_rest_after_closes_the_later_rules_by_id() {
        let mut plan = plan(false);
        plan.record(Check::passed("demo.connection", "connected"));
        plan.record(Check::failed(
            "demo.company",
            FailureReason::MissingConfiguration,
            "wrong company",
        ));
        plan.skip_rest_after("demo.company");
        assert_eq!(
            plan.check("demo.vendors").map(|c| c.message.as_str()),
            Some(NO_VENDOR_BOOKKEEPING)
        );
        assert_eq!(
            plan.check("demo.accounts").map(|c| c.message.as_str()),
            Some(NOT_CHECKED)
        );
        assert!(
            plan.check("demo.settings").is_none(),
            "earlier rules stay open"
        );
        assert_eq!(ids(&plan.finish()), ALL);
    }

    #[test]
    fn standard_skips_use_one_wording() {
        let mut plan = plan(true);
        plan.skip_attachments_off("demo.accounts");
        plan.skip("demo.company", "No company is configured.");
        assert_eq!(
            plan.check("demo.accounts").unwrap().message,
            "Receipts are not attached: turned off in Pleo's Demo Books settings."
        );
        assert_eq!(plan.display_name(), "Demo Books");
        assert_eq!(plan.settings_rule(), "demo.settings");
        assert!(!plan.is_blocked(), "skips never block");
    }

    #[test]
    #[should_panic(expected = "rule demo.unknown is not declared")]
    fn an_undeclared_rule_is_a_plugin_bug() {
        plan(true).record(Check::passed("demo.unknown", "?"));
    }

    #[test]
    #[should_panic(expected = "rule demo.company has a check already")]
    fn a_second_check_for_one_rule_is_a_plugin_bug() {
        let mut plan = plan(true);
        plan.record(Check::passed("demo.company", "one"));
        plan.record(Check::passed("demo.company", "two"));
    }

    #[test]
    #[should_panic(expected = "applies only to vendor bookkeeping")]
    fn checking_a_vendor_rule_the_job_does_not_need_is_a_plugin_bug() {
        plan(false).record(Check::passed("demo.vendors", "vendors"));
    }

    #[test]
    #[should_panic(expected = "rule demo.settings is declared twice")]
    fn declaring_the_settings_rule_again_is_a_plugin_bug() {
        Plan::new(
            &info(),
            &[Rule::new("demo.settings", "Settings again")],
            &job(true),
        );
    }

    #[test]
    #[should_panic(expected = "has no display name")]
    fn a_plan_needs_the_display_name() {
        Plan::new(&PluginInfo::new("demo", "1.0.0", "demo"), RULES, &job(true));
    }

    #[test]
    fn plugin_info_lists_the_settings_rule_first() {
        let rules = Plan::rule_infos("demo", RULES);
        let ids: Vec<&str> = rules.iter().map(|rule| rule.id.as_str()).collect();
        assert_eq!(ids, ALL);
        assert_eq!(rules[0].title, SETTINGS_TITLE);
        assert_eq!(rules[3].title, "Vendors");
    }

    #[test]
    fn declarable_rules_are_checked_at_compile_time() {
        const _: () = assert_declarable(RULES);
        assert!(same("demo.a", "demo.a"));
        assert!(!same("demo.a", "demo.b"));
        assert!(!same("demo.a", "demo.ab"));
    }
}
