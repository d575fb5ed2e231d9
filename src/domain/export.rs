//! The export: the newsroom written in the import format, so that a full export imported
//! into an empty database gives the same content, field for field, and a newsroom can
//! leave gazette with everything it brought and wrote.
//!
//! Records are written with the importer's own types ([`super::import`]), so the two
//! cannot drift apart. Sections, authors and tags are small and written whole; articles,
//! comments and revisions are read in pages by id and written as they come, so memory
//! stays flat whatever the archive's size. Ids are not written: slugs, paths and comment
//! keys are the identity. This is an administrator's copy: drafts and comments under
//! moderation are included when asked for.

use std::collections::HashMap;
use std::io::Write;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait as _, Condition, DatabaseConnection, EntityTrait as _, PaginatorTrait as _,
    QueryFilter as _, QueryOrder as _, QuerySelect as _,
};
use serde::Serialize;

use super::ArticleStatus;
use super::blocks::{Block, Image};
use super::content::{Rights, Source};
use super::import::{ArticleIn, AuthorIn, CommentIn, OriginIn, SectionIn, TagIn};
use crate::entities::{
    article, article_author, article_old_url, article_origin, article_revision, article_tag,
    author, comment, section, tag,
};
use crate::error::{AppError, Result};

/// What to export besides sections, authors, tags and published articles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Only articles updated at or after this time (and their comments and revisions).
    pub since: Option<DateTime<Utc>>,
    /// Articles in every status, not only published ones.
    pub drafts: bool,
    /// Every stored revision of each exported article (a `revisions` list, which an
    /// import keeps in the file but does not load).
    pub revisions: bool,
    /// The comments of each exported article, in every moderation status.
    pub comments: bool,
}

/// How many records of each kind were written.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ExportSummary {
    pub sections: usize,
    pub authors: usize,
    pub tags: usize,
    pub articles: usize,
    pub comments: usize,
    pub revisions: usize,
}

/// Reports `(kind, done, total)` as the export advances; `total` is 0 when not known.
pub type Progress<'a> = &'a (dyn Fn(&'static str, usize, usize) + Send + Sync);

/// A stored revision as exported.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RevisionOut {
    article: String,
    version: i32,
    action: String,
    actor: Option<String>,
    created_at: DateTime<Utc>,
    snapshot: serde_json::Value,
}

const PAGE: u64 = 500;

fn io(e: std::io::Error) -> AppError {
    AppError::Internal(anyhow::anyhow!("cannot write the export: {e}"))
}

/// Writes one JSON list under `key`, element by element.
struct List<'w> {
    out: &'w mut (dyn Write + Send),
    count: usize,
}

impl<'w> List<'w> {
    fn open(out: &'w mut (dyn Write + Send), key: &str, first: bool) -> Result<Self> {
        let sep = if first { "{" } else { "," };
        write!(out, "{sep}\n\"{key}\": [").map_err(io)?;
        Ok(Self { out, count: 0 })
    }

    fn push(&mut self, item: &impl Serialize) -> Result<()> {
        let sep = if self.count == 0 { "\n" } else { ",\n" };
        self.out.write_all(sep.as_bytes()).map_err(io)?;
        serde_json::to_writer(&mut *self.out, item)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot write the export: {e}")))?;
        self.count += 1;
        Ok(())
    }

    fn close(self) -> Result<usize> {
        self.out.write_all(b"\n]").map_err(io)?;
        Ok(self.count)
    }
}

/// Writes the newsroom to `out` in the import format.
pub async fn export(
    db: &DatabaseConnection,
    options: ExportOptions,
    out: &mut (dyn Write + Send),
    progress: Progress<'_>,
) -> Result<ExportSummary> {
    let mut summary = ExportSummary::default();

    let sections = section::Entity::find()
        .order_by_asc(section::Column::Position)
        .order_by_asc(section::Column::Id)
        .all(db)
        .await?;
    let paths: HashMap<i32, String> = sections.iter().map(|s| (s.id, s.path.clone())).collect();
    let mut list = List::open(out, "sections", true)?;
    for s in &sections {
        list.push(&SectionIn {
            slug: s.slug.clone(),
            name: s.name.clone(),
            parent: s.parent_id.and_then(|p| paths.get(&p).cloned()),
            description: s.description.clone(),
        })?;
    }
    summary.sections = list.close()?;

    let authors = author::Entity::find()
        .order_by_asc(author::Column::Id)
        .all(db)
        .await?;
    let mut list = List::open(out, "authors", false)?;
    for a in &authors {
        list.push(&AuthorIn {
            slug: a.slug.clone(),
            name: a.name.clone(),
            title: a.title.clone(),
            bio: a.bio.clone(),
            avatar_url: a.avatar_url.clone(),
            subject: a.subject.clone(),
        })?;
    }
    summary.authors = list.close()?;
    let author_slugs: HashMap<i32, String> = authors.into_iter().map(|a| (a.id, a.slug)).collect();

    let tags = tag::Entity::find()
        .order_by_asc(tag::Column::Id)
        .all(db)
        .await?;
    let mut list = List::open(out, "tags", false)?;
    for t in &tags {
        list.push(&TagIn {
            slug: Some(t.slug.clone()),
            name: t.name.clone(),
        })?;
    }
    summary.tags = list.close()?;
    let tag_names: HashMap<i32, String> = tags.into_iter().map(|t| (t.id, t.name)).collect();

    let names = Names {
        paths: &paths,
        authors: &author_slugs,
        tags: &tag_names,
    };
    let (written, exported) = export_articles(db, options, out, &names, progress).await?;
    summary.articles = written;
    if options.comments {
        summary.comments = export_comments(db, out, &exported, progress).await?;
    }
    if options.revisions {
        summary.revisions = export_revisions(db, out, &exported, progress).await?;
    }
    out.write_all(b"\n}\n").map_err(io)?;
    out.flush().map_err(io)?;
    Ok(summary)
}

/// Ids to what the file calls them.
struct Names<'a> {
    paths: &'a HashMap<i32, String>,
    authors: &'a HashMap<i32, String>,
    tags: &'a HashMap<i32, String>,
}

fn article_filter(options: ExportOptions) -> Condition {
    let mut c = Condition::all();
    if !options.drafts {
        c = c.add(article::Column::Status.eq(ArticleStatus::Published));
    }
    if let Some(since) = options.since {
        c = c.add(article::Column::UpdatedAt.gte(since));
    }
    c
}

/// Writes the articles; returns how many, and article id → slug of those written.
async fn export_articles(
    db: &DatabaseConnection,
    options: ExportOptions,
    out: &mut (dyn Write + Send),
    names: &Names<'_>,
    progress: Progress<'_>,
) -> Result<(usize, HashMap<i32, String>)> {
    let total = article::Entity::find()
        .filter(article_filter(options))
        .count(db)
        .await? as usize;
    let mut exported = HashMap::with_capacity(total);
    let mut list = List::open(out, "articles", false)?;
    let mut last = 0;
    loop {
        let page = article::Entity::find()
            .filter(article_filter(options))
            .filter(article::Column::Id.gt(last))
            .order_by_asc(article::Column::Id)
            .limit(PAGE)
            .all(db)
            .await?;
        let Some(end) = page.last() else { break };
        last = end.id;
        let ids: Vec<i32> = page.iter().map(|a| a.id).collect();
        let mut bylines: HashMap<i32, Vec<String>> = HashMap::new();
        for b in article_author::Entity::find()
            .filter(article_author::Column::ArticleId.is_in(ids.iter().copied()))
            .order_by_asc(article_author::Column::ArticleId)
            .order_by_asc(article_author::Column::Position)
            .all(db)
            .await?
        {
            let slug = names.authors.get(&b.author_id).cloned().unwrap_or_default();
            bylines.entry(b.article_id).or_default().push(slug);
        }
        let mut tagged: HashMap<i32, Vec<String>> = HashMap::new();
        for t in article_tag::Entity::find()
            .filter(article_tag::Column::ArticleId.is_in(ids.iter().copied()))
            .order_by_asc(article_tag::Column::ArticleId)
            .order_by_asc(article_tag::Column::Position)
            .all(db)
            .await?
        {
            let name = names.tags.get(&t.tag_id).cloned().unwrap_or_default();
            tagged.entry(t.article_id).or_default().push(name);
        }
        let mut origins: HashMap<i32, OriginIn> = article_origin::Entity::find()
            .filter(article_origin::Column::ArticleId.is_in(ids.iter().copied()))
            .all(db)
            .await?
            .into_iter()
            .map(|o| {
                let origin = OriginIn {
                    system: o.system,
                    id: o.original_id,
                    url: o.url,
                    urls: Vec::new(),
                };
                (o.article_id, origin)
            })
            .collect();
        // Every other old URL kept for them (short links, earlier permalinks).
        for u in article_old_url::Entity::find()
            .filter(article_old_url::Column::ArticleId.is_in(ids.iter().copied()))
            .order_by_asc(article_old_url::Column::ArticleId)
            .order_by_asc(article_old_url::Column::Url)
            .all(db)
            .await?
        {
            if let Some(o) = origins.get_mut(&u.article_id)
                && o.url.as_deref() != Some(u.url.as_str())
                && !o.urls.contains(&u.url)
            {
                o.urls.push(u.url);
            }
        }
        for a in page {
            let rights = Some(Rights::of(&a)).filter(|r| !r.is_empty());
            let body: Vec<Block> = serde_json::from_value(a.body).map_err(|e| {
                AppError::Internal(anyhow::anyhow!("article {}: stored body: {e}", a.slug))
            })?;
            let featured_image: Option<Image> = a
                .featured_image
                .map(serde_json::from_value)
                .transpose()
                .map_err(|e| {
                    AppError::Internal(anyhow::anyhow!("article {}: stored image: {e}", a.slug))
                })?;
            list.push(&ArticleIn {
                slug: a.slug.clone(),
                headline: a.headline,
                dek: a.dek,
                section: names.paths.get(&a.section_id).cloned().unwrap_or_default(),
                authors: bylines.remove(&a.id).unwrap_or_default(),
                tags: tagged.remove(&a.id).unwrap_or_default(),
                status: a.status,
                published_at: a.published_at,
                scheduled_at: a.scheduled_at,
                created_at: Some(a.created_at),
                updated_at: Some(a.updated_at),
                source: a.source_name.map(|name| Source {
                    name,
                    url: a.source_url,
                }),
                featured_image,
                body,
                embargo_until: a.embargo_until,
                rights,
                origin: origins.remove(&a.id),
            })?;
            exported.insert(a.id, a.slug);
        }
        progress("articles", list.count, total);
    }
    Ok((list.close()?, exported))
}

/// Writes the comments of the exported articles, parents before replies. A comment that
/// came from an import keeps its key; one written in gazette gets `c<id>`.
async fn export_comments(
    db: &DatabaseConnection,
    out: &mut (dyn Write + Send),
    articles: &HashMap<i32, String>,
    progress: Progress<'_>,
) -> Result<usize> {
    let mut keys: HashMap<i32, String> = HashMap::new();
    let mut list = List::open(out, "comments", false)?;
    let mut last = 0;
    loop {
        let page = comment::Entity::find()
            .filter(comment::Column::Id.gt(last))
            .order_by_asc(comment::Column::Id)
            .limit(PAGE * 4)
            .all(db)
            .await?;
        let Some(end) = page.last() else { break };
        last = end.id;
        for c in page {
            let Some(article) = articles.get(&c.article_id) else {
                continue;
            };
            let key = c.import_key.clone().unwrap_or_else(|| format!("c{}", c.id));
            list.push(&CommentIn {
                key: key.clone(),
                article: article.clone(),
                parent: c.parent_id.and_then(|p| keys.get(&p).cloned()),
                author_name: c.author_name,
                body: c.body,
                status: c.status,
                created_at: Some(c.created_at),
            })?;
            keys.insert(c.id, key);
        }
        progress("comments", list.count, 0);
    }
    list.close()
}

/// Writes every stored revision of the exported articles, oldest first.
async fn export_revisions(
    db: &DatabaseConnection,
    out: &mut (dyn Write + Send),
    articles: &HashMap<i32, String>,
    progress: Progress<'_>,
) -> Result<usize> {
    let mut list = List::open(out, "revisions", false)?;
    let mut last = 0;
    loop {
        let page = article_revision::Entity::find()
            .filter(article_revision::Column::Id.gt(last))
            .order_by_asc(article_revision::Column::Id)
            .limit(PAGE)
            .all(db)
            .await?;
        let Some(end) = page.last() else { break };
        last = end.id;
        for r in page {
            let Some(article) = articles.get(&r.article_id) else {
                continue;
            };
            list.push(&RevisionOut {
                article: article.clone(),
                version: r.version,
                action: r.action,
                actor: r.actor,
                created_at: r.created_at,
                snapshot: r.snapshot,
            })?;
        }
        progress("revisions", list.count, 0);
    }
    list.close()
}
