//! Opening the database (embedded SQLite or PostgreSQL) and migrating it.
//!
//! SQLite runs in WAL mode with foreign keys on, `synchronous=NORMAL` (durable across
//! process crashes, which is what a content API needs) and a busy timeout, so readers never
//! block the writer and a second writer waits instead of failing. The file is read through
//! the OS page cache, not memory-mapped (a map per connection inflated resident memory).
//!
//! PostgreSQL pools survive restarts and failovers. A connection that fails is closed by the
//! pool when it is released (sqlx pings it then), and once any statement has seen the
//! connection fail ([`failed`]), every pooled connection that went idle before that moment is
//! checked before it is handed out again, so a restart costs at most a request or two per
//! process instead of one per pooled connection. After a `read-only transaction` answer (the
//! old primary after a failover) pooled connections that went idle before it are asked
//! whether they still write, and dropped if not. New connections resolve the host name
//! again, so a DNS switch to a promoted replica is followed without a restart.

use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use migrations::{Migrator, MigratorTrait as _};
use sea_orm::sqlx::pool::PoolConnectionMetadata;
use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend,
    SqlxPostgresConnector, TransactionTrait,
};

use crate::error::Failure;

/// The URL of the embedded database inside `data_dir`.
pub fn embedded_url(data_dir: &Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("gazette.db").display()
    )
}

/// The bytes SQLite may allocate, in all, before it recycles cached pages rather than
/// growing (`PRAGMA soft_heap_limit`); the file's pages stay in the OS page cache anyway.
pub const SQLITE_HEAP_LIMIT: u64 = 16 * 1024 * 1024;

/// Most connections of a SQLite pool: twice the cores, at least 4. Its reads run on the
/// process's own CPUs, so more connections only add threads, each with its own statement
/// cache and allocator heaps (a pool of 16 held 50 MB more under searches than one of 4,
/// and served no faster).
pub fn sqlite_pool_cap() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    u32::try_from(cores * 2).unwrap_or(u32::MAX).max(4)
}

/// Opens a pool on `url`. `pool` caps its connections.
pub async fn connect(url: &str, pool: u32) -> anyhow::Result<DatabaseConnection> {
    connect_with(url, pool, false).await
}

/// Opens a pool on `url`; with `lazy`, no connection is made until one is needed, so a
/// server can start while its database is down and wait for it.
pub async fn connect_with(url: &str, pool: u32, lazy: bool) -> anyhow::Result<DatabaseConnection> {
    connect_inner(url, pool, lazy, DEFAULT_STATEMENT_CACHE).await
}

/// Statements a connection keeps prepared, as sqlx does by default.
const DEFAULT_STATEMENT_CACHE: usize = 100;

/// Statements a connection of a bulk job (import, export) keeps prepared. Its multi-row
/// statements differ in length batch by batch, so each is new; a hundred of them cached
/// on each connection held hundreds of megabytes by the end of a large import.
pub const BULK_STATEMENT_CACHE: usize = 8;

/// Opens a pool for a bulk job: as [`connect`], with few prepared statements kept.
pub async fn connect_bulk(url: &str, pool: u32) -> anyhow::Result<DatabaseConnection> {
    connect_inner(url, pool, false, BULK_STATEMENT_CACHE).await
}

/// Opens a pool on a read replica (`DATABASE_READ_URL`), lazily, so that a replica that is
/// down at start-up is only out of rotation. Its connections are not dropped for being
/// read-only, as the primary's are after a failover: a replica always is.
pub async fn connect_replica(url: &str, pool: u32) -> anyhow::Result<DatabaseConnection> {
    if !url.starts_with("postgres") {
        anyhow::bail!(
            "a read replica must be PostgreSQL (postgres://…), not {}",
            redact(url)
        );
    }
    connect_options(url, pool, true, DEFAULT_STATEMENT_CACHE, Role::Replica).await
}

/// What a PostgreSQL pool is to: the primary checks that its connections still write.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Primary,
    Replica,
}

async fn connect_inner(
    url: &str,
    pool: u32,
    lazy: bool,
    statement_cache: usize,
) -> anyhow::Result<DatabaseConnection> {
    connect_options(url, pool, lazy, statement_cache, Role::Primary).await
}

async fn connect_options(
    url: &str,
    pool: u32,
    lazy: bool,
    statement_cache: usize,
    role: Role,
) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.connect_lazy(lazy);
    let pool = if url.starts_with("sqlite:") {
        pool.min(sqlite_pool_cap())
    } else {
        pool
    };
    opts.max_connections(pool.max(1))
        .min_connections(u32::from(!lazy))
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        // No ping before every statement (a round trip each): a broken connection fails
        // its statement instead, and the pool replaces it.
        .test_before_acquire(false)
        // Statements are logged at debug. Slow ones are logged by `log_slow` instead of
        // sqlx, which would print the whole statement (an import's INSERT is megabytes).
        .sqlx_logging(true)
        .sqlx_logging_level(log::LevelFilter::Debug)
        .sqlx_slow_statements_logging_settings(log::LevelFilter::Off, Duration::MAX)
        .map_sqlx_sqlite_opts(move |o| {
            o.statement_cache_capacity(statement_cache)
                .foreign_keys(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .pragma("temp_store", "memory")
                // No memory map: every connection's map of the file counted in the resident
                // memory (300-420 MB under load on the 50,000-article file, against ~70-170
                // MB without), and reads through the page cache were as fast.
                .pragma("mmap_size", "0")
                // One budget for the page caches of every connection of the process (each
                // would otherwise grow to 2 MiB, 30+ MiB for a pool of 16 under searches):
                // past it SQLite reuses its cached pages instead of allocating more.
                .pragma("soft_heap_limit", SQLITE_HEAP_LIMIT.to_string())
        });
    let mut db = if url.starts_with("postgres") {
        connect_postgres(opts, statement_cache, role).await
    } else {
        Database::connect(opts).await.map_err(anyhow::Error::from)
    }
    .with_context(|| format!("cannot open the database at {}", redact(url)))?;
    let threshold = slow_statement_threshold();
    db.set_metric_callback(move |info| log_slow(info, threshold));
    Ok(db)
}

/// A PostgreSQL pool as SeaORM opens one, plus the check of connections that went idle
/// before a failure ([`before_acquire`]).
async fn connect_postgres(
    opts: ConnectOptions,
    statement_cache: usize,
    role: Role,
) -> anyhow::Result<DatabaseConnection> {
    use sea_orm::sqlx::ConnectOptions as _;
    let lazy = opts.get_connect_lazy();
    let connect = opts
        .get_url()
        .parse::<PgConnectOptions>()?
        .statement_cache_capacity(statement_cache)
        .log_statements(log::LevelFilter::Debug)
        .log_slow_statements(log::LevelFilter::Off, Duration::MAX);
    let pool = opts
        .sqlx_pool_options::<sea_orm::sqlx::Postgres>()
        .before_acquire(move |conn, meta| Box::pin(before_acquire(conn, meta, role)));
    let pool = if lazy {
        pool.connect_lazy_with(connect)
    } else {
        pool.connect_with(connect).await?
    };
    Ok(SqlxPostgresConnector::from_sqlx_postgres_pool(pool))
}

/// Milliseconds since the process's first look at the clock, plus one (0 means "never").
fn clock() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    u64::try_from(START.get_or_init(Instant::now).elapsed().as_millis()).unwrap_or(u64::MAX) + 1
}

/// When a statement last saw its connection fail, and when one last met a read-only server.
static LOST_AT: AtomicU64 = AtomicU64::new(0);
static READ_ONLY_AT: AtomicU64 = AtomicU64::new(0);

/// Records that a statement failed with `failure`; `crate::error` calls this for every
/// database error it classifies, so pooled connections are checked before their next use.
pub fn failed(failure: Failure) {
    match failure {
        Failure::Connection | Failure::CommitUnknown => LOST_AT.store(clock(), Ordering::Relaxed),
        Failure::ReadOnly => READ_ONLY_AT.store(clock(), Ordering::Relaxed),
        Failure::Exhausted | Failure::Contention | Failure::Timeout => {}
    }
}

/// Whether a connection idle for `idle_for` went idle no later than the event at `at`.
fn idle_since(at: &AtomicU64, idle_for: Duration) -> bool {
    let at = at.load(Ordering::Relaxed);
    let idle = u64::try_from(idle_for.as_millis()).unwrap_or(u64::MAX);
    at != 0 && clock().saturating_sub(idle) <= at
}

/// Whether a pooled connection may be handed out: checked only when it went idle before the
/// last failure (a ping), or before the last read-only answer (does it still write?), so a
/// healthy pool pays nothing. `false` or an error drops it, and the pool opens another.
async fn before_acquire(
    conn: &mut PgConnection,
    meta: PoolConnectionMetadata,
    role: Role,
) -> Result<bool, sea_orm::sqlx::Error> {
    use sea_orm::sqlx::Connection as _;
    if role == Role::Primary && idle_since(&READ_ONLY_AT, meta.idle_for) {
        let read_only: String =
            sea_orm::sqlx::query_scalar("SELECT current_setting('transaction_read_only')")
                .fetch_one(&mut *conn)
                .await?;
        return Ok(read_only == "off");
    }
    if idle_since(&LOST_AT, meta.idle_for) {
        conn.ping().await?;
    }
    Ok(true)
}

/// Longest prefix of a slow statement that is logged.
const SLOW_STATEMENT_PREFIX: usize = 200;

/// Logs a statement slower than `threshold` as a warning, with the start of its SQL only.
fn log_slow(info: &sea_orm::metric::Info<'_>, threshold: Duration) {
    if info.elapsed < threshold {
        return;
    }
    let sql = info.statement.sql.trim_start();
    tracing::warn!(
        target: "gazette::db",
        elapsed_ms = info.elapsed.as_millis() as u64,
        failed = info.failed,
        sql_bytes = sql.len(),
        statement = %prefix(sql, SLOW_STATEMENT_PREFIX),
        "slow statement"
    );
}

/// The first `max` bytes of `s` (cut at a character boundary), with `…` when cut.
fn prefix(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return s.into();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end]).into()
}

/// Applies pending migrations. On PostgreSQL it holds a transaction-scoped advisory lock,
/// so several gazette processes starting together migrate once, and a failed migration
/// leaves nothing behind (PostgreSQL's DDL is transactional).
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let txn = db.begin().await?;
            txn.execute_unprepared("SELECT pg_advisory_xact_lock(7347826)")
                .await?;
            Migrator::up(&txn, None).await.context("migration failed")?;
            txn.commit().await?;
        }
        _ => Migrator::up(db, None).await.context("migration failed")?,
    }
    Ok(())
}

/// `GAZETTE_SLOW_STATEMENT_MS` (250 ms by default): statements slower than this are logged.
fn slow_statement_threshold() -> Duration {
    let ms = std::env::var("GAZETTE_SLOW_STATEMENT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(250);
    Duration::from_millis(ms)
}

/// Migrates, retrying with backoff until the database answers (start-up while it is down).
pub async fn migrate_when_reachable(db: &DatabaseConnection) {
    let mut delay = Duration::from_millis(250);
    loop {
        match migrate(db).await {
            Ok(()) => return,
            Err(err) => {
                tracing::warn!(
                    error = format!("{err:#}"),
                    retry_in_ms = delay.as_millis() as u64,
                    "database not ready"
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// `url` without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{prefix, redact};

    #[test]
    fn prefix_cuts_long_statements_at_a_character_boundary() {
        assert_eq!(prefix("SELECT 1", 200), "SELECT 1");
        assert_eq!(
            prefix("INSERT INTO x VALUES (1), (2)", 13),
            "INSERT INTO x…"
        );
        assert_eq!(prefix("ééé", 3), "é…");
    }

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(
            redact("postgres://me:secret@db:5432/news"),
            "postgres://me:***@db:5432/news"
        );
        assert_eq!(redact("postgres://me@db/news"), "postgres://me@db/news");
        assert_eq!(
            redact("sqlite://data/g.db?mode=rwc"),
            "sqlite://data/g.db?mode=rwc"
        );
    }
}
