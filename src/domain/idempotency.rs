//! Idempotency keys: a client that sends a write with an `Idempotency-Key` may send it again,
//! after a timeout or a 503, and the write is applied at most once.
//!
//! How a key is claimed (the HTTP layer reads the header; this module keeps the rows):
//!
//! 1. Before the request runs, [`lookup`] reads the caller's key. A stored response is
//!    replayed; a key first used with another request is refused; a key whose write
//!    committed but whose response was lost (the database failed right after the commit) is
//!    [`Found::Applied`].
//! 2. Otherwise the request runs inside [`scope`], with a [`Claim`] in a task-local, as
//!    `invalidation::Touched` is collected per request. Every write goes through
//!    `domain::transaction`, whose first statement, when a claim is in scope, is `claim`: an
//!    insert of the key's row **in the write's own transaction**. So a committed write always
//!    has its row, a rolled-back one never does, and two requests with the same key cannot
//!    both commit: the second's insert waits for the first's transaction and then finds the
//!    row (`CONFLICT`, "in flight"). Before committing, the transaction records what the write
//!    produced (its [`Outcome`], e.g. `article:42`) in the row.
//! 3. Once the response is known, the HTTP layer stores it in the row ([`store_response`]),
//!    unless the write did not commit. A retry with the same request then gets the same
//!    response, and changes nothing.
//! 4. When the response was lost (step 3 failed: the connection died during `COMMIT`, or the
//!    database went away right after it), a retry runs the request in replay mode: each write
//!    of the domain starts with [`replayed`], which returns the recorded outcome instead of
//!    writing again, and the transport renders it as it would have the first time.
//!
//! Keys are scoped per caller (an account's `sub`, or the client address for anonymous
//! callers), at most [`MAX_KEY_LEN`] bytes, with responses of at most [`MAX_RESPONSE_BYTES`],
//! and kept for the retention period (`GAZETTE_IDEMPOTENCY_RETENTION`, 24 h by default);
//! [`purge_expired`] removes them afterwards. An expired key is free to be used again.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DatabaseConnection, EntityTrait as _, QueryFilter as _,
};

use crate::entities::idempotency_key::{self, Column};
use crate::entities::{article, author, section};
use crate::error::{AppError, Result};

/// Longest key accepted, in bytes (a UUID is 36).
pub const MAX_KEY_LEN: usize = 255;

/// Largest response body kept for replays; a larger one is not kept, and a retry is
/// answered from the write's outcome instead.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Where a request's claim stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// No write has claimed the key yet.
    Open,
    /// A transaction inserted the key's row and has not finished.
    Claimed,
    /// The write (and its claim) committed: its response is the key's.
    Committed,
    /// The connection died during `COMMIT` and the outcome could not be learnt.
    Unknown,
}

/// One request's idempotency key, shared by the HTTP layer (which makes it) and the domain's
/// transaction helper (which claims it).
#[derive(Debug)]
pub struct Claim {
    scope: String,
    key: String,
    fingerprint: String,
    retention: Duration,
    /// The outcome of the earlier request with this key whose response was lost.
    replay: Option<String>,
    state: Mutex<State>,
    /// Set when the claim found the key taken by a request still in flight.
    in_flight: AtomicBool,
    /// Whether the request sent a key (without one, the claim only notes commits).
    keyed: bool,
    /// Set when any write of the request committed.
    wrote: AtomicBool,
}

impl Claim {
    /// A key for a request that has not been applied: `scope` is the caller, `fingerprint`
    /// the request's, `retention` how long the key is kept.
    pub fn new(scope: &str, key: &str, fingerprint: &str, retention: Duration) -> Arc<Self> {
        Arc::new(Self {
            scope: scope.to_owned(),
            key: key.to_owned(),
            fingerprint: fingerprint.to_owned(),
            retention,
            replay: None,
            state: Mutex::new(State::Open),
            in_flight: AtomicBool::new(false),
            keyed: true,
            wrote: AtomicBool::new(false),
        })
    }

    /// A write request without a key: nothing is claimed, but whether a write committed is
    /// noted, so that a failure after the commit is not reported as the write's.
    pub fn keyless() -> Arc<Self> {
        Arc::new(Self {
            scope: String::new(),
            key: String::new(),
            fingerprint: String::new(),
            retention: Duration::ZERO,
            replay: None,
            state: Mutex::new(State::Open),
            in_flight: AtomicBool::new(false),
            keyed: false,
            wrote: AtomicBool::new(false),
        })
    }

    /// A key whose write committed with `outcome` but whose response was lost: the request
    /// runs again in replay mode, and its writes return the outcome instead of writing.
    pub fn replay(scope: &str, key: &str, fingerprint: &str, outcome: String) -> Arc<Self> {
        Arc::new(Self {
            scope: scope.to_owned(),
            key: key.to_owned(),
            fingerprint: fingerprint.to_owned(),
            retention: Duration::ZERO,
            replay: Some(outcome),
            state: Mutex::new(State::Committed),
            in_flight: AtomicBool::new(false),
            keyed: true,
            wrote: AtomicBool::new(false),
        })
    }

    /// Whether a write found the key taken by another request with it, still in flight
    /// when this one looked it up.
    pub fn in_flight(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Whether a write of the request committed (keyed or not).
    pub fn wrote(&self) -> bool {
        self.wrote.load(Ordering::Relaxed)
    }

    /// Where the claim stands.
    pub fn state(&self) -> State {
        self.state.lock().map_or(State::Unknown, |s| *s)
    }

    fn set(&self, to: State) {
        if let Ok(mut s) = self.state.lock() {
            *s = to;
        }
    }
}

tokio::task_local! {
    static CLAIM: Arc<Claim>;
}

/// Runs `work` (a request) with `claim` in scope: its writes claim the key.
pub async fn scope<F: Future>(claim: Arc<Claim>, work: F) -> F::Output {
    CLAIM.scope(claim, work).await
}

fn current() -> Option<Arc<Claim>> {
    CLAIM.try_with(Arc::clone).ok()
}

/// What a write produced, as kept with its key: enough to answer a retry whose response was
/// lost.
pub trait Outcome {
    /// `kind:id`, or `done` for a write that returns nothing.
    fn outcome(&self) -> String;
}

impl Outcome for article::Model {
    fn outcome(&self) -> String {
        format!("article:{}", self.id)
    }
}

impl Outcome for section::Model {
    fn outcome(&self) -> String {
        format!("section:{}", self.id)
    }
}

impl Outcome for author::Model {
    fn outcome(&self) -> String {
        format!("author:{}", self.id)
    }
}

impl Outcome for () {
    fn outcome(&self) -> String {
        "done".into()
    }
}

/// In replay mode, the id of the `kind` (`article`, `section`, `author`) the earlier request
/// produced; `None` otherwise. Every write of the domain asks this first, and returns what it
/// names instead of writing. Kind `done` (a write that returns nothing) gives 0.
pub fn replayed(kind: &str) -> Result<Option<i32>> {
    let Some(outcome) = current().and_then(|c| c.replay.clone()) else {
        return Ok(None);
    };
    if outcome == kind {
        return Ok(Some(0));
    }
    match outcome.split_once(':') {
        Some((k, id)) if k == kind => id
            .parse()
            .map(Some)
            .map_err(|_| AppError::internal(format!("bad idempotency outcome {outcome:?}"))),
        _ => Err(AppError::internal(format!(
            "idempotency outcome {outcome:?} is not a {kind}"
        ))),
    }
}

/// What a caller's key holds, as [`lookup`] finds it.
#[derive(Debug)]
pub enum Found {
    /// No live key: run the request, claiming the key.
    New,
    /// The key was first used with another request (method, path or body).
    Mismatch,
    /// The stored response to replay.
    Response(Stored),
    /// The write committed with this outcome, but its response was not kept.
    Applied(String),
}

/// A response kept for replays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub status: u16,
    /// Headers a replay repeats, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Reads `scope`'s live `key` and compares it with the request's `fingerprint`.
pub async fn lookup(
    db: &DatabaseConnection,
    scope: &str,
    key: &str,
    fingerprint: &str,
) -> Result<Found> {
    let row = idempotency_key::Entity::find_by_id((scope.to_owned(), key.to_owned()))
        .filter(Column::ExpiresAt.gt(super::now()))
        .one(db)
        .await?;
    let Some(row) = row else {
        return Ok(Found::New);
    };
    if row.fingerprint != fingerprint {
        return Ok(Found::Mismatch);
    }
    Ok(match (row.status, row.outcome) {
        (Some(status), _) => Found::Response(Stored {
            status: u16::try_from(status).unwrap_or(500),
            headers: row
                .headers
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| AppError::Internal(e.into()))?
                .unwrap_or_default(),
            body: row.body.unwrap_or_default(),
        }),
        (None, Some(outcome)) => Found::Applied(outcome),
        // Every claiming transaction records its outcome before it commits.
        (None, None) => {
            return Err(AppError::internal(format!(
                "idempotency key {key:?} of {scope} committed without an outcome"
            )));
        }
    })
}

fn expiry(retention: Duration, from: DateTime<Utc>) -> DateTime<Utc> {
    from + chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::days(1))
}

/// Claims the key in scope, if any, inside the write's transaction `txn`: inserts its row (or
/// takes over an expired one). Another live row is `CONFLICT`: a request with this key is in
/// flight (on PostgreSQL the insert waits for its transaction first), or was applied.
/// Returns whether a key was claimed.
pub(crate) async fn claim(txn: &impl ConnectionTrait) -> Result<bool> {
    let Some(c) = current().filter(|c| c.keyed) else {
        return Ok(false);
    };
    if c.replay.is_some() {
        // A write the replay did not short-circuit: it was applied already.
        return Err(applied());
    }
    match c.state() {
        State::Open => {}
        State::Claimed => {
            return Err(AppError::internal(
                "a transaction began inside another's claim",
            ));
        }
        State::Committed | State::Unknown => {
            return Err(AppError::bad_input(
                "an Idempotency-Key covers one write, and this request made a second one: send each write with its own key",
            ));
        }
    }
    let now = super::now();
    let row = idempotency_key::ActiveModel {
        scope: Set(c.scope.clone()),
        idempotency_key: Set(c.key.clone()),
        fingerprint: Set(c.fingerprint.clone()),
        outcome: Set(None),
        status: Set(None),
        headers: Set(None),
        body: Set(None),
        created_at: Set(now),
        expires_at: Set(expiry(c.retention, now)),
    };
    let inserted = idempotency_key::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([Column::Scope, Column::IdempotencyKey])
                .update_columns([
                    Column::Fingerprint,
                    Column::Outcome,
                    Column::Status,
                    Column::Headers,
                    Column::Body,
                    Column::CreatedAt,
                    Column::ExpiresAt,
                ])
                .action_and_where(Expr::col((idempotency_key::Entity, Column::ExpiresAt)).lte(now))
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    if inserted == 0 {
        c.in_flight.store(true, Ordering::Relaxed);
        return Err(AppError::Conflict {
            message: "a request with this Idempotency-Key is being processed: retry it shortly to get its response".into(),
            current_version: None,
        });
    }
    c.set(State::Claimed);
    Ok(true)
}

fn applied() -> AppError {
    AppError::Conflict {
        message: "the request with this Idempotency-Key was applied already".into(),
        current_version: None,
    }
}

/// Records, inside the claiming transaction, what the write produced.
pub(crate) async fn record(txn: &impl ConnectionTrait, outcome: &str) -> Result<()> {
    let Some(c) = current() else {
        return Ok(());
    };
    idempotency_key::Entity::update_many()
        .col_expr(Column::Outcome, Expr::value(outcome))
        .filter(Column::Scope.eq(&c.scope))
        .filter(Column::IdempotencyKey.eq(&c.key))
        .exec(txn)
        .await?;
    Ok(())
}

/// Settles the claim in scope once its transaction is over: `Committed` or `Unknown` keep
/// it; anything else (rolled back) opens it again, for the next attempt.
pub(crate) fn settle(to: State) {
    if to == State::Committed
        && let Some(c) = current()
    {
        c.wrote.store(true, Ordering::Relaxed);
    }
    if let Some(c) = current()
        && c.keyed
        && c.replay.is_none()
        && c.state() == State::Claimed
    {
        c.set(if matches!(to, State::Committed | State::Unknown) {
            to
        } else {
            State::Open
        });
    }
}

/// Keeps `response` with the claim's key, for replays (a response already kept stays).
pub async fn store_response(
    db: &DatabaseConnection,
    claim: &Claim,
    response: &Stored,
) -> Result<()> {
    let headers =
        serde_json::to_string(&response.headers).map_err(|e| AppError::Internal(e.into()))?;
    idempotency_key::Entity::update_many()
        .col_expr(Column::Status, Expr::value(i32::from(response.status)))
        .col_expr(Column::Headers, Expr::value(headers))
        .col_expr(Column::Body, Expr::value(response.body.clone()))
        .filter(Column::Scope.eq(&claim.scope))
        .filter(Column::IdempotencyKey.eq(&claim.key))
        .filter(Column::Status.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes expired keys; returns how many.
pub async fn purge_expired(db: &DatabaseConnection) -> Result<u64> {
    let done = idempotency_key::Entity::delete_many()
        .filter(Column::ExpiresAt.lte(super::now()))
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}
