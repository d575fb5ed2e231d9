//! Writing articles: create, edit, the workflow steps, delete, restore a revision, and the
//! scheduler's publishing of due articles.
//!
//! Every write is optimistic: it names the version it was based on, and the write itself is
//! one conditional statement (`UPDATE … WHERE id = ? AND version = ?`), so a stale version is
//! `CONFLICT` and changes nothing. The article, its bylines, tags, revision and change-log
//! entry are written in one transaction: any error leaves the database as it was. On SQLite
//! that statement is the transaction's first, so it takes the write lock (waiting out the busy
//! timeout) before the transaction has read anything.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::{Expr, Func, OnConflict, SimpleExpr};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DatabaseConnection, EntityTrait as _, QueryFilter as _,
    QueryOrder as _, QuerySelect as _, TransactionTrait as _,
};

use super::access::{self, Caller, Role};
use super::blocks::{self, Block, Image};
use super::import::Source;
use super::revisions::{self, Snapshot};
use super::workflow::Transition;
use super::{ArticleStatus, discovery, html, now, slug};
use crate::entities::{article, article_author, article_tag, author, tag};
use crate::error::{AppError, Result};

/// Longest headline, in characters.
pub const MAX_HEADLINE: usize = 300;
/// Longest dek, in characters.
pub const MAX_DEK: usize = 1000;
/// Most authors on one byline, and most tags on one article.
pub const MAX_REFS: usize = 50;

/// A new article as a client sends it.
#[derive(Clone, Debug, Default)]
pub struct NewArticle {
    pub headline: String,
    pub slug: Option<String>,
    pub dek: Option<String>,
    pub body: Vec<Block>,
    /// Section path.
    pub section: String,
    /// Author slugs, in byline order.
    pub authors: Vec<String>,
    /// Tag names; tags are created on first use.
    pub tags: Vec<String>,
    pub source: Option<Source>,
    pub featured_image: Option<Image>,
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
}

/// Content validated and cleaned, ready to write.
struct Content {
    headline: String,
    dek: Option<String>,
    body: serde_json::Value,
    word_count: i32,
    section_id: i32,
    author_ids: Vec<i32>,
    tags: Vec<(String, String)>,
    source: Option<Source>,
    featured_image: Option<serde_json::Value>,
}

/// Plain text from a field that should hold no markup: tags are dropped, entities decoded.
pub fn plain_text(field: &str, text: &str, max: usize) -> Result<String> {
    let text = &html::strip_controls(text);
    let cleaned = if text.contains(['<', '&']) {
        html::to_text(&html::strip_all(text))
    } else {
        text.to_string()
    };
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if cleaned.chars().count() > max {
        return Err(AppError::bad_input(format!(
            "{field} is longer than the limit of {max} characters"
        )));
    }
    Ok(cleaned)
}

fn bad(e: String) -> AppError {
    AppError::BadInput(e)
}

/// Validates, cleans and resolves content. HTML cleaning runs off the async runtime.
async fn prepare(db: &impl ConnectionTrait, input: NewArticle) -> Result<Content> {
    let headline = plain_text("headline", &input.headline, MAX_HEADLINE)?;
    if headline.is_empty() {
        return Err(AppError::bad_input("headline is empty"));
    }
    let dek = match input.dek {
        Some(d) => Some(plain_text("dek", &d, MAX_DEK)?).filter(|d| !d.is_empty()),
        None => None,
    };
    let body = input.body;
    let featured = input.featured_image;
    let (body, featured) =
        tokio::task::spawn_blocking(move || -> std::result::Result<_, String> {
            let body = blocks::clean_body(body)?;
            let featured = featured
                .map(blocks::clean_image)
                .transpose()
                .map_err(|e| format!("featuredImage: {e}"))?;
            Ok((body, featured))
        })
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(bad)?;
    let source = match input.source {
        None => None,
        Some(s) => {
            let name = plain_text("source.name", &s.name, 200)?;
            if name.is_empty() {
                return Err(AppError::bad_input("source.name is empty"));
            }
            let url = s.url.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
            if url.as_deref().is_some_and(|u| !html::is_web_url(u)) {
                return Err(AppError::bad_input(
                    "source.url must be an absolute http(s) URL",
                ));
            }
            Some(Source { name, url })
        }
    };
    let section_id = super::sections::by_path(db, &input.section)
        .await?
        .ok_or_else(|| {
            AppError::bad_input(format!("section: {:?} is not a section", input.section))
        })?
        .id;
    if input.authors.is_empty() || input.authors.len() > MAX_REFS {
        return Err(AppError::bad_input(format!(
            "authors: an article needs 1 to {MAX_REFS} authors"
        )));
    }
    let found: HashMap<String, i32> = author::Entity::find()
        .filter(author::Column::Slug.is_in(input.authors.iter().map(String::as_str)))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.slug, a.id))
        .collect();
    let mut author_ids = Vec::with_capacity(input.authors.len());
    for s in &input.authors {
        let id = *found
            .get(s)
            .ok_or_else(|| AppError::bad_input(format!("authors: {s:?} is not an author")))?;
        if !author_ids.contains(&id) {
            author_ids.push(id);
        }
    }
    if input.tags.len() > MAX_REFS {
        return Err(AppError::bad_input(format!(
            "tags: at most {MAX_REFS} tags"
        )));
    }
    let mut tags: Vec<(String, String)> = Vec::new();
    for name in &input.tags {
        let name = plain_text("tags", name, 100)?;
        let slug = slug::slugify(&name);
        if slug.is_empty() {
            return Err(AppError::bad_input(format!(
                "tags: {name:?} has no letters or digits"
            )));
        }
        if !tags.iter().any(|(s, _)| *s == slug) {
            tags.push((slug, name));
        }
    }
    Ok(Content {
        word_count: blocks::word_count(&body),
        body: serde_json::to_value(&body).map_err(anyhow::Error::from)?,
        headline,
        dek,
        section_id,
        author_ids,
        tags,
        source,
        featured_image: featured
            .map(serde_json::to_value)
            .transpose()
            .map_err(anyhow::Error::from)?,
    })
}

/// A writer's article must carry their own byline, or they could not edit it afterwards.
async fn check_own_byline(
    db: &impl ConnectionTrait,
    caller: &Caller,
    author_ids: &[i32],
) -> Result<()> {
    let (sub, role) = caller.require_account()?;
    if role >= Role::Editor {
        return Ok(());
    }
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

async fn write_relations(txn: &impl ConnectionTrait, id: i32, c: &Content) -> Result<()> {
    article_author::Entity::delete_many()
        .filter(article_author::Column::ArticleId.eq(id))
        .exec(txn)
        .await?;
    article_tag::Entity::delete_many()
        .filter(article_tag::Column::ArticleId.eq(id))
        .exec(txn)
        .await?;
    article_author::Entity::insert_many(c.author_ids.iter().enumerate().map(|(pos, a)| {
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
        if created > 0 {
            // `tag(slug:)` finds a tag from its first use on: a cached miss must go.
            super::changes::touch(txn, [super::changes::LISTS.to_owned()]).await?;
        }
        let ids: HashMap<String, i32> = tag::Entity::find()
            .filter(tag::Column::Slug.is_in(c.tags.iter().map(|(s, _)| s.as_str())))
            .all(txn)
            .await?
            .into_iter()
            .map(|t| (t.slug, t.id))
            .collect();
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

/// Reads an article for a write; missing is `NOT_FOUND`.
async fn load(db: &impl ConnectionTrait, id: i32) -> Result<article::Model> {
    article::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no article with id {id}")))
}

/// After a conditional write matched nothing: `CONFLICT` with the current version, or
/// `NOT_FOUND` if the article is gone.
async fn stale(db: &impl ConnectionTrait, id: i32, expected: i32) -> AppError {
    match article::Entity::find_by_id(id).one(db).await {
        Ok(Some(a)) => AppError::Conflict {
            message: format!(
                "the article changed since version {expected}: it is at version {}; reload it and apply your change again",
                a.version
            ),
            current_version: Some(a.version),
        },
        Ok(None) => AppError::not_found(format!("no article with id {id}")),
        Err(e) => e.into(),
    }
}

/// The article a content change (edit, restore) applies to, once the caller may change it.
async fn load_for_edit(
    db: &DatabaseConnection,
    caller: &Caller,
    id: i32,
) -> Result<article::Model> {
    let current = load(db, id).await?;
    access::check_can_edit(db, caller, &current).await?;
    if status_of(&current) == ArticleStatus::Archived {
        return Err(AppError::bad_input("an ARCHIVED article cannot be edited"));
    }
    Ok(current)
}

fn status_of(a: &article::Model) -> ArticleStatus {
    ArticleStatus::parse(&a.status).unwrap_or(ArticleStatus::Draft)
}

/// Creates a draft.
pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    input: NewArticle,
) -> Result<article::Model> {
    caller.require(Role::Writer, "creating an article")?;
    let given_slug = input.slug.clone();
    let content = prepare(db, input).await?;
    check_own_byline(db, caller, &content.author_ids).await?;
    let slug = new_slug(db, given_slug, &content.headline).await?;
    let at = now();
    let txn = db.begin().await?;
    let res = article::Entity::insert(article::ActiveModel {
        id: NotSet,
        slug: Set(slug.clone()),
        headline: Set(content.headline.clone()),
        dek: Set(content.dek.clone()),
        body: Set(content.body.clone()),
        word_count: Set(content.word_count),
        section_id: Set(content.section_id),
        status: Set(ArticleStatus::Draft.as_str().to_owned()),
        source_name: Set(content.source.as_ref().map(|s| s.name.clone())),
        source_url: Set(content.source.as_ref().and_then(|s| s.url.clone())),
        featured_image: Set(content.featured_image.clone()),
        created_at: Set(at),
        updated_at: Set(at),
        published_at: Set(None),
        scheduled_at: Set(None),
        version: Set(1),
    })
    .exec(&txn)
    .await
    .map_err(|e| AppError::from_write(e, &format!("slug {slug:?}")))?;
    let id = res.last_insert_id;
    write_relations(&txn, id, &content).await?;
    let a = load(&txn, id).await?;
    discovery::saved(&txn, None, &a, true).await?;
    revisions::record(&txn, &a, "create", caller.sub()).await?;
    txn.commit().await?;
    Ok(a)
}

/// Applies a patch to an article's content.
pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    id: i32,
    expected: i32,
    patch: ArticlePatch,
) -> Result<article::Model> {
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
    let merged = NewArticle {
        headline: patch.headline.unwrap_or(snap.headline),
        slug: None,
        dek: patch.dek.unwrap_or(snap.dek),
        body: patch.body.unwrap_or(snap.body),
        section: patch.section.unwrap_or(snap.section),
        authors: patch.authors.clone().unwrap_or(snap.authors),
        tags: patch.tags.unwrap_or(snap.tags),
        source: patch.source.unwrap_or(snap.source),
        featured_image: patch.featured_image.unwrap_or(snap.featured_image),
    };
    save_content(db, caller, &current, expected, merged, new_slug, "update").await
}

/// Writes merged content with the conditional update, relations and a revision.
async fn save_content(
    db: &DatabaseConnection,
    caller: &Caller,
    current: &article::Model,
    expected: i32,
    merged: NewArticle,
    new_slug: Option<String>,
    action: &str,
) -> Result<article::Model> {
    let content = prepare(db, merged).await?;
    if !caller.is_editor() {
        check_own_byline(db, caller, &content.author_ids).await?;
    }
    let id = current.id;
    let txn = db.begin().await?;
    let mut q = article::Entity::update_many()
        .col_expr(
            article::Column::Headline,
            Expr::value(content.headline.clone()),
        )
        .col_expr(article::Column::Dek, Expr::value(content.dek.clone()))
        .col_expr(article::Column::Body, Expr::value(content.body.clone()))
        .col_expr(article::Column::WordCount, Expr::value(content.word_count))
        .col_expr(article::Column::SectionId, Expr::value(content.section_id))
        .col_expr(
            article::Column::SourceName,
            Expr::value(content.source.as_ref().map(|s| s.name.clone())),
        )
        .col_expr(
            article::Column::SourceUrl,
            Expr::value(content.source.as_ref().and_then(|s| s.url.clone())),
        )
        .col_expr(
            article::Column::FeaturedImage,
            Expr::value(content.featured_image.clone()),
        )
        .col_expr(article::Column::UpdatedAt, Expr::value(now()))
        .col_expr(
            article::Column::Version,
            Expr::col(article::Column::Version).add(1),
        );
    if let Some(s) = &new_slug {
        q = q.col_expr(article::Column::Slug, Expr::value(s.clone()));
    }
    let done = q
        .filter(article::Column::Id.eq(id))
        .filter(article::Column::Version.eq(expected))
        .exec(&txn)
        .await
        .map_err(|e| AppError::from_write(e, "the slug"))?;
    if done.rows_affected == 0 {
        txn.rollback().await.ok();
        return Err(stale(db, id, expected).await);
    }
    write_relations(&txn, id, &content).await?;
    let a = load(&txn, id).await?;
    discovery::saved(&txn, Some(current), &a, true).await?;
    revisions::record(&txn, &a, action, caller.sub()).await?;
    txn.commit().await?;
    Ok(a)
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
    let current = load(db, id).await?;
    match step {
        Transition::Submit => access::check_can_edit(db, caller, &current).await?,
        Transition::PublishDue => {
            return Err(AppError::Internal(anyhow::anyhow!(
                "the scheduler's step is not for callers"
            )));
        }
        _ => caller.require(Role::Editor, &format!("{} an article", step.name()))?,
    }
    let t = now();
    let step = match (step, at) {
        (Transition::Publish, Some(at)) if at > t => Transition::Schedule,
        (s, _) => s,
    };
    let to = step.apply(status_of(&current))?;
    let txn = db.begin().await?;
    let mut q = article::Entity::update_many()
        .col_expr(article::Column::Status, Expr::value(to.as_str()))
        .col_expr(article::Column::UpdatedAt, Expr::value(t))
        .col_expr(
            article::Column::Version,
            Expr::col(article::Column::Version).add(1),
        );
    q = match step {
        Transition::Publish => q
            .col_expr(
                article::Column::PublishedAt,
                Expr::value(current.published_at.unwrap_or(t)),
            )
            .col_expr(
                article::Column::ScheduledAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            ),
        Transition::Schedule => q.col_expr(
            article::Column::ScheduledAt,
            Expr::value(at.map(|a| a.max(t))),
        ),
        Transition::Unpublish => q.col_expr(
            article::Column::ScheduledAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        ),
        _ => q,
    };
    let done = q
        .filter(article::Column::Id.eq(id))
        .filter(article::Column::Version.eq(expected))
        .exec(&txn)
        .await?;
    if done.rows_affected == 0 {
        txn.rollback().await.ok();
        return Err(stale(db, id, expected).await);
    }
    let a = load(&txn, id).await?;
    discovery::saved(&txn, Some(&current), &a, false).await?;
    revisions::record(&txn, &a, step.name(), caller.sub()).await?;
    txn.commit().await?;
    Ok(a)
}

/// Deletes an article (admins only); the change log keeps a tombstone.
pub async fn delete(
    db: &DatabaseConnection,
    caller: &Caller,
    id: i32,
    expected: i32,
) -> Result<()> {
    caller.require(Role::Admin, "deleting an article")?;
    let current = load(db, id).await?;
    let txn = db.begin().await?;
    // The version check is a write, so it takes SQLite's write lock before anything is read.
    let claimed = article::Entity::update_many()
        .col_expr(
            article::Column::Version,
            Expr::col(article::Column::Version).add(1),
        )
        .filter(article::Column::Id.eq(id))
        .filter(article::Column::Version.eq(expected))
        .exec(&txn)
        .await?;
    if claimed.rows_affected == 0 {
        txn.rollback().await.ok();
        return Err(stale(db, id, expected).await);
    }
    discovery::deleted(&txn, &current).await?;
    article::Entity::delete_by_id(id).exec(&txn).await?;
    revisions::log_change(&txn, "article", id, "delete", caller.sub()).await?;
    // It may have been published: its page and every listing it could be on.
    super::changes::touch(&txn, [format!("a{id}"), super::changes::LISTS.to_owned()]).await?;
    txn.commit().await?;
    Ok(())
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
    let current = load_for_edit(db, caller, id).await?;
    let Snapshot {
        headline,
        dek,
        body,
        section,
        authors,
        tags,
        source,
        featured_image,
        ..
    } = revisions::get(db, id, revision).await?;
    let merged = NewArticle {
        headline,
        slug: None,
        dek,
        body,
        section,
        authors,
        tags,
        source,
        featured_image,
    };
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

/// Publishes every scheduled article that is due, each exactly once even when several
/// processes run this at the same moment: the claim is the conditional update itself.
pub async fn publish_due(db: &DatabaseConnection) -> Result<usize> {
    let t = now();
    let due: Vec<(i32, i32)> = article::Entity::find()
        .select_only()
        .columns([article::Column::Id, article::Column::Version])
        .filter(article::Column::Status.eq(ArticleStatus::Scheduled.as_str()))
        .filter(article::Column::ScheduledAt.lte(t))
        .order_by_asc(article::Column::ScheduledAt)
        .limit(100)
        .into_tuple()
        .all(db)
        .await?;
    let mut published = 0;
    for (id, version) in due {
        let txn = db.begin().await?;
        let done = article::Entity::update_many()
            .col_expr(
                article::Column::Status,
                Expr::value(ArticleStatus::Published.as_str()),
            )
            .col_expr(
                article::Column::PublishedAt,
                SimpleExpr::from(Func::coalesce([
                    Expr::col(article::Column::PublishedAt).into(),
                    Expr::col(article::Column::ScheduledAt).into(),
                ])),
            )
            .col_expr(article::Column::UpdatedAt, Expr::value(t))
            .col_expr(
                article::Column::Version,
                Expr::col(article::Column::Version).add(1),
            )
            .filter(article::Column::Id.eq(id))
            .filter(article::Column::Version.eq(version))
            .filter(article::Column::Status.eq(ArticleStatus::Scheduled.as_str()))
            .exec(&txn)
            .await?;
        if done.rows_affected == 0 {
            // Another process published it, or an editor changed it meanwhile.
            txn.rollback().await.ok();
            continue;
        }
        let a = load(&txn, id).await?;
        discovery::saved(&txn, None, &a, false).await?;
        revisions::record(&txn, &a, Transition::PublishDue.name(), None).await?;
        txn.commit().await?;
        published += 1;
    }
    Ok(published)
}
