//! Which webhook targets are acceptable: the check the API runs when a user sets a URL and the
//! notifier runs again on every address a host resolves to at send time.
//!
//! A webhook lets a user make the server send requests; without these checks it would reach
//! the loopback interface, the private network or a cloud metadata service (SSRF).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookUrlError {
    #[error("webhook url is not a valid absolute URL")]
    Invalid,
    #[error("webhook url must use http or https")]
    UnsupportedScheme,
    #[error("webhook url must name a host")]
    MissingHost,
    #[error("webhook url must not carry credentials")]
    Credentials,
    #[error("webhook url must not point at a loopback, private, link-local or metadata address")]
    ForbiddenAddress,
}

/// Host names that always mean this machine or a metadata service.
const FORBIDDEN_HOST_NAMES: [&str; 4] = [
    "localhost",
    "metadata",
    "metadata.google.internal",
    "instance-data",
];

/// Parses and checks a webhook URL: http(s), a host, no user info, and — unless
/// `allow_private` — no literal address (or well-known name) that is not publicly routable.
/// Names are checked again after resolution at send time ([`is_forbidden_address`]).
pub fn validate_webhook_url(url: &str, allow_private: bool) -> Result<Url, WebhookUrlError> {
    let parsed = Url::parse(url.trim()).map_err(|_| WebhookUrlError::Invalid)?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(WebhookUrlError::UnsupportedScheme);
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(WebhookUrlError::Credentials);
    }
    let host = parsed.host().ok_or(WebhookUrlError::MissingHost)?;
    if allow_private {
        return Ok(parsed);
    }
    let forbidden = match host {
        Host::Ipv4(ip) => is_forbidden_address(IpAddr::V4(ip)),
        Host::Ipv6(ip) => is_forbidden_address(IpAddr::V6(ip)),
        Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            FORBIDDEN_HOST_NAMES.contains(&name.as_str()) || name.ends_with(".localhost")
        }
    };
    if forbidden {
        return Err(WebhookUrlError::ForbiddenAddress);
    }
    Ok(parsed)
}

/// Whether `ip` is loopback, private, link-local (cloud metadata lives there), shared,
/// unspecified, multicast, broadcast, documentation or reserved space.
pub fn is_forbidden_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6),
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_forbidden_v4(v4);
    }
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local (incl. fd00:ec2::254, AWS metadata)
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
        || (first == 0x0064 && ip.segments()[1] == 0xff9b) // NAT64 can reach IPv4 space
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_http_and_https_urls_are_accepted() {
        for url in [
            "https://hooks.example.com/pricealert",
            "http://93.184.216.34:8080/x?y=1",
            "https://[2606:2800:220:1:248:1893:25c8:1946]/hook",
        ] {
            assert!(validate_webhook_url(url, false).is_ok(), "{url}");
        }
    }

    #[test]
    fn other_schemes_missing_hosts_and_credentials_are_refused() {
        assert_eq!(
            validate_webhook_url("ftp://example.com/x", false),
            Err(WebhookUrlError::UnsupportedScheme)
        );
        assert_eq!(
            validate_webhook_url("not a url", false),
            Err(WebhookUrlError::Invalid)
        );
        assert_eq!(
            validate_webhook_url("https://user:pw@example.com/", false),
            Err(WebhookUrlError::Credentials)
        );
        assert!(validate_webhook_url("file:///etc/passwd", true).is_err());
    }

    #[test]
    fn loopback_private_link_local_and_metadata_targets_are_refused() {
        for url in [
            "http://127.0.0.1/",
            "http://127.1.2.3:9000/",
            "http://localhost:8000/",
            "http://api.localhost/",
            "http://10.0.0.5/",
            "http://172.16.3.4/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[fe80::1]/",
            "http://[fd00:ec2::254]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:169.254.169.254]/",
        ] {
            assert_eq!(
                validate_webhook_url(url, false),
                Err(WebhookUrlError::ForbiddenAddress),
                "{url}"
            );
        }
    }

    #[test]
    fn private_targets_are_accepted_when_configuration_allows_them() {
        assert!(validate_webhook_url("http://127.0.0.1:3000/hook", true).is_ok());
        assert!(validate_webhook_url("http://localhost/hook", true).is_ok());
    }
}
