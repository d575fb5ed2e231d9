//! Ghost exports (the JSON of Settings → Labs → Export, Ghost 4 and 5) into gazette's
//! import format (see [`super::convert`]).
//!
//! The export is one JSON document, `{"db": [{"meta": …, "data": {"posts": […], "tags": …,
//! "users": …, "posts_tags": …, "posts_authors": …, "posts_meta": …, …}}]}` (the `db`
//! wrapper is optional). It is read as a stream, twice: the first pass keeps the small
//! tables (tags, users, and the relation rows, a few short strings per post) and skips the
//! posts; the second converts posts one at a time, never holding more than one. So memory
//! grows with the number of posts by their relation rows only, not with their bodies.

use std::collections::{HashMap, HashSet};
use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;

use super::convert::{Converted, Output, UniqueSlugs};
use super::html_blocks::{Notes, Options, to_blocks};
use super::{ArticleIn, AuthorIn, ImportSource, OriginIn, SectionIn, SectionMap, TagIn};
use crate::domain::ArticleStatus;
use crate::domain::blocks::{Block, Embed, Heading, Image, List, Paragraph, Quote};
use crate::domain::html::{escape, is_web_url};
use crate::domain::slug;

/// The section of posts without a public tag.
const DEFAULT_SECTION: (&str, &str) = super::wordpress::DEFAULT_SECTION;

/// Ghost's ids are strings (object ids); very old exports have numbers.
fn id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        other => return Err(de::Error::custom(format!("an id, not {other}"))),
    })
}

fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

#[derive(Deserialize)]
struct GTag {
    #[serde(deserialize_with = "id")]
    id: String,
    name: String,
    slug: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    visibility: Option<String>,
}

impl GTag {
    /// `#internal` tags organise Ghost's own workflow; readers never see them.
    fn internal(&self) -> bool {
        self.visibility.as_deref() == Some("internal") || self.name.starts_with('#')
    }
}

#[derive(Deserialize)]
struct GUser {
    #[serde(deserialize_with = "id")]
    id: String,
    name: String,
    slug: String,
    #[serde(default)]
    bio: Option<String>,
    #[serde(default)]
    profile_image: Option<String>,
}

#[derive(Deserialize)]
struct GPostTag {
    #[serde(deserialize_with = "id")]
    post_id: String,
    #[serde(deserialize_with = "id")]
    tag_id: String,
    #[serde(default)]
    sort_order: i64,
}

#[derive(Deserialize)]
struct GPostAuthor {
    #[serde(deserialize_with = "id")]
    post_id: String,
    #[serde(deserialize_with = "id")]
    author_id: String,
    #[serde(default)]
    sort_order: i64,
}

#[derive(Deserialize)]
struct GPostMeta {
    #[serde(deserialize_with = "id")]
    post_id: String,
    #[serde(default)]
    feature_image_alt: Option<String>,
    #[serde(default)]
    feature_image_caption: Option<String>,
}

#[derive(Deserialize)]
struct GPost {
    #[serde(deserialize_with = "id")]
    id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    slug: String,
    /// Ghost's preview links (`/p/<uuid>/`) name the post by it, whatever its slug.
    #[serde(default)]
    uuid: Option<String>,
    #[serde(default)]
    html: Option<String>,
    #[serde(default)]
    lexical: Option<String>,
    #[serde(default)]
    mobiledoc: Option<String>,
    #[serde(default)]
    feature_image: Option<String>,
    /// Ghost 4 before `posts_meta` held them.
    #[serde(default)]
    feature_image_alt: Option<String>,
    #[serde(default)]
    feature_image_caption: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    status: String,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default)]
    custom_excerpt: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    published_at: Option<String>,
    /// Ghost before multiple authors.
    #[serde(default, deserialize_with = "opt_id")]
    author_id: Option<String>,
}

/// What the first pass keeps.
#[derive(Default)]
struct Tables {
    tags: Vec<GTag>,
    users: Vec<GUser>,
    posts_tags: Vec<GPostTag>,
    posts_authors: Vec<GPostAuthor>,
    posts_meta: Vec<GPostMeta>,
    posts: usize,
    found_data: bool,
}

/// What a pass does with each post.
type OnPost<'a> = Option<&'a mut dyn FnMut(usize, Box<RawValue>) -> Result<(), String>>;

struct Pass<'a, 'b> {
    tables: &'a mut Tables,
    /// `None` in the first pass.
    on_post: OnPost<'b>,
}

fn scan(source: &ImportSource, pass: &mut Pass<'_, '_>) -> Result<(), String> {
    let reader = source.open()?;
    let mut de = serde_json::Deserializer::from_reader(reader);
    de::Deserializer::deserialize_map(&mut de, Top(pass))
        .and_then(|()| de.end())
        .map_err(|e| {
            let msg = e.to_string();
            if msg.starts_with("expected value at line 1 column 1") {
                "not a Ghost export: not JSON".to_owned()
            } else {
                msg
            }
        })
}

struct Top<'p, 'a, 'b>(&'p mut Pass<'a, 'b>);

impl<'de> Visitor<'de> for Top<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Ghost export: an object with `db` or `data`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "db" => map.next_value_seed(Db(&mut *self.0))?,
                "data" => map.next_value_seed(Data(&mut *self.0))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct Db<'p, 'a, 'b>(&'p mut Pass<'a, 'b>);

impl<'de> DeserializeSeed<'de> for Db<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Db<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`db`: an array of one export")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if seq.next_element_seed(Holder(&mut *self.0))?.is_some() {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
        }
        Ok(())
    }
}

struct Holder<'p, 'a, 'b>(&'p mut Pass<'a, 'b>);

impl<'de> DeserializeSeed<'de> for Holder<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(Top(self.0))
    }
}

struct Data<'p, 'a, 'b>(&'p mut Pass<'a, 'b>);

impl<'de> DeserializeSeed<'de> for Data<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Data<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`data`: an object of tables")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let pass = self.0;
        pass.tables.found_data = true;
        let first = pass.on_post.is_none();
        while let Some(key) = map.next_key::<String>()? {
            match (key.as_str(), first) {
                ("posts", _) => map.next_value_seed(Posts(&mut *pass))?,
                ("tags", true) => pass.tables.tags = map.next_value()?,
                ("users", true) => pass.tables.users = map.next_value()?,
                ("posts_tags", true) => pass.tables.posts_tags = map.next_value()?,
                ("posts_authors", true) => pass.tables.posts_authors = map.next_value()?,
                ("posts_meta", true) => pass.tables.posts_meta = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct Posts<'p, 'a, 'b>(&'p mut Pass<'a, 'b>);

impl<'de> DeserializeSeed<'de> for Posts<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Posts<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`posts`: an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let pass = self.0;
        let mut i = 0;
        loop {
            match pass.on_post.as_mut() {
                None => {
                    if seq.next_element::<IgnoredAny>()?.is_none() {
                        break;
                    }
                    pass.tables.posts += 1;
                }
                Some(on) => {
                    let Some(raw) = seq.next_element::<Box<RawValue>>()? else {
                        break;
                    };
                    on(i, raw).map_err(de::Error::custom)?;
                }
            }
            i += 1;
        }
        Ok(())
    }
}

fn time(s: Option<&str>) -> Option<DateTime<Utc>> {
    let s = s?.trim();
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
                .ok()
                .map(|d| d.and_utc())
        })
}

/// Ghost writes its own address as `__GHOST_URL__` in exports.
fn resolve(url: &str, site: Option<&str>) -> String {
    url.replace("__GHOST_URL__", site.unwrap_or(""))
}

fn web(url: Option<&str>, site: Option<&str>) -> Option<String> {
    let url = resolve(url?.trim(), site);
    if is_web_url(&url) {
        Some(url)
    } else if url.starts_with('/') {
        site.map(|s| format!("{s}{url}")).filter(|u| is_web_url(u))
    } else {
        None
    }
}

/// Converts the export at `source` into a gazette import file written to `out`.
pub(super) fn convert(
    source: &ImportSource,
    out: std::fs::File,
    site_url: Option<&str>,
    map: &SectionMap,
) -> Result<Converted, String> {
    let site = site_url.map(|s| s.trim_end_matches('/').to_owned());
    let site = site.as_deref();
    let mut conv = Converted::default();
    let mut t = Tables::default();
    scan(
        source,
        &mut Pass {
            tables: &mut t,
            on_post: None,
        },
    )?;
    if !t.found_data {
        return Err("not a Ghost export: no `db[0].data` or `data` object".into());
    }
    let tags: HashMap<&str, &GTag> = t.tags.iter().map(|g| (g.id.as_str(), g)).collect();
    let mut post_tags: HashMap<&str, Vec<(i64, &str)>> = HashMap::new();
    for pt in &t.posts_tags {
        post_tags
            .entry(pt.post_id.as_str())
            .or_default()
            .push((pt.sort_order, pt.tag_id.as_str()));
    }
    let mut post_authors: HashMap<&str, Vec<(i64, &str)>> = HashMap::new();
    for pa in &t.posts_authors {
        post_authors
            .entry(pa.post_id.as_str())
            .or_default()
            .push((pa.sort_order, pa.author_id.as_str()));
    }
    for list in post_tags.values_mut().chain(post_authors.values_mut()) {
        list.sort_by_key(|(order, _)| *order);
    }
    let meta: HashMap<&str, &GPostMeta> = t
        .posts_meta
        .iter()
        .map(|m| (m.post_id.as_str(), m))
        .collect();

    // Authors: the users who wrote something, by their Ghost slug (public in Ghost too).
    let writers: HashSet<&str> = t
        .posts_authors
        .iter()
        .map(|pa| pa.author_id.as_str())
        .collect();
    let mut author_slugs = UniqueSlugs::default();
    let mut authors: HashMap<&str, String> = HashMap::new();
    let mut author_list = Vec::new();
    for u in &t.users {
        if !writers.contains(u.id.as_str()) {
            conv.count("users without posts (not imported)");
            continue;
        }
        let slug = author_slugs.take(&u.slug, &u.name);
        authors.insert(u.id.as_str(), slug.clone());
        author_list.push((
            format!("user {}", u.id),
            AuthorIn {
                slug,
                name: u.name.clone(),
                title: None,
                bio: u.bio.clone(),
                avatar_url: web(u.profile_image.as_deref(), site),
                subject: None,
            },
        ));
    }
    // Sections: the first of a post's public tags that the section map names, else its
    // primary tag (its first public one); tags: the others. A tag the map names as a
    // section becomes one too.
    let mut section_tags: Vec<&str> = Vec::new();
    let mut section_seen = HashSet::new();
    let filed_under = |post_id: &str| -> Option<(&GTag, Option<&str>)> {
        let public = || {
            post_tags
                .get(post_id)
                .into_iter()
                .flatten()
                .filter_map(|(_, id)| tags.get(id).copied())
                .filter(|g| !g.internal())
        };
        if let Some(g) = public().find(|g| map.section(&g.slug).is_some()) {
            return Some((g, map.section(&g.slug)));
        }
        public().next().map(|g| (g, None))
    };
    for pt in &t.posts_tags {
        if let Some((g, None)) = filed_under(&pt.post_id)
            && section_seen.insert(g.id.as_str())
        {
            section_tags.push(g.id.as_str());
        }
    }
    for e in map.entries() {
        if !t.tags.iter().any(|g| !g.internal() && g.slug == e.key) {
            conv.notes.push(format!(
                "section map line {}: no public tag {:?} in the export",
                e.line, e.key
            ));
        }
        if let Some(g) = t.tags.iter().find(|g| !g.internal() && g.slug == e.section)
            && section_seen.insert(g.id.as_str())
        {
            section_tags.push(g.id.as_str());
        }
    }
    let tag_list: Vec<(String, TagIn)> = t
        .tags
        .iter()
        .filter(|g| !g.internal())
        .map(|g| {
            (
                format!("tag {}", g.id),
                TagIn {
                    slug: Some(g.slug.clone()).filter(|s| slug::is_valid(s)),
                    name: g.name.clone(),
                },
            )
        })
        .collect();
    let internal = t.tags.iter().filter(|g| g.internal()).count();
    if internal > 0 {
        conv.counts
            .insert("internal #tags (not imported)".into(), internal);
    }

    let mut output = Output::start(out, &author_list, &tag_list)?;
    let mut article_slugs = UniqueSlugs::default();
    let mut needs_default = false;
    let mut on_post = |i: usize, raw: Box<RawValue>| -> Result<(), String> {
        let p: GPost = match serde_json::from_str(raw.get()) {
            Ok(p) => p,
            Err(e) => {
                conv.skipped("posts", i, "", format!("not a Ghost post: {e}"));
                return Ok(());
            }
        };
        drop(raw);
        let id = format!("post {}", p.id);
        let kind = p.kind.as_deref().unwrap_or("post");
        conv.count(format!("{kind}s in the export"));
        if kind != "post" {
            return Ok(());
        }
        let (status, note) = match p.status.as_str() {
            "published" => (ArticleStatus::Published, None),
            "scheduled" => (ArticleStatus::Scheduled, None),
            "draft" => (ArticleStatus::Draft, None),
            "sent" => (
                ArticleStatus::Draft,
                Some("an email-only post (sent as a newsletter, never on the web): imported as a draft".to_owned()),
            ),
            other => {
                conv.skipped("posts", i, &id, format!("status {other:?} is not imported"));
                return Ok(());
            }
        };
        let visibility = p.visibility.as_deref().unwrap_or("public");
        let (status, note) = if visibility == "public" {
            (status, note)
        } else {
            (
                ArticleStatus::Draft,
                Some(format!(
                    "visibility {visibility:?} (members only): imported as a draft, never made public"
                )),
            )
        };
        if let Some(note) = note {
            conv.changed("posts", i, &id, note);
        }
        let mut by = post_authors
            .get(p.id.as_str())
            .map(|l| l.iter().map(|(_, a)| *a).collect::<Vec<_>>())
            .unwrap_or_default();
        if by.is_empty()
            && let Some(a) = p.author_id.as_deref()
        {
            by.push(a);
        }
        let mut bylines = Vec::new();
        for a in &by {
            match authors.get(a) {
                Some(slug) => bylines.push(slug.clone()),
                None => {
                    conv.skipped(
                        "posts",
                        i,
                        &id,
                        format!("its author {a:?} is not among the export's users"),
                    );
                    return Ok(());
                }
            }
        }
        if bylines.is_empty() {
            conv.skipped("posts", i, &id, "it has no author".into());
            return Ok(());
        }
        let primary_tag = filed_under(&p.id);
        let section = match primary_tag {
            Some((_, Some(path))) => path.to_owned(),
            Some((g, None)) => g.slug.clone(),
            None => {
                needs_default = true;
                DEFAULT_SECTION.0.to_owned()
            }
        };
        let primary_id = primary_tag.map(|(g, _)| g.id.as_str());
        let tags: Vec<String> = post_tags
            .get(p.id.as_str())
            .into_iter()
            .flatten()
            .filter_map(|(_, id)| tags.get(id).copied())
            .filter(|g| !g.internal() && Some(g.id.as_str()) != primary_id)
            .map(|g| g.name.clone())
            .collect();
        let m = meta.get(p.id.as_str());
        let featured_image = web(p.feature_image.as_deref(), site).map(|url| Image {
            url,
            alt: m
                .and_then(|m| m.feature_image_alt.clone())
                .or(p.feature_image_alt.clone()),
            caption: m
                .and_then(|m| m.feature_image_caption.clone())
                .or(p.feature_image_caption.clone())
                .map(|c| crate::domain::html::to_text(&crate::domain::html::strip_all(&c))),
            credit: None,
        });
        if p.feature_image.is_some() && featured_image.is_none() {
            conv.changed(
                "posts",
                i,
                &id,
                "feature_image: not an absolute URL (give --site-url for __GHOST_URL__)".into(),
            );
        }
        let opts = Options {
            autop: false,
            base_url: site,
        };
        let (body, notes) = match (&p.html, &p.lexical, &p.mobiledoc) {
            (Some(html), _, _) if !html.trim().is_empty() => to_blocks(&resolve(html, site), opts),
            (_, Some(lexical), _) => lexical_blocks(lexical, opts),
            (_, _, Some(mobiledoc)) => mobiledoc_blocks(mobiledoc, opts),
            _ => (Vec::new(), Notes::default()),
        };
        if !notes.is_empty() {
            for ((what, el), n) in &notes.counts {
                *conv
                    .counts
                    .entry(format!("body: {what} <{el}>"))
                    .or_default() += n;
            }
            conv.changed("posts", i, &id, format!("body: {}", notes.describe()));
        }
        let slug = article_slugs.take(&p.slug, &format!("post-{}", p.id));
        if slug != p.slug {
            conv.changed(
                "posts",
                i,
                &id,
                format!(
                    "slug {:?} is not usable or taken by an earlier post: imported as {slug:?}",
                    p.slug
                ),
            );
        }
        let published = time(p.published_at.as_deref());
        let created = time(p.created_at.as_deref());
        let url = match site {
            Some(s) => format!("{s}/{}/", p.slug),
            None => format!("/{}/", p.slug),
        };
        let article = ArticleIn {
            slug,
            headline: p.title.clone(),
            dek: p.custom_excerpt.clone(),
            section,
            authors: bylines,
            tags,
            status,
            published_at: (status == ArticleStatus::Published)
                .then_some(published)
                .flatten(),
            scheduled_at: (status == ArticleStatus::Scheduled)
                .then_some(published)
                .flatten(),
            created_at: created.or(published),
            updated_at: time(p.updated_at.as_deref()),
            source: None,
            featured_image,
            body,
            embargo_until: None,
            rights: None,
            origin: Some(OriginIn {
                system: "ghost".into(),
                id: p.id.clone(),
                url: Some(url),
                // Ghost's preview and share link, whatever the slug.
                urls: p
                    .uuid
                    .as_deref()
                    .map(str::trim)
                    .filter(|u| !u.is_empty() && !u.contains(['/', '?', '#']))
                    .map(|u| format!("{}/p/{u}/", site.unwrap_or_default()))
                    .into_iter()
                    .collect(),
            }),
        };
        output.article(&id, &article)
    };
    let mut second = Tables::default();
    scan(
        source,
        &mut Pass {
            tables: &mut second,
            on_post: Some(&mut on_post),
        },
    )?;
    let mut sections: Vec<(String, SectionIn)> = section_tags
        .iter()
        .filter_map(|id| tags.get(id))
        .map(|g| {
            (
                format!("tag {}", g.id),
                SectionIn {
                    slug: g.slug.clone(),
                    name: g.name.clone(),
                    parent: None,
                    description: g.description.clone(),
                },
            )
        })
        .collect();
    if needs_default
        && !section_tags
            .iter()
            .any(|id| tags.get(id).is_some_and(|g| g.slug == DEFAULT_SECTION.0))
    {
        sections.push((
            "default section".into(),
            SectionIn {
                slug: DEFAULT_SECTION.0.into(),
                name: DEFAULT_SECTION.1.into(),
                parent: None,
                description: None,
            },
        ));
    }
    conv.section_paths = sections.iter().map(|(_, s)| s.slug.clone()).collect();
    conv.ids = output.finish(&sections)?;
    Ok(conv)
}

/// Inline HTML of Lexical text nodes.
fn lexical_inline(nodes: &[Value], out: &mut String) {
    for n in nodes {
        match n["type"].as_str().unwrap_or_default() {
            "text" | "extended-text" => {
                let format = n["format"].as_i64().unwrap_or(0);
                let tags: Vec<&str> = [
                    (1, "strong"),
                    (2, "em"),
                    (16, "code"),
                    (32, "sub"),
                    (64, "sup"),
                ]
                .iter()
                .filter(|(bit, _)| format & bit != 0)
                .map(|(_, t)| *t)
                .collect();
                for t in &tags {
                    out.push_str(&format!("<{t}>"));
                }
                escape(n["text"].as_str().unwrap_or_default(), out);
                for t in tags.iter().rev() {
                    out.push_str(&format!("</{t}>"));
                }
            }
            "link" | "autolink" => {
                out.push_str("<a href=\"");
                escape(n["url"].as_str().unwrap_or_default(), out);
                out.push_str("\">");
                lexical_inline(n["children"].as_array().map_or(&[], Vec::as_slice), out);
                out.push_str("</a>");
            }
            "linebreak" => out.push_str("<br>"),
            _ => lexical_inline(n["children"].as_array().map_or(&[], Vec::as_slice), out),
        }
    }
}

fn children(n: &Value) -> &[Value] {
    n["children"].as_array().map_or(&[], Vec::as_slice)
}

/// Ghost 5's Lexical editor state into blocks.
fn lexical_blocks(json: &str, opts: Options<'_>) -> (Vec<Block>, Notes) {
    let mut notes = Notes::default();
    let mut blocks = Vec::new();
    let Ok(doc) = serde_json::from_str::<Value>(json) else {
        let mut n = Notes::default();
        n.counts
            .insert(("dropped", "unreadable lexical body".into()), 1);
        return (blocks, n);
    };
    let str_of = |n: &Value, k: &str| n[k].as_str().map(str::to_owned).filter(|s| !s.is_empty());
    for n in children(&doc["root"]) {
        let kind = n["type"].as_str().unwrap_or_default();
        let inline = || {
            let mut html = String::new();
            lexical_inline(children(n), &mut html);
            html
        };
        match kind {
            "paragraph" => {
                let html = inline();
                if !html.trim().is_empty() {
                    blocks.push(Block::Paragraph(Paragraph { html }));
                }
            }
            "heading" | "extended-heading" => {
                let level = n["tag"]
                    .as_str()
                    .and_then(|t| t.strip_prefix('h'))
                    .and_then(|l| l.parse::<i32>().ok())
                    .unwrap_or(2)
                    .clamp(2, 6);
                let text = crate::domain::html::to_text(&inline());
                if !text.trim().is_empty() {
                    blocks.push(Block::Heading(Heading { level, text }));
                }
            }
            "list" => {
                let items: Vec<String> = children(n)
                    .iter()
                    .map(|li| {
                        let mut html = String::new();
                        lexical_inline(children(li), &mut html);
                        html
                    })
                    .filter(|h| !h.trim().is_empty())
                    .collect();
                if !items.is_empty() {
                    blocks.push(Block::List(List {
                        ordered: n["listType"].as_str() == Some("number"),
                        items,
                    }));
                }
            }
            "quote" | "aside" | "extended-quote" => blocks.push(Block::Quote(Quote {
                html: inline(),
                attribution: None,
            })),
            "image" => {
                if let Some(url) = web(n["src"].as_str(), opts.base_url) {
                    blocks.push(Block::Image(Image {
                        url,
                        alt: str_of(n, "alt").or_else(|| str_of(n, "altText")),
                        caption: str_of(n, "caption").map(|c| {
                            crate::domain::html::to_text(&crate::domain::html::strip_all(&c))
                        }),
                        credit: None,
                    }));
                } else {
                    notes
                        .counts
                        .entry(("dropped", "image with a relative URL".into()))
                        .and_modify(|c| *c += 1)
                        .or_insert(1);
                }
            }
            "embed" => {
                if let Some(url) = str_of(n, "url").filter(|u| is_web_url(u)) {
                    blocks.push(Block::Embed(Embed { url }));
                }
            }
            "html" => {
                let (b, more) = to_blocks(
                    &resolve(n["html"].as_str().unwrap_or_default(), opts.base_url),
                    opts,
                );
                blocks.extend(b);
                for (k, v) in more.counts {
                    *notes.counts.entry(k).or_default() += v;
                }
            }
            "markdown" => {
                let text = n["markdown"].as_str().unwrap_or_default();
                *notes
                    .counts
                    .entry(("kept as text", "markdown card".into()))
                    .or_default() += 1;
                for para in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
                    let mut html = String::new();
                    escape(para, &mut html);
                    blocks.push(Block::Paragraph(Paragraph { html }));
                }
            }
            other => {
                *notes
                    .counts
                    .entry(("dropped", format!("{other} card")))
                    .or_default() += 1;
            }
        }
    }
    (blocks, notes)
}

/// Ghost 4's Mobiledoc into blocks: markup sections, lists, and the html, image, embed and
/// markdown cards; other cards are reported.
fn mobiledoc_blocks(json: &str, opts: Options<'_>) -> (Vec<Block>, Notes) {
    let mut notes = Notes::default();
    let mut blocks = Vec::new();
    let Ok(doc) = serde_json::from_str::<Value>(json) else {
        notes
            .counts
            .insert(("dropped", "unreadable mobiledoc body".into()), 1);
        return (blocks, notes);
    };
    let empty = Vec::new();
    let markups = doc["markups"].as_array().unwrap_or(&empty);
    let cards = doc["cards"].as_array().unwrap_or(&empty);
    let render = |markers: &Value| -> String {
        let mut html = String::new();
        let mut open: Vec<String> = Vec::new();
        for m in markers.as_array().unwrap_or(&empty) {
            for idx in m[1].as_array().unwrap_or(&empty) {
                let Some(markup) = idx.as_u64().and_then(|i| markups.get(i as usize)) else {
                    continue;
                };
                let tag = markup[0].as_str().unwrap_or("span").to_ascii_lowercase();
                html.push('<');
                html.push_str(&tag);
                if let Some(attrs) = markup[1].as_array() {
                    for pair in attrs.chunks(2) {
                        if pair[0].as_str() == Some("href") {
                            html.push_str(" href=\"");
                            escape(
                                pair.get(1).and_then(Value::as_str).unwrap_or_default(),
                                &mut html,
                            );
                            html.push('"');
                        }
                    }
                }
                html.push('>');
                open.push(tag);
            }
            escape(m[3].as_str().unwrap_or_default(), &mut html);
            for _ in 0..m[2].as_u64().unwrap_or(0) {
                if let Some(tag) = open.pop() {
                    html.push_str(&format!("</{tag}>"));
                }
            }
        }
        while let Some(tag) = open.pop() {
            html.push_str(&format!("</{tag}>"));
        }
        html
    };
    for s in doc["sections"].as_array().unwrap_or(&empty) {
        match s[0].as_u64() {
            Some(1) => {
                let tag = s[1].as_str().unwrap_or("p").to_ascii_lowercase();
                let html = render(&s[2]);
                if crate::domain::html::to_text(&html).trim().is_empty() {
                    continue;
                }
                match tag.as_str() {
                    "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                        blocks.push(Block::Heading(Heading {
                            level: i32::from(tag.as_bytes()[1] - b'0').clamp(2, 6),
                            text: crate::domain::html::to_text(&html),
                        }))
                    }
                    "blockquote" | "aside" => blocks.push(Block::Quote(Quote {
                        html,
                        attribution: None,
                    })),
                    _ => blocks.push(Block::Paragraph(Paragraph { html })),
                }
            }
            Some(3) => {
                let items: Vec<String> = s[2]
                    .as_array()
                    .unwrap_or(&empty)
                    .iter()
                    .map(&render)
                    .filter(|h| !h.trim().is_empty())
                    .collect();
                if !items.is_empty() {
                    blocks.push(Block::List(List {
                        ordered: s[1].as_str() == Some("ol"),
                        items,
                    }));
                }
            }
            Some(10) => {
                let card = s[1].as_u64().and_then(|i| cards.get(i as usize));
                let name = card.and_then(|c| c[0].as_str()).unwrap_or_default();
                let payload = card.map(|c| &c[1]).unwrap_or(&Value::Null);
                match name {
                    "html" => {
                        let (b, more) = to_blocks(
                            &resolve(payload["html"].as_str().unwrap_or_default(), opts.base_url),
                            opts,
                        );
                        blocks.extend(b);
                        for (k, v) in more.counts {
                            *notes.counts.entry(k).or_default() += v;
                        }
                    }
                    "image" => match web(payload["src"].as_str(), opts.base_url) {
                        Some(url) => blocks.push(Block::Image(Image {
                            url,
                            alt: payload["alt"].as_str().map(str::to_owned),
                            caption: payload["caption"].as_str().map(|c| {
                                crate::domain::html::to_text(&crate::domain::html::strip_all(c))
                            }),
                            credit: None,
                        })),
                        None => {
                            *notes
                                .counts
                                .entry(("dropped", "image with a relative URL".into()))
                                .or_default() += 1;
                        }
                    },
                    "embed" => {
                        if let Some(url) = payload["url"].as_str().filter(|u| is_web_url(u)) {
                            blocks.push(Block::Embed(Embed {
                                url: url.to_owned(),
                            }));
                        }
                    }
                    "markdown" | "card-markdown" => {
                        *notes
                            .counts
                            .entry(("kept as text", "markdown card".into()))
                            .or_default() += 1;
                        let text = payload["markdown"].as_str().unwrap_or_default();
                        for para in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
                            let mut html = String::new();
                            escape(para, &mut html);
                            blocks.push(Block::Paragraph(Paragraph { html }));
                        }
                    }
                    other => {
                        *notes
                            .counts
                            .entry(("dropped", format!("{other} card")))
                            .or_default() += 1;
                    }
                }
            }
            _ => {
                *notes
                    .counts
                    .entry(("dropped", "mobiledoc section".into()))
                    .or_default() += 1;
            }
        }
    }
    (blocks, notes)
}
