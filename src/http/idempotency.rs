//! The `Idempotency-Key` request header (IETF httpapi-idempotency-key draft) on every write:
//! REST `POST`/`PATCH`/`PUT`/`DELETE` and GraphQL mutations. `crate::domain::idempotency`
//! keeps the keys and explains how a key is claimed inside the write's own transaction; this
//! middleware reads the header, answers what it can before the request runs, runs the rest
//! with the key in scope, and keeps the response.
//!
//! - A key is a string of 1 to 255 visible ASCII characters, sent as a structured-field
//!   string (`"8e03…"`, as the draft writes it) or bare; anything else is 400.
//! - Scope: the caller's account (`sub`), or the client address for anonymous callers. A key
//!   of one caller is invisible to another.
//! - A request is its method, path (with query) and body: the same key with another request
//!   is 422, whatever became of the first.
//! - The same key and request again: the stored response, byte for byte, with
//!   `Idempotency-Replayed: true`, and nothing changes. If the first write committed but its
//!   response was lost (the database failed right after the commit), the request runs again
//!   in replay mode and answers from what the write produced, without writing.
//! - While the first is still in flight: 409.
//! - A write that did not commit keeps nothing (a validation error, a stale version, a 503
//!   before commit): a retry runs again. Responses of 5xx are never kept.
//! - A write that committed but whose answer failed (the database went away right after
//!   the commit) is answered 503 saying that the write was applied, with or without a key,
//!   so that it never reads as a failed write.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use sha2::{Digest as _, Sha256};

use crate::domain::idempotency::{
    self, Claim, Found, MAX_KEY_LEN, MAX_RESPONSE_BYTES, State as ClaimState, Stored,
};
use crate::error::{AppError, Code};
use crate::http::ClientKey;
use crate::http::error::HttpError;
use crate::state::AppState;

/// The request header.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// The response header of an answer replayed from a stored response.
pub const IDEMPOTENCY_REPLAYED: HeaderName = HeaderName::from_static("idempotency-replayed");

/// Headers of a response that a replay repeats.
const KEPT_HEADERS: [&str; 6] = [
    "content-type",
    "location",
    "etag",
    "last-modified",
    "cache-control",
    "vary",
];

/// Largest request body read to fingerprint it (the routes' own limit).
const MAX_REQUEST_BYTES: usize = crate::http::graphql::MAX_BODY_BYTES;

/// Whether a request can write.
fn writes(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The key of an `Idempotency-Key` value: an sf-string (`"…"`, with `\"` and `\\`
/// escapes) or a bare value, of 1 to [`MAX_KEY_LEN`] visible ASCII characters.
pub fn parse_key(value: &HeaderValue) -> Result<String, HttpError> {
    let bad = |why: &str| {
        HttpError::refused(
            Code::MalformedRequest,
            format!(
                "Idempotency-Key {why}: send 1 to {MAX_KEY_LEN} visible ASCII characters, e.g. a UUID, as a quoted string"
            ),
        )
    };
    let raw = value.to_str().map_err(|_| bad("is not ASCII"))?.trim();
    let key = match raw.strip_prefix('"') {
        Some(rest) => {
            let inner = rest
                .strip_suffix('"')
                .ok_or_else(|| bad("has no closing quote"))?;
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some(e @ ('"' | '\\')) => out.push(e),
                        _ => return Err(bad("has a bad escape")),
                    },
                    '"' => return Err(bad("has an unescaped quote")),
                    c => out.push(c),
                }
            }
            out
        }
        None => raw.to_owned(),
    };
    if key.is_empty() {
        return Err(bad("is empty"));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(bad("is too long"));
    }
    if !key.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(bad("has characters other than visible ASCII"));
    }
    Ok(key)
}

/// The request as the key remembers it: SHA-256 of method, path with query, and body.
fn fingerprint(method: &Method, uri: &axum::http::Uri, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_str().as_bytes());
    h.update(b"\n");
    h.update(uri.path_and_query().map_or("", |p| p.as_str()).as_bytes());
    h.update(b"\n");
    h.update(body);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The middleware (inside the gate, which verified the caller).
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !writes(req.method()) {
        return next.run(req).await;
    }
    let Some(value) = req.headers().get(&IDEMPOTENCY_KEY) else {
        let claim = Claim::keyless();
        let res = idempotency::scope(claim.clone(), next.run(req)).await;
        return applied_unanswered(&claim, &res, false).unwrap_or(res);
    };
    let key = match parse_key(value) {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    let Some(ClientKey(scope)) = req.extensions().get::<ClientKey>().cloned() else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_REQUEST_BYTES).await else {
        return HttpError::refused(
            Code::PayloadTooLarge,
            format!("the request body is larger than {MAX_REQUEST_BYTES} bytes"),
        )
        .into_response();
    };
    let print = fingerprint(&parts.method, &parts.uri, &bytes);
    let claim = match idempotency::lookup(&state.db, &scope, &key, &print).await {
        Err(e) => return HttpError::from(e).into_response(),
        Ok(Found::Mismatch) => {
            return HttpError::refused(
                Code::BadUserInput,
                "this Idempotency-Key was used with a different request (method, path or body): use a new key for a new request",
            )
            .into_response();
        }
        Ok(Found::Response(stored)) => return replay(stored),
        Ok(Found::Applied(outcome)) => Claim::replay(&scope, &key, &print, outcome),
        Ok(Found::New) => Claim::new(&scope, &key, &print, state.http.idempotency_retention),
    };
    let req = Request::from_parts(parts, Body::from(bytes));
    let res = idempotency::scope(claim.clone(), next.run(req)).await;
    if claim.in_flight() {
        return HttpError::refused(
            Code::Conflict,
            "a request with this Idempotency-Key is being processed: retry it shortly to get its response",
        )
        .into_response();
    }
    if let Some(refusal) = applied_unanswered(&claim, &res, true) {
        return refusal;
    }
    if claim.state() != ClaimState::Committed || res.status().is_server_error() {
        return res;
    }
    keep(&state, &claim, res).await
}

/// When a write committed but its answer failed (the database went away right after the
/// commit, while the answer was being read back), the 503 must not read as the write's
/// failure: it says that the write was applied. With a key, a retry gets the answer (made
/// from the write's outcome); without one, the client must not send the write again.
fn applied_unanswered(claim: &Claim, res: &Response, keyed: bool) -> Option<Response> {
    if !(claim.wrote() && res.status().is_server_error()) {
        return None;
    }
    let message = if keyed {
        "the write was applied, but its answer could not be made (the database failed right after the commit): retry with the same Idempotency-Key to get the answer"
    } else {
        "the write was applied, but its answer could not be made (the database failed right after the commit): do not send it again, read the resource instead (send writes with an Idempotency-Key to retry them safely)"
    };
    Some(HttpError::from(AppError::unavailable(message)).into_response())
}

/// Stores `res` with the key (when it is small enough) and sends it on.
async fn keep(state: &AppState, claim: &Claim, res: Response) -> Response {
    let (parts, body) = res.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "a write's response could not be read to keep it");
            return Response::from_parts(parts, Body::empty());
        }
    };
    if bytes.len() <= MAX_RESPONSE_BYTES {
        let stored = Stored {
            status: parts.status.as_u16(),
            headers: kept(&parts.headers),
            body: bytes.to_vec(),
        };
        // If this fails, the key keeps the write's outcome, and a retry answers from it.
        if let Err(e) = idempotency::store_response(&state.db, claim, &stored).await {
            tracing::warn!(error = %e, "a write's response could not be kept for its Idempotency-Key");
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn kept(headers: &HeaderMap) -> Vec<(String, String)> {
    KEPT_HEADERS
        .iter()
        .filter_map(|name| {
            let v = headers.get(*name)?.to_str().ok()?;
            Some(((*name).to_owned(), v.to_owned()))
        })
        .collect()
}

/// The stored response, again.
fn replay(stored: Stored) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = (status, Bytes::from(stored.body)).into_response();
    let h = res.headers_mut();
    for (name, value) in &stored.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            h.insert(n, v);
        }
    }
    h.insert(IDEMPOTENCY_REPLAYED, HeaderValue::from_static("true"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_structured_field_strings_or_bare() {
        let ok = [
            (
                "\"8e03978e-40d5-43e8-bc93-6894a57f9324\"",
                "8e03978e-40d5-43e8-bc93-6894a57f9324",
            ),
            ("abc-123", "abc-123"),
            ("\"a \\\"quoted\\\" \\\\ key\"", "a \"quoted\" \\ key"),
        ];
        for (raw, want) in ok {
            let got = parse_key(&HeaderValue::from_static(raw)).expect(raw);
            assert_eq!(got, want, "{raw}");
        }
        let long = format!("\"{}\"", "k".repeat(MAX_KEY_LEN + 1));
        for (raw, why) in [
            ("\"\"", "empty"),
            ("", "empty"),
            ("\"open", "no closing quote"),
            ("\"a\\x\"", "bad escape"),
            ("\"a\"b\"", "inner quote"),
            (long.as_str(), "too long"),
        ] {
            let v = HeaderValue::from_str(raw).expect("a header value");
            assert!(parse_key(&v).is_err(), "{why}: {raw}");
        }
    }

    #[test]
    fn a_request_is_its_method_path_and_body() {
        let uri: axum::http::Uri = "/api/v1/articles?x=1".parse().expect("uri");
        let other: axum::http::Uri = "/api/v1/articles".parse().expect("uri");
        let a = fingerprint(&Method::POST, &uri, b"{}");
        assert_eq!(a, fingerprint(&Method::POST, &uri, b"{}"));
        assert_ne!(a, fingerprint(&Method::PATCH, &uri, b"{}"));
        assert_ne!(a, fingerprint(&Method::POST, &other, b"{}"));
        assert_ne!(a, fingerprint(&Method::POST, &uri, b"{ }"));
    }
}
