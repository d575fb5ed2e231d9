//! Section tree and pages, author pages and listing, tag pages.

use serde_json::{Value, json};

use crate::fixtures::newsroom;
use crate::helpers::{TestApp, rest_slugs, slugs};
use crate::storage_tests;

storage_tests!(
    sections_form_a_tree_with_parents_children_and_breadcrumbs,
    a_section_page_lists_its_articles_and_those_of_its_subsections,
    a_subtree_listing_pages_newest_first_across_its_sections,
    an_author_page_lists_the_authors_published_articles,
    authors_are_listed_alphabetically_in_pages,
    a_tag_page_lists_the_tags_published_articles,
    unknown_sections_authors_and_tags_are_null,
);

async fn sections_form_a_tree_with_parents_children_and_breadcrumbs(app: &TestApp) {
    app.import(newsroom()).await;
    let data = app
        .query(
            "{ sections { path name description parent { path } children { path name parent { path } breadcrumb { path } children { path } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["sections"],
        json!([
            { "path": "world", "name": "World", "description": "News from abroad", "parent": null, "children": [
                { "path": "world/middle-east", "name": "Middle East", "parent": { "path": "world" },
                  "breadcrumb": [{ "path": "world" }, { "path": "world/middle-east" }], "children": [] }
            ] },
            { "path": "business", "name": "Business", "description": null, "parent": null, "children": [] }
        ]),
        "top-level sections in file order, subsections nested"
    );
}

async fn a_section_page_lists_its_articles_and_those_of_its_subsections(app: &TestApp) {
    app.import(newsroom()).await;
    let data = app
        .query(
            "{ section(path: \"world\") { name articles(first: 2) { totalCount edges { node { slug section { path } } } pageInfo { hasNextPage } } } }",
            json!({}),
        )
        .await;
    let s = &data["section"];
    assert_eq!(s["name"], "World");
    assert_eq!(s["articles"]["totalCount"], 4);
    assert_eq!(
        s["articles"]["edges"],
        json!([
            { "node": { "slug": "aid-arrives", "section": { "path": "world/middle-east" } } },
            { "node": { "slug": "summit-ends", "section": { "path": "world" } } }
        ])
    );
    assert_eq!(s["articles"]["pageInfo"]["hasNextPage"], true);
}

/// Four sections under `news` (two levels deep) and one beside it; published articles
/// spread unevenly over them, with drafts, and several published at the same second.
fn subtree_newsroom() -> Value {
    let sections = [
        "news",
        "news/politics",
        "news/politics/local",
        "news/sport",
        "other",
    ];
    let articles: Vec<Value> = (0..41)
        .map(|i: usize| {
            // Uneven: politics/local gets most, sport few; every fifth is at an earlier,
            // shared second (ties broken by id); every seventh is a draft.
            let section = sections[[0, 1, 2, 2, 2, 3, 4][i % 7]];
            let at = if i.is_multiple_of(5) {
                "2026-02-01T00:00:00Z".to_owned()
            } else {
                format!("2026-02-{:02}T{:02}:00:00Z", 2 + i % 20, i % 24)
            };
            let status = if i % 7 == 1 && i.is_multiple_of(2) {
                "DRAFT"
            } else {
                "PUBLISHED"
            };
            json!({
                "slug": format!("s-{i}"),
                "headline": format!("Story {i}"),
                "section": section,
                "authors": ["desk"],
                "status": status,
                "publishedAt": if status == "PUBLISHED" { json!(at) } else { Value::Null },
                "body": [{ "paragraph": { "html": "Text." } }]
            })
        })
        .collect();
    json!({
        "sections": [
            { "slug": "news", "name": "News" },
            { "slug": "politics", "name": "Politics", "parent": "news" },
            { "slug": "local", "name": "Local", "parent": "news/politics" },
            { "slug": "sport", "name": "Sport", "parent": "news" },
            { "slug": "other", "name": "Other" }
        ],
        "authors": [{ "slug": "desk", "name": "Desk" }],
        "articles": articles
    })
}

/// The published articles of a section and its descendants, newest first, straight from
/// the tables: the order every listing must give.
async fn subtree_order(app: &TestApp, path: &str) -> Vec<String> {
    use sea_orm::ConnectionTrait as _;
    let rows = app
        .db
        .query_all(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!(
                "SELECT a.slug FROM articles a JOIN sections s ON s.id = a.section_id \
                 WHERE a.status = 'PUBLISHED' AND (s.path = '{path}' OR s.path LIKE '{path}/%') \
                 ORDER BY a.published_at DESC, a.id DESC"
            ),
        ))
        .await
        .expect("oracle");
    rows.iter()
        .map(|r| r.try_get::<String>("", "slug").expect("slug"))
        .collect()
}

async fn a_subtree_listing_pages_newest_first_across_its_sections(app: &TestApp) {
    app.import(subtree_newsroom()).await;
    for path in ["news", "news/politics", "news/sport", "other"] {
        let expected = subtree_order(app, path).await;
        assert!(
            expected.len() > 3,
            "{path}: the data gives two pages or more"
        );
        // Page by page, three at a time, following the cursors.
        let mut seen: Vec<String> = Vec::new();
        let mut after = Value::Null;
        loop {
            let data = app
                .query(
                    "query($p: String!, $after: String) { section(path: $p) { articles(first: 3, after: $after) { totalCount edges { node { slug } } pageInfo { hasNextPage endCursor } } } }",
                    json!({ "p": path, "after": after }),
                )
                .await;
            let page = &data["section"]["articles"];
            assert_eq!(page["totalCount"], expected.len(), "{path}: count");
            seen.extend(slugs(page));
            if page["pageInfo"]["hasNextPage"] != true {
                break;
            }
            assert!(
                seen.len() < expected.len(),
                "{path}: more pages than articles"
            );
            after = page["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(
            seen, expected,
            "{path}: every published article once, newest first"
        );
    }
    // Several subtree listings in one request (as a front page asks for them).
    let data = app
        .query(
            "{ sections { path articles(first: 4) { edges { node { slug } } pageInfo { hasNextPage } } } }",
            json!({}),
        )
        .await;
    let fronts = data["sections"].as_array().expect("sections");
    assert_eq!(fronts.len(), 2, "top-level sections");
    for s in fronts {
        let path = s["path"].as_str().expect("path");
        let expected = subtree_order(app, path).await;
        assert_eq!(slugs(&s["articles"]), expected[..4], "{path}: front page");
        assert_eq!(s["articles"]["pageInfo"]["hasNextPage"], true);
    }
    // REST reads the same listing.
    let (status, _, body) = app.get("/api/v1/articles?section=news&limit=5").await;
    assert_eq!(status, 200);
    assert_eq!(rest_slugs(&body), subtree_order(app, "news").await[..5]);
}

async fn an_author_page_lists_the_authors_published_articles(app: &TestApp) {
    app.import(newsroom()).await;
    let data = app
        .query(
            "{ author(slug: \"omar-haddad\") { name title bio avatarUrl articles(first: 10) { totalCount edges { node { slug } } } } }",
            json!({}),
        )
        .await;
    let a = &data["author"];
    assert_eq!(a["name"], "Omar Haddad");
    assert_eq!(a["title"], "World Editor");
    assert_eq!(a["bio"], "Covers the region.");
    assert_eq!(a["avatarUrl"], Value::Null);
    assert_eq!(a["articles"]["totalCount"], 4);
    assert_eq!(
        slugs(&a["articles"]),
        [
            "aid-arrives",
            "summit-ends",
            "border-reopens",
            "talks-resume"
        ]
    );
}

async fn authors_are_listed_alphabetically_in_pages(app: &TestApp) {
    app.import(newsroom()).await;
    let q = "query($after: String) { authors(first: 1, after: $after) { totalCount edges { node { name } } pageInfo { hasNextPage endCursor } } }";
    let first = app.query(q, json!({})).await;
    assert_eq!(first["authors"]["totalCount"], 2);
    assert_eq!(first["authors"]["edges"][0]["node"]["name"], "Lena Berg");
    assert_eq!(first["authors"]["pageInfo"]["hasNextPage"], true);
    let second = app
        .query(
            q,
            json!({ "after": first["authors"]["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(second["authors"]["edges"][0]["node"]["name"], "Omar Haddad");
    assert_eq!(second["authors"]["pageInfo"]["hasNextPage"], false);
}

async fn a_tag_page_lists_the_tags_published_articles(app: &TestApp) {
    app.import(newsroom()).await;
    let data = app
        .query("{ tag(slug: \"markets\") { name slug articles { totalCount edges { node { slug } } } } }", json!({}))
        .await;
    assert_eq!(data["tag"]["name"], "markets");
    assert_eq!(
        data["tag"]["articles"]["totalCount"], 2,
        "the in-review article is not counted"
    );
    assert_eq!(
        data["tag"]["articles"]["edges"],
        json!([{ "node": { "slug": "port-profits" } }, { "node": { "slug": "markets-rally" } }])
    );
}

async fn unknown_sections_authors_and_tags_are_null(app: &TestApp) {
    app.import(newsroom()).await;
    let data = app
        .query(
            "{ a: section(path: \"nowhere\") { name } b: section(path: \"world/x\") { name } c: section(path: \"'; DROP TABLE sections; --\") { name }
               d: author(slug: \"nobody\") { name } e: tag(slug: \"nothing\") { name } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({ "a": null, "b": null, "c": null, "d": null, "e": null })
    );
    assert_eq!(app.count_rows("sections").await, 3);
}
