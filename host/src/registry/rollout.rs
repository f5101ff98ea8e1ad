//! Rollouts of a loaded version beside the active one, one at a time per
//! system:
//!
//! - **shadow**: run offline on each live validation's recorded exchanges
//!   (the runner does that), never acted on; then promoted (a hot swap, as a
//!   landing is) or discarded;
//! - **canary**: serves a share of the companies, chosen by a stable hash
//!   of the company id (the same company always gets the same version, on
//!   every replica), the active version the rest; the share can be moved;
//!   promoted, or rolled back (every company gets the active version again).
//!
//! Rollouts are kept in memory, as rollbacks are: after a restart the newest
//! version is active again.

use std::sync::Arc;

use preflight_runtime::plugin::Plugin;

use super::book::ShadowRefusal;
use super::{Registry, VersionView};

/// Why a shadow could not be set, promoted or discarded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShadowError {
    /// No plugin serves that accounting system.
    #[error("no plugin serves accounting system '{0}'")]
    UnknownSystem(String),
    /// No loaded version of that number.
    #[error("accounting system '{system}' has no loaded version {version}")]
    NoSuchVersion {
        /// The system.
        system: String,
        /// The version asked for.
        version: String,
    },
    /// It is the only version ever active.
    #[error(
        "{version} is the only version of '{system}' ever active: there is no live version to compare it with"
    )]
    OnlyVersion {
        /// The system.
        system: String,
        /// The version.
        version: String,
    },
    /// Nothing is in shadow (or canary, for a promotion).
    #[error("accounting system '{0}' has no version in shadow")]
    NoShadow(String),
    /// A canary share outside 1 to 100.
    #[error("a canary serves 1 to 100 percent of the companies, not {0}")]
    Share(u8),
}

/// Which of 100 buckets `company` falls in: the first two bytes of the
/// SHA-256 of its id, so every replica, and every restart, agrees.
pub fn bucket(company: uuid::Uuid) -> u8 {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(company.as_bytes());
    u8::try_from(u16::from_be_bytes([digest[0], digest[1]]) % 100).expect("below 100")
}

impl Registry {
    /// The plugin a validation of `company`'s job on `accounting_system`
    /// gets: the canary for its share of companies, else the active one.
    pub fn get_for(&self, accounting_system: &str, company: uuid::Uuid) -> Option<Arc<Plugin>> {
        let canary = self
            .canaries
            .read()
            .expect("registry lock")
            .get(accounting_system)
            .filter(|(_, percent)| bucket(company) < *percent)
            .map(|(plugin, _)| Arc::clone(plugin));
        canary.or_else(|| self.get(accounting_system))
    }

    /// Lets loaded version `version` serve `percent` (1 to 100) of
    /// `accounting_system`'s companies; called again with the same version,
    /// it moves the share.
    pub async fn canary(
        &self,
        accounting_system: &str,
        version: &str,
        percent: u8,
    ) -> Result<VersionView, ShadowError> {
        if !(1..=100).contains(&percent) {
            return Err(ShadowError::Share(percent));
        }
        let _changing = self.changing.lock().await;
        let mut books = self.books.lock().expect("registry lock");
        let book = books
            .get_mut(accounting_system)
            .ok_or_else(|| ShadowError::UnknownSystem(accounting_system.to_owned()))?;
        let source = book
            .set_canary(version, percent)
            .map_err(|refusal| refused(refusal, accounting_system, version))?;
        let view = book
            .entry_mut(&source)
            .expect("the canary is an entry")
            .view(accounting_system);
        self.publish(accounting_system, book);
        tracing::warn!(
            system = accounting_system,
            version,
            percent,
            "canary plugin version"
        );
        Ok(view)
    }

    /// Every loaded version of `accounting_system`, in the order they were
    /// first seen (a replay looks for the one that made a decision).
    pub fn plugins_of(&self, accounting_system: &str) -> Vec<Arc<Plugin>> {
        let books = self.books.lock().expect("registry lock");
        books.get(accounting_system).map_or_else(Vec::new, |book| {
            book.entries
                .iter()
                .filter_map(|entry| entry.plugin.clone())
                .collect()
        })
    }

    /// The version of `accounting_system` in shadow, if any.
    pub fn shadow_of(&self, accounting_system: &str) -> Option<Arc<Plugin>> {
        self.shadows
            .read()
            .expect("registry lock")
            .get(accounting_system)
            .cloned()
    }

    /// Puts loaded version `version` of `accounting_system` in shadow; when
    /// it is the active one, the version before it serves again, so the two
    /// are compared.
    pub async fn shadow(
        &self,
        accounting_system: &str,
        version: &str,
    ) -> Result<VersionView, ShadowError> {
        let _changing = self.changing.lock().await;
        let mut books = self.books.lock().expect("registry lock");
        let book = books
            .get_mut(accounting_system)
            .ok_or_else(|| ShadowError::UnknownSystem(accounting_system.to_owned()))?;
        let source = book
            .set_shadow(version)
            .map_err(|refusal| refused(refusal, accounting_system, version))?;
        let view = book
            .entry_mut(&source)
            .expect("the shadow is an entry")
            .view(accounting_system);
        self.publish(accounting_system, book);
        tracing::warn!(
            system = accounting_system,
            version,
            "plugin version in shadow"
        );
        Ok(view)
    }

    /// Makes the version in shadow active (a hot swap: validations in
    /// flight finish on the version they started on).
    pub async fn promote(&self, accounting_system: &str) -> Result<VersionView, ShadowError> {
        self.end_shadow(accounting_system, true).await
    }

    /// Takes the version in shadow out of it; the active one stays.
    pub async fn discard(&self, accounting_system: &str) -> Result<VersionView, ShadowError> {
        self.end_shadow(accounting_system, false).await
    }

    async fn end_shadow(
        &self,
        accounting_system: &str,
        promote: bool,
    ) -> Result<VersionView, ShadowError> {
        let _changing = self.changing.lock().await;
        let mut books = self.books.lock().expect("registry lock");
        let book = books
            .get_mut(accounting_system)
            .ok_or_else(|| ShadowError::UnknownSystem(accounting_system.to_owned()))?;
        let ended = if promote {
            book.promote()
        } else {
            book.discard()
        };
        let source = ended.ok_or_else(|| ShadowError::NoShadow(accounting_system.to_owned()))?;
        self.publish(accounting_system, book);
        if promote {
            self.metrics.inc(
                crate::metrics::PLUGIN_SWAPS,
                &[
                    ("accounting_system", accounting_system),
                    ("kind", "promote"),
                ],
            );
        }
        let view = book
            .entry_mut(&source)
            .expect("the shadow is an entry")
            .view(accounting_system);
        tracing::warn!(
            system = accounting_system,
            version = %view.version,
            "shadow {}",
            if promote { "promoted" } else { "discarded" }
        );
        Ok(view)
    }
}

/// The error of a refused rollout of `version`.
fn refused(refusal: ShadowRefusal, system: &str, version: &str) -> ShadowError {
    match refusal {
        ShadowRefusal::NoSuchVersion => ShadowError::NoSuchVersion {
            system: system.to_owned(),
            version: version.to_owned(),
        },
        ShadowRefusal::OnlyVersion => ShadowError::OnlyVersion {
            system: system.to_owned(),
            version: version.to_owned(),
        },
    }
}
