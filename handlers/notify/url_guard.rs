//! Where a tenant may point the platform: `https://` to a public address only. Loopback
//! `http://` is allowed when `AZCOPS_NOTIFY_ALLOW_LOOPBACK` is set (local runs and tests);
//! link-local (the instance metadata service at 169.254.169.254), private, shared, benchmarking,
//! unspecified, site-local and multicast addresses are always refused, at configuration and
//! again for every address a host name resolves to when a delivery is sent. An IPv6 address
//! that carries an IPv4 one (NAT64 `64:ff9b::/96`, 6to4 `2002::/16`, IPv4-compatible
//! `::a.b.c.d`) is judged by the IPv4 address it reaches.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why a channel URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UrlRefused(pub String);

/// Checks a channel's `url` for its `kind`; email channels take `mailto:` addresses.
///
/// # Errors
/// The URL does not parse, is not `https` (or loopback `http` when allowed), or names an
/// address the platform must not reach.
pub fn check(kind: &str, url: &str, allow_loopback: bool) -> Result<url::Url, UrlRefused> {
    let parsed = url::Url::parse(url.trim()).map_err(|e| UrlRefused(format!("is not a URL: {e}")))?;
    if kind == "email" {
        email_address(&parsed)?;
        return Ok(parsed);
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(UrlRefused("must not carry credentials; use --secret".into()));
    }
    let host = parsed.host().ok_or_else(|| UrlRefused("has no host".into()))?;
    let loopback = match &host {
        url::Host::Domain(name) => {
            let name = name.to_ascii_lowercase();
            if name == "localhost" || name.ends_with(".localhost") {
                true
            } else if name.ends_with(".internal") || name == "metadata" || !name.contains('.') {
                return Err(UrlRefused("names an internal host".into()));
            } else {
                false
            }
        }
        url::Host::Ipv4(ip) => {
            address_allowed(IpAddr::V4(*ip), allow_loopback).map(|()| ip.is_loopback()).map_err(UrlRefused)?
        }
        url::Host::Ipv6(ip) => {
            address_allowed(IpAddr::V6(*ip), allow_loopback).map(|()| ip.is_loopback()).map_err(UrlRefused)?
        }
    };
    match parsed.scheme() {
        "https" if !loopback || allow_loopback => Ok(parsed),
        "http" if loopback && allow_loopback => Ok(parsed),
        _ if loopback => Err(UrlRefused("loopback addresses are allowed only in local runs".into())),
        _ => Err(UrlRefused("must be https".into())),
    }
}

/// The one recipient of a `mailto:` URL: a plain `name@domain`, with no query (which could
/// add recipients or headers), fragment, percent-encoding, list or display name.
///
/// # Errors
/// The URL is not such a `mailto:`.
pub fn email_address(url: &url::Url) -> Result<&str, UrlRefused> {
    let refused = || UrlRefused("an email channel takes one address as mailto:name@example.com".into());
    if url.scheme() != "mailto"
        || url.query().is_some()
        || url.fragment().is_some()
        || url.as_str().contains('%')
    {
        return Err(refused());
    }
    let address = url.path();
    let plain = address.split('@').count() == 2
        && address.split('@').all(|part| !part.is_empty())
        && !address.chars().any(|c| c.is_whitespace() || c.is_control() || ",;:<>\"()[]\\".contains(c));
    if plain { Ok(address) } else { Err(refused()) }
}

/// Whether the platform may connect to `ip`.
///
/// # Errors
/// Why not, for a non-public address (loopback only passes when allowed).
pub fn address_allowed(ip: IpAddr, allow_loopback: bool) -> Result<(), String> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    if ip.is_loopback() {
        return if allow_loopback { Ok(()) } else { Err("resolves to a loopback address".into()) };
    }
    let refused = match ip {
        IpAddr::V4(v4) => v4_internal(v4),
        IpAddr::V6(v6) => v6_internal(v6),
    };
    if let IpAddr::V6(v6) = ip
        && let Some(v4) = embedded_v4(v6)
        && (v4.is_loopback() || v4_internal(v4))
    {
        return Err("resolves to an internal or loopback address behind IPv6 translation".into());
    }
    if refused { Err("resolves to an internal or link-local address".into()) } else { Ok(()) }
}

/// The IPv4 address a translated or tunnelled IPv6 address reaches: NAT64 (`64:ff9b::/96`),
/// 6to4 (`2002:aabb:ccdd::/48`) or IPv4-compatible (`::a.b.c.d`, not `::` or `::1`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let v4 = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(v4(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return Some(v4(s[1], s[2]));
    }
    if s[..6] == [0; 6] && !ip.is_unspecified() && !ip.is_loopback() {
        return Some(v4(s[6], s[7]));
    }
    None
}

fn v4_internal(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0)
        || (a == 198 && (b & 0xfe) == 18)
        || a >= 240
}

fn v6_internal(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first & 0xffc0) == 0xfec0
        || first == 0x2001 && ip.segments()[1] == 0x0db8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_https_passes_unless_loopback_is_allowed() {
        assert!(check("webhook", "https://hooks.example.com/x?y=1", false).is_ok());
        assert!(check("teams", "https://prod-01.westeurope.logic.azure.com/workflows/1", false).is_ok());
        for refused in [
            "http://hooks.example.com/x",
            "https://169.254.169.254/metadata/instance",
            "https://10.0.0.4/x",
            "https://192.168.1.1/x",
            "https://172.16.5.5/x",
            "https://100.64.0.1/x",
            "https://[fe80::1]/x",
            "https://[fd00::1]/x",
            "https://[::ffff:169.254.169.254]/x",
            "https://0.0.0.0/x",
            "https://metadata.google.internal/x",
            "https://intranet/x",
            "https://user:pw@hooks.example.com/x",
            "http://127.0.0.1:8080/x",
            "not a url",
        ] {
            assert!(check("webhook", refused, false).is_err(), "{refused}");
        }
        assert!(check("webhook", "http://127.0.0.1:8080/hook", true).is_ok());
        assert!(check("webhook", "http://localhost:8080/hook", true).is_ok());
        assert!(check("webhook", "https://169.254.169.254/x", true).is_err(), "metadata stays refused");
        assert!(check("webhook", "http://10.1.2.3/x", true).is_err());
    }

    #[test]
    fn email_channels_take_one_mailto_address() {
        assert!(check("email", "mailto:finops@contoso.com", false).is_ok());
        assert!(check("email", "https://contoso.com", false).is_err());
        assert!(check("email", "mailto:a@x.com,b@x.com", false).is_err());
    }

    #[test]
    fn an_email_channel_is_one_plain_address_and_that_address_is_the_recipient() {
        for refused in [
            "mailto:ops@contoso.com?cc=someone@evil.example",
            "mailto:ops@contoso.com?bcc=someone@evil.example",
            "mailto:ops@contoso.com?",
            "mailto:ops@contoso.com#x",
            "mailto:ops%40contoso.com",
            "mailto:ops@contoso.com%2Cother@evil.example",
            "mailto:ops@contoso.com;other@evil.example",
            "mailto:Ops <ops@contoso.com>",
            "mailto:ops@@contoso.com",
            "mailto:@contoso.com",
            "mailto:ops@",
            "mailto:",
        ] {
            assert!(check("email", refused, false).is_err(), "{refused}");
        }
        let url = check("email", " mailto:finops@contoso.com ", false).unwrap();
        assert_eq!(email_address(&url).unwrap(), "finops@contoso.com");
    }

    #[test]
    fn resolved_addresses_are_checked_again() {
        assert!(address_allowed("20.50.2.1".parse().unwrap(), false).is_ok());
        assert!(address_allowed("169.254.169.254".parse().unwrap(), true).is_err());
        assert!(address_allowed("127.0.0.1".parse().unwrap(), false).is_err());
        assert!(address_allowed("127.0.0.1".parse().unwrap(), true).is_ok());
        assert!(address_allowed("::1".parse().unwrap(), false).is_err());
    }

    #[test]
    fn ipv4_carried_in_ipv6_is_judged_by_what_it_reaches() {
        for refused in [
            "64:ff9b::a9fe:a9fe", // NAT64 of 169.254.169.254
            "64:ff9b::10.0.0.4",  // NAT64 of a private address
            "64:ff9b::127.0.0.1", // NAT64 of loopback, refused even where loopback is allowed
            "2002:a9fe:a9fe::1",  // 6to4 of 169.254.169.254
            "2002:c0a8:0101::",   // 6to4 of 192.168.1.1
            "2002:7f00:1::1",     // 6to4 of loopback
            "::169.254.169.254",  // IPv4-compatible
            "::10.1.2.3",
            "::127.0.0.1",
            "fec0::1", // site-local
            "feff::1",
        ] {
            let ip: IpAddr = refused.parse().unwrap();
            assert!(address_allowed(ip, true).is_err(), "{refused}");
            assert!(address_allowed(ip, false).is_err(), "{refused}");
        }
        for allowed in ["64:ff9b::1432:201", "2002:1432:201::1", "::20.50.2.1", "2603:1020::1"] {
            assert!(address_allowed(allowed.parse().unwrap(), false).is_ok(), "{allowed}");
        }
        assert!(check("webhook", "https://[64:ff9b::a9fe:a9fe]/x", false).is_err());
        assert!(check("webhook", "https://[2002:a00:4::1]/x", false).is_err());
        assert!(check("webhook", "https://[fec0::1]/x", false).is_err());
    }

    #[test]
    fn benchmarking_addresses_are_refused() {
        for refused in ["198.18.0.1", "198.19.255.254"] {
            assert!(address_allowed(refused.parse().unwrap(), false).is_err(), "{refused}");
        }
        assert!(address_allowed("198.17.255.255".parse().unwrap(), false).is_ok());
        assert!(address_allowed("198.20.0.1".parse().unwrap(), false).is_ok());
        assert!(check("webhook", "https://198.18.0.1/x", false).is_err());
    }
}
