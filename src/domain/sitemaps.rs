//! What the sitemaps list: the index of every sitemap, the articles by publication month
//! (paged by [`Limits::urls`], read in keyset chunks so a page of 50,000 URLs is never held
//! whole), the sections, authors and tags, and the Google News sitemap of the last
//! [`NEWS_WINDOW`]. The XML itself is written by the HTTP layer (`http::public`).
//!
//! Every listing reads as an anonymous reader does: its WHERE clause is
//! [`filter_condition`] of [`Caller::Anonymous`]'s visibility, the one rule for public
//! formats, so a draft, a scheduled story before its time, an unpublished or an archived one
//! is in no sitemap. Authors and tags are listed only while they have a public article
//! (a tag made by a draft would name the draft's subject); sections always.
//!
//! # lastmod
//! A URL's `lastmod` is the newest change of what its page shows: an article's own update
//! (never before its publication); for a section, author or tag page, that of its newest
//! changed public article (a section counts its subsections), of the entity itself, and of
//! any of its stories leaving public view (unpublished or archived, from the change log).
//! A sitemap's `lastmod` in the index is the newest change of its whole series (a month, the
//! news window, the sections, ...): a story added or removed shifts every page after it.
//! A deleted story's row is gone, so its departure dates no page but the news sitemap's.
//!
//! # Time
//! The news sitemap, and the index that counts its pages, change without any write: a story
//! leaves when it is [`NEWS_WINDOW`] old. Both say until when they are valid
//! (`fresh_until`), which the HTTP layer turns into cache lifetimes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::Hash;
use std::sync::Arc;

use chrono::{DateTime, Datelike as _, TimeDelta, TimeZone as _, Utc};
use futures_util::Stream;
use sea_orm::sea_query::{Alias, Condition, Expr, Func, Order, Query, SelectStatement, SimpleExpr};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait as _, Iterable as _};

use super::access::Caller;
use super::articles::{article_row, no_body};
use super::batched::inline_limits;
use super::directory::Directory;
use super::filter::{ArticleFilter, col, filter_condition};
use super::invalidation::Key;
use super::site::Site;
use super::syndication::DEPARTURES;
use crate::entities::{article, article_author, article_tag, author, change_log, section, tag};
use crate::error::Result;

/// Most URLs of one sitemap (sitemaps.org).
pub const MAX_URLS: u64 = 50_000;
/// Most bytes of one sitemap, uncompressed (sitemaps.org: 50 MiB).
pub const MAX_BYTES: u64 = 50 * 1024 * 1024;
/// Most URLs of one news sitemap (Google News).
pub const NEWS_MAX_URLS: u64 = 1_000;
/// How long a story stays in the news sitemap after it became public (Google News).
pub const NEWS_WINDOW: TimeDelta = TimeDelta::hours(48);
/// Rows read per statement of an article sitemap page.
pub const CHUNK: u64 = 1_000;
/// Highest page number a sitemap URL may ask for (50 million URLs a month).
pub const MAX_PAGE: u32 = 1_000;
/// Bytes of one `<url>` of an article sitemap beyond its escaped URL.
const URL_MARKUP: u64 = 80;

/// The sizes of sitemap pages. [`Limits::for_site`] is what gazette serves; tests pass
/// smaller ones to the functions below to see pages split without 50,001 articles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// URLs per page of a month's articles, and of the sections, authors and tags.
    pub urls: u64,
    /// URLs per page of the news sitemap.
    pub news: u64,
    /// Rows read per statement while a page is streamed; a page of at most this many URLs
    /// is read in one statement (and is small enough to keep whole).
    pub chunk: u64,
}

impl Limits {
    /// The limits sitemaps.org and Google set.
    pub const STANDARD: Self = Self {
        urls: MAX_URLS,
        news: NEWS_MAX_URLS,
        chunk: CHUNK,
    };

    /// [`Limits::STANDARD`], with fewer URLs per page if this site's longest article URL
    /// (longest slug and section path, every character escaped as XML may) could make a
    /// page of 50,000 pass 50 MiB: only a very long public URL or template does.
    pub fn for_site(site: &Site) -> Self {
        let longest = site.longest_article_url().map_or(0, |u| {
            let escaped = u
                .chars()
                .filter(|c| matches!(c, '&' | '<' | '>' | '"' | '\''))
                .count();
            u.len() + 5 * escaped
        });
        let entry = longest as u64 + URL_MARKUP;
        let fit = (MAX_BYTES - 1024) / entry;
        Self {
            urls: MAX_URLS.min(fit).max(1),
            ..Self::STANDARD
        }
    }
}

/// A publication month (UTC), which names one series of article sitemaps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

impl Month {
    /// `2026-03` (four-digit year, two-digit month), or `None`.
    pub fn parse(s: &str) -> Option<Self> {
        let (y, m) = s.split_once('-')?;
        let digits = |t: &str, n: usize| t.len() == n && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(y, 4) || !digits(m, 2) {
            return None;
        }
        let month = Self {
            year: y.parse().ok()?,
            month: m.parse().ok()?,
        };
        ((1..=12).contains(&month.month) && month.year >= 1).then_some(month)
    }

    /// The month `t` falls in.
    pub fn of(t: DateTime<Utc>) -> Self {
        Self {
            year: t.year(),
            month: t.month(),
        }
    }

    /// Its first instant.
    pub fn start(self) -> Option<DateTime<Utc>> {
        Utc.with_ymd_and_hms(self.year, self.month, 1, 0, 0, 0)
            .single()
    }

    /// The month after it.
    pub fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The route of its `page`-th sitemap, below the public base URL.
    pub fn path(self, page: u32) -> String {
        format!("/sitemaps/articles-{self}.xml{}", page_query(page))
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// `?page=N` beyond the first page.
fn page_query(page: u32) -> String {
    if page > 1 {
        format!("?page={page}")
    } else {
        String::new()
    }
}

/// The sitemaps of pages other than articles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    Sections,
    Authors,
    Tags,
}

impl Listing {
    /// The route of its `page`-th sitemap, below the public base URL.
    pub fn path(self, page: u32) -> String {
        let name = match self {
            Self::Sections => "sections",
            Self::Authors => "authors",
            Self::Tags => "tags",
        };
        format!("/sitemaps/{name}.xml{}", page_query(page))
    }
}

/// The route of the `page`-th news sitemap, below the public base URL.
pub fn news_path(page: u32) -> String {
    format!("/sitemaps/news.xml{}", page_query(page))
}

/// One URL of a sitemap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The page, absolute.
    pub loc: String,
    /// When it last changed.
    pub lastmod: Option<DateTime<Utc>>,
}

/// One sitemap named by the index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sitemap {
    /// Its route below the public base URL (`/sitemaps/news.xml?page=2`).
    pub path: String,
    /// The newest change of what its series lists.
    pub lastmod: Option<DateTime<Utc>>,
}

/// The sitemap index.
#[derive(Clone, Debug)]
pub struct Index {
    pub sitemaps: Vec<Sitemap>,
    pub keys: BTreeSet<Key>,
    /// When it changes without a write (the news window moves on), if it does.
    pub fresh_until: Option<DateTime<Utc>>,
}

/// A story of the news sitemap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewsItem {
    pub loc: String,
    pub title: String,
    /// When it became public.
    pub published: DateTime<Utc>,
}

/// A page of the news sitemap.
#[derive(Clone, Debug)]
pub struct News {
    /// The publication's name.
    pub name: String,
    /// Its language as Google News wants it ([`news_language`]).
    pub language: String,
    /// Newest first.
    pub items: Vec<NewsItem>,
    pub keys: BTreeSet<Key>,
    /// When its oldest story leaves the window, if it has any.
    pub fresh_until: Option<DateTime<Utc>>,
}

/// Google News wants an ISO 639 language code, or `zh-cn` / `zh-tw` for Chinese; the site's
/// language is a BCP 47 tag (`pt-BR`, `zh-Hant-TW`).
pub fn news_language(tag: &str) -> String {
    let lower = tag.to_ascii_lowercase();
    let mut parts = lower.split('-');
    let primary = parts.next().unwrap_or("").to_owned();
    if primary != "zh" {
        return primary;
    }
    let traditional = parts.any(|p| matches!(p, "hant" | "tw" | "hk" | "mo"));
    if traditional { "zh-tw" } else { "zh-cn" }.to_owned()
}

/// What a public reader sees: the one visibility rule of public formats.
fn public() -> ArticleFilter {
    ArticleFilter {
        visibility: Caller::Anonymous.visibility(),
        ..ArticleFilter::default()
    }
}

/// An article's `lastmod`: its update, never before it became public.
fn article_lastmod(a: &article::Model) -> DateTime<Utc> {
    a.updated_at.max(a.published_at.unwrap_or(a.created_at))
}

/// How articles are grouped for `lastmod`s and counts.
#[derive(Clone, Copy, Debug)]
enum Group {
    Month,
    Section,
    Author,
    Tag,
}

impl Group {
    fn expr(self, backend: DbBackend) -> SimpleExpr {
        match self {
            Self::Month => Expr::cust(match backend {
                DbBackend::Postgres => {
                    r#"to_char("articles"."published_at" AT TIME ZONE 'UTC', 'YYYY-MM')"#
                }
                _ => r#"strftime('%Y-%m', "articles"."published_at")"#,
            }),
            Self::Section => col(article::Column::SectionId).into(),
            Self::Author => {
                Expr::col((article_author::Entity, article_author::Column::AuthorId)).into()
            }
            Self::Tag => Expr::col((article_tag::Entity, article_tag::Column::TagId)).into(),
        }
    }

    fn join(self, q: &mut SelectStatement) {
        let article_id = (article::Entity, article::Column::Id);
        match self {
            Self::Month | Self::Section => {}
            Self::Author => {
                q.inner_join(
                    article_author::Entity,
                    Expr::col((article_author::Entity, article_author::Column::ArticleId))
                        .equals(article_id),
                );
            }
            Self::Tag => {
                q.inner_join(
                    article_tag::Entity,
                    Expr::col((article_tag::Entity, article_tag::Column::ArticleId))
                        .equals(article_id),
                );
            }
        }
    }
}

/// The public articles of a group.
#[derive(Clone, Copy, Debug)]
struct Changes {
    count: u64,
    /// The newest change of one of them.
    latest: DateTime<Utc>,
}

fn max_time(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    a.max(b)
}

/// Per group: how many public articles, and their newest change (one statement).
async fn changes<K>(db: &impl ConnectionTrait, group: Group) -> Result<HashMap<K, Changes>>
where
    K: sea_orm::TryGetable + Eq + Hash,
{
    let backend = db.get_database_backend();
    let mut q = Query::select();
    q.expr_as(group.expr(backend), Alias::new("g"))
        .expr_as(Func::count(col(article::Column::Id)), Alias::new("n"))
        .expr_as(Func::max(col(article::Column::UpdatedAt)), Alias::new("u"))
        .expr_as(
            Func::max(col(article::Column::PublishedAt)),
            Alias::new("p"),
        )
        .from(article::Entity);
    group.join(&mut q);
    q.cond_where(filter_condition(&public()))
        .add_group_by([group.expr(backend)]);
    let mut out = HashMap::new();
    for row in db.query_all(backend.build(&q)).await? {
        let Ok(g) = row.try_get::<K>("", "g") else {
            continue;
        };
        let n: i64 = row.try_get("", "n")?;
        let u: Option<DateTime<Utc>> = row.try_get("", "u")?;
        let p: Option<DateTime<Utc>> = row.try_get("", "p")?;
        if let Some(latest) = max_time(u, p) {
            out.insert(
                g,
                Changes {
                    count: u64::try_from(n).unwrap_or(0),
                    latest,
                },
            );
        }
    }
    Ok(out)
}

/// Per group: when one of its stories last left public view (unpublished, archived), as
/// the change log has it (one statement).
async fn departures<K>(db: &impl ConnectionTrait, group: Group) -> Result<HashMap<K, DateTime<Utc>>>
where
    K: sea_orm::TryGetable + Eq + Hash,
{
    let backend = db.get_database_backend();
    let mut q = Query::select();
    q.expr_as(group.expr(backend), Alias::new("g"))
        .expr_as(
            Func::max(Expr::col((change_log::Entity, change_log::Column::At))),
            Alias::new("at"),
        )
        .from(change_log::Entity)
        .inner_join(
            article::Entity,
            col(article::Column::Id).equals((change_log::Entity, change_log::Column::EntityId)),
        );
    group.join(&mut q);
    q.and_where(Expr::col((change_log::Entity, change_log::Column::Entity)).eq("article"))
        .and_where(
            Expr::col((change_log::Entity, change_log::Column::Action))
                .is_in(DEPARTURES.iter().copied()),
        )
        .and_where(col(article::Column::PublishedAt).is_not_null())
        .add_group_by([group.expr(backend)]);
    let mut out = HashMap::new();
    for row in db.query_all(backend.build(&q)).await? {
        if let (Ok(g), Ok(Some(at))) = (
            row.try_get::<K>("", "g"),
            row.try_get::<Option<DateTime<Utc>>>("", "at"),
        ) {
            out.insert(g, at);
        }
    }
    Ok(out)
}

/// The months that have public articles: how many, and the newest change of each (theirs,
/// or a departure of another story of that month).
async fn months(db: &impl ConnectionTrait) -> Result<BTreeMap<Month, Changes>> {
    let gone: HashMap<String, DateTime<Utc>> = departures(db, Group::Month).await?;
    let mut out = BTreeMap::new();
    for (m, mut c) in changes::<String>(db, Group::Month).await? {
        let Some(month) = Month::parse(&m) else {
            continue;
        };
        c.latest = c.latest.max(gone.get(&m).copied().unwrap_or(c.latest));
        out.insert(month, c);
    }
    Ok(out)
}

/// The news window at `now`.
#[derive(Clone, Copy, Debug, Default)]
struct Window {
    count: u64,
    /// The newest change of what the news sitemap shows or showed: a story's update, a
    /// story leaving by age or by departure.
    latest: Option<DateTime<Utc>>,
    /// When its oldest story leaves.
    fresh_until: Option<DateTime<Utc>>,
}

async fn window(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<Window> {
    let backend = db.get_database_backend();
    let cutoff = now - NEWS_WINDOW;
    let mut inside = public();
    inside.published_after = Some(cutoff);
    let mut q = Query::select();
    q.expr_as(Func::count(col(article::Column::Id)), Alias::new("n"))
        .expr_as(Func::max(col(article::Column::UpdatedAt)), Alias::new("u"))
        .expr_as(
            Func::max(col(article::Column::PublishedAt)),
            Alias::new("p"),
        )
        .expr_as(
            Func::min(col(article::Column::PublishedAt)),
            Alias::new("oldest"),
        )
        .from(article::Entity)
        .cond_where(filter_condition(&inside));
    let row = db.query_one(backend.build(&q)).await?;
    let get = |name: &str| -> Result<Option<DateTime<Utc>>> {
        Ok(match &row {
            Some(r) => r.try_get::<Option<DateTime<Utc>>>("", name)?,
            None => None,
        })
    };
    let (u, p, oldest) = (get("u")?, get("p")?, get("oldest")?);
    let count = match &row {
        Some(r) => u64::try_from(r.try_get::<i64>("", "n")?).unwrap_or(0),
        None => 0,
    };
    // The newest story that has aged out left when it turned NEWS_WINDOW old.
    let mut outside = public();
    outside.published_before = Some(cutoff + TimeDelta::microseconds(1));
    let mut q = Query::select();
    q.expr_as(
        Func::max(col(article::Column::PublishedAt)),
        Alias::new("p"),
    )
    .from(article::Entity)
    .cond_where(filter_condition(&outside));
    let aged = match db.query_one(backend.build(&q)).await? {
        Some(r) => r
            .try_get::<Option<DateTime<Utc>>>("", "p")?
            .map(|p| p + NEWS_WINDOW),
        None => None,
    };
    // Any story that left public view within the window may have been in it.
    let departed = super::syndication::last_departure(db)
        .await?
        .filter(|at| *at > cutoff);
    Ok(Window {
        count,
        latest: [u, p, aged, departed].into_iter().flatten().max(),
        fresh_until: oldest.map(|o| o + NEWS_WINDOW),
    })
}

/// How many pages `count` URLs take at `per_page` each (at least one).
fn pages(count: u64, per_page: u64) -> u32 {
    let n = count.div_ceil(per_page.max(1)).max(1);
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The sitemap index at `now`: the news sitemap's pages, the sections', authors' and tags'
/// (those with any URL), and each month's article pages, oldest month first.
pub async fn index(
    db: &DatabaseConnection,
    site: &Site,
    limits: &Limits,
    now: DateTime<Utc>,
) -> Result<Index> {
    site.require_public("the sitemap index")?;
    let mut keys: BTreeSet<Key> = [Key::Lists].into();
    let mut sitemaps = Vec::new();
    let news = window(db, now).await?;
    for page in 1..=pages(news.count, limits.news) {
        sitemaps.push(Sitemap {
            path: news_path(page),
            lastmod: news.latest,
        });
    }
    for which in [Listing::Sections, Listing::Authors, Listing::Tags] {
        let entries = listing(db, site, which, &mut keys).await?;
        if entries.is_empty() {
            continue;
        }
        let lastmod = entries.iter().filter_map(|e| e.lastmod).max();
        for page in 1..=pages(entries.len() as u64, limits.urls) {
            sitemaps.push(Sitemap {
                path: which.path(page),
                lastmod,
            });
        }
    }
    for (month, c) in months(db).await? {
        for page in 1..=pages(c.count, limits.urls) {
            sitemaps.push(Sitemap {
                path: month.path(page),
                lastmod: Some(c.latest),
            });
        }
    }
    Ok(Index {
        sitemaps,
        keys,
        fresh_until: news.fresh_until,
    })
}

/// Page `page` (from 1) of `entries` at `per_page` each; `None` past the last page (the
/// first page always exists, if empty).
pub fn page_of(entries: &[Entry], page: u32, per_page: u64) -> Option<&[Entry]> {
    let per_page = usize::try_from(per_page).unwrap_or(usize::MAX).max(1);
    let start = (page.max(1) as usize - 1).saturating_mul(per_page);
    if page > 1 && start >= entries.len() {
        return None;
    }
    let start = start.min(entries.len());
    let end = start.saturating_add(per_page).min(entries.len());
    Some(&entries[start..end])
}

/// Every URL of a listing (sections by path, authors and tags by slug), noting the keys of
/// what it shows in `keys`.
pub async fn listing(
    db: &DatabaseConnection,
    site: &Site,
    which: Listing,
    keys: &mut BTreeSet<Key>,
) -> Result<Vec<Entry>> {
    site.require_public("the sitemap")?;
    keys.insert(Key::Lists);
    match which {
        Listing::Sections => sections(db, site, keys).await,
        Listing::Authors => authors(db, site, keys).await,
        // A tag never changes once made; its page changes with its articles (`l`).
        Listing::Tags => tags(db, site).await,
    }
}

async fn sections(
    db: &DatabaseConnection,
    site: &Site,
    keys: &mut BTreeSet<Key>,
) -> Result<Vec<Entry>> {
    let mut all = super::sections::all(db).await?;
    all.sort_by(|a, b| a.path.cmp(&b.path));
    let changed: HashMap<i32, Changes> = changes(db, Group::Section).await?;
    let gone: HashMap<i32, DateTime<Utc>> = departures(db, Group::Section).await?;
    // Each section's own newest change, then its subtree's.
    let own: Vec<DateTime<Utc>> = all
        .iter()
        .map(|s| {
            [
                Some(s.updated_at),
                changed.get(&s.id).map(|c| c.latest),
                gone.get(&s.id).copied(),
            ]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(s.updated_at)
        })
        .collect();
    let mut out = Vec::with_capacity(all.len());
    for s in &all {
        let below = format!("{}/", s.path);
        let lastmod = all
            .iter()
            .zip(&own)
            .filter(|(t, _)| t.id == s.id || t.path.starts_with(&below))
            .map(|(_, at)| *at)
            .max();
        let Some(loc) = site.section_url(&s.path) else {
            continue;
        };
        keys.insert(Key::Section(s.id));
        out.push(Entry { loc, lastmod });
    }
    Ok(out)
}

async fn authors(
    db: &DatabaseConnection,
    site: &Site,
    keys: &mut BTreeSet<Key>,
) -> Result<Vec<Entry>> {
    let changed: HashMap<i32, Changes> = changes(db, Group::Author).await?;
    if changed.is_empty() {
        return Ok(Vec::new());
    }
    let gone: HashMap<i32, DateTime<Utc>> = departures(db, Group::Author).await?;
    let mut people = author::Entity::find().all(db).await?;
    people.retain(|a| changed.contains_key(&a.id));
    people.sort_by(|a, b| a.slug.cmp(&b.slug));
    let mut out = Vec::with_capacity(people.len());
    for a in people {
        let Some(loc) = site.author_url(&a.slug) else {
            continue;
        };
        let lastmod = [
            Some(a.updated_at),
            changed.get(&a.id).map(|c| c.latest),
            gone.get(&a.id).copied(),
        ]
        .into_iter()
        .flatten()
        .max();
        keys.insert(Key::Author(a.id));
        out.push(Entry { loc, lastmod });
    }
    Ok(out)
}

async fn tags(db: &DatabaseConnection, site: &Site) -> Result<Vec<Entry>> {
    let changed: HashMap<i32, Changes> = changes(db, Group::Tag).await?;
    if changed.is_empty() {
        return Ok(Vec::new());
    }
    let gone: HashMap<i32, DateTime<Utc>> = departures(db, Group::Tag).await?;
    let mut all = tag::Entity::find().all(db).await?;
    all.retain(|t| changed.contains_key(&t.id));
    all.sort_by(|a, b| a.slug.cmp(&b.slug));
    let mut out = Vec::with_capacity(all.len());
    for t in all {
        let Some(loc) = site.tag_url(&t.slug) else {
            continue;
        };
        let lastmod = [
            changed.get(&t.id).map(|c| c.latest),
            gone.get(&t.id).copied(),
        ]
        .into_iter()
        .flatten()
        .max();
        out.push(Entry { loc, lastmod });
    }
    Ok(out)
}

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
        let all = super::sections::all(db).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_only_as_the_routes_write_them() {
        let m = Month::parse("2026-03").expect("a month");
        assert_eq!(m.to_string(), "2026-03");
        assert_eq!(m.next().to_string(), "2026-04");
        assert_eq!(
            Month::parse("2026-12")
                .map(|m| m.next().to_string())
                .as_deref(),
            Some("2027-01")
        );
        assert_eq!(m.path(1), "/sitemaps/articles-2026-03.xml");
        assert_eq!(m.path(2), "/sitemaps/articles-2026-03.xml?page=2");
        for bad in [
            "2026-13",
            "2026-00",
            "2026-3",
            "26-03",
            "0000-01",
            "2026-03-01",
            "",
            "abcd-ef",
            "+026-03",
        ] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn google_news_gets_iso_639_codes() {
        assert_eq!(news_language("en"), "en");
        assert_eq!(news_language("pt-BR"), "pt");
        assert_eq!(news_language("zh-Hant-TW"), "zh-tw");
        assert_eq!(news_language("zh-CN"), "zh-cn");
        assert_eq!(news_language("zh"), "zh-cn");
    }

    #[test]
    fn pages_cut_at_the_limit_and_the_first_always_exists() {
        let e = |i: usize| Entry {
            loc: format!("https://x.example/{i}"),
            lastmod: None,
        };
        let all: Vec<Entry> = (0..5).map(e).collect();
        assert_eq!(page_of(&all, 1, 2).map(<[Entry]>::len), Some(2));
        assert_eq!(page_of(&all, 3, 2).map(<[Entry]>::len), Some(1));
        assert_eq!(page_of(&all, 4, 2), None);
        assert_eq!(page_of(&[], 1, 2).map(<[Entry]>::len), Some(0));
        assert_eq!(page_of(&[], 2, 2), None);
        assert_eq!((pages(0, 2), pages(4, 2), pages(5, 2)), (1, 2, 3));
    }

    #[test]
    fn a_page_of_the_longest_urls_stays_under_50_mib() {
        let site = |url: String| {
            Site::new(super::super::site::SiteSettings {
                public_url: Some(url),
                ..Default::default()
            })
            .expect("valid")
        };
        assert_eq!(
            Limits::for_site(&site("https://news.example".into())).urls,
            MAX_URLS
        );
        let long = site(format!("https://news.example/{}", "a&b".repeat(3000)));
        let limits = Limits::for_site(&long);
        let url = long.longest_article_url().unwrap_or_default();
        assert!(limits.urls < MAX_URLS);
        assert!(limits.urls * (url.len() as u64 + 5 * 3000 + URL_MARKUP) <= MAX_BYTES);
    }
}
