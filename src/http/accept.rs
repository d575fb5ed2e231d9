//! The media type a GraphQL answer is served as, chosen from the request's `Accept` as the
//! GraphQL-over-HTTP spec asks ("Body" and "Status Codes"). The two types differ in what a
//! status code tells the client:
//!
//! - `application/graphql-response+json`: an answer without `data` (a request error: the
//!   document does not parse or validate, variables do not coerce, a limit, an unknown
//!   persisted query) is `400`, so a client knows from the media type alone that a `4xx`
//!   came from the GraphQL server and not from a proxy on the way.
//! - `application/json`, the legacy type: every well-formed GraphQL request is answered
//!   `200`, errors and all, because with this type a client can only trust a `200` to be a
//!   GraphQL response (legacy clients read `errors` only from a `200`).
//!
//! Refusals before GraphQL runs (a bad token, a body that is not JSON or too large, rate
//! limits, overload) keep their own status under either type, and so does a database that
//! cannot serve (`UNAVAILABLE` in `extensions.code`): `503` with `Retry-After`, since it
//! refuses the request rather than answering it (`crate::http::graphql`).
//!
//! Choosing: the type with the highest `q` wins; between equal `q`s the range that names a
//! type exactly beats a wildcard (axios's `application/json, text/plain, */*` gets JSON),
//! and a client that names both exactly gets `application/graphql-response+json`. A client
//! that names neither (`*/*`, `application/*`: a browser's `fetch`, curl, older GraphQL
//! clients) gets `application/json`, the type such clients read, as graphql-http's audit
//! asks. No `Accept` at all is taken as `application/graphql-response+json`, as the spec says
//! from its 2025-01-01 watershed on. An `Accept` that allows neither is answered `406`.

use axum::http::{HeaderMap, StatusCode, header};

/// The media types a GraphQL answer can be served as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Media {
    /// `application/graphql-response+json`: request errors are `4xx`.
    GraphqlResponse,
    /// `application/json`: every GraphQL answer is `200`.
    Json,
}

impl Media {
    /// The `Content-Type` of an answer in this type.
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::GraphqlResponse => "application/graphql-response+json",
            Self::Json => "application/json",
        }
    }

    /// The status of an answer whose errors were raised before execution (it has no `data`).
    pub const fn request_error_status(self) -> StatusCode {
        match self {
            Self::GraphqlResponse => StatusCode::BAD_REQUEST,
            Self::Json => StatusCode::OK,
        }
    }
}

/// The media types `Accept` may name for a GraphQL answer, in the server's preference.
const CANDIDATES: [Media; 2] = [Media::GraphqlResponse, Media::Json];

/// How exactly a media range names `media`: 2 by type and subtype, 1 as `application/*`,
/// 0 as `*/*`; `None` when it does not.
fn specificity(range: &str, media: Media) -> Option<u8> {
    if range == "*/*" {
        Some(0)
    } else if range.eq_ignore_ascii_case("application/*") {
        Some(1)
    } else if range.eq_ignore_ascii_case(media.content_type()) {
        Some(2)
    } else {
        None
    }
}

/// A `q` parameter in thousandths (RFC 9110 §12.4.2), `None` when it is not one.
fn qvalue(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if !matches!(int, "0" | "1") || frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    let q = if int == "1" { 1000 } else { 0 } + thousandths;
    (q <= 1000).then_some(q)
}

/// The media type to answer in, or `None` when `Accept` allows neither (answer `406`).
pub fn negotiate(headers: &HeaderMap) -> Option<Media> {
    // Per candidate: the `q` of the most specific range that names it, and that specificity.
    let mut best: [Option<(u16, u8)>; 2] = [None, None];
    let mut any_range = false;
    let ranges = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    'ranges: for range in ranges {
        let mut parts = range.split(';');
        // Read on the response cache's hit path too: no allocation.
        let name = parts.next().unwrap_or("").trim();
        if name.is_empty() {
            continue;
        }
        let mut q = 1000;
        let mut utf8 = true;
        for param in parts {
            let Some((key, value)) = param.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"');
            let key = key.trim();
            if key.eq_ignore_ascii_case("q") {
                // A range with a malformed `q` is ignored, as if it were not there.
                match qvalue(value) {
                    Some(v) => q = v,
                    None => continue 'ranges,
                }
            } else if key.eq_ignore_ascii_case("charset") {
                utf8 = value.eq_ignore_ascii_case("utf-8") || value.eq_ignore_ascii_case("utf8");
            }
        }
        any_range = true;
        // Answers are UTF-8 only.
        if !utf8 {
            continue;
        }
        for (slot, media) in best.iter_mut().zip(CANDIDATES) {
            let Some(spec) = specificity(name, media) else {
                continue;
            };
            *slot = match *slot {
                Some((_, s)) if s > spec => *slot,
                Some((old, s)) if s == spec => Some((old.max(q), s)),
                _ => Some((q, spec)),
            };
        }
    }
    if !any_range {
        return Some(Media::GraphqlResponse);
    }
    let mut chosen: Option<(Media, (u16, u8))> = None;
    for (media, score) in CANDIDATES.into_iter().zip(best) {
        let Some(score) = score.filter(|(q, _)| *q > 0) else {
            continue;
        };
        // Strictly better only: on a tie the earlier (preferred) candidate stays.
        if chosen.is_none_or(|(_, s)| score > s) {
            chosen = Some((media, score));
        }
    }
    match chosen {
        // Named by a wildcard only, and JSON is as welcome: the client named no GraphQL type.
        Some((Media::GraphqlResponse, (q, spec)))
            if spec < 2 && best[1].is_some_and(|json| json == (q, spec)) =>
        {
            Some(Media::Json)
        }
        other => other.map(|(m, _)| m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn pick(accept: Option<&str>) -> Option<Media> {
        let mut h = HeaderMap::new();
        if let Some(a) = accept {
            h.insert(header::ACCEPT, HeaderValue::from_str(a).expect("header"));
        }
        negotiate(&h)
    }

    #[test]
    fn accept_chooses_the_media_type_clients_ask_for() {
        use Media::{GraphqlResponse as G, Json as J};
        let cases = [
            (None, Some(G), "no Accept: the spec's default since 2025"),
            (Some(""), Some(G), "an empty Accept is no Accept"),
            (
                Some("*/*"),
                Some(J),
                "anything: what a client naming no GraphQL type reads",
            ),
            (Some("application/*"), Some(J), "any application type"),
            (Some("application/json"), Some(J), "legacy clients"),
            (
                Some("application/json; charset=utf-8"),
                Some(J),
                "with a charset",
            ),
            (
                Some("application/graphql-response+json"),
                Some(G),
                "modern clients",
            ),
            (
                Some("application/graphql-response+json, application/json;q=0.9"),
                Some(G),
                "the spec's recommended header",
            ),
            (
                Some("application/graphql-response+json;q=0.5, application/json"),
                Some(J),
                "the higher q wins",
            ),
            (
                Some("application/json, text/plain, */*"),
                Some(J),
                "axios: named beats wildcard",
            ),
            (
                Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
                Some(J),
                "a browser names no GraphQL type",
            ),
            (
                Some("application/json;q=0, */*"),
                Some(G),
                "q=0 refuses a type",
            ),
            (
                Some("application/json; charset=latin1"),
                None,
                "answers are UTF-8 only",
            ),
            (Some("text/html"), None, "neither: 406"),
            (
                Some("application/json;q=2"),
                Some(G),
                "an invalid q drops the range",
            ),
            (Some("APPLICATION/JSON"), Some(J), "case-insensitive"),
        ];
        for (accept, want, why) in cases {
            assert_eq!(pick(accept), want, "{accept:?}: {why}");
        }
    }

    #[test]
    fn qvalues_parse_as_rfc_9110_writes_them() {
        assert_eq!(qvalue("1"), Some(1000));
        assert_eq!(qvalue("0.9"), Some(900));
        assert_eq!(qvalue("0.125"), Some(125));
        assert_eq!(qvalue("1.000"), Some(1000));
        assert_eq!(qvalue("1.5"), None);
        assert_eq!(qvalue("0.1234"), None);
        assert_eq!(qvalue("x"), None);
    }
}
