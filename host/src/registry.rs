//! The plugins the runner uses, by accounting system.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use crate::bundled::PluginSourceError;
use crate::engine::Runtime;
use crate::plugin::Plugin;

/// Accounting system id → the plugin that validates for it.
#[derive(Default)]
pub struct Registry {
    plugins: RwLock<BTreeMap<String, Arc<Plugin>>>,
}

impl Registry {
    /// A registry holding every bundled plugin.
    pub async fn bundled(runtime: &Runtime) -> Result<Registry, PluginSourceError> {
        Self::bundled_with(runtime, &std::collections::BTreeMap::new()).await
    }

    /// Every bundled plugin, each narrowed to the operator's allow-list for
    /// its accounting system when `origins` has one.
    pub async fn bundled_with(
        runtime: &Runtime,
        origins: &std::collections::BTreeMap<String, Vec<crate::manifest::OriginPattern>>,
    ) -> Result<Registry, PluginSourceError> {
        let registry = Registry::default();
        for artifact in crate::bundled::all() {
            let mut plugin = crate::bundled::load_artifact(runtime, artifact).await?;
            if let Some(allowed) = origins.get(&plugin.info().accounting_system) {
                plugin.restrict_origins(allowed.clone());
            }
            registry.insert(plugin);
        }
        Ok(registry)
    }

    /// Adds a plugin, replacing the one of the same accounting system.
    pub fn insert(&self, plugin: Plugin) {
        let system = plugin.info().accounting_system.clone();
        self.plugins
            .write()
            .expect("registry lock")
            .insert(system, Arc::new(plugin));
    }

    /// The plugin for `accounting_system`.
    pub fn get(&self, accounting_system: &str) -> Option<Arc<Plugin>> {
        self.plugins
            .read()
            .expect("registry lock")
            .get(accounting_system)
            .cloned()
    }

    /// The accounting systems served.
    pub fn systems(&self) -> Vec<String> {
        self.plugins
            .read()
            .expect("registry lock")
            .keys()
            .cloned()
            .collect()
    }
}
