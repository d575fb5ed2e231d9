//! WordPress exports (WXR 1.1 and 1.2, the XML of Tools → Export) into gazette's import
//! format (see [`super::convert`]).
//!
//! The XML is read as a stream by quick-xml, one child of `<channel>` at a time (an author,
//! a category, a tag, an item), in two passes: the first collects the small tables (authors,
//! categories, tags, attachments, the site's UTC offset) and checks the whole file is
//! well-formed before anything is written; the second converts posts one by one.
//!
//! Hostile XML is refused before it can do harm: a document type declaration (which is
//! where entity definitions live, for "billion laughs" expansion and for external entities
//! that would read a file or a URL) is refused outright, since no WordPress export has one,
//! and no entity other than XML's five and character references is ever expanded. One item
//! may hold at most [`MAX_ITEM_BYTES`]; a larger one is skipped and reported.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone as _, Utc};
use quick_xml::Reader;
use quick_xml::events::Event;

use super::convert::{Converted, Output, UniqueSlugs, line_of};
use super::html_blocks::{Notes, Options, to_blocks, wordpress_prepare};
use super::{ArticleIn, AuthorIn, CommentIn, ImportSource, OriginIn, SectionIn, SectionMap, TagIn};
use crate::domain::blocks::Image;
use crate::domain::html::{strip_all, to_text};
use crate::domain::{ArticleStatus, CommentStatus, slug};

/// The most text one item (a post with its comments) may hold.
pub const MAX_ITEM_BYTES: usize = 64 * 1024 * 1024;

/// The section of posts without a category.
pub const DEFAULT_SECTION: (&str, &str) = ("uncategorized", "Uncategorized");

/// An element of the export, with its text and children.
#[derive(Debug, Default)]
pub(super) struct El {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<El>,
}

impl El {
    fn child(&self, name: &str) -> Option<&El> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The trimmed text of a child, empty when absent.
    fn get(&self, name: &str) -> &str {
        self.child(name).map_or("", |c| c.text.trim())
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a El> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

/// Walks the children of `<channel>`, handing each over whole. The error names the line.
fn walk(
    source: &ImportSource,
    on: &mut dyn FnMut(El, bool) -> Result<(), String>,
) -> Result<(), String> {
    let reader = std::io::BufReader::new(source.open()?);
    let mut xml = Reader::from_reader(reader);
    {
        let c = xml.config_mut();
        c.expand_empty_elements = true;
        c.check_end_names = true;
    }
    let fail = |xml: &Reader<_>, msg: String, at: Option<u64>| -> String {
        let at = at.unwrap_or_else(|| xml.buffer_position());
        match line_of(source, at) {
            Some(line) => format!("line {line}: {msg}"),
            None => msg,
        }
    };
    let mut buf = Vec::new();
    // Names of the open elements above the collected one.
    let mut outer: Vec<String> = Vec::new();
    let mut stack: Vec<El> = Vec::new();
    let mut bytes = 0usize;
    let mut too_big = false;
    let mut seen_root = false;
    loop {
        let start = xml.buffer_position();
        let ev = match xml.read_event_into(&mut buf) {
            Ok(ev) => ev,
            Err(e) => {
                let at = xml.error_position();
                return Err(fail(&xml, format!("malformed XML: {e}"), Some(at)));
            }
        };
        match ev {
            Event::DocType(_) => {
                return Err(fail(
                    &xml,
                    "a document type declaration (<!DOCTYPE …>) is refused: WordPress exports \
                     have none, and entities defined there could expand without bound or \
                     read files (XXE)"
                        .into(),
                    Some(start),
                ));
            }
            Event::Start(e) => {
                let name = e.name().as_ref().to_owned();
                if !seen_root {
                    seen_root = true;
                    if name != "rss" {
                        return Err(format!(
                            "not a WordPress export (WXR): the root element is <{name}>, not <rss>"
                        ));
                    }
                }
                let collecting = !stack.is_empty()
                    || (outer.len() == 2 && outer[0] == "rss" && outer[1] == "channel");
                if collecting {
                    let mut attrs = Vec::new();
                    for a in e.attributes() {
                        let a =
                            a.map_err(|e| fail(&xml, format!("malformed attribute: {e}"), None))?;
                        let key = a.key.as_ref().to_owned();
                        let value = a
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .map_err(|e| fail(&xml, format!("attribute {key}: {e}"), None))?
                            .into_owned();
                        attrs.push((key, value));
                    }
                    if stack.is_empty() {
                        bytes = 0;
                        too_big = false;
                    }
                    stack.push(El {
                        name,
                        attrs,
                        ..El::default()
                    });
                } else {
                    outer.push(name);
                }
            }
            Event::End(_) => {
                if let Some(done) = stack.pop() {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(done),
                        None => on(done, too_big)?,
                    }
                } else {
                    outer.pop();
                }
            }
            Event::Text(t) => {
                let text = t.xml10_content();
                match stack.last_mut() {
                    Some(el) => push_text(el, &text, &mut bytes, &mut too_big),
                    None if !text.trim().is_empty() => {
                        return Err(fail(
                            &xml,
                            if seen_root {
                                "text outside the export's elements".into()
                            } else {
                                "not a WordPress export (WXR): not XML".into()
                            },
                            None,
                        ));
                    }
                    None => {}
                }
            }
            Event::CData(t) => {
                let text = t.xml10_content();
                if let Some(el) = stack.last_mut() {
                    push_text(el, &text, &mut bytes, &mut too_big);
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = r.xml10_content();
                        match quick_xml::escape::resolve_predefined_entity(&name) {
                            Some(s) => s.to_owned(),
                            None => {
                                return Err(fail(
                                    &xml,
                                    format!(
                                        "undefined entity &{name}; (only XML's five and \
                                         character references are read)"
                                    ),
                                    None,
                                ));
                            }
                        }
                    }
                    Err(e) => return Err(fail(&xml, format!("character reference: {e}"), None)),
                };
                if let Some(el) = stack.last_mut() {
                    push_text(el, &resolved, &mut bytes, &mut too_big);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !seen_root {
        return Err("not a WordPress export (WXR): the file is empty".into());
    }
    if let Some(open) = stack
        .first()
        .map(|e| e.name.clone())
        .or_else(|| outer.last().cloned())
    {
        return Err(fail(
            &xml,
            format!("the file ends inside <{open}>: it is truncated"),
            None,
        ));
    }
    Ok(())
}

fn push_text(el: &mut El, text: &str, bytes: &mut usize, too_big: &mut bool) {
    *bytes += text.len();
    if *bytes > MAX_ITEM_BYTES {
        *too_big = true;
        return;
    }
    el.text.push_str(text);
}

/// What the first pass learns.
#[derive(Default)]
struct Tables {
    wxr: bool,
    site: Option<String>,
    /// login → (gazette slug, display name)
    authors: HashMap<String, String>,
    author_list: Vec<(String, AuthorIn)>,
    /// nicename → (name, parent nicename, description)
    categories: HashMap<String, (String, Option<String>, Option<String>)>,
    category_order: Vec<String>,
    tags: Vec<(String, TagIn)>,
    attachments: HashMap<String, Image>,
    offset: Option<FixedOffset>,
}

fn date(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S")
        .ok()
        .filter(|d| d.and_utc().timestamp() > 0)
}

impl Tables {
    /// A time from the GMT field, or the local one at the site's offset.
    fn time(&self, item: &El, gmt: &str, local: &str) -> Option<DateTime<Utc>> {
        if let Some(d) = date(item.get(gmt)) {
            return Some(d.and_utc());
        }
        let local = date(item.get(local))?;
        let offset = self
            .offset
            .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero"));
        offset
            .from_local_datetime(&local)
            .single()
            .map(|d| d.with_timezone(&Utc))
    }

    fn section_path(&self, nicename: &str) -> String {
        let mut parts = vec![nicename.to_owned()];
        let mut at = nicename;
        while let Some((_, Some(parent), _)) = self.categories.get(at) {
            if parts.len() > 32 || parts.contains(parent) {
                break;
            }
            parts.push(parent.clone());
            at = parent;
        }
        parts.reverse();
        parts.join("/")
    }
}

fn first_pass(source: &ImportSource, conv: &mut Converted) -> Result<Tables, String> {
    let mut t = Tables::default();
    let mut author_slugs = UniqueSlugs::default();
    walk(source, &mut |el, _| {
        match el.name.as_str() {
            "wp:wxr_version" => t.wxr = true,
            "wp:base_blog_url" | "link" if t.site.is_none() => {
                let url = el.text.trim();
                if crate::domain::html::is_web_url(url) {
                    t.site = Some(url.trim_end_matches('/').to_owned());
                }
            }
            "wp:author" => {
                let login = el.get("wp:author_login").to_owned();
                let display = el.get("wp:author_display_name");
                let name = if display.is_empty() {
                    format!(
                        "{} {}",
                        el.get("wp:author_first_name"),
                        el.get("wp:author_last_name")
                    )
                    .trim()
                    .to_owned()
                } else {
                    display.to_owned()
                };
                let id = el.get("wp:author_id").to_owned();
                let name = if name.is_empty() {
                    format!("Author {id}")
                } else {
                    name
                };
                // Never the login: it is half of a WordPress credential.
                let slug = author_slugs.take(&name, &format!("author-{id}"));
                t.authors.insert(login, slug.clone());
                t.author_list.push((
                    format!("author {id}"),
                    AuthorIn {
                        slug,
                        name,
                        title: None,
                        bio: None,
                        avatar_url: None,
                        subject: None,
                    },
                ));
            }
            "wp:category" => {
                let nicename = decode_slug(el.get("wp:category_nicename"));
                let parent =
                    Some(decode_slug(el.get("wp:category_parent"))).filter(|p| !p.is_empty());
                let name = el.get("wp:cat_name").to_owned();
                let description =
                    Some(el.get("wp:category_description").to_owned()).filter(|d| !d.is_empty());
                if !t.categories.contains_key(&nicename) {
                    t.category_order.push(nicename.clone());
                }
                t.categories.insert(nicename, (name, parent, description));
            }
            "wp:tag" => {
                let name = el.get("wp:tag_name").to_owned();
                let slug = decode_slug(el.get("wp:tag_slug"));
                t.tags.push((
                    format!("tag {}", el.get("wp:term_id")),
                    TagIn {
                        slug: Some(slug).filter(|s| slug::is_valid(s)),
                        name,
                    },
                ));
            }
            "item" => {
                if t.offset.is_none()
                    && let (Some(local), Some(gmt)) = (
                        date(el.get("wp:post_date")),
                        date(el.get("wp:post_date_gmt")),
                    )
                {
                    let secs = (local - gmt).num_seconds();
                    t.offset = i32::try_from(secs).ok().and_then(FixedOffset::east_opt);
                }
                // Categories named by posts but missing from the channel's list.
                for c in el.all("category") {
                    if c.attr("domain") == Some("category")
                        && let Some(n) = c.attr("nicename")
                    {
                        let n = decode_slug(n);
                        if !t.categories.contains_key(&n) {
                            t.category_order.push(n.clone());
                            t.categories
                                .insert(n, (c.text.trim().to_owned(), None, None));
                        }
                    }
                }
                let kind = el.get("wp:post_type");
                conv.count(format!("items of type {kind}"));
                if kind == "attachment" {
                    let url = el.get("wp:attachment_url");
                    let url = if url.is_empty() { el.get("guid") } else { url };
                    let alt = el
                        .all("wp:postmeta")
                        .find(|m| m.get("wp:meta_key") == "_wp_attachment_image_alt")
                        .map(|m| m.get("wp:meta_value").to_owned())
                        .filter(|a| !a.is_empty());
                    let caption = Some(plain(el.get("excerpt:encoded"))).filter(|c| !c.is_empty());
                    t.attachments.insert(
                        el.get("wp:post_id").to_owned(),
                        Image {
                            url: url.to_owned(),
                            alt,
                            caption,
                            credit: None,
                        },
                    );
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    if !t.wxr {
        return Err("not a WordPress export (WXR): the channel has no <wp:wxr_version>".into());
    }
    Ok(t)
}

/// WordPress keeps non-ASCII slugs percent-encoded (`caf%c3%a9`).
fn decode_slug(s: &str) -> String {
    let path = crate::domain::origins::old_path(s).unwrap_or_default();
    let decoded = path.trim_start_matches('/');
    if slug::is_valid(decoded) {
        decoded.to_owned()
    } else {
        slug::slugify(decoded)
    }
}

fn plain(html: &str) -> String {
    to_text(&strip_all(html))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Converts the export at `source` into a gazette import file written to `out`.
pub(super) fn convert(
    source: &ImportSource,
    out: std::fs::File,
    site_url: Option<&str>,
    map: &SectionMap,
) -> Result<Converted, String> {
    let mut conv = Converted::default();
    let t = first_pass(source, &mut conv)?;
    for e in map.entries() {
        if !t.categories.contains_key(&e.key) {
            conv.notes.push(format!(
                "section map line {}: no category {:?} in the export",
                e.line, e.key
            ));
        }
    }
    let site = site_url
        .map(|s| s.trim_end_matches('/').to_owned())
        .or_else(|| t.site.clone());
    let mut output = Output::start(out, &t.author_list, &t.tags)?;
    let mut article_slugs = UniqueSlugs::default();
    let mut needs_default = false;
    let mut index = 0usize;
    walk(source, &mut |item, too_big| {
        if item.name != "item" {
            return Ok(());
        }
        let i = index;
        index += 1;
        let kind = item.get("wp:post_type");
        let post_id = item.get("wp:post_id").to_owned();
        let id = format!("post {post_id}");
        if kind != "post" {
            return Ok(());
        }
        if too_big {
            conv.skipped(
                "posts",
                i,
                &id,
                format!("larger than {} MB", MAX_ITEM_BYTES >> 20),
            );
            return Ok(());
        }
        let status = item.get("wp:status");
        let (status, note) = match status {
            "publish" => (ArticleStatus::Published, None),
            "future" => (ArticleStatus::Scheduled, None),
            "draft" => (ArticleStatus::Draft, None),
            "pending" => (ArticleStatus::InReview, None),
            "private" => (
                ArticleStatus::Draft,
                Some("private post imported as a draft (never made public)"),
            ),
            other => {
                conv.count(format!("posts with status {other} skipped"));
                conv.skipped(
                    "posts",
                    i,
                    &id,
                    format!("status {other:?} is not imported (only publish, future, draft, pending, private)"),
                );
                return Ok(());
            }
        };
        let (status, note) = if item.get("wp:post_password").is_empty() {
            (status, note)
        } else {
            (
                ArticleStatus::Draft,
                Some("password-protected post imported as a draft (never made public)"),
            )
        };
        if let Some(note) = note {
            conv.changed("posts", i, &id, note.into());
        }
        let login = item.get("dc:creator");
        let Some(author) = t.authors.get(login) else {
            conv.skipped(
                "posts",
                i,
                &id,
                format!("its author {login:?} is not among the export's authors (wp:author)"),
            );
            return Ok(());
        };
        let title = item.get("title");
        let slug_base = decode_slug(item.get("wp:post_name"));
        let slug = article_slugs.take(
            if slug_base.is_empty() {
                title
            } else {
                &slug_base
            },
            &format!("post-{post_id}"),
        );
        if !slug_base.is_empty() && slug != slug_base {
            conv.changed(
                "posts",
                i,
                &id,
                format!(
                    "slug {slug_base:?} is taken by an earlier post of the export: imported as {slug:?}"
                ),
            );
        }
        // The section: the first category the map names, else the first category; the
        // other categories become tags.
        let categories: Vec<(Option<String>, &str)> = item
            .all("category")
            .filter(|c| c.attr("domain") == Some("category"))
            .map(|c| (c.attr("nicename").map(decode_slug), c.text.trim()))
            .collect();
        let mapped = categories
            .iter()
            .position(|(n, _)| n.as_deref().is_some_and(|n| map.section(n).is_some()));
        let first = categories.iter().position(|(n, _)| n.is_some());
        let filed_under = mapped.or(first);
        let section = match filed_under.and_then(|at| categories[at].0.as_deref()) {
            Some(n) => match map.section(n) {
                Some(path) => path.to_owned(),
                None => t.section_path(n),
            },
            None => {
                needs_default = true;
                DEFAULT_SECTION.0.to_owned()
            }
        };
        let mut tags: Vec<String> = categories
            .iter()
            .enumerate()
            .filter(|(at, _)| Some(*at) != filed_under)
            .map(|(_, (_, name))| (*name).to_owned())
            .collect();
        tags.extend(
            item.all("category")
                .filter(|c| c.attr("domain") == Some("post_tag"))
                .map(|c| c.text.trim().to_owned()),
        );
        tags.retain(|t| !t.is_empty());
        let mut seen = std::collections::HashSet::new();
        tags.retain(|t| seen.insert(slug::slugify(t)));

        let featured_image = match item
            .all("wp:postmeta")
            .find(|m| m.get("wp:meta_key") == "_thumbnail_id")
            .map(|m| m.get("wp:meta_value").to_owned())
        {
            Some(att) => match t.attachments.get(&att) {
                Some(img) => Some(img.clone()),
                None => {
                    conv.changed(
                        "posts",
                        i,
                        &id,
                        format!("featured image: attachment {att} is not in the export"),
                    );
                    None
                }
            },
            None => None,
        };
        let mut notes = Notes::default();
        let (html, classic) = wordpress_prepare(item.get("content:encoded"), &mut notes);
        let (body, more) = to_blocks(
            &html,
            Options {
                autop: classic,
                base_url: site.as_deref(),
            },
        );
        for ((what, el), n) in more.counts {
            *notes.counts.entry((what, el)).or_default() += n;
        }
        if !notes.is_empty() {
            for ((what, el), n) in &notes.counts {
                *conv
                    .counts
                    .entry(format!("body: {what} <{el}>"))
                    .or_default() += n;
            }
            conv.changed("posts", i, &id, format!("body: {}", notes.describe()));
        }
        let dek = Some(plain(item.get("excerpt:encoded"))).filter(|d| !d.is_empty());
        let published = t.time(&item, "wp:post_date_gmt", "wp:post_date");
        let modified = t.time(&item, "wp:post_modified_gmt", "wp:post_modified");
        let link = item.get("link");
        let url = if link.is_empty() {
            site.as_ref().map(|s| format!("{s}/?p={post_id}"))
        } else {
            Some(link.to_owned())
        };
        // The short link every post has, and the guid (the permalink at first publication,
        // or `?p=ID`), when it is a web address.
        let mut other_urls: Vec<String> =
            site.iter().map(|s| format!("{s}/?p={post_id}")).collect();
        let guid = item.get("guid").trim();
        if crate::domain::html::is_web_url(guid) {
            other_urls.push(guid.to_owned());
        }
        other_urls.retain(|u| Some(u) != url.as_ref());
        other_urls.dedup();
        let article = ArticleIn {
            slug: slug.clone(),
            headline: title.to_owned(),
            dek,
            section,
            authors: vec![author.clone()],
            tags,
            status,
            published_at: (status == ArticleStatus::Published)
                .then_some(published)
                .flatten(),
            scheduled_at: (status == ArticleStatus::Scheduled)
                .then_some(published)
                .flatten(),
            created_at: published,
            updated_at: modified.or(published),
            source: None,
            featured_image,
            body,
            embargo_until: None,
            rights: None,
            origin: Some(OriginIn {
                system: "wordpress".into(),
                id: post_id.clone(),
                url,
                urls: other_urls,
            }),
        };
        output.article(&id, &article)?;
        for c in item.all("wp:comment") {
            let cid = c.get("wp:comment_id");
            let ctype = c.get("wp:comment_type");
            if matches!(ctype, "pingback" | "trackback") {
                conv.count(format!("comments: {ctype}s skipped"));
                continue;
            }
            let status = match c.get("wp:comment_approved") {
                "1" | "approve" => CommentStatus::Approved,
                "0" | "hold" => CommentStatus::Pending,
                other => {
                    let other = if other.is_empty() { "unknown" } else { other };
                    conv.count(format!("comments: {other} skipped"));
                    continue;
                }
            };
            let parent = Some(c.get("wp:comment_parent"))
                .filter(|p| !p.is_empty() && *p != "0")
                .map(str::to_owned);
            let author_name = c.get("wp:comment_author");
            let comment = CommentIn {
                key: cid.to_owned(),
                article: slug.clone(),
                parent,
                author_name: if author_name.is_empty() {
                    "Anonymous".into()
                } else {
                    author_name.to_owned()
                },
                body: c.get("wp:comment_content").to_owned(),
                status,
                created_at: t.time(c, "wp:comment_date_gmt", "wp:comment_date"),
            };
            output.comment(&format!("comment {cid}"), &comment)?;
        }
        Ok(())
    })?;
    let mut sections: Vec<(String, SectionIn)> = t
        .category_order
        .iter()
        .filter_map(|n| t.categories.get(n).map(|c| (n, c)))
        .map(|(n, (name, parent, description))| {
            (
                format!("category {n}"),
                SectionIn {
                    slug: n.clone(),
                    name: name.clone(),
                    parent: parent.clone(),
                    description: description.clone(),
                },
            )
        })
        .collect();
    if needs_default && !t.categories.contains_key(DEFAULT_SECTION.0) {
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
    conv.section_paths = sections
        .iter()
        .map(|(_, s)| match &s.parent {
            Some(_) => t.section_path(&s.slug),
            None => s.slug.clone(),
        })
        .collect();
    conv.ids = output.finish(&sections)?;
    Ok(conv)
}
