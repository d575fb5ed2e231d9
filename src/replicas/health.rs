//! The replicas' health check: one background task per process that asks the primary for
//! its WAL position and each replica for its replay position, and puts each replica in or
//! out of rotation ([`State`]).
//!
//! Lag is measured in time, not only in bytes: the task remembers when the primary first
//! reached each WAL position it saw, and a replica's lag is the time since the primary
//! first held WAL that the replica has not replayed (zero when it has replayed everything
//! the primary had at the last look). An idle primary therefore never makes a replica look
//! late, and a replica whose replay is stuck grows late from the first write it misses.
//!
//! The task looks every `check_every` (1 s by default), and every [`FAST`] while a replica
//! in rotation is behind the read fence, so that reads return to it within milliseconds of
//! its catching up. It holds the replicas weakly, and ends when they go.

use std::collections::VecDeque;
use std::sync::Weak;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{Inner, Replica, State, fence};

/// The check's interval while a replica in rotation is behind the fence.
pub const FAST: Duration = Duration::from_millis(20);

/// Longest a check waits for one server.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Most WAL positions remembered, and for how long.
const MAX_SAMPLES: usize = 10_000;
const MAX_AGE: Duration = Duration::from_secs(3600);

/// When the primary was first seen at each WAL position (increasing).
#[derive(Default)]
struct History(VecDeque<(Instant, u64)>);

impl History {
    fn record(&mut self, at: Instant, lsn: u64) {
        if self.0.back().is_some_and(|&(_, last)| last >= lsn) {
            return;
        }
        self.0.push_back((at, lsn));
        while self.0.len() > MAX_SAMPLES
            || self
                .0
                .front()
                .is_some_and(|&(t, _)| at.duration_since(t) > MAX_AGE && self.0.len() > 1)
        {
            self.0.pop_front();
        }
    }

    /// How long the primary has held WAL past `replayed`, as of `now`.
    fn lag(&self, replayed: u64, now: Instant) -> Duration {
        let first_missed = self.0.partition_point(|&(_, lsn)| lsn <= replayed);
        match self.0.get(first_missed) {
            Some(&(since, _)) => now.duration_since(since),
            None => Duration::ZERO,
        }
    }

    fn latest(&self) -> Option<u64> {
        self.0.back().map(|&(_, lsn)| lsn)
    }
}

/// `pg_last_wal_replay_lsn()` as a byte count; NULL on a server that is not in recovery.
const REPLAY_LSN_SQL: &str = "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint";

pub(super) async fn run(replicas: Weak<Inner>, wake: std::sync::Arc<tokio::sync::Notify>) {
    let mut history = History::default();
    loop {
        let wait = {
            let Some(rs) = replicas.upgrade() else { return };
            let primary = rs.primary.get_postgres_connection_pool();
            if primary.is_closed() {
                return;
            }
            check(&rs, &mut history).await;
            let required = rs.fence.required();
            let behind = rs
                .list
                .iter()
                .any(|r| r.state() == State::Up && required.is_none_or(|lsn| r.replayed() < lsn));
            if behind {
                FAST
            } else {
                rs.settings.check_every
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = wake.notified() => tokio::time::sleep(FAST.min(wait)).await,
        }
    }
}

async fn check(rs: &Inner, history: &mut History) {
    let now = Instant::now();
    let primary = rs.primary.get_postgres_connection_pool();
    match tokio::time::timeout(TIMEOUT, fence::primary_lsn(primary)).await {
        Ok(Ok(lsn)) => history.record(now, lsn),
        Ok(Err(e)) => tracing::debug!(error = %e, "replica check: the primary does not answer"),
        Err(_) => tracing::debug!("replica check: the primary did not answer in time"),
    }
    for r in &rs.list {
        let found = tokio::time::timeout(
            TIMEOUT,
            sea_orm::sqlx::query_scalar::<_, Option<i64>>(REPLAY_LSN_SQL).fetch_one(r.pool()),
        )
        .await;
        let state = match found {
            Ok(Ok(Some(replayed))) => {
                let replayed = u64::try_from(replayed).unwrap_or(0);
                r.replayed.store(replayed, Ordering::Release);
                let lag = history.lag(replayed, now);
                r.lag_ms.store(
                    u64::try_from(lag.as_millis()).unwrap_or(u64::MAX),
                    Ordering::Relaxed,
                );
                r.lag_bytes.store(
                    history.latest().unwrap_or(0).saturating_sub(replayed),
                    Ordering::Relaxed,
                );
                if lag > rs.settings.max_lag {
                    State::Lagging
                } else {
                    State::Up
                }
            }
            Ok(Ok(None)) => State::NotStandby,
            Ok(Err(e)) => {
                tracing::debug!(replica = %r.name, error = %e, "replica check failed");
                State::Down
            }
            Err(_) => State::Down,
        };
        set_state(r, state);
    }
}

fn set_state(r: &Replica, state: State) {
    let was = State::from_u8(r.state.swap(state as u8, Ordering::AcqRel));
    if was == state {
        return;
    }
    if state == State::Up {
        tracing::info!(replica = %r.name, "replica in rotation");
    } else {
        tracing::warn!(
            replica = %r.name,
            state = state.as_str(),
            lag_ms = r.lag().as_millis() as u64,
            "replica out of rotation; its reads go to the primary"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_the_time_since_the_primary_first_held_unreplayed_wal() {
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        let mut h = History::default();
        h.record(at(0), 100);
        h.record(at(5), 100);
        h.record(at(10), 200);
        h.record(at(12), 300);
        assert_eq!(h.lag(300, at(20)), Duration::ZERO, "caught up");
        assert_eq!(
            h.lag(100, at(20)),
            Duration::from_secs(10),
            "behind since 200 was written"
        );
        assert_eq!(h.lag(250, at(20)), Duration::from_secs(8));
        assert_eq!(
            h.lag(50, at(20)),
            Duration::from_secs(20),
            "at least as old as the history"
        );
        assert_eq!(h.latest(), Some(300));
    }

    #[test]
    fn an_idle_primary_makes_no_replica_late() {
        let t0 = Instant::now();
        let mut h = History::default();
        h.record(t0, 100);
        h.record(t0 + Duration::from_secs(600), 100);
        assert_eq!(h.lag(100, t0 + Duration::from_secs(900)), Duration::ZERO);
    }
}
