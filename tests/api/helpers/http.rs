//! Requests as a client builds them, sending them to any router, and reading what comes
//! back. `TestApp` uses these for its own router; tests use them directly for a second
//! process, a router with other settings, or a request no well-behaved client would send.

use axum::Router;
use axum::body::Body;
use axum::http::header::IntoHeaderName;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

/// A request with an optional bearer token and JSON body.
pub fn request(method: &str, uri: &str, token: Option<&str>, body: Option<Value>) -> Request<Body> {
    match body {
        Some(b) => raw_request(method, uri, token, Some("application/json"), b.to_string()),
        None => raw_request(method, uri, token, None, Body::empty()),
    }
}

/// A request with any body and content type (or none) and an optional bearer token: for
/// bodies that are not JSON, or not valid, or too large.
pub fn raw_request(
    method: &str,
    uri: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: impl Into<Body>,
) -> Request<Body> {
    let mut r = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if let Some(ct) = content_type {
        r = r.header(header::CONTENT_TYPE, ct);
    }
    r.body(body.into()).expect("request")
}

/// A GraphQL POST with an optional bearer token. The same operation gives the same bytes
/// every time, so repeated reads share one response-cache key.
pub fn graphql_request(token: Option<&str>, query: &str, variables: &Value) -> Request<Body> {
    request(
        "POST",
        "/graphql",
        token,
        Some(json!({ "query": query, "variables": variables })),
    )
}

/// Sets a header on a request being built (replacing any of that name).
pub trait WithHeader {
    fn with_header(self, name: impl IntoHeaderName, value: &str) -> Self;
}

impl WithHeader for Request<Body> {
    fn with_header(mut self, name: impl IntoHeaderName, value: &str) -> Self {
        self.headers_mut()
            .insert(name, value.parse().expect("a valid header value"));
        self
    }
}

/// Sends a request to `router`; returns status, headers and the raw body.
pub async fn send_raw(router: &Router, req: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let res = router.clone().oneshot(req).await.expect("router answers");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    (status, headers, bytes.to_vec())
}

/// Sends a request to `router`; returns status, headers and the body as JSON (or, when it
/// is not JSON, as a string).
pub async fn send_to(router: &Router, req: Request<Body>) -> (StatusCode, HeaderMap, Value) {
    let (status, headers, bytes) = send_raw(router, req).await;
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, headers, body)
}

/// The slugs of a connection's nodes, in order (`{ edges { node { slug } } }`); panics when
/// the connection is missing, so that "no slugs" always means an empty listing.
pub fn slugs(connection: &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("a connection with edges: {connection}"))
        .iter()
        .map(|e| e["node"]["slug"].as_str().expect("slug").to_owned())
        .collect()
}

/// The slugs of a REST listing's `data`, in order; panics when the body is not a listing
/// (a refusal, say), so that "no slugs" always means an empty listing.
pub fn rest_slugs(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("a listing with data: {body}"))
        .iter()
        .map(|a| a["slug"].as_str().expect("slug").to_owned())
        .collect()
}

/// Asserts that an answer is this problem+json refusal: status, content type, `status` and
/// `code` in the body, and the title, detail and type every problem has.
pub fn assert_problem(
    what: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &Value,
    want: StatusCode,
    code: &str,
) {
    assert_eq!(status, want, "{what}: {body}");
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "application/problem+json",
        "{what}"
    );
    assert_eq!(body["status"], want.as_u16(), "{what}: {body}");
    assert_eq!(body["code"], code, "{what}: {body}");
    assert!(
        body["title"].is_string() && body["detail"].is_string() && body["type"].is_string(),
        "{what}: {body}"
    );
}

/// Asserts that an article's rendered `bodyHtml` is there, holds each of `kept` and none
/// of `stripped` (both compared in lower case).
pub fn assert_body_html(article: &Value, kept: &[&str], stripped: &[&str]) {
    let html = article["bodyHtml"]
        .as_str()
        .unwrap_or_else(|| panic!("an article with bodyHtml: {article}"))
        .to_lowercase();
    for k in kept {
        assert!(html.contains(k), "{k} is in the body's HTML: {html}");
    }
    for bad in stripped {
        assert!(!html.contains(bad), "{bad} survived: {html}");
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters (for query strings).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}
