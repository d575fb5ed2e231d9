//! Live subscriptions' feed: one **stream follower** per process tails the change stream
//! (`crate::domain::stream`) and broadcasts each event to the GraphQL subscriptions of this
//! process (`crate::graphql::subscription`), which decide, per subscriber, what to send.
//!
//! ## Why it works across processes and loses nothing
//!
//! The stream is in the database, so a write in any process reaches every process's
//! follower. The follower reads it when it is woken and otherwise polls:
//!
//! - on PostgreSQL, every write notifies at commit, and the response cache's `LISTEN`
//!   (`crate::response_cache::listener`) rings [`ResponseCache::stream_wake`] for each
//!   notification *and* whenever it (re)connects: notifications sent while it was away are
//!   lost, and the follower simply reads from its last position. A slow poll
//!   ([`Settings::poll`] × [`BACKSTOP_FACTOR`]) is the backstop;
//! - on SQLite (one process, no notifications) it polls every [`Settings::poll`].
//!
//! It runs only while this process has a subscription: the first one starts it from its own
//! start position, and it stops when the last one ends, so an idle process reads nothing.
//!
//! Positions are gapless and committed in order, so each subscription also checks that it
//! saw every position after the one it started at ([`Follow`]): a subscription that fell
//! behind the broadcast buffer (a slow client), or that started while the follower was
//! between reads, reads what it missed from the database. A lagging subscriber never stalls
//! the follower or the others: the broadcast drops its oldest events for it alone.
//!
//! [`ResponseCache::stream_wake`]: crate::response_cache::ResponseCache::stream_wake

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::{Notify, broadcast};

use crate::domain::stream::{self, Stored};
use crate::error::{AppError, Result};

/// Events read from the database in one statement.
const PAGE: u64 = 500;
/// On PostgreSQL, where notifications wake the follower, it polls this many times less often.
pub const BACKSTOP_FACTOR: u32 = 10;
/// Longest pause after a failed read.
const MAX_RETRY: Duration = Duration::from_secs(5);

/// The limits and timings of live subscriptions (the `GAZETTE_WS_*` and `GAZETTE_LIVE_*`
/// settings).
#[derive(Clone, Debug)]
pub struct Settings {
    /// How often the follower reads the stream without being woken (SQLite; ten times less
    /// often on PostgreSQL, where notifications wake it).
    pub poll: Duration,
    /// Events kept for subscriptions that have not taken them yet; one that falls further
    /// behind reads the rest from the database.
    pub buffer: usize,
    /// Most open WebSocket connections per client address.
    pub max_connections_per_client: usize,
    /// Most subscriptions running at once on one connection.
    pub max_subscriptions: usize,
    /// A connection with no subscription running that sends nothing for this long is closed.
    pub idle_timeout: Duration,
    /// A connection must send `connection_init` within this (4408 otherwise).
    pub init_timeout: Duration,
    /// Largest message a client may send, in bytes (the socket is closed with 1009).
    pub max_message_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(250),
            buffer: 1024,
            max_connections_per_client: 16,
            max_subscriptions: 20,
            idle_timeout: Duration::from_secs(300),
            init_timeout: Duration::from_secs(10),
            max_message_bytes: 64 * 1024,
        }
    }
}

/// The process's feed of stream events (cheap to clone).
#[derive(Clone)]
pub struct Live(Arc<Hub>);

struct Hub {
    settings: Settings,
    tx: broadcast::Sender<Arc<Stored>>,
    /// The last position broadcast; -1 while no follower runs.
    position: AtomicI64,
    /// Open connections per client.
    connections: Mutex<HashMap<String, usize>>,
    /// What the follower reads and hears ([`Live::attach`]), and whether it runs: it starts
    /// with the first subscription and stops once none is left, under this lock, so that a
    /// subscription never joins a follower that is leaving.
    follower: Mutex<Follower>,
    /// While set, the follower neither reads nor hears (a test's stand-in for a lost listener).
    deaf: AtomicBool,
    /// Wakes the follower at once (after [`Live::deafen`]).
    nudge: Notify,
}

#[derive(Default)]
struct Follower {
    source: Option<(DatabaseConnection, Arc<Notify>)>,
    running: bool,
}

impl Default for Live {
    fn default() -> Self {
        Self::new(Settings::default())
    }
}

impl Live {
    /// A feed with these settings; nothing runs until [`Live::attach`].
    pub fn new(settings: Settings) -> Self {
        let (tx, _) = broadcast::channel(settings.buffer.max(16));
        Self(Arc::new(Hub {
            settings,
            tx,
            position: AtomicI64::new(-1),
            connections: Mutex::default(),
            follower: Mutex::default(),
            deaf: AtomicBool::new(false),
            nudge: Notify::new(),
        }))
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.0.settings
    }

    /// Gives the follower what it reads, `db`, and what wakes it besides its poll, `wake`
    /// (the response cache's listener on PostgreSQL). It runs only while a subscription
    /// of this process needs it, so a process nobody subscribes to never polls.
    pub fn attach(&self, db: DatabaseConnection, wake: Arc<Notify>) {
        if let Ok(mut f) = self.0.follower.lock() {
            f.source = Some((db, wake));
        }
    }

    /// The last position broadcast, while the follower runs.
    pub fn position(&self) -> Option<i32> {
        let p = self.0.position.load(Ordering::Acquire);
        (p >= 0).then(|| i32::try_from(p).ok()).flatten()
    }

    /// Follows the stream after position `start` (see [`Follow`]); with `None`, after the
    /// current head. Starts the follower if it is not running.
    pub async fn follow(&self, db: DatabaseConnection, start: Option<i32>) -> Result<Follow> {
        let start = match start {
            Some(s) => s,
            None => stream::head(&db).await?.last_seq,
        };
        let rx = {
            let mut f = self
                .0
                .follower
                .lock()
                .map_err(|_| AppError::internal("the live follower's lock is poisoned"))?;
            let rx = self.0.tx.subscribe();
            if !f.running
                && let Some((db, wake)) = f.source.clone()
                && let Ok(runtime) = tokio::runtime::Handle::try_current()
            {
                f.running = true;
                self.0.position.store(i64::from(start), Ordering::Release);
                let every = if matches!(db, DatabaseConnection::SqlxPostgresPoolConnection(_)) {
                    self.0.settings.poll * BACKSTOP_FACTOR
                } else {
                    self.0.settings.poll
                };
                runtime.spawn(follow(Arc::downgrade(&self.0), db, wake, every, start));
            }
            rx
        };
        let mut f = Follow {
            rx,
            db,
            last: start,
            pending: VecDeque::new(),
        };
        // Events the follower broadcast before `rx` existed: read them here (the follower
        // stores a position before it broadcasts it, so nothing falls between).
        if self.position().is_some_and(|p| p > start) {
            f.catch_up().await?;
        }
        Ok(f)
    }

    /// Counts a connection of `client`, or `None` when it has as many as allowed. The
    /// connection counts until the returned guard is dropped.
    pub fn connect(&self, client: &str) -> Option<ConnectionGuard> {
        let mut map = self.0.connections.lock().ok()?;
        let n = map.entry(client.to_owned()).or_default();
        if *n >= self.0.settings.max_connections_per_client {
            return None;
        }
        *n += 1;
        Some(ConnectionGuard {
            hub: self.0.clone(),
            client: client.to_owned(),
        })
    }

    /// Test hook: while `deaf`, the follower neither hears wakes nor polls, as when its
    /// listener is away; on `false` it reads from its position, as after a reconnect.
    #[doc(hidden)]
    pub fn deafen(&self, deaf: bool) {
        self.0.deaf.store(deaf, Ordering::SeqCst);
        if !deaf {
            self.0.nudge.notify_one();
        }
    }
}

/// One open connection of a client (see [`Live::connect`]).
pub struct ConnectionGuard {
    hub: Arc<Hub>,
    client: String,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        if let Ok(mut map) = self.hub.connections.lock()
            && let Some(n) = map.get_mut(&self.client)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.client);
            }
        }
    }
}

/// The follower: reads the stream after `start` whenever woken or due, and broadcasts; it
/// stops when no subscription is left.
async fn follow(
    hub: Weak<Hub>,
    db: DatabaseConnection,
    wake: Arc<Notify>,
    every: Duration,
    start: i32,
) {
    let mut last = start;
    let mut retry = Duration::from_millis(100);
    loop {
        let Some(h) = hub.upgrade() else { return };
        if let Ok(mut f) = h.follower.lock()
            && h.tx.receiver_count() == 0
        {
            f.running = false;
            h.position.store(-1, Ordering::Release);
            return;
        }
        let mut pause = every;
        if !h.deaf.load(Ordering::SeqCst) {
            match read(&h, &db, last).await {
                Ok(l) => {
                    last = l;
                    retry = Duration::from_millis(100);
                }
                Err(e) => {
                    metrics::counter!("gazette_live_follower_errors_total").increment(1);
                    tracing::warn!(error = %e, "live subscriptions cannot read the change stream; retrying");
                    pause = retry;
                    retry = (retry * 2).min(MAX_RETRY);
                }
            }
        }
        let deaf = h.deaf.load(Ordering::SeqCst);
        // The feed is held only until this wait ends; then the loop finds it gone.
        let nudged = async move { h.nudge.notified().await };
        tokio::select! {
            _ = wake.notified(), if !deaf => {}
            _ = nudged => {}
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

/// Reads and broadcasts everything after `last`; returns the new position.
async fn read(h: &Hub, db: &DatabaseConnection, mut last: i32) -> Result<i32> {
    loop {
        let page = stream::read(db, last, PAGE).await?;
        let full = page.len() as u64 == PAGE;
        for e in page {
            last = e.seq;
            // Stored before it is sent: see `Live::follow`.
            h.position.store(i64::from(last), Ordering::Release);
            // No receivers is not an error: nobody subscribes in this process right now.
            let _ = h.tx.send(Arc::new(e));
        }
        if !full {
            return Ok(last);
        }
    }
}

/// One subscription's view of the stream: every event after its start, in order, exactly
/// once, whether it came through the broadcast or, when the broadcast left it behind, from
/// the database.
pub struct Follow {
    rx: broadcast::Receiver<Arc<Stored>>,
    db: DatabaseConnection,
    last: i32,
    pending: VecDeque<Arc<Stored>>,
}

impl Follow {
    /// The next event; `None` once the feed is gone (the process is shutting down).
    pub async fn next(&mut self) -> Result<Option<Arc<Stored>>> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                if e.seq > self.last {
                    self.last = e.seq;
                    return Ok(Some(e));
                }
                continue;
            }
            match self.rx.recv().await {
                Ok(e) if e.seq <= self.last => {}
                Ok(e) if e.seq == self.last + 1 => {
                    self.last = e.seq;
                    return Ok(Some(e));
                }
                // A gap: this subscription started between reads, or fell behind.
                Ok(e) => {
                    self.catch_up().await?;
                    if self.pending.is_empty() {
                        // Retention removed what was missed; go on from here.
                        self.pending.push_back(e);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    metrics::counter!("gazette_live_lagged_total").increment(n);
                    self.catch_up().await?;
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(None),
            }
        }
    }

    /// Reads the next page after the last event seen from the database.
    async fn catch_up(&mut self) -> Result<()> {
        let page = stream::read(&self.db, self.last, PAGE).await?;
        self.pending.extend(page.into_iter().map(Arc::new));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_counted_per_client_until_closed() {
        let live = Live::new(Settings {
            max_connections_per_client: 2,
            ..Settings::default()
        });
        let a = live.connect("ip:1");
        let b = live.connect("ip:1");
        assert!(a.is_some() && b.is_some());
        assert!(live.connect("ip:1").is_none(), "a third is refused");
        assert!(live.connect("ip:2").is_some(), "another client is not");
        drop(a);
        assert!(
            live.connect("ip:1").is_some(),
            "a closed one frees its place"
        );
    }
}
