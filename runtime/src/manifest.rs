//! The plugin manifest: a TOML file that travels with each component and says
//! what the plugin asks for.
//!
//! ```toml
//! name = "xero"
//! version = "0.1.0"
//! accountingSystem = "xero"
//! wit = "preflight:plugin@0.2.0"
//! allowedOrigins = ["https://api.xero.com"]     # wildcards only in the leftmost label: "https://*.example.com"
//!
//! [limits]                                      # each optional; the operator's limit when absent
//! memoryMib = 32
//! wallTimeMs = 8000
//! requests = 20
//! requestTimeoutMs = 5000
//! responseBytes = 1048576
//! requestBytes = 65536
//! reportBytes = 65536
//! logBytes = 16384
//! ```
//!
//! The operator's limits are ceilings: a manifest can ask for less, never for
//! more. Each value must lie in [`ranges`](crate::limits::ranges), the table
//! the operator's file is held to as well; the file itself may be at most
//! [`MAX_BYTES`]. Origins must be `https`; plain `http` only to loopback hosts, and only
//! when the operator allows it (local emulators).

use std::time::Duration;

use serde::Deserialize;

use crate::bindings::ContractVersion;
use crate::limits::Limits;
use crate::plugin::PluginInfo;
pub use crate::sandbox::policy::OriginPattern;

/// A parsed manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Plugin name; must match what the component says in `info`.
    pub name: String,
    /// Plugin version; must match `info`.
    pub version: String,
    /// Accounting system; must match `info`.
    pub accounting_system: String,
    /// The contract it targets as written, `preflight:plugin@0.2.0`.
    pub wit: String,
    /// That contract version; must match what the component exports.
    pub contract: ContractVersion,
    /// Origins the plugin may reach.
    pub allowed_origins: Vec<OriginPattern>,
    /// Limits it asks for.
    pub limits: RequestedLimits,
}

/// Limits a manifest asks for; `None` takes the operator's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RequestedLimits {
    memory_mib: Option<usize>,
    wall_time_ms: Option<u64>,
    requests: Option<u32>,
    request_timeout_ms: Option<u64>,
    response_bytes: Option<usize>,
    request_bytes: Option<usize>,
    report_bytes: Option<usize>,
    log_bytes: Option<usize>,
}

/// The largest manifest read, in bytes.
pub const MAX_BYTES: usize = 64 << 10;

impl RequestedLimits {
    /// Refuses a value outside its range, naming the field.
    fn check(&self) -> Result<(), ManifestError> {
        use crate::limits::ranges;
        fn within<T: PartialOrd + std::fmt::Display>(
            field: &str,
            value: Option<T>,
            range: std::ops::RangeInclusive<T>,
        ) -> Result<(), ManifestError> {
            match value.map(|value| ranges::check(value, &range)) {
                Some(Err(message)) => Err(ManifestError {
                    field: format!("limits.{field}"),
                    message,
                }),
                _ => Ok(()),
            }
        }
        within("memoryMib", self.memory_mib, ranges::MEMORY_MIB)?;
        within("wallTimeMs", self.wall_time_ms, ranges::WALL_TIME_MS)?;
        within("requests", self.requests, ranges::REQUESTS)?;
        within(
            "requestTimeoutMs",
            self.request_timeout_ms,
            ranges::REQUEST_TIMEOUT_MS,
        )?;
        within("responseBytes", self.response_bytes, ranges::RESPONSE_BYTES)?;
        within("requestBytes", self.request_bytes, ranges::REQUEST_BYTES)?;
        within("reportBytes", self.report_bytes, ranges::REPORT_BYTES)?;
        within("logBytes", self.log_bytes, ranges::LOG_BYTES)
    }
}

/// What the operator allows plugins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Ceilings of every limit.
    pub ceiling: Limits,
    /// Whether plain `http` to loopback addresses is allowed (local
    /// emulators); never any other plain `http`.
    pub allow_http_loopback: bool,
}

/// Why a manifest was refused: the field and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ManifestError {
    /// The field (`allowedOrigins[1]`), empty for the whole file.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawManifest {
    name: String,
    version: String,
    accounting_system: String,
    wit: String,
    #[serde(default)]
    allowed_origins: Vec<String>,
    #[serde(default)]
    limits: RequestedLimits,
}

impl Manifest {
    /// Parses a manifest; errors name the field.
    pub fn from_toml(text: &str) -> Result<Manifest, ManifestError> {
        let error = |field: &str, message: String| ManifestError {
            field: field.to_owned(),
            message,
        };
        if text.len() > MAX_BYTES {
            return Err(error(
                "",
                format!(
                    "the manifest is {} bytes, over the limit of {} KiB",
                    text.len(),
                    MAX_BYTES >> 10
                ),
            ));
        }
        let deserializer = toml::Deserializer::parse(text).map_err(|e| error("", e.to_string()))?;
        let raw: RawManifest = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            error(
                if path == "." { "" } else { &path },
                e.into_inner().message().to_owned(),
            )
        })?;
        let contract = raw
            .wit
            .strip_prefix(crate::gate::CONTRACT)
            .and_then(|rest| rest.strip_prefix('@'))
            .and_then(ContractVersion::of)
            .ok_or_else(|| {
                error(
                    "wit",
                    format!(
                        "'{}' is not supported; this host runs {} versions {}",
                        raw.wit,
                        crate::gate::CONTRACT,
                        ContractVersion::supported()
                    ),
                )
            })?;
        let allowed_origins = raw
            .allowed_origins
            .iter()
            .enumerate()
            .map(|(index, text)| {
                OriginPattern::parse(text)
                    .map_err(|message| error(&format!("allowedOrigins[{index}]"), message))
            })
            .collect::<Result<_, _>>()?;
        raw.limits.check()?;
        Ok(Manifest {
            name: raw.name,
            version: raw.version,
            accounting_system: raw.accounting_system,
            wit: raw.wit,
            contract,
            allowed_origins,
            limits: raw.limits,
        })
    }

    /// Checks that the component is the one the manifest describes.
    pub fn check(&self, info: &PluginInfo) -> Result<(), String> {
        for (field, declared, actual) in [
            ("name", &self.name, &info.name),
            ("version", &self.version, &info.version),
            (
                "accountingSystem",
                &self.accounting_system,
                &info.accounting_system,
            ),
        ] {
            if declared != actual {
                return Err(format!(
                    "the manifest's {field} is '{declared}' but the component says '{actual}'"
                ));
            }
        }
        if self.contract.as_str() != info.contract {
            return Err(format!(
                "the manifest's wit is '{}' but the component exports the validator of {}@{}",
                self.wit,
                crate::gate::CONTRACT,
                info.contract
            ));
        }
        Ok(())
    }

    /// The limits a validation runs with: what the manifest asks for, never
    /// above the operator's ceiling.
    pub fn limits(&self, ceiling: &Limits) -> Limits {
        let asked = &self.limits;
        Limits {
            memory_bytes: asked
                .memory_mib
                .map_or(ceiling.memory_bytes, |mib| mib << 20)
                .min(ceiling.memory_bytes),
            wall_time: asked
                .wall_time_ms
                .map_or(ceiling.wall_time, Duration::from_millis)
                .min(ceiling.wall_time),
            requests: asked
                .requests
                .unwrap_or(ceiling.requests)
                .min(ceiling.requests),
            request_timeout: asked
                .request_timeout_ms
                .map_or(ceiling.request_timeout, Duration::from_millis)
                .min(ceiling.request_timeout),
            response_bytes: asked
                .response_bytes
                .unwrap_or(ceiling.response_bytes)
                .min(ceiling.response_bytes),
            request_bytes: asked
                .request_bytes
                .unwrap_or(ceiling.request_bytes)
                .min(ceiling.request_bytes),
            report_bytes: asked
                .report_bytes
                .unwrap_or(ceiling.report_bytes)
                .min(ceiling.report_bytes),
            log_bytes: asked
                .log_bytes
                .unwrap_or(ceiling.log_bytes)
                .min(ceiling.log_bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
        name = "xero"
        version = "0.1.0"
        accountingSystem = "xero"
        wit = "preflight:plugin@0.1.0"
        allowedOrigins = ["https://api.xero.com", "https://*.xero.com:8443"]
        [limits]
        memoryMib = 32
        wallTimeMs = 20000
    "#;

    #[test]
    fn reads_a_manifest_and_never_widens_the_operators_limits() {
        let manifest = Manifest::from_toml(MANIFEST).unwrap();
        let ceiling = Limits::default();
        let limits = manifest.limits(&ceiling);
        assert_eq!(limits.memory_bytes, 32 << 20, "asking for less is honoured");
        assert_eq!(
            limits.wall_time, ceiling.wall_time,
            "asking for more gets the ceiling"
        );
        assert_eq!(limits.requests, ceiling.requests);
    }

    #[test]
    fn errors_name_the_field() {
        let error = Manifest::from_toml(
            // 0.2.0 runs beside 0.1.0 now; 0.3.0 does not exist.
            &MANIFEST.replace("0.1.0\"\n        allowed", "0.3.0\"\n        allowed"),
        )
        .unwrap_err();
        assert_eq!(error.field, "wit");
        let error =
            Manifest::from_toml(&MANIFEST.replace("https://api.xero.com", "http://api.xero.com"))
                .unwrap_err();
        assert_eq!(error.field, "allowedOrigins[0]");
        assert!(error.message.contains("only for loopback"), "{error}");
        let error = Manifest::from_toml(&MANIFEST.replace("memoryMib", "memory")).unwrap_err();
        assert!(
            error.field.starts_with("limits") && error.message.contains("unknown field"),
            "{error}"
        );
    }

    #[test]
    fn limits_out_of_range_and_oversized_files_are_refused() {
        for (line, field) in [
            ("memoryMib = 0", "limits.memoryMib"),
            ("memoryMib = 1152921504606846976", "limits.memoryMib"),
            ("wallTimeMs = 0", "limits.wallTimeMs"),
            ("requests = 0", "limits.requests"),
            ("requestTimeoutMs = 1", "limits.requestTimeoutMs"),
            ("responseBytes = 0", "limits.responseBytes"),
            ("requestBytes = 1073741824", "limits.requestBytes"),
            ("reportBytes = 0", "limits.reportBytes"),
            ("logBytes = 0", "limits.logBytes"),
        ] {
            let text = MANIFEST.replace("memoryMib = 32\n        wallTimeMs = 20000", line);
            let error = Manifest::from_toml(&text).unwrap_err();
            assert_eq!(error.field, field, "{line}: {error}");
            assert!(error.message.contains("out of range"), "{line}: {error}");
        }
        let padded = format!("{MANIFEST}\n#{}", "x".repeat(MAX_BYTES));
        let error = Manifest::from_toml(&padded).unwrap_err();
        assert!(
            error.message.contains("over the limit of 64 KiB"),
            "{error}"
        );
    }
}
