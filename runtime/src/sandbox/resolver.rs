//! Name resolution for plugins' requests, and the guard against
//! server-side request forgery after it: a granted host name that resolves to
//! a loopback, link-local (cloud metadata), private or otherwise non-public
//! address is refused unless the operator granted that range
//! (`sandbox.allowedAddresses`).
//!
//! The HTTP client asks this resolver for every new connection, so the check
//! holds per connection, not per name: a name rebound to an internal address
//! between two requests is caught at the second. URLs whose host is an IP
//! address are not resolved; the origin policy decides those (plain `http`
//! to loopback only when the operator allows it).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, RwLock};

/// A range of addresses, `10.0.0.0/8` or `fd00::/8`; a bare address is a
/// range of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressRange {
    network: IpAddr,
    prefix: u8,
}

impl AddressRange {
    /// Parses `ADDRESS[/PREFIX]`.
    pub fn parse(text: &str) -> Result<AddressRange, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("'{text}' is not an address or an address range"))?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|prefix| *prefix <= bits)
                .ok_or_else(|| format!("'{text}': the prefix must be 0 to {bits}"))?,
        };
        Ok(AddressRange { network, prefix })
    }

    /// Whether `address` is in the range.
    pub fn contains(&self, address: IpAddr) -> bool {
        let (network, address, bits) = match (self.network, canonical(address)) {
            (IpAddr::V4(network), IpAddr::V4(address)) => (
                u128::from(u32::from(network)),
                u128::from(u32::from(address)),
                32,
            ),
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                (u128::from(network), u128::from(address), 128)
            }
            _ => return false,
        };
        let shift = bits - u32::from(self.prefix);
        shift >= bits || (network >> shift) == (address >> shift)
    }
}

impl std::fmt::Display for AddressRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// An IPv4 address written as IPv6 (`::ffff:10.0.0.1`) as the IPv4 address
/// it is.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// What kind of non-public address `address` is, or `None` for a public
/// one.
pub fn non_public(address: IpAddr) -> Option<&'static str> {
    match canonical(address) {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(address: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = address.octets();
    Some(match (a, b, c) {
        _ if address.is_loopback() => "loopback",
        _ if address.is_link_local() => "link-local",
        _ if address.is_private() => "private",
        _ if address.is_unspecified() || a == 0 => "unspecified",
        _ if address.is_broadcast() || a >= 240 => "reserved",
        _ if address.is_multicast() => "multicast",
        (100, 64..=127, _) => "shared (carrier-grade NAT)",
        (192, 0, 0) => "protocol-assignment",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (198, 18..=19, _) => "benchmarking",
        _ => return None,
    })
}

fn non_public_v6(address: Ipv6Addr) -> Option<&'static str> {
    let first = address.segments()[0];
    Some(match first {
        _ if address.is_loopback() => "loopback",
        _ if address.is_unspecified() => "unspecified",
        _ if address.is_multicast() => "multicast",
        0xfe80..=0xfebf => "link-local",
        0xfc00..=0xfdff => "private (unique local)",
        0x2001 if address.segments()[1] == 0x0db8 => "documentation",
        _ => return None,
    })
}

/// Why a name's address was refused (found again in the client's error
/// chain, to tell the plugin `denied`).
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "{host} resolves to {address}, a {kind} address no plugin may reach unless the operator grants it (sandbox.allowedAddresses)"
)]
pub struct AddressRefused {
    /// The name.
    pub host: String,
    /// The address it resolved to.
    pub address: IpAddr,
    /// What kind of address.
    pub kind: &'static str,
}

/// The resolver of the plugins' HTTP client.
#[derive(Debug, Default)]
pub struct GuardedResolver {
    allowed: Arc<[AddressRange]>,
    pinned: RwLock<HashMap<String, Vec<IpAddr>>>,
}

impl GuardedResolver {
    /// A resolver that lets names resolve into `allowed` besides public
    /// addresses.
    pub fn new(allowed: Vec<AddressRange>) -> GuardedResolver {
        GuardedResolver {
            allowed: allowed.into(),
            pinned: RwLock::new(HashMap::new()),
        }
    }

    /// Answers `host` with `addresses` from now on instead of asking DNS
    /// (the guard still applies to them); for tests and for embedders that
    /// pin names.
    pub fn pin(&self, host: &str, addresses: Vec<IpAddr>) {
        self.pinned
            .write()
            .expect("resolver lock")
            .insert(host.to_ascii_lowercase(), addresses);
    }
}

/// The first of `addresses` the guard refuses for `host`, given the ranges
/// the operator granted.
fn refusal(
    allowed: &[AddressRange],
    host: &str,
    addresses: &[SocketAddr],
) -> Option<AddressRefused> {
    addresses.iter().find_map(|address| {
        let ip = address.ip();
        let kind = non_public(ip)?;
        (!allowed.iter().any(|range| range.contains(ip))).then(|| AddressRefused {
            host: host.to_owned(),
            address: ip,
            kind,
        })
    })
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_ascii_lowercase();
        let pinned = self
            .pinned
            .read()
            .expect("resolver lock")
            .get(&host)
            .cloned();
        let allowed = Arc::clone(&self.allowed);
        Box::pin(async move {
            let addresses: Vec<SocketAddr> = match pinned {
                Some(ips) => ips.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect(),
                None => tokio::net::lookup_host((host.as_str(), 0)).await?.collect(),
            };
            if let Some(refused) = refusal(&allowed, &host, &addresses) {
                return Err(Box::new(refused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn non_public_addresses_are_named_by_kind() {
        for (address, kind) in [
            ("127.0.0.1", Some("loopback")),
            ("::1", Some("loopback")),
            ("169.254.169.254", Some("link-local")),
            ("fe80::1", Some("link-local")),
            ("10.0.0.1", Some("private")),
            ("172.16.5.4", Some("private")),
            ("192.168.1.1", Some("private")),
            ("fd00::1", Some("private (unique local)")),
            ("::ffff:10.0.0.1", Some("private")),
            ("0.0.0.0", Some("unspecified")),
            ("100.64.0.1", Some("shared (carrier-grade NAT)")),
            ("255.255.255.255", Some("reserved")),
            ("93.184.216.34", None),
            ("2606:4700::1111", None),
            ("172.32.0.1", None),
        ] {
            assert_eq!(non_public(ip(address)), kind, "{address}");
        }
    }

    #[test]
    fn ranges_parse_and_contain() {
        let range = AddressRange::parse("10.20.0.0/16").unwrap();
        assert!(range.contains(ip("10.20.3.4")));
        assert!(range.contains(ip("::ffff:10.20.3.4")));
        assert!(!range.contains(ip("10.21.0.1")));
        assert!(!range.contains(ip("fd00::1")));
        assert!(
            AddressRange::parse("fd00::/8")
                .unwrap()
                .contains(ip("fd12::1"))
        );
        assert!(
            AddressRange::parse("0.0.0.0/0")
                .unwrap()
                .contains(ip("1.2.3.4"))
        );
        assert!(
            AddressRange::parse("10.0.0.7")
                .unwrap()
                .contains(ip("10.0.0.7"))
        );
        assert!(
            !AddressRange::parse("10.0.0.7")
                .unwrap()
                .contains(ip("10.0.0.8"))
        );
        for bad in ["10.0.0.0/33", "fd00::/129", "ten", "10.0.0.0/x"] {
            assert!(AddressRange::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_guard_refuses_what_is_not_granted() {
        let allowed = [AddressRange::parse("10.20.0.0/16").unwrap()];
        let at = |text: &str| vec![SocketAddr::new(ip(text), 443)];
        assert!(refusal(&allowed, "a.test", &at("93.184.216.34")).is_none());
        assert!(refusal(&allowed, "a.test", &at("10.20.1.1")).is_none());
        let refused = refusal(&allowed, "a.test", &at("10.0.0.1")).unwrap();
        assert_eq!(refused.address, ip("10.0.0.1"));
        assert!(
            refused
                .to_string()
                .contains("a.test resolves to 10.0.0.1, a private address")
        );
    }
}
