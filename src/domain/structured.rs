//! Structured data for search engines: an article page's schema.org JSON-LD, as a front end
//! drops it into `<script type="application/ld+json">`.
//!
//! One document, one `@context`, a `@graph` of two nodes: the `NewsArticle` and the
//! `BreadcrumbList` of its section path. Google's Rich Results documentation reads both
//! from one script element (or from two); a single graph lets a front end add exactly one
//! element. The article's `mainEntityOfPage` is the page (`WebPage`, `@id` = the article's
//! URL), whose `breadcrumb` names the list by its `@id`.
//!
//! The text is safe inside an HTML `<script>` element as it is: [`script_safe`] writes `<`,
//! `>` and `&` (and the line and paragraph separators U+2028 and U+2029) as `\u` escapes,
//! which JSON parsers read back as the same characters, so a headline holding `</script>`
//! can never end the element. That is why it is handed out as text: re-serialising the
//! value (as a GraphQL `JSON` scalar would) could undo the escapes.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::blocks::Image;
use super::site::Site;
use crate::entities::{article, author, section, tag};

/// What an article page's JSON-LD describes: the article and what hangs off it.
#[derive(Clone, Copy, Debug)]
pub struct Described<'a> {
    pub article: &'a article::Model,
    /// Its section and that section's ancestors, root first (the last is its own).
    pub lineage: &'a [section::Model],
    /// The byline, in order.
    pub authors: &'a [author::Model],
    /// Key terms, in the editor's order.
    pub tags: &'a [tag::Model],
}

/// The JSON-LD text of an article page, safe to drop into `<script type="application/ld+json">`
/// unchanged; `None` without a public URL (or a section lineage to place it in).
pub fn json_ld(site: &Site, d: &Described<'_>) -> Option<String> {
    graph(site, d).map(|v| script_safe(&v))
}

/// The JSON-LD document of an article page: `@context` and a `@graph` of a `NewsArticle`
/// and its `BreadcrumbList`.
pub fn graph(site: &Site, d: &Described<'_>) -> Option<Value> {
    let section = d.lineage.last()?;
    let url = site.article_url(d.article, &section.path)?;
    let base = site.base()?;
    let a = d.article;

    let mut article = Map::new();
    article.insert("@type".into(), json!("NewsArticle"));
    article.insert("@id".into(), json!(format!("{url}#article")));
    article.insert("url".into(), json!(url));
    let crumb_id = format!("{url}#breadcrumb");
    // The page the article is the main thing on, and that page's breadcrumb (schema.org
    // puts `breadcrumb` on the page, not on the article).
    article.insert(
        "mainEntityOfPage".into(),
        json!({ "@type": "WebPage", "@id": url, "breadcrumb": { "@id": crumb_id } }),
    );
    article.insert("headline".into(), json!(a.headline));
    if let Some(dek) = a.dek.as_deref().filter(|d| !d.is_empty()) {
        article.insert("description".into(), json!(dek));
    }
    if let Some(at) = a.published_at {
        article.insert("datePublished".into(), json!(timestamp(at)));
    }
    let modified = a.published_at.map_or(a.updated_at, |p| a.updated_at.max(p));
    article.insert("dateModified".into(), json!(timestamp(modified)));
    article.insert("inLanguage".into(), json!(site.language));
    let authors: Vec<Value> = d
        .authors
        .iter()
        .map(|x| {
            let mut p = Map::new();
            p.insert("@type".into(), json!("Person"));
            p.insert("name".into(), json!(x.name));
            if let Some(title) = x.title.as_deref().filter(|t| !t.is_empty()) {
                p.insert("jobTitle".into(), json!(title));
            }
            if let Some(u) = site.author_url(&x.slug) {
                p.insert("url".into(), json!(u));
            }
            Value::Object(p)
        })
        .collect();
    article.insert("author".into(), Value::Array(authors));
    let mut publisher = Map::new();
    publisher.insert("@type".into(), json!("Organization"));
    publisher.insert("name".into(), json!(site.name));
    publisher.insert("url".into(), json!(format!("{base}/")));
    if let Some(logo) = &site.logo {
        publisher.insert(
            "logo".into(),
            json!({ "@type": "ImageObject", "url": logo }),
        );
    }
    article.insert("publisher".into(), Value::Object(publisher));
    if let Some(img) = a
        .featured_image
        .as_ref()
        .and_then(|j| serde_json::from_value::<Image>(j.clone()).ok())
    {
        let mut i = Map::new();
        i.insert("@type".into(), json!("ImageObject"));
        i.insert("url".into(), json!(img.url));
        if let Some(c) = img.caption.or(img.alt) {
            i.insert("caption".into(), json!(c));
        }
        if let Some(c) = img.credit {
            i.insert("creditText".into(), json!(c));
        }
        article.insert("image".into(), Value::Object(i));
    }
    article.insert("articleSection".into(), json!(section.name));
    if !d.tags.is_empty() {
        let names: Vec<&str> = d.tags.iter().map(|t| t.name.as_str()).collect();
        article.insert("keywords".into(), json!(names));
    }
    article.insert("wordCount".into(), json!(a.word_count));
    if let Some(name) = a.source_name.as_deref() {
        // The credit names an outlet (`Insights from <outlet>`), and may link its story.
        let mut work = Map::new();
        work.insert("@type".into(), json!("CreativeWork"));
        if let Some(u) = a.source_url.as_deref() {
            work.insert("url".into(), json!(u));
        }
        work.insert(
            "publisher".into(),
            json!({ "@type": "Organization", "name": name }),
        );
        article.insert("isBasedOn".into(), Value::Object(work));
    }

    let items: Vec<Value> = d
        .lineage
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut item = Map::new();
            item.insert("@type".into(), json!("ListItem"));
            item.insert("position".into(), json!(i + 1));
            item.insert("name".into(), json!(s.name));
            if let Some(u) = site.section_url(&s.path) {
                item.insert("item".into(), json!(u));
            }
            Value::Object(item)
        })
        .collect();
    let breadcrumb = json!({
        "@type": "BreadcrumbList",
        "@id": crumb_id,
        "itemListElement": items,
    });
    Some(json!({
        "@context": "https://schema.org",
        "@graph": [Value::Object(article), breadcrumb],
    }))
}

/// RFC 3339 in UTC to the second (`2026-03-01T09:00:00Z`), as schema.org's `DateTime` reads.
fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `value` as JSON text with `<`, `>`, `&`, U+2028 and U+2029 written as `\u` escapes: the
/// same JSON to any parser, and inert inside an HTML `<script>` element. Those characters
/// can only occur inside JSON strings, where an escape means the character itself.
pub fn script_safe(value: &Value) -> String {
    let text = value.to_string();
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_safe_text_parses_back_to_the_same_value() {
        let v = json!({ "h": "a </script><b>&amp; \u{2028}\u{2029} \\& \"q\"" });
        let text = script_safe(&v);
        for bad in ['<', '>', '&', '\u{2028}', '\u{2029}'] {
            assert!(!text.contains(bad), "{bad:?} in {text}");
        }
        let back: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(back, v);
    }
}
