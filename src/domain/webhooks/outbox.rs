//! The outbox: deliveries made from the change stream per endpoint ([`dispatch`]), claimed
//! by one process at a time ([`claim`]), and their outcomes ([`record`]). The module
//! documentation of `domain::webhooks` tells the whole design.

use std::collections::HashSet;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait as _,
    QueryFilter as _, QueryOrder as _, Statement, TransactionTrait as _,
};
use serde_json::{Value, json};

use super::events::{self, EventType};
use super::{PAUSED_FAILING, Settings, event_types_of};
use crate::domain::now;
use crate::domain::stream::{self, Position, Stored};
use crate::entities::change_log::EntityKind;
use crate::entities::webhook;
use crate::entities::webhook_delivery::{self, DeliveryStatus};
use crate::error::{AppError, Result};

/// Most stream events one endpoint's dispatch reads at a time.
const DISPATCH_BATCH: u64 = 200;

/// The public shape of an entity, as the REST API shows it to anonymous readers, for the
/// `data` of a message; `None` when it does not exist or is not public. The transport
/// layer provides it (it owns the shapes), so the domain names no transport.
pub trait Shapes: Send + Sync {
    /// The shape of `kind` `id`, if it exists and is public.
    fn shape<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        kind: EntityKind,
        id: i32,
    ) -> BoxFuture<'a, Result<Option<Value>>>;
}

/// Turns the stream's new events into deliveries for every active endpoint; returns how
/// many deliveries it made.
pub async fn dispatch(db: &DatabaseConnection, shapes: &dyn Shapes) -> Result<usize> {
    let head = stream::head(db).await?;
    let hooks = webhook::Entity::find()
        .filter(webhook::Column::Active.eq(true))
        .filter(webhook::Column::Position.lt(head.last_seq))
        .order_by_asc(webhook::Column::Id)
        .all(db)
        .await?;
    let mut made = 0;
    for w in hooks {
        if w.position < head.pruned_through {
            // Retention removed events this endpoint had not been sent: say so, loudly,
            // and go on from the oldest kept (the endpoint can resync through delta sync).
            tracing::warn!(
                webhook = w.id,
                position = w.position,
                pruned_through = head.pruned_through,
                "a webhook endpoint fell behind the change stream's retention; events were skipped"
            );
            metrics::counter!("gazette_webhook_events_skipped_total")
                .increment((head.pruned_through - w.position) as u64);
        }
        loop {
            let (n, more) = dispatch_one(db, shapes, &w.id).await?;
            made += n;
            if !more {
                break;
            }
        }
    }
    Ok(made)
}

/// One batch of one endpoint; returns the deliveries made and whether more events wait.
async fn dispatch_one(
    db: &DatabaseConnection,
    shapes: &dyn Shapes,
    id: &i32,
) -> Result<(usize, bool)> {
    let Some(w) = webhook::Entity::find_by_id(*id).one(db).await? else {
        return Ok((0, false));
    };
    if !w.active {
        return Ok((0, false));
    }
    let events = stream::read(db, w.position, DISPATCH_BATCH).await?;
    let Some(last) = events.last().map(|e| e.seq) else {
        return Ok((0, false));
    };
    let more = events.len() as u64 == DISPATCH_BATCH;
    let patterns = event_types_of(&w);
    let subtree = match &w.section {
        Some(p) => Some(
            crate::domain::filter::section_ids(db, &[p.as_str()])
                .await?
                .into_values()
                .flatten()
                .collect::<HashSet<i32>>(),
        ),
        None => None,
    };
    let mut rows = Vec::new();
    for e in &events {
        let Some(t) = events::classify(e) else {
            continue;
        };
        if !patterns.iter().any(|p| t.matches(p)) || !in_subtree(e, subtree.as_ref()) {
            continue;
        }
        let body = message(db, shapes, e, t).await?;
        rows.push(new_delivery(
            w.id,
            format!("msg_{}", e.seq),
            t,
            Some(e.seq),
            // Ordered per article, and per comment.
            match e.entity {
                EntityKind::Article => Some(format!("a{}", e.id)),
                EntityKind::Comment => Some(format!("c{}", e.id)),
                _ => None,
            },
            body,
        ));
    }
    // Written only if nobody moved this endpoint's position meanwhile (another process's
    // dispatcher): the same events are then never made into deliveries twice.
    let txn = db.begin().await?;
    let moved = webhook::Entity::update_many()
        .col_expr(webhook::Column::Position, last.into())
        .filter(webhook::Column::Id.eq(w.id))
        .filter(webhook::Column::Position.eq(w.position))
        .filter(webhook::Column::Active.eq(true))
        .exec(&txn)
        .await?
        .rows_affected;
    if moved == 0 {
        txn.rollback().await?;
        return Ok((0, false));
    }
    let n = rows.len();
    insert(&txn, rows).await?;
    txn.commit().await?;
    if n > 0 {
        metrics::counter!("gazette_webhook_messages_total").increment(n as u64);
    }
    Ok((n, more))
}

fn in_subtree(e: &Stored, subtree: Option<&HashSet<i32>>) -> bool {
    let Some(ids) = subtree else {
        return true;
    };
    match e.entity {
        // A comment's event carries its article's facts.
        EntityKind::Article | EntityKind::Comment => [e.before, e.after]
            .iter()
            .flatten()
            .any(|f| ids.contains(&f.section_id)),
        EntityKind::Section => ids.contains(&e.id),
        // Authors and tags belong to no section.
        _ => true,
    }
}

fn new_delivery(
    webhook_id: i32,
    message_id: String,
    t: EventType,
    seq: Option<i32>,
    subject: Option<String>,
    payload: String,
) -> webhook_delivery::ActiveModel {
    let at = now();
    webhook_delivery::ActiveModel {
        id: NotSet,
        webhook_id: Set(webhook_id),
        message_id: Set(message_id),
        event_type: Set(t.as_str().to_owned()),
        seq: Set(seq),
        subject: Set(subject),
        payload: Set(payload),
        status: Set(DeliveryStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(at),
        lease_until: Set(None),
        last_error: Set(None),
        last_status: Set(None),
        last_latency_ms: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        delivered_at: Set(None),
    }
}

async fn insert(db: &impl ConnectionTrait, rows: Vec<webhook_delivery::ActiveModel>) -> Result<()> {
    use sea_orm::sea_query::OnConflict;
    if rows.is_empty() {
        return Ok(());
    }
    webhook_delivery::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                webhook_delivery::Column::WebhookId,
                webhook_delivery::Column::MessageId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .do_nothing()
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The body of a message: `{ type, timestamp, data }`. `data` is the entity's public
/// shape as it is when the message is made (as delta sync shows it), when it is public; an
/// article that is not (unpublished, deleted, or changed again since) is named by id only:
/// a message never shows what a reader could not see. Beside it, `surrogate_keys` (what
/// the change touched, so a CDN purge can be driven from it) and `change`: the article's
/// version after the change and the stream position of the change (a `since` for delta
/// sync).
async fn message(
    db: &DatabaseConnection,
    shapes: &dyn Shapes,
    e: &Stored,
    t: EventType,
) -> Result<String> {
    let public = match t {
        EventType::ArticleUnpublished | EventType::ArticleDeleted | EventType::CommentRemoved => {
            None
        }
        _ => shapes.shape(db, e.entity, e.id).await?,
    };
    let mut data = match public {
        Some(Value::Object(o)) => o,
        _ => serde_json::Map::from_iter([("id".to_owned(), json!(e.id))]),
    };
    let keys: Vec<String> = e.keys.iter().map(ToString::to_string).collect();
    data.insert("surrogate_keys".into(), json!(keys));
    data.insert(
        "change".into(),
        json!({ "version": e.version, "position": Position::Stream(e.seq).encode() }),
    );
    Ok(body(t, e.at, Value::Object(data)))
}

fn body(t: EventType, at: chrono::DateTime<chrono::Utc>, data: Value) -> String {
    json!({
        "type": t.as_str(),
        "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "data": data,
    })
    .to_string()
}

/// What a finished import tells endpoints: how many records of each kind it created,
/// updated, left unchanged or skipped, and the stream positions around it (`from`: sync
/// changes since this to catch up with the import; `to`: where the stream stood at its end).
#[derive(Clone, Debug, Default)]
pub struct ImportCompleted {
    pub counts: Value,
    pub from: i32,
    pub to: i32,
}

/// Queues one `import.completed` for every active endpoint that asked for it (instead of
/// one delivery per imported article).
pub async fn import_completed(db: &DatabaseConnection, done: &ImportCompleted) -> Result<usize> {
    let hooks = webhook::Entity::find()
        .filter(webhook::Column::Active.eq(true))
        .all(db)
        .await?;
    let t = EventType::ImportCompleted;
    let mut rows = Vec::new();
    for w in hooks
        .iter()
        .filter(|w| event_types_of(w).iter().any(|p| t.matches(p)))
    {
        let data = json!({
            "counts": done.counts,
            "from": Position::Stream(done.from).encode(),
            "to": Position::Stream(done.to).encode(),
        });
        rows.push(new_delivery(
            w.id,
            format!("msg_import_{}_{}", done.from, done.to),
            t,
            None,
            None,
            body(t, now(), data),
        ));
    }
    let n = rows.len();
    insert(db, rows).await?;
    Ok(n)
}

/// A delivery a process has claimed, with where to send it and what to sign it with.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub delivery: webhook_delivery::Model,
    pub url: String,
    /// The current secret, and the previous one during a rotation's overlap; an error
    /// when they cannot be opened (no key, or another key than the one that sealed them).
    pub secrets: std::result::Result<Vec<String>, String>,
}

/// Claims up to `limit` due deliveries of active endpoints for this process, for the
/// settings' lease, counting the attempt. On PostgreSQL the rows are taken with
/// `FOR UPDATE SKIP LOCKED`, so concurrent claimers never take the same one; SQLite has
/// one writer at a time. A delivery waits while an earlier message of the same article to
/// the same endpoint is pending.
pub async fn claim(
    db: &DatabaseConnection,
    settings: &Settings,
    limit: u64,
) -> Result<Vec<Claimed>> {
    let at = now();
    let lease = at + chrono::Duration::from_std(settings.lease()).unwrap_or(chrono::Duration::MAX);
    let b = db.get_database_backend();
    let (p, lock) = match b {
        DbBackend::Postgres => (["$1", "$2"], "FOR UPDATE OF d SKIP LOCKED"),
        _ => (["?", "?"], ""),
    };
    // Parameters: the lease, then the time; SQLite takes one value per `?` in order,
    // PostgreSQL reuses $2.
    let sql = format!(
        "UPDATE webhook_deliveries SET lease_until = {lease_p}, attempts = attempts + 1, \
           updated_at = {now_p} \
         WHERE id IN ( \
           SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
           WHERE d.status = 'pending' AND w.active AND d.next_attempt_at <= {now_p} \
             AND (d.lease_until IS NULL OR d.lease_until < {now_p}) \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
               WHERE e.webhook_id = d.webhook_id AND e.subject = d.subject \
                 AND e.status = 'pending' AND e.id < d.id) \
           ORDER BY d.next_attempt_at, d.id LIMIT {limit} {lock}) \
         RETURNING id",
        lease_p = p[0],
        now_p = p[1],
        limit = limit.clamp(1, 1000),
    );
    let values: Vec<sea_orm::Value> = match b {
        DbBackend::Postgres => vec![lease.into(), at.into()],
        _ => vec![lease.into(), at.into(), at.into(), at.into()],
    };
    let txn = db.begin().await?;
    let ids: Vec<i32> = txn
        .query_all(Statement::from_sql_and_values(b, sql, values))
        .await?
        .into_iter()
        .map(|r| r.try_get_by_index::<i32>(0))
        .collect::<std::result::Result<_, _>>()?;
    txn.commit().await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Id.is_in(ids))
        .order_by_asc(webhook_delivery::Column::Id)
        .all(db)
        .await?;
    let hook_ids: HashSet<i32> = rows.iter().map(|d| d.webhook_id).collect();
    let hooks: std::collections::HashMap<i32, webhook::Model> = webhook::Entity::find()
        .filter(webhook::Column::Id.is_in(hook_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|w| (w.id, w))
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for d in rows {
        let Some(w) = hooks.get(&d.webhook_id) else {
            continue; // deleted meanwhile: its deliveries went with it
        };
        out.push(Claimed {
            url: w.url.clone(),
            secrets: super::signing_secrets(settings, w).map_err(|e| match e {
                AppError::Internal(inner) => inner.to_string(),
                other => other.to_string(),
            }),
            delivery: d,
        });
    }
    Ok(out)
}

/// How one attempt went.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// The answer's status, if one came.
    pub status: Option<u16>,
    /// Why it failed (none when it succeeded).
    pub error: Option<String>,
    /// Whether a later attempt may succeed (timeouts, connection errors, 429, 5xx).
    pub retryable: bool,
    /// How long the endpoint asked to wait (`Retry-After`).
    pub retry_after: Option<Duration>,
    pub latency: Duration,
}

impl Attempt {
    fn succeeded(&self) -> bool {
        self.error.is_none()
    }
}

/// What [`record`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    Succeeded,
    /// Another attempt is due after this long.
    Retry(Duration),
    Dead,
    /// The claim had expired and someone else holds the delivery: nothing recorded.
    Stale,
}

/// Records the outcome of the attempt `claimed` made, fenced by its attempt number (a
/// process whose lease ran out records nothing). A failure schedules the next attempt or
/// dead-letters the delivery; an endpoint failing for the pause window is paused.
pub async fn record(
    db: &DatabaseConnection,
    settings: &Settings,
    claimed: &webhook_delivery::Model,
    attempt: &Attempt,
) -> Result<Recorded> {
    let at = now();
    let latency = i32::try_from(attempt.latency.as_millis()).unwrap_or(i32::MAX);
    let (status, next, outcome) = if attempt.succeeded() {
        (DeliveryStatus::Succeeded, at, Recorded::Succeeded)
    } else if attempt.retryable && (claimed.attempts as u32) < settings.max_attempts {
        let wait = settings
            .retry_delay(claimed.attempts as u32)
            .max(attempt.retry_after.unwrap_or_default());
        let next = at + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::days(1));
        (DeliveryStatus::Pending, next, Recorded::Retry(wait))
    } else {
        (DeliveryStatus::Dead, at, Recorded::Dead)
    };
    let txn = db.begin().await?;
    let mut q = webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Status, status.into())
        .col_expr(webhook_delivery::Column::NextAttemptAt, next.into())
        .col_expr(
            webhook_delivery::Column::LeaseUntil,
            Option::<chrono::DateTime<chrono::Utc>>::None.into(),
        )
        .col_expr(
            webhook_delivery::Column::LastError,
            attempt.error.clone().into(),
        )
        .col_expr(
            webhook_delivery::Column::LastStatus,
            attempt.status.map(i32::from).into(),
        )
        .col_expr(webhook_delivery::Column::LastLatencyMs, latency.into())
        .col_expr(webhook_delivery::Column::UpdatedAt, at.into());
    if outcome == Recorded::Succeeded {
        q = q.col_expr(webhook_delivery::Column::DeliveredAt, Some(at).into());
    }
    let done = q
        .filter(webhook_delivery::Column::Id.eq(claimed.id))
        .filter(webhook_delivery::Column::Attempts.eq(claimed.attempts))
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending))
        .exec(&txn)
        .await?
        .rows_affected;
    if done == 0 {
        txn.rollback().await?;
        return Ok(Recorded::Stale);
    }
    endpoint_outcome(&txn, settings, claimed.webhook_id, attempt.succeeded(), at).await?;
    txn.commit().await?;
    let label = match outcome {
        Recorded::Succeeded => "succeeded",
        Recorded::Retry(_) => "retry",
        Recorded::Dead => "dead",
        Recorded::Stale => "stale",
    };
    metrics::counter!("gazette_webhook_attempts_total", "outcome" => label).increment(1);
    metrics::histogram!("gazette_webhook_attempt_seconds").record(attempt.latency.as_secs_f64());
    Ok(outcome)
}

/// Keeps an endpoint's failing streak: cleared by a success, started by the first failure,
/// and when a failure comes after the pause window of failures, the endpoint is paused.
async fn endpoint_outcome(
    txn: &impl ConnectionTrait,
    settings: &Settings,
    webhook_id: i32,
    succeeded: bool,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let Some(w) = webhook::Entity::find_by_id(webhook_id).one(txn).await? else {
        return Ok(());
    };
    let window = chrono::Duration::from_std(settings.pause_after).unwrap_or(chrono::Duration::MAX);
    let update = webhook::Entity::update_many().filter(webhook::Column::Id.eq(webhook_id));
    let update = match (succeeded, w.failing_since) {
        (true, None) => return Ok(()),
        (true, Some(_)) => update.col_expr(
            webhook::Column::FailingSince,
            Option::<chrono::DateTime<chrono::Utc>>::None.into(),
        ),
        (false, None) => update.col_expr(webhook::Column::FailingSince, Some(at).into()),
        (false, Some(since)) if w.active && at - since >= window => {
            tracing::warn!(
                webhook = webhook_id,
                failing_since = %since,
                "a webhook endpoint failed for the whole pause window: paused"
            );
            metrics::counter!("gazette_webhooks_paused_total").increment(1);
            update
                .col_expr(webhook::Column::Active, false.into())
                .col_expr(webhook::Column::PausedReason, Some(PAUSED_FAILING).into())
                .col_expr(webhook::Column::UpdatedAt, at.into())
        }
        (false, Some(_)) => return Ok(()),
    };
    update.exec(txn).await?;
    Ok(())
}

/// Reads a `Retry-After` value: seconds, or an HTTP date.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(s) = v.parse::<u64>() {
        return Some(Duration::from_secs(s));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    (when.with_timezone(&chrono::Utc) - now()).to_std().ok()
}
