//! Checks shared by several fuzz targets: what an accepted integration
//! configuration promises, whichever file it came from.

use preflight_runtime::IntegrationConfig;
use preflight_runtime::config::Credentials;

/// Whether what is sent to `url` stays private on the way: `https`, or plain
/// `http` to a loopback host, where it never leaves the machine.
pub fn private_in_transit(url: &url::Url) -> bool {
    let loopback = match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    url.scheme() == "https" || (url.scheme() == "http" && loopback)
}

/// Asserts what validation promises of an accepted configuration: an
/// accounting system id of `a-z`, `0-9` and `-`; a base URL, and an OAuth
/// token URL, that are [private in transit](private_in_transit); settings
/// that are a JSON object; a trimmed, non-empty tenant; and a decision-log
/// snapshot that reads back as the same configuration less its credentials
/// (replay reads it so).
pub fn holds_its_promises(config: &IntegrationConfig) {
    let system = &config.accounting_system;
    assert!(
        !system.is_empty()
            && system
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
        "accounting system id {system:?}"
    );
    assert!(
        private_in_transit(&config.base_url),
        "base URL {}",
        config.base_url
    );
    // The client secret and the refresh token travel to the token endpoint.
    if let Credentials::OAuth2(oauth) = &config.credentials {
        assert!(
            private_in_transit(&oauth.token_url),
            "token URL {}",
            oauth.token_url
        );
    }
    assert!(
        config.settings.is_object(),
        "settings {:?}",
        config.settings
    );
    if let Some(tenant) = &config.tenant_id {
        assert!(
            !tenant.is_empty() && tenant.trim() == tenant,
            "tenant {tenant:?}"
        );
    }

    let snapshot = config.snapshot();
    let again = IntegrationConfig::from_value(snapshot.clone(), "")
        .unwrap_or_else(|error| panic!("the snapshot {snapshot} does not read back: {error}"));
    assert_eq!(again.accounting_system, config.accounting_system);
    assert_eq!(again.base_url, config.base_url, "snapshot {snapshot}");
    assert_eq!(again.tenant_id, config.tenant_id);
    assert_eq!(again.settings, config.settings);
    assert_eq!(again.credentials, Credentials::None);
}
