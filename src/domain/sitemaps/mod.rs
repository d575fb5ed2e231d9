//! What the sitemaps list: the index of every sitemap, the articles by publication month
//! (paged by [`Limits::urls`], read in keyset chunks so a page of 50,000 URLs is never held
//! whole), the sections, authors and tags, and the Google News sitemap of the last
//! [`NEWS_WINDOW`]. The XML itself is written by the HTTP layer (`http::public`).
//!
//! Every listing reads as an anonymous reader does: its WHERE clause is
//! `filter::filter_condition` of [`Caller::Anonymous`]'s visibility, the one rule for public
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
//!
//! # Layout
//! Here: the limits, the routes' names, the index. `articles`: a month's pages and the news
//! sitemap. `listings`: sections, authors, tags. `lastmod`: the grouped statements that date
//! and count them.

mod articles;
mod lastmod;
mod listings;

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike as _, TimeDelta, TimeZone as _, Utc};
use sea_orm::DatabaseConnection;

use super::access::Caller;
use super::filter::ArticleFilter;
use super::invalidation::Key;
use super::site::Site;
use crate::error::Result;

pub use articles::{ArticlePage, article_page, news};
pub use listings::listing;

use lastmod::{months, window};

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
