//! `search`: a page of articles ranked by relevance, each edge with its score and a
//! highlighted snippet.

use crate::domain::invalidation::Key;
use async_graphql::{Context, Object, Result, SimpleObject};

use super::connection::{PageInfo, prefetch};
use super::loaders::Loaders;
use super::surrogate_keys::note;
use super::types::Article;
use crate::domain::search::{self, SearchRequest};
use crate::graphql::error::GqlResultExt as _;

/// A search result.
#[derive(SimpleObject)]
pub struct SearchEdge {
    /// Pass as `after` for the results that follow this one.
    pub cursor: String,
    pub node: Article,
    /// Relevance: higher is better; comparable within one search only.
    pub score: f64,
    /// Text around the matches, HTML-escaped, each match inside `<mark>…</mark>`.
    pub highlight: String,
}

/// A page of search results, most relevant first.
pub struct SearchConnection {
    edges: Vec<SearchEdge>,
    page_info: PageInfo,
    req: SearchRequest,
    /// Counted once, for `totalCount` and `totalCountIsExact` alike.
    count: tokio::sync::OnceCell<search::Count>,
}

impl SearchConnection {
    /// Runs the search `req` describes.
    pub async fn load(ctx: &Context<'_>, req: SearchRequest) -> Result<Self> {
        let db = ctx.data::<sea_orm::DatabaseConnection>()?;
        let page = search::search(db, &req).await.gql()?;
        let models: Vec<_> = page.hits.items.iter().map(|h| h.article.clone()).collect();
        prefetch(ctx, ctx.data::<Loaders>()?, &models).await?;
        for a in &models {
            note(ctx, || Key::Article(a.id));
            note(ctx, || Key::Section(a.section_id));
        }
        let edges: Vec<SearchEdge> = page
            .hits
            .items
            .into_iter()
            .enumerate()
            .map(|(i, h)| SearchEdge {
                cursor: req.cursor(i),
                node: Article(h.article),
                score: h.score,
                highlight: h.highlight,
            })
            .collect();
        let cursors: Vec<String> = edges.iter().map(|e| e.cursor.clone()).collect();
        Ok(Self {
            page_info: PageInfo::new(&cursors, page.hits.has_next, req.offset > 0),
            edges,
            req,
            count: tokio::sync::OnceCell::new(),
        })
    }
}

/// A page of search results.
#[Object]
impl SearchConnection {
    /// The results of this page, each with its cursor, score and highlight.
    async fn edges(&self) -> &[SearchEdge] {
        &self.edges
    }

    /// Where this page sits in the results.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }

    /// How many articles match in all, counted exactly up to 10,000; a search matching more
    /// reads 10,000 here and `false` in `totalCountIsExact` ("more than 10,000 results").
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i32> {
        Ok(i32::try_from(self.counted(ctx).await?.n).unwrap_or(i32::MAX))
    }

    /// Whether `totalCount` is every match (`true`) or a lower bound (`false`: more match
    /// than are counted).
    async fn total_count_is_exact(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(self.counted(ctx).await?.exact)
    }
}

impl SearchConnection {
    async fn counted(&self, ctx: &Context<'_>) -> Result<search::Count> {
        let db = ctx.data::<sea_orm::DatabaseConnection>()?;
        self.count
            .get_or_try_init(|| async { search::count(db, &self.req).await.gql() })
            .await
            .copied()
    }
}
