//! The operator's TOML file of `preflight serve --config`, through
//! `OperatorConfig::from_toml`.
//!
//! Beyond not panicking: an accepted file holds what validation promises:
//! Pleo and the handover reached over `https` or loopback `http`, every
//! company's configuration as `IntegrationConfig` promises it, the polled
//! companies sorted, without duplicates, the configured and watched ones
//! among them; and decoding is deterministic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use preflight::operator::{OperatorConfig, transport};
use preflight_fuzz::holds_its_promises;

fuzz_target!(|data: &[u8]| {
    // `serve --config` reads the file as UTF-8 text.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = match OperatorConfig::from_toml(text) {
        Ok(config) => config,
        Err(error) => {
            assert!(!error.message.is_empty(), "an error without a message");
            return;
        }
    };
    transport("pleo.baseUrl", &config.pleo.base_url)
        .unwrap_or_else(|error| panic!("accepted a Pleo URL the transport rule refuses: {error}"));
    for company in config.companies.values() {
        holds_its_promises(company);
    }
    let polled = config.polled_companies();
    assert!(
        polled.windows(2).all(|pair| pair[0] < pair[1]),
        "polled companies sorted and unique: {polled:?}"
    );
    for company in config
        .companies
        .keys()
        .chain(config.pleo.watch_companies.iter())
    {
        assert!(polled.contains(company), "{company} is not polled");
    }
    let again = OperatorConfig::from_toml(text).expect("the same text decodes again");
    assert_eq!(again.companies, config.companies, "deterministic");
});
