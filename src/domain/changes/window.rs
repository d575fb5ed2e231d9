//! A page's window of the change stream: the events after a position, each with what a
//! visibility decision reads of the article it names as that article is *now*, in one
//! statement.
//!
//! Why one statement, and why one row on SQLite: a page of the partner feed reads a few
//! hundred events and the current facts of as many articles. Read as two statements of a
//! row each, sqlx moved every row from SQLite's worker thread to the awaiting task, and
//! those hand-offs (thread wake-ups, each a futex call) were most of a page's time. So the
//! events come joined with their articles' facts, and on SQLite the database hands them back
//! as one JSON array (as `domain::sitemaps` reads its pages); on PostgreSQL rows travel on
//! one socket and the join saves a round trip.
//!
//! On SQLite the facts come from an index of their own (`ix_articles_facts`): in an
//! article's row they follow its body, and reaching them read the body's overflow pages
//! (two or three a row), which was most of what was left of a page's time.
//!
//! What the window holds is decided here only by entity kind (the partner feed reads
//! article events only) and by position; *who may see what* is decided afterwards in Rust,
//! by the one rule (`Visibility::allows_facts`) on these facts.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveEnum as _, ConnectionTrait, DbBackend, QueryResult};

use super::super::ArticleStatus;
use super::super::access::ArticleFacts;
use super::super::sql::Sql;
use crate::entities::change_log::EntityKind;
use crate::error::{AppError, Result};

/// One event as a page reads it (its surrogate keys are not read: a page never shows them).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Event {
    pub seq: i32,
    pub entity: EntityKind,
    pub id: i32,
    pub at: DateTime<Utc>,
    pub version: Option<i32>,
    pub before: Option<ArticleFacts>,
    pub after: Option<ArticleFacts>,
}

impl Event {
    /// Whether an article with these facts before or after this event was visible under
    /// `allows` (facts-based visibility of one caller), as `stream::Stored::touched_view`.
    pub fn touched_view(&self, allows: impl Fn(&ArticleFacts) -> bool) -> bool {
        self.before.as_ref().is_some_and(&allows) || self.after.as_ref().is_some_and(&allows)
    }
}

/// What a visibility decision and an entry read of an article as it is now (not its row:
/// only the page's upserts need that).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ArticleNow {
    pub slug: String,
    /// Its stored status, as text: `None` from [`Self::facts`] for one this gazette does not
    /// know (visible to no one).
    pub status: String,
    pub embargoed: bool,
    pub not_for_syndication: bool,
    pub section_id: i32,
}

impl ArticleNow {
    /// Its facts; `None` for a stored status this gazette does not know.
    pub fn facts(&self) -> Option<ArticleFacts> {
        Some(ArticleFacts {
            status: ArticleStatus::parse(&self.status)?,
            embargoed: self.embargoed,
            not_for_syndication: self.not_for_syndication,
            section_id: self.section_id,
        })
    }
}

/// Up to `limit` events after position `after` and at most `upto`, oldest first (articles'
/// only with `articles_only`), each with its article now when it names one that exists.
pub(super) async fn read(
    db: &impl ConnectionTrait,
    after: i32,
    upto: i32,
    limit: u64,
    articles_only: bool,
) -> Result<Vec<(Event, Option<ArticleNow>)>> {
    let backend = db.get_database_backend();
    let sqlite = backend == DbBackend::Sqlite;
    let mut q = Sql::new(
        backend,
        "SELECT c.seq, c.entity, c.entity_id, c.at, c.version, c.facts_before, c.facts_after, \
         a.slug, a.status, a.embargo_until IS NOT NULL AS embargoed, \
         a.not_for_syndication, a.section_id \
         FROM change_log c LEFT JOIN articles a ",
    );
    if sqlite {
        // The facts from the index that holds them (migration 100000): in the table they
        // come after the body, which SQLite reads through page by page to reach them.
        q.push("INDEXED BY ix_articles_facts ");
    }
    q.push("ON c.entity = 'article' AND a.id = c.entity_id WHERE c.seq > ")
        .bind(after)
        .push(" AND c.seq <= ")
        .bind(upto);
    if articles_only {
        // `+` keeps SQLite on the position's range (the primary key) instead of the
        // `(entity, entity_id)` index, which would read every article event to sort them.
        q.push(if sqlite {
            " AND +c.entity = 'article'"
        } else {
            " AND c.entity = 'article'"
        });
    }
    q.push(" ORDER BY c.seq LIMIT ")
        .bind(i64::try_from(limit).unwrap_or(i64::MAX));
    if !sqlite {
        return db.query_all(q.build()).await?.iter().map(pg_row).collect();
    }
    let inner = q.build();
    let stmt = sea_orm::Statement {
        sql: format!(
            "SELECT json_group_array(json_array(seq, entity, entity_id, at, version, \
             facts_before, facts_after, slug, status, embargoed, not_for_syndication, \
             section_id)) FROM ({}) AS w",
            inner.sql
        ),
        ..inner
    };
    let Some(row) = db.query_one(stmt).await? else {
        return Ok(Vec::new());
    };
    let json: String = row.try_get_by_index(0)?;
    let rows: Vec<SqliteRow> = serde_json::from_str(&json)
        .map_err(|e| AppError::internal(format!("a window of the change stream: {e}")))?;
    let mut out = rows
        .into_iter()
        .map(SqliteRow::into_parts)
        .collect::<Result<Vec<_>>>()?;
    // An aggregate's order is SQLite's to pick.
    out.sort_unstable_by_key(|(e, _)| e.seq);
    Ok(out)
}

/// A row of the SQLite window, as `json_array` writes it (booleans are integers there).
#[derive(serde::Deserialize)]
struct SqliteRow(
    i32,
    String,
    i32,
    DateTime<Utc>,
    Option<i32>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i32>,
);

impl SqliteRow {
    fn into_parts(self) -> Result<(Event, Option<ArticleNow>)> {
        let Self(seq, entity, id, at, version, before, after, slug, status, emb, nfs, section) =
            self;
        let now = match (slug, status, section) {
            (Some(slug), Some(status), Some(section_id)) => Some(ArticleNow {
                slug,
                status,
                embargoed: emb.unwrap_or(0) != 0,
                not_for_syndication: nfs.unwrap_or(0) != 0,
                section_id,
            }),
            _ => None,
        };
        Ok((
            Event {
                seq,
                entity: kind(entity)?,
                id,
                at,
                version,
                before: facts(before.as_deref()),
                after: facts(after.as_deref()),
            },
            now,
        ))
    }
}

fn pg_row(row: &QueryResult) -> Result<(Event, Option<ArticleNow>)> {
    let slug: Option<String> = row.try_get_by_index(7)?;
    let status: Option<String> = row.try_get_by_index(8)?;
    let section: Option<i32> = row.try_get_by_index(11)?;
    let now = match (slug, status, section) {
        (Some(slug), Some(status), Some(section_id)) => Some(ArticleNow {
            slug,
            status,
            embargoed: row.try_get_by_index::<Option<bool>>(9)?.unwrap_or(false),
            not_for_syndication: row.try_get_by_index::<Option<bool>>(10)?.unwrap_or(false),
            section_id,
        }),
        _ => None,
    };
    let before: Option<String> = row.try_get_by_index(5)?;
    let after: Option<String> = row.try_get_by_index(6)?;
    Ok((
        Event {
            seq: row.try_get_by_index(0)?,
            entity: kind(row.try_get_by_index(1)?)?,
            id: row.try_get_by_index(2)?,
            at: row.try_get_by_index(3)?,
            version: row.try_get_by_index(4)?,
            before: facts(before.as_deref()),
            after: facts(after.as_deref()),
        },
        now,
    ))
}

fn kind(stored: String) -> Result<EntityKind> {
    EntityKind::try_from_value(&stored)
        .map_err(|_| AppError::internal(format!("a change of an unknown kind `{stored}`")))
}

/// Facts as the stream stores them (unreadable ones count as none, as `stream::Stored`).
fn facts(stored: Option<&str>) -> Option<ArticleFacts> {
    stored.and_then(|s| serde_json::from_str(s).ok())
}
