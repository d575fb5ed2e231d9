//! GraphQL object types. Each wraps one stored row and resolves its relations through the
//! request's loaders; none exposes an entity directly.

use crate::domain::invalidation::Key;
use async_graphql::{Context, ID, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use serde::Deserialize as _;

use super::blocks::Block;
use super::connection::{ArticleConnection, CommentConnection};
use super::loaders::{
    self, ArticleBody, ArticleRelations, CommentCount, Decisions, Loaders, RelatedOf, Replies,
    SectionById, SectionByPath, SectionChildren,
};
use super::surrogate_keys::note;
use crate::domain::articles;
use crate::domain::blocks::{self as body, Image as StoredImage};
use crate::domain::comments::CommentPageRequest;
use crate::domain::filter::{ArticleFilter, AuthorRef, TagRef};
use crate::domain::site::FeedScope;
use crate::domain::{access, content, ninjs, related, revisions, sections, structured};
use crate::entities::{article, article_revision, author, comment, comment_decision, section, tag};
use crate::error::AppError;
use crate::graphql::error::{GqlResultExt as _, IntoGraphql as _};

/// A section the response shows (noted for its surrogate keys).
pub(crate) fn section(ctx: &Context<'_>, m: section::Model) -> Section {
    note(ctx, || Key::Section(m.id));
    Section(m)
}

/// An author the response shows.
pub(crate) fn author(ctx: &Context<'_>, m: author::Model) -> Author {
    note(ctx, || Key::Author(m.id));
    Author(m)
}

/// A tag the response shows.
pub(crate) fn tag(ctx: &Context<'_>, m: tag::Model) -> Tag {
    note(ctx, || Key::Tag(m.id));
    Tag(m)
}

fn loader<'a>(ctx: &Context<'a>) -> Result<&'a Loaders> {
    ctx.data::<Loaders>()
}

/// Sections from the root down to `path`.
async fn breadcrumb(ctx: &Context<'_>, path: &str) -> Result<Vec<Section>> {
    let keys = sections::lineage(path).into_iter().map(SectionByPath);
    let mut found = loader(ctx)?
        .load_many(keys)
        .await
        .map_err(loaders::load_err)?;
    Ok(sections::lineage(path)
        .into_iter()
        .filter_map(|p| found.remove(&SectionByPath(p)))
        .map(|m| section(ctx, m))
        .collect())
}

/// `filter` narrowed to what the request's caller may see.
fn visible(ctx: &Context<'_>, filter: ArticleFilter) -> ArticleFilter {
    ArticleFilter {
        visibility: super::caller(ctx).visibility(),
        ..filter
    }
}

/// The feeds of a section, author or tag: absolute URLs of its RSS 2.0, Atom 1.0 and JSON
/// Feed 1.1 documents.
#[derive(SimpleObject)]
pub struct Feeds {
    pub rss: String,
    pub atom: String,
    pub json: String,
}

fn feeds(ctx: &Context<'_>, scope: FeedScope) -> Result<Option<Feeds>> {
    Ok(super::site(ctx)?.feeds(&scope).map(|f| Feeds {
        rss: f.rss,
        atom: f.atom,
        json: f.json,
    }))
}

/// A story.
pub struct Article(pub article::Model);

#[Object]
impl Article {
    /// Stable identifier.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Unique, URL-safe and stable once published.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// The headline, plain text.
    async fn headline(&self) -> &str {
        &self.0.headline
    }

    /// The standfirst under the headline, plain text.
    async fn dek(&self) -> Option<&str> {
        self.0.dek.as_deref()
    }

    /// The body, block by block.
    #[graphql(complexity = "50 * child_complexity")]
    async fn body(&self, ctx: &Context<'_>) -> Result<Vec<Block>> {
        Ok(self
            .blocks(ctx)
            .await?
            .into_iter()
            .map(Block::from)
            .collect())
    }

    /// The body rendered as HTML.
    async fn body_html(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(body::render_html(&self.blocks(ctx).await?))
    }

    /// The section it is filed in.
    async fn section(&self, ctx: &Context<'_>) -> Result<Section> {
        let found = loader(ctx)?
            .load_one(SectionById(self.0.section_id))
            .await
            .map_err(loaders::load_err)?;
        found.map(|m| section(ctx, m)).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("article {} has no section", self.0.id))
                .into_graphql()
        })
    }

    /// Its page on the front end: an absolute URL from `GAZETTE_PUBLIC_URL` and the article
    /// template (`null` when no public URL is set). Where it will be, for a draft.
    async fn url(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let site = super::site(ctx)?;
        if site.base().is_none() {
            return Ok(None);
        }
        let section = self.section(ctx).await?;
        Ok(site.article_url(&self.0, &section.0.path))
    }

    /// schema.org JSON-LD for the article's page: one document whose `@graph` holds a
    /// `NewsArticle` (headline, description, dates, authors as `Person`s with `jobTitle` and
    /// `url`, the publisher with its logo, image, section, keywords, word count, language,
    /// `isBasedOn` for a source credit) and the `BreadcrumbList` of its section path.
    /// The value is a JSON *string* holding the JSON text, to be dropped unchanged into
    /// `<script type="application/ld+json">`: `<`, `>`, `&`, U+2028 and U+2029 are written as
    /// `\u` escapes so that nothing in it can end the element (parse it to read it as an
    /// object). `null` when no public URL is set.
    async fn json_ld(&self, ctx: &Context<'_>) -> Result<Option<Json<String>>> {
        let site = super::site(ctx)?;
        if site.base().is_none() {
            return Ok(None);
        }
        let (lineage, authors, tags) = self.described(ctx).await?;
        let described = structured::Described {
            article: &self.0,
            lineage: &lineage,
            authors: &authors,
            tags: &tags,
        };
        Ok(structured::json_ld(site, &described).map(Json))
    }

    /// The article as an IPTC ninjs item: ninjs 2.1 by default, 3.1 with `version: 3`
    /// (the property names of the IPTC's schema files: 2.1 in lower case, 3.1 in camelCase).
    /// Its `uri` (`urn:gazette:article:{id}`) never changes. For editors and admins.
    async fn ninjs(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 2)] version: i32,
    ) -> Result<Json<serde_json::Value>> {
        access::check_can_receive_ninjs(super::caller(ctx)).gql()?;
        let version = ninjs::Version::parse(Some(i64::from(version))).gql()?;
        let (lineage, authors, tags) = self.described(ctx).await?;
        let described = structured::Described {
            article: &self.0,
            lineage: &lineage,
            authors: &authors,
            tags: &tags,
        };
        let body = self.blocks(ctx).await?;
        let html = crate::domain::blocks::render_html(&body);
        let item = ninjs::item(super::site(ctx)?, &described, &html, version).gql()?;
        crate::domain::partners::count_delivered(super::caller(ctx), 1);
        Ok(Json(item))
    }

    /// Its section and that section's ancestors, root first: `World » Middle East`.
    #[graphql(complexity = "5 * child_complexity")]
    async fn breadcrumb(&self, ctx: &Context<'_>) -> Result<Vec<Section>> {
        let section = self.section(ctx).await?;
        breadcrumb(ctx, &section.0.path).await
    }

    /// The byline, in order.
    #[graphql(complexity = "5 * child_complexity")]
    async fn authors(&self, ctx: &Context<'_>) -> Result<Vec<Author>> {
        let found = loader(ctx)?
            .load_one(ArticleRelations(self.0.id))
            .await
            .map_err(loaders::load_err)?;
        Ok(found
            .map(|r| r.authors.iter().map(|m| author(ctx, m.clone())).collect())
            .unwrap_or_default())
    }

    /// Key terms, in the editor's order.
    #[graphql(complexity = "10 * child_complexity")]
    async fn tags(&self, ctx: &Context<'_>) -> Result<Vec<Tag>> {
        let found = loader(ctx)?
            .load_one(ArticleRelations(self.0.id))
            .await
            .map_err(loaders::load_err)?;
        Ok(found
            .map(|r| r.tags.iter().map(|m| tag(ctx, m.clone())).collect())
            .unwrap_or_default())
    }

    /// Where it is in the workflow.
    async fn status(&self) -> super::enums::ArticleStatus {
        self.0.status.into()
    }

    /// When it was (first) published.
    async fn published_at(&self) -> Option<DateTime<Utc>> {
        self.0.published_at
    }

    /// When it is due to be published, while scheduled.
    async fn scheduled_at(&self) -> Option<DateTime<Utc>> {
        self.0.scheduled_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Bumped by every change; writes must name the version they were based on.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// Words of running text in the body.
    async fn word_count(&self) -> i32 {
        self.0.word_count
    }

    /// Minutes to read at 230 words a minute, at least one.
    async fn reading_time_minutes(&self) -> i32 {
        body::reading_time_minutes(self.0.word_count)
    }

    /// The outlet the story draws on: `Insights from <name>`.
    async fn source(&self) -> Option<Source> {
        self.0.source_name.as_ref().map(|name| Source {
            name: name.clone(),
            url: self.0.source_url.clone(),
        })
    }

    /// Until when the article stays hidden from readers once published (null when it is
    /// under no embargo). Only callers who may see it while embargoed ever read a time here:
    /// the server clears it when the time passes.
    async fn embargo_until(&self) -> Option<DateTime<Utc>> {
        self.0.embargo_until
    }

    /// The terms the story travels with to partners; null when none are set.
    async fn rights(&self) -> Option<Rights> {
        Rights::of(content::Rights::of(&self.0))
    }

    /// The lead image.
    async fn featured_image(&self) -> Result<Option<Image>> {
        let Some(json) = &self.0.featured_image else {
            return Ok(None);
        };
        let img = StoredImage::deserialize(json).map_err(|e| {
            AppError::Internal(anyhow::anyhow!("article {} featured image: {e}", self.0.id))
                .into_graphql()
        })?;
        Ok(Some(Image {
            url: img.url,
            alt: img.alt,
            caption: img.caption,
            credit: img.credit,
        }))
    }

    /// Approved comments, top-level ones oldest first, each with its replies. With the
    /// `viewToken` of an `addComment` receipt, the poster's own comment is included in its
    /// place while it waits for moderation (such answers are never cached).
    #[graphql(complexity = "crate::graphql::page_cost(first) * child_complexity")]
    async fn comments(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
        view_token: Option<String>,
    ) -> Result<CommentConnection> {
        let req = CommentPageRequest::new(self.0.id, first, after.as_deref()).gql()?;
        let has_previous = req.after.is_some();
        let page = loader(ctx)?
            .load_one(req)
            .await
            .map_err(loaders::load_err)?;
        let mut page = page.unwrap_or_default();
        if let Some(token) = view_token {
            super::surrogate_keys::no_store(ctx);
            let svc = super::comment_service(ctx)?;
            let db = super::db(ctx)?;
            crate::domain::comments::include_own(
                db,
                svc,
                &token,
                self.0.id,
                has_previous,
                &mut page,
            )
            .await
            .gql()?;
        }
        Ok(CommentConnection::new(page, has_previous))
    }

    /// Whether readers may comment now: published and public, not closed by an editor, and
    /// within the configured days after publication.
    async fn comments_open(&self, ctx: &Context<'_>) -> Result<bool> {
        let svc = super::comment_service(ctx)?;
        if !crate::domain::comments::posting::is_open(&svc.settings, &self.0, false) {
            return Ok(false);
        }
        let closed = loader(ctx)?
            .load_one(loaders::CommentsClosed(self.0.id))
            .await
            .map_err(loaders::load_err)?;
        Ok(!closed.unwrap_or(false))
    }

    /// Every saved change, newest first (editors, and writers on its byline).
    #[graphql(complexity = "50 * child_complexity")]
    async fn revisions(&self, ctx: &Context<'_>) -> Result<Vec<ArticleRevision>> {
        let db = super::db(ctx)?;
        let caller = super::caller(ctx);
        let allowed = access::editor_or_owner(db, caller, self.0.id).await.gql()?;
        if !allowed {
            let err = match caller {
                crate::domain::access::Caller::Anonymous => {
                    AppError::Unauthenticated("revisions need a newsroom token".into())
                }
                _ => AppError::Forbidden(
                    "revisions are for editors and the article's own writers".into(),
                ),
            };
            return Err(err.into_graphql());
        }
        Ok(revisions::list(db, self.0.id)
            .await
            .gql()?
            .into_iter()
            .map(ArticleRevision)
            .collect())
    }

    /// Published articles a reader may also like, best first: the ones editors chose, then
    /// the most related by tags, bylines, section, wording and time, each with its reasons.
    #[graphql(complexity = "limit.unwrap_or(5).clamp(0, 10) as usize * child_complexity")]
    pub(super) async fn related(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 5)] limit: Option<i32>,
    ) -> Result<Vec<RelatedArticle>> {
        let n = related::limit(limit).gql()?;
        let found = loader(ctx)?
            .load_one(RelatedOf(self.0.id))
            .await
            .map_err(loaders::load_err)?;
        Ok(found
            .unwrap_or_default()
            .into_iter()
            .take(n)
            .map(|r| {
                note(ctx, || Key::Article(r.article.id));
                RelatedArticle(r)
            })
            .collect())
    }

    /// How many approved comments it has, replies included.
    async fn comment_count(&self, ctx: &Context<'_>) -> Result<i32> {
        let n = loader(ctx)?
            .load_one(CommentCount(self.0.id))
            .await
            .map_err(loaders::load_err)?;
        Ok(i32::try_from(n.unwrap_or(0)).unwrap_or(i32::MAX))
    }
}

impl Article {
    /// The body's blocks; an article read by a listing, without its body, loads it.
    async fn blocks(&self, ctx: &Context<'_>) -> Result<Vec<body::Block>> {
        let bad = |e: serde_json::Error| {
            AppError::Internal(anyhow::anyhow!("article {} body: {e}", self.0.id)).into_graphql()
        };
        if !articles::lacks_body(&self.0) {
            return Vec::<body::Block>::deserialize(&self.0.body).map_err(bad);
        }
        let loaded = loader(ctx)?
            .load_one(ArticleBody(self.0.id))
            .await
            .map_err(loaders::load_err)?
            .ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("article {} has no body", self.0.id))
                    .into_graphql()
            })?;
        Vec::<body::Block>::deserialize(&loaded).map_err(bad)
    }
}

impl Article {
    /// The section lineage, byline and tags that JSON-LD and ninjs describe. Listings
    /// prefetch what this reads (`connection::prefetch`), so a page of articles costs the
    /// same statements whatever its length.
    async fn described(
        &self,
        ctx: &Context<'_>,
    ) -> Result<(Vec<section::Model>, Vec<author::Model>, Vec<tag::Model>)> {
        let (authors, tags) = tokio::join!(self.authors(ctx), self.tags(ctx));
        let authors: Vec<author::Model> = authors?.into_iter().map(|a| a.0).collect();
        let tags: Vec<tag::Model> = tags?.into_iter().map(|t| t.0).collect();
        let section = self.section(ctx).await?;
        let lineage: Vec<section::Model> = breadcrumb(ctx, &section.0.path)
            .await?
            .into_iter()
            .map(|s| s.0)
            .collect();
        Ok((lineage, authors, tags))
    }
}

/// Where a story draws on another outlet.
#[derive(SimpleObject)]
pub struct Source {
    pub name: String,
    pub url: Option<String>,
}

/// The terms a story travels with to partners.
#[derive(SimpleObject)]
pub struct Rights {
    /// What a partner may do with the story.
    pub usage_terms: Option<String>,
    pub copyright_holder: Option<String>,
    pub copyright_notice: Option<String>,
    /// Kept out of every partner route while it stays public.
    pub not_for_syndication: bool,
}

impl Rights {
    /// `None` when nothing is set.
    fn of(r: content::Rights) -> Option<Self> {
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

/// An image: an article's lead image.
#[derive(SimpleObject)]
pub struct Image {
    pub url: String,
    pub alt: Option<String>,
    pub caption: Option<String>,
    pub credit: Option<String>,
}

/// A section of the site; sections nest (`world/middle-east`).
pub struct Section(pub section::Model);

#[Object]
impl Section {
    /// Stable identifier.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Its page on the front end (`null` when no public URL is set).
    async fn url(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(super::site(ctx)?.section_url(&self.0.path))
    }

    /// Its feeds, with its subsections' articles (`null` when no public URL is set).
    async fn feeds(&self, ctx: &Context<'_>) -> Result<Option<Feeds>> {
        feeds(ctx, FeedScope::Section(self.0.path.clone()))
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Its own slug (`middle-east`).
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// Its full path from the root (`world/middle-east`).
    async fn path(&self) -> &str {
        &self.0.path
    }

    /// What the section covers.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// The section it sits in.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Section>> {
        let Some(parent) = self.0.parent_id else {
            return Ok(None);
        };
        let found = loader(ctx)?
            .load_one(SectionById(parent))
            .await
            .map_err(loaders::load_err)?;
        Ok(found.map(|m| section(ctx, m)))
    }

    /// Its subsections, in navigation order.
    #[graphql(complexity = "10 * child_complexity")]
    async fn children(&self, ctx: &Context<'_>) -> Result<Vec<Section>> {
        let found = loader(ctx)?
            .load_one(SectionChildren(self.0.id))
            .await
            .map_err(loaders::load_err)?;
        Ok(found
            .unwrap_or_default()
            .into_iter()
            .map(|m| section(ctx, m))
            .collect())
    }

    /// This section and its ancestors, root first.
    #[graphql(complexity = "5 * child_complexity")]
    async fn breadcrumb(&self, ctx: &Context<'_>) -> Result<Vec<Section>> {
        breadcrumb(ctx, &self.0.path).await
    }

    /// Published articles of this section and its subsections, newest first.
    #[graphql(complexity = "crate::graphql::page_cost(first) * child_complexity")]
    async fn articles(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> Result<ArticleConnection> {
        let filter = visible(
            ctx,
            ArticleFilter {
                section: Some(self.0.path.clone()),
                ..Default::default()
            },
        );
        ArticleConnection::query(ctx, filter, first, after).await
    }
}

/// A person on the byline.
pub struct Author(pub author::Model);

#[Object]
impl Author {
    /// Stable identifier.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Its page on the front end (`null` when no public URL is set).
    async fn url(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(super::site(ctx)?.author_url(&self.0.slug))
    }

    /// Its feeds (`null` when no public URL is set).
    async fn feeds(&self, ctx: &Context<'_>) -> Result<Option<Feeds>> {
        feeds(ctx, FeedScope::Author(self.0.slug.clone()))
    }

    /// Full name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Unique, URL-safe.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// Newsroom title shown in the byline: "World Editor".
    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }

    /// A short biography.
    async fn bio(&self) -> Option<&str> {
        self.0.bio.as_deref()
    }

    /// Portrait URL.
    async fn avatar_url(&self) -> Option<&str> {
        self.0.avatar_url.as_deref()
    }

    /// Published articles with this author on the byline, newest first.
    #[graphql(complexity = "crate::graphql::page_cost(first) * child_complexity")]
    async fn articles(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> Result<ArticleConnection> {
        let filter = visible(
            ctx,
            ArticleFilter {
                author: Some(AuthorRef::Id(self.0.id)),
                ..Default::default()
            },
        );
        ArticleConnection::query(ctx, filter, first, after).await
    }
}

/// An article a reader may also like, and why.
pub struct RelatedArticle(pub related::Related);

#[Object]
impl RelatedArticle {
    /// The related article.
    async fn article(&self) -> Article {
        Article(self.0.article.clone())
    }

    /// How related it is: higher is closer; comparable within one list.
    async fn score(&self) -> f64 {
        self.0.score
    }

    /// Why it was chosen, in words, most telling first (for example `3 shared tags: …`,
    /// `same section: World`, `similar wording: …`, `chosen by the editors`).
    async fn reasons(&self) -> &[String] {
        &self.0.reasons
    }
}

/// A key term.
pub struct Tag(pub tag::Model);

#[Object]
impl Tag {
    /// Stable identifier.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Its page on the front end (`null` when no public URL is set).
    async fn url(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(super::site(ctx)?.tag_url(&self.0.slug))
    }

    /// Its feeds (`null` when no public URL is set).
    async fn feeds(&self, ctx: &Context<'_>) -> Result<Option<Feeds>> {
        feeds(ctx, FeedScope::Tag(self.0.slug.clone()))
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Unique, URL-safe.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// Published articles with this tag, newest first.
    #[graphql(complexity = "crate::graphql::page_cost(first) * child_complexity")]
    async fn articles(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> Result<ArticleConnection> {
        let filter = visible(
            ctx,
            ArticleFilter {
                tags: vec![TagRef::Id(self.0.id)],
                ..Default::default()
            },
        );
        ArticleConnection::query(ctx, filter, first, after).await
    }
}

/// A reader's comment.
pub struct Comment(pub comment::Model);

#[Object]
impl Comment {
    /// Stable identifier.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The comment this one replies to.
    async fn parent_id(&self) -> Option<ID> {
        self.0.parent_id.map(|p| ID(p.to_string()))
    }

    /// The name the reader gave.
    async fn author_name(&self) -> &str {
        &self.0.author_name
    }

    /// The comment, plain text.
    async fn body(&self) -> &str {
        &self.0.body
    }

    /// The comment as safe HTML: paragraphs, line breaks, and links with
    /// `rel="nofollow ugc noopener"`; nothing else.
    async fn body_html(&self) -> String {
        match &self.0.body_html {
            Some(h) => h.clone(),
            None => crate::domain::comments::text::render(&self.0.body),
        }
    }

    /// The email the commenter gave (editors only; null for everyone else).
    async fn author_email(&self, ctx: &Context<'_>) -> Option<&str> {
        super::caller(ctx)
            .is_editor()
            .then_some(self.0.author_email.as_deref())
            .flatten()
    }

    /// The spam score at posting (editors only).
    async fn score(&self, ctx: &Context<'_>) -> Option<i32> {
        super::caller(ctx).is_editor().then_some(self.0.score)
    }

    /// Why it scored so, in words (editors only).
    async fn reasons(&self, ctx: &Context<'_>) -> Option<Vec<String>> {
        if !super::caller(ctx).is_editor() {
            return None;
        }
        Some(
            self.0
                .reasons
                .as_deref()
                .and_then(|r| serde_json::from_str(r).ok())
                .unwrap_or_default(),
        )
    }

    /// The article it is on (its id).
    async fn article_id(&self) -> ID {
        ID(self.0.article_id.to_string())
    }

    /// When it was posted.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Its moderation state.
    async fn status(&self) -> super::enums::CommentStatus {
        self.0.status.into()
    }

    /// Approved replies, oldest first.
    #[graphql(complexity = "20 * child_complexity")]
    async fn replies(&self, ctx: &Context<'_>) -> Result<Vec<Comment>> {
        let found = loader(ctx)?
            .load_one(Replies(self.0.id))
            .await
            .map_err(loaders::load_err)?;
        Ok(found.unwrap_or_default().into_iter().map(Comment).collect())
    }

    /// Every moderation decision on it, oldest first: who, when, from what status to what,
    /// and the note (editors only; null for everyone else, like `reasons`, so that one
    /// fragment serves every caller and a reader's page never fails on it).
    #[graphql(complexity = "10 * child_complexity")]
    async fn moderation(&self, ctx: &Context<'_>) -> Result<Option<Vec<CommentDecision>>> {
        if !super::caller(ctx).is_editor() {
            return Ok(None);
        }
        let found = loader(ctx)?
            .load_one(Decisions(self.0.id))
            .await
            .map_err(loaders::load_err)?;
        Ok(Some(
            found
                .unwrap_or_default()
                .into_iter()
                .map(CommentDecision)
                .collect(),
        ))
    }
}

/// One moderation decision on a comment (editors).
pub struct CommentDecision(pub comment_decision::Model);

impl CommentDecision {
    fn status(s: &str) -> Result<super::enums::CommentStatus> {
        crate::domain::CommentStatus::parse(s)
            .map(Into::into)
            .ok_or_else(|| {
                AppError::internal(format!("a decision holds the status {s:?}")).into_graphql()
            })
    }
}

#[Object]
impl CommentDecision {
    /// Who decided: the editor's account (`sub`).
    async fn actor(&self) -> &str {
        &self.0.actor
    }

    /// When.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }

    /// The status before.
    #[expect(
        clippy::wrong_self_convention,
        reason = "a resolver: the field is `fromStatus`, as `from_status` in REST"
    )]
    async fn from_status(&self) -> Result<super::enums::CommentStatus> {
        Self::status(&self.0.from_status)
    }

    /// The status after.
    async fn to_status(&self) -> Result<super::enums::CommentStatus> {
        Self::status(&self.0.to_status)
    }

    /// Why, as the editor wrote it.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    /// What the decision was reported to the external spam checker as (`spam` or `ham`),
    /// when one is configured.
    async fn reported(&self) -> Option<&str> {
        self.0.reported.as_deref()
    }
}

/// One saved change of an article: who made it, when, and the article as it left it.
pub struct ArticleRevision(pub article_revision::Model);

impl ArticleRevision {
    fn snapshot(&self) -> Result<revisions::Snapshot> {
        revisions::Snapshot::deserialize(&self.0.snapshot).map_err(|e| {
            AppError::Internal(anyhow::anyhow!("revision {}: {e}", self.0.id)).into_graphql()
        })
    }
}

#[Object]
impl ArticleRevision {
    /// The article's version after this change.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// What happened: `create`, `update`, `submit`, `publish`, `restore 3`, `import`, …
    async fn action(&self) -> &str {
        &self.0.action
    }

    /// The account that made the change; null for imports and the scheduler.
    async fn actor(&self) -> Option<&str> {
        self.0.actor.as_deref()
    }

    /// When it was saved.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The headline at this revision.
    async fn headline(&self) -> Result<String> {
        Ok(self.snapshot()?.headline)
    }

    /// The dek at this revision.
    async fn dek(&self) -> Result<Option<String>> {
        Ok(self.snapshot()?.dek)
    }

    /// The status at this revision.
    async fn status(&self) -> Result<super::enums::ArticleStatus> {
        Ok(self.snapshot()?.status.into())
    }

    /// The body at this revision.
    #[graphql(complexity = "50 * child_complexity")]
    async fn body(&self) -> Result<Vec<Block>> {
        Ok(self.snapshot()?.body.into_iter().map(Block::from).collect())
    }

    /// The embargo at this revision.
    async fn embargo_until(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(self.snapshot()?.embargo_until)
    }

    /// The rights at this revision; null when none were set.
    async fn rights(&self) -> Result<Option<Rights>> {
        Ok(Rights::of(self.snapshot()?.rights))
    }
}
