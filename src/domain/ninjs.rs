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
//! Items are typed and serialised straight to text, and kept per article version
//! ([`Items`]): a partner feed page of fifty items built as `serde_json::Value` trees, with
//! every body parsed from the database's JSON, cost ~15 ms of CPU.
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

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::DatabaseConnection;
use serde::Serialize;
use serde::ser::SerializeMap as _;
use serde_json::Value;

use super::blocks::Image;
use super::content::Rights;
use super::directory::Directory;
use super::rendered::RenderedBodies;
use super::site::Site;
use super::structured::Described;
use crate::entities::{article, author, section, tag};
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

    /// This version's name of a property 2.1 calls `name`.
    fn name(self, name: &'static str) -> &'static str {
        match self {
            Self::V2 => name,
            Self::V3 => v3_name(name),
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

/// The article as a ninjs item of `version`; `body_html` is its body (listings read articles
/// without it and load it apart).
pub fn item(site: &Site, d: &Described<'_>, body_html: &str, version: Version) -> Result<Value> {
    serde_json::to_value(Item::new(site, d, body_html, version)?)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("article {}: {e}", d.article.id)))
}

/// [`item`] as JSON text.
pub fn item_json(
    site: &Site,
    d: &Described<'_>,
    body_html: &str,
    version: Version,
) -> Result<String> {
    serde_json::to_string(&Item::new(site, d, body_html, version)?)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("article {}: {e}", d.article.id)))
}

/// An item as it is written: typed, serialised straight to text (a page of fifty items
/// built as `serde_json::Value` trees cost more than reading them). Properties are written
/// in the order of their names, which is the same under 2.1's and 3.1's names, and the
/// order a `serde_json::Value` map keeps, so both ways of writing an item give the same text.
struct Item<'a> {
    version: Version,
    site: &'a Site,
    d: &'a Described<'a>,
    body_html: &'a str,
    rights: Rights,
    image: Option<Image>,
}

impl<'a> Item<'a> {
    fn new(
        site: &'a Site,
        d: &'a Described<'a>,
        body_html: &'a str,
        version: Version,
    ) -> Result<Self> {
        Ok(Self {
            version,
            site,
            d,
            body_html,
            rights: Rights::of(d.article),
            image: featured_image(d.article)?,
        })
    }
}

impl Serialize for Item<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let (a, d, v, site) = (self.d.article, self.d, self.version, self.site);
        let mut m = s.serialize_map(None)?;
        let url = d.lineage.last().and_then(|s| site.article_url(a, &s.path));
        let mut altids = vec![RoleValue {
            role: "slug",
            value: &a.slug,
        }];
        if let Some(url) = &url {
            altids.push(RoleValue {
                role: "url",
                value: url,
            });
        }
        m.serialize_entry(v.name("altids"), &altids)?;
        if let Some(img) = &self.image {
            m.serialize_entry("associations", &[picture(a.id, img)])?;
        }
        m.serialize_entry(
            "bodies",
            &[Body {
                version: v,
                html: self.body_html,
                word_count: a.word_count,
            }],
        )?;
        if !d.authors.is_empty() {
            m.serialize_entry("by", &byline(d))?;
        }
        if let Some(t) = &self.rights.copyright_holder {
            m.serialize_entry(v.name("copyrightholder"), t)?;
        }
        if let Some(t) = &self.rights.copyright_notice {
            m.serialize_entry(v.name("copyrightnotice"), t)?;
        }
        if let Some(dek) = a.dek.as_deref().filter(|d| !d.is_empty()) {
            m.serialize_entry(
                "descriptions",
                &[RoleValue {
                    role: "summary",
                    value: dek,
                }],
            )?;
        }
        // An embargoed story is `usable` with its `embargoed` time: the receiver holds it
        // back until then, as the standard defines.
        if let Some(t) = a.embargo_until {
            m.serialize_entry(v.name("embargoed"), &time(t))?;
        }
        m.serialize_entry(v.name("firstcreated"), &time(a.created_at))?;
        m.serialize_entry(
            "headlines",
            &[RoleValue {
                role: "main",
                value: &a.headline,
            }],
        )?;
        if let Some(name) = &a.source_name {
            m.serialize_entry(
                v.name("infosources"),
                &[Source {
                    name,
                    role: "source",
                    uri: a.source_url.as_deref(),
                }],
            )?;
        }
        m.serialize_entry("language", &site.language)?;
        if !d.authors.is_empty() {
            let people: Vec<Named<'_>> = d
                .authors
                .iter()
                .map(|au| Named {
                    literal: au.slug.clone(),
                    name: &au.name,
                    rel: "author",
                    uri: site.author_url(&au.slug),
                })
                .collect();
            m.serialize_entry("people", &people)?;
        }
        let status = if a.status == super::ArticleStatus::Published {
            "usable"
        } else {
            "withheld"
        };
        m.serialize_entry(v.name("pubstatus"), status)?;
        m.serialize_entry(v.name("representationtype"), "full")?;
        m.serialize_entry("slugline", &a.slug)?;
        m.serialize_entry("standard", &Standard::of(v))?;
        m.serialize_entry("subjects", &subjects(site, d))?;
        m.serialize_entry("type", "text")?;
        m.serialize_entry("uri", &uri(a.id))?;
        if let Some(t) = &self.rights.usage_terms {
            m.serialize_entry(v.name("usageterms"), t)?;
        }
        m.serialize_entry("version", &a.version.to_string())?;
        m.serialize_entry(v.name("versioncreated"), &time(a.updated_at))?;
        m.end()
    }
}

/// One `{role, value}` pair (headlines, descriptions, alternative ids).
#[derive(Serialize)]
struct RoleValue<'a> {
    role: &'a str,
    value: &'a str,
}

/// The `standard` an item follows.
#[derive(Serialize)]
struct Standard {
    name: &'static str,
    schema: &'static str,
    version: &'static str,
}

impl Standard {
    fn of(version: Version) -> Self {
        Self {
            name: "ninjs",
            schema: version.schema(),
            version: version.number(),
        }
    }
}

/// The body as HTML (3.1 spells `contentType` and `wordCount`).
struct Body<'a> {
    version: Version,
    html: &'a str,
    word_count: i32,
}

impl Serialize for Body<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry(self.version.name("contenttype"), "text/html")?;
        m.serialize_entry("role", "main")?;
        m.serialize_entry("value", self.html)?;
        m.serialize_entry(self.version.name("wordcount"), &self.word_count)?;
        m.end()
    }
}

/// A person or a subject.
#[derive(Serialize)]
struct Named<'a> {
    literal: String,
    name: &'a str,
    rel: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri: Option<String>,
}

/// The source credit.
#[derive(Serialize)]
struct Source<'a> {
    name: &'a str,
    role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri: Option<&'a str>,
}

/// A picture's one rendition.
#[derive(Serialize)]
struct Rendition<'a> {
    href: &'a str,
    name: &'static str,
}

/// The featured image as an associated `picture` item.
#[derive(Serialize)]
struct Picture<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    by: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    descriptions: Vec<RoleValue<'a>>,
    name: &'static str,
    renditions: [Rendition<'a>; 1],
    #[serde(rename = "type")]
    kind: &'static str,
    uri: String,
}

/// Serialised items kept per article *version* and ninjs version, like the rendered bodies
/// of [`super::rendered`]: an article's item cannot change without its version changing
/// (every write adds one), except through what it names of other records (its section, its
/// authors and tags, which change on their own), so each kept item also keeps those
/// inputs and is used only while they are the same. It is never stale, and needs no
/// invalidation. The memo holds items, never decisions: who may receive an article is
/// decided on every request (`domain::access`) before an item is looked up. Bounded by
/// bytes (`GAZETTE_NINJS_CACHE_BYTES`; 0 keeps nothing).
#[derive(Clone)]
pub struct Items {
    memo: Option<moka::sync::Cache<ItemKey, Arc<Kept>>>,
}

/// `(article id, version, updated_at in microseconds, ninjs version)` (the time guards
/// against a database whose versions were reset under a running process).
type ItemKey = (i32, i32, i64, Version);

struct Kept {
    /// What the item read of other records (see [`inputs`]).
    inputs: String,
    json: Arc<str>,
}

/// The default size of the memo, in bytes of JSON.
pub const DEFAULT_BYTES: u64 = 32 * 1024 * 1024;

impl std::fmt::Debug for Items {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Items")
            .field("entries", &self.memo.as_ref().map(|m| m.entry_count()))
            .finish()
    }
}

impl Default for Items {
    fn default() -> Self {
        Self::new(DEFAULT_BYTES)
    }
}

impl Items {
    /// A memo of at most `max_bytes` of items (0: none, every item is built every time).
    pub fn new(max_bytes: u64) -> Self {
        let memo = (max_bytes > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_: &ItemKey, k: &Arc<Kept>| {
                    u32::try_from(k.json.len() + k.inputs.len() + 96).unwrap_or(u32::MAX)
                })
                .build()
        });
        Self { memo }
    }

    fn key(a: &article::Model, version: Version) -> ItemKey {
        (a.id, a.version, a.updated_at.timestamp_micros(), version)
    }

    fn get(&self, key: &ItemKey, inputs: &str) -> Option<Arc<str>> {
        let kept = self.memo.as_ref()?.get(key)?;
        (kept.inputs == inputs).then(|| kept.json.clone())
    }

    fn keep(&self, key: ItemKey, inputs: String, json: Arc<str>) {
        if let Some(m) = &self.memo {
            m.insert(key, Arc::new(Kept { inputs, json }));
        }
    }
}

/// What an item reads of records other than its article: its section's name and path, its
/// authors' names, slugs and titles, its tags' names and slugs (`Debug` text: unambiguous).
fn inputs(section: &section::Model, authors: &[author::Model], tags: &[tag::Model]) -> String {
    let authors: Vec<_> = authors
        .iter()
        .map(|a| (&a.name, &a.slug, &a.title))
        .collect();
    let tags: Vec<_> = tags.iter().map(|t| (&t.name, &t.slug)).collect();
    format!("{:?}", (&section.name, &section.path, authors, tags))
}

/// Where items are made from: the database, the newsroom directory (sections, authors,
/// tags), the site, the rendered bodies and the items kept.
#[derive(Clone, Copy)]
pub struct Sources<'a> {
    pub db: &'a DatabaseConnection,
    pub directory: &'a Directory,
    pub site: &'a Site,
    pub bodies: &'a RenderedBodies,
    pub items: &'a Items,
}

/// The item of `a` as JSON text (see [`of_articles`]).
pub async fn of_article(
    from: Sources<'_>,
    a: &article::Model,
    version: Version,
) -> Result<Arc<str>> {
    of_articles(from, std::slice::from_ref(a), version)
        .await?
        .pop()
        .ok_or_else(|| AppError::internal("a ninjs item vanished"))
}

/// The items of `articles` (which the caller may receive: decided before), in their order,
/// as JSON text: each from [`Items`] while its article version and what it names are
/// unchanged, the rest built with their bodies' HTML from `bodies`. The bylines and tags of
/// all of them are read in one statement (sections, authors and tags come from the
/// directory), bodies in one more when some are not rendered yet.
pub async fn of_articles(
    from: Sources<'_>,
    articles: &[article::Model],
    version: Version,
) -> Result<Vec<Arc<str>>> {
    if articles.is_empty() {
        return Ok(Vec::new());
    }
    let internal =
        |id: i32, what: &str| AppError::Internal(anyhow::anyhow!("article {id}: {what}"));
    let ids: Vec<i32> = articles.iter().map(|a| a.id).collect();
    let section_ids: Vec<i32> = articles.iter().map(|a| a.section_id).collect();
    let sections = from
        .directory
        .sections_by_ids(from.db, &section_ids)
        .await?;
    let mut relations = from.directory.relations(from.db, &ids).await?;
    let mut out: Vec<Option<Arc<str>>> = Vec::with_capacity(articles.len());
    let mut parts = Vec::with_capacity(articles.len());
    let mut missing = Vec::new();
    for (i, a) in articles.iter().enumerate() {
        let section = sections
            .get(&a.section_id)
            .ok_or_else(|| internal(a.id, "no section"))?;
        let r = relations.remove(&a.id).unwrap_or_default();
        let inputs = inputs(section, &r.authors, &r.tags);
        let kept = from.items.get(&Items::key(a, version), &inputs);
        if kept.is_none() {
            missing.push(i);
        }
        out.push(kept);
        parts.push((section, r, inputs));
    }
    if !missing.is_empty() {
        let html = from
            .bodies
            .html(from.db, missing.iter().map(|&i| &articles[i]))
            .await?;
        for i in missing {
            let a = &articles[i];
            let (section, r, inputs) = &mut parts[i];
            let html = html.get(&a.id).ok_or_else(|| internal(a.id, "no body"))?;
            // An item reads only the last section of the lineage, the article's own.
            let json: Arc<str> = item_json(
                from.site,
                &Described {
                    article: a,
                    lineage: std::slice::from_ref(*section),
                    authors: &r.authors,
                    tags: &r.tags,
                },
                html,
                version,
            )?
            .into();
            from.items
                .keep(Items::key(a, version), std::mem::take(inputs), json.clone());
            out[i] = Some(json);
        }
    }
    out.into_iter()
        .map(|j| j.ok_or_else(|| AppError::internal("a ninjs item vanished")))
        .collect()
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
) -> Result<String> {
    let r = Retraction {
        article_id,
        at,
        article_version,
        why,
        version,
    };
    serde_json::to_string(&r)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("article {article_id}: {e}")))
}

struct Retraction {
    article_id: i32,
    at: DateTime<Utc>,
    article_version: Option<i32>,
    why: Retracted,
    version: Version,
}

impl Serialize for Retraction {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let v = self.version;
        let mut m = s.serialize_map(None)?;
        let status = match self.why {
            Retracted::Withheld => "withheld",
            Retracted::Canceled => "canceled",
        };
        m.serialize_entry(v.name("pubstatus"), status)?;
        m.serialize_entry(v.name("representationtype"), "partial")?;
        m.serialize_entry("standard", &Standard::of(v))?;
        m.serialize_entry("type", "text")?;
        m.serialize_entry("uri", &uri(self.article_id))?;
        if let Some(n) = self.article_version {
            m.serialize_entry("version", &n.to_string())?;
        }
        m.serialize_entry(v.name("versioncreated"), &time(self.at))?;
        m.end()
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
fn subjects<'a>(site: &Site, d: &'a Described<'a>) -> Vec<Named<'a>> {
    let mut out: Vec<Named<'a>> = d
        .tags
        .iter()
        .map(|t| Named {
            literal: format!("tag:{}", t.slug),
            name: &t.name,
            rel: "about",
            uri: site.tag_url(&t.slug),
        })
        .collect();
    if let Some(section) = d.lineage.last() {
        out.push(Named {
            literal: format!("section:{}", section.path),
            name: &section.name,
            rel: "section",
            uri: site.section_url(&section.path),
        });
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
fn picture(article_id: i32, img: &Image) -> Picture<'_> {
    let mut descriptions = Vec::new();
    if let Some(c) = img.caption.as_deref().filter(|c| !c.is_empty()) {
        descriptions.push(RoleValue {
            role: "caption",
            value: c,
        });
    }
    if let Some(alt) = img.alt.as_deref().filter(|c| !c.is_empty()) {
        descriptions.push(RoleValue {
            role: "alternative-text",
            value: alt,
        });
    }
    Picture {
        by: img.credit.as_deref().filter(|c| !c.is_empty()),
        descriptions,
        name: "featured-image",
        renditions: [Rendition {
            href: &img.url,
            name: "original",
        }],
        kind: "picture",
        uri: format!("{}:featured-image", uri(article_id)),
    }
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
    fn version_3_renames_the_properties_it_renamed_only() {
        assert_eq!(Version::V3.name("pubstatus"), "pubStatus");
        assert_eq!(Version::V3.name("contenttype"), "contentType");
        assert_eq!(Version::V3.name("headlines"), "headlines");
        assert_eq!(Version::V2.name("pubstatus"), "pubstatus");
    }
}
