//! The public formats: what feed readers, search engines and embedding sites read, at the
//! routes they expect (`/feeds/…`, `/sitemap.xml`, `/sitemaps/…`, `/oembed`) rather than
//! under `/api/v1`. Each reads as an anonymous reader does (`domain::syndication`), names
//! the front end's URLs (`domain::site`), and is refused with a problem naming
//! `GAZETTE_PUBLIC_URL` when no public URL is set. Answers are cacheable like every other
//! read: `ETag`/`304`, `Cache-Control`, surrogate keys, the response cache.

pub(crate) mod feeds;
pub(crate) mod oembed;
pub(crate) mod sitemap_xml;
pub(crate) mod sitemaps;

use axum::Router;
use axum::routing::get;

use crate::state::AppState;

/// The public formats' routes (at the root of the router).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/feeds/rss.xml", get(feeds::rss))
        .route("/feeds/atom.xml", get(feeds::atom))
        .route("/feeds/feed.json", get(feeds::json))
        .route("/oembed", get(oembed::oembed))
        .merge(sitemaps::routes())
}

/// Whether `path` is one of the public formats' routes (the response cache serves them).
pub fn is_public_format(path: &str) -> bool {
    path.starts_with("/feeds/")
        || path == "/sitemap.xml"
        || path.starts_with("/sitemaps/")
        || path == "/oembed"
}
