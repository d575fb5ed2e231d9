//! The sitemaps of articles: a month's pages, oldest first, read in keyset chunks (a page
//! larger than one chunk is a stream of them), and the news sitemap's, newest first.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::Stream;
use sea_orm::sea_query::{Condition, Order, Query, SelectStatement};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, FromQueryResult, IdenStatic as _, Statement,
};

use super::{Entry, Limits, Month, NEWS_WINDOW, News, NewsItem, news_language, public};
use crate::domain::batched::inline_limits;
use crate::domain::directory::Directory;
use crate::domain::filter::{ArticleFilter, col, filter_condition};
use crate::domain::invalidation::Key;
use crate::domain::site::Site;
use crate::entities::{article, section};
use crate::error::Result;

/// What an article sitemap shows of an article: the columns of its URL and update time,
/// all in the index `ix_articles_status_published_headlined` (with the embargo), so a page is read from the
/// index alone (and on SQLite, never past the body in the row).
#[derive(Clone, Debug, FromQueryResult, serde::Deserialize)]
struct Listed {
    id: i32,
    slug: String,
    section_id: i32,
    published_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const LISTED: &[article::Column] = &[
    article::Column::Id,
    article::Column::Slug,
    article::Column::SectionId,
    article::Column::PublishedAt,
    article::Column::UpdatedAt,
];

/// What the news sitemap shows of a story: all in the same index (its last column is the
/// headline), so a news page is read from the index alone too.
#[derive(Clone, Debug, FromQueryResult, serde::Deserialize)]
struct Headlined {
    id: i32,
    slug: String,
    headline: String,
    section_id: i32,
    published_at: DateTime<Utc>,
}

const HEADLINED: &[article::Column] = &[
    article::Column::Id,
    article::Column::Slug,
    article::Column::Headline,
    article::Column::SectionId,
    article::Column::PublishedAt,
];

/// A row read in publication order.
trait Published {
    /// Its place in that order: publication time, then id.
    fn place(&self) -> (DateTime<Utc>, i32);
}

impl Published for Listed {
    fn place(&self) -> (DateTime<Utc>, i32) {
        (self.published_at, self.id)
    }
}

impl Published for Headlined {
    fn place(&self) -> (DateTime<Utc>, i32) {
        (self.published_at, self.id)
    }
}

/// The SELECT of `columns` of the articles `filter` lists (each has a publication time), in
/// `order` of publication time then id, after `after` when given, skipping `offset`, at most
/// `limit`.
fn article_select(
    columns: &[article::Column],
    filter: &ArticleFilter,
    order: Order,
    after: Option<(DateTime<Utc>, i32)>,
    offset: u64,
    limit: u64,
) -> SelectStatement {
    let mut q = Query::select();
    for c in columns {
        q.column((article::Entity, *c));
    }
    q.from(article::Entity).cond_where(filter_condition(filter));
    if let Some((at, id)) = after {
        let time = || col(article::Column::PublishedAt);
        // The first bound is implied by the others, but it is the one both databases can
        // start an index range at: without it each chunk of a page read the index from the
        // month's first row again, and a 46,000-URL page read a million index entries.
        let (from, later, higher) = match order {
            Order::Desc => (
                time().lte(at),
                time().lt(at),
                col(article::Column::Id).lt(id),
            ),
            _ => (
                time().gte(at),
                time().gt(at),
                col(article::Column::Id).gt(id),
            ),
        };
        q.cond_where(
            Condition::all().add(from).add(
                Condition::any()
                    .add(later)
                    .add(Condition::all().add(time().eq(at)).add(higher)),
            ),
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

/// The rows of `q` (which selects `columns`, in `order`) as `T`s.
///
/// On SQLite the database hands them back as one JSON array: sqlx moves every row from
/// SQLite's worker thread to the task awaiting it, and for a page of a thousand rows those
/// hand-offs cost several times the query itself (a news page: ~10 ms of CPU, mostly thread
/// switches). The array is sorted again here, since an aggregate's order is SQLite's to pick.
async fn read<T>(
    db: &impl ConnectionTrait,
    columns: &[article::Column],
    q: &SelectStatement,
    order: Order,
) -> Result<Vec<T>>
where
    T: FromQueryResult + serde::de::DeserializeOwned + Published,
{
    let backend = db.get_database_backend();
    let stmt = inline_limits(backend.build(q));
    if backend != DbBackend::Sqlite {
        return Ok(T::find_by_statement(stmt).all(db).await?);
    }
    let pairs: Vec<String> = columns
        .iter()
        .map(|c| format!("'{0}', \"{0}\"", c.as_str()))
        .collect();
    let sql = format!(
        "SELECT json_group_array(json_object({})) AS \"rows\" FROM ({}) AS \"page\"",
        pairs.join(", "),
        stmt.sql
    );
    let stmt = Statement {
        sql,
        values: stmt.values,
        db_backend: backend,
    };
    let Some(row) = db.query_one(stmt).await? else {
        return Ok(Vec::new());
    };
    let json: String = row.try_get("", "rows")?;
    let mut rows: Vec<T> = serde_json::from_str(&json)
        .map_err(|e| crate::error::AppError::internal(format!("an article sitemap's rows: {e}")))?;
    match order {
        Order::Desc => rows.sort_by_key(|r| std::cmp::Reverse(r.place())),
        _ => rows.sort_by_key(Published::place),
    }
    Ok(rows)
}

/// The sections of these ids, from the directory.
async fn sections_of(
    db: &DatabaseConnection,
    directory: &Directory,
    ids: impl Iterator<Item = i32>,
) -> Result<HashMap<i32, section::Model>> {
    let mut ids: Vec<i32> = ids.collect();
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
    let q = article_select(HEADLINED, &filter, Order::Desc, None, offset, limits.news);
    let articles: Vec<Headlined> = read(db, HEADLINED, &q, Order::Desc).await?;
    if articles.is_empty() && page > 1 {
        return Ok(None);
    }
    let sections = sections_of(db, directory, articles.iter().map(|a| a.section_id)).await?;
    let mut keys: BTreeSet<Key> = [Key::Lists].into();
    let mut items = Vec::with_capacity(articles.len());
    let mut fresh_until: Option<DateTime<Utc>> = None;
    for a in articles {
        let Some(s) = sections.get(&a.section_id) else {
            continue;
        };
        let published = a.published_at;
        let Some(loc) = site.article_url_of(a.id, &a.slug, published, &s.path) else {
            continue;
        };
        // Every change of a public article touches `l` as well as its own key, so a
        // thousand article keys would add nothing but header bytes; a section's path, in
        // each URL, changes under its own key only.
        keys.insert(Key::Section(s.id));
        let leaves = published + NEWS_WINDOW;
        fresh_until = Some(fresh_until.map_or(leaves, |f| f.min(leaves)));
        items.push(NewsItem {
            loc,
            title: a.headline,
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
            let limit = r.chunk.min(r.remaining);
            let q = article_select(LISTED, &r.filter, Order::Asc, Some(r.after), 0, limit);
            let articles: Vec<Listed> = read(&r.db, LISTED, &q, Order::Asc).await?;
            let Some(last) = articles.last() else {
                return Ok(None);
            };
            r.after = (last.published_at, last.id);
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
    articles: &[Listed],
) -> Result<Vec<Entry>> {
    let sections = sections_of(db, directory, articles.iter().map(|a| a.section_id)).await?;
    Ok(articles
        .iter()
        .filter_map(|a| {
            let s = sections.get(&a.section_id)?;
            Some(Entry {
                loc: site.article_url_of(a.id, &a.slug, a.published_at, &s.path)?,
                // Never before it became public.
                lastmod: Some(a.updated_at.max(a.published_at)),
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
    let q = article_select(LISTED, &filter, Order::Asc, None, offset, chunk);
    let articles: Vec<Listed> = read(db, LISTED, &q, Order::Asc).await?;
    let Some(last) = articles.last() else {
        return Ok(None);
    };
    let after = (last.published_at, last.id);
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
    // Past the first chunk the cursor, inside the month, is the lower bound, and the only
    // one: SQLite starts an index range at one lower bound only, and took the month's.
    filter.published_after = None;
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
