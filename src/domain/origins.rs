//! Where imported articles came from, and the old-URL lookup front ends use to answer a
//! WordPress or Ghost link with a permanent redirect (`articleByOldUrl` in GraphQL,
//! `GET /api/v1/redirects?url=…` in REST). Only the lookup lives here: whether the caller
//! may see the article it finds is [`super::access`]'s rule, as for every other read.
//!
//! URLs are matched on their path, so `https://old.example.com/2024/03/talks/`,
//! `http://www.old.example.com/2024/03/talks` and `/2024/03/talks/` are one old URL:
//! scheme, host, fragment and trailing slashes are ignored, percent-escapes decoded, case
//! folded, and of the query only WordPress's `p` and `page_id` kept (`/?p=42` is the link
//! WordPress gives a draft and the short link of every post).

use sea_orm::{ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _};

use super::import::OriginIn;
use crate::entities::{article_old_url, article_origin};
use crate::error::Result;

/// Longest old URL kept or looked up, in bytes.
pub const MAX_URL_BYTES: usize = 2048;

/// Most old URLs an article's origin may list besides its `url`.
pub const MAX_OLD_URLS: usize = 50;

/// Checks an article's origin as an import file gives it.
pub fn clean(o: OriginIn) -> std::result::Result<OriginIn, String> {
    let system = o.system.trim().to_ascii_lowercase();
    let id = o.id.trim().to_owned();
    if system.is_empty() || system.len() > 40 || id.is_empty() || id.len() > 200 {
        return Err("origin: needs a system (at most 40 bytes) and an id (at most 200)".into());
    }
    let url = o.url.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
    if let Some(u) = &url {
        check_url(u, "origin.url")?;
    }
    if o.urls.len() > MAX_OLD_URLS {
        return Err(format!(
            "origin.urls: at most {MAX_OLD_URLS} old URLs, not {}",
            o.urls.len()
        ));
    }
    let mut urls: Vec<String> = Vec::with_capacity(o.urls.len());
    for (i, u) in o.urls.iter().enumerate() {
        let u = u.trim();
        check_url(u, &format!("origin.urls[{i}]"))?;
        if !u.is_empty() && url.as_deref() != Some(u) && !urls.iter().any(|k| k == u) {
            urls.push(u.to_owned());
        }
    }
    Ok(OriginIn {
        system,
        id,
        url,
        urls,
    })
}

fn check_url(u: &str, field: &str) -> std::result::Result<(), String> {
    if u.len() > MAX_URL_BYTES {
        return Err(format!("{field} is longer than {MAX_URL_BYTES} bytes"));
    }
    if u.chars().any(char::is_control) {
        return Err(format!("{field} holds control characters"));
    }
    Ok(())
}

/// Every old URL of an origin that a lookup can match, as (path, URL), its `url` first;
/// one per path.
pub fn old_urls(o: &OriginIn) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for u in o.url.iter().chain(&o.urls) {
        if let Some(path) = old_path(u)
            && !out.iter().any(|(p, _)| *p == path)
        {
            out.push((path, u.clone()));
        }
    }
    out
}

/// The form of an old URL that lookups match: `/2024/03/talks` or `/?p=42`. `None` for a
/// URL with nothing to match (`https://old.example.com/`).
pub fn old_path(url: &str) -> Option<String> {
    let url = url.trim();
    if url.len() > MAX_URL_BYTES {
        return None;
    }
    let url = url.split('#').next().unwrap_or_default();
    let rest = match url.split_once("://") {
        Some((scheme, rest)) if !scheme.contains(['/', '?']) => rest,
        _ => url.strip_prefix("//").unwrap_or(url),
    };
    let after_host = if url.contains("://") || url.starts_with("//") {
        rest.find(['/', '?']).map_or("", |at| &rest[at..])
    } else {
        rest
    };
    let (path, query) = after_host.split_once('?').unwrap_or((after_host, ""));
    let path = decode(path).to_lowercase();
    let mut path = path.trim_end_matches('/').to_owned();
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    let kept: Vec<String> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(k, v)| matches!(*k, "p" | "page_id") && !v.is_empty())
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !kept.is_empty() {
        path = format!("{path}?{}", kept.join("&"));
    }
    (path != "/").then_some(path)
}

/// `%xx` escapes decoded, when they decode to UTF-8; otherwise the text as it is.
fn decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_owned())
}

/// The id of the article an old URL now belongs to, visible or not (the caller checks
/// access): any of the old URLs an import kept for it (see [`old_urls`]). `?p=42` also finds
/// WordPress post 42 whatever its permalink was.
pub async fn article_by_old_url(db: &impl ConnectionTrait, url: &str) -> Result<Option<i32>> {
    let Some(path) = old_path(url) else {
        return Ok(None);
    };
    let found = article_old_url::Entity::find_by_id(path.as_str())
        .one(db)
        .await?;
    if let Some(o) = found {
        return Ok(Some(o.article_id));
    }
    let id = path
        .split_once('?')
        .map(|(_, q)| q)
        .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("p=")))
        .filter(|id| id.bytes().all(|b| b.is_ascii_digit()));
    let Some(id) = id else { return Ok(None) };
    Ok(article_origin::Entity::find()
        .filter(article_origin::Column::System.eq("wordpress"))
        .filter(article_origin::Column::OriginalId.eq(id))
        .one(db)
        .await?
        .map(|o| o.article_id))
}

#[cfg(test)]
mod tests {
    use super::old_path;

    #[test]
    fn old_urls_match_on_their_path() {
        let p = |u: &str| old_path(u);
        assert_eq!(
            p("https://old.example.com/2024/03/Talks-Resume/"),
            Some("/2024/03/talks-resume".into())
        );
        assert_eq!(
            p("/2024/03/talks-resume"),
            p("//old.example.com/2024/03/talks-resume/#c1")
        );
        assert_eq!(
            p("https://x.test/?p=42&utm_source=a"),
            Some("/?p=42".into())
        );
        assert_eq!(p("https://x.test/caf%C3%A9/"), Some("/café".into()));
        assert_eq!(p("https://x.test/"), None);
        assert_eq!(p("2024/talks"), Some("/2024/talks".into()));
    }
}
