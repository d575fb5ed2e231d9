//! Relay-style connections: `edges { cursor node }`, `pageInfo`, `totalCount`. The count is
//! computed only when asked for, through a loader, so a page alone costs no COUNT.

use crate::domain::invalidation::Key;
use async_graphql::{Context, Object, Result, SimpleObject};

use super::loaders::{
    self, ArticleBody, ArticleCount, ArticleRelations, CommentCount, Loaders, SectionById,
};
use super::surrogate_keys::{note, note_lists};
use super::types::{Article, Author, Comment};
use crate::domain::articles::PageRequest;
use crate::domain::batched::Page;
use crate::domain::cursor::Cursor;
use crate::domain::filter::ArticleFilter;
use crate::entities::{article, author, comment};
use crate::graphql::error::GqlResultExt as _;

/// Where a page sits in its listing.
#[derive(SimpleObject, Default)]
pub struct PageInfo {
    /// Whether items follow this page.
    pub has_next_page: bool,
    /// Whether items come before this page (true when `after` was given).
    pub has_previous_page: bool,
    /// The cursor of the first item.
    pub start_cursor: Option<String>,
    /// The cursor of the last item: pass it as `after` for the next page.
    pub end_cursor: Option<String>,
}

impl PageInfo {
    pub(super) fn new(cursors: &[String], has_next: bool, has_previous: bool) -> Self {
        Self {
            has_next_page: has_next,
            has_previous_page: has_previous,
            start_cursor: cursors.first().cloned(),
            end_cursor: cursors.last().cloned(),
        }
    }
}

/// Loads, in one batch each, the relations the query selects on a page's articles, so the
/// resolvers that follow find them in the request's cache. Without this a long page can be
/// split over several batches when resolving it outlasts the loader's batching delay.
pub(super) async fn prefetch(
    ctx: &Context<'_>,
    loader: &Loaders,
    articles: &[article::Model],
) -> Result<()> {
    let node = ctx.look_ahead().field("edges").field("node");
    let ids = || articles.iter().map(|a| a.id);
    let wants = |f: &str| node.field(f).exists() && !articles.is_empty();
    let sections = async {
        if wants("section") || wants("breadcrumb") || wants("jsonLd") || wants("ninjs") {
            loader
                .load_many(articles.iter().map(|a| SectionById(a.section_id)))
                .await?;
        }
        Ok(())
    };
    let relations = async {
        if wants("authors") || wants("tags") || wants("jsonLd") || wants("ninjs") {
            loader.load_many(ids().map(ArticleRelations)).await?;
        }
        Ok(())
    };
    let bodies = async {
        // ninjs items carry the body; listings read articles without it.
        if wants("ninjs") {
            loader.load_many(ids().map(ArticleBody)).await?;
        }
        Ok(())
    };
    let counts = async {
        if wants("commentCount") {
            loader.load_many(ids().map(CommentCount)).await?;
        }
        Ok(())
    };
    let results: [Result<(), loaders::LoadError>; 4] = {
        let (a, b, c, d) = tokio::join!(sections, relations, counts, bodies);
        [a, b, c, d]
    };
    results
        .into_iter()
        .try_for_each(|r| r.map_err(loaders::load_err))
}

/// An article in a listing.
#[derive(SimpleObject)]
pub struct ArticleEdge {
    pub cursor: String,
    pub node: Article,
}

/// A page of articles, newest first.
pub struct ArticleConnection {
    edges: Vec<ArticleEdge>,
    page_info: PageInfo,
    /// The listing counted by `totalCount`.
    filter: ArticleFilter,
}

impl ArticleConnection {
    /// Loads the page `req` asks for.
    pub async fn load(ctx: &Context<'_>, req: PageRequest) -> Result<Self> {
        let loader = ctx.data::<Loaders>()?;
        let page: Page<article::Model> = loader
            .load_one(req.clone())
            .await
            .map_err(loaders::load_err)?
            .unwrap_or_default();
        prefetch(ctx, loader, &page.items).await?;
        note_lists(ctx);
        for a in &page.items {
            note(ctx, || Key::Article(a.id));
            note(ctx, || Key::Section(a.section_id));
        }
        let edges: Vec<ArticleEdge> = page
            .items
            .into_iter()
            .map(|a| ArticleEdge {
                cursor: Cursor::Published(req.filter.sort_time(&a).timestamp_micros(), a.id)
                    .encode(),
                node: Article(a),
            })
            .collect();
        let cursors: Vec<String> = edges.iter().map(|e| e.cursor.clone()).collect();
        Ok(Self {
            page_info: PageInfo::new(&cursors, page.has_next, req.after.is_some()),
            edges,
            filter: req.filter,
        })
    }

    /// Validates the client's arguments, then loads the page.
    pub async fn query(
        ctx: &Context<'_>,
        filter: ArticleFilter,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Self> {
        let req = PageRequest::new(filter, first, after.as_deref()).gql()?;
        Self::load(ctx, req).await
    }
}

/// A page of articles.
#[Object]
impl ArticleConnection {
    /// The articles of this page, each with its cursor.
    async fn edges(&self) -> &[ArticleEdge] {
        &self.edges
    }

    /// Where this page sits in the listing.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }

    /// How many articles the whole listing has.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i32> {
        let filter = &self.filter;
        let n = ctx
            .data::<Loaders>()?
            .load_one(ArticleCount(filter.clone()))
            .await
            .map_err(loaders::load_err)?
            .unwrap_or(0);
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }
}

/// An author in a listing.
#[derive(SimpleObject)]
pub struct AuthorEdge {
    pub cursor: String,
    pub node: Author,
}

/// A page of authors, alphabetical.
pub struct AuthorConnection {
    pub edges: Vec<AuthorEdge>,
    pub page_info: PageInfo,
}

impl AuthorConnection {
    /// Builds the connection from a loaded page.
    pub fn new(page: Page<author::Model>, has_previous: bool) -> Self {
        let edges: Vec<AuthorEdge> = page
            .items
            .into_iter()
            .map(|a| AuthorEdge {
                cursor: Cursor::Name(a.name.clone(), a.id).encode(),
                node: Author(a),
            })
            .collect();
        let cursors: Vec<String> = edges.iter().map(|e| e.cursor.clone()).collect();
        Self {
            page_info: PageInfo::new(&cursors, page.has_next, has_previous),
            edges,
        }
    }
}

/// A page of authors.
#[Object]
impl AuthorConnection {
    /// The authors of this page, each with its cursor.
    async fn edges(&self) -> &[AuthorEdge] {
        &self.edges
    }

    /// Where this page sits in the listing.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }

    /// How many authors there are.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i32> {
        let db = ctx.data::<sea_orm::DatabaseConnection>()?;
        let n = crate::domain::authors::count(db).await.gql()?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }
}

/// A comment in a listing.
#[derive(SimpleObject)]
pub struct CommentEdge {
    pub cursor: String,
    pub node: Comment,
}

/// A page of an article's top-level comments, oldest first; replies hang under each.
#[derive(SimpleObject)]
pub struct CommentConnection {
    /// The comments of this page, each with its cursor.
    pub edges: Vec<CommentEdge>,
    /// Where this page sits in the listing.
    pub page_info: PageInfo,
}

impl CommentConnection {
    /// Builds the connection from a loaded page.
    pub fn new(page: Page<comment::Model>, has_previous: bool) -> Self {
        let edges: Vec<CommentEdge> = page
            .items
            .into_iter()
            .map(|c| CommentEdge {
                cursor: Cursor::created(c.created_at, c.id).encode(),
                node: Comment(c),
            })
            .collect();
        let cursors: Vec<String> = edges.iter().map(|e| e.cursor.clone()).collect();
        Self {
            page_info: PageInfo::new(&cursors, page.has_next, has_previous),
            edges,
        }
    }
}
