//! `GET /oembed?url=…&format=json|xml&maxwidth=&maxheight=`: the oEmbed 1.0 provider
//! (<https://oembed.com>). An embedding site (a CMS, a chat app, a social network) sends the
//! URL of an article page and gets a `rich` embed: a small card of escaped HTML with the
//! headline, dek, lead image and a link, sized to fit `maxwidth`/`maxheight`.
//!
//! Which URL names which article, and the card itself, are the domain's
//! (`domain::oembed`); here are the two serialisations the spec defines, JSON
//! (`application/json`) and XML (`text/xml`, root `<oembed>`), and its refusals: `501` for
//! any other `format`, `404` (problem+json) for a URL that is not a published article.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::oembed;
use crate::error::{AppError, Code};
use crate::http::cache_headers::{self, Caching};
use crate::http::error::{HttpError, Result};
use crate::http::rest::Problem;
use crate::http::rest::extract::{Params, Who};
use crate::state::AppState;

/// What an oEmbed consumer asks for.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OembedParams {
    /// The absolute URL of an article page on the front end (as `url` on Article gives it).
    url: String,
    /// `json` (the default) or `xml`; anything else is answered `501`.
    format: Option<String>,
    /// Widest the embed may be, in CSS pixels (the card is 560 wide otherwise).
    #[param(minimum = 1)]
    maxwidth: Option<u32>,
    /// Highest the embed may be, in CSS pixels (the lead image is left out when it does not fit).
    #[param(minimum = 1)]
    maxheight: Option<u32>,
}

/// An oEmbed 1.0 `rich` response. Thumbnails are left out: oEmbed asks for their width and
/// height too, and gazette does not know an image's dimensions.
#[derive(Serialize, ToSchema)]
pub struct OEmbed {
    /// Always `rich`.
    #[serde(rename = "type")]
    #[schema(example = "rich")]
    pub kind: &'static str,
    /// Always `1.0`.
    #[schema(example = "1.0")]
    pub version: &'static str,
    /// The headline.
    pub title: String,
    /// The first byline's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
    /// The first byline's page on the front end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_url: Option<String>,
    /// The publication's name.
    pub provider_name: String,
    /// The front end's home page.
    pub provider_url: String,
    /// Seconds a consumer may keep this answer (the `max-age` of `Cache-Control`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_age: Option<u64>,
    /// The card: escaped HTML without script, linking to the article.
    pub html: String,
    /// The card's width in CSS pixels (at most `maxwidth`).
    pub width: u32,
    /// The card's height in CSS pixels (at most `maxheight`).
    pub height: u32,
}

/// The serialisations oEmbed defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Json,
    Xml,
}

impl Format {
    fn parse(f: Option<&str>) -> Result<Self> {
        match f.unwrap_or("") {
            "" | "json" => Ok(Self::Json),
            "xml" => Ok(Self::Xml),
            other => Err(HttpError::refused(
                Code::NotImplemented,
                format!(
                    "oEmbed is served as format=json or format=xml, not {:?}",
                    other.chars().take(64).collect::<String>()
                ),
            )),
        }
    }
}

/// The oEmbed answer for an article page: a `rich` embed with a card of escaped HTML.
#[utoipa::path(get, path = "/oembed", tag = "public formats", params(OembedParams),
    responses((status = 200, description = "The embed, in the format asked for",
               content((OEmbed = "application/json"),
                       (String = "text/xml", example = "<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"yes\"?><oembed><type>rich</type><version>1.0</version>…</oembed>")),
               headers(("ETag" = String), ("Cache-Control" = String), ("Surrogate-Key" = String))),
              (status = 304, description = "Not modified"),
              (status = 401, description = "A bad token", body = Problem),
              (status = 404, description = "Not a published article of this site, or no public URL is set (GAZETTE_PUBLIC_URL)", body = Problem),
              (status = 422, description = "No url, a url that is not an absolute http(s) URL, or a bad maxwidth/maxheight", body = Problem),
              (status = 501, description = "A format other than json or xml", body = Problem)),
    security((), ("bearer" = [])))]
pub async fn oembed(
    State(s): State<AppState>,
    Who(c): Who,
    headers: HeaderMap,
    Params(p): Params<OembedParams>,
) -> Result<Response> {
    // Nothing to embed without the front end's URLs; that says which setting enables it.
    s.site.require_public("oEmbed")?;
    let format = Format::parse(p.format.as_deref())?;
    for (name, v) in [("maxwidth", p.maxwidth), ("maxheight", p.maxheight)] {
        if v == Some(0) {
            return Err(AppError::bad_input(format!("{name} must be at least 1")).into());
        }
    }
    let embed = oembed::find(&s.db, s.response_cache.directory(), &s.site, &p.url).await?;
    let card = embed.card(p.maxwidth, p.maxheight);
    let answer = OEmbed {
        kind: "rich",
        version: "1.0",
        title: embed.title,
        author_name: embed.author_name,
        author_url: embed.author_url,
        provider_name: embed.provider_name,
        provider_url: embed.provider_url,
        cache_age: max_age(&s.http.public_cache_control),
        html: card.html,
        width: card.width,
        height: card.height,
    };
    let (bytes, content_type) = match format {
        Format::Json => (
            serde_json::to_vec(&answer).map_err(|e| AppError::Internal(e.into()))?,
            "application/json",
        ),
        Format::Xml => (xml(&answer).into_bytes(), "text/xml; charset=utf-8"),
    };
    Ok(cache_headers::bytes_response(
        &Caching::of(&s, &c, &headers),
        StatusCode::OK,
        bytes,
        content_type,
        &embed.keys,
        None,
    ))
}

/// The `max-age` of a `Cache-Control` value, if it has one.
fn max_age(cache_control: &str) -> Option<u64> {
    cache_control.split(',').find_map(|d| {
        let (name, value) = d.trim().split_once('=')?;
        name.eq_ignore_ascii_case("max-age")
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}

/// The XML form: `<oembed>` with one element per member, in the JSON form's order.
fn xml(o: &OEmbed) -> String {
    let mut out = String::from(r#"<?xml version="1.0" encoding="utf-8" standalone="yes"?>"#);
    out.push_str("<oembed>");
    let mut element = |name: &str, text: &str| {
        out.push_str(&format!("<{name}>"));
        xml_text(text, &mut out);
        out.push_str(&format!("</{name}>"));
    };
    element("type", o.kind);
    element("version", o.version);
    element("title", &o.title);
    if let Some(v) = &o.author_name {
        element("author_name", v);
    }
    if let Some(v) = &o.author_url {
        element("author_url", v);
    }
    element("provider_name", &o.provider_name);
    element("provider_url", &o.provider_url);
    if let Some(v) = o.cache_age {
        element("cache_age", &v.to_string());
    }
    element("html", &o.html);
    element("width", &o.width.to_string());
    element("height", &o.height.to_string());
    out.push_str("</oembed>");
    out
}

/// Escapes `text` for XML character data, leaving out characters XML 1.0 cannot hold.
fn xml_text(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(
            max_age("public, max-age=60, stale-while-revalidate=300"),
            Some(60)
        );
        assert_eq!(max_age("public, s-maxage=600"), None);
        assert_eq!(max_age("private, no-store"), None);
    }

    #[test]
    fn only_json_and_xml_are_formats() {
        assert_eq!(Format::parse(None).ok(), Some(Format::Json));
        assert_eq!(Format::parse(Some("xml")).ok(), Some(Format::Xml));
        for bad in ["JSON", "html", "xml "] {
            assert!(
                Format::parse(Some(bad)).is_err_and(|e| e.status() == StatusCode::NOT_IMPLEMENTED),
                "{bad}"
            );
        }
    }
}
