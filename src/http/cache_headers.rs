//! HTTP caching of reads: a strong `ETag` over the exact bytes, `304 Not Modified` for a
//! matching `If-None-Match`, `Cache-Control` public (configurable) for anonymous reads and
//! private for anything read with a token, `Vary`, and `Surrogate-Key` / `Cache-Tag` naming
//! every article, section, author and tag in the response so a CDN can purge exactly.

use std::collections::BTreeSet;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::access::Caller;
use crate::domain::invalidation::Key;
use crate::error::AppError;
use crate::http::error::HttpError;

/// `Cache-Control` of anything read with a token, and of answers with errors.
pub const PRIVATE: &str = "private, no-store";

/// A strong validator for `bytes`; with a version, writes can send it back as `If-Match`.
///
/// 128 bits of rapidhash v3 (a fixed, portable function: every process and every release
/// gives the same tag for the same bytes), with two seeds. A validator needs no resistance
/// to forgery, and at a feed's 380 kB, SHA-256 was a tenth of the answer's CPU.
pub fn etag(bytes: &[u8], version: Option<i32>) -> String {
    use rapidhash::v3::{RapidSecrets, rapidhash_v3_seeded};
    const FIRST: RapidSecrets = RapidSecrets::seed(0x6761_7a65_7474_6531);
    const SECOND: RapidSecrets = RapidSecrets::seed(0x6761_7a65_7474_6532);
    let hex = format!(
        "{:016x}{:016x}",
        rapidhash_v3_seeded(bytes, &FIRST),
        rapidhash_v3_seeded(bytes, &SECOND)
    );
    match version {
        Some(v) => format!("\"v{v}-{hex}\""),
        None => format!("\"{hex}\""),
    }
}

/// The article version an `If-Match` names, if it is one of ours.
pub fn if_match_version(headers: &HeaderMap) -> Result<Option<i32>, HttpError> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let tag = v
        .to_str()
        .unwrap_or("")
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"');
    tag.strip_prefix('v')
        .and_then(|rest| rest.split('-').next())
        .and_then(|n| n.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            HttpError::PreconditionFailed("If-Match does not name a version of this article".into())
        })
}

fn matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| matches_tag(v, etag))
}

/// Whether an `If-None-Match` value names `etag` (weakly, as RFC 9110 asks for GET).
pub fn matches_tag(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

/// The validators a conditional GET sent.
#[derive(Clone, Debug, Default)]
pub struct Conditions {
    pub if_none_match: Option<HeaderValue>,
    pub if_modified_since: Option<HeaderValue>,
}

impl Conditions {
    /// Takes the validators out of `headers`, so that what runs next answers in full.
    pub fn take(headers: &mut HeaderMap) -> Self {
        Self {
            if_none_match: headers.remove(header::IF_NONE_MATCH),
            if_modified_since: headers.remove(header::IF_MODIFIED_SINCE),
        }
    }

    /// The validators of a request, left in place.
    pub fn of(headers: &HeaderMap) -> Self {
        Self {
            if_none_match: headers.get(header::IF_NONE_MATCH).cloned(),
            if_modified_since: headers.get(header::IF_MODIFIED_SINCE).cloned(),
        }
    }

    /// Whether a `200` answer with these headers is not modified for the request (RFC 9110
    /// §13.2.2): `If-None-Match` against its `ETag` when sent, else `If-Modified-Since`
    /// against its `Last-Modified`, when it has one.
    pub fn unmodified(&self, answer: &HeaderMap) -> bool {
        fn text(v: Option<&HeaderValue>) -> Option<&str> {
            v.and_then(|v| v.to_str().ok())
        }
        if let Some(inm) = text(self.if_none_match.as_ref()) {
            return text(answer.get(header::ETAG)).is_some_and(|e| matches_tag(inm, e));
        }
        match (
            text(self.if_modified_since.as_ref()).and_then(http_date),
            text(answer.get(header::LAST_MODIFIED)).and_then(http_date),
        ) {
            (Some(since), Some(modified)) => modified <= since,
            _ => false,
        }
    }
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`) as seconds since the epoch.
fn http_date(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc2822(text.trim())
        .ok()
        .map(|t| t.timestamp())
}

/// `t` as an HTTP date, for `Last-Modified`.
pub fn to_http_date(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Adds `Last-Modified: at` to an answer (whose time must never go backwards) and turns a
/// `200` into `304` when the request's validators say it is unmodified (`If-Modified-Since`
/// counts only without `If-None-Match`, which [`bytes_response`] has already weighed).
pub fn with_last_modified(
    mut res: Response,
    at: chrono::DateTime<chrono::Utc>,
    request: &HeaderMap,
) -> Response {
    if let Ok(v) = HeaderValue::from_str(&to_http_date(at)) {
        res.headers_mut().insert(header::LAST_MODIFIED, v);
    }
    if res.status() == StatusCode::OK && Conditions::of(request).unmodified(res.headers()) {
        return into_not_modified(res);
    }
    res
}

/// The `304` for `res` (its headers but the body's own).
pub fn into_not_modified(res: Response) -> Response {
    let mut headers = res.headers().clone();
    headers.remove(header::CONTENT_TYPE);
    headers.remove(header::CONTENT_LENGTH);
    let mut out = StatusCode::NOT_MODIFIED.into_response();
    *out.headers_mut() = headers;
    out
}

/// How a cacheable answer is labelled.
pub struct Caching<'a> {
    /// `Cache-Control` of an anonymous read.
    pub public: &'a str,
    /// The caller (any token makes the answer private).
    pub caller: &'a Caller,
    /// The request's headers (`If-None-Match`).
    pub request: &'a HeaderMap,
}

impl<'a> Caching<'a> {
    /// Labels for a read by `caller`, with the server's public `Cache-Control`.
    pub fn of(
        state: &'a crate::state::AppState,
        caller: &'a Caller,
        request: &'a HeaderMap,
    ) -> Self {
        Self {
            public: &state.http.public_cache_control,
            caller,
            request,
        }
    }
}

/// A cacheable JSON answer.
pub fn json(
    cx: &Caching<'_>,
    status: StatusCode,
    body: &impl Serialize,
    keys: &BTreeSet<Key>,
    version: Option<i32>,
) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => bytes_response(cx, status, bytes, "application/json", keys, version),
        Err(e) => AppError::Internal(e.into()).into_response(),
    }
}

/// A cacheable answer of already-serialised bytes.
pub fn bytes_response(
    cx: &Caching<'_>,
    status: StatusCode,
    bytes: Vec<u8>,
    content_type: &'static str,
    keys: &BTreeSet<Key>,
    version: Option<i32>,
) -> Response {
    let tag = etag(&bytes, version);
    let mut res = if status == StatusCode::OK && matches(cx.request, &tag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = (status, bytes).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        r
    };
    let cache_control = cache_control(cx);
    // What a shared cache may keep, the response cache may keep too.
    if status == StatusCode::OK && is_public(&cache_control) {
        res.extensions_mut()
            .insert(crate::response_cache::Cacheable(
                keys.iter().copied().collect(),
            ));
    }
    if let Ok(v) = HeaderValue::from_str(&tag) {
        res.headers_mut().insert(header::ETAG, v);
    }
    label(res.headers_mut(), cache_control, keys);
    res
}

/// A `200` streamed as it is made, labelled as [`bytes_response`] labels but without an
/// `ETag` (its bytes are not known before they are sent), and never kept by the response
/// cache, which would have to hold it whole: shared caches may keep it (`public`), and
/// purge it by its surrogate keys.
pub fn streamed(
    cx: &Caching<'_>,
    body: axum::body::Body,
    content_type: &'static str,
    keys: &BTreeSet<Key>,
) -> Response {
    let mut res = Response::new(body);
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    label(res.headers_mut(), cache_control(cx), keys);
    res
}

/// `Cache-Control` of a read by the caller.
fn cache_control(cx: &Caching<'_>) -> HeaderValue {
    match cx.caller {
        Caller::Anonymous => {
            HeaderValue::from_str(cx.public).unwrap_or(HeaderValue::from_static(PRIVATE))
        }
        Caller::Account { .. } | Caller::Partner { .. } => HeaderValue::from_static(PRIVATE),
    }
}

fn is_public(cache_control: &HeaderValue) -> bool {
    cache_control
        .to_str()
        .is_ok_and(|v| v.starts_with("public"))
}

/// `Cache-Control`, `Vary` and the surrogate keys.
fn label(h: &mut HeaderMap, cache_control: HeaderValue, keys: &BTreeSet<Key>) {
    h.insert(header::CACHE_CONTROL, cache_control);
    h.insert(
        header::VARY,
        HeaderValue::from_static("Authorization, Accept-Encoding"),
    );
    if !keys.is_empty() {
        let list: Vec<String> = keys.iter().map(Key::to_string).collect();
        if let Ok(v) = HeaderValue::from_str(&list.join(" ")) {
            h.insert("surrogate-key", v);
        }
        if let Ok(v) = HeaderValue::from_str(&list.join(",")) {
            h.insert("cache-tag", v);
        }
    }
}

/// Keeps an answer that changes without any write (a window of time moves on) fresh for
/// `left` at most: `max-age` and `s-maxage` no longer than that, `stale-while-revalidate`
/// no longer than what remains of it (so no cache serves it after it changed), and the
/// response cache's entry gone then too ([`crate::response_cache::Lifetime`]).
pub fn fresh_for(res: &mut Response, left: std::time::Duration) {
    let secs = left.as_secs();
    let Some(value) = res
        .headers()
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.starts_with("public"))
        .map(|v| cap_cache_control(v, secs))
    else {
        return;
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    if res
        .extensions()
        .get::<crate::response_cache::Cacheable>()
        .is_some()
    {
        res.extensions_mut()
            .insert(crate::response_cache::Lifetime(left));
    }
}

/// `Cache-Control` with freshness cut to `secs` (see [`fresh_for`]).
fn cap_cache_control(value: &str, secs: u64) -> String {
    let number = |d: &str, name: &str| {
        d.strip_prefix(name)
            .and_then(|r| r.strip_prefix('='))
            .and_then(|n| n.trim().parse::<u64>().ok())
    };
    let directives: Vec<&str> = value.split(',').map(str::trim).collect();
    let max_age = directives
        .iter()
        .find_map(|d| number(d, "max-age"))
        .map_or(secs, |m| m.min(secs));
    let mut out: Vec<String> = Vec::with_capacity(directives.len());
    for d in directives {
        if number(d, "max-age").is_some() {
            out.push(format!("max-age={max_age}"));
        } else if let Some(s) = number(d, "s-maxage") {
            out.push(format!("s-maxage={}", s.min(secs)));
        } else if let Some(w) = number(d, "stale-while-revalidate") {
            let w = w.min(secs - max_age);
            if w > 0 {
                out.push(format!("stale-while-revalidate={w}"));
            }
        } else if !d.is_empty() {
            out.push(d.to_owned());
        }
    }
    if !out.iter().any(|d| d.starts_with("max-age=")) {
        out.push(format!("max-age={max_age}"));
    }
    out.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_reads_our_version_tags() {
        let mut h = HeaderMap::new();
        assert_eq!(if_match_version(&h).ok(), Some(None));
        h.insert(header::IF_MATCH, HeaderValue::from_static("\"v7-abcdef\""));
        assert_eq!(if_match_version(&h).ok(), Some(Some(7)));
        h.insert(header::IF_MATCH, HeaderValue::from_static("\"abcdef\""));
        assert!(if_match_version(&h).is_err_and(|e| e.status() == StatusCode::PRECONDITION_FAILED));
    }

    #[test]
    fn freshness_is_cut_to_what_is_left() {
        let cc = "public, max-age=60, stale-while-revalidate=300";
        assert_eq!(
            cap_cache_control(cc, 1000),
            "public, max-age=60, stale-while-revalidate=300"
        );
        assert_eq!(
            cap_cache_control(cc, 100),
            "public, max-age=60, stale-while-revalidate=40"
        );
        assert_eq!(cap_cache_control(cc, 30), "public, max-age=30");
        assert_eq!(cap_cache_control(cc, 0), "public, max-age=0");
        assert_eq!(
            cap_cache_control("public, s-maxage=600", 5),
            "public, s-maxage=5, max-age=5"
        );
    }

    #[test]
    fn etags_are_strong_and_change_with_the_bytes() {
        assert_ne!(etag(b"a", None), etag(b"b", None));
        assert!(etag(b"a", Some(3)).starts_with("\"v3-"));
    }
}
