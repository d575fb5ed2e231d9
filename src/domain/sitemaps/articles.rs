//! The sitemaps of articles: a month's pages, oldest first, read in keyset chunks (a page
//! larger than one chunk is a stream of them), and the news sitemap's, newest first.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::Stream;
use sea_orm::sea_query::{Alias, Condition, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Iterable as _};

use super::{
    Entry, Limits, Month, NEWS_WINDOW, News, NewsItem, article_lastmod, news_language, public,
};
use crate::domain::articles::{article_row, no_body};
use crate::domain::batched::inline_limits;
use crate::domain::directory::Directory;
use crate::domain::filter::{ArticleFilter, col, filter_condition};
use crate::domain::invalidation::Key;
use crate::domain::site::Site;
use crate::entities::{article, section};
use crate::error::Result;

/// The SELECT of articles (every column but the body) that `filter` lists, in `order` of
/// publication time then id, after `after` when given, skipping `offset`, at most `limit`.
fn article_select(
    backend: DbBackend,
    filter: &ArticleFilter,
    order: Order,
    after: Option<(DateTime<Utc>, i32)>,
    offset: u64,
    limit: u64,
) -> SelectStatement {
    let mut q = Query::select();
    for c in article::Column::iter() {
        if matches!(c, article::Column::Body) {
            q.expr_as(no_body(backend), Alias::new("body"));
        } else {
            q.column((article::Entity, c));
        }
    }
    q.from(article::Entity).cond_where(filter_condition(filter));
    if let Some((at, id)) = after {
        let time = || col(article::Column::PublishedAt);
        let (later, higher) = match order {
            Order::Desc => (time().lt(at), col(article::Column::Id).lt(id)),
            _ => (time().gt(at), col(article::Column::Id).gt(id)),
        };
        q.cond_where(
            Condition::any()
                .add(later)
                .add(Condition::all().add(time().eq(at)).add(higher)),
        );
    }
    q.order_by(
        (article::Entity, article::Column::PublishedAt),
        order.clone(),
    )
    .order_by((article::Entity, article::Column::Id), order)
    .limit(limit);
    if offset > 0 {
        q.offset(offset);
    }
    q
}

async fn read_articles(
    db: &impl ConnectionTrait,
    q: &SelectStatement,
) -> Result<Vec<article::Model>> {
    let stmt = inline_limits(db.get_database_backend().build(q));
    let mut out = Vec::new();
    for row in db.query_all(stmt).await? {
        if let Some(a) = article_row(&row)? {
            out.push(a);
        }
    }
    Ok(out)
}

/// The sections of `articles`, by id, from the directory.
async fn sections_of(
    db: &DatabaseConnection,
    directory: &Directory,
    articles: &[article::Model],
) -> Result<HashMap<i32, section::Model>> {
    let mut ids: Vec<i32> = articles.iter().map(|a| a.section_id).collect();
    ids.sort_unstable();
    ids.dedup();
    directory.sections_by_ids(db, &ids).await
}

/// The news sitemap's `page` (from 1) at `now`: the stories that became public in the last
/// [`NEWS_WINDOW`], newest first, [`Limits::news`] a page. `None` past the last page; the
/// first page always exists, if empty.
pub async fn news(
    db: &DatabaseConnection,
    directory: &Directory,
    site: &Site,
    page: u32,
    limits: &Limits,
    now: DateTime<Utc>,
) -> Result<Option<News>> {
    site.require_public("the news sitemap")?;
    let mut filter = public();
    filter.published_after = Some(now - NEWS_WINDOW);
    let offset = u64::from(page.max(1) - 1) * limits.news;
    let q = article_select(
        db.get_database_backend(),
        &filter,
        Order::Desc,
        None,
        offset,
        limits.news,
    );
    let articles = read_articles(db, &q).await?;
    if articles.is_empty() && page > 1 {
        return Ok(None);
    }
    let sections = sections_of(db, directory, &articles).await?;
    let mut keys: BTreeSet<Key> = [Key::Lists].into();
    let mut items = Vec::with_capacity(articles.len());
    let mut fresh_until: Option<DateTime<Utc>> = None;
    for a in &articles {
        let (Some(s), Some(published)) = (sections.get(&a.section_id), a.published_at) else {
            continue;
        };
        let Some(loc) = site.article_url(a, &s.path) else {
            continue;
        };
        keys.insert(Key::Article(a.id));
        keys.insert(Key::Section(s.id));
        let leaves = published + NEWS_WINDOW;
        fresh_until = Some(fresh_until.map_or(leaves, |f| f.min(leaves)));
        items.push(NewsItem {
            loc,
            title: a.headline.clone(),
            published,
        });
    }
    Ok(Some(News {
        name: site.name.clone(),
        language: news_language(&site.language),
        items,
        keys,
        fresh_until,
    }))
}

/// A page of a month's article sitemap: its first chunk, and the rest to stream when it is
/// larger than one chunk.
pub struct ArticlePage {
    /// The first [`Limits::chunk`] URLs (all of them when [`ArticlePage::is_whole`]).
    pub first: Vec<Entry>,
    /// `l`, and the sections of its URLs (every section when it streams: their paths are
    /// in its URLs).
    pub keys: BTreeSet<Key>,
    rest: Option<Rest>,
}

/// Where a streamed page goes on.
struct Rest {
    db: DatabaseConnection,
    directory: Directory,
    site: Arc<Site>,
    filter: ArticleFilter,
    after: (DateTime<Utc>, i32),
    /// URLs of the page not yet read.
    remaining: u64,
    chunk: u64,
}

impl ArticlePage {
    /// Whether [`ArticlePage::first`] is the whole page.
    pub fn is_whole(&self) -> bool {
        self.rest.is_none()
    }

    /// The first chunk and the stream of the others, each read when the previous one has
    /// been taken (one statement each, by keyset).
    pub fn into_chunks(
        self,
    ) -> (
        Vec<Entry>,
        impl Stream<Item = Result<Vec<Entry>>> + Send + 'static,
    ) {
        let stream = futures_util::stream::try_unfold(self.rest, |rest| async move {
            let Some(mut r) = rest else {
                return Ok(None);
            };
            let q = article_select(
                r.db.get_database_backend(),
                &r.filter,
                Order::Asc,
                Some(r.after),
                0,
                r.chunk.min(r.remaining),
            );
            let articles = read_articles(&r.db, &q).await?;
            let Some(last) = articles.last() else {
                return Ok(None);
            };
            r.after = (last.published_at.unwrap_or(last.created_at), last.id);
            r.remaining = r.remaining.saturating_sub(articles.len() as u64);
            let full = articles.len() as u64 == r.chunk;
            let entries = entries(&r.db, &r.directory, &r.site, &articles).await?;
            let next = (full && r.remaining > 0).then_some(r);
            Ok(Some((entries, next)))
        });
        (self.first, stream)
    }
}

/// The sitemap URLs of `articles`.
async fn entries(
    db: &DatabaseConnection,
    directory: &Directory,
    site: &Site,
    articles: &[article::Model],
) -> Result<Vec<Entry>> {
    let sections = sections_of(db, directory, articles).await?;
    Ok(articles
        .iter()
        .filter_map(|a| {
            let s = sections.get(&a.section_id)?;
            Some(Entry {
                loc: site.article_url(a, &s.path)?,
                lastmod: Some(article_lastmod(a)),
            })
        })
        .collect())
}

/// Page `page` (from 1) of the article sitemap of `month`: its public articles in order of
/// publication, [`Limits::urls`] a page. `None` when the month has no such page.
pub async fn article_page(
    db: &DatabaseConnection,
    directory: &Directory,
    site: Arc<Site>,
    month: Month,
    page: u32,
    limits: &Limits,
) -> Result<Option<ArticlePage>> {
    site.require_public("the sitemap")?;
    let (Some(start), Some(end)) = (month.start(), month.next().start()) else {
        return Ok(None);
    };
    let mut filter = public();
    filter.published_after = Some(start - TimeDelta::microseconds(1));
    filter.published_before = Some(end);
    let chunk = limits.chunk.min(limits.urls).max(1);
    let offset = u64::from(page.max(1) - 1) * limits.urls;
    let backend = db.get_database_backend();
    let q = article_select(backend, &filter, Order::Asc, None, offset, chunk);
    let articles = read_articles(db, &q).await?;
    let Some(last) = articles.last() else {
        return Ok(None);
    };
    let after = (last.published_at.unwrap_or(last.created_at), last.id);
    let remaining = limits.urls - articles.len() as u64;
    let whole = (articles.len() as u64) < chunk || remaining == 0;
    let first = entries(db, directory, &site, &articles).await?;
    let mut keys: BTreeSet<Key> = [Key::Lists].into();
    if whole {
        keys.extend(articles.iter().map(|a| Key::Section(a.section_id)));
    } else {
        let all = crate::domain::sections::all(db).await?;
        keys.extend(all.iter().map(|s| Key::Section(s.id)));
    }
    let rest = (!whole).then(|| Rest {
        db: db.clone(),
        directory: directory.clone(),
        site,
        filter,
        after,
        remaining,
        chunk,
    });
    Ok(Some(ArticlePage { first, keys, rest }))
}
