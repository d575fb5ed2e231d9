//! The bulk import: sections, authors, tags, articles and comments from one JSON file whose
//! records refer to each other by slug (comments by key), so a file can come from any system.
//!
//! Re-importing updates records by slug (comments by article and key) and never duplicates.
//! Articles and comments are written in batches, each in one transaction with its bylines,
//! tags, revisions and change-log entries: a bad record stops the import with an error that
//! names the record and field, and rolls back its batch (earlier batches stay imported, and
//! running the fixed file again completes the rest).

use super::invalidation::Key;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, SubsecRound as _, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait as _, ConnectionTrait, DatabaseConnection, EntityTrait as _, QueryFilter as _,
    QuerySelect as _, TransactionTrait as _,
};
use serde::{Deserialize, Serialize};

use super::blocks::{Block, Image};
use super::content::{self, ArticleContent, Rights, Source, Valid};
use super::revisions::Snapshot;
use super::search::{self, SearchDoc};
use super::{ArticleStatus, CommentStatus, now, slug};
use crate::entities::change_log::EntityKind;
use crate::entities::{
    article, article_author, article_revision, article_tag, author, change_log, comment, section,
    tag,
};
use crate::error::{AppError, Result};

/// A whole import file. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportFile {
    #[serde(default)]
    pub sections: Vec<SectionIn>,
    #[serde(default)]
    pub authors: Vec<AuthorIn>,
    #[serde(default)]
    pub tags: Vec<TagIn>,
    #[serde(default)]
    pub articles: Vec<ArticleIn>,
    #[serde(default)]
    pub comments: Vec<CommentIn>,
}

/// A section; `parent` is the parent's slug (or full path), listed earlier or already stored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SectionIn {
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// An author.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorIn {
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub bio: Option<String>,
    #[serde(default)]
    pub avatar_url: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
}

/// A tag; the slug is derived from the name when absent.
#[derive(Debug, Deserialize)]
pub struct TagIn {
    #[serde(default)]
    pub slug: Option<String>,
    pub name: String,
}

/// An article. `section` is a full path; `authors` are slugs; `tags` are names.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArticleIn {
    pub slug: String,
    pub headline: String,
    #[serde(default)]
    pub dek: Option<String>,
    pub section: String,
    pub authors: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub status: ArticleStatus,
    #[serde(default)]
    pub published_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub scheduled_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub source: Option<Source>,
    #[serde(default)]
    pub featured_image: Option<Image>,
    pub body: Vec<Block>,
    #[serde(default)]
    pub embargo_until: Option<DateTime<Utc>>,
    #[serde(default)]
    pub rights: Option<Rights>,
}

/// A comment; `parent` is an earlier comment's key on the same article.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentIn {
    pub key: String,
    pub article: String,
    #[serde(default)]
    pub parent: Option<String>,
    pub author_name: String,
    pub body: String,
    #[serde(default = "approved")]
    pub status: CommentStatus,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
}

fn approved() -> CommentStatus {
    CommentStatus::Approved
}

/// How many records of each kind were imported (created or updated).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub sections: usize,
    pub authors: usize,
    pub tags: usize,
    pub articles: usize,
    pub comments: usize,
}

/// Which records the import is working through, for progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Sections,
    Authors,
    Tags,
    Articles,
    Comments,
}

impl Stage {
    /// The plural noun shown to people.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sections => "sections",
            Self::Authors => "authors",
            Self::Tags => "tags",
            Self::Articles => "articles",
            Self::Comments => "comments",
        }
    }
}

/// Reports `(stage, done, total)` as the import advances.
pub type Progress<'a> = &'a (dyn Fn(Stage, usize, usize) + Send + Sync);

/// Parses an import file. A malformed file is refused before anything is written, with the
/// path of the offending field (`articles[12].body[3].paragraph.html`).
pub fn parse(bytes: &[u8]) -> Result<ImportFile> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        AppError::bad_input(format!("{path}: {}", e.into_inner()))
    })
}

fn record_err(kind: &str, i: usize, slug: &str, msg: impl std::fmt::Display) -> AppError {
    AppError::bad_input(format!("{kind}[{i}] ({slug:?}): {msg}"))
}

fn trimmed(text: Option<String>) -> Option<String> {
    text.map(|t| clean_text(&t)).filter(|t| !t.is_empty())
}

/// Trimmed, without control characters (PostgreSQL refuses NUL in text).
fn clean_text(t: &str) -> String {
    super::html::strip_controls(t.trim()).into_owned()
}

fn secs(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// Imports `file` into `db`, `batch` articles (and 4×`batch` comments) per transaction.
pub async fn import(
    db: &DatabaseConnection,
    file: ImportFile,
    batch: usize,
    progress: Progress<'_>,
) -> Result<ImportSummary> {
    let done = import_stages(db, file, batch, progress).await;
    // An import touches too much to name: every cached response goes, in every process,
    // even after a failure (the stages before it committed).
    let touched = super::invalidation::touch(db, [Key::All]).await;
    let summary = done?;
    touched?;
    Ok(summary)
}

async fn import_stages(
    db: &DatabaseConnection,
    file: ImportFile,
    batch: usize,
    progress: Progress<'_>,
) -> Result<ImportSummary> {
    let batch = batch.clamp(1, 2000);
    let mut summary = ImportSummary {
        sections: import_sections(db, &file.sections, progress).await?,
        authors: import_authors(db, &file.authors, progress).await?,
        tags: import_tags(db, &file.tags, progress).await?,
        ..ImportSummary::default()
    };

    let total = file.articles.len();
    let mut article_ids: HashMap<String, i32> = HashMap::with_capacity(total);
    let sections: HashMap<String, i32> = section::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.path, s.id))
        .collect();
    let authors: HashMap<String, i32> = author::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.slug, a.id))
        .collect();
    let refs = Refs {
        sections: &sections,
        authors: &authors,
    };
    for (n, chunk) in file.articles.chunks(batch).enumerate() {
        let offset = n * batch;
        let prepared = chunk
            .iter()
            .enumerate()
            .map(|(i, a)| prepare_article(offset + i, a, &refs))
            .collect::<Result<Vec<_>>>()?;
        let txn = db.begin().await?;
        write_articles(&txn, &prepared, &mut article_ids).await?;
        txn.commit().await?;
        summary.articles += chunk.len();
        progress(Stage::Articles, summary.articles, total);
    }

    summary.comments =
        import_comments(db, &file.comments, &mut article_ids, batch * 4, progress).await?;
    // Scoring the archive once beats scoring it article by article while it is loaded.
    drop(file);
    super::related::rebuild(db).await?;
    // Fresh statistics, or the planner guesses: on PostgreSQL a related list read walked
    // every published article (70 ms) until autovacuum got round to the new tables.
    let analyze = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => "ANALYZE",
        _ => "PRAGMA analysis_limit = 1000; ANALYZE",
    };
    db.execute_unprepared(analyze).await?;
    Ok(summary)
}

async fn import_sections(
    db: &DatabaseConnection,
    input: &[SectionIn],
    progress: Progress<'_>,
) -> Result<usize> {
    if input.is_empty() {
        return Ok(0);
    }
    let txn = db.begin().await?;
    let existing = section::Entity::find().all(&txn).await?;
    let mut ids: HashMap<String, i32> = existing.iter().map(|s| (s.path.clone(), s.id)).collect();
    let mut stored_paths_by_slug: HashMap<&str, Vec<&str>> = HashMap::new();
    for s in &existing {
        stored_paths_by_slug
            .entry(&s.slug)
            .or_default()
            .push(&s.path);
    }
    let mut file_path_by_slug: HashMap<&str, String> = HashMap::new();
    let at = now();
    for (i, s) in input.iter().enumerate() {
        let err = |msg: &str| record_err("sections", i, &s.slug, msg);
        if !slug::is_valid(&s.slug) {
            return Err(err("slug must be lowercase letters, digits and hyphens"));
        }
        let name = &clean_text(&s.name);
        if name.is_empty() {
            return Err(err("name is empty"));
        }
        let parent_path = match s.parent.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            None => None,
            Some(p) if p.contains('/') => Some(p.to_owned()),
            Some(p) => Some(match file_path_by_slug.get(p) {
                Some(path) => path.clone(),
                None => match stored_paths_by_slug.get(p).map(Vec::as_slice) {
                    Some([only]) => (*only).to_owned(),
                    Some([_, _, ..]) => {
                        return Err(err("parent slug is ambiguous; give the parent's full path"));
                    }
                    _ => return Err(err("parent is not a section listed earlier or stored")),
                },
            }),
        };
        let parent_id = match &parent_path {
            None => None,
            Some(p) => Some(
                *ids.get(p)
                    .ok_or_else(|| err("parent is not a known section"))?,
            ),
        };
        let path = match &parent_path {
            Some(p) => format!("{p}/{}", s.slug),
            None => s.slug.clone(),
        };
        section::Entity::insert(section::ActiveModel {
            id: NotSet,
            slug: Set(s.slug.clone()),
            name: Set(name.to_owned()),
            path: Set(path.clone()),
            parent_id: Set(parent_id),
            description: Set(trimmed(s.description.clone())),
            position: Set(i32::try_from(i).unwrap_or(i32::MAX)),
            created_at: Set(at),
            updated_at: Set(at),
        })
        .on_conflict(
            OnConflict::column(section::Column::Path)
                .update_columns([
                    section::Column::Name,
                    section::Column::Description,
                    section::Column::Position,
                    section::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        let id = section::Entity::find()
            .filter(section::Column::Path.eq(&path))
            .one(&txn)
            .await?
            .map(|s| s.id)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("section {path} vanished")))?;
        ids.insert(path.clone(), id);
        file_path_by_slug.insert(&s.slug, path);
        progress(Stage::Sections, i + 1, input.len());
    }
    txn.commit().await?;
    Ok(input.len())
}

async fn import_authors(
    db: &DatabaseConnection,
    input: &[AuthorIn],
    progress: Progress<'_>,
) -> Result<usize> {
    let at = now();
    let mut done = 0;
    for (n, chunk) in input.chunks(500).enumerate() {
        let mut models = Vec::with_capacity(chunk.len());
        for (j, a) in chunk.iter().enumerate() {
            let i = n * 500 + j;
            let err = |msg: &str| record_err("authors", i, &a.slug, msg);
            if !slug::is_valid(&a.slug) {
                return Err(err("slug must be lowercase letters, digits and hyphens"));
            }
            if a.name.trim().is_empty() {
                return Err(err("name is empty"));
            }
            if trimmed(a.avatar_url.clone()).is_some_and(|url| !super::html::is_web_url(&url)) {
                return Err(err("avatarUrl must be an absolute http(s) URL"));
            }
            models.push(author::ActiveModel {
                id: NotSet,
                slug: Set(a.slug.clone()),
                name: Set(clean_text(&a.name)),
                title: Set(trimmed(a.title.clone())),
                bio: Set(trimmed(a.bio.clone())),
                avatar_url: Set(trimmed(a.avatar_url.clone())),
                subject: Set(trimmed(a.subject.clone())),
                created_at: Set(at),
                updated_at: Set(at),
            });
        }
        let txn = db.begin().await?;
        author::Entity::insert_many(models)
            .on_conflict(
                OnConflict::column(author::Column::Slug)
                    .update_columns([
                        author::Column::Name,
                        author::Column::Title,
                        author::Column::Bio,
                        author::Column::AvatarUrl,
                        author::Column::Subject,
                        author::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        done += chunk.len();
        progress(Stage::Authors, done, input.len());
    }
    Ok(done)
}

async fn import_tags(
    db: &DatabaseConnection,
    input: &[TagIn],
    progress: Progress<'_>,
) -> Result<usize> {
    if input.is_empty() {
        return Ok(0);
    }
    let mut tags = Vec::with_capacity(input.len());
    for (i, t) in input.iter().enumerate() {
        let name = t.name.trim();
        let slug = t.slug.clone().unwrap_or_else(|| slug::slugify(name));
        if name.is_empty() || !slug::is_valid(&slug) {
            return Err(record_err("tags", i, name, "needs a name and a valid slug"));
        }
        tags.push((slug, name.to_owned()));
    }
    let txn = db.begin().await?;
    upsert_tags(&txn, &tags, true).await?;
    txn.commit().await?;
    progress(Stage::Tags, input.len(), input.len());
    Ok(input.len())
}

/// Creates missing tags (and renames existing ones when `rename`), returning slug → id.
async fn upsert_tags(
    txn: &impl ConnectionTrait,
    tags: &[(String, String)],
    rename: bool,
) -> Result<HashMap<String, i32>> {
    let mut out = HashMap::with_capacity(tags.len());
    let at = now();
    for chunk in tags.chunks(1000) {
        let models = chunk.iter().map(|(slug, name)| tag::ActiveModel {
            id: NotSet,
            slug: Set(slug.clone()),
            name: Set(name.clone()),
            created_at: Set(at),
        });
        let mut conflict = OnConflict::column(tag::Column::Slug);
        if rename {
            conflict.update_column(tag::Column::Name);
        } else {
            conflict.do_nothing();
        }
        tag::Entity::insert_many(models)
            .on_conflict(conflict.to_owned())
            .exec_without_returning(txn)
            .await?;
        let rows: Vec<(i32, String)> = tag::Entity::find()
            .select_only()
            .columns([tag::Column::Id, tag::Column::Slug])
            .filter(tag::Column::Slug.is_in(chunk.iter().map(|(s, _)| s.as_str())))
            .into_tuple()
            .all(txn)
            .await?;
        out.extend(rows.into_iter().map(|(id, slug)| (slug, id)));
    }
    Ok(out)
}

struct Refs<'a> {
    sections: &'a HashMap<String, i32>,
    authors: &'a HashMap<String, i32>,
}

/// An article validated, cleaned and resolved, ready to write.
struct Prepared<'a> {
    input: &'a ArticleIn,
    model: article::ActiveModel,
    valid: Valid,
}

/// Applies the same rules as every other way in ([`content`]), then the import's own: a
/// valid slug, a time for a scheduled article.
fn prepare_article<'a>(i: usize, a: &'a ArticleIn, refs: &Refs<'_>) -> Result<Prepared<'a>> {
    let err = |msg: &str| record_err("articles", i, &a.slug, msg);
    if !slug::is_valid(&a.slug) {
        return Err(err(
            "slug must be lowercase letters, digits and hyphens, at most 120",
        ));
    }
    if a.status == ArticleStatus::Scheduled && a.scheduled_at.is_none() {
        return Err(err("scheduledAt is required for a SCHEDULED article"));
    }
    let input = ArticleContent {
        headline: a.headline.clone(),
        dek: a.dek.clone(),
        body: a.body.clone(),
        section: a.section.clone(),
        authors: a.authors.clone(),
        tags: a.tags.clone(),
        source: a.source.clone(),
        featured_image: a.featured_image.clone(),
        embargo_until: a.embargo_until,
        rights: a.rights.clone(),
    };
    let valid = content::check(input)
        .and_then(|c| {
            let section = refs.sections.get(&c.section).copied();
            c.resolve(section, |s| refs.authors.get(s).copied())
        })
        .map_err(|e| err(&e.to_string()))?;
    let c = &valid.content;
    let at = now();
    let created = a.created_at.map_or(at, secs);
    let updated = a.updated_at.map_or(created, secs);
    let published = match (a.status, a.published_at) {
        (ArticleStatus::Published, None) => Some(updated),
        (_, p) => p.map(secs),
    };
    let model = article::ActiveModel {
        id: NotSet,
        slug: Set(a.slug.clone()),
        headline: Set(c.headline.clone()),
        dek: Set(c.dek.clone()),
        body: Set(c.body_json()?),
        word_count: Set(c.word_count),
        section_id: Set(valid.section_id),
        status: Set(a.status),
        source_name: Set(c.source.as_ref().map(|s| s.name.clone())),
        source_url: Set(c.source.as_ref().and_then(|s| s.url.clone())),
        featured_image: Set(c.featured_image_json()?),
        created_at: Set(created),
        updated_at: Set(updated),
        published_at: Set(published),
        scheduled_at: Set(a.scheduled_at.map(secs)),
        embargo_until: Set(c.embargo_until.map(secs)),
        rights: Set(c.rights.texts_json()),
        not_for_syndication: Set(c.rights.not_for_syndication),
        version: Set(1),
    };
    Ok(Prepared {
        input: a,
        model,
        valid,
    })
}

async fn write_articles(
    txn: &impl ConnectionTrait,
    batch: &[Prepared<'_>],
    article_ids: &mut HashMap<String, i32>,
) -> Result<()> {
    use article::Column as C;
    let mut all_tags: Vec<(String, String)> = Vec::new();
    let mut seen = HashSet::new();
    for p in batch {
        for (slug, name) in &p.valid.content.tags {
            if seen.insert(slug.as_str()) {
                all_tags.push((slug.clone(), name.clone()));
            }
        }
    }
    // A write first, so SQLite takes the write lock before any read in this transaction.
    let tag_ids = upsert_tags(txn, &all_tags, false).await?;

    article::Entity::insert_many(batch.iter().map(|p| p.model.clone()))
        .on_conflict(
            OnConflict::column(C::Slug)
                .update_columns([
                    C::Headline,
                    C::Dek,
                    C::Body,
                    C::WordCount,
                    C::SectionId,
                    C::Status,
                    C::SourceName,
                    C::SourceUrl,
                    C::FeaturedImage,
                    C::CreatedAt,
                    C::UpdatedAt,
                    C::PublishedAt,
                    C::ScheduledAt,
                    C::EmbargoUntil,
                    C::Rights,
                    C::NotForSyndication,
                ])
                .value(C::Version, Expr::col((article::Entity, C::Version)).add(1))
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    let rows: Vec<(i32, String, i32)> = article::Entity::find()
        .select_only()
        .columns([C::Id, C::Slug, C::Version])
        .filter(C::Slug.is_in(batch.iter().map(|p| p.input.slug.as_str())))
        .into_tuple()
        .all(txn)
        .await?;
    let versions: HashMap<String, (i32, i32)> = rows
        .into_iter()
        .map(|(id, slug, v)| (slug, (id, v)))
        .collect();
    let ids: Vec<i32> = versions.values().map(|(id, _)| *id).collect();

    article_author::Entity::delete_many()
        .filter(article_author::Column::ArticleId.is_in(ids.iter().copied()))
        .exec(txn)
        .await?;
    article_tag::Entity::delete_many()
        .filter(article_tag::Column::ArticleId.is_in(ids.iter().copied()))
        .exec(txn)
        .await?;

    let at = now();
    let mut bylines = Vec::new();
    let mut taggings = Vec::new();
    let mut revisions = Vec::with_capacity(batch.len());
    let mut changes = Vec::with_capacity(batch.len());
    let mut docs = Vec::with_capacity(batch.len());
    for p in batch {
        let (id, version) = *versions.get(&p.input.slug).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "article {} vanished mid-import",
                p.input.slug
            ))
        })?;
        article_ids.insert(p.input.slug.clone(), id);
        let c = &p.valid.content;
        docs.push(SearchDoc::new(id, &c.headline, c.dek.as_deref(), &c.body));
        for (pos, author_id) in p.valid.author_ids.iter().enumerate() {
            bylines.push(article_author::ActiveModel {
                article_id: Set(id),
                author_id: Set(*author_id),
                position: Set(pos as i32),
                published_at: Set(None),
            });
        }
        let mut tag_names = Vec::with_capacity(c.tags.len());
        for (pos, (slug, name)) in c.tags.iter().enumerate() {
            let tag_id = *tag_ids.get(slug).ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("tag {slug} vanished mid-import"))
            })?;
            taggings.push(article_tag::ActiveModel {
                article_id: Set(id),
                tag_id: Set(tag_id),
                position: Set(pos as i32),
            });
            tag_names.push(name.clone());
        }
        let snapshot = Snapshot {
            slug: p.input.slug.clone(),
            headline: c.headline.clone(),
            dek: c.dek.clone(),
            section: c.section.clone(),
            authors: c.authors.clone(),
            tags: tag_names,
            status: p.input.status,
            published_at: p.model.published_at.clone().unwrap(),
            scheduled_at: p.model.scheduled_at.clone().unwrap(),
            source: c.source.clone(),
            featured_image: c.featured_image.clone(),
            body: c.body.clone(),
            embargo_until: p.model.embargo_until.clone().unwrap(),
            rights: c.rights.clone(),
        };
        revisions.push(article_revision::ActiveModel {
            id: NotSet,
            article_id: Set(id),
            version: Set(version),
            action: Set("import".into()),
            actor: Set(None),
            snapshot: Set(serde_json::to_value(&snapshot).map_err(anyhow::Error::from)?),
            created_at: Set(at),
        });
        changes.push(change_log::ActiveModel {
            seq: NotSet,
            entity: Set(EntityKind::Article),
            entity_id: Set(id),
            action: Set(if version == 1 { "created" } else { "updated" }.into()),
            actor: Set(None),
            at: Set(at),
        });
    }
    for chunk in bylines.chunks(5000) {
        article_author::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    super::discovery::index_bylines(txn, &ids).await?;
    for chunk in taggings.chunks(5000) {
        article_tag::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    article_revision::Entity::insert_many(revisions)
        .exec_without_returning(txn)
        .await?;
    change_log::Entity::insert_many(changes)
        .exec_without_returning(txn)
        .await?;
    search::index(txn, &docs).await?;
    Ok(())
}

async fn import_comments(
    db: &DatabaseConnection,
    input: &[CommentIn],
    article_ids: &mut HashMap<String, i32>,
    batch: usize,
    progress: Progress<'_>,
) -> Result<usize> {
    // (article id, key) → comment id, for resolving parents of later comments.
    let mut known: HashMap<(i32, String), i32> = HashMap::new();
    let mut done = 0;
    for (n, chunk) in input.chunks(batch).enumerate() {
        let offset = n * batch;
        // Articles not in this file may already be stored.
        let missing: Vec<&str> = chunk
            .iter()
            .map(|c| c.article.as_str())
            .filter(|s| !article_ids.contains_key(*s) && slug::is_valid(s))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if !missing.is_empty() {
            let rows: Vec<(i32, String)> = article::Entity::find()
                .select_only()
                .columns([article::Column::Id, article::Column::Slug])
                .filter(article::Column::Slug.is_in(missing))
                .into_tuple()
                .all(db)
                .await?;
            article_ids.extend(rows.into_iter().map(|(id, slug)| (slug, id)));
        }
        let mut pending = Vec::with_capacity(chunk.len());
        for (j, c) in chunk.iter().enumerate() {
            let i = offset + j;
            let err = |msg: &str| record_err("comments", i, &c.key, msg);
            if c.key.trim().is_empty() || c.key.len() > 200 || c.key.chars().any(char::is_control) {
                return Err(err("key must be 1 to 200 characters"));
            }
            let article_id = *article_ids
                .get(&c.article)
                .ok_or_else(|| err(&format!("article: {:?} is not an article", c.article)))?;
            let name = c.author_name.trim();
            if name.is_empty() || name.chars().count() > 200 {
                return Err(err("authorName must be 1 to 200 characters"));
            }
            let body = c.body.trim();
            if body.is_empty() || body.chars().count() > 10_000 {
                return Err(err("body must be 1 to 10000 characters"));
            }
            pending.push((i, c, article_id));
        }
        let txn = db.begin().await?;
        // Parents stored before this run.
        let unknown_parents: Vec<(i32, &str)> = pending
            .iter()
            .filter_map(|(_, c, a)| c.parent.as_deref().map(|p| (*a, p)))
            .filter(|(a, p)| !known.contains_key(&(*a, (*p).to_owned())))
            .collect();
        if !unknown_parents.is_empty() {
            remember_keys(&txn, unknown_parents.iter().map(|(a, _)| *a), &mut known).await?;
        }
        // Write in waves: every comment whose parent is known (or absent) goes in, then
        // their ids make the next wave's parents known.
        let at = now();
        while !pending.is_empty() {
            let (ready, rest): (Vec<_>, Vec<_>) = pending.into_iter().partition(|(_, c, a)| {
                c.parent
                    .as_ref()
                    .is_none_or(|p| known.contains_key(&(*a, p.clone())))
            });
            if ready.is_empty() {
                let (i, c, _) = &rest[0];
                return Err(record_err(
                    "comments",
                    *i,
                    &c.key,
                    format!(
                        "parent: {:?} is not an earlier comment on the same article",
                        c.parent.as_deref().unwrap_or_default()
                    ),
                ));
            }
            let models = ready.iter().map(|(_, c, a)| comment::ActiveModel {
                id: NotSet,
                article_id: Set(*a),
                parent_id: Set(c
                    .parent
                    .as_ref()
                    .and_then(|p| known.get(&(*a, p.clone())).copied())),
                author_name: Set(clean_text(&c.author_name)),
                body: Set(clean_text(&c.body)),
                status: Set(c.status),
                import_key: Set(Some(c.key.clone())),
                created_at: Set(c.created_at.map_or(at, secs)),
                updated_at: Set(at),
            });
            comment::Entity::insert_many(models)
                .on_conflict(
                    OnConflict::columns([comment::Column::ArticleId, comment::Column::ImportKey])
                        .update_columns([
                            comment::Column::ParentId,
                            comment::Column::AuthorName,
                            comment::Column::Body,
                            comment::Column::Status,
                            comment::Column::CreatedAt,
                            comment::Column::UpdatedAt,
                        ])
                        .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
            remember_keys(&txn, ready.iter().map(|(_, _, a)| *a), &mut known).await?;
            pending = rest;
        }
        txn.commit().await?;
        done += chunk.len();
        progress(Stage::Comments, done, input.len());
    }
    Ok(done)
}

/// Adds the keyed comments of these articles to `known`. One index range per article: a
/// filter on keys as well would make the database probe every article-key pair.
async fn remember_keys(
    txn: &impl ConnectionTrait,
    articles: impl Iterator<Item = i32>,
    known: &mut HashMap<(i32, String), i32>,
) -> Result<()> {
    let articles: HashSet<i32> = articles.collect();
    let rows: Vec<(i32, i32, Option<String>)> = comment::Entity::find()
        .select_only()
        .columns([
            comment::Column::Id,
            comment::Column::ArticleId,
            comment::Column::ImportKey,
        ])
        .filter(comment::Column::ArticleId.is_in(articles))
        .filter(comment::Column::ImportKey.is_not_null())
        .into_tuple()
        .all(txn)
        .await?;
    for (id, a, key) in rows {
        if let Some(key) = key {
            known.insert((a, key), id);
        }
    }
    Ok(())
}
