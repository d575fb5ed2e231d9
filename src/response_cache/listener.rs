//! Hearing other processes' writes: a PostgreSQL `LISTEN` on the schema's cache channel
//! (`crate::domain::invalidation` sends the notifications at each write's commit).
//!
//! The listener holds one connection of the pool. While it is not connected the cache
//! neither serves nor stores (a write elsewhere would go unheard), and every time it
//! (re)connects it empties the cache first, since notifications sent meanwhile are lost.
//! It stops when the cache is dropped or the pool closed. SQLite needs none of this: one
//! process owns the file, and its writes invalidate in-process.

use std::sync::Weak;
use std::time::Duration;

use anyhow::Context as _;
use sea_orm::DatabaseConnection;
use sea_orm::sqlx::PgPool;
use sea_orm::sqlx::postgres::PgListener;

use super::{Inner, ResponseCache};
use crate::domain::invalidation;

const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(5);

/// Starts listening for `cache` (and its directory, so even when the cache is off) when `db`
/// is PostgreSQL and a tokio runtime is running; the task runs until the cache or the pool
/// goes away.
pub fn spawn(
    cache: &ResponseCache,
    db: &DatabaseConnection,
) -> Option<tokio::task::JoinHandle<()>> {
    if !matches!(db, DatabaseConnection::SqlxPostgresPoolConnection(_)) {
        return None;
    }
    let runtime = tokio::runtime::Handle::try_current().ok()?;
    let pool = db.get_postgres_connection_pool().clone();
    Some(runtime.spawn(run(pool, cache.downgrade())))
}

fn upgrade(cache: &Weak<Inner>) -> Option<ResponseCache> {
    cache.upgrade().map(ResponseCache)
}

async fn run(pool: PgPool, cache: Weak<Inner>) {
    let mut retry = FIRST_RETRY;
    loop {
        let err = match listen(&pool, &cache, &mut retry).await {
            Ok(()) => return,
            Err(e) => e,
        };
        let Some(c) = upgrade(&cache) else { return };
        c.set_live(false);
        drop(c);
        if pool.is_closed() {
            return;
        }
        metrics::counter!("gazette_response_cache_listener_errors_total").increment(1);
        tracing::warn!(
            error = format!("{err:#}"),
            retry_ms = retry.as_millis() as u64,
            "response cache cannot hear other processes' writes; bypassing it until it can"
        );
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(LAST_RETRY);
    }
}

/// Connects, subscribes, empties the cache and applies notifications until the connection
/// fails (`Err`) or the cache is gone (`Ok`).
async fn listen(pool: &PgPool, cache: &Weak<Inner>, retry: &mut Duration) -> anyhow::Result<()> {
    let channel: String =
        sea_orm::sqlx::query_scalar(&format!("SELECT {}", invalidation::CHANNEL_SQL))
            .fetch_one(pool)
            .await
            .context("naming the cache channel")?;
    let mut listener = PgListener::connect_with(pool).await.context("connecting")?;
    // Report a lost connection at once, so the cache stops serving until we are back.
    listener.eager_reconnect(false);
    listener.listen(&channel).await.context("subscribing")?;
    {
        let Some(c) = upgrade(cache) else {
            return Ok(());
        };
        c.clear();
        c.set_live(true);
        // Live subscriptions catch up from their stream position: notifications sent
        // while this listener was away are lost.
        c.0.stream_wake.notify_one();
    }
    tracing::debug!(channel, "response cache is hearing other processes' writes");
    *retry = FIRST_RETRY;
    loop {
        let Some(n) = listener.try_recv().await.context("receiving")? else {
            anyhow::bail!("the connection was lost");
        };
        let Some(c) = upgrade(cache) else {
            return Ok(());
        };
        c.0.stream_wake.notify_one();
        match invalidation::parse_payload(n.payload()) {
            Some((origin, _)) if origin == c.origin() => {}
            Some((_, keys)) => c.invalidate(keys),
            None => c.clear(),
        }
    }
}
