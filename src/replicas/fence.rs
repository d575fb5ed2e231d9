//! The read fence: the primary's WAL position at the newest invalidation, which a replica
//! must have replayed before an anonymous read may go to it (see the module docs of
//! [`crate::replicas`] for why).
//!
//! Every invalidation (a write of this process after its commit, another process's write
//! heard through `LISTEN/NOTIFY`, the cache emptied when the listener connects) calls
//! [`Fence::raise`] *before* it bumps the cache's generation. Raising marks the fence pending
//! at once, so that every read that starts after the invalidation goes to the primary, and
//! then asks the primary for its WAL position in the background; once known, the position
//! becomes the fence and the pending mark goes. The position is read after the commit (ours)
//! or after its notification arrived (another process's, which PostgreSQL delivers only
//! after the commit), so it is at or past the commit's record.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sea_orm::sqlx::PgPool;

/// The primary's WAL position as an end pointer, comparable with a standby's
/// `pg_last_wal_replay_lsn()`. `pg_current_wal_insert_lsn()` is past every committed record
/// whatever `synchronous_commit` says; when nothing has been written on the current page yet
/// it points past the page's header (24 bytes, 40 at a segment's start), where a standby
/// that replayed everything reports the page boundary, so the header is taken off.
pub const PRIMARY_LSN_SQL: &str = "SELECT CASE WHEN l % seg = 40 THEN l - 40 \
     WHEN l % blk = 24 THEN l - 24 ELSE l END \
     FROM (SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint AS l, \
     current_setting('wal_block_size')::bigint AS blk, \
     pg_size_bytes(current_setting('wal_segment_size')) AS seg) AS p";

/// Reads the primary's WAL position ([`PRIMARY_LSN_SQL`]).
pub async fn primary_lsn(pool: &PgPool) -> Result<u64, sea_orm::sqlx::Error> {
    let lsn: i64 = sea_orm::sqlx::query_scalar(PRIMARY_LSN_SQL)
        .fetch_one(pool)
        .await?;
    Ok(u64::try_from(lsn).unwrap_or(0))
}

/// The fence of one process (cheap to share).
#[derive(Debug, Default)]
pub struct Fence {
    /// The primary, once replicas are in use; until then raising does nothing.
    primary: OnceLock<PgPool>,
    /// Raisings whose WAL position is not known yet.
    pending: AtomicU64,
    /// The highest WAL position known to follow an invalidation.
    lsn: AtomicU64,
}

/// A raising under way: [`Raising::resolve`] (after the invalidation) fetches its position.
#[must_use = "resolve it once the invalidation is applied"]
pub struct Raising(Arc<Fence>);

impl Fence {
    /// Puts the fence to work: from now on invalidations wait for the primary's position.
    pub fn arm(&self, primary: PgPool) {
        let _ = self.primary.set(primary);
    }

    /// Whether replicas are in use.
    pub fn armed(&self) -> bool {
        self.primary.get().is_some()
    }

    /// Marks an invalidation under way: call before the invalidation is applied.
    pub fn raise(self: &Arc<Self>) -> Option<Raising> {
        self.primary.get()?;
        self.pending.fetch_add(1, Ordering::SeqCst);
        Some(Raising(self.clone()))
    }

    /// The position a replica must have replayed for a read to go to it, or `None` while
    /// an invalidation's position is being learnt (then reads go to the primary).
    pub fn required(&self) -> Option<u64> {
        if self.pending.load(Ordering::SeqCst) > 0 {
            return None;
        }
        Some(self.lsn.load(Ordering::SeqCst))
    }

    /// The highest position known (for the health check's fast polling).
    pub fn lsn(&self) -> u64 {
        self.lsn.load(Ordering::SeqCst)
    }

    fn settle(&self, lsn: u64) {
        self.lsn.fetch_max(lsn, Ordering::SeqCst);
        self.pending.fetch_sub(1, Ordering::SeqCst);
    }
}

/// First and longest wait between attempts to read the primary's position.
const FIRST_RETRY: Duration = Duration::from_millis(50);
const LAST_RETRY: Duration = Duration::from_secs(2);

impl Raising {
    /// Reads the primary's position in the background (the invalidation is applied by now)
    /// and settles the fence on it. While the primary does not answer the fence stays
    /// pending, so anonymous reads stay on the primary, which is where they fail anyway.
    pub fn resolve(self) {
        let fence = self.0;
        let Some(pool) = fence.primary.get().cloned() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime (a unit test): nothing can read a replica either.
            fence.settle(u64::MAX);
            return;
        };
        runtime.spawn(async move {
            let mut wait = FIRST_RETRY;
            loop {
                match primary_lsn(&pool).await {
                    Ok(lsn) => return fence.settle(lsn),
                    Err(_) if pool.is_closed() => return fence.settle(u64::MAX),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the primary's WAL position; anonymous reads stay on the primary");
                        tokio::time::sleep(wait).await;
                        wait = (wait * 2).min(LAST_RETRY);
                    }
                }
            }
        });
    }
}
