//! The guest components, built from `guest/` by this crate's build script.
//!
//! The host embeds [`plugins::ALL`] as its bundled plugins; tests load the
//! hostile ones from [`hostile`] and other versions of the production
//! plugins from [`fixtures`] by path. Nothing here is committed: every
//! build compiles the guests from source.

/// A built plugin component.
#[derive(Debug, Clone, Copy)]
pub struct Artifact {
    /// The plugin's directory name under `guest/plugins/`.
    pub name: &'static str,
    /// Where the build wrote the component.
    pub path: &'static str,
    /// The component itself.
    pub bytes: &'static [u8],
    /// Its manifest (`preflight-plugin.toml`, TOML).
    pub manifest: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/artifacts.rs"));
