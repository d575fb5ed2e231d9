//! The one place a database error is classified: by SQLSTATE class (PostgreSQL) or result
//! code (SQLite) and by the driver's error kind, never by message text.
//!
//! | what the database said                                   | [`Failure`]     | client sees / gazette does                          |
//! |----------------------------------------------------------|-----------------|-----------------------------------------------------|
//! | 08xxx connection exception; 57P01/57P02/57P03 shutdown or starting; 25P03 idle session killed; I/O, TLS, torn protocol, closed pool | `Connection` | reads retried on a fresh connection, then 503 |
//! | no connection within the pool's wait; 53xxx (53300 too many connections, out of memory, disk full); SQLite `BUSY` after the busy timeout | `Exhausted` | 503 |
//! | 25006 read-only transaction (a standby after a failover)  | `ReadOnly`      | 503; pooled connections to it are recycled          |
//! | 40001 serialization failure, 40P01 deadlock; SQLite `LOCKED`, `BUSY_SNAPSHOT` | `Contention` | the transaction is run again (bounded), then 503 |
//! | 57014 statement timeout or cancel; 55P03 lock not available | `Timeout`     | 503                                                 |
//! | the connection failed during `COMMIT`, outcome not learnt | `CommitUnknown` | 503 saying so (retry with the same `Idempotency-Key`) |
//!
//! Anything else (a constraint the call site did not expect, a bad statement) is a fault of
//! gazette's and stays `INTERNAL`.

use sea_orm::sqlx::Error as Sqlx;
use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr};

/// Why the database could not serve a statement, when the cause is the database's state
/// rather than the statement: each kind maps to `UNAVAILABLE` (503 with `Retry-After`), and
/// some are retried first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The connection is gone or could not be made: a restart, a failover, a network cut. A
    /// read can be retried at once on a fresh connection.
    Connection,
    /// The database is out of capacity: no connection free within the pool's wait, too many
    /// connections, out of memory or disk, SQLite's write lock held past the busy timeout.
    Exhausted,
    /// The server only reads (SQLSTATE 25006): a standby, typically the old primary after a
    /// failover. Pooled connections to it are replaced.
    ReadOnly,
    /// The transaction lost a race that a second run can win: serialization failure
    /// (40001), deadlock (40P01), SQLite `LOCKED` or `BUSY_SNAPSHOT`.
    Contention,
    /// A statement was cancelled: statement timeout or cancel (57014), lock timeout (55P03).
    Timeout,
    /// The connection failed during `COMMIT` and whether the transaction committed could not
    /// be learnt; set by `domain::transaction`, never by a SQLSTATE.
    CommitUnknown,
}

impl Failure {
    /// The sentence a client is shown.
    pub fn message(self) -> &'static str {
        match self {
            Self::Connection => "the database is not reachable right now; retry shortly",
            Self::Exhausted => "the database is at capacity right now; retry shortly",
            Self::ReadOnly => {
                "the database is read-only right now (a failover is under way); retry shortly"
            }
            Self::Contention => "the write kept colliding with concurrent writes; retry shortly",
            Self::Timeout => "the database took too long to answer; retry shortly",
            Self::CommitUnknown => {
                "the connection to the database failed while the write was being committed, \
                 so it may or may not have been applied: retry with the same Idempotency-Key \
                 to apply it exactly once"
            }
        }
    }

    /// The label of this kind in metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connection => "connection",
            Self::Exhausted => "exhausted",
            Self::ReadOnly => "read_only",
            Self::Contention => "contention",
            Self::Timeout => "timeout",
            Self::CommitUnknown => "commit_unknown",
        }
    }
}

/// The kind of a PostgreSQL SQLSTATE, if it is one of the database's state.
pub fn of_sqlstate(code: &str) -> Option<Failure> {
    Some(match code {
        "57P01" | "57P02" | "57P03" | "25P03" => Failure::Connection,
        "25006" => Failure::ReadOnly,
        "40001" | "40P01" => Failure::Contention,
        "57014" | "55P03" => Failure::Timeout,
        c if c.starts_with("08") => Failure::Connection,
        c if c.starts_with("53") => Failure::Exhausted,
        _ => return None,
    })
}

/// The kind of a SQLite extended result code, if it is one of the database's state.
pub fn of_sqlite(extended: i32) -> Option<Failure> {
    const LOCKED: i32 = 6;
    const BUSY: i32 = 5;
    const BUSY_SNAPSHOT: i32 = BUSY | (2 << 8);
    match extended {
        // The snapshot went stale under a concurrent commit: only a new transaction helps,
        // and SQLite answers at once, without waiting out the busy timeout.
        BUSY_SNAPSHOT => Some(Failure::Contention),
        c if c & 0xff == LOCKED => Some(Failure::Contention),
        // The busy handler already waited its timeout for the write lock.
        c if c & 0xff == BUSY => Some(Failure::Exhausted),
        _ => None,
    }
}

/// The kind of a driver error, if it is one of the database's state.
fn of_sqlx(e: &Sqlx) -> Option<Failure> {
    match e {
        Sqlx::Io(_) | Sqlx::Tls(_) | Sqlx::Protocol(_) | Sqlx::WorkerCrashed | Sqlx::PoolClosed => {
            Some(Failure::Connection)
        }
        Sqlx::PoolTimedOut => Some(Failure::Exhausted),
        Sqlx::Database(db) => {
            let code = db.code()?;
            if db
                .try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
                .is_some()
            {
                of_sqlite(code.parse().ok()?)
            } else {
                of_sqlstate(&code)
            }
        }
        _ => None,
    }
}

/// Classifies a database error: `None` for a fault of the statement (or of gazette).
pub fn classify(err: &DbErr) -> Option<Failure> {
    match err {
        DbErr::ConnectionAcquire(ConnAcquireErr::Timeout) => Some(Failure::Exhausted),
        DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed) => Some(Failure::Connection),
        // Opening a connection failed: whatever the server said, it cannot be reached.
        DbErr::Conn(RuntimeErr::SqlxError(e)) => of_sqlx(e).or(Some(Failure::Connection)),
        DbErr::Conn(_) => Some(Failure::Connection),
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            of_sqlx(e)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_map_by_class() {
        let cases = [
            ("08000", Some(Failure::Connection), "connection exception"),
            ("08006", Some(Failure::Connection), "connection failure"),
            ("08P01", Some(Failure::Connection), "protocol violation"),
            ("57P01", Some(Failure::Connection), "admin shutdown"),
            ("57P02", Some(Failure::Connection), "crash shutdown"),
            ("57P03", Some(Failure::Connection), "cannot connect now"),
            ("25P03", Some(Failure::Connection), "idle session timeout"),
            ("53300", Some(Failure::Exhausted), "too many connections"),
            ("53200", Some(Failure::Exhausted), "out of memory"),
            ("25006", Some(Failure::ReadOnly), "read-only transaction"),
            ("40001", Some(Failure::Contention), "serialization failure"),
            ("40P01", Some(Failure::Contention), "deadlock"),
            ("57014", Some(Failure::Timeout), "statement timeout"),
            ("55P03", Some(Failure::Timeout), "lock not available"),
            ("23505", None, "unique violation is the call site's"),
            ("42P01", None, "undefined table is a bug"),
            ("57000", None, "other operator intervention"),
            ("P0001", None, "a raised exception"),
        ];
        for (code, want, what) in cases {
            assert_eq!(of_sqlstate(code), want, "{code}: {what}");
        }
    }

    #[test]
    fn sqlite_codes_map_by_primary_code() {
        let cases = [
            (5, Some(Failure::Exhausted), "BUSY"),
            (5 | (3 << 8), Some(Failure::Exhausted), "BUSY_TIMEOUT"),
            (5 | (2 << 8), Some(Failure::Contention), "BUSY_SNAPSHOT"),
            (6, Some(Failure::Contention), "LOCKED"),
            (
                6 | (1 << 8),
                Some(Failure::Contention),
                "LOCKED_SHAREDCACHE",
            ),
            (19, None, "CONSTRAINT"),
            (2067, None, "CONSTRAINT_UNIQUE"),
            (1, None, "ERROR"),
        ];
        for (code, want, what) in cases {
            assert_eq!(of_sqlite(code), want, "{code}: {what}");
        }
    }

    #[test]
    fn driver_errors_map_by_kind() {
        let io = || std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        let cases = [
            (
                DbErr::Query(RuntimeErr::SqlxError(Sqlx::Io(io()))),
                Some(Failure::Connection),
            ),
            (
                DbErr::Exec(RuntimeErr::SqlxError(Sqlx::PoolClosed)),
                Some(Failure::Connection),
            ),
            (
                DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
                Some(Failure::Exhausted),
            ),
            (
                DbErr::Conn(RuntimeErr::Internal("refused".into())),
                Some(Failure::Connection),
            ),
            (DbErr::Query(RuntimeErr::SqlxError(Sqlx::RowNotFound)), None),
            (DbErr::Custom("a bug".into()), None),
        ];
        for (err, want) in cases {
            assert_eq!(classify(&err), want, "{err}");
        }
    }
}
