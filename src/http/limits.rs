//! Who a request counts against for the rate limits (`crate::rate_limit`): its token's
//! subject (and role, for partners and readers) when it sends a valid token, else its IP address (from `X-Forwarded-For` only when
//! the connection comes from a configured trusted proxy); and how an exhausted budget is
//! answered (429 with `Retry-After`).

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request};

use crate::domain::access::{Caller, Role};
use crate::http::error::HttpError;
use crate::rate_limit::Exhausted;

/// Identifies clients for the rate limits.
#[derive(Clone, Debug, Default)]
pub struct Clients {
    trusted_proxies: Vec<IpAddr>,
}

impl Clients {
    /// Clients behind these proxies are named by the proxies' `X-Forwarded-For`.
    pub fn new(trusted_proxies: Vec<IpAddr>) -> Self {
        Self { trusted_proxies }
    }

    /// Who the request counts against.
    pub fn of<B>(&self, req: &Request<B>, caller: &Caller) -> String {
        // A partner's slug or a reader's account may equal a newsroom account's subject:
        // they are other clients, so their role names them too.
        match (caller.sub(), caller.role()) {
            (Some(sub), Some(Role::Writer | Role::Editor | Role::Admin)) => {
                return format!("sub:{sub}");
            }
            (Some(sub), Some(role)) => return format!("{}:{sub}", role.as_str()),
            _ => {}
        }
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        match peer {
            Some(ip) if self.trusted_proxies.contains(&ip) => {
                forwarded_for(req.headers(), &self.trusted_proxies)
                    .map_or_else(|| format!("ip:{ip}"), |f| format!("ip:{f}"))
            }
            Some(ip) => format!("ip:{ip}"),
            None => "ip:unknown".into(),
        }
    }
}

impl Clients {
    /// The client's address and user agent, as comment posting keeps them: the peer, or
    /// behind a trusted proxy the address it forwards.
    pub fn comment_client(
        &self,
        peer: Option<IpAddr>,
        headers: &HeaderMap,
    ) -> crate::domain::comments::posting::Client {
        let address = match peer {
            Some(ip) if self.trusted_proxies.contains(&ip) => {
                Some(forwarded_for(headers, &self.trusted_proxies).unwrap_or(ip))
            }
            other => other,
        };
        crate::domain::comments::posting::Client {
            address: address.map(|a| a.to_string()),
            user_agent: headers
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        }
    }
}

impl From<Exhausted> for HttpError {
    fn from(e: Exhausted) -> Self {
        let secs = e.wait.as_secs().max(1);
        HttpError::RateLimited {
            message: format!("too many {} from this client; retry in {secs} s", e.what),
            retry_after: secs,
        }
    }
}

/// The client address a trusted proxy reports: the right-most `X-Forwarded-For` entry that is
/// not itself a trusted proxy.
fn forwarded_for(headers: &HeaderMap, trusted: &[IpAddr]) -> Option<IpAddr> {
    let all: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    all.into_iter().rev().find(|ip| !trusted.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_trusted_proxies_may_name_the_client() {
        let trusted: Vec<IpAddr> = vec!["10.0.0.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))];
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "203.0.113.9, 10.0.0.1".parse().expect("value"),
        );
        assert_eq!(forwarded_for(&h, &trusted), "203.0.113.9".parse().ok());
        let clients = Clients::new(trusted);
        let mut req = Request::new(());
        req.headers_mut()
            .insert("x-forwarded-for", "203.0.113.9".parse().expect("value"));
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([198, 51, 100, 7], 4000))));
        assert_eq!(
            clients.of(&req, &Caller::Anonymous),
            "ip:198.51.100.7",
            "an untrusted peer's header is ignored"
        );
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 1], 4000))));
        assert_eq!(clients.of(&req, &Caller::Anonymous), "ip:203.0.113.9");
        let refused = HttpError::from(Exhausted {
            what: "writes",
            wait: std::time::Duration::from_millis(300),
        });
        assert_eq!(refused.code(), "RATE_LIMITED");
        assert_eq!(refused.retry_after(), Some(1), "at least a second");
    }
}
