//! An article body: an ordered list of blocks, stored as JSON in exactly the one-of shape
//! clients send (`{"paragraph": {"html": "…"}}`), so input, storage and import agree.
//!
//! [`clean_body`] validates and cleans blocks on every write; [`render_html`] and
//! [`word_count`] derive what readers see from the stored blocks.

use serde::{Deserialize, Serialize};

use super::html::{self, clean_inline, escape, is_web_url};

/// Most blocks in one body.
pub const MAX_BLOCKS: usize = 500;
/// Most items in one list.
pub const MAX_LIST_ITEMS: usize = 200;
/// Most bytes of text in one body, all blocks together.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Longest plain-text field (heading, caption, alt, attribution, credit).
pub const MAX_PLAIN: usize = 2000;

/// One block of an article body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Block {
    Heading(Heading),
    Paragraph(Paragraph),
    List(List),
    Quote(Quote),
    Image(Image),
    Embed(Embed),
}

/// A sub-heading; `level` 2 to 6 (the headline is the page's level 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heading {
    pub level: i32,
    pub text: String,
}

/// A paragraph of inline HTML.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paragraph {
    pub html: String,
}

/// A bulleted or numbered list; each item is inline HTML.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct List {
    pub ordered: bool,
    pub items: Vec<String>,
}

/// A pull quote of inline HTML, with who said it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quote {
    pub html: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<String>,
}

/// An image with its caption and credit; also an article's featured image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Image {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit: Option<String>,
}

/// An embedded post or video, by URL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Embed {
    pub url: String,
}

impl Embed {
    /// The service the URL belongs to ("YouTube"), or its host name.
    pub fn provider(&self) -> Option<String> {
        let rest = self.url.split_once("://")?.1;
        let host = rest.split(['/', '?', '#']).next()?.rsplit('@').next()?;
        let host = host.split(':').next()?.to_ascii_lowercase();
        let host = host.strip_prefix("www.").unwrap_or(&host);
        let known = [
            ("youtube.com", "YouTube"),
            ("youtu.be", "YouTube"),
            ("vimeo.com", "Vimeo"),
            ("twitter.com", "X"),
            ("x.com", "X"),
            ("instagram.com", "Instagram"),
            ("facebook.com", "Facebook"),
            ("tiktok.com", "TikTok"),
            ("soundcloud.com", "SoundCloud"),
            ("open.spotify.com", "Spotify"),
            ("bsky.app", "Bluesky"),
            ("datawrapper.dwcdn.net", "Datawrapper"),
        ];
        Some(
            known
                .iter()
                .find(|(h, _)| host == *h || host.ends_with(&format!(".{h}")))
                .map_or_else(|| host.to_owned(), |(_, name)| (*name).to_owned()),
        )
    }
}

/// Validates a body and cleans its inline HTML. The error names the block and the limit.
pub fn clean_body(blocks: Vec<Block>) -> Result<Vec<Block>, String> {
    if blocks.len() > MAX_BLOCKS {
        return Err(format!(
            "body has {} blocks; the limit is {MAX_BLOCKS}",
            blocks.len()
        ));
    }
    let mut total = 0usize;
    blocks
        .into_iter()
        .enumerate()
        .map(|(i, block)| {
            total += block_bytes(&block);
            if total > MAX_BODY_BYTES {
                return Err(format!(
                    "body is larger than the limit of {MAX_BODY_BYTES} bytes"
                ));
            }
            clean_block(block).map_err(|e| format!("body[{i}]: {e}"))
        })
        .collect()
}

fn block_bytes(block: &Block) -> usize {
    match block {
        Block::Heading(h) => h.text.len(),
        Block::Paragraph(p) => p.html.len(),
        Block::List(l) => l.items.iter().map(String::len).sum(),
        Block::Quote(q) => q.html.len() + q.attribution.as_deref().map_or(0, str::len),
        Block::Image(i) => image_bytes(i),
        Block::Embed(e) => e.url.len(),
    }
}

fn image_bytes(i: &Image) -> usize {
    i.url.len()
        + [&i.alt, &i.caption, &i.credit]
            .iter()
            .map(|s| s.as_deref().map_or(0, str::len))
            .sum::<usize>()
}

fn inline(field: &str, html: &str) -> Result<String, String> {
    if html.len() > html::MAX_INLINE_BYTES {
        return Err(format!(
            "{field} is longer than {} bytes",
            html::MAX_INLINE_BYTES
        ));
    }
    // Cleaning cost grows faster than linearly with nesting; real inline text has a handful
    // of tags, so markup-heavy input is refused before it reaches the parser.
    if html.bytes().filter(|&b| b == b'<').count() > html::MAX_INLINE_TAGS {
        return Err(format!(
            "{field} has more than {} tags; inline text takes a few links and emphasis",
            html::MAX_INLINE_TAGS
        ));
    }
    Ok(clean_inline(html))
}

/// Trims a plain-text field and checks its length; empty becomes `None`.
pub fn plain(field: &str, text: Option<String>) -> Result<Option<String>, String> {
    match text
        .map(|t| html::strip_controls(t.trim()).into_owned())
        .filter(|t| !t.is_empty())
    {
        Some(t) if t.chars().count() > MAX_PLAIN => {
            Err(format!("{field} is longer than {MAX_PLAIN} characters"))
        }
        t => Ok(t),
    }
}

fn web_url(field: &str, url: &str) -> Result<String, String> {
    let url = url.trim();
    if is_web_url(url) {
        Ok(url.to_owned())
    } else {
        Err(format!("{field} must be an absolute http(s) URL"))
    }
}

/// Validates an image (body block or featured image).
pub fn clean_image(i: Image) -> Result<Image, String> {
    Ok(Image {
        url: web_url("image.url", &i.url)?,
        alt: plain("image.alt", i.alt)?,
        caption: plain("image.caption", i.caption)?,
        credit: plain("image.credit", i.credit)?,
    })
}

fn clean_block(block: Block) -> Result<Block, String> {
    Ok(match block {
        Block::Heading(h) => {
            if !(2..=6).contains(&h.level) {
                return Err(format!("heading.level must be 2 to 6, not {}", h.level));
            }
            let text = plain("heading.text", Some(h.text))?.ok_or("heading.text is empty")?;
            Block::Heading(Heading {
                level: h.level,
                text,
            })
        }
        Block::Paragraph(p) => Block::Paragraph(Paragraph {
            html: inline("paragraph.html", &p.html)?,
        }),
        Block::List(l) => {
            if l.items.is_empty() || l.items.len() > MAX_LIST_ITEMS {
                return Err(format!(
                    "list has {} items; it needs 1 to {MAX_LIST_ITEMS}",
                    l.items.len()
                ));
            }
            let items = l
                .items
                .iter()
                .map(|it| inline("list.items", it))
                .collect::<Result<_, _>>()?;
            Block::List(List {
                ordered: l.ordered,
                items,
            })
        }
        Block::Quote(q) => Block::Quote(Quote {
            html: inline("quote.html", &q.html)?,
            attribution: plain("quote.attribution", q.attribution)?,
        }),
        Block::Image(i) => Block::Image(clean_image(i)?),
        Block::Embed(e) => Block::Embed(Embed {
            url: web_url("embed.url", &e.url)?,
        }),
    })
}

/// The plain text of a body, block by block, for counting and search.
pub fn plain_text(blocks: &[Block]) -> String {
    let mut out = String::new();
    for block in blocks {
        match block {
            Block::Heading(h) => out.push_str(&h.text),
            Block::Paragraph(p) => out.push_str(&html::to_text(&p.html)),
            Block::List(l) => {
                for item in &l.items {
                    out.push_str(&html::to_text(item));
                    out.push('\n');
                }
            }
            Block::Quote(q) => out.push_str(&html::to_text(&q.html)),
            Block::Image(_) | Block::Embed(_) => {}
        }
        out.push('\n');
    }
    out
}

/// Words of running text (headings, paragraphs, lists, quotes; not captions).
pub fn word_count(blocks: &[Block]) -> i32 {
    let words = plain_text(blocks).split_whitespace().count();
    i32::try_from(words).unwrap_or(i32::MAX)
}

/// Reading time at 230 words a minute, at least one minute.
pub fn reading_time_minutes(word_count: i32) -> i32 {
    ((word_count + 229) / 230).max(1)
}

/// Renders a body to HTML. Inline HTML was cleaned on write; everything else is escaped here.
pub fn render_html(blocks: &[Block]) -> String {
    let mut out = String::new();
    for block in blocks {
        match block {
            Block::Heading(h) => {
                let level = h.level.clamp(2, 6);
                out.push_str(&format!("<h{level}>"));
                escape(&h.text, &mut out);
                out.push_str(&format!("</h{level}>\n"));
            }
            Block::Paragraph(p) => {
                out.push_str("<p>");
                out.push_str(&p.html);
                out.push_str("</p>\n");
            }
            Block::List(l) => {
                let tag = if l.ordered { "ol" } else { "ul" };
                out.push_str(&format!("<{tag}>"));
                for item in &l.items {
                    out.push_str("<li>");
                    out.push_str(item);
                    out.push_str("</li>");
                }
                out.push_str(&format!("</{tag}>\n"));
            }
            Block::Quote(q) => {
                out.push_str("<blockquote><p>");
                out.push_str(&q.html);
                out.push_str("</p>");
                if let Some(a) = &q.attribution {
                    out.push_str("<footer>");
                    escape(a, &mut out);
                    out.push_str("</footer>");
                }
                out.push_str("</blockquote>\n");
            }
            Block::Image(i) => render_image(i, &mut out),
            Block::Embed(e) => {
                out.push_str("<figure class=\"embed\"");
                if let Some(p) = e.provider() {
                    out.push_str(" data-provider=\"");
                    escape(&p, &mut out);
                    out.push('"');
                }
                out.push_str("><a href=\"");
                escape(&e.url, &mut out);
                out.push_str("\">");
                escape(&e.url, &mut out);
                out.push_str("</a></figure>\n");
            }
        }
    }
    out
}

fn render_image(i: &Image, out: &mut String) {
    out.push_str("<figure><img src=\"");
    escape(&i.url, out);
    out.push_str("\" alt=\"");
    escape(i.alt.as_deref().unwrap_or(""), out);
    out.push_str("\">");
    if i.caption.is_some() || i.credit.is_some() {
        out.push_str("<figcaption>");
        if let Some(c) = &i.caption {
            escape(c, out);
        }
        if let Some(c) = &i.credit {
            out.push_str(" <small class=\"credit\">");
            escape(c, out);
            out.push_str("</small>");
        }
        out.push_str("</figcaption>");
    }
    out.push_str("</figure>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: serde_json::Value) -> Vec<Block> {
        serde_json::from_value(json).expect("valid body")
    }

    #[test]
    fn blocks_round_trip_through_their_stored_json() {
        let json = serde_json::json!([
            {"heading": {"level": 2, "text": "What happened"}},
            {"paragraph": {"html": "A <em>quiet</em> start."}},
            {"list": {"ordered": false, "items": ["<strong>Lead:</strong> one"]}},
            {"quote": {"html": "We wait.", "attribution": "A harbour pilot"}},
            {"image": {"url": "https://img.example.org/a.jpg", "alt": "Quay", "caption": "The quay", "credit": "Photo: Desk"}},
            {"embed": {"url": "https://www.youtube.com/watch?v=abc"}}
        ]);
        let blocks = body(json.clone());
        assert_eq!(serde_json::to_value(&blocks).ok(), Some(json));
        assert_eq!(clean_body(blocks.clone()), Ok(blocks));
    }

    #[test]
    fn clean_body_refuses_bad_blocks_naming_them() {
        let cases = [
            (
                serde_json::json!([{"heading": {"level": 1, "text": "x"}}]),
                "body[0]: heading.level",
            ),
            (
                serde_json::json!([{"paragraph": {"html": "ok"}}, {"image": {"url": "javascript:alert(1)"}}]),
                "body[1]: image.url",
            ),
            (
                serde_json::json!([{"list": {"ordered": true, "items": []}}]),
                "body[0]: list has 0 items",
            ),
            (
                serde_json::json!([{"embed": {"url": "/x"}}]),
                "body[0]: embed.url",
            ),
        ];
        for (json, want) in cases {
            let err = clean_body(body(json)).expect_err(want);
            assert!(err.starts_with(want), "{err:?} should start with {want:?}");
        }
        let big = vec![
            Block::Paragraph(Paragraph {
                html: "y".repeat(60_000)
            });
            20
        ];
        assert!(clean_body(big).is_err_and(|e| e.contains("larger than the limit")));
        let many = vec![Block::Paragraph(Paragraph { html: "x".into() }); MAX_BLOCKS + 1];
        assert!(clean_body(many).is_err_and(|e| e.contains("limit is 500")));
    }

    #[test]
    fn render_html_escapes_plain_text_and_keeps_clean_inline_html() {
        let blocks = clean_body(body(serde_json::json!([
            {"heading": {"level": 3, "text": "<Tom & Jerry>"}},
            {"paragraph": {"html": "<b>bold</b><script>x</script>"}},
            {"image": {"url": "https://img.example.org/a.jpg", "alt": "\"q\"", "credit": "Desk"}}
        ])))
        .expect("clean");
        assert_eq!(
            render_html(&blocks),
            "<h3>&lt;Tom &amp; Jerry&gt;</h3>\n<p><b>bold</b></p>\n\
             <figure><img src=\"https://img.example.org/a.jpg\" alt=\"&quot;q&quot;\">\
             <figcaption> <small class=\"credit\">Desk</small></figcaption></figure>\n"
        );
    }

    #[test]
    fn word_count_counts_running_text_only() {
        let blocks = body(serde_json::json!([
            {"heading": {"level": 2, "text": "Two words"}},
            {"paragraph": {"html": "<a href=\"https://e.org\">three</a> more words"}},
            {"list": {"ordered": false, "items": ["one", "<b>two</b> items"]}},
            {"image": {"url": "https://img.example.org/a.jpg", "caption": "not counted at all"}}
        ]));
        assert_eq!(word_count(&blocks), 8);
        assert_eq!(reading_time_minutes(0), 1);
        assert_eq!(reading_time_minutes(231), 2);
    }

    #[test]
    fn embed_provider_names_known_services() {
        let p = |u: &str| Embed { url: u.into() }.provider();
        assert_eq!(
            p("https://www.youtube.com/watch?v=1").as_deref(),
            Some("YouTube")
        );
        assert_eq!(p("https://vimeo.com/1").as_deref(), Some("Vimeo"));
        assert_eq!(
            p("https://maps.example.org:8443/x").as_deref(),
            Some("maps.example.org")
        );
    }
}
