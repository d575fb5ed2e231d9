//! The query root: what readers, front ends and partners can ask for.

use super::connection::{ArticleConnection, AuthorConnection};
use super::partners::Partner;
use super::search::SearchConnection;
use super::surrogate_keys::{no_store, note, note_lists};
use super::types::{Article, Author, RelatedArticle, Section, Tag, author, section, tag};
use super::webhooks::Webhook;
use super::{caller, db, directory};
use crate::domain::articles;
use crate::domain::filter::FilterInput;
use crate::domain::invalidation::Key;
use crate::domain::search::SearchRequest;
use crate::domain::{access, authors, related};
use crate::error::AppError;
use crate::graphql::error::GqlResultExt as _;
use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};

/// Narrows an article listing; every field given must match.
#[derive(InputObject, Default)]
#[graphql(name = "ArticleFilter")]
pub struct ArticleFilterInput {
    /// A section path; its subsections are included (`world` lists `world/middle-east`).
    pub section: Option<String>,
    /// An author's slug.
    pub author: Option<String>,
    /// A tag's slug; it must be on the article.
    pub tag: Option<String>,
    /// Tags' slugs (at most 20), combined as `tagsMatch` says.
    pub tags: Option<Vec<String>>,
    /// Whether `tags` needs any one of them (the default) or all of them.
    pub tags_match: Option<super::enums::TagMatch>,
    /// A workflow status. Readers without a token only ever see `PUBLISHED`; writers see
    /// their own articles in every status, editors everything.
    pub status: Option<super::enums::ArticleStatus>,
    /// Published strictly after this time.
    pub published_after: Option<DateTime<Utc>>,
    /// Published strictly before this time.
    pub published_before: Option<DateTime<Utc>>,
}

impl ArticleFilterInput {
    /// The domain's form of this input.
    pub fn into_domain(self) -> FilterInput {
        FilterInput {
            section: self.section,
            author: self.author,
            tag: self.tag,
            tags: self.tags.unwrap_or_default(),
            tags_match: self.tags_match.map(Into::into).unwrap_or_default(),
            status: self.status.map(Into::into),
            published_after: self.published_after,
            published_before: self.published_before,
        }
    }
}

/// Everything readable.
pub struct QueryRoot;

#[Object]
impl QueryRoot {
    /// The moderation queue (editors): comments of one status (default `PENDING`), oldest
    /// first, with their scores and reasons; `article` is a slug.
    #[graphql(complexity = "crate::graphql::page_cost(first) * child_complexity")]
    async fn comment_queue(
        &self,
        ctx: &Context<'_>,
        status: Option<super::enums::CommentStatus>,
        article: Option<String>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> Result<super::connection::CommentConnection> {
        no_store(ctx);
        let req = crate::domain::comments::moderation::QueueRequest {
            status: status.map_or(crate::domain::CommentStatus::Pending, Into::into),
            article,
            first,
            after: after.clone(),
        };
        let page = crate::domain::comments::moderation::queue(db(ctx)?, caller(ctx), &req)
            .await
            .gql()?;
        Ok(super::connection::CommentConnection::new(
            page,
            after.is_some(),
        ))
    }

    /// One article, by `slug` or by `id` (give exactly one). Unpublished articles are
    /// visible to their writers and to editors, or to anyone with a `previewToken` for them.
    async fn article(
        &self,
        ctx: &Context<'_>,
        slug: Option<String>,
        id: Option<ID>,
        preview_token: Option<String>,
    ) -> Result<Option<Article>> {
        let db = db(ctx)?;
        let found = match (slug, id) {
            (Some(slug), None) => articles::find_by_slug(db, &slug).await,
            (None, Some(id)) => match id.parse::<i32>() {
                Ok(id) => articles::find_by_id(db, id).await,
                Err(_) => Err(AppError::bad_input("`id` is not an article id")),
            },
            _ => Err(AppError::bad_input("give exactly one of `slug` and `id`")),
        };
        if preview_token.is_some() {
            no_store(ctx);
        }
        let Some(a) = found.gql()? else {
            note_lists(ctx);
            return Ok(None);
        };
        note(ctx, || Key::Article(a.id));
        note(ctx, || Key::Section(a.section_id));
        let visible = access::read_article(db, caller(ctx), a, preview_token.as_deref())
            .await
            .gql()?;
        if visible.is_none() {
            // Not visible yet: publishing it touches its key, and the listings key covers
            // a slug that a later article takes.
            note_lists(ctx);
        }
        Ok(visible.map(Article))
    }

    /// The article an old URL (from a WordPress or Ghost import) now belongs to, for a front
    /// end to answer the old link with a permanent redirect to the article's `url`. Matches
    /// on the URL's path (scheme, host, trailing slash, fragment and tracking parameters
    /// ignored; WordPress's `?p=42` finds post 42). `null` when no article had that URL, or
    /// the caller may not see it: a draft's old URL reveals nothing to readers.
    async fn article_by_old_url(&self, ctx: &Context<'_>, url: String) -> Result<Option<Article>> {
        let db = db(ctx)?;
        if url.len() > crate::domain::origins::MAX_URL_BYTES {
            return Err(AppError::bad_input("`url` is too long")).gql();
        }
        let Some(id) = crate::domain::origins::article_by_old_url(db, &url)
            .await
            .gql()?
        else {
            note_lists(ctx);
            return Ok(None);
        };
        let Some(a) = articles::find_by_id(db, id).await.gql()? else {
            note_lists(ctx);
            return Ok(None);
        };
        note(ctx, || Key::Article(a.id));
        note(ctx, || Key::Section(a.section_id));
        let visible = access::read_article(db, caller(ctx), a, None).await.gql()?;
        if visible.is_none() {
            note_lists(ctx);
        }
        Ok(visible.map(Article))
    }

    /// Articles, newest first. At most 100 a page.
    #[graphql(complexity = "crate::graphql::page_cost(first) * child_complexity")]
    async fn articles(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
        filter: Option<ArticleFilterInput>,
    ) -> Result<ArticleConnection> {
        let filter = filter
            .unwrap_or_default()
            .into_domain()
            .into_filter(caller(ctx).visibility())
            .gql()?;
        ArticleConnection::query(ctx, filter, first, after).await
    }

    /// Articles matching `query`, most relevant first (a headline match weighs most).
    /// Words must all appear; `"quoted words"` must appear together; `word*` matches words
    /// starting so; `-word` excludes; `a OR b` takes either. Readers without a token find
    /// published articles only. Results go 1000 deep.
    #[graphql(complexity = "crate::graphql::page_cost(first) * child_complexity")]
    async fn search(
        &self,
        ctx: &Context<'_>,
        query: String,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
        filter: Option<ArticleFilterInput>,
    ) -> Result<SearchConnection> {
        let filter = filter
            .unwrap_or_default()
            .into_domain()
            .into_filter(caller(ctx).visibility())
            .gql()?;
        let req = SearchRequest::new(&query, filter, first, after.as_deref()).gql()?;
        SearchConnection::load(ctx, req).await
    }

    /// The published articles related to the article `slug`, pinned ones first, each with
    /// its score and reasons; empty when the article is not visible to the caller.
    #[graphql(complexity = "limit.unwrap_or(5).clamp(0, 10) as usize * child_complexity")]
    async fn related_articles(
        &self,
        ctx: &Context<'_>,
        slug: String,
        #[graphql(default = 5)] limit: Option<i32>,
    ) -> Result<Vec<RelatedArticle>> {
        let n = related::limit(limit).gql()?;
        let db = db(ctx)?;
        let Some(a) = articles::find_by_slug(db, &slug).await.gql()? else {
            return Ok(Vec::new());
        };
        if !access::can_read(db, caller(ctx), &a).await.gql()? {
            return Ok(Vec::new());
        }
        note(ctx, || Key::Article(a.id));
        Article(a).related(ctx, Some(n as i32)).await
    }

    /// A section by its full path: `world` or `world/middle-east`.
    async fn section(&self, ctx: &Context<'_>, path: String) -> Result<Option<Section>> {
        let found = directory(ctx)?
            .section_by_path(db(ctx)?, &path)
            .await
            .gql()?;
        if found.is_none() {
            note_lists(ctx);
        }
        Ok(found.map(|m| section(ctx, m)))
    }

    /// Every syndication partner, by slug (admins).
    async fn partners(&self, ctx: &Context<'_>) -> Result<Vec<Partner>> {
        no_store(ctx);
        Ok(crate::domain::partners::list(db(ctx)?, caller(ctx))
            .await
            .gql()?
            .into_iter()
            .map(Partner)
            .collect())
    }

    /// One syndication partner (admins).
    async fn partner(&self, ctx: &Context<'_>, slug: String) -> Result<Partner> {
        no_store(ctx);
        Ok(Partner(
            crate::domain::partners::get(db(ctx)?, caller(ctx), &slug)
                .await
                .gql()?,
        ))
    }

    /// Every webhook endpoint, oldest first (admins).
    async fn webhooks(&self, ctx: &Context<'_>) -> Result<Vec<Webhook>> {
        no_store(ctx);
        Ok(crate::domain::webhooks::list(db(ctx)?, caller(ctx))
            .await
            .gql()?
            .into_iter()
            .map(Webhook)
            .collect())
    }

    /// One webhook endpoint, with its delivery log (admins).
    async fn webhook(&self, ctx: &Context<'_>, id: ID) -> Result<Webhook> {
        no_store(ctx);
        let c = caller(ctx);
        c.require(crate::domain::access::Role::Admin, "managing webhooks")
            .gql()?;
        let id = crate::domain::webhooks::parse_id(&id).gql()?;
        Ok(Webhook(
            crate::domain::webhooks::get(db(ctx)?, c, id).await.gql()?,
        ))
    }

    /// The top-level sections in navigation order; subsections hang under `children`.
    #[graphql(complexity = "20 * child_complexity")]
    async fn sections(&self, ctx: &Context<'_>) -> Result<Vec<Section>> {
        note_lists(ctx);
        Ok(directory(ctx)?
            .top_sections(db(ctx)?)
            .await
            .gql()?
            .into_iter()
            .map(|m| section(ctx, m))
            .collect())
    }

    /// An author by slug.
    async fn author(&self, ctx: &Context<'_>, slug: String) -> Result<Option<Author>> {
        let found = directory(ctx)?
            .author_by_slug(db(ctx)?, &slug)
            .await
            .gql()?;
        if found.is_none() {
            note_lists(ctx);
        }
        Ok(found.map(|m| author(ctx, m)))
    }

    /// Authors in alphabetical order. At most 100 a page.
    #[graphql(complexity = "crate::graphql::page_cost(first) * child_complexity")]
    async fn authors(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<AuthorConnection> {
        let page = authors::page(db(ctx)?, first, after.as_deref())
            .await
            .gql()?;
        note_lists(ctx);
        for a in &page.items {
            note(ctx, || Key::Author(a.id));
        }
        Ok(AuthorConnection::new(page, after.is_some()))
    }

    /// What changed since `since` (a `next` this server handed out), oldest first: at most
    /// `first` (1–100) entities, each once, as the caller may see it now, and tombstones for
    /// what left the caller's view. Without `since`, a snapshot of everything the caller may
    /// see, in pages, then the changes made meanwhile. A position older than the stream
    /// keeps is refused with `RESYNC_REQUIRED`: start again without `since`.
    #[graphql(complexity = "crate::graphql::page_cost(first) * child_complexity")]
    async fn changes(
        &self,
        ctx: &Context<'_>,
        since: Option<String>,
        #[graphql(default = 100)] first: Option<i32>,
    ) -> Result<super::changes::ChangePage> {
        super::changes::changes(ctx, since, first).await
    }

    /// A tag by slug.
    async fn tag(&self, ctx: &Context<'_>, slug: String) -> Result<Option<Tag>> {
        let found = directory(ctx)?.tag_by_slug(db(ctx)?, &slug).await.gql()?;
        if found.is_none() {
            note_lists(ctx);
        }
        Ok(found.map(|m| tag(ctx, m)))
    }
}
