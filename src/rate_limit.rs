//! Per-client budgets of requests and writes, with the `governor` crate. A client is a
//! string the caller chooses (the HTTP layer uses the token's subject, else the address, see
//! `crate::http::limits`), so any way in can charge the same budgets. Limits live in each
//! process: with several processes behind a balancer each enforces its share, which is what a
//! rate limit needs (nothing depends on it for correctness).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Requests per second and burst, per client.
#[derive(Clone, Copy, Debug)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
}

/// A refusal: the client spent its budget of `what` and may try again after `wait`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exhausted {
    /// `"requests"` or `"writes"`.
    pub what: &'static str,
    /// Until the next is allowed (at least a second).
    pub wait: Duration,
}

/// The limiters of one process.
pub struct RateLimits {
    reads: DefaultKeyedRateLimiter<String>,
    writes: DefaultKeyedRateLimiter<String>,
    /// Partners with a rate limit of their own: partner id → (requests a minute, limiter).
    /// Rebuilt when an admin changes the limit.
    partners: Mutex<HashMap<i32, (u32, Arc<DefaultDirectRateLimiter>)>>,
}

fn limiter(r: Rate) -> DefaultKeyedRateLimiter<String> {
    let per = NonZeroU32::new(r.per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(r.burst.max(1)).unwrap_or(NonZeroU32::MIN);
    RateLimiter::keyed(Quota::per_second(per).allow_burst(burst))
}

impl RateLimits {
    /// Limiters with these budgets.
    pub fn new(reads: Rate, writes: Rate) -> Self {
        Self {
            reads: limiter(reads),
            writes: limiter(writes),
            partners: Mutex::new(HashMap::new()),
        }
    }

    /// Spends one request from a partner's own budget of `per_minute` requests a minute
    /// (its records' limit, on top of the budget every client has).
    pub fn partner(&self, partner_id: i32, per_minute: u32) -> Result<(), Exhausted> {
        let per = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let limiter = {
            let mut map = self
                .partners
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let entry = map.entry(partner_id).or_insert_with(|| {
                (
                    per.get(),
                    Arc::new(RateLimiter::direct(Quota::per_minute(per))),
                )
            });
            if entry.0 != per.get() {
                *entry = (
                    per.get(),
                    Arc::new(RateLimiter::direct(Quota::per_minute(per))),
                );
            }
            entry.1.clone()
        };
        limiter.check().map_err(|not_until| Exhausted {
            what: "requests for this partner",
            wait: not_until
                .wait_time_from(DefaultClock::default().now())
                .max(Duration::from_secs(1)),
        })
    }

    /// Spends one request from `client`'s budget.
    pub fn read(&self, client: &str) -> Result<(), Exhausted> {
        check(&self.reads, client, "requests")
    }

    /// Spends one write from `client`'s budget.
    pub fn write(&self, client: &str) -> Result<(), Exhausted> {
        check(&self.writes, client, "writes")
    }
}

fn check(
    l: &DefaultKeyedRateLimiter<String>,
    client: &str,
    what: &'static str,
) -> Result<(), Exhausted> {
    if l.len() > 100_000 {
        l.retain_recent();
    }
    let key = client.to_owned();
    l.check_key(&key).map_err(|not_until| Exhausted {
        what,
        wait: not_until
            .wait_time_from(DefaultClock::default().now())
            .max(Duration::from_secs(1)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_are_per_client_and_say_how_long_to_wait() {
        let one = Rate {
            per_second: 1,
            burst: 1,
        };
        let limits = RateLimits::new(one, one);
        assert!(limits.read("a").is_ok());
        let refused = limits.read("a").expect_err("over budget");
        assert_eq!(refused.what, "requests");
        assert!(refused.wait >= Duration::from_secs(1));
        assert!(limits.read("b").is_ok(), "budgets are per client");
        assert!(limits.write("a").is_ok(), "writes have their own budget");
    }
}
