//! PostgreSQL read replicas (`DATABASE_READ_URL`): which connection a statement goes to, and
//! why the response cache is never refilled from a replica that has not yet replayed the
//! write that emptied it.
//!
//! # Where statements go
//! Handlers and resolvers use [`Db`] (`AppState::db`) as the connection, and never choose.
//! [`Db`] hands out the primary, except inside [`Db::read`]: the HTTP layer runs an
//! anonymous read there (`crate::http::routing` for `GET`s, the GraphQL handler for a
//! `POST`ed query), and [`Db::read`] picks a replica for the whole request (so one request
//! sees one consistent copy). Everything else stays on the primary: writes, reads with a
//! token (an editor sees what they just wrote), reads with a preview or comment view token,
//! the scheduler, the webhook and stream workers, the response cache's listener, and the
//! newsroom directory's loads (a snapshot outlives the request, see below).
//!
//! # Which replica
//! A replica is in rotation while its health check ([`health`]) finds it reachable, in
//! recovery, and at most `GAZETTE_REPLICA_MAX_LAG` behind the primary; otherwise reads go to
//! the primary until it recovers. Among those in rotation reads take turns, and a read only
//! goes to one that has replayed up to the [`fence`].
//!
//! # No stale cache fills
//! A write empties the cached answers that show what it changed, in every process, at its
//! commit. A replica replays that commit a moment later. An anonymous read that starts
//! after the invalidation and reads the replica before it replays would put the old answer
//! back, for the cache's whole lifetime, since no second invalidation comes. So every
//! invalidation raises the [`fence`] to the primary's WAL position after the commit, and a
//! read goes to a replica only when that replica's last known replay position
//! (`pg_last_wal_replay_lsn()`, polled every few milliseconds while a replica is behind the
//! fence) has reached it; until then reads go to the primary. The answer a read stores is
//! then never older than the invalidation that preceded it, as on a single database. The
//! same holds for the newsroom directory, which loads from the primary because it checks
//! its generation when the load starts, not when the request did.

pub mod fence;
pub mod health;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use sea_orm::sqlx::PgPool;
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    ExecResult, IsolationLevel, QueryResult, Statement, TransactionError, TransactionTrait,
};

pub use fence::Fence;

/// How replicas are taken in and out of rotation.
#[derive(Clone, Debug)]
pub struct Settings {
    /// A replica further behind the primary than this is out of rotation.
    pub max_lag: Duration,
    /// How often each replica is checked (more often while one is behind the fence).
    pub check_every: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_lag: Duration::from_secs(10),
            check_every: Duration::from_secs(1),
        }
    }
}

/// Where a replica stands, as the health check last found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum State {
    /// Not checked yet, or it did not answer: out of rotation.
    Down = 0,
    /// Reachable, replaying, within the lag allowed: in rotation.
    Up = 1,
    /// Reachable but further behind than allowed: out of rotation.
    Lagging = 2,
    /// Reachable but not in recovery (a promoted replica, or a primary): out of rotation.
    NotStandby = 3,
}

impl State {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Up,
            2 => Self::Lagging,
            3 => Self::NotStandby,
            _ => Self::Down,
        }
    }

    /// The label of the state in `/metrics`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Down => "down",
            Self::Up => "up",
            Self::Lagging => "lagging",
            Self::NotStandby => "not_standby",
        }
    }

    /// Every state, for the metrics' one-of-n gauge.
    pub const ALL: [Self; 4] = [Self::Down, Self::Up, Self::Lagging, Self::NotStandby];
}

/// One replica.
pub struct Replica {
    /// `host:port/database`, for metrics and logs (never the password).
    pub name: String,
    conn: DatabaseConnection,
    state: AtomicU8,
    /// The replay position last seen (`pg_last_wal_replay_lsn()` as a byte count).
    replayed: AtomicU64,
    /// The lag last measured, in milliseconds and in bytes of WAL.
    lag_ms: AtomicU64,
    lag_bytes: AtomicU64,
    reads: metrics::Counter,
}

impl Replica {
    /// Its state.
    pub fn state(&self) -> State {
        State::from_u8(self.state.load(Ordering::Acquire))
    }

    /// Its lag as last measured.
    pub fn lag(&self) -> Duration {
        Duration::from_millis(self.lag_ms.load(Ordering::Relaxed))
    }

    /// How many bytes of WAL it was behind the primary, as last measured.
    pub fn lag_bytes(&self) -> u64 {
        self.lag_bytes.load(Ordering::Relaxed)
    }

    /// Its replay position as last seen.
    pub fn replayed(&self) -> u64 {
        self.replayed.load(Ordering::Acquire)
    }

    /// Its pool.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }

    fn pool(&self) -> &PgPool {
        self.conn.get_postgres_connection_pool()
    }
}

/// The process's replicas (cheap to clone).
#[derive(Clone)]
pub struct Replicas(Arc<Inner>);

struct Inner {
    list: Vec<Replica>,
    primary: DatabaseConnection,
    fence: Arc<Fence>,
    settings: Settings,
    /// Whose turn it is.
    next: AtomicUsize,
    /// Rung when a read found a replica in rotation but behind the fence: check again soon.
    wake: Arc<tokio::sync::Notify>,
    fallbacks_catching_up: metrics::Counter,
    fallbacks_out: metrics::Counter,
}

impl Replicas {
    /// Replicas over open pools (`(name, pool)`), beside `primary`, sharing `fence` with the
    /// response cache. Every replica starts out of rotation until its first check.
    pub fn new(
        primary: DatabaseConnection,
        replicas: Vec<(String, DatabaseConnection)>,
        fence: Arc<Fence>,
        settings: Settings,
    ) -> anyhow::Result<Self> {
        let DatabaseConnection::SqlxPostgresPoolConnection(_) = &primary else {
            anyhow::bail!("read replicas (DATABASE_READ_URL) need PostgreSQL as the primary");
        };
        let mut list = Vec::with_capacity(replicas.len());
        for (name, conn) in replicas {
            let DatabaseConnection::SqlxPostgresPoolConnection(_) = &conn else {
                anyhow::bail!("the read replica {name} is not PostgreSQL");
            };
            list.push(Replica {
                reads: metrics::counter!("gazette_replica_reads_total", "replica" => name.clone()),
                name,
                conn,
                state: AtomicU8::new(State::Down as u8),
                replayed: AtomicU64::new(0),
                lag_ms: AtomicU64::new(0),
                lag_bytes: AtomicU64::new(0),
            });
        }
        fence.arm(primary.get_postgres_connection_pool().clone());
        let inner = Arc::new(Inner {
            list,
            primary,
            fence,
            settings,
            next: AtomicUsize::new(0),
            wake: Arc::default(),
            fallbacks_catching_up: metrics::counter!("gazette_replica_fallbacks_total", "reason" => "catching_up"),
            fallbacks_out: metrics::counter!("gazette_replica_fallbacks_total", "reason" => "out_of_rotation"),
        });
        Ok(Self(inner))
    }

    /// Starts the health check (when a tokio runtime runs); it ends when the replicas go.
    pub fn spawn_health_check(&self) -> Option<tokio::task::JoinHandle<()>> {
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        Some(runtime.spawn(health::run(Arc::downgrade(&self.0), self.0.wake.clone())))
    }

    /// The replicas, for metrics and tests.
    pub fn list(&self) -> &[Replica] {
        &self.0.list
    }

    /// The replica an anonymous read goes to now, if any: the next in rotation that has
    /// replayed up to the fence.
    fn pick(&self) -> Option<usize> {
        let list = &self.0.list;
        let Some(required) = self.0.fence.required() else {
            self.0.fallbacks_catching_up.increment(1);
            self.0.wake.notify_one();
            return None;
        };
        let start = self.0.next.fetch_add(1, Ordering::Relaxed);
        let mut behind = false;
        for k in 0..list.len() {
            let i = (start + k) % list.len();
            let r = &list[i];
            if r.state() != State::Up {
                continue;
            }
            if r.replayed() >= required {
                r.reads.increment(1);
                return Some(i);
            }
            behind = true;
        }
        if behind {
            self.0.fallbacks_catching_up.increment(1);
            self.0.wake.notify_one();
        } else {
            self.0.fallbacks_out.increment(1);
        }
        None
    }

    /// Takes replica `i` out of rotation until its next good check: a read on it lost its
    /// connection, and the read's retry goes to the primary.
    fn lost(&self, i: usize) {
        if let Some(r) = self.0.list.get(i) {
            r.state.store(State::Down as u8, Ordering::Release);
            tracing::warn!(replica = %r.name, "a read lost its connection to the replica; out of rotation until it answers");
        }
    }
}

tokio::task_local! {
    /// The replica the current request reads from: which [`Replicas`] (by address) and
    /// which of them.
    static READ_FROM: (usize, usize);
}

/// The database as handlers see it: the primary, or the replica [`Db::read`] chose for the
/// current request. It derefs to the connection to use now, and is itself a
/// [`ConnectionTrait`] and [`TransactionTrait`], so `&state.db` goes wherever a connection
/// does.
#[derive(Clone)]
pub struct Db {
    primary: DatabaseConnection,
    replicas: Option<Replicas>,
}

impl Db {
    /// The primary alone (no replicas; SQLite, or PostgreSQL without `DATABASE_READ_URL`).
    pub fn new(primary: DatabaseConnection) -> Self {
        Self {
            primary,
            replicas: None,
        }
    }

    /// The primary with read replicas.
    pub fn with_replicas(primary: DatabaseConnection, replicas: Replicas) -> Self {
        Self {
            primary,
            replicas: Some(replicas),
        }
    }

    /// The primary, whatever the request.
    pub fn primary(&self) -> &DatabaseConnection {
        &self.primary
    }

    /// The replicas, if any.
    pub fn replicas(&self) -> Option<&Replicas> {
        self.replicas.as_ref()
    }

    /// The connection for a statement of the current task.
    pub fn current(&self) -> &DatabaseConnection {
        let Some(rs) = &self.replicas else {
            return &self.primary;
        };
        match READ_FROM.try_with(|r| *r) {
            Ok((owner, i)) if owner == Arc::as_ptr(&rs.0) as usize => {
                rs.0.list.get(i).map_or(&self.primary, |r| &r.conn)
            }
            _ => &self.primary,
        }
    }

    /// Runs `work`, an anonymous read, on a replica when one is in rotation and has replayed
    /// up to the fence; on the primary otherwise. `lost` tells, from its output, whether the
    /// read lost its connection: then the replica is taken out of rotation, so that a retry
    /// goes to the primary.
    pub async fn read<F: Future>(
        &self,
        work: F,
        lost: impl FnOnce(&F::Output) -> bool,
    ) -> F::Output {
        let Some(rs) = &self.replicas else {
            return work.await;
        };
        let Some(i) = rs.pick() else {
            return work.await;
        };
        let out = READ_FROM
            .scope((Arc::as_ptr(&rs.0) as usize, i), work)
            .await;
        if lost(&out) {
            rs.lost(i);
        }
        out
    }
}

impl std::ops::Deref for Db {
    type Target = DatabaseConnection;

    fn deref(&self) -> &DatabaseConnection {
        self.current()
    }
}

#[sea_orm::entity::prelude::async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        self.primary.get_database_backend()
    }

    async fn execute(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.current().execute(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.current().execute_unprepared(sql).await
    }

    async fn query_one(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.current().query_one(stmt).await
    }

    async fn query_all(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.current().query_all(stmt).await
    }
}

#[sea_orm::entity::prelude::async_trait::async_trait]
impl TransactionTrait for Db {
    async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        self.current().begin().await
    }

    async fn begin_with_config(
        &self,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<DatabaseTransaction, DbErr> {
        self.current()
            .begin_with_config(isolation_level, access_mode)
            .await
    }

    async fn transaction<F, T, E>(&self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            )
                -> std::pin::Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        self.current().transaction(callback).await
    }

    async fn transaction_with_config<F, T, E>(
        &self,
        callback: F,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            )
                -> std::pin::Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        self.current()
            .transaction_with_config(callback, isolation_level, access_mode)
            .await
    }
}

/// `host:port/database` of a PostgreSQL URL: a replica's name in metrics and logs.
pub fn name_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split(['?', '#']).next().unwrap_or(rest).to_owned()
}

/// The replica URLs of `DATABASE_READ_URL`: comma-separated, blanks ignored.
pub fn parse_urls(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sqlite() -> DatabaseConnection {
        sea_orm::Database::connect("sqlite::memory:")
            .await
            .expect("in-memory SQLite")
    }

    #[tokio::test]
    async fn without_replicas_every_statement_goes_to_the_one_database() {
        let db = Db::new(sqlite().await);
        assert!(db.replicas().is_none());
        let fence = Arc::new(Fence::default());
        assert!(
            fence.raise().is_none(),
            "an unarmed fence never holds reads"
        );
        assert_eq!(fence.required(), Some(0));
        let on_primary = db
            .read(async { std::ptr::eq(db.current(), db.primary()) }, |_| true)
            .await;
        assert!(
            on_primary,
            "an anonymous read runs where everything else does"
        );
        assert!(std::ptr::eq(&*db, db.primary()));
        db.execute_unprepared("SELECT 1")
            .await
            .expect("a statement through the handle");
        db.begin()
            .await
            .expect("a transaction through the handle")
            .commit()
            .await
            .expect("commit");
    }

    #[tokio::test]
    async fn replicas_need_postgresql() {
        let err = Replicas::new(
            sqlite().await,
            vec![("r".into(), sqlite().await)],
            Arc::default(),
            Settings::default(),
        )
        .err()
        .expect("refused");
        assert!(err.to_string().contains("need PostgreSQL"), "{err}");
    }

    #[test]
    fn names_never_carry_credentials_or_options() {
        assert_eq!(
            name_of("postgres://reader:secret@db-2:5433/news?sslmode=require"),
            "db-2:5433/news"
        );
        assert_eq!(name_of("postgres://db-3/news"), "db-3/news");
    }

    #[test]
    fn read_urls_are_comma_separated() {
        assert_eq!(
            parse_urls(" postgres://a/n, ,postgres://b/n "),
            ["postgres://a/n", "postgres://b/n"]
        );
        assert!(parse_urls("").is_empty());
    }
}
