//! The change stream: every write that changes what anyone could read leaves an event in the
//! change log, in the write's own transaction, at a **position**; readers (delta sync, the
//! partner feed, webhooks, subscriptions) follow positions and never miss or reorder one.
//!
//! ## Why no reader can skip an event
//!
//! Positions are not taken from a sequence: on PostgreSQL a sequence hands out 41 to one
//! transaction and 42 to another, and if 42 commits first a reader that has moved past 42
//! never sees 41. Instead [`append`] takes its positions by incrementing the one row of
//! `stream_head` (`UPDATE … RETURNING`), whose row lock the transaction then holds until it
//! commits or rolls back. So:
//!
//! - the next writer waits at that row until the previous one has finished: positions are
//!   committed in the order they were given, and a reader that sees position N can rely on
//!   every position below N being committed already (PostgreSQL makes a commit visible
//!   before it releases the transaction's locks; SQLite has one writer at a time anyway);
//! - a rolled-back transaction rolls the counter back too: positions have no gaps, so a
//!   reader can even check that it saw every one;
//! - events of one article are in the order of its versions: a write holds the article's
//!   row (its conditional update) when it takes its position.
//!
//! The cost is that writes that log an event commit one at a time from the moment they take
//! a position; every write takes it as its last statements (after its revision, before the
//! notification), so the wait is one commit. A newsroom writes a few times a second; the
//! benchmark (`bench/stream.sh`) measures what this allows.
//!
//! ## What an event says
//!
//! Its position (`seq`), entity and id, action, actor, time, the article's version, the
//! surrogate keys the write touched (so a CDN purge can be driven from it), and what a
//! visibility decision reads of an article before and after the write
//! ([`ArticleFacts`]). Readers decide from those facts, with
//! the caller's own visibility rule, whether the caller could have seen the article before:
//! only then does an article that left their view produce a tombstone.
//!
//! ## Retention
//!
//! [`prune`] removes events older than the retention setting and records the last position
//! it removed in `stream_head.pruned_through`; [`check`] refuses a position below it with
//! `RESYNC_REQUIRED`, so a client that fell too far behind is told, never left with a gap.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DbBackend, EntityTrait as _, FromQueryResult,
    QueryFilter as _, QueryOrder as _, QuerySelect as _, Statement,
};

use super::access::ArticleFacts;
use super::invalidation::{self, Key};
use crate::entities::change_log::{self, EntityKind};
use crate::error::{AppError, Result};

/// One event, as a write describes it.
#[derive(Clone, Debug)]
pub struct Event {
    pub entity: EntityKind,
    pub id: i32,
    pub action: String,
    pub actor: Option<String>,
    pub version: Option<i32>,
    pub keys: Vec<Key>,
    pub before: Option<ArticleFacts>,
    pub after: Option<ArticleFacts>,
    pub at: DateTime<Utc>,
}

impl Event {
    /// An event of `entity` `id` by `actor`, at the present time, touching `keys`.
    pub fn new(
        entity: EntityKind,
        id: i32,
        action: &str,
        actor: Option<&str>,
        keys: impl IntoIterator<Item = Key>,
    ) -> Self {
        Self {
            entity,
            id,
            action: action.to_owned(),
            actor: actor.map(str::to_owned),
            version: None,
            keys: keys.into_iter().collect(),
            before: None,
            after: None,
            at: super::now(),
        }
    }

    /// The event of an article's write: its version and its facts before and after.
    pub fn article(
        id: i32,
        action: &str,
        actor: Option<&str>,
        version: Option<i32>,
        before: Option<ArticleFacts>,
        after: Option<ArticleFacts>,
        keys: impl IntoIterator<Item = Key>,
    ) -> Self {
        Self {
            version,
            before,
            after,
            ..Self::new(EntityKind::Article, id, action, actor, keys)
        }
    }

    /// The event of a decision on comment `id` of `article` (its facts at the time, so
    /// whoever reads the stream can tell with the one visibility rule whether the comment
    /// could be read: only on a public article). Actions a reader can notice are
    /// [`COMMENT_APPROVED`], [`COMMENT_REMOVED`] and [`COMMENT_UPDATED`]; any other (a
    /// held comment marked as spam, say) changes nothing anybody but editors can see.
    pub fn comment(
        id: i32,
        action: &str,
        actor: Option<&str>,
        article: &crate::entities::article::Model,
    ) -> Self {
        Self {
            after: Some(ArticleFacts::of(article)),
            ..Self::new(
                EntityKind::Comment,
                id,
                action,
                actor,
                [Key::Article(article.id)],
            )
        }
    }
}

/// A comment became readable: posted and approved at once, or approved by an editor.
pub const COMMENT_APPROVED: &str = "approved";
/// A readable comment was taken down: rejected, marked as spam or held again by an
/// editor, or erased with its commenter's data.
pub const COMMENT_REMOVED: &str = "removed";
/// A readable comment changed while staying readable (its commenter's data anonymised).
pub const COMMENT_UPDATED: &str = "updated";

/// The action of a moderation decision on a comment from `from` to `to`: approved or
/// removed when it crosses what readers see, else the new status in lower case.
pub fn comment_action(
    from: crate::domain::CommentStatus,
    to: crate::domain::CommentStatus,
) -> String {
    use crate::domain::CommentStatus::Approved;
    match (from == Approved, to == Approved) {
        (false, true) => COMMENT_APPROVED.to_owned(),
        (true, false) => COMMENT_REMOVED.to_owned(),
        _ => to.as_str().to_lowercase(),
    }
}

/// Appends `events`, in order, at the next positions, inside the write's transaction `txn`,
/// and touches their surrogate keys (see the module's documentation for why positions are
/// taken this way). Call it as the write's last statements but the notification.
pub async fn append(txn: &impl ConnectionTrait, events: Vec<Event>) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let last = reserve(txn, events.len()).await?;
    let first = last - events.len() as i32 + 1;
    let mut keys = BTreeSet::new();
    let mut rows = Vec::with_capacity(events.len());
    for (i, e) in events.into_iter().enumerate() {
        keys.extend(e.keys.iter().copied());
        rows.push(change_log::ActiveModel {
            seq: Set(first + i as i32),
            entity: Set(e.entity),
            entity_id: Set(e.id),
            action: Set(e.action),
            actor: Set(e.actor),
            at: Set(e.at),
            version: Set(e.version),
            keys: Set((!e.keys.is_empty()).then(|| written_keys(&e.keys))),
            facts_before: Set(e.before.map(facts_json)),
            facts_after: Set(e.after.map(facts_json)),
        });
    }
    for chunk in rows.chunks(2000) {
        change_log::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    // A bulk write (an import batch) tells other processes "everything" rather than a
    // notification too long for PostgreSQL (8,000 bytes).
    if keys.len() > MAX_NOTIFIED_KEYS {
        keys = BTreeSet::from([Key::All]);
    }
    invalidation::touch(txn, keys).await
}

/// The action of every article event a bulk import writes: the stream carries each of them,
/// while webhooks send one `import.completed` for the whole import instead.
pub const IMPORT_ACTION: &str = "import";

/// Most keys one write notifies one by one.
const MAX_NOTIFIED_KEYS: usize = 256;

/// Takes `n` positions: the last of them is returned. Holds `stream_head`'s row until the
/// transaction ends.
async fn reserve(txn: &impl ConnectionTrait, n: usize) -> Result<i32> {
    let b = txn.get_database_backend();
    let sql = match b {
        DbBackend::Postgres => {
            "UPDATE stream_head SET last_seq = last_seq + $1 WHERE id = 1 RETURNING last_seq"
        }
        _ => "UPDATE stream_head SET last_seq = last_seq + ? WHERE id = 1 RETURNING last_seq",
    };
    let row = txn
        .query_one(Statement::from_sql_and_values(b, sql, [(n as i32).into()]))
        .await?
        .ok_or_else(|| AppError::internal("the stream_head row is missing"))?;
    Ok(row.try_get_by_index::<i32>(0)?)
}

fn written_keys(keys: &[Key]) -> String {
    keys.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

fn facts_json(f: ArticleFacts) -> String {
    // A struct of plain fields always serialises.
    serde_json::to_string(&f).unwrap_or_default()
}

/// An event as readers see it.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    pub seq: i32,
    pub entity: EntityKind,
    pub id: i32,
    pub action: String,
    pub at: DateTime<Utc>,
    pub version: Option<i32>,
    pub keys: Vec<Key>,
    pub before: Option<ArticleFacts>,
    pub after: Option<ArticleFacts>,
}

impl Stored {
    fn of(m: change_log::Model) -> Self {
        let facts = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
        Self {
            seq: m.seq,
            entity: m.entity,
            id: m.entity_id,
            keys: m
                .keys
                .as_deref()
                .map(|k| k.split(' ').filter_map(Key::parse).collect())
                .unwrap_or_default(),
            before: facts(m.facts_before),
            after: facts(m.facts_after),
            action: m.action,
            at: m.at,
            version: m.version,
        }
    }

    /// Whether an article with these facts before or after this event was visible under
    /// `allows` (facts-based visibility of one caller).
    pub fn touched_view(&self, allows: impl Fn(&ArticleFacts) -> bool) -> bool {
        self.before.as_ref().is_some_and(&allows) || self.after.as_ref().is_some_and(&allows)
    }
}

/// The committed events after position `after`, oldest first, at most `limit`.
pub async fn read(db: &impl ConnectionTrait, after: i32, limit: u64) -> Result<Vec<Stored>> {
    Ok(change_log::Entity::find()
        .filter(change_log::Column::Seq.gt(after))
        .order_by_asc(change_log::Column::Seq)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(Stored::of)
        .collect())
}

/// The stream's head: the last committed position, and the last one retention removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromQueryResult)]
pub struct Head {
    pub last_seq: i32,
    pub pruned_through: i32,
}

/// Reads the head.
pub async fn head(db: &impl ConnectionTrait) -> Result<Head> {
    let b = db.get_database_backend();
    Head::find_by_statement(Statement::from_string(
        b,
        "SELECT last_seq, pruned_through FROM stream_head WHERE id = 1",
    ))
    .one(db)
    .await?
    .ok_or_else(|| AppError::internal("the stream_head row is missing"))
}

/// Refuses a position whose following events retention has removed (`RESYNC_REQUIRED`).
pub fn check(head: Head, position: i32) -> Result<()> {
    if position < head.pruned_through {
        return Err(AppError::ResyncRequired(format!(
            "this position is older than the change stream keeps (events up to {} were \
             removed); sync again from the start, without `since`",
            head.pruned_through
        )));
    }
    Ok(())
}

/// Removes events older than `keep`, in one transaction, and records the last position it
/// removed (readers never read below it again). Returns how many it removed. An article's
/// departures from public view are kept (see below).
pub async fn prune(db: &sea_orm::DatabaseConnection, keep: chrono::Duration) -> Result<u64> {
    use sea_orm::TransactionTrait as _;
    let cutoff = super::now() - keep;
    let txn = db.begin().await?;
    let through: Option<i32> = change_log::Entity::find()
        .select_only()
        .column_as(change_log::Column::Seq.max(), "m")
        .filter(change_log::Column::At.lt(cutoff))
        .into_tuple::<Option<i32>>()
        .one(&txn)
        .await?
        .flatten();
    let Some(through) = through else {
        txn.rollback().await?;
        return Ok(0);
    };
    // Departures (unpublish, archive, delete) stay: feeds and sitemaps read the time of the
    // last one so that their modification time never goes backwards. They are a few a day.
    let gone = change_log::Entity::delete_many()
        .filter(change_log::Column::Seq.lte(through))
        .filter(
            sea_orm::Condition::any()
                .add(change_log::Column::Entity.ne(EntityKind::Article))
                .add(
                    change_log::Column::Action
                        .is_not_in(super::syndication::DEPARTURES.iter().copied()),
                ),
        )
        .exec(&txn)
        .await?
        .rows_affected;
    let b = txn.get_database_backend();
    let sql = match b {
        DbBackend::Postgres => {
            "UPDATE stream_head SET pruned_through = GREATEST(pruned_through, $1) WHERE id = 1"
        }
        _ => "UPDATE stream_head SET pruned_through = MAX(pruned_through, ?) WHERE id = 1",
    };
    txn.execute(Statement::from_sql_and_values(b, sql, [through.into()]))
        .await?;
    txn.commit().await?;
    Ok(gone)
}

/// A position as clients hold it: opaque text, tied to the stream (`p…`) or to a snapshot
/// in progress (`s…`: the head it will continue from, and the last entity it listed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// After this event.
    Stream(i32),
    /// A snapshot that continues the stream from `head` once it has listed every entity
    /// after (`kind`, `id`), in the order sections, authors, tags, articles.
    Snapshot { head: i32, kind: u8, id: i32 },
}

impl Position {
    /// The opaque text.
    pub fn encode(self) -> String {
        use base64::Engine as _;
        let raw = match self {
            Self::Stream(seq) => format!("p{seq}"),
            Self::Snapshot { head, kind, id } => format!("s{head}.{kind}.{id}"),
        };
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    /// Reads a position this server handed out; anything else is `BAD_USER_INPUT`.
    pub fn decode(s: &str) -> Result<Self> {
        use base64::Engine as _;
        let bad = || {
            AppError::bad_input(
                "`since` is not a position this server handed out: pass the `next` of a \
                 previous page, or leave it out to start from a snapshot",
            )
        };
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.trim())
            .map_err(|_| bad())?;
        let raw = std::str::from_utf8(&raw).map_err(|_| bad())?;
        let num = |t: &str| t.parse::<i32>().ok().filter(|n| *n >= 0);
        if let Some(seq) = raw.strip_prefix('p') {
            return num(seq).map(Self::Stream).ok_or_else(bad);
        }
        let rest = raw.strip_prefix('s').ok_or_else(bad)?;
        let mut parts = rest.split('.');
        let (Some(h), Some(k), Some(i), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let kind = k.parse::<u8>().ok().filter(|k| *k < 4).ok_or_else(bad)?;
        Ok(Self::Snapshot {
            head: num(h).ok_or_else(bad)?,
            kind,
            id: num(i).ok_or_else(bad)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_and_refuse_anything_else() {
        for p in [
            Position::Stream(0),
            Position::Stream(41),
            Position::Snapshot {
                head: 9,
                kind: 3,
                id: 12,
            },
        ] {
            assert_eq!(Position::decode(&p.encode()).ok(), Some(p));
        }
        for bad in ["", "p1", "cC0x", "czEuNC4x", "!!", "cDE.2"] {
            assert!(Position::decode(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_pruned_position_must_resync() {
        let head = Head {
            last_seq: 50,
            pruned_through: 20,
        };
        assert!(check(head, 20).is_ok());
        assert!(check(head, 35).is_ok());
        assert_eq!(
            check(head, 19).map_err(|e| e.code()).err(),
            Some("RESYNC_REQUIRED")
        );
    }
}
