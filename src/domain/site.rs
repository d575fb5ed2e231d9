//! Where the newsroom's front end puts things: the public base URL, the publication's name
//! and language, and the URL templates of article, section, author and tag pages. A
//! headless API does not serve those pages, but every public format (feeds, sitemaps,
//! JSON-LD, oEmbed) and the `url` fields must name them, absolutely.
//!
//! Without a public base URL, `url` fields are `null` and the formats that need absolute
//! URLs are refused ([`Site::require_public`]): never a feed of relative or `localhost`
//! links.

use chrono::{DateTime, Datelike as _, Utc};

use crate::entities::article;
use crate::error::{AppError, Result};

/// The default template of an article page.
pub const ARTICLE_TEMPLATE: &str = "/{section_path}/{slug}";
/// The default template of a section page.
pub const SECTION_TEMPLATE: &str = "/{section_path}";
/// The default template of an author page.
pub const AUTHOR_TEMPLATE: &str = "/authors/{slug}";
/// The default template of a tag page.
pub const TAG_TEMPLATE: &str = "/tags/{slug}";

/// Longest path a URL of a template is read from.
const MAX_URL_PATH: usize = 2048;

/// Most items of a feed a setting may ask for.
pub const MAX_FEED_ITEMS: u64 = 500;

/// A placeholder of a URL template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// A section's full path (`world/middle-east`): one or more segments.
    SectionPath,
    /// A slug: one segment.
    Slug,
    /// The article's id.
    Id,
    /// Four digits of the publication year, two of the month, two of the day.
    Year,
    Month,
    Day,
}

impl Slot {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "section_path" => Self::SectionPath,
            "slug" => Self::Slug,
            "id" => Self::Id,
            "year" => Self::Year,
            "month" => Self::Month,
            "day" => Self::Day,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::SectionPath => "section_path",
            Self::Slug => "slug",
            Self::Id => "id",
            Self::Year => "year",
            Self::Month => "month",
            Self::Day => "day",
        }
    }

    /// Whether `text` is a value this placeholder can take.
    fn accepts(self, text: &str) -> bool {
        let slug = |s: &str| super::slug::is_valid(s);
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        match self {
            Self::SectionPath => !text.is_empty() && text.split('/').all(slug),
            Self::Slug => slug(text),
            Self::Id => {
                !text.is_empty() && text.len() <= 10 && text.bytes().all(|b| b.is_ascii_digit())
            }
            Self::Year => digits(text, 4),
            Self::Month | Self::Day => digits(text, 2),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Slot(Slot),
}

/// A URL template such as `/{section_path}/{slug}`: a path below the public base URL with
/// placeholders, checked at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template(Vec<Part>);

impl Template {
    /// Parses `text`, allowing only the placeholders in `allowed`; `needs` must appear.
    fn parse(what: &str, text: &str, allowed: &[Slot], needs: &[&[Slot]]) -> Result<Self, String> {
        if !text.starts_with('/') {
            return Err(format!("{what} must start with `/`, not {text:?}"));
        }
        if text.contains(['?', '#', ' ', '\\']) || text.chars().any(char::is_control) {
            return Err(format!(
                "{what} must be a plain path (no query, fragment, spaces): {text:?}"
            ));
        }
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| format!("{what} has an unclosed `{{`: {text:?}"))?;
            let name = &rest[open + 1..open + close];
            let slot = Slot::parse(name)
                .filter(|s| allowed.contains(s))
                .ok_or_else(|| {
                    let names: Vec<String> = allowed
                        .iter()
                        .map(|s| format!("{{{}}}", s.name()))
                        .collect();
                    format!(
                        "{what} uses {{{name}}}, which it cannot: it may use {}",
                        names.join(", ")
                    )
                })?;
            if matches!(parts.last(), Some(Part::Slot(_))) {
                return Err(format!(
                    "{what} puts two placeholders side by side, so a URL cannot be read back: {text:?}"
                ));
            }
            parts.push(Part::Slot(slot));
            rest = &rest[open + close + 1..];
        }
        if rest.contains('}') {
            return Err(format!("{what} has a `}}` without `{{`: {text:?}"));
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        for group in needs {
            if !parts
                .iter()
                .any(|p| matches!(p, Part::Slot(s) if group.contains(s)))
            {
                let names: Vec<String> =
                    group.iter().map(|s| format!("{{{}}}", s.name())).collect();
                return Err(format!(
                    "{what} must contain {}: {text:?}",
                    names.join(" or ")
                ));
            }
        }
        Ok(Self(parts))
    }

    fn render(&self, value: impl Fn(Slot) -> String) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Slot(s) => out.push_str(&value(*s)),
            }
        }
        out
    }

    /// The values of the placeholders if `path` is a URL of this template.
    fn read(&self, path: &str) -> Option<Vec<(Slot, String)>> {
        fn go(parts: &[Part], path: &str, out: &mut Vec<(Slot, String)>) -> bool {
            let Some((first, rest)) = parts.split_first() else {
                return path.is_empty();
            };
            match first {
                Part::Text(t) => path
                    .strip_prefix(t.as_str())
                    .is_some_and(|p| go(rest, p, out)),
                Part::Slot(slot) => {
                    // Every split point, longest first (a section path takes what it can).
                    // Only where the text that follows starts (placeholders never touch).
                    let next = match rest.first() {
                        Some(Part::Text(t)) => Some(t.as_str()),
                        _ => None,
                    };
                    for end in (1..=path.len()).rev() {
                        if !path.is_char_boundary(end)
                            || next.is_some_and(|t| !path[end..].starts_with(t))
                            || !slot.accepts(&path[..end])
                        {
                            continue;
                        }
                        out.push((*slot, path[..end].to_owned()));
                        if go(rest, &path[end..], out) {
                            return true;
                        }
                        out.pop();
                    }
                    false
                }
            }
        }
        if path.len() > MAX_URL_PATH {
            return None;
        }
        let mut out = Vec::new();
        go(&self.0, path, &mut out).then_some(out)
    }
}

/// What a URL of the article template names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArticleAddress {
    pub slug: Option<String>,
    pub id: Option<i32>,
}

/// The kinds of feed a listing is offered in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedFormat {
    Rss,
    Atom,
    Json,
}

impl FeedFormat {
    /// The route of the feed, below the public base URL.
    pub fn path(self) -> &'static str {
        match self {
            Self::Rss => "/feeds/rss.xml",
            Self::Atom => "/feeds/atom.xml",
            Self::Json => "/feeds/feed.json",
        }
    }
}

/// What a feed lists: the whole site, or one section (with its subsections), author or tag.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FeedScope {
    Site,
    Section(String),
    Author(String),
    Tag(String),
}

impl FeedScope {
    /// The query string that selects this scope (`?section=world`), empty for the site.
    pub fn query(&self) -> String {
        match self {
            Self::Site => String::new(),
            Self::Section(p) => format!("?section={p}"),
            Self::Author(s) => format!("?author={s}"),
            Self::Tag(s) => format!("?tag={s}"),
        }
    }
}

/// The feeds of one listing, as absolute URLs.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FeedUrls {
    pub rss: String,
    pub atom: String,
    pub json: String,
}

/// The settings a [`Site`] is made from, as given (see `config`).
#[derive(Clone, Debug)]
pub struct SiteSettings {
    pub public_url: Option<String>,
    pub name: String,
    pub language: String,
    pub logo: Option<String>,
    pub article_template: String,
    pub section_template: String,
    pub author_template: String,
    pub tag_template: String,
    pub feed_items: u64,
}

impl Default for SiteSettings {
    fn default() -> Self {
        Self {
            public_url: None,
            name: "gazette".into(),
            language: "en".into(),
            logo: None,
            article_template: ARTICLE_TEMPLATE.into(),
            section_template: SECTION_TEMPLATE.into(),
            author_template: AUTHOR_TEMPLATE.into(),
            tag_template: TAG_TEMPLATE.into(),
            feed_items: 50,
        }
    }
}

/// The publication as its public formats describe it.
#[derive(Clone, Debug)]
pub struct Site {
    /// `https://news.example` (no trailing slash), when set.
    base: Option<String>,
    /// The publication's name (feeds' titles, JSON-LD's publisher, news sitemaps).
    pub name: String,
    /// Its language, a BCP 47 tag such as `en` or `pt-BR`.
    pub language: String,
    /// An absolute URL of its logo (JSON-LD's publisher), when set.
    pub logo: Option<String>,
    article: Template,
    section: Template,
    author: Template,
    tag: Template,
    /// How many articles a feed lists.
    pub feed_items: u64,
}

impl Default for Site {
    fn default() -> Self {
        Self::new(SiteSettings::default()).unwrap_or_else(|_| unreachable!("defaults are valid"))
    }
}

/// Whether `url` is an absolute `http`/`https` URL with a host, no query, no fragment.
fn check_base(what: &str, url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("{what} must start with https:// or http://, not {url:?}"))?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty()
        || url.contains(['?', '#', ' ', '"', '<', '>', '\\'])
        || url.chars().any(char::is_control)
    {
        return Err(format!(
            "{what} must be an absolute URL with a host and without a query or fragment, not {url:?}"
        ));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// Whether `tag` looks like a BCP 47 language tag (`en`, `pt-BR`, `zh-Hant-TW`).
fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let first = parts.next().unwrap_or("");
    (2..=3).contains(&first.len())
        && first.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

impl Site {
    /// Checks the settings; the message names the setting at fault.
    pub fn new(s: SiteSettings) -> Result<Self, String> {
        use Slot::*;
        let base = s
            .public_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(|u| check_base("GAZETTE_PUBLIC_URL", u))
            .transpose()?;
        let logo = s
            .logo
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(|u| check_base("GAZETTE_PUBLICATION_LOGO", u))
            .transpose()?;
        let name = s.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err("GAZETTE_PUBLICATION_NAME must be 1 to 200 characters of text".into());
        }
        if !is_language_tag(&s.language) {
            return Err(format!(
                "GAZETTE_PUBLICATION_LANGUAGE must be a language tag such as `en` or `pt-BR`, not {:?}",
                s.language
            ));
        }
        if !(1..=MAX_FEED_ITEMS).contains(&s.feed_items) {
            return Err(format!(
                "GAZETTE_FEED_ITEMS must be between 1 and {MAX_FEED_ITEMS}, not {}",
                s.feed_items
            ));
        }
        Ok(Self {
            base,
            name,
            language: s.language,
            logo,
            article: Template::parse(
                "GAZETTE_ARTICLE_URL",
                &s.article_template,
                &[SectionPath, Slug, Id, Year, Month, Day],
                &[&[Slug, Id]],
            )?,
            section: Template::parse(
                "GAZETTE_SECTION_URL",
                &s.section_template,
                &[SectionPath],
                &[&[SectionPath]],
            )?,
            author: Template::parse(
                "GAZETTE_AUTHOR_URL",
                &s.author_template,
                &[Slug],
                &[&[Slug]],
            )?,
            tag: Template::parse("GAZETTE_TAG_URL", &s.tag_template, &[Slug], &[&[Slug]])?,
            feed_items: s.feed_items,
        })
    }

    /// The public base URL, when set.
    pub fn base(&self) -> Option<&str> {
        self.base.as_deref()
    }

    /// The public base URL, or `NOT_FOUND` naming the setting that enables `what`.
    pub fn require_public(&self, what: &str) -> Result<&str> {
        self.base.as_deref().ok_or_else(|| {
            AppError::NotFound(format!(
                "{what} needs absolute URLs: set GAZETTE_PUBLIC_URL to the front end's base URL \
                 (e.g. https://news.example) to enable it"
            ))
        })
    }

    /// `path` below the public base URL.
    pub fn absolute(&self, path: &str) -> Option<String> {
        self.base.as_deref().map(|b| format!("{b}{path}"))
    }

    /// The page of an article filed in the section at `section_path`. Its date is the
    /// publication time (the scheduled or creation time before it has one).
    pub fn article_url(&self, a: &article::Model, section_path: &str) -> Option<String> {
        let when: DateTime<Utc> = a.published_at.or(a.scheduled_at).unwrap_or(a.created_at);
        self.article_url_of(a.id, &a.slug, when, section_path)
    }

    /// [`Site::article_url`] from the parts a URL is made of (for listings that read only
    /// those): the article's id and slug, its date and its section's path.
    pub fn article_url_of(
        &self,
        id: i32,
        slug: &str,
        when: DateTime<Utc>,
        section_path: &str,
    ) -> Option<String> {
        let base = self.base.as_deref()?;
        let path = self.article.render(|slot| match slot {
            Slot::SectionPath => section_path.to_owned(),
            Slot::Slug => slug.to_owned(),
            Slot::Id => id.to_string(),
            Slot::Year => format!("{:04}", when.year()),
            Slot::Month => format!("{:02}", when.month()),
            Slot::Day => format!("{:02}", when.day()),
        });
        Some(format!("{base}{path}"))
    }

    /// The longest URL an article page can have under this template (the longest slug and
    /// section path a slug allows), for budgets such as a sitemap page's 50 MB.
    pub fn longest_article_url(&self) -> Option<String> {
        let base = self.base.as_deref()?;
        let path = self.article.render(|slot| match slot {
            Slot::SectionPath => "a".repeat(4 * super::slug::MAX_LEN),
            Slot::Slug => "a".repeat(super::slug::MAX_LEN),
            Slot::Id => i32::MAX.to_string(),
            Slot::Year => "9999".into(),
            Slot::Month | Slot::Day => "12".into(),
        });
        Some(format!("{base}{path}"))
    }

    /// The page of the section at `path`.
    pub fn section_url(&self, path: &str) -> Option<String> {
        let base = self.base.as_deref()?;
        Some(format!(
            "{base}{}",
            self.section.render(|_| path.to_owned())
        ))
    }

    /// The page of the author with this slug.
    pub fn author_url(&self, slug: &str) -> Option<String> {
        let base = self.base.as_deref()?;
        Some(format!("{base}{}", self.author.render(|_| slug.to_owned())))
    }

    /// The page of the tag with this slug.
    pub fn tag_url(&self, slug: &str) -> Option<String> {
        let base = self.base.as_deref()?;
        Some(format!("{base}{}", self.tag.render(|_| slug.to_owned())))
    }

    /// The feed of `scope` in `format`.
    pub fn feed_url(&self, format: FeedFormat, scope: &FeedScope) -> Option<String> {
        self.absolute(&format!("{}{}", format.path(), scope.query()))
    }

    /// The three feeds of `scope`.
    pub fn feeds(&self, scope: &FeedScope) -> Option<FeedUrls> {
        Some(FeedUrls {
            rss: self.feed_url(FeedFormat::Rss, scope)?,
            atom: self.feed_url(FeedFormat::Atom, scope)?,
            json: self.feed_url(FeedFormat::Json, scope)?,
        })
    }

    /// What an absolute URL of an article page names, if it is one: the same host (either
    /// scheme), below the base path, matching the article template. A query string or
    /// fragment is ignored. Whether that article exists, and is at that URL, is the
    /// caller's to check (compare [`Site::article_url`]).
    pub fn read_article_url(&self, url: &str) -> Option<ArticleAddress> {
        let base = self.base.as_deref()?;
        let strip_scheme = |u: &str| {
            u.strip_prefix("https://")
                .or_else(|| u.strip_prefix("http://"))
                .map(str::to_owned)
        };
        let (base, url) = (strip_scheme(base)?, strip_scheme(url.trim())?);
        let url = url.split(['?', '#']).next().unwrap_or("");
        // Hosts compare without case; the path as written.
        let host_len = base.find('/').unwrap_or(base.len());
        if url.len() < base.len()
            || !url.is_char_boundary(host_len)
            || !url[..host_len].eq_ignore_ascii_case(&base[..host_len])
            || url.get(host_len..base.len()) != Some(&base[host_len..])
        {
            return None;
        }
        let path = &url[base.len()..];
        let mut out = ArticleAddress::default();
        for (slot, value) in self.article.read(path)? {
            match slot {
                Slot::Slug => out.slug = Some(value),
                Slot::Id => out.id = Some(value.parse().ok()?),
                _ => {}
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(article: &str) -> Site {
        Site::new(SiteSettings {
            public_url: Some("https://news.example/".into()),
            article_template: article.into(),
            ..SiteSettings::default()
        })
        .expect("valid")
    }

    fn article(slug: &str) -> article::Model {
        let at = DateTime::parse_from_rfc3339("2026-03-04T10:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        article::Model {
            id: 42,
            slug: slug.into(),
            headline: "h".into(),
            dek: None,
            body: serde_json::json!([]),
            word_count: 0,
            section_id: 1,
            status: article::ArticleStatus::Published,
            source_name: None,
            source_url: None,
            featured_image: None,
            created_at: at,
            updated_at: at,
            published_at: Some(at),
            scheduled_at: None,
            embargo_until: None,
            rights: None,
            not_for_syndication: false,
            version: 1,
        }
    }

    #[test]
    fn urls_follow_the_templates_and_read_back() {
        let s = site(ARTICLE_TEMPLATE);
        let url = s.article_url(&article("a-story"), "world/europe");
        assert_eq!(
            url.as_deref(),
            Some("https://news.example/world/europe/a-story")
        );
        let read = s.read_article_url("https://NEWS.example/world/europe/a-story?utm=x#top");
        assert_eq!(read.and_then(|a| a.slug).as_deref(), Some("a-story"));
        assert_eq!(
            s.read_article_url("https://other.example/world/a-story"),
            None
        );
        assert_eq!(s.read_article_url("https://news.example/"), None);
        assert_eq!(
            s.section_url("world").as_deref(),
            Some("https://news.example/world")
        );
        assert_eq!(
            s.author_url("ann").as_deref(),
            Some("https://news.example/authors/ann")
        );
        assert_eq!(
            s.tag_url("eu").as_deref(),
            Some("https://news.example/tags/eu")
        );

        let dated = site("/{year}/{month}/{day}/{slug}.html");
        let url = dated.article_url(&article("b"), "x");
        assert_eq!(
            url.as_deref(),
            Some("https://news.example/2026/03/04/b.html")
        );
        let read = dated.read_article_url("http://news.example/2026/03/04/b.html");
        assert_eq!(read.and_then(|a| a.slug).as_deref(), Some("b"));
        assert_eq!(
            dated.read_article_url("https://news.example/2026/3/04/b.html"),
            None
        );

        let by_id = site("/a/{id}");
        let read = by_id.read_article_url("https://news.example/a/42");
        assert_eq!(read.and_then(|a| a.id), Some(42));
    }

    #[test]
    fn bad_settings_are_refused_with_the_setting_named() {
        let bad = |f: fn(&mut SiteSettings)| {
            let mut s = SiteSettings::default();
            f(&mut s);
            Site::new(s).err().unwrap_or_default()
        };
        assert!(bad(|s| s.public_url = Some("news.example".into())).contains("GAZETTE_PUBLIC_URL"));
        assert!(
            bad(|s| s.public_url = Some("https://x.example/?a".into()))
                .contains("GAZETTE_PUBLIC_URL")
        );
        assert!(
            bad(|s| s.article_template = "/{section_path}".into()).contains("GAZETTE_ARTICLE_URL")
        );
        assert!(bad(|s| s.article_template = "/{nope}/{slug}".into()).contains("{nope}"));
        assert!(bad(|s| s.article_template = "{slug}".into()).contains("start with"));
        assert!(bad(|s| s.article_template = "/{year}{slug}".into()).contains("side by side"));
        assert!(bad(|s| s.tag_template = "/t/{section_path}".into()).contains("GAZETTE_TAG_URL"));
        assert!(bad(|s| s.language = "english!".into()).contains("GAZETTE_PUBLICATION_LANGUAGE"));
        assert!(bad(|s| s.feed_items = 0).contains("GAZETTE_FEED_ITEMS"));
        let none = Site::default();
        assert_eq!(none.article_url(&article("a"), "w"), None);
        assert!(none.require_public("the RSS feed").is_err());
    }
}
