//! The XML of sitemaps (sitemaps.org 0.9) and news sitemaps (Google News 0.9): written
//! straight into a buffer, every text escaped by quick-xml and stripped of the characters
//! XML 1.0 does not allow (a headline edited by hand into the database with a control
//! character in it must not make the whole sitemap unreadable).

use chrono::{DateTime, Datelike as _, Timelike as _, Utc};

use crate::domain::sitemaps::{Entry, News};

/// The sitemaps.org namespace.
pub const SITEMAP_NS: &str = "http://www.sitemaps.org/schemas/sitemap/0.9";
/// Google's news sitemap namespace.
pub const NEWS_NS: &str = "http://www.google.com/schemas/sitemap-news/0.9";

const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// Appends `text` as XML character data: forbidden characters dropped, markup escaped by
/// quick-xml (only when there is any: URLs and most headlines have none).
fn text(out: &mut String, text: &str) {
    let kept = super::xml_chars(text);
    if kept
        .bytes()
        .any(|b| matches!(b, b'<' | b'>' | b'&' | b'"' | b'\''))
    {
        out.push_str(&quick_xml::escape::escape(kept.as_ref()));
    } else {
        out.push_str(&kept);
    }
}

/// Appends a W3C datetime, to the second, in UTC (`2026-03-01T09:00:00Z`).
fn w3c(out: &mut String, at: DateTime<Utc>) {
    use std::fmt::Write as _;
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
}

/// Appends `<name>text</name>`.
fn element(out: &mut String, name: &str, value: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    text(out, value);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Appends `<name>datetime</name>`.
fn time_element(out: &mut String, name: &str, at: DateTime<Utc>) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    w3c(out, at);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// The sitemap index: each sitemap's absolute URL and `lastmod`.
pub fn index(sitemaps: &[(String, Option<DateTime<Utc>>)]) -> Vec<u8> {
    let mut out = String::with_capacity(160 + sitemaps.len() * 120);
    out.push_str(DECLARATION);
    out.push_str("<sitemapindex xmlns=\"");
    out.push_str(SITEMAP_NS);
    out.push_str("\">\n");
    for (loc, lastmod) in sitemaps {
        out.push_str("<sitemap>");
        element(&mut out, "loc", loc);
        if let Some(at) = lastmod {
            time_element(&mut out, "lastmod", *at);
        }
        out.push_str("</sitemap>\n");
    }
    out.push_str("</sitemapindex>\n");
    out.into_bytes()
}

/// The start of a `urlset`, up to its first `<url>`.
pub fn urlset_start() -> String {
    format!("{DECLARATION}<urlset xmlns=\"{SITEMAP_NS}\">\n")
}

/// The end of a `urlset`.
pub const URLSET_END: &str = "</urlset>\n";

/// `<url>`s, appended to `out`.
pub fn urls(out: &mut String, entries: &[Entry]) {
    out.reserve(entries.len() * 120);
    for e in entries {
        out.push_str("<url>");
        element(out, "loc", &e.loc);
        if let Some(at) = e.lastmod {
            time_element(out, "lastmod", at);
        }
        out.push_str("</url>\n");
    }
}

/// A whole `urlset` of `entries`.
pub fn urlset(entries: &[Entry]) -> Vec<u8> {
    let mut out = urlset_start();
    urls(&mut out, entries);
    out.push_str(URLSET_END);
    out.into_bytes()
}

/// A news sitemap page.
pub fn news(news: &News) -> Vec<u8> {
    let mut publication = String::new();
    element(&mut publication, "news:name", &news.name);
    element(&mut publication, "news:language", &news.language);
    let mut out = String::with_capacity(200 + news.items.len() * (300 + publication.len()));
    out.push_str(DECLARATION);
    out.push_str("<urlset xmlns=\"");
    out.push_str(SITEMAP_NS);
    out.push_str("\" xmlns:news=\"");
    out.push_str(NEWS_NS);
    out.push_str("\">\n");
    for item in &news.items {
        out.push_str("<url>");
        element(&mut out, "loc", &item.loc);
        out.push_str("<news:news><news:publication>");
        out.push_str(&publication);
        out.push_str("</news:publication>");
        time_element(&mut out, "news:publication_date", item.published);
        element(&mut out, "news:title", &item.title);
        out.push_str("</news:news></url>\n");
    }
    out.push_str(URLSET_END);
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_w3c_datetimes_in_utc_to_the_second() {
        let mut out = String::new();
        let at = DateTime::parse_from_rfc3339("2026-03-01T09:05:07.123456+02:00")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        w3c(&mut out, at);
        assert_eq!(out, "2026-03-01T07:05:07Z");
    }

    #[test]
    fn text_is_escaped_and_forbidden_characters_dropped() {
        let mut out = String::new();
        text(
            &mut out,
            "a ]]> </script> & \"q\" 'x' \u{1}\u{b}\u{FFFE}é 🗞 مرحبا\tend",
        );
        assert_eq!(
            out,
            "a ]]&gt; &lt;/script&gt; &amp; &quot;q&quot; &apos;x&apos; é 🗞 مرحبا\tend"
        );
        let mut plain = String::new();
        text(&mut plain, "https://news.example/world/a-story");
        text(&mut plain, " \u{FFFF}\u{FFFD}");
        assert_eq!(plain, "https://news.example/world/a-story \u{FFFD}");
    }
}
