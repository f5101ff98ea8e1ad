//! What one validation may use. Exceeding any limit ends the validation with a
//! plugin fault that names the limit; it never fails the job with a reason
//! that blames the company's setup.

use std::time::Duration;

/// Per-validation limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory of one plugin instance, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock time of one validation, instantiation included.
    pub wall_time: Duration,
    /// Outbound HTTP requests per validation.
    pub requests: u32,
    /// Time to wait for one outbound response (headers and body).
    pub request_timeout: Duration,
    /// Body size of one outbound response, in bytes.
    pub response_bytes: usize,
    /// Size of the report a plugin returns (ids, messages, hints), in bytes.
    pub report_bytes: usize,
    /// Log volume per validation, in bytes.
    pub log_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            wall_time: Duration::from_secs(10),
            requests: 50,
            request_timeout: Duration::from_secs(5),
            response_bytes: 5 << 20,
            report_bytes: 256 << 10,
            log_bytes: 64 << 10,
        }
    }
}

/// Which limit a validation ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// [`Limits::memory_bytes`].
    Memory,
    /// [`Limits::wall_time`].
    WallTime,
    /// [`Limits::report_bytes`].
    ReportSize,
    /// [`Limits::log_bytes`].
    LogVolume,
}

impl Limit {
    /// The limit's name and value in `limits`, for messages.
    pub fn describe(self, limits: &Limits) -> String {
        match self {
            Limit::Memory => format!("memory limit of {} MiB", limits.memory_bytes >> 20),
            Limit::WallTime => format!("wall-time limit of {} ms", limits.wall_time.as_millis()),
            Limit::ReportSize => format!("report-size limit of {} KiB", limits.report_bytes >> 10),
            Limit::LogVolume => format!("log limit of {} KiB", limits.log_bytes >> 10),
        }
    }
}
