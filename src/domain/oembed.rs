//! oEmbed (<https://oembed.com>, version 1.0): which article an embedding site's URL names,
//! and the card that stands for it on the other site.
//!
//! [`find`] reads the URL back through the article template ([`Site::read_article_url`]),
//! and answers only for an article an anonymous reader may read
//! ([`access::read_article`] with [`Caller::Anonymous`]) at exactly its canonical URL:
//! a draft, a scheduled story before its time, an unpublished or archived one, another
//! host, or the right slug under the wrong section path are all "not found", alike.
//!
//! [`Embed::card`] renders the `rich` type's HTML: headline, dek, lead image, a link to
//! the article and the publication's name, every piece of text escaped, no script, sized
//! to fit the consumer's `maxwidth`/`maxheight`. The transport writes it as JSON or XML.

use std::collections::BTreeSet;

use sea_orm::DatabaseConnection;

use super::access::{self, Caller};
use super::articles;
use super::blocks::Image;
use super::directory::Directory;
use super::html::{escape, is_web_url};
use super::invalidation::Key;
use super::site::Site;
use crate::error::{AppError, Result};

/// The card's width when the consumer sets no `maxwidth`, in CSS pixels.
pub const DEFAULT_WIDTH: u32 = 560;
/// Height of the card's text (headline, dek, publication), in CSS pixels.
pub const TEXT_HEIGHT: u32 = 200;

/// A published article as an embed shows it.
#[derive(Clone, Debug)]
pub struct Embed {
    /// Its canonical URL (the page on the front end).
    pub url: String,
    pub title: String,
    pub dek: Option<String>,
    /// The first byline's name and page.
    pub author_name: Option<String>,
    pub author_url: Option<String>,
    /// The publication's name and home page.
    pub provider_name: String,
    pub provider_url: String,
    /// The lead image.
    pub image: Option<Image>,
    /// Surrogate keys of what the answer shows.
    pub keys: BTreeSet<Key>,
}

/// The card as rendered at one size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Card {
    pub html: String,
    pub width: u32,
    pub height: u32,
}

/// The published article `url` names, or `NOT_FOUND` (no public URL set, another site, no
/// such article, not public, or not its canonical URL). A `url` that is not an absolute
/// http(s) URL is `BAD_USER_INPUT`.
pub async fn find(
    db: &DatabaseConnection,
    directory: &Directory,
    site: &Site,
    url: &str,
) -> Result<Embed> {
    let base = site.require_public("oEmbed")?.to_owned();
    let url = url.trim();
    if !is_web_url(url) {
        return Err(AppError::bad_input(
            "url must be the absolute http(s) URL of an article page",
        ));
    }
    let missing = || AppError::not_found(format!("{url} is not a published article of {base}"));
    let address = site.read_article_url(url).ok_or_else(missing)?;
    let found = match (address.id, address.slug.as_deref()) {
        (Some(id), _) => articles::find_by_id(db, id).await?,
        (None, Some(slug)) => articles::find_by_slug(db, slug).await?,
        (None, None) => None,
    };
    let a = match found {
        Some(a) => access::read_article(db, &Caller::Anonymous, a, None)
            .await?
            .ok_or_else(missing)?,
        None => return Err(missing()),
    };
    // With both a slug and an id in the template, the two must name the same article.
    if address.slug.as_deref().is_some_and(|s| s != a.slug) {
        return Err(missing());
    }
    let section = directory
        .sections_by_ids(db, &[a.section_id])
        .await?
        .remove(&a.section_id)
        .ok_or_else(|| AppError::internal(format!("article {} has no section", a.id)))?;
    let canonical = site.article_url(&a, &section.path).ok_or_else(missing)?;
    if same_page(&canonical, url).is_none_or(|same| !same) {
        return Err(AppError::not_found(format!(
            "{url} is not the address of an article; the article is at {canonical}"
        )));
    }
    let mut relations = directory.relations(db, &[a.id]).await?;
    let first = relations
        .remove(&a.id)
        .and_then(|r| r.authors.into_iter().next());
    let mut keys: BTreeSet<Key> = [Key::Article(a.id), Key::Section(section.id)].into();
    if let Some(x) = &first {
        keys.insert(Key::Author(x.id));
    }
    let image = a
        .featured_image
        .as_ref()
        .and_then(|j| serde_json::from_value::<Image>(j.clone()).ok());
    Ok(Embed {
        url: canonical,
        title: a.headline,
        dek: a.dek.filter(|d| !d.is_empty()),
        author_url: first.as_ref().and_then(|x| site.author_url(&x.slug)),
        author_name: first.map(|x| x.name),
        provider_name: site.name.clone(),
        provider_url: format!("{base}/"),
        image,
        keys,
    })
}

/// Whether two absolute URLs name the same page: the scheme, a query and a fragment aside,
/// the host without case. `None` when either is not an http(s) URL.
fn same_page(a: &str, b: &str) -> Option<bool> {
    fn page(u: &str) -> Option<(String, &str)> {
        let rest = u
            .strip_prefix("https://")
            .or_else(|| u.strip_prefix("http://"))?;
        let rest = rest.split(['?', '#']).next().unwrap_or("");
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        Some((host.to_ascii_lowercase(), path))
    }
    Some(page(a)? == page(b)?)
}

impl Embed {
    /// The card at most `max_width` wide and `max_height` high (the consumer's `maxwidth`
    /// and `maxheight`): [`DEFAULT_WIDTH`] wide otherwise, the lead image in 16:9 above
    /// [`TEXT_HEIGHT`] of text, and without the image when that does not fit the height.
    pub fn card(&self, max_width: Option<u32>, max_height: Option<u32>) -> Card {
        let width = max_width.map_or(DEFAULT_WIDTH, |m| m.min(DEFAULT_WIDTH));
        let image_height = width * 9 / 16;
        let max_height = max_height.unwrap_or(u32::MAX);
        let image = self
            .image
            .as_ref()
            .filter(|_| image_height + TEXT_HEIGHT <= max_height);
        let height = match image {
            Some(_) => image_height + TEXT_HEIGHT,
            None => TEXT_HEIGHT.min(max_height),
        };
        let mut h = String::with_capacity(1024);
        h.push_str("<blockquote class=\"gazette-embed\" cite=\"");
        escape(&self.url, &mut h);
        h.push_str(&format!(
            "\" style=\"margin:0;box-sizing:border-box;width:{width}px;max-width:100%;\
             height:{height}px;overflow:hidden;border:1px solid #d9d9d9;border-radius:4px;\
             background:#fff;color:#111;font-family:Georgia,serif\"><a href=\""
        ));
        escape(&self.url, &mut h);
        h.push_str("\" style=\"display:block;color:inherit;text-decoration:none\">");
        if let Some(img) = image {
            h.push_str("<img src=\"");
            escape(&img.url, &mut h);
            h.push_str("\" alt=\"");
            escape(img.alt.as_deref().unwrap_or(""), &mut h);
            h.push_str(&format!(
                "\" width=\"{width}\" height=\"{image_height}\" loading=\"lazy\" \
                 style=\"display:block;width:100%;height:{image_height}px;object-fit:cover\">"
            ));
        }
        h.push_str(
            "<strong style=\"display:block;padding:12px 12px 4px;font-size:20px;line-height:1.25\">",
        );
        escape(&self.title, &mut h);
        h.push_str("</strong></a>");
        if let Some(dek) = &self.dek {
            h.push_str("<p style=\"margin:0;padding:0 12px 8px;font-size:15px;line-height:1.4;color:#444\">");
            escape(dek, &mut h);
            h.push_str("</p>");
        }
        h.push_str("<p style=\"margin:0;padding:0 12px 12px;font-size:13px;color:#666\">");
        if let Some(name) = &self.author_name {
            escape(name, &mut h);
            h.push_str(" · ");
        }
        escape(&self.provider_name, &mut h);
        h.push_str("</p></blockquote>");
        Card {
            html: h,
            width,
            height,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embed(image: bool) -> Embed {
        Embed {
            url: "https://news.example/world/a".into(),
            title: "</strong><script>alert(1)</script> & \"q\"".into(),
            dek: Some("<img src=x onerror=alert(1)>".into()),
            author_name: Some("Ann <b>".into()),
            author_url: None,
            provider_name: "The Times & Co".into(),
            provider_url: "https://news.example/".into(),
            image: image.then(|| Image {
                url: "https://img.example/1.jpg".into(),
                alt: Some("\" onload=\"x".into()),
                caption: None,
                credit: None,
            }),
            keys: BTreeSet::new(),
        }
    }

    #[test]
    fn the_card_escapes_every_piece_of_text() {
        let c = embed(true).card(None, None);
        for bad in ["<script", "<img src=x", "<b>", "\" onload", "& "] {
            assert!(!c.html.contains(bad), "{bad} in {}", c.html);
        }
        assert!(
            c.html.contains("&lt;/strong&gt;&lt;script&gt;"),
            "{}",
            c.html
        );
    }

    #[test]
    fn the_card_fits_the_size_it_is_given() {
        let full = embed(true).card(None, None);
        assert_eq!((full.width, full.height), (560, 315 + TEXT_HEIGHT));
        let narrow = embed(true).card(Some(320), None);
        assert_eq!((narrow.width, narrow.height), (320, 180 + TEXT_HEIGHT));
        let wide = embed(true).card(Some(5000), None);
        assert_eq!(wide.width, DEFAULT_WIDTH);
        let low = embed(true).card(None, Some(300));
        assert_eq!((low.width, low.height), (560, TEXT_HEIGHT));
        assert!(!low.html.contains("<img"), "no room for the image");
        let tiny = embed(false).card(Some(100), Some(50));
        assert_eq!((tiny.width, tiny.height), (100, 50));
    }

    #[test]
    fn the_same_page_ignores_scheme_query_fragment_and_host_case() {
        let a = "https://news.example/world/a";
        assert_eq!(
            same_page(a, "http://NEWS.example/world/a?x=1#top"),
            Some(true)
        );
        assert_eq!(same_page(a, "https://news.example/world/b"), Some(false));
        assert_eq!(same_page(a, "https://news.example/World/a"), Some(false));
        assert_eq!(same_page(a, "ftp://news.example/world/a"), None);
    }
}
