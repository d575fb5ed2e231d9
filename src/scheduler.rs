//! The background task that publishes scheduled articles when they fall due, lifts embargoes
//! the database's clock has passed, and removes expired idempotency keys and change-stream
//! events older than the retention (about once a minute).
//!
//! Its state lives only in the database, so it survives restarts, and every process may run
//! it: each due article is claimed by a conditional update, so it is published exactly once.

use std::time::Duration;

use sea_orm::DatabaseConnection;

use crate::domain::{comments, idempotency, invalidation, publishing, stream};

/// How long change-stream events are kept by default.
pub const CHANGE_RETENTION: Duration = Duration::from_secs(30 * 86_400);

/// How often expired idempotency keys are removed.
const PURGE_EVERY: Duration = Duration::from_secs(60);
use crate::response_cache::ResponseCache;

/// Runs until the returned handle is aborted, checking every `every`.
pub fn spawn(db: DatabaseConnection, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(db, every, None))
}

/// How long the scheduler keeps what it prunes.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    /// Change-stream events.
    pub changes: Duration,
    /// Commenters' IP addresses and user agents.
    pub commenter_data: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            changes: CHANGE_RETENTION,
            commenter_data: CHANGE_RETENTION,
        }
    }
}

/// Checks every `every`, forever. What it publishes is invalidated in `cache` (this
/// process's) at once, and in other processes' through the database's notifications.
pub async fn run(db: DatabaseConnection, every: Duration, cache: Option<ResponseCache>) {
    run_with(db, every, cache, Retention::default()).await
}

/// [`run`], keeping change-stream events and commenter data as `retention` says.
pub async fn run_with(
    db: DatabaseConnection,
    every: Duration,
    cache: Option<ResponseCache>,
    retention: Retention,
) {
    let keep = chrono::Duration::from_std(retention.changes).unwrap_or(chrono::Duration::MAX);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut purged_at: Option<std::time::Instant> = None;
    loop {
        tick.tick().await;
        if purged_at.is_none_or(|t| t.elapsed() >= PURGE_EVERY) {
            purged_at = Some(std::time::Instant::now());
            match idempotency::purge_expired(&db).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(removed = n, "expired idempotency keys removed"),
                Err(err) => tracing::warn!(error = %err, "expired idempotency keys not removed"),
            }
            match comments::commenters::clear_expired(&db, retention.commenter_data).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(comments = n, "commenter addresses past retention cleared"),
                Err(err) => tracing::warn!(error = %err, "commenter addresses not cleared"),
            }
            match stream::prune(&db, keep).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "change-stream events past retention removed"),
                Err(err) => tracing::warn!(error = %err, "change-stream events not pruned"),
            }
        }
        let touched = invalidation::Touched::new(cache.as_ref().map_or(0, ResponseCache::origin));
        let (result, lifted) = invalidation::collect(touched.clone(), async {
            (
                publishing::publish_due(&db).await,
                publishing::lift_due_embargoes(&db).await,
            )
        })
        .await;
        if let Some(c) = &cache {
            let keys = touched.take();
            if !keys.is_empty() {
                c.invalidate(keys);
            }
        }
        match lifted {
            Ok(0) => {}
            Ok(n) => {
                metrics::counter!("gazette_embargoes_lifted_total").increment(n as u64);
                tracing::info!(lifted = n, "lifted embargoes");
            }
            Err(err) => tracing::warn!(error = %err, "lifting embargoes failed; retrying"),
        }
        match result {
            Ok(0) => {
                metrics::counter!("gazette_scheduler_runs_total", "result" => "idle").increment(1)
            }
            Ok(n) => {
                metrics::counter!("gazette_scheduler_runs_total", "result" => "published")
                    .increment(1);
                metrics::counter!("gazette_scheduled_published_total").increment(n as u64);
                tracing::info!(published = n, "published scheduled articles");
            }
            Err(err) => {
                metrics::counter!("gazette_scheduler_runs_total", "result" => "failed")
                    .increment(1);
                tracing::warn!(error = %err, "scheduled publishing failed; retrying");
            }
        }
    }
}
