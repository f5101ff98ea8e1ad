//! One accounting system's versions: which is active, which were active
//! before it (what a rollback returns to), which wait on standby, which were
//! rolled back from or refused; the newest version wins.

use std::cmp::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use preflight_runtime::cache::CacheUse;
use preflight_runtime::plugin::Plugin;

use super::{VersionState, VersionView, source};

/// Why a version cannot be put in shadow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ShadowRefusal {
    /// No loaded version of that number.
    NoSuchVersion,
    /// It is the only version ever active: nothing to compare it with.
    OnlyVersion,
}

/// One accounting system's versions.
#[derive(Default)]
pub(super) struct Book {
    pub(super) entries: Vec<Entry>,
    /// Sources in the order they were activated; the last is active.
    pub(super) history: Vec<String>,
    /// The source of the version in shadow, if any: run offline beside the
    /// active one on each live validation's tape, never acted on.
    pub(super) shadow: Option<String>,
    /// The source of the canary version and the share of companies, in
    /// percent, it serves.
    pub(super) canary: Option<(String, u8)>,
}

pub(super) struct Entry {
    pub(super) source: String,
    pub(super) version: String,
    pub(super) state: VersionState,
    pub(super) plugin: Option<Arc<Plugin>>,
    pub(super) error: Option<String>,
    /// Of the files this entry was loaded (or refused) from.
    pub(super) fingerprint: Option<[u8; 32]>,
    /// Of later files that were refused while this entry kept serving.
    pub(super) refused: Option<[u8; 32]>,
    /// `key <id>`, `unsigned` or `bundled`.
    pub(super) signed_by: Option<String>,
    pub(super) cache: Option<CacheUse>,
    pub(super) loaded_at: SystemTime,
    pub(super) load_time: Duration,
}

impl Book {
    /// Records a loaded version: it replaces an entry of the same source,
    /// and becomes active when it replaces the active one or is not older
    /// than it (the newest version wins). Returns whether it is active.
    pub(super) fn place(&mut self, mut entry: Entry) -> bool {
        // New files of a version in shadow or canary keep it there.
        let kept = if self.shadow.as_deref() == Some(entry.source.as_str()) {
            Some(VersionState::Shadow)
        } else if self
            .canary
            .as_ref()
            .is_some_and(|(canary, _)| canary == &entry.source)
        {
            Some(VersionState::Canary)
        } else {
            None
        };
        if let Some(state) = kept {
            let index = self.entries.iter().position(|e| e.source == entry.source);
            entry.state = state;
            match index {
                Some(index) => self.entries[index] = entry,
                None => self.entries.push(entry),
            }
            return false;
        }
        let replaced = self.remove(&entry.source);
        let replaces_active = replaced
            .as_ref()
            .is_some_and(|old| old.state == VersionState::Active);
        let current = self
            .history
            .last()
            .and_then(|source| self.entries.iter().find(|e| &e.source == source));
        let activate = replaces_active
            || current.is_none_or(|active| {
                source::compare_versions(&entry.version, &active.version) != Ordering::Less
            });
        self.history.retain(|source| source != &entry.source);
        if activate {
            if let Some(active) = self
                .history
                .last()
                .cloned()
                .and_then(|source| self.entry_mut(&source))
            {
                active.state = VersionState::Previous;
            }
            self.history.push(entry.source.clone());
            entry.state = VersionState::Active;
        }
        self.entries.push(entry);
        activate
    }

    /// Makes the version active before the current one active again, the
    /// current one rolled back; `(from, to)` sources, or `None` when only
    /// one version was ever active.
    pub(super) fn roll_back(&mut self) -> Option<(String, String)> {
        if self.history.len() < 2 {
            return None;
        }
        let from = self.history.pop()?;
        let to = self.history.last()?.clone();
        if let Some(target) = self.entry_mut(&to) {
            target.state = VersionState::Active;
        }
        if let Some(entry) = self.entry_mut(&from) {
            entry.state = VersionState::RolledBack;
        }
        Some((from, to))
    }

    /// Puts the loaded version `version` in shadow (the active one is rolled
    /// back from first, so it is compared with the version before it);
    /// the source shadowed.
    pub(super) fn set_shadow(&mut self, version: &str) -> Result<String, ShadowRefusal> {
        let source = self.loaded(version)?;
        self.take_out(&source)?;
        if let Some(entry) = self.entry_mut(&source) {
            entry.state = VersionState::Shadow;
        }
        self.shadow = Some(source.clone());
        Ok(source)
    }

    /// Lets loaded version `version` serve `percent` of the companies (the
    /// active one is rolled back from first, so the rest get the version
    /// before it); called again, it moves the share. The source.
    pub(super) fn set_canary(
        &mut self,
        version: &str,
        percent: u8,
    ) -> Result<String, ShadowRefusal> {
        let source = self.loaded(version)?;
        if self
            .canary
            .as_ref()
            .is_none_or(|(canary, _)| canary != &source)
        {
            self.take_out(&source)?;
        }
        if let Some(entry) = self.entry_mut(&source) {
            entry.state = VersionState::Canary;
        }
        self.canary = Some((source.clone(), percent));
        Ok(source)
    }

    /// Ends the canary: every company gets the active version again (the
    /// canary is rolled back from); its source.
    pub(super) fn end_canary(&mut self) -> Option<String> {
        let (source, _) = self.canary.take()?;
        if let Some(entry) = self.entry_mut(&source) {
            entry.state = VersionState::RolledBack;
        }
        Some(source)
    }

    /// The source of loaded version `version`.
    fn loaded(&self, version: &str) -> Result<String, ShadowRefusal> {
        self.entries
            .iter()
            .find(|entry| entry.version == version && entry.state != VersionState::Failed)
            .map(|entry| entry.source.clone())
            .ok_or(ShadowRefusal::NoSuchVersion)
    }

    /// Frees `source` for a rollout: whatever was in shadow or canary
    /// before goes to standby, and when `source` is active the version
    /// before it serves again.
    fn take_out(&mut self, source: &str) -> Result<(), ShadowRefusal> {
        if self.history.last().map(String::as_str) == Some(source) && self.history.len() < 2 {
            return Err(ShadowRefusal::OnlyVersion);
        }
        let previous = [
            self.shadow.take(),
            self.canary.take().map(|(canary, _)| canary),
        ];
        for other in previous.into_iter().flatten() {
            if let Some(entry) = self.entry_mut(&other) {
                entry.state = VersionState::Standby;
            }
        }
        if self.history.last().map(String::as_str) == Some(source) {
            self.roll_back();
        }
        self.history.retain(|active| active != source);
        Ok(())
    }

    /// Makes the version in shadow (else the canary) active, the active
    /// one previous; its source.
    pub(super) fn promote(&mut self) -> Option<String> {
        let source = self
            .shadow
            .take()
            .or_else(|| self.canary.take().map(|(canary, _)| canary))?;
        if let Some(active) = self
            .history
            .last()
            .cloned()
            .and_then(|active| self.entry_mut(&active))
        {
            active.state = VersionState::Previous;
        }
        self.history.push(source.clone());
        if let Some(entry) = self.entry_mut(&source) {
            entry.state = VersionState::Active;
        }
        Some(source)
    }

    /// Takes the version in shadow out of it (standby); its source.
    pub(super) fn discard(&mut self) -> Option<String> {
        let source = self.shadow.take()?;
        if let Some(entry) = self.entry_mut(&source) {
            entry.state = VersionState::Standby;
        }
        Some(source)
    }

    pub(super) fn entry_mut(&mut self, source: &str) -> Option<&mut Entry> {
        self.entries.iter_mut().find(|entry| entry.source == source)
    }

    pub(super) fn remove(&mut self, source: &str) -> Option<Entry> {
        if self.shadow.as_deref() == Some(source) {
            self.shadow = None;
        }
        if self
            .canary
            .as_ref()
            .is_some_and(|(canary, _)| canary == source)
        {
            self.canary = None;
        }
        let index = self
            .entries
            .iter()
            .position(|entry| entry.source == source)?;
        Some(self.entries.remove(index))
    }
}

impl Entry {
    pub(super) fn view(&self, system: &str) -> VersionView {
        let plugin = self.plugin.as_deref();
        VersionView {
            accounting_system: system.to_owned(),
            version: self.version.clone(),
            state: self.state,
            source: self.source.clone(),
            name: plugin.map(|p| p.info().name.clone()),
            sha256: plugin.map(|p| p.digest().to_owned()),
            size: plugin.map(Plugin::size),
            capabilities: plugin.map_or_else(Vec::new, |p| p.info().capabilities.clone()),
            display_name: plugin.and_then(|p| p.info().display_name.clone()),
            contract: plugin.map(|p| p.info().contract.clone()),
            signed_by: self.signed_by.clone(),
            loaded_at: humantime::format_rfc3339_millis(self.loaded_at).to_string(),
            load_ms: self.load_time.as_secs_f64() * 1e3,
            cache: self.cache.as_ref().map(|c| c.as_str().to_owned()),
            error: self.error.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(version: &str) -> Entry {
        Entry {
            source: format!("plugins/xero/{version}"),
            version: version.to_owned(),
            state: VersionState::Standby,
            plugin: None,
            error: None,
            fingerprint: None,
            refused: None,
            signed_by: None,
            cache: None,
            loaded_at: SystemTime::UNIX_EPOCH,
            load_time: Duration::ZERO,
        }
    }

    fn states(book: &Book) -> Vec<(String, VersionState)> {
        let mut states: Vec<_> = book
            .entries
            .iter()
            .map(|entry| (entry.version.clone(), entry.state))
            .collect();
        states.sort_by(|a, b| source::compare_versions(&a.0, &b.0));
        states
    }

    #[test]
    fn a_shadow_runs_beside_the_version_before_it_until_promoted_or_discarded() {
        let mut book = Book::default();
        assert!(book.place(entry("0.1.0")));
        assert_eq!(book.set_shadow("0.1.0"), Err(ShadowRefusal::OnlyVersion));
        assert!(book.place(entry("0.3.0")));
        assert_eq!(book.set_shadow("0.9.9"), Err(ShadowRefusal::NoSuchVersion));
        // The active 0.3.0 goes into shadow; 0.1.0 serves again.
        assert_eq!(book.set_shadow("0.3.0").unwrap(), "plugins/xero/0.3.0");
        assert_eq!(
            states(&book),
            [
                ("0.1.0".to_owned(), VersionState::Active),
                ("0.3.0".to_owned(), VersionState::Shadow),
            ]
        );
        // New files of the shadowed version stay in shadow.
        assert!(!book.place(entry("0.3.0")));
        assert_eq!(book.shadow.as_deref(), Some("plugins/xero/0.3.0"));
        assert_eq!(book.promote().unwrap(), "plugins/xero/0.3.0");
        assert_eq!(
            states(&book),
            [
                ("0.1.0".to_owned(), VersionState::Previous),
                ("0.3.0".to_owned(), VersionState::Active),
            ]
        );
        assert!(book.promote().is_none(), "nothing in shadow any more");
        // A rollback after a promotion returns to 0.1.0.
        assert_eq!(book.roll_back().unwrap().1, "plugins/xero/0.1.0");
        book.set_shadow("0.3.0").unwrap();
        assert_eq!(book.discard().unwrap(), "plugins/xero/0.3.0");
        assert_eq!(
            states(&book),
            [
                ("0.1.0".to_owned(), VersionState::Active),
                ("0.3.0".to_owned(), VersionState::Standby),
            ]
        );
    }

    #[test]
    fn a_canary_serves_a_share_until_promoted_or_ended() {
        let mut book = Book::default();
        assert!(book.place(entry("0.1.0")));
        assert!(book.place(entry("0.3.0")));
        assert_eq!(book.set_canary("0.3.0", 10).unwrap(), "plugins/xero/0.3.0");
        assert_eq!(book.history.last().unwrap(), "plugins/xero/0.1.0");
        // Moving the share keeps everything else as it is.
        book.set_canary("0.3.0", 50).unwrap();
        assert_eq!(book.canary, Some(("plugins/xero/0.3.0".to_owned(), 50)));
        assert_eq!(
            states(&book),
            [
                ("0.1.0".to_owned(), VersionState::Active),
                ("0.3.0".to_owned(), VersionState::Canary),
            ]
        );
        // Putting it in shadow ends the canary.
        book.set_shadow("0.3.0").unwrap();
        assert!(book.canary.is_none());
        book.set_canary("0.3.0", 20).unwrap();
        assert!(book.shadow.is_none(), "one rollout at a time");
        assert_eq!(book.end_canary().unwrap(), "plugins/xero/0.3.0");
        assert_eq!(
            states(&book),
            [
                ("0.1.0".to_owned(), VersionState::Active),
                ("0.3.0".to_owned(), VersionState::RolledBack),
            ]
        );
        book.set_canary("0.3.0", 20).unwrap();
        assert_eq!(book.promote().unwrap(), "plugins/xero/0.3.0");
        assert_eq!(book.history.last().unwrap(), "plugins/xero/0.3.0");
    }

    #[test]
    fn the_newest_version_wins_and_an_older_one_waits_on_standby() {
        let mut book = Book::default();
        assert!(book.place(entry("0.1.0")));
        assert!(book.place(entry("0.2.0")));
        assert!(!book.place(entry("0.1.5")), "older than the active one");
        assert_eq!(
            states(&book),
            [
                ("0.1.0".to_owned(), VersionState::Previous),
                ("0.1.5".to_owned(), VersionState::Standby),
                ("0.2.0".to_owned(), VersionState::Active),
            ]
        );
        // New files for the active version replace it and stay active.
        assert!(book.place(entry("0.2.0")));
        assert_eq!(book.entries.len(), 3);
        assert_eq!(book.history.last().unwrap(), "plugins/xero/0.2.0");
    }

    #[test]
    fn rollback_returns_to_the_previous_active_version_only() {
        let mut book = Book::default();
        book.place(entry("0.1.0"));
        assert_eq!(book.roll_back(), None, "nothing to roll back to");
        book.place(entry("0.2.0"));
        book.place(entry("0.3.0"));
        assert_eq!(
            book.roll_back(),
            Some((
                "plugins/xero/0.3.0".to_owned(),
                "plugins/xero/0.2.0".to_owned()
            ))
        );
        assert_eq!(
            states(&book),
            [
                ("0.1.0".to_owned(), VersionState::Previous),
                ("0.2.0".to_owned(), VersionState::Active),
                ("0.3.0".to_owned(), VersionState::RolledBack),
            ]
        );
        book.roll_back();
        assert_eq!(book.roll_back(), None, "0.1.0 was the first");
        assert_eq!(
            book.entries
                .iter()
                .filter(|entry| entry.state == VersionState::Active)
                .count(),
            1
        );
    }
}
