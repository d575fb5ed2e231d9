//! Rate limits per client, with the `governor` crate: a client is its token's subject when it
//! sends a valid token, else its IP address (from `X-Forwarded-For` only when the connection
//! comes from a configured trusted proxy). Reads and writes have separate, stricter budgets
//! for writes. Limits live in each process: with several processes behind a balancer each
//! enforces its share, which is what a rate limit needs (nothing depends on it for correctness).

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;

use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::domain::access::Caller;
use crate::http::error::HttpError;

/// Requests per second and burst, per client.
#[derive(Clone, Copy, Debug)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
}

/// The limiters of one process.
pub struct RateLimits {
    reads: DefaultKeyedRateLimiter<String>,
    writes: DefaultKeyedRateLimiter<String>,
    trusted_proxies: Vec<IpAddr>,
}

fn limiter(r: Rate) -> DefaultKeyedRateLimiter<String> {
    let per = NonZeroU32::new(r.per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(r.burst.max(1)).unwrap_or(NonZeroU32::MIN);
    RateLimiter::keyed(Quota::per_second(per).allow_burst(burst))
}

impl RateLimits {
    /// Limiters with these budgets.
    pub fn new(reads: Rate, writes: Rate, trusted_proxies: Vec<IpAddr>) -> Self {
        Self {
            reads: limiter(reads),
            writes: limiter(writes),
            trusted_proxies,
        }
    }

    /// Who the request counts against.
    pub fn client<B>(&self, req: &Request<B>, caller: &Caller) -> String {
        if let Some(sub) = caller.sub() {
            return format!("sub:{sub}");
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

    /// Spends one read from `client`'s budget.
    pub fn read(&self, client: &str) -> Result<(), HttpError> {
        check(&self.reads, client, "requests")
    }

    /// Spends one write from `client`'s budget.
    pub fn write(&self, client: &str) -> Result<(), HttpError> {
        check(&self.writes, client, "writes")
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

fn check(l: &DefaultKeyedRateLimiter<String>, client: &str, what: &str) -> Result<(), HttpError> {
    if l.len() > 100_000 {
        l.retain_recent();
    }
    let key = client.to_owned();
    l.check_key(&key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        HttpError::RateLimited {
            message: format!(
                "too many {what} from this client; retry in {} s",
                wait.as_secs().max(1)
            ),
            retry_after: wait.as_secs().max(1),
        }
    })
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
        let limits = RateLimits::new(
            Rate {
                per_second: 1,
                burst: 1,
            },
            Rate {
                per_second: 1,
                burst: 1,
            },
            trusted,
        );
        let mut req = Request::new(());
        req.headers_mut()
            .insert("x-forwarded-for", "203.0.113.9".parse().expect("value"));
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([198, 51, 100, 7], 4000))));
        assert_eq!(
            limits.client(&req, &Caller::Anonymous),
            "ip:198.51.100.7",
            "an untrusted peer's header is ignored"
        );
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 1], 4000))));
        assert_eq!(limits.client(&req, &Caller::Anonymous), "ip:203.0.113.9");
        assert!(limits.read("a").is_ok());
        assert!(limits.read("a").is_err_and(|e| e.code() == "RATE_LIMITED"));
        assert!(limits.read("b").is_ok(), "budgets are per client");
    }
}
