//! State shared by every request of one Business Central emulator.

use std::sync::{Mutex, MutexGuard};

use super::{BusinessCentralConfig, Scenario};

/// Everything the handlers of one emulator share.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) config: BusinessCentralConfig,
    scenarios: Mutex<Vec<Scenario>>,
}

impl Shared {
    pub(super) fn new(config: BusinessCentralConfig) -> Self {
        Self {
            scenarios: Mutex::new(config.scenarios.clone()),
            config,
        }
    }

    /// The scenarios as they are right now; a request keeps this snapshot throughout.
    pub(super) fn active(&self) -> Active {
        Active(lock(&self.scenarios).clone())
    }

    pub(super) fn set_scenarios(&self, scenarios: &[Scenario]) {
        *lock(&self.scenarios) = scenarios.to_vec();
    }
}

/// A poisoned lock only means a panic in another request; the data is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The scenarios active for one request.
#[derive(Clone, Debug, Default)]
pub(super) struct Active(Vec<Scenario>);

impl Active {
    pub(super) fn has(&self, scenario: Scenario) -> bool {
        self.0.contains(&scenario)
    }
}
