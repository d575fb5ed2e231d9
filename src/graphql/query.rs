//! The query root: what readers, front ends and partners can ask for.

use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use super::connection::{ArticleConnection, AuthorConnection};
use super::types::{Article, Author, Section, Tag};
use crate::domain::articles::{self, ArticleFilter, AuthorRef, TagRef, visible_status};
use crate::domain::{ArticleStatus, authors, sections, tags};
use crate::error::{AppError, GqlResultExt as _};

/// Narrows an article listing; every field given must match.
#[derive(InputObject, Default)]
#[graphql(name = "ArticleFilter")]
pub struct ArticleFilterInput {
    /// A section path; its subsections are included (`world` lists `world/middle-east`).
    pub section: Option<String>,
    /// An author's slug.
    pub author: Option<String>,
    /// A tag's slug.
    pub tag: Option<String>,
    /// A workflow status; readers without a token only ever see `PUBLISHED`.
    pub status: Option<ArticleStatus>,
    /// Published strictly after this time.
    pub published_after: Option<DateTime<Utc>>,
    /// Published strictly before this time.
    pub published_before: Option<DateTime<Utc>>,
}

/// Everything readable.
pub struct QueryRoot;

fn db<'a>(ctx: &Context<'a>) -> Result<&'a DatabaseConnection> {
    ctx.data::<DatabaseConnection>()
}

#[Object]
impl QueryRoot {
    /// One article, by `slug` or by `id` (give exactly one).
    async fn article(
        &self,
        ctx: &Context<'_>,
        slug: Option<String>,
        id: Option<ID>,
    ) -> Result<Option<Article>> {
        let db = db(ctx)?;
        let found = match (slug, id) {
            (Some(slug), None) => articles::by_slug(db, &slug, ArticleStatus::Published).await,
            (None, Some(id)) => match id.parse::<i32>() {
                Ok(id) => articles::by_id(db, id, ArticleStatus::Published).await,
                Err(_) => Err(AppError::bad_input("`id` is not an article id")),
            },
            _ => Err(AppError::bad_input("give exactly one of `slug` and `id`")),
        };
        Ok(found.gql()?.map(Article))
    }

    /// Articles, newest first. At most 100 a page.
    async fn articles(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
        filter: Option<ArticleFilterInput>,
    ) -> Result<ArticleConnection> {
        let f = filter.unwrap_or_default();
        let Some(status) = visible_status(f.status) else {
            // Still validate the arguments, so bad input is refused either way.
            articles::PageRequest::new(ArticleFilter::default(), first, after.as_deref()).gql()?;
            return Ok(ArticleConnection::empty());
        };
        let filter = ArticleFilter {
            section: f.section,
            author: f.author.map(AuthorRef::Slug),
            tag: f.tag.map(TagRef::Slug),
            status: Some(status),
            published_after: f.published_after,
            published_before: f.published_before,
        };
        ArticleConnection::query(ctx, filter, first, after).await
    }

    /// A section by its full path: `world` or `world/middle-east`.
    async fn section(&self, ctx: &Context<'_>, path: String) -> Result<Option<Section>> {
        Ok(sections::by_path(db(ctx)?, &path).await.gql()?.map(Section))
    }

    /// The top-level sections in navigation order; subsections hang under `children`.
    async fn sections(&self, ctx: &Context<'_>) -> Result<Vec<Section>> {
        Ok(sections::top_level(db(ctx)?)
            .await
            .gql()?
            .into_iter()
            .map(Section)
            .collect())
    }

    /// An author by slug.
    async fn author(&self, ctx: &Context<'_>, slug: String) -> Result<Option<Author>> {
        Ok(authors::by_slug(db(ctx)?, &slug).await.gql()?.map(Author))
    }

    /// Authors in alphabetical order. At most 100 a page.
    async fn authors(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<AuthorConnection> {
        let page = authors::page(db(ctx)?, first, after.as_deref())
            .await
            .gql()?;
        Ok(AuthorConnection::new(page, after.is_some()))
    }

    /// A tag by slug.
    async fn tag(&self, ctx: &Context<'_>, slug: String) -> Result<Option<Tag>> {
        Ok(tags::by_slug(db(ctx)?, &slug).await.gql()?.map(Tag))
    }
}
