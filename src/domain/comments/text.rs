//! What a comment's text may be, and how it is shown: plain text in, safe HTML out.
//!
//! Readers write plain text. Nothing they type is ever markup: `<script>` and `&amp;` are
//! shown as typed. The HTML has paragraphs from blank lines, `<br>` from single newlines,
//! and `http`/`https` links made clickable with `rel="nofollow ugc noopener"`; ammonia then
//! cleans the result to exactly those tags, so a mistake here cannot let markup through.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::error::{AppError, Result};

/// Longest name, in characters.
pub const MAX_NAME_CHARS: usize = 80;
/// Longest body, in characters.
pub const MAX_BODY_CHARS: usize = 5_000;
/// Longest email, in characters (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;
/// Longest user agent kept, in characters.
pub const MAX_USER_AGENT_CHARS: usize = 512;

/// A comment's fields, as a reader sent them.
#[derive(Clone, Debug, Default)]
pub struct CommentInput {
    pub author_name: Option<String>,
    pub author_email: Option<String>,
    pub body: String,
    pub parent_id: Option<i32>,
    /// The honeypot: humans leave it empty.
    pub website: Option<String>,
    /// When the front end rendered the form (for the minimum time before posting).
    pub rendered_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The checked fields: trimmed, within their limits, free of control characters.
#[derive(Clone, Debug)]
pub struct Checked {
    pub name: String,
    pub email: Option<String>,
    pub body: String,
}

fn has_controls(s: &str) -> bool {
    s.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
}

/// Checks a comment's name, email and body; `name` is the token's when the reader signed in.
pub fn check(input: &CommentInput, signed_in_name: Option<&str>) -> Result<Checked> {
    let body = input.body.replace("\r\n", "\n").replace('\r', "\n");
    let body = body.trim();
    if body.is_empty() {
        return Err(AppError::bad_input("the comment is empty"));
    }
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(AppError::bad_input(format!(
            "the comment is longer than {MAX_BODY_CHARS} characters"
        )));
    }
    if has_controls(body) {
        return Err(AppError::bad_input(
            "the comment holds control characters (NUL and the like); send plain text",
        ));
    }
    let name = match signed_in_name {
        Some(n) => n.trim().to_owned(),
        None => input.author_name.as_deref().unwrap_or("").trim().to_owned(),
    };
    if name.is_empty() {
        return Err(AppError::bad_input("`authorName` is required"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::bad_input(format!(
            "`authorName` is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    if has_controls(&name) || name.contains('\n') {
        return Err(AppError::bad_input(
            "`authorName` holds control characters or line breaks",
        ));
    }
    let email = match input.author_email.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(e) => Some(check_email(e)?),
    };
    Ok(Checked {
        name,
        email,
        body: body.to_owned(),
    })
}

/// A plausible address: one `@`, something on each side, a dot in the domain, no spaces.
pub fn check_email(e: &str) -> Result<String> {
    let bad = || AppError::bad_input("`authorEmail` is not an email address");
    if e.chars().count() > MAX_EMAIL_CHARS {
        return Err(AppError::bad_input(format!(
            "`authorEmail` is longer than {MAX_EMAIL_CHARS} characters"
        )));
    }
    let (local, domain) = e.split_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || domain.is_empty()
        || domain.contains('@')
        || !domain.contains('.')
        || e.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(bad());
    }
    Ok(e.to_owned())
}

/// The address in the form its hash is taken of (domain and local part lowercased).
pub fn normalise_email(e: &str) -> String {
    e.trim().to_lowercase()
}

/// The text a duplicate is recognised by: lowercased words, single-spaced.
pub fn normalise_body(body: &str) -> String {
    body.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `http`/`https` links in `text`, as written (trailing punctuation left out).
pub fn links(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        let mut rest = word;
        while let Some(at) = find_scheme(rest) {
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"'))
                .unwrap_or(tail.len());
            let link = tail[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '\'']);
            if link.len() > "https://".len() - 1 && host(link).is_some() {
                out.push(link);
            }
            rest = &tail[end.max(1)..];
        }
    }
    out
}

fn find_scheme(s: &str) -> Option<usize> {
    let lower = s.to_ascii_lowercase();
    match (lower.find("http://"), lower.find("https://")) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A link's host, lowercased, without `www.` or a port.
pub fn host(link: &str) -> Option<String> {
    let rest = link.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    let host = authority.split(':').next()?.to_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_owned();
    (!host.is_empty()).then_some(host)
}

static LINKS_ONLY: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::empty();
    b.tags(HashSet::from(["p", "br", "a"]))
        .add_tag_attributes("a", ["href"])
        .url_schemes(HashSet::from(["http", "https"]))
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("nofollow ugc noopener"));
    b
});

fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
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

fn render_line(line: &str, out: &mut String) {
    let mut rest = line;
    for link in links(line) {
        let Some(at) = rest.find(link) else { continue };
        escape(&rest[..at], out);
        out.push_str("<a href=\"");
        escape(link, out);
        out.push_str("\">");
        escape(link, out);
        out.push_str("</a>");
        rest = &rest[at + link.len()..];
    }
    escape(rest, out);
}

/// The body as safe HTML: `<p>` per blank-line-separated paragraph, `<br>` per newline,
/// links clickable and `rel="nofollow ugc noopener"`; nothing else.
pub fn render(body: &str) -> String {
    let body = body.replace("\r\n", "\n");
    let mut out = String::with_capacity(body.len() + 16);
    for para in body.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        out.push_str("<p>");
        for (i, line) in para.lines().enumerate() {
            if i > 0 {
                out.push_str("<br>");
            }
            render_line(line, &mut out);
        }
        out.push_str("</p>");
    }
    LINKS_ONLY.clean(&out).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_shown_as_text_and_links_are_nofollow() {
        let html = render(
            "<script>alert(1)</script> &amp; see https://example.com/a?b=1.\n\nbye javascript:alert(1)",
        );
        assert!(
            html.starts_with("<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp;amp; see "),
            "{html}"
        );
        assert!(
            html.contains(r#"<a href="https://example.com/a?b=1" rel="nofollow ugc noopener">"#),
            "{html}"
        );
        assert!(
            html.contains("</p><p>bye javascript:alert(1)</p>"),
            "{html}"
        );
        assert!(!html.contains("<script"), "{html}");
    }

    #[test]
    fn hosts_drop_www_ports_and_userinfo() {
        assert_eq!(
            host("https://www.Spam.example:8080/x").as_deref(),
            Some("spam.example")
        );
        assert_eq!(host("http://u:p@evil.test/").as_deref(), Some("evil.test"));
        assert_eq!(
            links("see (http://a.test/x), and HTTPS://b.test."),
            ["http://a.test/x", "HTTPS://b.test"]
        );
    }
}
