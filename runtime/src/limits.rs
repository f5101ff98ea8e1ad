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
    /// Body size of one outbound request, in bytes.
    pub request_bytes: usize,
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
            request_bytes: 1 << 20,
            report_bytes: 256 << 10,
            log_bytes: 64 << 10,
        }
    }
}

/// What one outbound request may carry besides its body: fixed, the same for
/// every plugin. A request over any of them is refused before anything is
/// sent, as `invalid-request` naming the bound.
pub mod request {
    /// Headers a plugin may set on one request.
    pub const HEADERS: usize = 64;
    /// Bytes of one header's name and value together.
    pub const HEADER_BYTES: usize = 8 << 10;
    /// Bytes of the URL.
    pub const URL_BYTES: usize = 8 << 10;
}

/// The values each limit may take, as the operator's ceiling (`[sandbox]`)
/// or as a manifest's request (`[limits]`): one table, so that the operator
/// file and every manifest are held to the same bounds.
pub mod ranges {
    use std::ops::RangeInclusive;

    /// `memoryMib`.
    pub const MEMORY_MIB: RangeInclusive<usize> = 1..=4_096;
    /// `wallTimeMs`.
    pub const WALL_TIME_MS: RangeInclusive<u64> = 100..=600_000;
    /// `requests`.
    pub const REQUESTS: RangeInclusive<u32> = 1..=10_000;
    /// `requestTimeoutMs`.
    pub const REQUEST_TIMEOUT_MS: RangeInclusive<u64> = 10..=120_000;
    /// `responseBytes`.
    pub const RESPONSE_BYTES: RangeInclusive<usize> = 1..=256 << 20;
    /// `requestBytes`: 0 allows requests without a body only.
    pub const REQUEST_BYTES: RangeInclusive<usize> = 0..=64 << 20;
    /// `reportBytes`.
    pub const REPORT_BYTES: RangeInclusive<usize> = 1..=16 << 20;
    /// `logBytes`.
    pub const LOG_BYTES: RangeInclusive<usize> = 1..=16 << 20;

    /// `value` when `range` holds it; otherwise the one wording every
    /// refusal of an out-of-range number uses, `{value} is out of range:
    /// {start} to {end}` (callers put the file and the field in front).
    pub fn check<T: PartialOrd + std::fmt::Display>(
        value: T,
        range: &RangeInclusive<T>,
    ) -> Result<T, String> {
        if range.contains(&value) {
            Ok(value)
        } else {
            Err(format!(
                "{value} is out of range: {} to {}",
                range.start(),
                range.end()
            ))
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
