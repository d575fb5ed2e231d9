//! Which database a request reads: the one place the HTTP side decides (the GraphQL handler
//! asks [`anonymous_query`] for a `POST`ed query). `crate::replicas` explains the rule and
//! picks the replica.
//!
//! An anonymous read goes to a replica: a `GET` or `HEAD` of the content API (`/api/v1/…`,
//! `/graphql`, feeds, sitemaps, oEmbed) without an `Authorization` header and without a
//! preview or comment view token, whose holder expects to see what was just written.
//! Everything else reads the primary. The layer runs inside the read retry, so a read that
//! lost its replica is run again on the primary.

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::Failure;
use crate::state::AppState;

/// Query parameters and GraphQL arguments that carry a token for something unpublished.
const TOKENS: [&str; 4] = ["preview_token", "view_token", "previewToken", "viewToken"];

/// Runs an anonymous read inside [`crate::replicas::Db::read`]; anything else as it is.
pub async fn reads(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if state.db.replicas().is_none() || !anonymous_read(&req) {
        return next.run(req).await;
    }
    state.db.read(next.run(req), lost).await
}

fn anonymous_read(req: &Request) -> bool {
    if !matches!(*req.method(), Method::GET | Method::HEAD)
        || req.headers().contains_key(header::AUTHORIZATION)
    {
        return false;
    }
    let path = req.uri().path();
    let content = path == "/graphql"
        || path.starts_with("/api/v1/")
        || crate::http::public::is_public_format(path);
    content && !carries_token(req.uri().query().unwrap_or("").as_bytes())
}

/// Whether a query string or a GraphQL request body names a preview or view token.
pub fn carries_token(bytes: &[u8]) -> bool {
    TOKENS
        .iter()
        .any(|t| bytes.windows(t.len()).any(|w| w == t.as_bytes()))
}

/// Whether a GraphQL `POST` (its body) is an anonymous read: no token of any kind.
pub fn anonymous_query(anonymous: bool, mutates: bool, body: &[u8]) -> bool {
    anonymous && !mutates && !carries_token(body)
}

/// Whether the replica a read went to could not serve it (its connections), so that it is
/// taken out of rotation and the retry goes elsewhere.
pub fn lost_replica(failure: Option<&Failure>) -> bool {
    matches!(failure, Some(Failure::Connection | Failure::Exhausted))
}

fn lost(res: &Response) -> bool {
    lost_replica(res.extensions().get::<Failure>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(uri: &str, token: bool) -> Request {
        let mut r = Request::new(axum::body::Body::empty());
        *r.uri_mut() = uri.parse().expect("uri");
        if token {
            r.headers_mut()
                .insert(header::AUTHORIZATION, "Bearer x".parse().expect("header"));
        }
        r
    }

    #[test]
    fn only_anonymous_content_reads_without_tokens_go_to_replicas() {
        let cases = [
            ("/api/v1/articles", false, true, "an anonymous REST read"),
            (
                "/graphql?query=%7Bsections%7Bname%7D%7D",
                false,
                true,
                "GraphQL over GET",
            ),
            ("/feeds/rss.xml", false, true, "a feed"),
            ("/api/v1/articles", true, false, "a token: read-your-writes"),
            (
                "/api/v1/articles/a?preview_token=x",
                false,
                false,
                "a preview",
            ),
            (
                "/api/v1/comments/3?view_token=x",
                false,
                false,
                "a comment's poster",
            ),
            (
                "/graphql?query=%7Barticle(slug:%22a%22,previewToken:%22x%22)%7Bid%7D%7D",
                false,
                false,
                "a GraphQL preview",
            ),
            ("/readyz", false, false, "health is the primary's"),
            ("/metrics", false, false, "not content"),
        ];
        for (uri, token, replica, why) in cases {
            assert_eq!(anonymous_read(&get(uri, token)), replica, "{why}: {uri}");
        }
        let mut post = get("/api/v1/articles", false);
        *post.method_mut() = Method::POST;
        assert!(!anonymous_read(&post), "a write");
        assert!(anonymous_query(
            true,
            false,
            br#"{"query":"{ sections { name } }"}"#
        ));
        assert!(!anonymous_query(true, true, b"mutation"));
        assert!(!anonymous_query(false, false, b"{}"));
        assert!(!anonymous_query(
            true,
            false,
            br#"{"query":"{ article(slug:\"a\", previewToken:\"t\") { id } }"}"#
        ));
    }
}
