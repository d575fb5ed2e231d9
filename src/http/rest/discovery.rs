//! `/api/v1/search` and `/api/v1/articles/{slug}/related`: the REST mirror of `search` and
//! `relatedArticles`.

use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Problem;
use super::articles::{ListParams, limit, next_link};
use super::extract::{Params, Who};
use super::views::{self, ArticleView, Keys, Page};
use crate::domain::search::{self, SearchRequest};
use crate::error::Result;
use crate::http::cache;
use crate::state::AppState;

/// What to search for.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchText {
    /// Words (all must appear), `"quoted phrases"`, prefixes (`taliba*`), `-excluded`
    /// words, and `OR` between two terms. At most 512 characters.
    q: String,
}

/// A search result.
#[derive(Serialize, ToSchema)]
pub struct SearchHit {
    pub article: ArticleView,
    /// Relevance: higher is better; comparable within one search only.
    pub score: f64,
    /// Text around the matches, HTML-escaped, each match inside `<mark>…</mark>`.
    pub highlight: String,
}

/// Searches articles, most relevant first. The filters of `GET /articles` apply.
#[utoipa::path(get, path = "/api/v1/search", tag = "articles", params(SearchText, ListParams),
    responses((status = 200, description = "A page of results", body = Page<SearchHit>,
               headers(("ETag" = String), ("Link" = String, description = "The next page, when there is one"))),
              (status = 304, description = "Not modified"),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 422, body = Problem)),
    security((), ("bearer" = [])))]
pub async fn search(
    State(s): State<AppState>,
    Who(c): Who,
    uri: OriginalUri,
    headers: HeaderMap,
    Params(text): Params<SearchText>,
    Params(p): Params<ListParams>,
) -> Result<Response> {
    let filter = p.filter().into_filter(c.visibility())?;
    let req = SearchRequest::new(&text.q, filter, limit(p.limit())?, p.cursor())?;
    let found = search::search(&s.db, &req).await?;
    let next = found
        .hits
        .has_next
        .then(|| req.cursor(found.hits.items.len().saturating_sub(1)));
    let (rows, rest): (Vec<_>, Vec<_>) = found
        .hits
        .items
        .into_iter()
        .map(|h| (h.article, (h.score, h.highlight)))
        .unzip();
    let articles = views::articles(&s.db, rows, false).await?;
    let mut keys = Keys::default();
    articles.iter().for_each(|v| keys.article(v));
    let data = articles
        .into_iter()
        .zip(rest)
        .map(|(article, (score, highlight))| SearchHit {
            article,
            score,
            highlight,
        })
        .collect();
    let mut res = cache::json(
        &cache::Caching::of(&s, &c, &headers),
        StatusCode::OK,
        &Page {
            data,
            next_cursor: next.clone(),
        },
        &keys.0,
        None,
    );
    if let Some(link) = next.as_deref().and_then(|n| next_link(&uri, n)) {
        res.headers_mut().insert(header::LINK, link);
    }
    Ok(res)
}
