//! The sandbox's policy on where a plugin's requests may go, in one place:
//! [`Origin`] (RFC 6454: scheme, host, port), [`OriginPattern`] (what a
//! manifest or the operator allows), and [`OriginPolicy`], checked once per
//! request and once per configuration.
//!
//! One name throughout: the *allowed origins*. A plugin's manifest lists its
//! own (`allowedOrigins`); the operator may narrow them per accounting system
//! (`[sandbox.origins]`), never widen them. The configured base URL's origin
//! is the *home* origin: the only one credentials are sent to, reachable when
//! the manifest allows it (or without a manifest, in the author's harness).
//! Plain `http` is refused everywhere except to loopback addresses, and
//! there only when the operator allows it (local emulators).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

/// A web origin: scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// The origin of `url`; only `http` and `https` URLs with a host have one.
    pub fn of(url: &url::Url) -> Result<Origin, String> {
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return Err(format!(
                "scheme '{scheme}' is not allowed (only http and https)"
            ));
        }
        let host = url
            .host_str()
            .ok_or_else(|| format!("'{url}' has no host"))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| format!("'{url}' has no port"))?;
        Ok(Origin {
            scheme: scheme.to_owned(),
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// Parses `scheme://host[:port]`.
    pub fn parse(text: &str) -> Result<Origin, String> {
        let url =
            url::Url::parse(text).map_err(|error| format!("'{text}' is not an origin: {error}"))?;
        if url.path() != "/" || url.query().is_some() {
            return Err(format!("'{text}' is not an origin: it has a path or query"));
        }
        Origin::of(&url)
    }

    /// The scheme, `http` or `https`.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The host, lower case.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, explicit or the scheme's default.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// True for loopback hosts (127.0.0.0/8, ::1, localhost), the only ones
    /// plain `http` may reach: traffic to them never leaves the machine.
    pub fn is_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

/// The transport rule of every URL preflight is configured with (Pleo, the
/// handover, a company's base URL and token endpoint): `https`, or plain
/// `http` to a loopback address only (traffic that never leaves the
/// machine); any other scheme is refused. The message names the URL; callers
/// put the file and the field in front.
pub fn transport_rule(url: &url::Url) -> Result<(), String> {
    let origin = Origin::of(url).map_err(|message| format!("'{url}': {message}"))?;
    if origin.scheme() == "http" && !origin.is_loopback() {
        return Err(format!(
            "'{url}': plain http is only for loopback addresses; use https"
        ));
    }
    Ok(())
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// An allowed origin: `scheme://host[:port]`, the host's leftmost label
/// optionally `*` (any one or more labels in its place).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPattern {
    scheme: String,
    /// The host, or for a wildcard the part after `*.`.
    host: String,
    wildcard: bool,
    port: u16,
}

impl OriginPattern {
    /// Parses `scheme://host[:port]`, `*` allowed only as the host's leftmost
    /// label.
    pub fn parse(text: &str) -> Result<OriginPattern, String> {
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| format!("'{text}' is not scheme://host[:port]"))?;
        if scheme != "https" && scheme != "http" {
            return Err(format!(
                "'{text}': only https (and http to loopback) origins can be granted"
            ));
        }
        let (wildcard, concrete) = match rest.strip_prefix("*.") {
            Some(tail) => (true, tail),
            None => (false, rest),
        };
        if concrete.contains('*') {
            return Err(format!(
                "'{text}': a wildcard may only stand for the leftmost label"
            ));
        }
        let origin = Origin::parse(&format!("{scheme}://{concrete}"))
            .map_err(|message| format!("'{text}': {message}"))?;
        if wildcard && !origin.host().contains('.') {
            return Err(format!(
                "'{text}': a wildcard needs at least a registrable domain after it"
            ));
        }
        if scheme == "http" && (wildcard || !origin.is_loopback()) {
            return Err(format!("'{text}': plain http is only for loopback hosts"));
        }
        Ok(OriginPattern {
            scheme: scheme.to_owned(),
            host: origin.host().to_owned(),
            wildcard,
            port: origin.port(),
        })
    }

    /// True when `origin` is covered.
    pub fn matches(&self, origin: &Origin) -> bool {
        if origin.scheme() != self.scheme || origin.port() != self.port {
            return false;
        }
        if self.wildcard {
            origin
                .host()
                .strip_suffix(&self.host)
                .is_some_and(|label| label.len() > 1 && label.ends_with('.'))
        } else {
            origin.host() == self.host
        }
    }
}

impl std::fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let star = if self.wildcard { "*." } else { "" };
        write!(f, "{}://{star}{}:{}", self.scheme, self.host, self.port)
    }
}

/// Whether a request goes to the home origin (credentials attached) or to
/// another allowed one (none attached).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The configured base URL's origin.
    Home,
    /// An origin the manifest allows, within the operator's narrowing.
    Allowed,
}

/// Where one validation's requests may go.
#[derive(Debug, Clone)]
pub struct OriginPolicy {
    /// The configured base URL's origin.
    pub home: Origin,
    /// The manifest's allowed origins beyond the home one.
    pub allowed: Arc<[OriginPattern]>,
    /// The operator's narrowing, if any: an origin other than home must
    /// match it as well.
    pub narrowed: Option<Arc<[OriginPattern]>>,
    /// Whether plain `http` to loopback addresses is allowed.
    pub allow_http_loopback: bool,
}

impl OriginPolicy {
    /// A policy that refuses every request (for calls that make none:
    /// `info`, `validate-settings`).
    pub fn deny_all() -> OriginPolicy {
        OriginPolicy {
            // No URL a plugin can build has this origin: `.invalid` is
            // reserved (RFC 6761 §6.4).
            home: Origin::parse("https://host.invalid").expect("static origin parses"),
            allowed: Arc::from([]),
            narrowed: None,
            allow_http_loopback: false,
        }
    }

    /// Checks a request's origin; `Err` says why it is denied.
    pub fn check(&self, origin: &Origin) -> Result<Reach, String> {
        let reach = if *origin == self.home {
            Reach::Home
        } else if self.allowed.iter().any(|pattern| pattern.matches(origin)) {
            Reach::Allowed
        } else {
            return Err(format!(
                "{origin} is not granted (granted: {})",
                std::iter::once(self.home.to_string())
                    .chain(self.allowed.iter().map(ToString::to_string))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        if let Some(narrowed) = &self.narrowed
            && reach == Reach::Allowed
            && !narrowed.iter().any(|pattern| pattern.matches(origin))
        {
            return Err(format!(
                "{origin} is outside the operator's allow-list for this plugin"
            ));
        }
        if origin.scheme == "http" && !(origin.is_loopback() && self.allow_http_loopback) {
            return Err(format!(
                "{origin}: plain http is only allowed to loopback addresses, and only when the operator allows it"
            ));
        }
        Ok(reach)
    }

    /// Checks the configured base URL's origin before a validation: it must
    /// be within the operator's narrowing, and among the manifest's allowed
    /// origins (`manifest` is `None` for a plugin loaded without one), or a
    /// loopback emulator when the operator allows plain http to loopback.
    /// Credentials are never sent anywhere the plugin did not declare.
    pub fn check_home(
        home: &Origin,
        manifest: Option<&[OriginPattern]>,
        narrowed: Option<&[OriginPattern]>,
        allow_http_loopback: bool,
    ) -> Result<(), String> {
        if let Some(allowed) = narrowed
            && !allowed.iter().any(|pattern| pattern.matches(home))
        {
            return Err(format!(
                "the configured base URL's origin {home} is outside the operator's allow-list for this plugin"
            ));
        }
        let Some(declared) = manifest else {
            return Ok(());
        };
        if (home.is_loopback() && allow_http_loopback)
            || declared.iter().any(|pattern| pattern.matches(home))
        {
            return Ok(());
        }
        let declared: Vec<String> = declared.iter().map(ToString::to_string).collect();
        Err(format!(
            "the configured base URL's origin {home} is not among the origins its manifest allows ({})",
            declared.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let a = Origin::parse("https://api.xero.com").unwrap();
        assert_eq!(
            a,
            Origin::of(&url::Url::parse("https://API.xero.com:443/connections").unwrap()).unwrap()
        );
        assert_ne!(a, Origin::parse("http://api.xero.com").unwrap());
        assert_ne!(a, Origin::parse("https://api.xero.com:8443").unwrap());
        assert!(Origin::parse("https://api.xero.com/path").is_err());
        assert!(Origin::parse("file:///etc/passwd").is_err());
    }

    #[test]
    fn loopback_is_recognised() {
        assert!(
            Origin::parse("http://127.0.0.1:4011")
                .unwrap()
                .is_loopback()
        );
        assert!(Origin::parse("http://127.8.0.1:1").unwrap().is_loopback());
        assert!(Origin::parse("http://[::1]:80").unwrap().is_loopback());
        assert!(Origin::parse("http://localhost:80").unwrap().is_loopback());
        assert!(
            !Origin::parse("http://169.254.169.254")
                .unwrap()
                .is_loopback()
        );
        assert!(!Origin::parse("http://10.0.0.1").unwrap().is_loopback());
    }

    #[test]
    fn wildcards_cover_one_or_more_leftmost_labels_only() {
        let pattern = OriginPattern::parse("https://*.xero.com").unwrap();
        let origin = |text: &str| Origin::parse(text).unwrap();
        assert!(pattern.matches(&origin("https://api.xero.com")));
        assert!(pattern.matches(&origin("https://a.b.xero.com")));
        assert!(!pattern.matches(&origin("https://xero.com")));
        assert!(!pattern.matches(&origin("https://evilxero.com")));
        assert!(!pattern.matches(&origin("http://api.xero.com")));
        assert!(!pattern.matches(&origin("https://api.xero.com:8443")));
        assert!(OriginPattern::parse("https://api.*.com").is_err());
        assert!(OriginPattern::parse("https://*.com").is_err());
        assert!(OriginPattern::parse("http://127.0.0.1:4011").is_ok());
        assert!(OriginPattern::parse("ftp://x.com").is_err());
    }

    #[test]
    fn credentials_go_home_only_and_narrowing_never_widens() {
        let origin = |text: &str| Origin::parse(text).unwrap();
        let pattern = |text: &str| OriginPattern::parse(text).unwrap();
        let policy = OriginPolicy {
            home: origin("https://api.xero.com"),
            allowed: Arc::from([pattern("https://*.xero.com")]),
            narrowed: Some(Arc::from([pattern("https://identity.xero.com")])),
            allow_http_loopback: false,
        };
        assert_eq!(
            policy.check(&origin("https://api.xero.com")),
            Ok(Reach::Home)
        );
        assert_eq!(
            policy.check(&origin("https://identity.xero.com")),
            Ok(Reach::Allowed)
        );
        let outside = policy.check(&origin("https://files.xero.com")).unwrap_err();
        assert!(outside.contains("operator's allow-list"), "{outside}");
        let ungranted = policy.check(&origin("https://evil.example")).unwrap_err();
        assert!(ungranted.contains("not granted"), "{ungranted}");
        assert!(
            OriginPolicy::deny_all()
                .check(&origin("https://api.xero.com"))
                .is_err()
        );

        let loopback = origin("http://127.0.0.1:4011");
        assert!(OriginPolicy::check_home(&loopback, Some(&[]), None, true).is_ok());
        assert!(OriginPolicy::check_home(&loopback, Some(&[]), None, false).is_err());
        assert!(OriginPolicy::check_home(&loopback, None, None, false).is_ok());
        let narrowed = [pattern("https://api.xero.com")];
        assert!(OriginPolicy::check_home(&loopback, None, Some(&narrowed), true).is_err());
    }
}
