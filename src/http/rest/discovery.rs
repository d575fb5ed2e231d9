//! `/api/v1/search` and `/api/v1/articles/{slug}/related`: the REST mirror of `search` and
//! `relatedArticles`.

use crate::domain::invalidation::Key;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Problem;
use super::articles::{ListParams, limit, paged};
use super::extract::{Account, Body, Params, Who};
use super::views::{self, ArticleView, Keys, Page};
use crate::domain::related;
use crate::domain::search::{self, SearchRequest};
use crate::entities::article;
use crate::http::cache_headers;
use crate::http::error::Result;
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
    let hits = found
        .hits
        .items
        .into_iter()
        .map(|h| (h.article, (h.score, h.highlight)));
    let (views, keys) = viewed(&s, hits).await?;
    let data: Vec<SearchHit> = views
        .into_iter()
        .map(|(article, (score, highlight))| SearchHit {
            article,
            score,
            highlight,
        })
        .collect();
    Ok(paged(
        &cache_headers::Caching::of(&s, &c, &headers),
        &uri,
        data,
        next,
        &keys.0,
    ))
}

/// Views of articles that travel with something of their own (a score, a highlight), in
/// order, and the surrogate keys of what they show.
async fn viewed<X>(
    s: &AppState,
    items: impl Iterator<Item = (article::Model, X)>,
) -> Result<(Vec<(ArticleView, X)>, Keys)> {
    let (rows, extras): (Vec<_>, Vec<_>) = items.unzip();
    let views = views::articles(&s.db, s.response_cache.directory(), &s.site, rows, false).await?;
    let mut keys = Keys::default();
    views.iter().for_each(|v| keys.article(v));
    Ok((views.into_iter().zip(extras).collect(), keys))
}

/// How many related articles to return.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RelatedParams {
    /// 0 to 10 (5).
    #[param(minimum = 0, maximum = 10)]
    limit: Option<i32>,
}

/// A related article and why it was chosen.
#[derive(Serialize, ToSchema)]
pub struct RelatedView {
    pub article: ArticleView,
    /// Higher is closer; comparable within one list.
    pub score: f64,
    /// In words, most telling first; pinned ones start with `chosen by the editors`.
    pub reasons: Vec<String>,
}

/// The related articles of one article.
#[derive(Serialize, ToSchema)]
pub struct RelatedList {
    pub data: Vec<RelatedView>,
}

/// The articles editors pin first, in order.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PinBody {
    /// Slugs, at most 10; an empty list clears the choice.
    slugs: Vec<String>,
}

async fn related_response(
    s: &AppState,
    c: &crate::domain::access::Caller,
    headers: &HeaderMap,
    id: i32,
    limit: usize,
) -> Result<Response> {
    let found = related::of_articles(&s.db, &[id], limit)
        .await?
        .remove(&id)
        .unwrap_or_default();
    let (views, mut keys) = viewed(
        s,
        found.into_iter().map(|r| (r.article, (r.score, r.reasons))),
    )
    .await?;
    keys.0.insert(Key::Article(id));
    let data = views
        .into_iter()
        .map(|(article, (score, reasons))| RelatedView {
            article,
            score,
            reasons,
        })
        .collect();
    Ok(cache_headers::json(
        &cache_headers::Caching::of(s, c, headers),
        StatusCode::OK,
        &RelatedList { data },
        &keys.0,
        None,
    ))
}

/// Published articles related to this one, pinned ones first, with scores and reasons.
#[utoipa::path(get, path = "/api/v1/articles/{slug}/related", tag = "articles",
    params(("slug" = String, Path, description = "The article's slug"), RelatedParams),
    responses((status = 200, description = "Related articles, best first", body = RelatedList, headers(("ETag" = String))),
              (status = 304, description = "Not modified"),
              (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security((), ("bearer" = [])))]
pub async fn related_of(
    State(s): State<AppState>,
    Who(c): Who,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Params(p): Params<RelatedParams>,
) -> Result<Response> {
    let limit = related::limit(p.limit)?;
    let a = super::articles::visible(&s, &c, &slug, None).await?;
    related_response(&s, &c, &headers, a.id, limit).await
}

/// Chooses the articles shown first among this one's related articles (editors).
#[utoipa::path(put, path = "/api/v1/articles/{slug}/related", tag = "articles",
    params(("slug" = String, Path, description = "The article's slug")),
    request_body = PinBody,
    responses((status = 200, description = "The related articles now", body = RelatedList),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem),
              (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn pin_related(
    State(s): State<AppState>,
    Account(c): Account,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Body(body): Body<PinBody>,
) -> Result<Response> {
    let a = super::articles::visible(&s, &c, &slug, None).await?;
    related::set_pins(&s.db, &c, a.id, &body.slugs).await?;
    related_response(&s, &c, &headers, a.id, related::MAX_LIMIT).await
}
