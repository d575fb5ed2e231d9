//! Writing articles: create, edit, the workflow steps, delete, restore a revision, and the
//! scheduler's publishing of due articles.
//!
//! Every write is optimistic: it names the version it was based on, and the write itself is
//! one conditional statement (`UPDATE … WHERE id = ? AND version = ?`), so a stale version is
//! `CONFLICT` and changes nothing. The article, its bylines, tags, revision and change-log
//! entry are written in one transaction (`domain::transaction`, which also claims the
//! request's idempotency key and runs the transaction again after a deadlock): any error
//! leaves the database as it was. On SQLite that statement (or the key's claim, also a write)
//! is the transaction's first, so it takes the write lock (waiting out the busy timeout)
//! before the transaction has read anything.
//!
//! Each write starts by asking `idempotency::replayed`: when it answers, the request was
//! applied before (its response lost) and the write returns that outcome instead.

use std::collections::HashMap;
use std::future::Future;

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::{Expr, Func, OnConflict, SimpleExpr};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend,
    EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _, UpdateMany,
};

use super::access::{self, ArticleFacts, Caller, Role};
use super::blocks::{Block, Image};
use super::content::{self, ArticleContent, Rights, Source, Valid};
use super::idempotency::{self, Outcome};
use super::invalidation::Key;
use super::revisions;
use super::stream::Event;
use super::transaction::{self, Txn};
use super::workflow::Transition;
use super::{ArticleStatus, discovery, now, slug};
use crate::entities::change_log::EntityKind;
use crate::entities::{article, article_author, article_tag, author, tag};
use crate::error::{AppError, Result};

/// A new article as a client sends it: its content, and the slug it asks for (derived from
/// the headline when absent).
#[derive(Clone, Debug, Default)]
pub struct NewArticle {
    pub slug: Option<String>,
    pub content: ArticleContent,
}

/// Changes to an article; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Clone, Debug, Default)]
pub struct ArticlePatch {
    pub headline: Option<String>,
    pub slug: Option<String>,
    pub dek: Option<Option<String>>,
    pub body: Option<Vec<Block>>,
    pub section: Option<String>,
    pub authors: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    pub source: Option<Option<Source>>,
    pub featured_image: Option<Option<Image>>,
    pub embargo_until: Option<Option<DateTime<Utc>>>,
    /// Replaces the rights whole; `Some(None)` clears them.
    pub rights: Option<Option<Rights>>,
}

/// Applies [`content`]'s rules (HTML cleaning off the async runtime) and resolves the
/// section and authors.
async fn prepare(db: &impl ConnectionTrait, input: ArticleContent) -> Result<Valid> {
    let checked = tokio::task::spawn_blocking(move || content::check(input))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    let section_id = super::sections::by_path(db, &checked.section)
        .await?
        .map(|s| s.id);
    let found: HashMap<String, i32> = author::Entity::find()
        .filter(author::Column::Slug.is_in(checked.authors.iter().map(String::as_str)))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.slug, a.id))
        .collect();
    checked.resolve(section_id, |s| found.get(s).copied())
}

/// A writer's article must carry their own byline, or they could not edit it afterwards.
async fn check_own_byline(
    db: &impl ConnectionTrait,
    caller: &Caller,
    author_ids: &[i32],
) -> Result<()> {
    caller.require(Role::Writer, "filing an article")?;
    if caller.is_editor() {
        return Ok(());
    }
    let Some(sub) = caller.writer_sub() else {
        return Err(AppError::Forbidden("only writers may file articles".into()));
    };
    let mine = author::Entity::find()
        .filter(author::Column::Id.is_in(author_ids.iter().copied()))
        .filter(author::Column::Subject.eq(sub))
        .one(db)
        .await?;
    match mine {
        Some(_) => Ok(()),
        None => Err(AppError::Forbidden(
            "writers may only file articles under their own byline (an author whose subject is their account)".into(),
        )),
    }
}

async fn slug_taken(db: &impl ConnectionTrait, s: &str, except: Option<i32>) -> Result<bool> {
    let mut q = article::Entity::find().filter(article::Column::Slug.eq(s));
    if let Some(id) = except {
        q = q.filter(article::Column::Id.ne(id));
    }
    Ok(q.one(db).await?.is_some())
}

/// The slug for a new article: the client's (which must be free), or one derived from the
/// headline, made unique with a numeric suffix.
async fn new_slug(
    db: &impl ConnectionTrait,
    given: Option<String>,
    headline: &str,
) -> Result<String> {
    if let Some(s) = given {
        slug::check(&s)?;
        if slug_taken(db, &s, None).await? {
            return Err(AppError::Conflict {
                message: format!("slug {s:?} is already taken"),
                current_version: None,
            });
        }
        return Ok(s);
    }
    let base = slug::slugify(headline);
    let base = if base.is_empty() {
        "article".to_owned()
    } else {
        base
    };
    let taken: Vec<String> = article::Entity::find()
        .select_only()
        .column(article::Column::Slug)
        .filter(article::Column::Slug.starts_with(&base))
        .into_tuple()
        .all(db)
        .await?;
    if !taken.contains(&base) {
        return Ok(base);
    }
    let stem = &base[..base.len().min(slug::MAX_LEN - 8)];
    let stem = stem.trim_end_matches('-');
    (2..)
        .map(|n| format!("{stem}-{n}"))
        .find(|s| !taken.contains(s))
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no free slug")))
}

async fn write_relations(txn: &impl ConnectionTrait, id: i32, v: &Valid) -> Result<()> {
    article_author::Entity::delete_many()
        .filter(article_author::Column::ArticleId.eq(id))
        .exec(txn)
        .await?;
    article_tag::Entity::delete_many()
        .filter(article_tag::Column::ArticleId.eq(id))
        .exec(txn)
        .await?;
    article_author::Entity::insert_many(v.author_ids.iter().enumerate().map(|(pos, a)| {
        article_author::ActiveModel {
            article_id: Set(id),
            author_id: Set(*a),
            position: Set(pos as i32),
            // Set by `discovery::saved`, which every write calls after this.
            published_at: Set(None),
        }
    }))
    .exec_without_returning(txn)
    .await?;
    let c = &v.content;
    if !c.tags.is_empty() {
        let at = now();
        let created =
            tag::Entity::insert_many(c.tags.iter().map(|(slug, name)| tag::ActiveModel {
                id: NotSet,
                slug: Set(slug.clone()),
                name: Set(name.clone()),
                created_at: Set(at),
            }))
            .on_conflict(
                OnConflict::column(tag::Column::Slug)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
        let found = tag::Entity::find()
            .filter(tag::Column::Slug.is_in(c.tags.iter().map(|(s, _)| s.as_str())))
            .all(txn)
            .await?;
        if created > 0 {
            // New tags are changes of their own; `tag(slug:)` finds a tag from its first use
            // on, so a cached miss must go.
            let events = found
                .iter()
                .filter(|t| t.created_at == at)
                .map(|t| {
                    let keys = [Key::Lists, Key::Tag(t.id)];
                    Event::new(EntityKind::Tag, t.id, "create", None, keys)
                })
                .collect();
            super::stream::append(txn, events).await?;
        }
        let ids: HashMap<String, i32> = found.into_iter().map(|t| (t.slug, t.id)).collect();
        article_tag::Entity::insert_many(c.tags.iter().enumerate().filter_map(
            |(pos, (slug, _))| {
                ids.get(slug).map(|tag_id| article_tag::ActiveModel {
                    article_id: Set(id),
                    tag_id: Set(*tag_id),
                    position: Set(pos as i32),
                })
            },
        ))
        .exec_without_returning(txn)
        .await?;
    }
    Ok(())
}

/// Reads an article for a write; missing (or unreadable) is `NOT_FOUND`.
async fn load(db: &impl ConnectionTrait, id: i32) -> Result<article::Model> {
    super::articles::find_by_id(db, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no article with id {id}")))
}

/// After a conditional write matched nothing: `CONFLICT` with the current version, or
/// `NOT_FOUND` if the article is gone.
async fn stale(db: &impl ConnectionTrait, id: i32, expected: i32) -> AppError {
    match super::articles::find_by_id(db, id).await {
        Ok(Some(a)) => AppError::Conflict {
            message: format!(
                "the article changed since version {expected}: it is at version {}; reload it and apply your change again",
                a.version
            ),
            current_version: Some(a.version),
        },
        Ok(None) => AppError::not_found(format!("no article with id {id}")),
        Err(e) => e,
    }
}

/// The one conditional write. In one transaction: `update` (the caller's columns, plus
/// `version = version + 1`) runs only `WHERE id = ? AND version = expected` — the statement
/// is the transaction's first write of the article, so on SQLite it takes the write lock
/// before anything is read — then `after` writes what goes with it, and the transaction
/// commits. `Ok(None)` when the version had moved on (nothing written); any error rolls
/// everything back. A deadlock runs it all again, `update` included.
async fn claim<T, Fut>(
    db: &DatabaseConnection,
    id: i32,
    expected: i32,
    update: UpdateMany<article::Entity>,
    mut after: impl FnMut(Txn) -> Fut,
) -> Result<Option<T>>
where
    T: Outcome,
    Fut: Future<Output = Result<T>>,
{
    let update = update
        .col_expr(
            article::Column::Version,
            Expr::col(article::Column::Version).add(1),
        )
        .filter(article::Column::Id.eq(id))
        .filter(article::Column::Version.eq(expected));
    transaction::write_if(db, |txn| {
        let update = update.clone();
        // Not started until awaited, after the update.
        let after = after(txn.clone());
        async move {
            let done = update
                .exec(&*txn)
                .await
                .map_err(|e| AppError::from_write(e, "the slug"))?;
            if done.rows_affected == 0 {
                return Ok(None);
            }
            after.await.map(Some)
        }
    })
    .await
}

/// [`claim`], where a moved version is the caller's mistake: `CONFLICT` (or `NOT_FOUND`).
async fn conditional<T, Fut>(
    db: &DatabaseConnection,
    id: i32,
    expected: i32,
    update: UpdateMany<article::Entity>,
    after: impl FnMut(Txn) -> Fut,
) -> Result<T>
where
    T: Outcome,
    Fut: Future<Output = Result<T>>,
{
    match claim(db, id, expected, update, after).await? {
        Some(out) => Ok(out),
        None => Err(stale(db, id, expected).await),
    }
}

/// What follows every saved version of an article, in its transaction: the row read back,
/// discovery brought up to date, a revision and a change-log entry recorded (which touch its
/// cache keys).
async fn record_version(
    txn: &DatabaseTransaction,
    id: i32,
    before: Option<&article::Model>,
    content: bool,
    action: &str,
    actor: Option<&str>,
) -> Result<article::Model> {
    let a = load(txn, id).await?;
    discovery::saved(txn, before, &a, content).await?;
    revisions::record(txn, &a, before, action, actor).await?;
    Ok(a)
}

/// The article a content change (edit, restore) applies to, once the caller may change it.
async fn load_for_edit(
    db: &DatabaseConnection,
    caller: &Caller,
    id: i32,
) -> Result<article::Model> {
    let current = load(db, id).await?;
    access::check_can_edit(db, caller, &current).await?;
    if current.status == ArticleStatus::Archived {
        return Err(AppError::bad_input("an ARCHIVED article cannot be edited"));
    }
    Ok(current)
}

/// Creates a draft.
pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    input: NewArticle,
) -> Result<article::Model> {
    if let Some(id) = idempotency::replayed("article")? {
        return load(db, id).await;
    }
    caller.require(Role::Writer, "creating an article")?;
    let valid = prepare(db, input.content).await?;
    check_own_byline(db, caller, &valid.author_ids).await?;
    let c = &valid.content;
    let slug = new_slug(db, input.slug, &c.headline).await?;
    let at = now();
    let (body, featured_image) = (&c.body_json()?, &c.featured_image_json()?);
    let (valid, slug) = (&valid, &slug);
    transaction::write(db, move |txn| async move {
        let c = &valid.content;
        let res = article::Entity::insert(article::ActiveModel {
            id: NotSet,
            slug: Set(slug.clone()),
            headline: Set(c.headline.clone()),
            dek: Set(c.dek.clone()),
            body: Set(body.clone()),
            word_count: Set(c.word_count),
            section_id: Set(valid.section_id),
            status: Set(ArticleStatus::Draft),
            source_name: Set(c.source.as_ref().map(|s| s.name.clone())),
            source_url: Set(c.source.as_ref().and_then(|s| s.url.clone())),
            featured_image: Set(featured_image.clone()),
            created_at: Set(at),
            updated_at: Set(at),
            published_at: Set(None),
            scheduled_at: Set(None),
            embargo_until: Set(c.embargo_until),
            rights: Set(c.rights.texts_json()),
            not_for_syndication: Set(c.rights.not_for_syndication),
            version: Set(1),
        })
        .exec(&*txn)
        .await
        .map_err(|e| AppError::from_write(e, &format!("slug {slug:?}")))?;
        let id = res.last_insert_id;
        write_relations(&*txn, id, valid).await?;
        record_version(&txn, id, None, true, "create", caller.sub()).await
    })
    .await
}

/// Applies a patch to an article's content.
pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    id: i32,
    expected: i32,
    patch: ArticlePatch,
) -> Result<article::Model> {
    if idempotency::replayed("article")?.is_some() {
        return load(db, id).await;
    }
    let current = load_for_edit(db, caller, id).await?;
    let snap = revisions::snapshot(db, &current).await?;
    let new_slug = match patch.slug.clone() {
        Some(s) if s != current.slug => {
            slug::check(&s)?;
            if current.published_at.is_some() && !caller.is_editor() {
                return Err(AppError::Forbidden(
                    "only editors may change the slug of an article that has been published".into(),
                ));
            }
            if slug_taken(db, &s, Some(id)).await? {
                return Err(AppError::Conflict {
                    message: format!("slug {s:?} is already taken"),
                    current_version: None,
                });
            }
            Some(s)
        }
        _ => None,
    };
    let merged = ArticleContent {
        headline: patch.headline.unwrap_or(snap.headline),
        dek: patch.dek.unwrap_or(snap.dek),
        body: patch.body.unwrap_or(snap.body),
        section: patch.section.unwrap_or(snap.section),
        authors: patch.authors.clone().unwrap_or(snap.authors),
        tags: patch.tags.unwrap_or(snap.tags),
        source: patch.source.unwrap_or(snap.source),
        featured_image: patch.featured_image.unwrap_or(snap.featured_image),
        embargo_until: patch.embargo_until.unwrap_or(snap.embargo_until),
        rights: patch.rights.unwrap_or(Some(snap.rights)),
    };
    save_content(db, caller, &current, expected, merged, new_slug, "update").await
}

/// Writes merged content with the conditional update, relations and a revision.
async fn save_content(
    db: &DatabaseConnection,
    caller: &Caller,
    current: &article::Model,
    expected: i32,
    merged: ArticleContent,
    new_slug: Option<String>,
    action: &str,
) -> Result<article::Model> {
    let valid = prepare(db, merged).await?;
    if !caller.is_editor() {
        check_own_byline(db, caller, &valid.author_ids).await?;
    }
    let c = &valid.content;
    let mut q = article::Entity::update_many()
        .col_expr(article::Column::Headline, Expr::value(c.headline.clone()))
        .col_expr(article::Column::Dek, Expr::value(c.dek.clone()))
        .col_expr(article::Column::Body, Expr::value(c.body_json()?))
        .col_expr(article::Column::WordCount, Expr::value(c.word_count))
        .col_expr(article::Column::SectionId, Expr::value(valid.section_id))
        .col_expr(
            article::Column::SourceName,
            Expr::value(c.source.as_ref().map(|s| s.name.clone())),
        )
        .col_expr(
            article::Column::SourceUrl,
            Expr::value(c.source.as_ref().and_then(|s| s.url.clone())),
        )
        .col_expr(
            article::Column::FeaturedImage,
            Expr::value(c.featured_image_json()?),
        )
        .col_expr(article::Column::EmbargoUntil, Expr::value(c.embargo_until))
        .col_expr(article::Column::Rights, Expr::value(c.rights.texts_json()))
        .col_expr(
            article::Column::NotForSyndication,
            Expr::value(c.rights.not_for_syndication),
        )
        .col_expr(article::Column::UpdatedAt, Expr::value(now()));
    if let Some(s) = &new_slug {
        q = q.col_expr(article::Column::Slug, Expr::value(s.clone()));
    }
    let (id, valid) = (current.id, &valid);
    conditional(db, id, expected, q, move |txn| async move {
        write_relations(&*txn, id, valid).await?;
        record_version(&txn, id, Some(current), true, action, caller.sub()).await
    })
    .await
}

/// A workflow step: submit, publish (or schedule with a future `at`), unpublish, archive.
pub async fn transition(
    db: &DatabaseConnection,
    caller: &Caller,
    id: i32,
    expected: i32,
    step: Transition,
    at: Option<DateTime<Utc>>,
) -> Result<article::Model> {
    if idempotency::replayed("article")?.is_some() {
        return load(db, id).await;
    }
    let current = load(db, id).await?;
    match step {
        Transition::Submit => access::check_can_edit(db, caller, &current).await?,
        Transition::PublishDue => {
            return Err(AppError::internal(
                "the scheduler's step is not for callers",
            ));
        }
        _ => caller.require(Role::Editor, &format!("{} an article", step.name()))?,
    }
    let t = now();
    let step = match (step, at) {
        (Transition::Publish, Some(at)) if at > t => Transition::Schedule,
        (s, _) => s,
    };
    let to = step.apply(current.status)?;
    let no_time = Expr::value(Option::<DateTime<Utc>>::None);
    let q = article::Entity::update_many()
        .col_expr(article::Column::Status, Expr::value(to))
        .col_expr(article::Column::UpdatedAt, Expr::value(t));
    let q = match step {
        Transition::Publish => q
            .col_expr(
                article::Column::PublishedAt,
                Expr::value(current.published_at.unwrap_or(t)),
            )
            .col_expr(article::Column::ScheduledAt, no_time),
        Transition::Schedule => q.col_expr(
            article::Column::ScheduledAt,
            Expr::value(at.map(|a| a.max(t))),
        ),
        Transition::Unpublish => q.col_expr(article::Column::ScheduledAt, no_time),
        _ => q,
    };
    let current = &current;
    conditional(db, id, expected, q, move |txn| async move {
        record_version(&txn, id, Some(current), false, step.name(), caller.sub()).await
    })
    .await
}

/// Deletes an article (admins only); the change log keeps a tombstone.
pub async fn delete(
    db: &DatabaseConnection,
    caller: &Caller,
    id: i32,
    expected: i32,
) -> Result<()> {
    if idempotency::replayed("done")?.is_some() {
        return Ok(());
    }
    caller.require(Role::Admin, "deleting an article")?;
    let current = &load(db, id).await?;
    // The version check is the claim; the row goes right after it.
    conditional(
        db,
        id,
        expected,
        article::Entity::update_many(),
        move |txn| async move {
            discovery::deleted(&*txn, current).await?;
            article::Entity::delete_by_id(id).exec(&*txn).await?;
            // It may have been published: its page and every listing it could be on.
            let keys = [Key::Article(id), Key::Lists];
            let before = Some(ArticleFacts::of(current));
            let version = Some(current.version + 1);
            let event = Event::article(id, "delete", caller.sub(), version, before, None, keys);
            super::stream::append(&*txn, vec![event]).await
        },
    )
    .await
}

/// Brings back the content of an earlier revision as a new version (the slug and the
/// workflow state stay as they are).
pub async fn restore(
    db: &DatabaseConnection,
    caller: &Caller,
    id: i32,
    expected: i32,
    revision: i32,
) -> Result<article::Model> {
    if idempotency::replayed("article")?.is_some() {
        return load(db, id).await;
    }
    let current = load_for_edit(db, caller, id).await?;
    let merged = revisions::get(db, id, revision).await?.into_content();
    save_content(
        db,
        caller,
        &current,
        expected,
        merged,
        None,
        &format!("restore {revision}"),
    )
    .await
}

/// The database's clock, as an expression comparable with stored times: the one clock every
/// process agrees on. SQLite stores times as RFC 3339 text with `+00:00`, which sorts as
/// time does against this text of the same shape.
fn database_now(backend: DbBackend) -> SimpleExpr {
    match backend {
        DbBackend::Postgres => Expr::cust("CURRENT_TIMESTAMP"),
        _ => Expr::cust("strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')"),
    }
}

/// Lifts every embargo the database's clock has passed, each exactly once even when several
/// processes run this at the same moment (the claim is the conditional update). A lift is a
/// recorded change like any other: a revision, a change-log entry, discovery brought up to
/// date (search, related lists, bylines) and the cache keys of the article and the listings
/// touched, so cached public answers that should now show it are dropped at that moment.
pub async fn lift_due_embargoes(db: &DatabaseConnection) -> Result<usize> {
    let due = article::Entity::find()
        .filter(article::Column::EmbargoUntil.is_not_null())
        .filter(
            Expr::col((article::Entity, article::Column::EmbargoUntil))
                .lte(database_now(db.get_database_backend())),
        )
        .order_by_asc(article::Column::EmbargoUntil)
        .limit(100)
        .all(db)
        .await?;
    let mut lifted = 0;
    for before in &due {
        let q = article::Entity::update_many()
            .col_expr(
                article::Column::EmbargoUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(article::Column::UpdatedAt, Expr::value(now()))
            .filter(article::Column::EmbargoUntil.is_not_null());
        let id = before.id;
        // None: another process lifted it, or an editor changed it meanwhile (the next run
        // looks again).
        let done = claim(db, id, before.version, q, move |txn| async move {
            record_version(&txn, id, Some(before), false, LIFT_EMBARGO, None).await
        })
        .await?;
        lifted += usize::from(done.is_some());
    }
    Ok(lifted)
}

/// The action a lifted embargo is recorded as, in revisions and the change log.
pub const LIFT_EMBARGO: &str = "lift-embargo";

/// Publishes every scheduled article that is due, each exactly once even when several
/// processes run this at the same moment: the claim is the conditional update itself.
pub async fn publish_due(db: &DatabaseConnection) -> Result<usize> {
    let t = now();
    let due = article::Entity::find()
        .filter(article::Column::Status.eq(ArticleStatus::Scheduled))
        .filter(article::Column::ScheduledAt.lte(t))
        .order_by_asc(article::Column::ScheduledAt)
        .limit(100)
        .all(db)
        .await?;
    let mut published = 0;
    for before in &due {
        let (id, version) = (before.id, before.version);
        let q = article::Entity::update_many()
            .col_expr(
                article::Column::Status,
                Expr::value(ArticleStatus::Published),
            )
            .col_expr(
                article::Column::PublishedAt,
                SimpleExpr::from(Func::coalesce([
                    Expr::col(article::Column::PublishedAt).into(),
                    Expr::col(article::Column::ScheduledAt).into(),
                ])),
            )
            .col_expr(article::Column::UpdatedAt, Expr::value(t))
            .filter(article::Column::Status.eq(ArticleStatus::Scheduled));
        let step = Transition::PublishDue.name();
        // None: another process published it, or an editor changed it meanwhile.
        let done = claim(db, id, version, q, move |txn| async move {
            record_version(&txn, id, Some(before), false, step, None).await
        })
        .await?;
        published += usize::from(done.is_some());
    }
    Ok(published)
}
