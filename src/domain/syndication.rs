//! What the public formats list: a feed's newest public articles with everything an item
//! shows, and the time the feed last changed. Every format reads as an anonymous reader
//! does, whatever credentials came with the request: the visibility is
//! [`Caller::Anonymous`]'s, through the same listing as every other read
//! ([`super::articles::pages`]), so a draft, a scheduled story before its time or an
//! unpublished one is in no feed.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Func, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection};

use super::access::Caller;
use super::articles::{self, PageRequest};
use super::directory::Directory;
use super::filter::{ArticleFilter, AuthorRef, TagRef};
use super::invalidation::Key;
use super::rendered::RenderedBodies;
use super::site::{FeedScope, Site};
use crate::entities::{article, author, change_log, section, tag};
use crate::error::{AppError, Result};

/// Change-log actions by which an article stops being public.
pub const DEPARTURES: &[&str] = &["unpublish", "archive", "delete"];

/// One article of a feed, with what its item shows.
#[derive(Clone, Debug)]
pub struct Item {
    /// The row, as a listing reads it: without its body (see `content_html`).
    pub article: article::Model,
    /// The body as sanitised HTML ([`super::blocks::render_html`]).
    pub content_html: Arc<str>,
    pub section: section::Model,
    pub authors: Vec<author::Model>,
    pub tags: Vec<tag::Model>,
    /// Its page on the front end.
    pub url: String,
}

impl Item {
    /// When it became public (its publication time).
    pub fn public_at(&self) -> DateTime<Utc> {
        self.article.published_at.unwrap_or(self.article.created_at)
    }

    /// When it last changed (never before it became public).
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.article.updated_at.max(self.public_at())
    }
}

/// A feed: what it is of, its items (newest first) and when it last changed.
#[derive(Clone, Debug)]
pub struct Feed {
    pub scope: FeedScope,
    /// `News name` for the site, `News name: World` for a section, and so on.
    pub title: String,
    /// A line on what it holds.
    pub description: String,
    /// The page of what it is of on the front end (the home page for the site).
    pub link: String,
    pub items: Vec<Item>,
    /// Never goes backwards: the latest of its items' changes and of any story's departure
    /// from public view, so a story leaving the feed moves it forward too.
    pub updated: DateTime<Utc>,
    /// The surrogate keys of everything shown, and the listings key.
    pub keys: BTreeSet<Key>,
}

/// The `limit` newest public articles of `scope`, or `NOT_FOUND` for
/// a section, author or tag that does not exist, or when no public URL is set.
pub async fn feed(
    db: &DatabaseConnection,
    directory: &Directory,
    bodies: &RenderedBodies,
    site: &Site,
    scope: FeedScope,
    limit: u64,
    what: &str,
) -> Result<Feed> {
    let base = site.require_public(what)?.to_owned();
    let mut keys: BTreeSet<Key> = [Key::Lists].into();
    let mut filter = ArticleFilter {
        visibility: Caller::Anonymous.visibility(),
        ..ArticleFilter::default()
    };
    let (title, description, link) = match &scope {
        FeedScope::Site => (
            site.name.clone(),
            format!("The latest from {}", site.name),
            format!("{base}/"),
        ),
        FeedScope::Section(path) => {
            let s = directory
                .section_by_path(db, path)
                .await?
                .ok_or_else(|| AppError::not_found(format!("no section at path `{path}`")))?;
            keys.insert(Key::Section(s.id));
            filter.section = Some(s.path.clone());
            let link = site.section_url(&s.path).unwrap_or_else(|| base.clone());
            (
                format!("{}: {}", site.name, s.name),
                s.description
                    .clone()
                    .unwrap_or_else(|| format!("The latest in {} from {}", s.name, site.name)),
                link,
            )
        }
        FeedScope::Author(slug) => {
            let a = directory
                .author_by_slug(db, slug)
                .await?
                .ok_or_else(|| AppError::not_found(format!("no author `{slug}`")))?;
            keys.insert(Key::Author(a.id));
            filter.author = Some(AuthorRef::Id(a.id));
            let link = site.author_url(&a.slug).unwrap_or_else(|| base.clone());
            (
                format!("{}: {}", site.name, a.name),
                format!("The latest by {} in {}", a.name, site.name),
                link,
            )
        }
        FeedScope::Tag(slug) => {
            let t = directory
                .tag_by_slug(db, slug)
                .await?
                .ok_or_else(|| AppError::not_found(format!("no tag `{slug}`")))?;
            keys.insert(Key::Tag(t.id));
            filter.tags = vec![TagRef::Id(t.id)];
            let link = site.tag_url(&t.slug).unwrap_or_else(|| base.clone());
            (
                format!("{}: {}", site.name, t.name),
                format!("The latest on {} from {}", t.name, site.name),
                link,
            )
        }
    };
    let req = PageRequest {
        filter,
        first: limit,
        after: None,
    };
    let page = articles::pages(db, directory, std::slice::from_ref(&req))
        .await?
        .into_iter()
        .next()
        .map(|p| p.items)
        .unwrap_or_default();
    let items = items(db, directory, bodies, site, page, &mut keys).await?;
    let departed = last_departure(db).await?;
    let updated = items
        .iter()
        .map(Item::updated_at)
        .chain(departed)
        .max()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    Ok(Feed {
        scope,
        title,
        description,
        link,
        items,
        updated,
        keys,
    })
}

/// The articles with their bodies, sections, bylines, tags and URLs (three statements
/// whatever their number), noting each one's keys.
pub async fn items(
    db: &DatabaseConnection,
    directory: &Directory,
    bodies: &RenderedBodies,
    site: &Site,
    articles: Vec<article::Model>,
    keys: &mut BTreeSet<Key>,
) -> Result<Vec<Item>> {
    let ids: Vec<i32> = articles.iter().map(|a| a.id).collect();
    let mut html = bodies.html(db, &articles).await?;
    let mut section_ids: Vec<i32> = articles.iter().map(|a| a.section_id).collect();
    section_ids.sort_unstable();
    section_ids.dedup();
    let sections = directory.sections_by_ids(db, &section_ids).await?;
    let mut relations = directory.relations(db, &ids).await?;
    let mut out = Vec::with_capacity(articles.len());
    for a in articles {
        let Some(section) = sections.get(&a.section_id).cloned() else {
            tracing::warn!(
                article = a.id,
                "left an article without a section out of a feed"
            );
            continue;
        };
        // The row came without its body (a listing's); `content_html` is what an item shows.
        let content_html = html.remove(&a.id).unwrap_or_else(|| Arc::from(""));
        let r = relations.remove(&a.id).unwrap_or_default();
        let Some(url) = site.article_url(&a, &section.path) else {
            continue;
        };
        keys.insert(Key::Article(a.id));
        keys.insert(Key::Section(section.id));
        keys.extend(r.authors.iter().map(|x| Key::Author(x.id)));
        keys.extend(r.tags.iter().map(|x| Key::Tag(x.id)));
        out.push(Item {
            article: a,
            content_html,
            section,
            authors: r.authors,
            tags: r.tags,
            url,
        });
    }
    Ok(out)
}

/// When a story last left public view (unpublished, archived or deleted), if ever.
pub async fn last_departure(db: &impl ConnectionTrait) -> Result<Option<DateTime<Utc>>> {
    let mut q = Query::select();
    q.expr_as(
        Func::max(Expr::col(change_log::Column::At)),
        sea_orm::sea_query::Alias::new("at"),
    )
    .from(change_log::Entity)
    .and_where(Expr::col(change_log::Column::Entity).eq("article"))
    .and_where(Expr::col(change_log::Column::Action).is_in(DEPARTURES.iter().copied()));
    let stmt = db.get_database_backend().build(&q);
    let Some(row) = db.query_one(stmt).await? else {
        return Ok(None);
    };
    Ok(row.try_get::<Option<DateTime<Utc>>>("", "at")?)
}
