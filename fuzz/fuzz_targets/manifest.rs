//! The plugin manifest (`<stem>.toml` beside a component, the bundled
//! plugins' `preflight-plugin.toml`), through `Manifest::from_toml`, as the
//! registry reads it (bytes that must be UTF-8) and `preflight check` and
//! `plugins list` do (text); and the version order of the plugin directory
//! (`registry::source::compare_versions`) on the names it declares.
//!
//! Beyond not panicking: an accepted manifest's limits never exceed the
//! operator's ceiling, whatever the ceiling, and grow with it; applying them
//! twice changes nothing; each allowed origin reads back from its display
//! form; the version order is reflexive, antisymmetric and transitive.
#![no_main]

use std::cmp::Ordering;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use preflight::registry::source::compare_versions;
use preflight_runtime::Limits;
use preflight_runtime::manifest::{Manifest, OriginPattern};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let manifest = match Manifest::from_toml(text) {
        Ok(manifest) => manifest,
        Err(error) => {
            assert!(!error.message.is_empty(), "an error without a message");
            return;
        }
    };
    let small = Limits::default();
    let large = Limits {
        memory_bytes: usize::MAX,
        wall_time: Duration::MAX,
        requests: u32::MAX,
        request_timeout: Duration::MAX,
        response_bytes: usize::MAX,
        report_bytes: usize::MAX,
        log_bytes: usize::MAX,
        ..Limits::default()
    };
    let under_small = manifest.limits(&small);
    let under_large = manifest.limits(&large);
    for (limits, ceiling) in [(&under_small, &small), (&under_large, &large)] {
        at_most(limits, ceiling);
        assert_eq!(
            &manifest.limits(limits),
            limits,
            "applying the limits twice changes them"
        );
    }
    at_most(&under_small, &under_large);

    for origin in &manifest.allowed_origins {
        let shown = origin.to_string();
        let again = OriginPattern::parse(&shown)
            .unwrap_or_else(|error| panic!("{shown} does not read back: {error}"));
        assert_eq!(&again, origin, "{shown}");
    }

    for (a, b) in [
        (&manifest.version, &manifest.name),
        (&manifest.version, &manifest.wit),
        (&manifest.name, &manifest.accounting_system),
    ] {
        assert_eq!(compare_versions(a, a), Ordering::Equal, "{a:?}");
        assert_eq!(
            compare_versions(a, b),
            compare_versions(b, a).reverse(),
            "{a:?} against {b:?}"
        );
    }
    let names = [
        &manifest.name,
        &manifest.version,
        &manifest.accounting_system,
        &manifest.wit,
    ];
    for a in names {
        for b in names {
            for c in names {
                if compare_versions(a, b).is_le() && compare_versions(b, c).is_le() {
                    assert!(
                        compare_versions(a, c).is_le(),
                        "not transitive: {a:?} <= {b:?} <= {c:?}"
                    );
                }
            }
        }
    }
});

/// Every limit of `limits` is at most that of `ceiling`.
fn at_most(limits: &Limits, ceiling: &Limits) {
    assert!(limits.memory_bytes <= ceiling.memory_bytes, "{limits:?}");
    assert!(limits.wall_time <= ceiling.wall_time, "{limits:?}");
    assert!(limits.requests <= ceiling.requests, "{limits:?}");
    assert!(
        limits.request_timeout <= ceiling.request_timeout,
        "{limits:?}"
    );
    assert!(
        limits.response_bytes <= ceiling.response_bytes,
        "{limits:?}"
    );
    assert!(limits.report_bytes <= ceiling.report_bytes, "{limits:?}");
    assert!(limits.log_bytes <= ceiling.log_bytes, "{limits:?}");
}
