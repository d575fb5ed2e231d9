//! Section tree and pages, author pages and listing, tag pages.

use serde_json::{Value, json};

use crate::helpers::{TestApp, newsroom};
use crate::storage_tests;

storage_tests!(
    sections_form_a_tree_with_parents_children_and_breadcrumbs,
    a_section_page_lists_its_articles_and_those_of_its_subsections,
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
    let slugs: Vec<&str> = a["articles"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["slug"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        slugs,
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
