//! IPTC ninjs ("news in JSON"), the wire format news agencies and their clients exchange
//! stories in: an article as a ninjs 2.1 item (the default) or a ninjs 3.1 item.
//!
//! The two versions carry the same information under different names: 2.1 spells every
//! property in lower case (`pubstatus`, `firstcreated`, `infosources`), 3.1 in camelCase
//! (`pubStatus`, `firstCreated`, `infoSources`) and calls the embargo `embargoedUntil`
//! rather than `embargoed`. Both forbid properties they do not define, so the item is built
//! once under the 2.1 names and renamed for 3.1 through one table (`v3_name`); the tests
//! validate every demo article and hostile ones against the IPTC's JSON Schemas of both.
//!
//! The mapping:
//! - `uri`: `urn:gazette:article:{id}`, from the article's id, never its slug or URL, which
//!   can change; `version` the article's version as a string; `firstcreated` and
//!   `versioncreated` its creation and last change.
//! - `pubstatus`: `usable` while published (under embargo too: `embargoed` gives the time
//!   before which the receiver must not use it), `withheld` otherwise (unpublished, or not
//!   yet published), `canceled` once deleted ([`retracted`]).
//! - `headlines` (the headline, role `main`), `descriptions` (the dek, role `summary`),
//!   `bodies` (the body as HTML, with its word count), `by` (the byline with the authors'
//!   titles) and `people` (each author, `rel` `author`), `subjects` (each tag, and the
//!   section), `language`, `infosources` (the source credit), `usageterms`,
//!   `copyrightholder`, `copyrightnotice`, `altids` (the slug, and the page URL when there
//!   is one) and `associations` (the featured image, a `picture` with its rendition).

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::ConnectionTrait;
use serde_json::{Map, Value, json};

use super::blocks::{self, Block, Image};
use super::content::Rights;
use super::site::Site;
use super::structured::Described;
use crate::entities::{article, section};
use crate::error::{AppError, Result};

/// A ninjs version gazette writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// ninjs 2.1 (lower-case property names).
    V2,
    /// ninjs 3.1 (camelCase property names).
    V3,
}

impl Version {
    /// The version a client asks for by its major number: 2 (the default) or 3.
    pub fn parse(major: Option<i64>) -> Result<Self> {
        match major {
            None | Some(2) => Ok(Self::V2),
            Some(3) => Ok(Self::V3),
            Some(other) => Err(AppError::bad_input(format!(
                "version must be 2 (ninjs 2.1) or 3 (ninjs 3.1), not {other}"
            ))),
        }
    }

    /// The standard's version, as the item's `standard` names it.
    pub fn number(self) -> &'static str {
        match self {
            Self::V2 => "2.1",
            Self::V3 => "3.1",
        }
    }

    /// The IPTC schema an item of this version validates against.
    pub fn schema(self) -> &'static str {
        match self {
            Self::V2 => "http://www.iptc.org/std/ninjs/ninjs-schema_2.1.json#",
            Self::V3 => "http://www.iptc.org/std/ninjs/ninjs-schema_3.1.json#",
        }
    }
}

/// The stable identifier of an article's items: from its id, which never changes.
pub fn uri(article_id: i32) -> String {
    format!("urn:gazette:article:{article_id}")
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The article as a ninjs item of `version`; `body` is its body (listings read articles
/// without it and load it apart).
pub fn item(site: &Site, d: &Described<'_>, body: &[Block], version: Version) -> Result<Value> {
    let a = d.article;
    let mut item = Map::new();
    let mut put = |k: &str, v: Value| {
        item.insert(k.to_owned(), v);
    };
    put("uri", json!(uri(a.id)));
    put(
        "standard",
        json!({ "name": "ninjs", "version": version.number(), "schema": version.schema() }),
    );
    put("type", json!("text"));
    put("representationtype", json!("full"));
    put("version", json!(a.version.to_string()));
    put("firstcreated", json!(time(a.created_at)));
    put("versioncreated", json!(time(a.updated_at)));
    // An embargoed story is `usable` with its `embargoed` time: the receiver holds it back
    // until then, as the standard defines.
    put(
        "pubstatus",
        json!(if a.status == super::ArticleStatus::Published {
            "usable"
        } else {
            "withheld"
        }),
    );
    if let Some(t) = a.embargo_until {
        put("embargoed", json!(time(t)));
    }
    put("language", json!(site.language));
    put("slugline", json!(a.slug));
    put(
        "headlines",
        json!([{ "role": "main", "value": a.headline }]),
    );
    if let Some(dek) = a.dek.as_deref().filter(|d| !d.is_empty()) {
        put("descriptions", json!([{ "role": "summary", "value": dek }]));
    }
    put(
        "bodies",
        json!([{
            "role": "main",
            "contenttype": "text/html",
            "wordcount": a.word_count,
            "value": blocks::render_html(body),
        }]),
    );
    if !d.authors.is_empty() {
        put("by", json!(byline(d)));
        let people: Vec<Value> = d
            .authors
            .iter()
            .map(|au| {
                let mut p = Map::new();
                p.insert("name".into(), json!(au.name));
                p.insert("rel".into(), json!("author"));
                p.insert("literal".into(), json!(au.slug));
                if let Some(url) = site.author_url(&au.slug) {
                    p.insert("uri".into(), json!(url));
                }
                Value::Object(p)
            })
            .collect();
        put("people", json!(people));
    }
    put("subjects", json!(subjects(site, d)));
    if let Some(name) = &a.source_name {
        let mut source = Map::new();
        source.insert("name".into(), json!(name));
        source.insert("role".into(), json!("source"));
        if let Some(url) = &a.source_url {
            source.insert("uri".into(), json!(url));
        }
        put("infosources", json!([source]));
    }
    let rights = Rights::of(a);
    if let Some(t) = rights.usage_terms {
        put("usageterms", json!(t));
    }
    if let Some(t) = rights.copyright_holder {
        put("copyrightholder", json!(t));
    }
    if let Some(t) = rights.copyright_notice {
        put("copyrightnotice", json!(t));
    }
    let mut altids = vec![json!({ "role": "slug", "value": a.slug })];
    if let Some(url) = d.lineage.last().and_then(|s| site.article_url(a, &s.path)) {
        altids.push(json!({ "role": "url", "value": url }));
    }
    put("altids", json!(altids));
    if let Some(img) = featured_image(a)? {
        put("associations", json!([picture(a.id, &img)]));
    }
    let item = Value::Object(item);
    Ok(match version {
        Version::V2 => item,
        Version::V3 => to_v3(item),
    })
}

/// Loads what the item of `a` describes (its section lineage, byline and tags: four
/// statements) and builds it. GraphQL reads the same through its DataLoaders instead.
pub async fn of_article(
    db: &impl ConnectionTrait,
    site: &Site,
    a: &article::Model,
    version: Version,
) -> Result<Value> {
    of_articles(db, site, std::slice::from_ref(a), version)
        .await?
        .pop()
        .ok_or_else(|| AppError::internal("a ninjs item vanished"))
}

/// The items of `articles`, in their order, with what they describe loaded for all of them
/// at once (four statements, whatever their number: the partner feed's pages).
pub async fn of_articles(
    db: &impl ConnectionTrait,
    site: &Site,
    articles: &[article::Model],
    version: Version,
) -> Result<Vec<Value>> {
    if articles.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i32> = articles.iter().map(|a| a.id).collect();
    let section_ids: Vec<i32> = articles.iter().map(|a| a.section_id).collect();
    let sections = super::sections::by_ids(db, &section_ids).await?;
    let mut paths: Vec<String> = sections
        .values()
        .flat_map(|s| super::sections::lineage(&s.path))
        .collect();
    paths.sort();
    paths.dedup();
    let by_path = super::sections::by_paths(db, &paths).await?;
    let mut authors = super::authors::bylines(db, &ids).await?;
    let mut tags = super::tags::of_articles(db, &ids).await?;
    let mut out = Vec::with_capacity(articles.len());
    for a in articles {
        let section = sections
            .get(&a.section_id)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("article {}: no section", a.id)))?;
        let lineage: Vec<section::Model> = super::sections::lineage(&section.path)
            .iter()
            .filter_map(|p| by_path.get(p).cloned())
            .collect();
        let body: Vec<Block> = serde_json::from_value(a.body.clone())
            .map_err(|e| AppError::Internal(anyhow::anyhow!("article {} body: {e}", a.id)))?;
        out.push(item(
            site,
            &Described {
                article: a,
                lineage: &lineage,
                authors: &authors.remove(&a.id).unwrap_or_default(),
                tags: &tags.remove(&a.id).unwrap_or_default(),
            },
            &body,
            version,
        )?);
    }
    Ok(out)
}

/// Why a partner no longer receives a story.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retracted {
    /// Taken out of the partner's view (unpublished, embargoed again, moved out of its grant):
    /// `withheld`.
    Withheld,
    /// Deleted: `canceled`.
    Canceled,
}

/// The item a partner receives for a story it may no longer use: its identifier, its
/// version when known, and `withheld` or `canceled`, so it can take the story down. It
/// carries nothing else of the story (which the partner may no longer see).
pub fn retracted(
    article_id: i32,
    at: DateTime<Utc>,
    article_version: Option<i32>,
    why: Retracted,
    version: Version,
) -> Value {
    let mut item = json!({
        "uri": uri(article_id),
        "standard": { "name": "ninjs", "version": version.number(), "schema": version.schema() },
        "type": "text",
        "representationtype": "partial",
        "versioncreated": time(at),
        "pubstatus": match why {
            Retracted::Withheld => "withheld",
            Retracted::Canceled => "canceled",
        },
    });
    if let (Some(v), Some(map)) = (article_version, item.as_object_mut()) {
        map.insert("version".into(), json!(v.to_string()));
    }
    match version {
        Version::V2 => item,
        Version::V3 => to_v3(item),
    }
}

/// `Omar Haddad, World Editor and Lena Berg`.
fn byline(d: &Described<'_>) -> String {
    let names: Vec<String> = d
        .authors
        .iter()
        .map(|au| match au.title.as_deref().filter(|t| !t.is_empty()) {
            Some(title) => format!("{}, {title}", au.name),
            None => au.name.clone(),
        })
        .collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join("; ")),
    }
}

/// The article's tags, then its section.
fn subjects(site: &Site, d: &Described<'_>) -> Vec<Value> {
    let mut out: Vec<Value> = d
        .tags
        .iter()
        .map(|t| {
            let mut s = Map::new();
            s.insert("name".into(), json!(t.name));
            s.insert("rel".into(), json!("about"));
            s.insert("literal".into(), json!(format!("tag:{}", t.slug)));
            if let Some(url) = site.tag_url(&t.slug) {
                s.insert("uri".into(), json!(url));
            }
            Value::Object(s)
        })
        .collect();
    if let Some(section) = d.lineage.last() {
        let mut s = Map::new();
        s.insert("name".into(), json!(section.name));
        s.insert("rel".into(), json!("section"));
        s.insert("literal".into(), json!(format!("section:{}", section.path)));
        if let Some(url) = site.section_url(&section.path) {
            s.insert("uri".into(), json!(url));
        }
        out.push(Value::Object(s));
    }
    out
}

fn featured_image(a: &article::Model) -> Result<Option<Image>> {
    a.featured_image
        .clone()
        .map(serde_json::from_value::<Image>)
        .transpose()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("article {} image: {e}", a.id)))
}

/// The featured image as an associated `picture` item, with its one rendition.
fn picture(article_id: i32, img: &Image) -> Value {
    let mut p = Map::new();
    p.insert("name".into(), json!("featured-image"));
    p.insert(
        "uri".into(),
        json!(format!("{}:featured-image", uri(article_id))),
    );
    p.insert("type".into(), json!("picture"));
    let mut descriptions = Vec::new();
    if let Some(c) = img.caption.as_deref().filter(|c| !c.is_empty()) {
        descriptions.push(json!({ "role": "caption", "value": c }));
    }
    if let Some(alt) = img.alt.as_deref().filter(|c| !c.is_empty()) {
        descriptions.push(json!({ "role": "alternative-text", "value": alt }));
    }
    if !descriptions.is_empty() {
        p.insert("descriptions".into(), json!(descriptions));
    }
    if let Some(credit) = img.credit.as_deref().filter(|c| !c.is_empty()) {
        p.insert("by".into(), json!(credit));
    }
    p.insert(
        "renditions".into(),
        json!([{ "name": "original", "href": img.url }]),
    );
    Value::Object(p)
}

/// The ninjs 3.1 name of a 2.1 property (the same where 3.1 did not rename it).
fn v3_name(name: &str) -> &str {
    match name {
        "representationtype" => "representationType",
        "firstcreated" => "firstCreated",
        "versioncreated" => "versionCreated",
        "pubstatus" => "pubStatus",
        "embargoed" => "embargoedUntil",
        "infosources" => "infoSources",
        "usageterms" => "usageTerms",
        "copyrightholder" => "copyrightHolder",
        "copyrightnotice" => "copyrightNotice",
        "altids" => "altIds",
        "contenttype" => "contentType",
        "wordcount" => "wordCount",
        other => other,
    }
}

/// Renames every property of a 2.1 item (nested ones included) to its 3.1 name.
fn to_v3(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (v3_name(&k).to_owned(), to_v3(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(to_v3).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_parsed_strictly() {
        assert_eq!(Version::parse(None).ok(), Some(Version::V2));
        assert_eq!(Version::parse(Some(3)).ok(), Some(Version::V3));
        for bad in [0, 1, 4, -2] {
            assert!(
                Version::parse(Some(bad)).is_err_and(|e| e.code() == "BAD_USER_INPUT"),
                "{bad}"
            );
        }
    }

    #[test]
    fn version_3_renames_nested_properties_and_keeps_values() {
        let v2 = json!({ "pubstatus": "usable", "bodies": [{ "contenttype": "text/html", "value": "pubstatus" }] });
        assert_eq!(
            to_v3(v2),
            json!({ "pubStatus": "usable", "bodies": [{ "contentType": "text/html", "value": "pubstatus" }] })
        );
    }
}
