//! `/api/v1/articles`: listings, single reads, and the writes that mirror the mutations.

use std::collections::BTreeSet;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Problem;
use super::extract::{Account, Body, Params, Who};
use super::views::{self, ArticleView, Keys, Page, RightsView};
use crate::domain::access::{self, Caller};
use crate::domain::articles::{self, PageRequest};
use crate::domain::blocks::{Block, Image};
use crate::domain::content::{ArticleContent, Source};
use crate::domain::cursor::Cursor;
use crate::domain::filter::{FilterInput, TagMatch};
use crate::domain::invalidation::Key;
use crate::domain::publishing::{self, ArticlePatch, NewArticle};
use crate::domain::workflow::Transition;
use crate::domain::{ArticleStatus, revisions};
use crate::entities::article;
use crate::error::{AppError, Code};
use crate::http::cache_headers;
use crate::http::error::{HttpError, Result};
use crate::state::AppState;

/// Filters and paging of `GET /articles`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Section path; subsections are included.
    section: Option<String>,
    /// Author slug.
    author: Option<String>,
    /// Tag slug; it must be on the article.
    tag: Option<String>,
    /// Tag slugs, comma-separated (at most 20), combined as `tags_match` says.
    tags: Option<String>,
    /// `any` (the default): at least one of `tags`; `all`: every one.
    #[param(value_type = Option<String>)]
    tags_match: Option<TagMatch>,
    /// Workflow status (readers without a token see PUBLISHED only).
    #[param(value_type = Option<String>)]
    status: Option<ArticleStatus>,
    /// Published strictly after (RFC 3339).
    published_after: Option<DateTime<Utc>>,
    /// Published strictly before (RFC 3339).
    published_before: Option<DateTime<Utc>>,
    /// Page size, 1 to 100 (20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

impl ListParams {
    /// The page size asked for.
    pub fn limit(&self) -> Option<i32> {
        self.limit
    }

    /// The cursor asked for.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// The domain's form of the filters.
    pub fn filter(&self) -> FilterInput {
        FilterInput {
            section: self.section.clone(),
            author: self.author.clone(),
            tag: self.tag.clone(),
            tags: split_list(self.tags.as_deref()),
            tags_match: self.tags_match.unwrap_or_default(),
            status: self.status,
            published_after: self.published_after,
            published_before: self.published_before,
        }
    }
}

/// The items of a comma-separated parameter, without empty ones.
fn split_list(s: Option<&str>) -> Vec<String> {
    s.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect()
}

/// Checks a REST page size: 1 to 100.
pub fn limit(l: Option<i32>) -> Result<Option<i32>> {
    match l {
        Some(n) if !(1..=100).contains(&n) => {
            Err(AppError::bad_input(format!("limit must be between 1 and 100, not {n}")).into())
        }
        l => Ok(l),
    }
}

/// A page of a listing as JSON, with caching headers and, when another page follows, its
/// `Link: <…>; rel="next"` (this request's URL with `cursor` replaced).
pub fn paged<T: Serialize + ToSchema>(
    cx: &cache_headers::Caching<'_>,
    uri: &OriginalUri,
    data: Vec<T>,
    next_cursor: Option<String>,
    keys: &BTreeSet<Key>,
) -> Response {
    let link = next_cursor.as_deref().and_then(|cursor| {
        let mut query: Vec<&str> = uri
            .0
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|kv| !kv.is_empty() && !kv.starts_with("cursor="))
            .collect();
        let c = format!("cursor={cursor}");
        query.push(&c);
        let path = uri.0.path();
        HeaderValue::from_str(&format!("<{path}?{}>; rel=\"next\"", query.join("&"))).ok()
    });
    let mut res = cache_headers::json(cx, StatusCode::OK, &Page { data, next_cursor }, keys, None);
    if let Some(link) = link {
        res.headers_mut().insert(header::LINK, link);
    }
    res
}

/// Lists articles, newest first.
#[utoipa::path(get, path = "/api/v1/articles", tag = "articles", params(ListParams),
    responses((status = 200, description = "A page of articles", body = Page<ArticleView>,
               headers(("ETag" = String), ("Link" = String, description = "The next page, when there is one"))),
              (status = 304, description = "Not modified"),
              (status = 401, body = Problem), (status = 422, body = Problem)),
    security((), ("bearer" = [])))]
pub async fn list(
    State(s): State<AppState>,
    Who(c): Who,
    uri: OriginalUri,
    headers: HeaderMap,
    Params(p): Params<ListParams>,
) -> Result<Response> {
    let filter = p.filter().into_filter(c.visibility())?;
    let req = PageRequest::new(filter, limit(p.limit)?, p.cursor.as_deref())?;
    let page = articles::pages(
        &s.db,
        s.response_cache.directory(),
        std::slice::from_ref(&req),
    )
    .await?
    .pop()
    .unwrap_or_default();
    let next = match (page.has_next, page.items.last()) {
        (true, Some(last)) => {
            Some(Cursor::Published(req.filter.sort_time(last).timestamp_micros(), last.id).encode())
        }
        _ => None,
    };
    let data = views::articles(
        &s.db,
        s.response_cache.directory(),
        &s.site,
        page.items,
        false,
    )
    .await?;
    let mut keys = Keys::default();
    data.iter().for_each(|v| keys.article(v));
    Ok(paged(
        &cache_headers::Caching::of(&s, &c, &headers),
        &uri,
        data,
        next,
        &keys.0,
    ))
}

/// `preview_token` of a single read.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadParams {
    /// A preview token for this article (from `previewToken`): reads it whatever its status.
    preview_token: Option<String>,
}

pub(super) async fn visible(
    s: &AppState,
    c: &Caller,
    slug: &str,
    preview_token: Option<&str>,
) -> Result<article::Model> {
    let missing = || AppError::not_found(format!("no article {slug:?}"));
    let a = articles::find_by_slug(&s.db, slug)
        .await?
        .ok_or_else(missing)?;
    Ok(access::read_article(&s.db, c, a, preview_token)
        .await?
        .ok_or_else(missing)?)
}

async fn respond(
    s: &AppState,
    c: &Caller,
    headers: &HeaderMap,
    a: article::Model,
    status: StatusCode,
) -> Result<Response> {
    let version = a.version;
    let view = views::articles(&s.db, s.response_cache.directory(), &s.site, vec![a], true)
        .await?
        .pop()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("article view vanished")))?;
    let mut keys = Keys::default();
    keys.article(&view);
    let mut res = cache_headers::json(
        &cache_headers::Caching::of(s, c, headers),
        status,
        &view,
        &keys.0,
        Some(version),
    );
    if status == StatusCode::CREATED
        && let Ok(loc) = HeaderValue::from_str(&format!("/api/v1/articles/{}", view.slug))
    {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(res)
}

/// One article with its body, breadcrumb, bylines and tags. The `ETag` names its version,
/// so it can be sent back as `If-Match` on a write.
#[utoipa::path(get, path = "/api/v1/articles/{slug}", tag = "articles",
    params(("slug" = String, Path, description = "The article's slug"), ReadParams),
    responses((status = 200, description = "The article", body = ArticleView, headers(("ETag" = String))),
              (status = 304, description = "Not modified"),
              (status = 401, body = Problem), (status = 404, body = Problem)),
    security((), ("bearer" = [])))]
pub async fn get(
    State(s): State<AppState>,
    Who(c): Who,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Params(p): Params<ReadParams>,
) -> Result<Response> {
    let a = visible(&s, &c, &slug, p.preview_token.as_deref()).await?;
    respond(&s, &c, &headers, a, StatusCode::OK).await
}

/// `url` of an old-URL lookup.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RedirectParams {
    /// An old URL of the article, from the site it was imported from (WordPress, Ghost):
    /// absolute or just the path. Scheme, host, trailing slash, fragment and tracking
    /// parameters are ignored; WordPress's `?p=42` finds post 42.
    url: String,
}

/// The article an old URL now belongs to, for a front end to answer the old link with a
/// permanent redirect (301) to the article's `url` (or its own route for `slug`). Only what
/// the caller may read: a draft's old URL is a 404 for readers.
#[utoipa::path(get, path = "/api/v1/redirects", tag = "articles",
    params(RedirectParams),
    responses((status = 200, description = "The article the old URL belongs to", body = ArticleView, headers(("ETag" = String))),
              (status = 304, description = "Not modified"),
              (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security((), ("bearer" = [])))]
pub async fn redirect(
    State(s): State<AppState>,
    Who(c): Who,
    headers: HeaderMap,
    Params(p): Params<RedirectParams>,
) -> Result<Response> {
    if p.url.len() > crate::domain::origins::MAX_URL_BYTES {
        return Err(AppError::bad_input("url is too long").into());
    }
    let missing = || AppError::not_found("no article had this URL");
    let id = crate::domain::origins::article_by_old_url(&s.db, &p.url)
        .await?
        .ok_or_else(missing)?;
    let a = articles::find_by_id(&s.db, id).await?.ok_or_else(missing)?;
    let a = access::read_article(&s.db, &c, a, None)
        .await?
        .ok_or_else(missing)?;
    respond(&s, &c, &headers, a, StatusCode::OK).await
}

/// A new article (it starts as a DRAFT).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    headline: String,
    slug: Option<String>,
    dek: Option<String>,
    /// Blocks in the one-of shape: `{"paragraph": {"html": "…"}}`.
    #[schema(value_type = Vec<Object>)]
    body: Vec<Block>,
    /// Section path.
    section: String,
    /// Author slugs, in byline order.
    authors: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[schema(value_type = Option<Object>)]
    source: Option<Source>,
    #[schema(value_type = Option<Object>)]
    featured_image: Option<Image>,
    /// Until when the article, once published, stays hidden from readers.
    embargo_until: Option<DateTime<Utc>>,
    rights: Option<RightsView>,
}

/// Creates a draft (writers under their own byline, editors, admins).
#[utoipa::path(post, path = "/api/v1/articles", tag = "articles", request_body = CreateBody,
    responses((status = 201, description = "Created", body = ArticleView, headers(("Location" = String), ("ETag" = String))),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 409, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(s): State<AppState>,
    Account(c): Account,
    headers: HeaderMap,
    Body(b): Body<CreateBody>,
) -> Result<Response> {
    let input = NewArticle {
        slug: b.slug,
        content: ArticleContent {
            headline: b.headline,
            dek: b.dek,
            body: b.body,
            section: b.section,
            authors: b.authors,
            tags: b.tags,
            source: b.source,
            featured_image: b.featured_image,
            embargo_until: b.embargo_until,
            rights: b.rights.map(Into::into),
        },
    };
    let a = publishing::create(&s.db, &c, input).await?;
    respond(&s, &c, &headers, a, StatusCode::CREATED).await
}

fn some<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Changes to an article: fields left out stay; `null` clears `dek`, `source`,
/// `featured_image`, `embargo_until` and `rights`.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    /// The version the change is based on (or send `If-Match`).
    expected_version: Option<i32>,
    headline: Option<String>,
    slug: Option<String>,
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<String>)]
    dek: Option<Option<String>>,
    #[schema(value_type = Option<Vec<Object>>)]
    body: Option<Vec<Block>>,
    section: Option<String>,
    authors: Option<Vec<String>>,
    tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<Object>)]
    source: Option<Option<Source>>,
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<Object>)]
    featured_image: Option<Option<Image>>,
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    embargo_until: Option<Option<DateTime<Utc>>>,
    /// Replaces the rights whole.
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<RightsView>)]
    rights: Option<Option<RightsView>>,
}

/// The version a write is based on: `If-Match` (a stale one is 412) or `expected_version`.
fn expected(headers: &HeaderMap, body: Option<i32>) -> Result<(i32, bool)> {
    match (cache_headers::if_match_version(headers)?, body) {
        (Some(v), _) => Ok((v, true)),
        (None, Some(v)) => Ok((v, false)),
        (None, None) => Err(HttpError::refused(
            Code::PreconditionRequired,
            "send the version the change is based on: expected_version, or If-Match with the article's ETag",
        )),
    }
}

/// A stale `If-Match` is 412; a stale `expected_version` stays 409.
fn precondition(via_if_match: bool) -> impl FnOnce(AppError) -> HttpError {
    move |e| match e {
        AppError::Conflict {
            message,
            current_version: Some(_),
        } if via_if_match => HttpError::PreconditionFailed(message),
        e => e.into(),
    }
}

/// What a write addresses (its caller has an account: see [`Account`]): the article must
/// exist, and the version it is based on comes from `If-Match` or the body.
/// Returns the id, the version, and whether it came from `If-Match`.
async fn write_target(
    s: &AppState,
    headers: &HeaderMap,
    slug: &str,
    version: Option<i32>,
) -> Result<(i32, i32, bool)> {
    let id = id_of(s, slug).await?;
    let (v, via) = expected(headers, version)?;
    Ok((id, v, via))
}

async fn id_of(s: &AppState, slug: &str) -> Result<i32> {
    Ok(articles::find_by_slug(&s.db, slug)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no article {slug:?}")))?
        .id)
}

/// Changes an article's content.
#[utoipa::path(patch, path = "/api/v1/articles/{slug}", tag = "articles", request_body = PatchBody,
    params(("slug" = String, Path), ("If-Match" = Option<String>, Header, description = "The ETag of the version the change is based on")),
    responses((status = 200, description = "Changed", body = ArticleView),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 412, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)),
    security(("bearer" = [])))]
pub async fn patch(
    State(s): State<AppState>,
    Account(c): Account,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Body(b): Body<PatchBody>,
) -> Result<Response> {
    let (id, v, via) = write_target(&s, &headers, &slug, b.expected_version).await?;
    let patch = ArticlePatch {
        headline: b.headline,
        slug: b.slug,
        dek: b.dek,
        body: b.body,
        section: b.section,
        authors: b.authors,
        tags: b.tags,
        source: b.source,
        featured_image: b.featured_image,
        embargo_until: b.embargo_until,
        rights: b.rights.map(|r| r.map(Into::into)),
    };
    let a = publishing::update(&s.db, &c, id, v, patch)
        .await
        .map_err(precondition(via))?;
    respond(&s, &c, &headers, a, StatusCode::OK).await
}

/// The body of a workflow step; may be empty when `If-Match` names the version.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    expected_version: Option<i32>,
    /// For `publish`: a future time schedules instead.
    at: Option<DateTime<Utc>>,
}

/// An optional JSON body: empty is the default; anything else must be JSON.
pub fn optional_json<T: Default + DeserializeOwned>(
    headers: &HeaderMap,
    bytes: &Bytes,
) -> Result<T> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Err(HttpError::refused(
            Code::UnsupportedMediaType,
            "send the body as Content-Type: application/json",
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| HttpError::refused(Code::MalformedRequest, format!("malformed JSON: {e}")))?;
    serde_json::from_value(value).map_err(|e| HttpError::refused(Code::BadUserInput, e.to_string()))
}

async fn step(
    s: AppState,
    c: Caller,
    headers: HeaderMap,
    slug: String,
    bytes: Bytes,
    t: Transition,
) -> Result<Response> {
    let b: StepBody = optional_json(&headers, &bytes)?;
    let (id, v, via) = write_target(&s, &headers, &slug, b.expected_version).await?;
    let a = publishing::transition(&s.db, &c, id, v, t, b.at)
        .await
        .map_err(precondition(via))?;
    respond(&s, &c, &headers, a, StatusCode::OK).await
}

macro_rules! step_route {
    ($name:ident, $path:literal, $t:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "articles", request_body(content = Option<StepBody>, description = "Optional when If-Match is sent"),
            params(("slug" = String, Path), ("If-Match" = Option<String>, Header)),
            responses((status = 200, description = "Done", body = ArticleView),
                      (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
                      (status = 409, body = Problem), (status = 412, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)),
            security(("bearer" = [])))]
        pub async fn $name(State(s): State<AppState>, Account(c): Account, headers: HeaderMap, Path(slug): Path<String>, bytes: Bytes) -> Result<Response> {
            step(s, c, headers, slug, bytes, $t).await
        }
    };
}

step_route!(
    submit,
    "/api/v1/articles/{slug}/submit",
    Transition::Submit,
    "Sends a draft for review (DRAFT → IN_REVIEW)."
);
step_route!(
    publish,
    "/api/v1/articles/{slug}/publish",
    Transition::Publish,
    "Publishes now, or schedules when `at` is in the future (editors)."
);
step_route!(
    unpublish,
    "/api/v1/articles/{slug}/unpublish",
    Transition::Unpublish,
    "Takes an article down (editors)."
);
step_route!(
    archive,
    "/api/v1/articles/{slug}/archive",
    Transition::Archive,
    "Archives an article (editors)."
);

/// `expected_version` of a delete.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// The version the deletion is based on (or send `If-Match`).
    expected_version: Option<i32>,
}

/// Deletes an article for good (admins).
#[utoipa::path(delete, path = "/api/v1/articles/{slug}", tag = "articles",
    params(("slug" = String, Path), DeleteParams, ("If-Match" = Option<String>, Header)),
    responses((status = 204, description = "Deleted"),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)),
    security(("bearer" = [])))]
pub async fn delete(
    State(s): State<AppState>,
    Account(c): Account,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Params(p): Params<DeleteParams>,
) -> Result<Response> {
    let (id, v, via) = write_target(&s, &headers, &slug, p.expected_version).await?;
    publishing::delete(&s.db, &c, id, v)
        .await
        .map_err(precondition(via))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// One saved change.
#[derive(Serialize, ToSchema)]
pub struct RevisionView {
    version: i32,
    action: String,
    actor: Option<String>,
    created_at: DateTime<Utc>,
    headline: String,
    #[schema(value_type = String)]
    status: ArticleStatus,
    embargo_until: Option<DateTime<Utc>>,
    rights: Option<RightsView>,
}

/// Every saved change of an article, newest first (editors and its own writers).
#[utoipa::path(get, path = "/api/v1/articles/{slug}/revisions", tag = "articles", params(("slug" = String, Path)),
    responses((status = 200, description = "Revisions", body = Vec<RevisionView>),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_revisions(
    State(s): State<AppState>,
    Who(c): Who,
    Path(slug): Path<String>,
) -> Result<Json<Vec<RevisionView>>> {
    c.require_account()?;
    let a = visible(&s, &c, &slug, None).await?;
    if !access::editor_or_owner(&s.db, &c, a.id).await? {
        return Err(AppError::Forbidden(
            "revisions are for editors and the article's own writers".into(),
        )
        .into());
    }
    let mut out = Vec::new();
    for r in revisions::list(&s.db, a.id).await? {
        let snap: revisions::Snapshot = serde_json::from_value(r.snapshot)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("revision {}: {e}", r.id)))?;
        out.push(RevisionView {
            version: r.version,
            action: r.action,
            actor: r.actor,
            created_at: r.created_at,
            headline: snap.headline,
            status: snap.status,
            embargo_until: snap.embargo_until,
            rights: RightsView::from_rights(snap.rights),
        });
    }
    Ok(Json(out))
}

/// Brings back the content of revision `version` as a new version.
#[utoipa::path(post, path = "/api/v1/articles/{slug}/revisions/{version}/restore", tag = "articles",
    request_body(content = Option<StepBody>, description = "expected_version, optional when If-Match is sent"),
    params(("slug" = String, Path), ("version" = i32, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, description = "Restored", body = ArticleView),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 412, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)),
    security(("bearer" = [])))]
pub async fn restore(
    State(s): State<AppState>,
    Account(c): Account,
    headers: HeaderMap,
    Path((slug, version)): Path<(String, i32)>,
    bytes: Bytes,
) -> Result<Response> {
    let b: StepBody = optional_json(&headers, &bytes)?;
    let (id, v, via) = write_target(&s, &headers, &slug, b.expected_version).await?;
    let a = publishing::restore(&s.db, &c, id, v, version)
        .await
        .map_err(precondition(via))?;
    respond(&s, &c, &headers, a, StatusCode::OK).await
}
