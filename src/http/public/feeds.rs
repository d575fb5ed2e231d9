//! RSS 2.0, Atom 1.0 and JSON Feed 1.1 of the whole site, or of a section (with its
//! subsections), an author or a tag: the newest public articles with their full content.
//!
//! The listing is `domain::syndication::feed`; this module writes it in each format with
//! the maintained crates `rss` and `atom_syndication` (and serde for JSON Feed), then drops
//! every character XML 1.0 forbids, so a feed is well-formed whatever the content.
//!
//! An item's id (RSS `guid`, Atom `id`, JSON Feed `id`) is a `tag:` URI of the site's host
//! and the article's id, stable across edits, slug changes and template changes.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::domain::access::Caller;
use crate::domain::blocks;
use crate::domain::site::{FeedFormat, FeedScope, MAX_FEED_ITEMS, Site};
use crate::domain::syndication::{self, Feed, Item};
use crate::error::AppError;
use crate::http::cache_headers::{self, Caching};
use crate::http::error::Result;
use crate::http::rest::Problem;
use crate::http::rest::extract::Params;
use crate::state::AppState;

/// Media RSS, for an item's featured image.
const MEDIA_NS: &str = "http://search.yahoo.com/mrss/";

/// What a feed is of: at most one of `section`, `author`, `tag` (none: the whole site).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    /// A section's path; its subsections' articles are included.
    section: Option<String>,
    /// An author's slug.
    author: Option<String>,
    /// A tag's slug.
    tag: Option<String>,
    /// How many articles, 1 to 500 (the `GAZETTE_FEED_ITEMS` setting when absent).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

impl FeedParams {
    fn scope(&self) -> Result<FeedScope> {
        match (&self.section, &self.author, &self.tag) {
            (None, None, None) => Ok(FeedScope::Site),
            (Some(p), None, None) => Ok(FeedScope::Section(p.clone())),
            (None, Some(s), None) => Ok(FeedScope::Author(s.clone())),
            (None, None, Some(s)) => Ok(FeedScope::Tag(s.clone())),
            _ => Err(AppError::bad_input(
                "a feed is of one section, author or tag: give at most one of `section`, `author`, `tag`",
            )
            .into()),
        }
    }

    fn limit(&self, site: &Site) -> Result<u64> {
        match self.limit {
            None => Ok(site.feed_items),
            Some(n) if (1..=MAX_FEED_ITEMS as i64).contains(&n) => Ok(n as u64),
            Some(n) => Err(AppError::bad_input(format!(
                "`limit` must be between 1 and {MAX_FEED_ITEMS}, not {n}"
            ))
            .into()),
        }
    }
}

/// The newest public articles as RSS 2.0 (`content:encoded` full text, Media RSS image,
/// Dublin Core creators).
#[utoipa::path(get, path = "/feeds/rss.xml", tag = "public formats", params(FeedParams),
    responses(
        (status = 200, description = "The RSS 2.0 feed", content_type = "application/rss+xml", body = String),
        (status = 304, description = "Not modified"),
        (status = 404, description = "No such section, author or tag; or GAZETTE_PUBLIC_URL is not set", body = Problem),
        (status = 422, description = "Bad parameters", body = Problem)))]
pub async fn rss(
    State(s): State<AppState>,
    Params(p): Params<FeedParams>,
    headers: HeaderMap,
) -> Result<Response> {
    serve(&s, &p, &headers, FeedFormat::Rss).await
}

/// The newest public articles as Atom 1.0 (`content type="html"`).
#[utoipa::path(get, path = "/feeds/atom.xml", tag = "public formats", params(FeedParams),
    responses(
        (status = 200, description = "The Atom 1.0 feed", content_type = "application/atom+xml", body = String),
        (status = 304, description = "Not modified"),
        (status = 404, description = "No such section, author or tag; or GAZETTE_PUBLIC_URL is not set", body = Problem),
        (status = 422, description = "Bad parameters", body = Problem)))]
pub async fn atom(
    State(s): State<AppState>,
    Params(p): Params<FeedParams>,
    headers: HeaderMap,
) -> Result<Response> {
    serve(&s, &p, &headers, FeedFormat::Atom).await
}

/// The newest public articles as JSON Feed 1.1 (`content_html`).
#[utoipa::path(get, path = "/feeds/feed.json", tag = "public formats", params(FeedParams),
    responses(
        (status = 200, description = "The JSON Feed 1.1 document", content_type = "application/feed+json", body = Object),
        (status = 304, description = "Not modified"),
        (status = 404, description = "No such section, author or tag; or GAZETTE_PUBLIC_URL is not set", body = Problem),
        (status = 422, description = "Bad parameters", body = Problem)))]
pub async fn json(
    State(s): State<AppState>,
    Params(p): Params<FeedParams>,
    headers: HeaderMap,
) -> Result<Response> {
    serve(&s, &p, &headers, FeedFormat::Json).await
}

async fn serve(
    s: &AppState,
    p: &FeedParams,
    headers: &HeaderMap,
    format: FeedFormat,
) -> Result<Response> {
    let what = match format {
        FeedFormat::Rss => "the RSS feed",
        FeedFormat::Atom => "the Atom feed",
        FeedFormat::Json => "the JSON feed",
    };
    s.site.require_public(what)?;
    let scope = p.scope()?;
    let limit = p.limit(&s.site)?;
    let feed = syndication::feed(
        &s.db,
        s.response_cache.directory(),
        &s.rendered,
        &s.site,
        scope,
        limit,
        what,
    )
    .await?;
    let self_url = self_url(&s.site, format, &feed.scope, p.limit);
    let (bytes, content_type) = match format {
        FeedFormat::Rss => (
            xml_safe(rss_document(&s.site, &feed, &self_url)?),
            "application/rss+xml; charset=utf-8",
        ),
        FeedFormat::Atom => (
            xml_safe(atom_document(&s.site, &feed, &self_url)?),
            "application/atom+xml; charset=utf-8",
        ),
        FeedFormat::Json => (
            {
                let mut out = Vec::with_capacity(capacity(&feed));
                serde_json::to_writer(&mut out, &json_document(&s.site, &feed, &self_url))
                    .map_err(|e| AppError::Internal(e.into()))?;
                out
            },
            "application/feed+json; charset=utf-8",
        ),
    };
    // Public whatever token came with the request: a feed shows what anyone may read.
    let cx = Caching::of(s, &Caller::Anonymous, headers);
    let res =
        cache_headers::bytes_response(&cx, StatusCode::OK, bytes, content_type, &feed.keys, None);
    // The feed's time never goes backwards (see `syndication::Feed::updated`).
    Ok(cache_headers::with_last_modified(
        res,
        feed.updated,
        headers,
    ))
}

/// The feed's own URL, as a reader subscribes to it.
fn self_url(site: &Site, format: FeedFormat, scope: &FeedScope, limit: Option<i64>) -> String {
    let mut url = site.feed_url(format, scope).unwrap_or_default();
    if let Some(n) = limit {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&format!("limit={n}"));
    }
    url
}

/// The document without the characters XML 1.0 forbids (markup never holds them, so the
/// whole document is filtered at once).
fn xml_safe(text: String) -> Vec<u8> {
    match super::xml_chars(&text) {
        std::borrow::Cow::Borrowed(_) => text.into_bytes(),
        std::borrow::Cow::Owned(kept) => kept.into_bytes(),
    }
}

/// A stable id for an article: `tag:news.example,2026:article:42` (RFC 4151), from the
/// public URL's host and the year the article was created.
fn item_id(site: &Site, item: &Item) -> String {
    let host = site
        .base()
        .and_then(|b| b.split_once("://"))
        .map(|(_, rest)| rest.split(['/', ':']).next().unwrap_or(rest))
        .unwrap_or("localhost")
        .to_ascii_lowercase();
    format!(
        "tag:{host},{}:article:{}",
        item.article.created_at.format("%Y"),
        item.article.id
    )
}

/// The image's MIME type from its file name, when it says.
fn image_type(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next()?.to_ascii_lowercase();
    let ext = path.rsplit_once('.')?.1.to_owned();
    Some(match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "svg" => "image/svg+xml",
        _ => return None,
    })
}

/// The featured image of an item, if it has one.
fn featured(item: &Item) -> Option<blocks::Image> {
    item.article
        .featured_image
        .clone()
        .and_then(|v| serde_json::from_value(v).ok())
}

/// About how many bytes a feed's document takes, so that it is written into one buffer
/// instead of one grown (and copied) a dozen times.
fn capacity(feed: &Feed) -> usize {
    4096 + feed
        .items
        .iter()
        .map(|i| i.content_html.len() * 9 / 8 + 2048)
        .sum::<usize>()
}

/// The body as the sanitised HTML every format carries in full.
fn content_html(item: &Item) -> String {
    item.content_html.to_string()
}

fn rss_document(site: &Site, feed: &Feed, self_url: &str) -> Result<String> {
    use rss::extension::dublincore::DublinCoreExtension;
    use rss::extension::{Extension, ExtensionMap};

    let items = feed
        .items
        .iter()
        .map(|item| {
            let a = &item.article;
            let mut categories: Vec<rss::Category> = vec![rss::Category {
                name: item.section.name.clone(),
                domain: site.section_url(&item.section.path),
            }];
            categories.extend(item.tags.iter().map(|t| rss::Category {
                name: t.name.clone(),
                domain: site.tag_url(&t.slug),
            }));
            let mut extensions = ExtensionMap::default();
            if let Some(image) = featured(item) {
                let mut attrs = std::collections::BTreeMap::new();
                attrs.insert("url".to_owned(), image.url.clone());
                attrs.insert("medium".to_owned(), "image".to_owned());
                if let Some(t) = image_type(&image.url) {
                    attrs.insert("type".to_owned(), t.to_owned());
                }
                let mut children = std::collections::BTreeMap::new();
                let text = |name: &str,
                                value: &str,
                                children: &mut std::collections::BTreeMap<
                        String,
                        Vec<Extension>,
                    >| {
                        children.insert(
                            name.to_owned(),
                            vec![Extension {
                                name: format!("media:{name}"),
                                value: Some(value.to_owned()),
                                ..Extension::default()
                            }],
                        );
                    };
                if let Some(d) = image.caption.as_deref().or(image.alt.as_deref()) {
                    text("description", d, &mut children);
                }
                if let Some(c) = &image.credit {
                    text("credit", c, &mut children);
                }
                extensions.entry("media".to_owned()).or_default().insert(
                    "content".to_owned(),
                    vec![Extension {
                        name: "media:content".to_owned(),
                        value: None,
                        attrs,
                        children,
                    }],
                );
            }
            let mut dc = DublinCoreExtension {
                creators: item.authors.iter().map(|x| x.name.clone()).collect(),
                ..DublinCoreExtension::default()
            };
            if let Some(name) = &a.source_name {
                dc.sources = vec![match &a.source_url {
                    Some(url) => format!("{name} ({url})"),
                    None => name.clone(),
                }];
            }
            rss::Item {
                title: Some(a.headline.clone()),
                link: Some(item.url.clone()),
                description: a.dek.clone(),
                guid: Some(rss::Guid {
                    value: item_id(site, item),
                    permalink: false,
                }),
                pub_date: Some(item.public_at().to_rfc2822()),
                categories,
                content: Some(content_html(item)),
                extensions,
                dublin_core_ext: Some(dc),
                ..rss::Item::default()
            }
        })
        .collect();
    let mut namespaces = std::collections::BTreeMap::new();
    namespaces.insert("media".to_owned(), MEDIA_NS.to_owned());
    let channel = rss::Channel {
        title: feed.title.clone(),
        link: feed.link.clone(),
        description: feed.description.clone(),
        language: Some(site.language.clone()),
        last_build_date: Some(feed.updated.to_rfc2822()),
        pub_date: feed.items.first().map(|i| i.public_at().to_rfc2822()),
        generator: Some("gazette".to_owned()),
        docs: Some("https://www.rssboard.org/rss-specification".to_owned()),
        items,
        namespaces,
        atom_ext: Some(rss::extension::atom::AtomExtension {
            links: vec![atom_syndication::Link {
                href: self_url.to_owned(),
                rel: "self".to_owned(),
                mime_type: Some("application/rss+xml".to_owned()),
                ..atom_syndication::Link::default()
            }],
        }),
        ..rss::Channel::default()
    };
    let bytes = channel
        .write_to(Vec::with_capacity(capacity(feed)))
        .map_err(|e| AppError::Internal(anyhow::anyhow!("writing RSS: {e}")))?;
    String::from_utf8(bytes).map_err(|e| AppError::Internal(e.into()).into())
}

fn atom_time(t: DateTime<Utc>) -> atom_syndication::FixedDateTime {
    t.fixed_offset()
}

fn atom_document(site: &Site, feed: &Feed, self_url: &str) -> Result<String> {
    use atom_syndication::{Category, Content, Entry, Link, Person, Text};

    let entries = feed
        .items
        .iter()
        .map(|item| {
            let a = &item.article;
            let mut links = vec![Link {
                href: item.url.clone(),
                rel: "alternate".to_owned(),
                mime_type: Some("text/html".to_owned()),
                ..Link::default()
            }];
            if let Some(image) = featured(item) {
                links.push(Link {
                    href: image.url.clone(),
                    rel: "enclosure".to_owned(),
                    mime_type: image_type(&image.url).map(str::to_owned),
                    title: image.caption.clone().or(image.alt.clone()),
                    ..Link::default()
                });
            }
            if let Some(name) = &a.source_name {
                // RFC 4287: "via" names a source of the entry's information.
                if let Some(url) = &a.source_url {
                    links.push(Link {
                        href: url.clone(),
                        rel: "via".to_owned(),
                        title: Some(name.clone()),
                        ..Link::default()
                    });
                }
            }
            let mut categories = vec![Category {
                term: item.section.path.clone(),
                scheme: site.absolute("/sections"),
                label: Some(item.section.name.clone()),
            }];
            categories.extend(item.tags.iter().map(|t| Category {
                term: t.slug.clone(),
                scheme: site.absolute("/tags"),
                label: Some(t.name.clone()),
            }));
            Entry {
                title: Text::plain(a.headline.clone()),
                id: item_id(site, item),
                updated: atom_time(item.updated_at()),
                published: Some(atom_time(item.public_at())),
                authors: item
                    .authors
                    .iter()
                    .map(|x| Person {
                        name: x.name.clone(),
                        uri: site.author_url(&x.slug),
                        ..Person::default()
                    })
                    .collect(),
                categories,
                links,
                summary: a.dek.clone().map(Text::plain),
                rights: a
                    .source_name
                    .as_ref()
                    .map(|n| Text::plain(format!("Source: {n}"))),
                content: Some(Content {
                    content_type: Some("html".to_owned()),
                    value: Some(content_html(item)),
                    ..Content::default()
                }),
                ..Entry::default()
            }
        })
        .collect();
    let doc = atom_syndication::Feed {
        title: Text::plain(feed.title.clone()),
        id: self_url.to_owned(),
        updated: atom_time(feed.updated),
        // Every entry without a byline falls back on the publication.
        authors: vec![Person {
            name: site.name.clone(),
            uri: site.absolute("/"),
            ..Person::default()
        }],
        links: vec![
            Link {
                href: self_url.to_owned(),
                rel: "self".to_owned(),
                mime_type: Some("application/atom+xml".to_owned()),
                ..Link::default()
            },
            Link {
                href: feed.link.clone(),
                rel: "alternate".to_owned(),
                mime_type: Some("text/html".to_owned()),
                ..Link::default()
            },
        ],
        subtitle: Some(Text::plain(feed.description.clone())),
        lang: Some(site.language.clone()),
        logo: site.logo.clone(),
        generator: Some(atom_syndication::Generator {
            value: "gazette".to_owned(),
            ..atom_syndication::Generator::default()
        }),
        entries,
        ..atom_syndication::Feed::default()
    };
    let bytes = doc
        .write_to(Vec::with_capacity(capacity(feed)))
        .map_err(|e| AppError::Internal(anyhow::anyhow!("writing Atom: {e}")))?;
    String::from_utf8(bytes).map_err(|e| AppError::Internal(e.into()).into())
}

/// A JSON Feed 1.1 document (<https://www.jsonfeed.org/version/1.1/>).
#[derive(Serialize)]
struct JsonFeed {
    version: &'static str,
    title: String,
    home_page_url: String,
    feed_url: String,
    description: String,
    language: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    icon: Option<String>,
    authors: Vec<JsonAuthor>,
    items: Vec<JsonItem>,
}

#[derive(Serialize)]
struct JsonAuthor {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

#[derive(Serialize)]
struct JsonItem {
    id: String,
    url: String,
    title: String,
    content_html: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<String>,
    date_published: DateTime<Utc>,
    date_modified: DateTime<Utc>,
    authors: Vec<JsonAuthor>,
    tags: Vec<String>,
    language: String,
    /// The page of the outlet the story draws on (JSON Feed's `external_url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    external_url: Option<String>,
    /// The source credit, as an extension (`_`-prefixed, as JSON Feed asks).
    #[serde(rename = "_source", skip_serializing_if = "Option::is_none")]
    source: Option<JsonSource>,
}

#[derive(Serialize)]
struct JsonSource {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

fn json_document(site: &Site, feed: &Feed, self_url: &str) -> JsonFeed {
    let items = feed
        .items
        .iter()
        .map(|item| {
            let a = &item.article;
            let mut tags = vec![item.section.name.clone()];
            tags.extend(item.tags.iter().map(|t| t.name.clone()));
            JsonItem {
                id: item_id(site, item),
                url: item.url.clone(),
                title: a.headline.clone(),
                content_html: content_html(item),
                summary: a.dek.clone(),
                image: featured(item).map(|i| i.url),
                date_published: item.public_at(),
                date_modified: item.updated_at(),
                authors: item
                    .authors
                    .iter()
                    .map(|x| JsonAuthor {
                        name: x.name.clone(),
                        url: site.author_url(&x.slug),
                    })
                    .collect(),
                tags,
                language: site.language.clone(),
                external_url: a.source_url.clone(),
                source: a.source_name.clone().map(|name| JsonSource {
                    name,
                    url: a.source_url.clone(),
                }),
            }
        })
        .collect();
    JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: feed.title.clone(),
        home_page_url: feed.link.clone(),
        feed_url: self_url.to_owned(),
        description: feed.description.clone(),
        language: site.language.clone(),
        icon: site.logo.clone(),
        authors: vec![JsonAuthor {
            name: site.name.clone(),
            url: site.absolute("/"),
        }],
        items,
    }
}
