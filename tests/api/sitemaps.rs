//! Sitemaps as search engines read them: every answer parsed by an XML parser (quick-xml,
//! namespaces resolved, every character one XML 1.0 allows), its URLs and times compared
//! with the articles in the database, only published stories in any of them, the limits
//! obeyed (pages split, news split at 1,000, a big page streamed), the news window moving
//! with time alone, and every change reaching the sitemaps at once through the response
//! cache.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use futures_util::TryStreamExt as _;
use gazette::domain::sitemaps::{self, Limits};
use quick_xml::events::Event;
use quick_xml::name::{Namespace, ResolveResult};
use sea_orm::{ConnectionTrait as _, EntityTrait as _, Statement};
use serde_json::{Value, json};

use crate::fixtures::{newsroom, newsroom_with};
use crate::helpers::{
    PUBLIC_URL, TestApp, WithHeader as _, assert_problem, editor, request, send_raw, test_site,
};
use crate::storage_tests;

storage_tests!(
    the_index_names_every_sitemap_on_the_public_url_and_each_one_parses,
    an_article_sitemap_lists_each_public_article_at_its_url_with_its_last_change,
    sections_authors_and_tags_sitemaps_list_their_pages,
    drafts_scheduled_and_unpublished_stories_are_in_no_sitemap,
    the_news_sitemap_holds_the_last_48_hours_as_google_news_reads_them,
    a_story_leaves_the_cached_news_sitemap_when_it_turns_48_hours_old,
    more_than_a_thousand_stories_split_the_news_sitemap_and_a_big_month_streams,
    the_index_splits_a_month_that_passes_the_page_size,
    hostile_headlines_and_names_still_make_well_formed_xml,
    sitemaps_need_a_public_url,
    bad_pages_and_unknown_sitemaps_are_refused_as_problems,
    sitemaps_revalidate_with_etags_and_name_what_they_show,
    a_publish_or_an_unpublish_reaches_the_cached_sitemaps_at_once,
);

const SITEMAP_NS: &str = "http://www.sitemaps.org/schemas/sitemap/0.9";
const NEWS_NS: &str = "http://www.google.com/schemas/sitemap-news/0.9";

/// A parsed sitemap: its root element, and for each child of the root (`<url>`,
/// `<sitemap>`) the text of each field by path (`loc`, `news:news/news:title`), with
/// `news:` standing for Google's namespace and no prefix for sitemaps.org's.
#[derive(Debug)]
struct Doc {
    root: String,
    items: Vec<BTreeMap<String, String>>,
}

impl Doc {
    fn locs(&self) -> Vec<String> {
        self.items
            .iter()
            .map(|i| {
                i.get("loc")
                    .cloned()
                    .unwrap_or_else(|| panic!("a loc in {i:?}"))
            })
            .collect()
    }

    /// `field` of the item at `loc`.
    fn field(&self, loc: &str, field: &str) -> Option<String> {
        self.items
            .iter()
            .find(|i| i.get("loc").map(String::as_str) == Some(loc))
            .and_then(|i| i.get(field).cloned())
    }
}

/// Whether XML 1.0 allows `c` in a document.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Parses a sitemap, failing on anything a conforming parser would refuse: bytes that are
/// not UTF-8, characters XML 1.0 forbids, mismatched tags, unknown entities, elements in
/// no namespace or in another.
fn parse(what: &str, bytes: &[u8]) -> Doc {
    let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{what}: not UTF-8: {e}"));
    if let Some(bad) = text.chars().find(|&c| !xml_char(c)) {
        panic!("{what}: U+{:04X} is not an XML 1.0 character", bad as u32);
    }
    assert!(
        text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        "{what}"
    );
    let mut reader = quick_xml::NsReader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    let mut root = None;
    let mut items = Vec::new();
    let mut item: BTreeMap<String, String> = BTreeMap::new();
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .unwrap_or_else(|e| panic!("{what}: not well-formed: {e}"));
        let name = |ns: &ResolveResult<'_>, local: &str| {
            let prefix = match ns {
                ResolveResult::Bound(Namespace(SITEMAP_NS)) => "",
                ResolveResult::Bound(Namespace(NEWS_NS)) => "news:",
                other => panic!("{what}: <{local}> in namespace {other:?}"),
            };
            format!("{prefix}{local}")
        };
        match event {
            Event::Start(e) => {
                let n = name(&ns, e.local_name().as_ref());
                if path.is_empty() {
                    root = Some(n.clone());
                }
                path.push(n);
            }
            Event::Empty(e) => {
                let n = name(&ns, e.local_name().as_ref());
                if path.len() >= 2 {
                    let key = [&path[2..], &[n]].concat().join("/");
                    item.entry(key).or_default();
                } else if path.is_empty() {
                    root = Some(n);
                }
            }
            Event::End(_) => {
                path.pop();
                if path.len() == 1 {
                    items.push(std::mem::take(&mut item));
                }
            }
            Event::Text(t) if path.len() >= 3 => {
                item.entry(path[2..].join("/"))
                    .or_default()
                    .push_str(&t.xml10_content());
            }
            Event::GeneralRef(r) if path.len() >= 3 => {
                let c = match r.resolve_char_ref().expect("a valid character reference") {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::resolve_xml_entity(&r.xml10_content())
                        .unwrap_or_else(|| panic!("{what}: unknown entity {r:?}"))
                        .to_owned(),
                };
                item.entry(path[2..].join("/")).or_default().push_str(&c);
            }
            Event::Text(t) => assert!(
                t.xml10_content().trim().is_empty(),
                "{what}: text outside an item: {t:?}"
            ),
            Event::CData(_) | Event::GeneralRef(_) => panic!("{what}: unexpected {event:?}"),
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(path.is_empty(), "{what}: unclosed {path:?}");
    Doc {
        root: root.unwrap_or_else(|| panic!("{what}: no root element")),
        items,
    }
}

/// An anonymous GET.
async fn get(router: &Router, uri: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    send_raw(router, request("GET", uri, None, None)).await
}

/// A sitemap that must be served: `200`, `application/xml`, well-formed, with `root`.
async fn sitemap(router: &Router, uri: &str, root: &str) -> Doc {
    let (status, headers, body) = get(router, uri).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{uri}: {}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(headers[header::CONTENT_TYPE], "application/xml", "{uri}");
    let doc = parse(uri, &body);
    assert_eq!(doc.root, root, "{uri}");
    doc
}

/// The route of an absolute URL on the public base URL.
fn route(loc: &str) -> &str {
    loc.strip_prefix(PUBLIC_URL)
        .unwrap_or_else(|| panic!("{loc} is on {PUBLIC_URL}"))
}

/// Every sitemap the index names, parsed, by route.
async fn all_sitemaps(router: &Router) -> BTreeMap<String, Doc> {
    let index = sitemap(router, "/sitemap.xml", "sitemapindex").await;
    let mut out = BTreeMap::new();
    for loc in index.locs() {
        let doc = sitemap(router, route(&loc), "urlset").await;
        out.insert(route(&loc).to_owned(), doc);
    }
    out
}

/// Every URL any sitemap lists.
async fn every_listed_url(router: &Router) -> BTreeSet<String> {
    all_sitemaps(router)
        .await
        .values()
        .flat_map(Doc::locs)
        .collect()
}

/// A sitemap's time, as it writes them.
fn w3c(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// What the database holds of each article: its URL (default template), status and
/// `lastmod` (its update, never before its publication).
async fn stored(app: &TestApp) -> HashMap<String, (String, String, String)> {
    let sections: HashMap<i32, String> = gazette::entities::section::Entity::find()
        .all(&app.db)
        .await
        .expect("sections")
        .into_iter()
        .map(|s| (s.id, s.path))
        .collect();
    gazette::entities::article::Entity::find()
        .all(&app.db)
        .await
        .expect("articles")
        .into_iter()
        .map(|a| {
            let url = format!("{PUBLIC_URL}/{}/{}", sections[&a.section_id], a.slug);
            let lastmod = w3c(a.updated_at.max(a.published_at.unwrap_or(a.created_at)));
            (a.slug, (url, a.status.as_str().to_owned(), lastmod))
        })
        .collect()
}

fn url(section: &str, slug: &str) -> String {
    format!("{PUBLIC_URL}/{section}/{slug}")
}

/// A published article in the newsroom's `world` section by Omar Haddad, published at `at`.
fn story(slug: &str, headline: &str, at: DateTime<Utc>) -> Value {
    json!({
        "slug": slug,
        "headline": headline,
        "section": "world",
        "authors": ["omar-haddad"],
        "tags": [],
        "status": "PUBLISHED",
        "publishedAt": at.to_rfc3339(),
        "createdAt": at.to_rfc3339(),
        "body": [{ "paragraph": { "html": "Text." } }]
    })
}

/// Sets an article's headline straight in the database, past the write path's cleaning
/// (as a hand edit or an older version could have stored it).
async fn store_headline(app: &TestApp, slug: &str, headline: &str) {
    let backend = app.db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => "UPDATE articles SET headline = $1 WHERE slug = $2",
        _ => "UPDATE articles SET headline = ? WHERE slug = ?",
    };
    app.db
        .execute(Statement::from_sql_and_values(
            backend,
            sql,
            [headline.into(), slug.into()],
        ))
        .await
        .expect("update headline");
    app.cache.clear();
}

async fn the_index_names_every_sitemap_on_the_public_url_and_each_one_parses(app: &TestApp) {
    app.import(newsroom()).await;
    let index = sitemap(&app.router, "/sitemap.xml", "sitemapindex").await;
    assert_eq!(
        index.locs(),
        [
            "/sitemaps/news.xml",
            "/sitemaps/sections.xml",
            "/sitemaps/authors.xml",
            "/sitemaps/tags.xml",
            "/sitemaps/articles-2026-03.xml",
        ]
        .map(|p| format!("{PUBLIC_URL}{p}"))
    );
    // The month's lastmod is its newest change: the last story's publication (imported
    // stories were last updated when created, an hour before).
    let march = format!("{PUBLIC_URL}/sitemaps/articles-2026-03.xml");
    let stored = stored(app).await;
    let newest = stored
        .values()
        .filter(|(_, status, _)| status == "PUBLISHED")
        .map(|(_, _, lastmod)| lastmod.clone())
        .max();
    assert_eq!(index.field(&march, "lastmod"), newest);
    assert_eq!(newest.as_deref(), Some("2026-03-06T09:00:00Z"));
    // No story is in the news window: the news sitemap is empty, and dated by when the
    // newest one left it.
    assert_eq!(
        index
            .field(&format!("{PUBLIC_URL}/sitemaps/news.xml"), "lastmod")
            .as_deref(),
        Some("2026-03-08T09:00:00Z")
    );
    let all = all_sitemaps(&app.router).await;
    assert_eq!(all.len(), 5);
    assert!(all["/sitemaps/news.xml"].items.is_empty());
}

async fn an_article_sitemap_lists_each_public_article_at_its_url_with_its_last_change(
    app: &TestApp,
) {
    app.import(newsroom()).await;
    // One story edited later: its lastmod is the edit.
    let (id, v) = app.id_version("summit-ends").await;
    app.ok_as(
        &editor(),
        "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, expectedVersion: $v, input: { dek: \"New dek\" }) { version } }",
        json!({ "id": id, "v": v }),
    )
    .await;
    let doc = sitemap(&app.router, "/sitemaps/articles-2026-03.xml", "urlset").await;
    let stored = stored(app).await;
    let public = [
        "talks-resume",
        "border-reopens",
        "summit-ends",
        "markets-rally",
        "port-profits",
        "aid-arrives",
    ];
    let expected: Vec<String> = public.iter().map(|s| stored[*s].0.clone()).collect();
    assert_eq!(
        doc.locs(),
        expected,
        "every public story, in order of publication"
    );
    assert_eq!(doc.locs()[0], url("world/middle-east", "talks-resume"));
    for slug in public {
        let (loc, _, lastmod) = &stored[slug];
        assert_eq!(doc.field(loc, "lastmod").as_ref(), Some(lastmod), "{slug}");
    }
    let edited = doc
        .field(&url("world", "summit-ends"), "lastmod")
        .expect("a lastmod");
    assert!(edited > w3c(Utc::now() - TimeDelta::minutes(5)), "{edited}");
    // The REST article names the same page.
    let (_, _, body) = app.get("/api/v1/articles/summit-ends").await;
    assert_eq!(body["url"], url("world", "summit-ends"));
}

/// Dates every section and author as last changed at `at` (the import dates them now).
async fn date_directory(app: &TestApp, at: &str) {
    let at: DateTime<Utc> = at.parse().expect("a time");
    let backend = app.db.get_database_backend();
    for table in ["sections", "authors"] {
        let sql = match backend {
            sea_orm::DbBackend::Postgres => format!("UPDATE {table} SET updated_at = $1"),
            _ => format!("UPDATE {table} SET updated_at = ?"),
        };
        app.db
            .execute(Statement::from_sql_and_values(backend, sql, [at.into()]))
            .await
            .expect("date the directory");
    }
    app.cache.clear();
}

async fn sections_authors_and_tags_sitemaps_list_their_pages(app: &TestApp) {
    app.import(newsroom()).await;
    date_directory(app, "2026-01-01T00:00:00Z").await;
    let sections = sitemap(&app.router, "/sitemaps/sections.xml", "urlset").await;
    assert_eq!(
        sections.locs(),
        ["business", "world", "world/middle-east"].map(|p| format!("{PUBLIC_URL}/{p}"))
    );
    // A section's page shows its subsections' stories: `world` changed with aid-arrives.
    assert_eq!(
        sections
            .field(&format!("{PUBLIC_URL}/world"), "lastmod")
            .as_deref(),
        Some("2026-03-06T09:00:00Z")
    );
    assert_eq!(
        sections
            .field(&format!("{PUBLIC_URL}/business"), "lastmod")
            .as_deref(),
        Some("2026-03-05T09:00:00Z")
    );
    let authors = sitemap(&app.router, "/sitemaps/authors.xml", "urlset").await;
    assert_eq!(
        authors.locs(),
        ["lena-berg", "omar-haddad"].map(|s| format!("{PUBLIC_URL}/authors/{s}"))
    );
    assert_eq!(
        authors
            .field(&format!("{PUBLIC_URL}/authors/lena-berg"), "lastmod")
            .as_deref(),
        Some("2026-03-05T09:00:00Z")
    );
    // An author's own change counts too.
    date_directory(app, "2026-06-01T12:00:00Z").await;
    let authors = sitemap(&app.router, "/sitemaps/authors.xml", "urlset").await;
    assert_eq!(
        authors
            .field(&format!("{PUBLIC_URL}/authors/lena-berg"), "lastmod")
            .as_deref(),
        Some("2026-06-01T12:00:00Z")
    );
    let tags = sitemap(&app.router, "/sitemaps/tags.xml", "urlset").await;
    assert_eq!(
        tags.locs(),
        ["aid", "ceasefire-talks", "diplomacy", "markets", "shipping"]
            .map(|s| format!("{PUBLIC_URL}/tags/{s}"))
    );
    assert_eq!(
        tags.field(&format!("{PUBLIC_URL}/tags/markets"), "lastmod")
            .as_deref(),
        Some("2026-03-05T09:00:00Z")
    );
}

async fn drafts_scheduled_and_unpublished_stories_are_in_no_sitemap(app: &TestApp) {
    let now = Utc::now();
    let mut file = newsroom();
    let articles = file["articles"].as_array_mut().expect("articles");
    // A draft with a tag and an author of its own: neither may show.
    articles.push(json!({
        "slug": "merger-scoop", "headline": "Merger scoop", "section": "business",
        "authors": ["ghost-writer"], "tags": ["secret merger"], "status": "DRAFT",
        "body": [{ "paragraph": { "html": "Soon." } }]
    }));
    articles.push(story("gone-soon", "Gone soon", now - TimeDelta::hours(1)));
    articles.push(story("to-schedule", "Later", now - TimeDelta::hours(2)));
    file["authors"]
        .as_array_mut()
        .expect("authors")
        .push(json!({ "slug": "ghost-writer", "name": "Ghost Writer" }));
    app.import(file).await;
    app.step_as(&editor(), "unpublishArticle", "gone-soon")
        .await;
    app.step_as(&editor(), "archiveArticle", "port-profits")
        .await;
    // Back to a draft of sorts, then scheduled for later.
    app.step_as(&editor(), "unpublishArticle", "to-schedule")
        .await;
    let (id, v) = app.id_version("to-schedule").await;
    app.ok_as(
        &editor(),
        "mutation($id: ID!, $v: Int!) { publishArticle(id: $id, expectedVersion: $v, at: \"2099-01-01T06:00:00Z\") { status } }",
        json!({ "id": id, "v": v }),
    )
    .await;

    // Read with an editor's token too: the formats are public whoever asks.
    for token in [None, Some(editor())] {
        let router = &app.router;
        let mut listed = BTreeSet::new();
        let index_req = request("GET", "/sitemap.xml", token.as_deref(), None);
        let (status, _, body) = send_raw(router, index_req).await;
        assert_eq!(status, StatusCode::OK);
        for loc in parse("index", &body).locs() {
            let req = request("GET", route(&loc), token.as_deref(), None);
            let (status, _, body) = send_raw(router, req).await;
            assert_eq!(status, StatusCode::OK, "{loc}");
            listed.extend(parse(&loc, &body).locs());
        }
        for hidden in [
            url("world/middle-east", "secret-draft"),
            url("business", "under-review"),
            url("business", "merger-scoop"),
            url("world", "gone-soon"),
            url("world", "to-schedule"),
            url("business", "port-profits"),
            format!("{PUBLIC_URL}/authors/ghost-writer"),
            format!("{PUBLIC_URL}/tags/secret-merger"),
            format!("{PUBLIC_URL}/tags/shipping"),
        ] {
            assert!(!listed.contains(&hidden), "{hidden} is listed ({token:?})");
        }
        assert!(listed.contains(&url("world", "summit-ends")));
    }
    // The month of the stories that left is still there, with the others.
    let (status, _, _) = get(&app.router, "/sitemaps/articles-2026-03.xml").await;
    assert_eq!(status, StatusCode::OK);
}

async fn the_news_sitemap_holds_the_last_48_hours_as_google_news_reads_them(app: &TestApp) {
    let now = Utc::now();
    app.import(newsroom_with(vec![
        story("an-hour-ago", "An hour ago", now - TimeDelta::hours(1)),
        story(
            "two-days-less",
            "Forty-seven hours ago",
            now - TimeDelta::hours(47),
        ),
        story(
            "too-old",
            "Forty-nine hours ago",
            now - TimeDelta::hours(49),
        ),
    ]))
    .await;
    let doc = sitemap(&app.router, "/sitemaps/news.xml", "urlset").await;
    assert_eq!(
        doc.locs(),
        [url("world", "an-hour-ago"), url("world", "two-days-less")],
        "newest first, nothing older than 48 hours"
    );
    let item = &doc.items[0];
    assert_eq!(
        item["news:news/news:publication/news:name"],
        "The Example Times"
    );
    assert_eq!(item["news:news/news:publication/news:language"], "en");
    assert_eq!(item["news:news/news:title"], "An hour ago");
    assert_eq!(
        item["news:news/news:publication_date"],
        w3c(now - TimeDelta::hours(1))
    );
    // The index names it; every other sitemap still has the old story.
    let everything = every_listed_url(&app.router).await;
    assert!(everything.contains(&url("world", "too-old")));
    // A language Google News spells its own way.
    let router = app.with_site(|s| s.language = "pt-BR".into()).await;
    let doc = sitemap(&router, "/sitemaps/news.xml", "urlset").await;
    assert_eq!(
        doc.items[0]["news:news/news:publication/news:language"],
        "pt"
    );
}

/// The directives of a `Cache-Control` header, by name.
fn cache_control(headers: &HeaderMap) -> HashMap<String, u64> {
    headers[header::CACHE_CONTROL]
        .to_str()
        .expect("ascii")
        .split(',')
        .filter_map(|d| {
            let (k, v) = d.trim().split_once('=')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect()
}

async fn a_story_leaves_the_cached_news_sitemap_when_it_turns_48_hours_old(app: &TestApp) {
    let now = Utc::now();
    let leaves = now + TimeDelta::seconds(3);
    app.import(newsroom_with(vec![
        story("leaving", "Leaving", leaves - TimeDelta::hours(48)),
        story("staying", "Staying", now - TimeDelta::hours(1)),
    ]))
    .await;
    let (status, headers, body) = get(&app.router, "/sitemaps/news.xml").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(parse("news", &body).locs().len(), 2, "both in the window");
    // No cache may keep it past the moment the oldest story leaves.
    let cc = cache_control(&headers);
    assert!(cc["max-age"] <= 3, "{cc:?}");
    assert!(
        cc["max-age"] + cc.get("stale-while-revalidate").unwrap_or(&0) <= 3,
        "{cc:?}"
    );
    let (_, headers, _) = get(&app.router, "/sitemaps/news.xml").await;
    assert_eq!(headers["x-cache"], "HIT");
    let (_, headers, index) = get(&app.router, "/sitemap.xml").await;
    assert!(cache_control(&headers)["max-age"] <= 3);
    assert!(parse("index", &index).items.len() >= 2);

    let wait = (leaves - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + std::time::Duration::from_millis(300)).await;
    let (status, headers, body) = get(&app.router, "/sitemaps/news.xml").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers["x-cache"], "MISS",
        "the entry ended with the window"
    );
    assert_eq!(parse("news", &body).locs(), [url("world", "staying")]);
    // Now fresh until the other one leaves, in 47 hours: the usual lifetime.
    assert_eq!(cache_control(&headers)["max-age"], 60);
}

/// `n` stories in one section by one author, published one second apart, the newest at
/// `newest`.
fn burst(n: usize, newest: DateTime<Utc>) -> Value {
    let articles: Vec<Value> = (0..n)
        .map(|i| {
            let at = newest - TimeDelta::seconds(i as i64);
            json!({
                "slug": format!("burst-{i}"),
                "headline": format!("Burst {i}"),
                "section": "world",
                "authors": ["omar-haddad"],
                "status": "PUBLISHED",
                "publishedAt": at.to_rfc3339(),
                "createdAt": at.to_rfc3339(),
                "body": [{ "paragraph": { "html": "Text." } }]
            })
        })
        .collect();
    newsroom_with(articles)
}

async fn more_than_a_thousand_stories_split_the_news_sitemap_and_a_big_month_streams(
    app: &TestApp,
) {
    // All in the last half hour, and all in one month (before this month began, if it
    // began less than half an hour ago).
    let now = Utc::now();
    let month = sitemaps::Month::of(now).start().expect("a month");
    let newest = if now - month < TimeDelta::minutes(30) {
        month - TimeDelta::seconds(1)
    } else {
        now - TimeDelta::seconds(1)
    };
    let n = 1_005;
    app.import(burst(n, newest)).await;
    let all: BTreeSet<String> = (0..n)
        .map(|i| url("world", &format!("burst-{i}")))
        .collect();

    let first = sitemap(&app.router, "/sitemaps/news.xml", "urlset").await;
    let second = sitemap(&app.router, "/sitemaps/news.xml?page=2", "urlset").await;
    assert_eq!((first.items.len(), second.items.len()), (1_000, 5));
    assert_eq!(first.locs()[0], url("world", "burst-0"), "newest first");
    let news: BTreeSet<String> = first.locs().into_iter().chain(second.locs()).collect();
    assert_eq!(news, all, "every story once, none cut off");
    let (status, headers, body) = get(&app.router, "/sitemaps/news.xml?page=3").await;
    let body: Value = serde_json::from_slice(&body).expect("a problem");
    assert_problem(
        "page 3",
        status,
        &headers,
        &body,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );

    let index = sitemap(&app.router, "/sitemap.xml", "sitemapindex").await;
    let month_path = sitemaps::Month::of(newest).path(1);
    for path in [
        "/sitemaps/news.xml",
        "/sitemaps/news.xml?page=2",
        &month_path,
    ] {
        assert!(
            index.locs().contains(&format!("{PUBLIC_URL}{path}")),
            "{path}"
        );
    }
    assert!(
        !index
            .locs()
            .contains(&format!("{PUBLIC_URL}/sitemaps/news.xml?page=3"))
    );

    // The month's page passes one chunk: it streams, without an ETag, and the response
    // cache does not keep it.
    let stored = stored(app).await;
    for _ in 0..2 {
        let (status, headers, body) = get(&app.router, &month_path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers.get(header::ETAG).is_none(), "{headers:?}");
        assert_eq!(headers["x-cache"], "MISS");
        assert!(
            headers["surrogate-key"]
                .to_str()
                .expect("ascii")
                .contains('l')
        );
        let doc = parse(&month_path, &body);
        assert_eq!(doc.root, "urlset");
        let locs = doc.locs();
        assert_eq!(locs.len(), n, "no story twice");
        assert_eq!(locs.iter().cloned().collect::<BTreeSet<_>>(), all);
        assert_eq!(
            locs[0],
            url("world", &format!("burst-{}", n - 1)),
            "oldest first"
        );
        for (loc, item) in locs.iter().zip(&doc.items) {
            let slug = loc.rsplit('/').next().expect("a slug");
            assert_eq!(item.get("lastmod"), Some(&stored[slug].2), "{slug}");
        }
    }
}

async fn the_index_splits_a_month_that_passes_the_page_size(app: &TestApp) {
    app.import(newsroom()).await;
    let site = std::sync::Arc::new(test_site(|_| {}));
    let small = Limits {
        urls: 4,
        news: 2,
        chunk: 3,
    };
    let now = Utc::now();
    let index = sitemaps::index(&app.db, &site, &small, now)
        .await
        .expect("index");
    let paths: Vec<&str> = index.sitemaps.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/sitemaps/news.xml",
            "/sitemaps/sections.xml",
            "/sitemaps/authors.xml",
            "/sitemaps/tags.xml",
            "/sitemaps/tags.xml?page=2",
            "/sitemaps/articles-2026-03.xml",
            "/sitemaps/articles-2026-03.xml?page=2",
        ]
    );
    let march = sitemaps::Month::parse("2026-03").expect("a month");
    let mut locs = Vec::new();
    for page in 1..=2 {
        let found = sitemaps::article_page(
            &app.db,
            app.cache.directory(),
            site.clone(),
            march,
            page,
            &small,
        )
        .await
        .expect("a page")
        .expect("it exists");
        // Page 1 (four URLs) is read in chunks of three; page 2 (two) at once.
        assert_eq!(found.is_whole(), page == 2, "page {page}");
        let (first, rest) = found.into_chunks();
        let rest: Vec<Vec<sitemaps::Entry>> = rest.try_collect().await.expect("chunks");
        let page_locs: Vec<String> = first
            .into_iter()
            .chain(rest.into_iter().flatten())
            .map(|e| e.loc)
            .collect();
        assert_eq!(
            page_locs.len(),
            if page == 1 { 4 } else { 2 },
            "page {page}"
        );
        locs.extend(page_locs);
    }
    assert_eq!(
        locs,
        [
            url("world/middle-east", "talks-resume"),
            url("world/middle-east", "border-reopens"),
            url("world", "summit-ends"),
            url("business", "markets-rally"),
            url("business", "port-profits"),
            url("world/middle-east", "aid-arrives"),
        ]
    );
    let third = sitemaps::article_page(&app.db, app.cache.directory(), site, march, 3, &small)
        .await
        .expect("a read");
    assert!(third.is_none(), "no third page");
}

async fn hostile_headlines_and_names_still_make_well_formed_xml(app: &TestApp) {
    let now = Utc::now();
    let hostile = [
        (
            "cdata",
            "Ends ]]> here & <b>bold</b> </script><script>alert(1)</script>",
        ),
        ("emoji", "Press 🗞️ freedom 👩🏽‍💻 & the \"quotes\" of 'today'"),
        ("rtl", "خبر عاجل: \u{202B}עברית\u{202C} and English"),
        (
            "controls",
            "Bell\u{7} tab\there \u{1}\u{b}\u{1f}nul-free \u{FFFE}\u{FFFF}end",
        ),
    ];
    let long = "Ж".repeat(300);
    let mut articles: Vec<Value> = hostile
        .iter()
        .map(|(slug, _)| story(slug, "Placeholder", now - TimeDelta::hours(1)))
        .collect();
    articles.push(story("long", &long, now - TimeDelta::hours(2)));
    app.import(newsroom_with(articles)).await;
    for (slug, headline) in hostile {
        store_headline(app, slug, headline).await;
    }
    let router = app
        .with_site(|s| s.name = "News & <Views> \"Daily\" ]]>".into())
        .await;
    let doc = sitemap(&router, "/sitemaps/news.xml", "urlset").await;
    let title = |slug: &str| doc.field(&url("world", slug), "news:news/news:title");
    assert_eq!(title("cdata").as_deref(), Some(hostile[0].1));
    assert_eq!(title("emoji").as_deref(), Some(hostile[1].1));
    assert_eq!(title("rtl").as_deref(), Some(hostile[2].1));
    assert_eq!(
        title("controls").as_deref(),
        Some("Bell tab\there nul-free end"),
        "characters XML 1.0 forbids are dropped, the rest kept"
    );
    assert_eq!(title("long").map(|t| t.chars().count()), Some(300));
    assert_eq!(
        doc.items[0]["news:news/news:publication/news:name"],
        "News & <Views> \"Daily\" ]]>"
    );
    // Every other sitemap parses too.
    for (route, doc) in all_sitemaps(&router).await {
        assert!(!doc.items.is_empty(), "{route}");
    }
}

async fn sitemaps_need_a_public_url(app: &TestApp) {
    app.import(newsroom()).await;
    let router = app.with_site(|s| s.public_url = None).await;
    for uri in [
        "/sitemap.xml",
        "/sitemaps/news.xml",
        "/sitemaps/sections.xml",
        "/sitemaps/authors.xml",
        "/sitemaps/tags.xml",
        "/sitemaps/articles-2026-03.xml",
    ] {
        let (status, headers, body) = send_raw(&router, request("GET", uri, None, None)).await;
        let body: Value = serde_json::from_slice(&body).expect("a problem");
        assert_problem(
            uri,
            status,
            &headers,
            &body,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        );
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("GAZETTE_PUBLIC_URL")),
            "{uri}: {body}"
        );
    }
}

async fn bad_pages_and_unknown_sitemaps_are_refused_as_problems(app: &TestApp) {
    app.import(newsroom()).await;
    let cases: &[(&str, StatusCode, &str)] = &[
        (
            "/sitemaps/news.xml?page=0",
            StatusCode::UNPROCESSABLE_ENTITY,
            "page 0",
        ),
        (
            "/sitemaps/news.xml?page=abc",
            StatusCode::UNPROCESSABLE_ENTITY,
            "not a number",
        ),
        (
            "/sitemaps/news.xml?page=100000",
            StatusCode::UNPROCESSABLE_ENTITY,
            "past the last page there can be",
        ),
        (
            "/sitemaps/news.xml?page=-1",
            StatusCode::UNPROCESSABLE_ENTITY,
            "negative",
        ),
        (
            "/sitemaps/sections.xml?page=1.5",
            StatusCode::UNPROCESSABLE_ENTITY,
            "a fraction",
        ),
        (
            "/sitemaps/tags.xml?page=",
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty",
        ),
        (
            "/sitemaps/articles-2026-03.xml?page=99999999999",
            StatusCode::UNPROCESSABLE_ENTITY,
            "beyond 32 bits",
        ),
        (
            "/sitemaps/articles-2026-03.xml?page=2",
            StatusCode::NOT_FOUND,
            "a page the month does not have",
        ),
        (
            "/sitemaps/authors.xml?page=2",
            StatusCode::NOT_FOUND,
            "a page the authors do not have",
        ),
        (
            "/sitemaps/articles-2026-04.xml",
            StatusCode::NOT_FOUND,
            "a month without stories",
        ),
        (
            "/sitemaps/articles-2026-13.xml",
            StatusCode::NOT_FOUND,
            "no such month",
        ),
        (
            "/sitemaps/articles-26-03.xml",
            StatusCode::NOT_FOUND,
            "a two-digit year",
        ),
        (
            "/sitemaps/articles-2026-03",
            StatusCode::NOT_FOUND,
            "no extension",
        ),
        (
            "/sitemaps/feed.xml",
            StatusCode::NOT_FOUND,
            "no such sitemap",
        ),
        (
            "/sitemaps/news.xml/more",
            StatusCode::NOT_FOUND,
            "below a sitemap",
        ),
    ];
    for (uri, want, why) in cases {
        let (status, headers, body) = get(&app.router, uri).await;
        let body: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| panic!("{why}: {uri} answers a problem, not {status}"));
        let code = if *want == StatusCode::NOT_FOUND {
            "NOT_FOUND"
        } else {
            "BAD_USER_INPUT"
        };
        assert_problem(why, status, &headers, &body, *want, code);
    }
    // A bad token is refused, even on a public format.
    let req = request("GET", "/sitemap.xml", Some("not-a-token"), None);
    let (status, headers, _) = send_raw(&app.router, req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.contains_key(header::WWW_AUTHENTICATE));
}

async fn sitemaps_revalidate_with_etags_and_name_what_they_show(app: &TestApp) {
    let now = Utc::now();
    let mut file = newsroom();
    file["articles"]
        .as_array_mut()
        .expect("articles")
        .push(story("fresh", "Fresh", now - TimeDelta::hours(1)));
    app.import(file).await;
    let ids: HashMap<String, i32> = gazette::entities::section::Entity::find()
        .all(&app.db)
        .await
        .expect("sections")
        .into_iter()
        .map(|s| (s.path, s.id))
        .collect();
    let keys = |h: &HeaderMap| -> BTreeSet<String> {
        h["surrogate-key"]
            .to_str()
            .expect("ascii")
            .split(' ')
            .map(str::to_owned)
            .collect()
    };
    let uncached = app.uncached().await;
    for uri in [
        "/sitemap.xml",
        "/sitemaps/news.xml",
        "/sitemaps/articles-2026-03.xml",
        "/sitemaps/sections.xml",
        "/sitemaps/authors.xml",
        "/sitemaps/tags.xml",
    ] {
        let (status, headers, _) = get(&app.router, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(keys(&headers).contains("l"), "{uri}: {headers:?}");
        assert!(
            headers[header::CACHE_CONTROL]
                .to_str()
                .expect("ascii")
                .starts_with("public"),
            "{uri}"
        );
        let etag = headers[header::ETAG].to_str().expect("ascii").to_owned();
        // From the response cache, and fresh from a process without one.
        let req = request("GET", uri, None, None).with_header(header::IF_NONE_MATCH, &etag);
        let (status, headers, body) = send_raw(&app.router, req).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "{uri}");
        assert!(body.is_empty());
        assert_eq!(headers["x-cache"], "HIT", "{uri}");
        let req = request("GET", uri, None, None).with_header(header::IF_NONE_MATCH, &etag);
        let (status, _, _) = send_raw(&uncached, req).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "{uri}, uncached");
    }
    let (_, headers, _) = get(&app.router, "/sitemaps/articles-2026-03.xml").await;
    let march = keys(&headers);
    for path in ["world", "world/middle-east", "business"] {
        assert!(
            march.contains(&format!("s{}", ids[path])),
            "{path}: {march:?}"
        );
    }
    // `l` reaches every change of a public article; the sections, every change of a path.
    let (_, headers, _) = get(&app.router, "/sitemaps/news.xml").await;
    let news = keys(&headers);
    assert_eq!(
        news,
        ["l".to_owned(), format!("s{}", ids["world"])].into(),
        "{news:?}"
    );
    // A token makes an answer private, never cached by others.
    let req = request("GET", "/sitemap.xml", Some(&editor()), None);
    let (_, headers, _) = send_raw(&app.router, req).await;
    assert_eq!(headers[header::CACHE_CONTROL], "private, no-store");
}

async fn a_publish_or_an_unpublish_reaches_the_cached_sitemaps_at_once(app: &TestApp) {
    app.import(newsroom()).await;
    let uris = [
        "/sitemap.xml",
        "/sitemaps/articles-2026-03.xml",
        "/sitemaps/news.xml",
    ];
    for uri in uris {
        get(&app.router, uri).await;
        let (_, headers, _) = get(&app.router, uri).await;
        assert_eq!(headers["x-cache"], "HIT", "{uri}");
    }
    let before = Utc::now();
    app.step_as(&editor(), "unpublishArticle", "talks-resume")
        .await;
    let doc = sitemap(&app.router, "/sitemaps/articles-2026-03.xml", "urlset").await;
    assert!(
        !doc.locs()
            .contains(&url("world/middle-east", "talks-resume"))
    );
    assert_eq!(doc.locs().len(), 5);
    // The month changed when the story left it.
    let index = sitemap(&app.router, "/sitemap.xml", "sitemapindex").await;
    let march = index
        .field(
            &format!("{PUBLIC_URL}/sitemaps/articles-2026-03.xml"),
            "lastmod",
        )
        .expect("a lastmod");
    assert!(march >= w3c(before), "{march}");
    let sections = sitemap(&app.router, "/sitemaps/sections.xml", "urlset").await;
    let middle_east = sections
        .field(&format!("{PUBLIC_URL}/world/middle-east"), "lastmod")
        .expect("a lastmod");
    assert!(
        middle_east >= w3c(before),
        "its section changed too: {middle_east}"
    );

    // A publish shows at once: in the news, in this month's page, in the index.
    app.step_as(&editor(), "publishArticle", "under-review")
        .await;
    let published = Utc::now();
    let news = sitemap(&app.router, "/sitemaps/news.xml", "urlset").await;
    assert_eq!(news.locs(), [url("business", "under-review")]);
    let this_month = sitemaps::Month::of(published);
    let index = sitemap(&app.router, "/sitemap.xml", "sitemapindex").await;
    let loc = format!("{PUBLIC_URL}{}", this_month.path(1));
    assert!(index.locs().contains(&loc), "{:?}", index.locs());
    let page = sitemap(&app.router, &this_month.path(1), "urlset").await;
    assert_eq!(page.locs(), [url("business", "under-review")]);
    // And an unpublish takes it out of the news again.
    app.step_as(&editor(), "unpublishArticle", "under-review")
        .await;
    let news = sitemap(&app.router, "/sitemaps/news.xml", "urlset").await;
    assert!(news.items.is_empty());
    let (status, _, _) = get(&app.router, &this_month.path(1)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
