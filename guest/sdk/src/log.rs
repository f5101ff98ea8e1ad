//! Diagnostics. The host tags each line with the plugin and the job, and
//! bounds how much one validation may write.

use crate::bindings::preflight::plugin::log::Level;
#[cfg(target_arch = "wasm32")]
use crate::bindings::preflight::plugin::log::log;
// Natively there is no host: the test harness keeps the lines.
#[cfg(not(target_arch = "wasm32"))]
use crate::testing::log;

/// Logs at debug level.
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Logs at info level.
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Logs at warn level.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// Logs at error level.
pub fn error(message: &str) {
    log(Level::Error, message);
}
