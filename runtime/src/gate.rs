//! The capability gate: a component's own imports and exports, checked at load
//! before any of its code runs.
//!
//! A plugin may import the contract's interfaces (`preflight:plugin/http`,
//! `log`, `types`, of the version whose validator it exports) and the WASI
//! 0.2 interfaces that language runtimes link whether or not the plugin uses
//! them (Rust's `wasm32-wasip2` standard library, an interpreter's libc):
//! `cli`, `io`, `clocks`, `filesystem`, `random` and `sockets`. The host
//! binds them to an empty context that denies at run time what they could
//! reach (no preopened directory, environment, arguments or inherited
//! stdio; every socket address refused, no TCP, UDP or name lookup; see
//! [`crate::sandbox`]). Anything else, outbound `wasi:http` included, is
//! refused with an error that names the import. The component must export
//! `preflight:plugin/validator` of a version this host runs
//! ([`ContractVersion::ALL`]); that export decides which bindings run it.

use wasmtime::Engine;
use wasmtime::component::Component;

pub use crate::bindings::ContractVersion;

/// The contract's package.
pub const CONTRACT: &str = "preflight:plugin";

/// The contract interfaces a plugin may import.
const CONTRACT_IMPORTS: &[&str] = &[
    "preflight:plugin/http",
    "preflight:plugin/log",
    "preflight:plugin/types",
];

/// WASI interfaces granted (all with an empty context): what `std` on
/// `wasm32-wasip2` and interpreters' libcs link against, even when the
/// plugin never uses them.
const WASI_IMPORTS: &[&str] = &[
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:clocks/wall-clock",
    "wasi:clocks/monotonic-clock",
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    // Linked, and denied at run time: every address refused, TCP, UDP and
    // name lookup off.
    "wasi:sockets/network",
    "wasi:sockets/instance-network",
    "wasi:sockets/tcp",
    "wasi:sockets/tcp-create-socket",
    "wasi:sockets/udp",
    "wasi:sockets/udp-create-socket",
    "wasi:sockets/ip-name-lookup",
];

/// Why a component was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    /// It imports something the host does not grant.
    #[error(
        "imports {import}, which the host does not grant (granted: the preflight:plugin interfaces of the exported validator's version and WASI 0.2 cli, io, clocks, filesystem, random and sockets with an empty context)"
    )]
    ForbiddenImport {
        /// The import's full name.
        import: String,
    },
    /// It was built against a contract version this host does not run.
    #[error(
        "targets {found}, but this host runs {CONTRACT} versions {}",
        ContractVersion::supported()
    )]
    UnsupportedVersion {
        /// The versioned name found.
        found: String,
    },
    /// It imports a contract interface of another version than the
    /// validator it exports.
    #[error("imports {import} but exports the validator of {CONTRACT}@{exported}")]
    MixedVersions {
        /// The import's full name.
        import: String,
        /// The version of the exported validator.
        exported: ContractVersion,
    },
    /// It does not export the validator.
    #[error(
        "exports the wrong world: expected {CONTRACT}/validator of version {}, found [{exports}]",
        ContractVersion::supported()
    )]
    WrongWorld {
        /// What it exports.
        exports: String,
    },
}

/// Checks `component`'s imports and exports; answers the contract version
/// it was built against.
pub fn check(component: &Component, engine: &Engine) -> Result<ContractVersion, GateError> {
    let ty = component.component_type();
    let exports: Vec<&str> = ty.exports(engine).map(|(name, _)| name).collect();
    let validator = exports.iter().find_map(|name| {
        split(name).filter(|(interface, _)| *interface == "preflight:plugin/validator")
    });
    let exported = match validator {
        Some((interface, version)) => {
            ContractVersion::of(version).ok_or_else(|| GateError::UnsupportedVersion {
                found: format!("{interface}@{version}"),
            })?
        }
        None => {
            return Err(GateError::WrongWorld {
                exports: exports.join(", "),
            });
        }
    };
    for (name, _) in ty.imports(engine) {
        check_import(name, exported)?;
    }
    Ok(exported)
}

fn check_import(name: &str, exported: ContractVersion) -> Result<(), GateError> {
    let forbidden = || GateError::ForbiddenImport {
        import: name.to_owned(),
    };
    let (interface, version) = split(name).ok_or_else(forbidden)?;
    if CONTRACT_IMPORTS.contains(&interface) {
        return match ContractVersion::of(version) {
            Some(imported) if imported == exported => Ok(()),
            Some(_) => Err(GateError::MixedVersions {
                import: name.to_owned(),
                exported,
            }),
            None => Err(GateError::UnsupportedVersion {
                found: name.to_owned(),
            }),
        };
    }
    if WASI_IMPORTS.contains(&interface) && version.starts_with("0.2.") {
        return Ok(());
    }
    Err(forbidden())
}

/// `pkg:name/interface@1.2.3` → (`pkg:name/interface`, `1.2.3`).
fn split(name: &str) -> Option<(&str, &str)> {
    name.split_once('@')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_are_checked_by_interface_and_version() {
        let v1 = ContractVersion::V0_1_0;
        let check_import = |name| super::check_import(name, v1);
        assert!(check_import("preflight:plugin/http@0.1.0").is_ok());
        assert!(check_import("preflight:plugin/log@0.1.3").is_ok());
        assert!(check_import("wasi:cli/environment@0.2.6").is_ok());
        assert!(check_import("wasi:random/random@0.2.0").is_ok());
        assert!(check_import("wasi:sockets/tcp@0.2.6").is_ok());
        assert!(check_import("wasi:sockets/ip-name-lookup@0.2.9").is_ok());
        assert_eq!(
            check_import("wasi:http/outgoing-handler@0.2.6"),
            Err(GateError::ForbiddenImport {
                import: "wasi:http/outgoing-handler@0.2.6".to_owned()
            })
        );
        assert!(matches!(
            check_import("wasi:sockets/raw@0.2.6"),
            Err(GateError::ForbiddenImport { .. })
        ));
        assert!(matches!(
            check_import("wasi:cli/environment@0.3.0"),
            Err(GateError::ForbiddenImport { .. })
        ));
        assert!(matches!(
            check_import("preflight:plugin/http@0.2.0"),
            Err(GateError::MixedVersions { .. })
        ));
        assert!(
            super::check_import("preflight:plugin/http@0.2.0", ContractVersion::V0_2_0).is_ok()
        );
        assert!(matches!(
            check_import("preflight:plugin/http@0.3.0"),
            Err(GateError::UnsupportedVersion { .. })
        ));
        assert!(matches!(
            check_import("evil"),
            Err(GateError::ForbiddenImport { .. })
        ));
    }
}
