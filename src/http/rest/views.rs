//! The JSON shapes of the REST API (snake_case), built from stored rows with every relation
//! loaded in one statement per kind for a whole page.

use crate::domain::invalidation::Key;
use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::domain::blocks::{self, Block};
use crate::domain::directory::Directory;
use crate::domain::site::{FeedScope, Site};
use crate::domain::{ArticleStatus, articles, comments, sections, structured};
use crate::entities::{article, author, section, tag};
use crate::error::AppError;
use crate::http::error::Result;

/// A section, with its place in the tree.
#[derive(Serialize, ToSchema)]
pub struct SectionView {
    pub id: i32,
    pub name: String,
    pub slug: String,
    /// Full path from the root: `world/middle-east`.
    pub path: String,
    pub description: Option<String>,
    pub parent_path: Option<String>,
    /// Its page on the front end (null when no public URL is set).
    pub url: Option<String>,
    /// Its feeds, with its subsections' articles (null when no public URL is set).
    pub feeds: Option<FeedUrls>,
}

/// A section with its subsections (recursively) and breadcrumb.
#[derive(Serialize, ToSchema)]
pub struct SectionTree {
    #[serde(flatten)]
    pub section: SectionView,
    /// This section and its ancestors, root first.
    pub breadcrumb: Vec<SectionView>,
    #[schema(no_recursion)]
    pub children: Vec<SectionTree>,
}

/// A byline author.
#[derive(Serialize, ToSchema)]
pub struct AuthorView {
    pub id: i32,
    pub name: String,
    pub slug: String,
    /// Newsroom title: "World Editor".
    pub title: Option<String>,
    pub bio: Option<String>,
    pub avatar_url: Option<String>,
    /// Its page on the front end (null when no public URL is set).
    pub url: Option<String>,
    /// Its feeds (null when no public URL is set).
    pub feeds: Option<FeedUrls>,
}

/// A tag.
#[derive(Serialize, ToSchema)]
pub struct TagView {
    pub id: i32,
    pub name: String,
    pub slug: String,
    /// Its page on the front end (null when no public URL is set).
    pub url: Option<String>,
    /// Its feeds (null when no public URL is set).
    pub feeds: Option<FeedUrls>,
}

/// Absolute URLs of the RSS 2.0, Atom 1.0 and JSON Feed 1.1 documents of a listing.
#[derive(Serialize, ToSchema)]
pub struct FeedUrls {
    pub rss: String,
    pub atom: String,
    pub json: String,
}

impl FeedUrls {
    fn of(site: &Site, scope: FeedScope) -> Option<Self> {
        site.feeds(&scope).map(|f| Self {
            rss: f.rss,
            atom: f.atom,
            json: f.json,
        })
    }
}

/// The outlet a story draws on.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct SourceView {
    pub name: String,
    pub url: Option<String>,
}

/// The terms a story travels with to partners (in a write, it replaces them whole).
#[derive(Serialize, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RightsView {
    /// What a partner may do with the story.
    #[serde(default)]
    pub usage_terms: Option<String>,
    #[serde(default)]
    pub copyright_holder: Option<String>,
    #[serde(default)]
    pub copyright_notice: Option<String>,
    /// Kept out of every partner route while it stays public.
    #[serde(default)]
    pub not_for_syndication: bool,
}

impl From<RightsView> for crate::domain::content::Rights {
    fn from(r: RightsView) -> Self {
        Self {
            usage_terms: r.usage_terms,
            copyright_holder: r.copyright_holder,
            copyright_notice: r.copyright_notice,
            not_for_syndication: r.not_for_syndication,
        }
    }
}

impl RightsView {
    /// The article's rights; `None` when none are set.
    pub fn of(a: &article::Model) -> Option<Self> {
        Self::from_rights(crate::domain::content::Rights::of(a))
    }

    /// `None` when nothing is set.
    pub fn from_rights(r: crate::domain::content::Rights) -> Option<Self> {
        if r.is_empty() {
            return None;
        }
        Some(Self {
            usage_terms: r.usage_terms,
            copyright_holder: r.copyright_holder,
            copyright_notice: r.copyright_notice,
            not_for_syndication: r.not_for_syndication,
        })
    }
}

/// An article. `body`, `body_html`, `breadcrumb` and `json_ld` are present on single reads only.
#[derive(Serialize, ToSchema)]
pub struct ArticleView {
    pub id: i32,
    pub slug: String,
    pub headline: String,
    pub dek: Option<String>,
    /// Its page on the front end (null when no public URL is set).
    pub url: Option<String>,
    #[schema(value_type = String, example = "PUBLISHED")]
    pub status: ArticleStatus,
    pub section: SectionView,
    pub authors: Vec<AuthorView>,
    pub tags: Vec<TagView>,
    /// Body blocks in the one-of shape clients send: `{"paragraph": {"html": "…"}}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub body: Option<Vec<Block>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_html: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breadcrumb: Option<Vec<SectionView>>,
    /// schema.org JSON-LD for the article's page (a `NewsArticle` and the `BreadcrumbList`
    /// of its section path in one `@graph`), as JSON *text* in a string: drop it unchanged
    /// into `<script type="application/ld+json">` (`<`, `>`, `&`, U+2028 and U+2029 are
    /// `\u` escapes). Null when no public URL is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub json_ld: Option<Option<String>>,
    pub word_count: i32,
    pub reading_time_minutes: i32,
    pub source: Option<SourceView>,
    #[schema(value_type = Option<Object>)]
    pub featured_image: Option<Value>,
    pub comment_count: i64,
    pub published_at: Option<DateTime<Utc>>,
    pub scheduled_at: Option<DateTime<Utc>>,
    /// Until when the article stays hidden from readers once published; null when it is
    /// under no embargo (the server clears it when the time passes).
    pub embargo_until: Option<DateTime<Utc>>,
    pub rights: Option<RightsView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; send it back as `expected_version` (or `If-Match`).
    pub version: i32,
}

/// A page of a listing.
#[derive(Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub data: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

impl SectionView {
    /// The view of `s`, with its URLs on `site`.
    pub fn new(s: section::Model, site: &Site) -> Self {
        let parent_path = s.path.rsplit_once('/').map(|(p, _)| p.to_owned());
        Self {
            url: site.section_url(&s.path),
            feeds: FeedUrls::of(site, FeedScope::Section(s.path.clone())),
            id: s.id,
            name: s.name,
            slug: s.slug,
            path: s.path,
            description: s.description,
            parent_path,
        }
    }
}

impl AuthorView {
    /// The view of `a`, with its URLs on `site`.
    pub fn new(a: author::Model, site: &Site) -> Self {
        Self {
            url: site.author_url(&a.slug),
            feeds: FeedUrls::of(site, FeedScope::Author(a.slug.clone())),
            id: a.id,
            name: a.name,
            slug: a.slug,
            title: a.title,
            bio: a.bio,
            avatar_url: a.avatar_url,
        }
    }
}

impl TagView {
    /// The view of `t`, with its URLs on `site`.
    pub fn new(t: tag::Model, site: &Site) -> Self {
        Self {
            url: site.tag_url(&t.slug),
            feeds: FeedUrls::of(site, FeedScope::Tag(t.slug.clone())),
            id: t.id,
            name: t.name,
            slug: t.slug,
        }
    }
}

/// Cache keys a CDN can purge by: `a12`, `s3`, `u4` (author), `t5`.
#[derive(Default)]
pub struct Keys(pub BTreeSet<Key>);

impl Keys {
    pub fn article(&mut self, v: &ArticleView) {
        self.0.insert(Key::Article(v.id));
        self.0.insert(Key::Section(v.section.id));
        // The breadcrumb shows the ancestors' names.
        for s in v.breadcrumb.iter().flatten() {
            self.0.insert(Key::Section(s.id));
        }
        for a in &v.authors {
            self.0.insert(Key::Author(a.id));
        }
        for t in &v.tags {
            self.0.insert(Key::Tag(t.id));
        }
    }
}

/// Builds views of `rows` with their relations, a statement per kind for the whole set.
pub async fn articles(
    db: &DatabaseConnection,
    directory: &Directory,
    site: &Site,
    rows: Vec<article::Model>,
    full: bool,
) -> Result<Vec<ArticleView>> {
    let ids: Vec<i32> = rows.iter().map(|a| a.id).collect();
    let section_ids: Vec<i32> = rows.iter().map(|a| a.section_id).collect();
    let sections = directory.sections_by_ids(db, &section_ids).await?;
    let mut relations = directory.relations(db, &ids).await?;
    let counts = comments::approved_counts(db, &ids).await?;
    // Only a full view shows the body; rows read by a listing come without it.
    let missing: Vec<i32> = if full {
        rows.iter()
            .filter(|a| articles::lacks_body(a))
            .map(|a| a.id)
            .collect()
    } else {
        Vec::new()
    };
    let mut bodies = articles::bodies(db, &missing).await?;
    let crumbs = if full {
        let paths: Vec<String> = sections
            .values()
            .flat_map(|s| sections::lineage(&s.path))
            .collect();
        directory.sections_by_paths(db, &paths).await?
    } else {
        HashMap::new()
    };
    rows.into_iter()
        .map(|a| {
            let internal = |w: &str| AppError::Internal(anyhow::anyhow!("article {}: {w}", a.id));
            let section = sections
                .get(&a.section_id)
                .cloned()
                .ok_or_else(|| internal("no section"))?;
            let body: Option<Vec<Block>> = if full {
                let stored = bodies.remove(&a.id).unwrap_or_else(|| a.body.clone());
                Some(serde_json::from_value(stored).map_err(|e| internal(&e.to_string()))?)
            } else {
                None
            };
            let breadcrumb = full.then(|| {
                sections::lineage(&section.path)
                    .into_iter()
                    .filter_map(|p| crumbs.get(&p).cloned().map(|s| SectionView::new(s, site)))
                    .collect()
            });
            let rel = relations.remove(&a.id).unwrap_or_default();
            let json_ld = full.then(|| {
                let lineage: Vec<section::Model> = sections::lineage(&section.path)
                    .into_iter()
                    .filter_map(|p| crumbs.get(&p).cloned())
                    .collect();
                structured::json_ld(
                    site,
                    &structured::Described {
                        article: &a,
                        lineage: &lineage,
                        authors: &rel.authors,
                        tags: &rel.tags,
                    },
                )
            });
            Ok(ArticleView {
                id: a.id,
                url: site.article_url(&a, &section.path),
                status: a.status,
                section: SectionView::new(section, site),
                authors: rel
                    .authors
                    .into_iter()
                    .map(|x| AuthorView::new(x, site))
                    .collect(),
                tags: rel
                    .tags
                    .into_iter()
                    .map(|x| TagView::new(x, site))
                    .collect(),
                body_html: body.as_deref().map(blocks::render_html),
                body,
                breadcrumb,
                json_ld,
                word_count: a.word_count,
                reading_time_minutes: blocks::reading_time_minutes(a.word_count),
                source: a.source_name.clone().map(|name| SourceView {
                    name,
                    url: a.source_url.clone(),
                }),
                featured_image: a.featured_image.clone(),
                embargo_until: a.embargo_until,
                rights: RightsView::of(&a),
                comment_count: counts.get(&a.id).copied().unwrap_or(0),
                slug: a.slug,
                headline: a.headline,
                dek: a.dek,
                published_at: a.published_at,
                scheduled_at: a.scheduled_at,
                created_at: a.created_at,
                updated_at: a.updated_at,
                version: a.version,
            })
        })
        .collect()
}
