//! The integration configuration of one company: the JSON file
//! `preflight check --config` reads (`IntegrationConfig::from_json`) and an
//! entry of the operator file (`IntegrationConfig::from_value`).
//!
//! Beyond not panicking: an accepted configuration holds what validation
//! promises (an accounting system id of `a-z`, `0-9` and `-`; `https`, or
//! plain `http` to loopback only; settings an object); it decodes the same
//! as an operator-file entry; its decision-log snapshot reads back to the
//! same configuration less the credentials; an error of an operator-file
//! entry names the entry.
#![no_main]

use libfuzzer_sys::fuzz_target;
use preflight_fuzz::holds_its_promises;
use preflight_runtime::IntegrationConfig;

const PREFIX: &str = "companies[0] (company 00000000-0000-0000-0000-000000000000): ";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = IntegrationConfig::from_json(text);
    if let Ok(config) = &parsed {
        holds_its_promises(config);
    }
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        let entry = IntegrationConfig::from_value(value, PREFIX);
        match (&parsed, &entry) {
            (Ok(config), Ok(entry)) => assert_eq!(config, entry, "file and entry decode alike"),
            // A JSON value has lost a duplicate key the file reader refuses,
            // so only this direction holds.
            (Ok(config), Err(error)) => {
                panic!("accepted as a file ({config:?}) but not as an entry: {error}")
            }
            (Err(_), Ok(entry)) => holds_its_promises(entry),
            (Err(_), Err(error)) => assert!(
                error.field.starts_with(PREFIX),
                "an entry's error does not name the entry: {error:?}"
            ),
        }
    }
});
