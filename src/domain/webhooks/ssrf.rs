//! Where a webhook may be sent: the rules that keep an admin-given URL from reaching inside
//! the server's network (server-side request forgery).
//!
//! By default a URL must be `https`, and every address its host resolves to must be a
//! public one: not loopback, private (RFC 1918, IPv6 unique-local), link-local, carrier-grade
//! NAT (100.64/10), unspecified, the cloud metadata addresses (169.254.169.254,
//! `fd00:ec2::254`), nor an IPv4-mapped (or compatible, or NAT64-translated) IPv6 form of
//! any of those; multicast, broadcast, documentation and other reserved ranges are refused
//! too. The check runs on the resolved addresses, both when an endpoint is saved (to refuse
//! it with `BAD_USER_INPUT`) and when each delivery connects: the sender connects to the
//! addresses checked here, never looking the name up a second time (DNS rebinding).
//!
//! The `allow_private` setting (local development, tests) admits `http` and every address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::error::{AppError, Result};

/// Longest URL accepted.
pub const MAX_URL: usize = 2000;

/// A URL checked for its form: scheme, host and port, without resolving it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub url: url::Url,
    pub host: String,
    pub port: u16,
}

/// Checks a URL's form: absolute, `https` (or `http` when `allow_private`), a host, no
/// credentials, no fragment. An address given literally is checked here too.
pub fn parse(raw: &str, allow_private: bool) -> Result<Target> {
    let bad = |why: &str| AppError::bad_input(format!("url: {why}"));
    if raw.len() > MAX_URL {
        return Err(bad(&format!("longer than {MAX_URL} characters")));
    }
    let url = url::Url::parse(raw.trim()).map_err(|e| bad(&format!("not a URL ({e})")))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => return Err(bad("must be https")),
        other => return Err(bad(&format!("must be https, not {other}"))),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials"));
    }
    if url.fragment().is_some() {
        return Err(bad("must not have a fragment"));
    }
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.trim_end_matches('.').to_ascii_lowercase(),
        Some(url::Host::Ipv4(a)) => {
            check_ip(IpAddr::V4(a), allow_private)?;
            a.to_string()
        }
        Some(url::Host::Ipv6(a)) => {
            check_ip(IpAddr::V6(a), allow_private)?;
            a.to_string()
        }
        None => return Err(bad("has no host")),
    };
    if host.is_empty() {
        return Err(bad("has no host"));
    }
    if !allow_private && (host == "localhost" || host.ends_with(".localhost")) {
        return Err(refused_name(&host));
    }
    let port = url
        .port_or_known_default()
        .ok_or_else(|| bad("has no port"))?;
    Ok(Target { url, host, port })
}

fn refused_name(host: &str) -> AppError {
    AppError::bad_input(format!(
        "url: {host} is a loopback name; webhooks go to public addresses only"
    ))
}

/// Resolves a target's host and checks every address; returns those to connect to. A host
/// with one refused address is refused whole (a name that also points inside is not
/// trusted with the rest).
pub async fn resolve(target: &Target, allow_private: bool) -> Result<Vec<SocketAddr>> {
    let found = lookup(target)
        .await
        .map_err(|e| AppError::bad_input(format!("url: {} does not resolve ({e})", target.host)))?;
    check_all(target, &found, allow_private)?;
    Ok(found)
}

/// The addresses of a target's host (itself, when it is an address).
pub async fn lookup(target: &Target) -> std::io::Result<Vec<SocketAddr>> {
    if let Ok(ip) = target.host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, target.port)]);
    }
    let found: Vec<SocketAddr> = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await?
        .collect();
    if found.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no address",
        ));
    }
    Ok(found)
}

/// Refuses the target when any of its addresses is not public.
pub fn check_all(target: &Target, found: &[SocketAddr], allow_private: bool) -> Result<()> {
    for a in found {
        check_ip(a.ip(), allow_private).map_err(|_| {
            AppError::bad_input(format!(
                "url: {} resolves to {}, which is not a public address; webhooks go to \
                 public addresses only",
                target.host,
                a.ip()
            ))
        })?;
    }
    Ok(())
}

/// Refuses an address that is not public (see the module's documentation).
pub fn check_ip(ip: IpAddr, allow_private: bool) -> Result<()> {
    if allow_private {
        return Ok(());
    }
    match refusal(ip) {
        None => Ok(()),
        Some(what) => Err(AppError::bad_input(format!(
            "url: {ip} is {what}; webhooks go to public addresses only"
        ))),
    }
}

/// Why an address is refused, if it is.
pub fn refusal(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(a) => v4_refusal(a),
        IpAddr::V6(a) => v6_refusal(a),
    }
}

fn v4_refusal(a: Ipv4Addr) -> Option<&'static str> {
    let o = a.octets();
    Some(if a == Ipv4Addr::new(169, 254, 169, 254) {
        "the cloud metadata address"
    } else if a.is_unspecified() || o[0] == 0 {
        "unspecified"
    } else if a.is_loopback() {
        "a loopback address"
    } else if a.is_private() {
        "a private address"
    } else if a.is_link_local() {
        "a link-local address"
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        "a carrier-grade NAT address (100.64.0.0/10)"
    } else if a.is_broadcast() || a.is_multicast() || o[0] >= 240 {
        "a broadcast, multicast or reserved address"
    } else if a.is_documentation()
        || (o[0] == 192 && o[1] == 0 && o[2] == 0)
        || (o[0] == 198 && (o[1] & 0xfe) == 18)
    {
        "a documentation, benchmarking or protocol address"
    } else {
        return None;
    })
}

fn v6_refusal(a: Ipv6Addr) -> Option<&'static str> {
    let s = a.segments();
    // The IPv4 inside an IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) or
    // NAT64 (64:ff9b::a.b.c.d) address reaches that IPv4 address.
    if let Some(v4) = a.to_ipv4_mapped() {
        return v4_refusal(v4).map(|_| "an IPv4-mapped form of a refused address");
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] && !a.is_unspecified() && !a.is_loopback() {
        let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        return v4_refusal(v4).map(|_| "an IPv4-compatible form of a refused address");
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        return v4_refusal(v4).map(|_| "a NAT64 form of a refused address");
    }
    Some(if a == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        "the cloud metadata address"
    } else if a.is_unspecified() {
        "unspecified"
    } else if a.is_loopback() {
        "a loopback address"
    } else if (s[0] & 0xfe00) == 0xfc00 {
        "a private (unique local) address"
    } else if (s[0] & 0xffc0) == 0xfe80 || (s[0] & 0xffc0) == 0xfec0 {
        "a link-local address"
    } else if a.is_multicast() {
        "a multicast address"
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        "a documentation address"
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_inner_address_class_is_refused() {
        for (ip, class) in [
            ("127.0.0.1", "loopback"),
            ("127.8.9.10", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("169.254.10.10", "link-local"),
            ("100.64.0.1", "carrier-grade"),
            ("100.127.255.254", "carrier-grade"),
            ("0.0.0.0", "unspecified"),
            ("169.254.169.254", "metadata"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fd00:ec2::254", "metadata"),
            ("fc00::1", "private"),
            ("fe80::1", "link-local"),
            ("::ffff:127.0.0.1", "IPv4-mapped"),
            ("::ffff:10.0.0.1", "IPv4-mapped"),
            ("::ffff:169.254.169.254", "IPv4-mapped"),
            ("::ffff:100.64.0.1", "IPv4-mapped"),
            ("::ffff:0.0.0.0", "IPv4-mapped"),
            ("64:ff9b::7f00:1", "NAT64"),
        ] {
            let ip: IpAddr = ip.parse().expect("ip");
            let why = refusal(ip).unwrap_or_else(|| panic!("{ip} should be refused"));
            assert!(why.contains(class), "{ip}: {why}");
            assert!(check_ip(ip, true).is_ok(), "{ip} allowed when private is");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "93.184.215.14",
            "1.1.1.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            let ip: IpAddr = ip.parse().expect("ip");
            assert_eq!(refusal(ip), None, "{ip}");
        }
    }

    #[test]
    fn urls_must_be_https_with_a_host_and_no_credentials() {
        for bad in [
            "http://example.com/hook",
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "https://example.com/#x",
            "not a url",
            "https://localhost/hook",
            "https://127.0.0.1/hook",
            "https://[::ffff:7f00:1]/hook",
        ] {
            let e = parse(bad, false).expect_err(bad);
            assert_eq!(e.code(), "BAD_USER_INPUT", "{bad}");
        }
        assert!(parse("https://example.com/hook", false).is_ok());
        assert!(parse("http://127.0.0.1:9000/hook", true).is_ok());
    }

    #[tokio::test]
    async fn names_are_checked_after_resolution() {
        // `localhost` resolves locally (no network): to loopback, so it is refused.
        let target = Target {
            url: url::Url::parse("https://localhost/").expect("url"),
            host: "localhost".into(),
            port: 443,
        };
        let e = resolve(&target, false).await.expect_err("refused");
        assert!(e.to_string().contains("not a public address"), "{e}");
        assert!(resolve(&target, true).await.is_ok());
    }
}
