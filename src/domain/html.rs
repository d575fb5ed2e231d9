//! Inline HTML: cleaning to the allow-list of DESIGN.md, plain-text extraction, escaping.
//!
//! Paragraphs, list items and quotes keep `a[href]` (http, https, mailto), `b`, `strong`,
//! `i`, `em`, `br`, `code`, `sub`, `sup`; everything else is removed on write by ammonia
//! (contents of `script` and `style` go too; other tags are unwrapped to their text).

use std::collections::HashSet;
use std::sync::LazyLock;

/// Longest inline fragment accepted, in bytes. ammonia's cost grows faster than linearly
/// with nesting, so input is capped before it is cleaned.
pub const MAX_INLINE_BYTES: usize = 64 * 1024;

/// Most tags in one inline fragment.
pub const MAX_INLINE_TAGS: usize = 500;

static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::empty();
    b.tags(HashSet::from([
        "a", "b", "strong", "i", "em", "br", "code", "sub", "sup",
    ]))
    .add_tag_attributes("a", ["href"])
    .url_schemes(HashSet::from(["http", "https", "mailto"]))
    .url_relative(ammonia::UrlRelative::Deny)
    .link_rel(Some("noopener noreferrer"))
    .clean_content_tags(HashSet::from(["script", "style"]));
    b
});

static STRIPPER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::empty();
    b.clean_content_tags(HashSet::from(["script", "style"]));
    b
});

/// Removes every tag (and the contents of `script` and `style`); entities stay encoded.
pub fn strip_all(html: &str) -> String {
    STRIPPER.clean(html).to_string()
}

/// Removes control characters (NUL above all: PostgreSQL refuses it in text) except
/// newlines and tabs.
pub fn strip_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        text.chars()
            .filter(|&c| !c.is_control() || c == '\n' || c == '\t')
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

/// Cleans an inline fragment to the allow-list. Text without markup is returned as is
/// (ammonia would too), which keeps bulk imports fast.
pub fn clean_inline(html: &str) -> String {
    let html = strip_controls(html);
    if !html.contains(['<', '>', '&']) {
        return html.into_owned();
    }
    CLEANER.clean(&html).to_string()
}

/// The text of a cleaned fragment: tags dropped, entities decoded.
pub fn to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut chars = html.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '<' => {
                let tag_start = i;
                let mut quote: Option<char> = None;
                let mut end = None;
                for (j, d) in chars.by_ref() {
                    match (quote, d) {
                        (Some(q), d) if d == q => quote = None,
                        (None, '"' | '\'') => quote = Some(d),
                        (None, '>') => {
                            end = Some(j);
                            break;
                        }
                        _ => {}
                    }
                }
                if let Some(end) = end {
                    let tag = &html[tag_start + 1..end];
                    if tag.eq_ignore_ascii_case("br") || tag.eq_ignore_ascii_case("br/") {
                        out.push('\n');
                    }
                }
            }
            '&' => {
                let rest = &html[i..];
                match rest.find(';').filter(|&n| n <= 10) {
                    Some(n) => match decode_entity(&rest[1..n]) {
                        Some(ch) => {
                            out.push(ch);
                            for _ in 0..n {
                                chars.next();
                            }
                        }
                        None => out.push('&'),
                    },
                    None => out.push('&'),
                }
            }
            c => out.push(c),
        }
    }
    out
}

fn decode_entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)?
        }
    })
}

/// Escapes text for HTML element content and double-quoted attributes.
pub fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Whether `url` is an absolute http(s) URL, the only kind images, embeds and sources take.
pub fn is_web_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && url.len() <= 2048
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_inline_keeps_the_allow_list_and_strips_the_rest() {
        let cases = [
            ("plain text", "plain text"),
            (
                "<b>bold</b> and <em>em</em><br>",
                "<b>bold</b> and <em>em</em><br>",
            ),
            ("<script>alert(1)</script>ok", "ok"),
            (
                "<a href=\"javascript:alert(1)\">x</a>",
                "<a rel=\"noopener noreferrer\">x</a>",
            ),
            (
                "<a href=\"https://e.org/\" onclick=\"x()\" style=\"color:red\">x</a>",
                "<a href=\"https://e.org/\" rel=\"noopener noreferrer\">x</a>",
            ),
            ("<img src=x onerror=alert(1)>pic", "pic"),
            ("<div><p>para</p></div>", "para"),
            (
                "<a href=\"/relative\">r</a>",
                "<a rel=\"noopener noreferrer\">r</a>",
            ),
            (
                "<a href=\"mailto:desk@e.org\">m</a>",
                "<a href=\"mailto:desk@e.org\" rel=\"noopener noreferrer\">m</a>",
            ),
            ("AT&T <3", "AT&amp;T &lt;3"),
        ];
        for (input, want) in cases {
            assert_eq!(clean_inline(input), want, "clean_inline({input:?})");
        }
    }

    #[test]
    fn to_text_drops_tags_and_decodes_entities() {
        assert_eq!(
            to_text("<b>AT&amp;T</b> &lt;3 &#169; &#x41;"),
            "AT&T <3 © A"
        );
        assert_eq!(
            to_text("<a href=\"https://e.org/?a=1>2\" rel=\"x\">link</a> end"),
            "link end"
        );
        assert_eq!(to_text("line<br>next & more"), "line\nnext & more");
    }

    #[test]
    fn is_web_url_accepts_only_absolute_http() {
        assert!(is_web_url("https://images.example.org/a.jpg"));
        for bad in [
            "javascript:alert(1)",
            "/a.jpg",
            "https://a b",
            "data:text/html,x",
            "ftp://x",
        ] {
            assert!(!is_web_url(bad), "{bad:?}");
        }
    }
}
