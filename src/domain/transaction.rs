//! How every write of the domain runs its transaction: [`write()`] (or [`write_if`], for a
//! write that may decline). One place, so that each write, whatever it changes:
//!
//! - **claims the request's `Idempotency-Key`** as its first statement, and records what it
//!   produced before committing (`domain::idempotency` explains the design);
//! - **takes SQLite's write lock first** (as `BEGIN IMMEDIATE`), so a write that reads
//!   before it writes waits its turn instead of failing to upgrade its read lock;
//! - **is run again when it loses a race** that a second run can win: a deadlock (40P01), a
//!   serialization failure (40001), SQLite `LOCKED`/`BUSY_SNAPSHOT`; up to [`ATTEMPTS`] times,
//!   then `UNAVAILABLE`. The work is a closure that re-reads what it needs, so a second run
//!   sees the winner's rows. (gazette runs every transaction at READ COMMITTED, the
//!   default of both databases, so 40001 comes only from a deployment that raises the level.)
//! - **never reports a write as failed that may have succeeded**: when the connection dies
//!   during `COMMIT`, PostgreSQL is asked on a fresh connection whether the transaction
//!   committed (`txid_status`, the function made for this). Committed: the write succeeded.
//!   Aborted: it failed, and left nothing behind. Unknown (the database is gone): 503
//!   `UNAVAILABLE` saying so, and a retry with the same `Idempotency-Key` applies it once.
//! - **on SQLite, waits its turn in the process before it begins** ([`gate`]): SQLite has
//!   one writer per file, and a transaction that reads first takes the write lock only at
//!   its first write. Concurrent writers that meet there are left to SQLite's busy handler,
//!   which sleeps and polls (1, 2, 5, … up to 100 ms a try) instead of queueing, so a loser
//!   can wait far longer than the writes ahead of it take: eight concurrent comment posts
//!   had a p99 of 278 ms against a median of 5 ms (`bench/comments.sh`). One async,
//!   first-come-first-served gate per database file queues them instead, and a writer holds
//!   no connection while it waits. Writers in other processes (an import) still meet at the
//!   busy handler.
//!
//! A write that fails before `COMMIT` rolls back: nothing of it, or of its claim, remains.
//!
//! The work is a closure that is given the transaction as a [`Txn`] (shared, so that the
//! future it returns owns its handle) and returns a future; it is called once per run. Its
//! captures are references (`move |txn| async move { … }`), so that each run can use them.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{
    ConnectionTrait as _, DatabaseConnection, DatabaseTransaction, DbBackend, Statement,
    TransactionTrait as _,
};

use super::idempotency::{self, Outcome, State};
use crate::error::{AppError, Failure, Result};

/// Most runs of one write that keeps losing races.
pub const ATTEMPTS: u32 = 4;

/// How long a write whose `COMMIT` lost its connection waits to learn the outcome.
const RESOLVE_WITHIN: Duration = Duration::from_secs(3);

/// The transaction a write's work runs in.
pub type Txn = Arc<DatabaseTransaction>;

/// Runs `work` in a transaction and commits it (see the module's documentation).
pub async fn write<T, Fut>(db: &DatabaseConnection, mut work: impl FnMut(Txn) -> Fut) -> Result<T>
where
    T: Outcome,
    Fut: Future<Output = Result<T>>,
{
    write_if(db, |txn| {
        let run = work(txn);
        async move { run.await.map(Some) }
    })
    .await?
    .ok_or_else(|| AppError::internal("a write declined without saying why"))
}

/// Like [`write()`], but `work` may decline with `Ok(None)`: the transaction is rolled back,
/// nothing is written, and `None` returned.
pub async fn write_if<T, Fut>(
    db: &DatabaseConnection,
    mut work: impl FnMut(Txn) -> Fut,
) -> Result<Option<T>>
where
    T: Outcome,
    Fut: Future<Output = Result<Option<T>>>,
{
    let mut attempt = 1;
    loop {
        let turn = gate::enter(db).await?;
        let ran = once(db, &mut work).await;
        drop(turn);
        match ran {
            Err(e) if e.failure() == Some(Failure::Contention) && attempt < ATTEMPTS => {
                metrics::counter!("gazette_transaction_retries_total").increment(1);
                tracing::info!(attempt, error = %e, "a transaction lost a race; running it again");
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            done => return done,
        }
    }
}

/// The in-process queue of SQLite writers (see the module's documentation).
pub mod gate {
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::sync::{Arc, Mutex, OnceLock};
    use std::time::Duration;

    use sea_orm::DatabaseConnection;
    use tokio::sync::OwnedMutexGuard;

    use crate::error::{AppError, Failure, Result};

    /// How long a writer waits for its turn: SQLite's own busy timeout (`crate::db`), after
    /// which the write is refused as `UNAVAILABLE` (retryable) just as a `BUSY` would be.
    pub const WAIT: Duration = Duration::from_secs(5);

    /// One gate per database file, for every pool the process opened on it.
    fn gates() -> &'static Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>> {
        static GATES: OnceLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> =
            OnceLock::new();
        GATES.get_or_init(Mutex::default)
    }

    /// The turn of a write on `db`: held until it commits or rolls back. `None` on
    /// PostgreSQL, whose writers lock rows, not the database.
    pub async fn enter(db: &DatabaseConnection) -> Result<Option<OwnedMutexGuard<()>>> {
        let DatabaseConnection::SqlxSqlitePoolConnection(_) = db else {
            return Ok(None);
        };
        let file = db
            .get_sqlite_connection_pool()
            .connect_options()
            .get_filename()
            .to_path_buf();
        let gate = {
            let mut all = gates()
                .lock()
                .map_err(|_| AppError::internal("the SQLite write gates were poisoned"))?;
            all.entry(file).or_default().clone()
        };
        let waited = std::time::Instant::now();
        let turn = tokio::time::timeout(WAIT, gate.lock_owned())
            .await
            .map_err(|_| AppError::database(Failure::Exhausted))?;
        metrics::histogram!("gazette_sqlite_write_wait_seconds")
            .record(waited.elapsed().as_secs_f64());
        Ok(Some(turn))
    }
}

/// A short pause, longer on each attempt, with jitter so that the two sides of a deadlock do
/// not meet again.
fn backoff(attempt: u32) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    Duration::from_millis(u64::from(10 * attempt * attempt + nanos % 20))
}

/// One run: begin, claim, work, record, commit.
async fn once<T, Fut>(
    db: &DatabaseConnection,
    work: &mut impl FnMut(Txn) -> Fut,
) -> Result<Option<T>>
where
    T: Outcome,
    Fut: Future<Output = Result<Option<T>>>,
{
    let txn = Arc::new(db.begin().await?);
    if txn.get_database_backend() == DbBackend::Sqlite {
        // Take SQLite's write lock now, as `BEGIN IMMEDIATE` would: a transaction that read
        // first and wrote later would have to upgrade its read, and SQLite refuses that at
        // once with `BUSY` (its busy handler is not called, since waiting could deadlock)
        // whenever another connection is writing. A write statement that matches no row
        // takes the lock and waits for it under the busy timeout like any other.
        txn.execute_unprepared("UPDATE stream_head SET last_seq = last_seq WHERE 0")
            .await?;
    }
    let ran = run(&txn, work).await;
    // The work's future is done with its handle (dropping it would roll back).
    let txn = Arc::try_unwrap(txn)
        .map_err(|_| AppError::internal("a write kept its transaction after its work"))?;
    let (out, xid) = match ran {
        Ok(Some(done)) => done,
        other => {
            txn.rollback().await.ok();
            idempotency::settle(State::Open);
            return other.map(|_| None);
        }
    };
    match txn.commit().await {
        Ok(()) => {
            idempotency::settle(State::Committed);
            Ok(Some(out))
        }
        Err(e) => {
            let err = AppError::from(e);
            let committed = match (err.failure(), xid) {
                (Some(Failure::Connection), Some(xid)) => resolve(db, xid).await,
                // SQLite, or a refusal at commit (a deferred constraint): not committed.
                _ => Some(false),
            };
            match committed {
                Some(true) => {
                    tracing::warn!("the connection failed during COMMIT, which had succeeded");
                    idempotency::settle(State::Committed);
                    Ok(Some(out))
                }
                Some(false) => {
                    idempotency::settle(State::Open);
                    Err(err)
                }
                None => {
                    tracing::error!(
                        xid,
                        "the connection failed during COMMIT, and whether it committed is unknown"
                    );
                    idempotency::settle(State::Unknown);
                    Err(AppError::database(Failure::CommitUnknown))
                }
            }
        }
    }
}

/// The work of one run inside `txn`, with the claim before it and the outcome after it;
/// on PostgreSQL also the transaction's id, to learn its fate if `COMMIT` loses its connection.
async fn run<T, Fut>(
    txn: &Txn,
    work: &mut impl FnMut(Txn) -> Fut,
) -> Result<Option<(T, Option<i64>)>>
where
    T: Outcome,
    Fut: Future<Output = Result<Option<T>>>,
{
    let claimed = idempotency::claim(&**txn).await?;
    let Some(out) = work(txn.clone()).await? else {
        return Ok(None);
    };
    if claimed {
        idempotency::record(&**txn, &out.outcome()).await?;
    }
    let xid = match txn.get_database_backend() {
        DbBackend::Postgres => {
            let row = txn
                .query_one(Statement::from_string(
                    DbBackend::Postgres,
                    "SELECT txid_current() AS xid",
                ))
                .await?;
            row.map(|r| r.try_get::<i64>("", "xid")).transpose()?
        }
        _ => None,
    };
    Ok(Some((out, xid)))
}

/// Whether the PostgreSQL transaction `xid` committed, asked on a fresh connection until it
/// has finished: `None` when that cannot be learnt within [`RESOLVE_WITHIN`].
async fn resolve(db: &DatabaseConnection, xid: i64) -> Option<bool> {
    let deadline = Instant::now() + RESOLVE_WITHIN;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let asked = tokio::time::timeout(
            left,
            db.query_one(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT txid_status($1) AS status",
                [xid.into()],
            )),
        )
        .await;
        if let Ok(Ok(Some(row))) = asked {
            match row
                .try_get::<Option<String>>("", "status")
                .ok()
                .flatten()
                .as_deref()
            {
                Some("committed") => return Some(true),
                Some("aborted") => return Some(false),
                // Still in progress: the old session has not noticed its client left.
                _ => {}
            }
        }
        if Instant::now() + Duration::from_millis(100) >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
