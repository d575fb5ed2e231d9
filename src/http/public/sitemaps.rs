//! The sitemaps' routes: the index at `/sitemap.xml`, and below `/sitemaps/` the news
//! sitemap (`news.xml`), the articles of each publication month (`articles-2026-03.xml`),
//! the sections, authors and tags (`sections.xml`, `authors.xml`, `tags.xml`), each paged
//! by `?page=N` when it passes a page's limits. What they list is `domain::sitemaps`'s; the
//! XML is `sitemap_xml`'s.
//!
//! # Caching
//! Every answer is labelled like a REST read (`ETag`/`304`, `Cache-Control`, surrogate
//! keys, the response cache), with two exceptions:
//! - The news sitemap and the index change as the 48-hour window moves on, without a write:
//!   their `Cache-Control` freshness and their response-cache entry end when the oldest
//!   story in the window leaves it ([`cache_headers::fresh_for`]).
//! - An article page of more than one chunk (1,000 URLs) streams as it is read, a chunk at a
//!   time, so a page of 50,000 URLs (~5 MB) is never held whole. Its bytes are not known
//!   before they are sent, so it has no `ETag`, and the response cache, which keeps whole
//!   bodies in memory, does not keep it; shared caches may (`public`, and its surrogate keys
//!   purge it). Smaller pages are buffered and cached like any other answer.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use serde::Deserialize;
use utoipa::IntoParams;

use super::sitemap_xml;
use crate::domain::sitemaps::{self, Limits, Listing, MAX_PAGE, Month};
use crate::error::AppError;
use crate::http::cache_headers::{self, Caching};
use crate::http::error::Result;
use crate::http::rest::Problem;
use crate::http::rest::extract::{Params, Who};
use crate::state::AppState;

/// The media type of every sitemap.
const XML: &str = "application/xml";

/// The sitemaps' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sitemap.xml", get(index))
        .route("/sitemaps/news.xml", get(news))
        .route("/sitemaps/sections.xml", get(sections))
        .route("/sitemaps/authors.xml", get(authors))
        .route("/sitemaps/tags.xml", get(tags))
        .route("/sitemaps/{file}", get(articles))
}

/// Which page of a sitemap.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// The page, 1 to 1000 (1); the index names every page there is.
    #[param(minimum = 1, maximum = 1000)]
    page: Option<u32>,
}

impl PageParams {
    fn page(&self) -> Result<u32> {
        match self.page {
            None => Ok(1),
            Some(p) if (1..=MAX_PAGE).contains(&p) => Ok(p),
            Some(p) => Err(AppError::bad_input(format!(
                "page must be between 1 and {MAX_PAGE}, not {p}"
            ))
            .into()),
        }
    }
}

/// Keeps `res` fresh until `until`, when its content changes with time alone.
fn fresh_until(res: &mut Response, until: Option<DateTime<Utc>>, now: DateTime<Utc>) {
    if let Some(until) = until {
        let left = (until - now).to_std().unwrap_or_default();
        cache_headers::fresh_for(res, left);
    }
}

/// The sitemap index: every sitemap there is, with the newest change of what each lists.
#[utoipa::path(get, path = "/sitemap.xml", tag = "sitemaps", operation_id = "sitemap_index",
    responses((status = 200, description = "A sitemap index (sitemaps.org 0.9)", content((String = "application/xml")), headers(("ETag" = String), ("Surrogate-Key" = String))),
              (status = 304, description = "Not modified"),
              (status = 401, body = Problem),
              (status = 404, description = "GAZETTE_PUBLIC_URL is not set", body = Problem)),
    security((), ("bearer" = [])))]
pub async fn index(State(s): State<AppState>, Who(c): Who, headers: HeaderMap) -> Result<Response> {
    let now = crate::domain::now();
    let index = sitemaps::index(&s.db, &s.site, &Limits::for_site(&s.site), now).await?;
    let list: Vec<(String, Option<DateTime<Utc>>)> = index
        .sitemaps
        .iter()
        .filter_map(|m| Some((s.site.absolute(&m.path)?, m.lastmod)))
        .collect();
    let mut res = cache_headers::bytes_response(
        &Caching::of(&s, &c, &headers),
        StatusCode::OK,
        sitemap_xml::index(&list),
        XML,
        &index.keys,
        None,
    );
    fresh_until(&mut res, index.fresh_until, now);
    Ok(res)
}

/// The Google News sitemap: the stories that became public in the last 48 hours, newest
/// first, 1,000 a page (the index names every page).
#[utoipa::path(get, path = "/sitemaps/news.xml", tag = "sitemaps", operation_id = "news_sitemap", params(PageParams),
    responses((status = 200, description = "A news sitemap (Google News 0.9); fresh until its oldest story leaves the window", content((String = "application/xml")), headers(("ETag" = String), ("Surrogate-Key" = String))),
              (status = 304, description = "Not modified"),
              (status = 401, body = Problem),
              (status = 404, description = "No such page, or GAZETTE_PUBLIC_URL is not set", body = Problem),
              (status = 422, description = "A page out of range", body = Problem)),
    security((), ("bearer" = [])))]
pub async fn news(
    State(s): State<AppState>,
    Who(c): Who,
    headers: HeaderMap,
    Params(p): Params<PageParams>,
) -> Result<Response> {
    let page = p.page()?;
    let now = crate::domain::now();
    let limits = Limits::for_site(&s.site);
    let directory = s.response_cache.directory();
    let news = sitemaps::news(&s.db, directory, &s.site, page, &limits, now)
        .await?
        .ok_or_else(|| AppError::not_found(format!("the news sitemap has no page {page}")))?;
    let mut res = cache_headers::bytes_response(
        &Caching::of(&s, &c, &headers),
        StatusCode::OK,
        sitemap_xml::news(&news),
        XML,
        &news.keys,
        None,
    );
    fresh_until(&mut res, news.fresh_until, now);
    Ok(res)
}

async fn listing(
    s: &AppState,
    c: &crate::domain::access::Caller,
    headers: &HeaderMap,
    which: Listing,
    page: u32,
) -> Result<Response> {
    let mut keys = std::collections::BTreeSet::new();
    let all = sitemaps::listing(&s.db, &s.site, which, &mut keys).await?;
    let entries = sitemaps::page_of(&all, page, Limits::for_site(&s.site).urls)
        .ok_or_else(|| AppError::not_found(format!("{} has no page {page}", which.path(1))))?;
    Ok(cache_headers::bytes_response(
        &Caching::of(s, c, headers),
        StatusCode::OK,
        sitemap_xml::urlset(entries),
        XML,
        &keys,
        None,
    ))
}

/// The sections' pages, by path.
#[utoipa::path(get, path = "/sitemaps/sections.xml", tag = "sitemaps", operation_id = "sections_sitemap", params(PageParams),
    responses((status = 200, description = "A sitemap (sitemaps.org 0.9)", content((String = "application/xml")), headers(("ETag" = String), ("Surrogate-Key" = String))),
              (status = 304, description = "Not modified"),
              (status = 401, body = Problem),
              (status = 404, description = "No such page, or GAZETTE_PUBLIC_URL is not set", body = Problem),
              (status = 422, description = "A page out of range", body = Problem)),
    security((), ("bearer" = [])))]
pub async fn sections(
    State(s): State<AppState>,
    Who(c): Who,
    headers: HeaderMap,
    Params(p): Params<PageParams>,
) -> Result<Response> {
    listing(&s, &c, &headers, Listing::Sections, p.page()?).await
}

/// The pages of the authors who have a published article, by slug.
#[utoipa::path(get, path = "/sitemaps/authors.xml", tag = "sitemaps", operation_id = "authors_sitemap", params(PageParams),
    responses((status = 200, description = "A sitemap (sitemaps.org 0.9)", content((String = "application/xml")), headers(("ETag" = String), ("Surrogate-Key" = String))),
              (status = 304, description = "Not modified"),
              (status = 401, body = Problem),
              (status = 404, description = "No such page, or GAZETTE_PUBLIC_URL is not set", body = Problem),
              (status = 422, description = "A page out of range", body = Problem)),
    security((), ("bearer" = [])))]
pub async fn authors(
    State(s): State<AppState>,
    Who(c): Who,
    headers: HeaderMap,
    Params(p): Params<PageParams>,
) -> Result<Response> {
    listing(&s, &c, &headers, Listing::Authors, p.page()?).await
}

/// The pages of the tags on a published article, by slug.
#[utoipa::path(get, path = "/sitemaps/tags.xml", tag = "sitemaps", operation_id = "tags_sitemap", params(PageParams),
    responses((status = 200, description = "A sitemap (sitemaps.org 0.9)", content((String = "application/xml")), headers(("ETag" = String), ("Surrogate-Key" = String))),
              (status = 304, description = "Not modified"),
              (status = 401, body = Problem),
              (status = 404, description = "No such page, or GAZETTE_PUBLIC_URL is not set", body = Problem),
              (status = 422, description = "A page out of range", body = Problem)),
    security((), ("bearer" = [])))]
pub async fn tags(
    State(s): State<AppState>,
    Who(c): Who,
    headers: HeaderMap,
    Params(p): Params<PageParams>,
) -> Result<Response> {
    listing(&s, &c, &headers, Listing::Tags, p.page()?).await
}

/// The published articles of one month (UTC), oldest first, 50,000 a page. A page of more
/// than 1,000 streams, without `ETag`.
#[utoipa::path(get, path = "/sitemaps/{file}", tag = "sitemaps", operation_id = "articles_sitemap",
    params(("file" = String, Path, description = "`articles-YYYY-MM.xml`, a month of publication (UTC) the index names", example = "articles-2026-03.xml"), PageParams),
    responses((status = 200, description = "A sitemap (sitemaps.org 0.9)", content((String = "application/xml")), headers(("ETag" = String, description = "On pages of at most 1,000 URLs"), ("Surrogate-Key" = String))),
              (status = 304, description = "Not modified"),
              (status = 401, body = Problem),
              (status = 404, description = "No such sitemap or page, or GAZETTE_PUBLIC_URL is not set", body = Problem),
              (status = 422, description = "A page out of range", body = Problem)),
    security((), ("bearer" = [])))]
pub async fn articles(
    State(s): State<AppState>,
    Who(c): Who,
    headers: HeaderMap,
    Path(file): Path<String>,
    Params(p): Params<PageParams>,
) -> Result<Response> {
    let page = p.page()?;
    s.site.require_public("the sitemap")?;
    let month = file
        .strip_prefix("articles-")
        .and_then(|rest| rest.strip_suffix(".xml"))
        .and_then(Month::parse)
        .ok_or_else(|| {
            AppError::not_found(format!(
                "no sitemap /sitemaps/{file}: a month's articles are at /sitemaps/articles-YYYY-MM.xml"
            ))
        })?;
    let directory = s.response_cache.directory();
    let limits = Limits::for_site(&s.site);
    let found = sitemaps::article_page(&s.db, directory, s.site.clone(), month, page, &limits)
        .await?
        .ok_or_else(|| {
            AppError::not_found(format!("{} has no published articles", month.path(page)))
        })?;
    let cx = Caching::of(&s, &c, &headers);
    if found.is_whole() {
        return Ok(cache_headers::bytes_response(
            &cx,
            StatusCode::OK,
            sitemap_xml::urlset(&found.first),
            XML,
            &found.keys,
            None,
        ));
    }
    let keys = found.keys.clone();
    let (first, rest) = found.into_chunks();
    let mut head = sitemap_xml::urlset_start();
    sitemap_xml::urls(&mut head, &first);
    let chunks = rest
        .map_ok(|entries| {
            let mut xml = String::new();
            sitemap_xml::urls(&mut xml, &entries);
            Bytes::from(xml)
        })
        .map_err(move |e| {
            // The page is cut short: its end tag never comes, so no reader takes it whole.
            tracing::error!(error = %e, %month, page, "an article sitemap failed while streaming");
            std::io::Error::other(e.to_string())
        });
    let body = stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(head)) })
        .chain(chunks)
        .chain(stream::once(async {
            Ok(Bytes::from_static(sitemap_xml::URLSET_END.as_bytes()))
        }));
    Ok(cache_headers::streamed(
        &cx,
        Body::from_stream(body),
        XML,
        &keys,
    ))
}
