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

/// Whether XML 1.0 allows `c` in a document (its `Char` production, less what Rust
/// strings cannot hold anyway).
fn xml_allows(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `text` without the characters XML 1.0 forbids (controls but tab, newline and carriage
/// return; U+FFFE, U+FFFF), borrowed when it has none: a byte scan first, since almost no
/// text does (U+FFFE and U+FFFF start with 0xEF in UTF-8). Every XML format here writes its
/// text through this, so a control character edited into a headline cannot make a feed or
/// a sitemap unreadable.
pub(crate) fn xml_chars(text: &str) -> std::borrow::Cow<'_, str> {
    let b = text.as_bytes();
    // In blocks of 64 without stopping early inside one, so that the compiler can compare
    // many bytes at once: a feed is hundreds of kilobytes.
    let control = |c: u8| c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r');
    let forbidden = b
        .chunks(64)
        .any(|block| block.iter().fold(false, |seen, &c| seen | control(c)))
        || (b.contains(&0xEF) && text.contains(['\u{FFFE}', '\u{FFFF}']));
    if forbidden {
        text.chars()
            .filter(|&c| xml_allows(c))
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}
