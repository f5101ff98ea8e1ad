//! The host side of the WIT contract, in every version this host runs: the
//! only `bindgen!`s of the host (one per contract version) and every
//! conversion between WIT values and the host's own types.
//!
//! The latest version (`wit/plugin.wit`, [`LATEST`]) is generated here; each
//! older one has a module of its own, generated from its frozen copy
//! (`wit/since_vX.Y.Z/`), which implements that version's imports by calling
//! the latest ones and converts its exports' values to the latest types. The
//! rest of the host sees only `Pre` and `Instance`, which hide the version.
//!
//! `http.send` is async (it awaits the outbound request); the exports are
//! called asynchronously so that epoch interruption can yield a busy plugin
//! back to the executor instead of blocking a worker thread.
//!
//! # Layout
//!
//! - this file: the latest bindings, [`ContractVersion`], `Pre` and
//!   `Instance`;
//! - `convert`: the host's types to and from the latest WIT types;
//! - `v0_1_0`: `preflight:plugin@0.1.0`, frozen, converted to the latest.

mod convert;
mod v0_1_0;

pub(crate) use convert::plugin_info;

use wasmtime::component::{InstancePre, Linker};
use wasmtime::{AsContextMut, Store};

use crate::config::IntegrationConfig;
use crate::job::ExportJob;
use crate::sandbox::PluginCtx;

mod generated {
    #![expect(
        missing_docs,
        reason = "generated from wit/plugin.wit, whose items are documented there"
    )]

    wasmtime::component::bindgen!({
        path: "../wit",
        world: "preflight:plugin/plugin@0.2.0",
        imports: {
            "preflight:plugin/http.send": async,
            // Trappable so that a plugin flooding the log is stopped.
            "preflight:plugin/log.log": trappable,
        },
        exports: { default: async },
    });
}

pub use generated::exports::preflight::plugin::validator as wit_validator;
pub use generated::preflight::plugin::{http as wit_http, log as wit_log, types as wit_types};

/// The contract versions this host runs, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ContractVersion {
    /// `preflight:plugin@0.1.0`: no display name, settings schema or rule
    /// list in `plugin-info`.
    V0_1_0,
    /// `preflight:plugin@0.2.0`, the latest.
    V0_2_0,
}

/// The newest contract version: what the SDK builds and new plugins target.
pub const LATEST: ContractVersion = ContractVersion::V0_2_0;

impl ContractVersion {
    /// Every version this host runs, oldest first.
    pub const ALL: [ContractVersion; 2] = [ContractVersion::V0_1_0, ContractVersion::V0_2_0];

    /// Every version this host runs, for messages: `0.1.0, 0.2.0`.
    pub fn supported() -> String {
        Self::ALL.map(ContractVersion::as_str).join(", ")
    }

    /// The version as written in WIT names, e.g. `0.2.0`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContractVersion::V0_1_0 => "0.1.0",
            ContractVersion::V0_2_0 => "0.2.0",
        }
    }

    /// The contract's WIT, as this host was built against it: what a plugin
    /// of this version is written to (`preflight wit`).
    pub fn wit(self) -> &'static str {
        match self {
            ContractVersion::V0_1_0 => include_str!("../../wit/since_v0.1.0/plugin.wit"),
            ContractVersion::V0_2_0 => include_str!("../../wit/plugin.wit"),
        }
    }

    /// The version a component built against WIT version `version` runs
    /// as: 0.x versions are compatible within the same minor version
    /// (semver), so `0.2.3` runs as 0.2.0.
    pub fn of(version: &str) -> Option<ContractVersion> {
        let (minor, patch) = version.rsplit_once('.')?;
        patch.parse::<u32>().ok()?;
        Self::ALL
            .into_iter()
            .find(|known| known.as_str().rsplit_once('.').map(|(m, _)| m) == Some(minor))
    }
}

impl std::fmt::Display for ContractVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Links the imports of every contract version.
pub(crate) fn add_to_linker(linker: &mut Linker<PluginCtx>) -> wasmtime::Result<()> {
    generated::Plugin::add_to_linker::<_, wasmtime::component::HasSelf<PluginCtx>>(
        linker,
        |ctx| ctx,
    )?;
    v0_1_0::add_to_linker(linker)
}

/// A component pre-instantiated against the contract version it exports.
pub(crate) enum Pre {
    V0_1_0(v0_1_0::PluginPre<PluginCtx>),
    Latest(generated::PluginPre<PluginCtx>),
}

impl Pre {
    /// Checks that `instance_pre` fits `version` of the contract (its
    /// exports have the types that version says).
    pub(crate) fn new(
        instance_pre: InstancePre<PluginCtx>,
        version: ContractVersion,
    ) -> wasmtime::Result<Pre> {
        Ok(match version {
            ContractVersion::V0_1_0 => Pre::V0_1_0(v0_1_0::PluginPre::new(instance_pre)?),
            ContractVersion::V0_2_0 => Pre::Latest(generated::PluginPre::new(instance_pre)?),
        })
    }

    /// A fresh instance in `store`.
    pub(crate) async fn instantiate(
        &self,
        store: &mut Store<PluginCtx>,
    ) -> wasmtime::Result<Instance> {
        Ok(match self {
            Pre::V0_1_0(pre) => Instance::V0_1_0(pre.instantiate_async(store).await?),
            Pre::Latest(pre) => Instance::Latest(pre.instantiate_async(store).await?),
        })
    }
}

/// An instance of a component of any version, whose calls answer in the
/// latest version's types.
pub(crate) enum Instance {
    V0_1_0(v0_1_0::Plugin),
    Latest(generated::Plugin),
}

impl Instance {
    /// `validator.info`.
    pub(crate) async fn info(
        &self,
        store: impl AsContextMut<Data = PluginCtx>,
    ) -> wasmtime::Result<wit_types::PluginInfo> {
        match self {
            Instance::V0_1_0(plugin) => v0_1_0::info(plugin, store).await,
            Instance::Latest(plugin) => plugin.preflight_plugin_validator().call_info(store).await,
        }
    }

    /// `validator.validate-settings`.
    pub(crate) async fn validate_settings(
        &self,
        store: impl AsContextMut<Data = PluginCtx>,
        settings: &str,
    ) -> wasmtime::Result<Result<(), Vec<wit_types::SettingsError>>> {
        match self {
            Instance::V0_1_0(plugin) => v0_1_0::validate_settings(plugin, store, settings).await,
            Instance::Latest(plugin) => {
                plugin
                    .preflight_plugin_validator()
                    .call_validate_settings(store, settings)
                    .await
            }
        }
    }

    /// `validator.validate`.
    pub(crate) async fn validate(
        &self,
        store: impl AsContextMut<Data = PluginCtx>,
        job: &ExportJob,
        config: &IntegrationConfig,
    ) -> wasmtime::Result<wit_types::Report> {
        let (job, config) = (job.to_wit(), config.to_wit());
        match self {
            Instance::V0_1_0(plugin) => v0_1_0::validate(plugin, store, job, config).await,
            Instance::Latest(plugin) => {
                plugin
                    .preflight_plugin_validator()
                    .call_validate(store, &job, &config)
                    .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_compatible_within_a_minor_version() {
        assert_eq!(ContractVersion::of("0.1.0"), Some(ContractVersion::V0_1_0));
        assert_eq!(ContractVersion::of("0.1.7"), Some(ContractVersion::V0_1_0));
        assert_eq!(ContractVersion::of("0.2.0"), Some(ContractVersion::V0_2_0));
        assert_eq!(ContractVersion::of("0.3.0"), None);
        assert_eq!(ContractVersion::of("1.0.0"), None);
        assert_eq!(ContractVersion::of("0.2.x"), None);
        assert_eq!(LATEST, *ContractVersion::ALL.last().unwrap());
    }
}
