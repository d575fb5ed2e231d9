//! Revisions: a full snapshot of an article after every saved change, written in the same
//! transaction as the change, plus an entry in the ordered change log.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, QueryOrder as _,
};
use serde::{Deserialize, Serialize};

use super::access::ArticleFacts;
use super::blocks::{Block, Image};
use super::content::{ArticleContent, Rights, Source};
use super::{ArticleStatus, authors, now, sections, tags};
use crate::entities::{article, article_revision};
use crate::error::{AppError, Result};

/// An article as one saved change left it: what every revision stores, the import's too.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub slug: String,
    pub headline: String,
    pub dek: Option<String>,
    pub section: String,
    pub authors: Vec<String>,
    pub tags: Vec<String>,
    pub status: ArticleStatus,
    pub published_at: Option<DateTime<Utc>>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub source: Option<Source>,
    pub featured_image: Option<Image>,
    pub body: Vec<Block>,
    /// Absent from revisions saved before embargoes existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embargo_until: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Rights::is_empty")]
    pub rights: Rights,
}

impl Snapshot {
    /// The content this revision holds, as a write takes it.
    pub fn into_content(self) -> ArticleContent {
        ArticleContent {
            headline: self.headline,
            dek: self.dek,
            body: self.body,
            section: self.section,
            authors: self.authors,
            tags: self.tags,
            source: self.source,
            featured_image: self.featured_image,
            embargo_until: self.embargo_until,
            rights: Some(self.rights),
        }
    }
}

/// Reads the article's current state (inside the writing transaction).
pub async fn snapshot(db: &impl ConnectionTrait, a: &article::Model) -> Result<Snapshot> {
    let internal = |what: &str| AppError::Internal(anyhow::anyhow!("article {}: {what}", a.id));
    let section = sections::by_ids(db, &[a.section_id])
        .await?
        .remove(&a.section_id)
        .ok_or_else(|| internal("no section"))?;
    let authors = authors::bylines(db, &[a.id])
        .await?
        .remove(&a.id)
        .unwrap_or_default();
    let tags = tags::of_articles(db, &[a.id])
        .await?
        .remove(&a.id)
        .unwrap_or_default();
    Ok(Snapshot {
        slug: a.slug.clone(),
        headline: a.headline.clone(),
        dek: a.dek.clone(),
        section: section.path,
        authors: authors.into_iter().map(|x| x.slug).collect(),
        tags: tags.into_iter().map(|t| t.name).collect(),
        status: a.status,
        published_at: a.published_at,
        scheduled_at: a.scheduled_at,
        source: a.source_name.clone().map(|name| Source {
            name,
            url: a.source_url.clone(),
        }),
        featured_image: a
            .featured_image
            .as_ref()
            .map(|j| Image::deserialize(j).map_err(|e| internal(&e.to_string())))
            .transpose()?,
        body: Vec::<Block>::deserialize(&a.body).map_err(|e| internal(&e.to_string()))?,
        embargo_until: a.embargo_until,
        rights: Rights::of(a),
    })
}

/// Stores a revision of `a` (already written; `before` is the row it replaced, if any) and
/// its event in the change stream, in `txn`.
pub async fn record(
    txn: &impl ConnectionTrait,
    a: &article::Model,
    before: Option<&article::Model>,
    action: &str,
    actor: Option<&str>,
) -> Result<()> {
    let snap = snapshot(txn, a).await?;
    let at = now();
    article_revision::Entity::insert(article_revision::ActiveModel {
        id: NotSet,
        article_id: Set(a.id),
        version: Set(a.version),
        action: Set(action.to_owned()),
        actor: Set(actor.map(str::to_owned)),
        snapshot: Set(serde_json::to_value(&snap).map_err(anyhow::Error::from)?),
        created_at: Set(at),
    })
    .exec_without_returning(txn)
    .await?;
    let keys = super::invalidation::article_keys(a.id, a.status, a.published_at.is_some());
    let event = super::stream::Event::article(
        a.id,
        action,
        actor,
        Some(a.version),
        before.map(ArticleFacts::of),
        Some(ArticleFacts::of(a)),
        keys,
    );
    super::stream::append(txn, vec![event]).await
}

/// An article's revisions, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    article_id: i32,
) -> Result<Vec<article_revision::Model>> {
    Ok(article_revision::Entity::find()
        .filter(article_revision::Column::ArticleId.eq(article_id))
        .order_by_desc(article_revision::Column::Version)
        .all(db)
        .await?)
}

/// One revision's snapshot.
pub async fn get(db: &impl ConnectionTrait, article_id: i32, version: i32) -> Result<Snapshot> {
    let rev = article_revision::Entity::find()
        .filter(article_revision::Column::ArticleId.eq(article_id))
        .filter(article_revision::Column::Version.eq(version))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("the article has no revision {version}")))?;
    Snapshot::deserialize(&rev.snapshot)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("revision {}: {e}", rev.id)))
}
