//! The HTTP side of the response cache (`crate::response_cache` has the rules): answers
//! anonymous reads from memory, stores the answers handlers mark [`Cacheable`], and applies
//! what every other request's writes touched before its response leaves.
//!
//! A hit costs a key built from the request's bytes, one map lookup and a copy of the
//! stored headers: no parsing, no GraphQL, no database. Answers it could have served carry
//! `X-Cache: HIT` or `MISS`; those it must stay out of (a token, a preview token, the cache
//! not hearing other processes yet) `X-Cache: BYPASS`. Writes and other routes get none.

use axum::RequestExt as _;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};

use crate::domain::invalidation::{self, Key, Touched};
use crate::error::{AppError, Code};
use crate::http::accept::Media;
use crate::http::cache_headers::{Conditions, into_not_modified};
use crate::http::error::HttpError;
use crate::response_cache::{Cacheable, Lifetime, ResponseCache};

/// The response header that says where an answer came from.
pub const X_CACHE: &str = "x-cache";

/// What a request is, for the cache.
enum Kind {
    /// A REST read.
    Rest,
    /// GraphQL over GET.
    GraphqlGet,
    /// GraphQL over POST (the body is part of the key).
    GraphqlPost,
}

fn kind(req: &Request) -> Option<Kind> {
    let path = req.uri().path();
    match *req.method() {
        Method::GET if path == "/graphql" => Some(Kind::GraphqlGet),
        Method::GET if path.starts_with("/api/v1/") => Some(Kind::Rest),
        // Feeds, sitemaps and oEmbed: keyed like REST reads; their handlers mark the
        // listings key themselves.
        Method::GET if crate::http::public::is_public_format(path) => Some(Kind::Rest),
        Method::POST if path == "/graphql" => Some(Kind::GraphqlPost),
        _ => None,
    }
}

/// Whether the request must not be answered from, or stored in, the cache.
fn bypassed(req: &Request, kind: &Kind) -> bool {
    if req.headers().contains_key(header::AUTHORIZATION) {
        return true;
    }
    match kind {
        // A preview shows a draft to whoever holds the link, and only while it is valid.
        Kind::Rest => req
            .uri()
            .query()
            .is_some_and(|q| q.split('&').any(|kv| kv.starts_with("preview_token="))),
        // Anything but JSON is refused by the handler; let it say so.
        Kind::GraphqlPost => !crate::http::graphql::is_json(req.headers()),
        Kind::GraphqlGet => false,
    }
}

/// Every REST answer but a single article by slug depends on which articles exist (its
/// listing, children, related articles), so it carries the listings key by route.
fn rest_lists(path: &str) -> bool {
    if !path.starts_with("/api/v1/") {
        return false;
    }
    let rest = path.trim_start_matches("/api/v1/");
    !matches!(rest.split('/').collect::<Vec<_>>().as_slice(), ["articles", slug] if !slug.is_empty())
}

/// The middleware (inside the router's other layers, so limits and rate limits apply). It
/// takes the cache alone as its state: cloning the whole `AppState` per request shows in a
/// profile of the hit path.
pub async fn layer(State(cache): State<ResponseCache>, req: Request, next: Next) -> Response {
    let Some(kind) = kind(&req).filter(|_| cache.enabled()) else {
        return with_writes(&cache, next.run(req)).await;
    };
    if !cache.is_live() || bypassed(&req, &kind) {
        cache.bypass();
        let mut res = with_writes(&cache, next.run(req)).await;
        label(&mut res, "BYPASS");
        return res;
    }
    let (mut parts, body) = req.with_limited_body().into_parts();
    let body = match kind {
        Kind::GraphqlPost => match axum::body::to_bytes(body, usize::MAX).await {
            Ok(b) => b,
            Err(e) => return unreadable(&e),
        },
        _ => Bytes::new(),
    };
    // A GraphQL answer's media type (and so its status on errors) follows `Accept`: an
    // answer kept for one media type is never replayed to a client that asked for the other.
    let variant = match kind {
        Kind::Rest => 0,
        Kind::GraphqlGet | Kind::GraphqlPost => {
            match crate::http::accept::negotiate(&parts.headers) {
                Some(Media::GraphqlResponse) => 1,
                Some(Media::Json) => 2,
                None => 3,
            }
        }
    };
    let key = key(&parts.method, &parts.uri, variant, &body);
    let conditional = Conditions::take(&mut parts.headers);
    if let Some(entry) = cache.get(&key) {
        cache.hit();
        let mut res = Response::new(Body::from(entry.body.clone()));
        *res.status_mut() = entry.status;
        *res.headers_mut() = entry.headers.clone();
        let mut res = not_modified(res, &conditional);
        label(&mut res, "HIT");
        return res;
    }
    cache.miss();
    // Before anything is read: an invalidation after this point makes the answer unusable.
    let born = cache.generation();
    let lists = matches!(kind, Kind::Rest) && rest_lists(parts.uri.path());
    let req = Request::from_parts(parts, Body::from(body));
    let mut res = with_writes(&cache, next.run(req)).await;
    // A `200` may still carry GraphQL errors (under `application/json`); those answers are
    // `no-store`, and the handler never marks them either.
    if let Some(Cacheable(mut keys)) = res.extensions_mut().remove::<Cacheable>()
        && res.status() == StatusCode::OK
        && !no_store(&res)
    {
        if lists {
            keys.push(Key::Lists);
        }
        let lifetime = res.extensions_mut().remove::<Lifetime>().map(|l| l.0);
        let (parts, body) = res.into_parts();
        let bytes = match axum::body::to_bytes(body, usize::MAX).await {
            Ok(b) => b,
            Err(e) => {
                return AppError::Internal(anyhow::anyhow!("response body: {e}")).into_response();
            }
        };
        // An exact copy: the serialised body's buffer grew by doubling, and keeping it
        // would hold up to twice the answer's bytes for as long as the entry lives.
        cache.insert_for(
            key.into_boxed_slice(),
            born,
            parts.status,
            parts.headers.clone(),
            Bytes::copy_from_slice(&bytes),
            keys,
            lifetime,
        );
        res = Response::from_parts(parts, Body::from(bytes));
    }
    let mut res = not_modified(res, &conditional);
    label(&mut res, "MISS");
    res
}

/// The cache key: method, path, query string, the answer's variant (its media type) and
/// the body, as sent.
fn key(method: &Method, uri: &axum::http::Uri, variant: u8, body: &[u8]) -> Vec<u8> {
    let (path, query) = (uri.path().as_bytes(), uri.query().unwrap_or("").as_bytes());
    let mut key = Vec::with_capacity(9 + path.len() + query.len() + body.len());
    key.extend_from_slice(method.as_str().as_bytes());
    key.push(b' ');
    key.extend_from_slice(path);
    key.push(b'?');
    key.extend_from_slice(query);
    key.push(0);
    key.push(variant);
    key.extend_from_slice(body);
    key
}

/// Runs a request that is not a hit, applying what its writes touched once it is done
/// (after their commit; also if the request is cut short, since its writes may have
/// committed).
async fn with_writes(cache: &ResponseCache, work: impl Future<Output = Response>) -> Response {
    struct Apply(ResponseCache, std::sync::Arc<Touched>);
    impl Drop for Apply {
        fn drop(&mut self) {
            let keys = self.1.take();
            if !keys.is_empty() {
                self.0.invalidate(keys);
            }
        }
    }
    let touched = Touched::new(cache.origin());
    let _apply = Apply(cache.clone(), touched.clone());
    invalidation::collect(touched, work).await
}

/// `304 Not Modified` for a `200` the request's validators match (`If-None-Match`, else
/// `If-Modified-Since`), with the headers the handler would give it (all but the body's).
fn not_modified(res: Response, conditions: &Conditions) -> Response {
    if res.status() == StatusCode::OK && conditions.unmodified(res.headers()) {
        into_not_modified(res)
    } else {
        res
    }
}

/// Whether the answer says no cache may keep it.
fn no_store(res: &Response) -> bool {
    res.headers()
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|d| d.trim().eq_ignore_ascii_case("no-store"))
        })
}

fn label(res: &mut Response, how: &'static str) {
    res.headers_mut()
        .insert(X_CACHE, HeaderValue::from_static(how));
}

/// The answer to a POST body that could not be read: too large (413) or cut off (400), as
/// the GraphQL handler words it.
fn unreadable(e: &axum::Error) -> Response {
    use std::error::Error as _;
    let too_large = e
        .source()
        .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
        || e.to_string().contains("length limit");
    if too_large {
        HttpError::refused(
            Code::PayloadTooLarge,
            format!(
                "the request body is larger than {} bytes",
                crate::http::graphql::MAX_BODY_BYTES
            ),
        )
        .into_response()
    } else {
        HttpError::refused(Code::MalformedRequest, "the request body could not be read")
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_single_article_routes_are_free_of_the_listings_key() {
        assert!(!rest_lists("/api/v1/articles/a-slug"));
        assert!(rest_lists("/api/v1/articles"));
        assert!(rest_lists("/api/v1/articles/a-slug/related"));
        assert!(rest_lists("/api/v1/sections/news"));
        assert!(rest_lists("/api/v1/authors/someone"));
    }

    #[test]
    fn keys_tell_methods_queries_media_types_and_bodies_apart() {
        let uri: axum::http::Uri = "/graphql?query=x".parse().expect("uri");
        let plain: axum::http::Uri = "/graphql".parse().expect("uri");
        assert_ne!(
            key(&Method::GET, &uri, 1, b""),
            key(&Method::POST, &uri, 1, b"")
        );
        assert_ne!(
            key(&Method::POST, &plain, 1, b"a"),
            key(&Method::POST, &plain, 1, b"b")
        );
        assert_ne!(
            key(&Method::GET, &uri, 1, b""),
            key(&Method::GET, &plain, 1, b"")
        );
        assert_ne!(
            key(&Method::GET, &uri, 1, b""),
            key(&Method::GET, &uri, 2, b""),
            "media types"
        );
    }
}
